//! The pin-limited harness: the core with every input driven from one long shift register
//! (`scan_in`) and every output folded into one registered parity bit (`scan_out`), so that a
//! core with hundreds of ports places on a package with a few dozen pins, keeps all its logic
//! (every output bit reaches `scan_out`, every input bit comes from a flip-flop) and has
//! register-to-register timing only. The core's one-bit outputs (its handshake and status
//! signals, combinational by the valid/ready contract) are registered before the fold
//! (`flag_q`, as a host interface would take them), so the fold's XOR levels never sit on a
//! core path; its data outputs leave the core's own registers.
//!
//! The harness is not a usable host interface (that is the board top, [`crate::rtl::board`]);
//! it costs IN_W flip-flops (the shift register, no LUTs), one per one-bit output, about
//! OUT_W/3 LUT4s and OUT_W/16 + 1 flip-flops (two registered levels of XOR). Synthesis keeps the core as its own level
//! (`keep_hierarchy`), so the core's own cells are reported apart from the harness's.

use super::core::{self, TOP};
use super::design::{Design, Level};
use crate::config::Config;
use crate::verilog::{
    always, id, input, int, nb, output, reg, sized, wire, Dir, Expr, Instance, Item, Module, Stmt,
};

/// The harness module's name.
pub const HARNESS: &str = "systolic_fpga_harness";

/// Bits of output folded into one first-level parity flip-flop.
const FOLD: u32 = 16;

/// The harness's ports, as a board's pin file must name them.
pub const CLOCK_PORT: &str = "clk";
pub const SCAN_IN_PORT: &str = "scan_in";
pub const SCAN_OUT_PORT: &str = "scan_out";

/// Sizes of a harness around one configuration's core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HarnessShape {
    /// Core input bits (all but the clock): the shift register's length.
    pub in_bits: u32,
    /// Core output bits folded into `scan_out`.
    pub out_bits: u32,
    /// First-level parity flip-flops.
    pub groups: u32,
}

