//! The UART host link end to end without hardware: the board top `systolic_board` in Verilator,
//! its real `uart_rx`/`uart_tx` pins driven and decoded bit by bit from Rust
//! ([`systolic::cosim::board::SimBoard`], 8 cycles per bit), the host protocol
//! ([`systolic::uart::Link`]) and the engine over it ([`systolic::uart::engine::UartEngine`]).
//!
//! - No tool: CRC-16/CCITT-FALSE check value; frame encode/decode round trips (proptest); no
//!   single-bit error of a frame is ever accepted; the documented byte layout; no board (a
//!   silent line) is `NoAnswer`; a missing serial port is `Open`, a bad baud rate or a non-tty
//!   `Configure`; the board top's parameters from the board files; `board run` without a board
//!   is a one-line error with a hint.
//! - Verilator: `gemm` through the link on int8-4x4, several shapes, bit-exact against the
//!   golden model and a plain triple loop, and on bf16-4x4 against the golden model; every byte
//!   of a request and of a response corrupted in turn (one at a time) and a dropped byte are
//!   each detected (NAK, CRC error, timeout) and recovered by retry; a retried WRITE is not
//!   executed twice (an instruction push whose answer was lost retires once); malformed
//!   requests are refused; a board with another design gives `WrongDesign`; a 3 % baud-rate
//!   mismatch works, 9 % is a link error; `systolic board run --sim` end to end; the real
//!   serial-port code over a pseudo-terminal served by the simulated board (library,
//!   `board probe`, `board run --port`, a wrong design's one-line error).
//! - Lint: the board designs are clean under `verilator --lint-only -Wall` and
//!   `iverilog -g2005 -Wall`, and deterministic; so are their PLL versions (iCE40 SB_PLL40_PAD
//!   and SB_PLL40_CORE, ECP5 EHXPLLL, with the PLL models), and a GEMM runs over the simulated
//!   line on the ECP5 PLL version (the model passes the reference clock through: cycles, not
//!   frequency).
//! - Icarus (second simulator): `hdl/tb_board.v` plays request frames onto the board design's
//!   `uart_rx` and records `uart_tx`: identity, a push, a NAK for a corrupted frame, a retried
//!   push answered without being executed.
//!
//! Tests that need Verilator fail (do not skip) when `CI` is set and the tool is missing.

mod common;

use std::time::Instant;

use proptest::prelude::*;

use systolic::config::{Config, Overrides};
use systolic::cosim::board::{Direction, Fault, SimBoard};
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::{gemm, GemmOptions, Matrix};
use systolic::engine::golden::GoldenEngine;
use systolic::engine::Engine;
use systolic::frame::{self, crc16, Decoder, Frame};
use systolic::golden::reference::reduce;
use systolic::isa::Instr;
use systolic::program::SplitMix64;
use systolic::regs;
use systolic::rtl::board::BoardParams;
use systolic::uart::engine::UartEngine;
use systolic::uart::{Link, LinkError, LinkOptions, Transport};

/// Cycles per UART bit in simulation.
const CPB: u32 = 8;

fn preset() -> Config {
    common::preset("int8-4x4")
}

fn params() -> BoardParams {
    BoardParams {
        clks_per_bit: CPB,
        btn_active_low: true,
        led_active_low: true,
        heartbeat_w: 8,
        button: true,
        leds: 3,
        pll: None,
    }
}

/// A fresh simulated board of `cfg` (built once, then from the Verilator cache); `None` when
/// Verilator is missing outside CI.
fn board(cfg: &Config) -> Option<SimBoard> {
    if !common::require_tool("verilator", "board") {
        return None;
    }
    Some(
        SimBoard::build(cfg, &params(), &HarnessOptions::default())
            .unwrap_or_else(|e| panic!("build the board of {}: {e}", cfg.name)),
    )
}

fn connect(b: SimBoard) -> UartEngine<SimBoard> {
    UartEngine::connect(b, &preset(), LinkOptions::default()).expect("connect")
}

fn random_matrix(rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| match rng.below(8) {
        0 => -128,
        1 => 127,
        _ => rng.range_i64(-128, 127),
    })
}

fn triple_loop(cfg: &Config, a: &Matrix, b: &Matrix) -> Matrix {
    Matrix::from_fn(a.rows, b.cols, |i, j| {
        let s: i128 = (0..a.cols)
            .map(|k| i128::from(a.get(i, k)) * i128::from(b.get(k, j)))
            .sum();
        systolic::format::sign_extend(reduce(s, cfg.acc_bits), cfg.acc_bits)
    })
}

/// `C = A x B` on the board and on the golden model; both must equal the triple loop.
fn check_gemm(e: &mut UartEngine<SimBoard>, m: usize, k: usize, n: usize, seed: u64) {
    let cfg = e.config().clone();
    let mut rng = SplitMix64::new(seed);
    let a = random_matrix(m, k, &mut rng);
    let b = random_matrix(k, n, &mut rng);
    let got =
        gemm(e, &a, &b, &GemmOptions::default()).unwrap_or_else(|err| panic!("{m}x{k}x{n}: {err}"));
    let mut golden = GoldenEngine::new(&cfg);
    let want = gemm(&mut golden, &a, &b, &GemmOptions::default()).expect("golden gemm");
    assert_eq!(
        got.c, want.c,
        "{m}x{k}x{n}: board differs from the golden model"
    );
    assert_eq!(got.c, triple_loop(&cfg, &a, &b), "{m}x{k}x{n}");
    assert_eq!(got.counters.macs, (m * k * n) as u64, "{m}x{k}x{n} MACs");
}

// ---------------------------------------------------------------- no tool ----

#[test]
fn crc16_ccitt_false_check_value() {
    assert_eq!(crc16(b"123456789"), 0x29B1);
    // The incremental form is the same function.
    let inc = b"123456789"
        .iter()
        .fold(0xFFFF, |c, &b| frame::crc16_update(c, b));
    assert_eq!(inc, 0x29B1);
}

