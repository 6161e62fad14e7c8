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

use crate::config::{Config, Geometry};
use crate::verilog::*;

use super::design::Design;
use axil::axil_ports;

pub mod axil;
pub mod sbuf;
pub mod sequencer;

/// Name of the engine's top-level module.
pub const ENGINE_TOP: &str = "systolic_engine";

/// The engine's top module.
pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let axil = axil::module(cfg);
    let seq = sequencer::module(cfg);
    let sbuf = sbuf::module(cfg);

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
            format!(
                "SBUF {} partitions x {} entries, instruction queue 16 x 64 bits.",
                g.parts, g.sbuf_depth
            ),
        ],
        params: vec![],
        ports,
        items,
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
    d.modules.extend([
        sbuf::module(cfg),
        sequencer::module(cfg),
        axil::module(cfg),
        module(cfg),
    ]);
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
