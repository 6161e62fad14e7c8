//! A worker: `systolic sweep SPEC --run-point INDEX [--batch ID]` runs one point in this
//! process and writes its row. With a batch, INDEX is the point's number in that batch (a
//! Slurm array task id, a local worker's slot); without, the point's index in the spec.
//!
//! Exit status: 0 when the point is done (or was already done or running elsewhere), 1 when it
//! failed (its reason is in the store), 2 and up when the worker itself could not work.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context as _};

use super::point::{Context, Point};
use super::store::{Claim, Finish, Status, Store};
use super::{job, point_dir_name, versions, Spec};

/// What the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worked {
    /// Ran the point, with this outcome.
    Ran(Status),
    /// The point was not there to run (done, or running elsewhere): its status.
    Skipped(Status),
}

/// Run point `index` (of `batch`, or of the spec) with its files under `work`.
pub fn run_point(
    spec: &Spec,
    store_path: &Path,
    work: &Path,
    index: usize,
    batch: Option<i64>,
    retry_failed: bool,
) -> anyhow::Result<Worked> {
    let store = Store::open(store_path)?;
    let key = match batch {
        Some(b) => store
            .batch_key(b, index as i64)?
            .ok_or_else(|| anyhow!("batch {b} has no point {index} in {}", store_path.display()))?,
        None => {
            let p = spec.points.get(index).ok_or_else(|| {
                anyhow!(
                    "{} has {} points (0..={}), not {index}",
                    spec.path.display(),
                    spec.points.len(),
                    spec.points.len().saturating_sub(1)
                )
            })?;
            let tools = versions::VersionCache::default()
                .for_point(p)
                .map_err(|e| anyhow!(e))?;
            let key = p.key(&tools);
            store.plan(&spec.name, p, &key, &tools)?;
            key
        }
    };
    let (job, fields) = store
        .stored_point(&key)?
        .ok_or_else(|| anyhow!("point {key} is not in {}", store_path.display()))?;
    let claim = Claim::this_process();
    if !store.claim(&key, &claim, retry_failed)? {
        let s = store.status(&key)?.unwrap_or(Status::Pending);
        eprintln!("sweep: point {key} is {}: nothing to do", s.name());
        return Ok(Worked::Skipped(s));
    }
    let start = Instant::now();
    let outcome = match Point::from_stored(job, &fields, &Context::new()) {
        Ok(point) => {
            let dir = work.join(point_dir_name(&point, &key));
            eprintln!(
                "sweep: running point {key} ({}) in {}",
                super::label(&point),
                dir.display()
            );
            std::fs::create_dir_all(work)
                .with_context(|| format!("creating {}", work.display()))?;
            job::run(&point, &dir, &mut |line| eprintln!("{line}"))
        }
        Err(e) => job::Outcome {
            status: Status::Failed,
            reason: Some(format!("the stored point no longer resolves: {e}")),
            metrics: Default::default(),
            result: serde_json::Value::Null,
        },
    };
    let wall = start.elapsed().as_secs_f64();
    let written = store.finish(
        &key,
        claim.pid,
        &Finish {
            status: outcome.status,
            reason: outcome.reason.as_deref(),
            metrics: &outcome.metrics,
            wall_s: wall,
            result: &outcome.result,
        },
    )?;
    if !written {
        eprintln!("sweep: point {key} was taken back while it ran: its outcome is not stored");
    }
    match &outcome.reason {
        Some(r) => eprintln!(
            "sweep: point {key} {} in {wall:.1} s: {r}",
            outcome.status.name()
        ),
        None => eprintln!(
            "sweep: point {key} {} in {wall:.1} s",
            outcome.status.name()
        ),
    }
    Ok(Worked::Ran(outcome.status))
}
