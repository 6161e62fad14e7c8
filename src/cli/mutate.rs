//! `systolic mutate`: a mutation campaign. Mutants of the generated Verilog (one site each, made
//! on the typed description) are built and run through the co-simulation checks, cheap to
//! expensive; the kill rate per module and every survivor with its diff are printed.
//!
//! Each mutant runs in a child process of this program (`--only MODULE:INDEX`), so a mutant that
//! makes the simulator abort (e.g. a combinational loop that does not converge) or hang (a wall
//! time limit) ends only that child; its Verilator build goes to a scratch cache removed after it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use systolic::mutate::{self as campaign, MutantInfo, Verdict};
use systolic::rtl::design::Level;

use super::common::{ConfigArgs, UsageError};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Design level: core (the array, skew, deskew, PSUM and control behind valid/ready),
    /// engine (the core with the SBUF, sequencer and AXI4-Lite slave; integer formats) or board
    /// (the UART receiver and transmitter, the frame bridge and the board top in front of the
    /// engine, checked through the UART pins at 8 cycles per bit; integer formats).
    #[arg(long, default_value = "core", value_parser = ["core", "engine", "board"])]
    pub level: String,
    /// Mutants in all, spread evenly over the modules.
    #[arg(long, default_value_t = 40)]
    pub sample: usize,
    /// Seed of the sample and of the checks' random programs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these modules (comma-separated names, e.g. systolic_pe,systolic_psum).
    #[arg(long, value_delimiter = ',')]
    pub modules: Vec<String>,
    /// Only these checks of the level (comma-separated names, in the level's order; default:
    /// all), e.g. to show one check failing on a planted bug.
    #[arg(long, value_delimiter = ',')]
    pub checks: Vec<String>,
    /// List the sampled mutants (with their diffs) and stop.
    #[arg(long)]
    pub list: bool,
    /// Append each mutant's result to FILE (JSON lines); results already there are reused, so
    /// an interrupted campaign resumes.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Wall-time limit per mutant in seconds (a mutant over it counts as killed by `timeout`).
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run one mutant (MODULE:INDEX) in this process and print its verdict as JSON (what the
    /// campaign runs in its child processes).
    #[arg(long, hide = true)]
    pub only: Option<String>,
    /// Verilator build cache of `--only`.
    #[arg(long, hide = true)]
    pub cache: Option<PathBuf>,
}

#[derive(Serialize, serde::Deserialize, Clone, Debug)]
struct LogLine {
    module: String,
    index: usize,
    verdict: serde_json::Value,
    seconds: f64,
}

#[derive(Serialize)]
struct Outcome {
    #[serde(flatten)]
    mutant: MutantInfo,
    #[serde(flatten)]
    verdict: Verdict,
    seconds: f64,
}

#[derive(Serialize, Default, Clone)]
struct Tally {
    mutants: usize,
    killed: usize,
    survived: usize,
    invalid: usize,
    /// Survivors whose site is in a generate branch this configuration does not elaborate
    /// (equivalent by construction): not in the kill rate.
    not_elaborated: usize,
    /// killed / (killed + survived), in percent.
    kill_rate: f64,
}

impl Tally {
    fn add(&mut self, v: &Verdict, elaborated: bool) {
        self.mutants += 1;
        match v {
            Verdict::Killed { .. } => self.killed += 1,
            Verdict::Survived if !elaborated => self.not_elaborated += 1,
            Verdict::Survived => self.survived += 1,
            Verdict::Invalid { .. } => self.invalid += 1,
        }
        let valid = self.killed + self.survived;
        self.kill_rate = if valid == 0 {
            100.0
        } else {
            100.0 * self.killed as f64 / valid as f64
        };
    }
}

#[derive(Serialize)]
struct Report {
    config: String,
    level: String,
    seed: u64,
    checks: Vec<String>,
    per_module: BTreeMap<String, Tally>,
    per_kind: BTreeMap<String, Tally>,
    overall: Tally,
    wall_seconds: f64,
    mutants: Vec<Outcome>,
}

