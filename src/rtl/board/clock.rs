//! `systolic_clock_ice40` / `systolic_clock_ecp5`: the board top's core clock from the board's
//! oscillator through the FPGA's PLL (generated only when the board design asks for a PLL,
//! `systolic synth --board B --pll-mhz F`). The divider settings come from [`crate::pll`].
//!
//! Timing contract:
//! - `clk_osc` is the board's oscillator (`f_in`); `clk` is the PLL's output,
//!   `f_out = f_in * ratio` (iCE40: `(DIVF + 1) / ((DIVR + 1) * 2^DIVQ)`; ECP5:
//!   `CLKFB_DIV / CLKI_DIV`), on the global clock network.
//! - `locked` (the PLL's LOCK) rises once `clk` runs at `f_out`; it is asynchronous to `clk` and
//!   the user synchronises it (the board top holds its reset until `locked` has passed a 2-flop
//!   synchroniser). Before `locked`, `clk` may run at any frequency or not at all.
//! - No reset and no power-down: the PLL starts at configuration (iCE40 RESETB high, BYPASS
//!   low; ECP5 RST and STDBY low). No other output is used.
//! - iCE40: `SB_PLL40_PAD` when the clock pin is the PLL's input pad (the iCEBreaker's pin 35),
//!   `SB_PLL40_CORE` fed from the fabric otherwise; SIMPLE feedback, PLLOUT_SELECT GENCLK.
//!   ECP5: `EHXPLLL` with feedback from CLKOP, the loop-filter attributes ecppll writes
//!   (ICP_CURRENT 12, LPF_RESISTOR 8, MFG_ENABLE_FILTEROPAMP 1, MFG_GMCREF_SEL 2: nextpnr puts
//!   them into the bitstream, 0 when absent) and FREQUENCY_PIN_CLKI / _CLKOP for nextpnr.
//! - Simulation: `hdl/sim/pll_cells.v` models the primitives' cycles, not their frequency
//!   (the output is the reference clock; LOCK after a few cycles).

use crate::pll::{Pll, PllKind, PllSettings};
use crate::verilog::*;

/// The clock module's name for a PLL.
pub fn module_name(pll: &Pll) -> &'static str {
    match pll.kind {
        PllKind::Ice40Pad | PllKind::Ice40Core => "systolic_clock_ice40",
        PllKind::Ecp5 => "systolic_clock_ecp5",
    }
}

