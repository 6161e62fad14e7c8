//! One point of a sweep: its fields resolved into a validated configuration, a board, a seed
//! and the job's options; its identity and its key in the results store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::{self, Config, ConfigError, Overrides, Primitives, SbufLayout};
use crate::synth::nextpnr::Router;
use crate::synth::{self, Board, Multipliers, SynthOptions, SynthTop};

/// What each point runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum JobKind {
    /// Yosys + nextpnr for a board (`systolic synth`): area, Fmax, GOPS.
    Synth,
    /// The same, then the post-synthesis netlist co-simulated (`systolic synth --verify`).
    SynthVerify,
    /// The core in Verilator against the golden model on a random program (`systolic cosim`).
    Cosim,
    /// The engine in Verilator running one GEMM shape: cycles and utilisation.
    GemmBench,
    /// A quantised ONNX network on the engine (`systolic infer`): cycles, top-1 accuracy,
    /// bit-exactness against reference outputs.
    Infer,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [
        JobKind::Synth,
        JobKind::SynthVerify,
        JobKind::Cosim,
        JobKind::GemmBench,
        JobKind::Infer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Synth => "synth",
            JobKind::SynthVerify => "synth-verify",
            JobKind::Cosim => "cosim",
            JobKind::GemmBench => "gemm-bench",
            JobKind::Infer => "infer",
        }
    }

    pub fn parse(s: &str) -> Result<JobKind, String> {
        if let Some(j) = JobKind::ALL.iter().find(|j| j.name() == s) {
            return Ok(*j);
        }
        Err(format!(
            "unknown job `{s}`: allowed synth, synth-verify, cosim, gemm-bench, infer"
        ))
    }

    /// Whether the job runs the FPGA flow (needs a board).
    pub fn synthesises(self) -> bool {
        matches!(self, JobKind::Synth | JobKind::SynthVerify)
    }

    /// Whether the job builds a Verilator model.
    pub fn simulates(self) -> bool {
        !matches!(self, JobKind::Synth)
    }
}

/// One field of a point, with the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: toml::Value,
    pub line: usize,
}

/// A point's fields before resolution, in the order they were set.
pub type Fields = BTreeMap<String, Field>;

/// The configuration fields a point may set (besides `preset`), as in a preset file.
pub const CONFIG_FIELDS: [&str; 17] = [
    "rows",
    "cols",
    "format",
    "acc_bits",
    "psum_banks",
    "psum_depth",
    "sbuf_depth",
    "pe_latency",
    "primitives",
    "dsp_cols",
    "psum_split",
    "sbuf_layout",
    "tile_cols",
    "keep_tokens",
    "dma",
    "dma_bits",
    "dma_reads",
];

/// Fields of the FPGA flow (`synth`, `synth-verify`), as `systolic synth`'s flags.
const SYNTH_FIELDS: [&str; 11] = [
    "board",
    "device",
    "ooc",
    "top",
    "freq",
    "mult",
    "booth",
    "router",
    "time_limit",
    "pll_mhz",
    "pack",
];

/// Where presets and boards are read from.
pub struct Context {
    pub seeds: PathBuf,
    pub constraints: PathBuf,
}

impl Context {
    pub fn new() -> Context {
        Context {
            seeds: config::seeds_dir(),
            constraints: synth::constraints_dir(),
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

/// A field that does not resolve: its name and why.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn ferr(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// The FPGA flow's options of a point (defaults as `systolic synth`'s).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthSettings {
    pub board: String,
    pub device: Option<String>,
    pub ooc: bool,
    /// "board" or "harness" (ignored out of context).
    pub top: String,
    pub freq: Option<f64>,
    /// "auto", "lut" or "dsp".
    pub mult: String,
    pub booth: bool,
    /// "router1" or "router2".
    pub router: String,
    /// Minutes per tool run.
    pub time_limit: u64,
    pub pll_mhz: Option<f64>,
    pub pack: bool,
    /// `synth-verify`: random programs (core) or products (board top).
    pub verify_programs: Option<usize>,
}

/// A GEMM shape `C (M x N) = A (M x K) x B (K x N)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.k, self.n)
    }
}

