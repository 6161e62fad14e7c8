//! The iCE40 timing cross-check: icestorm's `icetime` (Debian's `fpga-icestorm`), an analysis
//! of the placed and routed `.asc` independent of nextpnr's timing model. nextpnr-ice40 does
//! not model the delay inside SB_MAC16, and any single timer's figures deserve a second
//! opinion, so every iCE40 run that writes an `.asc` reports icetime's estimate beside
//! nextpnr's Fmax when icetime is installed (a note says so when it is not).
//!
//! `icetime -d DEVICE -P PACKAGE -m -t -r icetime.txt design.asc`: the report's
//! `Total path delay: D ns (F MHz)` and `Total number of logic levels: N` lines are parsed.
//! icetime's estimate is conservative (it says so: `max_span_hack`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

/// What icetime found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Icetime {
    /// The longest path's delay, ns.
    pub delay_ns: f64,
    /// `1000 / delay_ns`, as icetime prints it.
    pub mhz: f64,
    /// Logic levels on that path.
    pub logic_levels: u32,
    /// The report, relative to the run folder.
    pub report: String,
}

/// The report file icetime writes in the run folder.
pub const REPORT: &str = "icetime.txt";

/// `icetime` on `PATH`, if installed.
pub fn locate() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("icetime"))
        .find(|p| p.is_file())
}

/// Run icetime on `asc` (relative to `dir`) for `device` / `package`. An error is a message for
/// the report's notes: a cross-check that fails does not fail the flow.
pub fn run(
    icetime: &Path,
    dir: &Path,
    asc: &str,
    device: &str,
    package: &str,
    limit: Duration,
) -> Result<Icetime, String> {
    let mut cmd = Command::new(icetime);
    cmd.args(["-d", device, "-P", package, "-m", "-t", "-r", REPORT, asc])
        .current_dir(dir);
    let run = crate::tools::run(&mut cmd, limit).map_err(|e| format!("icetime: {e}"))?;
    if !run.success() {
        let last = run.stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(format!("icetime failed ({}): {last}", run.status));
    }
    let text = std::fs::read_to_string(dir.join(REPORT))
        .map_err(|e| format!("icetime: reading {REPORT}: {e}"))?;
    parse(&text).ok_or_else(|| format!("icetime: no total path delay in {REPORT}"))
}

/// The figures of an icetime report.
pub fn parse(text: &str) -> Option<Icetime> {
    let after = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
    };
    let delay = after("Total path delay:")?;
    let delay_ns: f64 = delay.split_whitespace().next()?.parse().ok()?;
    let mhz: f64 = delay
        .split('(')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let logic_levels = after("Total number of logic levels:")?.parse().ok()?;
    Some(Icetime {
        delay_ns,
        mhz,
        logic_levels,
        report: REPORT.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_totals() {
        let text = "icetime topological timing analysis report\n\
                    ...\n\
                    Total number of logic levels: 7\n\
                    Total path delay: 26.89 ns (37.18 MHz)\n";
        let t = parse(text).unwrap();
        assert_eq!((t.delay_ns, t.mhz, t.logic_levels), (26.89, 37.18, 7));
        assert!(parse("Total path delay: n/a\n").is_none());
    }
}
