//! `systolic sweep SPEC.toml`: run a design-space sweep (docs/sweep.md), or print its table or
//! report from the results store.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use systolic::files::OutputPath;
use systolic::sweep::local::{self, WorkerCommand};
use systolic::sweep::progress::{Counts, Progress};
use systolic::sweep::slurm;
use systolic::sweep::table::{self, Format};
use systolic::sweep::worker::{self, Worked};
use systolic::sweep::{self, report, Spec, Status, Store};

use super::common::UsageError;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    /// Worker processes on this machine.
    Local,
    /// Slurm job arrays (sbatch), one task per point.
    Slurm,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Md,
    Csv,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sweep specification (TOML; see docs/sweep.md and sweeps/).
    pub spec: PathBuf,
    /// Results store (SQLite). Default: beside the spec, SPEC.sqlite.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Folder of the points' working files and logs. Default: runs/sweep-<spec name>.
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Where the points run.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: BackendArg,
    /// Local workers at once (default: the spec's `jobs`, else the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Run the failed points again too.
    #[arg(long)]
    pub retry_failed: bool,
    /// Print the store's table for this spec instead of running.
    #[arg(long)]
    pub table: bool,
    /// Table format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Write the HTML report (plots and tables) for this spec instead of running.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Only the points whose label (`tag@board~sSEED`, as progress lines show them) contains
    /// one of these `|`-separated texts (`^` anchors one to the start); for running, --table
    /// and --report alike.
    #[arg(long, value_name = "TEXT|TEXT")]
    pub filter: Option<String>,
    /// List the points (index, key, label, status) instead of running.
    #[arg(long)]
    pub list: bool,
    /// JSON on standard output (rows for --table, a summary after a run); no progress bar.
    #[arg(long)]
    pub json: bool,
    /// Run one point in this process (a worker): its index in the spec, or in --batch.
    #[arg(long, value_name = "INDEX")]
    pub run_point: Option<usize>,
    /// The batch --run-point's index is in (set by the backends).
    #[arg(long, requires = "run_point")]
    pub batch: Option<i64>,
    /// Slurm partition (overrides the spec's [slurm] partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per task (overrides [slurm] time).
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm memory per task, e.g. 2G (overrides [slurm] mem; default: the points' estimate).
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm CPUs per task (overrides [slurm] cpus_per_task).
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let spec = Spec::load(&args.spec)?;
    let store_path = args
        .store
        .clone()
        .unwrap_or_else(|| sweep::default_store(&args.spec));
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| sweep::default_work(&spec));
    if let Some(index) = args.run_point {
        let work = std::path::absolute(&work).unwrap_or(work);
        return Ok(
            match worker::run_point(
                &spec,
                &store_path,
                &work,
                index,
                args.batch,
                args.retry_failed,
            )? {
                Worked::Ran(Status::Failed) => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            },
        );
    }
    if args.table || args.report.is_some() {
        return show(&args, &spec, &store_path);
    }
    let store = Store::open(&store_path)?;
    let mut plan = sweep::plan(&spec, &store, args.retry_failed)?;
    if let Some(f) = &args.filter {
        plan.todo.retain(|p| table::matches(f, &p.label));
    }
    if args.list {
        for (i, (p, k)) in spec.points.iter().zip(&plan.keys).enumerate() {
            if args
                .filter
                .as_ref()
                .is_some_and(|f| !table::matches(f, &sweep::label(p)))
            {
                continue;
            }
            let s = store.status(k)?.unwrap_or(Status::Pending);
            outln!("{i}\t{k}\t{}\t{}", sweep::label(p), s.name());
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "sweep {}: {} points ({} duplicates dropped): {} done, {} failed{}, {} running elsewhere, {} to run{}; store {}",
        spec.name,
        spec.points.len(),
        spec.duplicates,
        plan.done,
        plan.failed,
        if args.retry_failed {
            format!(" ({} put back to run)", plan.retried)
        } else {
            String::new()
        },
        plan.running,
        plan.todo.len(),
        if plan.recovered > 0 {
            format!(" ({} interrupted earlier)", plan.recovered)
        } else {
            String::new()
        },
        store_path.display()
    );
    let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let mut worker = WorkerCommand {
        exe: std::env::current_exe().context("locating this program")?,
        spec: abs(&args.spec),
        store: abs(&store_path),
        work: abs(&work),
        batch: 0,
    };
    let mut progress = Display::new(plan.todo.len());
    let mut interrupted = false;
    if !plan.todo.is_empty() {
        match args.backend {
            BackendArg::Local => {
                let keys: Vec<String> = plan.todo.iter().map(|p| p.key.clone()).collect();
                worker.batch = store.new_batch(&spec.name, "local", &keys)?;
                let jobs = args
                    .jobs
                    .map(|j| j as usize)
                    .or(spec.jobs)
                    .unwrap_or_else(local::cores);
                progress.say(&format!(
                    "sweep: local backend, {jobs} worker(s) at most, logs in {}",
                    worker.work.join("logs").display()
                ));
                match local::run(&worker, &store, &plan.todo, jobs, &mut progress)? {
                    local::Ended::Complete => {}
                    local::Ended::Drained => {
                        interrupted = true;
                        progress.say("sweep: interrupted: the running points finished; the rest stay pending");
                    }
                    local::Ended::Killed(n) => {
                        interrupted = true;
                        progress.say(&format!(
                            "sweep: interrupted: {n} running point(s) killed and pending again"
                        ));
                    }
                }
            }
            BackendArg::Slurm => {
                let mut settings = spec.slurm.clone();
                if args.partition.is_some() {
                    settings.partition = args.partition.clone();
                }
                if args.time.is_some() {
                    settings.time = args.time.clone();
                }
                if args.mem.is_some() {
                    settings.mem = args.mem.clone();
                }
                if args.cpus_per_task.is_some() {
                    settings.cpus_per_task = args.cpus_per_task;
                }
                let res = slurm::Resources {
                    settings,
                    mem_mb: plan.todo.iter().map(|p| p.mem_mb).max().unwrap_or(1000),
                };
                let arrays =
                    slurm::submit(&worker, &store, &spec.name, &plan.todo, &res, &mut progress)?;
                let labels: BTreeMap<String, String> = plan
                    .todo
                    .iter()
                    .map(|p| (p.key.clone(), p.label.clone()))
                    .collect();
                if slurm::follow(&arrays, &store, &labels, &mut progress)?
                    == slurm::Followed::Detached
                {
                    interrupted = true;
                }
            }
        }
    }
    progress.finish();
    let counts = store.counts(&plan.keys)?;
    eprintln!(
        "sweep {}: {} done, {} failed, {} running, {} pending (store {}; `systolic sweep {} --table`)",
        spec.name,
        counts[2],
        counts[3],
        counts[1],
        counts[0],
        store_path.display(),
        args.spec.display()
    );
    if args.json {
        let rows = store.rows(Some(&spec.name))?;
        let v = serde_json::json!({
            "spec": spec.name,
            "store": store_path.display().to_string(),
            "backend": format!("{:?}", args.backend).to_lowercase(),
            "interrupted": interrupted,
            "counts": {"pending": counts[0], "running": counts[1], "done": counts[2], "failed": counts[3]},
            "points": table::json(&rows),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(if interrupted {
        ExitCode::from(130)
    } else if counts[3] > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--table` and `--report`: read the store, run nothing.
fn show(args: &Args, spec: &Spec, store_path: &std::path::Path) -> anyhow::Result<ExitCode> {
    if !store_path.is_file() {
        return Err(UsageError {
            message: format!(
                "no results store at {}: run the sweep first (`systolic sweep {}`)",
                store_path.display(),
                args.spec.display()
            ),
            hint: Some("or give the store with --store PATH"),
        }
        .into());
    }
    // The report's path is checked before the store is read (a folder, a missing folder or a
    // socket is a usage error; /dev/stdout is written through).
    let report_out = match &args.report {
        Some(p) => Some(OutputPath::check(p, "--report")?),
        None => None,
    };
    let store = Store::open(store_path)?;
    let mut rows = store.rows(Some(&spec.name))?;
    if let Some(f) = &args.filter {
        rows.retain(|r| table::matches(f, &table::row_label(r)));
    }
    if let Some(out) = &report_out {
        let html = report::html(&spec.name, &store_path.display().to_string(), &rows)
            .map_err(|e| anyhow::anyhow!("drawing the report: {e}"))?;
        out.write(html.as_bytes())
            .map_err(|e| anyhow::anyhow!("--report {}: {e}", out.path().display()))?;
        eprintln!("sweep: report written to {}", out.path().display());
    }
    if args.table {
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&table::json(&rows))?);
        } else {
            let format = match args.format {
                FormatArg::Md => Format::Markdown,
                FormatArg::Csv => Format::Csv,
            };
            let text = table::render(&rows, format);
            outln!("{}", text.trim_end());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A sweep's progress on standard error: a bar (done, failed and running counts, rate, ETA)
/// when standard error is a terminal, else one line per finished point. Standard output is
/// never used here.
struct Display {
    bar: Option<ProgressBar>,
    total: usize,
    finished: usize,
}

impl Display {
    /// Progress over `total` points: a bar if standard error is a terminal.
    fn new(total: usize) -> Display {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            b.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:20}] {pos}/{len} {msg}, {per_sec}, ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        Display {
            bar,
            total,
            finished: 0,
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Display {
    fn update(&mut self, c: Counts) {
        if let Some(b) = &self.bar {
            b.set_position((c.done + c.failed) as u64);
            let queued = if c.queued > 0 {
                format!(", {} queued", c.queued)
            } else {
                String::new()
            };
            b.set_message(format!(
                "done {}, failed {}, running {}{queued}",
                c.done, c.failed, c.running
            ));
        }
    }

    /// A line per finished point when there is no bar (the bar counts them).
    fn finished(&mut self, label: &str, status: &str, detail: &str) {
        self.finished += 1;
        if self.bar.is_none() {
            eprintln!(
                "sweep: [{}/{}] {status} {label}{}{detail}",
                self.finished,
                self.total,
                if detail.is_empty() { "" } else { ": " }
            );
        }
    }

    /// A message, above the bar when there is one.
    fn say(&mut self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
}
