//! The arithmetic of one processing element, as a trait: a product of two inputs and a sum of two
//! accumulators. The core model and [`matmul`](fn@super::matmul) are written against [`Arith`] only, so a
//! format whose sums are not associative (floating point, later) gets exactly the hardware's
//! order of additions.
//!
//! Two implementations:
//! * [`Native`]: native Rust integers through num-traits (`i8 -> i32`, `u8 -> u32`,
//!   `i16 -> i64`, ...): products of the widened inputs, wrapping sums of the accumulator type.
//! * [`FormatArith`]: the run-time format of a [`Config`]: inputs are `i64` values of the format,
//!   accumulators are `u64` bit patterns masked to `acc_bits`, wrapping modulo `2^acc_bits`
//!   (two's complement). That is what the hardware's PSUM holds and returns. For the
//!   floating-point formats the inputs are bit patterns and the accumulators fp32 bit patterns,
//!   with the products and sums of [`fp`] (`docs/numerics.md`).

use std::marker::PhantomData;

use num_traits::{AsPrimitive, WrappingAdd, WrappingMul, Zero};

use crate::config::Config;
use crate::format::{mask, sign_extend, NumberFormat};
use crate::golden::fp;

/// The arithmetic of a processing element.
pub trait Arith {
    /// One input element (stationary or moving).
    type In: Copy;
    /// One accumulator (a product, a partial sum, a PSUM entry).
    type Acc: Copy + PartialEq + std::fmt::Debug;
    /// The input zero (padding of rows the hardware masks or zero-fills).
    fn zero_in(&self) -> Self::In;
    /// The accumulator zero (start of every column sum).
    fn zero(&self) -> Self::Acc;
    /// The product of two inputs, as an accumulator.
    fn mul(&self, a: Self::In, b: Self::In) -> Self::Acc;
    /// The sum of two accumulators.
    fn add(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

/// Native integer arithmetic: inputs `I` widened to the accumulator `A` (with `as`), wrapping
/// multiply and add in `A`. Exact products need `A` at least twice as wide as `I`.
pub struct Native<I, A>(PhantomData<fn() -> (I, A)>);

impl<I, A> Native<I, A> {
    pub const fn new() -> Self {
        Native(PhantomData)
    }
}

impl<I, A> Default for Native<I, A> {
    fn default() -> Self {
        Native::new()
    }
}

impl<I, A> Arith for Native<I, A>
where
    I: AsPrimitive<A> + Zero,
    A: WrappingAdd + WrappingMul + Zero + Copy + PartialEq + std::fmt::Debug + 'static,
{
    type In = I;
    type Acc = A;
    fn zero_in(&self) -> I {
        I::zero()
    }
    fn zero(&self) -> A {
        A::zero()
    }
    fn mul(&self, a: I, b: I) -> A {
        a.as_().wrapping_mul(&b.as_())
    }
    fn add(&self, a: A, b: A) -> A {
        a.wrapping_add(&b)
    }
}

/// The run-time integer format of a configuration: `i64` inputs of `format`, `u64` accumulator
/// bit patterns of `acc_bits` (wrapping modulo `2^acc_bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatArith {
    pub format: NumberFormat,
    pub acc_bits: u32,
}

impl FormatArith {
    /// # Panics
    /// If `acc_bits` is not in `1..=64`.
    pub fn new(format: NumberFormat, acc_bits: u32) -> FormatArith {
        assert!(
            (1..=64).contains(&acc_bits),
            "acc_bits = {acc_bits} must be in 1..=64"
        );
        FormatArith { format, acc_bits }
    }

    pub fn from_config(cfg: &Config) -> FormatArith {
        FormatArith::new(cfg.format, cfg.acc_bits)
    }

    /// The accumulator mask (`acc_bits` ones).
    pub fn acc_mask(&self) -> u64 {
        mask(self.acc_bits)
    }

    /// An accumulator bit pattern viewed as a two's-complement number.
    pub fn to_signed(&self, acc: u64) -> i64 {
        acc_to_signed(acc, self.acc_bits)
    }

    /// An accumulator bit pattern viewed as an unsigned number.
    pub fn to_unsigned(&self, acc: u64) -> u64 {
        acc & self.acc_mask()
    }

    /// The accumulator bit pattern of a number (modulo `2^acc_bits`).
    pub fn from_signed(&self, v: i64) -> u64 {
        (v as u64) & self.acc_mask()
    }
}

/// An accumulator bit pattern of `acc_bits` viewed as a two's-complement number.
pub fn acc_to_signed(acc: u64, acc_bits: u32) -> i64 {
    sign_extend(acc, acc_bits)
}

/// An accumulator bit pattern of `acc_bits` viewed as an unsigned number.
pub fn acc_to_unsigned(acc: u64, acc_bits: u32) -> u64 {
    acc & mask(acc_bits)
}

impl Arith for FormatArith {
    type In = i64;
    type Acc = u64;
    fn zero_in(&self) -> i64 {
        0
    }
    fn zero(&self) -> u64 {
        0
    }
    fn mul(&self, a: i64, b: i64) -> u64 {
        debug_assert!(
            self.format.contains(a) && self.format.contains(b),
            "{a} * {b}: not {}",
            self.format
        );
        match self.format {
            // |a|, |b| <= 2^16, so the product is exact in i64; its bit pattern modulo
            // 2^acc_bits is the two's-complement accumulator.
            NumberFormat::Int { .. } => (a.wrapping_mul(b) as u64) & self.acc_mask(),
            // Inputs are bit patterns of the format; the product is fp32 bits.
            NumberFormat::Float(f) => u64::from(fp::mul(f, a as u16, b as u16)),
        }
    }
    fn add(&self, a: u64, b: u64) -> u64 {
        match self.format {
            NumberFormat::Int { .. } => a.wrapping_add(b) & self.acc_mask(),
            NumberFormat::Float(_) => u64::from(fp::add(a as u32, b as u32)),
        }
    }
}
