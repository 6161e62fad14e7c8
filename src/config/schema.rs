//! The TOML schema of a preset: [`RawConfig`] as it appears in a file (with the serde defaults
//! of the optional fields and what the canonical text leaves out), the [`SbufLayout`] and
//! [`Primitives`] choices, and the command-line [`Overrides`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The raw, user-facing configuration as it appears in a preset file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Preset name, used in generated file headers and reports.
    #[serde(default = "default_name")]
    pub name: String,
    pub rows: u32,
    pub cols: u32,
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default = "default_acc_bits")]
    pub acc_bits: u32,
    #[serde(default = "default_psum_banks")]
    pub psum_banks: u32,
    #[serde(default = "default_psum_depth")]
    pub psum_depth: u32,
    /// SBUF entries per partition (the engine around the core; see `docs/isa.md`).
    #[serde(default = "default_sbuf_depth")]
    pub sbuf_depth: u32,
    /// Cycles from a PE's moving input to its partial-sum output (see `rtl::pe`): 1 (default),
    /// 2 (registered product), 3 (integers: also registered operands; floating point: a
    /// registered product and a two-stage adder), 4 (integers: also the multiplier split in
    /// two halves with registered partial products, for LUT fabrics; floating point: also a
    /// two-stage multiplier). Omitted from the canonical text when 1, so configurations without it keep
    /// their hash.
    #[serde(
        default = "default_pe_latency",
        skip_serializing_if = "is_default_pe_latency"
    )]
    pub pe_latency: u32,
    /// FPGA primitives instantiated by the generated RTL (`generic`, the default, `ecp5` or
    /// `ice40`).
    /// Omitted from the canonical text when generic.
    #[serde(default, skip_serializing_if = "is_generic")]
    pub primitives: Primitives,
    /// With `primitives` other than generic: how many columns (the first ones) have their
    /// multipliers on the DSP blocks; the others use LUT multipliers (a device with fewer
    /// blocks than PEs). Default and omitted: all columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsp_cols: Option<u32>,
    /// Integer PSUM accumulate split in two lanes (the low `(acc_bits + 4) / 2` bits, then the rest
    /// one cycle later with the low half's carry), each half with its own memory
    /// and forwarding: the accumulate loop is half as long, a result is written one cycle
    /// later. Needs an integer format and pe_latency 3, 4 or 5 (the PSUM's read-ahead 2).
    /// Omitted from the canonical text when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub psum_split: bool,
    /// How the engine's SBUF is built (see `rtl::sbuf`): `partitioned` (the default: lane
    /// memories per partition, a 32-bit bus word written in one cycle) or `packed` (one memory
    /// per read port, a row holding one entry of every partition; a bus word written one entry
    /// per cycle: fewer, fuller block RAMs, for small devices). The core is the same either way.
    /// Omitted from the canonical text when partitioned.
    #[serde(default, skip_serializing_if = "is_partitioned")]
    pub sbuf_layout: SbufLayout,
    /// Columns per tile (1..=cols): the moving data and the swap token reach every column of a
    /// tile in the same cycle and are registered between tiles (see `rtl::array`), so a
    /// column's results are `c / tile_cols` cycles behind column 0's instead of `c`: fewer
    /// moving and deskew registers, longer wires. Default and omitted: 1 (a register at every
    /// column).
    #[serde(
        default = "default_tile_cols",
        skip_serializing_if = "is_default_tile_cols"
    )]
    pub tile_cols: u32,
    /// Keep every PE's swap-token register (a `keep` attribute for synthesis). The token reaches
    /// PE (r, c) in the cycle `r + c / tile_cols`, so the PEs of an anti-diagonal hold equal
    /// tokens and synthesis merges their registers into one that drives them all, across the
    /// array: on large arrays that net is the critical path. A few more flip-flops; the same
    /// behaviour. Default and omitted: false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_tokens: bool,
    /// The memory path (`docs/memory-path.md`): a DMA engine on an AXI4 master, the ACTIVATE
    /// write-back unit, semaphores and instruction fetch. Needs an 8-bit integer format (with
    /// `acc_bits = 32`), bf16 or an fp8 format. Omitted from the canonical text when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dma: bool,
    /// AXI4 data width of the memory path: 32, 64 (the default), 128, 256 or 512. Only with
    /// `dma = true` (and then always in the canonical text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dma_bits: Option<u32>,
    /// Read bursts outstanding on the AXI4 master, 1..=64 (default 4). Only with `dma = true`
    /// (and then always in the canonical text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dma_reads: Option<u32>,
}

