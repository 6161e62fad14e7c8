//! FPGA flows with the open tools: Yosys, nextpnr (iCE40, ECP5), icepack / ecppack, as PyPI's
//! YoWASP WebAssembly builds (`scripts/fpga-tools.sh` installs them into `.venv-fpga/`).
//!
//! - [`board`]: boards and devices as data (`constraints/*.toml` and pin files).
//! - [`tool`]: finding the tools, checking their versions, running them with a log and a time.
//! - [`yosys`], [`nextpnr`], [`pack`]: one typed wrapper per tool.
//! - the pin-limited harness that lets a wide core place on a small package is a hardware
//!   level of its own: [`crate::rtl::harness`].
//! - [`report`]: parsing Yosys' `stat -json` and nextpnr's `--report` into a [`Report`].
//! - [`flow`]: the whole flow for one configuration and board ([`run`]): a
//!   [`Plan`](flow::Plan) of every decision, then one function per stage.
//! - [`prove`]: netlist equivalence: the core's post-synthesis netlist against its RTL
//!   (a miter proven by ABC), `systolic synth --prove`.
//! - [`verify`]: post-synthesis co-simulation of the netlist against the golden model, as the
//!   plan says ([`verify::check`]); [`verify_engine`] for the engine out of context.
//!
//! Every step runs in the run's own folder (default `runs/synth-<design>-<board>[-engine][-ooc]/`) and
//! keeps its log there; a tool's failure is a [`SynthError`] naming the tool, its exit status
//! and its log, never a panic. See docs/fpga.md.

pub mod board;
pub mod cell_models;
pub mod cell_subset;
pub mod flow;
pub mod icetime;
pub mod nextpnr;
pub mod pack;
pub mod prove;
pub mod report;
pub mod tool;
pub mod verify;
pub mod verify_engine;
pub mod yosys;

use std::path::{Path, PathBuf};

pub use board::{constraints_dir, list_boards, Board, BoardError, Family};
pub use flow::{default_run_dir, run, Multipliers, SynthOptions, SynthTop};
pub use report::Report;

/// What can go wrong in a flow. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{tool} not found ({exe}; looked in {looked}): install it with {hint}")]
    ToolMissing {
        tool: &'static str,
        exe: &'static str,
        looked: String,
        hint: &'static str,
    },
    #[error("{tool} is too old or broken ({found}; need {need}): reinstall with {hint}")]
    ToolVersion {
        tool: &'static str,
        found: String,
        need: String,
        hint: &'static str,
    },
    #[error("{tool} failed ({status}): {message} (log: {})", log.display())]
    ToolFailed {
        tool: &'static str,
        status: String,
        log: PathBuf,
        message: String,
    },
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error(transparent)]
    Pll(#[from] crate::pll::PllError),
    #[error("does not fit: the design needs {used} {what}, the {device} has {available}{hint}")]
    DoesNotFit {
        what: &'static str,
        used: u64,
        available: u64,
        device: String,
        hint: String,
    },
    #[error(
        "{} holds another design (config hash {found}, this one's is {expected}): give the \
         options of the run that wrote it, or run the flow for this design",
        dir.display()
    )]
    OtherDesign {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{} holds this design's board top built for another board, baud rate or clock ({file}: \
         `{found}`, where these options make `{expected}`): give the board options of the run \
         that wrote it, or run the flow with these",
        dir.display()
    )]
    OtherBoardTop {
        dir: PathBuf,
        file: String,
        found: String,
        expected: String,
    },
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("the board top's UART: {0}")]
    Baud(#[from] crate::frame::BaudError),
    #[error("cannot parse {}: {what}", file.display())]
    Parse { file: PathBuf, what: String },
    #[error("{what}: {message}")]
    Io { what: String, message: String },
}

/// The text of `path`, as a [`SynthError`].
pub(crate) fn read_file(path: &Path) -> Result<String, SynthError> {
    std::fs::read_to_string(path).map_err(|e| SynthError::Io {
        what: format!("reading {}", path.display()),
        message: e.to_string(),
    })
}

/// Write `text` to `path`, as a [`SynthError`].
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), SynthError> {
    std::fs::write(path, text).map_err(|e| SynthError::Io {
        what: format!("writing {}", path.display()),
        message: e.to_string(),
    })
}

/// `used` of `what` against the device's `available`: more is a "does not fit" error ending
/// with `hint`.
pub(crate) fn fits(
    what: &'static str,
    used: u64,
    available: u64,
    device: &str,
    hint: String,
) -> Result<(), SynthError> {
    if used > available {
        return Err(SynthError::DoesNotFit {
            what,
            used,
            available,
            device: device.to_string(),
            hint,
        });
    }
    Ok(())
}
