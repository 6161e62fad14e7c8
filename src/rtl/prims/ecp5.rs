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
//! - No reset. The registers load every cycle (CE0 tied high, RST0 low), except, with
//!   `REG_IN = 1`, the `b` input register: it loads only at edges ending a cycle with `b_ce`
//!   high (CE1), and holds otherwise (a PE keeps its active weight there). `b_ce` is unused
//!   when `REG_IN = 0`.
//!
//! Why: Yosys maps `*` to MULT18X18D combinationally and leaves every register in the fabric,
//! so register -> DSP -> register is a full cycle of multiplier and routing (7.4 ns on a 2x2
//! core). With the block's registers nextpnr times only fabric -> DSP input register and DSP
//! output register -> fabric. The simulation model is `hdl/sim/ecp5_cells.v`.

use crate::verilog::*;

/// The module (parameter defaults: W = 8, signed, input registers on).
pub fn module() -> Module {
    let ext = |name: &str| super::extend_operand(name, 18);
    let block = |reg_in: bool| {
        let clk_in = string(if reg_in { "CLK0" } else { "NONE" });
        let mut params = vec![
            ("REG_INPUTA_CLK".to_string(), clk_in.clone()),
            ("REG_INPUTB_CLK".to_string(), clk_in),
            ("REG_OUTPUT_CLK".to_string(), string("CLK0")),
        ];
        for reg in ["INPUTA", "INPUTB", "OUTPUT"] {
            let ce = if reg == "INPUTB" && reg_in {
                "CE1"
            } else {
                "CE0"
            };
            params.push((format!("REG_{reg}_CE"), string(ce)));
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
            let (clk, ce) = match i {
                0 => (id("clk"), sized(1, 1)),
                1 if reg_in => (sized(1, 0), id("b_ce")),
                _ => (sized(1, 0), sized(1, 0)),
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
            input(
                "b_ce",
                None,
                "REG_IN: load the b register (else it holds); unused otherwise",
            )
            .waive("UNUSED"),
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

/// `systolic_ram_ecp5`: a simple dual-port memory of `ENTRIES` x `W` bits on ECP5 DP16KD
/// blocks with their output registers (generated only with `primitives = "ecp5"`).
///
/// Timing contract:
/// - Write: `wdata` is written at `waddr` at the edge ending a cycle with `we`.
/// - Read: the word at `raddr` in cycle t is on `rdata` in cycle t + 2 (the block's read
///   latch at edge t, its output register at edge t + 1). Reading the word written at the same
///   edge gives either value (the PSUM forwards those sums instead).
/// - Blocks: `ENTRIES` <= 512: 36-bit wide (simple dual port), ceil(W / 36) of them;
///   `ENTRIES` <= 1024: 18-bit wide (port A writes, port B reads), ceil(W / 18) of them.
///
/// Why: without its output register a DP16KD's read data leaves 5.6 ns after the clock in
/// nextpnr's model (0.97 ns with it), and Yosys never uses that register. The simulation model
/// is `hdl/sim/ecp5_cells.v`.
pub fn ram_module() -> Module {
    let tile = |tw: u32| -> Vec<Item> {
        let pdp = tw == 36;
        let alow = if pdp { 5 } else { 4 };
        // Bit i of block t's slice of a padded bus (a plain index: Yosys 0.70 misreads a bit
        // select of a part select, `bus[t*18 +: 18][i]`, as `bus[i]`).
        let data =
            |bus: &str, i: u32| id(bus).at(id("t").mul(int(i64::from(tw))).add(int(i64::from(i))));
        let mut params = vec![
            ("DATA_WIDTH_A".to_string(), int(i64::from(tw))),
            ("DATA_WIDTH_B".to_string(), int(i64::from(tw))),
            // Simple dual port: nextpnr times the read data by both settings.
            (
                "REGMODE_A".to_string(),
                string(if pdp { "OUTREG" } else { "NOREG" }),
            ),
            ("REGMODE_B".to_string(), string("OUTREG")),
        ];
        params.extend([
            ("RESETMODE".to_string(), string("SYNC")),
            ("GSR".to_string(), string("DISABLED")),
        ]);
        let mut ports: Vec<(String, Expr)> = vec![
            ("CLKA".into(), id("clk")),
            ("WEA".into(), if pdp { sized(1, 1) } else { id("we") }),
            ("CEA".into(), if pdp { id("we") } else { sized(1, 1) }),
            ("OCEA".into(), sized(1, 0)),
            ("RSTA".into(), sized(1, 0)),
        ];
        for side in ["A", "B"] {
            for i in 0..3 {
                ports.push((format!("CS{side}{i}"), sized(1, 0)));
            }
        }
        // Address pins: the word address from bit `alow` up; below it byte enables (port A
        // writes every byte) or zeros.
        for (side, addr) in [("A", "wa_x"), ("B", "ra_x")] {
            for i in (0..14).rev() {
                let pin = format!("AD{side}{i}");
                let e = if i >= alow {
                    id(addr).at(int(i64::from(i - alow)))
                } else if side == "A" && (i < 2 || (pdp && i < 4)) {
                    sized(1, 1)
                } else {
                    sized(1, 0)
                };
                ports.push((pin, e));
            }
        }
        for i in (0..18).rev() {
            ports.push((format!("DIA{i}"), data("wdata_p", i)));
        }
        for i in (0..18).rev() {
            let e = if pdp {
                data("wdata_p", i + 18)
            } else {
                sized(1, 0)
            };
            ports.push((format!("DIB{i}"), e));
        }
        ports.extend([
            ("CLKB".into(), id("clk")),
            ("WEB".into(), sized(1, 0)),
            ("CEB".into(), sized(1, 1)),
            ("OCEB".into(), sized(1, 1)),
            ("RSTB".into(), sized(1, 0)),
        ]);
        for i in (0..18).rev() {
            let e = if pdp {
                data("rdata_p", i)
            } else {
                id("unused_doa").at(int(i64::from(i)))
            };
            ports.push((format!("DOA{i}"), e));
        }
        for i in (0..18).rev() {
            let bit = if pdp { i + 18 } else { i };
            ports.push((format!("DOB{i}"), data("rdata_p", bit)));
        }
        let mut items = vec![];
        if !pdp {
            items.push(Item::LintOff {
                warning: "UNUSED",
                reason: "Port A only writes in this configuration: its read data is unused.".into(),
                items: vec![wire("unused_doa", Some(int(18)))],
            });
        }
        items.push(Item::Instance(Instance {
            module: "DP16KD".into(),
            name: "u_bram".into(),
            params,
            ports,
        }));
        items
    };
    let per_width = |tw: u32, label: &str| {
        vec![
            Item::Localparam(
                "NT".into(),
                id("W").add(int(i64::from(tw - 1))).div(int(i64::from(tw))),
            ),
            wire("wdata_p", Some(id("NT").mul(int(i64::from(tw))))),
            Item::LintOff {
                warning: "UNUSED",
                reason: "Read bits above W of the last block are padding.".into(),
                items: vec![wire("rdata_p", Some(id("NT").mul(int(i64::from(tw)))))],
            },
            assign(
                id("wdata_p"),
                concat(vec![
                    zeros(id("NT").mul(int(i64::from(tw))).sub(id("W"))),
                    id("wdata"),
                ]),
            ),
            assign(
                id("rdata"),
                id("rdata_p").slice(id("W").sub(int(1)), int(0)),
            ),
            gen_for("t", int(0), id("NT"), label, tile(tw)),
        ]
    };
    Module {
        name: "systolic_ram_ecp5".into(),
        doc: vec![
            "ENTRIES x W simple dual-port memory on ECP5 DP16KD blocks with their output".into(),
            "registers: write at the edge of a cycle with we; rdata two cycles after raddr.".into(),
        ],
        params: vec![
            param("W", 32, "bits of a word"),
            param("ENTRIES", 512, "words (at most 1024)"),
            param("AW", 9, "address bits (at most 10)"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("we", None, ""),
            input("waddr", w("AW"), ""),
            input("wdata", w("W"), ""),
            input("raddr", w("AW"), ""),
            output("rdata", w("W"), "the word at raddr two cycles earlier"),
        ],
        items: vec![
            comment("Addresses zero-extended to 11 bits; the blocks take 9 (36 wide) or 10."),
            Item::LintOff {
                warning: "UNUSED",
                reason: "The 36-bit blocks use 9 address bits, the 18-bit ones 10, of 11.".into(),
                items: vec![
                    wire_init(
                        "wa_x",
                        Some(int(11)),
                        concat(vec![zeros(int(11).sub(id("AW"))), id("waddr")]),
                    ),
                    wire_init(
                        "ra_x",
                        Some(int(11)),
                        concat(vec![zeros(int(11).sub(id("AW"))), id("raddr")]),
                    ),
                ],
            },
            Item::Blank,
            gen_if(
                id("ENTRIES").le(int(512)),
                "g_w36",
                per_width(36, "g_blk"),
                "g_w18",
                per_width(18, "g_blk"),
            ),
        ],
    }
}
