//! Floating-point numerics of the engine, as plain Rust on bit patterns: the executable form of
//! `docs/numerics.md`. Nothing here uses host floating-point arithmetic to compute a result; the
//! tests use the host's IEEE 754 `f32` as the oracle.
//!
//! * Inputs: [`FpFormat::Bf16`] (1-8-7), [`FpFormat::E4M3`] (OCP FP8 E4M3, no infinities, NaN only
//!   `S.1111.111`) and [`FpFormat::E5M2`] (OCP FP8 E5M2, IEEE-like). Bit patterns are `u16`, fp8
//!   in the low 8 bits.
//! * Products: [`mul`] computes the exact product (integer significand times a power of two) and
//!   rounds it once to fp32, round-to-nearest-even, with gradual underflow and overflow to
//!   infinity. fp8 x fp8 products are always exact; bf16 x bf16 products can underflow or overflow.
//! * Sums: [`add`] is IEEE 754 binary32 addition, round-to-nearest-even, subnormals kept, on
//!   integers (aligned significands with guard, round and sticky bits).
//! * NaN: every NaN result is the canonical [`F32_CANONICAL_NAN`] (`0x7FC0_0000`); input NaNs of
//!   any payload and sign are all just "NaN". No exception flags.
//! * Order: [`dot_in_hw_order`] folds down a column from row 0 starting at `+0.0`;
//!   [`psum_update`] then accumulates into or overwrites a PSUM entry.
//! * Input conversion: [`FpFormat::encode_f32_bits`] / [`FpFormat::encode_f64`],
//!   round-to-nearest-even; E4M3 saturates to +-448 (OCP saturating mode), bf16 and E5M2
//!   overflow to infinity.
//!
//! The formats themselves (widths, biases, special bit patterns) are plain data in
//! [`crate::format`]; this file adds their arithmetic.

pub use crate::format::{FpFormat, ALL_FORMATS};

/// fp32 bits of every NaN the engine produces (quiet, positive, zero payload).
pub const F32_CANONICAL_NAN: u32 = 0x7FC0_0000;
/// fp32 `+0.0`: the start of every column sum.
pub const F32_POS_ZERO: u32 = 0x0000_0000;
/// fp32 `-0.0`.
pub const F32_NEG_ZERO: u32 = 0x8000_0000;
/// fp32 `+inf`.
pub const F32_POS_INF: u32 = 0x7F80_0000;
/// fp32 sign bit.
pub const F32_SIGN: u32 = 0x8000_0000;

/// Largest finite fp32 magnitude (bits).
const F32_MAX_FINITE: u32 = 0x7F7F_FFFF;
/// fp32 fraction bits.
const F32_MAN: u32 = 23;
/// fp32 quantum of the subnormals: `2^-149`.
const F32_QMIN: i32 = -149;

/// The class of a value (input format or fp32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FpClass {
    Zero,
    Subnormal,
    Normal,
    Infinite,
    Nan,
}

/// A decoded input value. Finite values are exactly `(-1)^neg * sig * 2^exp` (`sig == 0` for
/// zeros, which keep their sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    Nan,
    Inf { neg: bool },
    Finite { neg: bool, sig: u32, exp: i32 },
}

impl FpFormat {
    fn check(self, bits: u16) {
        assert!(
            bits & !self.mask() == 0,
            "{bits:#x} is not a {} bit pattern",
            self.name()
        );
    }

    /// The class of a bit pattern.
    ///
    /// # Panics
    /// If `bits` has bits set above the format's width.
    pub fn classify(self, bits: u16) -> FpClass {
        self.check(bits);
        let m = self.man_bits();
        let e_max = (1u16 << self.exp_bits()) - 1;
        let e = (bits >> m) & e_max;
        let f = bits & ((1 << m) - 1);
        // Only the all-ones exponent field differs between the formats: E4M3 keeps it for
        // normals except its one NaN pattern; bf16 and E5M2 use it for infinities and NaNs.
        if e == e_max {
            if self.has_infinity() {
                return if f == 0 {
                    FpClass::Infinite
                } else {
                    FpClass::Nan
                };
            }
            if f == (1 << m) - 1 {
                return FpClass::Nan;
            }
        }
        match (e, f) {
            (0, 0) => FpClass::Zero,
            (0, _) => FpClass::Subnormal,
            _ => FpClass::Normal,
        }
    }

