//! Shared helpers of the integration tests.
#![allow(dead_code)]

pub mod mutation;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use systolic::config::{seeds_dir, Config, Overrides, RawConfig};
use systolic::engine::gemm::Matrix;

/// The argument that makes `tool` print its version and exit with status 0.
fn version_arg(tool: &str) -> &'static str {
    match tool {
        "iverilog" | "yosys" | "vvp" => "-V",
        _ => "--version",
    }
}

/// The first line of `tool`'s version output, or `None` when it cannot be run.
pub fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool)
        .arg(version_arg(tool))
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// Whether `tool` is available, under the `CI` rule: when it is missing, this panics if the
/// environment variable `CI` is set (a CI machine must have every tool) and otherwise prints
/// `TEST: skipped: TOOL not found` and returns `false`, so the caller returns early. `test`
/// names the caller in the messages.
pub fn require_tool(tool: &str, test: &str) -> bool {
    if tool_version(tool).is_some() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {tool} not found on PATH, and CI is set: the tool is required");
    }
    eprintln!("{test}: skipped: {tool} not found");
    false
}

/// A new, empty directory `base/<tag>-<pid>-<n>-<nanos>`, unique across threads and processes.
pub fn fresh_dir(base: &Path, tag: &str) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = base.join(format!("{tag}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The files named in a generated directory's file list (`files.f`,
/// `systolic::generate::FILE_LIST`), in order, as paths.
pub fn listed_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let list = std::fs::read_to_string(dir.join(systolic::generate::FILE_LIST))?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l))
        .collect())
}

pub fn preset(name: &str) -> Config {
    Config::from_preset(&seeds_dir(), name, &Overrides::default()).expect("preset")
}

pub fn config(rows: u32, cols: u32, format: &str, acc_bits: u32, banks: u32, depth: u32) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("t{rows}x{cols}-{format}-a{acc_bits}-b{banks}-d{depth}"),
        rows,
        cols,
        format: format.into(),
        acc_bits,
        psum_banks: banks,
        psum_depth: depth,
        ..Default::default()
    })
    .expect("valid test config")
}

/// `cfg` with another `pe_latency` (its name gets `-l<N>`).
pub fn with_latency(cfg: Config, pe_latency: u32) -> Config {
    let mut raw = cfg.to_raw();
    raw.pe_latency = pe_latency;
    raw.name = format!("{}-l{pe_latency}", raw.name);
    Config::from_raw(&raw).expect("valid pipelined config")
}

/// `cfg` with `primitives = "ecp5"` (its name gets `-ecp5`).
pub fn with_ecp5_primitives(cfg: Config) -> Config {
    with_primitives(cfg, systolic::config::Primitives::Ecp5)
}

/// `cfg` with `primitives = "ice40"` (its name gets `-ice40`).
pub fn with_ice40_primitives(cfg: Config) -> Config {
    with_primitives(cfg, systolic::config::Primitives::Ice40)
}

/// `cfg` with only its first `dsp_cols` columns on DSP blocks (its name gets `-d<N>`).
pub fn with_dsp_cols(cfg: Config, dsp_cols: u32) -> Config {
    let mut raw = cfg.to_raw();
    raw.dsp_cols = Some(dsp_cols);
    raw.name = format!("{}-d{dsp_cols}", raw.name);
    Config::from_raw(&raw).unwrap_or_else(|e| panic!("valid dsp_cols: {e}"))
}

/// `cfg` with the PSUM accumulate split in two halves (its name gets `-s`).
pub fn with_psum_split(cfg: Config) -> Config {
    let mut raw = cfg.to_raw();
    raw.psum_split = true;
    raw.name = format!("{}-s", raw.name);
    Config::from_raw(&raw).unwrap_or_else(|e| panic!("valid psum_split: {e}"))
}

/// `cfg` with the memory path (`dma = true`, a 64-bit AXI4 master; its name gets `-dma`).
#[allow(dead_code)]
pub fn with_dma(cfg: Config) -> Config {
    let mut raw = cfg.to_raw();
    raw.dma = true;
    raw.name = format!("{}-dma", raw.name);
    Config::from_raw(&raw).unwrap_or_else(|e| panic!("valid dma: {e}"))
}

/// `cfg` with tiles of `tile_cols` columns (its name gets `-t<N>`).
#[allow(dead_code)]
pub fn with_tile_cols(cfg: Config, tile_cols: u32) -> Config {
    let mut raw = cfg.to_raw();
    raw.tile_cols = tile_cols;
    raw.name = format!("{}-t{tile_cols}", raw.name);
    Config::from_raw(&raw).unwrap_or_else(|e| panic!("valid tile_cols: {e}"))
}

fn with_primitives(cfg: Config, primitives: systolic::config::Primitives) -> Config {
    let mut raw = cfg.to_raw();
    raw.primitives = primitives;
    raw.name = format!("{}-{primitives}", raw.name);
    Config::from_raw(&raw).unwrap_or_else(|e| panic!("valid {primitives} config: {e}"))
}

