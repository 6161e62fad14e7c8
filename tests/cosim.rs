//! Co-simulation of the generated RTL (Verilator) against the golden model, on random programs
//! chosen by proptest, for array sizes from 1x1 to 32x32 and several number formats.
//!
//! Each case draws a program seed and whether the handshakes stall at random. The programs
//! cover (by construction of `random_program`, itself tested in golden_model.rs) extreme values,
//! K < rows, M < cols, N = 1 and N = psum_depth, chains of >= 4 accumulating instructions,
//! preloaded stationaries, masked garbage and reads of never-written entries. A failing case
//! prints the seed, the report with the first mismatch, and the whole program (its matrices).

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;

use systolic::config::Config;
use systolic::cosim::{Harness, HarnessOptions, Stalls};
use systolic::program::{random_program, GenOptions, SplitMix64};

fn check(harness: &Harness, seed: u64, stalls: bool, matmuls: usize) -> Result<(), TestCaseError> {
    check_with(harness, seed, stalls, false, matmuls)
}

/// `gapless`: loads stream without gaps (`ls_gapless`), so swaps may start early; programs then
/// use exactly the rows their stationaries have (no k/K mismatch).
fn check_with(
    harness: &Harness,
    seed: u64,
    stalls: bool,
    gapless: bool,
    matmuls: usize,
) -> Result<(), TestCaseError> {
    let cfg = &harness.cfg;
    let mut rng = SplitMix64::new(seed);
    let mut gen = GenOptions {
        matmuls,
        ..GenOptions::default()
    };
    if gapless {
        gen.p_mismatch = 0.0;
    }
    let program = random_program(cfg, &mut rng, &gen);
    let mut st = if stalls {
        Stalls::random(seed)
    } else {
        Stalls::NONE
    };
    st.gapless_loads = gapless;
    let outcome = harness
        .run(&program, st, None)
        .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
    if !outcome.report.pass {
        return Err(TestCaseError::fail(format!(
            "seed {seed}, stalls {stalls}, gapless loads {gapless}, config {}:\n{}\nprogram:\n{}",
            cfg.canonical_toml(),
            outcome.report.summary(),
            program
        )));
    }
    Ok(())
}

/// Build each configuration once per test binary (the build itself is cached on disk too).
fn harness(
    slot: &'static OnceLock<Option<Harness>>,
    cfg: impl FnOnce() -> Config,
) -> Option<&'static Harness> {
    slot.get_or_init(|| {
        if !common::require_tool("verilator", "harness") {
            return None;
        }
        let cfg = cfg();
        Some(
            Harness::build(&cfg, &HarnessOptions::default())
                .unwrap_or_else(|e| panic!("build {}: {e}", cfg.name)),
        )
    })
    .as_ref()
}

macro_rules! cosim_case {
    ($name:ident, cases = $cases:expr, matmuls = $mm:expr, $cfg:expr) => {
        proptest! {
            #![proptest_config(PtConfig { cases: $cases, failure_persistence: None, max_shrink_iters: 0, ..PtConfig::default() })]
            #[test]
            fn $name(seed in any::<u64>(), stalls in any::<bool>()) {
                static SLOT: OnceLock<Option<Harness>> = OnceLock::new();
                let Some(h) = harness(&SLOT, || $cfg) else { return Ok(()); };
                check(h, seed, stalls, $mm)?;
            }
        }
    };
}

cosim_case!(
    cosim_1x1,
    cases = 24,
    matmuls = 40,
    common::config(1, 1, "int8", 32, 2, 8)
);
cosim_case!(
    cosim_1x8,
    cases = 16,
    matmuls = 30,
    common::config(1, 8, "int8", 32, 1, 16)
);
cosim_case!(
    cosim_8x1,
    cases = 16,
    matmuls = 30,
    common::config(8, 1, "int8", 32, 3, 16)
);
cosim_case!(
    cosim_3x5,
    cases = 24,
    matmuls = 40,
    common::preset("int8-3x5")
);
cosim_case!(
    cosim_4x4,
    cases = 24,
    matmuls = 40,
    common::preset("int8-4x4")
);
cosim_case!(
    cosim_8x8,
    cases = 12,
    matmuls = 30,
    common::preset("int8-8x8")
);
cosim_case!(
    cosim_16x16,
    cases = 8,
    matmuls = 24,
    common::preset("int8-16x16")
);
cosim_case!(
    cosim_32x32,
    cases = 4,
    matmuls = 16,
    common::config(32, 32, "int8", 32, 2, 64)
);
// Other integer formats: narrow and wide, signed and unsigned, tight and 64-bit accumulators.
cosim_case!(
    cosim_4x4_uint8_acc16,
    cases = 12,
    matmuls = 30,
    common::config(4, 4, "uint8", 16, 2, 32)
);
cosim_case!(
    cosim_3x2_int2_acc4,
    cases = 12,
    matmuls = 30,
    common::config(3, 2, "int2", 4, 1, 8)
);
cosim_case!(
    cosim_2x3_int16_acc64,
    cases = 12,
    matmuls = 30,
    common::config(2, 3, "int16", 64, 2, 16)
);
cosim_case!(
    cosim_5x3_uint16_acc40,
    cases = 12,
    matmuls = 30,
    common::config(5, 3, "uint16", 40, 4, 8)
);