fn level_of(name: &str) -> Level {
    match name {
        "engine" => Level::Engine,
        "board" => Level::Board,
        _ => Level::Core,
    }
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

/// `--only MODULE:INDEX`: one mutant through the checks, its verdict as JSON.
fn run_one(
    args: &Args,
    only: &str,
    design: &systolic::rtl::design::Design,
    checks: &[campaign::Check],
) -> anyhow::Result<ExitCode> {
    const ONLY_HINT: &str = "give --only MODULE:INDEX as --list prints it, e.g. systolic_pe:3";
    let (module, index) = only
        .rsplit_once(':')
        .and_then(|(m, i)| Some((m, i.parse::<usize>().ok()?)))
        .ok_or_else(|| usage(format!("--only {only}: not MODULE:INDEX"), ONLY_HINT))?;
    let mutant = campaign::mutant_design(design, module, index).ok_or_else(|| {
        usage(
            format!(
                "--only {only}: the {} design has no such mutant",
                args.level
            ),
            ONLY_HINT,
        )
    })?;
    let cache = args
        .cache
        .clone()
        .unwrap_or_else(systolic::cosim::verilator::default_cache_root);
    let verdict = campaign::run_checks(&mutant, checks, args.seed, &cache);
    outln!("{}", serde_json::to_string(&verdict)?);
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = args.config.resolve()?;
    let level = level_of(&args.level);
    if level != Level::Core && cfg.format.is_float() {
        return Err(UsageError {
            message: format!("{} campaigns compare integer products", args.level),
            hint: Some("give an integer --format"),
        }
        .into());
    }
    if args.sample == 0 && args.only.is_none() {
        return Err(usage(
            "--sample 0: a campaign of no mutants checks nothing".into(),
            "give --sample N with N >= 1 (default 40)",
        ));
    }
    let design = campaign::design(&cfg, level);
    let checks = selected_checks(&args, &design)?;
    if let Some(only) = &args.only {
        return run_one(&args, only, &design, &checks);
    }
    let modules = selected_modules(&args, &design)?;
    let sample = campaign::sample(&design, &modules, args.sample, args.seed);
    if sample.is_empty() {
        return Err(usage(
            format!("no mutation sites in {}", modules.join(", ")),
            "choose other --modules (the default is every module of the level)",
        ));
    }
    if args.list {
        print_list(&sample);
        return Ok(ExitCode::SUCCESS);
    }

    let start = Instant::now();
    eprintln!(
        "mutate: {} {} ({}), {} mutants over {} modules; checks: {}",
        args.level,
        cfg.name,
        cfg.tag(),
        sample.len(),
        modules.len(),
        checks.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    );
    let default_cache = systolic::cosim::verilator::default_cache_root();
    match campaign::run_checks(&design, &checks, args.seed, &default_cache) {
        Verdict::Survived => eprintln!("mutate: the unmodified design passes every check"),
        other => anyhow::bail!("the unmodified design does not pass the checks: {other:?}"),
    }
    let outcomes = run_sample(&args, &sample, &default_cache.join("mutants"))?;
    let (per_module, per_kind, overall) = tally(&outcomes);
    let report = Report {
        config: cfg.name.clone(),
        level: args.level.clone(),
        seed: args.seed,
        checks: checks.iter().map(|c| c.name.to_string()).collect(),
        per_module,
        per_kind,
        overall,
        wall_seconds: start.elapsed().as_secs_f64(),
        mutants: outcomes,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The level's checks, or those `--checks` names (each must exist).
fn selected_checks(
    args: &Args,
    design: &systolic::rtl::design::Design,
) -> anyhow::Result<Vec<campaign::Check>> {
    let mut checks = campaign::checks(design);
    if args.checks.is_empty() {
        return Ok(checks);
    }
    if let Some(bad) = args
        .checks
        .iter()
        .find(|c| !checks.iter().any(|k| k.name == c.as_str()))
    {
        return Err(UsageError {
            message: format!("--checks: the {} level has no check {bad}", args.level),
            hint: Some("the checks are listed in the campaign's first line"),
        }
        .into());
    }
    checks.retain(|k| args.checks.iter().any(|c| c == k.name));
    Ok(checks)
}

/// The level's default modules, or those `--modules` names (each must be in the design).
fn selected_modules(
    args: &Args,
    design: &systolic::rtl::design::Design,
) -> anyhow::Result<Vec<String>> {
    if args.modules.is_empty() {
        return Ok(campaign::default_modules(design));
    }
    if let Some(m) = args
        .modules
        .iter()
        .find(|m| !design.modules.iter().any(|d| &d.name == *m))
    {
        return Err(UsageError {
            message: format!("the {} design has no module {m}", args.level),
            hint: Some("see the file list of `systolic generate`"),
        }
        .into());
    }
    Ok(args.modules.clone())
}

/// `--list`: each sampled mutant with its diff.
fn print_list(sample: &[MutantInfo]) {
    for m in sample {
        outln!(
            "{}:{} [{}]{} {}\n{}",
            m.module,
            m.index,
            m.kind.name(),
            if m.elaborated {
                ""
            } else {
                " (not elaborated)"
            },
            m.description,
            m.diff
        );
    }
}

/// The verdicts `--log` already holds, by (module, index); none when there is no log yet.
fn read_log(path: Option<&PathBuf>) -> anyhow::Result<BTreeMap<(String, usize), LogLine>> {
    let mut done = BTreeMap::new();
    let Some(Ok(f)) = path.map(std::fs::File::open) else {
        return Ok(done);
    };
    for line in std::io::BufReader::new(f).lines() {
        if let Ok(l) = serde_json::from_str::<LogLine>(&line?) {
            done.insert((l.module.clone(), l.index), l);
        }
    }
    Ok(done)
}

/// Appends one verdict to `--log`.
fn append_log(path: &PathBuf, m: &MutantInfo, v: &Verdict, seconds: f64) -> anyhow::Result<()> {
    let line = LogLine {
        module: m.module.clone(),
        index: m.index,
        verdict: serde_json::to_value(v)?,
        seconds,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{}", serde_json::to_string(&line)?)?;
    Ok(())
}

/// Each mutant of `sample` in a child process (or its verdict from the log), a line each.
fn run_sample(
    args: &Args,
    sample: &[MutantInfo],
    scratch: &std::path::Path,
) -> anyhow::Result<Vec<Outcome>> {
    let done = read_log(args.log.as_ref())?;
    let exe = std::env::current_exe()?;
    let mut outcomes = vec![];
    for (n, m) in sample.iter().enumerate() {
        let (verdict, seconds) = if let Some(l) = done.get(&(m.module.clone(), m.index)) {
            (serde_json::from_value(l.verdict.clone())?, l.seconds)
        } else {
            let t = Instant::now();
            let v = run_child(&exe, args, m, scratch)?;
            let s = t.elapsed().as_secs_f64();
            if let Some(path) = &args.log {
                append_log(path, m, &v, s)?;
            }
            (v, s)
        };
        eprintln!(
            "[{}/{}] {}:{} {:.0}s {} -- {}",
            n + 1,
            sample.len(),
            m.module,
            m.index,
            seconds,
            match &verdict {
                Verdict::Killed { check, .. } => format!("killed by {check}"),
                Verdict::Survived if !m.elaborated => "survived (not elaborated)".into(),
                Verdict::Survived => "SURVIVED".into(),
                Verdict::Invalid { .. } => "invalid".into(),
            },
            m.description
        );
        outcomes.push(Outcome {
            mutant: m.clone(),
            verdict,
            seconds,
        });
    }
    Ok(outcomes)
}

type Tallies = (BTreeMap<String, Tally>, BTreeMap<String, Tally>, Tally);

/// The verdicts counted per module, per kind of mutation and overall.
fn tally(outcomes: &[Outcome]) -> Tallies {
    let mut per_module: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut overall = Tally::default();
    for o in outcomes {
        let e = o.mutant.elaborated;
        per_module
            .entry(o.mutant.module.clone())
            .or_default()
            .add(&o.verdict, e);
        per_kind
            .entry(o.mutant.kind.name().to_string())
            .or_default()
            .add(&o.verdict, e);
        overall.add(&o.verdict, e);
    }
    (per_module, per_kind, overall)
}

fn print_report(r: &Report) {
    outln!(
        "Mutation campaign: {} level, config {}, seed {}; checks {}; {:.0} s",
        r.level,
        r.config,
        r.seed,
        r.checks.join(" > "),
        r.wall_seconds
    );
    outln!(
        "{:<22} {:>7} {:>7} {:>8} {:>7} {:>8} {:>9}",
        "module",
        "mutants",
        "killed",
        "survived",
        "invalid",
        "not elab",
        "kill rate"
    );
    let row = |name: &str, t: &Tally| {
        outln!(
            "{:<22} {:>7} {:>7} {:>8} {:>7} {:>8} {:>8.1}%",
            name,
            t.mutants,
            t.killed,
            t.survived,
            t.invalid,
            t.not_elaborated,
            t.kill_rate
        )
    };
    for (m, t) in &r.per_module {
        row(m, t);
    }
    row("all", &r.overall);
    outln!("");
    for (k, t) in &r.per_kind {
        row(k, t);
    }
    let invalid: Vec<&Outcome> = r
        .mutants
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Invalid { .. }))
        .collect();
    if !invalid.is_empty() {
        outln!("\nInvalid (Verilator does not build them; not counted as kills):");
        for o in invalid {
            if let Verdict::Invalid { reason } = &o.verdict {
                outln!(
                    "  {}:{} {} -- {reason}",
                    o.mutant.module,
                    o.mutant.index,
                    o.mutant.description
                );
            }
        }
    }
    let unelaborated: Vec<&Outcome> = r
        .mutants
        .iter()
        .filter(|o| o.verdict == Verdict::Survived && !o.mutant.elaborated)
        .collect();
    if !unelaborated.is_empty() {
        outln!("\nIn generate branches this configuration does not elaborate (equivalent here):");
        for o in unelaborated {
            outln!(
                "  {}:{} {}",
                o.mutant.module,
                o.mutant.index,
                o.mutant.description
            );
        }
    }
    let survivors: Vec<&Outcome> = r
        .mutants
        .iter()
        .filter(|o| o.verdict == Verdict::Survived && o.mutant.elaborated)
        .collect();
    outln!("\nSurvivors: {}", survivors.len());
    for o in survivors {
        outln!(
            "\n{}:{} [{}] {}\n{}",
            o.mutant.module,
            o.mutant.index,
            o.mutant.kind.name(),
            o.mutant.description,
            o.mutant.diff
        );
    }
}

/// Run one mutant in a child process of this program; its verdict.
fn run_child(
    exe: &std::path::Path,
    args: &Args,
    m: &MutantInfo,
    scratch: &std::path::Path,
) -> anyhow::Result<Verdict> {
    let cache = scratch.join(format!("{}-{}", m.module, m.index));
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(scratch)?;
    // Standard error goes to a file: a pipe nobody reads while the child runs could fill up.
    let err_path = scratch.join(format!("{}-{}.stderr", m.module, m.index));
    // The parent's own arguments (the configuration, level, seed) and the mutant.
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1))
        .arg("--only")
        .arg(format!("{}:{}", m.module, m.index))
        .arg("--cache")
        .arg(&cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path)?);
    let mut child = cmd.spawn()?;
    let limit = Duration::from_secs(args.timeout);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut o, &mut out);
    }
    if let Ok(text) = std::fs::read_to_string(&err_path) {
        err = text;
    }
    let _ = std::fs::remove_dir_all(&cache);
    let _ = std::fs::remove_file(&err_path);
    let verdict = match status {
        None => Verdict::Killed {
            check: "timeout".into(),
            detail: format!("no verdict within {} s", args.timeout),
        },
        Some(s) => match out.lines().find_map(|l| serde_json::from_str(l).ok()) {
            Some(v) if s.success() => v,
            _ => Verdict::Killed {
                check: "crash".into(),
                detail: format!(
                    "the simulation process ended with {s}: {}",
                    err.lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("")
                ),
            },
        },
    };
    Ok(verdict)
}
