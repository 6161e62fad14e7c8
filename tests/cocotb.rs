//! The cocotb test bench (`cocotb/`, run by `scripts/cocotb.sh`): the reference GEMM tests of
//! the generated int8-4x4 engine over its AXI4-Lite port and the bare core's valid/ready test,
//! under Icarus Verilog, written from docs/registers.md, docs/isa.md and docs/architecture.md
//! and compared with NumPy. The same run with a bug planted in the generated engine (its
//! PSUM_DATA window answering the neighbouring column) must fail.
//!
//! Needs python3 (the script installs cocotb/requirements.txt into `.venv-cocotb/` once per
//! checkout) and iverilog; with `CI` set a missing one fails the test.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const TEST: &str = "cocotb";

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cocotb.sh")
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether the tools are there (CI rule), and the venv installed once for both tests (two
/// scripts creating it at the same time would race).
fn ready() -> bool {
    static INSTALL: OnceLock<Result<(), String>> = OnceLock::new();
    if !common::require_tool("python3", TEST) || !common::require_tool("iverilog", TEST) {
        return false;
    }
    let r = INSTALL.get_or_init(|| {
        let out = Command::new("bash")
            .arg(script())
            .arg("--install-only")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out))
        }
    });
    if let Err(e) = r {
        panic!("{TEST}: installing cocotb/requirements.txt failed:\n{e}");
    }
    true
}

fn run(plant: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .env("SYSTOLIC_BIN", env!("CARGO_BIN_EXE_systolic"))
        .env_remove("SYSTOLIC_COCOTB_PRESET")
        .env_remove("SYSTOLIC_COCOTB_KEEP")
        .stdin(Stdio::null());
    match plant {
        Some(p) => cmd.env("SYSTOLIC_COCOTB_PLANT", p),
        None => cmd.env_remove("SYSTOLIC_COCOTB_PLANT"),
    };
    cmd.output().expect("run scripts/cocotb.sh")
}

/// The runner's closing line `cocotb: N passed, M failed`.
fn counts(out: &Output) -> Option<(u32, u32)> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with("cocotb: "))?;
    let mut nums = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??))
}

/// Every test of the bench (7 engine tests, 1 core test) passes.
#[test]
fn reference_tests_pass_under_icarus() {
    if !ready() {
        return;
    }
    let out = run(None);
    assert!(
        out.status.success(),
        "scripts/cocotb.sh failed:\n{}",
        text(&out)
    );
    assert_eq!(counts(&out), Some((8, 0)), "{}", text(&out));
}

/// With the PSUM_DATA window answering column c^1, the tests with a random GEMM fail (the run
/// exits non-zero), and the ones that cannot see it (encoding, identity, the core, and the
/// extremes, whose columns are all equal) still pass.
#[test]
fn planted_psum_column_bug_fails_the_gemm_tests() {
    if !ready() {
        return;
    }
    let out = run(Some("psum-column"));
    assert!(
        !out.status.success(),
        "the planted bug went unnoticed:\n{}",
        text(&out)
    );
    assert_eq!(counts(&out), Some((4, 4)), "{}", text(&out));
    let all = text(&out);
    for t in [
        "gemm_one_tile",
        "gemm_partial_tile",
        "gemm_k_tiles_accumulate",
        "error_then_clear",
    ] {
        assert!(
            all.lines()
                .any(|l| l.contains(&format!("test_engine.{t} ")) && l.contains("FAIL")),
            "{t} did not fail:\n{}",
            text(&out)
        );
    }
}
