//! The golden back end of the engine and `gemm` on it: bit-exact products of any size against a
//! plain triple loop, every ISA error path, the load FIFO, and `docs/isa.md` being current.

mod common;

use proptest::prelude::*;

use systolic::config::{Config, RawConfig};
use systolic::engine::gemm::{gemm, GemmError, GemmOptions, Matrix};
use systolic::engine::golden::GoldenEngine;
use systolic::engine::{BackendError, Counters, Engine, Status};
use systolic::golden::reference::reduce;
use systolic::isa::{ErrorCode, Instr};
use systolic::program::SplitMix64;

fn cfg(
    rows: u32,
    cols: u32,
    format: &str,
    acc_bits: u32,
    banks: u32,
    depth: u32,
    sbuf: u32,
) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("t{rows}x{cols}-{format}-a{acc_bits}-b{banks}-d{depth}-s{sbuf}"),
        rows,
        cols,
        format: format.into(),
        acc_bits,
        psum_banks: banks,
        psum_depth: depth,
        sbuf_depth: sbuf,
        ..Default::default()
    })
    .expect("valid test config")
}

/// The configurations of the product tests: 3x5, 4x4 and 8x8, small SBUFs and PSUMs, a narrow
/// signed and a narrow unsigned format with wrapping accumulators.
fn configs() -> Vec<Config> {
    vec![
        cfg(3, 5, "int8", 32, 2, 64, 1024),
        cfg(4, 4, "int8", 32, 2, 16, 64),
        cfg(8, 8, "int8", 32, 4, 64, 64),
        cfg(8, 8, "int8", 20, 1, 8, 32),
        cfg(4, 4, "uint4", 8, 2, 4, 16),
        cfg(3, 5, "int3", 6, 3, 32, 128),
        cfg(8, 8, "uint8", 64, 2, 64, 1024),
        cfg(1, 1, "int16", 40, 1, 2, 16),
    ]
}

/// `C = A x B` modulo `2^acc_bits`, viewed signed or unsigned like the format: i128 triple loop.
fn reference(cfg: &Config, a: &Matrix, b: &Matrix) -> Matrix {
    Matrix::from_fn(a.rows, b.cols, |i, j| {
        let s: i128 = (0..a.cols)
            .map(|k| i128::from(a.get(i, k)) * i128::from(b.get(k, j)))
            .sum();
        let bits = reduce(s, cfg.acc_bits);
        if cfg.format.is_signed() {
            systolic::golden::acc_to_signed(bits, cfg.acc_bits)
        } else {
            bits as i64
        }
    })
}

fn random_matrix(cfg: &Config, rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
    Matrix::from_fn(rows, cols, |_, _| rng.range_i64(lo, hi))
}

/// Run a product on a fresh golden engine and check it against the reference and the counters.
fn check(cfg: &Config, m: usize, k: usize, n: usize, seed: u64, opts: &GemmOptions) {
    let mut rng = SplitMix64::new(seed);
    let a = random_matrix(cfg, m, k, &mut rng);
    let b = random_matrix(cfg, k, n, &mut rng);
    let mut e = GoldenEngine::new(cfg);
    let r =
        gemm(&mut e, &a, &b, opts).unwrap_or_else(|err| panic!("{}: {m}x{k}x{n}: {err}", cfg.name));
    assert_eq!(
        r.c,
        reference(cfg, &a, &b),
        "{}: {m}x{k}x{n} {opts:?}",
        cfg.name
    );
    assert_eq!(r.counters.macs, (m * k * n) as u64, "useful MACs");
    assert_eq!(r.counters.retired, r.instructions, "everything retired");
    assert_eq!(r.counters.busy_cycles, 0);
    assert_eq!(r.host_cycles, 0);
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    // A second product on the same engine is just as right (nothing is left pending).
    let (bt, at) = (transpose(&b), transpose(&a));
    let r2 = gemm(&mut e, &bt, &at, opts).unwrap();
    assert_eq!(
        r2.c,
        reference(cfg, &bt, &at),
        "{}: second product",
        cfg.name
    );
}

fn transpose(m: &Matrix) -> Matrix {
    Matrix::from_fn(m.cols, m.rows, |i, j| m.get(j, i))
}

#[test]
fn named_shapes_on_every_config() {
    let shapes = [
        (1, 1, 1),
        (37, 53, 71),
        (200, 3, 2), // tall and skinny
        (2, 3, 150), // short and wide
        (1, 64, 1),  // K only
        (5, 24, 7),  // K a multiple of 3, 4 and 8
        (9, 25, 17), // K a multiple of none
    ];
    for cfg in configs() {
        for (i, &(m, k, n)) in shapes.iter().enumerate() {
            check(&cfg, m, k, n, i as u64, &GemmOptions::default());
        }
    }
}

#[test]
fn extreme_values_wrap_like_the_accumulator() {
    for cfg in configs() {
        let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
        for (x, y) in [(lo, lo), (hi, hi), (lo, hi)] {
            let a = Matrix::from_fn(7, 19, |_, _| x);
            let b = Matrix::from_fn(19, 6, |_, _| y);
            let r = gemm(
                &mut GoldenEngine::new(&cfg),
                &a,
                &b,
                &GemmOptions::default(),
            )
            .unwrap();
            assert_eq!(r.c, reference(&cfg, &a, &b), "{}", cfg.name);
        }
    }
}

