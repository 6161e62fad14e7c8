//! `systolic_engine`: the programmable engine around the core. An AXI4-Lite slave
//! ([`super::axil`]) for the host, the SBUF ([`super::sbuf`]), the instruction queue and
//! sequencer ([`super::sequencer`]) and the core `systolic_top` ([`super::top`], unchanged).
//!
//! Timing contract:
//! - Ports: `clk`, `rst` (synchronous, active high) and the AXI4-Lite slave `s_axil_*`; nothing
//!   else. Every handshake and latency is the one of the level that owns it: the bus
//!   (`systolic_axil`: a write takes effect at the edge that accepts its last channel beat, B one
//!   cycle later; R one cycle after AR), the SBUF (`systolic_sbuf`: sync read, latency 1), the
//!   sequencer (`systolic_sequencer`: dispatch, streamers, checks, counters) and the core
//!   (`systolic_top`: a moving beat reaches PSUM about ROWS + COLS cycles after it fires, more
//!   with a pipelined PE).
//! - Between the levels, only registered valids cross into the core (`ls_valid`, `mm_valid`,
//!   `mv_valid`, `rd_valid` are registers); the SBUF read enables depend combinationally on the
//!   core's `ls_ready`/`mv_ready` (the SBUF output register is the streamers' hold register).
//! - Memory path (`dma = true`): the core's pipelined PSUM read port `ar_*` (no handshake, data
//!   `AR_LAT` = 2 cycles after `ar_en`) is driven combinationally by the write-back unit
//!   (`a_ps_*`, first) or the DMA (`ps_*`, when `ps_ok`); both take `ps_data`. The core's
//!   `mm_done` (a MultiplyMoving's last results written) goes to the dispatcher's PE
//!   completions. The host's snapshot reads keep the core's `rd_*` port.
//! - Reset: every valid, counter, pointer and error flag; memories and data registers are not
//!   reset (nothing reads them before they are written).

use crate::config::{Config, Geometry};
use crate::verilog::*;

use super::design::Design;
use axil::axil_ports;

pub mod act;
pub mod act_fp;
pub mod axil;
pub mod blocks;
pub mod dispatch;
pub mod dma;
pub mod fetch;
pub mod sbuf;
pub mod sequencer;

/// Name of the engine's top-level module.
pub const ENGINE_TOP: &str = "systolic_engine";

