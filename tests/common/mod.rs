//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use systolic::config::{seeds_dir, Config, Overrides, RawConfig};

/// True if `tool` runs. When it does not: with `CI` set the test FAILS (a CI run must not
/// skip); otherwise the test prints why it is skipped and the caller returns.
pub fn require_tool(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required when CI is set, but `{tool} {version_arg}` did not run");
        }
        eprintln!("skipped: {tool} not found (install it, or run the README's test command)");
    }
    ok
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
    })
    .expect("valid test config")
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
