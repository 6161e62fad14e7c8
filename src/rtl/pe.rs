//! `systolic_pe`: one weight-stationary processing element.
//!
//! Timing contract (one cycle, everything registered):
//! - `psum_out <= psum_in + x_in * w`, where `w` is the active weight, or the shadow weight in
//!   the cycle `swap_in` is high (the swap takes effect for the beat that carries it). Products
//!   are exact (`2*DATA_W` bits, signed or unsigned by `SIGNED`), extended to `ACC_W` and added
//!   modulo `2^ACC_W`.
//! - `x_out`, `swap_out` repeat `x_in`, `swap_in` one cycle later (moving data flows right).
//! - Two weight registers: `w_active` (used) and `w_shadow` (being loaded). `swap_in` copies
//!   shadow to active at the clock edge. The column's load bus (`ld_valid`, `ld_row`,
//!   `ld_data`) writes `w_shadow` at the edge of a cycle in which it carries this PE's row.
//! - Control output `swap_out` is cleared by the synchronous reset; data registers have no
//!   reset (a bubble carries x = 0, and the top level discards results it did not ask for).

use crate::config::Config;
use crate::verilog::*;

/// The PE module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let d = &cfg.derived;
    let (data_w, acc_w, row_w, signed_) = (d.data_w, d.acc_w, d.row_w, cfg.format.is_signed());
    let dw = || w("DATA_W");
    let aw = || w("ACC_W");
    let prod_w = id("DATA_W").mul(int(2));
    // ld_row zero-extended to 32 bits to compare with the integer parameter ROW.
    let mine =
        id("ld_valid").and(concat(vec![zeros(int(32) - id("ROW_W")), id("ld_row")]).eq(id("ROW")));
    Module {
        name: "systolic_pe".into(),
        doc: vec![
            "Weight-stationary processing element. Latency 1 cycle, all outputs registered:".into(),
            "  psum_out <= psum_in + x_in * (swap_in ? w_shadow : w_active)   (mod 2^ACC_W)".into(),
            "  x_out, swap_out <= x_in, swap_in   (moving data flows right)".into(),
            "  w_active <= w_shadow when swap_in; w_shadow <= ld_data when the load bus carries row ROW.".into(),
        ],
        params: vec![
            param("DATA_W", data_w.into(), "bits of one input element"),
            param("ACC_W", acc_w.into(), "bits of the accumulator (>= 2*DATA_W)"),
            param("ROW_W", row_w.into(), "bits of a row index"),
            param("ROW", 0, "this PE's row: the load bus row it captures"),
            param("SIGNED", i64::from(signed_), "1: two's-complement inputs, 0: unsigned"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("x_in", dw(), "moving element from the left"),
            input("swap_in", None, "this beat uses the new stationary"),
            input("psum_in", aw(), "partial sum from above"),
            input("ld_valid", None, "the column's load bus"),
            input("ld_row", w("ROW_W"), "row of the stationary element on the bus"),
            input("ld_data", dw(), "stationary element"),
            output_reg("x_out", dw(), "to the right"),
            output_reg("swap_out", None, "to the right"),
            output_reg("psum_out", aw(), "down"),
        ],
        items: vec![
            reg("w_active", dw()),
            reg("w_shadow", dw()),
            wire_init("w_use", dw(), cond(id("swap_in"), id("w_shadow"), id("w_active"))),
            wire("prod", Some(prod_w.clone())),
            wire("prod_ext", aw()),
            Item::Blank,
            comment("Exact product of two DATA_W-bit inputs, then sign- or zero-extended to ACC_W."),
            gen_if(
                id("SIGNED").ne(int(0)),
                "g_signed",
                vec![assign(id("prod"), signed(id("x_in")).mul(signed(id("w_use"))))],
                "g_unsigned",
                vec![assign(id("prod"), id("x_in").mul(id("w_use")))],
            ),
            gen_if(
                id("ACC_W").eq(prod_w.clone()),
                "g_ext_none",
                vec![assign(id("prod_ext"), id("prod"))],
                "g_ext",
                vec![
                    wire_init(
                        "ext_bit",
                        None,
                        id("SIGNED").ne(int(0)).bit_and(id("prod").at(prod_w.clone().sub(int(1)))),
                    ),
                    assign(
                        id("prod_ext"),
                        concat(vec![repeat(id("ACC_W").sub(prod_w), id("ext_bit")), id("prod")]),
                    ),
                ],
            ),
            Item::Blank,
            always(vec![
                nb(id("x_out"), id("x_in")),
                nb(id("psum_out"), id("psum_in").add(id("prod_ext"))),
                if_(id("swap_in"), vec![nb(id("w_active"), id("w_shadow"))]),
                if_(mine, vec![nb(id("w_shadow"), id("ld_data"))]),
            ]),
            always(vec![if_else(
                id("rst"),
                vec![nb(id("swap_out"), sized(1, 0))],
                vec![nb(id("swap_out"), id("swap_in"))],
            )]),
        ],
    }
}
