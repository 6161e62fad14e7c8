//! `systolic generate`: write the Verilog of one configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use systolic::generate::write_design;

use super::common::ConfigArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output directory (default: generated/<config name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = args.config.resolve()?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("generated").join(&cfg.name));
    let summary = write_design(&cfg, &out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "generated {} ({}x{} {}, hash {}): {} files, {} bytes in {}",
            cfg.name,
            cfg.rows,
            cfg.cols,
            cfg.format,
            cfg.hash(),
            summary.files.len(),
            summary.bytes,
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
