//! The co-simulation's AXI4 memory: [`Axi4Slave`], a cycle-level AXI4 slave over a byte
//! [`Memory`], and [`Axi4Checker`], a protocol checker of an AXI4 master port that also keeps the
//! bench [`Counters`]. Both are plain Rust, independent of Verilator: a co-simulation driver
//! moves signals between them and the model of `systolic_engine`'s `m_axi_*` port
//! (docs/memory-path.md, "The AXI4 master port").
//!
//! # Timing contract
//!
//! One step per clock cycle; cycles are numbered from 0, the first cycle after reset (neither
//! type sees reset: the driver starts them when the master leaves reset).
//! - The slave's outputs ([`SlaveOut`]: AWREADY, WREADY, B, ARREADY, R) are registered: they
//!   depend only on the slave's state, never combinationally on the master's outputs of the same
//!   cycle. [`Axi4Slave::outputs`] gives them for the current cycle.
//! - The driver sets them on the model's inputs, evaluates it, and samples the master's outputs
//!   ([`MasterOut`]: AW, W, BREADY, AR, RREADY) as they stand just before the rising edge, so the
//!   master's readies may depend on RVALID/BVALID of the same cycle (AXI4 allows it).
//! - [`Axi4Checker::observe`] takes both sides of that cycle. [`Axi4Slave::tick`] takes the
//!   master's side and performs the rising edge: a channel transfers when its VALID and READY are
//!   both high; the slave's state advances and [`Axi4Slave::outputs`] becomes the next cycle's.
//!   Then the driver ticks the model.
//!
//! ```text
//! let mut s = slave.outputs().clone();           // cycle t
//! loop {
//!     drive(&mut sim, &s); sim.eval();           // slave -> model inputs
//!     let m = sample(&sim);                      // model outputs, before the edge
//!     checker.observe(&m, &s)?;                  // both sides of cycle t
//!     slave.tick(&m)?; s = slave.outputs().clone();
//!     sim.tick();                                // edge: cycle t + 1
//! }
//! let counters = checker.finish()?;              // every request answered
//! ```
//!
//! Data travels as [`Data`]: up to 512 bits as little-endian bytes (byte lane i = bits
//! 8i+7..8i), convertible to and from the u32 words of a Verilator port and u64 words.
//!
//! # The slave
//!
//! A memory controller with the following behaviour, all of it set by [`SlaveConfig`]:
//! - Bursts: INCR only, AxSIZE = log2(data bytes), AxLEN <= 255, never across a 4 KB boundary.
//!   The start address may be unaligned (AXI4 INCR addressing: beat 0 covers the lanes from
//!   `addr % bytes` up, later beats are aligned; WSTRB of lanes below the start must be low). Any
//!   other request is refused: [`Axi4Slave::tick`] returns the [`Violation`] (the slave's state
//!   is then unspecified).
//! - Read latency `L >= 1`: the first R beat of a burst whose AR transferred in cycle `a` is
//!   presented in cycle `a + L` at the earliest. Write latency `Lb >= 1`: the B of a burst whose
//!   last W beat transferred in cycle `w` (its AW at `w` or earlier) is presented in cycle
//!   `w + Lb` at the earliest.
//! - Bandwidth ([`Rate`], separately for R and W): at most `beats` beats per `cycles` cycles, at
//!   most one per cycle; `Rate::one_in(k)`: one beat every k cycles. A new RVALID and WREADY are
//!   raised only when the rate allows; a presented R beat stays until RREADY.
//! - Outstanding bursts: ARREADY is low while `max_reads` accepted reads have not had their last
//!   R beat; AWREADY is low while `max_writes` accepted writes have not had their B.
//! - W before AW: with `w_before_aw`, WREADY may be high before the burst's AW arrives (up to
//!   `w_buffer` beats are buffered); without it WREADY waits for the AW. Both are legal AXI4.
//! - Ready after valid: with `ready_after_valid`, AWREADY, WREADY and ARREADY are raised only in
//!   a cycle after one where their VALID was high and not taken (a slave that waits for the
//!   request before it accepts, legal AXI4); without it they may be high before any VALID.
//! - Random stalls ([`SlaveStalls`], seeded): in every cycle AWREADY, WREADY and ARREADY are low
//!   with their probability, and a response (R beat, B) that could be presented is held back
//!   with its probability. VALID, once high, stays high with a stable payload until READY.
//! - Response order ([`ResponseOrder`]): in order; or, across different IDs, whole bursts out of
//!   order (`Reorder`) or R beats interleaved (`Interleave`). Within one ID never out of order.
//!   The choice among IDs is random (seeded).
//! - Errors: an R or W beat whose bytes touch an [`ErrorRange`] gets its SLVERR or DECERR (the
//!   higher code wins: DECERR over SLVERR), as does a beat the [`Memory`] itself refuses (a
//!   faulty page of `engine::memory::SparseMemory`, bytes beyond the end of a `Vec<u8>`:
//!   DECERR). R has one RRESP per beat; B is the worst over its burst's beats. An error R beat
//!   carries zeros; an error W beat is not written (the burst's other beats are): a W beat is
//!   written as one access of its whole span (its unstrobed bytes as they were).
//! - Memory: W beats are written when they transfer (WSTRB honoured); R beats are read when
//!   they are presented. AXI4 does not order reads against writes in flight; neither does this.
//!
//! # The checker's rules ([`Rule`])
//!
//! Master side: VALID of AW, W, AR held until READY with a stable payload (`ValidDropped`,
//! `PayloadChanged`); AW/AR INCR only (`BurstType`), `len <= 255` (`Len`), `size ==
//! log2(data bytes)` (`Size`), no burst across 4 KB (`Boundary4k`); WLAST exactly on each burst's
//! last beat (`WlastEarly`, `WlastMissing`), W beats may come before their AW (matched in order
//! when the AW arrives, a violation then reported with the cycle of the offending beat), at most
//! `max_w_ahead` of them (`WAhead`); WSTRB only on the transfer's lanes
//! (`StrobeOutsideTransfer`); at most `max_reads` / `max_writes` bursts outstanding, issued (AR /
//! AW transferred) and not finished (last R beat / B), where a response in the same cycle as a
//! new request frees its place first (`TooManyOutstanding`); VALID must not depend combinationally on READY
//! (`ValidDependsOnReady`, from [`Axi4Checker::probe_valid_vs_ready`], where the driver evaluates
//! the model with each READY value); everything answered at [`Axi4Checker::finish`]
//! (`Unanswered`). AXI4 lets a master drop BREADY/RREADY at will (ready may wait for valid);
//! the project's master promises more (docs/memory-path.md: held low only for lack of buffer
//! space): with `no_b_stall` / `no_r_stall`, BREADY / RREADY low while BVALID / RVALID is high
//! is `ReadyLow`.
//!
//! Slave side: B and R VALID held with a stable payload, a response only for an outstanding
//! request of its ID (`UnexpectedResponse`), R beats of one ID in request order with RLAST
//! exactly on each burst's last beat (`RlastMismatch`), B only after the AW and the burst's last
//! W beat (`EarlyWriteResponse`).
//!
//! The first violation is kept ([`Violation`]: cycle, channel, rule); every later call returns
//! it again.

