//! The stages of [`super::execute`], in order, each on the [`Plan`]: locate the tools, write the
//! design's RTL and pin file into a clean run folder, Yosys (again with LUT multipliers when it
//! used more DSP blocks than the device has), the fit checks against the device, nextpnr, the
//! packer, the icetime cross-check (iCE40), and the report.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{Primitives, SbufLayout};
use crate::rtl::core::TOP;

use crate::synth::board::Family;
use crate::synth::icetime::{self, Icetime};
use crate::synth::nextpnr::NextpnrRun;
use crate::synth::pack::Pack;
use crate::synth::report::{Cells, Placed, PllReport, PnrReport, Report, Times, YosysStat};
use crate::synth::tool::{self, Located, Tool};
use crate::synth::yosys::YosysSynth;
use crate::synth::{fits, write_file, SynthError};

use super::plan::{Placement, Plan};

// File names inside a run folder.
pub(crate) const RTL: &str = "rtl";
const SCRIPT: &str = "synth.ys";
pub(super) const YOSYS_LOG: &str = "yosys.log";
const NETLIST_JSON: &str = "netlist.json";
pub(crate) const NETLIST_V: &str = "netlist.v";
const STAT_JSON: &str = "stat.json";
const STAT_TXT: &str = "stat.txt";
pub(super) const NEXTPNR_LOG: &str = "nextpnr.log";
const NEXTPNR_REPORT: &str = "nextpnr-report.json";
const PACK_LOG: &str = "pack.log";
pub const SUMMARY_JSON: &str = "summary.json";
pub const SUMMARY_TXT: &str = "summary.txt";

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> SynthError {
    move |e| SynthError::Io {
        what,
        message: e.to_string(),
    }
}

/// The tools a plan runs, located and their versions checked.
pub(super) struct Tools {
    yosys: Located,
    nextpnr: Located,
    /// With a bitstream only.
    packer: Option<Located>,
}

impl Tools {
    /// Yosys, the family's nextpnr and, for a bitstream, its packer: a missing tool is an
    /// error before any work.
    pub(super) fn locate(plan: &Plan) -> Result<Tools, SynthError> {
        let (pnr, pack) = plan.tools();
        Ok(Tools {
            yosys: tool::locate(Tool::Yosys)?,
            nextpnr: tool::locate(pnr)?,
            packer: plan.pack.map(|_| tool::locate(pack)).transpose()?,
        })
    }

    /// Tool name -> version line, for the report.
    fn versions(&self) -> BTreeMap<String, String> {
        [Some(&self.yosys), Some(&self.nextpnr), self.packer.as_ref()]
            .into_iter()
            .flatten()
            .map(|t| (t.tool.name().to_string(), t.version.clone()))
            .collect()
    }
}