/// The harness module and its shape.
pub fn module(cfg: &Config) -> (Module, HarnessShape) {
    let ports = core::design(cfg).top_ports();
    let in_bits: u32 = ports
        .iter()
        .filter(|p| p.dir == Dir::Input && p.name != CLOCK_PORT)
        .map(|p| p.width)
        .sum();
    let out_bits: u32 = ports
        .iter()
        .filter(|p| p.dir == Dir::Output)
        .map(|p| p.width)
        .sum();
    let groups = out_bits.div_ceil(FOLD).max(1);
    let shape = HarnessShape {
        in_bits,
        out_bits,
        groups,
    };

    let mut items: Vec<Item> = vec![
        reg("in_q", Some(int(i64::from(in_bits.max(2))))),
        wire("out_w", Some(int(i64::from(out_bits.max(1))))),
        reg("fold", Some(int(i64::from(groups)))),
        reg("scan_q", None),
    ];
    // The shift register: scan_in enters at bit 0.
    let shift = if in_bits >= 2 {
        Expr::Concat(vec![
            id("in_q").slice(int(i64::from(in_bits) - 2), int(0)),
            id(SCAN_IN_PORT),
        ])
    } else {
        Expr::Concat(vec![id("in_q").at(int(0)), id(SCAN_IN_PORT)])
    };
    let mut body: Vec<Stmt> = vec![nb(id("in_q"), shift)];
    // The one-bit outputs' positions in out_w, each registered in flag_q.
    let mut flags: Vec<u32> = vec![];
    let mut at = 0u32;
    for p in ports.iter().filter(|p| p.dir == Dir::Output) {
        if p.width == 1 {
            flags.push(at);
        }
        at += p.width;
    }
    if !flags.is_empty() {
        items.push(reg("flag_q", Some(int(flags.len() as i64))));
        for (k, &b) in flags.iter().enumerate() {
            body.push(nb(
                id("flag_q").at(int(k as i64)),
                id("out_w").at(int(i64::from(b))),
            ));
        }
    }
    let fold_bit = |b: u32| match flags.iter().position(|&f| f == b) {
        Some(k) => id("flag_q").at(int(k as i64)),
        None => id("out_w").at(int(i64::from(b))),
    };
    for g in 0..groups {
        let lo = g * FOLD;
        let hi = (lo + FOLD).min(out_bits);
        let bits: Vec<Expr> = (lo..hi).map(fold_bit).collect();
        let parity = bits
            .into_iter()
            .reduce(|a, b| a.bit_xor(b))
            .unwrap_or(sized(1, 0));
        body.push(nb(id("fold").at(int(i64::from(g))), parity));
    }
    let top_parity = (0..groups)
        .map(|g| id("fold").at(int(i64::from(g))))
        .reduce(|a, b| a.bit_xor(b))
        .expect("at least one group");
    body.push(nb(id("scan_q"), top_parity));
    items.push(always(body));
    items.push(crate::verilog::assign(id(SCAN_OUT_PORT), id("scan_q")));

    // The core: inputs from the shift register, outputs into out_w, in port order.
    let mut connections = vec![];
    let (mut in_at, mut out_at) = (0u32, 0u32);
    for p in &ports {
        let slice = |base: &str, at: u32| {
            if p.width == 1 {
                id(base).at(int(i64::from(at)))
            } else {
                id(base).slice(int(i64::from(at + p.width - 1)), int(i64::from(at)))
            }
        };
        let e = match p.dir {
            Dir::Input if p.name == CLOCK_PORT => id(CLOCK_PORT),
            Dir::Input => {
                let e = slice("in_q", in_at);
                in_at += p.width;
                e
            }
            Dir::Output => {
                let e = slice("out_w", out_at);
                out_at += p.width;
                e
            }
        };
        connections.push((p.name.clone(), e));
    }
    items.push(Item::Instance(Instance {
        module: TOP.to_string(),
        name: "u_core".into(),
        params: vec![],
        ports: connections,
    }));

    let m = Module {
        name: HARNESS.into(),
        doc: vec![
            "Pin-limited synthesis harness (not a host interface): every core input comes from"
                .into(),
            format!("one {in_bits}-bit shift register fed by scan_in; the {out_bits} core output bits are"),
            format!("folded (the one-bit outputs registered first) into {groups} registered parities, then into"),
            "the registered scan_out.".into(),
            "Keeps all of the core's logic and gives register-to-register timing on 3 pins."
                .into(),
        ],
        params: vec![],
        ports: vec![
            input(CLOCK_PORT, None, "the core's clock"),
            input(SCAN_IN_PORT, None, "serial input into every core input"),
            output(SCAN_OUT_PORT, None, "parity of every core output, registered"),
        ],
        items,
    };
    (m, shape)
}

/// The harness design of `cfg`: the core's modules with the harness as the top, and the
/// harness's shape.
pub fn design(cfg: &Config) -> (Design, HarnessShape) {
    let mut d = core::design(cfg);
    d.level = Level::Harness;
    let (m, shape) = module(cfg);
    d.modules.push(m);
    (d, shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{seeds_dir, Overrides};
    use crate::verilog::print_module;

    #[test]
    fn shape_counts_every_port_bit() {
        let cfg = Config::from_preset(&seeds_dir(), "int8-4x4", &Overrides::default()).unwrap();
        let (m, shape) = module(&cfg);
        let ports = core::design(&cfg).top_ports();
        let total: u32 = ports.iter().map(|p| p.width).sum();
        assert_eq!(shape.in_bits + shape.out_bits + 1, total);
        // rdata alone is COLS*ACC_W output bits.
        assert!(shape.out_bits > cfg.cols * cfg.acc_bits);
        assert_eq!(shape.groups, shape.out_bits.div_ceil(FOLD));
        let text = print_module(&[], &m);
        assert!(text.contains("systolic_top u_core"), "{text}");
        assert!(
            text.contains("(out_w[") && text.contains(".rdata "),
            "{text}"
        );
        assert!(text.contains("scan_q <= fold[0] ^ fold[1]"), "{text}");
    }
}