use std::collections::VecDeque;
use std::fmt;

use serde::Serialize;

use crate::engine::memory::{BusFault, Memory};
use crate::program::SplitMix64;

/// Widest data bus (512 bits).
pub const MAX_DATA_BYTES: usize = 64;

/// AxBURST codes.
pub const BURST_FIXED: u8 = 0;
pub const BURST_INCR: u8 = 1;
pub const BURST_WRAP: u8 = 2;

/// One beat of data, up to 512 bits, little-endian: byte lane i is `self.0[i]`. Lanes above the
/// bus width are ignored by the checker and written as zero by the slave.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data(pub [u8; MAX_DATA_BYTES]);

impl Default for Data {
    fn default() -> Data {
        Data([0; MAX_DATA_BYTES])
    }
}

impl fmt::Debug for Data {
    /// Hexadecimal, most significant byte first, leading zero bytes omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let top = self.0.iter().rposition(|&b| b != 0).unwrap_or(0);
        write!(f, "0x")?;
        for b in self.0[..=top].iter().rev() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Data {
    /// Lanes `0..bytes.len()` from `bytes` (at most 64), the rest zero.
    pub fn from_bytes(bytes: &[u8]) -> Data {
        let mut d = Data::default();
        d.0[..bytes.len()].copy_from_slice(bytes);
        d
    }

    /// From the 32-bit words of a Verilator port (word 0 = bits 31..0).
    pub fn from_u32_words(words: &[u32]) -> Data {
        let mut d = Data::default();
        for (i, w) in words.iter().enumerate() {
            d.0[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        d
    }

    /// From 64-bit words (word 0 = bits 63..0).
    pub fn from_u64_words(words: &[u64]) -> Data {
        let mut d = Data::default();
        for (i, w) in words.iter().enumerate() {
            d.0[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        d
    }

    /// The first `bytes` lanes.
    pub fn bytes(&self, bytes: usize) -> &[u8] {
        &self.0[..bytes]
    }

    /// The 32-bit words of a port of `bytes` bytes (`bytes / 4` words).
    pub fn to_u32_words(&self, bytes: usize) -> Vec<u32> {
        self.0[..bytes]
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4-byte chunk")))
            .collect()
    }

    /// The 64-bit words of a port of `bytes` bytes (a 32-bit port gives one word).
    pub fn to_u64_words(&self, bytes: usize) -> Vec<u64> {
        self.0[..bytes]
            .chunks(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect()
    }
}

/// The five AXI4 channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Channel {
    Aw,
    W,
    B,
    Ar,
    R,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Aw => "AW",
            Channel::W => "W",
            Channel::B => "B",
            Channel::Ar => "AR",
            Channel::R => "R",
        })
    }
}

/// BRESP / RRESP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub enum Resp {
    #[default]
    Okay,
    ExOkay,
    SlvErr,
    DecErr,
}

impl Resp {
    /// The 2-bit code.
    pub fn bits(self) -> u8 {
        self as u8
    }

    /// From the low 2 bits of `bits`.
    pub fn from_bits(bits: u8) -> Resp {
        match bits & 3 {
            0 => Resp::Okay,
            1 => Resp::ExOkay,
            2 => Resp::SlvErr,
            _ => Resp::DecErr,
        }
    }
}

/// An address channel (AW or AR) as the master drives it. `len` is AxLEN (beats - 1); it is
/// wider than the 8-bit port so that a driver sampling a wider signal can report an overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrBeat {
    pub valid: bool,
    pub id: u32,
    pub addr: u64,
    pub len: u16,
    pub size: u8,
    pub burst: u8,
}

impl AddrBeat {
    /// A valid INCR burst of `beats` full-width beats (`1..=256`) of `data_bytes` bytes.
    pub fn incr(id: u32, addr: u64, beats: u32, data_bytes: u32) -> AddrBeat {
        AddrBeat {
            valid: true,
            id,
            addr,
            len: (beats - 1) as u16,
            size: data_bytes.trailing_zeros() as u8,
            burst: BURST_INCR,
        }
    }
}

/// The W channel as the master drives it. Bit i of `strb` enables byte lane i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WBeat {
    pub valid: bool,
    pub data: Data,
    pub strb: u64,
    pub last: bool,
}

/// Everything the master drives, sampled just before the rising edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MasterOut {
    pub aw: AddrBeat,
    pub w: WBeat,
    pub bready: bool,
    pub ar: AddrBeat,
    pub rready: bool,
}

/// The B channel as the slave drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BBeat {
    pub valid: bool,
    pub id: u32,
    pub resp: Resp,
}

/// The R channel as the slave drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RBeat {
    pub valid: bool,
    pub id: u32,
    pub data: Data,
    pub resp: Resp,
    pub last: bool,
}

/// Everything the slave drives in one cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaveOut {
    pub awready: bool,
    pub wready: bool,
    pub b: BBeat,
    pub arready: bool,
    pub r: RBeat,
}

/// A broken rule of the protocol (or of the configured limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("ValidDropped: VALID fell before READY (it must be held until the handshake)")]
    ValidDropped,
    #[error("PayloadChanged: {field} changed while VALID waited for READY")]
    PayloadChanged { field: &'static str },
    #[error(
        "ValidDependsOnReady: VALID is {with_low} with READY low but {with_high} with READY high"
    )]
    ValidDependsOnReady { with_low: bool, with_high: bool },
    #[error("Boundary4k: burst at {addr:#x} of {beats} beats of {bytes} bytes crosses 4 KB")]
    Boundary4k { addr: u64, beats: u32, bytes: u32 },
    #[error("BurstType: burst type {burst} is not INCR (1)")]
    BurstType { burst: u8 },
    #[error("Len: AxLEN {len} > 255")]
    Len { len: u16 },
    #[error("Size: AxSIZE {size} is not log2 of the data bytes ({expected})")]
    Size { size: u8, expected: u8 },
    #[error("WlastEarly: WLAST on beat {beat} of a burst of {beats} beats")]
    WlastEarly { beat: u32, beats: u32 },
    #[error("WlastMissing: no WLAST on the last beat of a burst of {beats} beats")]
    WlastMissing { beats: u32 },
    #[error("WAhead: {beats} W beats ahead of their AW (at most {max})")]
    WAhead { beats: usize, max: u32 },
    #[error(
        "StrobeOutsideTransfer: WSTRB {strb:#x} on beat {beat} enables lanes outside {allowed:#x}"
    )]
    StrobeOutsideTransfer { beat: u32, strb: u64, allowed: u64 },
    #[error("ReadyLow: READY low while VALID high on a channel the master must not stall")]
    ReadyLow,
    #[error("TooManyOutstanding: {count} bursts outstanding, at most {max}")]
    TooManyOutstanding { count: usize, max: usize },
    #[error("UnexpectedResponse: a response for ID {id} with no outstanding request of that ID")]
    UnexpectedResponse { id: u32 },
    #[error("EarlyWriteResponse: B for ID {id} before the last W beat of its burst")]
    EarlyWriteResponse { id: u32 },
    #[error("RlastMismatch: RLAST {last} on beat {beat} of a burst of {beats} beats")]
    RlastMismatch { beat: u32, beats: u32, last: bool },
    #[error(
        "Unanswered at finish: {reads} reads and {writes} writes outstanding, {w_owed} W beats \
         owed to accepted AWs, {w_orphans} W beats without an AW, VALID waiting on {waiting:?}"
    )]
    Unanswered {
        reads: usize,
        writes: usize,
        w_owed: u64,
        w_orphans: usize,
        waiting: Vec<Channel>,
    },
}

