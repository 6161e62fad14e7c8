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
//! - Reset: every valid, counter, pointer and error flag; memories and data registers are not
//!   reset (nothing reads them before they are written).

use std::collections::HashMap;

use crate::config::{bits_for, Config};
use crate::verilog::*;

use super::{Design, TopPort};

/// Name of the engine's top-level module.
pub const ENGINE_TOP: &str = "systolic_engine";

/// Sizes of the engine around the core, computed once from a configuration. All widths of the
/// engine's own modules are plain numbers from here (the modules have no parameters: they are
/// generated per configuration, like their file header says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub rows: u32,
    pub cols: u32,
    /// SBUF partitions: `max(rows, cols)`.
    pub parts: u32,
    pub data_w: u32,
    pub acc_w: u32,
    pub k_w: u32,
    pub m_w: u32,
    pub n_w: u32,
    pub bank_w: u32,
    /// Bits of a PSUM address (the core's `ADDR_W`).
    pub paddr_w: u32,
    pub banks: u32,
    pub psum_depth: u32,
    pub sbuf_depth: u32,
    /// Bits of an SBUF entry address: `log2(sbuf_depth)`.
    pub sa_w: u32,
    /// Bits of a partition number (at least 1).
    pub part_w: u32,
    /// Bytes per SBUF entry on the bus (1 or 2) and its log2.
    pub eb: u32,
    pub ebb: u32,
    /// SBUF entries per 32-bit bus word (`4 / eb`) and its log2: the SBUF is built of this many
    /// interleaved lane memories per partition, so one bus write stores a whole word at once.
    pub lanes: u32,
    pub lane_b: u32,
    /// Bits of a row of a lane memory: `sa_w - lane_b`.
    pub srow_w: u32,
    /// Bits of `k * m`.
    pub km_w: u32,
    /// The SBUF is `packed` (see [`super::sbuf`]): the bus waits while it stores a word.
    pub sbuf_packed: bool,
}

impl Geometry {
    pub fn new(cfg: &Config) -> Geometry {
        let d = &cfg.derived;
        let parts = cfg.rows.max(cfg.cols);
        let eb = crate::regs::sbuf_entry_bytes(cfg);
        let lanes = 4 / eb;
        let sa_w = cfg.sbuf_depth.trailing_zeros();
        let lane_b = lanes.trailing_zeros();
        Geometry {
            rows: cfg.rows,
            cols: cfg.cols,
            parts,
            data_w: d.data_w,
            acc_w: d.acc_w,
            k_w: d.k_w,
            m_w: d.m_w,
            n_w: d.n_w,
            bank_w: d.bank_w,
            paddr_w: d.addr_w,
            banks: cfg.psum_banks,
            psum_depth: cfg.psum_depth,
            sbuf_depth: cfg.sbuf_depth,
            sa_w,
            part_w: bits_for(u64::from(parts - 1)),
            eb,
            ebb: eb.trailing_zeros(),
            lanes,
            lane_b,
            srow_w: sa_w - lane_b,
            km_w: d.k_w + d.m_w,
            sbuf_packed: cfg.sbuf_layout == crate::config::SbufLayout::Packed,
        }
    }
}

// ----- small helpers shared by the engine's modules (widths are known numbers) -----

/// A width of `n` bits (`None` for one bit, which prints as a scalar).
pub(crate) fn bits(n: u32) -> Option<Expr> {
    assert!(n >= 1, "zero-width net");
    (n > 1).then(|| int(i64::from(n)))
}

/// `e` (of `from` bits) zero-extended to `to` bits.
pub(crate) fn zext(e: Expr, from: u32, to: u32) -> Expr {
    assert!(to >= from, "zext from {from} to {to}");
    if to == from {
        e
    } else {
        concat(vec![sized(to - from, 0), e])
    }
}

/// Bits `lsb + width - 1 .. lsb` of the vector `e` (a single bit when `width == 1`).
pub(crate) fn bits_of(e: Expr, lsb: u32, width: u32) -> Expr {
    if width == 1 {
        e.at(int(i64::from(lsb)))
    } else {
        e.slice(int(i64::from(lsb + width - 1)), int(i64::from(lsb)))
    }
}

/// `name + 1` / `name - 1` at the width of `name`.
pub(crate) fn inc(name: &str, width: u32) -> Expr {
    id(name).add(sized(width, 1))
}
pub(crate) fn dec(name: &str, width: u32) -> Expr {
    id(name).sub(sized(width, 1))
}

/// A 1-bit constant.
pub(crate) fn bit(v: bool) -> Expr {
    sized(1, u64::from(v))
}

/// Declarations first: every net of `items` (top level) is declared before any item uses it,
/// as Verilog-2005 requires; a net with an initial value becomes a declaration plus an
/// `assign` left where it was.
pub(crate) fn hoist(items: Vec<Item>) -> Vec<Item> {
    let mut decls = vec![];
    let mut rest = vec![];
    // A net's declaration, its initial value left behind as an `assign`.
    let declare = |mut net: Net, rest: &mut Vec<Item>| {
        if let Some(init) = net.init.take() {
            rest.push(assign(id(&net.name), init));
        }
        Item::Net(net)
    };
    for item in items {
        match item {
            Item::Net(net) => decls.push(declare(net, &mut rest)),
            // An attributed net (e.g. a memory with `no_rw_check`) keeps its attributes.
            Item::Attributed { attrs, item } if matches!(*item, Item::Net(_)) => {
                let Item::Net(net) = *item else {
                    unreachable!()
                };
                decls.push(Item::Attributed {
                    attrs,
                    item: Box::new(declare(net, &mut rest)),
                });
            }
            other => rest.push(other),
        }
    }
    decls.push(Item::Blank);
    decls.extend(rest);
    decls
}

