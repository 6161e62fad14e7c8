//! Second simulator: the hand-written, self-checking testbench `hdl/tb_core.v` run by Icarus
//! Verilog (`iverilog -g2005 -Wall`, `vvp -N`) on generated designs. The testbench computes its
//! expected PSUM contents itself, in Verilog integer arithmetic, so these tests are independent
//! of the Rust golden model and of Verilator.
//!
//! - `int8_4x4_passes`, `int8_3x5_passes`: the presets, `PASS n checks` and exit status 0.
//! - `edge_configs_pass`: 1x1, 2x3, 8x1, 1x8 arrays, int4/uint8/uint16/int16, accumulators as
//!   narrow as one product (wrapping) and 64 bits, 1/3/8 PSUM banks, depth 2.
//! - `broken_expectation_fails`: `SELF_TEST_BREAK=1` adds 1 to one expected value; the run
//!   must print `FAIL` and exit with status 1.
//! - `mutated_pe_fails`: one PE of the RTL subtracts instead of adding
//!   (`tests/common/mutation.rs`); the testbench must catch it.
//!
//! Without `iverilog`/`vvp` the tests print `skipped: ... not found` and pass, unless `CI` is
//! set, in which case they fail.

mod common;

use systolic::tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::mutation;
use systolic::config::{seeds_dir, Config, Overrides};
use systolic::generate::write_design;
use systolic::rtl::core;

const COMPILE_LIMIT: Duration = Duration::from_secs(120);
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn tools_present(test: &str) -> bool {
    common::require_tool("iverilog", test) && common::require_tool("vvp", test)
}

fn testbench() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl/tb_core.v")
}

fn scratch(tag: &str) -> PathBuf {
    common::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), tag).expect("scratch directory")
}

fn preset(name: &str) -> Config {
    Config::from_preset(&seeds_dir(), name, &Overrides::default()).expect("preset")
}

fn custom(rows: u32, cols: u32, format: &str, acc: u32, banks: u32, depth: u32) -> Config {
    Config::from_overrides(&Overrides {
        rows: Some(rows),
        cols: Some(cols),
        format: Some(format.into()),
        acc_bits: Some(acc),
        psum_banks: Some(banks),
        psum_depth: Some(depth),
        ..Overrides::default()
    })
    .expect("valid configuration")
}

/// The testbench parameters that describe `cfg`.
fn tb_params(cfg: &Config) -> Vec<(&'static str, i64)> {
    vec![
        ("ROWS", cfg.rows.into()),
        ("COLS", cfg.cols.into()),
        ("DATA_W", cfg.derived.data_w.into()),
        ("SIGNED", i64::from(cfg.format.is_signed())),
        ("ACC_W", cfg.derived.acc_w.into()),
        ("PSUM_BANKS", cfg.psum_banks.into()),
        ("PSUM_DEPTH", cfg.psum_depth.into()),
    ]
}

struct Outcome {
    /// `Some(n)` for a `PASS n checks` line.
    pass_checks: Option<u64>,
    /// The first `FAIL ...` line.
    fail_line: Option<String>,
    run: tools::ToolRun,
}

/// Compile `hdl/tb_core.v` with the design in `dir` (in its file-list order) and run it.
fn simulate(cfg: &Config, dir: &Path, extra: &[(&'static str, i64)]) -> Outcome {
    let mut params = tb_params(cfg);
    params.extend_from_slice(extra);
    let image = dir.join("tb_core.vvp");
    let mut cmd = Command::new("iverilog");
    cmd.args(["-g2005", "-Wall", "-s", "tb_core", "-o"])
        .arg(&image);
    for (name, value) in &params {
        cmd.arg(format!("-Ptb_core.{name}={value}"));
    }
    cmd.arg(testbench());
    cmd.args(common::listed_files(dir).expect("file list"));
    let compile = tools::run(&mut cmd, COMPILE_LIMIT).expect("iverilog runs");
    assert!(
        compile.success(),
        "{}: iverilog failed\n{}",
        cfg.name,
        compile.output()
    );
    // The testbench and the design must compile without a single warning: a port-width
    // mismatch between the testbench's derived widths and the top's shows up here.
    let chatter = format!("{}{}", compile.stdout, compile.stderr);
    assert!(
        chatter.trim().is_empty(),
        "{}: iverilog printed warnings\n{}",
        cfg.name,
        compile.output()
    );

    let run = tools::run(Command::new("vvp").arg("-N").arg(&image), RUN_LIMIT).expect("vvp runs");
    assert!(
        !run.timed_out,
        "{}: vvp timed out\n{}",
        cfg.name,
        run.output()
    );
    let pass_checks = run.stdout.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("PASS ")?;
        rest.strip_suffix(" checks")?.parse().ok()
    });
    let fail_line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("FAIL"))
        .map(str::to_string);
    eprintln!(
        "{} ({}, {} banks x {}): {} in {:.2?} (compile {:.2?})",
        cfg.name,
        cfg.tag(),
        cfg.psum_banks,
        cfg.psum_depth,
        pass_checks.map_or_else(
            || fail_line.clone().unwrap_or_else(|| "no verdict".into()),
            |n| format!("PASS {n} checks")
        ),
        run.elapsed,
        compile.elapsed
    );
    Outcome {
        pass_checks,
        fail_line,
        run,
    }
}

