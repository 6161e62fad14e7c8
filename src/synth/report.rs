//! The results of a flow: cell counts from Yosys' `stat -json` (for the whole design and for
//! the core alone when a harness surrounds it), utilisation, achieved Fmax and the critical path
//! from nextpnr's `--report` JSON, tool versions and wall times; printed as a human summary or
//! serialised as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::board::Family;
use super::SynthError;

/// Cells of one (part of a) netlist, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cells {
    /// LUT4s (SB_LUT4 / LUT4).
    pub lut4: u64,
    /// Carry cells (SB_CARRY; ECP5 CCU2C, each holding two LUT4s of a slice).
    pub carry: u64,
    /// Flip-flops (SB_DFF* / TRELLIS_FF).
    pub ff: u64,
    /// Hard multipliers (SB_MAC16 / MULT18X18D, ALU54B).
    pub dsp: u64,
    /// Block RAMs (SB_RAM40_4K / DP16KD), and iCE40 SPRAMs apart.
    pub bram: u64,
    pub spram: u64,
    /// Every cell type and its count.
    pub by_type: BTreeMap<String, u64>,
}

impl Cells {
    /// Classify a `num_cells_by_type` table.
    pub fn from_types(family: Family, types: &BTreeMap<String, u64>) -> Cells {
        let mut c = Cells {
            by_type: types.clone(),
            ..Cells::default()
        };
        for (t, &n) in types {
            match family {
                Family::Ice40 => match t.as_str() {
                    "SB_LUT4" => c.lut4 += n,
                    "SB_CARRY" => c.carry += n,
                    "SB_MAC16" => c.dsp += n,
                    "SB_RAM40_4K" | "SB_RAM40_4KNR" | "SB_RAM40_4KNW" | "SB_RAM40_4KNRNW" => {
                        c.bram += n
                    }
                    "SB_SPRAM256KA" => c.spram += n,
                    t if t.starts_with("SB_DFF") => c.ff += n,
                    _ => {}
                },
                Family::Ecp5 => match t.as_str() {
                    "LUT4" => c.lut4 += n,
                    "CCU2C" => c.carry += n,
                    "TRELLIS_FF" => c.ff += n,
                    "MULT18X18D" | "ALU54B" => c.dsp += n,
                    "DP16KD" | "PDPW16KD" => c.bram += n,
                    _ => {}
                },
            }
        }
        c
    }

    /// Logic cells as the device counts them, before packing: iCE40 LUT4s (a carry shares an
    /// LC with a LUT4 where it can, so this is a lower bound); ECP5 LUT4s plus two per CCU2C.
    pub fn logic(&self, family: Family) -> u64 {
        match family {
            Family::Ice40 => self.lut4,
            Family::Ecp5 => self.lut4 + 2 * self.carry,
        }
    }
}

/// Yosys' `stat -json`: the whole design, and each module on its own.
#[derive(Debug, Clone, Default)]
pub struct YosysStat {
    pub design: BTreeMap<String, u64>,
    pub modules: BTreeMap<String, BTreeMap<String, u64>>,
}

fn types_of(v: &Value) -> BTreeMap<String, u64> {
    v.get("num_cells_by_type")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

impl YosysStat {
    pub fn parse(text: &str, path: &Path) -> Result<YosysStat, SynthError> {
        let bad = |what: &str| SynthError::Parse {
            file: path.to_path_buf(),
            what: what.to_string(),
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let modules: BTreeMap<String, BTreeMap<String, u64>> = v
            .get("modules")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"modules\""))?
            .iter()
            .map(|(k, m)| (k.trim_start_matches('\\').to_string(), types_of(m)))
            .collect();
        // With one module Yosys prints no design total: it is that module.
        let design = match v.get("design") {
            Some(d) => types_of(d),
            None if modules.len() == 1 => modules.values().next().cloned().unwrap_or_default(),
            None => return Err(bad("no \"design\" total")),
        };
        Ok(YosysStat { design, modules })
    }

    pub fn read(path: &Path) -> Result<YosysStat, SynthError> {
        YosysStat::parse(&super::read_file(path)?, path)
    }
}

/// One resource in nextpnr's utilisation report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Use {
    pub used: u64,
    pub available: u64,
}

/// One clock's timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockTiming {
    pub clock: String,
    pub achieved_mhz: f64,
    pub constraint_mhz: f64,
}

