//! The engine's instruction set: the one definition of the encoding. The assembler
//! ([`Instr::encode`]), the disassembler ([`Instr::decode`]), the RTL decoder (which reads the
//! field table [`FIELDS`]) and `docs/isa.md` ([`markdown`]) all come from here.
//!
//! Every instruction is one 64-bit word. Field widths do not depend on the configuration (they
//! hold the largest values any configuration allows); the engine checks each value against its
//! own sizes and reports an [`ErrorCode`] instead of executing an instruction that does not fit.
//!
//! Semantics (the NKI view: data sits in SBUF partitions, results accumulate in PSUM):
//! - `LOAD_STATIONARY addr, k, m`: stationary[k'][m'] = SBUF[partition m'][addr + k'] for
//!   k' < k, m' < m (the stationary is stored transposed: its M columns on partitions, one
//!   stationary row per entry, which is how the rows of A lie in `C = A x B`); streamed into the
//!   shadow weights in the background, one stationary row per cycle. A second load waits until
//!   the stationary before it has been swapped in; stationaries are swapped in in load order.
//! - `MULTIPLY_MOVING addr, k, n, bank, offset, acc, swap`: moving[k'][n'] =
//!   SBUF[partition k'][addr + n'] for k' < k, n' < n, streamed one column per cycle;
//!   `psum[bank][offset + n'][m'] (+)= sum_k' stationary[k'][m'] * moving[k'][n']` for the
//!   columns m' < m of the stationary in use. `swap` first makes the oldest loaded (and not yet
//!   used) stationary the one in use, for this instruction and the ones after it.
//! - `FENCE`: waits until every earlier instruction has written its results.

use std::fmt;

/// Operation codes (field `op`). Code 0 is illegal on purpose: a zero word is never executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    LoadStationary = 1,
    MultiplyMoving = 2,
    Fence = 3,
}

impl Opcode {
    pub const ALL: [Opcode; 3] = [
        Opcode::LoadStationary,
        Opcode::MultiplyMoving,
        Opcode::Fence,
    ];

    pub fn mnemonic(self) -> &'static str {
        match self {
            Opcode::LoadStationary => "LOAD_STATIONARY",
            Opcode::MultiplyMoving => "MULTIPLY_MOVING",
            Opcode::Fence => "FENCE",
        }
    }

    pub fn from_code(code: u64) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| *o as u64 == code)
    }
}

/// One bit field of the instruction word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub lsb: u32,
    pub width: u32,
    /// Which opcodes use it.
    pub used_by: &'static [Opcode],
    pub meaning: &'static str,
}

impl Field {
    pub fn mask(&self) -> u64 {
        (1u64 << self.width) - 1
    }
    pub fn get(&self, word: u64) -> u64 {
        (word >> self.lsb) & self.mask()
    }
    fn put(&self, word: &mut u64, value: u64) {
        debug_assert!(
            value <= self.mask(),
            "{} = {value} does not fit {} bits",
            self.name,
            self.width
        );
        *word |= (value & self.mask()) << self.lsb;
    }
}

use Opcode::{LoadStationary as LS, MultiplyMoving as MM};

/// The fields, least significant first. Unused bits must be zero.
pub const FIELDS: [Field; 9] = [
    Field {
        name: "op",
        lsb: 0,
        width: 4,
        used_by: &[LS, MM, Opcode::Fence],
        meaning: "operation code",
    },
    Field {
        name: "addr",
        lsb: 4,
        width: 16,
        used_by: &[LS, MM],
        meaning: "SBUF entry of column 0 (all partitions)",
    },
    Field {
        name: "k",
        lsb: 20,
        width: 9,
        used_by: &[LS, MM],
        meaning: "partitions used, 1..=rows",
    },
    Field {
        name: "m",
        lsb: 29,
        width: 9,
        used_by: &[LS],
        meaning: "stationary columns, 1..=cols",
    },
    Field {
        name: "n",
        lsb: 29,
        width: 13,
        used_by: &[MM],
        meaning: "moving columns, 1..=psum_depth",
    },
    Field {
        name: "bank",
        lsb: 42,
        width: 6,
        used_by: &[MM],
        meaning: "PSUM bank",
    },
    Field {
        name: "offset",
        lsb: 48,
        width: 12,
        used_by: &[MM],
        meaning: "PSUM address of column 0",
    },
    Field {
        name: "acc",
        lsb: 60,
        width: 1,
        used_by: &[MM],
        meaning: "1: accumulate, 0: overwrite",
    },
    Field {
        name: "swap",
        lsb: 61,
        width: 1,
        used_by: &[MM],
        meaning: "1: use the most recently loaded stationary",
    },
];

