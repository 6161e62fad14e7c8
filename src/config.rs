//! Engine configuration: read from a TOML preset, overridden by command-line flags, validated
//! once, with every derived width computed once in [`Derived`].
//!
//! Everything downstream (the structural hardware model, the Verilog printer, the golden model,
//! co-simulation) takes `&Config` and never re-validates.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::format::NumberFormat;

/// Limits of the generator. They bound what the generated Verilog, the C++ shim and the golden
/// model are tested for; they are not limits of the architecture.
pub const MAX_ROWS: u32 = 256;
pub const MAX_COLS: u32 = 256;
pub const MAX_PSUM_BANKS: u32 = 64;
pub const MIN_PSUM_DEPTH: u32 = 2;
pub const MAX_PSUM_DEPTH: u32 = 4096;
pub const MAX_ACC_BITS: u32 = 64;
pub const MIN_SBUF_DEPTH: u32 = 16;
pub const MAX_SBUF_DEPTH: u32 = 65536;
/// Largest PE latency (`pe_latency`) of the integer formats: registered operands, the
/// multiplier split in four registered quarter products, then two registered halves, registered
/// product.
pub const MAX_PE_LATENCY_INT: u32 = 5;
/// Largest PE latency of the floating-point formats: two-stage multiplier, registered product,
/// two-stage adder.
pub const MAX_PE_LATENCY_FLOAT: u32 = 4;

/// A configuration error: names the field, the value and what is allowed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        field: &'static str,
        value: String,
        allowed: String,
    },
    #[error("acc_bits = {acc_bits} is narrower than one {format} product ({product_bits} bits): allowed {product_bits}..={max}")]
    AccumulatorTooNarrow {
        acc_bits: u32,
        format: String,
        product_bits: u32,
        max: u32,
    },
    #[error("format = \"{0}\" is not a known number format: allowed int2..int16, uint2..uint16, bf16, fp8e4m3, fp8e5m2")]
    UnknownFormat(String),
    #[error("acc_bits = {acc_bits} with format = \"{format}\": floating-point formats accumulate in fp32, so acc_bits must be 32")]
    FloatAccumulator { acc_bits: u32, format: String },
    #[error("preset `{name}` not found in {dir}: available presets: {available}")]
    UnknownPreset {
        name: String,
        dir: String,
        available: String,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

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
}

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

fn default_name() -> String {
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
            || o.keep_tokens.is_some();
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
        if changed && !self.name.ends_with("+custom") && self.name != "custom" {
            self.name = format!("{}+custom", self.name);
        }
    }
}

/// A validated configuration with its derived widths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub name: String,
    pub rows: u32,
    pub cols: u32,
    pub format: NumberFormat,
    pub acc_bits: u32,
    pub psum_banks: u32,
    pub psum_depth: u32,
    /// SBUF entries per partition; the SBUF has `max(rows, cols)` partitions.
    pub sbuf_depth: u32,
    /// PE latency in cycles (`mul_lat + add_lat` in [`Derived`]).
    pub pe_latency: u32,
    /// FPGA primitives instantiated by the generated RTL.
    pub primitives: Primitives,
    /// Columns (the first ones) whose multipliers are the primitives' DSP blocks: `cols` unless
    /// `dsp_cols` says fewer; 0 with generic primitives.
    pub dsp_cols: u32,
    /// Integer PSUM accumulate in two halves, the high one a cycle later (see `rtl::psum`).
    pub psum_split: bool,
    /// How the engine's SBUF is built (see `rtl::sbuf`).
    pub sbuf_layout: SbufLayout,
    /// Columns per tile: moving data broadcast within a tile, registered between tiles.
    pub tile_cols: u32,
    /// Every PE's swap-token register kept through synthesis (not merged along anti-diagonals).
    pub keep_tokens: bool,
    pub derived: Derived,
}

