//! Checks of the golden model against the plain i128 reference, of the engine's rules, of the
//! random program generator and of the timing model on random programs.

use proptest::prelude::*;

use systolic::config::{Config, RawConfig};
use systolic::format::{mask, NumberFormat};
use systolic::golden::reference::{ref_add, ref_matmul, ref_mul, ref_run};
use systolic::golden::{matmul, stall_free, Arith, CoreError, CoreModel, FormatArith, Native};
use systolic::program::{random_program, Command, GenOptions, Program, SplitMix64};

fn config(
    rows: u32,
    cols: u32,
    format: NumberFormat,
    acc_bits: u32,
    banks: u32,
    depth: u32,
) -> Config {
    Config::from_raw(&RawConfig {
        name: "t".into(),
        rows,
        cols,
        format: format.to_string(),
        acc_bits,
        psum_banks: banks,
        psum_depth: depth,
        ..Default::default()
    })
    .unwrap()
}

fn int8(rows: u32, cols: u32) -> Config {
    config(rows, cols, NumberFormat::INT8, 32, 2, 8)
}

// ---------------------------------------------------------------------------------------------
// Strategies

fn format_strategy() -> impl Strategy<Value = NumberFormat> {
    (2u32..=16, any::<bool>()).prop_map(|(bits, signed)| NumberFormat::Int { bits, signed })
}

/// A format and an accumulator width from one product's width to 64.
fn arith_strategy() -> impl Strategy<Value = FormatArith> {
    format_strategy()
        .prop_flat_map(|f| (f.product_bits()..=64).prop_map(move |acc| FormatArith::new(f, acc)))
}

/// A value of the format, extremes (min, max, 0) with raised probability.
fn value(f: NumberFormat) -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => Just(f.min_value()),
        1 => Just(f.max_value()),
        1 => Just(0i64),
        4 => f.min_value()..=f.max_value(),
    ]
}

fn matrix(f: NumberFormat, rows: usize, cols: usize) -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(value(f), cols), rows)
}

/// An accumulator tile `m x n` of bit patterns (extremes of the accumulator included).
fn acc_tile(acc_bits: u32, m: usize, n: usize) -> impl Strategy<Value = Vec<Vec<u64>>> {
    let top = mask(acc_bits);
    let v = prop_oneof![
        Just(0u64),
        Just(top),
        Just(top >> 1),
        Just((top >> 1) + 1),
        0..=top
    ];
    prop::collection::vec(prop::collection::vec(v, n), m)
}

type Case = (
    FormatArith,
    Vec<Vec<i64>>,
    Vec<Vec<i64>>,
    Option<Vec<Vec<u64>>>,
);

