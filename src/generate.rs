//! Writing a generated design to disk: the module files, `files.f` (the file list, leaves
//! first) and `config.toml` (the canonical configuration it came from).
//!
//! Every file is written to a temporary name and renamed into place, so an interrupted or failed
//! run never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::rtl::Design;

/// What `write_design` wrote.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub hash: String,
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub bytes: usize,
    /// Module files of an earlier generation that this design no longer has, removed.
    pub removed: Vec<String>,
}

/// The name of the file list inside a generated directory.
pub const FILE_LIST: &str = "files.f";

/// All generated files of a configuration, `(name, contents)`, in a fixed order.
pub fn design_files(cfg: &Config) -> Vec<(String, String)> {
    files_of(&Design::new(cfg), cfg)
}

/// `files` plus the simulation models of the FPGA primitives `cfg` instantiates
/// (`primitives = "ecp5"`: `hdl/sim/ecp5_cells.v` and `ecp5_carry.v`; `"ice40"`:
/// `hdl/sim/ice40_cells.v`), for a
/// simulator. Never for synthesis: the synthesis tool must see the primitives as its own cells.
pub fn with_primitive_models(
    cfg: &Config,
    mut files: Vec<(String, String)>,
) -> Vec<(String, String)> {
    use crate::config::Primitives;
    use crate::synth::verify::{ECP5_CARRY_MODEL, ECP5_MODELS, ICE40_MODELS};
    match cfg.primitives {
        Primitives::Ecp5 => {
            files.push(("ecp5_cells.v".to_string(), ECP5_MODELS.to_string()));
            files.push(("ecp5_carry.v".to_string(), ECP5_CARRY_MODEL.to_string()));
        }
        Primitives::Ice40 => files.push(("ice40_cells.v".to_string(), ICE40_MODELS.to_string())),
        Primitives::Generic => {}
    }
    files
}

/// The generated files of a (possibly modified) design of `cfg`.
pub fn files_of(design: &Design, cfg: &Config) -> Vec<(String, String)> {
    let mut files = design.files();
    let list: String = files.iter().map(|(name, _)| format!("{name}\n")).collect();
    files.push((FILE_LIST.to_string(), list));
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

/// Write the design of `cfg` into `dir` (created if needed). Module files (`systolic_*.v`) an
/// earlier generation left there that this design does not have are removed, so the folder
/// and its file list agree; other files are left alone.
pub fn write_design(cfg: &Config, dir: &Path) -> std::io::Result<Summary> {
    let files = design_files(cfg);
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
        dir: dir.to_path_buf(),
        files: files.into_iter().map(|(n, _)| n).collect(),
        bytes,
        removed,
    })
}

/// Write `data` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    // Unique per process and per call: threads of one process may write the same file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