/// The worst register-to-register path of the main clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalPath {
    pub from: String,
    pub to: String,
    pub delay_ns: f64,
    /// Logic and routing segments on the path.
    pub segments: usize,
}

/// What nextpnr's `--report` JSON holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PnrReport {
    pub clocks: Vec<ClockTiming>,
    pub utilization: BTreeMap<String, Use>,
    pub critical_path: Option<CriticalPath>,
}

impl PnrReport {
    pub fn parse(text: &str, path: &Path) -> Result<PnrReport, SynthError> {
        let bad = |what: &str| SynthError::Parse {
            file: path.to_path_buf(),
            what: what.to_string(),
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let mut clocks: Vec<ClockTiming> = v
            .get("fmax")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(name, t)| {
                        Some(ClockTiming {
                            clock: name.clone(),
                            achieved_mhz: t.get("achieved")?.as_f64()?,
                            constraint_mhz: t.get("constraint")?.as_f64()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        clocks.sort_by(|a, b| a.clock.cmp(&b.clock));
        let utilization = v
            .get("utilization")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"utilization\""))?
            .iter()
            .filter_map(|(k, u)| {
                Some((
                    k.clone(),
                    Use {
                        used: u.get("used")?.as_u64()?,
                        available: u.get("available")?.as_u64()?,
                    },
                ))
            })
            .collect();
        // The clock-to-clock path (from and to a clock edge, not `<async>`) with the most delay.
        let critical_path = v
            .get("critical_paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| {
                let edge = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
                !edge("from").contains("<async>") && !edge("to").contains("<async>")
            })
            .filter_map(|p| {
                let segs = p.get("path")?.as_array()?;
                let delay: f64 = segs.iter().filter_map(|s| s.get("delay")?.as_f64()).sum();
                let cell = |s: &Value, end: &str| {
                    s.get(end)
                        .and_then(|e| e.get("cell"))
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                };
                Some(CriticalPath {
                    from: cell(segs.first()?, "from"),
                    to: cell(segs.last()?, "to"),
                    delay_ns: delay,
                    segments: segs.len(),
                })
            })
            .max_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns));
        Ok(PnrReport {
            clocks,
            utilization,
            critical_path,
        })
    }

    pub fn read(path: &Path) -> Result<PnrReport, SynthError> {
        PnrReport::parse(&super::read_file(path)?, path)
    }

    /// The design's clock: the slowest achieved (the flow's designs have one).
    pub fn main_clock(&self) -> Option<&ClockTiming> {
        self.clocks
            .iter()
            .min_by(|a, b| a.achieved_mhz.total_cmp(&b.achieved_mhz))
    }
}

/// Device resources used by place and route, by the names of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Placed {
    /// Logic cells (ICESTORM_LC / TRELLIS_COMB): used, available.
    pub logic: Option<Use>,
    pub ff: Option<Use>,
    pub dsp: Option<Use>,
    pub bram: Option<Use>,
    pub io: Option<Use>,
}

impl Placed {
    pub fn from_report(family: Family, r: &PnrReport) -> Placed {
        let get = |names: &[&str]| {
            let found: Vec<Use> = names
                .iter()
                .filter_map(|n| r.utilization.get(*n).copied())
                .collect();
            (!found.is_empty()).then(|| Use {
                used: found.iter().map(|u| u.used).sum(),
                available: found.iter().map(|u| u.available).sum(),
            })
        };
        match family {
            Family::Ice40 => Placed {
                logic: get(&["ICESTORM_LC"]),
                ff: None,
                dsp: get(&["ICESTORM_DSP"]),
                bram: get(&["ICESTORM_RAM"]),
                io: get(&["SB_IO"]),
            },
            Family::Ecp5 => Placed {
                logic: get(&["TRELLIS_COMB"]),
                ff: get(&["TRELLIS_FF"]),
                dsp: get(&["MULT18X18D"]),
                bram: get(&["DP16KD"]),
                io: get(&["TRELLIS_IO"]),
            },
        }
    }
}

/// The board top's PLL: what was asked, what the dividers give, and whether place and route met
/// that frequency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PllReport {
    pub primitive: String,
    pub input_mhz: f64,
    pub requested_mhz: f64,
    /// The output frequency of the dividers (the core clock).
    pub achieved_mhz: f64,
    pub pfd_mhz: f64,
    pub vco_mhz: f64,
    /// Parameter name -> value (DIVR, DIVF, DIVQ, FILTER_RANGE; CLKI_DIV, CLKFB_DIV, ...).
    pub dividers: BTreeMap<String, u32>,
    /// nextpnr's Fmax of the core clock is at least `achieved_mhz` (`None`: no Fmax).
    pub timing_met: Option<bool>,
}