/// Default AXI4 data width of the memory path.
pub const DEFAULT_DMA_BITS: u32 = 64;
/// Default read bursts outstanding on the AXI4 master.
pub const DEFAULT_DMA_READS: u32 = 4;

fn default_tile_cols() -> u32 {
    1
}

fn is_default_tile_cols(v: &u32) -> bool {
    *v == 1
}

/// How the engine's state buffer is built of memories (see `rtl::sbuf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SbufLayout {
    /// Per read port and partition, one lane memory per entry of a 32-bit bus word: a host
    /// write stores a whole word in one cycle; each lane memory takes at least one block RAM.
    #[default]
    Partitioned,
    /// Per read port, one memory whose row holds one entry of every partition (written with a
    /// per-partition enable): a host word is stored one entry per cycle, and the bus waits for
    /// it; `ceil(partitions x bits / 16)` iCE40 block RAMs per port at up to 256 entries.
    Packed,
}

impl fmt::Display for SbufLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SbufLayout::Partitioned => "partitioned",
            SbufLayout::Packed => "packed",
        })
    }
}

fn is_partitioned(l: &SbufLayout) -> bool {
    *l == SbufLayout::Partitioned
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// FPGA primitives the generated RTL instantiates itself, where inference cannot reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitives {
    /// Portable RTL only: every multiplier and memory is inferred by the synthesis tool.
    #[default]
    Generic,
    /// Lattice ECP5: each integer PE's multiplier is a MULT18X18D with its own input and output
    /// registers (Yosys maps multipliers to it combinationally only), and at pe_latency 3 each
    /// PSUM column of up to 1024 entries is DP16KD blocks with their output registers (Yosys
    /// never uses them); needs an integer format and pe_latency 2, 3 or 4 (4: the product
    /// registered again in the fabric, beside the adder).
    Ecp5,
    /// Lattice iCE40: the multipliers of each pair of PEs in a DSP column (rows 2i and 2i+1)
    /// are one UltraPlus SB_MAC16 in its dual 8x8 mode, with its input and product registers
    /// (`synth_ice40 -dsp` inference was measured producing wrong netlists for
    /// multiply-accumulate chains), and those of the columns past `dsp_cols` array multipliers
    /// on the carry chains (`rtl::carry_mul`; `dsp_cols = 0` for devices without SB_MAC16);
    /// needs an integer format of at most 8 bits and pe_latency 2, 3 or 4 (4: the products
    /// registered again in the fabric, beside the adders).
    Ice40,
}

impl fmt::Display for Primitives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Primitives::Generic => "generic",
            Primitives::Ecp5 => "ecp5",
            Primitives::Ice40 => "ice40",
        })
    }
}

fn is_generic(p: &Primitives) -> bool {
    *p == Primitives::Generic
}

fn default_pe_latency() -> u32 {
    1
}
fn is_default_pe_latency(v: &u32) -> bool {
    *v == default_pe_latency()
}

pub(super) fn default_name() -> String {
    "custom".to_string()
}
fn default_format() -> String {
    "int8".to_string()
}
fn default_acc_bits() -> u32 {
    32
}
fn default_psum_banks() -> u32 {
    2
}
fn default_psum_depth() -> u32 {
    64
}
fn default_sbuf_depth() -> u32 {
    1024
}

