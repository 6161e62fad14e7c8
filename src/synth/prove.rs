//! Netlist equivalence: the post-synthesis netlist of the core (`systolic_top`), read back with
//! Yosys' cell models, against its RTL, as a sequential equivalence check.
//!
//! Steps, all in `<run folder>/prove/`:
//! 1. Synthesis of the core alone with the flow's script ([`YosysSynth`]) and three differences
//!    that keep the proof within reach of SAT: the PSUM memories `PSUM_DEPTH` entries deep
//!    ([`ProveOptions::psum_depth`], a parameter override of both sides), no block RAM or LUT
//!    RAM (memories as flip-flops: a RAM model is an array of registers without partners on
//!    the RTL side) and LUT multipliers. A netlist an earlier proof of the same design wrote
//!    there is reused when its script is the same.
//! 2. A miter (Yosys `miter -equiv`): gold = the RTL, gate = the netlist over the cell models,
//!    both flattened, memories as registers, asynchronous resets as synchronous ones; its one
//!    output is 1 in a cycle where any output of the two differs. Every register of both starts
//!    at 0 (`setundef -init -zero`: an FPGA's flip-flops power up so), undefined constants are 0
//!    on both sides, every input is free in every cycle (reset among them). Written as AIGER.
//! 3. ABC's `dprove` on it: bounded search for a difference, register correspondence by
//!    induction, and on what remains interpolation and PDR. Its verdict is one of
//!    [`Verdict`]; a run past the time limit is [`Verdict::GaveUp`].
//!
//! The Yosys scripts are built here ([`Scripts`]), the synthesis one by [`YosysSynth`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::rtl::core::TOP;

use super::board::Family;
use super::flow::Plan;
use super::tool::{locate, run_in, Located, Tool};
use super::yosys::YosysSynth;
use super::{read_file as read, SynthError};

/// The folder of the proof inside the run folder.
pub const PROVE_DIR: &str = "prove";
const NETLIST: &str = "netlist.v";
/// A netlist given to the proof ([`ProveOptions::netlist`]), copied into its folder.
const GIVEN: &str = "given.v";
const SYNTH_SCRIPT: &str = "synth.ys";
const MITER_SCRIPT: &str = "miter.ys";
const MITER_AIG: &str = "miter.aig";
const ABC_LOG: &str = "abc.log";
/// The cells of the library the netlist uses ([`super::cell_subset`]): reading all of
/// iCE40's takes Yosys about 40 s.
pub const CELLS_USED: &str = "cells_used.v";

/// What the proof is run with.
#[derive(Debug, Clone)]
pub struct ProveOptions {
    /// PSUM entries per bank in the proof (both sides): the memories become registers.
    pub psum_depth: u32,
    /// Time limit of each tool run (synthesis, miter, ABC).
    pub limit: Duration,
    /// Use the netlist a given file holds instead of synthesising (it must have been made
    /// with the proof's synthesis: same parameters): for checks of a changed netlist.
    pub netlist: Option<PathBuf>,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions {
            psum_depth: 4,
            limit: Duration::from_secs(600),
            netlist: None,
        }
    }
}

/// The outcome of the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Equivalent: in every cycle of every run from the all-zero state, same outputs.
    Proven,
    /// A difference was found: an input sequence (from the all-zero state) after which the
    /// outputs differ, `frame` cycles in when ABC says.
    NotProven { frame: Option<u32>, detail: String },
    /// ABC ended without a verdict (its own budgets ran out): what remained unproven.
    Undecided { detail: String },
    /// Stopped at the time limit.
    GaveUp { limit_s: u64 },
}

/// A proof's result.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    #[serde(flatten)]
    pub verdict: Verdict,
    pub family: Family,
    pub psum_depth: u32,
    /// The netlist proven, relative to the run folder.
    pub netlist: String,
    /// True when an earlier proof's netlist was reused.
    pub reused_netlist: bool,
    pub synth_s: f64,
    pub miter_s: f64,
    pub abc_s: f64,
    /// Registers and AND gates of the miter (both sides).
    pub latches: Option<u64>,
    pub ands: Option<u64>,
    /// ABC's log, relative to the run folder.
    pub log: String,
}

