//! The engine's instruction set: the one definition of the encoding. The assembler
//! ([`Instr::encode`]), the disassembler ([`Instr::decode_words`], [`decode_stream`]), the RTL
//! decoder (which reads the field tables [`FIELDS`] and [`MEMORY_FIELDS`]) and `docs/isa.md`
//! ([`markdown`]) all come from here.
//!
//! An instruction is one to three 64-bit words: the opcode (bits 3..0 of its first word) says
//! how many ([`Opcode::words`]); the further words of a multi-word instruction follow it in the
//! stream. Field widths do not depend on the configuration (they hold the largest values any
//! configuration allows); the engine checks each value against its own sizes and reports an
//! [`ErrorCode`] instead of executing an instruction that does not fit.
//!
//! Semantics of the tensor-engine instructions (the NKI view: data sits in SBUF partitions,
//! results accumulate in PSUM):
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
//!
//! The memory-path instructions (`DMA_LOAD`, `DMA_STORE`, `ACTIVATE`, `WAIT`, `SIGNAL`) are
//! specified in `docs/memory-path.md`; their executable form is `crate::engine::golden`.

use std::fmt;
use std::ops::Deref;

/// Loads that may be pending at once (dispatched, not yet claimed by a swap): the one in the
/// core's shadow weights and one more. A LOAD_STATIONARY beyond them is `SwapWithoutLoad`: in
/// order, the swaps that would free the shadow come after it, so it could never be served.
pub const MAX_PENDING_LOADS: u32 = 2;

/// Semaphores of the memory path (WAIT / SIGNAL field `sem`).
pub const SEMAPHORES: u32 = 8;

/// Entries of each engine's instruction FIFO (the dispatcher stops while the FIFO of the head
/// instruction's engine is full). 8, not 4: with 4 the DMA's FIFO, full of a step's loads and
/// stores, held the PE's next instructions behind it (docs/infer.md, the digits CNN's conv2).
pub const ENGINE_FIFO_DEPTH: usize = 8;

/// Operation codes (field `op`). Code 0 is illegal on purpose: a zero word is never executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    LoadStationary = 1,
    MultiplyMoving = 2,
    Fence = 3,
    DmaLoad = 4,
    DmaStore = 5,
    Activate = 6,
    Wait = 7,
    Signal = 8,
}

impl Opcode {
    pub const ALL: [Opcode; 8] = [
        Opcode::LoadStationary,
        Opcode::MultiplyMoving,
        Opcode::Fence,
        Opcode::DmaLoad,
        Opcode::DmaStore,
        Opcode::Activate,
        Opcode::Wait,
        Opcode::Signal,
    ];

    pub fn mnemonic(self) -> &'static str {
        match self {
            Opcode::LoadStationary => "LOAD_STATIONARY",
            Opcode::MultiplyMoving => "MULTIPLY_MOVING",
            Opcode::Fence => "FENCE",
            Opcode::DmaLoad => "DMA_LOAD",
            Opcode::DmaStore => "DMA_STORE",
            Opcode::Activate => "ACTIVATE",
            Opcode::Wait => "WAIT",
            Opcode::Signal => "SIGNAL",
        }
    }

    pub fn from_code(code: u64) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| *o as u64 == code)
    }

    /// 64-bit words of an instruction with this opcode.
    pub fn words(self) -> usize {
        match self {
            Opcode::DmaLoad | Opcode::DmaStore => 3,
            Opcode::Activate => 2,
            _ => 1,
        }
    }

    /// Where the dispatcher sends it: the PE, DMA or ACT engine's FIFO; `None` for FENCE (the
    /// dispatcher itself) and for WAIT / SIGNAL (their `engine` field says).
    pub fn engine(self) -> Option<EngineId> {
        match self {
            Opcode::LoadStationary | Opcode::MultiplyMoving => Some(EngineId::Pe),
            Opcode::DmaLoad | Opcode::DmaStore => Some(EngineId::Dma),
            Opcode::Activate => Some(EngineId::Act),
            Opcode::Fence | Opcode::Wait | Opcode::Signal => None,
        }
    }
}

/// The three engines behind the dispatcher (the WAIT / SIGNAL field `engine`; code 3 is no
/// engine: such a WAIT or SIGNAL stops the engine with `IllegalOpcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EngineId {
    /// The tensor engine: LOAD_STATIONARY, MULTIPLY_MOVING.
    Pe = 0,
    /// The DMA engine: DMA_LOAD, DMA_STORE.
    Dma = 1,
    /// The write-back unit: ACTIVATE.
    Act = 2,
}

impl EngineId {
    pub const ALL: [EngineId; 3] = [EngineId::Pe, EngineId::Dma, EngineId::Act];