fn matmul_case() -> impl Strategy<Value = Case> {
    (
        arith_strategy(),
        1usize..=9,
        1usize..=6,
        1usize..=6,
        any::<bool>(),
    )
        .prop_flat_map(|(a, k, m, n, acc)| {
            let init = if acc {
                acc_tile(a.acc_bits, m, n).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            (
                Just(a),
                matrix(a.format, k, m),
                matrix(a.format, k, n),
                init,
            )
        })
}

fn config_strategy() -> impl Strategy<Value = Config> {
    (
        1u32..=6,
        1u32..=6,
        arith_strategy(),
        1u32..=3,
        prop::sample::select(vec![2u32, 4, 8, 16]),
    )
        .prop_map(|(rows, cols, a, banks, depth)| {
            config(rows, cols, a.format, a.acc_bits, banks, depth)
        })
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

#[test]
fn exhaustive_mul_and_add_for_int2_to_int4() {
    for bits in 2..=4 {
        for signed in [true, false] {
            let f = NumberFormat::Int { bits, signed };
            let p = f.product_bits();
            for acc_bits in [p, p + 1, p + 2, 32, 63, 64] {
                let a = FormatArith::new(f, acc_bits);
                for x in f.min_value()..=f.max_value() {
                    for y in f.min_value()..=f.max_value() {
                        assert_eq!(
                            a.mul(x, y),
                            ref_mul(x, y, acc_bits),
                            "{f} acc{acc_bits}: {x} * {y}"
                        );
                        // The product read back in the format's signedness is exact.
                        let back = if signed {
                            a.to_signed(a.mul(x, y))
                        } else {
                            a.to_unsigned(a.mul(x, y)) as i64
                        };
                        assert_eq!(back, x * y, "{f} acc{acc_bits}: {x} * {y}");
                    }
                }
                // Sums: every pair of accumulator patterns when narrow, extremes and a stride
                // of patterns otherwise.
                let patterns: Vec<u64> = if acc_bits <= 10 {
                    (0..=mask(acc_bits)).collect()
                } else {
                    let top = mask(acc_bits);
                    let mut v = vec![0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1];
                    v.extend((0..200u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & top));
                    v
                };
                for &x in &patterns {
                    for &y in &patterns {
                        assert_eq!(
                            a.add(x, y),
                            ref_add(x, y, acc_bits),
                            "{f} acc{acc_bits}: {x} + {y}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn accumulator_views() {
    let a = FormatArith::new(NumberFormat::INT8, 20);
    assert_eq!(a.mul(-128, 127), 0xFC080); // -16256 in 20 bits
    assert_eq!(a.to_signed(0xFC080), -16256);
    assert_eq!(a.to_unsigned(0xFC080), 0xFC080);
    assert_eq!(a.from_signed(-1), 0xFFFFF);
    assert_eq!(a.add(0xFFFFF, 1), 0);
    let u = FormatArith::new(
        NumberFormat::Int {
            bits: 8,
            signed: false,
        },
        16,
    );
    assert_eq!(u.mul(255, 255), 65025);
    assert_eq!(u.add(65025, 65025), (2 * 65025) & 0xFFFF);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matmul_matches_reference((a, s, x, init) in matmul_case()) {
        let got = matmul(&a, &s, &x, init.as_deref());
        let want = ref_matmul(a.acc_bits, &s, &x, init.as_deref());
        prop_assert_eq!(got, want);
    }

    #[test]
    fn native_matmul_matches_reference(
        k in 1usize..=8, m in 1usize..=5, n in 1usize..=5, seed in any::<u64>(), acc in any::<bool>()
    ) {
        let mut rng = SplitMix64::new(seed);
        let mut mat = |lo: i64, hi: i64, r: usize, c: usize| -> Vec<Vec<i64>> {
            (0..r).map(|_| (0..c).map(|_| match rng.below(4) {
                0 => lo,
                1 => hi,
                _ => rng.range_i64(lo, hi),
            }).collect()).collect()
        };
        // int8 -> i32, uint8 -> u32, int16 -> i64, uint16 -> u64, int16 -> i32 (wrapping).
        let cases: [(i64, i64, u32); 5] =
            [(-128, 127, 32), (0, 255, 32), (-32768, 32767, 64), (0, 65535, 64), (-32768, 32767, 32)];
        for (ci, (lo, hi, acc_bits)) in cases.into_iter().enumerate() {
            let s = mat(lo, hi, k, m);
            let x = mat(lo, hi, k, n);
            let init: Option<Vec<Vec<u64>>> = acc.then(|| {
                (0..m).map(|i| (0..n).map(|j| ((i * 31 + j) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask(acc_bits)).collect()).collect()
            });
            let want = ref_matmul(acc_bits, &s, &x, init.as_deref());
            fn conv<T: Copy, U: 'static + Copy>(v: &[Vec<T>], f: impl Fn(T) -> U) -> Vec<Vec<U>> {
                v.iter().map(|r| r.iter().map(|&e| f(e)).collect()).collect()
            }
            let got: Vec<Vec<u64>> = match ci {
                0 => conv(&matmul(&Native::<i8, i32>::new(), &conv(&s, |v| v as i8), &conv(&x, |v| v as i8),
                        init.as_ref().map(|t| conv(t, |v| v as u32 as i32)).as_deref()), |v| v as u32 as u64),
                1 => conv(&matmul(&Native::<u8, u32>::new(), &conv(&s, |v| v as u8), &conv(&x, |v| v as u8),
                        init.as_ref().map(|t| conv(t, |v| v as u32)).as_deref()), u64::from),
                2 => conv(&matmul(&Native::<i16, i64>::new(), &conv(&s, |v| v as i16), &conv(&x, |v| v as i16),
                        init.as_ref().map(|t| conv(t, |v| v as i64)).as_deref()), |v| v as u64),
                3 => conv(&matmul(&Native::<u16, u64>::new(), &conv(&s, |v| v as u16), &conv(&x, |v| v as u16),
                        init.as_deref()), |v| v),
                _ => conv(&matmul(&Native::<i16, i32>::new(), &conv(&s, |v| v as i16), &conv(&x, |v| v as i16),
                        init.as_ref().map(|t| conv(t, |v| v as u32 as i32)).as_deref()), |v| v as u32 as u64),
            };
            prop_assert_eq!(got, want, "native case {}", ci);
        }
    }

    /// One full instruction through the engine equals the generic matmul and the reference,
    /// with padded rows (K < rows), masked garbage (k < rows) and a column subset (m < cols).
    #[test]
    fn engine_instruction_matches_matmul(
        (cfg, kk, k, m, w, x) in config_strategy().prop_flat_map(|c| {
            let (rows, cols) = (c.rows as usize, c.cols as usize);
            (Just(c.clone()), 1..=rows, 1..=rows, 1..=cols, matrix(c.format, rows, cols),
             matrix(c.format, 1 + (c.psum_depth as usize - 1) % 5, rows))
        })
    ) {
        let mut e = CoreModel::new(&cfg);
        let stationary: Vec<Vec<i64>> = w[..kk].to_vec();
        e.execute(&Command::LoadStationary { rows: stationary.clone() }).unwrap();
        let n = x.len() as u32;
        e.execute(&Command::MultiplyMoving {
            k: k as u32, m: m as u32, bank: 0, offset: 0, accumulate: false, swap: true, moving: x.clone(),
        }).unwrap();
        // The mathematical product over r < min(k, K) of the first m columns.
        let kmin = k.min(kk);
        let s: Vec<Vec<i64>> = stationary[..kmin].iter().map(|r| r[..m].to_vec()).collect();
        let xm: Vec<Vec<i64>> = (0..kmin).map(|r| x.iter().map(|beat| beat[r]).collect()).collect();
        let a = FormatArith::from_config(&cfg);
        let want = matmul(&a, &s, &xm, None);
        prop_assert_eq!(&want, &ref_matmul(cfg.acc_bits, &s, &xm, None));
        for addr in 0..n {
            let got = e.psum(0, addr);
            for c in 0..cfg.cols as usize {
                let expect = (c < m).then(|| want[c][addr as usize]);
                prop_assert_eq!(got[c], expect, "addr {} column {}", addr, c);
            }
        }
        let macs = e.macs();
        prop_assert_eq!(macs.useful, (k * m) as u64 * u64::from(n));
        prop_assert_eq!(macs.array, u64::from(cfg.rows * cfg.cols * n));
    }
}

// ---------------------------------------------------------------------------------------------
// Random programs: engine = reference, timing terminates and respects the ordering rules.

fn check_timing(cfg: &Config, p: &Program) -> Result<(), TestCaseError> {
    let t = stall_free(cfg, p).map_err(|e| TestCaseError::fail(format!("{e}\n{p}")))?;
    let s = p.stats();
    prop_assert_eq!(t.mv_fire.len(), s.moving_beats);
    prop_assert_eq!(t.ls_fire.len(), s.load_beats);
    prop_assert_eq!(t.rd_fire.len(), s.reads);
    prop_assert_eq!(t.rdata_fire.len(), s.reads);
    let delay = u64::from(cfg.rows + cfg.cols);
    // Every read fires after the writes of every earlier instruction, and every instruction's
    // first beat after every earlier read.
    let (mut beat, mut read) = (0usize, 0usize);
    let mut last_write: Option<u64> = None;
    for c in &p.commands {
        match c {
            Command::MultiplyMoving { moving, .. } => {
                if read > 0 {
                    prop_assert!(t.mv_fire[beat] > t.rd_fire[read - 1]);
                }
                beat += moving.len();
                last_write = Some(t.mv_fire[beat - 1] + delay);
            }
            Command::ReadPsum { .. } => {
                if let Some(w) = last_write {
                    prop_assert!(
                        t.rd_fire[read] > w,
                        "read {} at {} before write edge {}",
                        read,
                        t.rd_fire[read],
                        w
                    );
                }
                prop_assert!(t.rdata_fire[read] >= t.rd_fire[read] + 2);
                read += 1;
            }
            Command::LoadStationary { .. } => {}
        }
    }
    prop_assert!(t.mv_fire.windows(2).all(|w| w[0] < w[1]));
    let end = t
        .mv_fire
        .last()
        .map_or(0, |&s| s + delay + 1)
        .max(t.rdata_fire.last().map_or(0, |&r| r + 1));
    prop_assert!(t.total_cycles >= end);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn engine_matches_reference_on_random_programs(
        cfg in config_strategy(), seed in any::<u64>(), matmuls in 1usize..=25
    ) {
        let opts = GenOptions { matmuls, ..GenOptions::default() };
        let p = random_program(&cfg, &mut SplitMix64::new(seed), &opts);
        let got = CoreModel::new(&cfg).run(&p).map_err(|e| TestCaseError::fail(format!("{e}\n{p}")))?;
        let want = ref_run(&cfg, &p);
        prop_assert_eq!(got, want, "program:\n{}", p);
        check_timing(&cfg, &p)?;
    }
}

#[test]
fn generator_is_deterministic_and_covers_the_cases() {
    let cfg = config(
        4,
        3,
        NumberFormat::Int {
            bits: 4,
            signed: true,
        },
        12,
        2,
        8,
    );
    let opts = GenOptions {
        matmuls: 30,
        ..GenOptions::default()
    };
    let a = random_program(&cfg, &mut SplitMix64::new(99), &opts);
    let b = random_program(&cfg, &mut SplitMix64::new(99), &opts);
    assert_eq!(a, b);
    assert_ne!(a, random_program(&cfg, &mut SplitMix64::new(100), &opts));

    #[derive(Default, Debug)]
    struct Seen {
        n1: bool,
        n_full: bool,
        chain4: bool,
        preload: bool,
        garbage: bool,
        undefined_read: bool,
        extreme: bool,
        k_lt_rows: bool,
        m_lt_cols: bool,
    }
    let mut seen = Seen::default();
    for seed in 0..200 {
        let p = random_program(&cfg, &mut SplitMix64::new(seed), &opts);
        assert_eq!(p.stats().matmuls, 30);
        let reads = CoreModel::new(&cfg)
            .run(&p)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{p}"));
        seen.undefined_read |= reads.iter().any(|r| r.values.iter().any(Option::is_none));
        let mut run: Option<((u32, u32, usize), usize)> = None;
        let mut pending = false;
        let mut since_load = 0; // MultiplyMoving between a load and its swap
        for c in &p.commands {
            match c {
                Command::LoadStationary { rows } => {
                    pending = true;
                    since_load = 0;
                    seen.extreme |= rows.iter().flatten().any(|&v| v == -8 || v == 7);
                }
                Command::MultiplyMoving {
                    k,
                    m,
                    bank,
                    offset,
                    accumulate,
                    swap,
                    moving,
                } => {
                    let n = moving.len() as u32;
                    seen.n1 |= n == 1;
                    seen.n_full |= n == cfg.psum_depth;
                    seen.k_lt_rows |= *k < cfg.rows;
                    seen.m_lt_cols |= *m < cfg.cols;
                    seen.garbage |= moving
                        .iter()
                        .any(|b| b[*k as usize..].iter().any(|&v| v != 0));
                    if *swap {
                        seen.preload |= since_load > 0;
                        pending = false;
                    } else if pending {
                        since_load += 1;
                    }
                    let key = (*bank, *offset, moving.len());
                    run = match run {
                        Some((k0, len)) if *accumulate && k0 == key => Some((k0, len + 1)),
                        _ => Some((key, 0)),
                    };
                    seen.chain4 |= run.is_some_and(|(_, len)| len >= 4);
                }
                Command::ReadPsum { .. } => {}
            }
        }
    }
    assert!(
        seen.n1
            && seen.n_full
            && seen.chain4
            && seen.preload
            && seen.garbage
            && seen.undefined_read
            && seen.extreme
            && seen.k_lt_rows
            && seen.m_lt_cols,
        "{seen:?}"
    );
}

#[test]
fn generator_respects_max_n() {
    let cfg = config(2, 2, NumberFormat::INT8, 32, 3, 64);
    let opts = GenOptions {
        matmuls: 40,
        max_n: 5,
        ..GenOptions::default()
    };
    for seed in 0..20 {
        let p = random_program(&cfg, &mut SplitMix64::new(seed), &opts);
        for c in &p.commands {
            if let Command::MultiplyMoving { moving, .. } = c {
                assert!((1..=5).contains(&moving.len()));
            }
        }
        CoreModel::new(&cfg).run(&p).unwrap();
    }
}

#[test]
fn back_to_back_program_runs() {
    let cfg = int8(4, 4);
    let p = Program::back_to_back(&cfg, 5, 8, &mut SplitMix64::new(1));
    let s = p.stats();
    assert_eq!((s.loads, s.matmuls, s.moving_beats, s.reads), (5, 5, 40, 3));
    let mut e = CoreModel::new(&cfg);
    let reads = e.run(&p).unwrap();
    assert_eq!(reads, ref_run(&cfg, &p));
    assert!(reads.iter().all(|r| r.values.iter().all(Option::is_some)));
    assert_eq!(e.macs().useful, 5 * 8 * 16);
    assert_eq!(e.macs().utilization(), 1.0);
    // Printable for failure reports.
    let text = p.to_string();
    assert!(
        text.contains("   1: MultiplyMoving k=4 m=4 N=8 bank=0 offset=0 acc=0 swap=1"),
        "{text}"
    );
    assert!(format!("{p:?}").starts_with("Program { commands: [LoadStationary"));
}

// ---------------------------------------------------------------------------------------------
// Engine rules: one error per rule, naming the command index and the field.

fn ls(rows: u32, cols: u32, v: i64) -> Command {
    Command::LoadStationary {
        rows: vec![vec![v; cols as usize]; rows as usize],
    }
}

#[allow(clippy::too_many_arguments)]
fn mm(
    k: u32,
    m: u32,
    bank: u32,
    offset: u32,
    acc: bool,
    swap: bool,
    n: usize,
    rows: u32,
) -> Command {
    Command::MultiplyMoving {
        k,
        m,
        bank,
        offset,
        accumulate: acc,
        swap,
        moving: vec![vec![1; rows as usize]; n],
    }
}

fn run_err(cfg: &Config, cmds: Vec<Command>) -> (CoreError, String) {
    let e = CoreModel::new(cfg).run(&Program::new(cmds)).unwrap_err();
    let s = e.to_string();
    (e, s)
}

#[test]
fn engine_rejects_each_broken_rule() {
    let c = int8(2, 3); // 2 banks, depth 8
    let ok_ls = ls(2, 3, 1);

    let (_, s) = run_err(&c, vec![Command::LoadStationary { rows: vec![] }]);
    assert_eq!(
        s,
        "command 0 (LoadStationary): K (rows.len()) = 0 is out of range: allowed 1..=2"
    );
    let (_, s) = run_err(&c, vec![ls(3, 3, 1)]);
    assert!(
        s.contains("command 0") && s.contains("K (rows.len()) = 3"),
        "{s}"
    );
    let (_, s) = run_err(&c, vec![ls(2, 2, 1)]);
    assert_eq!(
        s,
        "command 0 (LoadStationary): rows[0] has 2 values, expected 3"
    );
    let (_, s) = run_err(&c, vec![ls(1, 3, 128)]);
    assert_eq!(s, "command 0 (LoadStationary): rows[0][0] = 128 is out of range: allowed int8 values -128..=127");
    let (e, s) = run_err(&c, vec![ok_ls.clone(), ok_ls.clone()]);
    assert_eq!(
        e,
        CoreError::StationaryPending {
            index: 1,
            pending: 0
        }
    );
    assert!(s.contains("block forever"), "{s}");

    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(0, 3, 0, 0, false, true, 1, 2)]);
    assert_eq!(
        s,
        "command 1 (MultiplyMoving): k = 0 is out of range: allowed 1..=2"
    );
    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(2, 4, 0, 0, false, true, 1, 2)]);
    assert_eq!(
        s,
        "command 1 (MultiplyMoving): m = 4 is out of range: allowed 1..=3"
    );
    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(2, 3, 2, 0, false, true, 1, 2)]);
    assert_eq!(
        s,
        "command 1 (MultiplyMoving): bank = 2 is out of range: allowed 0..=1 (psum_banks = 2)"
    );
    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(2, 3, 0, 0, false, true, 0, 2)]);
    assert!(
        s.starts_with("command 1 (MultiplyMoving): N (moving.len()) = 0"),
        "{s}"
    );
    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(2, 3, 0, 5, false, true, 4, 2)]);
    assert!(
        s.contains("command 1") && s.contains("offset + N (5 + 4) = 9") && s.contains("psum_depth"),
        "{s}"
    );
    let (_, s) = run_err(&c, vec![ok_ls.clone(), mm(2, 3, 0, 0, false, true, 1, 3)]);
    assert_eq!(
        s,
        "command 1 (MultiplyMoving): moving[0] has 3 values, expected 2"
    );
    let bad = Command::MultiplyMoving {
        k: 1,
        m: 1,
        bank: 0,
        offset: 0,
        accumulate: false,
        swap: true,
        moving: vec![vec![0, 0], vec![0, -129]],
    };
    let (_, s) = run_err(&c, vec![ok_ls.clone(), bad]);
    assert!(
        s.contains("command 1") && s.contains("moving[1][1] = -129"),
        "{s}"
    );

    let (e, _) = run_err(&c, vec![mm(2, 3, 0, 0, false, true, 1, 2)]);
    assert_eq!(e, CoreError::SwapWithoutLoad { index: 0 });
    let (e, _) = run_err(&c, vec![ok_ls.clone(), mm(2, 3, 0, 0, false, false, 1, 2)]);
    assert_eq!(e, CoreError::NoActiveStationary { index: 1 });
    let (e, s) = run_err(
        &c,
        vec![
            ok_ls.clone(),
            mm(2, 2, 1, 3, false, true, 2, 2),
            mm(2, 3, 1, 3, true, false, 1, 2),
        ],
    );
    assert_eq!(
        e,
        CoreError::AccumulateUnwritten {
            index: 2,
            bank: 1,
            addr: 3,
            column: 2
        }
    );
    assert!(s.contains("bank 1 addr 3 column 2"), "{s}");
    let (e, _) = run_err(
        &c,
        vec![
            ok_ls.clone(),
            mm(2, 2, 1, 3, false, true, 2, 2),
            mm(2, 2, 1, 3, true, false, 3, 2),
        ],
    );
    assert_eq!(
        e,
        CoreError::AccumulateUnwritten {
            index: 2,
            bank: 1,
            addr: 5,
            column: 0
        }
    );

    let (_, s) = run_err(&c, vec![Command::ReadPsum { bank: 0, addr: 8 }]);
    assert_eq!(
        s,
        "command 0 (ReadPsum): addr = 8 is out of range: allowed 0..=7 (psum_depth = 8)"
    );
    let (_, s) = run_err(&c, vec![Command::ReadPsum { bank: 5, addr: 0 }]);
    assert!(s.starts_with("command 0 (ReadPsum): bank = 5"), "{s}");
}

