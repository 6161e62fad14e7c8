//! Options shared by the subcommands: choosing a configuration.

use std::path::Path;

use clap::Args;

use systolic::config::{self, Config, Overrides};

/// A usage error detected after parsing (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<&'static str>,
}

/// A usage error (exit status 2) whose hint is made at run time, e.g. a command with the
/// user's own values.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageErrorHint {
    pub message: String,
    pub hint: String,
}

/// `--preset NAME` or explicit sizes; explicit flags override the preset's values.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Preset name (a TOML file in seeds/). Default: the default preset, unless --rows and --cols are given.
    #[arg(long)]
    pub preset: Option<String>,
    /// Array rows (contraction axis K), 1..=256.
    #[arg(long, value_parser = count(1, config::MAX_ROWS))]
    pub rows: Option<u32>,
    /// Array columns (stationary free axis M), 1..=256.
    #[arg(long, value_parser = count(1, config::MAX_COLS))]
    pub cols: Option<u32>,
    /// Input format: int2..int16, uint2..uint16, bf16, fp8e4m3 or fp8e5m2.
    #[arg(long)]
    pub format: Option<String>,
    /// Accumulator bits (at least one product's width, at most 64).
    #[arg(long, value_parser = count(2, config::MAX_ACC_BITS))]
    pub acc_bits: Option<u32>,
    /// PSUM banks, 1..=64.
    #[arg(long, value_parser = count(1, config::MAX_PSUM_BANKS))]
    pub psum_banks: Option<u32>,
    /// PSUM entries per bank: a power of two, 2..=4096.
    #[arg(long, value_parser = count(config::MIN_PSUM_DEPTH, config::MAX_PSUM_DEPTH))]
    pub psum_depth: Option<u32>,
    /// SBUF entries per partition: a power of two, 16..=65536.
    #[arg(long, value_parser = count(config::MIN_SBUF_DEPTH, config::MAX_SBUF_DEPTH))]
    pub sbuf_depth: Option<u32>,
    /// PE latency in cycles: 1, 2 (registered product); integers also 3 (and registered operands), 4 (and the multiplier split in two registered halves, for LUT fabrics) and 5 (and each half from two registered quarter products; LUT multipliers, formats of 4 bits or more); floating point also 3 (registered product and a two-stage adder) and 4 (and a two-stage multiplier).
    #[arg(long, value_parser = count(1, config::MAX_PE_LATENCY_INT))]
    pub pe_latency: Option<u32>,
    /// FPGA primitives the RTL instantiates itself: generic (default), ecp5 (integer PEs' multipliers as MULT18X18D with their own registers; pe_latency 2, 3 or 4) or ice40 (two PEs' multipliers in one iCE40 UltraPlus SB_MAC16 in dual 8x8 mode, with its registers, and the columns past --dsp-cols on the RTL's own carry-chain multipliers; integers of at most 8 bits, pe_latency 2, 3 or 4).
    #[arg(long, value_parser = parse_primitives)]
    pub primitives: Option<config::Primitives>,
    /// With --primitives ecp5 or ice40: how many columns (the first ones) have their multipliers on DSP blocks; the others use LUT multipliers (for a device with fewer blocks than the array needs; 0 with ice40 for an iCE40 without SB_MAC16, such as the HX8K). Default: all.
    #[arg(long, value_parser = count(0, config::MAX_COLS))]
    pub dsp_cols: Option<u32>,
    /// Integer PSUM accumulate in two halves (the high one a cycle later, adding the low one's carry): half the accumulate loop, results one cycle later. Integers at pe_latency 3, 4 or 5.
    #[arg(long)]
    pub psum_split: bool,
    /// How the engine's SBUF is built: partitioned (default: lane memories per partition, a bus word written in one cycle) or packed (one memory per read port holding every partition's entry in a row, a bus word written one entry per cycle: fewer block RAMs, for the iCE40 boards).
    #[arg(long, value_parser = parse_sbuf_layout)]
    pub sbuf_layout: Option<config::SbufLayout>,
    /// Columns per tile: the moving data and the swap token reach the columns of a tile in the same cycle (broadcast) and are registered between tiles, so the outputs need COLS/TILE-COLS stages of deskew instead of COLS (fewer registers; longer wires). Default 1: registered at every column.
    #[arg(long, value_parser = count(1, config::MAX_COLS))]
    pub tile_cols: Option<u32>,
    /// Keep every PE's swap-token register through synthesis: the PEs of an anti-diagonal hold equal tokens, and synthesis otherwise merges their registers into one that drives them all across the array (the critical path of large arrays). A few more flip-flops, the same behaviour.
    #[arg(long)]
    pub keep_tokens: bool,
    /// The memory path (docs/memory-path.md): a DMA engine on an AXI4 master, the ACTIVATE write-back unit, semaphores and instruction fetch. Formats int8, uint8 (acc_bits 32), bf16, fp8e4m3, fp8e5m2.
    #[arg(long)]
    pub dma: bool,
    /// With --dma: the AXI4 data width, 32, 64 (default), 128, 256 or 512.
    #[arg(long, value_parser = count(32, 512))]
    pub dma_bits: Option<u32>,
    /// With --dma: read bursts outstanding on the AXI4 master, 1..=64 (default 4).
    #[arg(long, value_parser = count(1, config::MAX_DMA_READS))]
    pub dma_reads: Option<u32>,
}