    pub fn from_code(code: u64) -> Option<EngineId> {
        EngineId::ALL.into_iter().find(|e| *e as u64 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineId::Pe => "PE",
            EngineId::Dma => "DMA",
            EngineId::Act => "ACT",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EngineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// DMA field `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DmaTarget {
    /// SBUF elements (load and store).
    Sbuf = 0,
    /// 32-bit PSUM accumulators (store only).
    Psum = 1,
    /// The ACT table's 32-bit words (load only).
    Table = 2,
}

impl DmaTarget {
    pub fn from_code(code: u32) -> Option<DmaTarget> {
        [DmaTarget::Sbuf, DmaTarget::Psum, DmaTarget::Table]
            .into_iter()
            .find(|t| *t as u32 == code)
    }
}

/// ACTIVATE field `func`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ActFunc {
    Identity = 0,
    Relu = 1,
    /// Integer outputs only: clamp to `[lo, hi]` (and the output type's range).
    Clamp = 2,
}

impl ActFunc {
    pub fn from_code(code: u32) -> Option<ActFunc> {
        [ActFunc::Identity, ActFunc::Relu, ActFunc::Clamp]
            .into_iter()
            .find(|t| *t as u32 == code)
    }
}

/// ACTIVATE field `dtype`: what the write-back unit writes into the SBUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ActDtype {
    Int8 = 0,
    Uint8 = 1,
    Bf16 = 2,
    /// OCP FP8 E4M3, saturating (out-of-range values and infinities give +-448).
    Fp8E4M3 = 3,
    /// The 32 accumulator bits, unchanged, over `4 / EB` consecutive SBUF entries.
    Raw32 = 4,
    /// OCP FP8 E5M2, saturating (out-of-range values and infinities give +-57344).
    Fp8E5M2 = 5,
}

impl ActDtype {
    pub const ALL: [ActDtype; 6] = [
        ActDtype::Int8,
        ActDtype::Uint8,
        ActDtype::Bf16,
        ActDtype::Fp8E4M3,
        ActDtype::Raw32,
        ActDtype::Fp8E5M2,
    ];

    pub fn from_code(code: u32) -> Option<ActDtype> {
        ActDtype::ALL.into_iter().find(|t| *t as u32 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            ActDtype::Int8 => "int8",
            ActDtype::Uint8 => "uint8",
            ActDtype::Bf16 => "bf16",
            ActDtype::Fp8E4M3 => "fp8e4m3",
            ActDtype::Raw32 => "raw32",
            ActDtype::Fp8E5M2 => "fp8e5m2",
        }
    }
}