// Floating-point formats (bit-exact fp32 accumulation, docs/numerics.md) and pipelined PEs
// (pe_latency 2: registered product; 3: also a two-stage fp32 adder, so the moving data is
// skewed two cycles per row and a new load waits for the swap wavefront).
cosim_case!(
    cosim_bf16_4x4,
    cases = 16,
    matmuls = 40,
    common::preset("bf16-4x4")
);
cosim_case!(
    cosim_bf16_8x8_l3,
    cases = 8,
    matmuls = 30,
    common::with_latency(common::config(8, 8, "bf16", 32, 2, 32), 3)
);
cosim_case!(
    cosim_fp8e4m3_3x5_l2,
    cases = 12,
    matmuls = 30,
    common::with_latency(common::config(3, 5, "fp8e4m3", 32, 2, 16), 2)
);
cosim_case!(
    cosim_fp8e5m2_8x8_l3,
    cases = 8,
    matmuls = 30,
    common::preset("fp8e5m2-8x8")
);
cosim_case!(
    cosim_fp8e5m2_1x1,
    cases = 12,
    matmuls = 40,
    common::config(1, 1, "fp8e5m2", 32, 2, 8)
);
cosim_case!(
    cosim_int8_4x4_l2,
    cases = 12,
    matmuls = 30,
    common::with_latency(common::preset("int8-4x4"), 2)
);

cosim_case!(
    cosim_int8_4x4_l3,
    cases = 12,
    matmuls = 30,
    common::with_latency(common::preset("int8-4x4"), 3)
);
cosim_case!(
    cosim_uint8_3x5_l3,
    cases = 8,
    matmuls = 30,
    common::with_latency(common::config(3, 5, "uint8", 24, 2, 16), 3)
);
// Integer pe_latency 4: the multiplier split in two halves (odd widths too).
cosim_case!(
    cosim_int8_4x4_l4,
    cases = 8,
    matmuls = 30,
    common::with_latency(common::preset("int8-4x4"), 4)
);
cosim_case!(
    cosim_int5_2x3_l4,
    cases = 8,
    matmuls = 30,
    common::with_latency(common::config(2, 3, "int5", 20, 2, 8), 4)
);
// Integer pe_latency 5: each half from two registered quarter products.
cosim_case!(
    cosim_int8_4x4_l5,
    cases = 8,
    matmuls = 30,
    common::with_latency(common::preset("int8-4x4"), 5)
);
cosim_case!(
    cosim_uint7_3x2_l5_psum_split,
    cases = 8,
    matmuls = 30,
    common::with_psum_split(common::with_latency(
        common::config(3, 2, "uint7", 20, 2, 8),
        5
    ))
);

// primitives = "ecp5": each PE's multiplier is an ECP5 MULT18X18D with its own registers,
// simulated with hdl/sim/ecp5_cells.v (shown to fail when that model's input registers are
// bypassed).
cosim_case!(
    cosim_int8_4x4_l3_ecp5,
    cases = 8,
    matmuls = 30,
    common::with_ecp5_primitives(common::with_latency(common::preset("int8-4x4"), 3))
);
// 4 x 256 PSUM entries: the 18-bit block RAM configuration (two blocks per column).
cosim_case!(
    cosim_int8_2x3_l3_ecp5_deep_psum,
    cases = 6,
    matmuls = 30,
    common::with_ecp5_primitives(common::with_latency(
        common::config(2, 3, "int8", 32, 4, 256),
        3
    ))
);
cosim_case!(
    cosim_uint8_3x5_l2_ecp5,
    cases = 8,
    matmuls = 30,
    common::with_ecp5_primitives(common::with_latency(
        common::config(3, 5, "uint8", 24, 2, 16),
        2
    ))
);
cosim_case!(
    cosim_ecp5_int8_3x4_l4,
    cases = 6,
    matmuls = 30,
    common::with_ecp5_primitives(common::with_latency(
        common::config(3, 4, "int8", 32, 2, 64),
        4
    ))
);