proptest! {
    #[test]
    fn frames_round_trip(cmd in any::<u8>(), seq in any::<u8>(),
                         payload in proptest::collection::vec(any::<u8>(), 0..=255),
                         noise in proptest::collection::vec(any::<u8>(), 0..8)) {
        let f = Frame { cmd, seq, payload };
        let mut bytes: Vec<u8> = noise.iter().copied().filter(|&b| b != frame::SYNC).collect();
        bytes.extend(f.encode().unwrap());
        prop_assert_eq!(Decoder::decode_all(&bytes), vec![Ok(f)]);
    }

    #[test]
    fn no_single_bit_error_is_accepted(seq in any::<u8>(), addr in any::<u32>(),
                                       words in proptest::collection::vec(any::<u32>(), 1..=16),
                                       bit in any::<prop::sample::Index>()) {
        let f = Frame::write(seq, addr, 0xF, &words);
        let mut bytes = f.encode().unwrap();
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        // A damaged frame is an error, or (SYNC or LEN hit) no frame at all: never a frame.
        prop_assert!(Decoder::decode_all(&bytes).iter().all(|r| r.is_err()));
    }
}

#[test]
fn request_encodings_match_the_protocol_document() {
    assert_eq!(
        Frame::write(0x10, 0x4000_0000, 0x3, &[0x0403_0201])
            .encode()
            .unwrap(),
        vec![0xA5, 0x02, 0x10, 9, 0x00, 0x00, 0x00, 0x40, 0x03, 0x01, 0x02, 0x03, 0x04, 0x7B, 0xE1]
    );
    let f = Frame::read(0x11, 0x14, 1).encode().unwrap();
    assert_eq!(&f[..9], &[0xA5, 0x01, 0x11, 5, 0x14, 0, 0, 0, 1]);
    assert_eq!(crc16(&f[1..9]).to_be_bytes(), [f[9], f[10]]);
}

/// A line on which nothing ever answers.
struct Silent {
    sent: usize,
}

impl Transport for Silent {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.sent += bytes.len();
        Ok(())
    }
    fn recv(&mut self, _chars: u32) -> Result<Option<u8>, LinkError> {
        Ok(None)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "a silent line".into()
    }
}

#[test]
fn no_board_is_no_answer_after_the_retries() {
    let err = UartEngine::connect(Silent { sent: 0 }, &preset(), LinkOptions::default())
        .err()
        .expect("a silent line cannot connect");
    assert!(
        matches!(err, LinkError::NoAnswer { attempts: 5, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("no answer from the board"),
        "{err}"
    );
    // Every attempt sent the same 11-byte READ of ID..MEMORY.
    let mut link = Link::new(
        Silent { sent: 0 },
        LinkOptions {
            attempts: 3,
            ..LinkOptions::default()
        },
    );
    assert!(link.request(|s| Frame::read(s, 0, 4)).is_err());
    assert_eq!(link.transport().sent, 3 * 11);
    assert_eq!(link.stats.retries, 2);
    assert_eq!(link.stats.timeouts, 3);
}

#[test]
fn missing_serial_port_is_an_open_error() {
    let err = systolic::uart::serial::SerialPort::open("/dev/systolic-no-such-tty", 115_200)
        .err()
        .expect("no such port");
    assert!(matches!(err, LinkError::Open { .. }), "{err}");
    let err = systolic::uart::serial::SerialPort::open("/dev/null", 12_345)
        .err()
        .expect("bad baud");
    assert!(matches!(err, LinkError::Configure { .. }), "{err}");
    // /dev/null opens but is not a terminal.
    let err = systolic::uart::serial::SerialPort::open("/dev/null", 115_200)
        .err()
        .expect("not a tty");
    assert!(matches!(err, LinkError::Configure { .. }), "{err}");
}

// -------------------------------------------------------------- Verilator ----

#[test]
fn gemm_over_the_uart_matches_the_golden_model() {
    let Some(b) = board(&preset()) else { return };
    let t = Instant::now();
    let mut e = connect(b);
    let c0 = e.host_cycles();
    check_gemm(&mut e, 4, 4, 4, 1);
    let (bytes, cycles) = (
        e.bus().stats().bytes_sent + e.bus().stats().bytes_received,
        e.host_cycles() - c0,
    );
    println!(
        "4x4x4 GEMM: {} requests, {} bytes on the line, {} simulated cycles ({} per bit)",
        e.bus().stats().requests,
        bytes,
        cycles,
        CPB
    );
    // (2, 5, 70): B's rows of 70 elements go out as 16-word WRITE bursts (the longest).
    for (i, (m, k, n)) in [(1, 1, 1), (5, 7, 3), (9, 4, 11), (3, 13, 6), (2, 5, 70)]
        .into_iter()
        .enumerate()
    {
        check_gemm(&mut e, m, k, n, 10 + i as u64);
    }
    let s = e.bus().stats();
    assert_eq!(s.retries, 0, "a clean line needs no retry: {s:?}");
    assert_eq!(e.bus().link().transport().stats.framing_errors, 0);
    println!("stats {s:?}, wall {:.1} s", t.elapsed().as_secs_f64());
}

/// Every byte of a WRITE request corrupted in turn (data bits flipped): the board refuses the
/// frame with a NAK (or, SYNC or LEN hit, never completes it and the host times out), the host
/// retries, and the write lands exactly once.
#[test]
fn each_corrupted_request_byte_is_detected_and_retried() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    let base = regs::sbuf_address(&preset(), 1, 0);
    let frame_len = Frame::write(0, base, 0xF, &[0, 0]).encode().unwrap().len() as u64;
    for pos in 0..frame_len {
        let before = e.bus().stats();
        e.bus_mut()
            .link_mut()
            .transport_mut()
            .inject(Direction::ToBoard, pos, Fault::Flip(0x10));
        let words = [pos as u32 * 0x0101_0101, !(pos as u32)];
        let resp = e
            .bus_mut()
            .write_words(base, 0xF, &words)
            .expect("write recovers");
        assert_eq!(resp, regs::RESP_OKAY);
        let after = e.bus().stats();
        assert_eq!(e.bus().link().transport().pending_faults(), 0, "byte {pos}");
        assert_eq!(after.retries - before.retries, 1, "byte {pos}: {after:?}");
        assert_eq!(
            (after.naks - before.naks) + (after.timeouts - before.timeouts),
            1,
            "byte {pos}: one NAK or one timeout"
        );
        if pos >= 4 {
            // Payload and CRC bytes: the frame completes with a bad CRC, answered by a NAK.
            assert_eq!(after.naks - before.naks, 1, "byte {pos}");
        }
    }
    // The SBUF is write-only: check the last write through a product that reads it back.
    check_gemm(&mut e, 2, 3, 2, 99);
}

/// Every byte of a READ response corrupted in turn: the host sees a CRC error (or a timeout when
/// the SYNC or LEN byte is hit), drains the line and asks again; the values are right.
#[test]
fn each_corrupted_response_byte_is_detected_and_retried() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    let cfg = preset();
    let want = [
        regs::ID_VALUE,
        regs::version(&cfg),
        regs::reg("GEOMETRY").constant(&cfg).unwrap(),
    ];
    let len = (frame::FRAME_OVERHEAD + 1 + 12) as u64;
    for pos in 0..len {
        let before = e.bus().stats();
        e.bus_mut()
            .link_mut()
            .transport_mut()
            .inject(Direction::ToHost, pos, Fault::Flip(0x01));
        let (words, resp) = e.bus_mut().read_words(0, 3).expect("read recovers");
        assert_eq!((words.as_slice(), resp), (&want[..], 0), "byte {pos}");
        let after = e.bus().stats();
        assert_eq!(after.retries - before.retries, 1, "byte {pos}: {after:?}");
        assert_eq!(
            (after.crc_errors - before.crc_errors) + (after.timeouts - before.timeouts),
            1,
            "byte {pos}"
        );
    }
}

