//! Simulation models of the vendor primitives a generated design may instantiate (the ECP5's
//! MULT18X18D, DP16KD and CCU2C, the iCE40 UltraPlus SB_MAC16 subset, the PLLs), as hand-written
//! Verilog in `hdl/sim/`. A [`Design`](super::design::Design) lists the ones it needs; they go to
//! simulators only, never to synthesis (the synthesis tool must see the primitives as its own
//! cells). A leaf: it imports nothing of the crate.

/// One simulation model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimModel {
    /// MULT18X18D and DP16KD (Yosys ships them as black boxes or parameter-only shells); each
    /// covers the configuration the generated RTL and Yosys' mapping use and refuses any other.
    Ecp5Cells,
    /// CCU2C, for the carry-chain multipliers of RTL generated with `primitives = "ecp5"` (a
    /// netlist is simulated with Yosys' own).
    Ecp5Carry,
    /// The SB_MAC16 subset of `primitives = "ice40"` (dual 8x8 mode with its registers); a
    /// netlist is simulated with Yosys' own `cells_sim.v`.
    Ice40Cells,
    /// SB_PLL40_PAD, SB_PLL40_CORE and EHXPLLL: cycles, not frequency (the output clock is the
    /// reference clock; LOCK after 8 reference cycles).
    Pll,
}

impl SimModel {
    /// The file name the model is written under beside a design's sources.
    pub fn file_name(self) -> &'static str {
        match self {
            SimModel::Ecp5Cells => "ecp5_cells.v",
            SimModel::Ecp5Carry => "ecp5_carry.v",
            SimModel::Ice40Cells => "ice40_cells.v",
            SimModel::Pll => "pll_cells.v",
        }
    }

    /// The model's Verilog text.
    pub fn text(self) -> &'static str {
        match self {
            SimModel::Ecp5Cells => include_str!("../../hdl/sim/ecp5_cells.v"),
            SimModel::Ecp5Carry => include_str!("../../hdl/sim/ecp5_carry.v"),
            SimModel::Ice40Cells => include_str!("../../hdl/sim/ice40_cells.v"),
            SimModel::Pll => include_str!("../../hdl/sim/pll_cells.v"),
        }
    }

    /// What the model covers, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            SimModel::Ecp5Cells => "hdl/sim/ecp5_cells.v (MULT18X18D, DP16KD)",
            SimModel::Ecp5Carry => "hdl/sim/ecp5_carry.v (CCU2C)",
            SimModel::Ice40Cells => "hdl/sim/ice40_cells.v (SB_MAC16, dual 8x8)",
            SimModel::Pll => {
                "hdl/sim/pll_cells.v (SB_PLL40_PAD, SB_PLL40_CORE, EHXPLLL: cycles, not frequency)"
            }
        }
    }

    /// `(file name, text)`.
    pub fn file(self) -> (String, String) {
        (self.file_name().to_string(), self.text().to_string())
    }
}
