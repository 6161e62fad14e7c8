//! `systolic cosim`: generate a random program, run it on the RTL (Verilator) and on the golden
//! model, compare every PSUM read in order and the cycle count, and summarise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use systolic::cosim::{Harness, HarnessOptions, Stalls};
use systolic::program::{random_program, GenOptions, SplitMix64};

use super::common::ConfigArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seed of the random program (and of the stall pattern).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of MultiplyMoving instructions in the random program (loads and reads come on top).
    #[arg(long, default_value_t = 60)]
    pub instructions: usize,
    /// Random stalls on every handshake (valid withheld, rdata_ready dropped).
    #[arg(long)]
    pub stalls: bool,
    /// Write a VCD waveform. A relative path goes under runs/<config>-seed<S>/.
    #[arg(long, value_name = "FILE.vcd")]
    pub waves: Option<PathBuf>,
    /// verilator --threads for the model.
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = args.config.resolve()?;
    let tty = std::io::stderr().is_terminal();
    let opts = HarnessOptions {
        trace: args.waves.is_some(),
        threads: args.threads,
        ..Default::default()
    };
    let harness = Harness::build_design(&systolic::rtl::core::design(&cfg), &opts, &mut |line| {
        if tty {
            eprintln!("[verilator] {line}");
        }
    })?;

    let mut rng = SplitMix64::new(args.seed);
    let gen = GenOptions {
        matmuls: args.instructions,
        ..GenOptions::default()
    };
    let program = random_program(&cfg, &mut rng, &gen);
    let stalls = if args.stalls {
        Stalls::random(args.seed)
    } else {
        Stalls::NONE
    };

    let waves = args.waves.map(|w| {
        if w.is_absolute() {
            w
        } else {
            PathBuf::from("runs")
                .join(format!("{}-seed{}", cfg.name, args.seed))
                .join(w)
        }
    });
    if let Some(w) = &waves {
        if let Some(dir) = w.parent() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let outcome = harness.run(&program, stalls, waves.as_deref())?;
    let report = &outcome.report;
    if args.json {
        let mut v = serde_json::to_value(report)?;
        v["seed"] = args.seed.into();
        v["build_seconds"] = harness.build_seconds.into();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{}", report.summary());
        outln!(
            "  seed {}, Verilator build {}",
            args.seed,
            match harness.build_seconds {
                Some(s) => format!("{s:.1} s"),
                None => "cached".into(),
            }
        );
        if let Some(w) = &waves {
            outln!("  waves: {}", w.display());
        }
    }
    Ok(if report.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