/// One bit field of an instruction word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Which word of the instruction holds it (0 = the first).
    pub word: u32,
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
        if self.width >= 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }
    pub fn get(&self, word: u64) -> u64 {
        (word >> self.lsb) & self.mask()
    }
    /// The field of an instruction given as its words.
    pub fn get_in(&self, words: &[u64]) -> u64 {
        self.get(words[self.word as usize])
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

use Opcode::{
    Activate as ACT, DmaLoad as DL, DmaStore as DS, LoadStationary as LS, MultiplyMoving as MM,
    Signal as SIG, Wait as WT,
};

/// The fields of the one-word tensor-engine instructions (LOAD_STATIONARY, MULTIPLY_MOVING,
/// FENCE), least significant first. Unused bits must be zero.
pub const FIELDS: [Field; 9] = [
    Field {
        word: 0,
        name: "op",
        lsb: 0,
        width: 4,
        used_by: &[LS, MM, Opcode::Fence],
        meaning: &["operation code", "operation code", "operation code"],
    },
    Field {
        word: 0,
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
        word: 0,
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
        word: 0,
        name: "m",
        lsb: 29,
        width: 9,
        used_by: &[LS],
        meaning: &["stationary columns M, 1..=cols: partitions 0..m (columns >= m load as 0)"],
    },
    Field {
        word: 0,
        name: "n",
        lsb: 29,
        width: 13,
        used_by: &[MM],
        meaning: &["moving columns N, 1..=psum_depth: entries addr..addr+n, one PSUM entry each"],
    },
    Field {
        word: 0,
        name: "bank",
        lsb: 42,
        width: 6,
        used_by: &[MM],
        meaning: &["PSUM bank, 0..psum_banks"],
    },
    Field {
        word: 0,
        name: "offset",
        lsb: 48,
        width: 12,
        used_by: &[MM],
        meaning: &["PSUM entry of moving column 0: column n' lands in entry offset + n'"],
    },
    Field {
        word: 0,
        name: "acc",
        lsb: 60,
        width: 1,
        used_by: &[MM],
        meaning: &["1: add to the PSUM entries, 0: overwrite them"],
    },
    Field {
        word: 0,
        name: "swap",
        lsb: 61,
        width: 1,
        used_by: &[MM],
        meaning: &[
            "1: first make the oldest loaded, not yet used stationary the one in use (for this and later instructions); 0: keep the one in use",
        ],
    },
];

/// The fields of the memory-path instructions (opcodes 4..=8), by word, least significant
/// first. A name may appear more than once with different positions for different opcodes
/// (`bank`, `offset`, `entry`): look fields up with [`field_of`]. Unused bits must be zero.
pub const MEMORY_FIELDS: [Field; 27] = [
    Field {
        word: 0,
        name: "op",
        lsb: 0,
        width: 4,
        used_by: &[DL, DS, ACT, WT, SIG],
        meaning: &["operation code"; 5],
    },
    // ---- DMA_LOAD / DMA_STORE, word 0 ----
    Field {
        word: 0,
        name: "target",
        lsb: 4,
        width: 2,
        used_by: &[DL, DS],
        meaning: &[
            "0 SBUF, 2 TABLE (the ACT table's 32-bit words); 1 and 3: DmaRange",
            "0 SBUF, 1 PSUM (32-bit accumulators); 2 and 3: DmaRange",
        ],
    },
    Field {
        word: 0,
        name: "layout",
        lsb: 6,
        width: 1,
        used_by: &[DL, DS],
        meaning: &[
            "SBUF only (else 0): 0 entry rows (memory row r = SBUF entry entry + r across partitions part..), 1 partition rows (memory row r = partition part + r, entries entry..)";
            2
        ],
    },
    Field {
        word: 0,
        name: "esize",
        lsb: 7,
        width: 2,
        used_by: &[DL, DS],
        meaning: &[
            "log2 of the bytes of one memory element: SBUF log2(EB) (0 for 8-bit formats, 1 for bf16), PSUM and TABLE 2";
            2
        ],
    },
    Field {
        word: 0,
        name: "rows",
        lsb: 9,
        width: 16,
        used_by: &[DL, DS],
        meaning: &["memory rows, >= 1: row r starts at base + r * stride"; 2],
    },
    Field {
        word: 0,
        name: "row_len",
        lsb: 25,
        width: 16,
        used_by: &[DL, DS],
        meaning: &["elements per memory row, >= 1 (consecutive, 2^esize bytes each)"; 2],
    },
    Field {
        word: 0,
        name: "part",
        lsb: 41,
        width: 9,
        used_by: &[DL, DS],
        meaning: &[
            "SBUF: first partition; TABLE: 0",
            "SBUF: first partition; PSUM: first PSUM column",
        ],
    },
    Field {
        word: 0,
        name: "bank",
        lsb: 50,
        width: 6,
        used_by: &[DL, DS],
        meaning: &["0", "PSUM: the bank, 0..psum_banks; SBUF: 0"],
    },
    // ---- DMA_LOAD / DMA_STORE, word 1 ----
    Field {
        word: 1,
        name: "base",
        lsb: 0,
        width: 32,
        used_by: &[DL, DS],
        meaning: &["byte address of element (0, 0), a multiple of 2^esize"; 2],
    },
    Field {
        word: 1,
        name: "stride",
        lsb: 32,
        width: 32,
        used_by: &[DL, DS],
        meaning: &["bytes from one memory row to the next, a multiple of 2^esize"; 2],
    },
    // ---- DMA_LOAD / DMA_STORE, word 2 ----
    Field {
        word: 2,
        name: "entry",
        lsb: 0,
        width: 16,
        used_by: &[DL, DS],
        meaning: &[
            "SBUF: first entry; TABLE: first table word",
            "SBUF: first entry; PSUM: 0",
        ],
    },
    Field {
        word: 2,
        name: "offset",
        lsb: 16,
        width: 12,
        used_by: &[DL, DS],
        meaning: &["0", "PSUM: first PSUM entry; SBUF: 0"],
    },
    // ---- ACTIVATE, word 0 ----
    Field {
        word: 0,
        name: "bank",
        lsb: 4,
        width: 6,
        used_by: &[ACT],
        meaning: &["PSUM bank read, 0..psum_banks"],
    },
    Field {
        word: 0,
        name: "offset",
        lsb: 10,
        width: 12,
        used_by: &[ACT],
        meaning: &["first PSUM entry read: entry offset + n' is SBUF entry entry + n'"],
    },
    Field {
        word: 0,
        name: "n",
        lsb: 22,
        width: 13,
        used_by: &[ACT],
        meaning: &["PSUM entries, 1..=psum_depth - offset"],
    },
    Field {
        word: 0,
        name: "m",
        lsb: 35,
        width: 9,
        used_by: &[ACT],
        meaning: &["PSUM columns, 1..=cols: column m' goes to SBUF partition m'"],
    },
    Field {
        word: 0,
        name: "func",
        lsb: 44,
        width: 2,
        used_by: &[ACT],
        meaning: &["0 identity, 1 relu, 2 clamp (integer dtypes only); 3: ActRange"],
    },
    Field {
        word: 0,
        name: "dtype",
        lsb: 46,
        width: 3,
        used_by: &[ACT],
        meaning: &[
            "0 int8, 1 uint8, 2 bf16, 3 fp8e4m3 (saturating), 4 raw32, 5 fp8e5m2 (saturating): the engine's format or raw32, else ActRange",
        ],
    },
    Field {
        word: 0,
        name: "per_col",
        lsb: 49,
        width: 1,
        used_by: &[ACT],
        meaning: &["1: column m' uses scale[m'] (table word m'); 0: every column uses scale[0]"],
    },
    Field {
        word: 0,
        name: "bias",
        lsb: 50,
        width: 1,
        used_by: &[ACT],
        meaning: &["1: add bias[m'] (table word cols + m') to column m'"],
    },
    // ---- ACTIVATE, word 1 ----
    Field {
        word: 1,
        name: "entry",
        lsb: 0,
        width: 16,
        used_by: &[ACT],
        meaning: &["first SBUF entry written"],
    },
    Field {
        word: 1,
        name: "zp",
        lsb: 16,
        width: 8,
        used_by: &[ACT],
        meaning: &["output zero point (int8: two's complement; uint8: unsigned; other dtypes: 0)"],
    },
    Field {
        word: 1,
        name: "lo",
        lsb: 24,
        width: 8,
        used_by: &[ACT],
        meaning: &["clamp: lowest output (the dtype's integer domain); other funcs: 0"],
    },
    Field {
        word: 1,
        name: "hi",
        lsb: 32,
        width: 8,
        used_by: &[ACT],
        meaning: &["clamp: highest output (the dtype's integer domain); other funcs: 0"],
    },
    // ---- WAIT / SIGNAL ----
    Field {
        word: 0,
        name: "engine",
        lsb: 4,
        width: 2,
        used_by: &[WT, SIG],
        meaning: &[
            "the engine that waits: 0 PE, 1 DMA, 2 ACT (3: IllegalOpcode)",
            "the engine that signals: 0 PE, 1 DMA, 2 ACT (3: IllegalOpcode)",
        ],
    },
    Field {
        word: 0,
        name: "sem",
        lsb: 6,
        width: 3,
        used_by: &[WT, SIG],
        meaning: &[
            "semaphore 0..8",
            "semaphore 0..8, incremented (mod 2^16) once every earlier instruction of the engine has completed",
        ],
    },
    Field {
        word: 0,
        name: "value",
        lsb: 9,
        width: 16,
        used_by: &[WT],
        meaning: &["the engine starts no later instruction until (sem - value) mod 2^16 < 2^15"],
    },
];

/// A field by name, among [`FIELDS`] (the one-word tensor-engine instructions). The RTL's
/// sequencer decodes those with it.
pub fn field(name: &str) -> &'static Field {
    FIELDS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// The field `name` of opcode `op`, from [`FIELDS`] or [`MEMORY_FIELDS`].
pub fn field_of(op: Opcode, name: &str) -> &'static Field {
    all_fields()
        .find(|f| f.name == name && f.used_by.contains(&op))
        .unwrap_or_else(|| panic!("no field {name} in {}", op.mnemonic()))
}

