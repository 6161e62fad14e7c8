//! `systolic_cmd_queue`: the MultiplyMoving command queue and the moving beats' handshake.
//!
//! Timing contract (edge t = the rising edge that ends cycle t):
//! - `mm`: a header enters a 2-entry queue, head (the instruction streaming) and tail (the next
//!   one); `mm_ready = !tail_valid`, a register. A header that fires in cycle t is in the queue
//!   from edge t: in the head when that is empty or ends at t, else in the tail.
//! - `mv`: the head's N beats, `beat` 0..N-1 (`beat_addr = offset + beat`). A beat fires when
//!   `mv_valid && mv_ready`; `mv_ready` needs a head and, for the first beat of a swapping head
//!   (`first_swap`), that the swap is possible (`swap_ok`, from the load controller); floating
//!   point also holds a beat whose accumulation would meet the PSUM adder's register
//!   (`acc_hazard`, from the moving entry). At the head's last beat the tail (or the header
//!   offered in that cycle) moves up at the same edge: beats of consecutive instructions flow
//!   back to back.
//! - `swap_req`: the head offers its swap beat (`mv_valid` and a swapping first beat; an
//!   output for integer formats, whose load controller opens `ls_ready` on it);
//!   `swap_fire`: it fires (`swap_req && swap_ok`), the cycle the new stationary takes over.
//! - Integer formats: `mv_ready` and the head's offer of a swap are registers (`mv_ready_q`,
//!   `head_swap_q`), computed a cycle ahead from the next values of the state they describe
//!   (`head_valid_nx`, `first_swap_nx`, and the load controller's `swap_ok_nx`), so they
//!   equal their combinational definitions in every cycle and a beat's fire is one gate from
//!   registers. Floating point computes them combinationally (`swap_ok`, `acc_hazard`).
//! - The head's fields (`head_k`, `head_m`, `head_bank`, `head_acc`) and `beat_addr` hold while
//!   the head streams; `head_valid`, `tail_valid` tell the top level what is queued.
//! - `mv_last` (generated only with the memory path, `dma = true`): the head's current beat is
//!   its last (the registered `last_beat`); `mv_fire && mv_last` is an instruction's last beat
//!   firing, which the control pipeline turns into `mm_done`.
//! - Reset (synchronous): the queue is empty, no beat is ready.

use crate::config::Config;
use crate::verilog::*;

use super::widths::core_params;

/// Names of the command fields packed into one queue entry, least significant first. `left`:
/// the beats after the current one (`n - 1` when queued; the head counts it down), so the
/// last-beat flag compares it with a constant.
const FIELDS: [(&str, &str); 7] = [
    ("k", "K_W"),
    ("m", "M_W"),
    ("left", "N_W"),
    ("bank", "BANK_W"),
    ("offset", "ADDR_W"),
    ("acc", "1"),
    ("swap", "1"),
];

/// The width of a command field (`"1"` or a parameter's name).
fn field_width(w: &str) -> Option<Expr> {
    (w != "1").then(|| id(w))
}

/// The queue's parameters (widths), defaults from `cfg`.
pub fn params(cfg: &Config) -> Vec<Param> {
    core_params(cfg, &["K_W", "M_W", "N_W", "BANK_W", "ADDR_W"])
}

/// The command queue module for `cfg` (integer or floating-point handshake).
pub fn module(cfg: &Config) -> Module {
    let float = cfg.format.is_float();
    let mut items = field_offsets();
    items.extend(queue_regs(float));
    items.extend(handshake(float));
    items.push(queue_update());
    items.extend(next_state(float));
    let mut ports = ports(float);
    if cfg.dma {
        // The memory path's `mm_done` (see `ctl_pipe`): which fired beat ends its instruction.
        ports.push(output(
            "mv_last",
            None,
            "the head's beat is its last (with mv_fire: the instruction's last beat fires)",
        ));
        items.push(assign(id("mv_last"), id("last_beat")));
    }
    Module {
        name: "systolic_cmd_queue".into(),
        doc: vec![
            "MultiplyMoving queue (head streaming, tail next; mm_ready = !tail_valid) and the moving"
                .into(),
            "beats' handshake: mv_ready needs a head and, for a swapping head's first beat, swap_ok."
                .into(),
            "The head's last beat moves the next command up at the same edge (no bubble).".into(),
        ],
        params: params(cfg),
        ports,
        items,
    }
}