fn options() -> impl Strategy<Value = GemmOptions> {
    (
        prop::option::of(1u32..70),
        prop::option::of(1u32..5),
        prop::option::of(2u32..6),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(n_tile, tiles_per_drain, sbuf_slots, resident)| GemmOptions {
                n_tile,
                tiles_per_drain,
                sbuf_slots,
                resident,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_products_are_bit_exact(
        c in 0usize..8,
        m in 1usize..80,
        k in 1usize..80,
        n in 1usize..80,
        seed in any::<u64>(),
        opts in options(),
    ) {
        check(&configs()[c], m, k, n, seed, &opts);
    }
}

/// An engine that executes nothing until `wait_idle` (SBUF writes land at once): a back end
/// that retires as late as possible. Products on it are only right if the host never
/// overwrites SBUF data that a queued instruction still needs.
struct Lazy {
    inner: GoldenEngine,
    queue: Vec<Instr>,
}

impl Engine for Lazy {
    fn config(&self) -> &Config {
        self.inner.config()
    }
    fn write_sbuf(&mut self, p: u32, e: u32, v: &[i64]) -> Result<(), BackendError> {
        self.inner.write_sbuf(p, e, v)
    }
    fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
        self.queue.push(instr);
        Ok(())
    }
    fn wait_idle(&mut self) -> Result<Status, BackendError> {
        for i in self.queue.drain(..) {
            self.inner.push(i)?;
        }
        self.inner.wait_idle()
    }
    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
        assert!(self.queue.is_empty(), "read_psum while busy");
        self.inner.read_psum(bank, addr)
    }
    fn counters(&mut self) -> Result<Counters, BackendError> {
        self.inner.counters()
    }
    fn clear_error(&mut self) -> Result<(), BackendError> {
        self.queue.clear();
        self.inner.clear_error()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn products_are_right_when_the_engine_retires_late(
        c in 0usize..8,
        m in 1usize..50,
        k in 1usize..50,
        n in 1usize..50,
        seed in any::<u64>(),
        opts in options(),
    ) {
        let cfg = &configs()[c];
        let mut rng = SplitMix64::new(seed);
        let a = random_matrix(cfg, m, k, &mut rng);
        let b = random_matrix(cfg, k, n, &mut rng);
        let mut e = Lazy { inner: GoldenEngine::new(cfg), queue: vec![] };
        let r = gemm(&mut e, &a, &b, &opts).unwrap();
        prop_assert_eq!(r.c, reference(cfg, &a, &b));
    }
}

#[test]
fn schedule_loads_ahead_and_swaps_every_tile() {
    // Record the instruction stream of a product with three K tiles and two output tiles.
    struct Recorder {
        inner: GoldenEngine,
        log: Vec<Instr>,
    }
    impl Engine for Recorder {
        fn config(&self) -> &Config {
            self.inner.config()
        }
        fn write_sbuf(&mut self, p: u32, e: u32, v: &[i64]) -> Result<(), BackendError> {
            self.inner.write_sbuf(p, e, v)
        }
        fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
            self.log.push(instr);
            self.inner.push(instr)
        }
        fn wait_idle(&mut self) -> Result<Status, BackendError> {
            self.inner.wait_idle()
        }
        fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
            self.inner.read_psum(bank, addr)
        }
        fn counters(&mut self) -> Result<Counters, BackendError> {
            self.inner.counters()
        }
        fn clear_error(&mut self) -> Result<(), BackendError> {
            self.inner.clear_error()
        }
    }
    let cfg = cfg(4, 4, "int8", 32, 2, 16, 1024);
    let mut rng = SplitMix64::new(3);
    let a = random_matrix(&cfg, 4, 10, &mut rng);
    let b = random_matrix(&cfg, 10, 20, &mut rng);
    let mut e = Recorder {
        inner: GoldenEngine::new(&cfg),
        log: vec![],
    };
    let r = gemm(&mut e, &a, &b, &GemmOptions::default()).unwrap();
    assert_eq!(r.c, reference(&cfg, &a, &b));
    let text: Vec<String> = e
        .log
        .iter()
        .map(|i| match *i {
            Instr::LoadStationary { k, m, .. } => format!("LS{k}x{m}"),
            Instr::MultiplyMoving {
                k,
                n,
                bank,
                acc,
                swap,
                ..
            } => format!(
                "MM{k}x{n}b{bank}{}{}",
                if acc { "+" } else { "" },
                if swap { "s" } else { "" }
            ),
            Instr::Fence => "F".into(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        text.join(" "),
        "LS4x4 LS4x4 MM4x16b0s LS2x4 MM4x16b0+s LS4x4 MM2x16b0+s \
         LS4x4 MM4x4b1s LS2x4 MM4x4b1+s MM2x4b1+s F"
    );
    assert_eq!(r.instructions, 13);
}

#[test]
fn gemm_input_errors() {
    let cfg = cfg(4, 4, "int8", 32, 2, 16, 1024);
    let mut e = GoldenEngine::new(&cfg);
    let o = GemmOptions::default();
    let err = gemm(&mut e, &Matrix::zeros(3, 4), &Matrix::zeros(5, 6), &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "A is 3x4 but B is 5x6: A's columns must equal B's rows"
    );
    let err = gemm(&mut e, &Matrix::zeros(0, 4), &Matrix::zeros(4, 6), &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "A is 0x4: every dimension must be at least 1"
    );
    let err = gemm(
        &mut e,
        &Matrix::new(2, 2, vec![0; 3]),
        &Matrix::zeros(2, 2),
        &o,
    )
    .unwrap_err();
    assert!(matches!(err, GemmError::DataLength { .. }), "{err}");
    let mut b = Matrix::zeros(4, 2);
    b.data[5] = 128;
    let err = gemm(&mut e, &Matrix::zeros(1, 4), &b, &o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "B[2][1] = 128 is not a int8 value (-128..=127)"
    );
    for bad in [
        GemmOptions {
            n_tile: Some(0),
            ..o.clone()
        },
        GemmOptions {
            sbuf_slots: Some(1),
            ..o.clone()
        },
        GemmOptions {
            tiles_per_drain: Some(0),
            ..o.clone()
        },
    ] {
        let err = gemm(&mut e, &Matrix::zeros(1, 4), &Matrix::zeros(4, 1), &bad).unwrap_err();
        assert!(matches!(err, GemmError::Options(_)), "{err}");
    }
    // Nothing was pushed by any of these.
    assert_eq!(e.counters().unwrap(), Counters::default());
}

#[test]
fn sbuf_too_small_names_the_depth_and_the_need() {
    let cfg = cfg(16, 4, "int8", 32, 2, 16, 32);
    let mut e = GoldenEngine::new(&cfg);
    let err = gemm(
        &mut e,
        &Matrix::zeros(2, 40),
        &Matrix::zeros(40, 2),
        &GemmOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            GemmError::SbufTooSmall {
                sbuf_depth: 32,
                needed: 34,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("sbuf_depth = 32") && msg.contains("= 34 entries"),
        "{msg}"
    );
    // A short K fits.
    let r = gemm(
        &mut e,
        &Matrix::zeros(2, 10),
        &Matrix::zeros(10, 2),
        &GemmOptions::default(),
    )
    .unwrap();
    assert_eq!(r.c, Matrix::zeros(2, 2));
}

#[test]
fn unsigned_64_bit_results_beyond_i64_are_an_error() {
    /// Golden, except that PSUM reads return a large unsigned value.
    struct Big(GoldenEngine);
    impl Engine for Big {
        fn config(&self) -> &Config {
            self.0.config()
        }
        fn write_sbuf(&mut self, p: u32, e: u32, v: &[i64]) -> Result<(), BackendError> {
            self.0.write_sbuf(p, e, v)
        }
        fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
            self.0.push(instr)
        }
        fn wait_idle(&mut self) -> Result<Status, BackendError> {
            self.0.wait_idle()
        }
        fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
            let mut v = self.0.read_psum(bank, addr)?;
            v[0] = 1 << 63;
            Ok(v)
        }
        fn counters(&mut self) -> Result<Counters, BackendError> {
            self.0.counters()
        }
        fn clear_error(&mut self) -> Result<(), BackendError> {
            self.0.clear_error()
        }
    }
    let cfg = cfg(4, 4, "uint8", 64, 2, 16, 1024);
    let mut e = Big(GoldenEngine::new(&cfg));
    let err = gemm(
        &mut e,
        &Matrix::zeros(2, 2),
        &Matrix::zeros(2, 2),
        &GemmOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("C[0][0] = 9223372036854775808 does not fit a signed 64-bit integer"),
        "{err}"
    );
}