/// The engine's top module.
pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let axil = axil::module(cfg);
    let seq = sequencer_module(cfg);
    let sbuf = sbuf::module(cfg);
    let mp = cfg.dma.then(|| MemoryPath::new(cfg));

    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
    ];
    ports.extend(axil_ports(true));
    if let Some(mp) = &mp {
        ports.extend(mp.top_ports());
    }
    let top_names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();

    // Every port of the engine modules that is not a top port becomes a net, declared once
    // (with its width from the module that drives or reads it).
    let mut items = vec![comment(
        "---- Nets between the bus, the sequencer, the SBUF and the core ----",
    )];
    let mut declared: Vec<String> = top_names.clone();
    let mut modules: Vec<(&Module, &[(&str, &str)])> =
        vec![(&axil, &[]), (&seq, &[]), (&sbuf, &[])];
    if let Some(mp) = &mp {
        modules.push((&mp.dma, DMA_NETS));
        modules.push((&mp.fetch, &[]));
        modules.push((&mp.act, ACT_NETS));
    }
    for (m, renamed) in &modules {
        for p in &m.ports {
            let net = renamed
                .iter()
                .find(|(port, _)| *port == p.name)
                .map_or(p.name.as_str(), |(_, net)| net);
            if !declared.iter().any(|d| d == net) {
                declared.push(net.to_string());
                items.push(wire(net, p.width.clone()));
            }
        }
    }
    // Core inputs the engine ties to constants, with the reason.
    let tied: [(&str, u64, &str); 1] = [(
        "ls_gapless",
        1,
        "ls_gapless = 1: the load streamer sends a load's rows on consecutive cycles once it has started, and the sequencer never asks for more rows than the stationary has (k is clamped), so a swap may start one cycle after its load.",
    )];
    for (name, value, why) in tied {
        if let Some(p) = core_ports_of(cfg).into_iter().find(|p| p.name == name) {
            items.push(comment(why));
            items.push(wire_init(name, p.width.clone(), sized(1, value)));
            declared.push(name.to_string());
        }
    }
    if let Some(mp) = &mp {
        items.extend(mp.glue());
        items.extend(psum_read_sharing(&g));
        declared.extend(["ar_en", "ar_bank", "ar_addr", "ar_data"].map(String::from));
    }
    items.push(Item::Blank);
    items.push(instance(&axil, "u_axil", vec![], &[]));
    items.push(instance(&sbuf, "u_sbuf", vec![], &[]));
    items.push(instance(&seq, "u_seq", vec![], &[]));
    if let Some(mp) = &mp {
        items.push(instance(&mp.dma, "u_dma", vec![], DMA_NETS));
        items.push(instance(&mp.fetch, "u_fetch", vec![], &[]));
        items.push(instance(&mp.act, "u_act", vec![], ACT_NETS));
    }
    let mut core_params = vec![
        ("ROWS", i64::from(g.rows)),
        ("COLS", i64::from(g.cols)),
        ("DATA_W", i64::from(g.data_w)),
    ];
    // The PE-level choices (signedness or adder latency, multiplier register).
    core_params.extend(
        super::core::pe::params(cfg)
            .into_iter()
            .filter(|(n, _, _)| ["SIGNED", "MUL_LAT", "ADD_LAT"].contains(n))
            .map(|(n, v, _)| (n, v)),
    );
    core_params.extend([
        ("ACC_W", i64::from(g.acc_w)),
        ("PSUM_BANKS", i64::from(g.banks)),
        ("PSUM_DEPTH", i64::from(g.psum_depth)),
    ]);
    items.push(Item::LintOff {
        warning: "UNUSED",
        reason: "The core's busy includes its PSUM read port; the sequencer's FENCE and CYCLES count instructions only (mm_busy), so host PSUM reads are not compute time.".into(),
        items: vec![wire("core_busy_with_reads", None)],
    });
    declared.push("core_busy_with_reads".to_string());
    let core = super::core::top::module(cfg);
    for p in &core.ports {
        let net = match p.name.as_str() {
            "mm_busy" => "core_busy",
            "busy" => "core_busy_with_reads",
            other => other,
        };
        assert!(
            declared.iter().any(|d| d == net),
            "systolic_engine: core port {} is connected to nothing (new core port?)",
            p.name
        );
    }
    items.push(instance(
        &core,
        "u_core",
        core_params
            .into_iter()
            .map(|(n, v)| (n.to_string(), int(v)))
            .collect(),
        &[("mm_busy", "core_busy"), ("busy", "core_busy_with_reads")],
    ));

    let mut doc = vec![
        "Engine: AXI4-Lite slave (registers, instruction queue, SBUF window, PSUM snapshot),"
            .into(),
        "SBUF (2 read ports, 1 host write port), sequencer (in-order dispatch to a load and a"
            .into(),
        "moving streamer, checks, counters) and the core systolic_top. See docs/registers.md"
            .into(),
        "and docs/isa.md.".into(),
        format!(
            "SBUF {} partitions x {} entries, instruction queue 16 x 64 bits.",
            g.parts, g.sbuf_depth
        ),
    ];
    if cfg.dma {
        doc.push(format!(
            "Memory path (docs/memory-path.md): AXI4 master m_axi_* ({} bits), DMA engine, instruction fetch.",
            cfg.dma_bits
        ));
    }
    Module {
        name: ENGINE_TOP.into(),
        doc,
        params: vec![],
        ports,
        items,
    }
}

/// The DMA's ports that meet nets of other names: (port, net).
const DMA_NETS: &[(&str, &str)] = &[
    ("go", "dma_go"),
    ("words", "dma_words"),
    ("busy", "dma_busy"),
    ("done", "dma_done"),
    ("done_store", "dma_done_store"),
    ("done_bytes", "dma_done_bytes"),
    ("err", "dma_err"),
    ("ar_req", "d_ar_req"),
    ("ar_addr", "d_ar_addr"),
    ("ar_len", "d_ar_len"),
    ("ar_grant", "d_ar_grant"),
    ("r_valid", "d_r_valid"),
    ("r_ready", "d_r_ready"),
    ("r_data", "m_axi_rdata"),
    ("r_resp", "m_axi_rresp"),
    ("r_last", "m_axi_rlast"),
];

