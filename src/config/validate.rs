//! Validation of a raw configuration ([`Config::from_raw`]): one check per field or group of
//! fields, run in a fixed order so that a configuration with several errors always reports the
//! same one first. Every error names the field, its value and what is allowed.

use std::fmt;

use crate::format::NumberFormat;

use super::derived::{pe_stages, psum_ahead};
use super::{Config, ConfigError, Derived, Primitives, RawConfig};

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
/// AXI4 data widths of the memory path (`dma_bits`).
pub const DMA_BITS: [u32; 5] = [32, 64, 128, 256, 512];
/// Most read bursts outstanding on the AXI4 master (`dma_reads`).
pub const MAX_DMA_READS: u32 = 64;
/// Longest configuration name (it names folders).
pub const MAX_NAME_LEN: usize = 100;
/// Largest PE latency (`pe_latency`) of the integer formats: registered operands, the
/// multiplier split in four registered quarter products, then two registered halves, registered
/// product.
pub const MAX_PE_LATENCY_INT: u32 = 5;
/// Largest PE latency of the floating-point formats: two-stage multiplier, registered product,
/// two-stage adder.
pub const MAX_PE_LATENCY_FLOAT: u32 = 4;

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
        check_array(raw)?;
        let format = check_format(raw)?;
        check_memories(raw)?;
        check_name(raw)?;
        let mul_lat = check_pe_latency(raw, format)?;
        check_primitives(raw, format, mul_lat)?;
        let dsp_cols = check_dsp_cols(raw)?;
        check_psum_split(raw, format, mul_lat)?;
        check_tile_cols(raw)?;
        let (dma_bits, dma_reads) = check_dma(raw, format)?;
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
            dma: raw.dma,
            dma_bits,
            dma_reads,
            derived: Derived::new(raw, format),
        })
    }
}

/// `rows` and `cols` within the generator's limits.
fn check_array(raw: &RawConfig) -> Result<(), ConfigError> {
    if raw.rows == 0 || raw.rows > MAX_ROWS {
        return Err(range_err("rows", raw.rows, format!("1..={MAX_ROWS}")));
    }
    if raw.cols == 0 || raw.cols > MAX_COLS {
        return Err(range_err("cols", raw.cols, format!("1..={MAX_COLS}")));
    }
    Ok(())
}

/// A known `format`, and an `acc_bits` that holds one of its products (fp32 for floating point).
fn check_format(raw: &RawConfig) -> Result<NumberFormat, ConfigError> {
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
    Ok(format)
}

/// `psum_banks`, `psum_depth` and `sbuf_depth` (the depths powers of two) within the limits.
fn check_memories(raw: &RawConfig) -> Result<(), ConfigError> {
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
    Ok(())
}

/// A `name` usable in file names and generated headers.
/// The name becomes a folder name (`generated/<name>`, run folders, caches): letters, digits,
/// `.`, `_` and `-`, at most [`MAX_NAME_LEN`] characters, and not `.` or `..`.
fn check_name(raw: &RawConfig) -> Result<(), ConfigError> {
    let n = &raw.name;
    // `+custom` is the suffix the tool itself adds to a preset's name when flags override it
    // (schema.rs): no preset can be named so, and the derived name cannot collide with one.
    let base = n.strip_suffix("+custom").unwrap_or(n);
    if !is_plain_name(base) || n.len() > MAX_NAME_LEN {
        return Err(range_err(
            "name",
            format!("{n:?}"),
            format!(
                "1..={MAX_NAME_LEN} letters, digits, `.`, `_` and `-`, not `.` or `..` (it names folders)"
            ),
        ));
    }
    Ok(())
}

/// The name rule without the `+custom` suffix: 1..=[`MAX_NAME_LEN`] letters, digits, `.`, `_`
/// and `-`, not `.` or `..`. Such a name is one plain file name (no separator, no root, no parent
/// step), so a preset name that passes it is looked up only inside the seeds folder.
pub(crate) fn is_plain_name(name: &str) -> bool {
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    !name.is_empty() && name.len() <= MAX_NAME_LEN && chars_ok && name != "." && name != ".."
}