/// The first violation: in which cycle, on which channel, which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AXI4 violation in cycle {cycle} on {channel}: {rule}")]
pub struct Violation {
    pub cycle: u64,
    pub channel: Channel,
    pub rule: Rule,
}

/// An invalid [`SlaveConfig`] or [`CheckerConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AXI4 model configuration: {0}")]
pub struct ConfigError(pub String);

/// At most `beats` beats per `cycles` cycles (`1 <= beats <= cycles`). The allowance carries
/// over idle cycles by at most `beats - 1` beats (so `one_in(k)` is exactly one beat every k
/// cycles, and 2 in 3 is the pattern beat, beat, gap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub beats: u32,
    pub cycles: u32,
}

impl Rate {
    /// One beat per cycle.
    pub const FULL: Rate = Rate {
        beats: 1,
        cycles: 1,
    };

    /// One beat every `k` cycles.
    pub fn one_in(k: u32) -> Rate {
        Rate {
            beats: 1,
            cycles: k,
        }
    }

    fn cap(self) -> u32 {
        self.cycles + self.beats - 1
    }

    fn allows(self, credit: u32) -> bool {
        credit >= self.cycles
    }

    /// The credit after a cycle in which a beat did (`used`) or did not transfer.
    fn after(self, credit: u32, used: bool) -> u32 {
        let spent = if used { self.cycles } else { 0 };
        (credit - spent + self.beats).min(self.cap())
    }
}

/// Per-cycle stall probabilities of the slave (0 = never; 1 = always: useful to hold a ready
/// low in a test).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaveStalls {
    pub awready: f64,
    pub wready: f64,
    pub arready: f64,
    /// Probability that an R beat that could be presented is held back one more cycle.
    pub rvalid: f64,
    /// Likewise for a B response.
    pub bvalid: f64,
    /// Seed of the slave's generator (stalls and the out-of-order choices).
    pub seed: u64,
}

impl SlaveStalls {
    pub const NONE: SlaveStalls = SlaveStalls {
        awready: 0.0,
        wready: 0.0,
        arready: 0.0,
        rvalid: 0.0,
        bvalid: 0.0,
        seed: 0,
    };

    /// The same probability `p` on every channel.
    pub fn uniform(p: f64, seed: u64) -> SlaveStalls {
        SlaveStalls {
            awready: p,
            wready: p,
            arready: p,
            rvalid: p,
            bvalid: p,
            seed,
        }
    }
}

/// The order of responses across IDs (within one ID, always request order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseOrder {
    /// R bursts and B responses in request order.
    InOrder,
    /// Whole R bursts and B responses of different IDs in a random order.
    Reorder,
    /// Like `Reorder`, and R beats of different IDs interleaved.
    Interleave,
}

/// Addresses `start..end` answered with `resp` (SlvErr or DecErr) on reads and/or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRange {
    pub start: u64,
    pub end: u64,
    pub resp: Resp,
    pub reads: bool,
    pub writes: bool,
}

/// Behaviour of an [`Axi4Slave`] (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaveConfig {
    /// 32, 64, 128, 256 or 512.
    pub data_bits: u32,
    /// Cycles from AR transferred to the first R beat (>= 1).
    pub read_latency: u32,
    /// Cycles from the last W beat transferred to BVALID (>= 1).
    pub write_latency: u32,
    pub read_rate: Rate,
    pub write_rate: Rate,
    pub stalls: SlaveStalls,
    /// Read bursts accepted and not finished (>= 1).
    pub max_reads: usize,
    /// Write bursts accepted and not answered (>= 1).
    pub max_writes: usize,
    pub order: ResponseOrder,
    /// Accept W beats before their AW (into a buffer of `w_buffer` beats).
    pub w_before_aw: bool,
    /// AWREADY, WREADY and ARREADY only in a cycle after their VALID was seen high (not taken).
    pub ready_after_valid: bool,
    pub w_buffer: usize,
    pub errors: Vec<ErrorRange>,
}

impl SlaveConfig {
    /// An ideal memory: latency 1, full rate, no stalls, 16 bursts each way, in order, W before
    /// AW accepted (16 beats), no error ranges.
    pub fn new(data_bits: u32) -> SlaveConfig {
        SlaveConfig {
            data_bits,
            read_latency: 1,
            write_latency: 1,
            read_rate: Rate::FULL,
            write_rate: Rate::FULL,
            stalls: SlaveStalls::NONE,
            max_reads: 16,
            max_writes: 16,
            order: ResponseOrder::InOrder,
            w_before_aw: true,
            ready_after_valid: false,
            w_buffer: 16,
            errors: Vec::new(),
        }
    }

    /// [`SlaveConfig::new`] answering reads and writes after `latency` cycles.
    pub fn with_latency(data_bits: u32, latency: u32) -> SlaveConfig {
        SlaveConfig {
            read_latency: latency,
            write_latency: latency,
            ..SlaveConfig::new(data_bits)
        }
    }

    pub fn data_bytes(&self) -> u32 {
        self.data_bits / 8
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: String| Err(ConfigError(s));
        if !matches!(self.data_bits, 32 | 64 | 128 | 256 | 512) {
            return err(format!(
                "data_bits {} not in 32..512 (a power of 2)",
                self.data_bits
            ));
        }
        if self.read_latency == 0 || self.write_latency == 0 {
            return err("read_latency and write_latency must be >= 1".into());
        }
        for (name, r) in [
            ("read_rate", self.read_rate),
            ("write_rate", self.write_rate),
        ] {
            if r.beats == 0 || r.beats > r.cycles {
                return err(format!(
                    "{name} {}/{}: need 1 <= beats <= cycles",
                    r.beats, r.cycles
                ));
            }
        }
        if self.max_reads == 0 || self.max_writes == 0 {
            return err("max_reads and max_writes must be >= 1".into());
        }
        if self.w_before_aw && self.w_buffer == 0 {
            return err("w_before_aw needs w_buffer >= 1".into());
        }
        let s = &self.stalls;
        for p in [s.awready, s.wready, s.arready, s.rvalid, s.bvalid] {
            if !(0.0..=1.0).contains(&p) {
                return err(format!("stall probability {p} not in 0..=1"));
            }
        }
        for e in &self.errors {
            if e.start >= e.end || !matches!(e.resp, Resp::SlvErr | Resp::DecErr) {
                return err(format!(
                    "error range {e:?}: need start < end, SlvErr or DecErr"
                ));
            }
        }
        Ok(())
    }
}

