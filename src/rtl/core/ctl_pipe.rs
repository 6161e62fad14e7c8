//! `systolic_ctl_pipe`: the control pipeline that carries each beat's PSUM control beside its
//! data through the array, and the count of beats in flight.
//!
//! Timing contract:
//! - `{pre_valid, pre_acc, pre_m, pre_bank, pre_addr}` is `{ctl_e_valid, ctl_e}` delayed by
//!   `DELAY` cycles (0: a wire), cleared by the synchronous reset (it carries a valid). The top
//!   level chooses `DELAY` so that the control reaches PSUM `1 + PSUM_AHEAD` cycles before the
//!   beat's column sums (see `systolic_top`).
//! - `in_flight`: some beat has fired (`mv_fire`) whose write to PSUM (`wr_valid`, one per
//!   beat, in firing order) has not yet happened; `inflight` counts them, `INF_W` bits (the top
//!   level sizes it for the longest latency). Updated at the edge of the fire or the write;
//!   both in one cycle leave it unchanged.
//! - `mm_done` (generated only with the memory path, `dma = true`): high in the cycle of the
//!   write (`wr_valid`) of a beat that was its MultiplyMoving's last (`mv_last` when it fired):
//!   one cycle per instruction, in order, at the edge that writes its last results into PSUM
//!   (a read of that entry from the next cycle on sees them).
//! - No handshake: the pipeline never stalls.

use crate::config::Config;
use crate::verilog::*;

use super::skew::delay_line;
use super::widths::core_params;

/// The pipeline's parameters: the control's widths (defaults from `cfg`), the delay and the
/// counter's width (the top level sets both; the defaults are `cfg`'s).
pub fn params(cfg: &Config) -> Vec<Param> {
    let d = &cfg.derived;
    // As systolic_top's PIPE_D and INF_W.
    let array_lat = cfg.rows * d.add_lat + d.mul_lat;
    let delay = array_lat + d.col_stages - 2 - d.psum_ahead;
    let inf_w = 32 - (array_lat + d.col_stages + 4 - 1).leading_zeros();
    let mut params = core_params(cfg, &["M_W", "BANK_W", "ADDR_W"]);
    params.extend([
        param(
            "DELAY",
            delay.into(),
            "cycles from the entry register to PSUM's control input",
        ),
        param("INF_W", inf_w.into(), "bits of the in-flight count"),
    ]);
    params
}

/// The control pipeline module for `cfg`.
pub fn module(cfg: &Config) -> Module {
    let ctl_w = || id("CTL_W");
    let pipe_field = |lsb: Expr, width: Expr| id("pipe_out").part(lsb, width);
    let mut items = vec![
        Item::Localparam(
            "CTL_W".into(),
            int(1).add(id("M_W")).add(id("BANK_W")).add(id("ADDR_W")),
        ),
        wire_init(
            "pipe_in",
            Some(ctl_w().add(int(1))),
            concat(vec![id("ctl_e_valid"), id("ctl_e")]),
        ),
        wire("pipe_out", Some(ctl_w().add(int(1)))),
    ];
    items.extend(delay_line(
        id("DELAY"),
        id("pipe_in"),
        id("pipe_out"),
        int(0),
        ctl_w().add(int(1)),
        true,
    ));
    items.extend([
        assign(id("pre_valid"), id("pipe_out").at(ctl_w())),
        assign(id("pre_acc"), id("pipe_out").at(ctl_w().sub(int(1)))),
        assign(
            id("pre_m"),
            pipe_field(id("ADDR_W").add(id("BANK_W")), id("M_W")),
        ),
        assign(id("pre_bank"), pipe_field(id("ADDR_W"), id("BANK_W"))),
        assign(id("pre_addr"), pipe_field(int(0), id("ADDR_W"))),
        Item::Blank,
        reg("inflight", w("INF_W")),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("inflight"), zeros(id("INF_W")))],
            vec![if_else(
                id("mv_fire").and(not(id("wr_valid"))),
                vec![nb(id("inflight"), id("inflight").add(sized(1, 1)))],
                vec![if_(
                    not(id("mv_fire")).and(id("wr_valid")),
                    vec![nb(id("inflight"), id("inflight").sub(sized(1, 1)))],
                )],
            )],
        )]),
        assign(id("in_flight"), id("inflight").ne(zeros(id("INF_W")))),
    ]);
    let mut ports = ports();
    if cfg.dma {
        items.extend(mm_done());
        ports.extend([
            input("mv_last", None, "with mv_fire: the instruction's last beat fires"),
            output(
                "mm_done",
                None,
                "the last beat of a MultiplyMoving is written (one cycle per instruction, in order)",
            ),
        ]);
    }
    Module {
        name: "systolic_ctl_pipe".into(),
        doc: vec![
            "Control pipeline: a beat's PSUM control {valid, acc, m, bank, addr} delayed DELAY cycles"
                .into(),
            "(reset clears it); in_flight: beats fired and not yet written (wr_valid).".into(),
        ],
        params: params(cfg),
        ports,
        items,
    }
}

/// The memory path's `mm_done`: a bit per fired beat (1: its instruction's last), pushed at
/// the fire and popped at the beat's write (`wr_valid`, one per beat, in firing order), in a
/// ring of `2^INF_W` bits (more than the beats in flight can be).
fn mm_done() -> Vec<Item> {
    vec![
        Item::Blank,
        comment("mm_done: the written beat was its instruction's last (a ring of last flags, pushed at the fire, popped at the write)."),
        Item::Localparam("LQ".into(), int(1).shl(id("INF_W"))),
        reg("lastq", w("LQ")),
        reg("lq_wp", w("INF_W")),
        reg("lq_rp", w("INF_W")),
        always(vec![if_(
            id("mv_fire"),
            vec![nb(id("lastq").at(id("lq_wp")), id("mv_last"))],
        )]),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("lq_wp"), zeros(id("INF_W"))),
                nb(id("lq_rp"), zeros(id("INF_W"))),
            ],
            vec![
                if_(
                    id("mv_fire"),
                    vec![nb(id("lq_wp"), id("lq_wp").add(sized(1, 1)))],
                ),
                if_(
                    id("wr_valid"),
                    vec![nb(id("lq_rp"), id("lq_rp").add(sized(1, 1)))],
                ),
            ],
        )]),
        assign(
            id("mm_done"),
            id("wr_valid").and(id("lastq").at(id("lq_rp"))),
        ),
    ]
}

fn ports() -> Vec<Port> {
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input(
            "ctl_e_valid",
            None,
            "a beat's control, from the entry register",
        ),
        input(
            "ctl_e",
            Some(int(1).add(id("M_W")).add(id("BANK_W")).add(id("ADDR_W"))),
            "{acc, m, bank, addr}",
        ),
        input("mv_fire", None, "a beat fires"),
        input("wr_valid", None, "PSUM writes a beat's results"),
        output("pre_valid", None, "the control, DELAY cycles later"),
        output("pre_acc", None, ""),
        output("pre_m", w("M_W"), ""),
        output("pre_bank", w("BANK_W"), ""),
        output("pre_addr", w("ADDR_W"), ""),
        output("in_flight", None, "beats fired and not yet written"),
    ]
}
