//! The register map of the engine's AXI4-Lite slave: ONE table ([`REGISTERS`], [`WINDOWS`])
//! that drives the RTL address decoder ([`crate::rtl::axil`]), the Rust driver
//! ([`crate::engine::rtl`]) and `docs/registers.md` ([`markdown`]; a test keeps the file
//! current).
//!
//! Registers are 32 bits at word-aligned byte addresses. A register is read-only or write-only;
//! the decoder answers every access to an unmapped address, a misaligned address or a register
//! of the other direction with `SLVERR` and records [`ErrorCode::BusAddress`].

use crate::config::Config;
use crate::isa::ErrorCode;

/// Instruction queue depth of the register path (STATUS.QUEUE_FREE when empty).
pub const QUEUE_DEPTH: u32 = 16;

/// Instruction queue depth with the memory path (`dma`): a fetched program's words come over
/// the AXI4 master behind the DMA's read bursts (its reads outstanding, up to 256 beats each),
/// so the queue holds a few steps of a program instead of one.
pub const DMA_QUEUE_DEPTH: u32 = 64;

/// The configuration's instruction queue depth ([`QUEUE_DEPTH`], or [`DMA_QUEUE_DEPTH`] with
/// the memory path): STATUS.QUEUE_FREE's value when the queue is empty.
pub fn queue_depth(cfg: &Config) -> u32 {
    if cfg.dma {
        DMA_QUEUE_DEPTH
    } else {
        QUEUE_DEPTH
    }
}

/// Value of the ID register: ASCII "SYST".
pub const ID_VALUE: u32 = 0x5359_5354;

/// AXI response codes used by the slave.
pub const RESP_OKAY: u32 = 0;
pub const RESP_SLVERR: u32 = 2;

/// Direction of a register, seen from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    WriteOnly,
}

impl Access {
    pub fn short(self) -> &'static str {
        match self {
            Access::ReadOnly => "RO",
            Access::WriteOnly => "WO",
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    /// A constant of the configuration (the RTL prints it as a literal).
    Const(fn(&Config) -> u64),
    /// Driven by (RO) or acting on (WO) the hardware; the RTL decoder names the signal.
    Live,
}

/// One bit field of a register.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub lsb: u32,
    pub width: u32,
    pub value: Value,
    pub doc: &'static str,
    /// The field exists only with `dma = true` (the memory path).
    pub dma: bool,
}

impl Field {
    /// The same field, present only with `dma = true`.
    pub const fn dma_only(mut self) -> Field {
        self.dma = true;
        self
    }

    /// Whether the field exists in the engine of `cfg`.
    pub fn exists(&self, cfg: &Config) -> bool {
        !self.dma || cfg.dma
    }

    pub fn mask(&self) -> u32 {
        if self.width >= 32 {
            u32::MAX
        } else {
            (1u32 << self.width) - 1
        }
    }
    /// The field's value in a register word.
    pub fn get(&self, word: u32) -> u32 {
        (word >> self.lsb) & self.mask()
    }
    /// `value` placed at the field's position (panics in debug builds if it does not fit).
    pub fn put(&self, value: u32) -> u32 {
        debug_assert!(value <= self.mask(), "{} = {value} does not fit", self.name);
        (value & self.mask()) << self.lsb
    }
}

/// One 32-bit register.
#[derive(Debug, Clone, Copy)]
pub struct Register {
    pub name: &'static str,
    /// Byte address.
    pub offset: u32,
    pub access: Access,
    /// Least significant first; bits of no field read as 0 and are ignored on writes.
    pub fields: &'static [Field],
    pub doc: &'static str,
    /// The register exists only with `dma = true` (the memory path); without it its address
    /// is unmapped.
    pub dma: bool,
}

impl Register {
    /// Whether the register exists in the engine of `cfg`.
    pub fn exists(&self, cfg: &Config) -> bool {
        !self.dma || cfg.dma
    }

    /// The fields that exist in the engine of `cfg`.
    pub fn fields_of(&self, cfg: &Config) -> Vec<&'static Field> {
        self.fields.iter().filter(|f| f.exists(cfg)).collect()
    }

    pub fn field(&self, name: &str) -> &'static Field {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("register {} has no field {name}", self.name))
    }

    /// The register's value when every field is a constant of the configuration.
    pub fn constant(&self, cfg: &Config) -> Option<u32> {
        let mut v = 0u32;
        for f in self.fields_of(cfg) {
            match f.value {
                Value::Const(g) => v |= f.put(g(cfg) as u32),
                Value::Live => return None,
            }
        }
        Some(v)
    }
}

