//! `systolic cosim`: generate a random program, run it on the RTL (Verilator) and on the golden
//! model, compare every PSUM read in order and the cycle count, and summarise. Programs of any
//! length stream: they are generated, run and checked [`STREAM_CHUNK`] instructions at a time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use systolic::cosim::{CosimError, Harness, HarnessOptions, Stalls, Waves};
use systolic::files::{FileError, OutputPath};
use systolic::program::{GenOptions, RandomStream, STREAM_CHUNK};
use systolic::progress::Progress;

use super::common::{ConfigArgs, UsageError};
use super::progress::{catch_interrupt, Reporter};

/// Most MultiplyMoving instructions one run takes (about 100 minutes at 8x8 here).
pub const MAX_INSTRUCTIONS: u64 = 100_000_000;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seed of the random program (and of the stall pattern).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// MultiplyMoving instructions in the random program (loads and reads come on top),
    /// 1..=100000000; streamed, so memory does not grow with it.
    #[arg(long, default_value_t = 60)]
    pub instructions: u64,
    /// Random stalls on every handshake (valid withheld, rdata_ready dropped).
    #[arg(long)]
    pub stalls: bool,
    /// Write a waveform: FILE.vcd, or FILE.fst (several times smaller). A relative path goes
    /// under runs/<config>-seed<S>/. Written as FILE.partial and renamed when the run ends.
    #[arg(long, value_name = "FILE.vcd|FILE.fst")]
    pub waves: Option<PathBuf>,
    /// With --waves: the first cycle traced (default 0).
    #[arg(long, requires = "waves", value_name = "CYCLE")]
    pub waves_from: Option<u64>,
    /// With --waves: the cycle the trace stops (default: the end of the run).
    #[arg(long, requires = "waves", value_name = "CYCLE")]
    pub waves_to: Option<u64>,
    /// verilator --threads for the model (at least 1).
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

/// Every flag checked before anything is built; the waveform's final path and whether it is FST.
fn check(args: &Args, name: &str) -> anyhow::Result<Option<(PathBuf, bool)>> {
    if args.instructions == 0 || args.instructions > MAX_INSTRUCTIONS {
        return Err(usage(
            format!(
                "--instructions {}: allowed 1..={MAX_INSTRUCTIONS} (a check that compared nothing \
                 proves nothing)",
                args.instructions
            ),
            "the default is 60",
        ));
    }
    if args.threads == 0 {
        return Err(usage(
            "--threads 0: Verilator needs at least 1 thread".into(),
            "the default is 1",
        ));
    }
    if let (Some(from), Some(to)) = (args.waves_from, args.waves_to) {
        if to <= from {
            return Err(usage(
                format!("--waves-from {from} --waves-to {to}: the window is empty"),
                "give --waves-to greater than --waves-from",
            ));
        }
    }
    let Some(w) = &args.waves else {
        return Ok(None);
    };
    let fst = match w.extension().and_then(|e| e.to_str()) {
        Some("vcd") => false,
        Some("fst") => true,
        _ => {
            return Err(usage(
                format!("--waves {}: name a .vcd or a .fst file", w.display()),
                "e.g. --waves run.fst",
            ))
        }
    };
    let path = if w.is_absolute() {
        w.clone()
    } else {
        let dir = PathBuf::from("runs").join(format!("{name}-seed{}", args.seed));
        std::fs::create_dir_all(&dir).map_err(FileError::on("creating the folder", &dir))?;
        dir.join(w)
    };
    match OutputPath::check(&path, "--waves")? {
        OutputPath::File(p) => Ok(Some((p, fst))),
        OutputPath::Stream(p) => Err(usage(
            format!("--waves {}: a waveform needs a regular file", p.display()),
            "give a file name",
        )),
    }
}

/// The temporary name a waveform is written under until the run ends.
fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = args.config.resolve()?;
    let waves = check(&args, &cfg.name)?;
    catch_interrupt();
    let mut progress = Reporter::new(args.json);
    let opts = HarnessOptions {
        trace: waves.is_some(),
        fst: waves.as_ref().is_some_and(|(_, fst)| *fst),
        threads: args.threads,
        ..Default::default()
    };
    progress.stage("Verilator build", None);
    let design = systolic::rtl::core::design(&cfg);
    let harness = Harness::build_design(&design, &opts, &mut |line| progress.detail(line))?;
    progress.end();

    let gen = GenOptions {
        matmuls: args.instructions as usize,
        ..GenOptions::default()
    };
    let stalls = if args.stalls {
        Stalls::random(args.seed)
    } else {
        Stalls::NONE
    };
    let spec = waves.as_ref().map(|(path, _)| Waves {
        path: partial(path),
        from: args.waves_from.unwrap_or(0),
        to: args.waves_to,
    });
    let stream = RandomStream::new(&cfg, args.seed, &gen);
    let result = harness.run_stream(
        stream,
        stalls,
        spec.as_ref(),
        args.instructions,
        &mut progress,
    );
    drop(progress);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(w) = &spec {
                let _ = std::fs::remove_file(&w.path);
            }
            if matches!(e, CosimError::Interrupted) {
                eprintln!("interrupted: nothing written");
                return Ok(ExitCode::from(130));
            }
            return Err(e.into());
        }
    };
    if let (Some((path, _)), Some(w)) = (&waves, &spec) {
        if w.path.exists() {
            let doing = format!("renaming {} to", w.path.display());
            std::fs::rename(&w.path, path).map_err(FileError::on(&doing, path))?;
        }
    }
    print_report(
        &args,
        &report,
        harness.build_seconds,
        waves.as_ref().map(|w| &w.0),
    )?;
    Ok(if report.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_report(
    args: &Args,
    report: &systolic::cosim::Report,
    build_seconds: Option<f64>,
    waves: Option<&PathBuf>,
) -> anyhow::Result<()> {
    if args.json {
        let mut v = serde_json::to_value(report)?;
        v["seed"] = args.seed.into();
        v["build_seconds"] = build_seconds.into();
        v["programs"] = args.instructions.div_ceil(STREAM_CHUNK as u64).into();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{}", report.summary());
        outln!(
            "  seed {}, Verilator build {}",
            args.seed,
            match build_seconds {
                Some(s) => format!("{s:.1} s"),
                None => "cached".into(),
            }
        );
        if let Some(w) = waves {
            outln!("  waves: {}", w.display());
        }
    }
    Ok(())
}
