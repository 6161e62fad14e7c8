//! Formal proofs of formal/ through `scripts/formal.sh` (SymbiYosys, yices, ABC's PDR; see
//! docs/verification.md), and the register table the AXI4-Lite checker decodes from.
//!
//! The proofs that take under 2 minutes on the 2-core machine run always; the others (the
//! core miters, the planted bugs) only with `SYSTOLIC_FULL=1`. A missing tool fails the test
//! when `CI` is set and skips it otherwise (scripts/fpga-tools.sh --formal installs them).
//! One proof at a time: the tests share a lock, the script runs its proofs in sequence.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use systolic::regs::{Access, REGISTERS, WINDOWS};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn full() -> bool {
    std::env::var("SYSTOLIC_FULL").is_ok_and(|v| v == "1")
}

/// Runs `scripts/formal.sh ARGS`; returns its table of results (name, result), or None when a
/// tool is missing outside CI.
fn formal(args: &[&str]) -> Option<Vec<(String, String)>> {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("bash")
        .arg(root().join("scripts/formal.sh"))
        .args(args)
        .env("SYSTOLIC_BIN", env!("CARGO_BIN_EXE_systolic"))
        .output()
        .expect("bash runs scripts/formal.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    if out.status.code() == Some(3) {
        assert!(
            std::env::var_os("CI").is_none(),
            "formal tools missing with CI set: {stderr}"
        );
        eprintln!("skipped: formal tools missing ({})", stderr.trim());
        return None;
    }
    let results = std::fs::read_to_string(root().join("target/formal/results.tsv"))
        .expect("scripts/formal.sh writes target/formal/results.tsv");
    let rows: Vec<(String, String)> = results
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect();
    assert!(
        out.status.success(),
        "scripts/formal.sh {args:?} failed:\n{stdout}"
    );
    Some(rows)
}

/// Every named proof ran and passed.
fn proves(names: &[&str]) {
    let Some(rows) = formal(names) else { return };
    for n in names {
        let r = rows.iter().find(|(name, _)| name == n);
        assert_eq!(
            r.map(|(_, res)| res.as_str()),
            Some("PASS"),
            "proof {n}: {rows:?}"
        );
    }
}

#[test]
fn register_table_of_the_checker_matches_the_register_map() {
    let text = std::fs::read_to_string(root().join("formal/regmap.vh")).expect("formal/regmap.vh");
    let mut regs = vec![];
    let mut windows = vec![];
    for line in text.lines() {
        let Some((code, comment)) = line.split_once("//") else {
            continue;
        };
        let words: Vec<&str> = comment.split_whitespace().collect();
        let value = || {
            let hex = code.split("32'h").nth(1).expect("a 32'h constant");
            u32::from_str_radix(hex.trim_end_matches([';', ' ']), 16).expect("hex")
        };
        match words.first() {
            Some(&"REG") => regs.push((words[1].to_string(), value(), words[2].to_string())),
            Some(&"WINDOW") => windows.push((words[1].to_string(), value(), words[2].to_string())),
            _ => {}
        }
    }
    let expect_regs: Vec<_> = REGISTERS
        .iter()
        .map(|r| (r.name.to_string(), r.offset, r.access.short().to_string()))
        .collect();
    let expect_windows: Vec<_> = WINDOWS
        .iter()
        .map(|w| (w.name.to_string(), w.base, w.access.short().to_string()))
        .collect();
    assert_eq!(regs, expect_regs, "formal/regmap.vh registers vs src/regs.rs");
    assert_eq!(windows, expect_windows, "formal/regmap.vh windows vs src/regs.rs");
    // The checker's decode functions name every register of each direction.
    for r in REGISTERS {
        let f = match r.access {
            Access::ReadOnly => "rm_read_ok",
            Access::WriteOnly => "rm_write_ok",
        };
        let body = text.split(&format!("function {f};")).nth(1).expect(f);
        let body = body.split("endfunction").next().expect("endfunction");
        assert!(
            body.contains(&format!("RM_{},", r.name)) || body.contains(&format!("RM_{}:", r.name)),
            "{f} in formal/regmap.vh does not list {}",
            r.name
        );
    }
}

#[test]
fn axi4_lite_slave_is_proven() {
    proves(&["axil", "axil-cover"]);
}

#[test]
fn uart_bridge_is_proven() {
    proves(&["uart", "uart-cover"]);
}

#[test]
fn core_miters_hold() {
    if !full() {
        eprintln!("skipped: the core miters take minutes (SYSTOLIC_FULL=1 runs them)");
        return;
    }
    proves(&[
        "core-2x2",
        "core-2x2-cover",
        "core-3x3",
        "core-3x3-cover",
        "core-2x2-lat2",
        "core-2x2-lat2-cover",
    ]);
}

#[test]
fn planted_bugs_are_caught() {
    if !full() {
        eprintln!("skipped: the planted bugs take minutes (SYSTOLIC_FULL=1 runs them)");
        return;
    }
    let Some(rows) = formal(&["--mutants"]) else {
        return;
    };
    assert!(rows.len() >= 10, "{rows:?}");
    for (name, result) in &rows {
        assert_eq!(result, "FAIL", "mutant {name} was not caught");
    }
}