#[test]
fn gemm_on_a_stopped_engine_reports_the_error() {
    let cfg = cfg(4, 4, "int8", 32, 2, 16, 1024);
    let mut e = GoldenEngine::new(&cfg);
    e.push_word(0).unwrap();
    let err = gemm(
        &mut e,
        &Matrix::zeros(2, 2),
        &Matrix::zeros(2, 2),
        &GemmOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            GemmError::Backend(BackendError::Stopped {
                code: ErrorCode::IllegalOpcode,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("IllegalOpcode"), "{err}");
    e.clear_error().unwrap();
    let a = Matrix::from_fn(2, 2, |i, j| (i * 2 + j) as i64);
    let r = gemm(&mut e, &a, &a, &GemmOptions::default()).unwrap();
    assert_eq!(r.c, reference(&cfg, &a, &a));
}

// ---- The ISA on the golden back end ----

fn ls(addr: u32, k: u32, m: u32) -> Instr {
    Instr::LoadStationary { addr, k, m }
}

fn mm(addr: u32, k: u32, n: u32, bank: u32, offset: u32, acc: bool, swap: bool) -> Instr {
    Instr::MultiplyMoving {
        addr,
        k,
        n,
        bank,
        offset,
        acc,
        swap,
    }
}

/// 4x4, 2 banks of 16, SBUF of 64 entries, with recognisable data: partition p, entry e holds
/// `(p * 7 + e) % 11 - 5`.
fn engine() -> GoldenEngine {
    let cfg = cfg(4, 4, "int8", 32, 2, 16, 64);
    let mut e = GoldenEngine::new(&cfg);
    for p in 0..4 {
        let v: Vec<i64> = (0..64).map(|x| (p * 7 + x) % 11 - 5).collect();
        e.write_sbuf(p as u32, 0, &v).unwrap();
    }
    e
}

/// `psum[n'][m'] = sum_k' SBUF[m'][ls + k'] * SBUF[k'][mv + n']` for `m' < m`.
fn expected(e: &GoldenEngine, ls: u32, k: u32, m: u32, mv: u32, n: u32) -> Vec<Vec<i64>> {
    (0..n)
        .map(|nn| {
            (0..m)
                .map(|mm| {
                    (0..k)
                        .map(|kk| e.sbuf(mm, ls + kk) * e.sbuf(kk, mv + nn))
                        .sum()
                })
                .collect()
        })
        .collect()
}

fn psum(e: &mut GoldenEngine, bank: u32, n: u32, m: u32) -> Vec<Vec<i64>> {
    (0..n)
        .map(|nn| {
            e.read_psum(bank, nn).unwrap()[..m as usize]
                .iter()
                .map(|&v| systolic::golden::acc_to_signed(v, 32))
                .collect()
        })
        .collect()
}

/// A valid little program: load, multiply, read; checks the result.
fn valid_program_runs(e: &mut GoldenEngine) {
    let before = e.counters().unwrap();
    e.push(ls(10, 3, 2)).unwrap();
    e.push(mm(20, 3, 5, 1, 0, false, true)).unwrap();
    e.push(Instr::Fence).unwrap();
    let s = e.wait_idle().unwrap();
    assert_eq!(s.error, ErrorCode::None);
    assert!(!s.busy);
    let want = expected(e, 10, 3, 2, 20, 5);
    assert_eq!(psum(e, 1, 5, 2), want);
    let after = e.counters().unwrap();
    assert_eq!(after.retired - before.retired, 3);
    assert_eq!(after.macs - before.macs, 3 * 2 * 5);
}

#[test]
fn a_valid_program_computes_the_isa_semantics() {
    let mut e = engine();
    valid_program_runs(&mut e);
    // Accumulate with the same stationary (no swap) and partial K (rows >= k masked).
    e.push(mm(30, 2, 5, 1, 0, true, false)).unwrap();
    let first = expected(&e, 10, 3, 2, 20, 5);
    let second = expected(&e, 10, 2, 2, 30, 5);
    let sum: Vec<Vec<i64>> = first
        .iter()
        .zip(&second)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect())
        .collect();
    assert_eq!(psum(&mut e, 1, 5, 2), sum);
    assert_eq!(e.counters().unwrap().macs, 30 + 20);
}

/// Every error code the golden back end can raise, with an instruction that raises it.
fn error_cases() -> Vec<(&'static str, ErrorCode, Result<Instr, u64>)> {
    vec![
        ("opcode 0", ErrorCode::IllegalOpcode, Err(0)),
        ("opcode 15", ErrorCode::IllegalOpcode, Err(15)),
        (
            "FENCE with bit 40",
            ErrorCode::UnusedBitsSet,
            Err(Instr::Fence.encode()[0] | 1 << 40),
        ),
        (
            "LS with bit 63",
            ErrorCode::UnusedBitsSet,
            Err(ls(0, 1, 1).encode()[0] | 1 << 63),
        ),
        ("LS k = 0", ErrorCode::KRange, Ok(ls(0, 0, 1))),
        ("LS k = rows + 1", ErrorCode::KRange, Ok(ls(0, 5, 1))),
        (
            "MM k = 0",
            ErrorCode::KRange,
            Ok(mm(0, 0, 1, 0, 0, false, true)),
        ),
        (
            "MM k = rows + 1",
            ErrorCode::KRange,
            Ok(mm(0, 5, 1, 0, 0, false, true)),
        ),
        ("LS m = 0", ErrorCode::MRange, Ok(ls(0, 1, 0))),
        ("LS m = cols + 1", ErrorCode::MRange, Ok(ls(0, 1, 5))),
        (
            "MM n = 0",
            ErrorCode::NRange,
            Ok(mm(0, 1, 0, 0, 0, false, true)),
        ),
        (
            "MM n = psum_depth + 1",
            ErrorCode::NRange,
            Ok(mm(0, 1, 17, 0, 0, false, true)),
        ),
        (
            "LS addr + k > sbuf_depth",
            ErrorCode::SbufRange,
            Ok(ls(62, 3, 4)),
        ),
        (
            "LS addr = sbuf_depth",
            ErrorCode::SbufRange,
            Ok(ls(64, 1, 1)),
        ),
        (
            "MM addr + n > sbuf_depth",
            ErrorCode::SbufRange,
            Ok(mm(60, 1, 5, 0, 0, false, true)),
        ),
        (
            "MM bank = banks",
            ErrorCode::BankRange,
            Ok(mm(0, 1, 1, 2, 0, false, true)),
        ),
        (
            "MM bank = 63",
            ErrorCode::BankRange,
            Ok(mm(0, 1, 1, 63, 0, false, true)),
        ),
        (
            "MM offset + n > depth",
            ErrorCode::PsumRange,
            Ok(mm(0, 1, 4, 0, 13, false, true)),
        ),
        (
            "MM offset = depth",
            ErrorCode::PsumRange,
            Ok(mm(0, 1, 1, 0, 16, false, true)),
        ),
        (
            "MM swap, nothing loaded",
            ErrorCode::SwapWithoutLoad,
            Ok(mm(0, 1, 1, 0, 0, false, true)),
        ),
        (
            "MM without swap, none in use",
            ErrorCode::SwapWithoutLoad,
            Ok(mm(0, 1, 1, 0, 0, false, false)),
        ),
        // Several faults: the first in the documented order wins.
        ("LS k and m and addr", ErrorCode::KRange, Ok(ls(64, 0, 0))),
        ("LS m and addr", ErrorCode::MRange, Ok(ls(64, 1, 0))),
        (
            "MM n and addr and bank",
            ErrorCode::NRange,
            Ok(mm(64, 1, 0, 9, 0, false, true)),
        ),
        (
            "MM addr and bank",
            ErrorCode::SbufRange,
            Ok(mm(64, 1, 1, 9, 0, false, true)),
        ),
        (
            "MM bank and offset",
            ErrorCode::BankRange,
            Ok(mm(0, 1, 1, 9, 16, false, true)),
        ),
        (
            "MM offset and swap",
            ErrorCode::PsumRange,
            Ok(mm(0, 1, 1, 0, 16, false, true)),
        ),
    ]
}

#[test]
fn every_error_stops_the_engine_and_clear_error_resumes() {
    for (what, code, instr) in error_cases() {
        let mut e = engine();
        let before = e.counters().unwrap();
        match instr {
            Ok(i) => e.push(i).unwrap(),
            Err(w) => e.push_word(w).unwrap(),
        }
        let s = e.wait_idle().unwrap();
        assert_eq!(s.error, code, "{what}");
        assert_eq!(e.counters().unwrap(), before, "{what}: nothing executed");
        // Nothing executes while stopped, valid or not.
        e.push(ls(0, 1, 1)).unwrap();
        e.push(mm(0, 1, 1, 0, 0, false, true)).unwrap();
        e.push_word(0).unwrap();
        assert_eq!(
            e.wait_idle().unwrap().error,
            code,
            "{what}: the first error stays"
        );
        assert_eq!(
            e.counters().unwrap(),
            before,
            "{what}: nothing executed while stopped"
        );
        assert!(e.read_psum(0, 0).is_err(), "{what}: PSUM untouched");
        e.clear_error().unwrap();
        assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None, "{what}");
        valid_program_runs(&mut e);
    }
}

