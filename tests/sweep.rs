//! `systolic sweep`: the spec (expansion, validation with file:line), the results store
//! (resume, idempotence, retry of failed points, a crashed point recorded), the local backend on
//! real 2x2 co-simulations (interrupts included), the Slurm backend on a one-node cluster
//! (scripts/slurm-cluster.sh), tables, and the HTML report rendered in headless Chromium.
//!
//! With `CI` set, a missing Verilator, Chromium or a cluster that does not start fails the
//! test; otherwise the test says it skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use systolic::sweep::point::{Context, Point, ToolVersions};
use systolic::sweep::point::{Field, Fields, JobKind};
use systolic::sweep::store::{Claim, Finish, Metrics, Status, Store};
use systolic::sweep::Spec;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_systolic")
}

fn scratch(tag: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-scratch");
    common::fresh_dir(&base, tag).expect("scratch dir")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write spec");
    p
}

fn parse(text: &str) -> Result<Spec, systolic::sweep::SpecError> {
    Spec::parse(text, Path::new("t.toml"))
}

#[test]
fn spec_expands_products_lists_and_groups() {
    let s = parse(
        r#"
job = "cosim"
[base]
rows = 2
cols = 2
[axes]
pe_latency = [1, 2]
seed = [1, 2, 3]
"#,
    )
    .unwrap();
    assert_eq!(s.points.len(), 6);
    assert_eq!(s.job, JobKind::Cosim);
    // The first axis varies slowest.
    let lat_seed: Vec<(u32, u64)> = s
        .points
        .iter()
        .map(|p| (p.config.pe_latency, p.seed.unwrap()))
        .collect();
    assert_eq!(
        lat_seed,
        vec![(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    );
    assert!(s.points.iter().enumerate().all(|(i, p)| p.index == i));

    // Tables in an axis set several fields; groups multiply with the top-level axes; a
    // duplicate point is dropped; tags fill in fields.
    let s = parse(
        r#"
job = "cosim"
[base]
tag = "{preset}-l{pe_latency}"
[axes]
target = [{ preset = "int8-4x4" }, { preset = "int8-8x8" }]
[[group]]
axes = { pe_latency = [1] }
[[group]]
axes = { pe_latency = [2, 3], seed = [5] }
[[group]]
points = [{ pe_latency = 1 }]
"#,
    )
    .unwrap();
    let got: Vec<(String, u32, u32, Option<u64>)> = s
        .points
        .iter()
        .map(|p| (p.tag.clone(), p.config.rows, p.config.pe_latency, p.seed))
        .collect();
    assert_eq!(
        got,
        vec![
            ("int8-4x4-l1".into(), 4, 1, None),
            ("int8-8x8-l1".into(), 8, 1, None),
            ("int8-4x4-l2".into(), 4, 2, Some(5)),
            ("int8-4x4-l3".into(), 4, 3, Some(5)),
            ("int8-8x8-l2".into(), 8, 2, Some(5)),
            ("int8-8x8-l3".into(), 8, 3, Some(5)),
        ]
    );
    assert_eq!(s.duplicates, 2, "the third group repeats the first");

    // A default given explicitly is the same point (same identity).
    let a = parse("job = \"cosim\"\n[base]\nrows = 2\ncols = 2\n").unwrap();
    let b =
        parse("job = \"cosim\"\n[base]\nrows = 2\ncols = 2\ninstructions = 60\nstalls = false\n")
            .unwrap();
    assert_eq!(a.points[0].identity(), b.points[0].identity());
    // Tool versions are part of the key.
    let t1 = ToolVersions {
        verilator: Some("Verilator 5.006".into()),
        ..Default::default()
    };
    let t2 = ToolVersions {
        verilator: Some("Verilator 5.020".into()),
        ..Default::default()
    };
    assert_ne!(a.points[0].key(&t1), a.points[0].key(&t2));
    assert_eq!(a.points[0].key(&t1), b.points[0].key(&t1));

    // Synth points: the flow is planned at load time; a synth spec with a gemm shape field
    // or a cosim spec with a board is refused.
    let s = parse(
        r#"
job = "synth"
[base]
rows = 2
cols = 2
ooc = true
[axes]
board = ["icebreaker", "ulx3s-85f"]
seed = [1, 2]
"#,
    )
    .unwrap();
    assert_eq!(s.points.len(), 4);
    assert_eq!(s.points[0].board(), Some("icebreaker"));
    assert!(
        s.points[3].mem_mb >= 1400,
        "an 85F place and route needs ~1.5 GB"
    );
}

/// `(line, key, message contains)` of each bad spec's error.
/// The specs in `sweeps/` load (every point resolved: configuration valid, board known, the
/// flow planned), so a change of the presets, boards or flow that breaks one fails here rather
/// than an hour into a sweep.
#[test]
fn the_specs_in_sweeps_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sweeps");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for path in names {
        let spec = Spec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!spec.points.is_empty(), "{}", path.display());
        assert_eq!(spec.duplicates, 0, "{}: duplicate points", path.display());
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(spec.name, stem, "a store row names its spec by the file");
    }
}