/// Command-line overrides of a preset (every field optional).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub rows: Option<u32>,
    pub cols: Option<u32>,
    pub format: Option<String>,
    pub acc_bits: Option<u32>,
    pub psum_banks: Option<u32>,
    pub psum_depth: Option<u32>,
    pub sbuf_depth: Option<u32>,
    pub pe_latency: Option<u32>,
    pub primitives: Option<Primitives>,
    pub dsp_cols: Option<u32>,
    pub psum_split: Option<bool>,
    pub sbuf_layout: Option<SbufLayout>,
    pub tile_cols: Option<u32>,
    pub keep_tokens: Option<bool>,
    pub dma: Option<bool>,
    pub dma_bits: Option<u32>,
    pub dma_reads: Option<u32>,
}

impl RawConfig {
    pub fn apply(&mut self, o: &Overrides) {
        let changed = o.rows.is_some()
            || o.cols.is_some()
            || o.format.is_some()
            || o.acc_bits.is_some()
            || o.psum_banks.is_some()
            || o.psum_depth.is_some()
            || o.sbuf_depth.is_some()
            || o.pe_latency.is_some()
            || o.primitives.is_some()
            || o.dsp_cols.is_some()
            || o.psum_split.is_some()
            || o.sbuf_layout.is_some()
            || o.tile_cols.is_some()
            || o.keep_tokens.is_some()
            || o.dma.is_some()
            || o.dma_bits.is_some()
            || o.dma_reads.is_some();
        if let Some(v) = o.rows {
            self.rows = v;
        }
        if let Some(v) = o.cols {
            self.cols = v;
        }
        if let Some(v) = &o.format {
            self.format = v.clone();
        }
        if let Some(v) = o.acc_bits {
            self.acc_bits = v;
        }
        if let Some(v) = o.psum_banks {
            self.psum_banks = v;
        }
        if let Some(v) = o.psum_depth {
            self.psum_depth = v;
        }
        if let Some(v) = o.sbuf_depth {
            self.sbuf_depth = v;
        }
        if let Some(v) = o.pe_latency {
            self.pe_latency = v;
        }
        if let Some(v) = o.primitives {
            self.primitives = v;
        }
        if let Some(v) = o.dsp_cols {
            self.dsp_cols = Some(v);
        }
        if let Some(v) = o.psum_split {
            self.psum_split = v;
        }
        if let Some(v) = o.sbuf_layout {
            self.sbuf_layout = v;
        }
        if let Some(v) = o.tile_cols {
            self.tile_cols = v;
        }
        if let Some(v) = o.keep_tokens {
            self.keep_tokens = v;
        }
        if let Some(v) = o.dma {
            self.dma = v;
        }
        if let Some(v) = o.dma_bits {
            self.dma_bits = Some(v);
        }
        if let Some(v) = o.dma_reads {
            self.dma_reads = Some(v);
        }
        if changed && !self.name.ends_with("+custom") && self.name != "custom" {
            self.name = format!("{}+custom", self.name);
        }
    }
}

/// The values a preset file gets for every field it leaves out (the serde defaults above), on
/// an 8 x 8 array (the size of the default preset, [`super::DEFAULT_PRESET`]; `rows` and
/// `cols` have no default in a file). Tests write `RawConfig { rows, cols, ..Default::default() }`.
impl Default for RawConfig {
    fn default() -> RawConfig {
        RawConfig {
            name: default_name(),
            rows: 8,
            cols: 8,
            format: default_format(),
            acc_bits: default_acc_bits(),
            psum_banks: default_psum_banks(),
            psum_depth: default_psum_depth(),
            sbuf_depth: default_sbuf_depth(),
            pe_latency: default_pe_latency(),
            primitives: Primitives::default(),
            dsp_cols: None,
            psum_split: false,
            sbuf_layout: SbufLayout::default(),
            tile_cols: default_tile_cols(),
            keep_tokens: false,
            dma: false,
            dma_bits: None,
            dma_reads: None,
        }
    }
}