fn ports(float: bool) -> Vec<Port> {
    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("mm_valid", None, "MultiplyMoving header"),
        output("mm_ready", None, ""),
        input("mm_k", w("K_W"), "rows used, 1..ROWS"),
        input("mm_m", w("M_W"), "PSUM columns written"),
        input("mm_n", w("N_W"), "moving beats"),
        input("mm_bank", w("BANK_W"), ""),
        input("mm_offset", w("ADDR_W"), "PSUM address of beat 0"),
        input("mm_acc", None, "1: accumulate, 0: overwrite"),
        input("mm_swap", None, "1: use the newly loaded stationary"),
        input("mv_valid", None, "a moving beat is offered"),
        output("mv_ready", None, ""),
        output("mv_fire", None, "mv_valid && mv_ready"),
    ];
    if float {
        ports.extend([
            input("swap_ok", None, "a swap may fire now (load controller)"),
            input(
                "acc_hazard",
                None,
                "the head's beat would accumulate into the sum still in the PSUM adder",
            ),
        ]);
    } else {
        ports.extend([
            input(
                "swap_ok_nx",
                None,
                "a swap may fire next cycle (load controller)",
            ),
            output("swap_req", None, "the head offers its swap beat"),
        ]);
    }
    ports.extend([
        output("swap_fire", None, "the swap beat fires"),
        output_reg("head_valid", None, "an instruction is streaming"),
        output_reg("tail_valid", None, "another one is queued"),
        output_reg(
            "first_swap",
            None,
            "the head is at the first beat of a swap",
        ),
        output("head_k", w("K_W"), "the head's fields"),
        output("head_m", w("M_W"), ""),
        output("head_bank", w("BANK_W"), ""),
        output("head_acc", None, ""),
        output("beat_addr", w("ADDR_W"), "PSUM address of the head's beat"),
    ]);
    ports
}

/// `F_*`: the fields' offsets in a queue entry; `CMD_W` its width.
fn field_offsets() -> Vec<Item> {
    let mut items = vec![];
    let mut offset = int(0);
    for (name, width) in FIELDS {
        let fname = format!("F_{}", name.to_uppercase());
        items.push(Item::Localparam(fname.clone(), offset));
        offset = id(&fname).add(field_width(width).unwrap_or_else(|| int(1)));
    }
    items.push(Item::Localparam("CMD_W".into(), offset));
    items
}

/// The queue's registers, the offered command and the head's fields.
fn queue_regs(float: bool) -> Vec<Item> {
    let one = || sized(1, 1);
    let mm_cmd = concat(
        FIELDS
            .iter()
            .rev()
            .map(|(name, _)| match *name {
                "left" => id("mm_n").sub(one()),
                _ => id(&format!("mm_{name}")),
            })
            .collect(),
    );
    let mut items = vec![
        wire_init("mm_cmd", w("CMD_W"), mm_cmd),
        wire_init(
            "mm_single",
            None,
            id("mm_n").eq(concat(vec![zeros(id("N_W").sub(int(1))), one()])),
        ),
        reg("head", w("CMD_W")),
        reg("tail", w("CMD_W")),
        reg("beat", w("N_W")),
        comment("Registered beat flags, off the handshake paths: beat == 0 of a swapping head (first_swap), head_left == 0."),
        reg("last_beat", None),
        reg("tail_single", None),
        wire_init(
            "head_left",
            w("N_W"),
            id("head").part(id("F_LEFT"), id("N_W")),
        ),
        wire_init(
            "head_offset",
            w("ADDR_W"),
            id("head").part(id("F_OFFSET"), id("ADDR_W")),
        ),
    ];
    // The head's swap bit is read only at its first beat, through the register first_swap.
    for (name, width) in [("k", "K_W"), ("m", "M_W"), ("bank", "BANK_W")] {
        let fname = format!("F_{}", name.to_uppercase());
        items.push(assign(
            id(&format!("head_{name}")),
            id("head").part(id(&fname), id(width)),
        ));
    }
    items.extend([
        assign(id("head_acc"), id("head").at(id("F_ACC"))),
        assign(
            id("beat_addr"),
            id("head_offset").add(id("beat").slice(id("ADDR_W").sub(int(1)), int(0))),
        ),
    ]);
    if !float {
        items.extend([
            comment("mv_ready, and head_valid && first_swap, computed a cycle ahead (see the next state)."),
            reg("mv_ready_q", None),
            reg("head_swap_q", None),
        ]);
    }
    items
}

/// The handshakes: `mm_ready`, `mv_ready`, the fires and the swap's offer.
fn handshake(float: bool) -> Vec<Item> {
    // A beat may fire only without the pipelined accumulate's hazard (floating point).
    let unless_hazard = |e: Expr| {
        if float {
            e.and(not(id("acc_hazard")))
        } else {
            e
        }
    };
    let (mv_ready, swap_req, swap_fire) = if float {
        (
            unless_hazard(id("head_valid").and(not(id("first_swap").and(not(id("swap_ok")))))),
            unless_hazard(id("mv_valid").and(id("head_valid")).and(id("first_swap"))),
            id("swap_req").and(id("swap_ok")),
        )
    } else {
        (
            id("mv_ready_q"),
            id("mv_valid").and(id("head_swap_q")),
            id("mv_fire").and(id("first_swap")),
        )
    };
    vec![
        wire_init("mm_fire", None, id("mm_valid").and(id("mm_ready"))),
        assign(id("mv_fire"), id("mv_valid").and(id("mv_ready"))),
        comment("A swapping head's first beat is offered; it fires when the swap is possible (swap_ok),"),
        comment("which mv_ready requires of it (so swap_fire = mv_fire && first_swap)."),
        if float {
            wire_init("swap_req", None, swap_req)
        } else {
            assign(id("swap_req"), swap_req)
        },
        assign(id("swap_fire"), swap_fire),
        assign(id("mm_ready"), not(id("tail_valid"))),
        assign(id("mv_ready"), mv_ready),
    ]
}

