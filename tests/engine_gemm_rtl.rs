//! `gemm` on the RTL engine (Verilator, driven over AXI4-Lite with random wait states on every
//! channel), bit-exact against a plain triple loop; shapes chosen by proptest, plus the fixed
//! ones that matter: 1x1x1, primes (37x53x71), tall and skinny, K a multiple of rows and not,
//! on 3x5, 4x4 and 8x8 engines, both SBUF schedules (resident and double-buffered slots).
//! Floating-point engines (bf16 with a pipelined PE, fp8 E4M3) are compared bit for bit with the
//! documented order of their fp32 additions.
//! Must FAIL, not skip, when CI is set and Verilator is missing.

mod common;

use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;

use systolic::config::{Config, RawConfig};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::{gemm, GemmOptions, Matrix};
use systolic::golden::reference::reduce;
use systolic::program::{float_value, SplitMix64};

fn cfg(rows: u32, cols: u32, banks: u32, depth: u32, sbuf: u32) -> Config {
    cfg_latency(rows, cols, banks, depth, sbuf, 1)
}

/// With a pipelined PE (integers: 2 registers the product and makes PSUM read ahead, 3 also
/// registers the multiplier's operands).
fn cfg_latency(rows: u32, cols: u32, banks: u32, depth: u32, sbuf: u32, pe_latency: u32) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("gemm{rows}x{cols}-b{banks}-d{depth}-s{sbuf}-l{pe_latency}"),
        rows,
        cols,
        psum_banks: banks,
        psum_depth: depth,
        sbuf_depth: sbuf,
        pe_latency,
        ..Default::default()
    })
    .expect("valid test config")
}

/// One engine per configuration for the whole test binary (engines are reused across products,
/// as a host would).
fn engine(
    slot: &'static OnceLock<Option<Mutex<RtlEngine>>>,
    cfg: impl FnOnce() -> Config,
) -> Option<&'static Mutex<RtlEngine>> {
    slot.get_or_init(|| {
        if !common::require_tool("verilator", "engine") {
            return None;
        }
        let cfg = cfg();
        let e = RtlEngine::build(&cfg, &HarnessOptions::default())
            .unwrap_or_else(|e| panic!("build {}: {e}", cfg.name));
        Some(Mutex::new(e))
    })
    .as_ref()
}

fn random_matrix(rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| match rng.below(8) {
        0 => -128,
        1 => 127,
        2 => 0,
        _ => rng.range_i64(-128, 127),
    })
}

fn reference(cfg: &Config, a: &Matrix, b: &Matrix) -> Matrix {
    Matrix::from_fn(a.rows, b.cols, |i, j| {
        let s: i128 = (0..a.cols)
            .map(|k| i128::from(a.get(i, k)) * i128::from(b.get(k, j)))
            .sum();
        systolic::format::sign_extend(reduce(s, cfg.acc_bits), cfg.acc_bits)
    })
}

fn check(
    e: &Mutex<RtlEngine>,
    m: usize,
    k: usize,
    n: usize,
    seed: u64,
    resident: bool,
) -> Result<(), TestCaseError> {
    let mut e = e.lock().unwrap_or_else(|p| p.into_inner());
    e.bus_mut().set_wait_states(0.3, seed);
    let cfg = systolic::engine::Engine::config(&*e).clone();
    let mut rng = SplitMix64::new(seed);
    let a = random_matrix(m, k, &mut rng);
    let b = random_matrix(k, n, &mut rng);
    let opts = GemmOptions {
        resident: Some(resident),
        ..GemmOptions::default()
    };
    let got = gemm(&mut *e, &a, &b, &opts)
        .map_err(|err| TestCaseError::fail(format!("{m}x{k}x{n} seed {seed}: {err}")))?;
    let want = reference(&cfg, &a, &b);
    compare(
        &cfg,
        &got.c,
        &want,
        &a,
        &b,
        &format!("seed {seed}, resident {resident}"),
    )
}

/// The first differing element of C (values in hex for the float formats) with A and B.
fn compare(
    cfg: &Config,
    got: &Matrix,
    want: &Matrix,
    a: &Matrix,
    b: &Matrix,
    what: &str,
) -> Result<(), TestCaseError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let Some((i, j)) = (0..m * n)
        .map(|x| (x / n, x % n))
        .find(|&(i, j)| got.get(i, j) != want.get(i, j))
    else {
        return Ok(());
    };
    let show = |v: i64| {
        if cfg.format.is_float() {
            format!("{v:#010x}")
        } else {
            v.to_string()
        }
    };
    Err(TestCaseError::fail(format!(
        "{m}x{k}x{n} on {} ({what}): first difference C[{i}][{j}] = {} expected {}\nA = {:?}\nB = {:?}",
        cfg.name,
        show(got.get(i, j)),
        show(want.get(i, j)),
        a.data,
        b.data
    )))
}