/// A `pe_latency` the format's PE supports; returns its multiplier's registers (`mul_lat`).
fn check_pe_latency(raw: &RawConfig, format: NumberFormat) -> Result<u32, ConfigError> {
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
    let (mul_lat, _) = pe_stages(raw.pe_latency, format);
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
    Ok(mul_lat)
}

/// Vendor `primitives` only for the formats and multiplier pipelines their DSP blocks fit.
fn check_primitives(
    raw: &RawConfig,
    format: NumberFormat,
    mul_lat: u32,
) -> Result<(), ConfigError> {
    if raw.primitives == Primitives::Ecp5 && (format.is_float() || mul_lat == 0 || mul_lat == 4) {
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
    Ok(())
}

/// `dsp_cols` only with vendor primitives and at most `cols`; returns the columns on DSP
/// blocks (all of them when omitted, none with generic primitives).
fn check_dsp_cols(raw: &RawConfig) -> Result<u32, ConfigError> {
    match (raw.primitives, raw.dsp_cols) {
        (Primitives::Generic, None) => Ok(0),
        (Primitives::Generic, Some(v)) => Err(range_err(
            "dsp_cols",
            v,
            "none with generic primitives (ecp5 or ice40 place columns on DSP blocks)",
        )),
        (_, None) => Ok(raw.cols),
        (_, Some(v)) if v > raw.cols => {
            Err(range_err("dsp_cols", v, format!("0..={} (cols)", raw.cols)))
        }
        (_, Some(v)) => Ok(v),
    }
}

/// `psum_split` only with the integer PSUM's read-ahead of 2.
fn check_psum_split(
    raw: &RawConfig,
    format: NumberFormat,
    mul_lat: u32,
) -> Result<(), ConfigError> {
    if raw.psum_split && (format.is_float() || psum_ahead(format, mul_lat) < 2 || raw.acc_bits < 2)
    {
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
    Ok(())
}

/// `tile_cols` in `1..=cols`.
fn check_tile_cols(raw: &RawConfig) -> Result<(), ConfigError> {
    if raw.tile_cols == 0 || raw.tile_cols > raw.cols {
        return Err(range_err(
            "tile_cols",
            raw.tile_cols,
            format!("1..={} (cols)", raw.cols),
        ));
    }
    Ok(())
}

/// The memory path: `dma_bits` and `dma_reads` only with `dma = true` and within their
/// ranges; the formats whose SBUF element the write-back unit writes (8-bit integers with
/// 32-bit accumulators, bf16, fp8). Returns `(dma_bits, dma_reads)`, the defaults without DMA.
fn check_dma(raw: &RawConfig, format: NumberFormat) -> Result<(u32, u32), ConfigError> {
    use super::{DEFAULT_DMA_BITS, DEFAULT_DMA_READS};
    if !raw.dma {
        if let Some(v) = raw.dma_bits {
            return Err(range_err("dma_bits", v, "none without dma = true"));
        }
        if let Some(v) = raw.dma_reads {
            return Err(range_err("dma_reads", v, "none without dma = true"));
        }
        return Ok((DEFAULT_DMA_BITS, DEFAULT_DMA_READS));
    }
    let bits = raw.dma_bits.unwrap_or(DEFAULT_DMA_BITS);
    if !DMA_BITS.contains(&bits) {
        return Err(range_err("dma_bits", bits, "32, 64, 128, 256 or 512"));
    }
    let reads = raw.dma_reads.unwrap_or(DEFAULT_DMA_READS);
    if !(1..=MAX_DMA_READS).contains(&reads) {
        return Err(range_err(
            "dma_reads",
            reads,
            format!("1..={MAX_DMA_READS}"),
        ));
    }
    let element_ok = match format {
        NumberFormat::Int { bits, .. } => bits == 8,
        NumberFormat::Float(_) => true,
    };
    if !element_ok {
        return Err(range_err(
            "format",
            format,
            "int8, uint8, bf16, fp8e4m3 or fp8e5m2 with dma = true (the SBUF element the \
             write-back unit writes)",
        ));
    }
    if !format.is_float() && raw.acc_bits != 32 {
        return Err(range_err(
            "acc_bits",
            raw.acc_bits,
            "32 for integer formats with dma = true (the write-back unit reads int32 \
             accumulators)",
        ));
    }
    Ok((bits, reads))
}
