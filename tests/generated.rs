//! `generated/` holds the output of every preset in `seeds/` at three levels (the core in
//! `generated/<preset>/`, the engine in its `engine/` and the board top in its `board/`
//! subfolder); these are also the golden files of the generator. This test fails when they are
//! stale (or when a preset's folder is missing or has extra files), and says how to regenerate
//! them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use systolic::config::{list_presets, seeds_dir};
use systolic::generate::{design, files, level_dir, PRESET_LEVELS};
use systolic::rtl::board::BoardParams;
use systolic::rtl::core;
use systolic::rtl::design::Level;

const REGEN: &str = "regenerate with `cargo run -- generate --all`";

#[test]
fn generated_folder_matches_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let presets = list_presets(&seeds_dir());
    assert!(presets.len() >= 5, "presets: {presets:?}");
    for (name, level) in presets.iter().flat_map(|n| PRESET_LEVELS.map(|l| (n, l))) {
        let cfg = common::preset(name);
        let dir = level_dir(&root.join(name), level);
        let files = files(&design(&cfg, level, &BoardParams::generic()));
        for (file, text) in &files {
            let path = dir.join(file);
            let on_disk = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} is missing: {REGEN}", path.display()));
            if &on_disk != text {
                let line = on_disk
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .map_or(0, |i| i + 1);
                panic!(
                    "{} is stale (first difference at line {line}): {REGEN}",
                    path.display()
                );
            }
        }
        let expected: BTreeSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let sublevels: Vec<&str> = PRESET_LEVELS
            .iter()
            .filter(|&&l| level == Level::Core && l != Level::Core)
            .map(|l| l.name())
            .collect();
        let present: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{} is missing: {REGEN}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !sublevels.contains(&n.as_str()))
            .collect();
        assert_eq!(
            present,
            expected,
            "{} has extra files: {REGEN}",
            dir.display()
        );
    }
    let dirs: BTreeSet<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = presets.iter().cloned().collect();
    assert_eq!(
        dirs, want,
        "generated/ has folders for presets that no longer exist: {REGEN}"
    );
}

#[test]
fn pe_and_top_snapshots_have_the_expected_structure() {
    // Structural facts a reader relies on, checked on the reference presets' text.
    for name in ["int8-3x5", "int8-4x4", "trn-int8-128x128"] {
        let cfg = common::preset(name);
        let files = core::design(&cfg).files();
        let get = |n: &str| &files.iter().find(|(f, _)| f == n).unwrap().1;
        let array = get("systolic_array.v");
        assert!(array.contains("for (c = 0; c < COLS; c = c + 1) begin : g_col"));
        assert_eq!(
            array.matches("systolic_column #(").count(),
            1,
            "one column instance in a generate loop"
        );
        let column = get("systolic_column.v");
        assert!(column.contains("for (r = 0; r < ROWS; r = r + 1) begin : g_row"));
        assert_eq!(
            column.matches("systolic_pe #(").count(),
            1,
            "one PE instance in a generate loop"
        );
        let top = get("systolic_top.v");
        assert!(
            top.contains(&format!("parameter integer ROWS       = {}", cfg.rows)),
            "{top}"
        );
        assert!(top.contains(&cfg.hash()));
    }
}