macro_rules! gemm_cases {
    ($name:ident, $fixed:ident, $cfg:expr, cases = $cases:expr) => {
        static $fixed: OnceLock<Option<Mutex<RtlEngine>>> = OnceLock::new();
        proptest! {
            #![proptest_config(PtConfig { cases: $cases, failure_persistence: None, max_shrink_iters: 0, ..PtConfig::default() })]
            #[test]
            fn $name(m in 1usize..20, k in 1usize..20, n in 1usize..40, seed in any::<u64>(), resident in any::<bool>()) {
                let Some(e) = engine(&$fixed, || $cfg) else { return Ok(()); };
                check(e, m, k, n, seed, resident)?;
            }
        }
    };
}

static FIXED_4X4: OnceLock<Option<Mutex<RtlEngine>>> = OnceLock::new();

gemm_cases!(
    gemm_3x5_random_shapes,
    ENGINE_3X5,
    cfg_latency(3, 5, 2, 16, 256, 3),
    cases = 10
);
gemm_cases!(
    gemm_4x4_random_shapes,
    ENGINE_4X4,
    cfg(4, 4, 2, 32, 128),
    cases = 10
);
gemm_cases!(
    gemm_8x8_random_shapes,
    ENGINE_8X8,
    cfg_latency(8, 8, 4, 64, 512, 2),
    cases = 8
);

#[test]
fn gemm_fixed_shapes_4x4() {
    let Some(e) = engine(&FIXED_4X4, || cfg(4, 4, 2, 64, 1024)) else {
        return;
    };
    // 1x1x1, primes, tall and skinny, K a multiple of rows (16) and not (17); both schedules.
    for (i, &(m, k, n)) in [
        (1, 1, 1),
        (37, 53, 71),
        (61, 3, 2),
        (2, 3, 97),
        (9, 16, 5),
        (9, 17, 5),
    ]
    .iter()
    .enumerate()
    {
        for resident in [true, false] {
            check(e, m, k, n, 100 + i as u64, resident).unwrap();
        }
    }
}

// ---- Floating-point engines: bit-exact against the documented order of the fp32 additions ----

fn float_cfg(rows: u32, cols: u32, format: &str, pe_latency: u32, sbuf: u32) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("gemm{rows}x{cols}-{format}-l{pe_latency}"),
        rows,
        cols,
        format: format.into(),
        psum_depth: 32,
        sbuf_depth: sbuf,
        pe_latency,
        ..Default::default()
    })
    .expect("valid test config")
}

fn check_float(
    e: &Mutex<RtlEngine>,
    m: usize,
    k: usize,
    n: usize,
    seed: u64,
    resident: bool,
) -> Result<(), TestCaseError> {
    let mut e = e.lock().unwrap_or_else(|p| p.into_inner());
    e.bus_mut().set_wait_states(0.3, seed);
    let cfg = systolic::engine::Engine::config(&*e).clone();
    let f = cfg.format.float().expect("a float format");
    let mut rng = SplitMix64::new(seed);
    let a = Matrix::from_fn(m, k, |_, _| i64::from(float_value(f, &mut rng, 0.1)));
    let b = Matrix::from_fn(k, n, |_, _| i64::from(float_value(f, &mut rng, 0.1)));
    let opts = GemmOptions {
        resident: Some(resident),
        ..GemmOptions::default()
    };
    let got = gemm(&mut *e, &a, &b, &opts)
        .map_err(|err| TestCaseError::fail(format!("{m}x{k}x{n} seed {seed}: {err}")))?;
    let want = common::float_gemm_reference(&cfg, &a, &b);
    compare(
        &cfg,
        &got.c,
        &want,
        &a,
        &b,
        &format!("seed {seed}, resident {resident}"),
    )
}

macro_rules! float_gemm_cases {
    ($name:ident, $slot:ident, $cfg:expr, cases = $cases:expr) => {
        static $slot: OnceLock<Option<Mutex<RtlEngine>>> = OnceLock::new();
        proptest! {
            #![proptest_config(PtConfig { cases: $cases, failure_persistence: None, max_shrink_iters: 0, ..PtConfig::default() })]
            #[test]
            fn $name(m in 1usize..12, k in 1usize..24, n in 1usize..24, seed in any::<u64>(), resident in any::<bool>()) {
                let Some(e) = engine(&$slot, || $cfg) else { return Ok(()); };
                check_float(e, m, k, n, seed, resident)?;
            }
        }
    };
}

float_gemm_cases!(
    gemm_bf16_4x4_l3_random_shapes,
    ENGINE_BF16,
    float_cfg(4, 4, "bf16", 3, 128),
    cases = 8
);
float_gemm_cases!(
    gemm_fp8e4m3_3x5_l2_random_shapes,
    ENGINE_E4M3,
    float_cfg(3, 5, "fp8e4m3", 2, 128),
    cases = 8
);