// primitives = "ice40": the multipliers of each pair of PEs in a column are one iCE40 SB_MAC16
// in dual 8x8 mode, simulated with hdl/sim/ice40_cells.v (signed products: the int8 core fails
// with the model's B operand taken unsigned). An odd number of rows leaves the last block's top
// half unused; int5 pads the block's 8-bit halves.
cosim_case!(
    cosim_ice40_int8_4x4_l2,
    cases = 8,
    matmuls = 30,
    common::with_ice40_primitives(common::with_latency(common::preset("int8-4x4"), 2))
);
cosim_case!(
    cosim_ice40_int5_3x2_l3,
    cases = 8,
    matmuls = 30,
    common::with_ice40_primitives(common::with_latency(
        common::config(3, 2, "int5", 20, 2, 8),
        3
    ))
);
cosim_case!(
    cosim_ice40_uint8_5x3_l4,
    cases = 6,
    matmuls = 30,
    common::with_ice40_primitives(common::with_latency(
        common::config(5, 3, "uint8", 24, 2, 16),
        4
    ))
);

// dsp_cols: the first columns on DSP blocks, the others with the generic PE's LUT multiplier
// (same timing), for a device with fewer blocks than the array needs.
cosim_case!(
    cosim_ice40_int8_4x4_l3_two_dsp_cols,
    cases = 6,
    matmuls = 30,
    common::with_dsp_cols(
        common::with_ice40_primitives(common::with_latency(common::preset("int8-4x4"), 3)),
        2
    )
);
cosim_case!(
    cosim_ecp5_int8_3x3_l4_one_dsp_col,
    cases = 6,
    matmuls = 30,
    common::with_dsp_cols(
        common::with_ecp5_primitives(common::with_latency(
            common::config(3, 3, "int8", 32, 2, 16),
            4
        )),
        1
    )
);

// psum_split: the PSUM accumulate in two halves, the high one a cycle later with the low one's
// carry, each with its own memory and forwarding (odd widths: 24 = 12 + 12, 19 = 9 + 10; the
// ECP5 block RAMs of RAM_ECP5 per half).
cosim_case!(
    cosim_int8_4x4_l3_psum_split,
    cases = 10,
    matmuls = 30,
    common::with_psum_split(common::with_latency(common::preset("int8-4x4"), 3))
);
cosim_case!(
    cosim_uint8_3x5_l4_psum_split,
    cases = 6,
    matmuls = 30,
    common::with_psum_split(common::with_latency(
        common::config(3, 5, "uint8", 24, 2, 16),
        4
    ))
);
cosim_case!(
    cosim_int5_2x2_l3_psum_split_one_bank,
    cases = 6,
    matmuls = 30,
    common::with_psum_split(common::with_latency(
        common::config(2, 2, "int5", 19, 1, 4),
        3
    ))
);
cosim_case!(
    cosim_ice40_int8_4x4_l3_psum_split,
    cases = 6,
    matmuls = 30,
    common::with_psum_split(common::with_ice40_primitives(common::with_latency(
        common::preset("int8-4x4"),
        3
    )))
);
cosim_case!(
    cosim_ecp5_int8_3x4_l4_psum_split,
    cases = 6,
    matmuls = 30,
    common::with_psum_split(common::with_ecp5_primitives(common::with_latency(
        common::config(3, 4, "int8", 32, 2, 64),
        4
    )))
);

// primitives = "ice40" with no DSP column: every PE on the carry-chain multiplier
// (systolic_mul_lut_ice40 on the RTL models of SB_LUT4 and SB_CARRY).
cosim_case!(
    cosim_ice40_int8_3x3_l2_lut_only,
    cases = 6,
    matmuls = 30,
    common::with_dsp_cols(
        common::with_ice40_primitives(common::with_latency(
            common::config(3, 3, "int8", 32, 2, 16),
            2
        )),
        0
    )
);