/// Remove what an earlier run left, so no stale result can be read as this run's.
fn clean(dir: &Path) -> Result<(), SynthError> {
    let rtl = dir.join(RTL);
    if rtl.is_dir() {
        std::fs::remove_dir_all(&rtl).map_err(io_err(format!("removing {}", rtl.display())))?;
    }
    for f in [
        NETLIST_JSON,
        NETLIST_V,
        STAT_JSON,
        STAT_TXT,
        NEXTPNR_REPORT,
        "design.asc",
        "design.bin",
        "design.config",
        "design.bit",
        SUMMARY_JSON,
        SUMMARY_TXT,
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    std::fs::create_dir_all(&rtl).map_err(io_err(format!("creating {}", rtl.display())))
}

/// Clean the run folder and write the plan's design into its `rtl/` and its pin file: the
/// Verilog sources, in order, relative to the run folder.
pub(super) fn write_sources(plan: &Plan) -> Result<Vec<String>, SynthError> {
    let dir = plan.options.run_dir.as_path();
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    clean(dir)?;
    let mut sources = vec![];
    for (name, text) in plan.design.files() {
        write_file(&dir.join(RTL).join(&name), &text)?;
        sources.push(format!("{RTL}/{name}"));
    }
    if let Some((name, text)) = &plan.pins.file {
        write_file(&dir.join(name), text)?;
    }
    Ok(sources)
}

/// What Yosys made.
pub(super) struct Synthesis {
    pub seconds: f64,
    /// Cells of the whole netlist.
    pub cells: Cells,
    /// Cells of `systolic_top` alone.
    pub core_cells: Cells,
    /// The multipliers Yosys was last run with.
    pub dsp: bool,
    pub booth: bool,
}

/// Yosys on `sources`, and again with LUT multipliers when it used more DSP blocks than the
/// device has (a note says so).
pub(super) fn synthesise(
    plan: &Plan,
    tools: &Tools,
    sources: Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Synthesis, SynthError> {
    let o = &plan.options;
    let dir = o.run_dir.as_path();
    let family = plan.family();
    let dev = &o.board.device;
    let top = plan.design.top_name().to_string();
    let mut synth = YosysSynth {
        family,
        ice40_device: dev.yosys_device.clone(),
        top: top.clone(),
        sources,
        keep_hierarchy: if plan.placement.out_of_context() {
            vec![]
        } else {
            vec![TOP.to_string()]
        },
        dsp: plan.multipliers.dsp,
        booth: plan.multipliers.booth,
        vendor_cells: plan.placement.pll().is_some()
            || plan.config().primitives == Primitives::Ice40,
        params: vec![],
        no_ram: false,
        script: SCRIPT.into(),
        log: YOSYS_LOG.into(),
        json: NETLIST_JSON.into(),
        verilog: NETLIST_V.into(),
        stat_json: STAT_JSON.into(),
        stat_txt: STAT_TXT.into(),
    };
    let mut seconds = synth.run(&tools.yosys, dir, o.limit)?.seconds;
    let mut stat = YosysStat::read(&dir.join(STAT_JSON))?;
    let mut cells = Cells::from_types(family, &stat.design);
    if cells.dsp > dev.dsp && !plan.multipliers.own_dsps {
        notes.push(format!(
            "Yosys used {} DSP blocks, the {} has {}: synthesised again with LUT multipliers",
            cells.dsp, dev.name, dev.dsp
        ));
        synth.dsp = false;
        synth.booth = o.booth;
        seconds += synth.run(&tools.yosys, dir, o.limit)?.seconds;
        stat = YosysStat::read(&dir.join(STAT_JSON))?;
        cells = Cells::from_types(family, &stat.design);
    }
    let core_cells = match stat.modules.get(TOP) {
        Some(t) if top != TOP => Cells::from_types(family, t),
        _ => cells.clone(),
    };
    Ok(Synthesis {
        seconds,
        cells,
        core_cells,
        dsp: synth.dsp,
        booth: synth.booth,
    })
}

/// The fit checks before place and route: block RAMs, logic cells and flip-flops of `cells`
/// against the device.
pub(super) fn check_fit(plan: &Plan, cells: &Cells) -> Result<(), SynthError> {
    let family = plan.family();
    let dev = &plan.board().device;
    fits(
        "block RAMs",
        cells.bram,
        dev.bram,
        &dev.name,
        bram_hint(plan),
    )?;
    fits(
        "logic cells (LUT4s before packing)",
        cells.logic(family),
        dev.logic,
        &dev.name,
        ": give a smaller array (--rows/--cols) or a larger device".into(),
    )?;
    fits(
        "flip-flops",
        cells.ff,
        dev.ffs,
        &dev.name,
        ": give a smaller array (--rows/--cols) or a larger device".into(),
    )
}

/// What holds the block RAMs of the placed design, and how to need fewer.
fn bram_hint(plan: &Plan) -> String {
    let cfg = plan.config();
    if !matches!(
        plan.placement,
        Placement::BoardTop(_) | Placement::BareEngine
    ) {
        let psum_kbit = u64::from(cfg.cols)
            * u64::from(cfg.psum_banks)
            * u64::from(cfg.psum_depth)
            * u64::from(cfg.derived.acc_w)
            / 1024;
        return format!(
            " (PSUM: {} columns x {} banks x {} entries x {} bits = {psum_kbit} kbit): give a \
             smaller --psum-banks or --psum-depth",
            cfg.cols, cfg.psum_banks, cfg.psum_depth, cfg.derived.acc_w
        );
    }
    let lanes = 4 / crate::regs::sbuf_entry_bytes(cfg);
    let (sbuf, remedy) = match cfg.sbuf_layout {
        SbufLayout::Partitioned => (
            format!(
                "the SBUF's (rows + cols) x {lanes} = {} lane memories, each at least \
                 one block RAM whatever --sbuf-depth",
                (cfg.rows + cfg.cols) * lanes
            ),
            "--sbuf-layout packed (with --sbuf-depth 256 or less on the iCE40), a \
             smaller array",
        ),
        SbufLayout::Packed => (
            format!(
                "the packed SBUF's two memories of {} entries x {} and {} bits",
                cfg.sbuf_depth,
                cfg.cols * cfg.derived.data_w,
                cfg.rows * cfg.derived.data_w
            ),
            "a smaller --sbuf-depth or array",
        ),
    };
    format!(
        " (the engine: {sbuf}; PSUM {} columns x {} banks x {} entries; the instruction \
         queue; the board top's bridge word buffer): give {remedy}, or a device with more block RAM",
        cfg.cols, cfg.psum_banks, cfg.psum_depth
    )
}

/// nextpnr at the plan's target, on its pins, writing the placed configuration when a
/// bitstream follows: its seconds and report.
pub(super) fn place_and_route(plan: &Plan, tools: &Tools) -> Result<(f64, PnrReport), SynthError> {
    let o = &plan.options;
    let dir = o.run_dir.as_path();
    let board = &o.board;
    let dev = &board.device;
    let pnr = NextpnrRun {
        family: plan.family(),
        device: dev.nextpnr.clone(),
        package: board.package.clone(),
        speed: board.speed,
        json: NETLIST_JSON.into(),
        freq_mhz: plan.target_mhz,
        pins: plan.pins.constraints.clone(),
        report: NEXTPNR_REPORT.into(),
        log: NEXTPNR_LOG.into(),
        output: plan.pack.map(|p| p.config.to_string()),
        seed: o.seed,
        router: o.router,
    };
    let seconds = pnr
        .run(&tools.nextpnr, dir, o.limit)
        .map_err(|e| packed_too_large(e, dev.logic, &dev.name))?
        .seconds;
    Ok((seconds, PnrReport::read(&dir.join(NEXTPNR_REPORT))?))
}

/// nextpnr-ice40's placer failing with "Failed to expand region ... of N ICESTORM_LCs" means the
/// packed design has more logic cells than the device (the check after Yosys counts LUT4s and
/// flip-flops apart; packing can need more cells than either): a "does not fit" error.
fn packed_too_large(e: SynthError, available: u64, device: &str) -> SynthError {
    let used = match &e {
        SynthError::ToolFailed { message, .. } if message.contains("Failed to expand region") => {
            message
                .split(" of ")
                .nth(1)
                .and_then(|t| t.strip_suffix(" ICESTORM_LCs"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        }
        _ => None,
    };
    match used {
        Some(used) if used > available => SynthError::DoesNotFit {
            what: "logic cells after packing",
            used,
            available,
            device: device.to_string(),
            hint: ": a smaller array or pe_latency, or a larger device".into(),
        },
        _ => e,
    }
}

/// The packer on the placed configuration, when the plan has a bitstream: its seconds and the
/// bitstream's name (its log added to `logs`).
pub(super) fn pack(
    plan: &Plan,
    tools: &Tools,
    notes: &mut Vec<String>,
    logs: &mut Vec<String>,
) -> Result<(Option<f64>, Option<String>), SynthError> {
    let (Some(packer), Some(files)) = (&tools.packer, plan.pack) else {
        if plan.placement.out_of_context() {
            notes.push("no bitstream out of context".into());
        }
        return Ok((None, None));
    };
    let step = Pack {
        family: plan.family(),
        input: files.config.into(),
        output: files.bitstream.into(),
        log: PACK_LOG.into(),
    }
    .run(packer, &plan.options.run_dir, plan.options.limit)?;
    logs.push(PACK_LOG.into());
    Ok((Some(step.seconds), Some(files.bitstream.to_string())))
}

/// The iCE40 timing cross-check (icetime), when there is an `.asc` and icetime is installed;
/// otherwise, or when it fails, a note says why not (a failed cross-check does not fail the
/// flow).
pub(super) fn cross_check_timing(
    plan: &Plan,
    notes: &mut Vec<String>,
    logs: &mut Vec<String>,
) -> Option<Icetime> {
    let asc = match (plan.family(), plan.pack) {
        (Family::Ice40, Some(files)) => files.config,
        _ => return None,
    };
    let Some(exe) = icetime::locate() else {
        notes.push(
            "no icetime cross-check: icetime is not installed (Debian package \
             fpga-icestorm; scripts/setup.sh installs it)"
                .into(),
        );
        return None;
    };
    let o = &plan.options;
    let dev = &o.board.device;
    match icetime::run(
        &exe,
        &o.run_dir,
        asc,
        &dev.nextpnr,
        &o.board.package,
        o.limit,
    ) {
        Ok(t) => {
            logs.push(icetime::REPORT.into());
            Some(t)
        }
        Err(e) => {
            notes.push(format!("no icetime cross-check: {e}"));
            None
        }
    }
}

/// What the stages produced, for the report.
pub(super) struct Results {
    pub synthesis: Synthesis,
    pub pnr: PnrReport,
    pub icetime: Option<Icetime>,
    pub nextpnr_s: f64,
    pub pack_s: Option<f64>,
    pub bitstream: Option<String>,
    pub logs: Vec<String>,
    pub notes: Vec<String>,
    /// The whole flow's wall time.
    pub seconds: f64,
}

/// The report of `plan`'s run.
pub(super) fn report(plan: &Plan, tools: &Tools, r: Results) -> Report {
    let cfg = plan.config();
    let o = &plan.options;
    let board = &o.board;
    let family = plan.family();
    let fmax = r.pnr.main_clock().map(|c| c.achieved_mhz);
    Report {
        design: cfg.name.clone(),
        config_hash: cfg.hash(),
        rows: cfg.rows,
        cols: cfg.cols,
        format: cfg.format.to_string(),
        acc_bits: cfg.acc_bits,
        psum_banks: cfg.psum_banks,
        psum_depth: cfg.psum_depth,
        pe_latency: cfg.pe_latency,
        primitives: cfg.primitives.to_string(),
        dsp_cols: cfg.dsp_cols,
        psum_split: cfg.psum_split,
        tile_cols: cfg.tile_cols,
        keep_tokens: cfg.keep_tokens,
        sbuf_depth: cfg.sbuf_depth,
        sbuf_layout: cfg.sbuf_layout.to_string(),
        board: board.name.clone(),
        family,
        device: board.device.name.clone(),
        package: board.package.clone(),
        mode: if o.ooc { "out-of-context" } else { "board" }.into(),
        top: plan.design.top_name().to_string(),
        multipliers: if r.synthesis.dsp || (plan.multipliers.own_dsps && cfg.dsp_cols > 0) {
            "dsp"
        } else {
            "lut"
        }
        .into(),
        booth: r.synthesis.booth,
        target_mhz: plan.target_mhz,
        fmax_mhz: fmax,
        timing_met: fmax.is_some_and(|f| f >= plan.target_mhz),
        pll: plan
            .placement
            .pll()
            .map(|p| PllReport::new(&p, o.pll_mhz.unwrap_or(0.0), fmax)),
        gops: fmax.map(|f| 2.0 * cfg.pes() as f64 * f / 1000.0),
        cells: r.synthesis.cells,
        core_cells: r.synthesis.core_cells,
        placed: Placed::from_report(family, &r.pnr),
        critical_path: r.pnr.critical_path.clone(),
        clocks: r.pnr.clocks.clone(),
        icetime: r.icetime,
        tools: tools.versions(),
        times: Times {
            yosys_s: r.synthesis.seconds,
            nextpnr_s: r.nextpnr_s,
            pack_s: r.pack_s,
            total_s: r.seconds,
        },
        run_dir: o.run_dir.display().to_string(),
        netlist_json: NETLIST_JSON.into(),
        netlist_verilog: NETLIST_V.into(),
        bitstream: r.bitstream,
        logs: r.logs,
        notes: r.notes,
    }
}

/// `summary.json` and `summary.txt` in the run folder.
pub(super) fn write_report(plan: &Plan, report: &Report) -> Result<(), SynthError> {
    let dir = plan.options.run_dir.as_path();
    let json = serde_json::to_string_pretty(report).map_err(|e| SynthError::Io {
        what: "serialising the report".into(),
        message: e.to_string(),
    })?;
    write_file(&dir.join(SUMMARY_JSON), &format!("{json}\n"))?;
    write_file(&dir.join(SUMMARY_TXT), &report.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placer_overflow_is_reported_as_does_not_fit() {
        let failed = |message: &str| SynthError::ToolFailed {
            tool: "nextpnr-ice40",
            status: "exit status: 125".into(),
            log: "nextpnr.log".into(),
            message: message.into(),
        };
        let e = packed_too_large(
            failed("ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5332 ICESTORM_LCs"),
            5280,
            "up5k",
        );
        assert_eq!(
            e.to_string(),
            "does not fit: the design needs 5332 logic cells after packing, the up5k has 5280: \
             a smaller array or pe_latency, or a larger device"
        );
        let other = packed_too_large(failed("ERROR: something else"), 5280, "up5k");
        assert!(matches!(other, SynthError::ToolFailed { .. }));
    }
}