/// Widths and latencies computed once from a validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// Bits of one input element (`DATA_W`).
    pub data_w: u32,
    /// Bits of one accumulator (`ACC_W`).
    pub acc_w: u32,
    /// Bits of a partial sum inside the array (`PS_W`): integers `min(acc_w, 2*data_w +
    /// ceil(log2(rows)))`, which holds the exact sum of `rows` products, so adding modulo
    /// `2^PS_W` and extending to `acc_w` below the array gives the same value as adding modulo
    /// `2^acc_w`; floating point `acc_w` (fp32 partial sums). The generated top level computes
    /// the same value from its parameters.
    pub ps_w: u32,
    /// Bits of a row index inside the array (`ROW_W`, at least 1).
    pub row_w: u32,
    /// Bits of a K count, 1..=rows (`K_W`).
    pub k_w: u32,
    /// Bits of an M count, 1..=cols (`M_W`).
    pub m_w: u32,
    /// Bits of an N count, 1..=psum_depth (`N_W`).
    pub n_w: u32,
    /// Bits of a PSUM bank number (`BANK_W`, at least 1).
    pub bank_w: u32,
    /// Bits of an address inside one PSUM bank (`ADDR_W`).
    pub addr_w: u32,
    /// Registers between a PE's moving input and its product (`MUL_LAT`: 0..=4 for integers: 1
    /// the product, 2 also the operands, 3 also the two halves, 4 also the four quarter products;
    /// 0..=2 for floating point: 2 a two-stage multiplier).
    pub mul_lat: u32,
    /// Cycles from a PE's partial-sum input to its output (`ADD_LAT`, 1 or 2): the step of the
    /// moving data's skew from one row to the next.
    pub add_lat: u32,
    /// Registers inside the fp32 accumulate adder of PSUM (`ACC_PIPE`: `add_lat - 1`, 0 for
    /// integers). With 1 a result is written one cycle later, and an accumulation into the entry
    /// of the beat just before it waits one cycle (see `rtl::psum`).
    pub psum_pipe: u32,
    /// Integer PSUM read-ahead (`RD_AHEAD`, 0..=2; `mul_lat` (at most 2) for integers, 0 for floating
    /// point): the control of a result vector reaches PSUM `1 + psum_ahead` cycles before its
    /// data; with 1 the old value is read and selected a cycle early, so only the adder is left
    /// in the data cycle; with 2 the memory's read data is also registered before the selection,
    /// and the sum is written from its register one cycle after the data cycle
    /// (`psum_wr_reg`; see `rtl::psum`).
    pub psum_ahead: u32,
    /// Integer PSUM writes a sum from its register, one cycle after its data cycle (1 with
    /// `psum_ahead` 2, else 0): results are written, and visible, one cycle later.
    pub psum_wr_reg: u32,
    /// PSUM memories on ECP5 block RAMs with their output registers (`RAM_ECP5`, 0 or 1):
    /// with `primitives = "ecp5"`, read-ahead 2 and at most 1024 entries per column. The read
    /// data then leaves the block's own output register, and a host read answers one cycle
    /// later (`psum_read_lat`).
    pub psum_ram_ecp5: u32,
    /// Cycles from a host PSUM read request to its response: 2, or 3 with `psum_ram_ecp5`.
    pub psum_read_lat: u32,
    /// Integer PSUM accumulate split (`psum_split`, 0 or 1): the low `psum_lo_w` bits of a sum
    /// are written at the usual edge, the high ones one edge later, which is then the write's
    /// (`wr_valid`) and the result's visibility.
    pub psum_split: u32,
    /// Bits of the low lane of a split accumulate (`LO_W` = `(acc_w + 4) / 2`, at most
    /// `acc_w - 1`: the high lane, which also adds the low lane's carry, is shorter); `acc_w`
    /// unsplit.
    pub psum_lo_w: u32,
    /// Register stages along a row of the array: `ceil(cols / tile_cols)` (column `c`'s results
    /// leave `c / tile_cols` cycles after column 0's; the deskew evens them out).
    pub col_stages: u32,
    /// Extra cycles a new stationary load waits after a swap so that it never overtakes the
    /// swap wavefront: `(rows - 1) * (add_lat - 1)` (0 when `add_lat` is 1).
    pub load_hold: u32,
    /// A moving beat fired in cycle s is written at the edge ending cycle
    /// s + rows*add_lat + mul_lat + col_stages + psum_pipe + psum_wr_reg + psum_split, so it is
    /// visible from cycle
    /// s + `mm_latency` (see `rtl::top` and `golden::timing`).
    pub mm_latency: u32,
}

/// Number of bits needed to represent values 0..=max (at least 1).
pub fn bits_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

fn range_err(
    field: &'static str,
    value: impl fmt::Display,
    allowed: impl fmt::Display,
) -> ConfigError {
    ConfigError::OutOfRange {
        field,
        value: value.to_string(),
        allowed: allowed.to_string(),
    }
}