/// Every field of every opcode: [`FIELDS`], then [`MEMORY_FIELDS`].
pub fn all_fields() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().chain(MEMORY_FIELDS.iter())
}

/// The bits opcode `op` may set in word `word` of its instruction.
pub fn used_mask(op: Opcode, word: u32) -> u64 {
    all_fields()
        .filter(|f| f.word == word && f.used_by.contains(&op))
        .map(|f| f.mask() << f.lsb)
        .fold(0, |a, b| a | b)
}

/// The operands of DMA_LOAD and DMA_STORE, as encoded (values the engine may refuse included:
/// it checks them against its configuration at dispatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dma {
    /// [`DmaTarget`] code.
    pub target: u32,
    /// 0 entry rows, 1 partition rows.
    pub layout: u32,
    /// log2 of the bytes of one memory element.
    pub esize: u32,
    pub rows: u32,
    pub row_len: u32,
    pub part: u32,
    pub bank: u32,
    pub base: u32,
    pub stride: u32,
    pub entry: u32,
    pub offset: u32,
}

/// The operands of ACTIVATE, as encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Act {
    pub bank: u32,
    pub offset: u32,
    pub n: u32,
    pub m: u32,
    /// [`ActFunc`] code.
    pub func: u32,
    /// [`ActDtype`] code.
    pub dtype: u32,
    pub per_col: bool,
    pub bias: bool,
    pub entry: u32,
    /// Output zero point, the 8-bit pattern (int8: two's complement).
    pub zp: u32,
    /// Clamp bounds, 8-bit patterns in the dtype's integer domain.
    pub lo: u32,
    pub hi: u32,
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
    DmaLoad(Dma),
    DmaStore(Dma),
    Activate(Act),
    /// `engine` is the [`EngineId`] code (3 stops the engine with IllegalOpcode).
    Wait {
        engine: u32,
        sem: u32,
        value: u32,
    },
    Signal {
        engine: u32,
        sem: u32,
    },
}