/// The write-back unit's ports that meet nets of other names: (port, net).
const ACT_NETS: &[(&str, &str)] = &[
    ("go", "act_go"),
    ("words", "act_words"),
    ("ready", "act_ready"),
    ("busy", "act_busy"),
    ("done", "act_done"),
    ("ps_en", "a_ps_en"),
    ("ps_bank", "a_ps_bank"),
    ("ps_addr", "a_ps_addr"),
];

/// The core's pipelined PSUM read port `ar_*` (memory path), shared by the write-back unit
/// (`a_ps_*`, first) and the DMA's PSUM reads (`ps_*`, a PSUM-target DMA_STORE): the DMA reads
/// in a cycle where the write-back unit does not (`ps_ok`). No handshake: the core answers
/// every read exactly `AR_LAT` cycles later on `ar_data`, whose low 32 bits of each column
/// both units take (`ps_data`; the reader that issued the read knows it is its own). The
/// host's snapshot reads keep the core's `rd_*` port for themselves.
fn psum_read_sharing(g: &Geometry) -> Vec<Item> {
    let cols_low32 = concat(
        (0..g.cols)
            .rev()
            .map(|c| bits_of(id("ar_data"), c * g.acc_w, 32))
            .collect(),
    );
    let mut items = vec![
        Item::Blank,
        comment("---- The core's pipelined PSUM read port: the write-back unit first, then the DMA ----"),
        wire("ar_en", None),
        wire("ar_bank", bits(g.bank_w)),
        wire("ar_addr", bits(g.paddr_w)),
    ];
    if g.acc_w > 32 {
        items.push(Item::LintOff {
            warning: "UNUSED",
            reason: "The units read the low 32 bits of each accumulator.".into(),
            items: vec![wire("ar_data", bits(g.cols * g.acc_w))],
        });
    } else {
        items.push(wire("ar_data", bits(g.cols * g.acc_w)));
    }
    items.extend([
        assign(id("ps_ok"), not(id("a_ps_en"))),
        assign(id("ar_en"), id("a_ps_en").or(id("ps_en"))),
        assign(
            id("ar_bank"),
            cond(id("a_ps_en"), id("a_ps_bank"), id("ps_bank")),
        ),
        assign(
            id("ar_addr"),
            cond(id("a_ps_en"), id("a_ps_addr"), id("ps_addr")),
        ),
        assign(id("ps_data"), cols_low32),
    ]);
    items
}

/// The levels of the memory path (`dma = true`) and the engine top's glue for them.
struct MemoryPath {
    db: u32,
    dma: Module,
    fetch: Module,
    /// The write-back unit.
    act: Module,
}

impl MemoryPath {
    fn new(cfg: &Config) -> MemoryPath {
        MemoryPath {
            db: cfg.dma_bits / 8,
            dma: dma::module(cfg, crate::rtl::core::psum::AR_LAT),
            fetch: fetch::module(cfg),
            act: act::module(cfg, crate::rtl::core::psum::AR_LAT),
        }
    }

    /// The AXI4 master port (docs/memory-path.md, "The AXI4 master port").
    fn top_ports(&self) -> Vec<Port> {
        let db = self.db;
        vec![
            output("m_axi_awid", None, "AXI4 master: 0 (the DMA)"),
            output("m_axi_awaddr", bits(32), ""),
            output("m_axi_awlen", bits(8), ""),
            output("m_axi_awsize", bits(3), "log2 of the data bytes"),
            output("m_axi_awburst", bits(2), "INCR"),
            output("m_axi_awvalid", None, ""),
            input("m_axi_awready", None, ""),
            output("m_axi_wdata", bits(8 * db), ""),
            output("m_axi_wstrb", bits(db), ""),
            output("m_axi_wlast", None, ""),
            output("m_axi_wvalid", None, ""),
            input("m_axi_wready", None, ""),
            input("m_axi_bid", None, "always 0: only the DMA writes").waive("UNUSED"),
            input("m_axi_bresp", bits(2), ""),
            input("m_axi_bvalid", None, ""),
            output("m_axi_bready", None, "always 1"),
            output("m_axi_arid", None, "0 DMA, 1 instruction fetch"),
            output("m_axi_araddr", bits(32), ""),
            output("m_axi_arlen", bits(8), ""),
            output("m_axi_arsize", bits(3), "log2 of the data bytes"),
            output("m_axi_arburst", bits(2), "INCR"),
            output("m_axi_arvalid", None, ""),
            input("m_axi_arready", None, ""),
            input("m_axi_rid", None, ""),
            input("m_axi_rdata", bits(8 * db), ""),
            input("m_axi_rresp", bits(2), ""),
            input("m_axi_rlast", None, ""),
            input("m_axi_rvalid", None, ""),
            output("m_axi_rready", None, ""),
        ]
    }