fn assert_passes(cfg: &Config, tag: &str) {
    let dir = scratch(tag);
    write_design(&core::design(cfg), &dir).expect("write design");
    let out = simulate(cfg, &dir, &[]);
    assert!(
        out.run.success() && out.fail_line.is_none(),
        "{}: the testbench failed\n{}",
        cfg.name,
        out.run.output()
    );
    let checks = out
        .pass_checks
        .unwrap_or_else(|| panic!("{}: no PASS line\n{}", cfg.name, out.run.output()));
    // Both read-back phases read at least the whole of one bank, every column.
    let floor = 2 * u64::from(cfg.cols) * u64::from(cfg.psum_depth);
    assert!(
        checks >= floor,
        "{}: only {checks} checks (expected at least {floor})\n{}",
        cfg.name,
        out.run.output()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_fails(cfg: &Config, out: &Outcome, why: &str) {
    assert!(
        out.fail_line.is_some() && out.pass_checks.is_none(),
        "{}: {why}: expected a FAIL verdict\n{}",
        cfg.name,
        out.run.output()
    );
    assert_eq!(
        out.run.status.code(),
        Some(1),
        "{}: {why}: a FAIL must exit with status 1 (vvp -N)\n{}",
        cfg.name,
        out.run.output()
    );
}

#[test]
fn int8_4x4_passes() {
    if !tools_present("int8_4x4_passes") {
        return;
    }
    assert_passes(&preset("int8-4x4"), "tb-4x4");
}

#[test]
fn int8_3x5_passes() {
    if !tools_present("int8_3x5_passes") {
        return;
    }
    assert_passes(&preset("int8-3x5"), "tb-3x5");
}

#[test]
fn edge_configs_pass() {
    if !tools_present("edge_configs_pass") {
        return;
    }
    for cfg in [
        custom(1, 1, "uint16", 32, 1, 2),
        custom(2, 3, "int4", 8, 3, 4),
        custom(8, 1, "int16", 64, 8, 2),
        custom(1, 8, "uint8", 16, 3, 16),
    ] {
        assert_passes(&cfg, &format!("tb-{}", cfg.tag()));
    }
}

#[test]
fn broken_expectation_fails() {
    if !tools_present("broken_expectation_fails") {
        return;
    }
    let cfg = preset("int8-4x4");
    let dir = scratch("tb-break");
    write_design(&core::design(&cfg), &dir).expect("write design");
    let out = simulate(&cfg, &dir, &[("SELF_TEST_BREAK", 1)]);
    assert_fails(&cfg, &out, "SELF_TEST_BREAK=1");
    let line = out.fail_line.as_deref().unwrap_or("");
    assert!(
        line.contains("column 0") && line.contains("expected"),
        "the broken value is column 0 of one address: {line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mutated_pe_fails() {
    if !tools_present("mutated_pe_fails") {
        return;
    }
    let cfg = preset("int8-3x5");
    let mut design = core::design(&cfg);
    mutation::mutate_one_pe(&mut design, 1, 2);
    let dir = scratch("tb-mutant");
    write_design(&design, &dir).expect("write the mutant");
    let out = simulate(&cfg, &dir, &[]);
    assert_fails(&cfg, &out, "PE(1, 2) subtracts");
    let _ = std::fs::remove_dir_all(&dir);
}