/// A WRITE whose response is lost is sent again with the same sequence number; the board
/// answers it without executing it again: one instruction pushed, one retired.
#[test]
fn a_retried_instruction_push_executes_once() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    let control = regs::reg("CONTROL");
    e.bus_mut()
        .write_words(
            control.offset,
            0xF,
            &[control.field("CLEAR_COUNTERS").put(1)],
        )
        .unwrap();
    // Learn the free queue slots first, so that the push is the next request.
    e.wait_idle().unwrap();
    let before = e.bus().stats();
    // The next response (the push's) loses its 5th byte (the response code): CRC error, retry.
    e.bus_mut()
        .link_mut()
        .transport_mut()
        .inject(Direction::ToHost, 4, Fault::Drop);
    e.push(Instr::Fence).expect("push recovers");
    let after = e.bus().stats();
    assert_eq!(after.retries - before.retries, 1, "{after:?}");
    assert_eq!(
        after.requests - before.requests,
        1,
        "only the push: {after:?}"
    );
    let st = e.wait_idle().unwrap();
    assert_eq!(st.error, systolic::isa::ErrorCode::None);
    assert_eq!(e.counters().unwrap().retired, 1, "the FENCE retired twice");
    // A READ retried is simply executed again (reads have no side effect that repeats badly).
    e.bus_mut()
        .link_mut()
        .transport_mut()
        .inject(Direction::ToHost, 6, Fault::Flip(0x80));
    assert_eq!(e.counters().unwrap().retired, 1);
}

/// A byte lost on the way to the board: the board waits for it until its inter-byte timeout
/// drops the frame; the host times out (later) and sends again.
#[test]
fn a_dropped_request_byte_times_out_and_is_retried() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    e.bus_mut()
        .link_mut()
        .transport_mut()
        .inject(Direction::ToBoard, 7, Fault::Drop);
    let (words, _) = e.bus_mut().read_words(regs::reg("ID").offset, 1).unwrap();
    assert_eq!(words, vec![regs::ID_VALUE]);
    let s = e.bus().stats();
    assert_eq!((s.timeouts, s.retries), (1, 1), "{s:?}");
    check_gemm(&mut e, 3, 5, 2, 7);
}