const fn live(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> Field {
    Field {
        name,
        lsb,
        width,
        value: Value::Live,
        doc,
        dma: false,
    }
}

const fn constant(
    name: &'static str,
    lsb: u32,
    width: u32,
    value: fn(&Config) -> u64,
    doc: &'static str,
) -> Field {
    Field {
        name,
        lsb,
        width,
        value: Value::Const(value),
        doc,
        dma: false,
    }
}

fn log2(v: u32) -> u64 {
    u64::from(v.trailing_zeros())
}

/// The VERSION register: the first 8 hex digits of [`Config::hash`], so a host can tell which
/// design it talks to.
pub fn version(cfg: &Config) -> u32 {
    u32::from_str_radix(&cfg.hash()[..8], 16).expect("the hash is hex")
}

/// The registers, by address.
pub const REGISTERS: &[Register] = &[
    Register {
        name: "ID",
        offset: 0x000,
        access: Access::ReadOnly,
        fields: &[constant(
            "ID",
            0,
            32,
            |_| ID_VALUE as u64,
            "0x53595354 (ASCII \"SYST\")",
        )],
        doc: "Identifies the engine.",
        dma: false,
    },
    Register {
        name: "VERSION",
        offset: 0x004,
        access: Access::ReadOnly,
        fields: &[constant(
            "HASH",
            0,
            32,
            |c| version(c) as u64,
            "first 8 hex digits of the configuration hash (`Config::hash`)",
        )],
        doc: "Which design this is.",
        dma: false,
    },
    Register {
        name: "GEOMETRY",
        offset: 0x008,
        access: Access::ReadOnly,
        fields: &[
            constant("ROWS", 0, 9, |c| c.rows.into(), "array rows (K), 1..256"),
            constant("COLS", 9, 9, |c| c.cols.into(), "array columns (M), 1..256"),
            constant(
                "DATA_W",
                18,
                5,
                |c| c.derived.data_w.into(),
                "bits of one input element, 2..16",
            ),
            constant(
                "ACC_W",
                23,
                7,
                |c| c.derived.acc_w.into(),
                "bits of one accumulator, up to 64",
            ),
            constant(
                "SIGNED",
                30,
                1,
                |c| c.format.is_signed().into(),
                "1: two's-complement inputs",
            ),
        ],
        doc: "Array geometry and number format.",
        dma: false,
    },
    Register {
        name: "MEMORY",
        offset: 0x00C,
        access: Access::ReadOnly,
        fields: &[
            constant(
                "PSUM_BANKS",
                0,
                7,
                |c| c.psum_banks.into(),
                "PSUM banks, 1..64",
            ),
            constant(
                "LOG2_PSUM_DEPTH",
                8,
                4,
                |c| log2(c.psum_depth),
                "log2 of the entries per PSUM bank",
            ),
            constant(
                "LOG2_SBUF_DEPTH",
                16,
                5,
                |c| log2(c.sbuf_depth),
                "log2 of the entries per SBUF partition",
            ),
        ],
        doc: "Memory sizes. The SBUF has max(ROWS, COLS) partitions.",
        dma: false,
    },
    Register {
        name: "CONTROL",
        offset: 0x010,
        access: Access::WriteOnly,
        fields: &[
            live(
                "CLEAR_ERROR",
                0,
                1,
                "1: clear ERROR and ERROR_CODE, empty the instruction queue, resume dispatch",
            ),
            live(
                "CLEAR_COUNTERS",
                1,
                1,
                "1: zero CYCLES, MACS and RETIRED (and DMA_READ_BYTES, DMA_WRITE_BYTES)",
            ),
            live(
                "START",
                2,
                1,
                "1: clear the semaphores and fetch PROG_WORDS instruction words from PROG_BASE over the AXI4 master into the instruction queue. Refused (SLVERR, ERROR_CODE = BusAddress, nothing else happens) while STATUS.BUSY, STATUS.FETCHING or STATUS.ERROR is set. PROG_BASE not a multiple of 8: ERROR_CODE = DmaAlign, nothing fetched; PROG_BASE + 8 * PROG_WORDS > 2^32: DmaRange",
            )
            .dma_only(),
            live("CLEAR_SEMS", 3, 1, "1: every semaphore to 0").dma_only(),
        ],
        doc: "Commands (write 1 to act; 0 bits do nothing).",
        dma: false,
    },
    Register {
        name: "STATUS",
        offset: 0x014,
        access: Access::ReadOnly,
        fields: &[
            live(
                "BUSY",
                0,
                1,
                "work in progress: an instruction queued (and dispatch not stopped), streaming, or in flight in the core, a PSUM read in the core, or a LOAD_STATIONARY waiting for a swap (see STALLED)",
            ),
            live("ERROR", 1, 1, "an error stopped dispatch (see ERROR_CODE)"),
            live(
                "PSUM_VALID",
                2,
                1,
                "the PSUM snapshot requested by the last PSUM_SELECT write is in PSUM_DATA",
            ),
            live(
                "PENDING_LOADS",
                3,
                2,
                "LOAD_STATIONARYs dispatched and not yet claimed by a swap, 0..2",
            ),
            live(
                "STATIONARY",
                5,
                1,
                "a stationary is in use (a MULTIPLY_MOVING without swap may run)",
            ),
            live(
                "STALLED",
                6,
                1,
                "BUSY only because a LOAD_STATIONARY waits for a swap that no dispatched instruction performs: nothing progresses until one is pushed (or CLEAR_ERROR drops the load)",
            ),
            live(
                "FETCHING",
                7,
                1,
                "the instruction fetch (CONTROL.START) has words left to read or to put into the queue",
            )
            .dma_only(),
            live(
                "ERROR_CODE",
                8,
                8,
                "the first error since the last CLEAR_ERROR (`isa::ErrorCode`, 0 = none)",
            ),
            live("QUEUE_FREE", 16, 16, "free instruction-queue slots, 0..16 (0..64 with the memory path)"),
        ],
        doc: "Engine status.",
        dma: false,
    },
    Register {
        name: "CYCLES_LO",
        offset: 0x018,
        access: Access::ReadOnly,
        fields: &[live(
            "VALUE",
            0,
            32,
            "busy cycles, bits 31..0; reading it latches bits 63..32 for CYCLES_HI",
        )],
        doc: "Cycles with STATUS.BUSY set and STALLED clear, low word.",
        dma: false,
    },
    Register {
        name: "CYCLES_HI",
        offset: 0x01C,
        access: Access::ReadOnly,
        fields: &[live(
            "VALUE",
            0,
            32,
            "bits 63..32 as latched by the last CYCLES_LO read",
        )],
        doc: "Busy cycles, high word (read CYCLES_LO first).",
        dma: false,
    },
    Register {
        name: "MACS_LO",
        offset: 0x020,
        access: Access::ReadOnly,
        fields: &[live(
            "VALUE",
            0,
            32,
            "useful MACs, bits 31..0; reading it latches bits 63..32 for MACS_HI",
        )],
        doc: "Useful multiply-accumulates: k * m for every moving beat, so k * m * n per MULTIPLY_MOVING.",
        dma: false,
    },
    Register {
        name: "MACS_HI",
        offset: 0x024,
        access: Access::ReadOnly,
        fields: &[live(
            "VALUE",
            0,
            32,
            "bits 63..32 as latched by the last MACS_LO read",
        )],
        doc: "Useful MACs, high word (read MACS_LO first).",
        dma: false,
    },
    Register {
        name: "RETIRED",
        offset: 0x028,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 32, "instructions retired")],
        doc: "Instructions retired: a LOAD_STATIONARY when its last row enters the core, a MULTIPLY_MOVING when its last moving column does, a FENCE when it completes.",
        dma: false,
    },
    Register {
        name: "INSTR_LO",
        offset: 0x030,
        access: Access::WriteOnly,
        fields: &[live("WORD", 0, 32, "bits 31..0 of the instruction")],
        doc: "Stages the low word of the next instruction.",
        dma: false,
    },
    Register {
        name: "INSTR_HI",
        offset: 0x034,
        access: Access::WriteOnly,
        fields: &[live("WORD", 0, 32, "bits 63..32 of the instruction")],
        doc: "Pushes {INSTR_HI, staged INSTR_LO} into the instruction queue. Into a full queue: the word is dropped, BRESP = SLVERR and ERROR_CODE = QueueOverflow.",
        dma: false,
    },
    Register {
        name: "PSUM_SELECT",
        offset: 0x040,
        access: Access::WriteOnly,
        fields: &[
            live("ADDR", 0, 12, "PSUM address, < psum_depth"),
            live("BANK", 16, 6, "PSUM bank, < psum_banks"),
        ],
        doc: "Requests a snapshot of one PSUM entry (all columns) into PSUM_DATA: clears STATUS.PSUM_VALID, which sets when the snapshot is captured. The core answers only when nothing is in flight: wait for STATUS.BUSY = 0 first. An out-of-range bank or address: BRESP = SLVERR, ERROR_CODE = PsumRange, no snapshot. A write while an earlier snapshot is still pending completes (BVALID) only once that one is captured.",
        dma: false,
    },
    Register {
        name: "DMA_CAPS",
        offset: 0x050,
        access: Access::ReadOnly,
        fields: &[
            constant("PRESENT", 0, 1, |_| 1, "1: the memory path is present").dma_only(),
            constant(
                "DMA_BITS",
                1,
                10,
                |c| c.dma_bits.into(),
                "data width of the AXI4 master, 32..512",
            )
            .dma_only(),
            constant(
                "DMA_READS",
                11,
                7,
                |c| c.dma_reads.into(),
                "read bursts the DMA keeps outstanding, 1..64",
            )
            .dma_only(),
            constant(
                "TABLE_WORDS",
                18,
                10,
                |c| (2 * c.cols).into(),
                "32-bit words of the ACT table (2 * COLS: scales, then biases)",
            )
            .dma_only(),
        ],
        doc: "The memory path's sizes (`docs/memory-path.md`).",
        dma: true,
    },
    Register {
        name: "PROG_BASE",
        offset: 0x054,
        access: Access::WriteOnly,
        fields: &[live("ADDR", 0, 32, "byte address of the program's first word, a multiple of 8").dma_only()],
        doc: "Where CONTROL.START fetches the program from.",
        dma: true,
    },
    Register {
        name: "PROG_WORDS",
        offset: 0x058,
        access: Access::WriteOnly,
        fields: &[live("WORDS", 0, 32, "64-bit instruction words to fetch").dma_only()],
        doc: "How many words CONTROL.START fetches.",
        dma: true,
    },
    Register {
        name: "DMA_READ_BYTES",
        offset: 0x05C,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 32, "bytes, modulo 2^32").dma_only()],
        doc: "Memory bytes read by completed DMA_LOADs (rows * row_len * 2^esize each; not the instruction fetch).",
        dma: true,
    },
    Register {
        name: "DMA_WRITE_BYTES",
        offset: 0x060,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 32, "bytes, modulo 2^32").dma_only()],
        doc: "Memory bytes written by completed DMA_STOREs (rows * row_len * 2^esize each).",
        dma: true,
    },
    Register {
        name: "SEM0",
        offset: 0x080,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 0 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM1",
        offset: 0x084,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 1 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM2",
        offset: 0x088,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 2 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM3",
        offset: 0x08C,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 3 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM4",
        offset: 0x090,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 4 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM5",
        offset: 0x094,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 5 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM6",
        offset: 0x098,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 6 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
    Register {
        name: "SEM7",
        offset: 0x09C,
        access: Access::ReadOnly,
        fields: &[live("VALUE", 0, 16, "the semaphore's count").dma_only()],
        doc: "Semaphore 7 (WAIT / SIGNAL; for debugging).",
        dma: true,
    },
];