/// The words of one encoded instruction (1 to 3; derefs to `[u64]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    len: usize,
    words: [u64; 3],
}

impl Deref for Words {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        &self.words[..self.len]
    }
}

impl IntoIterator for Words {
    type Item = u64;
    type IntoIter = std::iter::Take<std::array::IntoIter<u64, 3>>;
    fn into_iter(self) -> Self::IntoIter {
        self.words.into_iter().take(self.len)
    }
}

/// Why words do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("illegal opcode {0}")]
    IllegalOpcode(u64),
    /// The bits, the mnemonic and the word of the instruction (0 = the first).
    #[error("bits {0:#018x} of word {2} are set but unused by {1}")]
    UnusedBits(u64, &'static str, usize),
    /// An instruction of `need` words given `have`.
    #[error("{op} has {need} words, {have} given")]
    WordCount {
        op: &'static str,
        need: usize,
        have: usize,
    },
}

impl Instr {
    pub fn opcode(&self) -> Opcode {
        match self {
            Instr::LoadStationary { .. } => LS,
            Instr::MultiplyMoving { .. } => MM,
            Instr::Fence => Opcode::Fence,
            Instr::DmaLoad(_) => DL,
            Instr::DmaStore(_) => DS,
            Instr::Activate(_) => ACT,
            Instr::Wait { .. } => WT,
            Instr::Signal { .. } => SIG,
        }
    }

    /// 64-bit words of this instruction.
    pub fn word_count(&self) -> usize {
        self.opcode().words()
    }

    /// The engine whose FIFO it goes to (`None` for FENCE and for a WAIT / SIGNAL whose
    /// `engine` field names none).
    pub fn engine(&self) -> Option<EngineId> {
        match *self {
            Instr::Wait { engine, .. } | Instr::Signal { engine, .. } => {
                EngineId::from_code(engine.into())
            }
            _ => self.opcode().engine(),
        }
    }

    /// The operands as (field name, value), in field-table order (`op` excluded).
    pub fn operands(&self) -> Vec<(&'static str, u64)> {
        let b = u64::from;
        match *self {
            Instr::LoadStationary { addr, k, m } => {
                vec![("addr", b(addr)), ("k", b(k)), ("m", b(m))]
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                acc,
                swap,
            } => vec![
                ("addr", b(addr)),
                ("k", b(k)),
                ("n", b(n)),
                ("bank", b(bank)),
                ("offset", b(offset)),
                ("acc", acc.into()),
                ("swap", swap.into()),
            ],
            Instr::Fence => vec![],
            Instr::DmaLoad(d) | Instr::DmaStore(d) => vec![
                ("target", b(d.target)),
                ("layout", b(d.layout)),
                ("esize", b(d.esize)),
                ("rows", b(d.rows)),
                ("row_len", b(d.row_len)),
                ("part", b(d.part)),
                ("bank", b(d.bank)),
                ("base", b(d.base)),
                ("stride", b(d.stride)),
                ("entry", b(d.entry)),
                ("offset", b(d.offset)),
            ],
            Instr::Activate(a) => vec![
                ("bank", b(a.bank)),
                ("offset", b(a.offset)),
                ("n", b(a.n)),
                ("m", b(a.m)),
                ("func", b(a.func)),
                ("dtype", b(a.dtype)),
                ("per_col", a.per_col.into()),
                ("bias", a.bias.into()),
                ("entry", b(a.entry)),
                ("zp", b(a.zp)),
                ("lo", b(a.lo)),
                ("hi", b(a.hi)),
            ],
            Instr::Wait { engine, sem, value } => {
                vec![("engine", b(engine)), ("sem", b(sem)), ("value", b(value))]
            }
            Instr::Signal { engine, sem } => vec![("engine", b(engine)), ("sem", b(sem))],
        }
    }

    /// The first operand whose value does not fit its field: (name, value, width). An
    /// instruction with one has no encoding.
    pub fn misfit(&self) -> Option<(&'static str, u64, u32)> {
        let op = self.opcode();
        self.operands().into_iter().find_map(|(name, v)| {
            let f = field_of(op, name);
            (v > f.mask()).then_some((name, v, f.width))
        })
    }

    /// The words. Panics (in debug builds) if a value does not fit its field ([`Self::misfit`]):
    /// the assembler's callers validate first.
    pub fn encode(&self) -> Words {
        let op = self.opcode();
        let mut words = [0u64; 3];
        field_of(op, "op").put(&mut words[0], op as u64);
        for (name, v) in self.operands() {
            let f = field_of(op, name);
            f.put(&mut words[f.word as usize], v);
        }
        Words {
            len: op.words(),
            words,
        }
    }

