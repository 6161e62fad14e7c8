//! Number formats of the array's inputs. Plain data: widths, value ranges and the bit patterns
//! that cross the hardware boundary. The arithmetic on them lives in `golden`.
//!
//! Values travel through the whole tool as `i64` (inputs) and `u64` (accumulators). For the
//! floating-point formats an input value IS its bit pattern (`0..2^bits`), and an accumulator is
//! the bit pattern of an fp32 (see `docs/numerics.md`).

use std::fmt;
use std::str::FromStr;

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

/// An input number format of the floating-point engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FpFormat {
    /// bfloat16: sign, 8 exponent bits (bias 127), 7 fraction bits. IEEE-like: subnormals,
    /// infinities, NaNs. The upper half of an fp32.
    Bf16,
    /// OCP FP8 E4M3 ("E4M3FN"): sign, 4 exponent bits (bias 7), 3 fraction bits. Subnormals; no
    /// infinities; NaN only `S.1111.111`; exponent field 15 is otherwise normal; max 448.
    E4M3,
    /// OCP FP8 E5M2: sign, 5 exponent bits (bias 15), 2 fraction bits. IEEE-like: subnormals,
    /// infinities (`S.11111.00`), NaNs (`S.11111.{01,10,11}`); max 57344.
    E5M2,
}

/// All formats, in a fixed order.
pub const ALL_FORMATS: [FpFormat; 3] = [FpFormat::Bf16, FpFormat::E4M3, FpFormat::E5M2];

/// Error of [`FpFormat::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFpFormatError(pub String);

impl fmt::Display for ParseFpFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown floating-point format `{}` (expected bf16, fp8e4m3 or fp8e5m2)",
            self.0
        )
    }
}

impl std::error::Error for ParseFpFormatError {}

impl FromStr for FpFormat {
    type Err = ParseFpFormatError;

    /// `bf16`, `fp8e4m3`, `fp8e5m2` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bf16" => Ok(FpFormat::Bf16),
            "fp8e4m3" => Ok(FpFormat::E4M3),
            "fp8e5m2" => Ok(FpFormat::E5M2),
            _ => Err(ParseFpFormatError(s.to_string())),
        }
    }
}

impl fmt::Display for FpFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FpFormat {
    /// The name [`FromStr`] accepts: `bf16`, `fp8e4m3`, `fp8e5m2`.
    pub fn name(self) -> &'static str {
        match self {
            FpFormat::Bf16 => "bf16",
            FpFormat::E4M3 => "fp8e4m3",
            FpFormat::E5M2 => "fp8e5m2",
        }
    }

    /// Bits of one element: 16 or 8.
    pub fn bits(self) -> u32 {
        match self {
            FpFormat::Bf16 => 16,
            FpFormat::E4M3 | FpFormat::E5M2 => 8,
        }
    }

    /// Exponent field width.
    pub fn exp_bits(self) -> u32 {
        match self {
            FpFormat::Bf16 => 8,
            FpFormat::E4M3 => 4,
            FpFormat::E5M2 => 5,
        }
    }

    /// Fraction (trailing significand) field width.
    pub fn man_bits(self) -> u32 {
        match self {
            FpFormat::Bf16 => 7,
            FpFormat::E4M3 => 3,
            FpFormat::E5M2 => 2,
        }
    }

    /// Exponent bias.
    pub fn bias(self) -> i32 {
        match self {
            FpFormat::Bf16 => 127,
            FpFormat::E4M3 => 7,
            FpFormat::E5M2 => 15,
        }
    }

    /// Whether the format encodes infinities (E4M3 does not).
    pub fn has_infinity(self) -> bool {
        !matches!(self, FpFormat::E4M3)
    }

    /// Mask of a valid bit pattern (`0xFFFF` or `0xFF`).
    pub fn mask(self) -> u16 {
        ((1u32 << self.bits()) - 1) as u16
    }

    /// The sign bit.
    pub fn sign_bit(self) -> u16 {
        1 << (self.bits() - 1)
    }

    /// Bits of the largest finite positive value (bf16 `0x7F7F`, E4M3 `0x7E` = 448, E5M2 `0x7B`
    /// = 57344).
    pub fn max_finite_bits(self) -> u16 {
        match self {
            FpFormat::Bf16 => 0x7F7F,
            FpFormat::E4M3 => 0x7E,
            FpFormat::E5M2 => 0x7B,
        }
    }

    /// Bits of `+inf`, if the format has infinities.
    pub fn pos_inf_bits(self) -> Option<u16> {
        match self {
            FpFormat::Bf16 => Some(0x7F80),
            FpFormat::E4M3 => None,
            FpFormat::E5M2 => Some(0x7C),
        }
    }

    /// The NaN that conversions produce: bf16 `0x7FC0`, E4M3 `0x7F`, E5M2 `0x7E`.
    pub fn canonical_nan_bits(self) -> u16 {
        match self {
            FpFormat::Bf16 => 0x7FC0,
            FpFormat::E4M3 => 0x7F,
            FpFormat::E5M2 => 0x7E,
        }
    }

    /// Exponent of the subnormal quantum (the smallest positive value is `2^qmin`): bf16 -133,
    /// E4M3 -9, E5M2 -16.
    pub fn qmin(self) -> i32 {
        1 - self.bias() - self.man_bits() as i32
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
        for f in ALL_FORMATS {
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