#[test]
fn a_stopped_status_reads_as_its_meaning() {
    let mut e = engine();
    e.push(ls(0, 0, 1)).unwrap();
    let err = BackendError::Stopped {
        code: e.wait_idle().unwrap().error,
        meaning: e.wait_idle().unwrap().error.meaning(),
    };
    assert_eq!(
        err.to_string(),
        "the engine stopped with error KRange: k is 0 or larger than rows"
    );
}

#[test]
fn errors_after_some_work_keep_that_work() {
    let mut e = engine();
    valid_program_runs(&mut e);
    let psum_before = e.read_psum(1, 0).unwrap();
    let c = e.counters().unwrap();
    e.push(mm(0, 1, 1, 0, 16, false, false)).unwrap(); // PsumRange
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::PsumRange);
    e.clear_error().unwrap();
    assert_eq!(e.counters().unwrap(), c);
    assert_eq!(e.read_psum(1, 0).unwrap(), psum_before);
    // The stationary in use survives clear_error: a MULTIPLY_MOVING without swap still works.
    e.push(mm(20, 3, 5, 0, 0, false, false)).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    assert_eq!(psum(&mut e, 0, 5, 2), expected(&e, 10, 3, 2, 20, 5));
}

#[test]
fn accumulating_into_unwritten_psum_is_a_caller_error() {
    let mut e = engine();
    e.push(ls(0, 4, 4)).unwrap();
    let err = e.push(mm(0, 4, 2, 0, 0, true, true)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("PSUM bank 0 entry 0 column 0, which was never written"),
        "{msg}"
    );
    // Not executed, not an engine error: the stationary is still waiting for its swap.
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    assert_eq!(e.counters().unwrap().retired, 1);
    e.push(mm(0, 4, 2, 0, 0, false, true)).unwrap();
    e.push(mm(0, 4, 2, 0, 0, true, false)).unwrap();
    let once = expected(&e, 0, 4, 4, 0, 2);
    let twice: Vec<Vec<i64>> = once
        .iter()
        .map(|r| r.iter().map(|x| 2 * x).collect())
        .collect();
    assert_eq!(psum(&mut e, 0, 2, 4), twice);
}

