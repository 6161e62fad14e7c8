//! `systolic infer`: the 12 quantised test models (models/) on the golden model of the engine,
//! compared bit for bit with the logits ONNX Runtime 1.32.0 computed for them
//! (`models/ortref/infer/*.logits.npy`, written by `models/ortref/infer_refs.py`; nothing in
//! them comes from this crate). DequantizeLinear is injective for the models' scales, so equal
//! float32 logits mean equal int8 / uint8 logits.
//!
//! The same for the models' power-of-two stress variants (`models/ortref/infer/pow2/`: every
//! scale rounded to a power of two, so exact ties before a rounding are frequent; the digits
//! models almost never produce one, and cannot tell the rounding of ties apart).
//!
//! CI compares the first `SUBSET` images of each model; `all_images_match_onnx_runtime`
//! (ignored, run by `scripts/test.sh --full`) all 360 and checks top-1 accuracy.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcOutput};

use systolic::engine::golden::GoldenEngine;
use systolic::model::{self, DataPath, Output};
use systolic::npy::{self, Array2, Dtype};

const MODELS: [&str; 12] = [
    "mlp.qop",
    "mlp.qop-pc",
    "mlp.qop-u8",
    "mlp.qdq",
    "mlp.qdq-pc",
    "mlp.qdq-u8",
    "cnn.qop",
    "cnn.qop-pc",
    "cnn.qop-u8",
    "cnn.qdq",
    "cnn.qdq-pc",
    "cnn.qdq-u8",
];

/// Images compared per model in the default run.
const SUBSET: usize = 90;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn f32_rows(path: &Path) -> Array2 {
    let a = npy::read(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.dtype, Dtype::F32, "{}", path.display());
    a
}

fn images() -> Array2 {
    f32_rows(&root().join("models/digits_test_x.npy"))
}

