//! [`SimBoard`]: the board design `systolic_board` in Verilator as a [`Transport`]. Rust drives
//! the real `uart_rx` pin bit by bit (start bit, 8 data bits LSB first, stop bit, each held
//! `CLKS_PER_BIT` cycles) and decodes the real `uart_tx` pin the way a UART does (falling edge,
//! start bit checked at its middle, one sample per bit time, stop bit checked), every cycle,
//! in both directions at once. Timeouts are simulated character times
//! (`10 * CLKS_PER_BIT` cycles each): no wall clock is involved, runs are deterministic.
//!
//! Faults can be injected on the line ([`SimBoard::inject`]): a byte's data bits flipped or the
//! byte left out, in either direction, counted from the injection.

use std::collections::VecDeque;

use crate::config::Config;
use crate::rtl::board::{BoardParams, BOARD_TOP};
use crate::rtl::design::Design;
use crate::uart::{LinkError, Transport};

use super::verilator::{PortId, Sim};
use super::HarnessOptions;

/// Which way a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Host to board (`uart_rx`).
    ToBoard,
    /// Board to host (`uart_tx`).
    ToHost,
}

/// A fault on one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// XOR the data bits with this mask (start and stop bits intact: the CRC must catch it).
    Flip(u8),
    /// The byte never arrives.
    Drop,
    /// The byte is sent with a low stop bit (a framing error at the receiver).
    BadStop,
}

/// Receiver of the host side (decodes `uart_tx`).
#[derive(Debug, Clone, Copy)]
enum RxState {
    Idle,
    /// Cycles since the falling edge.
    Start(u32),
    /// Bits received so far, shift register, cycles since the last sample.
    Data(u32, u8, u32),
    Stop(u8, u32),
}

/// Counters of the simulated line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    pub bytes_to_board: u64,
    pub bytes_to_host: u64,
    /// Characters from the board whose stop bit was low.
    pub framing_errors: u64,
    pub faults_applied: u64,
    /// Characters from the board whose start bit came less than two character times after the
    /// previous one's, but less than one character time (10 bit times) or more than one and a
    /// half bit times later than that: the board's transmitter sends a frame's bytes back to
    /// back, and frames are further apart.
    pub irregular_spacing: u64,
    /// The least and the largest start-to-start distance (cycles) of such close characters:
    /// the transmitter's pace, which is the same for every byte.
    pub spacing: Option<(u64, u64)>,
}

/// The board design in Verilator, seen through its UART pins.
pub struct SimBoard {
    sim: Sim,
    rx_pin: PortId,
    tx_pin: PortId,
    led: Option<PortId>,
    led_active_low: bool,
    btn: Option<PortId>,
    cpb: u32,
    /// The host side's bit time in cycles (driving and sampling); `cpb` unless set.
    host_cpb: u32,
    btn_active_low: bool,
    /// Host-to-board bits still to drive (each for `cpb` cycles) and the cycles the current one
    /// has been driven.
    out_bits: VecDeque<bool>,
    held: u32,
    /// Bits of host-to-board characters sent so far (the position in a character is this
    /// modulo 10: start, 8 data bits, stop).
    bits_sent: u64,
    /// [`SimBoard::set_bit_window`].
    window: Option<(u32, u32)>,
    rx: RxState,
    /// The cycle of the current and of the previous character's start edge from the board.
    rx_start: u64,
    last_start: Option<u64>,
    received: VecDeque<u8>,
    /// Faults by byte index of each direction (absolute indices).
    faults: Vec<(Direction, u64, Fault)>,
    pub stats: LineStats,
    /// Seconds the Verilator build took, `None` when it came from the cache.
    pub build_seconds: Option<f64>,
}

fn sim_err(e: impl std::fmt::Display) -> LinkError {
    LinkError::Sim(e.to_string())
}