#[test]
fn failed_commands_leave_the_state_unchanged() {
    let c = int8(2, 2);
    let mut e = CoreModel::new(&c);
    e.execute(&ls(2, 2, 3)).unwrap();
    assert!(e.execute(&mm(2, 2, 0, 0, true, true, 1, 2)).is_err()); // accumulate into nothing
    assert_eq!(e.next_index(), 1);
    // The stationary is still pending: the valid instruction swaps it in.
    e.execute(&mm(2, 2, 0, 0, false, true, 1, 2)).unwrap();
    assert_eq!(e.psum(0, 0), [Some(6), Some(6)]);
}

#[test]
fn engine_semantics_by_hand() {
    // int8, 2x2 array, acc 16 bits: wrapping and column subsets.
    let c = config(2, 2, NumberFormat::INT8, 16, 1, 4);
    let p = Program::new(vec![
        Command::LoadStationary {
            rows: vec![vec![-128, 2], vec![-128, 3]],
        },
        Command::MultiplyMoving {
            k: 2,
            m: 2,
            bank: 0,
            offset: 1,
            accumulate: false,
            swap: true,
            moving: vec![vec![-128, -128], vec![1, 100]],
        },
        // Load the next one early; the non-swap instruction still uses the first.
        Command::LoadStationary {
            rows: vec![vec![1, 1]],
        },
        Command::MultiplyMoving {
            k: 1,
            m: 1,
            bank: 0,
            offset: 1,
            accumulate: true,
            swap: false,
            moving: vec![vec![1, 127]],
        },
        Command::MultiplyMoving {
            k: 2,
            m: 2,
            bank: 0,
            offset: 2,
            accumulate: true,
            swap: true,
            moving: vec![vec![5, 7]],
        },
        Command::ReadPsum { bank: 0, addr: 0 },
        Command::ReadPsum { bank: 0, addr: 1 },
        Command::ReadPsum { bank: 0, addr: 2 },
    ]);
    let mut e = CoreModel::new(&c);
    let r = e.run(&p).unwrap();
    assert_eq!(r, ref_run(&c, &p));
    assert_eq!(r[0].values, [None, None]);
    // addr 1: col0 = 2 * 16384 = 32768 -> wraps to -32768 in 16 bits; then + (-128 * 1) (k = 1
    // masks the 127): -32896 -> wraps to 32640. col1 = 2*(-128) + 3*(-128) = -640, untouched.
    assert_eq!(r[1].signed(16), [Some(32640), Some(-640)]);
    // addr 2: col0 = -128 + -12800 = -12928, + 5 (new stationary row 0 = [1, 1], row 1 padded).
    // col1 = 2 + 300 = 302, + 5.
    assert_eq!(r[2].signed(16), [Some(-12923), Some(307)]);
    assert!(r[2].matches(&[(-12923i64 as u64) & 0xFFFF, 307]));
    assert!(r[0].matches(&[1234, 0]));
    let m = e.macs();
    assert_eq!(
        (m.useful, m.array, m.matmuls, m.moving_beats),
        (2 * 2 * 2 + 1 + 4, 4 * 4, 3, 4)
    );
}