/// The queue's data registers and beat counter. An empty register takes the offered command in
/// every cycle (it counts only once the header fires, which sets its valid): the tail while it
/// is empty, the head while it is empty or at its last beat. So their enables are one gate from
/// registers, and the head's data is the tail's or the offered command's, chosen by
/// `tail_valid` alone (an empty head has an empty tail).
fn queue_update() -> Item {
    let one = || sized(1, 1);
    let zero = || sized(1, 0);
    always(vec![if_else(
        id("rst"),
        vec![
            nb(id("tail_valid"), zero()),
            nb(id("beat"), zeros(id("N_W"))),
            nb(id("last_beat"), zero()),
        ],
        vec![
            if_(
                not(id("tail_valid")),
                vec![
                    nb(id("tail"), id("mm_cmd")),
                    nb(id("tail_single"), id("mm_single")),
                ],
            ),
            if_else(
                id("mv_fire").and(id("last_beat")).or(not(id("head_valid"))),
                vec![
                    Stmt::Comment(
                        "The head's last beat (or an empty head): the next command moves up."
                            .into(),
                    ),
                    nb(id("head"), cond(id("tail_valid"), id("tail"), id("mm_cmd"))),
                    nb(
                        id("last_beat"),
                        cond(id("tail_valid"), id("tail_single"), id("mm_single")),
                    ),
                ],
                vec![if_(
                    id("mv_fire"),
                    vec![
                        nb(
                            id("head").part(id("F_LEFT"), id("N_W")),
                            id("head_left").sub(one()),
                        ),
                        nb(
                            id("last_beat"),
                            id("head_left").eq(concat(vec![zeros(id("N_W").sub(int(1))), one()])),
                        ),
                    ],
                )],
            ),
            if_(
                id("mv_fire"),
                vec![nb(
                    id("beat"),
                    cond(id("last_beat"), zeros(id("N_W")), id("beat").add(one())),
                )],
            ),
            if_else(
                id("mv_fire").and(id("last_beat")),
                vec![nb(id("tail_valid"), zero())],
                vec![if_(
                    id("mm_fire").and(id("head_valid")),
                    vec![nb(id("tail_valid"), sized(1, 1))],
                )],
            ),
        ],
    )])
}

/// The head's next state (`head_valid_nx`, `first_swap_nx`) and its registers; for integer
/// formats also `mv_ready_q` and `head_swap_q`, the next cycle's `mv_ready` and
/// `head_valid && first_swap`, from the same next values and the load controller's
/// `swap_ok_nx`.
fn next_state(float: bool) -> Vec<Item> {
    let zero = || sized(1, 0);
    let nx = |n: &str| id(&format!("{n}_nx"));
    let mut resets = vec![nb(id("head_valid"), zero()), nb(id("first_swap"), zero())];
    let mut loads = vec![
        nb(id("head_valid"), nx("head_valid")),
        nb(id("first_swap"), nx("first_swap")),
    ];
    if !float {
        resets.extend([nb(id("mv_ready_q"), zero()), nb(id("head_swap_q"), zero())]);
        loads.extend([
            nb(
                id("mv_ready_q"),
                nx("head_valid").and(not(nx("first_swap").and(not(id("swap_ok_nx"))))),
            ),
            nb(id("head_swap_q"), nx("head_valid").and(nx("first_swap"))),
        ]);
    }
    vec![
        Item::Blank,
        comment(
            "The head: the next command moves up at the last beat; a header fills an empty head.",
        ),
        wire_init(
            "head_valid_nx",
            None,
            cond(
                id("mv_fire"),
                cond(
                    id("last_beat"),
                    id("tail_valid").or(id("mm_fire")),
                    id("head_valid"),
                ),
                id("head_valid").or(id("mm_fire")),
            ),
        ),
        wire_init(
            "first_swap_nx",
            None,
            cond(
                id("mv_fire"),
                id("last_beat").and(cond(
                    id("tail_valid"),
                    id("tail").at(id("F_SWAP")),
                    id("mm_swap"),
                )),
                cond(
                    id("mm_fire").and(not(id("head_valid"))),
                    id("mm_swap"),
                    id("first_swap"),
                ),
            ),
        ),
        always(vec![if_else(id("rst"), resets, loads)]),
    ]
}