// tile_cols: the moving data and swap token broadcast within a tile, registered between tiles;
// the load skew and the deskew by tile, the latency shorter by cols - ceil(cols/tile_cols).
cosim_case!(
    cosim_int8_3x5_tile5,
    cases = 8,
    matmuls = 30,
    common::with_tile_cols(common::preset("int8-3x5"), 5)
);
cosim_case!(
    cosim_int8_4x7_l3_tile3_psum_split,
    cases = 6,
    matmuls = 30,
    common::with_tile_cols(
        common::with_psum_split(common::with_latency(
            common::config(4, 7, "int8", 24, 2, 16),
            3
        )),
        3
    )
);
cosim_case!(
    cosim_bf16_3x4_l3_tile2,
    cases = 6,
    matmuls = 30,
    common::with_tile_cols(
        common::with_latency(common::config(3, 4, "bf16", 32, 2, 16), 3),
        2
    )
);
cosim_case!(
    cosim_ice40_int8_8x4_l2_two_dsp_cols_tile4,
    cases = 4,
    matmuls = 24,
    common::with_tile_cols(
        common::with_dsp_cols(
            common::with_ice40_primitives(common::with_latency(
                common::config(8, 4, "int8", 32, 2, 64),
                2
            )),
            2
        ),
        4
    )
);

macro_rules! cosim_gapless_case {
    ($name:ident, cases = $cases:expr, matmuls = $mm:expr, $cfg:expr) => {
        proptest! {
            #![proptest_config(PtConfig { cases: $cases, failure_persistence: None, max_shrink_iters: 0, ..PtConfig::default() })]
            #[test]
            fn $name(seed in any::<u64>(), stalls in any::<bool>()) {
                static SLOT: OnceLock<Option<Harness>> = OnceLock::new();
                let Some(h) = harness(&SLOT, || $cfg) else { return Ok(()); };
                check_with(h, seed, stalls, true, $mm)?;
            }
        }
    };
}

// Early swaps (ls_gapless): the same checks with loads streamed without gaps.
cosim_gapless_case!(
    cosim_gapless_3x5,
    cases = 16,
    matmuls = 40,
    common::preset("int8-3x5")
);
cosim_gapless_case!(
    cosim_gapless_4x4,
    cases = 16,
    matmuls = 40,
    common::preset("int8-4x4")
);
cosim_gapless_case!(
    cosim_gapless_bf16_6x3_l3,
    cases = 12,
    matmuls = 30,
    common::with_latency(common::config(6, 3, "bf16", 32, 2, 16), 3)
);
cosim_gapless_case!(
    cosim_gapless_8x1,
    cases = 12,
    matmuls = 30,
    common::config(8, 1, "int8", 32, 3, 16)
);

/// With gapless loads the first stationary load overlaps the first instruction: back-to-back
/// instructions then take K - 1 cycles fewer than the timing model of ordinary loads predicts,
/// and the results are still right.
#[test]
fn gapless_loads_let_the_first_swap_start_early() {
    static SLOT: OnceLock<Option<Harness>> = OnceLock::new();
    let Some(h) = harness(&SLOT, || common::preset("int8-8x8")) else {
        return;
    };
    let cfg = &h.cfg;
    let program = systolic::program::Program::back_to_back(cfg, 6, 16, &mut SplitMix64::new(3));
    let plain = h.run(&program, Stalls::NONE, None).unwrap();
    assert!(plain.report.pass, "{}", plain.report.summary());
    let st = Stalls {
        gapless_loads: true,
        ..Stalls::NONE
    };
    let early = h.run(&program, st, None).unwrap();
    assert!(early.report.pass, "{}", early.report.summary());
    let first_plain = plain.rtl.mv_fire[0];
    let first_early = early.rtl.mv_fire[0];
    assert_eq!(
        first_plain,
        u64::from(cfg.rows),
        "ordinary: the first swap waits for all K rows"
    );
    assert_eq!(
        first_early, 1,
        "gapless: the first swap follows the first row by one cycle"
    );
    assert_eq!(
        plain.report.cycles - early.report.cycles,
        u64::from(cfg.rows) - 1
    );
}