impl Proof {
    pub fn proven(&self) -> bool {
        self.verdict == Verdict::Proven
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let what = match &self.verdict {
            Verdict::Proven => "PROVEN equivalent".to_string(),
            Verdict::NotProven { frame, detail } => format!(
                "NOT PROVEN: the outputs differ{} ({detail})",
                frame.map(|f| format!(" in cycle {f}")).unwrap_or_default()
            ),
            Verdict::Undecided { detail } => {
                format!("NOT PROVEN: undecided, ABC gave up ({detail})")
            }
            Verdict::GaveUp { limit_s } => {
                format!("NOT PROVEN: gave up at the time limit of {limit_s} s")
            }
        };
        format!(
            "netlist proof ({}, PSUM_DEPTH={}, {}{}): {what}; synthesis {:.1} s, miter {:.1} s, \
             ABC {:.1} s{} (log: {})",
            self.family,
            self.psum_depth,
            self.netlist,
            if self.reused_netlist { ", reused" } else { "" },
            self.synth_s,
            self.miter_s,
            self.abc_s,
            match (self.latches, self.ands) {
                (Some(l), Some(a)) => format!("; miter {l} registers, {a} AND gates"),
                _ => String::new(),
            },
            self.log
        )
    }
}

/// The Yosys scripts of the proof.
#[derive(Debug, Clone)]
pub struct Scripts {
    pub synth: YosysSynth,
    /// `read_verilog` of the cell models for the gate side.
    pub cells: String,
    /// The library (in Yosys' share folder) whose used cells the proof writes to
    /// [`CELLS_USED`] before the miter, when [`Scripts::cells`] reads that file.
    pub cell_library: Option<&'static str>,
}

impl Scripts {
    /// For `plan`'s core with `o`.
    pub fn new(plan: &Plan, o: &ProveOptions, sources: Vec<String>) -> Scripts {
        let family = plan.family();
        let device = plan.options.board.device.yosys_device.clone();
        let cells = match family {
            Family::Ice40 => {
                let define = match device.as_deref() {
                    Some("u") => "ICE40_U",
                    Some("lp") => "ICE40_LP",
                    _ => "ICE40_HX",
                };
                format!("read_verilog -D {define} {CELLS_USED}")
            }
            // NO_INCLUDES: without the FD1P3AX-style flip-flops and the I/O cells of its
            // `include`s, which YoWASP's Yosys 0.70 rejects as a re-definition when the file is
            // read for simulation. The core's netlist uses only cells the file defines itself
            // (LUT4, PFUMX, L6MUX21, CCU2C, TRELLIS_FF); any other fails `hierarchy -check`.
            Family::Ecp5 => "read_verilog -DNO_INCLUDES +/lattice/cells_sim_ecp5.v".to_string(),
        };
        let synth = YosysSynth {
            family,
            ice40_device: device,
            top: TOP.to_string(),
            sources,
            keep_hierarchy: vec![],
            dsp: false,
            booth: plan.options.booth,
            vendor_cells: false,
            params: vec![("PSUM_DEPTH".into(), o.psum_depth.to_string())],
            no_ram: true,
            script: SYNTH_SCRIPT.into(),
            log: "synth.log".into(),
            json: "netlist.json".into(),
            verilog: NETLIST.into(),
            stat_json: "stat.json".into(),
            stat_txt: "stat.txt".into(),
        };
        let cell_library = (family == Family::Ice40).then_some("ice40/cells_sim.v");
        Scripts {
            synth,
            cells,
            cell_library,
        }
    }

    /// The miter script: RTL (gold) against `netlist` (gate), written to [`MITER_AIG`].
    pub fn miter(&self, netlist: &str) -> String {
        let prepare = |side: &str| {
            format!(
                "proc\nasync2sync\nflatten\nmemory -nomap\nmemory_map\nopt_clean\nrename {TOP} \
                 {side}\ndesign -stash {side}\n"
            )
        };
        let params: String = self
            .synth
            .params
            .iter()
            .map(|(n, v)| format!(" -chparam {n} {v}"))
            .collect();
        let mut s = String::from("# Generated by systolic synth --prove.\n");
        s.push_str(&format!(
            "read_verilog -defer {}\nhierarchy -check -top {TOP}{params}\n",
            self.synth.sources.join(" ")
        ));
        s.push_str(&prepare("gold"));
        s.push_str(&format!(
            "{}\nread_verilog {netlist}\nhierarchy -check -top {TOP}\n",
            self.cells
        ));
        s.push_str(&prepare("gate"));
        s.push_str(
            "design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n\
             miter -equiv -flatten gold gate miter\nhierarchy -top miter\nopt_clean\n\
             setundef -init -zero\ntechmap\nopt -fast\ndffunmap\nsetundef -zero\naigmap\n\
             opt_clean\n",
        );
        s.push_str(&format!("write_aiger -zinit {MITER_AIG}\n"));
        s
    }
}

