//! Checks of the board design `systolic_board` through its UART pins, driven the way a host
//! drives it ([`SimBoard`], [`UartEngine`], raw frames): the board level of the mutation
//! campaign (`crate::mutate`, `docs/verification.md`). Each returns `Err` with the first thing
//! that differs from `docs/uart-protocol.md` (or from the golden engine); a check that saw no
//! traffic answered is a failure, never a pass.
//!
//! - [`link`]: a clean line: the LEDs after reset (error and active off, the heartbeat's
//!   period), `connect` (identity), products against the golden engine (partial-strobe SBUF
//!   words, 16-word WRITE bursts, instruction pushes, STATUS polls, PSUM reads, counters), every
//!   READ burst length 1..16 against single-word reads (unmapped words: 0 and SLVERR), and no
//!   retry, timeout, NAK, CRC error or framing error on the way.
//! - [`faults`]: a push with the SEQ of the first READ since power-up (not executed); every byte of an instruction push corrupted in turn (NAK or timeout, one
//!   retry, executed exactly once), every byte of a READ response corrupted, a lost response
//!   (the retried WRITE answered with its stored RESP, not executed again: OKAY and SLVERR), the
//!   retry rule's SEQ bookkeeping with raw frames, malformed requests (NAK 0x02, nothing
//!   executed), LEN above 69 and a framing error (dropped silently), bytes that arrive while the
//!   board answers (dropped), pauses inside a frame just under and over the inter-byte timeout,
//!   the reset button (a partial frame and the remembered SEQ forgotten), the error LED after
//!   each kind of link error, a glitch on the line (ignored), bits right only at mid-bit (the
//!   receiver samples there), a frame sent inside the reset's
//!   15-cycle stretch (not received); and the board's bytes sent back to
//!   back within each frame (both checks).

use crate::config::Config;
use crate::engine::gemm::{gemm, GemmOptions, Matrix};
use crate::engine::golden::GoldenEngine;
use crate::engine::Engine;
use crate::frame::{self, Decoder, Frame};
use crate::isa::{ErrorCode, Instr};
use crate::program::SplitMix64;
use crate::regs;
use crate::rtl::board::BoardParams;
use crate::uart::engine::UartEngine;
use crate::uart::{LinkOptions, LinkStats, Transport};

use super::board::{Direction, Fault, LineStats, SimBoard};
use super::engine_checks::random_matrix;
use super::verilator::Model;

/// The board parameters of the campaign: 8 cycles per bit (a short simulation), a 4-bit
/// heartbeat counter (its LED toggles every 8 cycles, checkable), a button and 3 LEDs, both
/// active low, no PLL.
pub fn campaign_params() -> BoardParams {
    BoardParams {
        clks_per_bit: 8,
        btn_active_low: true,
        led_active_low: true,
        heartbeat_w: 4,
        button: true,
        leds: 3,
        pll: None,
    }
}

type Check = Result<(), String>;

fn fresh(model: &Model, params: &BoardParams) -> Result<SimBoard, String> {
    SimBoard::from_model(model, params).map_err(|e| format!("simulate: {e}"))
}

fn connect(b: SimBoard, cfg: &Config) -> Result<UartEngine<SimBoard>, String> {
    UartEngine::connect(b, cfg, LinkOptions::default()).map_err(|e| format!("connect: {e}"))
}

fn board(e: &mut UartEngine<SimBoard>) -> &mut SimBoard {
    e.bus_mut().link_mut().transport_mut()
}

/// LED bit `i` (0 link error, 1 heartbeat, 2 link active) as lit.
fn led(b: &SimBoard, i: u32) -> Result<bool, String> {
    let lit = b.leds_lit().ok_or("the board design has no LED port")?;
    Ok(lit >> i & 1 == 1)
}

fn expect_led(b: &SimBoard, i: u32, on: bool, when: &str) -> Check {
    if led(b, i)? != on {
        let name = ["error", "heartbeat", "active"][i as usize];
        return Err(format!(
            "{when}: the {name} LED is {}, expected {}",
            if on { "off" } else { "on" },
            if on { "on" } else { "off" }
        ));
    }
    Ok(())
}

