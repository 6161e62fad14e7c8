//! The host side of the board's UART link.
pub mod protocol;