/// The response of a memory fault.
fn fault_resp(f: BusFault) -> Resp {
    match f {
        BusFault::SlvErr => Resp::SlvErr,
        BusFault::DecErr => Resp::DecErr,
    }
}

fn lane_mask(bytes: u32) -> u64 {
    if bytes >= 64 {
        u64::MAX
    } else {
        (1u64 << bytes) - 1
    }
}

/// The rules of one AW or AR request, for a bus of `bytes` bytes.
pub fn check_request(a: &AddrBeat, bytes: u32) -> Result<(), Rule> {
    if a.burst != BURST_INCR {
        return Err(Rule::BurstType { burst: a.burst });
    }
    if a.len > 255 {
        return Err(Rule::Len { len: a.len });
    }
    let expected = bytes.trailing_zeros() as u8;
    if a.size != expected {
        return Err(Rule::Size {
            size: a.size,
            expected,
        });
    }
    let beats = u32::from(a.len) + 1;
    let last = (a.addr & !u64::from(bytes - 1)) + u64::from(beats * bytes) - 1;
    if a.addr >> 12 != last >> 12 {
        return Err(Rule::Boundary4k {
            addr: a.addr,
            beats,
            bytes,
        });
    }
    Ok(())
}

/// The rules of W beat `beat` of a burst of `beats` beats starting at lane `offset`.
fn check_w_beat(beats: u32, offset: u32, beat: u32, w: &WBeat, bytes: u32) -> Result<(), Rule> {
    let lanes = lane_mask(bytes);
    let allowed = if beat == 0 {
        lanes & !((1u64 << offset) - 1)
    } else {
        lanes
    };
    if w.strb & !allowed != 0 {
        return Err(Rule::StrobeOutsideTransfer {
            beat,
            strb: w.strb,
            allowed,
        });
    }
    if w.last && beat + 1 < beats {
        return Err(Rule::WlastEarly { beat, beats });
    }
    if !w.last && beat + 1 == beats {
        return Err(Rule::WlastMissing { beats });
    }
    Ok(())
}

/// An accepted read burst.
#[derive(Debug, Clone)]
struct ReadBurst {
    seq: u64,
    id: u32,
    /// The start address rounded down to the bus width.
    base: u64,
    start: u64,
    beats: u32,
    sent: u32,
    /// First cycle in which its first beat may be presented.
    ready_at: u64,
}

/// An accepted write burst still receiving W beats.
#[derive(Debug, Clone)]
struct WriteBurst {
    id: u32,
    base: u64,
    start: u64,
    beats: u32,
    received: u32,
    resp: Resp,
}

/// A write response waiting for the B channel.
#[derive(Debug, Clone)]
struct PendingB {
    seq: u64,
    id: u32,
    resp: Resp,
    ready_at: u64,
}

/// Index of the first entry of each ID among `ids`, in order.
fn heads<I: Iterator<Item = u32>>(ids: I) -> Vec<usize> {
    let mut seen: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for (i, id) in ids.enumerate() {
        if !seen.contains(&id) {
            seen.push(id);
            out.push(i);
        }
    }
    out
}

/// A cycle-level AXI4 slave over a [`Memory`] (see the module documentation).
pub struct Axi4Slave<M: Memory> {
    cfg: SlaveConfig,
    bytes: u32,
    mem: M,
    rng: SplitMix64,
    cycle: u64,
    out: SlaveOut,
    reads: Vec<ReadBurst>,
    read_seq: u64,
    /// The read burst of the R beat presented now (its `seq`).
    r_from: Option<u64>,
    /// A read burst started and not finished (`Reorder` finishes it before another).
    r_busy: Option<u64>,
    /// Accepted writes still receiving W, in AW order.
    writes: VecDeque<WriteBurst>,
    /// W beats that came before their AW.
    early_w: VecDeque<WBeat>,
    bresps: Vec<PendingB>,
    b_seq: u64,
    b_from: Option<u64>,
    /// AWs accepted whose B has not transferred.
    writes_outstanding: usize,
    r_credit: u32,
    w_credit: u32,
    /// AW, W, AR: VALID was high and not taken at the last edge (`ready_after_valid`).
    seen: [bool; 3],
}

impl<M: Memory> Axi4Slave<M> {
    pub fn new(cfg: SlaveConfig, mem: M) -> Result<Axi4Slave<M>, ConfigError> {
        cfg.validate()?;
        let mut s = Axi4Slave {
            bytes: cfg.data_bytes(),
            rng: SplitMix64::new(cfg.stalls.seed),
            r_credit: cfg.read_rate.cap(),
            w_credit: cfg.write_rate.cap(),
            cfg,
            mem,
            cycle: 0,
            out: SlaveOut::default(),
            reads: Vec::new(),
            read_seq: 0,
            r_from: None,
            r_busy: None,
            writes: VecDeque::new(),
            early_w: VecDeque::new(),
            bresps: Vec::new(),
            b_seq: 0,
            b_from: None,
            writes_outstanding: 0,
            seen: [false; 3],
        };
        s.out = s.next_outputs(false, false);
        Ok(s)
    }

    /// The slave's outputs in the current cycle.
    pub fn outputs(&self) -> &SlaveOut {
        &self.out
    }

    /// The current cycle (0 before the first [`tick`](Self::tick)).
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    pub fn config(&self) -> &SlaveConfig {
        &self.cfg
    }

    pub fn memory(&self) -> &M {
        &self.mem
    }

    pub fn memory_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    pub fn into_memory(self) -> M {
        self.mem
    }

    /// Nothing accepted is unanswered and no W beat waits for its AW.
    pub fn idle(&self) -> bool {
        self.reads.is_empty() && self.writes_outstanding == 0 && self.early_w.is_empty()
    }