    /// The words an instruction starting with `first` has, or why `first` starts none.
    pub fn words_needed(first: u64) -> Result<usize, DecodeError> {
        let code = FIELDS[0].get(first);
        Opcode::from_code(code)
            .map(Opcode::words)
            .ok_or(DecodeError::IllegalOpcode(code))
    }

    /// Decode a one-word instruction (a multi-word opcode is a [`DecodeError::WordCount`]).
    pub fn decode(word: u64) -> Result<Instr, DecodeError> {
        Instr::decode_words(&[word])
    }

    /// Decode one instruction given as exactly its words.
    pub fn decode_words(words: &[u64]) -> Result<Instr, DecodeError> {
        let first = *words.first().ok_or(DecodeError::WordCount {
            op: "an instruction",
            need: 1,
            have: 0,
        })?;
        let code = FIELDS[0].get(first);
        let op = Opcode::from_code(code).ok_or(DecodeError::IllegalOpcode(code))?;
        if words.len() != op.words() {
            return Err(DecodeError::WordCount {
                op: op.mnemonic(),
                need: op.words(),
                have: words.len(),
            });
        }
        for (i, &w) in words.iter().enumerate() {
            let unused = w & !used_mask(op, i as u32);
            if unused != 0 {
                return Err(DecodeError::UnusedBits(unused, op.mnemonic(), i));
            }
        }
        let get = |name: &str| field_of(op, name).get_in(words) as u32;
        let flag = |name: &str| get(name) == 1;
        let dma = || Dma {
            target: get("target"),
            layout: get("layout"),
            esize: get("esize"),
            rows: get("rows"),
            row_len: get("row_len"),
            part: get("part"),
            bank: get("bank"),
            base: get("base"),
            stride: get("stride"),
            entry: get("entry"),
            offset: get("offset"),
        };
        Ok(match op {
            LS => Instr::LoadStationary {
                addr: get("addr"),
                k: get("k"),
                m: get("m"),
            },
            MM => Instr::MultiplyMoving {
                addr: get("addr"),
                k: get("k"),
                n: get("n"),
                bank: get("bank"),
                offset: get("offset"),
                acc: flag("acc"),
                swap: flag("swap"),
            },
            Opcode::Fence => Instr::Fence,
            DL => Instr::DmaLoad(dma()),
            DS => Instr::DmaStore(dma()),
            ACT => Instr::Activate(Act {
                bank: get("bank"),
                offset: get("offset"),
                n: get("n"),
                m: get("m"),
                func: get("func"),
                dtype: get("dtype"),
                per_col: flag("per_col"),
                bias: flag("bias"),
                entry: get("entry"),
                zp: get("zp"),
                lo: get("lo"),
                hi: get("hi"),
            }),
            WT => Instr::Wait {
                engine: get("engine"),
                sem: get("sem"),
                value: get("value"),
            },
            SIG => Instr::Signal {
                engine: get("engine"),
                sem: get("sem"),
            },
        })
    }
}

/// Why a word stream does not decode: the error and the index of the word that starts the
/// instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("word {word}: {error}")]
pub struct StreamError {
    pub word: usize,
    pub error: DecodeError,
}

/// Decode a whole stream of words into instructions (each with the index of its first word).
/// A stream that ends inside a multi-word instruction is a [`DecodeError::WordCount`].
pub fn decode_stream(words: &[u64]) -> Result<Vec<(usize, Instr)>, StreamError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let err = |error| StreamError { word: i, error };
        let n = Instr::words_needed(words[i]).map_err(err)?;
        let end = (i + n).min(words.len());
        let instr = Instr::decode_words(&words[i..end]).map_err(err)?;
        out.push((i, instr));
        i += n;
    }
    Ok(out)
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
            _ => {
                f.write_str(self.opcode().mnemonic())?;
                for (name, v) in self.operands() {
                    write!(f, " {name}={v}")?;
                }
                Ok(())
            }
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
    DmaRange = 12,
    DmaAlign = 13,
    DmaBus = 14,
    ActRange = 15,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 16] = [
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
        ErrorCode::DmaRange,
        ErrorCode::DmaAlign,
        ErrorCode::DmaBus,
        ErrorCode::ActRange,
    ];

    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| *e as u32 == code)
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::None => "no error",
            ErrorCode::IllegalOpcode => {
                "the opcode is not one of the table, or a WAIT / SIGNAL names engine 3"
            }
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
            ErrorCode::DmaRange => {
                "a DMA_LOAD / DMA_STORE (or the instruction fetch) out of range: a target, layout \
                 or esize the transfer does not allow, rows or row_len 0, a field the target does \
                 not use not 0, SBUF partitions or entries, PSUM bank, entries or columns, or \
                 table words beyond the engine's, or memory bytes beyond 2^32"
            }
            ErrorCode::DmaAlign => {
                "base or stride of a DMA_LOAD / DMA_STORE is not a multiple of 2^esize, or \
                 PROG_BASE of a fetch not a multiple of 8"
            }
            ErrorCode::DmaBus => {
                "the memory answered SLVERR or DECERR to a DMA or fetch access (the DMA engine \
                 stops after taking the responses of the bursts it issued)"
            }
            ErrorCode::ActRange => {
                "an ACTIVATE out of range: a dtype that is not the engine's format (or raw32), a \
                 func or dtype code not in the table, clamp on a floating-point dtype, raw32 with \
                 arithmetic, a zero point or bound the dtype does not use not 0, n or m 0, m > \
                 cols, bank >= psum_banks, offset + n > psum_depth, or SBUF entries beyond \
                 sbuf_depth"
            }
        }
    }
}