/// An address range of many words.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub name: &'static str,
    pub base: u32,
    pub access: Access,
    /// Bytes of the window for a configuration.
    pub size: fn(&Config) -> u32,
    pub doc: &'static str,
}

/// Byte address of the PSUM snapshot.
pub const PSUM_DATA_BASE: u32 = 0x1000;
/// Bytes per column in the PSUM snapshot window.
pub const PSUM_DATA_STRIDE: u32 = 8;
/// Byte address of the SBUF window.
pub const SBUF_BASE: u32 = 0x4000_0000;

/// The windows, by address.
pub const WINDOWS: &[Window] = &[
    Window {
        name: "PSUM_DATA",
        base: PSUM_DATA_BASE,
        access: Access::ReadOnly,
        size: |c| c.cols * PSUM_DATA_STRIDE,
        doc: "The PSUM snapshot: column c at 0x1000 + 8*c (bits 31..0 of the accumulator bit pattern) and 0x1000 + 8*c + 4 (bits ACC_W-1..32, zero-extended; reads 0 when ACC_W <= 32).",
    },
    Window {
        name: "SBUF",
        base: SBUF_BASE,
        access: Access::WriteOnly,
        size: |c| sbuf_partitions(c) * c.sbuf_depth * sbuf_entry_bytes(c),
        doc: "The SBUF, write-only: entry e of partition p at byte offset (p * sbuf_depth + e) * EB, EB = 1 for DATA_W <= 8 and 2 for DATA_W <= 16; an element sits in the low DATA_W bits of its EB bytes. One 32-bit write stores up to 4/EB consecutive entries of one partition: an entry is written when all its EB WSTRB bits are set (a partly strobed entry is left unchanged). With the packed SBUF (`sbuf_layout = \"packed\"`) the word's entries are stored one per cycle and the bus performs no write meanwhile: a write into the window then takes 4/EB cycles more.",
    },
];