/// A field by name.
pub fn field(name: &str) -> &'static Field {
    FIELDS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// A decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instr {
    LoadStationary {
        addr: u32,
        k: u32,
        m: u32,
    },
    MultiplyMoving {
        addr: u32,
        k: u32,
        n: u32,
        bank: u32,
        offset: u32,
        acc: bool,
        swap: bool,
    },
    Fence,
}

/// Why a word does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("illegal opcode {0}")]
    IllegalOpcode(u64),
    #[error("bits {0:#018x} are set but unused by {1}")]
    UnusedBits(u64, &'static str),
}

impl Instr {
    pub fn opcode(&self) -> Opcode {
        match self {
            Instr::LoadStationary { .. } => LS,
            Instr::MultiplyMoving { .. } => MM,
            Instr::Fence => Opcode::Fence,
        }
    }

    /// The 64-bit word. Panics (in debug builds) if a value does not fit its field: the
    /// assembler's callers validate against the configuration first.
    pub fn encode(&self) -> u64 {
        let mut w = 0u64;
        let put = |w: &mut u64, name: &str, v: u64| field(name).put(w, v);
        put(&mut w, "op", self.opcode() as u64);
        match *self {
            Instr::LoadStationary { addr, k, m } => {
                put(&mut w, "addr", addr.into());
                put(&mut w, "k", k.into());
                put(&mut w, "m", m.into());
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                acc,
                swap,
            } => {
                put(&mut w, "addr", addr.into());
                put(&mut w, "k", k.into());
                put(&mut w, "n", n.into());
                put(&mut w, "bank", bank.into());
                put(&mut w, "offset", offset.into());
                put(&mut w, "acc", acc.into());
                put(&mut w, "swap", swap.into());
            }
            Instr::Fence => {}
        }
        w
    }

    pub fn decode(word: u64) -> Result<Instr, DecodeError> {
        let get = |name: &str| field(name).get(word);
        let op = Opcode::from_code(get("op")).ok_or(DecodeError::IllegalOpcode(get("op")))?;
        let instr = match op {
            LS => Instr::LoadStationary {
                addr: get("addr") as u32,
                k: get("k") as u32,
                m: get("m") as u32,
            },
            MM => Instr::MultiplyMoving {
                addr: get("addr") as u32,
                k: get("k") as u32,
                n: get("n") as u32,
                bank: get("bank") as u32,
                offset: get("offset") as u32,
                acc: get("acc") == 1,
                swap: get("swap") == 1,
            },
            Opcode::Fence => Instr::Fence,
        };
        let used: u64 = FIELDS
            .iter()
            .filter(|f| f.used_by.contains(&op))
            .map(|f| f.mask() << f.lsb)
            .fold(0, |a, b| a | b);
        if word & !used != 0 {
            return Err(DecodeError::UnusedBits(word & !used, op.mnemonic()));
        }
        Ok(instr)
    }
}

impl fmt::Display for Instr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Instr::LoadStationary { addr, k, m } => write!(f, "LOAD_STATIONARY addr={addr} k={k} m={m}"),
            Instr::MultiplyMoving { addr, k, n, bank, offset, acc, swap } => write!(
                f,
                "MULTIPLY_MOVING addr={addr} k={k} n={n} bank={bank} offset={offset} acc={} swap={}",
                u8::from(*acc),
                u8::from(*swap)
            ),
            Instr::Fence => write!(f, "FENCE"),
        }
    }
}