impl SimBoard {
    /// Generate the board design of `cfg` with `params` (a small `clks_per_bit` keeps the
    /// simulation short), build it with Verilator (or fetch it from the cache), and reset it
    /// with the button. With a PLL (`params.pll`) the design is simulated with the PLL models of
    /// `hdl/sim/pll_cells.v`: the core clock is the simulated clock itself (one core cycle per
    /// tick, `clks_per_bit` of them per bit), LOCK rises after 8 cycles, within the reset wait.
    pub fn build(
        cfg: &Config,
        params: &BoardParams,
        opts: &HarnessOptions,
    ) -> Result<SimBoard, LinkError> {
        let design = crate::rtl::board::design(cfg, params);
        let model = super::build_design(&design, opts, &mut |_| {}).map_err(sim_err)?;
        SimBoard::from_model(&model, params)
    }

    /// Like [`SimBoard::build`], for a board `design` made elsewhere (e.g. a mutant of the
    /// one `crate::rtl::board::design` makes from `params`; its top's parameter defaults must
    /// be those of `params`).
    pub fn build_design(
        design: &Design,
        params: &BoardParams,
        opts: &HarnessOptions,
    ) -> Result<SimBoard, LinkError> {
        let model = super::build_design(design, opts, &mut |_| {}).map_err(sim_err)?;
        SimBoard::from_model(&model, params)
    }

    /// Like [`SimBoard::build`], for given Verilog `files` (name, text) whose top is
    /// `systolic_board` with the ports of `board` (e.g. a post-synthesis netlist and the
    /// vendor cell models; `opts.extra_args` carries the Verilator flags they need).
    pub fn build_files(
        tag: &str,
        files: &[(String, String)],
        board: &Design,
        params: &BoardParams,
        opts: &HarnessOptions,
    ) -> Result<SimBoard, LinkError> {
        let ports = super::port_specs(board);
        let model = super::build_model(tag, files, BOARD_TOP, &ports, opts, &mut |_| {})
            .map_err(sim_err)?;
        SimBoard::from_model(&model, params)
    }

    /// A fresh simulation of the board `model` (built for `params`), reset with the button.
    pub fn from_model(
        model: &super::verilator::Model,
        params: &BoardParams,
    ) -> Result<SimBoard, LinkError> {
        let sim = model.instantiate().map_err(sim_err)?;
        let p = |n: &str| sim.require_port(n).map_err(sim_err);
        let mut b = SimBoard {
            rx_pin: p("uart_rx")?,
            tx_pin: p("uart_tx")?,
            led: sim.port("led"),
            led_active_low: params.led_active_low,
            btn: sim.port("btn"),
            sim,
            cpb: params.clks_per_bit,
            host_cpb: params.clks_per_bit,
            btn_active_low: params.btn_active_low,
            out_bits: VecDeque::new(),
            held: 0,
            bits_sent: 0,
            window: None,
            rx: RxState::Idle,
            rx_start: 0,
            last_start: None,
            received: VecDeque::new(),
            faults: vec![],
            stats: LineStats::default(),
            build_seconds: model.build_seconds(),
        };
        b.press_reset();
        Ok(b)
    }

    /// Press the reset button for 8 cycles (if the design has one), release it, and wait 32
    /// cycles (the board's reset lasts 15 cycles after the release or after power-on).
    pub fn press_reset(&mut self) {
        self.press_button(8, 32);
    }

    /// Press the reset button for `hold` cycles (if the design has one), release it, and run
    /// `wait` cycles with the line idle; the host side forgets what it was sending and
    /// receiving.
    pub fn press_button(&mut self, hold: u64, wait: u64) {
        self.sim.set_bool(self.rx_pin, true);
        if let Some(btn) = self.btn {
            self.sim.set_bool(btn, !self.btn_active_low);
        }
        for _ in 0..hold {
            self.sim.tick();
        }
        if let Some(btn) = self.btn {
            self.sim.set_bool(btn, self.btn_active_low);
        }
        for _ in 0..wait {
            self.sim.tick();
        }
        self.out_bits.clear();
        self.held = 0;
        self.bits_sent = 0;
        self.rx = RxState::Idle;
        self.last_start = None;
        self.received.clear();
    }