    /// The rising edge: transfers where the master's valid/ready meet the slave's current
    /// outputs, the state advances, and [`outputs`](Self::outputs) becomes the next cycle's.
    /// A request the slave refuses (see the module documentation) is an error.
    pub fn tick(&mut self, m: &MasterOut) -> Result<(), Violation> {
        let o = self.out;
        let fire_r = o.r.valid && m.rready;
        let fire_b = o.b.valid && m.bready;
        if fire_r {
            self.finish_r_beat();
        }
        if fire_b {
            let seq = self.b_from.take().expect("B presented");
            self.bresps.retain(|b| b.seq != seq);
            self.writes_outstanding -= 1;
        }
        if m.aw.valid && o.awready {
            self.accept_aw(&m.aw)?;
        }
        if m.ar.valid && o.arready {
            self.accept_ar(&m.ar)?;
        }
        if m.w.valid && o.wready {
            if self.writes.is_empty() {
                self.early_w.push_back(m.w);
            } else {
                self.write_beat(&m.w)?;
            }
        }
        self.r_credit = self.cfg.read_rate.after(self.r_credit, fire_r);
        self.w_credit = self
            .cfg
            .write_rate
            .after(self.w_credit, m.w.valid && o.wready);
        self.seen = [
            m.aw.valid && !o.awready,
            m.w.valid && !o.wready,
            m.ar.valid && !o.arready,
        ];
        self.cycle += 1;
        self.out = self.next_outputs(fire_r, fire_b);
        Ok(())
    }

    fn refuse(&self, channel: Channel, rule: Rule) -> Violation {
        Violation {
            cycle: self.cycle,
            channel,
            rule,
        }
    }

    fn accept_ar(&mut self, a: &AddrBeat) -> Result<(), Violation> {
        check_request(a, self.bytes).map_err(|r| self.refuse(Channel::Ar, r))?;
        self.reads.push(ReadBurst {
            seq: self.read_seq,
            id: a.id,
            base: a.addr & !u64::from(self.bytes - 1),
            start: a.addr,
            beats: u32::from(a.len) + 1,
            sent: 0,
            ready_at: self.cycle + u64::from(self.cfg.read_latency),
        });
        self.read_seq += 1;
        Ok(())
    }

    fn accept_aw(&mut self, a: &AddrBeat) -> Result<(), Violation> {
        check_request(a, self.bytes).map_err(|r| self.refuse(Channel::Aw, r))?;
        self.writes.push_back(WriteBurst {
            id: a.id,
            base: a.addr & !u64::from(self.bytes - 1),
            start: a.addr,
            beats: u32::from(a.len) + 1,
            received: 0,
            resp: Resp::Okay,
        });
        self.writes_outstanding += 1;
        while !self.writes.is_empty() {
            let Some(w) = self.early_w.pop_front() else {
                break;
            };
            self.write_beat(&w)?;
        }
        Ok(())
    }

    /// The response of the error ranges for the bytes `lo..hi`.
    fn resp_for(&self, lo: u64, hi: u64, read: bool) -> Resp {
        self.cfg
            .errors
            .iter()
            .filter(|e| if read { e.reads } else { e.writes })
            .filter(|e| e.start < hi && lo < e.end)
            .map(|e| e.resp)
            .max()
            .unwrap_or(Resp::Okay)
    }

    /// Bytes `lo..hi` of beat `k` of a burst (beat 0 starts at the start address).
    fn beat_span(&self, base: u64, start: u64, k: u32) -> (u64, u64) {
        let b = u64::from(self.bytes);
        let lo = base + u64::from(k) * b;
        (if k == 0 { start } else { lo }, lo + b)
    }

    /// One W beat into the oldest write burst still receiving data.
    fn write_beat(&mut self, w: &WBeat) -> Result<(), Violation> {
        let bytes = self.bytes;
        let front = self.writes.front().expect("a write burst receives W");
        let (k, beats, base, start) = (front.received, front.beats, front.base, front.start);
        let offset = (start - base) as u32;
        check_w_beat(beats, offset, k, w, bytes).map_err(|r| self.refuse(Channel::W, r))?;
        let (lo, hi) = self.beat_span(base, start, k);
        let resp = self.resp_for(lo, hi, false);
        let mut resp = resp;
        if resp == Resp::Okay && w.strb & lane_mask(bytes) != 0 {
            // One access of the beat's span, the unstrobed bytes as they are.
            let at = base + u64::from(k * bytes);
            let mut span = vec![0u8; bytes as usize];
            self.mem.peek(at as u32, &mut span);
            for (lane, b) in span.iter_mut().enumerate() {
                if w.strb >> lane & 1 == 1 {
                    *b = w.data.0[lane];
                }
            }
            if let Err(f) = self.mem.write(at as u32, &span) {
                resp = fault_resp(f);
            }
        }
        let front = self.writes.front_mut().expect("checked above");
        front.received += 1;
        front.resp = front.resp.max(resp);
        if front.received == front.beats {
            let done = self.writes.pop_front().expect("checked above");
            self.bresps.push(PendingB {
                seq: self.b_seq,
                id: done.id,
                resp: done.resp,
                ready_at: self.cycle + u64::from(self.cfg.write_latency),
            });
            self.b_seq += 1;
        }
        Ok(())
    }

    fn finish_r_beat(&mut self) {
        let seq = self.r_from.take().expect("R presented");
        let i = self
            .reads
            .iter()
            .position(|r| r.seq == seq)
            .expect("presented burst exists");
        self.reads[i].sent += 1;
        if self.reads[i].sent == self.reads[i].beats {
            self.reads.remove(i);
            self.r_busy = None;
        } else {
            self.r_busy = Some(seq);
        }
    }

    /// The outputs of the cycle `self.cycle`, after the edge that ended the previous one.
    fn next_outputs(&mut self, fire_r: bool, fire_b: bool) -> SlaveOut {
        let st = self.cfg.stalls;
        let after = |k: usize| !self.cfg.ready_after_valid || self.seen[k];
        let (aw_seen, w_seen, ar_seen) = (after(0), after(1), after(2));
        let awready = aw_seen
            && self.writes_outstanding < self.cfg.max_writes
            && !self.rng.chance(st.awready);
        let w_room = !self.writes.is_empty()
            || (self.cfg.w_before_aw && self.early_w.len() < self.cfg.w_buffer);
        let wready = w_seen
            && w_room
            && self.cfg.write_rate.allows(self.w_credit)
            && !self.rng.chance(st.wready);
        let arready =
            ar_seen && self.reads.len() < self.cfg.max_reads && !self.rng.chance(st.arready);
        let r = if self.out.r.valid && !fire_r {
            self.out.r
        } else {
            self.present_r()
        };
        let b = if self.out.b.valid && !fire_b {
            self.out.b
        } else {
            self.present_b()
        };
        SlaveOut {
            awready,
            wready,
            b,
            arready,
            r,
        }
    }

    /// Picks one of the candidate indices `cands` (non-empty) at random.
    fn pick(&mut self, cands: &[usize]) -> usize {
        *self.rng.choose(cands)
    }

