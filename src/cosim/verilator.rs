//! Generic run-time Verilator back end: build any Verilog top module, chosen at run time, into a
//! shared library and drive it cycle by cycle from Rust.
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
//!   the settled pre-edge values), lowers clk and evaluates again, copies outputs out, and
//!   increments [`Sim::cycle`]. Outputs read after `tick` are the post-edge values with the old
//!   inputs still applied.
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
//! `g++ --version`. Paths of the sources are not part of the key, and files pulled in with
//! `` `include `` are not hashed: list every file in [`BuildSpec::sources`].
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

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// Version of the C ABI between this module and `cosim/shim.cpp` (`SHIM_ABI_VERSION` there).
const SHIM_ABI_VERSION: u32 = 1;
/// Bumped when the build recipe changes in a way the key would not otherwise see.
const RECIPE_VERSION: &str = "systolic-verilator-recipe-1";
const SHIM_TEMPLATE: &str = include_str!("../../cosim/shim.cpp");
const MARKER: &str = "systolic-build.json";
const LIB_NAME: &str = "libsim.so";
const LOG_NAME: &str = "build.log";
/// Widest port accepted, in bits.
pub const MAX_PORT_WIDTH: u32 = 8192;
/// Name of the clock input every top module must have. The back end drives it.
pub const CLOCK: &str = "clk";

/// Fixed Verilator options (part of the cache key). Lint and style warnings are not fatal (they
/// still appear in `build.log`); every other warning still fails the build (add e.g.
/// `-Wno-UNOPTFLAT` through [`BuildSpec::extra_args`] if needed).
///
/// `-fno-dfg`: with Verilator 5.006 the DFG optimiser made a design with wide flat outputs
/// verilate 18x slower; on a 32x32 MAC array it made no build-time difference and the model
/// simulated slower with DFG (0.82 vs 1.2 M cycles/s), so it stays off.
///
/// `--x-assign fast --x-initial fast`: registers and memories start at zero in practice with
/// Verilator, but a test bench must not rely on it; reset the design.
const VERILATOR_FIXED_ARGS: &[&str] = &[
    "--cc",
    "--exe",
    "-Wno-lint",
    "-Wno-style",
    "-fno-dfg",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-CFLAGS",
    "-fPIC",
    "-LDFLAGS",
    "-shared",
    "-o",
    LIB_NAME,
];

/// Arguments of the `make` call that compiles the Verilated C++ (part of the cache key).
///
/// Deliberately none: `verilated.mk`'s defaults (`OPT_FAST=-Os` for the model's eval code,
/// `OPT_SLOW` empty for its constructors, `OPT_GLOBAL=-Os` for the runtime) were measured against
/// `-O1`/`-O2` on 16x16 to 64x64 MAC arrays: `-O1` did not build faster and simulated 1.4-1.8x
/// slower, `-O2` was no faster to simulate. Note that `-CFLAGS -O1` on the Verilator command
/// line has no effect at all: `verilated.mk` puts `OPT_FAST` after the user's flags.
const MAKE_OPT_ARGS: &[&str] = &[];

/// Direction of a port, seen from the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
}

/// One top-level port. `name` must be a plain Verilog identifier (`[A-Za-z_][A-Za-z0-9_]*`)
/// without `__` (Verilator mangles those); `width` is in bits, `1..=`[`MAX_PORT_WIDTH`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
}

/// A generated top-level port as Verilator sees it.
impl From<crate::verilog::TopPort> for PortSpec {
    fn from(p: crate::verilog::TopPort) -> PortSpec {
        let dir = match p.dir {
            crate::verilog::Dir::Input => Dir::In,
            crate::verilog::Dir::Output => Dir::Out,
        };
        PortSpec::new(p.name, dir, p.width)
    }
}

impl PortSpec {
    pub fn new(name: impl Into<String>, dir: Dir, width: u32) -> Self {
        PortSpec {
            name: name.into(),
            dir,
            width,
        }
    }
    pub fn input(name: impl Into<String>, width: u32) -> Self {
        Self::new(name, Dir::In, width)
    }
    pub fn output(name: impl Into<String>, width: u32) -> Self {
        Self::new(name, Dir::Out, width)
    }
}

/// What to build.
///
/// `ports` must contain [`CLOCK`] (`clk`, 1 bit, input) and every other input of `top`, each
/// with its exact width; outputs may be left out (they are then not visible). The port list is
/// checked against Verilator's view of the design before the C++ compilation starts, and a
/// mismatch is a [`VerilatorError::PortMismatch`].
#[derive(Debug, Clone)]
pub struct BuildSpec<'a> {
    /// Top module name.
    pub top: &'a str,
    /// Verilog source files, in order (relative paths are taken from the current directory).
    pub sources: &'a [PathBuf],
    /// Port list of `top`.
    pub ports: &'a [PortSpec],
    /// Build with `--trace` so that [`Sim::open_trace`] can write a VCD. Slower simulation.
    pub trace: bool,
    /// `verilator --threads N`; 1 = single-threaded model.
    pub threads: u32,
    /// Extra Verilator arguments, appended after the fixed ones (part of the cache key).
    pub extra_args: &'a [String],
}

