//! A deliberately plain reference that checks the golden model itself: triple loops in `i128`
//! with an explicit reduction modulo `2^acc_bits`, and a program interpreter written from the
//! mathematical definition (`sum over r < min(k, K)`), not from the hardware's order.

use crate::config::Config;
use crate::program::{Command, Program};

use super::core::ReadResult;

fn modulus(acc_bits: u32) -> i128 {
    assert!(
        (1..=64).contains(&acc_bits),
        "acc_bits = {acc_bits} must be in 1..=64"
    );
    1i128 << acc_bits
}

/// `v mod 2^acc_bits`, as a bit pattern.
pub fn reduce(v: i128, acc_bits: u32) -> u64 {
    v.rem_euclid(modulus(acc_bits)) as u64
}

/// Reference product of two inputs.
pub fn ref_mul(a: i64, b: i64, acc_bits: u32) -> u64 {
    reduce(i128::from(a) * i128::from(b), acc_bits)
}

/// Reference sum of two accumulator bit patterns.
pub fn ref_add(a: u64, b: u64, acc_bits: u32) -> u64 {
    reduce(i128::from(a) + i128::from(b), acc_bits)
}

/// `out[m][n] = (init[m][n] +) sum_k stationary[k][m] * moving[k][n] mod 2^acc_bits`, summed
/// exactly in `i128` and reduced once. `stationary` is `K x M`, `moving` `K x N`, `init` `M x N`.
pub fn ref_matmul(
    acc_bits: u32,
    stationary: &[Vec<i64>],
    moving: &[Vec<i64>],
    init: Option<&[Vec<u64>]>,
) -> Vec<Vec<u64>> {
    let m = stationary.first().map_or(0, Vec::len);
    let n = moving.first().map_or(0, Vec::len);
    let mut out = vec![vec![0u64; n]; m];
    for (mi, row) in out.iter_mut().enumerate() {
        for (ni, o) in row.iter_mut().enumerate() {
            let mut sum: i128 = init.map_or(0, |t| i128::from(t[mi][ni]));
            for ki in 0..stationary.len() {
                sum += i128::from(stationary[ki][mi]) * i128::from(moving[ki][ni]);
            }
            *o = reduce(sum, acc_bits);
        }
    }
    out
}

/// Interpret a program that is valid for `cfg` (panics on invalid ones: use
/// [`super::CoreModel`] to check validity) and return its read responses.
pub fn ref_run(cfg: &Config, program: &Program) -> Vec<ReadResult> {
    let (banks, depth, cols) = (
        cfg.psum_banks as usize,
        cfg.psum_depth as usize,
        cfg.cols as usize,
    );
    let mut psum: Vec<Vec<Vec<Option<u64>>>> = vec![vec![vec![None; cols]; depth]; banks];
    let mut pending: Option<Vec<Vec<i64>>> = None;
    let mut active: Option<Vec<Vec<i64>>> = None;
    let mut out = Vec::new();
    for c in &program.commands {
        match c {
            Command::LoadStationary { rows } => {
                assert!(
                    pending.is_none(),
                    "reference: load over a pending stationary"
                );
                pending = Some(rows.clone());
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
                if *swap {
                    active = Some(pending.take().expect("reference: swap without a load"));
                }
                let w = active.as_ref().expect("reference: no active stationary");
                let kk = (*k as usize).min(w.len());
                for (n, beat) in moving.iter().enumerate() {
                    let entry = &mut psum[*bank as usize][*offset as usize + n];
                    for (col, e) in entry.iter_mut().enumerate().take(*m as usize) {
                        let mut sum: i128 = 0;
                        for r in 0..kk {
                            sum += i128::from(w[r][col]) * i128::from(beat[r]);
                        }
                        if *accumulate {
                            sum += i128::from(
                                e.expect("reference: accumulate into an unwritten entry"),
                            );
                        }
                        *e = Some(reduce(sum, cfg.acc_bits));
                    }
                }
            }
            Command::ReadPsum { bank, addr } => out.push(ReadResult {
                bank: *bank,
                addr: *addr,
                values: psum[*bank as usize][*addr as usize].clone(),
            }),
        }
    }
    out
}
