//! [`RtlEngine`]: the generated engine `systolic_engine` built with Verilator and driven purely
//! through its AXI4-Lite slave, cycle by cycle, from Rust: a [`HostEngine`] over the bus master
//! [`AxiMaster`], so every [`Engine`](crate::engine::Engine) call is a sequence of bus
//! transactions on the register map of [`crate::regs`].
//!
//! The bus master: one transaction at a time; a write presents AW and W (each after its own
//! random wait), holds each valid until its ready, then waits for B; a read presents AR, then
//! waits for R. With wait states ([`RtlEngine::set_wait_states`]) every cycle before a valid
//! rises is skipped with probability `p`, and BREADY/RREADY are low with probability `p` in
//! every cycle: the slave sees AW before W, W before AW, both together, and stalled responses.
//!
//! Every loop is bounded by a cycle limit ([`RtlEngine::set_cycle_limit`]): a bus that never
//! answers or an engine that never goes idle is a [`BackendError::Timeout`], never a hang.

use std::path::Path;

use crate::config::Config;
use crate::engine::host::{HostEngine, RegisterBus};
use crate::engine::BackendError;
use crate::program::SplitMix64;
use crate::rtl::design::Design;

use crate::engine::memory::{Memory, SparseMemory};

use super::axi4::{SlaveConfig, Violation};
use super::mem_port::MemPort;
use super::verilator::{self, PortId, Sim};
use super::HarnessOptions;

/// Default bound on the cycles of one bus transaction and of one wait.
pub const DEFAULT_CYCLE_LIMIT: u64 = 2_000_000;

/// The handshake ports of the slave.
struct Ports {
    rst: PortId,
    awaddr: PortId,
    awvalid: PortId,
    awready: PortId,
    wdata: PortId,
    wstrb: PortId,
    wvalid: PortId,
    wready: PortId,
    bresp: PortId,
    bvalid: PortId,
    bready: PortId,
    araddr: PortId,
    arvalid: PortId,
    arready: PortId,
    rdata: PortId,
    rresp: PortId,
    rvalid: PortId,
    rready: PortId,
}

impl Ports {
    fn new(sim: &Sim) -> Result<Ports, verilator::VerilatorError> {
        let p = |n: &str| sim.require_port(n);
        Ok(Ports {
            rst: p("rst")?,
            awaddr: p("s_axil_awaddr")?,
            awvalid: p("s_axil_awvalid")?,
            awready: p("s_axil_awready")?,
            wdata: p("s_axil_wdata")?,
            wstrb: p("s_axil_wstrb")?,
            wvalid: p("s_axil_wvalid")?,
            wready: p("s_axil_wready")?,
            bresp: p("s_axil_bresp")?,
            bvalid: p("s_axil_bvalid")?,
            bready: p("s_axil_bready")?,
            araddr: p("s_axil_araddr")?,
            arvalid: p("s_axil_arvalid")?,
            arready: p("s_axil_arready")?,
            rdata: p("s_axil_rdata")?,
            rresp: p("s_axil_rresp")?,
            rvalid: p("s_axil_rvalid")?,
            rready: p("s_axil_rready")?,
        })
    }
}

fn other(e: impl std::fmt::Display) -> BackendError {
    BackendError::Other(e.to_string())
}

/// The engine RTL in Verilator, seen through its AXI4-Lite slave.
pub type RtlEngine = HostEngine<AxiMaster>;

impl RtlEngine {
    /// Generate the engine of `cfg`, build it with Verilator (or fetch it from the cache),
    /// instantiate and reset it.
    pub fn build(cfg: &Config, opts: &HarnessOptions) -> Result<RtlEngine, BackendError> {
        RtlEngine::build_with(cfg, opts, &mut |_| {})
    }