#[test]
fn loads_wait_in_a_fifo_and_read_the_sbuf_when_streamed() {
    let mut e = engine();
    e.push(ls(0, 4, 4)).unwrap(); // -> shadow now
    e.push(ls(8, 4, 3)).unwrap(); // waits: the shadow is full
    assert_eq!(e.waiting_loads(), 1);
    assert!(e.wait_idle().unwrap().busy, "loads waiting for a swap");
    assert_eq!(e.counters().unwrap().retired, 1);
    // The second load's data changes before it is streamed: it sees the new data.
    e.write_sbuf(0, 8, &[1, 2, 3, 4]).unwrap();
    e.push(mm(32, 4, 3, 0, 0, false, true)).unwrap(); // uses LS 0; streams LS 8
    e.push(ls(16, 2, 4)).unwrap(); // waits: LS 8 is in the shadow
    assert_eq!(e.waiting_loads(), 1);
    assert_eq!(psum(&mut e, 0, 3, 4), expected(&e, 0, 4, 4, 32, 3));
    e.write_sbuf(0, 8, &[-1, -2, -3, -4]).unwrap(); // too late for LS 8
    e.push(mm(32, 4, 3, 1, 0, false, true)).unwrap(); // uses LS 8 (m = 3); streams LS 16
    e.write_sbuf(0, 8, &[1, 2, 3, 4]).unwrap(); // restore for the expectation
    assert_eq!(psum(&mut e, 1, 3, 3), expected(&e, 8, 4, 3, 32, 3));
    assert_eq!(
        e.read_psum(1, 0).unwrap()[3],
        0,
        "column 3 >= m was not written"
    );
    e.push(mm(40, 2, 2, 0, 4, false, true)).unwrap(); // uses LS 16
    let at4: Vec<Vec<i64>> = (4..6)
        .map(|a| {
            e.read_psum(0, a)
                .unwrap()
                .iter()
                .map(|&v| systolic::golden::acc_to_signed(v, 32))
                .collect()
        })
        .collect();
    assert_eq!(at4, expected(&e, 16, 2, 4, 40, 2));
    assert_eq!(e.waiting_loads(), 0);
    let s = e.wait_idle().unwrap();
    assert!(!s.busy && s.error == ErrorCode::None);
    assert_eq!(e.counters().unwrap().retired, 6);
    // A further swap has nothing to swap in.
    e.push(mm(0, 1, 1, 0, 0, false, true)).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::SwapWithoutLoad);
    // clear_error drops loads still waiting, not the one in the shadow.
    e.clear_error().unwrap();
    e.push(ls(0, 1, 1)).unwrap();
    e.push(ls(1, 1, 1)).unwrap();
    assert_eq!(e.waiting_loads(), 1);
    e.clear_error().unwrap();
    assert_eq!(e.waiting_loads(), 0);
    e.push(mm(0, 1, 1, 0, 0, false, true)).unwrap();
    e.push(mm(0, 1, 1, 0, 0, false, true)).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::SwapWithoutLoad);
}