    /// Apply `fault` to the `n`-th byte (0 = the next one) that goes `dir` from now on.
    pub fn inject(&mut self, dir: Direction, n: u64, fault: Fault) {
        let base = match dir {
            Direction::ToBoard => self.stats.bytes_to_board,
            Direction::ToHost => self.stats.bytes_to_host,
        };
        self.faults.push((dir, base + n, fault));
    }

    /// The LEDs that are lit, bit i for `led[i]` (`None` without LEDs): bit 0 link error,
    /// bit 1 heartbeat, bit 2 link active.
    pub fn leds_lit(&self) -> Option<u64> {
        let p = self.led?;
        let width = self.sim.port_spec(p).width;
        let v = self.sim.get_u64(p);
        let mask = if width >= 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        Some(if self.led_active_low { !v & mask } else { v })
    }

    /// Run `cycles` clock cycles with the line driven as before (idle unless a byte is being
    /// sent), decoding what the board sends.
    pub fn idle(&mut self, cycles: u64) {
        for _ in 0..cycles {
            self.step();
        }
    }

    /// Send `bytes` (bit by bit, as [`Transport::send`] does, faults applied), stopping
    /// `gap` cycles of idle line after the byte at index `at` before sending the rest: a frame
    /// with a pause inside.
    pub fn send_with_gap(&mut self, bytes: &[u8], at: usize, gap: u64) -> Result<(), LinkError> {
        let split = (at + 1).min(bytes.len());
        self.send(&bytes[..split])?;
        self.idle(gap);
        self.send(&bytes[split..])
    }

    /// Bytes the board sent that were not read yet, taken.
    pub fn take_received(&mut self) -> Vec<u8> {
        self.received.drain(..).collect()
    }

    /// Faults injected and not yet applied.
    pub fn pending_faults(&self) -> usize {
        self.faults.len()
    }

    /// Simulated cycles per UART bit of the board.
    pub fn clks_per_bit(&self) -> u32 {
        self.cpb
    }

    /// Give the host side another bit time than the board's (a baud-rate mismatch of
    /// `cycles / clks_per_bit - 1`), for both directions; at least 4 cycles.
    pub fn set_host_clks_per_bit(&mut self, cycles: u32) {
        self.host_cpb = cycles.max(4);
    }