    /// [`RtlEngine::build`], reporting the build's steps (cache hit, Verilator, make) to
    /// `progress`.
    pub fn build_with(
        cfg: &Config,
        opts: &HarnessOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<RtlEngine, BackendError> {
        let bus = AxiMaster::build_with(&crate::rtl::engine::design(cfg), opts, progress)?;
        Ok(HostEngine::new(cfg, bus))
    }

    /// Synchronous reset (4 cycles), bus idle; the queue's free slots are read again.
    pub fn reset(&mut self) {
        self.bus_mut().reset();
        self.forget_queue();
    }
}

/// A bus master on the AXI4-Lite slave of an engine design in Verilator: one transaction at a
/// time, with optional random wait states; counts the host cycles it spends.
pub struct AxiMaster {
    sim: Sim,
    p: Ports,
    wait: f64,
    rng: SplitMix64,
    host_cycles: u64,
    limit: u64,
    /// `host_cycles` when the current wait began.
    wait_start: u64,
    /// Seconds the Verilator build took, `None` when it came from the cache.
    pub build_seconds: Option<f64>,
    /// The memory on the AXI4 master port (`dma = true` designs, [`AxiMaster::attach_memory`]).
    mem: Option<MemPort>,
    /// The first AXI4 violation on the master port.
    violation: Option<Violation>,
}

impl AxiMaster {
    /// Build `design` (an engine level) with Verilator (or fetch it from the cache),
    /// instantiate and reset it.
    pub fn build(design: &Design, opts: &HarnessOptions) -> Result<AxiMaster, BackendError> {
        AxiMaster::build_with(design, opts, &mut |_| {})
    }