/// The labels (a 1-D int64 .npy: its data are the file's last 8 x 360 bytes).
fn labels() -> Vec<i64> {
    let bytes = std::fs::read(root().join("models/digits_test_y.npy")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'<i8'"));
    let data = &bytes[bytes.len() - 360 * 8..];
    data.chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Where the models of a set are: the models themselves ("") or the stress variants ("pow2/").
fn model_path(set: &str, name: &str) -> PathBuf {
    match set {
        "" => root().join(format!("models/{name}.onnx")),
        _ => root().join(format!("models/ortref/infer/{set}{name}.onnx")),
    }
}

/// Our logits' bit patterns for the first `n` images of `name` on the golden model of the
/// int8-8x8 engine (with the memory path for [`DataPath::Memory`]).
fn ours(set: &str, name: &str, n: usize, path: DataPath) -> Vec<u32> {
    let net = model::load(&model_path(set, name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let x = images();
    assert_eq!(x.cols, net.in_len());
    let xs: Vec<f32> = x.data[..n * x.cols]
        .iter()
        .map(|&b| f32::from_bits(b as u32))
        .collect();
    let cfg = match path {
        DataPath::Register => common::preset("int8-8x8"),
        DataPath::Memory => common::with_dma(common::preset("int8-8x8")),
    };
    let mut engine = GoldenEngine::new(&cfg);
    let (y, stats) = model::run(&net, &mut engine, &xs, n, path).unwrap();
    assert!(stats.gemms >= 3 && stats.macs > 0, "{name}: {stats:?}");
    if path == DataPath::Memory {
        // Every product on the memory path, requantised on chip, its output stored by the DMA.
        let bytes: u64 = stats.products.iter().map(|p| p.dma_write_bytes).sum();
        assert!(
            stats.products.iter().all(|p| p.write_back == "activate") && bytes > 0,
            "{name}: {:?}",
            stats.products
        );
    }
    match y {
        Output::F32(v) => v.iter().map(|f| f.to_bits()).collect(),
        Output::Q(..) => panic!("{name}: the models end in DequantizeLinear"),
    }
}

/// Compare the first `n` images of every model; returns the mismatch report (empty if none).
fn compare(set: &str, n: usize, path: DataPath) -> (String, Vec<(String, Vec<u32>)>) {
    let mut report = String::new();
    let mut all = Vec::new();
    for name in MODELS {
        let reference =
            f32_rows(&root().join(format!("models/ortref/infer/{set}{name}.logits.npy")));
        assert_eq!((reference.rows, reference.cols), (360, 10));
        let want: Vec<u32> = reference.data[..n * 10].iter().map(|&b| b as u32).collect();
        let got = ours(set, name, n, path);
        let bad: Vec<usize> = (0..want.len()).filter(|&i| want[i] != got[i]).collect();
        if let Some(&i) = bad.first() {
            report += &format!(
                "{set}{name} ({path:?} path): {} of {} logits differ; first: image {} class {}: ours {} ({:#010x}), \
                 ONNX Runtime {} ({:#010x})\n",
                bad.len(),
                want.len(),
                i / 10,
                i % 10,
                f32::from_bits(got[i]),
                got[i],
                f32::from_bits(want[i]),
                want[i]
            );
        }
        all.push((format!("{set}{name}"), got));
    }
    (report, all)
}

#[test]
fn every_quantised_model_matches_onnx_runtime_bit_for_bit() {
    let (report, _) = compare("", SUBSET, DataPath::Register);
    assert!(report.is_empty(), "mismatches with ONNX Runtime:\n{report}");
}

/// The same over the memory path: the engine's DMA moves the activations and results, its
/// write-back unit requantises (per-channel scale, folded bias, output zero point).
#[test]
fn every_quantised_model_matches_onnx_runtime_over_the_memory_path() {
    let (report, _) = compare("", SUBSET, DataPath::Memory);
    assert!(report.is_empty(), "mismatches with ONNX Runtime:\n{report}");
}

#[test]
fn the_power_of_two_stress_variants_match_onnx_runtime_bit_for_bit() {
    let (mut report, _) = compare("pow2/", SUBSET, DataPath::Register);
    report += &compare("pow2/", SUBSET, DataPath::Memory).0;
    assert!(report.is_empty(), "mismatches with ONNX Runtime:\n{report}");
}

/// All 360 images, and top-1 accuracy (ours and ORT's from `ort.json`, which must agree).
#[test]
#[ignore = "all 360 images of 12 models: seconds in release mode (scripts/test.sh --full)"]
fn all_images_match_onnx_runtime() {
    let (mut report, mut all) = compare("", 360, DataPath::Register);
    for (set, path) in [
        ("pow2/", DataPath::Register),
        ("", DataPath::Memory),
        ("pow2/", DataPath::Memory),
    ] {
        let (r2, a2) = compare(set, 360, path);
        report += &r2;
        all.extend(a2);
    }
    let y = labels();
    let ort: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("models/ortref/infer/ort.json")).unwrap(),
    )
    .unwrap();
    for (name, logits) in &all {
        let correct = (0..360)
            .filter(|&i| {
                let row: Vec<f32> = logits[i * 10..][..10]
                    .iter()
                    .map(|&b| f32::from_bits(b))
                    .collect();
                // numpy's argmax: the first maximum.
                let best = (0..10).fold(0, |b, j| if row[j] > row[b] { j } else { b });
                best as i64 == y[i]
            })
            .count();
        let acc = correct as f64 / 360.0;
        let theirs = ort["top1"][name].as_f64().unwrap();
        eprintln!(
            "{name}: top-1 {:.2}% (ONNX Runtime {:.2}%)",
            100.0 * acc,
            100.0 * theirs
        );
        let theirs_correct = (theirs * 360.0).round() as usize;
        assert!(
            report.contains(name.as_str()) || correct == theirs_correct,
            "{name}: {correct} correct, ONNX Runtime {theirs_correct}"
        );
    }
    assert!(report.is_empty(), "mismatches with ONNX Runtime:\n{report}");
}

fn systolic(args: &[&str]) -> ProcOutput {
    Command::new(env!("CARGO_BIN_EXE_systolic"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run systolic")
}

fn subset_file(dir: &Path, n: usize) -> PathBuf {
    let x = images();
    let sub = Array2 {
        dtype: Dtype::F32,
        rows: n,
        cols: x.cols,
        data: x.data[..n * x.cols].to_vec(),
    };
    let p = dir.join("x.npy");
    npy::write(&p, &sub).unwrap();
    p
}

#[test]
fn the_command_writes_the_logits_and_reports_json() {
    let dir = common::scratch_dir("infer-cli");
    let x = subset_file(&dir, 8);
    let out = dir.join("y.npy");
    let o = systolic(&[
        "infer",
        "--model",
        "models/cnn.qop-u8.onnx",
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"], 8);
    assert_eq!(v["out_dtype"], "float32");
    assert_eq!(v["gemms"], 3);
    assert_eq!(v["layers"][1]["place"], "engine");
    let y = f32_rows(&out);
    let want = f32_rows(&root().join("models/ortref/infer/cnn.qop-u8.logits.npy"));
    assert_eq!((y.rows, y.cols), (8, 10));
    assert_eq!(y.data, want.data[..80]);
}

/// The rtl back end (the generated engine in Verilator, through its register window) on an
/// array whose sides divide none of the layers' dimensions: the logits of ONNX Runtime, bit for
/// bit, and cycle counts that the golden model cannot give.
#[test]
fn the_rtl_back_end_matches_onnx_runtime() {
    if !common::require_tool("verilator", "the_rtl_back_end_matches_onnx_runtime") {
        return;
    }
    let dir = common::scratch_dir("infer-rtl");
    let n = 12;
    let x = subset_file(&dir, n);
    for name in ["mlp.qop-pc", "cnn.qdq-u8"] {
        let out = dir.join(format!("{name}.npy"));
        let v = infer_rtl(name, &x, &out, &["--preset", "int8-3x5", "--mhz", "50"]);
        let (cycles, busy) = (v["end_to_end_cycles"].as_u64(), v["busy_cycles"].as_u64());
        assert!(
            matches!((cycles, busy), (Some(c), Some(b)) if c > b && b > 0),
            "{name}: cycles {cycles:?}, busy {busy:?}"
        );
        let ips = v["images_per_second"].as_f64().unwrap();
        let want_ips = n as f64 * 50e6 / cycles.unwrap() as f64;
        assert!(
            (ips - want_ips).abs() < 1e-6 * want_ips,
            "{name}: {ips} images/s"
        );
        assert_logits(name, &out, n, "rtl");
    }
}

/// `systolic infer --backend rtl --json` of `models/NAME.onnx` on `x` into `out` with the
/// `extra` flags; it must succeed. Its JSON report.
fn infer_rtl(name: &str, x: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let model = format!("models/{name}.onnx");
    let mut args = vec!["infer", "--model", &model, "--input", x.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap(), "--backend", "rtl", "--json"]);
    args.extend(extra);
    let o = systolic(&args);
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The first `n` rows of the logits at `out` equal ONNX Runtime's for `name`, bit for bit (the
/// first differing logit reported).
fn assert_logits(name: &str, out: &Path, n: usize, what: &str) {
    let y = f32_rows(out);
    let want = f32_rows(&root().join(format!("models/ortref/infer/{name}.logits.npy")));
    assert_eq!((y.rows, y.cols), (n, 10), "{name}");
    if let Some(i) = (0..n * 10).find(|&i| y.data[i] != want.data[i]) {
        let f = |b: i64| f32::from_bits(b as u32);
        panic!(
            "{name}: image {} logit {}: {what} {} (0x{:08x}), ONNX Runtime {} (0x{:08x})",
            i / 10,
            i % 10,
            f(y.data[i]),
            y.data[i],
            f(want.data[i]),
            want.data[i]
        );
    }
}

/// The memory path on the generated engine (4x4 int8 with its AXI4 master, the Rust slave
/// model at latency 20): every product's operands and results moved by the engine's DMA and
/// requantised by its write-back unit; ORT's logits bit for bit, and the report's per-product
/// numbers consistent with the totals.
#[test]
fn the_rtl_back_end_matches_onnx_runtime_over_the_memory_path() {
    if !common::require_tool(
        "verilator",
        "the_rtl_back_end_matches_onnx_runtime_over_the_memory_path",
    ) {
        return;
    }
    let dir = common::scratch_dir("infer-rtl-memory");
    let n = 12;
    let x = subset_file(&dir, n);
    for name in ["mlp.qop-u8", "cnn.qdq-pc"] {
        let out = dir.join(format!("{name}.npy"));
        let html = dir.join(format!("{name}.html"));
        let extra = ["--preset", "int8-4x4", "--dma", "--memory", "--report"];
        let v = infer_rtl(
            name,
            &x,
            &out,
            &[&extra[..], &[html.to_str().unwrap()]].concat(),
        );
        assert_eq!(v["path"], "memory", "{name}");
        let products = v["products"].as_array().unwrap();
        assert_eq!(products.len(), 3, "{name}");
        let sum = |key: &str| {
            products
                .iter()
                .map(|p| p[key].as_u64().unwrap())
                .sum::<u64>()
        };
        assert!(
            sum("dma_read_bytes") > 0 && sum("dma_write_bytes") > 0,
            "{name}"
        );
        assert_eq!(
            sum("dma_write_bytes"),
            v["dma_write_bytes"].as_u64().unwrap()
        );
        let (cycles, total) = (sum("cycles"), v["end_to_end_cycles"].as_u64().unwrap());
        assert!(cycles > 0 && cycles <= total, "{name}: {cycles} of {total}");
        for p in products {
            assert_eq!(p["write_back"], "activate", "{name}: {p}");
            let f = p["roofline_fraction"].as_f64().unwrap();
            assert!(f > 0.0 && f <= 1.0, "{name}: {p}");
        }
        assert_logits(name, &out, n, "rtl (memory path)");
        check_report(&dir, name, &html, products);
    }
}

/// `--report`: the HTML names each layer and the plots' axes, holds three SVG plots (cycles,
/// utilisation, roofline) and the products' cycles; rendered by headless Chromium it is not
/// blank.
fn check_report(dir: &Path, name: &str, html: &Path, products: &[serde_json::Value]) {
    let text = std::fs::read_to_string(html).unwrap();
    assert_eq!(text.matches("<svg").count(), 3, "{name}: three plots");
    for want in [
        "Cycles per layer",
        "PE utilisation (%)",
        "share of the roofline (%)",
        "achieved MACs per cycle",
        "arithmetic intensity",
    ] {
        assert!(text.contains(want), "{name}: the report names {want:?}");
    }
    for (i, p) in products.iter().enumerate() {
        let node = p["node"].as_str().unwrap();
        let short = node.split('\'').nth(1).unwrap();
        let label = format!("L{} {}", i + 1, &short[..short.len().min(18)]);
        assert!(text.contains(&label), "{name}: layer label {label:?}");
        let cycles = format!("<td>{}</td>", p["cycles"]);
        assert!(
            text.contains(&cycles),
            "{name}: {node}'s cycles in the table"
        );
    }
    if !common::require_tool(
        "chromium",
        "the_rtl_back_end_matches_onnx_runtime_over_the_memory_path",
    ) {
        return;
    }
    let png = dir.join(format!("{name}.png"));
    let (pixels, mean, var) = common::screenshot(dir, html, &png, (900, 1600));
    assert_eq!(pixels, 900 * 1600, "{name}: the window's size");
    assert!(
        var > 200.0 && mean > 100.0,
        "{name}: blank screenshot? mean {mean:.1}, variance {var:.1}"
    );
}

/// The board back end on the simulated board (the board design in Verilator, its UART pins
/// driven bit by bit): ORT's logits over the link, and the simulated cycles of the link.
#[test]
fn the_board_back_end_matches_onnx_runtime_over_the_simulated_uart() {
    if !common::require_tool("verilator", "the_board_back_end_matches_onnx_runtime") {
        return;
    }
    let dir = common::scratch_dir("infer-board");
    let n = 3;
    let x = subset_file(&dir, n);
    let name = "mlp.qdq-u8";
    let out = dir.join("y.npy");
    let model = format!("models/{name}.onnx");
    let o = systolic(&[
        "infer",
        "--model",
        &model,
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "board",
        "--sim",
        "4",
        "--preset",
        "int8-4x4",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (cycles, busy) = (v["end_to_end_cycles"].as_u64(), v["busy_cycles"].as_u64());
    assert!(
        matches!((cycles, busy), (Some(c), Some(b)) if c > 10 * b && b > 0),
        "a UART link takes far longer than the engine: cycles {cycles:?}, busy {busy:?}"
    );
    let y = f32_rows(&out);
    let want = f32_rows(&root().join(format!("models/ortref/infer/{name}.logits.npy")));
    assert_eq!((y.rows, y.cols), (n, 10));
    if let Some(i) = (0..n * 10).find(|&i| y.data[i] != want.data[i]) {
        panic!(
            "{name}: image {} logit {}: board 0x{:08x}, ONNX Runtime 0x{:08x}",
            i / 10,
            i % 10,
            y.data[i],
            want.data[i]
        );
    }
}

#[test]
fn plan_shows_the_tiles() {
    let dir = common::scratch_dir("infer-plan");
    let x = subset_file(&dir, 4);
    let o = systolic(&[
        "infer",
        "--model",
        "models/cnn.qdq.onnx",
        "--input",
        x.to_str().unwrap(),
        "--plan",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // conv2: 16 channels, K = 8 x 3 x 3, N = 4 images x 64 positions.
    assert!(text.contains("GEMM M=16 K=72 N=256"), "{text}");
    assert!(text.contains("host   MaxPool"), "{text}");
    assert!(text.contains("predicted cycles: "), "{text}");
    assert!(text.contains("not an end-to-end time"), "{text}");
}

/// The predicted cycles of one small layer, against the closed form written out here from the
/// rules in docs/architecture.md (not from the code that computes them): the MLP's last
/// QLinearMatMul (M = 10 outputs, K = 32 inputs) for N = 12 images on the 8x8 int8 preset.
#[test]
fn plan_predicts_the_cycles_of_a_small_layer() {
    let dir = common::scratch_dir("infer-plan-cycles");
    let images = 12u64;
    let x = subset_file(&dir, images as usize);
    let o = systolic(&[
        "infer",
        "--model",
        "models/mlp.qop.onnx",
        "--input",
        x.to_str().unwrap(),
        "--preset",
        "int8-8x8",
        "--plan",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    let layer = layers
        .iter()
        .find(|l| l["gemm"] == serde_json::json!([10, 32, images]))
        .expect("the last dense layer");
    // int8-8x8: rows = cols = 8, 4 PSUM banks of 256 entries. The GEMM: 2 M tiles (8 and 2
    // channels) x 4 K tiles of 8 rows x 1 N tile of 12 columns = 8 steps, each a full
    // stationary (8 rows) and 12 moving beats; both output tiles fit in distinct banks, so one
    // drain at the end, reading 12 PSUM entries of each tile.
    let (rows, cols, steps, beats, reads, read_lat) = (8u64, 8u64, 8u64, images, 2 * images, 2);
    // The first stationary loads one row per cycle (cycles 0..rows); the next ones load in the
    // background while the previous instruction streams (beats >= rows), so the moving beats
    // fire back to back from cycle `rows`: the last in `rows + steps*beats - 1`.
    let last_beat = rows + steps * beats - 1;
    // A beat fired in cycle s is written to PSUM at edge s + ROWS + COLS.
    let last_write = last_beat + rows + cols;
    // The first read fires the cycle after; a response comes 2 cycles after its request, and
    // the next request fires in the cycle of the response.
    let last_response = last_write + 1 + read_lat * reads;
    // The run ends in the cycle after the last response.
    let want = last_response + 1;
    assert_eq!(want, 169);
    assert_eq!(layer["cycles"], want, "{layer}");
    // The total is the sum over the engine layers; host layers have none.
    let sum: u64 = layers.iter().filter_map(|l| l["cycles"].as_u64()).sum();
    assert_eq!(v["cycles"]["total"], sum);
    assert!(layers
        .iter()
        .all(|l| (l["place"] == "engine") == l["cycles"].is_u64()));
    let covers = v["cycles"]["covers"].as_str().unwrap();
    assert!(covers.contains("not an end-to-end time"), "{covers}");
}

#[test]
fn unsupported_models_and_bad_inputs_are_refused_before_any_work() {
    let dir = common::scratch_dir("infer-bad");
    let x = subset_file(&dir, 2);
    let out = dir.join("y.npy");
    let cases: &[(&str, &str, &[&str])] = &[
        // The float model: its Relu is not a supported operator.
        (
            "models/mlp.float.onnx",
            x.to_str().unwrap(),
            &["Relu", "is not supported; supported are", "QLinearMatMul"],
        ),
        // An image of 64 values for a model taking 64: fine; the MLP with the labels: not float.
        (
            "models/mlp.qop.onnx",
            "models/digits_test_y.npy",
            &["--input", "digits_test_y.npy"],
        ),
        (
            "models/no-such-model.onnx",
            x.to_str().unwrap(),
            &["cannot read the model models/no-such-model.onnx"],
        ),
        (
            "models/digits_test_x.npy",
            x.to_str().unwrap(),
            &["not an ONNX model"],
        ),
    ];
    for (model, input, wants) in cases {
        let o = systolic(&[
            "infer",
            "--model",
            model,
            "--input",
            input,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{model}: {err}");
        for w in *wants {
            assert!(err.contains(w), "{model}: {w:?} not in {err}");
        }
        assert!(!out.exists(), "{model}: nothing may be written");
    }
    // An int16 engine is fine (int8 values fit); a 16-bit accumulator is not.
    let o = systolic(&[
        "infer",
        "--model",
        "models/mlp.qop.onnx",
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rows",
        "4",
        "--cols",
        "4",
        "--acc-bits",
        "16",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("accumulators of at least 32 bits"), "{err}");
    // The rtl back end's flags: refused before any build.
    let flags: &[(&[&str], &str)] = &[
        (&["--mhz", "50"], "--mhz needs --backend rtl"),
        (&["--backend", "rtl", "--mhz", "0"], "--mhz 0"),
        (&["--backend", "rtl", "--mhz", "NaN"], "--mhz NaN"),
        (&["--backend", "rtl", "--threads", "0"], "--threads 0"),
        (&["--port", "/dev/null"], "--port needs --backend board"),
        (
            &["--backend", "rtl", "--sim", "8"],
            "--sim needs --backend board",
        ),
        (
            &["--backend", "board"],
            "needs --port (a board), --sim (the simulated board) or --netlist",
        ),
        (
            &["--netlist", "runs/x", "--board", "icebreaker"],
            "--netlist needs --backend board",
        ),
        (&["--backend", "board", "--sim", "2"], "--sim 2: at least"),
        (
            &["--backend", "board", "--sim", "8", "--attempts", "0"],
            "--attempts 0",
        ),
        (
            &["--memory"],
            "--memory needs an engine with the memory path",
        ),
        (
            &["--memory", "--dma", "--backend", "board", "--sim", "8"],
            "--memory with --backend board",
        ),
        (
            &["--memory", "--dma", "--mem-latency", "0"],
            "--mem-latency 0",
        ),
        (&["--dma", "--mem-latency", "5"], "--memory"),
        (
            &["--report", "r.html"],
            "--report needs --backend rtl or board",
        ),
    ];
    for (extra, want) in flags {
        let mut a = vec!["infer", "--model", "models/mlp.qop.onnx", "--input"];
        a.extend([x.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        a.extend(extra.iter());
        let o = systolic(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {want:?} not in {err}");
        assert!(!out.exists(), "{extra:?}: nothing may be written");
    }
}

/// The board back end on a post-synthesis netlist (issue 20): `systolic synth` of the
/// iCEBreaker board top of `icebreaker-int8-4x4` at 3 Mbaud (4 clock cycles per bit at its 12
/// MHz), then `systolic infer --backend board --netlist` of mlp.qop and cnn.qop on one image
/// each through the netlist's UART pins (Yosys' iCE40 cell models, in Verilator): ORT's logits
/// bit for bit. About 7 minutes (synthesis and place and route 2, the netlist's build 1.5,
/// each model's run 1.5).
#[test]
#[ignore = "synthesis, place and route and a gate-level simulation (~7 min); scripts/test.sh --full"]
fn the_board_netlist_matches_onnx_runtime_through_its_uart() {
    use systolic::synth::tool::{locate, Tool};
    let test = "the_board_netlist_matches_onnx_runtime";
    for t in [Tool::Yosys, Tool::NextpnrIce40] {
        if let Err(e) = locate(t) {
            assert!(std::env::var_os("CI").is_none(), "{test}: {e}; CI is set");
            return eprintln!("{test}: skipped: {e}");
        }
    }
    if !common::require_tool("verilator", test) {
        return;
    }
    let dir = common::scratch_dir("infer-netlist");
    let run = dir.join("run");
    let mut a = vec!["synth", "--baud", "3000000", "--no-pack"];
    a.extend(ICEBREAKER);
    a.extend(["--out", run.to_str().unwrap()]);
    let o = systolic(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let x = subset_file(&dir, 1);
    for name in ["mlp.qop", "cnn.qop"] {
        let out = dir.join(format!("{name}.npy"));
        let v = infer_netlist(name, &x, &out, &run);
        let netlist = run.join("netlist.v").display().to_string();
        assert_eq!(v["netlist"]["netlist"], netlist.as_str());
        assert_eq!(v["netlist"]["clks_per_bit"], 4);
        eprintln!(
            "{name} through the netlist: {} board cycles, netlist built in {} s",
            v["end_to_end_cycles"], v["netlist"]["build_seconds"]
        );
        assert_logits(name, &out, 1, "netlist");
    }
}

/// The preset and board of the netlist runs.
const ICEBREAKER: [&str; 4] = ["--preset", "icebreaker-int8-4x4", "--board", "icebreaker"];

/// `systolic infer --backend board --netlist RUN --json` of `models/NAME.onnx` on `x` into
/// `out` (the iCEBreaker board top at 3 Mbaud); it must succeed. Its JSON report.
fn infer_netlist(name: &str, x: &Path, out: &Path, run: &Path) -> serde_json::Value {
    let model = format!("models/{name}.onnx");
    let mut a = vec!["infer", "--model", &model, "--input", x.to_str().unwrap()];
    a.extend([
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "board",
        "--json",
    ]);
    a.extend(ICEBREAKER);
    a.extend(["--netlist", run.to_str().unwrap(), "--baud", "3000000"]);
    let o = systolic(&a);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{name}: {err}");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The files an earlier `systolic synth --board icebreaker` of `preset` at `baud` leaves in
/// its run folder that `--netlist` checks (the generated RTL; the netlist a placeholder).
fn fake_synth_run(dir: &Path, preset: &str, baud: u32) {
    let cfg = common::preset(preset);
    let dirs = systolic::synth::constraints_dir();
    let board = systolic::synth::Board::load(&dirs, "icebreaker", None).unwrap();
    let mut o = systolic::synth::SynthOptions::new(&cfg, board, false);
    o.top = systolic::synth::SynthTop::Board;
    o.baud = baud;
    let plan = systolic::synth::flow::Plan::new(&cfg, &o).unwrap();
    std::fs::create_dir_all(dir.join("rtl")).unwrap();
    for (name, text) in plan.design.files() {
        std::fs::write(dir.join("rtl").join(name), text).unwrap();
    }
    std::fs::write(dir.join("netlist.v"), "// placeholder\n").unwrap();
}

/// `--backend board --netlist RUN_DIR`: a run folder that is missing, of another design, or of
/// this design's board top at another baud rate is refused before any work (exit status 2, the
/// flag and the folder named, the synth command that makes the right one as the hint).
#[test]
fn netlist_run_folders_of_other_designs_are_refused() {
    let dir = common::scratch_dir("infer-netlist-refused");
    let x = subset_file(&dir, 1);
    let out = dir.join("y.npy");
    let infer = |run: &Path, baud: &str| {
        let mut a = vec!["infer", "--preset", "icebreaker-int8-4x4"];
        a.extend([
            "--model",
            "models/mlp.qop.onnx",
            "--input",
            x.to_str().unwrap(),
        ]);
        a.extend(["--out", out.to_str().unwrap(), "--backend", "board"]);
        a.extend(["--netlist", run.to_str().unwrap(), "--board", "icebreaker"]);
        a.extend(["--baud", baud]);
        systolic(&a)
    };
    let (missing, other, slow) = (dir.join("none"), dir.join("other"), dir.join("slow"));
    fake_synth_run(&other, "int8-4x4", 3_000_000);
    fake_synth_run(&slow, "icebreaker-int8-4x4", 115_200);
    let cases = [
        (&missing, "not found"),
        (&other, "holds another design"),
        (&slow, "CLKS_PER_BIT   = 104"),
    ];
    for (run, want) in cases {
        let o = infer(run, "3000000");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", run.display());
        let flag = format!("error: --netlist {}: ", run.display());
        assert!(err.contains(&flag), "{flag:?} not in {err}");
        assert!(err.contains(want), "{want:?} not in {err}");
        let hint = format!(
            "hint: make it with `systolic synth --preset icebreaker-int8-4x4 --board icebreaker \
             --baud 3000000 --out {}`",
            run.display()
        );
        assert!(err.contains(&hint), "{hint:?} not in {err}");
        assert!(!out.exists(), "{}: nothing may be written", run.display());
    }
}

// ---- Paths the 24 models do not reach: uint8 weights with nonzero (per-channel) zero points
// (the per-column correction), strides and asymmetric pads, an 8-bit graph output. The expected
// values are the direct sums `sum (x - x_zp)(w - w_zp)` in i64, requantised by
// golden::requant::requantize (the write-back checked against ORT in tests/requant.rs).

mod synthetic {
    use std::collections::HashMap;

    use systolic::engine::golden::GoldenEngine;
    use systolic::golden::requant::{requantize, scale_qlinear};
    use systolic::model::onnx::{Attr, Const, Elem, Graph, Input, Node};
    use systolic::model::{self, DataPath, Output};

    fn konst(name: &str, elem: Elem, dims: &[usize], f: Vec<f32>, i: Vec<i64>) -> (String, Const) {
        let c = Const {
            name: name.into(),
            elem,
            dims: dims.to_vec(),
            f,
            i,
        };
        (name.into(), c)
    }

    fn node(op: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> Node {
        Node {
            label: format!("#0 {op}"),
            op: op.into(),
            domain: "ai.onnx".into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![format!("{op}_out")],
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    /// A small deterministic generator (xorshift).
    fn values(seed: u64, n: usize, lo: i64, hi: i64) -> Vec<i64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                lo + (s % (hi - lo + 1) as u64) as i64
            })
            .collect()
    }

    const X_SCALE: f32 = 0.0625; // a power of two: the test inputs quantise exactly
    const X_ZP: i64 = 37;

    /// Inputs whose QuantizeLinear is exactly `q` (uint8, zero point X_ZP).
    fn inputs(q: &[i64]) -> Vec<f32> {
        q.iter().map(|&v| (v - X_ZP) as f32 * X_SCALE).collect()
    }

    fn graph(dims: &[usize], nodes: Vec<Node>, consts: Vec<(String, Const)>) -> Graph {
        Graph {
            inputs: vec![Input {
                name: "x".into(),
                elem: Some(Elem::F32),
                dims: [
                    &[None][..],
                    &dims.iter().map(|&d| Some(d)).collect::<Vec<_>>(),
                ]
                .concat(),
            }],
            outputs: vec![nodes.last().unwrap().outputs[0].clone()],
            consts: consts.into_iter().collect::<HashMap<_, _>>(),
            nodes,
        }
    }

    fn common_consts() -> Vec<(String, Const)> {
        vec![
            konst("xs", Elem::F32, &[], vec![X_SCALE], vec![]),
            konst("xz", Elem::U8, &[], vec![], vec![X_ZP]),
            konst("ys", Elem::F32, &[], vec![0.37], vec![]),
            konst("yz", Elem::U8, &[], vec![], vec![101]),
        ]
    }

    #[test]
    fn uint8_weights_with_per_channel_zero_points() {
        let (k, m, batch) = (6, 5, 7);
        let w = values(1, k * m, 0, 255); // [K, M]
        let wz = values(2, m, 100, 160);
        let ws: Vec<f32> = (0..m).map(|j| 0.011 + 0.003 * j as f32).collect();
        let mut consts = common_consts();
        consts.push(konst("w", Elem::U8, &[k, m], vec![], w.clone()));
        consts.push(konst("ws", Elem::F32, &[m], ws.clone(), vec![]));
        consts.push(konst("wz", Elem::U8, &[m], vec![], wz.clone()));
        let q = node("QuantizeLinear", &["x", "xs", "xz"], &[]);
        let mm = node(
            "QLinearMatMul",
            &[
                "QuantizeLinear_out",
                "xs",
                "xz",
                "w",
                "ws",
                "wz",
                "ys",
                "yz",
            ],
            &[],
        );
        let net = model::import::import(&graph(&[k], vec![q, mm], consts)).unwrap();
        let xq = values(3, batch * k, 0, 255);
        for (path, y) in on_both_paths(&net, &inputs(&xq), batch) {
            check_matmul(&y, &xq, &w, &wz, &ws, [k, m, batch], path);
        }
    }

    /// The network on the golden int8-4x4 engine over each data path: the path and the 8-bit
    /// output. On the memory path a nonzero weight zero point sends the accumulators to the
    /// host's requantisation (checked: no product is requantised on chip).
    fn on_both_paths(net: &model::Net, x: &[f32], batch: usize) -> Vec<(DataPath, Vec<i32>)> {
        [DataPath::Register, DataPath::Memory]
            .into_iter()
            .map(|path| {
                let cfg = match path {
                    DataPath::Register => super::common::preset("int8-4x4"),
                    DataPath::Memory => super::common::with_dma(super::common::preset("int8-4x4")),
                };
                let (y, stats) = model::run(net, &mut GoldenEngine::new(&cfg), x, batch, path)
                    .unwrap_or_else(|e| panic!("{path:?} path: {e}"));
                assert!(stats.products.iter().all(|p| p.write_back == "host"));
                let Output::Q(y, _) = y else {
                    panic!("an 8-bit output")
                };
                (path, y)
            })
            .collect()
    }

    fn check_matmul(
        y: &[i32],
        xq: &[i64],
        w: &[i64],
        wz: &[i64],
        ws: &[f32],
        [k, m, batch]: [usize; 3],
        path: DataPath,
    ) {
        for b in 0..batch {
            for j in 0..m {
                let acc: i64 = (0..k)
                    .map(|i| (xq[b * k + i] - X_ZP) * (w[i * m + j] - wz[j]))
                    .sum();
                let mult = scale_qlinear(X_SCALE, ws[j], 0.37);
                let want = requantize(acc as i32, mult, 101, 0, 255);
                assert_eq!(y[b * m + j], want, "{path:?} path: image {b} channel {j}");
            }
        }
    }

    #[test]
    fn convolution_with_strides_asymmetric_pads_and_a_weight_zero_point() {
        let (c, h, wd, m, kh, kw, batch) = (2, 7, 6, 3, 3, 2, 2);
        let (stride, pads) = ([2usize, 1usize], [1usize, 0usize, 0usize, 1usize]);
        let w = values(4, m * c * kh * kw, 0, 255); // uint8 [M, C, kh, kw]
        let wz = 131;
        let mut consts = common_consts();
        consts.push(konst("w", Elem::U8, &[m, c, kh, kw], vec![], w.clone()));
        consts.push(konst("ws", Elem::F32, &[], vec![0.02], vec![]));
        consts.push(konst("wz", Elem::U8, &[], vec![], vec![wz]));
        consts.push(konst("b", Elem::I32, &[m], vec![], vec![-700, 0, 123_456]));
        let q = node("QuantizeLinear", &["x", "xs", "xz"], &[]);
        let conv = node(
            "QLinearConv",
            &[
                "QuantizeLinear_out",
                "xs",
                "xz",
                "w",
                "ws",
                "wz",
                "ys",
                "yz",
                "b",
            ],
            &[
                (
                    "strides",
                    Attr::Ints(stride.iter().map(|&v| v as i64).collect()),
                ),
                ("pads", Attr::Ints(pads.iter().map(|&v| v as i64).collect())),
            ],
        );
        let net = model::import::import(&graph(&[c, h, wd], vec![q, conv], consts)).unwrap();
        let xq = values(5, batch * c * h * wd, 0, 255);
        for (path, y) in on_both_paths(&net, &inputs(&xq), batch) {
            check_conv(
                &y,
                &xq,
                &w,
                [c, h, wd, m, kh, kw, batch],
                (stride, pads),
                path,
            );
        }
    }

    #[allow(clippy::type_complexity)]
    fn check_conv(
        y: &[i32],
        xq: &[i64],
        w: &[i64],
        [c, h, wd, m, kh, kw, batch]: [usize; 7],
        (stride, pads): ([usize; 2], [usize; 4]),
        path: DataPath,
    ) {
        let wz = 131;
        let oh = (h + pads[0] + pads[2] - kh) / stride[0] + 1;
        let ow = (wd + pads[1] + pads[3] - kw) / stride[1] + 1;
        assert_eq!(y.len(), batch * m * oh * ow);
        let bias = [-700i64, 0, 123_456];
        let mult = scale_qlinear(X_SCALE, 0.02, 0.37);
        for b in 0..batch {
            for o in 0..m {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = bias[o];
                        for ch in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (y0, x0) = (oy * stride[0] + i, ox * stride[1] + j);
                                    let v = if y0 < pads[0]
                                        || x0 < pads[1]
                                        || y0 - pads[0] >= h
                                        || x0 - pads[1] >= wd
                                    {
                                        X_ZP // padding is the input zero point: a real zero
                                    } else {
                                        xq[((b * c + ch) * h + y0 - pads[0]) * wd + x0 - pads[1]]
                                    };
                                    acc += (v - X_ZP) * (w[((o * c + ch) * kh + i) * kw + j] - wz);
                                }
                            }
                        }
                        let want = requantize(acc as i32, mult, 101, 0, 255);
                        let got = y[((b * m + o) * oh + oy) * ow + ox];
                        assert_eq!(got, want, "{path:?}: image {b} channel {o} at ({oy}, {ox})");
                    }
                }
            }
        }
    }
}

/// QLinearAdd and QuantizeLinear as `systolic infer` computes them on the host, against ONNX
/// Runtime on inputs that tell one-ulp variants apart (`models/ortref/host_op_vectors.py`, run
/// at test time through the models' venv; with `CI` set a missing Python or onnxruntime fails).
#[test]
fn host_operators_match_onnx_runtime_vectors() {
    use systolic::model::ops::{quantize, QAdd, QParams, QType};
    const TEST: &str = "host_operators_match_onnx_runtime_vectors";
    let Some(python) = common::models_python(TEST) else {
        return;
    };
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ortref/host_op_vectors.json");
    let run = Command::new(&python)
        .arg(root().join("models/ortref/host_op_vectors.py"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run host_op_vectors.py");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ints = |x: &serde_json::Value| -> Vec<i32> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_i64().unwrap() as i32)
            .collect()
    };
    let ty = |x: &serde_json::Value| match x.as_str().unwrap() {
        "int8" => QType::Int8,
        _ => QType::Uint8,
    };
    let q = |x: &serde_json::Value, s: &str, z: &str| QParams {
        scale: x[s].as_f64().unwrap() as f32,
        zp: x[z].as_i64().unwrap() as i32,
        ty: ty(&x["type"]),
    };
    let (mut checked, mut bad) = (0, Vec::new());
    for (i, case) in v["qlinear_add"].as_array().unwrap().iter().enumerate() {
        let p = QAdd {
            a: q(case, "a_scale", "a_zp"),
            b: q(case, "b_scale", "b_zp"),
            c: q(case, "c_scale", "c_zp"),
        };
        let got = p.run(&ints(&case["a"]), &ints(&case["b"]));
        let want = ints(&case["c"]);
        assert_eq!(got.len(), want.len(), "QLinearAdd case {i}");
        let n = (0..want.len()).filter(|&j| got[j] != want[j]).count();
        if n > 0 {
            bad.push(format!("QLinearAdd case {i}: {n} of {} differ", want.len()));
        }
        checked += want.len();
    }
    for (i, case) in v["quantize"].as_array().unwrap().iter().enumerate() {
        let p = q(case, "scale", "zp");
        let x = ints(&case["x_bits"]);
        let want = ints(&case["y"]);
        let n = (0..want.len())
            .filter(|&j| quantize(f32::from_bits(x[j] as u32), p) != want[j])
            .count();
        if n > 0 {
            bad.push(format!(
                "QuantizeLinear case {i}: {n} of {} differ",
                want.len()
            ));
        }
        checked += want.len();
    }
    assert!(checked > 500_000, "{checked}");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