/// What an `infer` point runs: a model on the first `images` rows of an input, on the golden
/// model or the RTL, optionally scored against labels and reference outputs. Paths are
/// relative to the directory the sweep runs in; each file's SHA-256 is part of the point's
/// identity, so a changed model or input is a new point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferSettings {
    pub model: PathBuf,
    pub input: PathBuf,
    /// Rows of `input` to run (all when `None`).
    pub images: Option<usize>,
    /// "golden" or "rtl" (default).
    pub backend: String,
    /// An int64 `.npy` of class labels, one per input row: top-1 accuracy.
    pub labels: Option<PathBuf>,
    /// A `.npy` of the outputs the network must give (e.g. ONNX Runtime's), compared bit for
    /// bit on the rows run: a difference fails the point.
    pub reference: Option<PathBuf>,
    /// SHA-256 of each file given, in the order model, input, labels, reference.
    pub digests: Vec<String>,
}

/// A resolved point.
#[derive(Debug, Clone)]
pub struct Point {
    /// Position in the spec's expansion (after duplicates are dropped).
    pub index: usize,
    pub job: JobKind,
    /// A label for tables: the `tag` field (with `{field}` replaced by the field's value), or
    /// made from the preset and the configuration.
    pub tag: String,
    pub preset: Option<String>,
    pub config: Config,
    pub synth: Option<SynthSettings>,
    /// Placer seed (synth jobs) or random program / data seed (cosim, gemm-bench).
    pub seed: Option<u64>,
    /// cosim: MultiplyMoving instructions of the random program, random stalls.
    pub instructions: Option<usize>,
    pub stalls: bool,
    pub shape: Option<Shape>,
    pub infer: Option<InferSettings>,
    /// Memory estimate in MB (the `mem_mb` field, or from the job and the device).
    pub mem_mb: u64,
    /// The fields as given (JSON), stored with the point.
    pub fields: BTreeMap<String, Value>,
}

fn as_u64(field: &str, v: &toml::Value, lo: u64, hi: u64) -> Result<u64, FieldError> {
    match v {
        toml::Value::Integer(i) if *i >= 0 && (lo..=hi).contains(&(*i as u64)) => Ok(*i as u64),
        toml::Value::Integer(i) => Err(ferr(
            field,
            format!("{i} is out of range: allowed {lo}..={hi}"),
        )),
        other => Err(ferr(
            field,
            format!("expected a whole number, found {}", other.type_str()),
        )),
    }
}

fn as_u32(field: &str, v: &toml::Value) -> Result<u32, FieldError> {
    // The configuration's own checks name the real ranges; here only what a u32 holds.
    as_u64(field, v, 0, u64::from(u32::MAX)).map(|x| x as u32)
}

fn as_bool(field: &str, v: &toml::Value) -> Result<bool, FieldError> {
    v.as_bool().ok_or_else(|| {
        ferr(
            field,
            format!("expected true or false, found {}", v.type_str()),
        )
    })
}

fn as_str<'a>(field: &str, v: &'a toml::Value) -> Result<&'a str, FieldError> {
    v.as_str()
        .ok_or_else(|| ferr(field, format!("expected a string, found {}", v.type_str())))
}

fn as_f64(field: &str, v: &toml::Value) -> Result<f64, FieldError> {
    let x = match v {
        toml::Value::Float(f) => *f,
        toml::Value::Integer(i) => *i as f64,
        other => {
            return Err(ferr(
                field,
                format!("expected a number, found {}", other.type_str()),
            ))
        }
    };
    if !x.is_finite() || x <= 0.0 {
        return Err(ferr(field, format!("{x}: give a positive number")));
    }
    Ok(x)
}

fn one_of<'a>(field: &str, v: &'a toml::Value, allowed: &[&str]) -> Result<&'a str, FieldError> {
    let s = as_str(field, v)?;
    if allowed.contains(&s) {
        Ok(s)
    } else {
        Err(ferr(
            field,
            format!("`{s}` is not allowed: allowed {}", allowed.join(", ")),
        ))
    }
}

/// `MxKxN`.
fn parse_shape(field: &str, v: &toml::Value) -> Result<Shape, FieldError> {
    let s = as_str(field, v)?;
    let dims: Vec<Option<usize>> = s.split('x').map(|d| d.trim().parse().ok()).collect();
    match dims.as_slice() {
        [Some(m), Some(k), Some(n)] if *m > 0 && *k > 0 && *n > 0 => Ok(Shape {
            m: *m,
            k: *k,
            n: *n,
        }),
        _ => Err(ferr(
            field,
            format!("`{s}`: give MxKxN, three positive whole numbers (e.g. \"64x32x16\")"),
        )),
    }
}