/// The heartbeat LED toggles every `2^(HEARTBEAT_W - 1)` cycles: watched for 8 periods.
fn heartbeat(b: &mut SimBoard, params: &BoardParams) -> Check {
    let period = 1u64 << (params.heartbeat_w - 1);
    let mut last = led(b, 1)?;
    let mut toggles = vec![];
    for c in 0..8 * period {
        b.idle(1);
        let now = led(b, 1)?;
        if now != last {
            toggles.push(c);
        }
        last = now;
    }
    let steady = toggles.windows(2).all(|w| w[1] - w[0] == period);
    if toggles.len() != 8 || !steady {
        return Err(format!(
            "heartbeat: toggles at cycles {toggles:?}, expected one every {period} cycles"
        ));
    }
    Ok(())
}

/// `C = A x B` on the board and on the golden engine: C, MACs and instructions retired equal.
fn product(e: &mut UartEngine<SimBoard>, m: usize, k: usize, n: usize, seed: u64) -> Check {
    let cfg = e.config().clone();
    let mut rng = SplitMix64::new(seed);
    let a = random_matrix(&cfg, m, k, &mut rng);
    let b = random_matrix(&cfg, k, n, &mut rng);
    let what = format!("{m}x{k}x{n}");
    let mut golden = GoldenEngine::new(&cfg);
    let want = gemm(&mut golden, &a, &b, &GemmOptions::default())
        .map_err(|err| format!("the golden engine refuses {what}: {err}"))?;
    let got = gemm(e, &a, &b, &GemmOptions::default()).map_err(|err| format!("{what}: {err}"))?;
    if got.c != want.c {
        return Err(first_difference(&what, &got.c, &want.c));
    }
    let (g, w) = (got.counters, want.counters);
    if (g.macs, g.retired) != (w.macs, w.retired) {
        return Err(format!(
            "{what}: MACS {} RETIRED {}, golden {} and {}",
            g.macs, g.retired, w.macs, w.retired
        ));
    }
    Ok(())
}

fn first_difference(what: &str, got: &Matrix, want: &Matrix) -> String {
    let (i, j) = (0..got.rows)
        .flat_map(|i| (0..got.cols).map(move |j| (i, j)))
        .find(|&(i, j)| got.get(i, j) != want.get(i, j))
        .unwrap_or((0, 0));
    format!(
        "{what}: C[{i}][{j}] = {}, expected {}",
        got.get(i, j),
        want.get(i, j)
    )
}

/// The 16 words from `base`, one READ each: (word, RESP).
fn single_reads(e: &mut UartEngine<SimBoard>, base: u32) -> Result<Vec<(u32, u32)>, String> {
    (0..frame::MAX_BURST)
        .map(|i| {
            let (w, r) = e
                .bus_mut()
                .read_words(base + 4 * i, 1)
                .map_err(|x| x.to_string())?;
            Ok((w[0], r))
        })
        .collect()
}

/// Every READ burst length 1..16 from `base` against `single` (the same words read one at a
/// time): the words in order, RESP the OR of theirs.
fn bursts_match(e: &mut UartEngine<SimBoard>, base: u32, single: &[(u32, u32)]) -> Check {
    for n in 1..=single.len() {
        let (w, r) = e.bus_mut().read_words(base, n).map_err(|x| x.to_string())?;
        let want_w: Vec<u32> = single[..n].iter().map(|s| s.0).collect();
        let want_r = single[..n].iter().fold(0, |a, s| a | s.1);
        if (w.as_slice(), r) != (want_w.as_slice(), want_r) {
            return Err(format!(
                "READ burst of {n} words at {base:#x}: {w:x?} RESP {r}, single reads \
                 {want_w:x?} RESP {want_r}"
            ));
        }
    }
    Ok(())
}

/// Every READ burst length from the register block at 0 (identity words first, then registers
/// that hold still while the engine is idle, write-only and unmapped words) and from the PSUM
/// snapshot window (mapped words, then unmapped ones that answer 0 with SLVERR) against the
/// same words read one at a time; then the engine's BusAddress error, cleared.
fn read_bursts(e: &mut UartEngine<SimBoard>) -> Check {
    // The first pass sets BusAddress (unmapped words), which STATUS then shows throughout.
    single_reads(e, 0)?;
    let block = single_reads(e, 0)?;
    bursts_match(e, 0, &block)?;
    let base = regs::PSUM_DATA_BASE;
    let single = single_reads(e, base)?;
    let mapped = 2 * e.config().cols as usize;
    for (i, &(w, r)) in single.iter().enumerate() {
        let want_err = i >= mapped;
        if want_err != (r == regs::RESP_SLVERR) || (want_err && w != 0) || r & 1 != 0 {
            return Err(format!(
                "READ of PSUM window word {i} answered {w:#x} with RESP {r} ({mapped} words mapped)"
            ));
        }
    }
    bursts_match(e, base, &single)?;
    let st = e.wait_idle().map_err(|x| x.to_string())?;
    if st.error != ErrorCode::BusAddress {
        return Err(format!(
            "after unmapped reads ERROR_CODE is {:?}, expected BusAddress",
            st.error
        ));
    }
    e.clear_error().map_err(|x| x.to_string())?;
    Ok(())
}

