//! `systolic`: generator, golden model and co-simulation of a Trainium-like weight-stationary
//! systolic matrix engine.
//!
//! The crate is layered; a module imports only from layers below it (checked by
//! `../shared/tools/rust-layers src`: no import circles between files or folders), and the
//! picture is in `docs/architecture.md` ("The code"). From the bottom:
//!
//! 1. Contracts and leaves, which import nothing above them: [`format`] (number formats),
//!    [`isa`] (the instruction set), [`regs`] (the register map), [`frame`] (the UART frame
//!    format both the RTL bridge and the host link speak), [`pll`], [`plot`] (what the HTML
//!    reports' plots share), [`files`] (writing outputs
//!    safely), [`progress`] (what long work reports, and the stop flag), [`tools`] (running
//!    external tools), [`verilog`] (the typed Verilog description, its builder helpers and the
//!    one printer).
//! 2. [`config`]: the configuration, validated once, with its derived plan (widths, geometry).
//! 3. [`program`] (the core's command stream) and [`golden`] (the golden model: plain Rust, no
//!    HDL types; the executable specification the RTL is checked against).
//! 4. [`rtl`]: the structural model of the hardware, one folder per level (`core`, `engine`,
//!    `board`, `harness`), each returning a [`rtl::design::Design`]; and [`generate`], which
//!    writes a design to disk.
//! 5. [`engine`]: the programmable engine seen from software (the `Engine` trait, the golden
//!    back end, [`engine::host::HostEngine`] over any register bus, the tiled GEMM), and
//!    [`uart`], the host side of the board link.
//! 6. [`cosim`]: the designs in Verilator, driven from Rust and compared with the golden model
//!    (the core's handshakes, the engine over AXI4-Lite, the board over its UART pins); and
//!    [`model`]: quantised ONNX networks lowered onto the engine (`docs/infer.md`).
//! 7. [`synth`]: the FPGA flows (Yosys, nextpnr, packers), and post-synthesis co-simulation;
//!    [`mutate`]: mutation campaigns (one-site bugs of the Verilog against the co-simulation checks).
//! 8. [`sweep`]: design-space sweeps over the flows (points in a SQLite store, run by local
//!    worker processes or Slurm job arrays).
//! 9. The command line (`src/main.rs`, `src/cli/`), one module per subcommand.
//!
//! Data flows one way: config -> rtl -> verilog text -> Verilator / Yosys and nextpnr ->
//! reports, with the golden model beside it and the host software above.

pub mod config;
pub mod cosim;
pub mod engine;
pub mod files;
pub mod format;
pub mod frame;
pub mod generate;
pub mod golden;
pub mod isa;
pub mod model;
pub mod mutate;
pub mod npy;
pub mod pll;
pub mod plot;
pub mod program;
pub mod progress;
pub mod regs;
pub mod rtl;
pub mod sweep;
pub mod synth;
pub mod tools;
pub mod uart;
pub mod verilog;
