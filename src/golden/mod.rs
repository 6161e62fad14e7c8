//! The golden model: plain Rust, no HDL types. It *defines* the core's behaviour (and through
//! `crate::engine::golden` the engine's); the RTL implements it and the co-simulation compares
//! the two.
//!
//! # Core contract
//!
//! Trainium tensor-engine semantics (`nc_matmul`), for `k < K <= rows`, `m < M <= cols`,
//! `n < N <= psum_depth`:
//!
//! ```text
//! psum[bank][offset + n][m] = (accumulate ? psum[bank][offset + n][m] : 0)
//!                             + sum_k stationary[k][m] * moving[k][n]
//! ```
//!
//! Array rows index K, array columns index M. Inputs are integers of the configured format
//! (signed or unsigned, 2..=16 bits); the accumulator has `acc_bits` (<= 64) and wraps modulo
//! `2^acc_bits` (two's complement). PSUM values are `u64` bit patterns masked to `acc_bits`,
//! exactly what the hardware returns; [`arith::acc_to_signed`], [`FormatArith::to_signed`] and
//! [`ReadResult::signed`] view them as numbers.
//!
//! The command stream is defined in [`crate::program`]. [`CoreModel`] enforces its rules with
//! [`CoreError`]s that name the command index and the field or limit: values outside the
//! format; wrong row lengths; `K`/`k` not in `1..=rows`; `m` not in `1..=cols`; `N == 0` or
//! `offset + N > psum_depth`; `bank >= psum_banks`; `addr >= psum_depth`; a LoadStationary while
//! a loaded stationary has not been consumed by a swap; a swap with no loaded stationary; a
//! MultiplyMoving with no active stationary; accumulation into a PSUM entry (of a column `< m`)
//! never written. Reading never-written entries is allowed: those columns read as `None`.
//!
//! # Order of additions
//!
//! The core model adds in exactly the hardware's order, which matters for formats whose
//! addition is not associative: for each written column `c`,
//! `acc = zero; for r in 0..rows { acc = add(acc, mul(w[r][c], x[r])) }` over **all** array rows
//! (rows `>= K` of the stationary are zero, moving elements `r >= k` are masked to zero), then
//! `new = accumulate ? add(old, acc) : acc`.
//!
//! # Modules
//! * [`arith`]: the [`Arith`] trait, native integers via num-traits ([`Native`]) and the run-time
//!   format of a config ([`FormatArith`]).
//! * [`matmul`](mod@matmul): the generic tile product.
//! * [`fp`]: floating-point numerics (bf16, fp8 e4m3/e5m2 inputs, fp32 accumulation); spec in
//!   docs/numerics.md.
//! * [`core`](mod@self::core): [`CoreModel`], the core (`systolic_top`) executing its command
//!   stream. (The programmable engine around the core, SBUF and instructions, is
//!   `crate::engine::golden`, built on [`CoreModel`].)
//! * [`requant`]: the write-back arithmetic of ACTIVATE (accumulators to int8 / uint8 / bf16 /
//!   fp8, bit-exact with ONNX Runtime) and ORT's multiplier computations.
//! * [`reference`](mod@reference): a plain `i128` triple-loop reference that checks all of the above.
//! * [`timing`]: the exact cycle count of a stall-free run on the RTL top.

pub mod arith;
pub mod core;
pub mod fp;
pub mod matmul;
pub mod reference;
pub mod requant;
pub mod timing;

pub use self::core::{CoreError, CoreModel, MacCounts, ReadResult};
pub use arith::{acc_to_signed, acc_to_unsigned, Arith, FormatArith, Native};
pub use matmul::matmul;
pub use timing::{stall_free, Timing, TimingError};
