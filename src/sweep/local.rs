//! The local backend: worker processes on this machine, one per point, at most `jobs` at once
//! and never more than the free memory allows (each point's estimate, [`Planned::mem_mb`],
//! against `MemAvailable` less the estimates of the points already running).
//!
//! Each worker is `systolic sweep SPEC --run-point I --batch B` in its own process group (a
//! Ctrl-C in the terminal reaches only this process), its output in `<work>/logs/<point>.log`.
//! A worker that dies without writing its outcome (a crash, a signal) makes its point failed,
//! with the exit status and the log's last line as the reason.
//!
//! Ctrl-C (or SIGTERM): the first stops scheduling and lets the running points finish; the
//! second kills them (their process groups: SIGTERM, then SIGKILL after 5 s) and puts them back
//! to pending, so the next sweep runs them again.

use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::progress::{Counts, Progress};
use super::store::{Status, Store};
use super::{signals, Planned};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub exe: PathBuf,
    pub spec: PathBuf,
    pub store: PathBuf,
    pub work: PathBuf,
    pub batch: i64,
}

impl WorkerCommand {
    /// The worker's arguments after the executable, for point `index` (a literal index, or
    /// `$SLURM_ARRAY_TASK_ID` for a Slurm script).
    pub fn args(&self, index: &str) -> Vec<String> {
        vec![
            "sweep".into(),
            self.spec.display().to_string(),
            "--store".into(),
            self.store.display().to_string(),
            "--work".into(),
            self.work.display().to_string(),
            "--batch".into(),
            self.batch.to_string(),
            "--run-point".into(),
            index.into(),
        ]
    }
}

/// How the local run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every point ran.
    Complete,
    /// Interrupted: the running points were let finish, the rest left pending.
    Drained,
    /// Interrupted twice: the running points were killed and put back to pending.
    Killed(usize),
}

/// Free memory (`MemAvailable`), MB.
pub fn available_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// The number of cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

struct Running {
    child: Child,
    point: Planned,
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "an unknown status".into(),
    }
}

/// The last non-empty line of a log file.
fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn signal_group(child: &Child, sig: libc::c_int) {
    // The worker leads its own process group (process_group(0)).
    // SAFETY: kill on a process group id we created; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), sig);
    }
}

/// Run `todo` (the points of batch `cmd.batch`, in order) with at most `jobs` workers.
pub fn run(
    cmd: &WorkerCommand,
    store: &Store,
    todo: &[Planned],
    jobs: usize,
    progress: &mut dyn Progress,
) -> anyhow::Result<Ended> {
    let logs = cmd.work.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    signals::install();
    let start_interrupts = signals::count();
    let mut next = 0;
    let mut running: Vec<Running> = vec![];
    let mut counts = Counts::default();
    let mut announced = false;
    loop {
        // Reap finished workers.
        let mut i = 0;
        while i < running.len() {
            if let Some(status) = running[i].child.try_wait()? {
                let r = running.swap_remove(i);
                let log = logs.join(format!("{}.log", r.point.dir));
                if store.status(&r.point.key)? == Some(Status::Running) {
                    let last = last_line(&log);
                    store.fail(
                        &r.point.key,
                        &format!(
                            "the worker ended with {} without writing its outcome: {last}",
                            describe(status)
                        ),
                    )?;
                }
                let (s, account) = store.account(&r.point.key)?;
                match s {
                    Status::Done => counts.done += 1,
                    Status::Failed => counts.failed += 1,
                    _ => {}
                }
                progress.finished(&r.point.label, s.name(), &account);
            } else {
                i += 1;
            }
        }
        let interrupts = signals::count() - start_interrupts;
        if interrupts >= 2 && !running.is_empty() {
            let n = running.len();
            progress.say(&format!(
                "sweep: interrupted again: killing the {n} running point(s); they are pending again"
            ));
            for r in &running {
                signal_group(&r.child, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            for r in &mut running {
                while r.child.try_wait()?.is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                if r.child.try_wait()?.is_none() {
                    signal_group(&r.child, libc::SIGKILL);
                    r.child.wait()?;
                }
                store.reset_pending(&r.point.key, "running")?;
            }
            return Ok(Ended::Killed(n));
        }
        if interrupts == 1 && !announced {
            announced = true;
            progress.say(&format!(
                "sweep: interrupted: no new points; letting the {} running point(s) finish \
                 (Ctrl-C again kills them and leaves them pending)",
                running.len()
            ));
        }
        if interrupts >= 1 && running.is_empty() {
            counts.running = 0;
            progress.update(counts);
            return Ok(Ended::Drained);
        }
        // Start workers while there are slots, points and memory.
        while interrupts == 0 && next < todo.len() && running.len() < jobs {
            let p = &todo[next];
            let reserved: u64 = running.iter().map(|r| r.point.mem_mb).sum();
            if let Some(free) = available_mb() {
                if free < reserved + p.mem_mb {
                    if !running.is_empty() {
                        break;
                    }
                    progress.say(&format!(
                        "sweep: {} needs about {} MB and {free} MB are free: running it alone",
                        p.label, p.mem_mb
                    ));
                }
            }
            let log = logs.join(format!("{}.log", p.dir));
            let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let child = Command::new(&cmd.exe)
                .args(cmd.args(&next.to_string()))
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .process_group(0)
                .spawn()
                .with_context(|| format!("starting {}", cmd.exe.display()))?;
            running.push(Running {
                child,
                point: p.clone(),
            });
            next += 1;
        }
        counts.running = running.len();
        progress.update(counts);
        if next >= todo.len() && running.is_empty() {
            return Ok(Ended::Complete);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
