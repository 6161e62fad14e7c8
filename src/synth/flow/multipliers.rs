//! How the flow builds multipliers, decided before any tool runs: the RTL's own DSP blocks
//! (`primitives` other than generic: only for their family, never with `--mult lut`, and all of
//! them must fit the device), Yosys' MULT18X18D mapping on ECP5 (when the blocks fit, and for a
//! split multiplier only with `--mult dsp`), LUTs otherwise, and whether Yosys' `booth` pass
//! applies. Each choice the user did not spell out is a note in the report.

use crate::config::{Config, Primitives};

use crate::synth::board::{Board, Family};
use crate::synth::{fits, SynthError};

use super::options::{Multipliers, SynthOptions};

/// The multipliers a flow asks of Yosys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiplierPlan {
    /// The RTL instantiates the family's DSP blocks itself (`primitives` other than generic):
    /// nothing is inferred, the columns past `dsp_cols` are LUTs.
    pub own_dsps: bool,
    /// Yosys maps multipliers to DSP blocks (ECP5 only). Synthesis falls back to LUTs when
    /// Yosys uses more blocks than the device has.
    pub dsp: bool,
    /// Yosys' `booth` pass (LUT multipliers only).
    pub booth: bool,
}

impl MultiplierPlan {
    /// The decision for `cfg` on `o`'s board, its notes pushed to `notes`; what cannot be built
    /// is an error.
    pub(super) fn new(
        cfg: &Config,
        o: &SynthOptions,
        notes: &mut Vec<String>,
    ) -> Result<MultiplierPlan, SynthError> {
        let own_dsps = cfg.primitives != Primitives::Generic;
        if own_dsps {
            own_dsp_blocks(cfg, o, notes)?;
        }
        let dsp = !own_dsps && inferred_dsp(cfg, o, notes)?;
        let booth = if o.booth && dsp {
            notes.push("--booth applies to LUT multipliers: ignored with DSP multipliers".into());
            false
        } else if o.booth && cfg.primitives == Primitives::Ice40 {
            notes.push(
                "--booth: ignored with primitives = ice40 (every multiplier is instantiated: \
                 SB_MAC16 or carry chains)"
                    .into(),
            );
            false
        } else {
            o.booth
        };
        Ok(MultiplierPlan {
            own_dsps,
            dsp,
            booth,
        })
    }
}

/// RTL that instantiates DSP blocks itself: only for its family, never with LUTs, and the
/// device must hold all of them (there is nothing to fall back to).
fn own_dsp_blocks(
    cfg: &Config,
    o: &SynthOptions,
    notes: &mut Vec<String>,
) -> Result<(), SynthError> {
    let board = &o.board;
    let dev = &board.device;
    let (own_family, block, use_note) = match cfg.primitives {
        Primitives::Ice40 => (
            Family::Ice40,
            "SB_MAC16 (one per pair of PEs in a DSP column, instantiated by the RTL)",
            "primitives = ice40: the multipliers of each pair of PEs in a DSP column are \
             one SB_MAC16 in dual 8x8 mode, instantiated with its input and product \
             registers (synth_ice40 -dsp inference is not used; nextpnr-ice40 does not time \
             the block's inside: see icetime); the columns past dsp_cols multiply on the \
             RTL's own carry chains (SB_LUT4 + SB_CARRY, systolic_mul_lut_ice40)",
        ),
        _ => (
            Family::Ecp5,
            "MULT18X18D (one per PE in a DSP column, instantiated by the RTL)",
            "primitives = ecp5: each PE's multiplier is a MULT18X18D instantiated with its \
             own registers, and at pe_latency 3 each PSUM column of up to 1024 entries \
             DP16KD blocks with their output registers (Yosys' inference uses neither)",
        ),
    };
    if board.family() != own_family {
        return Err(SynthError::Unsupported(format!(
            "primitives = {} instantiates {} DSP blocks: not for the {} ({}); generate \
             with --primitives generic",
            cfg.primitives, own_family, dev.name, board.name
        )));
    }
    if o.multipliers == Multipliers::Lut {
        return Err(SynthError::Unsupported(format!(
            "--mult lut with primitives = {}: the RTL instantiates its DSP blocks; \
             generate with --primitives generic for LUT multipliers",
            cfg.primitives
        )));
    }
    fits(
        block,
        cfg.dsp_blocks(),
        dev.dsp,
        &dev.name,
        own_dsp_hint(cfg, board),
    )?;
    notes.push(use_note.into());
    if cfg.dsp_cols < cfg.cols {
        notes.push(format!(
            "dsp_cols = {}: columns {}..{} use LUT multipliers",
            cfg.dsp_cols,
            cfg.dsp_cols,
            cfg.cols - 1
        ));
    }
    Ok(())
}