#[test]
fn bad_specs_name_the_key_and_the_line() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("job = \"synthesise\"\n", 1, "job", "unknown job"),
        (
            "job = \"infer\"\n[base]\npreset = \"int8-4x4\"\n",
            3,
            "model",
            "an infer point needs `model`",
        ),
        (
            "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\n[axes]\npe_latency = [1, 9]\n",
            6,
            "pe_latency",
            "out of range",
        ),
        (
            "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\nflavour = 3\n",
            5,
            "flavour",
            "unknown field",
        ),
        (
            "job = \"synth\"\n[base]\nrows = 2\ncols = 2\n",
            3,
            "board",
            "needs a board",
        ),
        (
            "job = \"synth\"\n[base]\nrows = 2\ncols = 2\n[axes]\nboard = [\"icebreaker\", \"nope\"]\n",
            6,
            "board",
            "not found",
        ),
        (
            "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\nboard = \"icebreaker\"\n",
            5,
            "board",
            "synth jobs",
        ),
        (
            "job = \"gemm-bench\"\n[base]\nrows = 2\ncols = 2\n[axes]\nshape = [\"4x4x4\", \"4x4\"]\n",
            6,
            "shape",
            "MxKxN",
        ),
        (
            "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\nseed = \"one\"\n",
            5,
            "seed",
            "whole number",
        ),
        ("job = \"cosim\"\n[axes]\nseed = []\n", 3, "seed", "at least one"),
        ("job = \"cosim\"\n\n[base\nrows = 2\n", 3, "base", ""),
        ("job = \"cosim\"\nmystery = 1\n", 2, "mystery", "unknown field"),
        (
            "job = \"cosim\"\n[slurm]\npartition = 3\n",
            2,
            "slurm",
            "invalid type",
        ),
        (
            "job = \"cosim\"\n[base]\nrows = 2\n",
            3,
            "cols",
            "go together",
        ),
    ];
    for (text, line, key, what) in cases {
        let e = parse(text).expect_err(text);
        assert_eq!(
            (e.line, e.key.as_str()),
            (*line, *key),
            "spec {text:?}: {e}"
        );
        assert!(e.message.contains(what), "spec {text:?}: {e}");
        assert_eq!(e.file, "t.toml");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

#[test]
fn a_bad_spec_exits_2_before_anything_runs() {
    let dir = scratch("sweep-bad");
    let spec = write(
        &dir,
        "bad.toml",
        "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\n[axes]\nseed = [1, 2]\npsum_depth = [16, 3]\n",
    );
    let out = Command::new(exe())
        .args(["sweep"])
        .arg(&spec)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("bad.toml:7: psum_depth: psum_depth = 3 is out of range"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(!dir.join("bad.sqlite").exists(), "no store is created");
    assert!(!dir.join("runs").exists(), "nothing ran");
}

/// `infer` points: a network's outputs against a reference, bit for bit, and top-1 against
/// labels; a point whose reference differs fails with the first differing value. The golden
/// back end (no Verilator): the rtl back end runs in `sweeps/infer-digits.toml` and
/// `tests/infer.rs`.
#[test]
fn infer_points_compare_with_their_reference_and_score_top1() {
    let dir = scratch("sweep-infer");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let m = |p: &str| root.join(p).display().to_string();
    let spec = write(
        &dir,
        "infer.toml",
        &format!(
            "job = \"infer\"\njobs = 1\n[base]\npreset = \"int8-4x4\"\nbackend = \"golden\"\n\
             input = \"{}\"\nlabels = \"{}\"\nimages = 30\nmodel = \"{}\"\n\
             [axes]\nreference = [\"{}\", \"{}\"]\n",
            m("models/digits_test_x.npy"),
            m("models/digits_test_y.npy"),
            m("models/mlp.qop.onnx"),
            m("models/ortref/infer/mlp.qop.logits.npy"),
            m("models/ortref/infer/cnn.qop.logits.npy"),
        ),
    );
    let out = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one point fails: {stderr}");
    let rows = rows(&spec);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (good, bad) = (&rows[0], &rows[1]);
    assert_eq!(good["status"], "done", "{good:?}");
    assert_eq!(good["result"]["matches_reference"], true, "{good:?}");
    assert_eq!(good["result"]["images"], 30);
    // Top-1 of ORT's logits on the first 30 images, counted here.
    let ort = systolic::npy::read(&root.join("models/ortref/infer/mlp.qop.logits.npy")).unwrap();
    let labels = systolic::npy::read_vector(&root.join("models/digits_test_y.npy")).unwrap();
    let right = (0..30)
        .filter(|&i| {
            let row: Vec<f32> = (0..10)
                .map(|j| f32::from_bits(ort.data[i * 10 + j] as u32))
                .collect();
            let best = (0..10).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            best as i64 == labels.data[i]
        })
        .count();
    let top1 = good["result"]["top1"].as_f64().unwrap();
    assert!(
        right < 30,
        "the subset should have a miss to tell counts apart"
    );
    assert!(
        (top1 - right as f64 / 30.0).abs() < 1e-9,
        "top-1 {top1}, ORT {right}/30"
    );
    assert_eq!(bad["status"], "failed", "{bad:?}");
    assert_eq!(bad["result"]["matches_reference"], false, "{bad:?}");
    let reason = bad["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("output differs from the reference: image 0 value 0"),
        "{reason}"
    );
    // An engine with the memory path runs the network over it, bit-exact too.
    let spec = write(
        &dir,
        "infer-memory.toml",
        &format!(
            "job = \"infer\"\njobs = 1\n[base]\npreset = \"int8-4x4\"\ndma = true\n\
             backend = \"golden\"\ninput = \"{}\"\nimages = 30\nmodel = \"{}\"\n\
             reference = \"{}\"\n",
            m("models/digits_test_x.npy"),
            m("models/mlp.qop.onnx"),
            m("models/ortref/infer/mlp.qop.logits.npy"),
        ),
    );
    let out = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let memory = self::rows(&spec);
    let r = &memory[0]["result"];
    assert_eq!(r["path"], "memory", "{r}");
    assert_eq!(r["matches_reference"], true, "{r}");
    // The logits: 30 images x 10 classes, stored by the engine's DMA as int8.
    assert_eq!(r["dma_write_bytes"], 30 * (64 + 32 + 10), "{r}");
    // Fields of infer points: required, typed, and refused on other jobs.
    for (text, want) in [
        (
            "job = \"infer\"\n[base]\npreset = \"int8-4x4\"\n",
            "needs `model`",
        ),
        (
            "job = \"cosim\"\n[base]\npreset = \"int8-4x4\"\nmodel = \"m.onnx\"\n",
            "`model` is not a field of job `cosim`",
        ),
    ] {
        let e = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(want), "{want:?} not in {e:?}");
    }
}

fn fields(pairs: &[(&str, toml::Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Field {
                    value: v.clone(),
                    line: 1,
                },
            )
        })
        .collect()
}

