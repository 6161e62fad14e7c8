//! nextpnr-ice40 / nextpnr-ecp5: place and route a Yosys JSON netlist, with a timing target
//! (`--freq`), a JSON report (`--report`: achieved Fmax per clock, utilisation per cell type,
//! critical paths) and a log (`-l`). `--timing-allow-fail` is always given: a design that misses
//! its target is still placed, and the report says by how much.

use std::path::Path;
use std::time::Duration;

use super::board::Family;
use super::tool::{run_in, Located, Step};
use super::SynthError;

/// How the design's ports are constrained.
#[derive(Debug, Clone, PartialEq)]
pub enum PinConstraints {
    /// A `.pcf` / `.lpf` file (relative to the run folder).
    File(String),
    /// No pin file; nextpnr places the I/O itself (`--pcf-allow-unconstrained` /
    /// `--lpf-allow-unconstrained`): the I/O placement means nothing.
    Unconstrained,
    /// ECP5 `--out-of-context`: no I/O buffers, no global clock routing, no bitstream; for the
    /// area and timing of a bare block.
    OutOfContext,
}

/// nextpnr's router (`--router`); nextpnr's default is router1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Router {
    #[default]
    Router1,
    /// Negotiated congestion routing: the one to try on large, congested designs where
    /// router1 keeps ripping up the same wires.
    Router2,
}

impl Router {
    pub fn name(self) -> &'static str {
        match self {
            Router::Router1 => "router1",
            Router::Router2 => "router2",
        }
    }
}

/// One place-and-route run. Paths are relative to the run folder.
#[derive(Debug, Clone)]
pub struct NextpnrRun {
    pub family: Family,
    /// The device flag without dashes (`up5k`, `25k`).
    pub device: String,
    pub package: String,
    /// ECP5 speed grade.
    pub speed: Option<u32>,
    pub json: String,
    pub freq_mhz: f64,
    pub pins: PinConstraints,
    pub report: String,
    pub log: String,
    /// The placed-and-routed configuration to write: `.asc` (iCE40) or the Trellis text
    /// configuration (ECP5); not possible out of context.
    pub output: Option<String>,
    pub seed: Option<u64>,
    pub router: Router,
}

impl NextpnrRun {
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            format!("--{}", self.device),
            "--package".into(),
            self.package.clone(),
            "--json".into(),
            self.json.clone(),
            "--freq".into(),
            format!("{}", self.freq_mhz),
            "--report".into(),
            self.report.clone(),
            "--timing-allow-fail".into(),
            "-q".into(),
            "-l".into(),
            self.log.clone(),
        ];
        if let (Family::Ecp5, Some(s)) = (self.family, self.speed) {
            a.extend(["--speed".into(), s.to_string()]);
        }
        if let Some(seed) = self.seed {
            a.extend(["--seed".into(), seed.to_string()]);
        }
        if self.router != Router::default() {
            a.extend(["--router".into(), self.router.name().into()]);
        }
        match (&self.pins, self.family) {
            (PinConstraints::File(f), Family::Ice40) => a.extend(["--pcf".into(), f.clone()]),
            (PinConstraints::File(f), Family::Ecp5) => a.extend(["--lpf".into(), f.clone()]),
            (PinConstraints::Unconstrained, Family::Ice40) => {
                a.push("--pcf-allow-unconstrained".into())
            }
            (PinConstraints::Unconstrained, Family::Ecp5) => {
                a.push("--lpf-allow-unconstrained".into())
            }
            (PinConstraints::OutOfContext, _) => a.push("--out-of-context".into()),
        }
        if let Some(out) = &self.output {
            match self.family {
                Family::Ice40 => a.extend(["--asc".into(), out.clone()]),
                Family::Ecp5 => a.extend(["--textcfg".into(), out.clone()]),
            }
        }
        a
    }

    pub fn run(&self, nextpnr: &Located, dir: &Path, limit: Duration) -> Result<Step, SynthError> {
        if self.pins == PinConstraints::OutOfContext {
            if self.family != Family::Ecp5 {
                return Err(SynthError::Unsupported(
                    "nextpnr --out-of-context exists for ECP5 only".into(),
                ));
            }
            if self.output.is_some() {
                return Err(SynthError::Unsupported(
                    "nextpnr-ecp5 writes no bitstream configuration out of context".into(),
                ));
            }
        }
        let log = dir.join(&self.log);
        run_in(
            nextpnr,
            &self.args(),
            dir,
            &self.log,
            true,
            limit,
            &mut || router1_stall(&std::fs::read_to_string(&log).unwrap_or_default()),
        )
    }
}

/// Batches of 1,000 router1 iterations that [`router1_stall`] must see without progress.
const STALL_BATCHES: usize = 200;