/// A register by name.
pub fn reg(name: &str) -> &'static Register {
    REGISTERS
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no register {name}"))
}

/// A window by name.
pub fn window(name: &str) -> &'static Window {
    WINDOWS
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no window {name}"))
}

/// SBUF partitions: `max(rows, cols)`.
pub fn sbuf_partitions(cfg: &Config) -> u32 {
    cfg.rows.max(cfg.cols)
}

/// Bytes per SBUF entry in the SBUF window (EB).
pub fn sbuf_entry_bytes(cfg: &Config) -> u32 {
    crate::config::sbuf_entry_bytes(cfg.derived.data_w)
}

/// Byte address of SBUF entry `entry` of `partition`.
pub fn sbuf_address(cfg: &Config, partition: u32, entry: u32) -> u32 {
    SBUF_BASE + (partition * cfg.sbuf_depth + entry) * sbuf_entry_bytes(cfg)
}

/// One 32-bit bus write into the SBUF window: byte address, data, byte strobes (bit i = byte i).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbufWord {
    pub addr: u32,
    pub data: u32,
    pub strb: u8,
}

/// The bus writes that store `values` into consecutive SBUF entries of `partition` from
/// `entry`: the entries packed into 32-bit words (little-endian lanes of
/// [`sbuf_entry_bytes`]), a partly covered word at either end with only its entries' strobes.
/// `values` must already be valid for the format (see `engine::check_sbuf_write`).
pub fn sbuf_words(cfg: &Config, partition: u32, entry: u32, values: &[i64]) -> Vec<SbufWord> {
    let eb = sbuf_entry_bytes(cfg);
    let per_word = 4 / eb;
    let mut words = vec![];
    let mut i = 0usize;
    while i < values.len() {
        let e0 = (entry + i as u32) / per_word * per_word;
        let (mut data, mut strb) = (0u32, 0u32);
        while i < values.len() && entry + (i as u32) < e0 + per_word {
            let lane = entry + i as u32 - e0;
            data |= (cfg.format.to_bits(values[i]) as u32) << (8 * eb * lane);
            strb |= ((1 << eb) - 1) << (eb * lane);
            i += 1;
        }
        words.push(SbufWord {
            addr: sbuf_address(cfg, partition, e0),
            data,
            strb: strb as u8,
        });
    }
    words
}