/// Identity words one at a time (ID, VERSION, GEOMETRY, MEMORY) against the configuration.
fn identity_words(e: &mut UartEngine<SimBoard>) -> Check {
    let cfg = e.config().clone();
    let want = [
        regs::ID_VALUE,
        regs::version(&cfg),
        regs::reg("GEOMETRY").constant(&cfg).unwrap_or(0),
        regs::reg("MEMORY").constant(&cfg).unwrap_or(0),
    ];
    for (i, &w) in want.iter().enumerate() {
        let (got, r) = e
            .bus_mut()
            .read_words(4 * i as u32, 1)
            .map_err(|x| x.to_string())?;
        if (got[0], r) != (w, regs::RESP_OKAY) {
            return Err(format!(
                "READ of identity word {i}: {:#x} RESP {r}, expected {w:#x}",
                got[0]
            ));
        }
    }
    Ok(())
}

fn clean(stats: &LinkStats, line: &LineStats, when: &str) -> Check {
    let s = stats;
    let framing = line.framing_errors;
    if s.retries + s.timeouts + s.naks + s.crc_errors + s.ignored + framing != 0 {
        return Err(format!(
            "{when}: a clean line needed retries {}, timeouts {}, NAKs {}, CRC errors {}, \
             ignored frames {}, framing errors {framing}",
            s.retries, s.timeouts, s.naks, s.crc_errors, s.ignored
        ));
    }
    back_to_back(line)?;
    if s.requests < 20 || s.bytes_received == 0 {
        return Err(format!("{when}: too little traffic answered: {s:?}"));
    }
    Ok(())
}

/// The clean-line check ([module docs](self)); products drawn from `seed`.
pub fn link(model: &Model, params: &BoardParams, cfg: &Config, seed: u64) -> Check {
    let mut b = fresh(model, params)?;
    expect_led(&b, 0, false, "after reset")?;
    expect_led(&b, 2, false, "after reset")?;
    heartbeat(&mut b, params)?;
    let mut e = connect(b, cfg)?;
    identity_words(&mut e)?;
    let mut rng = SplitMix64::new(seed);
    let (r, c) = (cfg.rows as u64, cfg.cols as u64);
    // A 1x1x1; two random shapes of a few tiles (odd N: rows end in partial SBUF words); one
    // with rows of 64 int8 elements (16-word WRITE bursts).
    let wide = 64.min(cfg.sbuf_depth as usize);
    let shapes = [
        (1, 1, 1),
        (
            1 + rng.below(2 * c) as usize,
            1 + rng.below(2 * r) as usize,
            1 + rng.below(9) as usize,
        ),
        (
            1 + rng.below(c + 1) as usize,
            1 + rng.below(r + 1) as usize,
            3 + 2 * rng.below(4) as usize,
        ),
        (1, 1 + rng.below(r) as usize, wide),
    ];
    for (i, (m, k, n)) in shapes.into_iter().enumerate() {
        product(&mut e, m, k, n, seed.wrapping_add(i as u64))?;
    }
    read_bursts(&mut e)?;
    product(&mut e, 2, 2, 3, seed ^ 0x55)?;
    let line = board(&mut e).stats;
    clean(&e.bus().stats(), &line, "clean line")?;
    let b = board(&mut e);
    expect_led(b, 0, false, "after a clean session")?;
    expect_led(b, 2, false, "idle after a clean session")?;
    Ok(())
}

// ------------------------------------------------------------------ faults ----

/// The one-word FENCE as a 2-word WRITE at INSTR_LO (an instruction push).
fn fence_words() -> [u32; 2] {
    let w = Instr::Fence
        .encode()
        .into_iter()
        .next()
        .expect("FENCE is one word");
    [w as u32, (w >> 32) as u32]
}

fn push_frame(seq: u8) -> Frame {
    Frame::write(seq, regs::reg("INSTR_LO").offset, 0xF, &fence_words())
}

fn encode(f: &Frame) -> Vec<u8> {
    f.encode().expect("a request frame fits")
}

