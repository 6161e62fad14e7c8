//! Design-space sweeps (`systolic sweep SPEC.toml`): a spec names a job and the points to run
//! it on ([`spec`], [`point`]); every point is an idempotent job keyed by its configuration's
//! hash, the job, board, device, seed, options and the tool versions, and its outcome is a row
//! of the SQLite results [`store`] beside the spec. A backend runs the points not done yet:
//! [`local`] (worker processes on this machine, sized to its cores and memory) or [`slurm`]
//! (one job array per sweep on a Slurm cluster). Each point runs in a worker process
//! (`systolic sweep SPEC --run-point INDEX`, [`worker`]), so one point's crash cannot take the
//! sweep down. [`table`] and [`report`] read the store.
//!
//! The layer above the flows: it imports [`crate::synth`], [`crate::cosim`] and
//! [`crate::engine`], and only the command line imports it. `docs/sweep.md` is the user's
//! guide.

pub mod job;
pub mod local;
pub mod point;
pub mod progress;
pub mod report;
pub mod signals;
pub mod slurm;
pub mod spec;
pub mod store;
pub mod table;
pub mod versions;
pub mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use point::JobKind;
pub use spec::{Spec, SpecError};
pub use store::{Status, Store};

/// The store's default path: beside the spec, `<spec stem>.sqlite`.
pub fn default_store(spec: &Path) -> PathBuf {
    spec.with_extension("sqlite")
}

/// The default folder of the points' working files: `runs/sweep-<spec name>`.
pub fn default_work(spec: &Spec) -> PathBuf {
    PathBuf::from("runs").join(format!("sweep-{}", spec.name))
}

/// A point's folder name under the work folder: its tag, board and seed (readable) and the
/// first 8 hex digits of its key (unique).
pub fn point_dir_name(point: &point::Point, key: &str) -> String {
    let mut s: String = point
        .tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Some(b) = point.board() {
        s.push('@');
        s.push_str(b);
    }
    if let Some(d) = point.device() {
        s.push(':');
        s.push_str(d);
    }
    if let Some(seed) = point.seed {
        s.push_str(&format!("~s{seed}"));
    }
    format!("{s}-{}", &key[..8])
}

/// A point to run, as planned.
#[derive(Debug, Clone)]
pub struct Planned {
    pub key: String,
    /// For progress lines: `tag@board~sSEED`.
    pub label: String,
    /// The point's folder (and log) name under the work folder.
    pub dir: String,
    pub mem_mb: u64,
}

/// What planning found.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every point's key, in spec order.
    pub keys: Vec<String>,
    /// The points to run now (pending; with `retry_failed`, failed too).
    pub todo: Vec<Planned>,
    pub done: usize,
    pub failed: usize,
    /// Points running elsewhere (another sweep process or a live Slurm task).
    pub running: usize,
    /// Points that were `running` for a worker that is gone, now pending again.
    pub recovered: usize,
    /// Failed points put back to pending (`retry_failed`).
    pub retried: usize,
}

/// The label of a point in progress lines.
pub fn label(p: &point::Point) -> String {
    let mut s = p.tag.clone();
    if let Some(b) = p.board() {
        s.push('@');
        s.push_str(b);
    }
    if let Some(seed) = p.seed {
        s.push_str(&format!("~s{seed}"));
    }
    if let Some(sh) = p.shape {
        s.push_str(&format!(" {sh}"));
    }
    s
}

/// Put every point of `spec` into `store` (new ones pending), recover points whose worker is
/// gone, reset failed ones when `retry_failed`, and list what is to run. The tool versions are
/// asked here (once per tool) for the keys.
pub fn plan(spec: &Spec, store: &Store, retry_failed: bool) -> anyhow::Result<Plan> {
    let mut versions = versions::VersionCache::default();
    let mut out = Plan::default();
    let mut by_key = BTreeMap::new();
    for p in &spec.points {
        let tools = versions
            .for_point(p)
            .map_err(|e| anyhow::anyhow!("point {} ({}): {e}", p.index, label(p)))?;
        let key = p.key(&tools);
        store.plan(&spec.name, p, &key, &tools)?;
        by_key.insert(key.clone(), p);
        out.keys.push(key);
    }
    out.recovered = store.recover(&out.keys, &slurm::task_gone)?.len();
    if retry_failed {
        out.retried = store.retry_failed(&out.keys)?;
    }
    for k in &out.keys {
        match store.status(k)?.unwrap_or(Status::Pending) {
            Status::Pending => {
                let p = by_key[k];
                out.todo.push(Planned {
                    key: k.clone(),
                    label: label(p),
                    dir: point_dir_name(p, k),
                    mem_mb: p.mem_mb,
                });
            }
            Status::Running => out.running += 1,
            Status::Done => out.done += 1,
            Status::Failed => out.failed += 1,
        }
    }
    Ok(out)
}