/// ABC's command for the miter.
pub fn abc_command() -> String {
    format!("read_aiger {MITER_AIG}; print_stats; dprove -v")
}

/// The proof's folder for `plan`, with the core's RTL written into its `rtl/`, and the scripts.
fn prepare(plan: &Plan, o: &ProveOptions) -> Result<(PathBuf, Scripts), SynthError> {
    let dir = plan.options.run_dir.join(PROVE_DIR);
    let rtl = dir.join("rtl");
    std::fs::create_dir_all(&rtl).map_err(|e| SynthError::Io {
        what: format!("creating {}", rtl.display()),
        message: e.to_string(),
    })?;
    let mut sources = vec![];
    for (name, text) in plan.design.files() {
        super::write_file(&rtl.join(&name), &text)?;
        sources.push(format!("rtl/{name}"));
    }
    Ok((dir, Scripts::new(plan, o, sources)))
}

/// The proof's netlist of `plan`'s core: synthesised (Yosys), or reused when an earlier proof
/// left one made by the same script. Returns its path and the seconds synthesis took (`None`:
/// reused).
pub fn synthesise(
    plan: &Plan,
    o: &ProveOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(PathBuf, Option<f64>), SynthError> {
    let (dir, scripts) = prepare(plan, o)?;
    let script = scripts.synth.script_text();
    let old = std::fs::read_to_string(dir.join(SYNTH_SCRIPT)).ok();
    if old.as_deref() == Some(script.as_str()) && dir.join(NETLIST).is_file() {
        progress("prove: reusing the netlist of an earlier proof");
        return Ok((dir.join(NETLIST), None));
    }
    let _ = std::fs::remove_file(dir.join(NETLIST));
    progress("prove: Yosys synthesis of the core (no RAM, LUT multipliers)");
    let yosys = locate(Tool::Yosys)?;
    let seconds = scripts.synth.run(&yosys, &dir, o.limit)?.seconds;
    Ok((dir.join(NETLIST), Some(seconds)))
}

/// Prove the netlist of `plan`'s core ([`synthesise`]d, or `o.netlist`) equivalent to its RTL.
/// `progress` receives one line per step.
pub fn prove(
    plan: &Plan,
    o: &ProveOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Proof, SynthError> {
    let yosys = locate(Tool::Yosys)?;
    let abc = locate(Tool::Abc)?;
    let (dir, scripts) = prepare(plan, o)?;

    // 1. The netlist: given, reused, or synthesised.
    let (netlist, synth_s, reused) = match &o.netlist {
        Some(path) => {
            super::write_file(&dir.join(GIVEN), &read(path)?)?;
            (GIVEN.to_string(), 0.0, false)
        }
        None => {
            let (_, seconds) = synthesise(plan, o, progress)?;
            (
                NETLIST.to_string(),
                seconds.unwrap_or(0.0),
                seconds.is_none(),
            )
        }
    };

    // 2. The miter.
    progress("prove: Yosys miter of the RTL and the netlist over the cell models");
    if let Some(library) = scripts.cell_library {
        let path = super::cell_models::yosys_share()?.join(library);
        let cells = super::cell_subset::used_cells(&read(&path)?, &read(&dir.join(&netlist))?);
        super::write_file(&dir.join(CELLS_USED), &cells)?;
    }
    super::write_file(&dir.join(MITER_SCRIPT), &scripts.miter(&netlist))?;
    let _ = std::fs::remove_file(dir.join(MITER_AIG));
    let args = ["-q", "-l", "miter.log", "-s", MITER_SCRIPT].map(String::from);
    let miter_s = run_in(&yosys, &args, &dir, "miter.log", true, o.limit, &mut || {
        None
    })?
    .seconds;

    // 3. ABC.
    progress("prove: ABC dprove on the miter");
    let start = Instant::now();
    let verdict = match run_abc(&abc, &dir, o.limit) {
        Ok(text) => parse_verdict(&text),
        Err(SynthError::ToolFailed { status, .. }) if status == "timed out" => Verdict::GaveUp {
            limit_s: o.limit.as_secs(),
        },
        Err(e) => return Err(e),
    };
    let abc_s = start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(dir.join(ABC_LOG)).unwrap_or_default();
    let (latches, ands) = miter_size(&text);
    Ok(Proof {
        verdict,
        family: plan.family(),
        psum_depth: o.psum_depth,
        netlist: format!("{PROVE_DIR}/{netlist}"),
        reused_netlist: reused,
        synth_s,
        miter_s,
        abc_s,
        latches,
        ands,
        log: format!("{PROVE_DIR}/{ABC_LOG}"),
    })
}

/// Run ABC on the miter in `dir`: its output.
fn run_abc(abc: &Located, dir: &Path, limit: Duration) -> Result<String, SynthError> {
    let args = vec!["-c".to_string(), abc_command()];
    run_in(abc, &args, dir, ABC_LOG, false, limit, &mut || None)?;
    Ok(std::fs::read_to_string(dir.join(ABC_LOG)).unwrap_or_default())
}

/// ABC's verdict in the output of `dprove`.
pub fn parse_verdict(text: &str) -> Verdict {
    if text.contains("Networks are equivalent") {
        return Verdict::Proven;
    }
    if let Some(line) = text.lines().find(|l| {
        l.to_ascii_lowercase()
            .contains("networks are not equivalent")
    }) {
        // "Output 0 of miter "miter" was asserted in frame 3. Time = 0.01 sec"
        let frame = text
            .lines()
            .find_map(|l| l.split("asserted in frame ").nth(1))
            .and_then(|f| {
                let digits: String = f.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
        return Verdict::NotProven {
            frame,
            detail: line.trim().to_string(),
        };
    }
    let remaining = text
        .lines()
        .rev()
        .find(|l| l.contains("Latches =") && !l.starts_with("Original"))
        .and_then(|l| l.split("Latches =").nth(1))
        .and_then(|r| r.split('.').next())
        .map(|n| {
            format!(
                "{} of the miter's registers left without a proven partner",
                n.trim()
            )
        });
    Verdict::Undecided {
        detail: match (text.lines().find(|l| l.contains("UNDECIDED")), remaining) {
            (Some(l), Some(r)) => format!("{}; {r}", l.trim()),
            (Some(l), None) => l.trim().to_string(),
            (None, _) => "no verdict in ABC's output".to_string(),
        },
    }
}

/// Registers and AND gates of the miter, from ABC's `print_stats` line.
fn miter_size(text: &str) -> (Option<u64>, Option<u64>) {
    let line = text
        .lines()
        .find(|l| l.contains("lat =") && l.contains("and ="));
    let field = |name: &str| {
        line.and_then(|l| l.split(name).nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    (field("lat ="), field("and ="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(
            parse_verdict("Networks are equivalent.  Time = 1.0 sec\n"),
            Verdict::Proven
        );
        let v = parse_verdict(
            "Output 0 of miter \"m\" was asserted in frame 3. Time =     0.01 sec\nNetworks are \
             not equivalent.\n",
        );
        assert_eq!(
            v,
            Verdict::NotProven {
                frame: Some(3),
                detail: "Networks are not equivalent.".into()
            }
        );
        let v = parse_verdict(
            "Original miter:       Latches =  1956. Nodes =  20646.\nK-step (K= 4,I= 25):  \
             Latches =  1424. Nodes =  13514.\nNetworks are UNDECIDED.   Time =   311.98 sec\n",
        );
        match v {
            Verdict::Undecided { detail } => assert!(detail.contains("1424 of the"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_verdict(""), Verdict::Undecided { .. }));
        assert_eq!(
            miter_size("miter : i/o =   56/    1  lat = 1956  and =  20646  lev = 80"),
            (Some(1956), Some(20646))
        );
    }
}