/// One row of a field table in `docs/isa.md`.
fn field_row(f: &Field, with_word: bool) -> String {
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
    let word = if with_word {
        format!("{} | ", f.word)
    } else {
        String::new()
    };
    format!(
        "| {word}`{}` | {} | {} | {} |\n",
        f.name,
        bits,
        users.join(", "),
        meaning
    )
}

/// `docs/isa.md`, generated from this module (a test keeps the file current).
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Instruction set\n\n");
    s.push_str("Generated from `src/isa.rs` (the one definition of the encoding; `cargo test` fails if this file is stale).\n\n");
    s.push_str("An instruction is one to three 64-bit words (the opcode, bits 3..0 of the first word, says how many; the further words follow it in the stream). Each word is pushed through the host interface as two 32-bit writes (low word, then high word; the high-word write pushes), or fetched from memory (`docs/memory-path.md`). Unused bits must be zero.\n\n");
    s.push_str("## Opcodes\n\n| code | mnemonic | words | engine |\n|---|---|---|---|\n");
    for op in Opcode::ALL {
        let engine = match op.engine() {
            Some(e) => e.name(),
            None if op == Opcode::Fence => "dispatcher",
            None => "field `engine`",
        };
        s.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            op as u8,
            op.mnemonic(),
            op.words(),
            engine
        ));
    }
    s.push_str("\n## Fields\n\nLOAD_STATIONARY, MULTIPLY_MOVING and FENCE (one word):\n\n| field | bits | used by | meaning |\n|---|---|---|---|\n");
    for f in FIELDS {
        s.push_str(&field_row(&f, false));
    }
    s.push_str("\nThe memory-path instructions (semantics in `docs/memory-path.md`; EB = bytes of one SBUF element, 1 for 8-bit formats, 2 for bf16):\n\n| word | field | bits | used by | meaning |\n|---|---|---|---|---|\n");
    for f in MEMORY_FIELDS {
        s.push_str(&field_row(&f, true));
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
        let w = i.encode()[0];
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
        for f in all_fields() {
            assert_eq!(f.meaning.len(), f.used_by.len(), "{}", f.name);
        }
    }

    #[test]
    fn fields_of_one_opcode_do_not_overlap_and_fit_their_words() {
        for op in Opcode::ALL {
            for word in 0..op.words() as u32 {
                let mut used = 0u64;
                for f in all_fields().filter(|f| f.used_by.contains(&op) && f.word == word) {
                    assert!(f.lsb + f.width <= 64, "{}", f.name);
                    let m = f.mask() << f.lsb;
                    assert_eq!(used & m, 0, "{} overlaps in {}", f.name, op.mnemonic());
                    used |= m;
                }
                assert_ne!(used, 0, "{} word {word} has no field", op.mnemonic());
            }
            assert!(
                all_fields().all(|f| !f.used_by.contains(&op) || (f.word as usize) < op.words())
            );
            // One name per opcode.
            let names: Vec<&str> = all_fields()
                .filter(|f| f.used_by.contains(&op))
                .map(|f| f.name)
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{}", op.mnemonic());
        }
    }

    #[test]
    fn the_tensor_engine_fields_are_the_first_word_only() {
        // The RTL sequencer decodes FIELDS from one word; they must not change shape.
        assert!(FIELDS.iter().all(|f| f.word == 0));
        assert!(FIELDS.iter().all(|f| f
            .used_by
            .iter()
            .all(|o| matches!(o, LS | MM | Opcode::Fence))));
    }

    fn dma(target: u32) -> Dma {
        Dma {
            target,
            layout: 1,
            esize: 3,
            rows: 65535,
            row_len: 1,
            part: 511,
            bank: 63,
            base: 0xFFFF_FFFF,
            stride: 0x8000_0001,
            entry: 65535,
            offset: 4095,
        }
    }

    fn act() -> Act {
        Act {
            bank: 63,
            offset: 4095,
            n: 8191,
            m: 511,
            func: 3,
            dtype: 7,
            per_col: true,
            bias: false,
            entry: 65535,
            zp: 0x80,
            lo: 0xFF,
            hi: 1,
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
            Instr::DmaLoad(dma(2)),
            Instr::DmaStore(dma(1)),
            Instr::DmaLoad(Dma::default()),
            Instr::Activate(act()),
            Instr::Activate(Act::default()),
            Instr::Wait {
                engine: 3,
                sem: 7,
                value: 65535,
            },
            Instr::Signal { engine: 2, sem: 5 },
        ];
        let mut stream = vec![];
        for i in cases {
            let w = i.encode();
            assert_eq!(w.len(), i.word_count(), "{i}");
            assert_eq!(Instr::decode_words(&w), Ok(i), "{i}");
            assert_eq!(Instr::words_needed(w[0]), Ok(w.len()));
            assert_eq!(i.misfit(), None);
            stream.extend(w);
        }
        let decoded = decode_stream(&stream).unwrap();
        assert_eq!(decoded.len(), cases.len());
        assert_eq!(decoded.iter().map(|d| d.1).collect::<Vec<_>>(), cases);
        assert_eq!(decoded[6].0, 8, "first word of DMA_STORE");
        assert_eq!(decoded[7].0, 11);
        assert_eq!(Instr::decode(0), Err(DecodeError::IllegalOpcode(0)));
        assert_eq!(Instr::decode(15), Err(DecodeError::IllegalOpcode(15)));
        assert_eq!(Instr::decode(9), Err(DecodeError::IllegalOpcode(9)));
        assert!(matches!(
            Instr::decode(Instr::Fence.encode()[0] | 1 << 40),
            Err(DecodeError::UnusedBits(_, "FENCE", 0))
        ));
        let mut w = Instr::DmaLoad(dma(0)).encode().to_vec();
        w[2] |= 1 << 28;
        assert_eq!(
            Instr::decode_words(&w),
            Err(DecodeError::UnusedBits(1 << 28, "DMA_LOAD", 2))
        );
        assert!(matches!(
            Instr::decode(w[0]),
            Err(DecodeError::WordCount {
                need: 3,
                have: 1,
                ..
            })
        ));
        let e = decode_stream(&stream[..17]).unwrap_err(); // ends inside the second ACTIVATE
        assert_eq!(e.word, 16);
        assert!(matches!(
            e.error,
            DecodeError::WordCount {
                need: 2,
                have: 1,
                ..
            }
        ));
        let e = decode_stream(&[Instr::Fence.encode()[0], 0]).unwrap_err();
        assert_eq!((e.word, e.error), (1, DecodeError::IllegalOpcode(0)));
    }

    #[test]
    fn misfits_are_named() {
        let i = Instr::Wait {
            engine: 4,
            sem: 0,
            value: 0,
        };
        assert_eq!(i.misfit(), Some(("engine", 4, 2)));
        let mut d = dma(0);
        d.offset = 4096;
        assert_eq!(Instr::DmaStore(d).misfit(), Some(("offset", 4096, 12)));
    }

    #[test]
    fn the_contract_positions() {
        // docs/memory-path.md's encoding, field by field.
        let pos = |op, name| {
            let f = field_of(op, name);
            (f.word, f.lsb + f.width - 1, f.lsb)
        };
        assert_eq!(pos(DL, "target"), (0, 5, 4));
        assert_eq!(pos(DS, "layout"), (0, 6, 6));
        assert_eq!(pos(DL, "esize"), (0, 8, 7));
        assert_eq!(pos(DL, "rows"), (0, 24, 9));
        assert_eq!(pos(DL, "row_len"), (0, 40, 25));
        assert_eq!(pos(DL, "part"), (0, 49, 41));
        assert_eq!(pos(DS, "bank"), (0, 55, 50));
        assert_eq!(pos(DL, "base"), (1, 31, 0));
        assert_eq!(pos(DL, "stride"), (1, 63, 32));
        assert_eq!(pos(DL, "entry"), (2, 15, 0));
        assert_eq!(pos(DS, "offset"), (2, 27, 16));
        assert_eq!(pos(ACT, "bank"), (0, 9, 4));
        assert_eq!(pos(ACT, "offset"), (0, 21, 10));
        assert_eq!(pos(ACT, "n"), (0, 34, 22));
        assert_eq!(pos(ACT, "m"), (0, 43, 35));
        assert_eq!(pos(ACT, "func"), (0, 45, 44));
        assert_eq!(pos(ACT, "dtype"), (0, 48, 46));
        assert_eq!(pos(ACT, "per_col"), (0, 49, 49));
        assert_eq!(pos(ACT, "bias"), (0, 50, 50));
        assert_eq!(pos(ACT, "entry"), (1, 15, 0));
        assert_eq!(pos(ACT, "zp"), (1, 23, 16));
        assert_eq!(pos(ACT, "lo"), (1, 31, 24));
        assert_eq!(pos(ACT, "hi"), (1, 39, 32));
        assert_eq!(pos(WT, "engine"), (0, 5, 4));
        assert_eq!(pos(SIG, "sem"), (0, 8, 6));
        assert_eq!(pos(WT, "value"), (0, 24, 9));
    }
}