/// A board programmed with another design: the VERSION register (configuration hash) differs,
/// and the error names both designs.
#[test]
fn a_board_with_another_design_is_refused() {
    let Some(b) = board(&preset()) else { return };
    let other = Config::from_preset(
        &systolic::config::seeds_dir(),
        "int8-4x4",
        &Overrides {
            psum_depth: Some(32),
            ..Overrides::default()
        },
    )
    .unwrap();
    let err = UartEngine::connect(b, &other, LinkOptions::default())
        .err()
        .expect("wrong design");
    let msg = err.to_string();
    assert!(matches!(err, LinkError::WrongDesign { .. }), "{msg}");
    assert!(
        msg.contains(&format!("{:#010x}", regs::version(&preset()))),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{:#010x}", regs::version(&other))),
        "{msg}"
    );
    assert!(msg.contains("PSUM 2 x 64"), "{msg}");
    assert!(msg.contains("PSUM 2 x 32"), "{msg}");
}

/// Requests the board must refuse: a bad command and a READ of 0 or 17 words are NAKed with
/// reason 2 and have no effect.
#[test]
fn malformed_requests_are_refused() {
    let Some(b) = board(&preset()) else { return };
    let mut link = Link::new(b, LinkOptions::default());
    for make in [
        |s| Frame {
            cmd: 0x05,
            seq: s,
            payload: vec![0; 5],
        },
        |s| Frame::read(s, 0, 0),
        |s| Frame::read(s, 0, 17),
        |s| Frame {
            cmd: frame::CMD_WRITE,
            seq: s,
            payload: vec![0; 7],
        },
    ] as [fn(u8) -> Frame; 4]
    {
        let err = link.request(make).expect_err("refused");
        assert!(matches!(err, LinkError::Refused { reason: 2 }), "{err}");
    }
    let ok = link.request(|s| Frame::read(s, 0, 1)).unwrap();
    assert_eq!(&ok.payload[1..], &regs::ID_VALUE.to_le_bytes());
}

// ------------------------------------------------------------------ lint ----

/// The board designs linted: the iCEBreaker's (12 MHz at 115200 baud: CLKS_PER_BIT 104, a
/// button, 2 LEDs) on int8-4x4; the smallest CLKS_PER_BIT (4) with 8 LEDs and no button (the
/// HX8K breakout's) on an odd 3x5, with 1 LED and with none on a 1x1 uint16 engine with 64-bit
/// accumulators, and the bf16-4x4 engine.
fn lint_designs() -> Vec<(Config, BoardParams)> {
    let small = BoardParams {
        clks_per_bit: 4,
        ..params()
    };
    let raw = |rows, cols, format: &str, acc| {
        Config::from_raw(&systolic::config::RawConfig {
            name: format!("board{rows}x{cols}-{format}"),
            rows,
            cols,
            format: format.into(),
            acc_bits: acc,
            psum_depth: 16,
            sbuf_depth: 64,
            ..Default::default()
        })
        .unwrap()
    };
    vec![
        (
            preset(),
            BoardParams {
                leds: 2,
                ..BoardParams::new(12e6, 115_200)
            },
        ),
        (
            raw(3, 5, "int8", 32),
            BoardParams {
                leds: 8,
                button: false,
                ..small
            },
        ),
        (raw(1, 1, "uint16", 64), BoardParams { leds: 1, ..small }),
        (raw(1, 1, "uint16", 64), BoardParams { leds: 0, ..small }),
        (common::preset("bf16-4x4"), small),
    ]
}

fn write_board(
    cfg: &Config,
    p: &BoardParams,
    tag: &str,
) -> (std::path::PathBuf, Vec<std::path::PathBuf>) {
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("uart_link");
    let dir = common::fresh_dir(&base, tag).expect("scratch dir");
    let mut files = vec![];
    for (name, text) in systolic::rtl::board::design(cfg, p).files() {
        let path = dir.join(&name);
        systolic::files::write_atomically(&path, text.as_bytes()).expect("write");
        files.push(path);
    }
    (dir, files)
}

/// `files` (a board design) are clean under `verilator --lint-only -Wall` and
/// `iverilog -g2005 -Wall` (each when it is there); `what` names the design in a failure.
fn lint_board(
    what: &str,
    dir: &std::path::Path,
    files: &[std::path::PathBuf],
    have_verilator: bool,
    have_iverilog: bool,
) {
    let limit = std::time::Duration::from_secs(600);
    let clean = |run: &systolic::tools::ToolRun| {
        run.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty()
    };
    if have_verilator {
        let run = systolic::tools::run(
            std::process::Command::new("verilator")
                .args([
                    "--lint-only",
                    "-Wall",
                    "--top-module",
                    systolic::rtl::board::BOARD_TOP,
                ])
                .args(files),
            limit,
        )
        .expect("run verilator");
        assert!(
            clean(&run),
            "{what}: verilator lint is not clean\n{}",
            run.output()
        );
    }
    if have_iverilog {
        let run = systolic::tools::run(
            std::process::Command::new("iverilog")
                .args([
                    "-g2005",
                    "-Wall",
                    "-s",
                    systolic::rtl::board::BOARD_TOP,
                    "-o",
                ])
                .arg(dir.join("board.vvp"))
                .args(files),
            limit,
        )
        .expect("run iverilog");
        assert!(
            clean(&run),
            "{what}: iverilog is not clean\n{}",
            run.output()
        );
    }
}

#[test]
fn board_design_is_lint_clean_in_verilator_and_icarus() {
    let have_verilator = common::require_tool(
        "verilator",
        "board_design_is_lint_clean_in_verilator_and_icarus",
    );
    let have_iverilog = common::require_tool(
        "iverilog",
        "board_design_is_lint_clean_in_verilator_and_icarus",
    );
    for (cfg, p) in lint_designs() {
        let (dir, files) = write_board(&cfg, &p, "lint");
        let what = format!("{} (CLKS_PER_BIT {})", cfg.name, p.clks_per_bit);
        lint_board(&what, &dir, &files, have_verilator, have_iverilog);
    }
}

#[test]
fn board_design_is_deterministic_and_every_module_states_its_contract() {
    let (cfg, p) = (preset(), params());
    let a = systolic::rtl::board::design(&cfg, &p).files();
    assert_eq!(a, systolic::rtl::board::design(&cfg, &p).files());
    for name in [
        "systolic_uart_rx.v",
        "systolic_uart_tx.v",
        "systolic_uart_bridge.v",
        "systolic_board.v",
        "systolic_engine.v",
    ] {
        let text = &a
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name}"))
            .1;
        assert!(
            text.contains(&cfg.hash()),
            "{name}: header names the configuration"
        );
        assert!(!text.contains("$display"), "{name}");
    }
    let board = &a.iter().find(|(n, _)| n == "systolic_board.v").unwrap().1;
    assert!(
        board.contains("parameter integer CLKS_PER_BIT   = 8"),
        "{board}"
    );
}

/// The board top with a PLL on each family: `SB_PLL40_PAD` (the iCEBreaker's 12 MHz to 48),
/// `SB_PLL40_CORE` (the HX8K breakout's) and `EHXPLLL` (the ULX3S's 25 MHz to 100).
fn pll_designs() -> Vec<(Config, BoardParams)> {
    use systolic::pll::{search, PllKind, PllRequest};
    let with = |kind, input_mhz, output_mhz, leds| {
        let pll = search(&PllRequest {
            kind,
            input_mhz,
            output_mhz,
        })
        .unwrap();
        BoardParams {
            leds,
            pll: Some(pll),
            ..BoardParams::new(pll.output_mhz() * 1e6, 115_200)
        }
    };
    vec![
        (preset(), with(PllKind::Ice40Pad, 12.0, 48.0, 2)),
        (preset(), with(PllKind::Ice40Core, 12.0, 60.0, 8)),
        (preset(), with(PllKind::Ecp5, 25.0, 100.0, 8)),
    ]
}

