//! `systolic_mul_ecp5`: an integer multiplier on one Lattice ECP5 MULT18X18D, with the DSP
//! block's own registers (generated only with `primitives = "ecp5"`).
//!
//! Timing contract:
//! - `p = a * b`, exact (`2*W` bits), both operands signed when `SIGNED`, else unsigned;
//!   `W` <= 16 (the operands are extended to the block's 18 bits).
//! - Latency `REG_IN + 1` cycles: with `REG_IN = 1` the operands are registered in the block's
//!   input registers at the edge ending the cycle they are presented in; the product is
//!   registered in its output register at the next edge. With `REG_IN = 0` the operands go
//!   straight into the multiplier and only the output register is used.
//! - No reset, no enable: the registers load every cycle (CE0 tied high, RST0 low).
//!
//! Why: Yosys maps `*` to MULT18X18D combinationally and leaves every register in the fabric,
//! so register -> DSP -> register is a full cycle of multiplier and routing (7.4 ns on a 2x2
//! core). With the block's registers nextpnr times only fabric -> DSP input register and DSP
//! output register -> fabric. The simulation model is `hdl/sim/ecp5_cells.v`.

use crate::verilog::*;

/// The module (parameter defaults: W = 8, signed, input registers on).
pub fn module() -> Module {
    let ext = |name: &str| {
        wire_init(
            &format!("{name}18"),
            Some(int(18)),
            concat(vec![
                repeat(
                    int(18).sub(id("W")),
                    id("SIGNED")
                        .ne(int(0))
                        .bit_and(id(name).at(id("W").sub(int(1)))),
                ),
                id(name),
            ]),
        )
    };
    let block = |reg_in: bool| {
        let clk_in = string(if reg_in { "CLK0" } else { "NONE" });
        let mut params = vec![
            ("REG_INPUTA_CLK".to_string(), clk_in.clone()),
            ("REG_INPUTB_CLK".to_string(), clk_in),
            ("REG_OUTPUT_CLK".to_string(), string("CLK0")),
        ];
        for reg in ["INPUTA", "INPUTB", "OUTPUT"] {
            params.push((format!("REG_{reg}_CE"), string("CE0")));
            params.push((format!("REG_{reg}_RST"), string("RST0")));
        }
        params.push(("GSR".into(), string("DISABLED")));
        params.push(("RESETMODE".into(), string("SYNC")));
        let mut ports = vec![];
        for (pin, net) in [("A", "a18"), ("B", "b18")] {
            for i in (0..18).rev() {
                ports.push((format!("{pin}{i}"), id(net).at(int(i))));
            }
        }
        for i in (0..18).rev() {
            ports.push((format!("C{i}"), sized(1, 0)));
        }
        let signed = || id("SIGNED").ne(int(0));
        ports.extend([
            ("SIGNEDA".to_string(), signed()),
            ("SIGNEDB".to_string(), signed()),
            ("SOURCEA".to_string(), sized(1, 0)),
            ("SOURCEB".to_string(), sized(1, 0)),
        ]);
        for i in 0..4 {
            let (clk, ce) = if i == 0 {
                (id("clk"), sized(1, 1))
            } else {
                (sized(1, 0), sized(1, 0))
            };
            ports.push((format!("CLK{i}"), clk));
            ports.push((format!("CE{i}"), ce));
            ports.push((format!("RST{i}"), sized(1, 0)));
        }
        for i in (0..36).rev() {
            ports.push((format!("P{i}"), id("p36").at(int(i))));
        }
        ports.push(("SIGNEDP".into(), id("signed_p")));
        vec![Item::Instance(Instance {
            module: "MULT18X18D".into(),
            name: "u_dsp".into(),
            params,
            ports,
        })]
    };
    Module {
        name: "systolic_mul_ecp5".into(),
        doc: vec![
            "p = a * b on one ECP5 MULT18X18D (exact, signed when SIGNED; W <= 16), with the"
                .into(),
            "block's input registers when REG_IN and its output register: latency REG_IN + 1."
                .into(),
        ],
        params: vec![
            param("W", 8, "operand bits (at most 16)"),
            param("SIGNED", 1, "1: two's-complement operands"),
            param("REG_IN", 1, "1: the DSP block's input registers"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("a", w("W"), ""),
            input("b", w("W"), ""),
            output(
                "p",
                Some(id("W").mul(int(2))),
                "a * b, REG_IN + 1 cycles later",
            ),
        ],
        items: vec![
            ext("a"),
            ext("b"),
            Item::LintOff {
                warning: "UNUSED",
                reason: "The product of two W-bit operands has 2*W bits; the upper ones are sign."
                    .into(),
                items: vec![wire("p36", Some(int(36)))],
            },
            Item::LintOff {
                warning: "UNUSED",
                reason: "The block's product sign flag; the product's own bits carry the sign."
                    .into(),
                items: vec![wire("signed_p", None)],
            },
            Item::Blank,
            gen_if(
                id("REG_IN").ne(int(0)),
                "g_reg_in",
                block(true),
                "g_comb_in",
                block(false),
            ),
            assign(
                id("p"),
                id("p36").slice(id("W").mul(int(2)).sub(int(1)), int(0)),
            ),
        ],
    }
}
