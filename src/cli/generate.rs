//! `systolic generate`: write the Verilog of one configuration at one hardware level (the core,
//! the engine with its AXI4-Lite slave, the board top behind its UART, or the pin-limited
//! harness), or refresh `generated/` for every preset.

use std::path::PathBuf;
use std::process::ExitCode;

use systolic::config::{self, Config, Overrides};
use systolic::generate::{design, level_dir, write_design, Summary, PRESET_LEVELS};
use systolic::rtl::board::BoardParams;
use systolic::rtl::design::Level;
use systolic::synth::{self, Board};

use super::common::{ConfigArgs, UsageError};

/// The hardware level to write.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LevelArg {
    /// `systolic_top`: the array, skew, deskew and PSUM behind valid/ready ports.
    #[default]
    Core,
    /// `systolic_engine`: the core with SBUF, instruction queue, sequencer and an AXI4-Lite slave.
    Engine,
    /// `systolic_board`: the engine behind a UART frame bridge, reset synchroniser and LEDs.
    Board,
    /// `systolic_fpga_harness`: the core between a scan-in shift register and a parity fold.
    Harness,
}

impl From<LevelArg> for Level {
    fn from(l: LevelArg) -> Level {
        match l {
            LevelArg::Core => Level::Core,
            LevelArg::Engine => Level::Engine,
            LevelArg::Board => Level::Board,
            LevelArg::Harness => Level::Harness,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Hardware level whose top the files end in.
    #[arg(long, value_enum, default_value_t = LevelArg::Core)]
    pub level: LevelArg,
    /// With --level board: the board (a TOML file in constraints/) whose clock, button and LEDs
    /// set the board top's parameters. Default: a 12 MHz clock, a button and 3 LEDs, active low.
    #[arg(long)]
    pub board: Option<String>,
    /// With --level board: the UART's baud rate, a standard one (sets CLKS_PER_BIT with the
    /// board's clock).
    #[arg(long, value_parser = super::common::parse_baud)]
    pub baud: Option<u32>,
    /// Output directory (default: generated/<config name>, and its engine/ or board/ subfolder
    /// for those levels).
    #[arg(long, conflicts_with = "all")]
    pub out: Option<PathBuf>,
    /// Regenerate generated/<preset>/ (core), generated/<preset>/engine/ and
    /// generated/<preset>/board/ for every preset in seeds/ (and nothing else).
    #[arg(long, conflicts_with_all = ["preset", "rows", "cols", "format", "acc_bits", "psum_banks", "psum_depth", "sbuf_depth", "pe_latency", "primitives", "dsp_cols", "psum_split", "sbuf_layout", "tile_cols", "keep_tokens", "dma", "dma_bits", "dma_reads", "level", "board", "baud"])]
    pub all: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::progress::catch_interrupt();
    if args.all {
        return all(args.json);
    }
    let level = Level::from(args.level);
    if level != Level::Board && (args.board.is_some() || args.baud.is_some()) {
        return Err(UsageError {
            message: "--board and --baud set the board top's parameters: they need --level board"
                .into(),
            hint: Some("e.g. systolic generate --level board --board icebreaker"),
        }
        .into());
    }
    let cfg = args.config.resolve()?;
    let params = board_params(args.board.as_deref(), args.baud)?;
    let out = args
        .out
        .unwrap_or_else(|| level_dir(&PathBuf::from("generated").join(&cfg.name), level));
    let summary = write_design(&design(&cfg, level, &params), &out)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!(
            "generated {} {} ({}x{} {}, hash {}): top {}, {} files, {} bytes in {}{}",
            cfg.name,
            summary.level,
            cfg.rows,
            cfg.cols,
            cfg.format,
            cfg.hash(),
            summary.top,
            summary.files.len(),
            summary.bytes,
            out.display(),
            removed_note(&summary.removed)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Every preset at every level of [`PRESET_LEVELS`] into `generated/`.
fn all(json: bool) -> anyhow::Result<ExitCode> {
    let seeds = config::seeds_dir();
    let names = config::list_presets(&seeds);
    if names.is_empty() {
        return Err(UsageError {
            message: format!(
                "--all: no presets (*.toml) in {}{}",
                seeds.display(),
                if seeds.is_dir() {
                    ""
                } else {
                    " (no such folder)"
                }
            ),
            hint: Some("presets are the TOML files in seeds/, or in $SYSTOLIC_SEEDS when set"),
        }
        .into());
    }
    let mut configs = vec![];
    for name in names {
        configs.push(Config::from_preset(&seeds, &name, &Overrides::default())?);
    }
    let params = BoardParams::generic();
    let mut summaries: Vec<Summary> = vec![];
    for cfg in &configs {
        let dir = PathBuf::from("generated").join(&cfg.name);
        for level in PRESET_LEVELS {
            let summary = write_design(&design(cfg, level, &params), &level_dir(&dir, level))?;
            if !json {
                outln!(
                    "generated {} {} (hash {}): {} files in {}{}",
                    cfg.name,
                    summary.level,
                    cfg.hash(),
                    summary.files.len(),
                    summary.dir.display(),
                    removed_note(&summary.removed)
                );
            }
            summaries.push(summary);
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// The board top's parameters: of the board named, or [`BoardParams::generic`] (12 MHz).
fn board_params(board: Option<&str>, baud: Option<u32>) -> anyhow::Result<BoardParams> {
    let baud = baud.unwrap_or(systolic::frame::DEFAULT_BAUD);
    let Some(name) = board else {
        let mut p = BoardParams::generic();
        p.clks_per_bit = super::common::baud_for_clock(baud, 12e6)?;
        return Ok(p);
    };
    let dir = synth::constraints_dir();
    let board = Board::load(&dir, name, None).map_err(|e| UsageError {
        message: e.to_string(),
        hint: Some("boards are the TOML files in constraints/"),
    })?;
    super::common::baud_for_clock(baud, board.clock.freq_mhz * 1e6)?;
    Ok(synth::flow::board_top_params(&board, baud, None)?)
}

/// "; removed ..." naming the stale module files a generation removed, or nothing.
fn removed_note(removed: &[String]) -> String {
    if removed.is_empty() {
        String::new()
    } else {
        format!(
            "; removed {} (no longer part of the design)",
            removed.join(", ")
        )
    }
}
