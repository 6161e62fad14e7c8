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

/// Loads that may be pending at once (dispatched, not yet claimed by a swap): the one in the
/// core's shadow weights and one more. A LOAD_STATIONARY beyond them is `SwapWithoutLoad`: in
/// order, the swaps that would free the shadow come after it, so it could never be served.
pub const MAX_PENDING_LOADS: u32 = 2;

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
    /// What it means for each opcode that uses it (the same order as `used_by`).
    pub meaning: &'static [&'static str],
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
        meaning: &["operation code", "operation code", "operation code"],
    },
    Field {
        name: "addr",
        lsb: 4,
        width: 16,
        used_by: &[LS, MM],
        meaning: &[
            "SBUF entry of stationary row 0: row k' is entry addr + k' (column m' in partition m')",
            "SBUF entry of moving column 0: column n' is entry addr + n' (row k' in partition k')",
        ],
    },
    Field {
        name: "k",
        lsb: 20,
        width: 9,
        used_by: &[LS, MM],
        meaning: &[
            "stationary rows (the contraction K), 1..=rows: entries addr..addr+k",
            "contraction rows K, 1..=rows: partitions 0..k of each moving column (rows >= k of the array see 0)",
        ],
    },
    Field {
        name: "m",
        lsb: 29,
        width: 9,
        used_by: &[LS],
        meaning: &["stationary columns M, 1..=cols: partitions 0..m (columns >= m load as 0)"],
    },
    Field {
        name: "n",
        lsb: 29,
        width: 13,
        used_by: &[MM],
        meaning: &["moving columns N, 1..=psum_depth: entries addr..addr+n, one PSUM entry each"],
    },
    Field {
        name: "bank",
        lsb: 42,
        width: 6,
        used_by: &[MM],
        meaning: &["PSUM bank, 0..psum_banks"],
    },
    Field {
        name: "offset",
        lsb: 48,
        width: 12,
        used_by: &[MM],
        meaning: &["PSUM entry of moving column 0: column n' lands in entry offset + n'"],
    },
    Field {
        name: "acc",
        lsb: 60,
        width: 1,
        used_by: &[MM],
        meaning: &["1: add to the PSUM entries, 0: overwrite them"],
    },
    Field {
        name: "swap",
        lsb: 61,
        width: 1,
        used_by: &[MM],
        meaning: &[
            "1: first make the oldest loaded, not yet used stationary the one in use (for this and later instructions); 0: keep the one in use",
        ],
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
                "a MULTIPLY_MOVING with swap = 1 and no loaded stationary waiting, one with swap = 0 \
                 and none in use, or a LOAD_STATIONARY while two loads already wait for their swaps \
                 (the engine stops: it does not wait, since the swaps come after it in order)"
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
        let same = f.meaning.iter().all(|m| *m == f.meaning[0]);
        let meaning = if same {
            f.meaning[0].to_string()
        } else {
            let per: Vec<String> = f
                .used_by
                .iter()
                .zip(f.meaning)
                .map(|(o, m)| format!("{}: {m}", o.mnemonic()))
                .collect();
            per.join("; ")
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name,
            bits,
            users.join(", "),
            meaning
        ));
    }
    s.push_str("\n## Error codes\n\n| code | name | meaning |\n|---|---|---|\n");
    for e in ErrorCode::ALL {
        s.push_str(&format!("| {} | `{:?}` | {} |\n", e as u8, e, e.meaning()));
    }
    s.push_str(&worked_example());
    s
}

/// The section of `docs/isa.md` that goes from `C = A x B` to SBUF contents and instruction
/// words (the words are encoded by [`Instr::encode`]).
fn worked_example() -> String {
    let ls = Instr::LoadStationary {
        addr: 0,
        k: 2,
        m: 3,
    };
    let mm = Instr::MultiplyMoving {
        addr: 8,
        k: 2,
        n: 4,
        bank: 0,
        offset: 0,
        acc: false,
        swap: true,
    };
    let word = |i: Instr| {
        let w = i.encode();
        format!(
            "`{w:#018x}` (INSTR_LO `{:#010x}`, then INSTR_HI `{:#010x}`)",
            w as u32,
            (w >> 32) as u32
        )
    };
    format!(
        "\n## Worked example: C = A x B\n\n\
         On an engine of 4 x 4 (rows x cols), A is 3 x 2 (M = 3, K = 2) and B is 2 x 4 (K = 2, N = 4). \
         A is the **stationary** (its rows become the array's columns, so M <= cols), B is the \
         **moving** data (its N columns stream through, N <= psum_depth), K <= rows is the contraction.\n\n\
         1. SBUF, stationary (A stored transposed: M on partitions): partition m' holds row m' of A, \
         A[m'][k'] at entry addr + k'. With addr = 0: partition 0 entries 0, 1 = A[0][0], A[0][1]; \
         partition 1 = A[1][0], A[1][1]; partition 2 = A[2][0], A[2][1].\n\
         2. SBUF, moving (B as it is: K on partitions): partition k' holds row k' of B, B[k'][n'] at \
         entry addr + n'. With addr = 8: partition 0 entries 8..11 = B[0][0..4], partition 1 entries \
         8..11 = B[1][0..4].\n\
         3. `{ls}` = {}: loads stationary[k'][m'] = A[m'][k'] into the shadow weights.\n\
         4. `{mm}` = {}: swaps that stationary in and streams the 4 moving columns.\n\
         5. Result: psum[bank 0][offset + n'][m'] = sum over k' of A[m'][k'] * B[k'][n'] = C[m'][n']. \
         PSUM entry n' holds **column n' of C** (C[0..3][n'], one value per array column m'); \
         columns m' >= 3 are not written. Reading entries 0..3 (PSUM_SELECT, then PSUM_DATA) gives C \
         transposed.\n\n\
         A larger product tiles M by cols (one stationary per tile), K by rows (accumulating tiles \
         with acc = 1 into the same PSUM entries) and N by psum_depth; `src/engine/gemm.rs` does \
         exactly this.\n",
        word(ls),
        word(mm)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_one_meaning_per_opcode_that_uses_it() {
        for f in FIELDS {
            assert_eq!(f.meaning.len(), f.used_by.len(), "{}", f.name);
        }
    }

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