impl PllReport {
    pub fn new(pll: &crate::pll::Pll, requested_mhz: f64, fmax_mhz: Option<f64>) -> PllReport {
        let achieved = pll.output_mhz();
        PllReport {
            primitive: pll.kind.primitive().into(),
            input_mhz: pll.input_mhz(),
            requested_mhz,
            achieved_mhz: achieved,
            pfd_mhz: pll.pfd_mhz(),
            vco_mhz: pll.vco_mhz(),
            dividers: pll
                .dividers()
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            // The achieved frequency rounded to the nextpnr report's resolution (1 kHz) would
            // make no difference: compare as is.
            timing_met: fmax_mhz.map(|f| f >= achieved),
        }
    }
}

/// Wall time of each step, seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Times {
    pub yosys_s: f64,
    pub nextpnr_s: f64,
    pub pack_s: Option<f64>,
    pub total_s: f64,
}

/// Everything one flow produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub design: String,
    pub config_hash: String,
    pub rows: u32,
    pub cols: u32,
    pub format: String,
    pub acc_bits: u32,
    pub psum_banks: u32,
    pub psum_depth: u32,
    pub pe_latency: u32,
    /// The FPGA primitives the RTL instantiates: "generic", "ecp5" or "ice40".
    pub primitives: String,
    /// Columns whose multipliers are the primitives' DSP blocks (0 when generic).
    pub dsp_cols: u32,
    /// The PSUM accumulate split in two halves (`psum_split`).
    pub psum_split: bool,
    /// Columns per tile (`tile_cols`; 1: the moving data registered at every column).
    pub tile_cols: u32,
    /// Every PE's swap-token register kept through synthesis (`keep_tokens`).
    pub keep_tokens: bool,
    /// The engine's SBUF (board tops): entries per partition and layout, "partitioned" or
    /// "packed".
    pub sbuf_depth: u32,
    pub sbuf_layout: String,
    pub board: String,
    pub family: Family,
    pub device: String,
    pub package: String,
    /// "out-of-context" (ports unconstrained or ECP5 --out-of-context) or "board" (the
    /// harness on the board's clock and UART pins).
    pub mode: String,
    /// The top synthesised: `systolic_top` itself, or the harness around it.
    pub top: String,
    /// "lut" or "dsp".
    pub multipliers: String,
    pub booth: bool,
    pub target_mhz: f64,
    /// Achieved Fmax of the design's clock (nextpnr's timing model).
    pub fmax_mhz: Option<f64>,
    pub timing_met: bool,
    /// The board top's PLL (`--pll-mhz`), `None` when the design runs at the oscillator.
    pub pll: Option<PllReport>,
    /// 2 x rows x cols x Fmax: peak multiply-accumulates as operations per second, in GOPS.
    pub gops: Option<f64>,
    /// Cells of the whole netlist (core and harness).
    pub cells: Cells,
    /// Cells of `systolic_top` alone (the same as `cells` without a harness).
    pub core_cells: Cells,
    /// Resources after place and route, against the device.
    pub placed: Placed,
    pub critical_path: Option<CriticalPath>,
    pub clocks: Vec<ClockTiming>,
    /// iCE40 with an `.asc`: icestorm's icetime estimate of the same placed design (a second
    /// timing model; `None` when icetime is not installed or there is no `.asc`).
    pub icetime: Option<super::icetime::Icetime>,
    /// Tool name -> version line.
    pub tools: BTreeMap<String, String>,
    pub times: Times,
    /// The run folder and the files in it (relative names).
    pub run_dir: String,
    pub netlist_json: String,
    pub netlist_verilog: String,
    pub bitstream: Option<String>,
    pub logs: Vec<String>,
    /// What the figures mean and what was decided on the way (fallbacks, caveats).
    pub notes: Vec<String>,
}

fn use_str(u: &Option<Use>) -> String {
    match u {
        Some(u) if u.available > 0 => format!(
            "{} / {} ({:.0}%)",
            u.used,
            u.available,
            100.0 * u.used as f64 / u.available as f64
        ),
        Some(u) => u.used.to_string(),
        None => "-".into(),
    }
}

