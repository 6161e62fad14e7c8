//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use systolic::config::{seeds_dir, Config, Overrides, RawConfig};

/// True if `tool` runs; otherwise fails the test when `CI` is set, or says it is skipped
/// (see [`systolic::tools::require_tool`]).
pub fn require_tool(tool: &str, _version_arg: &str) -> bool {
    systolic::tools::require_tool(tool, module_path!())
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
        sbuf_depth: 1024,
        pe_latency: 1,
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