    /// Decodes a bit pattern to sign, integer significand and exponent.
    ///
    /// # Panics
    /// If `bits` has bits set above the format's width.
    pub fn decode(self, bits: u16) -> Decoded {
        let neg = bits & self.sign_bit() != 0;
        let m = self.man_bits();
        let e = i32::from((bits >> m) & ((1 << self.exp_bits()) - 1));
        let f = u32::from(bits & ((1 << m) - 1));
        match self.classify(bits) {
            FpClass::Nan => Decoded::Nan,
            FpClass::Infinite => Decoded::Inf { neg },
            FpClass::Zero | FpClass::Subnormal => Decoded::Finite {
                neg,
                sig: f,
                exp: self.qmin(),
            },
            FpClass::Normal => Decoded::Finite {
                neg,
                sig: f | (1 << m),
                exp: e - self.bias() - m as i32,
            },
        }
    }

    /// The value as `f64` (exact; for display). NaN gives `f64::NAN`.
    pub fn to_f64(self, bits: u16) -> f64 {
        match self.decode(bits) {
            Decoded::Nan => f64::NAN,
            Decoded::Inf { neg } => {
                if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Decoded::Finite { neg, sig, exp } => {
                let v = f64::from(sig) * 2f64.powi(exp);
                if neg {
                    -v
                } else {
                    v
                }
            }
        }
    }

    /// The value as fp32 bits (exact: every value of the three formats is an fp32). NaN gives
    /// [`F32_CANONICAL_NAN`].
    pub fn to_f32_bits(self, bits: u16) -> u32 {
        match self.decode(bits) {
            Decoded::Nan => F32_CANONICAL_NAN,
            Decoded::Inf { neg } => F32_POS_INF | sign32(neg),
            Decoded::Finite { neg, sig, exp } => {
                sign32(neg) | round_f32_magnitude(u64::from(sig), exp)
            }
        }
    }

    /// Converts fp32 bits to this format: round-to-nearest-even (one rounding), gradual
    /// underflow, signed zeros kept. Overflow (a rounded magnitude above the largest finite
    /// value, or an infinity): bf16 and E5M2 give the infinity of the sign; E4M3 saturates to
    /// +-448 (`0x7E`/`0xFE`). Any NaN gives [`FpFormat::canonical_nan_bits`].
    pub fn encode_f32_bits(self, x: u32) -> u16 {
        let neg = x & F32_SIGN != 0;
        let e = ((x >> 23) & 0xFF) as i32;
        let f = x & 0x7F_FFFF;
        if e == 0xFF {
            return if f != 0 {
                self.canonical_nan_bits()
            } else {
                self.overflow(neg)
            };
        }
        let (sig, exp) = if e == 0 {
            (f, F32_QMIN)
        } else {
            (f | 0x80_0000, e - 150)
        };
        self.round_finite(neg, u64::from(sig), exp)
    }

    /// [`FpFormat::encode_f32_bits`] of an `f32`.
    pub fn encode_f32(self, x: f32) -> u16 {
        self.encode_f32_bits(x.to_bits())
    }

    /// Converts an `f64` to this format with one rounding (same rules as
    /// [`FpFormat::encode_f32_bits`]). Not the same as going through `f32` first, which can round
    /// twice.
    pub fn encode_f64(self, x: f64) -> u16 {
        let b = x.to_bits();
        let neg = b >> 63 != 0;
        let e = ((b >> 52) & 0x7FF) as i32;
        let f = b & ((1u64 << 52) - 1);
        if e == 0x7FF {
            return if f != 0 {
                self.canonical_nan_bits()
            } else {
                self.overflow(neg)
            };
        }
        let (sig, exp) = if e == 0 {
            (f, -1074)
        } else {
            (f | (1u64 << 52), e - 1075)
        };
        self.round_finite(neg, sig, exp)
    }

    /// The result of an overflow of the given sign.
    fn overflow(self, neg: bool) -> u16 {
        let s = if neg { self.sign_bit() } else { 0 };
        match self.pos_inf_bits() {
            Some(inf) => s | inf,
            None => s | self.max_finite_bits(),
        }
    }

    /// Rounds `(-1)^neg * sig * 2^exp` to this format.
    fn round_finite(self, neg: bool, sig: u64, exp: i32) -> u16 {
        let s = if neg { self.sign_bit() } else { 0 };
        match round_magnitude(
            sig,
            exp,
            self.man_bits(),
            self.qmin(),
            u64::from(self.max_finite_bits()),
        ) {
            Some(mag) => s | mag as u16,
            None => self.overflow(neg),
        }
    }
}

fn sign32(neg: bool) -> u32 {
    if neg {
        F32_SIGN
    } else {
        0
    }
}

/// Rounds the magnitude `sig * 2^exp` to nearest, ties to even, into a format with `man` fraction
/// bits and subnormal quantum `2^qmin`, returning the magnitude's bit pattern, or `None` when the
/// rounded magnitude is above `max_finite` (the bit pattern of the largest finite magnitude).
///
/// The result is `M * 2^q` with `q = max(msb_exponent - man, qmin)` and `M` the rounded integer
/// `sig * 2^(exp - q)`. Its bit pattern is `((q - qmin) << man) + M`: for a normal `M` in
/// `[2^man, 2^(man+1))` that is `(E << man) | fraction` with `E = q - qmin + 1`; a subnormal has
/// `q = qmin` and `M < 2^man`; a rounding carry (`M = 2^(man+1)`, or `2^man` from a subnormal)
/// lands on the next exponent by itself.
fn round_magnitude(sig: u64, exp: i32, man: u32, qmin: i32, max_finite: u64) -> Option<u64> {
    if sig == 0 {
        return Some(0);
    }
    let msb = 63 - sig.leading_zeros() as i32; // sig in [2^msb, 2^(msb+1))
    let q = (exp + msb - man as i32).max(qmin);
    let m: u64 = if q <= exp {
        sig << (exp - q) // exact; fits in man + 1 bits
    } else {
        let shift = (q - exp) as u32;
        if shift > 64 {
            0 // sig * 2^exp < 2^(exp + 64) <= 2^(q - 1): below half the quantum
        } else {
            let s = u128::from(sig);
            let kept = (s >> shift) as u64;
            let rem = s & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if rem > half || (rem == half && kept & 1 == 1) {
                kept + 1
            } else {
                kept
            }
        }
    };
    let bits = (((q - qmin) as u64) << man) + m;
    (bits <= max_finite).then_some(bits)
}

/// Rounds the magnitude `sig * 2^exp` to fp32 bits (overflow gives `+inf`).
fn round_f32_magnitude(sig: u64, exp: i32) -> u32 {
    match round_magnitude(sig, exp, F32_MAN, F32_QMIN, u64::from(F32_MAX_FINITE)) {
        Some(b) => b as u32,
        None => F32_POS_INF,
    }
}

/// The class of fp32 bits.
pub fn f32_classify(x: u32) -> FpClass {
    let e = (x >> 23) & 0xFF;
    let f = x & 0x7F_FFFF;
    match (e, f) {
        (0xFF, 0) => FpClass::Infinite,
        (0xFF, _) => FpClass::Nan,
        (0, 0) => FpClass::Zero,
        (0, _) => FpClass::Subnormal,
        _ => FpClass::Normal,
    }
}

/// Whether fp32 bits are a NaN.
pub fn f32_is_nan(x: u32) -> bool {
    x & 0x7FFF_FFFF > F32_POS_INF
}

/// The product of two inputs of `format`, as fp32 bits. See [`mul_mixed`].
pub fn mul(format: FpFormat, a: u16, b: u16) -> u32 {
    mul_mixed(format, a, format, b)
}

/// The product of `a` (format `fa`) and `b` (format `fb`) as fp32 bits:
/// * NaN operand, or infinity times zero: [`F32_CANONICAL_NAN`];
/// * infinity times non-zero or infinity: infinity, sign = XOR of the signs;
/// * finite times finite: the exact product `(sa * sb) * 2^(ea + eb)` rounded once to fp32,
///   nearest-even, gradual underflow (a product below half the smallest subnormal becomes a zero),
///   overflow to infinity; sign = XOR of the signs, zeros included (`-0 * 3 = -0`).
///
/// For E4M3/E5M2 operands (any combination) the product is always exact.
///
/// # Panics
/// If a bit pattern has bits set above its format's width.
pub fn mul_mixed(fa: FpFormat, a: u16, fb: FpFormat, b: u16) -> u32 {
    use Decoded::*;
    let is_zero = |sig: u32| sig == 0;
    match (fa.decode(a), fb.decode(b)) {
        (Nan, _) | (_, Nan) => F32_CANONICAL_NAN,
        (Inf { neg: na }, Inf { neg: nb }) => F32_POS_INF | sign32(na ^ nb),
        (Inf { neg: ni }, Finite { neg: nf, sig, .. })
        | (Finite { neg: nf, sig, .. }, Inf { neg: ni }) => {
            if is_zero(sig) {
                F32_CANONICAL_NAN
            } else {
                F32_POS_INF | sign32(ni ^ nf)
            }
        }
        (
            Finite {
                neg: na,
                sig: sa,
                exp: ea,
            },
            Finite {
                neg: nb,
                sig: sb,
                exp: eb,
            },
        ) => sign32(na ^ nb) | round_f32_magnitude(u64::from(sa) * u64::from(sb), ea + eb),
    }
}

/// fp32 addition, IEEE 754 binary32, round-to-nearest-even, subnormals kept (no flush), computed
/// on integers:
/// * any NaN operand, or `+inf + -inf`: [`F32_CANONICAL_NAN`];
/// * an infinity plus anything else: that infinity;
/// * `x + (+-0) = x` for non-zero `x`; `+0 + +0 = +0`, `-0 + -0 = -0`, `+0 + -0 = -0 + +0 = +0`;
/// * an exact cancellation `x + (-x)` gives `+0`;
/// * otherwise the exact sum rounded to nearest-even (overflow gives the infinity of the sign).
///
/// Steps (the RTL's datapath): order the operands by magnitude; unpack exponent field (`1` for a
/// subnormal) and 24-bit significand; extend by guard, round and sticky bits (`<< 3`); shift the
/// smaller right by the exponent difference, OR-ing every bit shifted out of the 27-bit field
/// into bit 0; add or subtract; normalise (a carry out: shift right one, keeping the sticky;
/// leading zeros: shift left, but never below exponent field 1); round at bit 3 on guard (bit 2)
/// and round|sticky (bits 1..0) and the LSB; a rounding carry to `2^24` bumps the exponent;
/// exponent field 255 or more is infinity; a result without the hidden bit is subnormal.
pub fn add(a: u32, b: u32) -> u32 {
    let (ca, cb) = (f32_classify(a), f32_classify(b));
    if ca == FpClass::Nan || cb == FpClass::Nan {
        return F32_CANONICAL_NAN;
    }
    if ca == FpClass::Infinite {
        return if cb == FpClass::Infinite && (a ^ b) & F32_SIGN != 0 {
            F32_CANONICAL_NAN
        } else {
            a
        };
    }
    if cb == FpClass::Infinite {
        return b;
    }
    let (ma, mb) = (a & !F32_SIGN, b & !F32_SIGN);
    if mb == 0 {
        // x + 0: x, except +0 + -0 and -0 + +0, which are +0 under round-to-nearest.
        return if ma == 0 { a & b } else { a };
    }
    if ma == 0 {
        return b;
    }
    let subtract = (a ^ b) & F32_SIGN != 0;
    // Magnitudes of finite fp32 values order like their bit patterns.
    let (big, small, sign) = if ma >= mb {
        (ma, mb, a & F32_SIGN)
    } else {
        (mb, ma, b & F32_SIGN)
    };
    let unpack = |m: u32| -> (i32, u32) {
        let e = (m >> 23) as i32;
        let f = m & 0x7F_FFFF;
        if e == 0 {
            (1, f)
        } else {
            (e, f | 0x80_0000)
        }
    };
    let (eb, sb) = unpack(big);
    let (es, ss) = unpack(small);
    let d = (eb - es) as u32; // >= 0
    let xb = sb << 3; // 27 bits: 24-bit significand, guard, round, sticky
    let xs_full = ss << 3;
    let xs = if d == 0 {
        xs_full
    } else if d < 27 {
        (xs_full >> d) | u32::from(xs_full & ((1 << d) - 1) != 0)
    } else {
        u32::from(xs_full != 0)
    };
    let mut x = if subtract { xb - xs } else { xb + xs }; // xb >= xs
    if x == 0 {
        return F32_POS_ZERO; // exact cancellation: +0 under round-to-nearest
    }
    let mut e = eb;
    if x >= 1 << 27 {
        x = (x >> 1) | (x & 1);
        e += 1;
    } else {
        let lz = x.leading_zeros() as i32 - 5; // zeros above bit 26
        let shift = lz.min(e - 1);
        x <<= shift;
        e -= shift;
    }
    let guard = (x >> 2) & 1;
    let round_sticky = x & 3;
    let mut sig = x >> 3;
    if guard == 1 && (round_sticky != 0 || sig & 1 == 1) {
        sig += 1;
    }
    if sig == 1 << 24 {
        sig >>= 1;
        e += 1;
    }
    if e >= 0xFF {
        return sign | F32_POS_INF;
    }
    if sig & 0x80_0000 == 0 {
        sign | sig // subnormal: exponent field 0 (e is 1 here)
    } else {
        sign | ((e as u32) << 23) | (sig & 0x7F_FFFF)
    }
}

/// One column of the array: `acc = +0.0; for r { acc = add(acc, mul(format, w[r], x[r])) }`,
/// rows in order from row 0. Never returns `-0.0` (see `docs/numerics.md`).
///
/// # Panics
/// If `w` and `x` differ in length.
pub fn dot_in_hw_order(format: FpFormat, w: &[u16], x: &[u16]) -> u32 {
    dot_in_hw_order_masked(format, w, x, w.len())
}

/// [`dot_in_hw_order`] where only rows `r < active` multiply: a row `r >= active` contributes
/// a `+0.0` product whatever `w[r]` and `x[r]` hold (so a stale infinite or NaN weight in a
/// masked row cannot turn the sum into NaN). Since the running sum is never `-0.0`, adding that
/// `+0.0` leaves it unchanged: the result equals the fold over the active rows alone.
///
/// # Panics
/// If `w` and `x` differ in length.
pub fn dot_in_hw_order_masked(format: FpFormat, w: &[u16], x: &[u16], active: usize) -> u32 {
    assert_eq!(
        w.len(),
        x.len(),
        "stationary and moving columns differ in length"
    );
    w.iter()
        .zip(x)
        .enumerate()
        .fold(F32_POS_ZERO, |acc, (r, (&wr, &xr))| {
            let p = if r < active {
                mul(format, wr, xr)
            } else {
                F32_POS_ZERO
            };
            add(acc, p)
        })
}

/// The PSUM write of a column sum: `accumulate ? add(old, column) : column`.
pub fn psum_update(accumulate: bool, old: u32, column: u32) -> u32 {
    if accumulate {
        add(old, column)
    } else {
        column
    }
}