#[test]
fn store_recovers_points_whose_worker_is_gone_and_retries_failed_ones() {
    let dir = scratch("sweep-store");
    let store = Store::open(&dir.join("s.sqlite")).unwrap();
    let ctx = Context::new();
    let tools = ToolVersions {
        verilator: Some("Verilator test".into()),
        ..Default::default()
    };
    let mut keys = vec![];
    for seed in 1..=3 {
        let f = fields(&[
            ("rows", 2.into()),
            ("cols", 2.into()),
            ("seed", toml::Value::Integer(seed)),
        ]);
        let mut p = Point::resolve(JobKind::Cosim, &f, &ctx).unwrap();
        p.index = seed as usize - 1;
        let k = p.key(&tools);
        assert_eq!(store.plan("t", &p, &k, &tools).unwrap(), Status::Pending);
        keys.push(k);
    }
    // Planning again changes nothing (idempotent).
    assert_eq!(store.counts(&keys).unwrap(), [3, 0, 0, 0]);
    // Point 0: claimed by a process of this host that no longer exists (a crashed sweep).
    let dead = Claim {
        host: systolic::sweep::store::hostname(),
        pid: 999_999_999,
        ..Default::default()
    };
    assert!(store.claim(&keys[0], &dead, false).unwrap());
    assert!(
        !store.claim(&keys[0], &dead, false).unwrap(),
        "claimed once"
    );
    // Point 1: claimed by this (live) process: left alone.
    let live = Claim::this_process();
    assert!(store.claim(&keys[1], &live, false).unwrap());
    assert_eq!(store.counts(&keys).unwrap(), [1, 2, 0, 0]);
    let reset = store.recover(&keys, &|_, _| false).unwrap();
    assert_eq!(reset, vec![keys[0].clone()]);
    assert_eq!(store.status(&keys[0]).unwrap(), Some(Status::Pending));
    assert_eq!(store.status(&keys[1]).unwrap(), Some(Status::Running));
    // A Slurm task that left the queue: its row is pending again.
    let task = Claim {
        host: "elsewhere".into(),
        pid: 1,
        slurm_job: Some("42".into()),
        slurm_task: Some(0),
    };
    assert!(store.claim(&keys[2], &task, false).unwrap());
    assert!(store
        .recover(&keys, &|j, t| j == "41" && t == Some(0))
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .recover(&keys, &|j, t| j == "42" && t == Some(0))
            .unwrap(),
        vec![keys[2].clone()]
    );
    // The live claim finishes; a write by a worker whose claim was taken back is refused.
    let m = Metrics {
        cycles: Some(100),
        ..Default::default()
    };
    assert!(!store
        .finish(
            &keys[1],
            live.pid + 1,
            &Finish {
                status: Status::Done,
                reason: None,
                metrics: &m,
                wall_s: 1.0,
                result: &Value::Null
            }
        )
        .unwrap());
    assert!(store
        .finish(
            &keys[1],
            live.pid,
            &Finish {
                status: Status::Failed,
                reason: Some("boom"),
                metrics: &m,
                wall_s: 1.0,
                result: &Value::Null
            }
        )
        .unwrap());
    // A failed point is not claimed again unless retried.
    assert!(!store.claim(&keys[1], &live, false).unwrap());
    assert_eq!(store.retry_failed(&keys).unwrap(), 1);
    assert!(store.claim(&keys[1], &live, false).unwrap());
    assert!(store
        .finish(
            &keys[1],
            live.pid,
            &Finish {
                status: Status::Done,
                reason: None,
                metrics: &m,
                wall_s: 1.0,
                result: &Value::Null
            }
        )
        .unwrap());
    // Done is final: neither claimed nor failed afterwards.
    assert!(!store.claim(&keys[1], &live, true).unwrap());
    assert!(!store.fail(&keys[1], "late").unwrap());
    assert_eq!(store.counts(&keys).unwrap(), [2, 0, 1, 0]);
    // Another connection sees the same (WAL; several processes share the file).
    let other = Store::open(&dir.join("s.sqlite")).unwrap();
    assert_eq!(other.counts(&keys).unwrap(), [2, 0, 1, 0]);
}