/// A frequency in MHz as a short decimal string (`12`, `46.875`).
pub fn mhz_text(f: f64) -> String {
    let s = format!("{f:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn unused_outputs(names: &[&str]) -> Item {
    Item::LintOff {
        warning: "UNUSED",
        reason: "PLL outputs this design does not use".into(),
        items: names.iter().map(|n| wire(n, None)).collect(),
    }
}

/// The clock module of `pll`.
pub fn module(pll: &Pll) -> Module {
    let (fin, fout) = (mhz_text(pll.input_mhz()), mhz_text(pll.output_mhz()));
    let dividers = pll
        .dividers()
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut doc = vec![
        format!(
            "Core clock: {} {fin} MHz in, {fout} MHz out ({dividers}; PFD {} MHz, VCO {} MHz).",
            pll.kind.primitive(),
            mhz_text(pll.pfd_mhz()),
            mhz_text(pll.vco_mhz())
        ),
        "Timing contract: clk runs at the output frequency once `locked` is high; `locked` is"
            .into(),
        "asynchronous to clk (synchronise it); before it, clk may run at any frequency or not"
            .into(),
        "at all. No reset: the PLL starts at configuration.".into(),
    ];
    let items = match pll.settings {
        PllSettings::Ice40 {
            divr,
            divf,
            divq,
            filter_range,
        } => {
            let (primitive, input_pin) = match pll.kind {
                PllKind::Ice40Pad => ("SB_PLL40_PAD", "PACKAGEPIN"),
                _ => ("SB_PLL40_CORE", "REFERENCECLK"),
            };
            let params = vec![
                ("FEEDBACK_PATH".to_string(), string("SIMPLE")),
                ("PLLOUT_SELECT".to_string(), string("GENCLK")),
                ("DIVR".to_string(), sized(4, divr.into())),
                ("DIVF".to_string(), sized(7, divf.into())),
                ("DIVQ".to_string(), sized(3, divq.into())),
                ("FILTER_RANGE".to_string(), sized(3, filter_range.into())),
            ];
            let ports = vec![
                (input_pin.to_string(), id("clk_osc")),
                ("PLLOUTGLOBAL".to_string(), id("clk")),
                ("PLLOUTCORE".to_string(), id("pll_outcore")),
                ("LOCK".to_string(), id("locked")),
                ("EXTFEEDBACK".to_string(), sized(1, 0)),
                ("DYNAMICDELAY".to_string(), sized(8, 0)),
                ("BYPASS".to_string(), sized(1, 0)),
                ("RESETB".to_string(), sized(1, 1)),
                ("LATCHINPUTVALUE".to_string(), sized(1, 0)),
                ("SDO".to_string(), id("pll_sdo")),
                ("SDI".to_string(), sized(1, 0)),
                ("SCLK".to_string(), sized(1, 0)),
            ];
            vec![
                unused_outputs(&["pll_outcore", "pll_sdo"]),
                Item::Instance(Instance {
                    module: primitive.into(),
                    name: "u_pll".into(),
                    params,
                    ports,
                }),
            ]
        }
        PllSettings::Ecp5 {
            clki_div,
            clkfb_div,
            clkop_div,
            clkop_cphase,
        } => {
            let s = |v: &str| string(v);
            let params = vec![
                ("PLLRST_ENA".to_string(), s("DISABLED")),
                ("INTFB_WAKE".to_string(), s("DISABLED")),
                ("STDBY_ENABLE".to_string(), s("DISABLED")),
                ("DPHASE_SOURCE".to_string(), s("DISABLED")),
                ("OUTDIVIDER_MUXA".to_string(), s("DIVA")),
                ("OUTDIVIDER_MUXB".to_string(), s("DIVB")),
                ("OUTDIVIDER_MUXC".to_string(), s("DIVC")),
                ("OUTDIVIDER_MUXD".to_string(), s("DIVD")),
                ("CLKI_DIV".to_string(), int(clki_div.into())),
                ("CLKOP_ENABLE".to_string(), s("ENABLED")),
                ("CLKOP_DIV".to_string(), int(clkop_div.into())),
                ("CLKOP_CPHASE".to_string(), int(clkop_cphase.into())),
                ("CLKOP_FPHASE".to_string(), int(0)),
                ("FEEDBK_PATH".to_string(), s("CLKOP")),
                ("CLKFB_DIV".to_string(), int(clkfb_div.into())),
            ];
            let mut ports = vec![
                ("CLKI".to_string(), id("clk_osc")),
                ("CLKFB".to_string(), id("clk")),
                ("CLKOP".to_string(), id("clk")),
                ("LOCK".to_string(), id("locked")),
                ("RST".to_string(), sized(1, 0)),
                ("STDBY".to_string(), sized(1, 0)),
                ("PHASESEL0".to_string(), sized(1, 0)),
                ("PHASESEL1".to_string(), sized(1, 0)),
                ("PHASEDIR".to_string(), sized(1, 1)),
                ("PHASESTEP".to_string(), sized(1, 1)),
                ("PHASELOADREG".to_string(), sized(1, 1)),
                ("PLLWAKESYNC".to_string(), sized(1, 0)),
            ];
            for en in ["ENCLKOP", "ENCLKOS", "ENCLKOS2", "ENCLKOS3"] {
                ports.push((en.to_string(), sized(1, 0)));
            }
            let unused = [
                ("CLKOS", "pll_clkos"),
                ("CLKOS2", "pll_clkos2"),
                ("CLKOS3", "pll_clkos3"),
                ("INTLOCK", "pll_intlock"),
                ("REFCLK", "pll_refclk"),
                ("CLKINTFB", "pll_clkintfb"),
            ];
            for (pin, net) in unused {
                ports.push((pin.to_string(), id(net)));
            }
            doc.push("The loop-filter attributes are those Project Trellis' ecppll writes.".into());
            vec![
                unused_outputs(&unused.map(|(_, n)| n)),
                attributed(
                    &[
                        ("FREQUENCY_PIN_CLKI", &fin),
                        ("FREQUENCY_PIN_CLKOP", &fout),
                        ("ICP_CURRENT", "12"),
                        ("LPF_RESISTOR", "8"),
                        ("MFG_ENABLE_FILTEROPAMP", "1"),
                        ("MFG_GMCREF_SEL", "2"),
                    ],
                    Item::Instance(Instance {
                        module: "EHXPLLL".into(),
                        name: "u_pll".into(),
                        params,
                        ports,
                    }),
                ),
            ]
        }
    };
    Module {
        name: module_name(pll).into(),
        doc,
        params: vec![],
        ports: vec![
            input("clk_osc", None, "the board's oscillator"),
            output("clk", None, "the core clock (the PLL's output)"),
            output("locked", None, "the PLL's LOCK, asynchronous to clk"),
        ],
        items: hoist(items),
    }
}