/// The field a configuration error is about.
fn config_field(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::OutOfRange { field, .. } => field,
        ConfigError::AccumulatorTooNarrow { .. } | ConfigError::FloatAccumulator { .. } => {
            "acc_bits"
        }
        ConfigError::UnknownFormat(_) => "format",
        _ => "preset",
    }
}

fn overrides(fields: &Fields) -> Result<Overrides, FieldError> {
    let mut o = Overrides::default();
    for (k, Field { value: v, .. }) in fields {
        let k = k.as_str();
        match k {
            "rows" => o.rows = Some(as_u32(k, v)?),
            "cols" => o.cols = Some(as_u32(k, v)?),
            "format" => o.format = Some(as_str(k, v)?.to_string()),
            "acc_bits" => o.acc_bits = Some(as_u32(k, v)?),
            "psum_banks" => o.psum_banks = Some(as_u32(k, v)?),
            "psum_depth" => o.psum_depth = Some(as_u32(k, v)?),
            "sbuf_depth" => o.sbuf_depth = Some(as_u32(k, v)?),
            "pe_latency" => o.pe_latency = Some(as_u32(k, v)?),
            "dsp_cols" => o.dsp_cols = Some(as_u32(k, v)?),
            "tile_cols" => o.tile_cols = Some(as_u32(k, v)?),
            "psum_split" => o.psum_split = Some(as_bool(k, v)?),
            "keep_tokens" => o.keep_tokens = Some(as_bool(k, v)?),
            "dma" => o.dma = Some(as_bool(k, v)?),
            "dma_bits" => o.dma_bits = Some(as_u32(k, v)?),
            "dma_reads" => o.dma_reads = Some(as_u32(k, v)?),
            "primitives" => {
                o.primitives = Some(match one_of(k, v, &["generic", "ecp5", "ice40"])? {
                    "ecp5" => Primitives::Ecp5,
                    "ice40" => Primitives::Ice40,
                    _ => Primitives::Generic,
                })
            }
            "sbuf_layout" => {
                o.sbuf_layout = Some(match one_of(k, v, &["partitioned", "packed"])? {
                    "packed" => SbufLayout::Packed,
                    _ => SbufLayout::Partitioned,
                })
            }
            _ => {}
        }
    }
    Ok(o)
}

fn resolve_config(fields: &Fields, ctx: &Context) -> Result<(Option<String>, Config), FieldError> {
    let o = overrides(fields)?;
    let preset = match fields.get("preset") {
        Some(f) => Some(as_str("preset", &f.value)?.to_string()),
        None => None,
    };
    let cfg = match (&preset, o.rows, o.cols) {
        (Some(name), _, _) => Config::from_preset(&ctx.seeds, name, &o),
        (None, Some(_), Some(_)) => Config::from_overrides(&o),
        (None, None, None) => Config::from_preset(&ctx.seeds, config::DEFAULT_PRESET, &o),
        (None, r, _) => {
            let missing = if r.is_some() { "cols" } else { "rows" };
            return Err(ferr(
                missing,
                "rows and cols go together when no preset is given",
            ));
        }
    }
    .map_err(|e| ferr(config_field(&e), e.to_string()))?;
    Ok((preset, cfg))
}