/// The store's rows of `spec` as JSON (`--table --json`).
fn rows(spec: &Path) -> Vec<Value> {
    let out = Command::new(exe())
        .args(["sweep"])
        .arg(spec)
        .args(["--table", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn row_with<'a>(rows: &'a [Value], col: &str, v: i64) -> &'a Value {
    rows.iter()
        .find(|r| r[col].as_i64() == Some(v))
        .unwrap_or_else(|| panic!("no row with {col} = {v}: {rows:?}"))
}

/// A sweep process in `dir` with its own Verilator cache.
fn start_sweep(spec: &Path, cache: &Path, extra: &[&str]) -> Child {
    Command::new(exe())
        .arg("sweep")
        .arg(spec)
        .args(extra)
        .env("SYSTOLIC_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 120 s) until the point with `psum_depth` is running; returns its worker pid.
fn wait_running(store: &Path, psum_depth: u32) -> i32 {
    let t = Instant::now();
    loop {
        if let Ok(s) = Store::open(store) {
            if let Ok(rows) = s.rows(None) {
                if let Some(r) = rows.iter().find(|r| {
                    r.status == "running" && r.u64("psum_depth") == Some(u64::from(psum_depth))
                }) {
                    return r.u64("pid").unwrap() as i32;
                }
            }
        }
        assert!(t.elapsed() < Duration::from_secs(120), "point never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish(child: Child) -> (Option<i32>, String, String) {
    let out: Output = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn interrupt(pid: u32) {
    // SAFETY: a signal to a child process of this test.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
}

#[test]
fn local_backend_resumes_interrupts_and_records_a_crashed_point() {
    if !common::require_tool("verilator", "local_backend") {
        return;
    }
    let dir = scratch("sweep-local");
    // Two 2x2 cores that differ in their PSUM depth: two Verilator builds, one point each
    // (the build is what the interrupts below land in; a fresh cache makes it take seconds).
    let spec = write(
        &dir,
        "local.toml",
        "job = \"cosim\"\njobs = 1\n[base]\nrows = 2\ncols = 2\ninstructions = 8\n[axes]\npsum_depth = [16, 32]\n",
    );
    let store = dir.join("local.sqlite");
    let cache = dir.join("cache");
    let t0 = Instant::now();

    // 1. One Ctrl-C while the first point builds: it finishes, the second never starts.
    let child = start_sweep(&spec, &cache, &[]);
    wait_running(&store, 16);
    interrupt(child.id());
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("letting the 1 running point(s) finish"),
        "{err}"
    );
    let r = rows(&spec);
    assert_eq!(row_with(&r, "psum_depth", 16)["status"], "done", "{r:?}");
    assert_eq!(row_with(&r, "psum_depth", 32)["status"], "pending");
    let first_done = row_with(&r, "psum_depth", 16)["finished"].clone();

    // 2. Two Ctrl-Cs while the second builds: it is killed and pending again.
    let child = start_sweep(&spec, &cache, &[]);
    let worker = wait_running(&store, 32);
    interrupt(child.id());
    std::thread::sleep(Duration::from_millis(300));
    interrupt(child.id());
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("killing the 1 running point(s)"), "{err}");
    assert!(
        !systolic::sweep::store::process_alive(worker),
        "the worker is gone"
    );
    let r = rows(&spec);
    let p32 = row_with(&r, "psum_depth", 32);
    assert_eq!(p32["status"], "pending", "{p32:?}");
    assert_eq!(p32["attempts"], 1);
    assert_eq!(row_with(&r, "psum_depth", 16)["finished"], first_done);

    // 3. The worker crashes (killed, as the OOM killer would): the point is failed with the
    //    reason, the sweep goes on and exits 1.
    let child = start_sweep(&spec, &cache, &[]);
    let worker = wait_running(&store, 32);
    // SAFETY: the worker leads its own process group; kill it and its compiler.
    unsafe {
        libc::kill(-worker, libc::SIGKILL);
    }
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    let r = rows(&spec);
    let p32 = row_with(&r, "psum_depth", 32);
    assert_eq!(p32["status"], "failed");
    assert!(
        p32["reason"].as_str().unwrap().contains("signal 9"),
        "{p32:?}"
    );

    // 4. Again: nothing to run (done stays done, failed stays failed).
    let (code, _, err) = finish(start_sweep(&spec, &cache, &[]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("0 to run"), "{err}");
    let r2 = rows(&spec);
    assert_eq!(r2, r, "no row changed");

    // 5. --retry-failed runs the failed point only.
    let (code, stdout, err) = finish(start_sweep(&spec, &cache, &["--retry-failed", "--json"]));
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&stdout).expect("--json prints JSON only");
    assert_eq!(v["counts"]["done"], 2);
    let r = rows(&spec);
    let p32 = row_with(&r, "psum_depth", 32);
    assert_eq!(p32["status"], "done", "{p32:?}");
    assert_eq!(p32["attempts"], 3);
    assert!(p32["cycles"].as_u64().unwrap() > 0);
    assert!(p32["result"]["pass"].as_bool().unwrap());
    assert_eq!(row_with(&r, "psum_depth", 16)["finished"], first_done);
    assert_eq!(row_with(&r, "psum_depth", 16)["attempts"], 1);
    eprintln!("local backend test: {:.1} s", t0.elapsed().as_secs_f64());
}

fn cluster_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-cluster.sh")
}

#[test]
fn slurm_backend_runs_points_as_array_tasks() {
    if !common::require_tool("verilator", "slurm_backend") {
        return;
    }
    let t0 = Instant::now();
    let was_running = Command::new(cluster_script())
        .arg("status")
        .output()
        .is_ok_and(|o| o.status.success());
    let start = Command::new(cluster_script())
        .arg("start")
        .output()
        .unwrap();
    if !start.status.success() {
        let msg = format!(
            "slurm_backend: the cluster did not start: {}",
            String::from_utf8_lossy(&start.stderr)
        );
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("{msg}\nslurm_backend: skipped");
        return;
    }
    let conf = String::from_utf8_lossy(&start.stdout)
        .trim()
        .trim_start_matches("export SLURM_CONF=")
        .to_string();
    let dir = scratch("sweep-slurm");
    // Four 2x2 co-simulations in arrays of at most 3 tasks: two arrays (0-2 and 0-0).
    let spec = write(
        &dir,
        "slurm.toml",
        "job = \"cosim\"\n[base]\nrows = 2\ncols = 2\ninstructions = 8\n[axes]\nseed = [1, 2, 3, 4]\n[slurm]\narray_size = 3\ntime = \"10\"\n",
    );
    let out = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .args(["--backend", "slurm", "--mem", "500M"])
        .env("SLURM_CONF", &conf)
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let r = rows(&spec);
    if !was_running {
        let _ = Command::new(cluster_script()).arg("stop").output();
    }
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("submitted Slurm job").count(), 2, "{err}");
    assert_eq!(r.len(), 4);
    let mut tasks: Vec<(u64, u64)> = r
        .iter()
        .map(|row| {
            assert_eq!(row["status"], "done", "{row:?}");
            (
                row["slurm_job"]
                    .as_str()
                    .and_then(|j| j.parse().ok())
                    .expect("a Slurm job id"),
                row["slurm_task"]
                    .as_u64()
                    .expect("SLURM_ARRAY_TASK_ID recorded"),
            )
        })
        .collect();
    tasks.sort();
    let jobs: std::collections::BTreeSet<u64> = tasks.iter().map(|t| t.0).collect();
    assert_eq!(jobs.len(), 2, "{tasks:?}");
    let ids: Vec<u64> = tasks.iter().map(|t| t.1).collect();
    assert_eq!(ids, vec![0, 1, 2, 0], "{tasks:?}");
    eprintln!("slurm backend test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// A done row for `point`, written through the store's own API with these measurements.
fn put_done(store: &Store, spec: &str, p: &Point, m: &Metrics) {
    let tools = ToolVersions {
        yosys: Some("Yosys test".into()),
        nextpnr: Some("nextpnr test".into()),
        verilator: Some("Verilator test".into()),
    };
    let k = p.key(&tools);
    store.plan(spec, p, &k, &tools).unwrap();
    let c = Claim::this_process();
    assert!(store.claim(&k, &c, false).unwrap());
    assert!(store
        .finish(
            &k,
            c.pid,
            &Finish {
                status: Status::Done,
                reason: None,
                metrics: m,
                wall_s: 10.0,
                result: &Value::Null
            }
        )
        .unwrap());
}

fn synth_point(board: &str, lat: i64, seed: i64, index: usize) -> Point {
    let f = fields(&[
        ("rows", 2.into()),
        ("cols", 2.into()),
        ("ooc", true.into()),
        ("board", board.into()),
        ("pe_latency", lat.into()),
        ("seed", seed.into()),
    ]);
    let mut p = Point::resolve(JobKind::Synth, &f, &Context::new()).unwrap();
    p.index = index;
    p
}

/// A store holding synth points on two devices (three seeds per configuration) and
/// gemm-bench points, with made-up measurements; its spec file (named `rep`).
fn report_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let spec = write(
        dir,
        "rep.toml",
        "job = \"synth\"\n[base]\nrows = 2\ncols = 2\nooc = true\nboard = \"icebreaker\"\n",
    );
    let store_path = dir.join("rep.sqlite");
    let store = Store::open(&store_path).unwrap();
    // (board, pe_latency, seed, fmax, lut4, logic used)
    let runs: &[(&str, i64, i64, f64, u64, u64)] = &[
        ("icebreaker", 1, 1, 50.0, 401, 1000),
        ("icebreaker", 1, 2, 60.0, 402, 1010),
        ("icebreaker", 1, 3, 55.0, 403, 1020),
        ("icebreaker", 2, 1, 70.0, 501, 1200),
        ("icebreaker", 2, 2, 80.0, 502, 1210),
        ("icebreaker", 2, 3, 65.0, 503, 1190),
        ("ulx3s-25f", 1, 1, 90.0, 301, 700),
        ("ulx3s-25f", 1, 2, 95.0, 302, 720),
    ];
    for (i, &(board, lat, seed, fmax, lut4, used)) in runs.iter().enumerate() {
        let ice = board == "icebreaker";
        let m = Metrics {
            family: Some(if ice { "ice40" } else { "ecp5" }.into()),
            device_name: Some(if ice { "up5k" } else { "25k" }.into()),
            multipliers: Some("lut".into()),
            lut4: Some(lut4),
            ff: Some(100),
            dsp: Some(0),
            bram: Some(2),
            logic_used: Some(used),
            logic_available: Some(if ice { 5280 } else { 24288 }),
            fmax_mhz: Some(fmax),
            gops: Some(2.0 * 4.0 * fmax / 1000.0),
            yosys_s: Some(5.0),
            nextpnr_s: Some(20.0),
            critical_path: Some("u_core.beat_TRELLIS_FF -> u_core.early".into()),
            ..Default::default()
        };
        put_done(&store, "rep", &synth_point(board, lat, seed, i), &m);
    }
    for (i, (shape, util)) in [("8x8x8", 0.25), ("16x16x64", 0.6), ("4x4x4", 0.1)]
        .iter()
        .enumerate()
    {
        let f = fields(&[
            ("rows", 2.into()),
            ("cols", 2.into()),
            ("shape", (*shape).into()),
        ]);
        let mut p = Point::resolve(JobKind::GemmBench, &f, &Context::new()).unwrap();
        p.index = 20 + i;
        let m = Metrics {
            cycles: Some(1000),
            macs: Some(100),
            utilisation: Some(*util),
            ..Default::default()
        };
        put_done(&store, "rep", &p, &m);
    }
    (spec, store_path)
}

#[test]
fn table_gives_the_median_seed_and_the_range() {
    let dir = scratch("sweep-table");
    let (spec, store) = report_fixture(&dir);
    let out = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .arg("--store")
        .arg(&store)
        .arg("--table")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pe_latency 1 on the UP5K: seeds at 50, 60, 55 MHz: the median run is seed 3 (LUT4 403),
    // 2 x 4 PEs x 55 MHz = 0.44 GOPS.
    assert!(
        text.contains("| iCE40 UP5K | int8 2x2 | 1 | lut | 403 | 100 | 0 | 2 | 1,020 / 5,280 | 55.0 (50.0-60.0, 3) | 0.44 | 5 + 20 | beat -> u_core.early |")
            || text.contains("| iCE40 UP5K | int8 2x2 | 1 | lut | 403 | 100 | 0 | 2 | 1,020 / 5,280 | 55.0 (50.0-60.0, 3) | 0.44 | 5 + 20 | beat -> early |"),
        "{text}"
    );
    // pe_latency 2: 70, 80, 65: median 70 (seed 1, LUT4 501).
    assert!(
        text.contains("| 501 |") && text.contains("| 70.0 (65.0-80.0, 3) | 0.56 |"),
        "{text}"
    );
    // Two seeds: the lower middle one (90 MHz).
    assert!(
        text.contains("| ECP5 25F | int8 2x2 | 1 | lut | 301 |"),
        "{text}"
    );
    assert!(text.contains("| 90.0 (90.0-95.0, 2) |"), "{text}");
    // Simulation points, one line each.
    assert!(
        text.contains("| 16x16x64 | done | 1,000 | 100 | 60.0% |"),
        "{text}"
    );
    let csv = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .arg("--store")
        .arg(&store)
        .args(["--table", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(
        csv.contains(
            "iCE40 UP5K,int8 2x2,1,lut,403,100,0,2,\"1,020 / 5,280\",\"55.0 (50.0-60.0, 3)\",0.44"
        ),
        "{csv}"
    );
}

#[test]
fn report_path_is_checked_before_the_store_is_read() {
    let dir = scratch("sweep-report-path");
    let (spec, store) = report_fixture(&dir);
    let report = |to: &Path| {
        Command::new(exe())
            .arg("sweep")
            .arg(&spec)
            .arg("--store")
            .arg(&store)
            .arg("--report")
            .arg(to)
            .output()
            .unwrap()
    };
    // A folder: a usage error naming the flag and the path, nothing written in it.
    let out = report(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--report") && err.contains("is a directory"),
        "{err}"
    );
    // A missing folder: the same.
    let out = report(&dir.join("no-such-folder").join("r.html"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    // A FIFO is written through, not replaced: the page arrives at its reader.
    let fifo = dir.join("report.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // The reader gives up after a minute (a FIFO replaced by a file would leave it waiting).
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || tx.send(std::fs::read_to_string(fifo).unwrap()));
    }
    let out = report(&fifo);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the report reached the FIFO's reader");
    assert!(
        page.contains("<svg") && page.contains("Pareto front"),
        "{page:.200}"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn report_plots_render_in_headless_chromium() {
    let dir = scratch("sweep-report");
    let (spec, store) = report_fixture(&dir);
    let html = dir.join("report.html");
    let out = Command::new(exe())
        .arg("sweep")
        .arg(&spec)
        .arg("--store")
        .arg(&store)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "--report alone prints nothing on stdout"
    );
    let text = std::fs::read_to_string(&html).unwrap();
    for name in [
        "logic cells used (placed)",
        "GOPS (2 x PEs x Fmax)",
        "Fmax (MHz)",
        "utilisation (%)",
        "GEMM shape M x K x N (by MACs)",
        "iCE40 UP5K: GOPS against logic cells",
        "ECP5 25F: GOPS against logic cells",
        "Pareto front",
    ] {
        assert!(text.contains(name), "the report names {name:?}");
    }
    assert_eq!(
        text.matches("<svg").count(),
        4,
        "two Pareto plots, Fmax, utilisation"
    );
    if !common::require_tool("chromium", "report_plots_render") {
        return;
    }
    let png = dir.join("report.png");
    let (pixels, mean, var) = common::screenshot(&dir, &html, &png, (1000, 1400));
    assert_eq!(pixels, 1000 * 1400, "the window's size");
    // A blank page is one colour (variance 0); the plots' dots, lines and text are not.
    assert!(
        var > 200.0,
        "blank screenshot? mean {mean:.1}, variance {var:.1}"
    );
    assert!(mean > 100.0, "mostly white paper expected, mean {mean:.1}");
}