/// Knobs of one build call that are not part of the design. None of them enters the cache key.
#[derive(Default)]
pub struct BuildOptions<'a> {
    /// The `verilator` executable; default: `verilator` on `PATH`.
    pub verilator: Option<&'a Path>,
    /// `make -j` jobs; default: the number of available CPUs.
    pub jobs: Option<usize>,
    /// Receives one line per build step (cache hit, waiting for a lock, verilating, compiling).
    /// The library never prints; a CLI can forward these to stderr.
    pub progress: Option<&'a mut dyn FnMut(&str)>,
}

impl BuildOptions<'_> {
    fn say(&mut self, msg: &str) {
        if let Some(p) = self.progress.as_mut() {
            p(msg);
        }
    }
}

/// Errors of the Verilator back end. Tool failures are reported here, never by panicking.
#[derive(Debug, thiserror::Error)]
pub enum VerilatorError {
    #[error("`{tool}` could not be run ({source}); install it with `apt-get install {package}`")]
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

/// Where builds are cached unless the caller says otherwise: `$SYSTOLIC_CACHE_DIR` if set and
/// non-empty, else `$CARGO_TARGET_DIR/verilator-cache`, else `./target/verilator-cache`
/// (relative to the current directory, made absolute).
pub fn default_cache_root() -> PathBuf {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let p = nonempty("SYSTOLIC_CACHE_DIR").unwrap_or_else(|| {
        nonempty("CARGO_TARGET_DIR")
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("verilator-cache")
    });
    std::path::absolute(&p).unwrap_or(p)
}

// ---------------------------------------------------------------------------------------------
// Port layout

#[derive(Debug, Clone)]
struct PortSlot {
    spec: PortSpec,
    /// Word offset in the input or output buffer.
    offset: usize,
    words: usize,
    /// Mask of the valid bits of the top word.
    top_mask: u32,
}

#[derive(Debug, Clone)]
struct Layout {
    slots: Vec<PortSlot>,
    by_name: HashMap<String, usize>,
    in_words: usize,
    out_words: usize,
}

fn words_of(width: u32) -> usize {
    width.div_ceil(32) as usize
}

fn top_mask(width: u32) -> u32 {
    match width % 32 {
        0 => u32::MAX,
        r => (1u32 << r) - 1,
    }
}

fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.contains("__")
}

fn layout(spec: &BuildSpec) -> Result<Layout, VerilatorError> {
    let bad = |m: String| Err(VerilatorError::InvalidSpec(m));
    if !is_plain_ident(spec.top) {
        return bad(format!(
            "top module name `{}` is not a plain identifier without `__`",
            spec.top
        ));
    }
    if spec.threads == 0 {
        return bad("threads must be at least 1".into());
    }
    if spec.sources.is_empty() {
        return bad("no Verilog sources".into());
    }
    let mut seen_clk = false;
    let mut slots = Vec::new();
    let mut by_name = HashMap::new();
    let (mut in_words, mut out_words) = (0usize, 0usize);
    let mut names = std::collections::HashSet::new();
    for p in spec.ports {
        if !is_plain_ident(&p.name) {
            return bad(format!(
                "port name `{}` is not a plain identifier without `__`",
                p.name
            ));
        }
        if !names.insert(p.name.as_str()) {
            return bad(format!("port `{}` listed twice", p.name));
        }
        if p.width == 0 || p.width > MAX_PORT_WIDTH {
            return bad(format!(
                "port `{}` has width {} (allowed 1..={MAX_PORT_WIDTH})",
                p.name, p.width
            ));
        }
        if p.name == CLOCK {
            if p.dir != Dir::In || p.width != 1 {
                return bad(format!("`{CLOCK}` must be a 1-bit input"));
            }
            seen_clk = true;
            continue;
        }
        let words = words_of(p.width);
        let counter = match p.dir {
            Dir::In => &mut in_words,
            Dir::Out => &mut out_words,
        };
        let offset = *counter;
        *counter += words;
        by_name.insert(p.name.clone(), slots.len());
        slots.push(PortSlot {
            spec: p.clone(),
            offset,
            words,
            top_mask: top_mask(p.width),
        });
    }
    if !seen_clk {
        return bad(format!(
            "the port list must contain `{CLOCK}` (1-bit input)"
        ));
    }
    Ok(Layout {
        slots,
        by_name,
        in_words,
        out_words,
    })
}

