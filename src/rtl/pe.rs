//! `systolic_pe`: one weight-stationary processing element.
//!
//! Timing contract (one cycle, everything registered):
//! - `psum_out <= psum_in + x_in * w`, where `w` is the active weight, or the shadow weight in
//!   the cycle `swap_in` is high (the swap takes effect for the beat that carries it). Products
//!   are exact (`2*DATA_W` bits, signed or unsigned by `SIGNED`), extended to `ACC_W` and added
//!   modulo `2^ACC_W`.
//! - `x_out`, `swap_out` repeat `x_in`, `swap_in` one cycle later (moving data flows right).
//! - Two weight registers: `w_active` (used) and `w_shadow` (being loaded). `swap_in` copies
//!   shadow to active at the clock edge.
//! - Load bus (flows down, one cycle per row): `ld_cnt_in` counts down the rows still to pass;
//!   the PE whose `ld_cnt_in` is zero captures `ld_data_in` into `w_shadow`. On the last row of a
//!   load (`ld_last_in`), PEs already passed (`ld_cnt_in` negative) clear `w_shadow`: a
//!   stationary with fewer rows than the array is zero-padded without extra cycles.
//! - No position parameters: every PE is the same module, so simulators and synthesis compile it
//!   once. Control outputs (`swap_out`, `ld_valid_out`) are cleared by the synchronous reset;
//!   data registers have no reset.

use crate::verilog::*;

pub fn module(data_w: u32, acc_w: u32, cnt_w: u32, signed_: bool) -> Module {
    let dw = || w("DATA_W");
    let aw = || w("ACC_W");
    let prod_w = id("DATA_W").mul(int(2));
    let hit = id("ld_valid_in").and(id("ld_cnt_in").eq(zeros(id("CNT_W"))));
    let pad = id("ld_valid_in")
        .and(id("ld_last_in"))
        .and(id("ld_cnt_in").at(id("CNT_W").sub(int(1))));
    Module {
        name: "systolic_pe".into(),
        doc: vec![
            "Weight-stationary processing element. Latency 1 cycle, all outputs registered:".into(),
            "  psum_out <= psum_in + x_in * (swap_in ? w_shadow : w_active)   (mod 2^ACC_W)".into(),
            "  x_out, swap_out <= x_in, swap_in   (moving data flows right)".into(),
            "  ld_*_out <= ld_*_in, ld_cnt counting down   (load bus flows down)".into(),
            "w_shadow captures the load bus when ld_cnt_in == 0; rows already passed are".into(),
            "cleared on the last row of a load (ld_cnt_in negative), zero-padding short stationaries.".into(),
        ],
        params: vec![
            param("DATA_W", data_w.into(), "bits of one input element"),
            param("ACC_W", acc_w.into(), "bits of the accumulator (>= 2*DATA_W)"),
            param("CNT_W", cnt_w.into(), "bits of the load row count-down (signed)"),
            param("SIGNED", i64::from(signed_), "1: two's-complement inputs, 0: unsigned"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("x_in", dw(), "moving element from the left"),
            input("swap_in", None, "this beat uses the new stationary"),
            input("psum_in", aw(), "partial sum from above"),
            input("ld_valid_in", None, "load bus from above"),
            input("ld_last_in", None, "last row of this load"),
            input("ld_cnt_in", w("CNT_W"), "rows still to pass; 0 = this row"),
            input("ld_data_in", dw(), "stationary element"),
            output_reg("x_out", dw(), "to the right"),
            output_reg("swap_out", None, "to the right"),
            output_reg("psum_out", aw(), "down"),
            output_reg("ld_valid_out", None, "down"),
            output_reg("ld_last_out", None, "down"),
            output_reg("ld_cnt_out", w("CNT_W"), "down"),
            output_reg("ld_data_out", dw(), "down"),
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
                nb(id("ld_last_out"), id("ld_last_in")),
                nb(id("ld_cnt_out"), id("ld_cnt_in").sub(sized(1, 1))),
                nb(id("ld_data_out"), id("ld_data_in")),
                if_(id("swap_in"), vec![nb(id("w_active"), id("w_shadow"))]),
                if_else(
                    hit,
                    vec![nb(id("w_shadow"), id("ld_data_in"))],
                    vec![if_(pad, vec![nb(id("w_shadow"), zeros(id("DATA_W")))])],
                ),
            ]),
            always(vec![if_else(
                id("rst"),
                vec![nb(id("swap_out"), sized(1, 0)), nb(id("ld_valid_out"), sized(1, 0))],
                vec![nb(id("swap_out"), id("swap_in")), nb(id("ld_valid_out"), id("ld_valid_in"))],
            )]),
        ],
    }
}