impl Report {
    /// The human summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        self.write_design(&mut s);
        self.write_area(&mut s);
        self.write_timing(&mut s);
        self.write_run(&mut s);
        s
    }

    /// The design, board and mode; the top, its multipliers and options.
    fn write_design(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "synth {} ({}x{} {}, acc {}, PSUM {}x{}) on {} ({} {} {}), {}",
            self.design,
            self.rows,
            self.cols,
            self.format,
            self.acc_bits,
            self.psum_banks,
            self.psum_depth,
            self.board,
            self.family,
            self.device,
            self.package,
            self.mode
        );
        let own = match self.primitives.as_str() {
            "generic" => String::new(),
            p if self.dsp_cols < self.cols => format!(
                ", {p} primitives: DSP blocks in {} of {} columns, LUTs in the rest",
                self.dsp_cols, self.cols
            ),
            p => format!(", {p} primitives: the RTL's own DSP blocks"),
        };
        let _ = writeln!(
            s,
            "  top {}, pe_latency {}, {} multipliers{}{own}{}{}{}",
            self.top,
            self.pe_latency,
            self.multipliers,
            if self.booth { " (Booth)" } else { "" },
            if self.psum_split {
                ", split PSUM accumulate"
            } else {
                ""
            },
            if self.tile_cols > 1 {
                format!(", tiles of {} columns", self.tile_cols)
            } else {
                String::new()
            } + if self.keep_tokens {
                ", swap tokens kept"
            } else {
                ""
            },
            if (self.mode == "board" && self.top == "systolic_board")
                || self.top == crate::rtl::engine::ENGINE_TOP
            {
                format!(
                    ", SBUF {} x {} ({})",
                    self.rows.max(self.cols),
                    self.sbuf_depth,
                    self.sbuf_layout
                )
            } else {
                String::new()
            }
        );
    }

    /// Cells of the core, of the whole netlist, and placed against the device.
    fn write_area(&self, s: &mut String) {
        let c = &self.core_cells;
        // The engine is synthesised flat: the core's cells are not apart.
        let engine = self.top == crate::rtl::engine::ENGINE_TOP;
        let _ = writeln!(
            s,
            "  {}LUT4 {}, carry {}, FF {}, DSP {}, BRAM {}{}",
            if engine { "engine: " } else { "core:   " },
            c.lut4,
            c.carry,
            c.ff,
            c.dsp,
            c.bram,
            if engine {
                " (the whole engine, flat)"
            } else {
                ""
            }
        );
        if self.top != crate::rtl::core::TOP && !engine {
            let t = &self.cells;
            let _ = writeln!(
                s,
                "  total:  LUT4 {}, carry {}, FF {}, DSP {}, BRAM {} ({})",
                t.lut4,
                t.carry,
                t.ff,
                t.dsp,
                t.bram,
                if self.top == crate::rtl::board::BOARD_TOP {
                    "the whole board design"
                } else {
                    "with the harness"
                }
            );
        }
        let p = &self.placed;
        let _ = writeln!(
            s,
            "  placed: logic {}, DSP {}, BRAM {}, I/O {}",
            use_str(&p.logic),
            use_str(&p.dsp),
            use_str(&p.bram),
            use_str(&p.io)
        );
    }

    /// Fmax against the target, the PLL, the critical path, icetime's estimate.
    fn write_timing(&self, s: &mut String) {
        match self.fmax_mhz {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "  Fmax {:.1} MHz against {:.1} MHz: {}; peak {:.2} GOPS (2 x {} x {} x Fmax)",
                    f,
                    self.target_mhz,
                    if self.timing_met { "met" } else { "NOT met" },
                    self.gops.unwrap_or(0.0),
                    self.rows,
                    self.cols
                );
            }
            None => {
                let _ = writeln!(s, "  Fmax: no clock in the timing report");
            }
        }
        if let Some(p) = &self.pll {
            let _ = writeln!(
                s,
                "  PLL {}: {:.3} MHz requested, {:.3} MHz achieved from {} MHz ({}; PFD {:.3}, VCO \
                 {:.3} MHz); place and route {}",
                p.primitive,
                p.requested_mhz,
                p.achieved_mhz,
                p.input_mhz,
                p.dividers
                    .iter()
                    .map(|(n, v)| format!("{n} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                p.pfd_mhz,
                p.vco_mhz,
                match p.timing_met {
                    Some(true) => format!(
                        "met it (Fmax {:.1} MHz)",
                        self.fmax_mhz.unwrap_or(0.0)
                    ),
                    Some(false) => format!(
                        "did NOT meet it (Fmax {:.1} MHz): ask for a lower --pll-mhz",
                        self.fmax_mhz.unwrap_or(0.0)
                    ),
                    None => "gave no Fmax".into(),
                }
            );
        }
        if let Some(cp) = &self.critical_path {
            let _ = writeln!(
                s,
                "  critical path {:.2} ns, {} segments: {} -> {}",
                cp.delay_ns, cp.segments, cp.from, cp.to
            );
        }
        if let Some(t) = &self.icetime {
            let _ = writeln!(
                s,
                "  icetime (icestorm's timing model, conservative): {:.1} MHz, longest path {:.2} ns, {} logic levels",
                t.mhz, t.delay_ns, t.logic_levels
            );
        }
    }

    /// Times, tools, files and the notes.
    fn write_run(&self, s: &mut String) {
        let t = &self.times;
        let _ = writeln!(
            s,
            "  time: yosys {:.1} s, nextpnr {:.1} s{}, total {:.1} s",
            t.yosys_s,
            t.nextpnr_s,
            t.pack_s
                .map(|p| format!(", pack {p:.1} s"))
                .unwrap_or_default(),
            t.total_s
        );
        let _ = writeln!(
            s,
            "  tools: {}",
            self.tools
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let _ = writeln!(
            s,
            "  files in {}: {}, {}{}",
            self.run_dir,
            self.netlist_json,
            self.netlist_verilog,
            self.bitstream
                .as_ref()
                .map(|b| format!(", {b}"))
                .unwrap_or_default()
        );
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_hierarchy() {
        let text = r#"{"creator": "Yosys 0.70", "modules": {
            "\\h": {"num_cells_by_type": {"SB_DFF": 10, "SB_LUT4": 5, "systolic_top": 1}},
            "\\systolic_top": {"num_cells_by_type": {"SB_LUT4": 100, "SB_CARRY": 7,
                "SB_DFFE": 3, "SB_DFFSR": 4, "SB_RAM40_4K": 8}}},
            "design": {"num_cells_by_type": {"SB_LUT4": 105, "SB_DFF": 10, "SB_DFFE": 3,
                "SB_DFFSR": 4, "SB_CARRY": 7, "SB_RAM40_4K": 8, "systolic_top": 1}}}"#;
        let s = YosysStat::parse(text, Path::new("stat.json")).unwrap();
        let core = Cells::from_types(Family::Ice40, &s.modules["systolic_top"]);
        assert_eq!((core.lut4, core.carry, core.ff, core.bram), (100, 7, 7, 8));
        let all = Cells::from_types(Family::Ice40, &s.design);
        assert_eq!((all.lut4, all.ff), (105, 17));
    }

    #[test]
    fn nextpnr_report() {
        let text = r#"{"fmax": {"clk": {"achieved": 82.98, "constraint": 100}},
          "utilization": {"TRELLIS_COMB": {"used": 1092, "available": 24288},
                          "DP16KD": {"used": 4, "available": 56}},
          "critical_paths": [
            {"from": "posedge clk", "to": "posedge clk", "path": [
              {"delay": 5.6, "from": {"cell": "a"}, "to": {"cell": "a"}, "type": "clk-to-q"},
              {"delay": 2.2, "from": {"cell": "a"}, "to": {"cell": "b"}, "type": "routing"}]},
            {"from": "<async>", "to": "posedge clk", "path": [
              {"delay": 50.0, "from": {"cell": "x"}, "to": {"cell": "y"}}]}]}"#;
        let r = PnrReport::parse(text, Path::new("r.json")).unwrap();
        assert_eq!(r.main_clock().unwrap().achieved_mhz, 82.98);
        let cp = r.critical_path.unwrap();
        assert_eq!(
            (cp.from.as_str(), cp.to.as_str(), cp.segments),
            ("a", "b", 2)
        );
        assert!((cp.delay_ns - 7.8).abs() < 1e-9);
        let p = Placed::from_report(
            Family::Ecp5,
            &PnrReport::parse(text, Path::new("r")).unwrap(),
        );
        assert_eq!(p.logic.unwrap().used, 1092);
        assert_eq!(p.bram.unwrap().available, 56);
        assert!(p.dsp.is_none());
    }
}