impl Config {
    /// Validate a raw configuration and compute its derived widths.
    pub fn from_raw(raw: &RawConfig) -> Result<Config, ConfigError> {
        if raw.rows == 0 || raw.rows > MAX_ROWS {
            return Err(range_err("rows", raw.rows, format!("1..={MAX_ROWS}")));
        }
        if raw.cols == 0 || raw.cols > MAX_COLS {
            return Err(range_err("cols", raw.cols, format!("1..={MAX_COLS}")));
        }
        let format: NumberFormat = raw
            .format
            .parse()
            .map_err(|_| ConfigError::UnknownFormat(raw.format.clone()))?;
        let product_bits = format.product_bits();
        if format.is_float() && raw.acc_bits != crate::format::FLOAT_ACC_BITS {
            return Err(ConfigError::FloatAccumulator {
                acc_bits: raw.acc_bits,
                format: format.to_string(),
            });
        }
        if raw.acc_bits < product_bits {
            return Err(ConfigError::AccumulatorTooNarrow {
                acc_bits: raw.acc_bits,
                format: format.to_string(),
                product_bits,
                max: MAX_ACC_BITS,
            });
        }
        if raw.acc_bits > MAX_ACC_BITS {
            return Err(range_err(
                "acc_bits",
                raw.acc_bits,
                format!("{product_bits}..={MAX_ACC_BITS}"),
            ));
        }
        if raw.psum_banks == 0 || raw.psum_banks > MAX_PSUM_BANKS {
            return Err(range_err(
                "psum_banks",
                raw.psum_banks,
                format!("1..={MAX_PSUM_BANKS}"),
            ));
        }
        if raw.psum_depth < MIN_PSUM_DEPTH
            || raw.psum_depth > MAX_PSUM_DEPTH
            || !raw.psum_depth.is_power_of_two()
        {
            return Err(range_err(
                "psum_depth",
                raw.psum_depth,
                format!("a power of two in {MIN_PSUM_DEPTH}..={MAX_PSUM_DEPTH}"),
            ));
        }
        if raw.sbuf_depth < MIN_SBUF_DEPTH
            || raw.sbuf_depth > MAX_SBUF_DEPTH
            || !raw.sbuf_depth.is_power_of_two()
        {
            return Err(range_err(
                "sbuf_depth",
                raw.sbuf_depth,
                format!("a power of two in {MIN_SBUF_DEPTH}..={MAX_SBUF_DEPTH}"),
            ));
        }
        if !is_plain_name(&raw.name)
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
        {
            return Err(range_err(
                "name",
                format!("{:?}", raw.name),
                "letters, digits and - _ + ., not `.` or `..` (it names folders)",
            ));
        }
        let max_latency = if format.is_float() {
            MAX_PE_LATENCY_FLOAT
        } else {
            MAX_PE_LATENCY_INT
        };
        if raw.pe_latency == 0 || raw.pe_latency > max_latency {
            return Err(range_err(
                "pe_latency",
                raw.pe_latency,
                format!("1..={max_latency} for {format}"),
            ));
        }
        // (mul_lat, add_lat), pe_latency = mul_lat + add_lat. Both: 1: (0, 1), 2: (1, 1);
        // integers 3: (2, 1) (operand registers), 4: (3, 1) (and partial products), 5: (4, 1)
        // (and quarter products); floating point 3: (1, 2), 4: (2, 2).
        let (mul_lat, add_lat) = match (raw.pe_latency, format.is_float()) {
            (1, _) => (0, 1),
            (2, _) => (1, 1),
            (3, false) => (2, 1),
            (4, false) => (3, 1),
            (5, false) => (4, 1),
            (3, true) => (1, 2),
            _ => (2, 2),
        };
        if mul_lat == 4 && format.bits() < 4 {
            return Err(range_err(
                "pe_latency",
                raw.pe_latency,
                format!(
                    "1..=4 for {format}; pe_latency 5 splits the multiplier into four parts of \
                     the weight, which needs at least 4 bits"
                ),
            ));
        }
        if raw.primitives == Primitives::Ecp5 && (format.is_float() || mul_lat == 0 || mul_lat == 4)
        {
            return Err(range_err(
                "primitives",
                raw.primitives,
                format!(
                    "generic for {format} at pe_latency {}; ecp5 needs an integer format and \
                     pe_latency 2, 3 or 4 (the DSP's registers)",
                    raw.pe_latency
                ),
            ));
        }
        if raw.primitives == Primitives::Ice40
            && (format.is_float() || format.bits() > 8 || mul_lat == 0 || mul_lat == 4)
        {
            return Err(range_err(
                "primitives",
                raw.primitives,
                format!(
                    "generic for {format} at pe_latency {}; ice40 (SB_MAC16 in its dual 8x8 \
                     mode, carry-chain multipliers) needs an integer format of at most 8 bits \
                     and pe_latency 2, 3 or 4",
                    raw.pe_latency
                ),
            ));
        }
        let dsp_cols = match (raw.primitives, raw.dsp_cols) {
            (Primitives::Generic, None) => 0,
            (Primitives::Generic, Some(v)) => {
                return Err(range_err(
                    "dsp_cols",
                    v,
                    "none with generic primitives (ecp5 or ice40 place columns on DSP blocks)",
                ))
            }
            (_, None) => raw.cols,
            (_, Some(v)) if v > raw.cols => {
                return Err(range_err("dsp_cols", v, format!("0..={} (cols)", raw.cols)))
            }
            (_, Some(v)) => v,
        };
        let psum_ahead = if format.is_float() { 0 } else { mul_lat.min(2) };
        if raw.psum_split && (format.is_float() || psum_ahead < 2 || raw.acc_bits < 2) {
            return Err(range_err(
                "psum_split",
                raw.psum_split,
                format!(
                    "false for {format} at pe_latency {}; the split accumulate needs an integer \
                     format and pe_latency 3, 4 or 5 (the PSUM's read-ahead)",
                    raw.pe_latency
                ),
            ));
        }
        if raw.tile_cols == 0 || raw.tile_cols > raw.cols {
            return Err(range_err(
                "tile_cols",
                raw.tile_cols,
                format!("1..={} (cols)", raw.cols),
            ));
        }
        let col_stages = raw.cols.div_ceil(raw.tile_cols);
        let psum_split = u32::from(raw.psum_split);
        let psum_wr_reg = u32::from(psum_ahead == 2);
        let psum_ram_ecp5 = u32::from(
            raw.primitives == Primitives::Ecp5
                && psum_ahead == 2
                && raw.psum_banks * raw.psum_depth <= 1024,
        );
        let derived = Derived {
            data_w: format.bits(),
            acc_w: raw.acc_bits,
            ps_w: if format.is_float() {
                raw.acc_bits
            } else {
                raw.acc_bits
                    .min(product_bits + (u32::BITS - (raw.rows - 1).leading_zeros()))
            },
            row_w: bits_for(u64::from(raw.rows - 1)),
            k_w: bits_for(u64::from(raw.rows)),
            m_w: bits_for(u64::from(raw.cols)),
            n_w: bits_for(u64::from(raw.psum_depth)),
            bank_w: bits_for(u64::from(raw.psum_banks - 1)),
            addr_w: raw.psum_depth.trailing_zeros(),
            mul_lat,
            add_lat,
            psum_pipe: add_lat - 1,
            psum_ahead,
            psum_wr_reg,
            psum_ram_ecp5,
            psum_read_lat: 2 + psum_ram_ecp5,
            psum_split,
            // The high lane's path also holds the low lane's carry (a LUT and its route, about
            // four carry-chain bits on the iCE40), so the low lane takes two bits more than
            // half: HX8K int8 4x4 at pe_latency 5, seeds 1-5, median 144.9 MHz at 16/16, 154.1
            // at 18/14 (148.7 at 20/12).
            psum_lo_w: if raw.psum_split {
                ((raw.acc_bits + 4) / 2).min(raw.acc_bits - 1)
            } else {
                raw.acc_bits
            },
            col_stages,
            load_hold: (raw.rows - 1) * (add_lat - 1),
            mm_latency: raw.rows * add_lat
                + mul_lat
                + col_stages
                + 1
                + (add_lat - 1)
                + psum_wr_reg
                + psum_split,
        };
        Ok(Config {
            name: raw.name.clone(),
            rows: raw.rows,
            cols: raw.cols,
            format,
            acc_bits: raw.acc_bits,
            psum_banks: raw.psum_banks,
            psum_depth: raw.psum_depth,
            sbuf_depth: raw.sbuf_depth,
            pe_latency: raw.pe_latency,
            primitives: raw.primitives,
            dsp_cols,
            psum_split: raw.psum_split,
            sbuf_layout: raw.sbuf_layout,
            tile_cols: raw.tile_cols,
            keep_tokens: raw.keep_tokens,
            derived,
        })
    }