/// A fresh directory under target/ for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-scratch");
    let dir = base.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `C = A x B` in the order docs/numerics.md gives for a GEMM on the engine: K in tiles of
/// `rows` in increasing order; within a tile a column sum from +0 down the array's rows (rows past
/// the tile's K add nothing); the tile sums accumulated into PSUM in tile order (the first
/// tile overwrites). Written from the specification with `systolic::golden::fp::mul` / `systolic::golden::fp::add`, independently of
/// the engine model.
pub fn float_gemm_reference(cfg: &Config, a: &Matrix, b: &Matrix) -> Matrix {
    let f = cfg.format.float().expect("a float format");
    let rows = cfg.rows as usize;
    Matrix::from_fn(a.rows, b.cols, |i, j| {
        let mut psum: Option<u32> = None;
        for k0 in (0..a.cols).step_by(rows) {
            let mut sum = systolic::golden::fp::F32_POS_ZERO;
            for k in k0..(k0 + rows).min(a.cols) {
                sum = systolic::golden::fp::add(
                    sum,
                    systolic::golden::fp::mul(f, a.get(i, k) as u16, b.get(k, j) as u16),
                );
            }
            psum = Some(match psum {
                None => sum,
                Some(old) => systolic::golden::fp::add(old, sum),
            });
        }
        i64::from(psum.expect("K >= 1"))
    })
}

/// Whether a test that needs something from outside may be skipped: when `CI` is set it may
/// not (this panics with `why`), otherwise it prints `TEST: skipped: why` and returns `false`.
pub fn skip_unless_ci(test: &str, why: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}, and CI is set: it is required");
    }
    eprintln!("{test}: skipped: {why}");
    false
}

/// The Python of the models' virtual environment (`scripts/python-env.sh` creates
/// `.venv-models` with the pinned numpy and onnxruntime of models/requirements.txt, or finds it
/// installed), once per test binary; `None` (after [`skip_unless_ci`]) when that fails.
pub fn models_python(test: &str) -> Option<PathBuf> {
    static PY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let r = PY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("bash")
            .arg(root.join("scripts/python-env.sh"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run scripts/python-env.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/python-env.sh failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("scripts/python-env.sh printed {}", path.display()))
        }
    });
    match r {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            skip_unless_ci(test, why);
            None
        }
    }
}

/// The write-back test vectors computed by ONNX Runtime (`models/ortref/activate_vectors.py`,
/// run through [`models_python`] into the target folder; rerun when the script is newer than
/// its output), parsed; `None` (after [`skip_unless_ci`]) when Python or onnxruntime is missing.
pub fn ort_activate_vectors(test: &str) -> Option<&'static serde_json::Value> {
    static VECTORS: std::sync::OnceLock<Result<serde_json::Value, String>> =
        std::sync::OnceLock::new();
    let python = models_python(test)?;
    let r = VECTORS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let script = root.join("models/ortref/activate_vectors.py");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ortref/activate_vectors.json");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let stale = match (modified(&out), modified(&script)) {
            (Some(o), Some(s)) => o < s,
            _ => true,
        };
        if stale {
            let run = Command::new(&python)
                .arg(&script)
                .arg("--out")
                .arg(&out)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if !run.status.success() {
                return Err(format!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&run.stderr).trim()
                ));
            }
        }
        let text = std::fs::read_to_string(&out)
            .map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))
    });
    match r {
        Ok(v) => Some(v),
        Err(why) => {
            skip_unless_ci(test, why);
            None
        }
    }
}

/// Every `stride`-th item, starting with the first: CI's sample of a sweep whose whole runs in an
/// `#[ignore]`d test (`scripts/test.sh --full`). A stride sharing no factor with the lengths of
/// the nested loops that made the list still reaches every value of every loop.
pub fn sample<T>(items: Vec<T>, stride: usize) -> Vec<T> {
    items.into_iter().step_by(stride.max(1)).collect()
}

/// `html` rendered by headless Chromium into `png` at `size` (a fresh profile under `dir`):
/// the screenshot's pixel count and the mean and variance of its luminance (a blank page has
/// variance 0). Panics when Chromium writes no screenshot.
#[allow(dead_code)]
pub fn screenshot(dir: &Path, html: &Path, png: &Path, size: (u32, u32)) -> (usize, f64, f64) {
    let profile = fresh_dir(dir, "chromium-profile").unwrap();
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("file://{}", html.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        png.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png_stats(png)
}

/// Mean and variance of the luminance of a PNG's pixels.
pub fn png_stats(path: &Path) -> (usize, f64, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px: Vec<f64> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| {
            if channels >= 3 {
                0.299 * f64::from(c[0]) + 0.587 * f64::from(c[1]) + 0.114 * f64::from(c[2])
            } else {
                f64::from(c[0])
            }
        })
        .collect();
    let n = px.len() as f64;
    let mean = px.iter().sum::<f64>() / n;
    let var = px.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
    (px.len(), mean, var)
}