/// RETIRED, read over the link once the engine is idle.
fn retired(e: &mut UartEngine<SimBoard>) -> Result<u64, String> {
    e.wait_idle().map_err(|x| x.to_string())?;
    Ok(e.counters().map_err(|x| x.to_string())?.retired)
}

fn delta(a: &LinkStats, b: &LinkStats) -> (u64, u64, u64, u64) {
    (
        b.retries - a.retries,
        b.naks - a.naks,
        b.timeouts - a.timeouts,
        b.crc_errors - a.crc_errors,
    )
}

/// Every byte of an instruction push corrupted in turn: the payload and CRC bytes draw a NAK,
/// the header bytes a NAK or a timeout; one retry each, and every push retires exactly once.
fn corrupted_pushes(e: &mut UartEngine<SimBoard>, rng: &mut SplitMix64) -> Check {
    let before_retired = retired(e)?;
    let len = encode(&push_frame(0)).len() as u64;
    for pos in 0..len {
        // Header bytes: bit 4 (a LEN made longer: the board waits, the host times out).
        let mask = if pos < 4 { 0x10 } else { 1 << rng.below(8) };
        board(e).inject(Direction::ToBoard, pos, Fault::Flip(mask));
        let before = e.bus().stats();
        let resp = e
            .bus_mut()
            .write_words(regs::reg("INSTR_LO").offset, 0xF, &fence_words())
            .map_err(|x| format!("push with byte {pos} corrupted: {x}"))?;
        let (retries, naks, timeouts, _) = delta(&before, &e.bus().stats());
        let nak_expected = pos >= 4 || pos == 1;
        let ok = retries == 1
            && naks + timeouts == 1
            && (naks == 1) == nak_expected
            && resp == regs::RESP_OKAY;
        if !ok {
            return Err(format!(
                "push with byte {pos} flipped by {mask:#04x}: RESP {resp}, {retries} retries, \
                 {naks} NAKs, {timeouts} timeouts (expected one retry after {})",
                if nak_expected { "a NAK" } else { "a timeout" }
            ));
        }
    }
    let n = retired(e)? - before_retired;
    if n != len {
        return Err(format!(
            "{len} pushes with a corrupted first try retired {n}"
        ));
    }
    Ok(())
}

/// Every byte of a 3-word READ response corrupted in turn: one retry (after a CRC error or a
/// timeout), the right words.
fn corrupted_responses(e: &mut UartEngine<SimBoard>, rng: &mut SplitMix64) -> Check {
    let cfg = e.config().clone();
    let want = [
        regs::ID_VALUE,
        regs::version(&cfg),
        regs::reg("GEOMETRY").constant(&cfg).unwrap_or(0),
    ];
    for pos in 0..(frame::FRAME_OVERHEAD + 1 + 12) as u64 {
        let mask = 1 << rng.below(8);
        board(e).inject(Direction::ToHost, pos, Fault::Flip(mask));
        let before = e.bus().stats();
        let (w, r) = e
            .bus_mut()
            .read_words(0, 3)
            .map_err(|x| format!("response byte {pos} corrupted: {x}"))?;
        let (retries, _, timeouts, crc) = delta(&before, &e.bus().stats());
        if w != want || r != 0 || retries != 1 || timeouts + crc != 1 {
            return Err(format!(
                "READ with response byte {pos} flipped by {mask:#04x}: {w:x?} RESP {r}, \
                 {retries} retries, {crc} CRC errors, {timeouts} timeouts"
            ));
        }
    }
    Ok(())
}

/// A WRITE whose response is lost is retried with its SEQ and answered with the stored RESP,
/// not executed again: a push (OKAY, retires once) and a write to a read-only register
/// (SLVERR, then cleared), then a push again (the stored RESP follows the last WRITE).
fn lost_write_responses(e: &mut UartEngine<SimBoard>) -> Check {
    let id_reg = regs::reg("ID").offset;
    let instr = regs::reg("INSTR_LO").offset;
    for (addr, words, want) in [
        (instr, &fence_words()[..], regs::RESP_OKAY),
        (id_reg, &[0u32][..], regs::RESP_SLVERR),
        (instr, &fence_words()[..], regs::RESP_OKAY),
    ] {
        let r0 = retired(e)?;
        if want == regs::RESP_OKAY {
            e.clear_error().map_err(|x| x.to_string())?;
        }
        let before = e.bus().stats();
        // The response's RESP byte is lost: a CRC error at the host, which retries.
        board(e).inject(Direction::ToHost, 4, Fault::Drop);
        let resp = e
            .bus_mut()
            .write_words(addr, 0xF, words)
            .map_err(|x| x.to_string())?;
        let (retries, ..) = delta(&before, &e.bus().stats());
        let n = retired(e)? - r0;
        let pushes = u64::from(addr == instr);
        if (resp, retries, n) != (want, 1, pushes) {
            return Err(format!(
                "WRITE at {addr:#x} with its response lost: RESP {resp} (expected {want}), \
                 {retries} retries, {n} instructions retired (expected {pushes})"
            ));
        }
    }
    e.clear_error().map_err(|x| x.to_string())
}

