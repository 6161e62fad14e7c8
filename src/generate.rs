//! Writing a generated design to disk: the module files, `files.f` (the file list, leaves
//! first) and `config.toml` (the canonical configuration it came from).
//!
//! Every file is written to a temporary name and renamed into place, so an interrupted or failed
//! run never leaves a half-written file.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::files::write_atomically;
use crate::rtl::board::BoardParams;
use crate::rtl::design::{Design, Level};

/// What `write_design` wrote.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub hash: String,
    pub level: String,
    pub top: String,
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub bytes: usize,
    /// Module files of an earlier generation that this design no longer has, removed.
    pub removed: Vec<String>,
}

/// The design of `cfg` at `level` (`board` gives the board top's parameters; the other levels
/// ignore it).
pub fn design(cfg: &Config, level: Level, board: &BoardParams) -> Design {
    match level {
        Level::Core => crate::rtl::core::design(cfg),
        Level::Engine => crate::rtl::engine::design(cfg),
        Level::Board => crate::rtl::board::design(cfg, board),
        Level::Harness => crate::rtl::harness::design(cfg).0,
    }
}

/// The levels `generated/<preset>/` holds: the core in the folder itself, the engine and the
/// board top (with [`BoardParams::generic`]) in subfolders named after the level.
pub const PRESET_LEVELS: [Level; 3] = [Level::Core, Level::Engine, Level::Board];

/// The folder of `level` inside a preset's folder of `generated/`.
pub fn level_dir(preset_dir: &Path, level: Level) -> PathBuf {
    match level {
        Level::Core => preset_dir.to_path_buf(),
        other => preset_dir.join(other.name()),
    }
}

/// The name of the file list inside a generated directory.
pub const FILE_LIST: &str = "files.f";

/// All generated files of `design`, `(name, contents)`, in a fixed order: the modules, the file
/// list, the canonical configuration.
pub fn files(design: &Design) -> Vec<(String, String)> {
    let cfg = &design.config;
    let mut files = design.files();
    files.push((FILE_LIST.to_string(), design.file_list()));
    files.push((
        "config.toml".to_string(),
        format!(
            "# Canonical configuration (hash {}); regenerate with `systolic generate`.\n{}",
            cfg.hash(),
            cfg.canonical_toml()
        ),
    ));
    files
}

/// Write `design` into `dir` (created if needed). Module files (`systolic_*.v`) an earlier
/// generation left there that this design does not have are removed, so the folder and its file
/// list agree; other files are left alone.
pub fn write_design(design: &Design, dir: &Path) -> std::io::Result<Summary> {
    let cfg = &design.config;
    let files = files(design);
    std::fs::create_dir_all(dir)?;
    let mut bytes = 0;
    for (name, text) in &files {
        write_atomically(&dir.join(name), text.as_bytes())?;
        bytes += text.len();
    }
    let mut removed = vec![];
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with("systolic_") && name.ends_with(".v");
        if ours && !files.iter().any(|(n, _)| *n == name) {
            std::fs::remove_file(dir.join(&name))?;
            removed.push(name);
        }
    }
    removed.sort();
    Ok(Summary {
        name: cfg.name.clone(),
        hash: cfg.hash(),
        level: design.level.name().to_string(),
        top: design.top_name().to_string(),
        dir: dir.to_path_buf(),
        files: files.into_iter().map(|(n, _)| n).collect(),
        bytes,
        removed,
    })
}