#[test]
fn host_side_errors() {
    let mut e = engine();
    let err = e.write_sbuf(4, 0, &[1]).unwrap_err();
    assert!(
        matches!(err, BackendError::SbufRange { partition: 4, .. }),
        "{err}"
    );
    let err = e.write_sbuf(0, 60, &[0; 5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SBUF access out of range: partition 0, entries 60..65 (SBUF is 4 x 64)"
    );
    let err = e.write_sbuf(0, 0, &[0, 200]).unwrap_err();
    assert_eq!(err.to_string(), "value 200 is not a int8 value");
    assert!(e.read_psum(2, 0).is_err());
    assert!(e.read_psum(0, 16).is_err());
    let err = e.read_psum(0, 0).unwrap_err();
    assert!(
        err.to_string().contains("PSUM entry never written"),
        "{err}"
    );
    // An instruction whose values do not fit the fields has no encoding.
    let err = e.push(ls(1 << 16, 1, 1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("addr = 65536 does not fit its 16-bit field"),
        "{err}"
    );
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    assert_eq!(e.partitions(), 4);
    let wide = GoldenEngine::new(&cfg(3, 5, "int8", 32, 2, 16, 64));
    assert_eq!(wide.partitions(), 5);
}

#[test]
fn push_word_executes_valid_words() {
    let mut e = engine();
    e.push_word(ls(10, 3, 2).encode()[0]).unwrap();
    e.push_word(mm(20, 3, 5, 1, 0, false, true).encode()[0])
        .unwrap();
    e.push_word(Instr::Fence.encode()[0]).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    assert_eq!(psum(&mut e, 1, 5, 2), expected(&e, 10, 3, 2, 20, 5));
    assert_eq!(e.counters().unwrap().retired, 3);
}

/// A third LOAD_STATIONARY while two wait for their swaps stops the engine with
/// SwapWithoutLoad (as the RTL does, tests/engine_rtl.rs): the swaps that would serve it come
/// after it in order. CLEAR_ERROR drops the waiting load, keeps the shadow's.
#[test]
fn a_third_pending_load_is_swap_without_load() {
    let mut e = engine();
    e.push(ls(0, 4, 4)).unwrap();
    e.push(ls(8, 4, 3)).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    e.push(ls(16, 2, 4)).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::SwapWithoutLoad);
    e.clear_error().unwrap();
    assert_eq!(e.waiting_loads(), 0, "the waiting load is dropped");
    e.push(mm(32, 4, 3, 0, 0, false, true)).unwrap(); // the shadow's LS 0 is kept
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    assert_eq!(psum(&mut e, 0, 3, 4), expected(&e, 0, 4, 4, 32, 3));
}

/// `docs/isa.md` is generated from `systolic::isa::markdown()`.
#[test]
fn isa_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/isa.md");
    let want = systolic::isa::markdown();
    if std::env::var_os("SYSTOLIC_REGENERATE").is_some() {
        std::fs::write(&path, &want).expect("write docs/isa.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()))
            + 1;
        panic!(
            "docs/isa.md is stale (first difference at line {line}): regenerate with \
             `SYSTOLIC_REGENERATE=1 cargo test --test engine_golden isa_doc_is_current`"
        );
    }
}

// ---- `systolic run --backend golden` (needs `run` wired into src/cli/mod.rs) ----

mod run_cli {
    use std::path::Path;
    use std::process::{Command, Output};

    use systolic::npy::{self, Array2, Dtype};

    use super::*;

    fn systolic(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_systolic"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run systolic")
    }

    fn save(path: &Path, dtype: Dtype, m: &Matrix) {
        let a = Array2 {
            dtype,
            rows: m.rows,
            cols: m.cols,
            data: m.data.clone(),
        };
        npy::write(path, &a).unwrap();
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    /// bf16 `C = A x B` from float32 files: the inputs converted nearest-even, the sums in the
    /// documented order (K tiles of `rows`, each a column sum from +0, accumulated in PSUM); the
    /// same product from the bf16 bit patterns (uint16) is identical; fp8 E4M3 saturates.
    #[test]
    fn run_float_formats_from_float32_and_bit_patterns() {
        use systolic::format::FpFormat;
        let dir = common::scratch_dir("run-float");
        let cfg = common::preset("bf16-4x4");
        let (m, k, n) = (5usize, 11usize, 7usize);
        let mut rng = SplitMix64::new(21);
        // float32 values with more precision than bf16 holds, so the conversion rounds.
        let mut f32_matrix = |rows: usize, cols: usize| {
            Matrix::from_fn(rows, cols, |_, _| {
                let v = (rng.range_i64(-100_000, 100_000) as f32) / 997.0;
                i64::from(v.to_bits())
            })
        };
        let a32 = f32_matrix(m, k);
        let b32 = f32_matrix(k, n);
        let (pa, pb, pc) = (dir.join("a.npy"), dir.join("b.npy"), dir.join("c.npy"));
        save(&pa, Dtype::F32, &a32);
        save(&pb, Dtype::F32, &b32);
        let args = |pa: &Path, pb: &Path, pc: &Path, preset: &'static str| {
            let mut v: Vec<String> = ["run", "--backend", "golden", "--preset", preset]
                .map(String::from)
                .to_vec();
            for (flag, p) in [("--a", pa), ("--b", pb), ("--out", pc)] {
                v.push(flag.into());
                v.push(s(p).into());
            }
            v
        };
        let run = |v: Vec<String>| systolic(&v.iter().map(String::as_str).collect::<Vec<_>>());
        let out = run(args(&pa, &pb, &pc, "bf16-4x4"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("= 5x7 float32"));
        let c = npy::read(&pc).unwrap();
        assert_eq!(c.dtype, Dtype::F32);
        let bf = FpFormat::Bf16;
        let conv = |x: &Matrix| {
            Matrix::from_fn(x.rows, x.cols, |i, j| {
                i64::from(bf.encode_f32_bits(x.get(i, j) as u32))
            })
        };
        let (a16, b16) = (conv(&a32), conv(&b32));
        let want = common::float_gemm_reference(&cfg, &a16, &b16);
        assert_eq!(Matrix::new(c.rows, c.cols, c.data.clone()), want);
        // Close to the exact product of the converted inputs (fp32 sums of 11 terms).
        for i in 0..m {
            for j in 0..n {
                let exact: f64 = (0..k)
                    .map(|kk| bf.to_f64(a16.get(i, kk) as u16) * bf.to_f64(b16.get(kk, j) as u16))
                    .sum();
                let got = f64::from(f32::from_bits(want.get(i, j) as u32));
                assert!(
                    (got - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                    "{got} vs {exact}"
                );
            }
        }
        // The same from bit patterns.
        save(&pa, Dtype::U16, &a16);
        save(&pb, Dtype::U16, &b16);
        let pc2 = dir.join("c2.npy");
        let out = run(args(&pa, &pb, &pc2, "bf16-4x4"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(npy::read(&pc2).unwrap().data, c.data);
        // fp8 E4M3 saturates on conversion: 1000.0 -> 448, and 448 * 1.0 = 448.0.
        let big = Matrix::new(1, 1, vec![i64::from(1000.0f32.to_bits())]);
        let one = Matrix::new(1, 1, vec![i64::from(1.0f32.to_bits())]);
        save(&pa, Dtype::F32, &big);
        save(&pb, Dtype::F32, &one);
        let out = run(args(&pa, &pb, &pc, "fp8e4m3-4x4"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            npy::read(&pc).unwrap().data,
            vec![i64::from(448.0f32.to_bits())]
        );
        // Wrong dtypes are usage errors that name the accepted ones.
        save(&pa, Dtype::I8, &Matrix::new(1, 1, vec![3]));
        let out = run(args(&pa, &pb, &pc, "bf16-4x4"));
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is int8") && err.contains("float32") && err.contains("uint16"),
            "{err}"
        );
        save(&pa, Dtype::F32, &one);
        let out = run(args(&pa, &pb, &pc, "int8-4x4"));
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("integer format"));
    }

    #[test]
    fn run_writes_c_and_reports() {
        let dir = common::scratch_dir("run-golden");
        let cfg = common::preset("int8-4x4");
        let mut rng = SplitMix64::new(9);
        let a = random_matrix(&cfg, 13, 21, &mut rng);
        let b = random_matrix(&cfg, 21, 9, &mut rng);
        let (pa, pb, pc) = (dir.join("a.npy"), dir.join("b.npy"), dir.join("c.npy"));
        save(&pa, Dtype::I8, &a);
        save(&pb, Dtype::I16, &b);
        let out = systolic(&[
            "run",
            "--preset",
            "int8-4x4",
            "--a",
            s(&pa),
            "--b",
            s(&pb),
            "--out",
            s(&pc),
            "--backend",
            "golden",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("13x21") && stdout.contains("= 13x9 int32"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("MACs          {}", 13 * 21 * 9)),
            "{stdout}"
        );
        let c = npy::read(&pc).unwrap();
        assert_eq!(c.dtype, Dtype::I32);
        assert_eq!(Matrix::new(c.rows, c.cols, c.data), reference(&cfg, &a, &b));

        // --json, a wide accumulator (int64 out) and an unsigned format (uint32 out).
        let out = systolic(&[
            "run",
            "--preset",
            "int8-4x4",
            "--acc-bits",
            "40",
            "--a",
            s(&pa),
            "--b",
            s(&pb),
            "--out",
            s(&pc),
            "--backend",
            "golden",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["backend"], "golden");
        assert_eq!(v["c"], serde_json::json!([13, 9]));
        assert_eq!(v["macs"], 13 * 21 * 9);
        assert_eq!(v["out_dtype"], "int64");
        assert!(v["utilisation"].is_null() && v["macs_per_cycle"].is_null());
        assert!(v["instructions"].as_u64().unwrap() > 0);
        assert_eq!(npy::read(&pc).unwrap().dtype, Dtype::I64);
        let u = Matrix::from_fn(3, 2, |i, j| (i * 100 + j) as i64);
        save(&pa, Dtype::U8, &u);
        save(&pb, Dtype::U8, &transpose(&u));
        let out = systolic(&[
            "run",
            "--preset",
            "int8-4x4",
            "--format",
            "uint8",
            "--a",
            s(&pa),
            "--b",
            s(&pb),
            "--out",
            s(&pc),
            "--backend",
            "golden",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = npy::read(&pc).unwrap();
        assert_eq!(c.dtype, Dtype::U32);
        assert_eq!(c.data[8], 200 * 200 + 201 * 201);
    }

    #[test]
    fn bad_inputs_exit_2_and_write_nothing() {
        let dir = common::scratch_dir("run-bad");
        let p = |n: &str| dir.join(n);
        save(&p("a34.npy"), Dtype::I8, &Matrix::zeros(3, 4));
        save(&p("b56.npy"), Dtype::I8, &Matrix::zeros(5, 6));
        save(&p("b46.npy"), Dtype::I8, &Matrix::zeros(4, 6));
        save(&p("a340.npy"), Dtype::I8, &Matrix::zeros(3, 40));
        save(&p("b406.npy"), Dtype::I8, &Matrix::zeros(40, 6));
        save(&p("u46.npy"), Dtype::U8, &Matrix::zeros(4, 6));
        save(
            &p("big46.npy"),
            Dtype::I16,
            &Matrix::from_fn(4, 6, |_, _| 300),
        );
        std::fs::write(p("text.npy"), "not numpy").unwrap();
        let cases: &[(&[&str], &str)] = &[
            (
                &["--a", "a34.npy", "--b", "b56.npy"],
                "A is 3x4 but B is 5x6: A's columns must equal B's rows",
            ),
            (
                &["--a", "a34.npy", "--b", "u46.npy"],
                "uint8, which cannot hold the int8 values -128..=127",
            ),
            (
                &["--a", "a34.npy", "--b", "big46.npy"],
                "B[0][0] = 300 is not a int8 value",
            ),
            (&["--a", "text.npy", "--b", "b46.npy"], "not an .npy file"),
            (&["--a", "missing.npy", "--b", "b46.npy"], "missing.npy"),
            (
                &[
                    "--a",
                    "a340.npy",
                    "--b",
                    "b406.npy",
                    "--rows",
                    "16",
                    "--cols",
                    "4",
                    "--sbuf-depth",
                    "32",
                ],
                "sbuf_depth = 32 is too small",
            ),
            (
                &["--a", "a34.npy", "--b", "b46.npy", "--preset", "nope"],
                "preset `nope` not found",
            ),
        ];
        for (args, msg) in cases {
            let out_path = p("c.npy");
            let mut a: Vec<String> = vec!["run".into(), "--backend".into(), "golden".into()];
            for (i, x) in args.iter().enumerate() {
                let is_file = i > 0 && (args[i - 1] == "--a" || args[i - 1] == "--b");
                a.push(if is_file {
                    s(&p(x)).to_string()
                } else {
                    x.to_string()
                });
            }
            if !args.contains(&"--preset") && !args.contains(&"--rows") {
                a.extend(["--preset".into(), "int8-4x4".into()]);
            }
            a.extend(["--out".into(), s(&out_path).to_string()]);
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            let out = systolic(&refs);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(msg), "{args:?}: {err}");
            assert!(err.contains("hint: "), "{args:?}: {err}");
            assert!(!out_path.exists(), "{args:?}: C written");
        }
    }
}

#[test]
fn trainium_sized_preset() {
    let cfg = common::preset("trn-int8-128x128");
    check(&cfg, 130, 257, 520, 5, &GemmOptions::default());
}

/// The worked example of `docs/isa.md` ("C = A x B"), done as it says on the golden engine:
/// A stored transposed from entry 0, B from entry 8, the two instruction words of the example,
/// and PSUM entry n' holding column n' of C.
#[test]
fn isa_doc_worked_example_computes_c() {
    let cfg = common::config(4, 4, "int8", 32, 2, 16);
    let mut e = GoldenEngine::new(&cfg);
    let a = [[1i64, -2], [3, 4], [-5, 6]]; // 3 x 2
    let b = [[7i64, -8, 9, 10], [-11, 12, 13, -14]]; // 2 x 4
    for (m, row) in a.iter().enumerate() {
        e.write_sbuf(m as u32, 0, row).unwrap();
    }
    for (k, row) in b.iter().enumerate() {
        e.write_sbuf(k as u32, 8, row).unwrap();
    }
    let doc = systolic::isa::markdown();
    for i in [
        Instr::LoadStationary {
            addr: 0,
            k: 2,
            m: 3,
        },
        Instr::MultiplyMoving {
            addr: 8,
            k: 2,
            n: 4,
            bank: 0,
            offset: 0,
            acc: false,
            swap: true,
        },
    ] {
        let w = i.encode()[0];
        assert!(doc.contains(&format!("{w:#018x}")), "the doc shows {i}");
        e.push_word(w).unwrap();
    }
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
    for n in 0..4 {
        let col = e.read_psum(0, n).unwrap();
        for m in 0..3 {
            let c = a[m][0] * b[0][n as usize] + a[m][1] * b[1][n as usize];
            assert_eq!(
                col[m] as u32 as i32 as i64, c,
                "C[{m}][{n}] in PSUM entry {n}"
            );
        }
    }
}