/// Send `bytes` on a quiet line and collect the frames the board sends until the line has been
/// quiet for `quiet` character times.
fn exchange(b: &mut SimBoard, bytes: &[u8], quiet: u32) -> Result<Vec<Frame>, String> {
    b.discard_input().map_err(|x| x.to_string())?;
    b.send(bytes).map_err(|x| x.to_string())?;
    answers(b, quiet)
}

fn answers(b: &mut SimBoard, quiet: u32) -> Result<Vec<Frame>, String> {
    let mut dec = Decoder::new();
    let mut out = vec![];
    while let Some(x) = b.recv(quiet).map_err(|x| x.to_string())? {
        match dec.push(x) {
            Some(Ok(f)) => out.push(f),
            Some(Err(err)) => return Err(format!("the board sent a corrupted frame: {err}")),
            None => {}
        }
    }
    if dec.in_frame() {
        return Err("the board stopped in the middle of a frame".into());
    }
    Ok(out)
}

/// The one answer to `req`: the response (or NAK) with its SEQ, and nothing else.
fn one_answer(b: &mut SimBoard, req: &Frame, what: &str) -> Result<Frame, String> {
    let got = exchange(b, &encode(req), 16)?;
    match got.as_slice() {
        [f] if f.seq == req.seq => Ok(f.clone()),
        _ => Err(format!("{what}: the board answered {got:x?}")),
    }
}

fn expect_answer(b: &mut SimBoard, req: &Frame, cmd: u8, payload0: u8, what: &str) -> Check {
    let f = one_answer(b, req, what)?;
    if f.cmd != cmd || f.payload.first() != Some(&payload0) {
        return Err(format!(
            "{what}: answered CMD {:#04x} payload {:x?}, expected CMD {cmd:#04x} first byte {payload0:#04x}",
            f.cmd, f.payload
        ));
    }
    Ok(())
}

fn ack_write(b: &mut SimBoard, req: &Frame, what: &str) -> Check {
    expect_answer(b, req, frame::CMD_WRITE | frame::RESPONSE_BIT, 0, what)
}

/// The retry rule with raw frames: a WRITE with the SEQ of the last executed frame (a READ
/// too) is answered but not executed; a NAKed frame does not change the remembered SEQ; a
/// reset forgets it.
fn retry_rule(e: &mut UartEngine<SimBoard>) -> Check {
    let r0 = retired(e)?;
    let b = board(e);
    let id_read = |seq| Frame::read(seq, regs::reg("ID").offset, 1);
    expect_answer(b, &id_read(0x70), 0x81, 0, "READ seq 0x70")?;
    ack_write(b, &push_frame(0x70), "push with the READ's SEQ")?;
    ack_write(b, &push_frame(0x71), "push seq 0x71")?;
    // A corrupted copy of a new push: NAKed, and the SEQ remembered stays 0x71.
    let mut bad = encode(&push_frame(0x72));
    bad[6] ^= 0x04;
    let got = exchange(b, &bad, 16)?;
    if got.len() != 1 || got[0].cmd != frame::CMD_NAK || got[0].payload != [frame::NAK_CRC] {
        return Err(format!("a push with a bad CRC: answered {got:x?}"));
    }
    ack_write(b, &push_frame(0x71), "push seq 0x71 again after a NAK")?;
    ack_write(b, &push_frame(0x72), "push seq 0x72")?;
    let n = retired(e)? - r0;
    if n != 2 {
        return Err(format!(
            "pushes 0x70 (after a READ 0x70), 0x71, 0x71 again, 0x72: {n} retired, expected 2"
        ));
    }
    // After a reset nothing is remembered: the same push twice around a reset runs twice.
    let b = board(e);
    b.press_reset();
    ack_write(b, &push_frame(0x73), "push after a reset")?;
    b.press_reset();
    ack_write(b, &push_frame(0x73), "the same push after another reset")?;
    e.forget_queue();
    let n = retired(e)?;
    if n != 1 {
        return Err(format!(
            "a push, a reset, the same push: RETIRED {n} after the second reset, expected 1"
        ));
    }
    Ok(())
}