    /// The raw form of this configuration (what a preset file would contain).
    pub fn to_raw(&self) -> RawConfig {
        RawConfig {
            name: self.name.clone(),
            rows: self.rows,
            cols: self.cols,
            format: self.format.to_string(),
            acc_bits: self.acc_bits,
            psum_banks: self.psum_banks,
            psum_depth: self.psum_depth,
            sbuf_depth: self.sbuf_depth,
            pe_latency: self.pe_latency,
            primitives: self.primitives,
            dsp_cols: (self.primitives != Primitives::Generic && self.dsp_cols != self.cols)
                .then_some(self.dsp_cols),
            psum_split: self.psum_split,
            sbuf_layout: self.sbuf_layout,
            tile_cols: self.tile_cols,
            keep_tokens: self.keep_tokens,
        }
    }

    /// Canonical TOML text of the configuration (stable field order).
    pub fn canonical_toml(&self) -> String {
        toml::to_string(&self.to_raw()).expect("a RawConfig always serialises")
    }

    /// SHA-256 of the canonical configuration, as 16 hex digits: goes into generated headers.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.canonical_toml().as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// Parse and validate a preset's TOML text. `origin` names the source in errors.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.message().to_string(),
        })?;
        raw.apply(overrides);
        Config::from_raw(&raw)
    }

    /// Load `seeds/NAME.toml` from `seeds_dir` and apply overrides.
    pub fn from_preset(
        seeds_dir: &Path,
        name: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let path = seeds_dir.join(format!("{name}.toml"));
        if !is_plain_name(name) || !path.is_file() {
            return Err(ConfigError::UnknownPreset {
                name: name.to_string(),
                dir: seeds_dir.display().to_string(),
                available: list_presets(seeds_dir).join(", "),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Config::from_toml_str(&text, &path.display().to_string(), overrides)
    }

    /// A configuration from flags alone (no preset): rows and cols are required by the caller.
    pub fn from_overrides(overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut raw = RawConfig {
            name: default_name(),
            rows: 0,
            cols: 0,
            format: default_format(),
            acc_bits: default_acc_bits(),
            psum_banks: default_psum_banks(),
            psum_depth: default_psum_depth(),
            sbuf_depth: default_sbuf_depth(),
            pe_latency: default_pe_latency(),
            primitives: Primitives::Generic,
            dsp_cols: None,
            psum_split: false,
            sbuf_layout: SbufLayout::Partitioned,
            tile_cols: default_tile_cols(),
            keep_tokens: false,
        };
        raw.apply(overrides);
        raw.name = default_name();
        Config::from_raw(&raw)
    }

    /// Total multiply-accumulate units.
    pub fn pes(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.cols)
    }

    /// DSP blocks of one DSP column: `primitives = "ecp5"` one MULT18X18D per PE, `"ice40"`
    /// one SB_MAC16 per pair of rows; none when generic.
    pub fn dsp_blocks_per_col(&self) -> u64 {
        u64::from(match self.primitives {
            Primitives::Generic => 0,
            Primitives::Ecp5 => self.rows,
            Primitives::Ice40 => self.rows.div_ceil(2),
        })
    }

    /// DSP blocks the RTL instantiates: [`Self::dsp_blocks_per_col`] in each of the `dsp_cols`
    /// columns.
    pub fn dsp_blocks(&self) -> u64 {
        self.dsp_blocks_per_col() * u64::from(self.dsp_cols)
    }

    /// A short tag for file and module naming: `r4c4_int8_a32`.
    pub fn tag(&self) -> String {
        let lat = if self.pe_latency == 1 {
            String::new()
        } else {
            format!("_l{}", self.pe_latency)
        };
        let prims = match self.primitives {
            Primitives::Generic => String::new(),
            p if self.dsp_cols < self.cols => format!("_{p}_d{}", self.dsp_cols),
            p => format!("_{p}"),
        };
        let split = if self.psum_split { "_s" } else { "" };
        let tile = if self.tile_cols > 1 {
            format!("_t{}", self.tile_cols)
        } else {
            String::new()
        };
        let keep = if self.keep_tokens { "_k" } else { "" };
        format!(
            "r{}c{}_{}_a{}{lat}{prims}{split}{tile}{keep}",
            self.rows, self.cols, self.format, self.acc_bits
        )
    }
}

/// Sizes of the engine around the core, computed once from a configuration. All widths of the
/// engine's own modules are plain numbers from here (the modules have no parameters: they are
/// generated per configuration, like their file header says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub rows: u32,
    pub cols: u32,
    /// SBUF partitions: `max(rows, cols)`.
    pub parts: u32,
    pub data_w: u32,
    pub acc_w: u32,
    pub k_w: u32,
    pub m_w: u32,
    pub n_w: u32,
    pub bank_w: u32,
    /// Bits of a PSUM address (the core's `ADDR_W`).
    pub paddr_w: u32,
    pub banks: u32,
    pub psum_depth: u32,
    pub sbuf_depth: u32,
    /// Bits of an SBUF entry address: `log2(sbuf_depth)`.
    pub sa_w: u32,
    /// Bits of a partition number (at least 1).
    pub part_w: u32,
    /// Bytes per SBUF entry on the bus (1 or 2) and its log2.
    pub eb: u32,
    pub ebb: u32,
    /// SBUF entries per 32-bit bus word (`4 / eb`) and its log2: the SBUF is built of this many
    /// interleaved lane memories per partition, so one bus write stores a whole word at once.
    pub lanes: u32,
    pub lane_b: u32,
    /// Bits of a row of a lane memory: `sa_w - lane_b`.
    pub srow_w: u32,
    /// Bits of `k * m`.
    pub km_w: u32,
    /// The SBUF is `packed` (see `crate::rtl::engine::sbuf`): the bus waits while it stores a word.
    pub sbuf_packed: bool,
}