/// Byte address of the low (or high) word of PSUM snapshot column `col`.
pub fn psum_data_address(col: u32, high: bool) -> u32 {
    PSUM_DATA_BASE + PSUM_DATA_STRIDE * col + if high { 4 } else { 0 }
}

/// `docs/registers.md`, generated from the tables (a test keeps the file current).
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Registers of the engine's AXI4-Lite slave\n\n");
    s.push_str("Generated from `src/regs.rs` (one table drives the RTL address decoder, the Rust driver and this file; `cargo test` fails if this file is stale).\n\n");
    s.push_str("## Bus\n\n");
    s.push_str("- AXI4-Lite slave `s_axil_*` of `systolic_engine`: 32-bit data, 32-bit byte addresses, all five channels with independent valid/ready. AW and W are accepted in any order (each is held until the other arrives); one write and one read may be outstanding at a time. AWPROT/ARPROT are ignored.\n");
    s.push_str("- Clock `clk`: every port is sampled at its rising edge. Reset `rst`: synchronous, active high; the registers reset at a rising edge with `rst` high, the SBUF and PSUM memories are not reset.\n");
    s.push_str(&format!("- BRESP/RRESP: OKAY ({RESP_OKAY}) or SLVERR ({RESP_SLVERR}). SLVERR means the access had no effect other than recording an error: an unmapped or misaligned address (two low bits not 0, whatever WSTRB says: a master that puts a byte-offset start address on AWADDR as it is, as cocotbext-axi does, must send whole aligned words), a read of a write-only register, a write of a read-only register (ERROR_CODE = BusAddress, {}), a PSUM_SELECT out of range (PsumRange, {}), an INSTR_HI write into a full queue (QueueOverflow, {}). A read with SLVERR returns 0.\n", ErrorCode::BusAddress as u8, ErrorCode::PsumRange as u8, ErrorCode::QueueOverflow as u8));
    s.push_str("- An error, from the bus or from an instruction, stops dispatch like any engine error: ERROR_CODE keeps the first error until CONTROL.CLEAR_ERROR.\n");
    s.push_str(
        "- Registers take the whole data word: WSTRB is honoured in the SBUF window only.\n",
    );
    s.push_str("- Read data is captured when the read address is accepted and held until the R beat is taken: never stale, never repeated.\n\n");
    s.push_str("## Registers\n\n| address | name | access | description |\n|---|---|---|---|\n");
    for r in REGISTERS {
        s.push_str(&format!(
            "| `0x{:03X}` | `{}` | {} | {}{} |\n",
            r.offset,
            r.name,
            r.access.short(),
            only_dma(r.dma, false),
            r.doc
        ));
    }
    s.push_str("\n## Fields\n\n");
    for r in REGISTERS {
        s.push_str(&format!(
            "### `{}` (`0x{:03X}`, {})\n\n| bits | field | value |\n|---|---|---|\n",
            r.name,
            r.offset,
            r.access.short()
        ));
        for f in r.fields {
            let bits = if f.width == 1 {
                format!("{}", f.lsb)
            } else {
                format!("{}..{}", f.lsb + f.width - 1, f.lsb)
            };
            let kind = match f.value {
                Value::Const(_) => "constant: ",
                Value::Live => "",
            };
            s.push_str(&format!(
                "| {bits} | `{}` | {}{kind}{} |\n",
                f.name,
                only_dma(f.dma && !r.dma, true),
                f.doc
            ));
        }
        s.push('\n');
    }
    s.push_str("## Windows\n\n| base | name | access | description |\n|---|---|---|---|\n");
    for w in WINDOWS {
        s.push_str(&format!(
            "| `0x{:08X}` | `{}` | {} | {} |\n",
            w.base,
            w.name,
            w.access.short(),
            w.doc
        ));
    }
    s.push_str("\nAddresses past the end of a window (PSUM_DATA: 8 * COLS bytes; SBUF: max(ROWS, COLS) * sbuf_depth * EB bytes) are unmapped.\n\n");
    s.push_str("## Typical host sequence\n\n");
    s.push_str("1. Check ID and VERSION; read GEOMETRY and MEMORY.\n");
    s.push_str("2. Write operands into the SBUF window.\n");
    s.push_str("3. For each instruction: INSTR_LO, then INSTR_HI (when STATUS.QUEUE_FREE > 0).\n");
    s.push_str(
        "4. Poll STATUS until BUSY = 0; if ERROR, read ERROR_CODE and write CONTROL.CLEAR_ERROR.\n",
    );
    s.push_str("5. For each PSUM entry: write PSUM_SELECT, poll STATUS until PSUM_VALID, read PSUM_DATA.\n");
    s.push_str(&host_rules());
    s
}

