//! The Slurm backend: the points not done become job arrays (`sbatch --array=0-(N-1)`, split
//! into several arrays when N exceeds the cluster's `MaxArraySize`), each task a worker
//! `systolic sweep SPEC --batch B --run-point $SLURM_ARRAY_TASK_ID` that writes its row into the
//! shared store. Progress comes from `squeue -r` (tasks PENDING and RUNNING) and the store,
//! until every task has left the queue; a task that left without writing its outcome (time
//! limit, cancelled, killed) makes its point failed with the state Slurm gives (`squeue -t
//! all`, within `MinJobAge`). `sacct` is not used: it needs slurmdbd.
//!
//! Ctrl-C stops following the arrays, which keep running: their tasks still write the store,
//! and `scancel` names the jobs to stop them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};

use super::local::WorkerCommand;
use super::progress::{Counts, Progress};
use super::spec::SlurmSettings;
use super::store::{Status, Store};
use super::{signals, Planned};

/// Slurm's own default `MaxArraySize`.
const DEFAULT_MAX_ARRAY: usize = 1001;

fn run_tool(cmd: &mut Command) -> anyhow::Result<String> {
    let what = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("running {what} (is Slurm's client installed?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `MaxArraySize` from `scontrol show config` (task ids must stay below it).
pub fn max_array_size() -> anyhow::Result<usize> {
    let text = run_tool(Command::new("scontrol").args(["show", "config"]))?;
    Ok(text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(DEFAULT_MAX_ARRAY))
}

/// Whether task `task` of Slurm job `job` has left the queue (for recovering `running` rows).
/// Without `squeue` nothing is known, so no.
pub fn task_gone(job: &str, task: Option<u32>) -> bool {
    let id = match task {
        Some(t) => format!("{job}_{t}"),
        None => job.to_string(),
    };
    match Command::new("squeue")
        .args(["-h", "-r", "-j", &id, "-o", "%T"])
        .output()
    {
        // squeue errors on a job id it no longer knows ("Invalid job id specified").
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        Err(_) => false,
    }
}

/// Quote `s` for the shell.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The resources each task asks for.
#[derive(Debug, Clone)]
pub struct Resources {
    pub settings: SlurmSettings,
    /// Memory per task when the settings do not say: the largest estimate of the points, MB.
    pub mem_mb: u64,
}

/// The sbatch command line for one array of `n` tasks running `worker`.
pub fn sbatch_args(
    worker: &WorkerCommand,
    n: usize,
    name: &str,
    logs: &Path,
    res: &Resources,
) -> Vec<String> {
    let s = &res.settings;
    let mut array = format!("0-{}", n - 1);
    if let Some(k) = s.max_running {
        array.push_str(&format!("%{k}"));
    }
    let mut args = vec![
        "--parsable".to_string(),
        format!("--array={array}"),
        format!("--job-name=sweep-{name}"),
        format!("--output={}", logs.join("slurm-%A_%a.log").display()),
        format!("--cpus-per-task={}", s.cpus_per_task.unwrap_or(1)),
        format!(
            "--mem={}",
            s.mem.clone().unwrap_or_else(|| format!("{}M", res.mem_mb))
        ),
    ];
    if let Ok(cwd) = std::env::current_dir() {
        args.push(format!("--chdir={}", cwd.display()));
    }
    if let Some(p) = &s.partition {
        args.push(format!("--partition={p}"));
    }
    if let Some(t) = &s.time {
        args.push(format!("--time={t}"));
    }
    args.extend(s.extra_args.iter().cloned());
    let mut script = vec![quote(&worker.exe.display().to_string())];
    script.extend(worker.args("SLURM_TASK").iter().map(|a| quote(a)).map(|a| {
        if a == "SLURM_TASK" {
            "\"$SLURM_ARRAY_TASK_ID\"".into()
        } else {
            a
        }
    }));
    args.push(format!("--wrap={}", script.join(" ")));
    args
}

/// One submitted array.
#[derive(Debug, Clone)]
pub struct Array {
    pub job: String,
    pub batch: i64,
    /// The batch's keys, by task id.
    pub keys: Vec<String>,
}

/// Submit `todo` as arrays of at most `MaxArraySize` tasks, one batch each.
pub fn submit(
    worker: &WorkerCommand,
    store: &Store,
    spec_name: &str,
    todo: &[Planned],
    res: &Resources,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<Array>> {
    let mut max = max_array_size()?;
    if let Some(n) = res.settings.array_size {
        max = max.min(n as usize);
    }
    let max = max.max(1);
    let logs = worker.work.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut arrays = vec![];
    for chunk in todo.chunks(max) {
        let keys: Vec<String> = chunk.iter().map(|p| p.key.clone()).collect();
        let batch = store.new_batch(spec_name, "slurm", &keys)?;
        let w = WorkerCommand {
            batch,
            ..worker.clone()
        };
        let args = sbatch_args(&w, keys.len(), spec_name, &logs, res);
        let out = run_tool(Command::new("sbatch").args(&args))?;
        let job = out
            .trim()
            .split(';')
            .next()
            .filter(|j| !j.is_empty() && j.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| anyhow!("sbatch printed no job id: {out:?}"))?
            .to_string();
        store.set_batch_slurm_job(batch, &job)?;
        progress.say(&format!(
            "sweep: submitted Slurm job {job}: array 0-{} (batch {batch})",
            keys.len() - 1
        ));
        arrays.push(Array { job, batch, keys });
    }
    Ok(arrays)
}

/// `(task, state, reason)` of the arrays' tasks: active ones, or with `all` the finished ones
/// slurmctld still remembers.
fn task_states(jobs: &[String], all: bool) -> anyhow::Result<Vec<(String, u32, String, String)>> {
    let mut cmd = Command::new("squeue");
    cmd.args(["-h", "-r", "-o", "%F %K %T %r", "-j", &jobs.join(",")]);
    if all {
        cmd.args(["-t", "all"]);
    }
    let out = cmd
        .output()
        .context("running squeue (is Slurm's client installed?)")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // A job slurmctld has forgotten (MinJobAge after it ended) is no longer active.
        if stderr.contains("Invalid job id") {
            return Ok(vec![]);
        }
        bail!("squeue failed: {}", stderr.trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let job = f.next()?.to_string();
            let task = f.next()?.parse().ok()?;
            let state = f.next()?.to_string();
            let reason = f.collect::<Vec<_>>().join(" ");
            Some((job, task, state, reason))
        })
        .collect())
}

/// How following the arrays ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// Every task left the queue.
    Complete,
    /// Interrupted: the arrays keep running.
    Detached,
}