/// nextpnr's router1 sometimes loops forever on a placement (YosysHQ/nextpnr issues 179 and
/// 1341: the same arcs ripped up and rerouted; another seed or router2 routes the same design;
/// seen here on the HX8K breakout's 4x4 board top with carry-chain multipliers, seed 1, which
/// ran 15 million iterations). Its progress table has a row per 1,000 iterations (`IterCnt |
/// w/ripup wo/ripup | w/r wo/r | remaining arcs | ...`): when the last [`STALL_BATCHES`] rows
/// all ripped up 1,000 arcs, routed none without, and left the same number of arcs, the
/// router is stuck; the reason names the way out.
pub fn router1_stall(log: &str) -> Option<String> {
    // (ripped-up delta, not-ripped-up delta, remaining) of each progress row.
    let rows: Vec<(u64, u64, u64)> = log
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.strip_prefix("Info:")?.split('|').collect();
            let num = |s: &str| -> Option<Vec<u64>> {
                s.split_whitespace().map(|n| n.parse().ok()).collect()
            };
            let (delta, left) = (num(cols.get(2)?)?, num(cols.get(3)?)?);
            (num(cols.first()?)?.len() == 1 && delta.len() == 2 && left.len() == 1)
                .then(|| (delta[0], delta[1], left[0]))
        })
        .collect();
    let last = rows.get(rows.len().checked_sub(STALL_BATCHES)?..)?;
    let left = last[0].2;
    last.iter()
        .all(|&(rip, fresh, l)| rip == 1000 && fresh == 0 && l == left)
        .then(|| {
            format!(
                "nextpnr's router1 stopped making progress: {left} arcs left after {} iterations \
                 of ripping up the same arcs (a known nextpnr issue on some placements); rerun \
                 with another --seed, or --router router2",
                STALL_BATCHES * 1000
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A router1 progress row as nextpnr 0.11 prints it.
    fn row(iter: u64, rip: u64, fresh: u64, left: u64) -> String {
        format!(
            "Info: {iter:>10} | {:>8} {:>10} | {rip:>4} {fresh:>5} | {left:>9}|       0.07       1.41|",
            iter / 2,
            iter / 2
        )
    }

    #[test]
    fn router1_stall_needs_every_recent_batch_stuck() {
        // The shape of the hang seen on the HX8K breakout (seed 1): progress, then the same
        // 15,578 arcs left while 1,000 arcs a batch are ripped up.
        let mut log = String::from(
            "Info: Routing 17429 arcs.\nInfo:            |   (re-)routed arcs  |   delta    | remaining|       time spent     |\nInfo:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|\n",
        );
        log += &row(1000, 82, 917, 16528);
        log += "\n";
        log += &row(2000, 43, 957, 15584);
        log += "\n";
        let stuck = |n: usize| -> String {
            (0..n)
                .map(|k| row(3000 + 1000 * k as u64, 1000, 0, 15578) + "\n")
                .collect()
        };
        assert_eq!(
            router1_stall(&(log.clone() + &stuck(STALL_BATCHES - 1))),
            None
        );
        let e = router1_stall(&(log.clone() + &stuck(STALL_BATCHES))).expect("stuck");
        assert!(
            e.contains("15578 arcs left") && e.contains("--router router2"),
            "{e}"
        );
        // Progress anywhere in the window, or batches that route arcs without ripping up, is
        // not a stall.
        let moving = stuck(STALL_BATCHES - 1) + &row(999_000, 1000, 0, 15577) + "\n";
        assert_eq!(router1_stall(&(log.clone() + &moving)), None);
        let routing = stuck(STALL_BATCHES - 1) + &row(999_000, 900, 100, 15578) + "\n";
        assert_eq!(router1_stall(&(log + &routing)), None);
        // router2's log has no such rows.
        assert_eq!(
            router1_stall("Info: Running router2...\nInfo:     iter=1 wires=8032 overused=1 overuse=1 archfail=NA\n"),
            None
        );
    }

    #[test]
    fn args_per_family() {
        let mut r = NextpnrRun {
            family: Family::Ice40,
            device: "up5k".into(),
            package: "sg48".into(),
            speed: None,
            json: "netlist.json".into(),
            freq_mhz: 30.0,
            pins: PinConstraints::Unconstrained,
            report: "nextpnr-report.json".into(),
            log: "nextpnr.log".into(),
            output: Some("design.asc".into()),
            seed: None,
            router: Router::Router1,
        };
        let a = r.args().join(" ");
        assert!(
            !a.contains("--router"),
            "nextpnr's default router is not named: {a}"
        );
        assert!(a.starts_with("--up5k --package sg48 --json netlist.json --freq 30 "));
        assert!(a.contains("--pcf-allow-unconstrained"));
        assert!(a.contains("--asc design.asc"));
        r.family = Family::Ecp5;
        r.device = "25k".into();
        r.speed = Some(6);
        r.pins = PinConstraints::OutOfContext;
        r.output = None;
        let a = r.args().join(" ");
        assert!(a.contains("--25k") && a.contains("--speed 6") && a.contains("--out-of-context"));
        r.router = Router::Router2;
        assert!(r.args().join(" ").contains("--router router2"));
    }
}
