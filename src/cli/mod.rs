//! Command-line interface (clap derive). Each subcommand lives in its own module.

/// `println!` for the subcommands' results: a reader that goes away (`systolic ... | head`)
/// ends the program quietly with status 141 (as SIGPIPE would) instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

mod board;
mod common;
mod cosim;
mod generate;
mod infer;
mod infer_netlist;
mod mutate;
mod progress;
mod run;
mod run_memory;
mod sweep;
mod synth;

use std::borrow::Cow;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use systolic::config::ConfigError;

#[derive(Parser)]
#[command(
    name = "systolic",
    version,
    about = "Generate, verify and synthesise a Trainium-like systolic matrix engine"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the Verilog of a configuration (and its file list) to a directory.
    Generate(generate::Args),
    /// Co-simulate a random program on the RTL (Verilator) against the golden model.
    Cosim(cosim::Args),
    /// Compute C = A x B from .npy files on the engine (RTL in Verilator, or the golden model).
    Run(run::Args),
    /// Run a quantised ONNX network (QOperator or QDQ) on the engine, bit-exact with ONNX Runtime.
    Infer(infer::Args),
    /// Synthesise, place and route for an FPGA board (Yosys, nextpnr); report area and Fmax.
    Synth(synth::Args),
    /// Run on a programmed board over its UART link (or on the simulated board).
    Board(board::Args),
    /// Run a design-space sweep from a spec (locally or on Slurm), or print its table or report.
    Sweep(sweep::Args),
    /// Mutation campaign: deliberate one-site bugs of the generated Verilog against the
    /// co-simulation checks; kill rate per module and every survivor with its diff.
    Mutate(mutate::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Cosim(args) => cosim::run(args),
        Command::Run(args) if args.memory => run_memory::command(args),
        Command::Run(args) => run::run(args),
        Command::Infer(args) => infer::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Board(args) => board::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Mutate(args) => mutate::run(args),
    }
}

/// Exit status and hint for an error: 2 for bad input (like clap's usage errors), 1 otherwise.
pub fn classify(err: &anyhow::Error) -> (u8, Option<Cow<'static, str>>) {
    if let Some(e) = err.downcast_ref::<common::UsageErrorHint>() {
        return (2, Some(e.hint.clone().into()));
    }
    let (code, hint) = classify_static(err);
    (code, hint.map(Cow::Borrowed))
}

/// [`classify`] of the errors whose hint is fixed text.
fn classify_static(err: &anyhow::Error) -> (u8, Option<&'static str>) {
    if let Some(e) = err.downcast_ref::<ConfigError>() {
        let hint = match e {
            ConfigError::UnknownPreset { .. } => {
                Some("presets are the TOML files in seeds/; or give --rows and --cols")
            }
            _ => Some("see `systolic generate --help` and the presets in seeds/"),
        };
        return (2, hint);
    }
    if err.downcast_ref::<systolic::sweep::SpecError>().is_some() {
        return (
            2,
            Some("see docs/sweep.md for the spec format, and sweeps/ for examples"),
        );
    }
    if err.downcast_ref::<systolic::model::ImportError>().is_some() {
        return (
            2,
            Some("see docs/infer.md for the supported operators and graph forms"),
        );
    }
    if let Some(e) = err.downcast_ref::<common::UsageError>() {
        return (2, e.hint);
    }
    if err.downcast_ref::<systolic::files::OutputError>().is_some() {
        return (2, Some("give a file name in an existing, writable folder"));
    }
    if let Some(e) = err.downcast_ref::<systolic::generate::WriteError>() {
        use systolic::generate::WriteError;
        if matches!(
            e,
            WriteError::NotADirectory { .. } | WriteError::Occupied { .. }
        ) {
            return (
                2,
                Some("give --out a folder (new or holding an earlier generation)"),
            );
        }
    }
    if let Some(e) = err.downcast_ref::<systolic::uart::LinkError>() {
        return (1, board::hint(e));
    }
    (1, None)
}

/// Write one line to standard output (see `outln!`).
pub fn write_stdout(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}