/// Error codes of the engine's STATUS register (0 = no error). The engine stops at the first
/// error and executes nothing more until the error is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    None = 0,
    IllegalOpcode = 1,
    UnusedBitsSet = 2,
    SbufRange = 3,
    KRange = 4,
    MRange = 5,
    NRange = 6,
    BankRange = 7,
    PsumRange = 8,
    SwapWithoutLoad = 9,
    QueueOverflow = 10,
    BusAddress = 11,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::None,
        ErrorCode::IllegalOpcode,
        ErrorCode::UnusedBitsSet,
        ErrorCode::SbufRange,
        ErrorCode::KRange,
        ErrorCode::MRange,
        ErrorCode::NRange,
        ErrorCode::BankRange,
        ErrorCode::PsumRange,
        ErrorCode::SwapWithoutLoad,
        ErrorCode::QueueOverflow,
        ErrorCode::BusAddress,
    ];

    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| *e as u32 == code)
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::None => "no error",
            ErrorCode::IllegalOpcode => "the opcode is not one of the table",
            ErrorCode::UnusedBitsSet => "a bit outside the opcode's fields is set",
            ErrorCode::SbufRange => {
                "addr + k (LOAD_STATIONARY) or addr + n (MULTIPLY_MOVING) exceeds sbuf_depth"
            }
            ErrorCode::KRange => "k is 0 or larger than rows",
            ErrorCode::MRange => "m is 0 or larger than cols",
            ErrorCode::NRange => "n is 0 or larger than psum_depth",
            ErrorCode::BankRange => "bank >= psum_banks",
            ErrorCode::PsumRange => "offset + n exceeds psum_depth",
            ErrorCode::SwapWithoutLoad => {
                "swap with no loaded stationary, or a MULTIPLY_MOVING with none in use"
            }
            ErrorCode::QueueOverflow => "an instruction was pushed while the queue was full",
            ErrorCode::BusAddress => "a bus access to an unmapped or read-only address",
        }
    }
}

/// `docs/isa.md`, generated from this module (a test keeps the file current).
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Instruction set\n\n");
    s.push_str("Generated from `src/isa.rs` (the one definition of the encoding; `cargo test` fails if this file is stale).\n\n");
    s.push_str("Every instruction is one 64-bit word, pushed through the host interface as two 32-bit writes (low word, then high word; the high-word write pushes). Unused bits must be zero.\n\n");
    s.push_str("## Opcodes\n\n| code | mnemonic |\n|---|---|\n");
    for op in Opcode::ALL {
        s.push_str(&format!("| {} | `{}` |\n", op as u8, op.mnemonic()));
    }
    s.push_str("\n## Fields\n\n| field | bits | used by | meaning |\n|---|---|---|---|\n");
    for f in FIELDS {
        let bits = if f.width == 1 {
            format!("{}", f.lsb)
        } else {
            format!("{}..{}", f.lsb + f.width - 1, f.lsb)
        };
        let users: Vec<&str> = f.used_by.iter().map(|o| o.mnemonic()).collect();
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name,
            bits,
            users.join(", "),
            f.meaning
        ));
    }
    s.push_str("\n## Error codes\n\n| code | name | meaning |\n|---|---|---|\n");
    for e in ErrorCode::ALL {
        s.push_str(&format!("| {} | `{:?}` | {} |\n", e as u8, e, e.meaning()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_one_opcode_do_not_overlap_and_fit_64_bits() {
        for op in Opcode::ALL {
            let mut used = 0u64;
            for f in FIELDS.iter().filter(|f| f.used_by.contains(&op)) {
                assert!(f.lsb + f.width <= 64, "{}", f.name);
                let m = f.mask() << f.lsb;
                assert_eq!(used & m, 0, "{} overlaps in {}", f.name, op.mnemonic());
                used |= m;
            }
        }
    }

    #[test]
    fn round_trip_and_rejects() {
        let cases = [
            Instr::LoadStationary {
                addr: 65535,
                k: 256,
                m: 256,
            },
            Instr::LoadStationary {
                addr: 0,
                k: 1,
                m: 1,
            },
            Instr::MultiplyMoving {
                addr: 12,
                k: 128,
                n: 4096,
                bank: 63,
                offset: 4095,
                acc: true,
                swap: false,
            },
            Instr::MultiplyMoving {
                addr: 0,
                k: 1,
                n: 1,
                bank: 0,
                offset: 0,
                acc: false,
                swap: true,
            },
            Instr::Fence,
        ];
        for i in cases {
            assert_eq!(Instr::decode(i.encode()), Ok(i), "{i}");
        }
        assert_eq!(Instr::decode(0), Err(DecodeError::IllegalOpcode(0)));
        assert_eq!(Instr::decode(15), Err(DecodeError::IllegalOpcode(15)));
        assert!(matches!(
            Instr::decode(Instr::Fence.encode() | 1 << 40),
            Err(DecodeError::UnusedBits(..))
        ));
    }
}