fn resolve_synth(job: JobKind, fields: &Fields) -> Result<Option<SynthSettings>, FieldError> {
    let get = |k: &str| fields.get(k).map(|f| &f.value);
    if !job.synthesises() {
        if let Some(k) = SYNTH_FIELDS
            .iter()
            .chain(&["verify_programs"])
            .find(|k| fields.contains_key(**k))
        {
            return Err(ferr(
                k,
                format!(
                    "`{k}` is a field of the synth jobs, not of `{}`",
                    job.name()
                ),
            ));
        }
        return Ok(None);
    }
    let board = match get("board") {
        Some(v) => as_str("board", v)?.to_string(),
        None => return Err(ferr("board", "a synth job needs a board")),
    };
    let verify_programs = match get("verify_programs") {
        Some(_) if job != JobKind::SynthVerify => {
            return Err(ferr(
                "verify_programs",
                "`verify_programs` is a field of synth-verify",
            ))
        }
        Some(v) => Some(as_u64("verify_programs", v, 1, 1000)? as usize),
        None => (job == JobKind::SynthVerify).then_some(2),
    };
    Ok(Some(SynthSettings {
        board,
        device: get("device")
            .map(|v| as_str("device", v))
            .transpose()?
            .map(str::to_string),
        ooc: get("ooc")
            .map(|v| as_bool("ooc", v))
            .transpose()?
            .unwrap_or(false),
        top: get("top")
            .map(|v| one_of("top", v, &["board", "harness"]))
            .transpose()?
            .unwrap_or("board")
            .to_string(),
        freq: get("freq").map(|v| as_f64("freq", v)).transpose()?,
        mult: get("mult")
            .map(|v| one_of("mult", v, &["auto", "lut", "dsp"]))
            .transpose()?
            .unwrap_or("auto")
            .to_string(),
        booth: get("booth")
            .map(|v| as_bool("booth", v))
            .transpose()?
            .unwrap_or(false),
        router: get("router")
            .map(|v| one_of("router", v, &["router1", "router2"]))
            .transpose()?
            .unwrap_or("router1")
            .to_string(),
        time_limit: get("time_limit")
            .map(|v| as_u64("time_limit", v, 1, 10080))
            .transpose()?
            .unwrap_or(120),
        pll_mhz: get("pll_mhz").map(|v| as_f64("pll_mhz", v)).transpose()?,
        pack: get("pack")
            .map(|v| as_bool("pack", v))
            .transpose()?
            .unwrap_or(true),
        verify_programs,
    }))
}

impl SynthSettings {
    /// The flow's options for `cfg`, its run folder `run_dir`.
    pub fn options(
        &self,
        cfg: &Config,
        seed: Option<u64>,
        ctx: &Context,
        run_dir: PathBuf,
    ) -> Result<SynthOptions, FieldError> {
        let board =
            Board::load(&ctx.constraints, &self.board, self.device.as_deref()).map_err(|e| {
                let field = if matches!(e, synth::BoardError::Unknown { .. }) {
                    "board"
                } else {
                    "device"
                };
                ferr(field, e.to_string())
            })?;
        let mut o = SynthOptions::new(cfg, board, self.ooc);
        o.run_dir = run_dir;
        o.freq_mhz = self.freq;
        o.multipliers = match self.mult.as_str() {
            "lut" => Multipliers::Lut,
            "dsp" => Multipliers::Dsp,
            _ => Multipliers::Auto,
        };
        o.booth = self.booth;
        o.seed = seed;
        o.router = if self.router == "router2" {
            Router::Router2
        } else {
            Router::Router1
        };
        o.pack = self.pack;
        o.limit = std::time::Duration::from_secs(self.time_limit * 60);
        o.top = if self.top == "harness" {
            SynthTop::Harness
        } else {
            SynthTop::Board
        };
        o.pll_mhz = self.pll_mhz;
        Ok(o)
    }
}

