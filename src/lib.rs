//! `systolic`: generator, golden model and co-simulation of a Trainium-like weight-stationary
//! systolic matrix engine.
//!
//! Data flows one way: [`config`] (validated once) -> [`rtl`] (structural model of the hardware)
//! -> [`verilog`] (the one place Verilog text is printed) -> [`cosim`] (Verilator, Icarus) and
//! the FPGA flows. [`golden`] stands beside as plain Rust.

pub mod config;
pub mod cosim;
pub mod engine;
pub mod files;
pub mod format;
pub mod frame;
pub mod generate;
pub mod golden;
pub mod isa;
pub mod npy;
pub mod pll;
pub mod program;
pub mod regs;
pub mod rtl;
pub mod synth;
pub mod tools;
pub mod uart;
pub mod verilog;