/// The first frames since power-up: a READ, then a push with its SEQ (a retry: answered, not
/// executed; checked by the caller through RETIRED). Its RESP is the stored RESP of a WRITE
/// that never happened, which the protocol leaves open: not checked.
fn first_frames(b: &mut SimBoard) -> Check {
    let id_read = Frame::read(0x30, regs::reg("ID").offset, 1);
    expect_answer(b, &id_read, 0x81, 0, "the first READ since power-up")?;
    let f = one_answer(b, &push_frame(0x30), "a push with the first READ's SEQ")?;
    if f.cmd != frame::CMD_WRITE | frame::RESPONSE_BIT || f.payload.len() != 1 {
        return Err(format!("a push with the first READ's SEQ: answered {f:x?}"));
    }
    Ok(())
}

/// Malformed requests: answered with NAK 0x02 and the request's SEQ, not executed (the WRITEs
/// aim at INSTR_LO, so one executed would push).
fn malformed(e: &mut UartEngine<SimBoard>) -> Check {
    let r0 = retired(e)?;
    let instr = regs::reg("INSTR_LO").offset.to_le_bytes();
    let fence = fence_words();
    let mut push_bytes = instr.to_vec();
    push_bytes.push(0x0F);
    push_bytes.extend(fence.iter().flat_map(|w| w.to_le_bytes()));
    let raw = |cmd: u8, seq: u8, payload: Vec<u8>| Frame { cmd, seq, payload };
    let cases = [
        ("unknown CMD 0x05", raw(0x05, 0x40, vec![0; 5])),
        (
            "a response CMD as a request",
            raw(0x82, 0x41, push_bytes.clone()),
        ),
        ("READ of 0 words", Frame::read(0x42, 0, 0)),
        ("READ of 17 words", Frame::read(0x43, 0, 17)),
        ("READ COUNT 0x81", Frame::read(0x44, 0, 0x81)),
        (
            "READ with LEN 6",
            raw(frame::CMD_READ, 0x45, vec![0, 0, 0, 0, 1, 0]),
        ),
        ("READ with LEN 0", raw(frame::CMD_READ, 0x46, vec![])),
        (
            "WRITE of no word",
            raw(frame::CMD_WRITE, 0x47, push_bytes[..5].to_vec()),
        ),
        (
            "WRITE of 6 data bytes",
            raw(frame::CMD_WRITE, 0x48, push_bytes[..11].to_vec()),
        ),
        (
            "WRITE of 7 data bytes",
            raw(frame::CMD_WRITE, 0x49, push_bytes[..12].to_vec()),
        ),
    ];
    let b = board(e);
    for (what, f) in &cases {
        expect_answer(b, f, frame::CMD_NAK, frame::NAK_BAD_REQUEST, what)?;
    }
    let n = retired(e)? - r0;
    if n != 0 {
        return Err(format!(
            "malformed WRITEs at INSTR_LO retired {n} instructions"
        ));
    }
    Ok(())
}

/// A READ of VERSION whose bytes after index `k` hold no SYNC (so that, once the board has
/// dropped it there, the rest passes while it hunts), with the first such SEQ from `seq`.
fn read_without_sync_after(k: usize, seq: u8) -> (u8, Vec<u8>) {
    (0..=255u8)
        .map(|d| seq.wrapping_add(d))
        .map(|s| (s, encode(&Frame::read(s, regs::reg("VERSION").offset, 1))))
        .find(|(_, b)| !b[k + 1..].contains(&frame::SYNC))
        .expect("some SEQ gives such a frame")
}

/// After a frame the board must have dropped (`what`): silence, the error LED on, and a clean
/// READ sent at once is answered; then a reset turns the LED off.
fn dropped(b: &mut SimBoard, what: &str, seq: u8) -> Check {
    let got = answers(b, 4)?;
    if !got.is_empty() {
        return Err(format!("{what}: answered {got:x?}, expected silence"));
    }
    expect_led(b, 0, true, what)?;
    let ok = Frame::read(seq, regs::reg("ID").offset, 1);
    expect_answer(b, &ok, 0x81, 0, &format!("a READ right after {what}"))?;
    b.press_reset();
    expect_led(b, 0, false, &format!("after {what} and a reset"))
}