    fn present_r(&mut self) -> RBeat {
        if !self.cfg.read_rate.allows(self.r_credit) {
            return RBeat::default();
        }
        let now = self.cycle;
        let ready: Vec<usize> = match (self.cfg.order, self.r_busy) {
            (ResponseOrder::InOrder, _) => vec![0],
            (ResponseOrder::Reorder, Some(seq)) => {
                vec![self.reads.iter().position(|r| r.seq == seq).expect("busy")]
            }
            _ => heads(self.reads.iter().map(|r| r.id)),
        };
        let ready: Vec<usize> = ready
            .into_iter()
            .filter(|&i| self.reads.get(i).is_some_and(|r| r.ready_at <= now))
            .collect();
        if ready.is_empty() || self.rng.chance(self.cfg.stalls.rvalid) {
            return RBeat::default();
        }
        let i = self.pick(&ready);
        let r = self.reads[i].clone();
        let (lo, hi) = self.beat_span(r.base, r.start, r.sent);
        let resp = self.resp_for(lo, hi, true);
        let mut data = Data::default();
        let mut resp = resp;
        if resp == Resp::Okay {
            let at = r.base + u64::from(r.sent * self.bytes);
            if let Err(f) = self.mem.read(at as u32, &mut data.0[..self.bytes as usize]) {
                resp = fault_resp(f);
                data = Data::default();
            }
        }
        self.r_from = Some(r.seq);
        RBeat {
            valid: true,
            id: r.id,
            data,
            resp,
            last: r.sent + 1 == r.beats,
        }
    }

    fn present_b(&mut self) -> BBeat {
        let now = self.cycle;
        let cands = match self.cfg.order {
            ResponseOrder::InOrder => vec![0],
            _ => heads(self.bresps.iter().map(|b| b.id)),
        };
        let ready: Vec<usize> = cands
            .into_iter()
            .filter(|&i| self.bresps.get(i).is_some_and(|b| b.ready_at <= now))
            .collect();
        if ready.is_empty() || self.rng.chance(self.cfg.stalls.bvalid) {
            return BBeat::default();
        }
        let i = self.pick(&ready);
        let b = self.bresps[i].clone();
        self.b_from = Some(b.seq);
        BBeat {
            valid: true,
            id: b.id,
            resp: b.resp,
        }
    }
}

/// What the [`Axi4Checker`] enforces beyond AXI4 itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerConfig {
    /// 32..512: AxSIZE must be log2 of its bytes.
    pub data_bits: u32,
    /// Read bursts issued (AR transferred) and not finished (last R beat), at most.
    pub max_reads: usize,
    /// Write bursts issued (AW transferred) and not answered (B), at most.
    pub max_writes: usize,
    /// W beats transferred before their AW, at most (`u32::MAX`: AXI4's "any").
    pub max_w_ahead: u32,
    /// The master promises BREADY high whenever BVALID is high.
    pub no_b_stall: bool,
    /// The master promises RREADY high whenever RVALID is high.
    pub no_r_stall: bool,
}

impl CheckerConfig {
    /// Plain AXI4 for a bus of `data_bits` with unbounded outstanding bursts.
    pub fn new(data_bits: u32) -> CheckerConfig {
        CheckerConfig {
            data_bits,
            max_reads: usize::MAX,
            max_writes: usize::MAX,
            max_w_ahead: u32::MAX,
            no_b_stall: false,
            no_r_stall: false,
        }
    }
}

/// Per-channel cycle counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    pub aw: u64,
    pub w: u64,
    pub b: u64,
    pub ar: u64,
    pub r: u64,
}

impl ChannelCounts {
    pub fn get(&self, ch: Channel) -> u64 {
        match ch {
            Channel::Aw => self.aw,
            Channel::W => self.w,
            Channel::B => self.b,
            Channel::Ar => self.ar,
            Channel::R => self.r,
        }
    }

    fn add(&mut self, ch: Channel, on: bool) {
        let c = match ch {
            Channel::Aw => &mut self.aw,
            Channel::W => &mut self.w,
            Channel::B => &mut self.b,
            Channel::Ar => &mut self.ar,
            Channel::R => &mut self.r,
        };
        *c += u64::from(on);
    }
}

/// Counters for benches, kept by the [`Axi4Checker`] from what it observes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Cycles observed.
    pub cycles: u64,
    /// Bytes of transferred R beats within their transfers (beat 0 of an unaligned burst
    /// counts from its start address), error beats included.
    pub read_bytes: u64,
    /// Bytes enabled by WSTRB on transferred W beats.
    pub written_bytes: u64,
    pub read_beats: u64,
    pub write_beats: u64,
    /// AR / AW transfers.
    pub read_bursts: u64,
    pub write_bursts: u64,
    /// R beats and B responses other than OKAY.
    pub read_errors: u64,
    pub write_errors: u64,
    /// Cycles with VALID high, per channel ("busy").
    pub valid_cycles: ChannelCounts,
    /// Cycles with a transfer, per channel.
    pub transfer_cycles: ChannelCounts,
    /// First cycle with AWVALID, WVALID or ARVALID high.
    pub first_request: Option<u64>,
    /// Last cycle with a transfer on any channel.
    pub last_transfer: Option<u64>,
    /// Last cycle with a B transfer.
    pub last_write_response: Option<u64>,
}

impl Counters {
    /// Cycles from the first request to the last transfer, both included.
    pub fn span(&self) -> Option<u64> {
        Some(self.last_transfer? - self.first_request? + 1)
    }

    /// Transfers on `ch` per cycle of [`span`](Self::span) (0 when nothing happened).
    pub fn utilisation(&self, ch: Channel) -> f64 {
        match self.span() {
            Some(s) => self.transfer_cycles.get(ch) as f64 / s as f64,
            None => 0.0,
        }
    }
}

#[derive(Debug, Clone)]
struct ReadTrack {
    id: u32,
    beats: u32,
    offset: u32,
    seen: u32,
}

/// An issued write burst not yet answered.
#[derive(Debug, Clone)]
struct WriteTrack {
    id: u32,
    /// Its position in AW order (= the W burst that carries its data).
    seq: u64,
}

/// The W data of an issued burst, still incomplete.
#[derive(Debug, Clone)]
struct WOpen {
    beats: u32,
    offset: u32,
    seen: u32,
}

/// A W beat transferred before its AW.
#[derive(Debug, Clone)]
struct AheadBeat {
    cycle: u64,
    w: WBeat,
}

fn addr_diff(a: &AddrBeat, b: &AddrBeat) -> Option<&'static str> {
    [
        (a.id != b.id, "id"),
        (a.addr != b.addr, "addr"),
        (a.len != b.len, "len"),
        (a.size != b.size, "size"),
        (a.burst != b.burst, "burst"),
    ]
    .into_iter()
    .find_map(|(d, f)| d.then_some(f))
}

/// A protocol checker on an AXI4 master port, cycle by cycle (see the module documentation).
pub struct Axi4Checker {
    cfg: CheckerConfig,
    bytes: u32,
    cycle: u64,
    first: Option<Violation>,
    hold_aw: Option<AddrBeat>,
    hold_w: Option<WBeat>,
    hold_ar: Option<AddrBeat>,
    hold_b: Option<BBeat>,
    hold_r: Option<RBeat>,
    /// Issued reads in AR order.
    reads: VecDeque<ReadTrack>,
    /// Issued writes in AW order, until their B.
    writes: VecDeque<WriteTrack>,
    aw_seq: u64,
    /// W bursts complete (the first `w_done` AWs have all their data).
    w_done: u64,
    /// Issued AWs whose W data is incomplete, in order.
    w_open: VecDeque<WOpen>,
    w_ahead: VecDeque<AheadBeat>,
    counters: Counters,
}

