//! Writing a generated design to disk: the module files, `files.f` (the file list, leaves
//! first) and `config.toml` (the canonical configuration it came from).
//!
//! Every file is written to a temporary name and renamed into place, so an interrupted or failed
//! run never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::rtl::board::BoardParams;
use crate::rtl::design::{Design, Level};

/// What `write_design` wrote.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub hash: String,
    /// The VERSION register's value (the hash's first 8 hex digits), as the engine reports it.
    pub version: String,
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

/// Why a design could not be written; every message names the path.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: exists and is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("{}: is a directory, where the design's file {name} goes", path.display())]
    Occupied { path: PathBuf, name: String },
    #[error("interrupted before {} was changed", path.display())]
    Interrupted { path: PathBuf },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { what, path, source }
}

/// Write `design` into `dir` (created if needed), all or nothing: every file is first written
/// into a staging folder beside `dir` and moved into place only when all are complete, so an
/// error leaves `dir` as it was. Module files that the previous generation in `dir` listed in
/// its `files.f` (and that carry the generator's header) but this design no longer has are
/// removed; nothing else in `dir` is touched.
pub fn write_design(design: &Design, dir: &Path) -> Result<Summary, WriteError> {
    let cfg = &design.config;
    let files = files(design);
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    for (name, _) in &files {
        let target = dir.join(name);
        if target.is_dir() {
            return Err(WriteError::Occupied {
                path: target,
                name: name.clone(),
            });
        }
    }
    let previous = previous_modules(dir);
    let staging = stage(dir, &files)?;
    let moved = (|| {
        // The last point to stop at: from here every file is moved, so `dir` is all old or
        // all new.
        stop_if_interrupted(dir)?;
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        for (name, _) in &files {
            let to = dir.join(name);
            std::fs::rename(staging.join(name), &to).map_err(io("moving into place", &to))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    moved?;
    let mut removed = vec![];
    for name in previous {
        if !files.iter().any(|(n, _)| *n == name) {
            let path = dir.join(&name);
            std::fs::remove_file(&path).map_err(io("removing the stale", &path))?;
            removed.push(name);
        }
    }
    removed.sort();
    Ok(Summary {
        name: cfg.name.clone(),
        hash: cfg.hash(),
        version: format!("{:#010x}", crate::regs::version(cfg)),
        level: design.level.name().to_string(),
        top: design.top_name().to_string(),
        dir: dir.to_path_buf(),
        bytes: files.iter().map(|(_, t)| t.len()).sum(),
        files: files.into_iter().map(|(n, _)| n).collect(),
        removed,
    })
}

/// A stop asked for (Ctrl-C) as an error about `dir`, which is not changed yet.
fn stop_if_interrupted(dir: &Path) -> Result<(), WriteError> {
    if crate::progress::interrupted() {
        return Err(WriteError::Interrupted {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Write `files` into a fresh staging folder beside `dir` (same file system, so the moves into
/// `dir` are renames); removed again on any error.
fn stage(dir: &Path, files: &[(String, String)]) -> Result<PathBuf, WriteError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = dir
        .file_name()
        .map_or("design".into(), |n| n.to_string_lossy());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
    let staging = parent.join(format!(".{base}.staging-{}-{n}", std::process::id()));
    let result = (|| {
        std::fs::create_dir(&staging).map_err(io("creating", &staging))?;
        for (name, text) in files {
            stop_if_interrupted(dir)?;
            let path = staging.join(name);
            let mut f = std::fs::File::create(&path).map_err(io("writing", &path))?;
            f.write_all(text.as_bytes()).map_err(io("writing", &path))?;
            f.sync_all().map_err(io("writing", &path))?;
        }
        Ok(staging.clone())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// The module files the generation already in `dir` wrote: the names its `files.f` lists
/// whose file still carries the generator's header. A folder without a file list has none.
fn previous_modules(dir: &Path) -> Vec<String> {
    let Ok(list) = std::fs::read_to_string(dir.join(FILE_LIST)) else {
        return vec![];
    };
    list.lines()
        .map(str::trim)
        .filter(|name| {
            !name.is_empty() && !name.contains('/') && name.ends_with(".v") && {
                std::fs::read_to_string(dir.join(name))
                    .is_ok_and(|t| t.starts_with("// Generated by systolic"))
            }
        })
        .map(String::from)
        .collect()
}