    /// [`AxiMaster::build`], reporting the build's steps to `progress`.
    pub fn build_with(
        design: &Design,
        opts: &HarnessOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<AxiMaster, BackendError> {
        let model = super::build_design(design, opts, progress).map_err(other)?;
        AxiMaster::from_model(&model)
    }

    /// Build explicit Verilog `files` whose top has the ports of the engine-level `design` (a
    /// post-synthesis netlist of it and its cell models, say) with Verilator (or fetch them
    /// from the cache, under `tag`), instantiate and reset the model.
    pub fn build_files(
        tag: &str,
        files: &[(String, String)],
        design: &Design,
        opts: &HarnessOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<AxiMaster, BackendError> {
        let ports = super::port_specs(design);
        let model = super::build_model(tag, files, design.top_name(), &ports, opts, progress)
            .map_err(other)?;
        AxiMaster::from_model(&model)
    }

    /// A fresh instance of the engine `model`, reset, bus idle.
    fn from_model(model: &verilator::Model) -> Result<AxiMaster, BackendError> {
        let sim = model.instantiate().map_err(other)?;
        let p = Ports::new(&sim).map_err(other)?;
        let mut e = AxiMaster {
            sim,
            p,
            wait: 0.0,
            rng: SplitMix64::new(0),
            host_cycles: 0,
            limit: DEFAULT_CYCLE_LIMIT,
            wait_start: 0,
            build_seconds: model.build_seconds(),
            mem: None,
            violation: None,
        };
        e.reset();
        Ok(e)
    }

    /// Synchronous reset (4 cycles), bus idle. Not counted in the host cycles.
    pub fn reset(&mut self) {
        self.bus_idle();
        self.sim.set_bool(self.p.rst, true);
        for _ in 0..4 {
            self.sim.tick();
        }
        self.sim.set_bool(self.p.rst, false);
        self.sim.eval();
    }

    /// Random wait states on every channel: before each valid rises, each cycle is skipped with
    /// probability `p`; BREADY and RREADY are low with probability `p` in each cycle.
    pub fn set_wait_states(&mut self, p: f64, seed: u64) {
        self.wait = p.clamp(0.0, 0.95);
        self.rng = SplitMix64::new(seed);
    }

    /// Bound on the cycles of one bus transaction and of one wait (default
    /// [`DEFAULT_CYCLE_LIMIT`]).
    pub fn set_cycle_limit(&mut self, cycles: u64) {
        self.limit = cycles.max(16);
    }

    /// Connect the AXI4 master port `m_axi_*` (a `dma = true` design) to a slave model of `cfg`
    /// over `mem`, checked every cycle from the next edge on (call it after the reset).
    pub fn attach_memory(
        &mut self,
        cfg: SlaveConfig,
        mem: SparseMemory,
    ) -> Result<(), BackendError> {
        let port = MemPort::new(&self.sim, cfg, mem).map_err(other)?;
        port.drive(&mut self.sim);
        self.sim.eval();
        self.mem = Some(port);
        self.violation = None;
        Ok(())
    }

    /// The memory port, if attached.
    pub fn memory_port(&self) -> Option<&MemPort> {
        self.mem.as_ref()
    }

    /// The memory port, if attached (its memory is the test bench's to poke and peek).
    pub fn memory_port_mut(&mut self) -> Option<&mut MemPort> {
        self.mem.as_mut()
    }

    /// The first AXI4 protocol violation seen on the master port (the slave's or the
    /// checker's), if any. After one the memory port is no longer advanced.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// One rising edge; with a memory attached, the slave model and the checker take the
    /// cycle first and drive the next one's slave outputs after it.
    fn edge(&mut self) {
        if let Some(m) = self.mem.as_mut().filter(|_| self.violation.is_none()) {
            self.sim.eval();
            if let Err(v) = m.edge(&self.sim) {
                self.violation = Some(v);
            }
        }
        self.sim.tick();
        if let Some(m) = &self.mem {
            m.drive(&mut self.sim);
        }
    }

    /// Simulated cycles since the model was created (reset included).
    pub fn cycle(&self) -> u64 {
        self.sim.cycle()
    }

    /// Start writing a VCD (the model must have been built with `trace`).
    pub fn open_trace(&mut self, path: &Path) -> Result<(), BackendError> {
        self.sim.open_trace(path).map_err(other)
    }

    fn stall(&mut self) -> bool {
        self.wait > 0.0 && self.rng.chance(self.wait)
    }

    fn bus_idle(&mut self) {
        let p = &self.p;
        for id in [p.awvalid, p.wvalid, p.bready, p.arvalid, p.rready] {
            self.sim.set_bool(id, false);
        }
    }

    fn timeout(&mut self) -> BackendError {
        self.bus_idle();
        BackendError::Timeout { cycles: self.limit }
    }

    /// One AXI4-Lite write; returns BRESP.
    pub fn write_strb(&mut self, addr: u32, data: u32, strb: u32) -> Result<u32, BackendError> {
        let (mut aw_on, mut w_on, mut aw_done, mut w_done) = (false, false, false, false);
        let start = self.host_cycles;
        loop {
            if self.host_cycles - start > self.limit {
                return Err(self.timeout());
            }
            if !aw_done && !aw_on {
                aw_on = !self.stall();
            }
            if !w_done && !w_on {
                w_on = !self.stall();
            }
            let bready = !self.stall();
            let p = &self.p;
            self.sim.set_bool(p.awvalid, aw_on);
            self.sim.set_u64(p.awaddr, addr.into());
            self.sim.set_bool(p.wvalid, w_on);
            self.sim.set_u64(p.wdata, data.into());
            self.sim.set_u64(p.wstrb, strb.into());
            self.sim.set_bool(p.bready, bready);
            self.sim.set_bool(p.arvalid, false);
            self.sim.set_bool(p.rready, false);
            self.sim.eval();
            let aw_fire = aw_on && self.sim.get_bool(p.awready);
            let w_fire = w_on && self.sim.get_bool(p.wready);
            let b_fire = bready && self.sim.get_bool(p.bvalid);
            let bresp = self.sim.get_u64(p.bresp) as u32;
            self.edge();
            self.host_cycles += 1;
            if b_fire && !(aw_done && w_done) {
                self.bus_idle();
                return Err(other(format!(
                    "AXI protocol: BVALID before AW and W of the write to {addr:#x} were accepted"
                )));
            }
            if aw_fire {
                aw_on = false;
                aw_done = true;
            }
            if w_fire {
                w_on = false;
                w_done = true;
            }
            if b_fire {
                self.bus_idle();
                return Ok(bresp);
            }
        }
    }

    /// One AXI4-Lite write of a whole word; returns BRESP.
    pub fn write_reg(&mut self, addr: u32, data: u32) -> Result<u32, BackendError> {
        self.write_strb(addr, data, 0xF)
    }

    /// One AXI4-Lite read; returns (RDATA, RRESP).
    pub fn read_reg(&mut self, addr: u32) -> Result<(u32, u32), BackendError> {
        let (mut ar_on, mut ar_done) = (false, false);
        let start = self.host_cycles;
        loop {
            if self.host_cycles - start > self.limit {
                return Err(self.timeout());
            }
            if !ar_done && !ar_on {
                ar_on = !self.stall();
            }
            let rready = !self.stall();
            let p = &self.p;
            self.sim.set_bool(p.arvalid, ar_on);
            self.sim.set_u64(p.araddr, addr.into());
            self.sim.set_bool(p.rready, rready);
            self.sim.set_bool(p.awvalid, false);
            self.sim.set_bool(p.wvalid, false);
            self.sim.set_bool(p.bready, false);
            self.sim.eval();
            let ar_fire = ar_on && self.sim.get_bool(p.arready);
            let r_fire = rready && self.sim.get_bool(p.rvalid);
            let data = self.sim.get_u64(p.rdata) as u32;
            let resp = self.sim.get_u64(p.rresp) as u32;
            self.edge();
            self.host_cycles += 1;
            if r_fire && !ar_done {
                self.bus_idle();
                return Err(other(format!(
                    "AXI protocol: RVALID before the read of {addr:#x} was accepted"
                )));
            }
            if ar_fire {
                ar_on = false;
                ar_done = true;
            }
            if r_fire {
                self.bus_idle();
                return Ok((data, resp));
            }
        }
    }
}

/// Registers over AXI4-Lite: one transaction per register; a wait is bounded by the cycle
/// limit.
impl RegisterBus for AxiMaster {
    fn read_regs(&mut self, addr: u32, count: usize) -> Result<(Vec<u32>, u32), BackendError> {
        let mut words = Vec::with_capacity(count);
        let mut resp = 0;
        for i in 0..count as u32 {
            let (v, r) = self.read_reg(addr + 4 * i)?;
            words.push(v);
            resp |= r;
        }
        Ok((words, resp))
    }

    fn write_regs(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<u32, BackendError> {
        let mut resp = 0;
        for (i, &w) in (0u32..).zip(words) {
            resp |= self.write_strb(addr + 4 * i, w, strb.into())?;
        }
        Ok(resp)
    }

    fn poll(&mut self, n: u64) -> Result<(), BackendError> {
        if n == 0 {
            self.wait_start = self.host_cycles;
        } else if self.host_cycles - self.wait_start > self.limit {
            return Err(self.timeout());
        }
        Ok(())
    }

    fn host_cycles(&self) -> u64 {
        self.host_cycles
    }

    /// The attached slave model's memory, poked beside the bus.
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BackendError> {
        check_memory_range(addr, bytes.len())?;
        let port = self.mem.as_mut().ok_or_else(no_memory)?;
        port.memory_mut().poke(addr, bytes);
        Ok(())
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, BackendError> {
        check_memory_range(addr, len)?;
        let port = self.mem.as_ref().ok_or_else(no_memory)?;
        let mut out = vec![0; len];
        port.memory().peek(addr, &mut out);
        Ok(out)
    }
}

fn no_memory() -> BackendError {
    BackendError::Other("no memory attached to the engine's AXI4 master (attach_memory)".into())
}

fn check_memory_range(addr: u32, len: usize) -> Result<(), BackendError> {
    if u64::from(addr) + len as u64 > 1 << 32 {
        return Err(BackendError::Other(format!(
            "memory bytes {addr:#x}..+{len} beyond 2^32"
        )));
    }
    Ok(())
}