impl Geometry {
    pub fn new(cfg: &Config) -> Geometry {
        let d = &cfg.derived;
        let parts = cfg.rows.max(cfg.cols);
        let eb = sbuf_entry_bytes(d.data_w);
        let lanes = 4 / eb;
        let sa_w = cfg.sbuf_depth.trailing_zeros();
        let lane_b = lanes.trailing_zeros();
        Geometry {
            rows: cfg.rows,
            cols: cfg.cols,
            parts,
            data_w: d.data_w,
            acc_w: d.acc_w,
            k_w: d.k_w,
            m_w: d.m_w,
            n_w: d.n_w,
            bank_w: d.bank_w,
            paddr_w: d.addr_w,
            banks: cfg.psum_banks,
            psum_depth: cfg.psum_depth,
            sbuf_depth: cfg.sbuf_depth,
            sa_w,
            part_w: bits_for(u64::from(parts - 1)),
            eb,
            ebb: eb.trailing_zeros(),
            lanes,
            lane_b,
            srow_w: sa_w - lane_b,
            km_w: d.k_w + d.m_w,
            sbuf_packed: cfg.sbuf_layout == SbufLayout::Packed,
        }
    }
}

/// Bytes per SBUF entry on the host bus: 1 for inputs of at most 8 bits, else 2.
pub fn sbuf_entry_bytes(data_w: u32) -> u32 {
    if data_w <= 8 {
        1
    } else {
        2
    }
}