/// A module instance whose ports are connected to nets of the same name, except `renamed`.
pub(crate) fn instance(
    module: &Module,
    name: &str,
    params: Vec<(String, Expr)>,
    renamed: &[(&str, &str)],
) -> Item {
    Item::Instance(Instance {
        module: module.name.clone(),
        name: name.into(),
        params,
        ports: module
            .ports
            .iter()
            .map(|p| {
                let net = renamed
                    .iter()
                    .find(|(port, _)| *port == p.name)
                    .map_or(p.name.as_str(), |(_, net)| net);
                (p.name.clone(), id(net))
            })
            .collect(),
    })
}

/// The AXI4-Lite slave ports of the engine (also the ports of `systolic_axil`, without the
/// PROT signals).
pub(crate) fn axil_ports(with_prot: bool) -> Vec<Port> {
    let mut v = vec![
        input("s_axil_awaddr", bits(32), "write address (bytes)"),
        input("s_axil_awvalid", None, ""),
        output("s_axil_awready", None, ""),
        input("s_axil_wdata", bits(32), ""),
        input("s_axil_wstrb", bits(4), "honoured in the SBUF window"),
        input("s_axil_wvalid", None, ""),
        output("s_axil_wready", None, ""),
        output_reg("s_axil_bresp", bits(2), "0 OKAY, 2 SLVERR"),
        output_reg("s_axil_bvalid", None, ""),
        input("s_axil_bready", None, ""),
        input("s_axil_araddr", bits(32), "read address (bytes)"),
        input("s_axil_arvalid", None, ""),
        output("s_axil_arready", None, ""),
        output_reg("s_axil_rdata", bits(32), ""),
        output_reg("s_axil_rresp", bits(2), "0 OKAY, 2 SLVERR"),
        output_reg("s_axil_rvalid", None, ""),
        input("s_axil_rready", None, ""),
    ];
    if with_prot {
        v.insert(
            1,
            input("s_axil_awprot", bits(3), "ignored: no protection checks").waive("UNUSED"),
        );
        v.insert(
            12,
            input("s_axil_arprot", bits(3), "ignored: no protection checks").waive("UNUSED"),
        );
        for p in &mut v {
            // The top's outputs are driven by the instance: plain wires there.
            p.reg = false;
        }
    }
    v
}

/// The engine's top module.
pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let axil = super::axil::module(cfg);
    let seq = super::sequencer::module(cfg);
    let sbuf = super::sbuf::module(cfg);

    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
    ];
    ports.extend(axil_ports(true));
    let top_names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();

    // Every port of the three engine modules that is not a top port becomes a net, declared
    // once (with its width from the module that drives or reads it).
    let mut items = vec![comment(
        "---- Nets between the bus, the sequencer, the SBUF and the core ----",
    )];
    let mut declared: Vec<String> = top_names.clone();
    for m in [&axil, &seq, &sbuf] {
        for p in &m.ports {
            if !declared.contains(&p.name) {
                declared.push(p.name.clone());
                items.push(wire(&p.name, p.width.clone()));
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
    items.push(Item::Blank);
    items.push(instance(&axil, "u_axil", vec![], &[]));
    items.push(instance(&sbuf, "u_sbuf", vec![], &[]));
    items.push(instance(&seq, "u_seq", vec![], &[]));
    let mut core_params = vec![
        ("ROWS", i64::from(g.rows)),
        ("COLS", i64::from(g.cols)),
        ("DATA_W", i64::from(g.data_w)),
    ];
    // The PE-level choices (signedness or adder latency, multiplier register).
    core_params.extend(
        super::pe::params(cfg)
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
    let core = super::top::module(cfg);
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

    Module {
        name: ENGINE_TOP.into(),
        doc: vec![
            "Engine: AXI4-Lite slave (registers, instruction queue, SBUF window, PSUM snapshot),"
                .into(),
            "SBUF (2 read ports, 1 host write port), sequencer (in-order dispatch to a load and a"
                .into(),
            "moving streamer, checks, counters) and the core systolic_top. See docs/registers.md"
                .into(),
            "and docs/isa.md.".into(),
        ],
        params: vec![],
        ports,
        items,
    }
}

fn core_ports_of(cfg: &Config) -> Vec<Port> {
    super::top::module(cfg).ports
}

/// All modules of the engine design of `cfg`, leaves first: the core's modules, then the SBUF,
/// the sequencer, the bus slave and the engine top.
pub fn design(cfg: &Config) -> Design {
    let mut d = Design::new(cfg);
    d.header.push(format!(
        "Engine: SBUF {} partitions x {} entries, instruction queue 16 x 64 bits, AXI4-Lite.",
        cfg.rows.max(cfg.cols),
        cfg.sbuf_depth
    ));
    d.modules.extend([
        super::sbuf::module(cfg),
        super::sequencer::module(cfg),
        super::axil::module(cfg),
        module(cfg),
    ]);
    d
}

/// The engine top's ports with their widths.
pub fn ports(cfg: &Config) -> Vec<TopPort> {
    let m = module(cfg);
    let env = HashMap::new();
    m.ports
        .iter()
        .map(|p| TopPort {
            name: p.name.clone(),
            dir: p.dir,
            width: p.width.as_ref().map_or(1, |w| {
                super::eval(w, &env).expect("engine port widths are numbers") as u32
            }),
        })
        .collect()
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
            let ports = ports(&cfg(r, c, f));
            assert_eq!(ports.len(), 21);
            assert!(ports
                .iter()
                .any(|p| p.name == "s_axil_wdata" && p.width == 32));
        }
    }
}