/// The C++ shim for this layout (pure function of the spec: part of the cache key).
fn shim_source(top: &str, threads: u32, lay: &Layout) -> String {
    let mut cin = String::new();
    let mut cout = String::new();
    for s in &lay.slots {
        let (n, o, w, m) = (&s.spec.name, s.offset, s.words, s.top_mask);
        let width = s.spec.width;
        match s.spec.dir {
            Dir::In => {
                let _ = match width {
                    1..=8 => writeln!(cin, "    top->{n} = static_cast<CData>(in[{o}]);"),
                    9..=16 => writeln!(cin, "    top->{n} = static_cast<SData>(in[{o}]);"),
                    17..=32 => writeln!(cin, "    top->{n} = static_cast<IData>(in[{o}]);"),
                    33..=64 => writeln!(
                        cin,
                        "    top->{n} = static_cast<QData>(in[{o}]) | (static_cast<QData>(in[{}]) << 32);",
                        o + 1
                    ),
                    _ => writeln!(cin, "    std::memcpy(top->{n}.data(), in + {o}, {w} * sizeof(uint32_t));"),
                };
            }
            Dir::Out => {
                let last = o + w - 1;
                let _ = match width {
                    1..=32 => writeln!(cout, "    out[{o}] = static_cast<uint32_t>(top->{n}) & {m}u;"),
                    33..=64 => writeln!(
                        cout,
                        "    out[{o}] = static_cast<uint32_t>(top->{n});\n    out[{last}] = static_cast<uint32_t>(top->{n} >> 32) & {m}u;"
                    ),
                    _ => writeln!(
                        cout,
                        "    std::memcpy(out + {o}, top->{n}.data(), {w} * sizeof(uint32_t));\n    out[{last}] &= {m}u;"
                    ),
                };
            }
        }
    }
    SHIM_TEMPLATE
        .replace("@MODEL@", &format!("V{top}"))
        .replace("@THREADS@", &threads.to_string())
        .replace("@IN_WORDS@", &lay.in_words.to_string())
        .replace("@OUT_WORDS@", &lay.out_words.to_string())
        .replace("@COPY_IN@", cin.trim_end_matches('\n'))
        .replace("@COPY_OUT@", cout.trim_end_matches('\n'))
}

fn verilator_args(spec: &BuildSpec) -> Vec<String> {
    let mut a: Vec<String> = VERILATOR_FIXED_ARGS.iter().map(|s| s.to_string()).collect();
    a.extend(["--top-module".into(), spec.top.to_string()]);
    if spec.trace {
        a.push("--trace".into());
    }
    if spec.threads > 1 {
        a.extend(["--threads".into(), spec.threads.to_string()]);
    }
    a.extend(spec.extra_args.iter().cloned());
    a
}

// ---------------------------------------------------------------------------------------------
// Tools