    /// The underlying simulation (for traces).
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    fn take_fault(&mut self, dir: Direction, index: u64) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|(d, n, _)| *d == dir && *n == index)?;
        self.stats.faults_applied += 1;
        Some(self.faults.remove(i).2)
    }

    /// One clock cycle: drive `uart_rx`, tick, decode `uart_tx`.
    fn step(&mut self) {
        let level = match self.out_bits.front() {
            None => true,
            Some(&v) => self.shaped(v),
        };
        self.sim.set_bool(self.rx_pin, level);
        self.sim.tick();
        if !self.out_bits.is_empty() {
            self.held += 1;
            if self.held == self.host_cpb {
                self.held = 0;
                self.bits_sent += 1;
                self.out_bits.pop_front();
            }
        }
        self.step_rx();
    }

    /// Decode `uart_tx` after a clock edge.
    fn step_rx(&mut self) {
        let line = self.sim.get_bool(self.tx_pin);
        let cpb = self.host_cpb;
        self.rx = match self.rx {
            RxState::Idle if !line => {
                self.rx_start = self.sim.cycle();
                RxState::Start(0)
            }
            RxState::Idle => RxState::Idle,
            RxState::Start(c) => {
                if c + 1 == cpb / 2 {
                    if line {
                        RxState::Idle // a glitch
                    } else {
                        RxState::Data(0, 0, 0)
                    }
                } else {
                    RxState::Start(c + 1)
                }
            }
            RxState::Data(n, sh, c) => {
                if c + 1 == cpb {
                    let sh = (sh >> 1) | (u8::from(line) << 7);
                    if n == 7 {
                        RxState::Stop(sh, 0)
                    } else {
                        RxState::Data(n + 1, sh, 0)
                    }
                } else {
                    RxState::Data(n, sh, c + 1)
                }
            }
            RxState::Stop(sh, c) => {
                if c + 1 == cpb {
                    self.note_spacing();
                    if line {
                        let index = self.stats.bytes_to_host;
                        self.stats.bytes_to_host += 1;
                        match self.take_fault(Direction::ToHost, index) {
                            Some(Fault::Flip(m)) => self.received.push_back(sh ^ m),
                            Some(Fault::Drop) => {}
                            Some(Fault::BadStop) => self.stats.framing_errors += 1,
                            None => self.received.push_back(sh),
                        }
                    } else {
                        self.stats.framing_errors += 1;
                    }
                    RxState::Idle
                } else {
                    RxState::Stop(sh, c + 1)
                }
            }
        };
    }

    /// Drive each bit of the host's characters right only in cycles `from .. to` of its bit time
    /// and inverted in the others (the start bit low until `to`, the stop bit high from `from`,
    /// so that no edge is added between characters): a receiver that samples outside that
    /// window reads wrong bits. `None`: every bit whole (the default).
    pub fn set_bit_window(&mut self, window: Option<(u32, u32)>) {
        self.window = window;
    }

    /// The level of bit value `v` in the current cycle of its bit time ([`Self::set_bit_window`]).
    fn shaped(&self, v: bool) -> bool {
        let Some((from, to)) = self.window else {
            return v;
        };
        let h = self.held;
        let right = match self.bits_sent % 10 {
            0 => h < to,
            9 => h >= from,
            _ => h >= from && h < to,
        };
        if right {
            v
        } else {
            !v
        }
    }

    /// Count a character whose start is irregularly spaced from the previous one's.
    fn note_spacing(&mut self) {
        let char_cycles = 10 * u64::from(self.cpb);
        if let Some(last) = self.last_start {
            let d = self.rx_start - last;
            if d < 2 * char_cycles {
                if d < char_cycles || d > char_cycles + u64::from(self.cpb / 2) {
                    self.stats.irregular_spacing += 1;
                }
                let (lo, hi) = self.stats.spacing.unwrap_or((d, d));
                self.stats.spacing = Some((lo.min(d), hi.max(d)));
            }
        }
        self.last_start = Some(self.rx_start);
    }

    /// Hold the line low for `cycles` cycles, then idle (high) again: a glitch shorter than a
    /// start bit's half, which the receiver must ignore.
    pub fn pulse_low(&mut self, cycles: u64) {
        for _ in 0..cycles {
            self.sim.set_bool(self.rx_pin, false);
            self.sim.tick();
            self.step_rx();
        }
    }

    /// Cycles of one character (10 bits) of the board.
    fn char_cycles(&self) -> u64 {
        10 * u64::from(self.cpb.max(self.host_cpb))
    }
}

impl Transport for SimBoard {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        for &b in bytes {
            let index = self.stats.bytes_to_board;
            self.stats.bytes_to_board += 1;
            let fault = self.take_fault(Direction::ToBoard, index);
            let b = match fault {
                Some(Fault::Flip(m)) => b ^ m,
                Some(Fault::Drop) => continue,
                _ => b,
            };
            self.out_bits.push_back(false);
            self.out_bits.extend((0..8).map(|i| b >> i & 1 == 1));
            self.out_bits.push_back(fault != Some(Fault::BadStop));
        }
        while !self.out_bits.is_empty() {
            self.step();
        }
        Ok(())
    }

    fn recv(&mut self, chars: u32) -> Result<Option<u8>, LinkError> {
        let limit = u64::from(chars) * self.char_cycles();
        let mut waited = 0;
        while self.received.is_empty() {
            if waited >= limit {
                return Ok(None);
            }
            self.step();
            waited += 1;
        }
        Ok(self.received.pop_front())
    }

    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.received.clear();
        Ok(())
    }

    fn describe(&self) -> String {
        format!("the simulated line ({} cycles per bit)", self.cpb)
    }

    fn cycles(&self) -> Option<u64> {
        Some(self.sim.cycle())
    }
}