/// The mark of a register (`field` false) or field that exists only with the memory path.
fn only_dma(dma: bool, field: bool) -> &'static str {
    match (dma, field) {
        (false, _) => "",
        (true, false) => {
            "**Only with `dma = true`** (without it the address is unmapped: SLVERR, BusAddress). "
        }
        (true, true) => {
            "**Only with `dma = true`** (without it the bit reads 0 and a write to it is ignored). "
        }
    }
}

/// The section of `docs/registers.md` on what a host may rely on beyond the tables.
fn host_rules() -> String {
    let mut s = String::from("\n## Rules a host relies on\n\n");
    s.push_str("- **Aligned words.** Every access is one aligned 32-bit word: an address whose two low bits are not 0 answers SLVERR (BusAddress). In the SBUF window the byte strobes select the entries of the word that are written (an entry needs all its EB strobe bits); elsewhere WSTRB is ignored and the whole register is written.\n");
    s.push_str("- **VERSION** is the first 8 hex digits of the configuration hash, which every generated file's header names (`(hash ...)`) and which `systolic generate --json` prints as `version` (and `board probe` reads back from a board).\n");
    s.push_str("- **`swap = 0`** runs a MULTIPLY_MOVING with the stationary already in use (the one the last `swap = 1` made current); it is SwapWithoutLoad before any swap. **FENCE** is dispatched only when every earlier instruction has written its last result into PSUM (both streamers and the core idle); a LOAD_STATIONARY that waits for a swap does not hold it.\n");
    s.push_str(&format!("- **Pending loads.** At most {} loads may wait for their swaps (one in the core's shadow weights, one more); a further LOAD_STATIONARY stops the engine with SwapWithoutLoad instead of waiting, since the swaps that would free the shadow come after it in order. STATUS.STALLED = 1 means only a load waits, for a swap nobody pushed.\n", crate::isa::MAX_PENDING_LOADS));
    s.push_str("- **On an error** the faulting instruction is not executed and nothing after it is dispatched; instructions dispatched before it finish. CONTROL.CLEAR_ERROR empties the queue (the faulting instruction and everything after it are dropped), drops a load that waits for a swap, and keeps the stationary in use, a stationary already streamed into the shadow, the SBUF and PSUM.\n");
    s.push_str("- **The memory path** (`dma = true`, `docs/memory-path.md`): the engine also has an AXI4 master `m_axi_*` (DMA and instruction fetch). CONTROL.START is refused (SLVERR, BusAddress) while the engine is busy, fetching or stopped, and so is an INSTR_HI write while STATUS.FETCHING is set (the fetch owns the queue); a host that pushes its own words waits until FETCHING is 0. The SBUF window shares the SBUF's write port with the DMA and the write-back unit: a window write waits (its B is later) while they write.\n");
    s.push_str("- **PSUM entries never written hold undefined values**: the memories are not reset (in simulation they read as X, which some bus models refuse; on an FPGA, whatever the RAM held). A MULTIPLY_MOVING with a stationary of m columns writes columns 0..m of entries offset..offset+n of its bank; read only entries and columns that an instruction wrote (columns m..COLS of those entries keep their old contents).\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_fit_and_do_not_overlap() {
        for r in REGISTERS {
            let mut used = 0u64;
            for f in r.fields {
                assert!(f.lsb + f.width <= 32, "{}.{}", r.name, f.name);
                let m = u64::from(f.mask()) << f.lsb;
                assert_eq!(used & m, 0, "{}.{} overlaps", r.name, f.name);
                used |= m;
            }
            assert_eq!(r.offset % 4, 0, "{}", r.name);
            assert!(r.offset < PSUM_DATA_BASE, "{}", r.name);
        }
        let mut offsets: Vec<u32> = REGISTERS.iter().map(|r| r.offset).collect();
        offsets.sort();
        offsets.dedup();
        assert_eq!(
            offsets.len(),
            REGISTERS.len(),
            "two registers share an address"
        );
    }

    #[test]
    fn constants_fit_their_fields_for_extreme_configs() {
        use crate::config::RawConfig;
        for (rows, cols, format, acc, banks, depth, sbuf) in [
            (256, 256, "int16", 64, 64, 4096, 65536),
            (1, 1, "uint2", 4, 1, 2, 16),
        ] {
            let cfg = Config::from_raw(&RawConfig {
                name: "t".into(),
                rows,
                cols,
                format: format.into(),
                acc_bits: acc,
                psum_banks: banks,
                psum_depth: depth,
                sbuf_depth: sbuf,
                ..Default::default()
            })
            .unwrap();
            for r in REGISTERS {
                for f in r.fields {
                    if let Value::Const(g) = f.value {
                        let v = g(&cfg);
                        assert!(v <= u64::from(f.mask()), "{}.{} = {v}", r.name, f.name);
                    }
                }
            }
            let sbuf_end = u64::from(SBUF_BASE) + u64::from((window("SBUF").size)(&cfg));
            assert!(sbuf_end <= 0x8000_0000);
            let g = reg("GEOMETRY").constant(&cfg).unwrap();
            assert_eq!(reg("GEOMETRY").field("ROWS").get(g), rows);
            assert_eq!(reg("GEOMETRY").field("ACC_W").get(g), acc);
        }
    }
}