/// Replace `{field}` in `template` by the field's value.
fn fill_tag(template: &str, fields: &Fields) -> Result<String, FieldError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(ferr(
                "tag",
                format!("`{template}`: a `{{` without its `}}`"),
            ));
        };
        let name = &rest[open + 1..open + close];
        let value = fields.get(name).ok_or_else(|| {
            ferr(
                "tag",
                format!("`{template}` names `{{{name}}}`, which this point does not set"),
            )
        })?;
        match &value.value {
            toml::Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Memory a job of this point needs, in MB (an estimate; `mem_mb` overrides it): place and
/// route grows with the device (about 1.5 GB for an ECP5-85F, 83,640 LUT4s), a Verilator build
/// with the array.
fn estimate_mb(job: JobKind, cfg: &Config, device_logic: Option<u64>) -> u64 {
    let sim = 500 + cfg.pes() / 4;
    let pnr = device_logic.map_or(0, |l| 400 + l * 13 / 1000);
    match job {
        JobKind::Synth => pnr,
        JobKind::SynthVerify => pnr.max(sim),
        JobKind::Cosim | JobKind::GemmBench | JobKind::Infer => sim,
    }
}

const OTHER_FIELDS: [&str; 14] = [
    "preset",
    "seed",
    "tag",
    "mem_mb",
    "instructions",
    "stalls",
    "shape",
    "verify_programs",
    "model",
    "input",
    "images",
    "backend",
    "labels",
    "reference",
];

/// The fields of job `infer`.
const INFER_FIELDS: [&str; 6] = ["model", "input", "images", "backend", "labels", "reference"];

/// SHA-256 (hex) of the file a field names; an unreadable file is the field's error.
fn file_digest(field: &str, path: &std::path::Path) -> Result<String, FieldError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ferr(field, format!("cannot read {}: {e}", path.display())))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An `infer` point's settings (`None` for other jobs, whose fields were checked not to set
/// any of these).
fn resolve_infer(
    job: JobKind,
    fields: &Fields,
    config: &Config,
) -> Result<Option<InferSettings>, FieldError> {
    if job != JobKind::Infer {
        return Ok(None);
    }
    let get = |k: &str| fields.get(k).map(|f| &f.value);
    let path = |k: &str| -> Result<Option<PathBuf>, FieldError> {
        get(k).map(|v| as_str(k, v).map(PathBuf::from)).transpose()
    };
    let need = |k: &str| -> Result<PathBuf, FieldError> {
        path(k)?.ok_or_else(|| ferr(k, format!("an infer point needs `{k}` (a path)")))
    };
    let (model, input) = (need("model")?, need("input")?);
    let (labels, reference) = (path("labels")?, path("reference")?);
    let images = get("images")
        .map(|v| as_u64("images", v, 1, 1 << 32).map(|n| n as usize))
        .transpose()?;
    let backend = match get("backend").map(|v| as_str("backend", v)).transpose()? {
        None | Some("rtl") => "rtl",
        Some("golden") => "golden",
        Some(other) => return Err(ferr("backend", format!("`{other}`: allowed golden, rtl"))),
    };
    crate::model::check_config(config).map_err(|m| ferr("format", m))?;
    let mut digests = vec![file_digest("model", &model)?, file_digest("input", &input)?];
    for (k, p) in [("labels", &labels), ("reference", &reference)] {
        if let Some(p) = p {
            digests.push(file_digest(k, p)?);
        }
    }
    Ok(Some(InferSettings {
        model,
        input,
        images,
        backend: backend.into(),
        labels,
        reference,
        digests,
    }))
}

impl Point {
    /// Resolve `fields` for `job`: every field known and of the right type, the configuration
    /// valid, the board known and (synth jobs) the flow planned.
    pub fn resolve(job: JobKind, fields: &Fields, ctx: &Context) -> Result<Point, FieldError> {
        for k in fields.keys() {
            let known = CONFIG_FIELDS.contains(&k.as_str())
                || SYNTH_FIELDS.contains(&k.as_str())
                || OTHER_FIELDS.contains(&k.as_str());
            if !known {
                return Err(ferr(
                    k,
                    format!(
                        "unknown field `{k}`: allowed preset, {}, {}, {}",
                        CONFIG_FIELDS.join(", "),
                        SYNTH_FIELDS.join(", "),
                        OTHER_FIELDS[1..].join(", ")
                    ),
                ));
            }
        }
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let (preset, config) = resolve_config(fields, ctx)?;
        let synth = resolve_synth(job, fields)?;
        let seed = get("seed")
            .map(|v| as_u64("seed", v, 0, i64::MAX as u64))
            .transpose()?;
        let sim_only = |k: &str, jobs: &[JobKind]| -> Result<(), FieldError> {
            if fields.contains_key(k) && !jobs.contains(&job) {
                return Err(ferr(
                    k,
                    format!("`{k}` is not a field of job `{}`", job.name()),
                ));
            }
            Ok(())
        };
        sim_only("instructions", &[JobKind::Cosim])?;
        sim_only("stalls", &[JobKind::Cosim])?;
        sim_only("shape", &[JobKind::GemmBench])?;
        for k in INFER_FIELDS {
            sim_only(k, &[JobKind::Infer])?;
        }
        let instructions = match get("instructions") {
            Some(v) => Some(as_u64("instructions", v, 1, 1_000_000)? as usize),
            None => (job == JobKind::Cosim).then_some(60),
        };
        let stalls = get("stalls")
            .map(|v| as_bool("stalls", v))
            .transpose()?
            .unwrap_or(false);
        let shape = match get("shape") {
            Some(v) => Some(parse_shape("shape", v)?),
            None if job == JobKind::GemmBench => {
                return Err(ferr(
                    "shape",
                    "a gemm-bench point needs a shape (\"MxKxN\")",
                ))
            }
            None => None,
        };
        if job == JobKind::GemmBench && config.format.is_float() {
            return Err(ferr(
                "format",
                format!(
                    "gemm-bench checks its products with integer arithmetic: `{}` is a \
                     floating-point format",
                    config.format
                ),
            ));
        }
        let infer = resolve_infer(job, fields, &config)?;
        let mut device_logic = None;
        if let Some(s) = &synth {
            // Plan the flow now: a board, device or option the flow refuses is an error of the
            // spec, before anything runs.
            let o = s.options(&config, seed, ctx, PathBuf::from("runs/sweep-plan"))?;
            device_logic = Some(o.board.device.logic);
            synth::flow::Plan::new(&config, &o).map_err(|e| {
                let field = if s.pll_mhz.is_some() {
                    "pll_mhz"
                } else {
                    "board"
                };
                ferr(field, e.to_string())
            })?;
        }
        let mem_mb = match get("mem_mb") {
            Some(v) => as_u64("mem_mb", v, 1, 1 << 30)?,
            None => estimate_mb(job, &config, device_logic),
        };
        let tag = match get("tag") {
            Some(v) => fill_tag(as_str("tag", v)?, fields)?,
            None => default_tag(preset.as_deref(), &config),
        };
        let json_fields = fields
            .iter()
            .map(|(k, f)| {
                (
                    k.clone(),
                    serde_json::to_value(&f.value).unwrap_or(Value::Null),
                )
            })
            .collect();
        Ok(Point {
            index: 0,
            job,
            tag,
            preset,
            config,
            synth,
            seed,
            instructions,
            stalls,
            shape,
            infer,
            mem_mb,
            fields: json_fields,
        })
    }

