//! Number formats of the array's inputs. Plain data: widths, value ranges and the bit patterns
//! that cross the hardware boundary. The arithmetic on them lives in `golden`.
//!
//! Values travel through the whole tool as `i64` (inputs) and `u64` (accumulators). For the
//! floating-point formats an input value IS its bit pattern (`0..2^bits`), and an accumulator is
//! the bit pattern of an fp32 (see `docs/numerics.md`).

use std::fmt;
use std::str::FromStr;

pub use crate::golden::fp::FpFormat;

/// An input number format. Integer formats accumulate in a two's-complement accumulator of
/// `acc_bits` that wraps modulo `2^acc_bits`; floating-point formats accumulate in fp32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberFormat {
    /// `bits`-bit integers, two's complement when `signed`.
    Int { bits: u32, signed: bool },
    /// bf16, OCP FP8 E4M3 or E5M2 inputs; values are bit patterns; fp32 accumulation.
    Float(FpFormat),
}

/// Bits of the accumulator of every floating-point format (fp32).
pub const FLOAT_ACC_BITS: u32 = 32;

pub const MIN_INT_BITS: u32 = 2;
pub const MAX_INT_BITS: u32 = 16;

impl NumberFormat {
    pub const INT8: NumberFormat = NumberFormat::Int {
        bits: 8,
        signed: true,
    };

    /// Bits of one input element.
    pub fn bits(self) -> u32 {
        match self {
            NumberFormat::Int { bits, .. } => bits,
            NumberFormat::Float(f) => f.bits(),
        }
    }

    /// Two's-complement integer inputs. False for the unsigned integers and for the
    /// floating-point formats (whose values are unsigned bit patterns).
    pub fn is_signed(self) -> bool {
        match self {
            NumberFormat::Int { signed, .. } => signed,
            NumberFormat::Float(_) => false,
        }
    }

    /// The floating-point format, if this is one.
    pub fn float(self) -> Option<FpFormat> {
        match self {
            NumberFormat::Int { .. } => None,
            NumberFormat::Float(f) => Some(f),
        }
    }

    pub fn is_float(self) -> bool {
        self.float().is_some()
    }

    /// Bits of one product of two inputs: exact integer products, fp32 for the floats.
    pub fn product_bits(self) -> u32 {
        match self {
            NumberFormat::Int { bits, .. } => 2 * bits,
            NumberFormat::Float(_) => FLOAT_ACC_BITS,
        }
    }

    /// Smallest representable input value (the smallest bit pattern, 0, for the floats).
    pub fn min_value(self) -> i64 {
        match self {
            NumberFormat::Int { bits, signed: true } => -(1i64 << (bits - 1)),
            NumberFormat::Int { signed: false, .. } | NumberFormat::Float(_) => 0,
        }
    }

    /// Largest representable input value (the largest bit pattern for the floats).
    pub fn max_value(self) -> i64 {
        match self {
            NumberFormat::Int { bits, signed: true } => (1i64 << (bits - 1)) - 1,
            NumberFormat::Int {
                bits,
                signed: false,
            } => (1i64 << bits) - 1,
            NumberFormat::Float(f) => (1i64 << f.bits()) - 1,
        }
    }

    pub fn contains(self, v: i64) -> bool {
        (self.min_value()..=self.max_value()).contains(&v)
    }

    /// The bit pattern of an input value, as it appears on a hardware port (low `bits` bits).
    pub fn to_bits(self, v: i64) -> u64 {
        debug_assert!(self.contains(v), "{v} is not a {self} value");
        (v as u64) & mask(self.bits())
    }

    /// The input value of a bit pattern (inverse of [`Self::to_bits`]).
    pub fn from_bits(self, b: u64) -> i64 {
        match self {
            NumberFormat::Int { bits, signed } => {
                if signed {
                    sign_extend(b, bits)
                } else {
                    (b & mask(bits)) as i64
                }
            }
            NumberFormat::Float(f) => (b & mask(f.bits())) as i64,
        }
    }
}

/// `bits` ones in the low bits (bits <= 64).
pub fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Interpret the low `bits` bits of `b` as a two's-complement number.
pub fn sign_extend(b: u64, bits: u32) -> i64 {
    if bits >= 64 {
        b as i64
    } else {
        let shift = 64 - bits;
        ((b << shift) as i64) >> shift
    }
}

impl fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberFormat::Int { bits, signed: true } => write!(f, "int{bits}"),
            NumberFormat::Int {
                bits,
                signed: false,
            } => write!(f, "uint{bits}"),
            NumberFormat::Float(x) => f.write_str(x.name()),
        }
    }
}

impl FromStr for NumberFormat {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if let Ok(f) = s.parse::<FpFormat>() {
            // Only the canonical lower-case names.
            return if f.name() == s {
                Ok(NumberFormat::Float(f))
            } else {
                Err(())
            };
        }
        let (signed, digits) = if let Some(d) = s.strip_prefix("uint") {
            (false, d)
        } else if let Some(d) = s.strip_prefix("int") {
            (true, d)
        } else {
            return Err(());
        };
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(());
        }
        let bits: u32 = digits.parse().map_err(|_| ())?;
        if !(MIN_INT_BITS..=MAX_INT_BITS).contains(&bits) {
            return Err(());
        }
        Ok(NumberFormat::Int { bits, signed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for bits in MIN_INT_BITS..=MAX_INT_BITS {
            for signed in [true, false] {
                let f = NumberFormat::Int { bits, signed };
                assert_eq!(f.to_string().parse::<NumberFormat>(), Ok(f));
            }
        }
        for f in crate::golden::fp::ALL_FORMATS {
            let nf = NumberFormat::Float(f);
            assert_eq!(nf.to_string().parse::<NumberFormat>(), Ok(nf));
        }
        for bad in [
            "int1", "int17", "int08", "float8", "int", "uint", "int-8", "BF16", "fp8",
        ] {
            assert!(bad.parse::<NumberFormat>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_value_round_trips_through_bits() {
        for bits in MIN_INT_BITS..=10 {
            for signed in [true, false] {
                let f = NumberFormat::Int { bits, signed };
                for v in f.min_value()..=f.max_value() {
                    let b = f.to_bits(v);
                    assert!(b <= mask(bits));
                    assert_eq!(f.from_bits(b), v);
                }
            }
        }
        assert_eq!(NumberFormat::INT8.to_bits(-128), 0x80);
        assert_eq!(NumberFormat::INT8.min_value(), -128);
    }
}
