//! [`MemPort`]: the memory behind `systolic_engine`'s AXI4 master port `m_axi_*` in a Verilator
//! co-simulation: the [`Axi4Slave`] model of [`super::axi4`] over a
//! [`SparseMemory`], with an [`Axi4Checker`] watching every cycle of the port.
//!
//! Timing contract (the one of [`super::axi4`]): the slave's outputs are registered. After each
//! rising edge [`MemPort::drive`] puts the slave's outputs of the new cycle on the model's
//! inputs; just before the next edge (the model evaluated with every input of the cycle)
//! [`MemPort::edge`] samples the master's outputs, lets the checker observe both sides and
//! advances the slave. Neither side sees reset: the port starts at the first edge after it.

use crate::engine::memory::SparseMemory;

use super::axi4::{
    AddrBeat, Axi4Checker, Axi4Slave, ConfigError, Counters, Data, MasterOut, SlaveConfig,
    SlaveOut, Violation, WBeat,
};
use super::verilator::{PortId, Sim, VerilatorError};

/// The `m_axi_*` ports of the engine.
struct Ports {
    awid: PortId,
    awaddr: PortId,
    awlen: PortId,
    awsize: PortId,
    awburst: PortId,
    awvalid: PortId,
    awready: PortId,
    wdata: PortId,
    wstrb: PortId,
    wlast: PortId,
    wvalid: PortId,
    wready: PortId,
    bid: PortId,
    bresp: PortId,
    bvalid: PortId,
    bready: PortId,
    arid: PortId,
    araddr: PortId,
    arlen: PortId,
    arsize: PortId,
    arburst: PortId,
    arvalid: PortId,
    arready: PortId,
    rid: PortId,
    rdata: PortId,
    rresp: PortId,
    rlast: PortId,
    rvalid: PortId,
    rready: PortId,
}

impl Ports {
    fn new(sim: &Sim) -> Result<Ports, VerilatorError> {
        let p = |n: &str| sim.require_port(&format!("m_axi_{n}"));
        Ok(Ports {
            awid: p("awid")?,
            awaddr: p("awaddr")?,
            awlen: p("awlen")?,
            awsize: p("awsize")?,
            awburst: p("awburst")?,
            awvalid: p("awvalid")?,
            awready: p("awready")?,
            wdata: p("wdata")?,
            wstrb: p("wstrb")?,
            wlast: p("wlast")?,
            wvalid: p("wvalid")?,
            wready: p("wready")?,
            bid: p("bid")?,
            bresp: p("bresp")?,
            bvalid: p("bvalid")?,
            bready: p("bready")?,
            arid: p("arid")?,
            araddr: p("araddr")?,
            arlen: p("arlen")?,
            arsize: p("arsize")?,
            arburst: p("arburst")?,
            arvalid: p("arvalid")?,
            arready: p("arready")?,
            rid: p("rid")?,
            rdata: p("rdata")?,
            rresp: p("rresp")?,
            rlast: p("rlast")?,
            rvalid: p("rvalid")?,
            rready: p("rready")?,
        })
    }
}

/// The AXI4 slave model and protocol checker on the engine's master port.
pub struct MemPort {
    p: Ports,
    bytes: usize,
    slave: Axi4Slave<SparseMemory>,
    checker: Axi4Checker,
}

impl MemPort {
    /// The port of `sim` (a `systolic_engine` with `dma = true`) on a slave of `cfg` over
    /// `mem`, checked against `cfg`'s width and outstanding limits.
    pub fn new(sim: &Sim, cfg: SlaveConfig, mem: SparseMemory) -> Result<MemPort, String> {
        let p = Ports::new(sim).map_err(|e| e.to_string())?;
        let bytes = cfg.data_bytes() as usize;
        let checker = Axi4Checker::for_slave(&cfg);
        let slave = Axi4Slave::new(cfg, mem).map_err(|ConfigError(e)| e)?;
        Ok(MemPort {
            p,
            bytes,
            slave,
            checker,
        })
    }

    pub fn memory(&self) -> &SparseMemory {
        self.slave.memory()
    }

    pub fn memory_mut(&mut self) -> &mut SparseMemory {
        self.slave.memory_mut()
    }

    /// The checker's counters so far.
    pub fn counters(&self) -> &Counters {
        self.checker.counters()
    }

    /// Ends the run: every request answered, no violation seen.
    pub fn finish(&mut self) -> Result<Counters, Violation> {
        self.checker.finish()
    }

    /// The slave's outputs of the current cycle onto the model's inputs (no eval).
    pub fn drive(&self, sim: &mut Sim) {
        let (p, s): (&Ports, &SlaveOut) = (&self.p, self.slave.outputs());
        sim.set_bool(p.awready, s.awready);
        sim.set_bool(p.wready, s.wready);
        sim.set_bool(p.bvalid, s.b.valid);
        sim.set_u64(p.bid, s.b.id.into());
        sim.set_u64(p.bresp, s.b.resp.bits().into());
        sim.set_bool(p.arready, s.arready);
        sim.set_bool(p.rvalid, s.r.valid);
        sim.set_u64(p.rid, s.r.id.into());
        sim.set(p.rdata, &s.r.data.to_u32_words(self.bytes));
        sim.set_u64(p.rresp, s.r.resp.bits().into());
        sim.set_bool(p.rlast, s.r.last);
    }

    /// The master's outputs as the model drives them now.
    fn sample(&self, sim: &Sim) -> MasterOut {
        let p = &self.p;
        let addr = |sim: &Sim, valid, id, addr, len, size, burst| AddrBeat {
            valid: sim.get_bool(valid),
            id: sim.get_u64(id) as u32,
            addr: sim.get_u64(addr),
            len: sim.get_u64(len) as u16,
            size: sim.get_u64(size) as u8,
            burst: sim.get_u64(burst) as u8,
        };
        MasterOut {
            aw: addr(
                sim, p.awvalid, p.awid, p.awaddr, p.awlen, p.awsize, p.awburst,
            ),
            w: WBeat {
                valid: sim.get_bool(p.wvalid),
                data: Data::from_u32_words(sim.get(p.wdata)),
                strb: sim.get_u64(p.wstrb),
                last: sim.get_bool(p.wlast),
            },
            bready: sim.get_bool(p.bready),
            ar: addr(
                sim, p.arvalid, p.arid, p.araddr, p.arlen, p.arsize, p.arburst,
            ),
            rready: sim.get_bool(p.rready),
        }
    }

    /// Just before a rising edge (`sim` evaluated with this cycle's inputs): the checker
    /// observes the cycle and the slave takes the master's side of it. Then tick `sim` and
    /// [`drive`](Self::drive) again.
    pub fn edge(&mut self, sim: &Sim) -> Result<(), Violation> {
        let m = self.sample(sim);
        self.checker.observe(&m, self.slave.outputs())?;
        self.slave.tick(&m)
    }
}