    /// Resolve a point stored as its fields (JSON), for a worker.
    pub fn from_stored(job: JobKind, fields_json: &str, ctx: &Context) -> Result<Point, String> {
        let map: BTreeMap<String, toml::Value> =
            serde_json::from_str(fields_json).map_err(|e| format!("stored point: {e}"))?;
        let fields: Fields = map
            .into_iter()
            .map(|(k, value)| (k, Field { value, line: 0 }))
            .collect();
        Point::resolve(job, &fields, ctx).map_err(|e| format!("{}: {}", e.field, e.message))
    }

    pub fn board(&self) -> Option<&str> {
        self.synth.as_ref().map(|s| s.board.as_str())
    }

    pub fn device(&self) -> Option<&str> {
        self.synth.as_ref().and_then(|s| s.device.as_deref())
    }

    /// The job's options that are not the configuration, the board, the device or the seed,
    /// with every default filled in (so a default given explicitly is the same point).
    pub fn options(&self) -> Value {
        let mut o = json!({});
        if let Some(s) = &self.synth {
            o = json!({
                "ooc": s.ooc, "top": s.top, "freq": s.freq, "mult": s.mult, "booth": s.booth,
                "router": s.router, "time_limit": s.time_limit, "pll_mhz": s.pll_mhz,
                "pack": s.pack, "verify_programs": s.verify_programs,
            });
        }
        if let Some(i) = self.instructions {
            o["instructions"] = i.into();
            o["stalls"] = self.stalls.into();
        }
        if let Some(s) = self.shape {
            o["shape"] = s.to_string().into();
        }
        if let Some(i) = &self.infer {
            o["infer"] = json!({
                "images": i.images, "backend": i.backend, "labels": i.labels.is_some(),
                "reference": i.reference.is_some(), "digests": i.digests,
            });
        }
        o
    }

    /// What makes the point itself, without tool versions: the configuration's hash, the job,
    /// board, device, seed and options.
    pub fn identity(&self) -> String {
        json!({
            "config_hash": self.config.hash(),
            "job": self.job.name(),
            "board": self.board(),
            "device": self.device(),
            "seed": self.seed,
            "options": self.options(),
        })
        .to_string()
    }

    /// The point's key in the store: SHA-256 of its identity and the tool versions (16 bytes,
    /// hex), so a new Yosys, nextpnr or Verilator makes new points.
    pub fn key(&self, tools: &ToolVersions) -> String {
        let text = format!(
            "{}\n{}",
            self.identity(),
            serde_json::to_string(tools).unwrap()
        );
        Sha256::digest(text.as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The preset's name (or the configuration's tag) with what the point changed.
fn default_tag(preset: Option<&str>, cfg: &Config) -> String {
    match preset {
        Some(p) if cfg.name == p => p.to_string(),
        _ => cfg.tag(),
    }
}

/// The version lines of the tools a job uses (`None`: not used by the job).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ToolVersions {
    pub yosys: Option<String>,
    pub nextpnr: Option<String>,
    pub verilator: Option<String>,
}