/// Whether `name` is one plain file name: not empty, `.` or `..`, no path separator (a preset
/// name is looked up only inside the seeds folder; a configuration's name names folders such as
/// `generated/<name>/`).
fn is_plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(Component::Normal(n)), None) if n == name)
}

/// Names of the presets in a seeds directory, sorted.
pub fn list_presets(seeds_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(seeds_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}

/// The project's `seeds/` directory: `$SYSTOLIC_SEEDS` if set, else `./seeds` if it exists, else
/// the one in the source tree this binary was built from.
pub fn seeds_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYSTOLIC_SEEDS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("seeds");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// The preset used when none is named.
pub const DEFAULT_PRESET: &str = "int8-8x8";

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(rows: u32, cols: u32) -> RawConfig {
        RawConfig {
            name: "t".into(),
            rows,
            cols,
            format: "int8".into(),
            acc_bits: 32,
            psum_banks: 2,
            psum_depth: 64,
            sbuf_depth: 1024,
            pe_latency: 1,
            primitives: Default::default(),
            dsp_cols: None,
            psum_split: false,
            sbuf_layout: SbufLayout::Partitioned,
            tile_cols: 1,
            keep_tokens: false,
        }
    }

    #[test]
    fn keep_tokens_is_omitted_by_default_and_changes_the_hash_when_set() {
        let plain = Config::from_raw(&raw(3, 5)).unwrap();
        assert!(!plain.canonical_toml().contains("keep_tokens"));
        let mut r = raw(3, 5);
        r.keep_tokens = true;
        let kept = Config::from_raw(&r).unwrap();
        assert!(kept.canonical_toml().contains("keep_tokens = true"));
        assert_ne!(kept.hash(), plain.hash());
        assert_eq!(kept.derived, plain.derived, "the same timing");
        assert!(kept.tag().ends_with("_k"), "{}", kept.tag());
    }

    #[test]
    fn tile_cols_shorten_the_row_and_keep_the_default_hash() {
        let one = Config::from_raw(&raw(3, 5)).unwrap();
        assert_eq!(one.derived.col_stages, 5);
        assert!(!one.canonical_toml().contains("tile_cols"));
        let mut r = raw(3, 5);
        for (t, stages) in [(2, 3), (3, 2), (4, 2), (5, 1)] {
            r.tile_cols = t;
            let c = Config::from_raw(&r).unwrap();
            assert_eq!(c.derived.col_stages, stages, "tile_cols {t}");
            // Each stage fewer along the row is a cycle less from a beat to its PSUM write.
            assert_eq!(
                one.derived.mm_latency - c.derived.mm_latency,
                5 - stages,
                "tile_cols {t}"
            );
            assert!(c.canonical_toml().contains(&format!("tile_cols = {t}")));
            assert_ne!(c.hash(), one.hash());
        }
        for bad in [0, 6] {
            r.tile_cols = bad;
            let e = Config::from_raw(&r).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("tile_cols = {bad}")) && e.contains("1..=5"),
                "{e}"
            );
        }
    }

    #[test]
    fn derived_widths() {
        let c = Config::from_raw(&raw(4, 5)).unwrap();
        assert_eq!(c.derived.row_w, 2);
        assert_eq!(c.derived.k_w, 3);
        assert_eq!(c.derived.m_w, 3);
        assert_eq!(c.derived.n_w, 7);
        assert_eq!(c.derived.addr_w, 6);
        assert_eq!(c.derived.bank_w, 1);
        let one = Config::from_raw(&raw(1, 1)).unwrap();
        assert_eq!(one.derived.row_w, 1);
        assert_eq!(one.derived.k_w, 1);
    }

    #[test]
    fn rejects_bad_fields_with_names() {
        let e = Config::from_raw(&raw(0, 4)).unwrap_err().to_string();
        assert_eq!(e, "rows = 0 is out of range: allowed 1..=256");
        let mut r = raw(4, 4);
        r.acc_bits = 15;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(e.contains("acc_bits = 15") && e.contains("16..=64"), "{e}");
        let mut r = raw(4, 4);
        r.psum_depth = 100;
        assert!(Config::from_raw(&r)
            .unwrap_err()
            .to_string()
            .starts_with("psum_depth = 100"));
        let mut r = raw(4, 4);
        r.format = "int17".into();
        assert!(Config::from_raw(&r)
            .unwrap_err()
            .to_string()
            .contains("int17"));
    }

    #[test]
    fn ecp5_primitives_need_an_integer_format_and_a_pipelined_pe() {
        let mut r = raw(4, 4);
        r.primitives = Primitives::Ecp5;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.contains("primitives = ecp5") && e.contains("pe_latency 2, 3 or 4"),
            "{e}"
        );
        r.pe_latency = 3;
        let c = Config::from_raw(&r).unwrap();
        assert_eq!(c.tag(), "r4c4_int8_a32_l3_ecp5");
        assert!(c.canonical_toml().contains("primitives = \"ecp5\""));
        r.format = "bf16".into();
        assert!(Config::from_raw(&r).is_err());
        // generic is left out of the canonical text: older configurations keep their hash.
        assert!(!Config::from_raw(&raw(4, 4))
            .unwrap()
            .canonical_toml()
            .contains("primitives"));
    }

    #[test]
    fn ice40_primitives_need_a_narrow_integer_format_and_a_pipelined_pe() {
        let mut r = raw(4, 4);
        r.primitives = Primitives::Ice40;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.contains("primitives = ice40") && e.contains("pe_latency 2, 3 or 4"),
            "{e}"
        );
        r.pe_latency = 2;
        let c = Config::from_raw(&r).unwrap();
        assert_eq!(c.tag(), "r4c4_int8_a32_l2_ice40");
        assert!(c.canonical_toml().contains("primitives = \"ice40\""));
        for f in ["int9", "uint16", "fp8e4m3"] {
            r.format = f.into();
            assert!(Config::from_raw(&r).is_err(), "{f}");
        }
        r.format = "int5".into();
        assert!(Config::from_raw(&r).is_ok());
    }

    #[test]
    fn dsp_cols_choose_the_columns_on_dsp_blocks() {
        let mut r = raw(5, 4);
        r.pe_latency = 3;
        r.dsp_cols = Some(2);
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.starts_with("dsp_cols = 2") && e.contains("generic"),
            "{e}"
        );
        r.primitives = Primitives::Ice40;
        let c = Config::from_raw(&r).unwrap();
        // Three SB_MAC16 per column of 5 rows, in 2 columns; the tag and the text say so.
        assert_eq!((c.dsp_cols, c.dsp_blocks()), (2, 6));
        assert_eq!(c.tag(), "r5c4_int8_a32_l3_ice40_d2");
        assert!(c.canonical_toml().contains("dsp_cols = 2"));
        assert_eq!(Config::from_raw(&c.to_raw()).unwrap(), c);
        r.primitives = Primitives::Ecp5;
        assert_eq!(Config::from_raw(&r).unwrap().dsp_blocks(), 10);
        r.dsp_cols = Some(5);
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(e.contains("0..=4"), "{e}");
        // All columns (the default) is left out of the text: the configuration keeps its hash.
        r.dsp_cols = Some(4);
        let all = Config::from_raw(&r).unwrap();
        r.dsp_cols = None;
        assert_eq!(Config::from_raw(&r).unwrap(), all);
        assert!(!all.canonical_toml().contains("dsp_cols"));
        assert_eq!(all.dsp_blocks(), 20);
        assert_eq!(Config::from_raw(&raw(5, 4)).unwrap().dsp_blocks(), 0);
    }

    #[test]
    fn sbuf_layout_is_in_the_text_only_when_packed() {
        let mut r = raw(4, 4);
        let part = Config::from_raw(&r).unwrap();
        assert_eq!(part.sbuf_layout, SbufLayout::Partitioned);
        assert!(!part.canonical_toml().contains("sbuf_layout"));
        r.sbuf_layout = SbufLayout::Packed;
        let packed = Config::from_raw(&r).unwrap();
        let text = packed.canonical_toml();
        assert!(text.contains("sbuf_layout = \"packed\""), "{text}");
        assert_ne!(packed.hash(), part.hash());
        let back = Config::from_toml_str(&text, "t", &Overrides::default()).unwrap();
        assert_eq!(back, packed);
        let bad = text.replace("\"packed\"", "\"wide\"");
        let e = Config::from_toml_str(&bad, "t.toml", &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml") && e.contains("partitioned") && e.contains("packed"),
            "{e}"
        );
    }

    #[test]
    fn psum_split_needs_the_integer_read_ahead() {
        let mut r = raw(4, 4);
        r.psum_split = true;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.starts_with("psum_split = true") && e.contains("pe_latency 3, 4 or 5"),
            "{e}"
        );
        r.pe_latency = 3;
        let whole = {
            let mut w = r.clone();
            w.psum_split = false;
            Config::from_raw(&w).unwrap()
        };
        let c = Config::from_raw(&r).unwrap();
        // The high half is written one edge later: one more cycle of latency.
        assert_eq!(c.derived.mm_latency, whole.derived.mm_latency + 1);
        assert_eq!((c.derived.psum_split, c.derived.psum_lo_w), (1, 18));
        assert_eq!(whole.derived.psum_lo_w, 32);
        assert_eq!(c.tag(), "r4c4_int8_a32_l3_s");
        assert!(c.canonical_toml().contains("psum_split = true"));
        assert!(!whole.canonical_toml().contains("psum_split"));
        r.acc_bits = 21;
        assert_eq!(Config::from_raw(&r).unwrap().derived.psum_lo_w, 12);
        // Both lanes at least one bit wide.
        r.format = "int2".into();
        for (acc, lo) in [(4, 3), (5, 4), (6, 5), (7, 5)] {
            r.acc_bits = acc;
            assert_eq!(
                Config::from_raw(&r).unwrap().derived.psum_lo_w,
                lo,
                "acc {acc}"
            );
        }
        r.format = "bf16".into();
        r.acc_bits = 32;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(e.contains("integer format"), "{e}");
    }

    #[test]
    fn float_formats_and_pe_latency() {
        let mut r = raw(4, 4);
        r.format = "bf16".into();
        let c = Config::from_raw(&r).unwrap();
        assert_eq!((c.derived.data_w, c.derived.acc_w), (16, 32));
        assert_eq!(c.derived.mm_latency, 4 + 4 + 1);
        r.acc_bits = 40;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(e.contains("acc_bits = 40") && e.contains("fp32"), "{e}");
        r.acc_bits = 32;
        r.pe_latency = 3;
        let c = Config::from_raw(&r).unwrap();
        let d = &c.derived;
        assert_eq!((d.mul_lat, d.add_lat, d.load_hold), (1, 2, 3));
        assert_eq!(d.psum_pipe, 1);
        assert_eq!(d.mm_latency, 4 * 2 + 1 + 4 + 1 + 1);
        assert_eq!(c.tag(), "r4c4_bf16_a32_l3");
        r.pe_latency = 4;
        let d = Config::from_raw(&r).unwrap().derived;
        assert_eq!((d.mul_lat, d.add_lat, d.psum_pipe), (2, 2, 1));
        r.pe_latency = 5;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert_eq!(e, "pe_latency = 5 is out of range: allowed 1..=4 for bf16");
        let mut r = raw(4, 4);
        r.pe_latency = 6;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert_eq!(e, "pe_latency = 6 is out of range: allowed 1..=5 for int8");
        // pe_latency 5: the quarter products, one more register in the multiplier; the PSUM
        // still reads ahead 2. LUT multipliers only, and weights of at least 4 bits.
        r.pe_latency = 5;
        let c = Config::from_raw(&r).unwrap();
        let d = &c.derived;
        assert_eq!((d.mul_lat, d.add_lat, d.psum_ahead), (4, 1, 2));
        assert_eq!(d.mm_latency, 4 + 4 + 4 + 1 + 1);
        assert_eq!(c.tag(), "r4c4_int8_a32_l5");
        for p in [Primitives::Ecp5, Primitives::Ice40] {
            r.primitives = p;
            let e = Config::from_raw(&r).unwrap_err().to_string();
            assert!(e.contains("pe_latency 2, 3 or 4"), "{e}");
        }
        r.primitives = Primitives::Generic;
        r.psum_split = true;
        assert!(Config::from_raw(&r).unwrap().derived.psum_split == 1);
        r.psum_split = false;
        r.format = "int3".into();
        r.acc_bits = 12;
        let e = Config::from_raw(&r).unwrap_err().to_string();
        assert!(
            e.starts_with("pe_latency = 5 is out of range: allowed 1..=4 for int3")
                && e.contains("at least 4 bits"),
            "{e}"
        );
        r.format = "uint4".into();
        assert_eq!(Config::from_raw(&r).unwrap().derived.mul_lat, 4);
        let mut r = raw(4, 4);
        r.pe_latency = 4;
        let d = Config::from_raw(&r).unwrap().derived;
        // The split multiplier: three registers in the multiplier; the PSUM reads ahead 2.
        assert_eq!(
            (d.mul_lat, d.add_lat, d.psum_ahead, d.psum_wr_reg),
            (3, 1, 2, 1)
        );
        assert_eq!(d.mm_latency, 4 + 3 + 4 + 1 + 1);
        r.primitives = Primitives::Ecp5;
        let d = Config::from_raw(&r).unwrap().derived;
        assert_eq!((d.mul_lat, d.psum_ahead, d.psum_ram_ecp5), (3, 2, 1));
        r.primitives = Primitives::Generic;
        r.pe_latency = 3;
        let d = Config::from_raw(&r).unwrap().derived;
        assert_eq!(
            (d.mul_lat, d.add_lat, d.load_hold, d.psum_pipe),
            (2, 1, 0, 0)
        );
        // rows + mul_lat + cols + PSUM write (1) + the PSUM's registered write (1).
        assert_eq!((d.psum_ahead, d.psum_wr_reg), (2, 1));
        assert_eq!(d.mm_latency, 4 + 2 + 4 + 1 + 1);
        r.pe_latency = 2;
        let c = Config::from_raw(&r).unwrap();
        assert_eq!(
            (c.derived.mul_lat, c.derived.add_lat, c.derived.load_hold),
            (1, 1, 0)
        );
        // pe_latency 1 is left out of the canonical text: older configurations keep their hash.
        assert!(!Config::from_raw(&raw(4, 4))
            .unwrap()
            .canonical_toml()
            .contains("pe_latency"));
        assert!(c.canonical_toml().contains("pe_latency = 2"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = Config::from_toml_str(
            "rows = 4\ncols = 4\nbogus = 1\n",
            "x.toml",
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = Config::from_raw(&raw(4, 4)).unwrap();
        let b = Config::from_raw(&raw(4, 4)).unwrap();
        let c = Config::from_raw(&raw(4, 5)).unwrap();
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.hash().len(), 16);
    }
}
