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
        run_in(nextpnr, &self.args(), dir, &self.log, true, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