impl Axi4Checker {
    pub fn new(cfg: CheckerConfig) -> Result<Axi4Checker, ConfigError> {
        if !matches!(cfg.data_bits, 32 | 64 | 128 | 256 | 512) {
            return Err(ConfigError(format!(
                "data_bits {} not in 32..512 (a power of 2)",
                cfg.data_bits
            )));
        }
        if cfg.max_reads == 0 || cfg.max_writes == 0 {
            return Err(ConfigError("max_reads and max_writes must be >= 1".into()));
        }
        Ok(Axi4Checker {
            bytes: cfg.data_bits / 8,
            cfg,
            cycle: 0,
            first: None,
            hold_aw: None,
            hold_w: None,
            hold_ar: None,
            hold_b: None,
            hold_r: None,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            aw_seq: 0,
            w_done: 0,
            w_open: VecDeque::new(),
            w_ahead: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// The checker for a master talking to a slave of `cfg`: the same width and outstanding
    /// limits.
    pub fn for_slave(cfg: &SlaveConfig) -> Axi4Checker {
        Axi4Checker::new(CheckerConfig {
            max_reads: cfg.max_reads,
            max_writes: cfg.max_writes,
            ..CheckerConfig::new(cfg.data_bits)
        })
        .expect("a valid slave configuration gives a valid checker configuration")
    }

    /// The number of the cycle the next [`observe`](Self::observe) checks.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The first violation seen, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.first.as_ref()
    }

    fn record(&mut self, r: Result<(), Violation>) -> Result<(), Violation> {
        if let Err(v) = &r {
            self.first.get_or_insert_with(|| v.clone());
        }
        match &self.first {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    fn fail(&self, channel: Channel, rule: Rule) -> Result<(), Violation> {
        Err(Violation {
            cycle: self.cycle,
            channel,
            rule,
        })
    }

    /// Checks one cycle: `m` and `s` as both sides drove them before the edge.
    pub fn observe(&mut self, m: &MasterOut, s: &SlaveOut) -> Result<(), Violation> {
        if let Some(v) = &self.first {
            return Err(v.clone());
        }
        let r = self.check_cycle(m, s);
        self.count(m, s);
        self.cycle += 1;
        self.record(r)
    }

    /// From the driver: with READY of `channel` forced low the master's VALID was `with_low`,
    /// forced high `with_high` (in the current cycle, before [`observe`](Self::observe)).
    pub fn probe_valid_vs_ready(
        &mut self,
        channel: Channel,
        with_low: bool,
        with_high: bool,
    ) -> Result<(), Violation> {
        let r = if with_low != with_high {
            self.fail(
                channel,
                Rule::ValidDependsOnReady {
                    with_low,
                    with_high,
                },
            )
        } else {
            Ok(())
        };
        self.record(r)
    }

    /// Ends the run: every issued request answered, every burst's W data complete, no VALID
    /// waiting. Returns the counters.
    pub fn finish(&mut self) -> Result<Counters, Violation> {
        if let Some(v) = &self.first {
            return Err(v.clone());
        }
        let waiting: Vec<Channel> = [
            (self.hold_aw.is_some(), Channel::Aw),
            (self.hold_w.is_some(), Channel::W),
            (self.hold_b.is_some(), Channel::B),
            (self.hold_ar.is_some(), Channel::Ar),
            (self.hold_r.is_some(), Channel::R),
        ]
        .into_iter()
        .filter_map(|(h, c)| h.then_some(c))
        .collect();
        let w_owed: u64 = self
            .w_open
            .iter()
            .map(|o| u64::from(o.beats - o.seen))
            .sum();
        let w_orphans = self.w_ahead.len();
        if self.reads.is_empty()
            && self.writes.is_empty()
            && w_owed == 0
            && w_orphans == 0
            && waiting.is_empty()
        {
            return Ok(self.counters.clone());
        }
        let channel = if !self.reads.is_empty() {
            Channel::R
        } else if !self.writes.is_empty() {
            Channel::B
        } else {
            Channel::W
        };
        let rule = Rule::Unanswered {
            reads: self.reads.len(),
            writes: self.writes.len(),
            w_owed,
            w_orphans,
            waiting,
        };
        let r = self.fail(channel, rule);
        self.record(r).map(|_| self.counters.clone())
    }

    fn check_cycle(&mut self, m: &MasterOut, s: &SlaveOut) -> Result<(), Violation> {
        self.check_holds(m, s)?;
        if m.aw.valid && self.hold_aw.is_none() {
            check_request(&m.aw, self.bytes).or_else(|r| self.fail(Channel::Aw, r))?;
        }
        if m.ar.valid && self.hold_ar.is_none() {
            check_request(&m.ar, self.bytes).or_else(|r| self.fail(Channel::Ar, r))?;
        }
        if self.cfg.no_b_stall && s.b.valid && !m.bready {
            self.fail(Channel::B, Rule::ReadyLow)?;
        }
        if self.cfg.no_r_stall && s.r.valid && !m.rready {
            self.fail(Channel::R, Rule::ReadyLow)?;
        }
        // Responses first (they answer requests of earlier cycles), then requests, then W (a W
        // beat may belong to an AW of the same cycle).
        if s.r.valid && m.rready {
            self.r_beat(&s.r)?;
        }
        if s.b.valid && m.bready {
            self.b_response(&s.b)?;
        }
        if m.aw.valid && s.awready {
            self.aw_issued(&m.aw)?;
        }
        if m.ar.valid && s.arready {
            self.reads.push_back(ReadTrack {
                id: m.ar.id,
                beats: u32::from(m.ar.len) + 1,
                offset: (m.ar.addr % u64::from(self.bytes)) as u32,
                seen: 0,
            });
            if self.reads.len() > self.cfg.max_reads {
                let rule = Rule::TooManyOutstanding {
                    count: self.reads.len(),
                    max: self.cfg.max_reads,
                };
                self.fail(Channel::Ar, rule)?;
            }
        }
        if m.w.valid && s.wready {
            self.w_beat(&m.w)?;
        }
        self.hold_aw = (m.aw.valid && !s.awready).then_some(m.aw);
        self.hold_w = (m.w.valid && !s.wready).then_some(m.w);
        self.hold_ar = (m.ar.valid && !s.arready).then_some(m.ar);
        self.hold_b = (s.b.valid && !m.bready).then_some(s.b);
        self.hold_r = (s.r.valid && !m.rready).then_some(s.r);
        Ok(())
    }

    /// VALID held with a stable payload on every channel that waited in the previous cycle.
    fn check_holds(&self, m: &MasterOut, s: &SlaveOut) -> Result<(), Violation> {
        let n = self.bytes as usize;
        let dropped = |held: bool, valid: bool| held && !valid;
        let checks: [(Channel, bool, Option<&'static str>); 5] = [
            (
                Channel::Aw,
                dropped(self.hold_aw.is_some(), m.aw.valid),
                self.hold_aw.and_then(|h| addr_diff(&h, &m.aw)),
            ),
            (
                Channel::W,
                dropped(self.hold_w.is_some(), m.w.valid),
                self.hold_w.and_then(|h| {
                    [
                        (h.data.bytes(n) != m.w.data.bytes(n), "WDATA"),
                        (h.strb != m.w.strb, "WSTRB"),
                        (h.last != m.w.last, "WLAST"),
                    ]
                    .into_iter()
                    .find_map(|(d, f)| d.then_some(f))
                }),
            ),
            (
                Channel::B,
                dropped(self.hold_b.is_some(), s.b.valid),
                self.hold_b.and_then(|h| {
                    [(h.id != s.b.id, "BID"), (h.resp != s.b.resp, "BRESP")]
                        .into_iter()
                        .find_map(|(d, f)| d.then_some(f))
                }),
            ),
            (
                Channel::Ar,
                dropped(self.hold_ar.is_some(), m.ar.valid),
                self.hold_ar.and_then(|h| addr_diff(&h, &m.ar)),
            ),
            (
                Channel::R,
                dropped(self.hold_r.is_some(), s.r.valid),
                self.hold_r.and_then(|h| {
                    [
                        (h.id != s.r.id, "RID"),
                        (h.data.bytes(n) != s.r.data.bytes(n), "RDATA"),
                        (h.resp != s.r.resp, "RRESP"),
                        (h.last != s.r.last, "RLAST"),
                    ]
                    .into_iter()
                    .find_map(|(d, f)| d.then_some(f))
                }),
            ),
        ];
        for (ch, dropped, changed) in checks {
            if dropped {
                return self.fail(ch, Rule::ValidDropped);
            }
            if let Some(field) = changed {
                return self.fail(ch, Rule::PayloadChanged { field });
            }
        }
        Ok(())
    }

    fn r_beat(&mut self, r: &RBeat) -> Result<(), Violation> {
        let Some(i) = self.reads.iter().position(|t| t.id == r.id) else {
            return self.fail(Channel::R, Rule::UnexpectedResponse { id: r.id });
        };
        let t = &mut self.reads[i];
        let (beat, beats) = (t.seen, t.beats);
        let lane0 = if beat == 0 { t.offset } else { 0 };
        t.seen += 1;
        self.counters.read_bytes += u64::from(self.bytes - lane0);
        self.counters.read_errors += u64::from(r.resp != Resp::Okay);
        if r.last != (beat + 1 == beats) {
            let rule = Rule::RlastMismatch {
                beat,
                beats,
                last: r.last,
            };
            return self.fail(Channel::R, rule);
        }
        if r.last {
            self.reads.remove(i);
        }
        Ok(())
    }

    fn b_response(&mut self, b: &BBeat) -> Result<(), Violation> {
        let Some(i) = self.writes.iter().position(|t| t.id == b.id) else {
            return self.fail(Channel::B, Rule::UnexpectedResponse { id: b.id });
        };
        if self.writes[i].seq >= self.w_done {
            return self.fail(Channel::B, Rule::EarlyWriteResponse { id: b.id });
        }
        self.writes.remove(i);
        self.counters.write_errors += u64::from(b.resp != Resp::Okay);
        self.counters.last_write_response = Some(self.cycle);
        Ok(())
    }

    fn aw_issued(&mut self, a: &AddrBeat) -> Result<(), Violation> {
        self.writes.push_back(WriteTrack {
            id: a.id,
            seq: self.aw_seq,
        });
        self.aw_seq += 1;
        if self.writes.len() > self.cfg.max_writes {
            let rule = Rule::TooManyOutstanding {
                count: self.writes.len(),
                max: self.cfg.max_writes,
            };
            return self.fail(Channel::Aw, rule);
        }
        let mut open = WOpen {
            beats: u32::from(a.len) + 1,
            offset: (a.addr % u64::from(self.bytes)) as u32,
            seen: 0,
        };
        if !self.w_open.is_empty() || self.w_ahead.is_empty() {
            self.w_open.push_back(open);
            return Ok(());
        }
        // W beats came first: they are this burst's, up to its last beat.
        while open.seen < open.beats {
            let Some(b) = self.w_ahead.pop_front() else {
                break;
            };
            if let Err(rule) = check_w_beat(open.beats, open.offset, open.seen, &b.w, self.bytes) {
                return Err(Violation {
                    cycle: b.cycle,
                    channel: Channel::W,
                    rule,
                });
            }
            open.seen += 1;
        }
        if open.seen == open.beats {
            self.w_done += 1;
        } else {
            self.w_open.push_back(open);
        }
        Ok(())
    }

    fn w_beat(&mut self, w: &WBeat) -> Result<(), Violation> {
        self.counters.written_bytes += u64::from((w.strb & lane_mask(self.bytes)).count_ones());
        let Some(open) = self.w_open.front_mut() else {
            self.w_ahead.push_back(AheadBeat {
                cycle: self.cycle,
                w: *w,
            });
            if self.w_ahead.len() as u64 > u64::from(self.cfg.max_w_ahead) {
                let rule = Rule::WAhead {
                    beats: self.w_ahead.len(),
                    max: self.cfg.max_w_ahead,
                };
                return self.fail(Channel::W, rule);
            }
            return Ok(());
        };
        let (beats, offset, seen) = (open.beats, open.offset, open.seen);
        open.seen += 1;
        check_w_beat(beats, offset, seen, w, self.bytes).or_else(|r| self.fail(Channel::W, r))?;
        if seen + 1 == beats {
            self.w_open.pop_front();
            self.w_done += 1;
        }
        Ok(())
    }

    fn count(&mut self, m: &MasterOut, s: &SlaveOut) {
        let c = &mut self.counters;
        let fires = [
            (Channel::Aw, m.aw.valid, s.awready),
            (Channel::W, m.w.valid, s.wready),
            (Channel::B, s.b.valid, m.bready),
            (Channel::Ar, m.ar.valid, s.arready),
            (Channel::R, s.r.valid, m.rready),
        ];
        let mut any = false;
        for (ch, valid, ready) in fires {
            c.valid_cycles.add(ch, valid);
            c.transfer_cycles.add(ch, valid && ready);
            any |= valid && ready;
        }
        c.cycles += 1;
        c.read_beats += u64::from(s.r.valid && m.rready);
        c.write_beats += u64::from(m.w.valid && s.wready);
        c.read_bursts += u64::from(m.ar.valid && s.arready);
        c.write_bursts += u64::from(m.aw.valid && s.awready);
        if c.first_request.is_none() && (m.aw.valid || m.w.valid || m.ar.valid) {
            c.first_request = Some(self.cycle);
        }
        if any {
            c.last_transfer = Some(self.cycle);
        }
    }
}
