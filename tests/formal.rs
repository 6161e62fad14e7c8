//! Formal checks of formal/ through `scripts/formal.sh` (SymbiYosys and Yosys from YoWASP, yices
//! from PyPI, ABC's pdr and bmc3; docs/formal.md lists the properties):
//!
//! - the AXI4-Lite slave proven (abc pdr, unbounded) and its cover statements reached;
//! - the UART bridge proven (abc pdr, unbounded) and its cover statements reached (the deeper
//!   reachability of a retried WRITE's answer, `uart-reach-retry`, takes a minute more: it is
//!   left to scripts/formal.sh; here the planted bug uart-retry-exec's trace reaches a retry);
//! - the engine's AXI4 master (the DMA and the fetch unit of a 2x2 int8 engine with the memory
//!   path) proven for its handshake, field, 4 KB, outstanding and error properties (abc pdr,
//!   unbounded) and its cover statements reached (its W-burst and completion properties are
//!   bounded, `axi4m-bmc`, and its planted bugs take minutes: both are left to
//!   scripts/formal.sh);
//! - every planted bug of formal/bugs.tsv for the AXI4-Lite and UART checks makes its check
//!   FAIL, with a counterexample trace (target/formal/cex/NAME.vcd);
//! - the checker's register table (formal/regmap.vh) equals the register map (src/regs.rs).
//!
//! The core's miters take longer than CI's budget: `scripts/formal.sh core-2x2 ...` runs them
//! (docs/formal.md). A missing tool fails the test when `CI` is set and skips it otherwise
//! (scripts/setup.sh installs them through `scripts/fpga-tools.sh --formal`). The script runs
//! its checks in sequence, niced, each in its own work folder; the tests run as libtest
//! schedules them (two at a time on the 2-core machine: 78 s for the binary in a fresh-clone CI
//! run, 146 s with the lock that kept them one at a time).

use std::path::{Path, PathBuf};
use std::process::Command;

use systolic::regs::{Access, REGISTERS, WINDOWS};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One line of the script's results: name, expected, result, seconds, first failed assertion.
#[derive(Debug)]
struct Row {
    name: String,
    expected: String,
    result: String,
    failed_at: String,
}

/// Runs `scripts/formal.sh ARGS`; returns its results, or None when a tool is missing outside CI.
fn formal(tag: &str, args: &[&str]) -> Option<Vec<Row>> {
    let scratch = root().join("target/test-scratch");
    std::fs::create_dir_all(&scratch).expect("target/test-scratch");
    let results: PathBuf = scratch.join(format!("formal-{tag}-{}.tsv", std::process::id()));
    let out = Command::new("bash")
        .arg(root().join("scripts/formal.sh"))
        .args(args)
        .env("SYSTOLIC_BIN", env!("CARGO_BIN_EXE_systolic"))
        .env("FORMAL_NO_INSTALL", "1")
        .env("FORMAL_RESULTS", &results)
        .output()
        .expect("bash runs scripts/formal.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    if out.status.code() == Some(3) {
        assert!(
            std::env::var_os("CI").is_none(),
            "formal tools missing with CI set (scripts/fpga-tools.sh --formal installs them): {stderr}"
        );
        eprintln!("skipped: formal tools missing ({})", stderr.trim());
        return None;
    }
    let text = std::fs::read_to_string(&results).unwrap_or_default();
    let _ = std::fs::remove_file(&results);
    let rows: Vec<Row> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "results line {l:?}");
            Row {
                name: f[0].to_string(),
                expected: f[1].to_string(),
                result: f[2].to_string(),
                failed_at: f[4].to_string(),
            }
        })
        .collect();
    assert!(
        out.status.success(),
        "scripts/formal.sh {args:?} did not give the expected results:\n{stdout}{stderr}"
    );
    Some(rows)
}

/// Runs the named checks; each must be expected to PASS and pass.
fn checks(tag: &str, names: &[&str]) {
    let Some(rows) = formal(tag, names) else {
        return;
    };
    for n in names {
        let row = rows.iter().find(|r| r.name == *n);
        let Some(row) = row else {
            panic!("check {n} did not run: {rows:?}")
        };
        assert_eq!(row.expected, "PASS", "check {n}: {row:?}");
        assert_eq!(row.result, "PASS", "check {n}: {row:?}");
    }
}

#[test]
fn axi4_lite_slave_is_proven() {
    checks("axil", &["axil", "axil-cover"]);
}

#[test]
fn axi4_master_is_proven() {
    checks("axi4m", &["axi4m", "axi4m-cover"]);
}

#[test]
fn uart_bridge_is_proven() {
    checks("uart", &["uart", "uart-cover"]);
}

#[test]
fn planted_bugs_make_their_checks_fail() {
    // The bugs of the checks CI runs (the core's take minutes each: scripts/formal.sh --bugs).
    let table = std::fs::read_to_string(root().join("formal/bugs.tsv")).expect("formal/bugs.tsv");
    let names: Vec<&str> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| matches!(l.split('\t').nth(1), Some("axil" | "uart")))
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert!(
        names.len() >= 8,
        "planted bugs for axil and uart: {names:?}"
    );
    let mut args = vec!["--bugs"];
    args.extend(&names);
    let Some(rows) = formal("bugs", &args) else {
        return;
    };
    for n in &names {
        let row = rows.iter().find(|r| r.name == *n);
        let Some(row) = row else {
            panic!("planted bug {n} did not run: {rows:?}")
        };
        assert_eq!(
            row.result, "FAIL",
            "planted bug {n} was not caught: {row:?}"
        );
        assert_ne!(
            row.failed_at, "-",
            "planted bug {n}: no failed assertion named"
        );
        assert!(
            root().join(format!("target/formal/cex/{n}.vcd")).is_file(),
            "planted bug {n}: no counterexample trace"
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
    // The checks use engines without the memory path: its registers are unmapped there.
    let expect_regs: Vec<_> = REGISTERS
        .iter()
        .filter(|r| !r.dma)
        .map(|r| (r.name.to_string(), r.offset, r.access.short().to_string()))
        .collect();
    let expect_windows: Vec<_> = WINDOWS
        .iter()
        .map(|w| (w.name.to_string(), w.base, w.access.short().to_string()))
        .collect();
    assert_eq!(
        regs, expect_regs,
        "formal/regmap.vh registers vs src/regs.rs"
    );
    assert_eq!(
        windows, expect_windows,
        "formal/regmap.vh windows vs src/regs.rs"
    );
    // The checker's decode functions name every register of each direction.
    for r in REGISTERS.iter().filter(|r| !r.dma) {
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