/// Frames the board must drop without an answer, each lighting the error LED: a LEN above 69
/// and a framing error in each part of a frame (dropped at once: a whole READ sent right after
/// is answered), a pause longer than the inter-byte timeout after each part. A pause just under
/// the timeout is not an error.
fn silent_drops(e: &mut UartEngine<SimBoard>) -> Check {
    let cpb = u64::from(board(e).clks_per_bit());
    let timeout = u64::from(frame::TIMEOUT_CHARS) * 10 * cpb;
    let b = board(e);
    b.press_reset();
    expect_led(b, 0, false, "after reset")?;
    let (seq, under) = read_without_sync_after(5, 0x50);
    b.send_with_gap(&under, 5, timeout - 160 * cpb)
        .map_err(|x| x.to_string())?;
    let got = answers(b, 16)?;
    if got.len() != 1 || got[0].seq != seq {
        return Err(format!(
            "a frame with a pause under the timeout: answered {got:x?}"
        ));
    }
    expect_led(b, 0, false, "a pause under the timeout")?;
    let mut len70 = encode(&Frame::write(0x51, 0, 0xF, &[0; 16]))[..4].to_vec();
    len70[3] = 70;
    b.send(&len70).map_err(|x| x.to_string())?;
    dropped(b, "a LEN of 70", 0x52)?;
    // Byte k of a READ (CMD, SEQ, LEN, payload, CRC) with a low stop bit.
    for k in [1usize, 2, 3, 4, 8, 9, 10] {
        let (seq, bytes) = read_without_sync_after(k, 0x53 + k as u8);
        b.inject(Direction::ToBoard, k as u64, Fault::BadStop);
        b.send(&bytes).map_err(|x| x.to_string())?;
        dropped(
            b,
            &format!("a framing error in byte {k}"),
            seq.wrapping_add(0x40),
        )?;
    }
    // Silence over the timeout after byte k (SYNC, CMD, SEQ, LEN, payload, CRC high).
    for k in [0usize, 1, 2, 3, 6, 9] {
        let (seq, bytes) = read_without_sync_after(k, 0x70 + k as u8);
        b.send_with_gap(&bytes, k, timeout + 160 * cpb)
            .map_err(|x| x.to_string())?;
        dropped(
            b,
            &format!("a pause over the timeout after byte {k}"),
            seq ^ 0x80,
        )?;
    }
    Ok(())
}

/// The reset lasts 15 cycles after the (synchronised) button is released: a READ whose first
/// start bit comes 12 cycles after a 1-cycle press is not received (no answer); the board
/// hears again after the inter-byte timeout, a READ 40 cycles after a press is answered.
fn reset_stretch(b: &mut SimBoard) -> Check {
    let timeout_chars = frame::TIMEOUT_CHARS + 16;
    b.press_button(1, 12);
    b.send(&encode(&Frame::read(0x68, 0, 1)))
        .map_err(|x| x.to_string())?;
    let got = answers(b, 16)?;
    if !got.is_empty() {
        return Err(format!(
            "a READ starting 12 cycles after a 1-cycle reset press (inside the 15-cycle reset) \
             was answered: {got:x?}"
        ));
    }
    // Whatever the receiver made of the rest is dropped by the bridge's timeout.
    let _ = answers(b, timeout_chars)?;
    b.press_button(1, 40);
    expect_answer(
        b,
        &Frame::read(0x69, 0, 1),
        0x81,
        0,
        "a READ 40 cycles after a reset",
    )?;
    b.press_reset();
    Ok(())
}