/// The way out when the RTL's own DSP blocks do not fit `board`'s device.
fn own_dsp_hint(cfg: &Config, board: &Board) -> String {
    let fit_cols = board.device.dsp / cfg.dsp_blocks_per_col();
    if fit_cols > 0 {
        format!(
            ": give --dsp-cols {fit_cols} (the other columns' multipliers in LUTs), a \
             smaller array, or --primitives generic for LUT multipliers"
        )
    } else if cfg.primitives == Primitives::Ice40 {
        ": give --dsp-cols 0 (every multiplier on the carry chains), a smaller array, \
         or --primitives generic for LUT multipliers"
            .into()
    } else {
        ": give a smaller array, or --primitives generic for LUT multipliers".into()
    }
}

/// Whether Yosys maps the generic RTL's multipliers to DSP blocks.
fn inferred_dsp(
    cfg: &Config,
    o: &SynthOptions,
    notes: &mut Vec<String>,
) -> Result<bool, SynthError> {
    let dev = &o.board.device;
    let split = cfg.derived.mul_lat > 2;
    Ok(match (o.board.family(), o.multipliers) {
        (Family::Ice40, Multipliers::Dsp) => {
            return Err(SynthError::Unsupported(
                "DSP multipliers on iCE40: synth_ice40 -dsp inference was measured producing \
                 wrong netlists for multiply-accumulate chains; use --mult lut (the default)"
                    .into(),
            ))
        }
        (Family::Ice40, _) => {
            notes.push(
                "iCE40: LUT multipliers (synth_ice40 -dsp inference is not used: it was \
                 measured producing wrong netlists for multiply-accumulate chains)"
                    .into(),
            );
            false
        }
        (Family::Ecp5, Multipliers::Lut) => false,
        (Family::Ecp5, Multipliers::Auto) if split => {
            let (per_pe, _) = split_products(cfg);
            notes.push(format!(
                "pe_latency {} splits each multiplier into {per_pe} partial products for LUT \
                 fabrics: LUT multipliers (--mult dsp maps each to a MULT18X18D, {per_pe} per PE)",
                cfg.pe_latency
            ));
            false
        }
        (Family::Ecp5, _) if split => {
            let (per_pe, what) = split_products(cfg);
            fits(
                what,
                per_pe * cfg.pes(),
                dev.dsp,
                &dev.name,
                ": give a smaller array, or --mult lut".into(),
            )?;
            true
        }
        (Family::Ecp5, _) => {
            if cfg.pes() > dev.dsp {
                notes.push(format!(
                    "{} multipliers (one per PE) do not fit the {} MULT18X18D of the {}: \
                     LUT multipliers instead",
                    cfg.pes(),
                    dev.dsp,
                    dev.name
                ));
                false
            } else {
                true
            }
        }
    })
}

/// The partial products of a split LUT multiplier (`mul_lat` 3: two halves, 4: four quarters),
/// each a MULT18X18D with `--mult dsp`: their count per PE, and the blocks as the fit check
/// names them.
fn split_products(cfg: &Config) -> (u64, &'static str) {
    if cfg.derived.mul_lat > 3 {
        (
            4,
            "MULT18X18D (four per PE: pe_latency 5 splits each multiplier)",
        )
    } else {
        (
            2,
            "MULT18X18D (two per PE: pe_latency 4 splits each multiplier)",
        )
    }
}