    /// Constants of the AXI4 port, the fetch's abort, the SBUF's port-1 block while the
    /// write-back unit writes. (The multiplies' completions, `mm_done`, come from the core.)
    fn glue(&self) -> Vec<Item> {
        let size = u64::from(self.db.trailing_zeros());
        vec![
            Item::Blank,
            comment("---- The memory path: AXI4 constants, fetch abort ----"),
            assign(id("m_axi_awid"), bit(false)),
            assign(id("m_axi_awsize"), sized(3, size)),
            assign(id("m_axi_awburst"), sized(2, 1)),
            assign(id("m_axi_arsize"), sized(3, size)),
            assign(id("m_axi_arburst"), sized(2, 1)),
            assign(id("abort"), id("st_error").or(id("clear_error"))),
            assign(id("sb_block"), red_or(id("a_wen"))),
        ]
    }
}

/// The instruction sequencer `systolic_sequencer`: the register path's (`sequencer`) or, with
/// the memory path, the dispatcher to the PE, DMA and ACT engines (`dispatch`).
pub fn sequencer_module(cfg: &Config) -> Module {
    if cfg.dma {
        dispatch::module(cfg, &Geometry::new(cfg))
    } else {
        sequencer::module(cfg)
    }
}

fn core_ports_of(cfg: &Config) -> Vec<Port> {
    super::core::top::module(cfg).ports
}

/// All modules of the engine design of `cfg`, leaves first: the core's modules, then the SBUF,
/// the sequencer, the bus slave and the engine top.
pub fn design(cfg: &Config) -> Design {
    let mut d = super::core::design(cfg);
    d.level = super::design::Level::Engine;
    d.modules.extend([sbuf::module(cfg), sequencer_module(cfg)]);
    if cfg.dma {
        d.modules.extend([
            dma::module(cfg, crate::rtl::core::psum::AR_LAT),
            fetch::module(cfg),
            act::module(cfg, crate::rtl::core::psum::AR_LAT),
        ]);
    }
    d.modules.extend([axil::module(cfg), module(cfg)]);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn cfg(rows: u32, cols: u32, format: &str) -> Config {
        Config::from_raw(&RawConfig {
            name: "t".into(),
            rows,
            cols,
            format: format.into(),
            acc_bits: 32,
            psum_banks: 2,
            psum_depth: 16,
            sbuf_depth: 64,
            pe_latency: 1,
            primitives: Default::default(),
            dsp_cols: None,
            psum_split: false,
            sbuf_layout: Default::default(),
            tile_cols: 1,
            keep_tokens: false,
            ..RawConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn engine_design_is_deterministic_and_complete() {
        for (r, c, f) in [(3, 5, "int8"), (1, 1, "uint16"), (4, 4, "int4")] {
            let a = design(&cfg(r, c, f)).files();
            assert_eq!(a, design(&cfg(r, c, f)).files());
            let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
            for m in [
                "systolic_top.v",
                "systolic_sbuf.v",
                "systolic_sequencer.v",
                "systolic_axil.v",
                "systolic_engine.v",
            ] {
                assert!(names.contains(&m), "{m} missing");
            }
            let ports = design(&cfg(r, c, f)).top_ports();
            assert_eq!(ports.len(), 21);
            assert!(ports
                .iter()
                .any(|p| p.name == "s_axil_wdata" && p.width == 32));
        }
    }
}
