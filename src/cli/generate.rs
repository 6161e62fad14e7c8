//! `systolic generate`: write the Verilog of one configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use systolic::config::{self, Config, Overrides};
use systolic::generate::write_design;

use super::common::ConfigArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output directory (default: generated/<config name>).
    #[arg(long, conflicts_with = "all")]
    pub out: Option<PathBuf>,
    /// Regenerate generated/<preset>/ for every preset in seeds/ (and nothing else).
    #[arg(long, conflicts_with_all = ["preset", "rows", "cols", "format", "acc_bits", "psum_banks", "psum_depth"])]
    pub all: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.all {
        let seeds = config::seeds_dir();
        let mut configs = vec![];
        for name in config::list_presets(&seeds) {
            configs.push(Config::from_preset(&seeds, &name, &Overrides::default())?);
        }
        for cfg in &configs {
            let summary = write_design(cfg, &PathBuf::from("generated").join(&cfg.name))?;
            outln!(
                "generated {} (hash {}): {} files in {}{}",
                cfg.name,
                cfg.hash(),
                summary.files.len(),
                summary.dir.display(),
                removed_note(&summary.removed)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = args.config.resolve()?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("generated").join(&cfg.name));
    let summary = write_design(&cfg, &out)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!(
            "generated {} ({}x{} {}, hash {}): {} files, {} bytes in {}{}",
            cfg.name,
            cfg.rows,
            cfg.cols,
            cfg.format,
            cfg.hash(),
            summary.files.len(),
            summary.bytes,
            out.display(),
            removed_note(&summary.removed)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// "; removed ..." naming the stale module files a generation removed, or nothing.
fn removed_note(removed: &[String]) -> String {
    if removed.is_empty() {
        String::new()
    } else {
        format!(
            "; removed {} (no longer part of the design)",
            removed.join(", ")
        )
    }
}
