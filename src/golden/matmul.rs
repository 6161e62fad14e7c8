//! The generic tile product of the engine, `out[M][N] = init + stationary[K][M]^T * moving[K][N]`,
//! written against [`Arith`] with the hardware's order of additions for each output: start at
//! zero, add the products of rows `0..K` in order, then add the sum to the old value.

use super::arith::Arith;

/// `out[m][n] = (init[m][n] +) sum_{k} stationary[k][m] * moving[k][n]`, with
/// `acc = zero; for k in 0..K { acc = add(acc, mul(stationary[k][m], moving[k][n])) }` and then
/// `out = add(init, acc)` when `init` is given (the accumulate flag).
///
/// `stationary` is `K x M`, `moving` is `K x N`, `init` (if any) is `M x N`; the result is
/// `M x N`. An empty `stationary` (K = 0) gives `init` (or zeros) with `M = 0`.
///
/// # Panics
/// If the shapes disagree.
pub fn matmul<A: Arith>(
    arith: &A,
    stationary: &[Vec<A::In>],
    moving: &[Vec<A::In>],
    init: Option<&[Vec<A::Acc>]>,
) -> Vec<Vec<A::Acc>> {
    let k = stationary.len();
    assert_eq!(
        moving.len(),
        k,
        "matmul: moving has {} rows, stationary has K = {k}",
        moving.len()
    );
    let m = stationary.first().map_or(0, Vec::len);
    let n = moving.first().map_or(0, Vec::len);
    assert!(
        stationary.iter().all(|r| r.len() == m),
        "matmul: ragged stationary"
    );
    assert!(moving.iter().all(|r| r.len() == n), "matmul: ragged moving");
    if let Some(init) = init {
        assert_eq!(
            init.len(),
            m,
            "matmul: init has {} rows, expected M = {m}",
            init.len()
        );
        assert!(
            init.iter().all(|r| r.len() == n),
            "matmul: init rows must have N = {n} values"
        );
    }
    (0..m)
        .map(|mi| {
            (0..n)
                .map(|ni| {
                    let mut acc = arith.zero();
                    for ki in 0..k {
                        acc = arith.add(acc, arith.mul(stationary[ki][mi], moving[ki][ni]));
                    }
                    match init {
                        Some(init) => arith.add(init[mi][ni], acc),
                        None => acc,
                    }
                })
                .collect()
        })
        .collect()
}
