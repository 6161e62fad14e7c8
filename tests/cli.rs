//! The command line as a user meets it: clear one-line errors with exit status 2 and nothing
//! written for bad input; byte-identical output for the same configuration; JSON for scripts.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn systolic(args: &[&str], seeds: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_systolic"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(s) = seeds {
        cmd.env("SYSTOLIC_SEEDS", s);
    }
    cmd.output().expect("run systolic")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_sizes_are_rejected_with_the_field_and_range_and_nothing_written() {
    let dir = common::scratch_dir("cli-bad");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--rows", "0", "--cols", "4"],
            "rows = 0 is out of range: allowed 1..=256",
        ),
        (
            &["--rows", "4", "--cols", "9999"],
            "cols = 9999 is out of range: allowed 1..=256",
        ),
        (
            &["--rows", "4", "--cols", "4", "--format", "int33"],
            "format = \"int33\"",
        ),
        (
            &["--rows", "4", "--cols", "4", "--acc-bits", "12"],
            "acc_bits = 12 is narrower than one int8 product (16 bits)",
        ),
        (
            &["--rows", "4", "--cols", "4", "--psum-depth", "100"],
            "psum_depth = 100",
        ),
        (
            &["--rows", "4", "--cols", "4", "--psum-banks", "0"],
            "psum_banks = 0",
        ),
        (&["--rows", "4"], "--rows and --cols go together"),
        (
            &["--rows", "4", "--cols", "4", "--dma", "--dma-bits", "48"],
            "dma_bits = 48 is out of range: allowed 32, 64, 128, 256 or 512",
        ),
        (
            &["--rows", "4", "--cols", "4", "--dma", "--dma-reads", "0"],
            "dma_reads = 0 is out of range: allowed 1..=64",
        ),
        (
            &["--rows", "4", "--cols", "4", "--dma-bits", "128"],
            "dma_bits = 128 is out of range: allowed none without dma = true",
        ),
        (
            &["--rows", "4", "--cols", "4", "--dma", "--format", "int4"],
            "format = int4 is out of range: allowed int8, uint8, bf16",
        ),
        (
            &["--preset", "no-such-preset"],
            "preset `no-such-preset` not found",
        ),
    ];
    for (i, (args, msg)) in cases.iter().enumerate() {
        let out = dir.join(format!("out{i}"));
        let mut a = vec!["generate"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = systolic(&a, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.lines().next().unwrap_or("").contains(msg),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint:"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "{args:?} must not write anything");
    }
}

#[test]
fn unknown_preset_keys_are_rejected() {
    let dir = common::scratch_dir("cli-seeds");
    std::fs::write(dir.join("bad.toml"), "rows = 4\ncols = 4\nrowz = 5\n").unwrap();
    let out = dir.join("out");
    let o = systolic(
        &[
            "generate",
            "--preset",
            "bad",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&dir),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rowz"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn same_config_gives_byte_identical_output_and_json() {
    let dir = common::scratch_dir("cli-det");
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        let o = systolic(
            &[
                "generate",
                "--rows",
                "3",
                "--cols",
                "7",
                "--format",
                "uint4",
                "--out",
                d.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 7);
    for n in &names {
        assert_eq!(
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
            "{n:?}"
        );
    }
    let o = systolic(
        &[
            "generate",
            "--preset",
            "int8-4x4",
            "--json",
            "--out",
            dir.join("j").to_str().unwrap(),
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON summary");
    assert_eq!(v["name"], "int8-4x4");
    let expected =
        systolic::generate::files(&systolic::rtl::core::design(&common::preset("int8-4x4"))).len();
    assert_eq!(v["files"].as_array().unwrap().len(), expected);
    assert_eq!(v["removed"].as_array().unwrap().len(), 0);

    // Regenerating over an older generation removes the module files that generation wrote
    // (listed in its files.f, with the generator's header) and the design no longer has (here
    // a made-up one), and leaves other files alone, module-like names included.
    let j = dir.join("j");
    std::fs::write(
        j.join("systolic_gone.v"),
        "// Generated by systolic 0.0.0 -- do not edit; regenerate instead.\nmodule systolic_gone; endmodule\n",
    )
    .unwrap();
    let mut list = std::fs::read_to_string(j.join("files.f")).unwrap();
    list.push_str("systolic_gone.v\n");
    std::fs::write(j.join("files.f"), list).unwrap();
    std::fs::write(j.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(
        j.join("systolic_mine.v"),
        "module systolic_mine; endmodule\n",
    )
    .unwrap();
    let o = systolic(
        &[
            "generate",
            "--preset",
            "int8-4x4",
            "--out",
            j.to_str().unwrap(),
        ],
        None,
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("removed systolic_gone.v (no longer part of the design)"),
        "{text}"
    );
    assert!(!j.join("systolic_gone.v").exists());
    assert!(j.join("notes.txt").exists());
    assert!(j.join("systolic_mine.v").exists());
}

#[test]
fn cosim_prints_a_summary_and_json() {
    if !common::require_tool("verilator", "cosim_prints_a_summary_and_json") {
        return;
    }
    let o = systolic(
        &[
            "cosim",
            "--preset",
            "int8-3x5",
            "--seed",
            "3",
            "--instructions",
            "10",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("PASS: no stalls on int8-3x5 (3x5 int8)"),
        "{text}"
    );
    assert!(
        text.contains("(= timing model)") && text.contains("utilisation"),
        "{text}"
    );
    let o = systolic(
        &[
            "cosim",
            "--preset",
            "int8-3x5",
            "--seed",
            "3",
            "--instructions",
            "10",
            "--stalls",
            "--json",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(v["pass"], true);
    assert_eq!(v["stalls"], true);
    assert!(v["cycles"].as_u64().unwrap() > 0);
    assert!(v["first_mismatch"].is_null());
}

/// `synth --pll-mhz`: a frequency the board's PLL cannot make, a PLL on a run that does not
/// place the board top, and a non-positive frequency are one-line usage errors (exit 2) with a
/// hint, before any tool runs (no FPGA tools needed); `--clock-mhz` is the same flag.
#[test]
fn synth_pll_requests_the_pll_cannot_make_are_usage_errors() {
    let dir = common::scratch_dir("cli-pll");
    let out = dir.join("run").to_string_lossy().into_owned();
    let base = ["synth", "--rows", "2", "--cols", "2", "--out", out.as_str()];
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--board", "icebreaker", "--pll-mhz", "10"],
            "error: no SB_PLL40_PAD setting reaches 10 MHz or just below from 12 MHz: it makes \
             16.125 to 270.000 MHz",
            "hint: ask for a frequency inside the range",
        ),
        (
            &["--board", "ulx3s-25f", "--clock-mhz", "5"],
            "error: no EHXPLLL setting reaches 5 MHz or just below from 25 MHz",
            "hint: ask for a frequency inside the range",
        ),
        (
            &["--board", "ice40-hx8k-breakout", "--pll-mhz", "40", "--ooc"],
            "error: --pll-mhz clocks the board top",
            "hint: leave out --ooc and --top harness",
        ),
        (
            &["--board", "icebreaker", "--pll-mhz", "0"],
            "error: --pll-mhz 0: give a positive frequency in MHz",
            "",
        ),
    ];
    for (args, error, hint) in cases {
        let mut all: Vec<&str> = base.to_vec();
        all.extend_from_slice(args);
        let o = systolic(&all, None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(error), "{args:?}: {err}");
        assert!(err.contains(hint), "{args:?}: {err}");
        assert!(!dir.join("run").exists(), "{args:?}: nothing written");
    }
}

/// `synth --verify-existing` checks the netlist an earlier run left, and only for the design
/// that run was of: a folder whose RTL carries another config hash, or no netlist, is an error
/// (exit 1) naming the folder, before any tool is looked for.
#[test]
fn synth_verify_existing_refuses_another_design_or_no_netlist() {
    let dir = common::scratch_dir("cli-verify-existing");
    let run = dir.join("run");
    let rtl = run.join("rtl").to_string_lossy().into_owned();
    let o = systolic(
        &[
            "generate",
            "--rows",
            "2",
            "--cols",
            "2",
            "--out",
            rtl.as_str(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = run.to_string_lossy().into_owned();
    let verify = |size: &str| {
        systolic(
            &[
                "synth",
                "--board",
                "ulx3s-25f",
                "--ooc",
                "--rows",
                size,
                "--cols",
                size,
                "--out",
                out.as_str(),
                "--verify-existing",
            ],
            None,
        )
    };
    let o = verify("3");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("error: {out} holds another design (config hash ")),
        "{err}"
    );
    let o = verify("2");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("error: reading {out}/netlist.v: not found")),
        "{err}"
    );
}

/// Operands A (12 x 9) and B (9 x 10) of int8 in `dir`: several tiles on a 4x4 array.
fn gemm_operands(dir: &Path) -> (String, String) {
    use systolic::npy::{Array2, Dtype};
    let m = |rows, cols| Array2 {
        dtype: Dtype::I8,
        rows,
        cols,
        data: (0..(rows * cols) as i64).map(|v| v % 7 - 3).collect(),
    };
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    systolic::npy::write(&a, &m(12, 9)).unwrap();
    systolic::npy::write(&b, &m(9, 10)).unwrap();
    (a.display().to_string(), b.display().to_string())
}

/// The stages stderr names, in order: each `NAME...` line and its `NAME: done in` line.
fn assert_stage_lines(err: &str, stages: &[&str], what: &str) {
    let lines: Vec<&str> = err.lines().collect();
    let mut at = 0;
    for s in stages {
        let open = format!("{s}...");
        let Some(i) = lines[at..].iter().position(|l| *l == open) else {
            panic!("{what}: no `{open}` line (in order): {err}");
        };
        let done = format!("{s}: done in ");
        let Some(j) = lines[at + i..].iter().position(|l| l.starts_with(&done)) else {
            panic!("{what}: `{s}` never ends: {err}");
        };
        at += i + j + 1;
    }
}

/// Progress off a terminal (stderr is a pipe here): one line when a stage begins, one when it
/// ends; with --json nothing on stderr and only the JSON report on stdout.
#[test]
fn progress_is_a_line_per_stage_off_a_terminal_and_nothing_with_json() {
    let dir = common::scratch_dir("cli-progress");
    let (a, b) = gemm_operands(&dir);
    let out = dir.join("c.npy").display().to_string();
    let files = ["--a", a.as_str(), "--b", b.as_str(), "--out", out.as_str()];
    let run = |head: &[&str], json: bool| {
        let mut args: Vec<&str> = head.iter().chain(files.iter()).copied().collect();
        if json {
            args.push("--json");
        }
        let o = systolic(&args, None);
        assert!(o.status.success(), "{head:?}: {}", stderr(&o));
        o
    };
    let check_json = |o: &Output, what: &str| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e})"));
        assert_eq!(v["c"], serde_json::json!([12, 10]), "{what}");
        assert_eq!(stderr(o), "", "{what}: stderr with --json");
    };
    let golden = ["run", "--preset", "int8-4x4", "--backend", "golden"];
    assert_stage_lines(
        &stderr(&run(&golden, false)),
        &["GEMM tile steps"],
        "golden",
    );
    check_json(&run(&golden, true), "golden --json");

    if !common::require_tool("verilator", "progress_is_a_line_per_stage") {
        return;
    }
    let rtl = ["run", "--preset", "int8-4x4", "--backend", "rtl"];
    let stages = ["Verilator build", "GEMM tile steps"];
    assert_stage_lines(&stderr(&run(&rtl, false)), &stages, "rtl");
    check_json(&run(&rtl, true), "rtl --json");
    let board = ["board", "run", "--preset", "int8-4x4", "--sim", "8"];
    let stages = ["Verilator build (simulated board)", "GEMM tile steps"];
    assert_stage_lines(&stderr(&run(&board, false)), &stages, "board --sim");
    check_json(&run(&board, true), "board --sim --json");
}

/// `run --memory`: a config without the memory path, requantisation flags without --memory or
/// with raw int32 output, an output type the engine cannot write, unreadable or mis-sized
/// --scale / --bias files: one-line usage errors (exit 2) naming the flag, nothing written.
/// Then a golden run writes C requantised and reports the memory-path figures in JSON.
#[test]
fn run_memory_flags_refuse_bad_input_and_write_nothing() {
    use systolic::npy::{Array2, Dtype};
    let dir = common::scratch_dir("cli-run-memory");
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    let m = |rows, cols| Array2 {
        dtype: Dtype::I8,
        rows,
        cols,
        data: (0..rows * cols).map(|i| (i % 7) as i64 - 3).collect(),
    };
    systolic::npy::write(&a, &m(12, 9)).unwrap();
    systolic::npy::write(&b, &m(9, 10)).unwrap();
    let vector = |name: &str, dtype, data: Vec<i64>| {
        let p = dir.join(name);
        let arr = Array2 {
            dtype,
            rows: 1,
            cols: data.len(),
            data,
        };
        systolic::npy::write(&p, &arr).unwrap();
        p.to_string_lossy().into_owned()
    };
    let bias3 = vector("bias3.npy", Dtype::I32, vec![1, 2, 3]);
    let bias_f = vector("biasf.npy", Dtype::F32, vec![0; 10]);
    let scale3 = vector("scale3.npy", Dtype::F32, vec![0x3F80_0000; 3]);
    let c = dir.join("c.npy");
    let (a, b, c_s) = (
        a.to_string_lossy().into_owned(),
        b.to_string_lossy().into_owned(),
        c.to_string_lossy().into_owned(),
    );
    let base = [
        "run",
        "--rows",
        "4",
        "--cols",
        "4",
        "--backend",
        "golden",
        "--a",
        &a,
        "--b",
        &b,
        "--out",
        &c_s,
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--memory"],
            "--memory needs an engine with the memory path",
        ),
        (&["--dma", "--relu"], "--memory"),
        (
            &[
                "--dma",
                "--memory",
                "--scale",
                "0.5",
                "--out-dtype",
                "int32",
            ],
            "--scale with --out-dtype int32",
        ),
        (
            &["--dma", "--memory", "--out-dtype", "uint8"],
            "--out-dtype: output uint8 on a int8 engine",
        ),
        (
            &["--dma", "--memory", "--scale", "no/such.npy"],
            "--scale no/such.npy: not a number",
        ),
        (
            &["--dma", "--memory", "--scale", &scale3],
            "3 values for N = 10",
        ),
        (
            &["--dma", "--memory", "--bias", &bias3],
            "3 values for N = 10",
        ),
        (
            &["--dma", "--memory", "--bias", &bias_f],
            "expected int32 values",
        ),
        (
            &["--dma", "--memory", "--mem-latency", "0"],
            "--mem-latency 0",
        ),
        (
            &["--dma", "--memory", "--zero-point", "128"],
            "--zero-point: zero point 128 is not a int8 value",
        ),
        (
            &[
                "--dma",
                "--memory",
                "--zero-point",
                "3",
                "--out-dtype",
                "int32",
            ],
            "--zero-point with --out-dtype int32",
        ),
        (
            &[
                "--dma",
                "--memory",
                "--sbuf-depth",
                "16",
                "--schedule",
                "panel",
            ],
            "too small for a panel",
        ),
    ];
    for (args, error) in cases {
        let mut all: Vec<&str> = base.to_vec();
        all.extend_from_slice(args);
        let o = systolic(&all, None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(error), "{args:?}: {err}");
        assert!(!c.exists(), "{args:?}: nothing written");
    }
    let mut all: Vec<&str> = base.to_vec();
    all.extend_from_slice(&[
        "--dma",
        "--memory",
        "--scale",
        "0.25",
        "--relu",
        "--zero-point",
        "-7",
        "--json",
        "--schedule",
        "panel",
    ]);
    let o = systolic(&all, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(v["out_dtype"], "int8");
    assert_eq!(v["schedule"], "panel");
    // 12 rows: one block of rows (Mt 12), nothing to reuse the weights for.
    assert_eq!(v["resident_weights"], false);
    assert_eq!(v["compute_bound"], 12 * 9 * 10 / 16 + 1);
    assert_eq!(v["dma_write_bytes"], 120);
    assert!(v["end_to_end_cycles"].is_null(), "golden: no clock");
    let got = systolic::npy::read(&c).expect("C written");
    assert_eq!((got.dtype, got.rows, got.cols), (Dtype::I8, 12, 10));
    // The plain product, requantised by 0.25 (round half to even) plus the zero point -7,
    // relu clamping at the zero point.
    let (am, bm) = (m(12, 9), m(9, 10));
    for i in 0..12 {
        for j in 0..10 {
            let x: i64 = (0..9)
                .map(|k| am.data[i * 9 + k] * bm.data[k * 10 + j])
                .sum();
            let want = ((x as f32 * 0.25).round_ties_even() as i64 - 7).clamp(-7, 127);
            assert_eq!(got.data[i * 10 + j], want, "C[{i}][{j}]");
        }
    }
}