/// The PLL versions of the board top, with the PLL models (`hdl/sim/pll_cells.v`, last), are
/// clean under `verilator --lint-only -Wall` and `iverilog -g2005 -Wall`; the clock module
/// states its timing contract, names its dividers, and the design is deterministic.
#[test]
fn board_design_with_a_pll_is_lint_clean_on_both_families() {
    let have_verilator = common::require_tool(
        "verilator",
        "board_design_with_a_pll_is_lint_clean_on_both_families",
    );
    let have_iverilog = common::require_tool(
        "iverilog",
        "board_design_with_a_pll_is_lint_clean_on_both_families",
    );
    for (cfg, p) in pll_designs() {
        let pll = p.pll.unwrap();
        let texts = systolic::rtl::board::design(&cfg, &p).files();
        assert_eq!(texts, systolic::rtl::board::design(&cfg, &p).files());
        let clock_file = format!("{}.v", systolic::rtl::board::clock::module_name(&pll));
        let clock = &texts
            .iter()
            .find(|(n, _)| *n == clock_file)
            .expect("clock")
            .1;
        assert!(clock.contains("Timing contract:"), "{clock}");
        assert!(clock.contains(pll.kind.primitive()), "{clock}");
        for (name, value) in pll.dividers() {
            assert!(
                clock.contains(&format!(".{name}")),
                "{name} = {value} in\n{clock}"
            );
        }
        let board = &texts
            .iter()
            .find(|(n, _)| n == "systolic_board.v")
            .unwrap()
            .1;
        assert!(board.contains("always @(posedge clk_core)"), "{board}");
        assert!(!board.contains("always @(posedge clk)"), "{board}");
        assert!(board.contains("btn_pressed || !lock_sync"), "{board}");
        let tag = format!("lint-pll-{:?}", pll.kind);
        let (dir, mut files) = write_board(&cfg, &p, &tag);
        let model = dir.join("pll_cells.v");
        std::fs::write(&model, systolic::rtl::models::SimModel::Pll.text()).unwrap();
        files.push(model);
        let what = format!("{:?}", pll.kind);
        lint_board(&what, &dir, &files, have_verilator, have_iverilog);
    }
}

/// A GEMM through the simulated UART line on the board top clocked by the ECP5's PLL (EHXPLLL,
/// 25 -> 100 MHz; simulated with the model, which passes the reference clock through: the
/// simulation covers the PLL's place in the design and the reset held until LOCK, not the
/// frequency), equal to the golden model. The iCE40 PLL's netlist runs a GEMM in
/// tests/synth.rs.
#[test]
fn gemm_over_the_uart_with_the_pll_board_top() {
    if !common::require_tool("verilator", "gemm_over_the_uart_with_the_pll_board_top") {
        return;
    }
    let cfg = preset();
    let (_, ecp5) = pll_designs().pop().unwrap();
    let p = BoardParams {
        clks_per_bit: CPB,
        heartbeat_w: 8,
        ..ecp5
    };
    let b = SimBoard::build(&cfg, &p, &HarnessOptions::default())
        .unwrap_or_else(|e| panic!("build the PLL board: {e}"));
    let mut e = connect(b);
    check_gemm(&mut e, 5, 7, 3, 31);
    check_gemm(&mut e, 4, 4, 4, 32);
    assert_eq!(e.bus().stats().retries, 0);
}

// ------------------------------------------------------------------- CLI ----

fn systolic_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_systolic"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run systolic")
}

fn write_npy(path: &std::path::Path, m: &Matrix) {
    systolic::npy::write(
        path,
        &systolic::npy::Array2 {
            dtype: systolic::npy::Dtype::I8,
            rows: m.rows,
            cols: m.cols,
            data: m.data.clone(),
        },
    )
    .expect("write npy");
}

