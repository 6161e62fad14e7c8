//! Structural model of the engine: one source file per hardware level, each returning a typed
//! [`Module`](crate::verilog::Module) description and stating its timing contract in its first
//! comment. One folder per level of the design, each level built on the one below:
//!
//! - [`core`]: `systolic_top`, the array with its skew, deskew, PSUM and command sequencing;
//! - [`engine`]: `systolic_engine`, the core with the SBUF, the instruction queue and sequencer
//!   and the AXI4-Lite slave;
//! - [`board`]: `systolic_board`, the engine behind a UART and the frame bridge (and a PLL);
//! - [`harness`]: the core in a pin-limited harness for place and route;
//! - [`prims`]: the vendor primitives the levels may instantiate, and [`models`], their
//!   simulation models.
//!
//! Each level's `design` returns a [`design::Design`]; [`crate::verilog`] prints it.

pub mod board;
pub mod core;
pub mod design;
pub mod engine;
pub mod harness;
pub mod models;
pub mod prims;
