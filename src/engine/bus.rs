//! The [`Engine`](super::Engine) operations on the engine's register map ([`crate::regs`],
//! `docs/registers.md`), once for every back end that reaches the engine through its host
//! registers: [`RtlEngine`](super::rtl::RtlEngine) (AXI4-Lite in Verilator) and
//! [`UartEngine`](crate::uart::engine::UartEngine) (the framed serial link). A back end supplies
//! a [`RegisterBus`]: reads and writes of consecutive registers, and its bound on a wait.
//!
//! The sequences: an instruction is one 2-word write (INSTR_LO, INSTR_HI), after STATUS polls
//! while no queue slot is known free; the SBUF is written in runs of whole words (every strobe
//! set) with a partial word at either end written alone; a PSUM entry is a PSUM_SELECT write,
//! STATUS polls until PSUM_VALID, then one read over the snapshot's (low, high) word pairs; the
//! counters are one read of CYCLES_LO..RETIRED in address order (each LO read latches its HI).

use crate::config::Config;
use crate::format::mask;
use crate::isa::ErrorCode;
use crate::regs::{self, RESP_OKAY};

use super::{check_sbuf_write, BackendError, Counters, Status};

/// The engine's host registers as a back end reaches them.
pub trait RegisterBus {
    fn config(&self) -> &Config;
    /// Read `count` consecutive registers from `addr`: the words and the OR of the responses.
    fn read_regs(&mut self, addr: u32, count: usize) -> Result<(Vec<u32>, u32), BackendError>;
    /// Write `words` to consecutive registers from `addr`, each with byte strobes `strb`: the
    /// OR of the responses.
    fn write_regs(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<u32, BackendError>;
    /// Before STATUS poll `n` (0, 1, ...) of one wait: an error once the wait has lasted longer
    /// than the back end allows.
    fn poll(&mut self, n: u64) -> Result<(), BackendError>;
    /// Instruction-queue slots known to be free (from the last STATUS read, minus pushes since).
    fn free_known(&mut self) -> &mut u32;
}

/// The error of an engine stopped with `code`.
pub fn stopped(code: ErrorCode) -> BackendError {
    BackendError::Stopped {
        code,
        meaning: code.meaning(),
    }
}

/// Decode a STATUS word.
pub fn decode_status(w: u32) -> Status {
    let r = regs::reg("STATUS");
    let code = r.field("ERROR_CODE").get(w);
    Status {
        busy: r.field("BUSY").get(w) == 1,
        error: ErrorCode::from_code(code).unwrap_or(ErrorCode::None),
        queue_free: r.field("QUEUE_FREE").get(w),
    }
}

/// Read `count` registers from the one named `name`, which must answer OKAY.
pub fn read_ok(
    bus: &mut impl RegisterBus,
    name: &str,
    count: usize,
) -> Result<Vec<u32>, BackendError> {
    let (v, resp) = bus.read_regs(regs::reg(name).offset, count)?;
    if resp != RESP_OKAY {
        return Err(BackendError::Other(format!(
            "read of {name} answered {resp}"
        )));
    }
    Ok(v)
}

/// Write the register `name`, which must answer OKAY.
pub fn write_ok(bus: &mut impl RegisterBus, name: &str, value: u32) -> Result<(), BackendError> {
    let resp = bus.write_regs(regs::reg(name).offset, 0xF, &[value])?;
    if resp != RESP_OKAY {
        return Err(BackendError::Other(format!(
            "write of {name} answered {resp}"
        )));
    }
    Ok(())
}

/// The raw STATUS word.
pub fn status_word(bus: &mut impl RegisterBus) -> Result<u32, BackendError> {
    Ok(read_ok(bus, "STATUS", 1)?[0])
}

/// STATUS, decoded.
pub fn status(bus: &mut impl RegisterBus) -> Result<Status, BackendError> {
    status_word(bus).map(decode_status)
}

/// Write `values` into entries `entry..` of SBUF partition `partition`: runs of whole words
/// in one write each, a partly filled word at either end on its own with its strobe.
pub fn write_sbuf(
    bus: &mut impl RegisterBus,
    partition: u32,
    entry: u32,
    values: &[i64],
) -> Result<(), BackendError> {
    check_sbuf_write(bus.config(), partition, entry, values)?;
    let words = regs::sbuf_words(bus.config(), partition, entry, values);
    let mut run: Vec<u32> = vec![];
    let mut run_addr = 0;
    for regs::SbufWord { addr, data, strb } in words {
        if strb == 0xF {
            if run.is_empty() {
                run_addr = addr;
            }
            run.push(data);
        } else {
            sbuf_write(bus, run_addr, 0xF, &std::mem::take(&mut run))?;
            sbuf_write(bus, addr, strb, &[data])?;
        }
    }
    sbuf_write(bus, run_addr, 0xF, &run)
}

fn sbuf_write(
    bus: &mut impl RegisterBus,
    addr: u32,
    strb: u8,
    words: &[u32],
) -> Result<(), BackendError> {
    if words.is_empty() {
        return Ok(());
    }
    let resp = bus.write_regs(addr, strb, words)?;
    if resp != RESP_OKAY {
        return Err(BackendError::Other(format!(
            "SBUF write to {addr:#x} answered {resp}"
        )));
    }
    Ok(())
}

/// Push a raw 64-bit instruction word (the engine checks it), after polling STATUS while no
/// queue slot is known free.
pub fn push_word(bus: &mut impl RegisterBus, word: u64) -> Result<(), BackendError> {
    let mut n = 0;
    while *bus.free_known() == 0 {
        bus.poll(n)?;
        n += 1;
        let st = status(bus)?;
        *bus.free_known() = st.queue_free;
        if st.queue_free == 0 && st.error != ErrorCode::None {
            return Err(stopped(st.error));
        }
    }
    let resp = bus.write_regs(
        regs::reg("INSTR_LO").offset,
        0xF,
        &[word as u32, (word >> 32) as u32],
    )?;
    if resp != RESP_OKAY {
        let st = status(bus)?;
        return Err(stopped(st.error));
    }
    *bus.free_known() -= 1;
    Ok(())
}

/// Poll STATUS until the engine is idle, or stalled (only a load waits for a swap nobody
/// pushed: nothing more will happen; the golden back end reports that state as busy too).
pub fn wait_idle(bus: &mut impl RegisterBus) -> Result<Status, BackendError> {
    let mut n = 0;
    loop {
        bus.poll(n)?;
        n += 1;
        let w = status_word(bus)?;
        let st = decode_status(w);
        *bus.free_known() = st.queue_free;
        if !st.busy || regs::reg("STATUS").field("STALLED").get(w) == 1 {
            return Ok(st);
        }
    }
}

/// Read one PSUM entry (all columns, accumulator bit patterns): select it, wait for the
/// snapshot, then read its (low, high) word pairs in one read (the last high word is left out
/// when ACC_W <= 32).
pub fn read_psum(
    bus: &mut impl RegisterBus,
    bank: u32,
    addr: u32,
) -> Result<Vec<u64>, BackendError> {
    let r = regs::reg("PSUM_SELECT");
    let (fa, fb) = (r.field("ADDR"), r.field("BANK"));
    if addr > fa.mask() || bank > fb.mask() {
        return Err(BackendError::Other(format!(
            "PSUM bank {bank} / address {addr} do not fit PSUM_SELECT"
        )));
    }
    let resp = bus.write_regs(r.offset, 0xF, &[fa.put(addr) | fb.put(bank)])?;
    if resp != RESP_OKAY {
        let st = status(bus)?;
        return Err(stopped(st.error));
    }
    let valid = regs::reg("STATUS").field("PSUM_VALID");
    let mut n = 0;
    loop {
        bus.poll(n)?;
        n += 1;
        if valid.get(status_word(bus)?) == 1 {
            break;
        }
    }
    let acc_w = bus.config().derived.acc_w;
    let cols = bus.config().cols as usize;
    let (words, resp) = bus.read_regs(
        regs::psum_data_address(0, false),
        2 * cols - 1 + usize::from(acc_w > 32),
    )?;
    if resp != RESP_OKAY {
        return Err(BackendError::Other("PSUM_DATA answered SLVERR".into()));
    }
    Ok((0..cols)
        .map(|c| {
            let lo = u64::from(words[2 * c]);
            let hi = if acc_w > 32 {
                u64::from(words[2 * c + 1])
            } else {
                0
            };
            (hi << 32 | lo) & mask(acc_w)
        })
        .collect())
}

/// CYCLES, MACS and RETIRED in one read, in address order.
pub fn counters(bus: &mut impl RegisterBus) -> Result<Counters, BackendError> {
    let v = read_ok(bus, "CYCLES_LO", 5)?;
    Ok(Counters {
        busy_cycles: u64::from(v[1]) << 32 | u64::from(v[0]),
        macs: u64::from(v[3]) << 32 | u64::from(v[2]),
        retired: u64::from(v[4]),
    })
}

/// CONTROL.CLEAR_ERROR: empties the instruction queue and resumes.
pub fn clear_error(bus: &mut impl RegisterBus) -> Result<(), BackendError> {
    let v = regs::reg("CONTROL").field("CLEAR_ERROR").put(1);
    write_ok(bus, "CONTROL", v)?;
    *bus.free_known() = 0;
    Ok(())
}