#[test]
fn cli_board_run_on_the_simulated_board() {
    if !common::require_tool("verilator", "cli_board_run_on_the_simulated_board") {
        return;
    }
    let dir = common::scratch_dir("uart-cli");
    let mut rng = SplitMix64::new(5);
    let (a, b) = (random_matrix(6, 9, &mut rng), random_matrix(9, 5, &mut rng));
    write_npy(&dir.join("a.npy"), &a);
    write_npy(&dir.join("b.npy"), &b);
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = systolic_cli(&[
        "board",
        "run",
        "--sim",
        "8",
        "--preset",
        "int8-4x4",
        "--a",
        &p("a.npy"),
        "--b",
        &p("b.npy"),
        "--out",
        &p("c.npy"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["macs"], 6 * 9 * 5);
    assert_eq!(report["link"]["retries"], 0);
    assert!(report["simulated_cycles"].as_u64().unwrap() > 0);
    let c = systolic::npy::read(&dir.join("c.npy")).expect("C");
    assert_eq!((c.rows, c.cols), (6, 5));
    assert_eq!(c.data, triple_loop(&preset(), &a, &b).data);
}

#[test]
fn cli_board_run_without_a_board_is_one_line_with_a_hint() {
    let dir = common::scratch_dir("uart-cli-noboard");
    let m = Matrix::new(1, 1, vec![1]);
    write_npy(&dir.join("a.npy"), &m);
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = systolic_cli(&[
        "board",
        "run",
        "--port",
        "/dev/systolic-no-such-tty",
        "--preset",
        "int8-4x4",
        "--a",
        &p("a.npy"),
        "--b",
        &p("a.npy"),
        "--out",
        &p("c.npy"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: cannot open serial port /dev/systolic-no-such-tty"),
        "{err}"
    );
    assert!(lines[1].starts_with("hint: "), "{err}");
    assert!(!dir.join("c.npy").exists());
}

// ------------------------------------------------------- FPGA board tops ----

/// The board top's parameters come from the board files: CLKS_PER_BIT from the oscillator and
/// the baud rate, the button and the LEDs (polarity from the `_N` pin names).
#[test]
fn board_top_parameters_follow_the_board_files() {
    use systolic::synth::{constraints_dir, flow::board_top_params, Board};
    let load = |n: &str| Board::load(&constraints_dir(), n, None).expect("board");
    let ice = board_top_params(&load("icebreaker"), 115_200, None).unwrap();
    assert_eq!(
        (
            ice.clks_per_bit,
            ice.button,
            ice.btn_active_low,
            ice.leds,
            ice.led_active_low
        ),
        (104, true, true, 2, true)
    );
    let ulx = board_top_params(&load("ulx3s-25f"), 115_200, None).unwrap();
    assert_eq!(
        (
            ulx.clks_per_bit,
            ulx.button,
            ulx.btn_active_low,
            ulx.leds,
            ulx.led_active_low
        ),
        (217, true, false, 8, false)
    );
    let hx = board_top_params(&load("ice40-hx8k-breakout"), 3_000_000, None).unwrap();
    assert_eq!((hx.clks_per_bit, hx.button, hx.leds), (4, false, 8));
    let err = board_top_params(&load("icebreaker"), 4_000_000, None).unwrap_err();
    assert!(err.to_string().contains("at least 4"), "{err}");
}

/// Mid-bit sampling tolerates a baud-rate mismatch: with the board at 32 cycles per bit, a host
/// 3 % slower or faster (31 or 33 cycles per bit, both directions) runs a product; at 9 % (29 or
/// 35) the stop bit is sampled in the wrong bit and the link fails with a clear error.
#[test]
fn a_small_baud_mismatch_is_tolerated_a_large_one_is_an_error() {
    if !common::require_tool(
        "verilator",
        "a_small_baud_mismatch_is_tolerated_a_large_one_is_an_error",
    ) {
        return;
    }
    let cfg = preset();
    let p32 = BoardParams {
        clks_per_bit: 32,
        ..params()
    };
    for host in [31, 33] {
        let mut b = SimBoard::build(&cfg, &p32, &HarnessOptions::default()).expect("build");
        b.set_host_clks_per_bit(host);
        let mut e = UartEngine::connect(b, &cfg, LinkOptions::default())
            .unwrap_or_else(|err| panic!("host at {host} cycles per bit: {err}"));
        check_gemm(&mut e, 3, 4, 2, u64::from(host));
        assert_eq!(e.bus().stats().retries, 0, "host at {host}");
    }
    for host in [29, 35] {
        let mut b = SimBoard::build(&cfg, &p32, &HarnessOptions::default()).expect("build");
        b.set_host_clks_per_bit(host);
        let opts = LinkOptions {
            attempts: 2,
            ..LinkOptions::default()
        };
        let err = UartEngine::connect(b, &cfg, opts)
            .err()
            .unwrap_or_else(|| panic!("host at {host} cycles per bit connected"));
        assert!(
            matches!(
                err,
                LinkError::NoAnswer { .. } | LinkError::Unreliable { .. }
            ),
            "host at {host}: {err}"
        );
    }
}

/// A floating-point engine (bf16 inputs, fp32 accumulation) over the link: the product equals
/// the golden model's bit for bit (the link carries bit patterns; nothing in it knows the
/// format).
#[test]
fn bf16_gemm_over_the_uart_matches_the_golden_model() {
    let cfg = common::preset("bf16-4x4");
    let Some(b) = board(&cfg) else { return };
    let mut e = UartEngine::connect(b, &cfg, LinkOptions::default()).expect("connect");
    let fp = cfg.format.float().expect("a float format");
    let mut rng = SplitMix64::new(21);
    for (m, k, n) in [(1, 1, 1), (5, 6, 7), (4, 9, 3)] {
        let mut value = |_: usize, _: usize| {
            let x = (rng.range_i64(-4000, 4000) as f32) / 1000.0;
            i64::from(fp.encode_f32_bits(x.to_bits()))
        };
        let a = Matrix::from_fn(m, k, &mut value);
        let bm = Matrix::from_fn(k, n, &mut value);
        let got = gemm(&mut e, &a, &bm, &GemmOptions::default())
            .unwrap_or_else(|err| panic!("{m}x{k}x{n}: {err}"));
        let mut golden = GoldenEngine::new(&cfg);
        let want = gemm(&mut golden, &a, &bm, &GemmOptions::default()).expect("golden");
        assert_eq!(got.c, want.c, "{m}x{k}x{n}");
        assert!(got.c.data.iter().any(|&v| v != 0), "{m}x{k}x{n}: all zero");
    }
}

/// The longest READ (16 words): over the PSUM snapshot window of a 4-column engine (8 words)
/// and past its end (8 unmapped words): every word is performed, the unmapped ones read 0 and
/// the response is SLVERR; the engine records the bus error, which CLEAR_ERROR clears.
#[test]
fn a_sixteen_word_read_is_performed_word_by_word() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    check_gemm(&mut e, 4, 4, 4, 3);
    let (window, resp) = e.bus_mut().read_words(regs::PSUM_DATA_BASE, 8).unwrap();
    assert_eq!(resp, regs::RESP_OKAY);
    assert!(
        window.iter().step_by(2).any(|&w| w != 0),
        "a snapshot is there"
    );
    let (words, resp) = e.bus_mut().read_words(regs::PSUM_DATA_BASE, 16).unwrap();
    assert_eq!(resp, regs::RESP_SLVERR);
    assert_eq!(&words[..8], &window[..]);
    assert!(words[8..].iter().all(|&w| w == 0));
    let st = e.wait_idle().unwrap();
    assert_eq!(st.error, systolic::isa::ErrorCode::BusAddress);
    e.clear_error().unwrap();
    assert_eq!(e.wait_idle().unwrap().error, systolic::isa::ErrorCode::None);
    check_gemm(&mut e, 3, 3, 3, 4);
}

/// The real serial-port code (termios raw mode, poll, read/write) over a pseudo-terminal whose
/// other end is served by the simulated board in a thread: the library, then `systolic board
/// probe` and `systolic board run --port` (the right design and a wrong one), end to end
/// without hardware.
#[test]
fn serial_port_over_a_pty_to_the_simulated_board() {
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let Some(mut b) = board(&preset()) else {
        return;
    };
    // SAFETY: plain libc calls on a descriptor this test owns; ptsname_r writes at most
    // buf.len() bytes.
    let (master, slave) = unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0);
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        (std::fs::File::from_raw_fd(fd), name)
    };
    let mut port = systolic::uart::serial::SerialPort::open(&slave, 115_200).expect("open the pty");
    // The board's side: whatever the host writes goes onto uart_rx; what uart_tx sends comes back.
    let stop = Arc::new(AtomicBool::new(false));
    let served = {
        let stop = stop.clone();
        let mut master = master;
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            use std::os::fd::AsRawFd;
            // SAFETY: fcntl on the descriptor owned by `master`.
            unsafe {
                let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
            let mut buf = [0u8; 256];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = master.read(&mut buf) {
                    if n > 0 {
                        b.send(&buf[..n]).unwrap();
                    }
                }
                let mut out = vec![];
                while let Some(x) = b.recv(1).unwrap() {
                    out.push(x);
                }
                if !out.is_empty() {
                    master.write_all(&out).unwrap();
                }
            }
            b.stats
        })
    };
    let info = {
        let mut link = Link::new(&mut port, LinkOptions::default());
        systolic::uart::engine::probe(&mut link).expect("probe over the pty")
    };
    assert!(info.is_systolic);
    assert_eq!(info.version, regs::version(&preset()));
    assert!(
        info.description.starts_with("4x4 int8"),
        "{}",
        info.description
    );
    let mut e = UartEngine::connect(port, &preset(), LinkOptions::default()).expect("connect");
    check_gemm_any(&mut e, 5, 6, 7, 8);
    assert_eq!(e.bus().stats().retries, 0);
    drop(e);
    // The command line on the same port: `board probe` and `board run`.
    let out = systolic_cli(&["board", "probe", "--port", &slave, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(probed["version"], regs::version(&preset()));
    let dir = common::scratch_dir("uart-pty");
    let mut rng = SplitMix64::new(9);
    let (a, bm) = (random_matrix(3, 8, &mut rng), random_matrix(8, 4, &mut rng));
    write_npy(&dir.join("a.npy"), &a);
    write_npy(&dir.join("b.npy"), &bm);
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = systolic_cli(&[
        "board",
        "run",
        "--port",
        &slave,
        "--preset",
        "int8-4x4",
        "--a",
        &p("a.npy"),
        "--b",
        &p("b.npy"),
        "--out",
        &p("c.npy"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = systolic::npy::read(&dir.join("c.npy")).expect("C");
    assert_eq!(c.data, triple_loop(&preset(), &a, &bm).data);
    // Another configuration than the board's: the one-line wrong-design error.
    let out = systolic_cli(&[
        "board",
        "run",
        "--port",
        &slave,
        "--preset",
        "int8-3x5",
        "--a",
        &p("a.npy"),
        "--b",
        &p("b.npy"),
        "--out",
        &p("c2.npy"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: wrong design on the board"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    stop.store(true, Ordering::Relaxed);
    let line = served.join().expect("the board thread");
    assert!(line.bytes_to_board > 0 && line.bytes_to_host > 0);
}

/// [`check_gemm`] for any transport.
fn check_gemm_any<T: Transport>(e: &mut UartEngine<T>, m: usize, k: usize, n: usize, seed: u64) {
    let cfg = e.config().clone();
    let mut rng = SplitMix64::new(seed);
    let a = random_matrix(m, k, &mut rng);
    let b = random_matrix(k, n, &mut rng);
    let got = gemm(e, &a, &b, &GemmOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(got.c, triple_loop(&cfg, &a, &b), "{m}x{k}x{n}");
}

/// A framing error inside a request (a byte with a low stop bit): the board drops the frame and
/// lights its error LED; the host times out and sends again.
#[test]
fn a_framing_error_drops_the_frame_and_lights_the_error_led() {
    let Some(b) = board(&preset()) else { return };
    let mut e = connect(b);
    assert_eq!(
        e.bus().link().transport().leds_lit().map(|l| l & 1),
        Some(0),
        "no link error yet"
    );
    e.bus_mut()
        .link_mut()
        .transport_mut()
        .inject(Direction::ToBoard, 5, Fault::BadStop);
    let (words, _) = e
        .bus_mut()
        .read_words(regs::reg("VERSION").offset, 1)
        .unwrap();
    assert_eq!(words, vec![regs::version(&preset())]);
    let s = e.bus().stats();
    assert!(s.retries >= 1 && s.timeouts >= 1, "{s:?}");
    assert_eq!(
        e.bus().link().transport().leds_lit().map(|l| l & 1),
        Some(1),
        "the error LED is on"
    );
    check_gemm(&mut e, 2, 2, 2, 11);
}

// ------------------------------------------------------- second simulator ----

/// The board design in Icarus Verilog (`hdl/tb_board.v` plays bytes onto `uart_rx` and records
/// `uart_tx`): the identity READ, an instruction push, a corrupted frame (NAK), a retried push
/// (answered, not executed: RETIRED counts one FENCE per distinct push), all as Verilator and
/// the protocol say.
#[test]
fn the_board_design_speaks_the_protocol_in_icarus() {
    if !(common::require_tool("iverilog", "the_board_design_speaks_the_protocol_in_icarus")
        && common::require_tool("vvp", "the_board_design_speaks_the_protocol_in_icarus"))
    {
        return;
    }
    let cfg = preset();
    let p = params();
    let (dir, files) = write_board(&cfg, &p, "icarus");
    let fence = Instr::Fence.encode()[0];
    let push = |seq| {
        Frame::write(
            seq,
            regs::reg("INSTR_LO").offset,
            0xF,
            &[fence as u32, (fence >> 32) as u32],
        )
    };
    let retired = |seq| Frame::read(seq, regs::reg("RETIRED").offset, 1);
    let mut bad = push(4).encode().unwrap();
    bad[6] ^= 0x40;
    // (bytes to send, response bytes to wait for)
    let steps: Vec<(Vec<u8>, usize)> = vec![
        (Frame::read(1, 0, 4).encode().unwrap(), 6 + 1 + 16),
        (push(2).encode().unwrap(), 7),
        (retired(3).encode().unwrap(), 6 + 5),
        (bad, 7),
        (push(5).encode().unwrap(), 7),
        (push(5).encode().unwrap(), 7),
        (retired(6).encode().unwrap(), 6 + 5),
    ];
    let mut script = String::new();
    for (bytes, wait) in &steps {
        for b in bytes {
            script.push_str(&format!("1{b:02x}\n"));
        }
        script.push_str(&format!("2{wait:02x}\n"));
    }
    script.push_str("300\n");
    std::fs::write(dir.join("script.hex"), script).unwrap();
    let tb = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl/tb_board.v");
    let limit = std::time::Duration::from_secs(300);
    let run = systolic::tools::run(
        std::process::Command::new("iverilog")
            .args(["-g2005", "-Wall", "-s", "tb_board", "-P"])
            .arg(format!("tb_board.CPB={}", p.clks_per_bit))
            .arg("-o")
            .arg(dir.join("tb.vvp"))
            .arg(&tb)
            .args(&files),
        limit,
    )
    .expect("run iverilog");
    assert!(
        run.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
        "iverilog\n{}",
        run.output()
    );
    let run = systolic::tools::run(
        std::process::Command::new("vvp")
            .arg("-N")
            .arg(dir.join("tb.vvp"))
            .arg(format!("+script={}", dir.join("script.hex").display()))
            .arg(format!("+out={}", dir.join("out.hex").display())),
        limit,
    )
    .expect("run vvp");
    assert!(
        run.success() && run.stdout.contains("DONE"),
        "vvp\n{}",
        run.output()
    );
    let text = std::fs::read_to_string(dir.join("out.hex")).unwrap();
    assert!(!text.contains("framing"), "{text}");
    let bytes: Vec<u8> = text
        .lines()
        .map(|l| u8::from_str_radix(l.trim(), 16).expect("hex byte"))
        .collect();
    let frames: Vec<Frame> = Decoder::decode_all(&bytes)
        .into_iter()
        .map(|r| r.expect("every response's CRC matches"))
        .collect();
    assert_eq!(frames.len(), steps.len(), "{frames:?}");
    let word = |f: &Frame, i: usize| {
        u32::from_le_bytes(f.payload[1 + 4 * i..5 + 4 * i].try_into().unwrap())
    };
    // 1: identity.
    assert_eq!(
        (frames[0].cmd, frames[0].seq, frames[0].payload[0]),
        (0x81, 1, 0)
    );
    assert_eq!(word(&frames[0], 0), regs::ID_VALUE);
    assert_eq!(word(&frames[0], 1), regs::version(&cfg));
    assert_eq!(
        word(&frames[0], 2),
        regs::reg("GEOMETRY").constant(&cfg).unwrap()
    );
    // 2, 3: a push, then one instruction retired.
    assert_eq!(
        (frames[1].cmd, frames[1].seq, frames[1].payload.clone()),
        (0x82, 2, vec![0])
    );
    assert_eq!(word(&frames[2], 0), 1);
    // 4: the corrupted frame is refused with a NAK (reason CRC) and not executed.
    assert_eq!(
        (frames[3].cmd, frames[3].payload.clone()),
        (frame::CMD_NAK, vec![frame::NAK_CRC])
    );
    // 5, 6: a push and its retry (same SEQ): both answered OKAY, one executed.
    assert_eq!((frames[4].seq, frames[4].payload.clone()), (5, vec![0]));
    assert_eq!((frames[5].seq, frames[5].payload.clone()), (5, vec![0]));
    assert_eq!(word(&frames[6], 0), 2, "two FENCEs retired, not three");
}

/// A line that never goes quiet: every read returns a byte (wrong device, wrong baud rate,
/// electrical noise). Counts the reads.
struct Noisy {
    rng: SplitMix64,
    reads: u64,
}

impl Transport for Noisy {
    fn send(&mut self, _bytes: &[u8]) -> Result<(), LinkError> {
        Ok(())
    }
    fn recv(&mut self, _chars: u32) -> Result<Option<u8>, LinkError> {
        self.reads += 1;
        Ok(Some(self.rng.next_u64() as u8))
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "a noisy line".into()
    }
}

#[test]
fn a_line_that_never_goes_quiet_ends_in_an_error_saying_what_was_seen() {
    for attempts in [1, 3] {
        let mut noisy = Noisy {
            rng: SplitMix64::new(5),
            reads: 0,
        };
        let opts = LinkOptions {
            attempts,
            ..LinkOptions::default()
        };
        let err = UartEngine::connect(&mut noisy, &preset(), opts)
            .err()
            .expect("a noisy line cannot connect");
        let text = err.to_string();
        assert!(matches!(err, LinkError::Noise { .. }), "{text}");
        assert!(
            text.contains("keeps sending bytes") && text.contains(&format!("{attempts} attempts")),
            "{text}"
        );
        // Each attempt reads at most its budget, and its drain at most as much again.
        let bound = u64::from(attempts) * 2 * systolic::uart::ATTEMPT_BYTES;
        assert!(noisy.reads <= bound, "{} reads > {bound}", noisy.reads);
        assert!(noisy.reads >= u64::from(attempts), "{}", noisy.reads);
    }
}