/// Follow `arrays` until all their tasks left the queue, then fail the points they left
/// without an outcome.
pub fn follow(
    arrays: &[Array],
    store: &Store,
    labels: &BTreeMap<String, String>,
    progress: &mut dyn Progress,
) -> anyhow::Result<Followed> {
    signals::install();
    let start_interrupts = signals::count();
    let jobs: Vec<String> = arrays.iter().map(|a| a.job.clone()).collect();
    let keys: Vec<String> = arrays.iter().flat_map(|a| a.keys.iter().cloned()).collect();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut squeue_failing_since: Option<Instant> = None;
    loop {
        if signals::count() > start_interrupts {
            progress.say(&format!(
                "sweep: interrupted: no longer following Slurm job(s) {}; they keep running and \
                 write the store (`scancel {}` stops them)",
                jobs.join(", "),
                jobs.join(" ")
            ));
            return Ok(Followed::Detached);
        }
        let active = match task_states(&jobs, false) {
            Ok(t) => {
                squeue_failing_since = None;
                Some(t)
            }
            Err(e) => {
                let since = *squeue_failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(120) {
                    return Err(e.context("squeue has failed for 2 minutes"));
                }
                None
            }
        };
        let mut counts = Counts::default();
        for k in &keys {
            match store.status(k)? {
                Some(Status::Done) => counts.done += 1,
                Some(Status::Failed) => counts.failed += 1,
                _ => continue,
            }
            if reported.insert(k.clone()) {
                let (s, account) = store.account(k)?;
                progress.finished(
                    labels.get(k).map_or(k.as_str(), String::as_str),
                    s.name(),
                    &account,
                );
            }
        }
        if let Some(active) = &active {
            counts.running = active.iter().filter(|t| t.2 == "RUNNING").count();
            counts.queued = active.iter().filter(|t| t.2 == "PENDING").count();
            progress.update(counts);
            if active.is_empty() {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    // Tasks gone without an outcome: their points failed, with Slurm's word for why.
    let finals = task_states(&jobs, true).unwrap_or_default();
    for a in arrays {
        for (task, k) in a.keys.iter().enumerate() {
            if matches!(store.status(k)?, Some(Status::Done | Status::Failed)) {
                continue;
            }
            let state = finals
                .iter()
                .find(|t| t.0 == a.job && t.1 as usize == task)
                .map_or("an unknown state (no longer in squeue)".to_string(), |t| {
                    format!("{} ({})", t.2, t.3)
                });
            store.fail(
                k,
                &format!(
                    "Slurm task {}_{task} left the queue in {state} without writing its outcome",
                    a.job
                ),
            )?;
            let (s, account) = store.account(k)?;
            progress.finished(
                labels.get(k).map_or(k.as_str(), String::as_str),
                s.name(),
                &account,
            );
        }
    }
    Ok(Followed::Complete)
}