/// With pe_latency 3 the fp32 accumulate adder of PSUM is pipelined: an accumulation into the
/// entry of the beat fired just before it must wait one cycle. A chain of N = 1 accumulations
/// into one entry therefore fires every other cycle, and the sums are still exact.
#[test]
fn pipelined_psum_accumulation_chain_waits_one_cycle_per_link() {
    use systolic::program::{Command, Program};
    static SLOT: OnceLock<Option<Harness>> = OnceLock::new();
    let Some(h) = harness(&SLOT, || {
        common::with_latency(common::config(2, 2, "bf16", 32, 1, 4), 3)
    }) else {
        return;
    };
    let one = 0x3F80; // bf16 1.0
    let third = 0x3EAB; // bf16 ~0.334: sums that round
    let mm = |accumulate: bool, swap: bool, offset: u32| Command::MultiplyMoving {
        k: 2,
        m: 2,
        bank: 0,
        offset,
        accumulate,
        swap,
        moving: vec![vec![third, one]],
    };
    let mut commands = vec![Command::LoadStationary {
        rows: vec![vec![one, third], vec![third, one]],
    }];
    commands.push(mm(false, true, 1));
    for _ in 0..6 {
        commands.push(mm(true, false, 1));
    }
    // A different entry right after: no wait.
    commands.push(mm(false, false, 0));
    commands.push(Command::ReadPsum { bank: 0, addr: 1 });
    commands.push(Command::ReadPsum { bank: 0, addr: 0 });
    let program = Program { commands };
    let out = h.run(&program, Stalls::NONE, None).unwrap();
    assert!(out.report.pass, "{}\n{program}", out.report.summary());
    let f = &out.rtl.mv_fire;
    assert_eq!(f.len(), 8);
    assert!(
        f[..7].windows(2).all(|w| w[1] == w[0] + 2),
        "chained accumulations fire every other cycle: {f:?}"
    );
    assert_eq!(
        f[7],
        f[6] + 1,
        "a beat into another entry does not wait: {f:?}"
    );
}

/// Partial sums inside the array are `PS_W` bits (the exact sum of `rows` products), extended
/// to `ACC_W` below it. The largest and the most negative column sums, then chains that
/// accumulate them in PSUM far past `PS_W` bits, must come out exact: this is where a width
/// one bit too narrow, or a zero- instead of sign-extension, would show.
#[test]
fn extreme_column_sums_survive_the_narrow_partial_sums() {
    use systolic::program::{Command, Program};
    let cases = [
        (common::config(4, 4, "int8", 32, 2, 8), 18),
        (common::config(3, 5, "int8", 32, 2, 8), 18),
        (common::config(5, 3, "uint8", 32, 2, 8), 19),
        (common::config(7, 2, "int4", 32, 2, 8), 11),
        (
            common::with_latency(common::config(2, 2, "int16", 40, 2, 8), 2),
            33,
        ),
        (
            common::with_latency(common::config(4, 4, "int8", 32, 2, 8), 4),
            18,
        ),
        (
            common::with_latency(common::config(5, 3, "uint8", 32, 2, 8), 4),
            19,
        ),
        (
            common::with_latency(common::config(3, 2, "int5", 32, 2, 8), 4),
            12,
        ),
        (
            common::with_psum_split(common::with_latency(
                common::config(4, 4, "int8", 32, 2, 8),
                3,
            )),
            18,
        ),
        (
            common::with_psum_split(common::with_latency(
                common::config(5, 3, "uint8", 32, 2, 8),
                4,
            )),
            19,
        ),
    ];
    for (cfg, ps_w) in cases {
        assert_eq!(cfg.derived.ps_w, ps_w, "{}", cfg.name);
        if !common::require_tool(
            "verilator",
            "extreme_column_sums_survive_the_narrow_partial_sums",
        ) {
            return;
        }
        let h = Harness::build(&cfg, &HarnessOptions::default())
            .unwrap_or_else(|e| panic!("build {}: {e}", cfg.name));
        let (k, m) = (cfg.rows, cfg.cols);
        let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
        let stationary = |v: i64| Command::LoadStationary {
            rows: vec![vec![v; m as usize]; k as usize],
        };
        // Beats: all min, all max, alternating; each sum is rows * (a product at an extreme).
        let beats: Vec<Vec<i64>> = vec![
            vec![lo; k as usize],
            vec![hi; k as usize],
            (0..k).map(|r| if r % 2 == 0 { lo } else { hi }).collect(),
        ];
        let mm = |accumulate: bool, swap: bool, offset: u32| Command::MultiplyMoving {
            k,
            m,
            bank: 0,
            offset,
            accumulate,
            swap,
            moving: beats.clone(),
        };
        let mut commands = vec![];
        for (w, offset) in [(lo, 0), (hi, 3)] {
            commands.push(stationary(w));
            commands.push(mm(false, true, offset));
            // Accumulating 9 more times needs ~4 more bits than one column sum.
            commands.extend((0..9).map(|_| mm(true, false, offset)));
        }
        commands.extend((0..6).map(|addr| Command::ReadPsum { bank: 0, addr }));
        let program = Program { commands };
        let out = h.run(&program, Stalls::NONE, None).unwrap();
        assert!(
            out.report.pass,
            "{}: {}\n{program}",
            cfg.name,
            out.report.summary()
        );
    }
}
