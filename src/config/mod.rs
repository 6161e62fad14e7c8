//! Engine configuration: read from a TOML preset, overridden by command-line flags, validated
//! once, with every derived width computed once in [`Derived`].
//!
//! Everything downstream (the structural hardware model, the Verilog printer, the golden model,
//! co-simulation) takes `&Config` and never re-validates.
//!
//! * `schema.rs`: the preset file ([`RawConfig`], serde defaults, [`SbufLayout`],
//!   [`Primitives`]) and the command-line [`Overrides`].
//! * `validate.rs`: [`Config::from_raw`], one check per field, and the generator's limits.
//! * `derived.rs`: the plan computed from a valid configuration ([`Derived`], [`Geometry`]).
//! * here: [`Config`], its constructors, canonical text, hash and tag, and the presets.
//!
//! Every public item is used as `crate::config::NAME`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::format::NumberFormat;

mod derived;
mod schema;
mod validate;

#[cfg(test)]
mod tests;

pub use derived::{bits_for, sbuf_entry_bytes, Derived, Geometry};
pub use schema::{
    Overrides, Primitives, RawConfig, SbufLayout, DEFAULT_DMA_BITS, DEFAULT_DMA_READS,
};
pub use validate::{
    DMA_BITS, MAX_ACC_BITS, MAX_COLS, MAX_DMA_READS, MAX_PE_LATENCY_FLOAT, MAX_PE_LATENCY_INT,
    MAX_PSUM_BANKS, MAX_PSUM_DEPTH, MAX_ROWS, MAX_SBUF_DEPTH, MIN_PSUM_DEPTH, MIN_SBUF_DEPTH,
};

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

/// A TOML error as `path:line:column: field: message` (the field is the key on the line the
/// error points at, when there is one).
fn parse_error(text: &str, origin: &str, e: &toml::de::Error) -> ConfigError {
    let Some(span) = e.span() else {
        return ConfigError::Parse {
            path: origin.to_string(),
            message: e.message().to_string(),
        };
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('['));
    ConfigError::Parse {
        path: format!("{origin}:{line}:{column}"),
        message: match key {
            Some(k) => format!("{k}: {}", e.message()),
            None => e.message().to_string(),
        },
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
    /// The memory path: DMA on an AXI4 master, ACTIVATE, semaphores, instruction fetch.
    pub dma: bool,
    /// AXI4 data width of the memory path (the default when `dma` is false).
    pub dma_bits: u32,
    /// Read bursts outstanding on the AXI4 master (the default when `dma` is false).
    pub dma_reads: u32,
    pub derived: Derived,
}

impl Config {
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
            dma: self.dma,
            dma_bits: self.dma.then_some(self.dma_bits),
            dma_reads: self.dma.then_some(self.dma_reads),
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
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| parse_error(text, origin, &e))?;
        raw.apply(overrides);
        Config::from_raw(&raw)
    }

    /// Load `seeds/NAME.toml` from `seeds_dir` and apply overrides. `name` follows the name rule
    /// (letters, digits, `.`, `_`, `-`, not `.` or `..`): a name with path pieces (`./int8-4x4`,
    /// `../seeds/int8-4x4`, an absolute path) is an unknown preset, never a file elsewhere.
    pub fn from_preset(
        seeds_dir: &Path,
        name: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let path = seeds_dir.join(format!("{name}.toml"));
        // A name is a plain file name (no path pieces); anything there (a folder, an
        // unreadable file) is read, so its error names it.
        if !validate::is_plain_name(name) || std::fs::symlink_metadata(&path).is_err() {
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
            rows: 0,
            cols: 0,
            ..RawConfig::default()
        };
        raw.apply(overrides);
        raw.name = schema::default_name();
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

/// Names of the presets in a seeds directory, sorted.
pub fn list_presets(seeds_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(seeds_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "toml" && p.is_file())
                .then(|| p.file_stem()?.to_str().map(str::to_string))?
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
