//! The build cache: [`build`] and [`build_with`] key a build by everything that makes it
//! (its [`Recipe`]), return a finished entry when there is one, and otherwise build into a
//! fresh folder under a lock and publish it by renaming; a failed build is kept for its log.
//! See the [module documentation](super) for what is cached.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::model::Model;
use super::recipe::Recipe;
use super::spec::{layout, BuildOptions, BuildSpec};
use super::verilate::build_in;
use super::{io_err, VerilatorError, MARKER};

/// Where builds are cached unless the caller says otherwise: `$SYSTOLIC_CACHE_DIR` if set and
/// non-empty, else `$CARGO_TARGET_DIR/verilator-cache`, else `./target/verilator-cache`
/// (relative to the current directory, made absolute).
pub fn default_cache_root() -> PathBuf {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let p = nonempty("SYSTOLIC_CACHE_DIR").unwrap_or_else(|| {
        nonempty("CARGO_TARGET_DIR")
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("verilator-cache")
    });
    std::path::absolute(&p).unwrap_or(p)
}

/// Build (or fetch from the cache under `cache_root`) the simulation library for `spec`.
/// Same as [`build_with`] with default [`BuildOptions`].
pub fn build(spec: &BuildSpec, cache_root: &Path) -> Result<Model, VerilatorError> {
    build_with(spec, cache_root, BuildOptions::default())
}

/// Build (or fetch from the cache under `cache_root`) the simulation library for `spec`, and load
/// it. See the [module documentation](super) for what is cached and how concurrent builds are
/// handled. Blocks while another thread or process builds the same design.
pub fn build_with(
    spec: &BuildSpec,
    cache_root: &Path,
    mut opts: BuildOptions,
) -> Result<Model, VerilatorError> {
    let lay = layout(spec)?;
    let recipe = Recipe::new(spec, &lay, opts.verilator)?;
    let key = recipe.key.as_str();
    let root = std::path::absolute(cache_root).unwrap_or_else(|_| cache_root.to_path_buf());
    fs::create_dir_all(&root).map_err(io_err(&root))?;
    let dir = root.join(key);

    if dir.join(MARKER).is_file() {
        opts.say(&format!("verilator: cache hit {}", dir.display()));
        return Model::load(&dir, lay, spec, None);
    }
    let lock = lock(&root, key, spec.top, &mut opts)?;
    if dir.join(MARKER).is_file() {
        opts.say(&format!(
            "verilator: cache hit {} (built concurrently)",
            dir.display()
        ));
        return Model::load(&dir, lay, spec, None);
    }

    let tmp = fresh_build_dir(&root, key)?;
    let started = Instant::now();
    let result = build_in(spec, &mut opts, &root, &recipe, &tmp);
    let secs = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        if crate::progress::interrupted() {
            // Ctrl-C reaches Verilator and make too: not a failed build, nothing to keep.
            let _ = fs::remove_dir_all(&tmp);
            return Err(VerilatorError::Interrupted);
        }
        return Err(keep_failed(&root, key, &tmp, e));
    }
    publish(spec, &recipe, &tmp, &dir, secs)?;
    drop(lock);
    opts.say(&format!(
        "verilator: built `{}` in {secs:.1} s into {}",
        spec.top,
        dir.display()
    ));
    Model::load(&dir, lay, spec, Some(secs))
}

/// The exclusive lock on `<key>.lock` under `root`, waiting (and saying so) while another
/// thread or process holds it.
fn lock(
    root: &Path,
    key: &str,
    top: &str,
    opts: &mut BuildOptions,
) -> Result<File, VerilatorError> {
    let lock_path = root.join(format!("{key}.lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    if lock.try_lock().is_err() {
        opts.say(&format!(
            "verilator: waiting for another build of `{top}` ({})",
            lock_path.display()
        ));
        lock.lock().map_err(io_err(&lock_path))?;
    }
    Ok(lock)
}

/// A new, empty `<key>.tmp-<pid>-<n>` under `root`. Called holding the lock: any `<key>.tmp-*`
/// left over is from a builder that died, and is removed.
fn fresh_build_dir(root: &Path, key: &str) -> Result<PathBuf, VerilatorError> {
    if let Ok(entries) = fs::read_dir(root) {
        let prefix = format!("{key}.tmp-");
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = root.join(format!(
        "{key}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    Ok(tmp)
}

/// Keep the log of the failed build in `tmp` reachable: move the attempt to `<key>.failed`
/// (replacing an older one) and repoint the paths the error `e` names.
fn keep_failed(root: &Path, key: &str, tmp: &Path, e: VerilatorError) -> VerilatorError {
    let failed = root.join(format!("{key}.failed"));
    let _ = fs::remove_dir_all(&failed);
    let moved = fs::rename(tmp, &failed).is_ok();
    if !moved {
        let _ = fs::remove_dir_all(tmp);
    }
    let repoint = |p: PathBuf| match p.strip_prefix(tmp) {
        Ok(rel) if moved => failed.join(rel),
        _ => p,
    };
    match e {
        VerilatorError::BuildFailed {
            top,
            stage,
            status,
            log,
            tail,
        } => VerilatorError::BuildFailed {
            top,
            stage,
            status,
            log: repoint(log),
            tail,
        },
        VerilatorError::PortMismatch {
            top,
            details,
            header,
        } => VerilatorError::PortMismatch {
            top,
            details,
            header: repoint(header),
        },
        e => e,
    }
}

/// Write the marker into the finished build `tmp` and rename it to `dir`, the cache entry.
fn publish(
    spec: &BuildSpec,
    recipe: &Recipe,
    tmp: &Path,
    dir: &Path,
    secs: f64,
) -> Result<(), VerilatorError> {
    let meta = serde_json::json!({
        "top": spec.top,
        "build_seconds": secs,
        "verilator_args": recipe.verilator_args,
        "make_args": recipe.kit.make_args,
        "verilator": recipe.verilator,
        "verilator_root": recipe.kit.root,
        "verilator_release": recipe.kit.release(),
        "sources": recipe.sources,
        "verilator_version": recipe.verilator_version.trim(),
        "gxx_version": recipe.gxx_version.lines().next().unwrap_or(""),
    });
    let marker = tmp.join(MARKER);
    fs::write(
        &marker,
        serde_json::to_string_pretty(&meta).unwrap_or_default(),
    )
    .map_err(io_err(&marker))?;
    if fs::rename(tmp, dir).is_err() {
        // Someone else (without the lock, e.g. a stale lock file on another file system)
        // finished first: use theirs.
        let _ = fs::remove_dir_all(tmp);
        if !dir.join(MARKER).is_file() {
            return Err(VerilatorError::Io {
                path: dir.to_path_buf(),
                source: io::Error::other("could not move the finished build into place"),
            });
        }
    }
    Ok(())
}