fn tool_output(
    program: &Path,
    args: &[&str],
    package: &'static str,
) -> Result<String, VerilatorError> {
    let not_found = |source| VerilatorError::ToolNotFound {
        tool: program.display().to_string(),
        package,
        source,
    };
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(not_found)?;
    if !out.status.success() {
        return Err(not_found(io::Error::other(format!(
            "`{} {}` exited with {}",
            program.display(),
            args.join(" "),
            out.status
        ))));
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(s)
}

fn hash_item(h: &mut Sha256, tag: &str, bytes: &[u8]) {
    h.update((tag.len() as u64).to_le_bytes());
    h.update(tag.as_bytes());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn log_tail(log: &Path, n: usize) -> String {
    let text = fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run `cmd` with stdout and stderr appended to `log`.
fn run_logged(
    mut cmd: Command,
    log: &Path,
    stage: &'static str,
    top: &str,
    tool: &str,
    package: &'static str,
) -> Result<(), VerilatorError> {
    use std::io::Write;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_err(log))?;
    let _ = writeln!(f, "$ {cmd:?}");
    let f2 = f.try_clone().map_err(io_err(log))?;
    cmd.stdin(Stdio::null()).stdout(f).stderr(f2);
    let status = cmd
        .status()
        .map_err(|source| VerilatorError::ToolNotFound {
            tool: tool.to_string(),
            package,
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(VerilatorError::BuildFailed {
            top: top.to_string(),
            stage,
            status: status.to_string(),
            log: log.to_path_buf(),
            tail: log_tail(log, 20),
        })
    }
}

/// `(dir, name, msb, lsb)` for each `VL_IN*/VL_OUT*/VL_INOUT*` declaration of a Verilated header.
fn parse_header_ports(text: &str) -> Vec<(&'static str, String, u32)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("VL_") else {
            continue;
        };
        let Some((mac, args)) = rest.split_once("(&") else {
            continue;
        };
        let dir = match mac {
            "IN8" | "IN16" | "IN" | "IN64" | "INW" => "input",
            "OUT8" | "OUT16" | "OUT" | "OUT64" | "OUTW" => "output",
            "INOUT8" | "INOUT16" | "INOUT" | "INOUT64" | "INOUTW" => "inout",
            _ => continue,
        };
        let args = args.trim_end_matches(';').trim_end_matches(')');
        let f: Vec<&str> = args.split(',').map(str::trim).collect();
        if f.len() < 3 {
            continue;
        }
        let (Ok(msb), Ok(lsb)) = (f[1].parse::<i64>(), f[2].parse::<i64>()) else {
            continue;
        };
        v.push((dir, f[0].to_string(), (msb - lsb).unsigned_abs() as u32 + 1));
    }
    v
}

fn check_ports(spec: &BuildSpec, header: &Path) -> Result<(), VerilatorError> {
    let text = fs::read_to_string(header).map_err(io_err(header))?;
    let actual = parse_header_ports(&text);
    let mut details = Vec::new();
    if actual.is_empty() {
        details.push("no ports found in the generated header".to_string());
    }
    for p in spec.ports {
        let want = match p.dir {
            Dir::In => "input",
            Dir::Out => "output",
        };
        match actual.iter().find(|(_, n, _)| *n == p.name) {
            None => details.push(format!("`{}` is not a port of the top module", p.name)),
            Some((d, _, w)) if *d != want || *w != p.width => details.push(format!(
                "`{}` is listed as {want} [{}] but is {d} [{w}]",
                p.name, p.width
            )),
            Some(_) => {}
        }
    }
    for (d, n, w) in &actual {
        if *d != "output" && !spec.ports.iter().any(|p| p.name == *n) {
            details.push(format!("{d} `{n}` [{w}] is missing from the port list"));
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(VerilatorError::PortMismatch {
            top: spec.top.to_string(),
            details,
            header: header.to_path_buf(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Build

/// Build (or fetch from the cache under `cache_root`) the simulation library for `spec`.
/// Same as [`build_with`] with default [`BuildOptions`].
pub fn build(spec: &BuildSpec, cache_root: &Path) -> Result<Model, VerilatorError> {
    build_with(spec, cache_root, BuildOptions::default())
}

/// Build (or fetch from the cache under `cache_root`) the simulation library for `spec`, and load
/// it. See the [module documentation](self) for what is cached and how concurrent builds are
/// handled. Blocks while another thread or process builds the same design.
pub fn build_with(
    spec: &BuildSpec,
    cache_root: &Path,
    mut opts: BuildOptions,
) -> Result<Model, VerilatorError> {
    let lay = layout(spec)?;
    let verilator = opts
        .verilator
        .map(Path::to_path_buf)
        .unwrap_or_else(|| "verilator".into());
    let vver = tool_output(&verilator, &["--version"], "verilator")?;
    let gver = tool_output(Path::new("g++"), &["--version"], "g++")?;

    let sources: Vec<PathBuf> = spec
        .sources
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let shim = shim_source(spec.top, spec.threads, &lay);
    let vargs = verilator_args(spec);

    let mut h = Sha256::new();
    hash_item(&mut h, "recipe", RECIPE_VERSION.as_bytes());
    hash_item(&mut h, "shim", shim.as_bytes());
    hash_item(&mut h, "top", spec.top.as_bytes());
    for a in &vargs {
        hash_item(&mut h, "verilator-arg", a.as_bytes());
    }
    for a in MAKE_OPT_ARGS {
        hash_item(&mut h, "make-arg", a.as_bytes());
    }
    for s in &sources {
        let bytes = fs::read(s).map_err(|e| {
            VerilatorError::InvalidSpec(format!("cannot read source {}: {e}", s.display()))
        })?;
        hash_item(&mut h, "source", &bytes);
    }
    hash_item(&mut h, "verilator-version", vver.as_bytes());
    hash_item(&mut h, "gxx-version", gver.as_bytes());
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();

    let root = std::path::absolute(cache_root).unwrap_or_else(|_| cache_root.to_path_buf());
    fs::create_dir_all(&root).map_err(io_err(&root))?;
    let dir = root.join(&key);

    if dir.join(MARKER).is_file() {
        opts.say(&format!("verilator: cache hit {}", dir.display()));
        return Model::load(&dir, lay, spec, None);
    }

    let lock_path = root.join(format!("{key}.lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    if lock.try_lock().is_err() {
        opts.say(&format!(
            "verilator: waiting for another build of `{}` ({})",
            spec.top,
            lock_path.display()
        ));
        lock.lock().map_err(io_err(&lock_path))?;
    }
    if dir.join(MARKER).is_file() {
        opts.say(&format!(
            "verilator: cache hit {} (built concurrently)",
            dir.display()
        ));
        return Model::load(&dir, lay, spec, None);
    }

    // Holding the lock, any `<key>.tmp-*` left over is from a builder that died: clean up.
    if let Ok(entries) = fs::read_dir(&root) {
        let prefix = format!("{key}.tmp-");
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = root.join(format!(
        "{key}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;

    let started = Instant::now();
    let result = build_in(
        spec,
        &mut opts,
        &root,
        &format!("{vver}\n{gver}"),
        &verilator,
        &vargs,
        &sources,
        &shim,
        &tmp,
    );
    let secs = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        // Keep the log reachable: move the attempt to `<key>.failed` and repoint the error.
        let failed = root.join(format!("{key}.failed"));
        let _ = fs::remove_dir_all(&failed);
        let moved = fs::rename(&tmp, &failed).is_ok();
        if !moved {
            let _ = fs::remove_dir_all(&tmp);
        }
        let repoint = |p: PathBuf| match p.strip_prefix(&tmp) {
            Ok(rel) if moved => failed.join(rel),
            _ => p,
        };
        return Err(match e {
            VerilatorError::BuildFailed {
                top,
                stage,
                status,
                log,
                tail,
            } => VerilatorError::BuildFailed {
                top,
                stage,
                status,
                log: repoint(log),
                tail,
            },
            VerilatorError::PortMismatch {
                top,
                details,
                header,
            } => VerilatorError::PortMismatch {
                top,
                details,
                header: repoint(header),
            },
            e => e,
        });
    }

    let meta = serde_json::json!({
        "top": spec.top,
        "build_seconds": secs,
        "verilator_args": vargs,
        "make_args": MAKE_OPT_ARGS,
        "sources": sources,
        "verilator_version": vver.trim(),
        "gxx_version": gver.lines().next().unwrap_or(""),
    });
    let marker = tmp.join(MARKER);
    fs::write(
        &marker,
        serde_json::to_string_pretty(&meta).unwrap_or_default(),
    )
    .map_err(io_err(&marker))?;
    if fs::rename(&tmp, &dir).is_err() {
        // Someone else (without the lock, e.g. a stale lock file on another file system)
        // finished first: use theirs.
        let _ = fs::remove_dir_all(&tmp);
        if !dir.join(MARKER).is_file() {
            return Err(VerilatorError::Io {
                path: dir,
                source: io::Error::other("could not move the finished build into place"),
            });
        }
    }
    drop(lock);
    opts.say(&format!(
        "verilator: built `{}` in {secs:.1} s into {}",
        spec.top,
        dir.display()
    ));
    Model::load(&dir, lay, spec, Some(secs))
}

#[allow(clippy::too_many_arguments)]
fn build_in(
    spec: &BuildSpec,
    opts: &mut BuildOptions,
    root: &Path,
    tool_versions: &str,
    verilator: &Path,
    vargs: &[String],
    sources: &[PathBuf],
    shim: &str,
    tmp: &Path,
) -> Result<(), VerilatorError> {
    let shim_path = tmp.join("shim.cpp");
    fs::write(&shim_path, shim).map_err(io_err(&shim_path))?;
    let log = tmp.join(LOG_NAME);
    let obj = tmp.join("obj");
    let model = format!("V{}", spec.top);

    opts.say(&format!(
        "verilator: verilating `{}` in {}",
        spec.top,
        tmp.display()
    ));
    let mut cmd = Command::new(verilator);
    cmd.current_dir(tmp)
        .args(vargs)
        .arg("-Mdir")
        .arg(&obj)
        .arg(&shim_path)
        .args(sources);
    run_logged(
        cmd,
        &log,
        "verilation",
        spec.top,
        &verilator.display().to_string(),
        "verilator",
    )?;

    let header = obj.join(format!("{model}.h"));
    check_ports(spec, &header)?;
    let _ = fs::copy(&header, tmp.join(format!("{model}.h")));

    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = RuntimeObjects::locate(root, &obj, &model, tool_versions);
    let reused = runtime.as_ref().is_some_and(|r| r.restore(&obj, &log));
    opts.say(&format!(
        "verilator: compiling `{}` (make -j{jobs}{})",
        spec.top,
        if reused {
            ", runtime objects cached"
        } else {
            ""
        }
    ));
    let cmd = make_command(&obj, &model, jobs);
    run_logged(cmd, &log, "C++ compilation", spec.top, "make", "make")?;
    if let (Some(r), false) = (&runtime, reused) {
        r.store(&obj);
    }

    let built = obj.join(LIB_NAME);
    let dest = tmp.join(LIB_NAME);
    fs::rename(&built, &dest).map_err(|_| VerilatorError::BuildFailed {
        top: spec.top.to_string(),
        stage: "collecting the library",
        status: format!("{} was not produced", built.display()),
        log: log.clone(),
        tail: log_tail(&log, 20),
    })?;
    fs::remove_dir_all(&obj).map_err(io_err(&obj))?;
    Ok(())
}

fn make_command(obj: &Path, model: &str, jobs: usize) -> Command {
    let mut cmd = Command::new("make");
    cmd.current_dir(obj)
        .arg("-f")
        .arg(format!("{model}.mk"))
        .arg(format!("-j{jobs}"))
        .args(MAKE_OPT_ARGS)
        // A jobserver inherited from an outer make/cargo must not leak into this one.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    cmd
}

/// The object files of the Verilated runtime library (`verilated.o`, `verilated_threads.o`,
/// `verilated_vcd_c.o`, ...) do not depend on the design, only on how they are compiled, yet
/// `make` rebuilds them for every design: about 6.5 s of CPU (10 s with tracing) on this kind of
/// machine, most of a small design's build. They are shared through
/// `cache_root/runtime-<key>/`, where `<key>` hashes the tool versions and the exact compile
/// commands `make -n` prints for them. Copied into a fresh `obj/` after verilation they are newer
/// than their prerequisites, so `make` keeps them. Any failure here only means no reuse.
struct RuntimeObjects {
    dir: PathBuf,
    files: Vec<String>,
}

impl RuntimeObjects {
    fn locate(root: &Path, obj: &Path, model: &str, tool_versions: &str) -> Option<Self> {
        let classes = fs::read_to_string(obj.join(format!("{model}_classes.mk"))).ok()?;
        let mut files = Vec::new();
        let mut in_list = false;
        for line in classes.lines() {
            let t = line.trim();
            if t.starts_with("VM_GLOBAL_FAST +=") || t.starts_with("VM_GLOBAL_SLOW +=") {
                in_list = true;
                continue;
            }
            if in_list {
                let name = t.trim_end_matches('\\').trim();
                if !name.is_empty() {
                    files.push(format!("{name}.o"));
                }
                in_list = t.ends_with('\\');
            }
        }
        if files.is_empty() {
            return None;
        }
        let out = make_command(obj, model, 1)
            .arg("-n")
            .args(&files)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let mut h = Sha256::new();
        hash_item(&mut h, "recipe", RECIPE_VERSION.as_bytes());
        hash_item(&mut h, "tools", tool_versions.as_bytes());
        for f in &files {
            hash_item(&mut h, "object", f.as_bytes());
        }
        hash_item(&mut h, "commands", &out.stdout);
        let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Some(RuntimeObjects {
            dir: root.join(format!("runtime-{key}")),
            files,
        })
    }

    /// Copy cached objects into `obj`; false if there are none (or copying failed).
    fn restore(&self, obj: &Path, log: &Path) -> bool {
        if !self.dir.join(MARKER).is_file() {
            return false;
        }
        for f in &self.files {
            if fs::copy(self.dir.join(f), obj.join(f)).is_err() {
                for f in &self.files {
                    let _ = fs::remove_file(obj.join(f));
                }
                return false;
            }
        }
        if let Ok(mut l) = OpenOptions::new().append(true).open(log) {
            use std::io::Write;
            let _ = writeln!(
                l,
                "# runtime objects {:?} reused from {}",
                self.files,
                self.dir.display()
            );
        }
        true
    }

    /// Publish freshly built objects (atomically; losing a race to another builder is fine).
    fn store(&self, obj: &Path) {
        if self.dir.join(MARKER).is_file() {
            return;
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.with_extension(format!(
            "tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let ok = fs::create_dir_all(&tmp).is_ok()
            && self
                .files
                .iter()
                .all(|f| fs::copy(obj.join(f), tmp.join(f)).is_ok())
            && fs::write(tmp.join(MARKER), format!("{:?}\n", self.files)).is_ok()
            && fs::rename(&tmp, &self.dir).is_ok();
        if !ok {
            let _ = fs::remove_dir_all(&tmp);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model and Sim

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type CtxFn = unsafe extern "C" fn(*mut c_void);
type StepFn = unsafe extern "C" fn(*mut c_void, *const u32, *mut u32);
type TraceOpenFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> i32;
type FinishFn = unsafe extern "C" fn(*mut c_void) -> i32;
type U32Fn = unsafe extern "C" fn() -> u32;

struct Shim {
    new: NewFn,
    delete: CtxFn,
    eval: StepFn,
    tick: StepFn,
    trace_open: TraceOpenFn,
    trace_close: CtxFn,
    trace_flush: CtxFn,
    got_finish: FinishFn,
}

struct ModelInner {
    shim: Shim,
    layout: Layout,
    ports: Vec<PortSpec>,
    dir: PathBuf,
    trace: bool,
    build_seconds: Option<f64>,
    // Dropped last: the function pointers above point into it.
    _lib: libloading::Library,
}

/// A built and loaded simulation library. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Model {
    inner: Arc<ModelInner>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dir", &self.inner.dir)
            .field("trace", &self.inner.trace)
            .field("build_seconds", &self.inner.build_seconds)
            .finish()
    }
}

impl Model {
    fn load(
        dir: &Path,
        layout: Layout,
        spec: &BuildSpec,
        build_seconds: Option<f64>,
    ) -> Result<Model, VerilatorError> {
        let path = dir.join(LIB_NAME);
        let fail = |reason: String| VerilatorError::LoadFailed {
            path: path.clone(),
            reason,
        };
        // SAFETY: the library is one we built from our own shim; loading it runs the static
        // constructors of the Verilated runtime only.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| fail(e.to_string()))?;
        // SAFETY: the symbol types match the `extern "C"` definitions in `cosim/shim.cpp`, whose
        // ABI version is checked right below before anything else is called.
        unsafe {
            fn sym<T: Copy>(lib: &libloading::Library, name: &str) -> Result<T, String> {
                // SAFETY: forwarded to the caller (types match the shim).
                unsafe { lib.get::<T>(name.as_bytes()) }
                    .map(|s| *s)
                    .map_err(|e| e.to_string())
            }
            let abi: U32Fn = sym(&lib, "shim_abi_version").map_err(&fail)?;
            if abi() != SHIM_ABI_VERSION {
                return Err(fail(format!(
                    "shim ABI {} != expected {SHIM_ABI_VERSION}",
                    abi()
                )));
            }
            let in_words: U32Fn = sym(&lib, "shim_in_words").map_err(&fail)?;
            let out_words: U32Fn = sym(&lib, "shim_out_words").map_err(&fail)?;
            if in_words() as usize != layout.in_words || out_words() as usize != layout.out_words {
                return Err(fail("shim port layout does not match the port list".into()));
            }
            let shim = Shim {
                new: sym(&lib, "shim_new").map_err(&fail)?,
                delete: sym(&lib, "shim_delete").map_err(&fail)?,
                eval: sym(&lib, "shim_eval").map_err(&fail)?,
                tick: sym(&lib, "shim_tick").map_err(&fail)?,
                trace_open: sym(&lib, "shim_trace_open").map_err(&fail)?,
                trace_close: sym(&lib, "shim_trace_close").map_err(&fail)?,
                trace_flush: sym(&lib, "shim_trace_flush").map_err(&fail)?,
                got_finish: sym(&lib, "shim_got_finish").map_err(&fail)?,
            };
            Ok(Model {
                inner: Arc::new(ModelInner {
                    shim,
                    layout,
                    ports: spec.ports.to_vec(),
                    dir: dir.to_path_buf(),
                    trace: spec.trace,
                    build_seconds,
                    _lib: lib,
                }),
            })
        }
    }

    /// A new, independent simulation (own `VerilatedContext` and model instance), with all inputs
    /// zero, clk low, and one [`Sim::eval`] already done (so `initial` blocks have run and outputs
    /// are settled).
    pub fn instantiate(&self) -> Result<Sim, VerilatorError> {
        // SAFETY: `new` has no preconditions; it returns null on failure.
        let raw = unsafe { (self.inner.shim.new)() };
        let ctx = NonNull::new(raw).ok_or(VerilatorError::InstantiateFailed)?;
        let mut sim = Sim {
            ctx,
            inputs: vec![0; self.inner.layout.in_words],
            outputs: vec![0; self.inner.layout.out_words],
            cycle: 0,
            tracing: false,
            model: Arc::clone(&self.inner),
        };
        sim.eval();
        Ok(sim)
    }

    /// Wall-clock seconds this call spent building, or `None` if the library came from the cache.
    pub fn build_seconds(&self) -> Option<f64> {
        self.inner.build_seconds
    }

    /// The cache directory holding `libsim.so`, `shim.cpp` and `build.log`.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The port list the model was built with (including `clk`).
    pub fn ports(&self) -> &[PortSpec] {
        &self.inner.ports
    }

    /// Whether the model was built with tracing support.
    pub fn has_trace(&self) -> bool {
        self.inner.trace
    }
}

/// Handle of a port, valid for every [`Sim`] of the [`Model`] it was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortId(u32);

/// One running simulation. See the [module documentation](self) for the cycle contract.
///
/// `Send` (it may move between threads) but not `Sync`.
pub struct Sim {
    ctx: NonNull<c_void>,
    inputs: Vec<u32>,
    outputs: Vec<u32>,
    cycle: u64,
    tracing: bool,
    model: Arc<ModelInner>,
}

// SAFETY: the shim instance is only touched through `&mut self` (or `&self` for a read-only
// flag), and a Verilated model may be driven from any one thread at a time.
unsafe impl Send for Sim {}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("dir", &self.model.dir)
            .field("cycle", &self.cycle)
            .field("tracing", &self.tracing)
            .finish()
    }
}

impl Sim {
    /// Id of the port `name`, or `None` if it is not in the port list (or is `clk`, which only
    /// [`Sim::tick`] drives). Look ids up once, outside the cycle loop.
    pub fn port(&self, name: &str) -> Option<PortId> {
        self.model
            .layout
            .by_name
            .get(name)
            .map(|&i| PortId(i as u32))
    }

    /// Like [`Sim::port`], but an unknown name is a [`VerilatorError::UnknownPort`].
    pub fn require_port(&self, name: &str) -> Result<PortId, VerilatorError> {
        self.port(name)
            .ok_or_else(|| VerilatorError::UnknownPort(name.to_string()))
    }

    /// Spec (name, direction, width) of a port.
    pub fn port_spec(&self, p: PortId) -> &PortSpec {
        &self.slot(p).spec
    }

    fn slot(&self, p: PortId) -> &PortSlot {
        &self.model.layout.slots[p.0 as usize]
    }

    fn input_slot(&self, p: PortId) -> (usize, usize, u32) {
        let s = self.slot(p);
        assert!(
            s.spec.dir == Dir::In,
            "port `{}` is an output and cannot be set",
            s.spec.name
        );
        (s.offset, s.words, s.top_mask)
    }

    /// Set an input from little-endian 32-bit words (word 0 = bits 31..0). Missing words are
    /// zero; words and bits beyond the port width are ignored. Takes effect at the next
    /// [`Sim::eval`] or [`Sim::tick`]. Panics if `p` is an output.
    pub fn set(&mut self, p: PortId, words: &[u32]) {
        let (off, n, mask) = self.input_slot(p);
        let dst = &mut self.inputs[off..off + n];
        let k = words.len().min(n);
        dst[..k].copy_from_slice(&words[..k]);
        dst[k..].fill(0);
        dst[n - 1] &= mask;
    }

    /// Set an input from a `u64` (bits beyond the port width ignored; wider ports get zeros in
    /// their upper words). Panics if `p` is an output.
    pub fn set_u64(&mut self, p: PortId, v: u64) {
        let (off, n, mask) = self.input_slot(p);
        let dst = &mut self.inputs[off..off + n];
        dst[0] = v as u32;
        if n > 1 {
            dst[1] = (v >> 32) as u32;
            dst[2..].fill(0);
        }
        dst[n - 1] &= mask;
    }

    /// Set a 1-bit (or any) input to 0 or 1.
    pub fn set_bool(&mut self, p: PortId, v: bool) {
        self.set_u64(p, v as u64);
    }

    /// Current value of a port as little-endian 32-bit words (`ceil(width/32)` of them, bits
    /// beyond the width zero). For an output: as of the last [`Sim::eval`]/[`Sim::tick`]; for an
    /// input: the value last set.
    pub fn get(&self, p: PortId) -> &[u32] {
        let s = self.slot(p);
        let buf = match s.spec.dir {
            Dir::In => &self.inputs,
            Dir::Out => &self.outputs,
        };
        &buf[s.offset..s.offset + s.words]
    }

    /// The low 64 bits of [`Sim::get`].
    pub fn get_u64(&self, p: PortId) -> u64 {
        let w = self.get(p);
        let hi = w.get(1).copied().unwrap_or(0) as u64;
        (hi << 32) | w[0] as u64
    }

    /// Bit 0 of [`Sim::get`].
    pub fn get_bool(&self, p: PortId) -> bool {
        self.get(p)[0] & 1 != 0
    }

    /// Copy all inputs in, settle combinational logic with clk low, copy all outputs out. No
    /// clock edge, no trace sample, cycle count unchanged. One FFI call.
    pub fn eval(&mut self) {
        // SAFETY: ctx is a live shim instance; the buffers have the lengths the shim was
        // generated for (checked at load).
        unsafe {
            (self.model.shim.eval)(
                self.ctx.as_ptr(),
                self.inputs.as_ptr(),
                self.outputs.as_mut_ptr(),
            )
        }
    }

    /// One clock cycle: copy inputs in, rising edge + eval, clk low + eval, copy outputs out,
    /// increment [`Sim::cycle`]. With a trace open, samples at time `2*c` (clk low, inputs
    /// settled) and `2*c + 1` (after the edge). One FFI call.
    pub fn tick(&mut self) {
        // SAFETY: as in `eval`.
        unsafe {
            (self.model.shim.tick)(
                self.ctx.as_ptr(),
                self.inputs.as_ptr(),
                self.outputs.as_mut_ptr(),
            )
        }
        self.cycle += 1;
    }

    /// Number of [`Sim::tick`]s so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Whether the design has executed `$finish`. (`$stop` and fatal errors abort the process,
    /// as in any Verilated model.)
    pub fn finished(&self) -> bool {
        // SAFETY: ctx is live; the call only reads a flag.
        unsafe { (self.model.shim.got_finish)(self.ctx.as_ptr()) != 0 }
    }

    /// Start writing a VCD of the whole design to `path` (replacing any trace already open, which
    /// is closed first). Requires a model built with [`BuildSpec::trace`]. Samples are taken by
    /// [`Sim::tick`]; closing (explicitly, by reopening, or by dropping the `Sim`) adds a final
    /// sample of the current state.
    pub fn open_trace(&mut self, path: &Path) -> Result<(), VerilatorError> {
        if !self.model.trace {
            return Err(VerilatorError::TraceNotBuilt);
        }
        File::create(path).map_err(io_err(path))?;
        use std::os::unix::ffi::OsStrExt;
        let c =
            CString::new(path.as_os_str().as_bytes()).map_err(|_| VerilatorError::TraceOpen {
                path: path.to_path_buf(),
            })?;
        // SAFETY: ctx is live; `c` outlives the call (Verilator copies the name).
        let rc = unsafe { (self.model.shim.trace_open)(self.ctx.as_ptr(), c.as_ptr()) };
        match rc {
            0 => {
                self.tracing = true;
                Ok(())
            }
            1 => Err(VerilatorError::TraceNotBuilt),
            _ => Err(VerilatorError::TraceOpen {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Flush buffered trace data to the file (no-op without an open trace).
    pub fn flush_trace(&mut self) {
        // SAFETY: ctx is live.
        unsafe { (self.model.shim.trace_flush)(self.ctx.as_ptr()) }
    }

    /// Close the trace, if one is open.
    pub fn close_trace(&mut self) {
        // SAFETY: ctx is live.
        unsafe { (self.model.shim.trace_close)(self.ctx.as_ptr()) }
        self.tracing = false;
    }

    /// Whether a trace file is open.
    pub fn is_tracing(&self) -> bool {
        self.tracing
    }

    /// The model this simulation belongs to.
    pub fn model(&self) -> Model {
        Model {
            inner: Arc::clone(&self.model),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // SAFETY: ctx is live and never used again; `delete` closes an open trace first.
        unsafe { (self.model.shim.delete)(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parse() {
        let h = "  VL_IN8(&clk,0,0);\n    VL_OUTW(&s100,99,0,4);\n VL_IN64(&a40,39,0);\n VL_IN16(&x,16,1);\n";
        let p = parse_header_ports(h);
        assert_eq!(
            p,
            vec![
                ("input", "clk".to_string(), 1),
                ("output", "s100".to_string(), 100),
                ("input", "a40".to_string(), 40),
                ("input", "x".to_string(), 16),
            ]
        );
    }

    #[test]
    fn masks_and_idents() {
        assert_eq!(top_mask(1), 1);
        assert_eq!(top_mask(32), u32::MAX);
        assert_eq!(top_mask(40), 0xff);
        assert_eq!(words_of(100), 4);
        assert!(is_plain_ident("a_b1"));
        assert!(!is_plain_ident("a__b"));
        assert!(!is_plain_ident("1a"));
        assert!(!is_plain_ident("a.b"));
    }
}