/// The receiver ignores a glitch (a low pulse shorter than half a bit): a READ sent a bit time
/// after it is answered. It samples each bit at its middle: a READ whose bits are right only in
/// cycle CLKS_PER_BIT / 2 of their bit time (inverted in the others) is answered. The active LED is on while a frame comes in; a reset in the middle of
/// a frame drops it. A READ sent while the board still answers a 16-word READ is dropped.
fn line_events(e: &mut UartEngine<SimBoard>) -> Check {
    let cpb = u64::from(board(e).clks_per_bit());
    let b = board(e);
    for (i, width) in [1, cpb / 2 - 2].into_iter().enumerate() {
        b.pulse_low(width);
        b.idle(cpb + 1);
        let req = Frame::read(0x60 + i as u8, regs::reg("ID").offset, 1);
        expect_answer(
            b,
            &req,
            0x81,
            0,
            &format!("a READ after a {width}-cycle glitch"),
        )?;
    }
    b.send(&encode(&Frame::read(0x62, 0, 1))[..3])
        .map_err(|x| x.to_string())?;
    expect_led(b, 2, true, "inside a frame")?;
    b.press_reset();
    expect_led(b, 2, false, "after a reset inside a frame")?;
    expect_answer(
        b,
        &Frame::read(0x63, 0, 1),
        0x81,
        0,
        "a READ after a reset mid-frame",
    )?;
    let mut both = encode(&Frame::read(0x64, regs::PSUM_DATA_BASE, 16));
    both.extend(encode(&Frame::read(0x65, 0, 1)));
    let got = exchange(b, &both, 16)?;
    if got.len() != 1 || got[0].seq != 0x64 || got[0].payload.len() != 65 {
        return Err(format!(
            "a READ arriving while the board answers a 16-word READ: answered {:?}",
            got.iter()
                .map(|f| (f.cmd, f.seq, f.payload.len()))
                .collect::<Vec<_>>()
        ));
    }
    // Bits right only in cycle CLKS_PER_BIT / 2 of their bit time, where the receiver's
    // contract samples them (`src/rtl/board/uart.rs`: the start edge and the samples pass the
    // same 2-flop synchroniser, the start bit is checked CLKS_PER_BIT / 2 cycles after its edge
    // and each bit a bit time later).
    let half = cpb as u32 / 2;
    b.set_bit_window(Some((half, half + 1)));
    let mid = Frame::read(0x66, regs::reg("VERSION").offset, 1);
    let got = one_answer(b, &mid, "a READ whose bits are right only at mid-bit");
    b.set_bit_window(None);
    let v = got?;
    if v.payload.get(1..) != Some(&regs::version(e.config()).to_le_bytes()[..]) {
        return Err(format!("a READ of VERSION with mid-bit-only bits: {v:x?}"));
    }
    let b = board(e);
    reset_stretch(b)?;
    e.forget_queue();
    Ok(())
}

/// The fault check ([module docs](self)); flip masks drawn from `seed`.
pub fn faults(model: &Model, params: &BoardParams, cfg: &Config, seed: u64) -> Check {
    let mut b = fresh(model, params)?;
    first_frames(&mut b)?;
    let mut e = connect(b, cfg)?;
    let n = retired(&mut e)?;
    if n != 0 {
        return Err(format!(
            "a push with the SEQ of the first READ since power-up was executed (RETIRED {n})"
        ));
    }
    expect_led(board(&mut e), 0, false, "after connecting")?;
    let mut rng = SplitMix64::new(seed);
    corrupted_pushes(&mut e, &mut rng)?;
    expect_led(board(&mut e), 0, true, "after NAKs")?;
    corrupted_responses(&mut e, &mut rng)?;
    lost_write_responses(&mut e)?;
    retry_rule(&mut e)?;
    malformed(&mut e)?;
    silent_drops(&mut e)?;
    line_events(&mut e)?;
    e.clear_error().map_err(|x| x.to_string())?;
    // A lost request byte: the board drops the frame at its timeout, the host's retry works.
    board(&mut e).inject(Direction::ToBoard, 7, Fault::Drop);
    let before = e.bus().stats();
    let (w, _) = e
        .bus_mut()
        .read_words(regs::reg("ID").offset, 1)
        .map_err(|x| x.to_string())?;
    let (retries, _, timeouts, _) = delta(&before, &e.bus().stats());
    if (w[0], retries, timeouts) != (regs::ID_VALUE, 1, 1) {
        return Err(format!(
            "a READ with a lost byte: {:#x}, {retries} retries, {timeouts} timeouts",
            w[0]
        ));
    }
    product(&mut e, 2, 3, 2, seed)?;
    back_to_back(&board(&mut e).stats)
}

/// The board's bytes left at one pace, back to back within each frame: one character time
/// apart (start to start), plus at most half a bit, the same for every byte.
fn back_to_back(line: &LineStats) -> Check {
    let (n, spacing) = (line.irregular_spacing, line.spacing);
    match spacing {
        Some((lo, hi)) if n == 0 && lo == hi => Ok(()),
        _ => Err(format!(
            "the board's bytes are not back to back at one pace: {n} irregular, start-to-start \
             distances (least, largest) {spacing:?} cycles"
        )),
    }
}
