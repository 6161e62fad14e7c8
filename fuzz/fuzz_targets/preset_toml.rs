//! `Config::from_toml_str` on arbitrary UTF-8, and `Config::from_preset` on arbitrary names
//! (input `@NAME`) against the source tree's seeds/ (see `systolic_fuzz::check_preset_input`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

static SEEDS: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (dir, names) = SEEDS.get_or_init(|| {
        let dir = systolic_fuzz::seeds_dir();
        let names = systolic::config::list_presets(&dir);
        (dir, names)
    });
    systolic_fuzz::check_preset_input(data, dir, names);
});