/// A parser for a count flag that takes any integer text and refuses only what no `u32` holds,
/// naming the flag's real range (`lo..=hi`); values in `u32` go on to the configuration's own
/// check, which names the field, the range and a hint.
fn count(lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s: &str| match s.trim().parse::<i128>() {
        Ok(v) => u32::try_from(v).map_err(|_| format!("{v} is out of range: allowed {lo}..={hi}")),
        Err(_) => Err(format!("`{s}` is not a whole number: allowed {lo}..={hi}")),
    }
}

/// `--baud` (every command that has one): a rate the serial port can be set to, the one end of
/// the link every board design talks to. Whether the board's clock makes it is checked with the
/// board ([`baud_for_clock`]).
pub fn parse_baud(s: &str) -> Result<u32, String> {
    let ok = systolic::uart::serial::supported_bauds();
    match s.trim().parse::<u32>() {
        Ok(b) if ok.contains(&b) => Ok(b),
        _ => {
            let list: Vec<String> = ok.iter().map(u32::to_string).collect();
            Err(format!(
                "`{s}` is not a standard serial baud rate (one of {})",
                list.join(", ")
            ))
        }
    }
}

/// `--baud` at the board design's core clock: its `CLKS_PER_BIT`, or a usage error naming the
/// flag and the range the clock allows.
pub fn baud_for_clock(baud: u32, clock_hz: f64) -> anyhow::Result<u32> {
    systolic::frame::uart_divider(clock_hz, baud).map_err(|e| {
        UsageError {
            message: format!("--baud {baud}: {e}"),
            hint: Some("give another standard --baud, or another clock (--pll-mhz)"),
        }
        .into()
    })
}

fn parse_sbuf_layout(s: &str) -> Result<config::SbufLayout, String> {
    match s {
        "partitioned" => Ok(config::SbufLayout::Partitioned),
        "packed" => Ok(config::SbufLayout::Packed),
        _ => Err(format!("unknown SBUF layout {s:?}: partitioned or packed")),
    }
}

fn parse_primitives(s: &str) -> Result<config::Primitives, String> {
    match s {
        "generic" => Ok(config::Primitives::Generic),
        "ecp5" => Ok(config::Primitives::Ecp5),
        "ice40" => Ok(config::Primitives::Ice40),
        _ => Err(format!("unknown primitives {s:?}: generic, ecp5 or ice40")),
    }
}

impl ConfigArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            rows: self.rows,
            cols: self.cols,
            format: self.format.clone(),
            acc_bits: self.acc_bits,
            psum_banks: self.psum_banks,
            psum_depth: self.psum_depth,
            sbuf_depth: self.sbuf_depth,
            pe_latency: self.pe_latency,
            dsp_cols: self.dsp_cols,
            psum_split: self.psum_split.then_some(true),
            primitives: self.primitives,
            sbuf_layout: self.sbuf_layout,
            tile_cols: self.tile_cols,
            keep_tokens: self.keep_tokens.then_some(true),
            dma: self.dma.then_some(true),
            dma_bits: self.dma_bits,
            dma_reads: self.dma_reads,
        }
    }

    /// The configuration flags as given, as command-line text (empty for the default preset):
    /// for a hint naming another command on the same configuration.
    pub fn flags(&self) -> String {
        let num = |name: &str, v: Option<u32>| v.map(|v| format!("--{name} {v}"));
        let text = |name: &str, v: Option<String>| v.map(|v| format!("--{name} {v}"));
        let switch = |name: &str, on: bool| on.then(|| format!("--{name}"));
        [
            text("preset", self.preset.clone()),
            num("rows", self.rows),
            num("cols", self.cols),
            text("format", self.format.clone()),
            num("acc-bits", self.acc_bits),
            num("psum-banks", self.psum_banks),
            num("psum-depth", self.psum_depth),
            num("sbuf-depth", self.sbuf_depth),
            num("pe-latency", self.pe_latency),
            text("primitives", self.primitives.map(|p| p.to_string())),
            num("dsp-cols", self.dsp_cols),
            switch("psum-split", self.psum_split),
            text("sbuf-layout", self.sbuf_layout.map(|l| l.to_string())),
            num("tile-cols", self.tile_cols),
            switch("keep-tokens", self.keep_tokens),
            switch("dma", self.dma),
            num("dma-bits", self.dma_bits),
            num("dma-reads", self.dma_reads),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Resolve to a validated configuration.
    pub fn resolve(&self) -> anyhow::Result<Config> {
        self.resolve_in(&config::seeds_dir())
    }

    pub fn resolve_in(&self, seeds: &Path) -> anyhow::Result<Config> {
        let o = self.overrides();
        let cfg = match (&self.preset, self.rows, self.cols) {
            (Some(name), _, _) => Config::from_preset(seeds, name, &o)?,
            (None, Some(_), Some(_)) => Config::from_overrides(&o)?,
            (None, None, None) => Config::from_preset(seeds, config::DEFAULT_PRESET, &o)?,
            _ => {
                return Err(UsageError {
                    message: "--rows and --cols go together when no --preset is given".into(),
                    hint: Some("give both, or name a preset with --preset"),
                }
                .into())
            }
        };
        Ok(cfg)
    }
}
