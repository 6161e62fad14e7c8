//! `systolic_top`: the engine core. Command queue and sequencing, stationary loading, moving
//! entry and control pipeline around the array, skew, deskew and PSUM.
//!
//! Its parts are modules of their own, each with its contract: `systolic_cmd_queue`
//! (`u_queue`, [`super::cmd_queue`]: the MultiplyMoving queue and the moving handshake),
//! `systolic_load_ctl` (`u_load`, [`super::load_ctl`]: the LoadStationary row counter, shadow
//! state and load-bus entry register), `systolic_mv_entry` (`u_entry`, [`super::mv_entry`]:
//! the moving entry register with the K masking), `systolic_ctl_pipe` (`u_ctl_pipe`,
//! [`super::ctl_pipe`]: each beat's PSUM control beside its data, the in-flight count), then the
//! skews, the array, the deskew and PSUM. This level wires them and widens the column sums.
//!
//! Timing contract (edge t = the rising edge that ends cycle t; a beat fires in cycle t when
//! valid and ready are both high in t):
//! - `ls`: one stationary row (COLS elements) per beat, row 0 first; `ls_last` (or the ROWS-th
//!   beat) ends the load. `ls_ready = !shadow_full || swap_fire`: a load may start in the very
//!   cycle the previous stationary's swap beat fires, and never earlier. The shadow is full from
//!   the edge of the last beat until the edge of the swap beat that consumes it.
//! - `ls_gapless` (a strap: tie it to 0 unless the producer guarantees the following, and hold
//!   it; integer cores read it a cycle ahead, into the registered `mv_ready`): once a load's first beat has
//!   fired, its remaining beats fire one per cycle, and no instruction asks for more rows (`k`)
//!   than its stationary has. Then the first beat of a swap instruction may fire one cycle after
//!   the load's first beat instead of after its last (row r of the weights still lands before
//!   the swap reaches row r); rows past the stationary's last are then masked by `k` alone.
//! - `mm`: a MultiplyMoving header enters a 2-entry queue (`mm_ready = !tail_valid`), so the next
//!   header waits while the current instruction streams.
//! - `mv`: the head instruction's N moving beats (ROWS elements each). The first beat of a
//!   `swap` instruction waits for a full shadow; every other beat needs only a head. Beats of
//!   consecutive instructions flow back to back: no drain, no bubble.
//! - Rows of a moving beat at or above the instruction's `k`, or past the last row of its
//!   stationary, enter the array as zero: a stationary of K < ROWS rows acts zero-padded
//!   without clearing any weight (stale weights in those rows only ever meet zeros). In a
//!   floating-point array they also enter inactive (the lane's active bit is 0): the PE then
//!   adds +0 instead of the product, since an infinite stale weight times zero would be NaN.
//!   The entry register takes the moving bus, masked so, whenever `mv_valid` is high, fired or
//!   not (zero otherwise): the fire only marks the beat valid (`ctl_e_valid`), so the wide data
//!   path does not wait for the handshake. A wavefront that did not fire is never written.
//! - The stationary load bus (entry register, then skewed by column) writes row k of column c
//!   `c + 1` cycles after the beat fires: parallel to the swap wavefront, never ahead of it.
//! - A moving beat fired in cycle s is written to PSUM at edge s + ROWS + COLS: entry register
//!   (1), skew (row r: r), array (ROWS), deskew (column c: COLS-1-c), PSUM write (1); with
//!   tiles (`TILE_COLS`) COLS reads `COL_STAGES` = ceil(COLS / TILE_COLS) here and below. With a
//!   pipelined PE (`MUL_LAT`, `ADD_LAT`, see `pe`) the edge is
//!   s + ROWS*ADD_LAT + MUL_LAT + COLS + (ADD_LAT - 1): the skew of row r is r*ADD_LAT, and the
//!   PSUM fp32 adder has a register of its own (`ACC_PIPE`); an integer PSUM with read-ahead 2
//!   (`PSUM_AHEAD`, pe_latency 3) writes a sum from its register, one edge later still, and a
//!   split one (`psum_split`) its high half one edge after that (PSUM's `wr_valid`, which
//!   `inflight` counts down, marks that last write).
//! - Pipelined floating point (`ADD_LAT` = 2): the first beat of a load waits
//!   `LOAD_HOLD = (ROWS-1)*(ADD_LAT-1)` cycles after a swap (a swap moves down a column one row
//!   per ADD_LAT cycles, a load one row per cycle: the load must not overtake it); and a beat
//!   that accumulates into the PSUM entry of the beat fired in the previous cycle waits one
//!   cycle (`acc_hazard`: that sum is still inside the PSUM adder).
//! - `rd`: accepted only when no instruction is queued or in flight (`rd_allow`), so a read
//!   returns PSUM after every MultiplyMoving accepted before it. Response two cycles later
//!   (three with the ECP5 block RAMs of `primitives = "ecp5"`, `RAM_ECP5`).
//! - Memory path only (`dma = true`): `ar_en`, `ar_bank`, `ar_addr` -> `ar_data`, a second,
//!   pipelined PSUM read port: one entry per cycle, its data exactly `AR_LAT` = 2 cycles after
//!   `ar_en` (`psum::AR_LAT`), no handshake, no forwarding, independent of the accumulate
//!   path and of `rd` (PSUM keeps a second copy of its memories for it): it returns what PSUM
//!   holds, and the program guarantees that the entry is not being written. `mm_done`: high
//!   for one cycle per MultiplyMoving, in order, at the edge that writes its last beat's
//!   results into PSUM (an `ar_en` from the next cycle on reads them).
//! - `busy`: an instruction is queued or in flight, or a read is pending or not yet taken;
//!   `mm_busy`: the first part alone (what a fence waits for, and what counts as compute).
//! - All handshakes honour backpressure: `ready` never depends on `ready`; `ls_ready` depends on
//!   `mv_valid` (through `swap_fire`), `rd_ready` on `rdata_ready`. Nothing is lost or repeated.
//!   Integer cores: `mv_ready` is a register, and so is the head's offer of a swap
//!   (`head_swap_q`), both computed a cycle ahead from the next values of the state they
//!   describe (`*_nx`), so they equal their combinational definitions above in every cycle and a
//!   beat's fire is one gate from registers.

use crate::config::Config;
use crate::verilog::*;

use super::{array, cmd_queue, ctl_pipe, load_ctl, mv_entry, pe};

/// The core's top module for `cfg`.
pub fn module(cfg: &Config) -> Module {
    let mut items = locals(cfg);
    items.extend(controllers(cfg));
    items.extend(skews(cfg));
    items.extend(array_and_deskew(cfg));
    if !cfg.format.is_float() {
        items.extend(widen_column_sums());
    }
    items.extend(psum(cfg));
    Module {
        name: "systolic_top".into(),
        doc: module_doc(cfg),
        params: params(cfg),
        ports: ports(cfg),
        items,
    }
}

fn module_doc(cfg: &Config) -> Vec<String> {
    vec![
        "Engine core: psum[bank][offset+n][m] (+)= sum_k stationary[k][m] * moving[k][n].".into(),
        "ls: stationary rows (background load into the shadow weights), mm: MultiplyMoving".into(),
        "header (2-entry queue), mv: moving columns, rd/rdata: PSUM read. A moving beat fired"
            .into(),
        format!(
            "in cycle s is written to PSUM at edge s + ROWS*ADD_LAT + MUL_LAT + {} + ADD_LAT - 1",
            if cfg.tile_cols > 1 { "COL_STAGES" } else { "COLS" }
        ),
        "(ADD_LAT = 1 for integers; one edge later with PSUM_AHEAD 2); beats of consecutive".into(),
        "instructions, including a stationary swap, flow back to back. A read is accepted when"
            .into(),
        "nothing is in flight and answers two cycles later (RAM_ECP5: three). See docs/architecture.md."
            .into(),
        "Parts: u_queue (command queue, moving handshake), u_load (LoadStationary), u_entry".into(),
        "(moving entry), u_ctl_pipe (PSUM control pipeline, in-flight count).".into(),
    ]
}

/// The localparams: lane widths, the array's stages along a row, the read-ahead of an integer
/// PSUM, the control pipeline's delay and the in-flight counter's width.
fn locals(cfg: &Config) -> Vec<Item> {
    let float = cfg.format.is_float();
    // Cycles along the partial-sum chain (the moving skew's step): ROWS*ADD_LAT, ROWS for
    // integers (ADD_LAT = 1, folded).
    let chain = if float {
        id("ROWS").mul(id("ADD_LAT"))
    } else {
        id("ROWS")
    };
    let mut items = vec![
        Item::Localparam("LD_W".into(), int(1).add(id("ROW_W")).add(id("DATA_W"))),
        Item::Localparam("MV_W".into(), id("X_W").add(int(1))),
    ];
    // Register stages along a row: COLS, or with tiles one per tile (column c's results leave
    // c / TILE_COLS cycles after column 0's).
    let col_stages = if cfg.tile_cols > 1 {
        items.push(Item::Localparam(
            "COL_STAGES".into(),
            id("COLS").sub(int(1)).div(id("TILE_COLS")).add(int(1)),
        ));
        id("COL_STAGES")
    } else {
        id("COLS")
    };
    // A beat fired in cycle s is written at edge s + ROWS*ADD_LAT + MUL_LAT + COLS (COL_STAGES
    // with tiles): entry (1), skew, array, deskew, PSUM (1); the control pipe carries its PSUM
    // control along.
    let array_lat = chain.add(id("MUL_LAT"));
    // Integer PSUM with a pipelined PE reads ahead: its control comes MUL_LAT cycles earlier
    // (at most 2).
    items.push(Item::Localparam(
        "PSUM_AHEAD".into(),
        if float {
            int(0)
        } else {
            cond(id("MUL_LAT").gt(int(2)), int(2), id("MUL_LAT"))
        },
    ));
    items.push(Item::Localparam(
        "PIPE_D".into(),
        array_lat
            .clone()
            .add(col_stages.clone())
            .sub(int(2))
            .sub(id("PSUM_AHEAD")),
    ));
    items.push(Item::Localparam(
        "INF_W".into(),
        clog2(array_lat.add(col_stages).add(int(4))),
    ));
    items
}

/// The command queue, the load controller, the moving entry and the control pipeline: a wire
/// for each of their outputs that is not a top-level port, then the instances (each port on
/// the net of its name).
fn controllers(cfg: &Config) -> Vec<Item> {
    let parts = [
        (cmd_queue::module(cfg), "u_queue"),
        (load_ctl::module(cfg), "u_load"),
        (mv_entry::module(cfg), "u_entry"),
        (ctl_pipe::module(cfg), "u_ctl_pipe"),
    ];
    let top_ports = ports(cfg);
    let mut items = vec![
        Item::Blank,
        comment("---- Command queue, LoadStationary, moving entry, control pipeline ----"),
    ];
    for (part, _) in &parts {
        for p in part.ports.iter().filter(|p| p.dir == Dir::Output) {
            if !top_ports.iter().any(|t| t.name == p.name) {
                items.push(wire(&p.name, p.width.clone()));
            }
        }
    }
    items.push(wire("wr_valid", None));
    for (part, name) in &parts {
        let overrides = part
            .params
            .iter()
            .map(|p| {
                let value = match p.name.as_str() {
                    "DELAY" => id("PIPE_D"),
                    other => id(other),
                };
                (p.name.clone(), value)
            })
            .collect();
        items.push(instance(part, name, overrides, &[]));
    }
    items
}

/// The skews: moving data by row (the swap token beside it), load buses by column.
fn skews(cfg: &Config) -> Vec<Item> {
    let p = |n: &str| (n.to_string(), id(n));
    let lane =
        |net: &str, base: &str, width: &str| id(net).part(id(base).mul(id(width)), id(width));
    let step = if cfg.format.is_float() {
        id("ADD_LAT")
    } else {
        int(1)
    };
    vec![
        Item::Blank,
        comment("---- Skew the moving data (lane = row) and the load bus (lane = column) ----"),
        wire("mv_skew_in", Some(id("ROWS").mul(id("MV_W")))),
        wire("mv_skew_out", Some(id("ROWS").mul(id("MV_W")))),
        wire("x_left", Some(id("ROWS").mul(id("X_W")))),
        wire("swap_left", w("ROWS")),
        gen_for(
            "r",
            int(0),
            id("ROWS"),
            "g_mv_lane",
            vec![
                assign(
                    lane("mv_skew_in", "r", "MV_W"),
                    concat(vec![id("swap_e"), lane("x_e", "r", "X_W")]),
                ),
                assign(
                    concat(vec![
                        id("swap_left").at(id("r")),
                        lane("x_left", "r", "X_W"),
                    ]),
                    lane("mv_skew_out", "r", "MV_W"),
                ),
            ],
        ),
        Item::Instance(Instance {
            module: "systolic_skew".into(),
            name: "u_mv_skew".into(),
            params: vec![
                ("LANES".into(), id("ROWS")),
                ("W".into(), id("MV_W")),
                ("STEP".into(), step),
            ],
            ports: vec![
                p("clk"),
                p("rst"),
                ("in_lanes".into(), id("mv_skew_in")),
                ("out_lanes".into(), id("mv_skew_out")),
            ],
        }),
        wire("ld_skew_in", Some(id("COLS").mul(id("LD_W")))),
        wire("ld_skew_out", Some(id("COLS").mul(id("LD_W")))),
        wire("ld_valid_top", w("COLS")),
        wire("ld_row_top", Some(id("COLS").mul(id("ROW_W")))),
        wire("ld_data_top", Some(id("COLS").mul(id("DATA_W")))),
        gen_for(
            "c",
            int(0),
            id("COLS"),
            "g_ld_lane",
            vec![
                assign(
                    lane("ld_skew_in", "c", "LD_W"),
                    concat(vec![
                        id("ld_e_valid"),
                        id("ld_e_row"),
                        lane("ld_e_data", "c", "DATA_W"),
                    ]),
                ),
                assign(
                    concat(vec![
                        id("ld_valid_top").at(id("c")),
                        lane("ld_row_top", "c", "ROW_W"),
                        lane("ld_data_top", "c", "DATA_W"),
                    ]),
                    lane("ld_skew_out", "c", "LD_W"),
                ),
            ],
        ),
        Item::Instance(Instance {
            module: "systolic_skew".into(),
            name: "u_ld_skew".into(),
            params: [
                ("LANES".into(), id("COLS")),
                ("W".into(), id("LD_W")),
                ("STEP".into(), int(1)),
            ]
            .into_iter()
            .chain(group_override(cfg))
            .collect(),
            ports: vec![
                p("clk"),
                p("rst"),
                ("in_lanes".into(), id("ld_skew_in")),
                ("out_lanes".into(), id("ld_skew_out")),
            ],
        }),
    ]
}

/// With tiles, the load skew and the deskew delay by tile (`GROUP`).
fn group_override(cfg: &Config) -> Option<(String, Expr)> {
    (cfg.tile_cols > 1).then(|| ("GROUP".to_string(), id("TILE_COLS")))
}

/// The array and the deskew of its outputs (`psum_aligned`).
fn array_and_deskew(cfg: &Config) -> Vec<Item> {
    let p = |n: &str| (n.to_string(), id(n));
    vec![
        Item::Blank,
        comment("---- The array and the deskew of its outputs ----"),
        wire("psum_bottom", Some(id("COLS").mul(id("PS_W")))),
        wire("psum_aligned", Some(id("COLS").mul(id("PS_W")))),
        Item::Instance(Instance {
            module: "systolic_array".into(),
            name: "u_array".into(),
            params: [
                vec![p("ROWS"), p("COLS")],
                pe::param_overrides(cfg),
                array::dsp_cols_param(cfg)
                    .map(|_| p("DSP_COLS"))
                    .into_iter()
                    .collect(),
                array::tile_cols_param(cfg)
                    .map(|_| p("TILE_COLS"))
                    .into_iter()
                    .collect(),
            ]
            .concat(),
            ports: vec![
                p("clk"),
                p("rst"),
                p("x_left"),
                p("swap_left"),
                p("ld_valid_top"),
                p("ld_row_top"),
                p("ld_data_top"),
                p("psum_bottom"),
            ],
        }),
        Item::Instance(Instance {
            module: "systolic_deskew".into(),
            name: "u_deskew".into(),
            params: [("LANES".into(), id("COLS")), ("W".into(), id("PS_W"))]
                .into_iter()
                .chain(group_override(cfg))
                .collect(),
            ports: vec![
                p("clk"),
                ("in_lanes".into(), id("psum_bottom")),
                ("out_lanes".into(), id("psum_aligned")),
            ],
        }),
    ]
}

/// PSUM, the read fence (`rd_allow`) and the busy flags.
fn psum(cfg: &Config) -> Vec<Item> {
    let float = cfg.format.is_float();
    let p = |n: &str| (n.to_string(), id(n));
    let queued = || id("head_valid").or(id("tail_valid"));
    vec![
        Item::Blank,
        comment("---- PSUM ----"),
        wire_init("rd_allow", None, not(queued()).and(not(id("in_flight")))),
        wire("rd_busy", None),
        Item::Instance(Instance {
            module: "systolic_psum".into(),
            name: "u_psum".into(),
            params: vec![
                p("COLS"),
                p("ACC_W"),
                ("BANKS".into(), id("PSUM_BANKS")),
                ("DEPTH".into(), id("PSUM_DEPTH")),
                p("BANK_W"),
                p("ADDR_W"),
                p("M_W"),
            ]
            .into_iter()
            .chain(float.then(|| ("ACC_PIPE".to_string(), id("ADD_LAT").sub(int(1)))))
            .collect(),
            ports: vec![
                p("clk"),
                p("rst"),
                p("pre_valid"),
                p("pre_bank"),
                p("pre_addr"),
                p("pre_acc"),
                p("pre_m"),
                (
                    "in_data".into(),
                    id(if float { "psum_aligned" } else { "psum_wide" }),
                ),
                p("wr_valid"),
                p("rd_allow"),
                p("rd_valid"),
                p("rd_ready"),
                p("rd_bank"),
                p("rd_addr"),
                p("rdata_valid"),
                p("rdata_ready"),
                p("rdata"),
                p("rd_busy"),
            ]
            .into_iter()
            .chain(
                cfg.dma
                    .then(|| {
                        ["ar_en", "ar_bank", "ar_addr", "ar_data"]
                            .into_iter()
                            .map(p)
                            .collect::<Vec<_>>()
                    })
                    .into_iter()
                    .flatten(),
            )
            .collect(),
        }),
        assign(id("mm_busy"), queued().or(id("in_flight"))),
        assign(id("busy"), id("mm_busy").or(id("rd_busy"))),
    ]
}

/// The top level's parameters: sizes, the PE's choices, PSUM's size, and the derived widths.
fn params(cfg: &Config) -> Vec<Param> {
    let float = cfg.format.is_float();
    let pe_choices = pe::params(cfg)
        .into_iter()
        .filter(|(n, _, _)| !["DATA_W", "X_W", "ROW_W", "PS_W"].contains(n))
        .map(|(n, v, c)| match n {
            "MUL_LAT" => param(
                n,
                v,
                "registers in and after the multiplier: the configuration's, built into the PEs by the generator (override only with this value)",
            ),
            _ => param(n, v, c),
        });
    [
        param("ROWS", cfg.rows.into(), "array rows: contraction axis K"),
        param(
            "COLS",
            cfg.cols.into(),
            "array columns: stationary free axis M",
        ),
        param(
            "DATA_W",
            cfg.derived.data_w.into(),
            "bits of one input element",
        ),
        param(
            "ACC_W",
            cfg.derived.acc_w.into(),
            "bits of a PSUM accumulator",
        ),
    ]
    .into_iter()
    .chain(pe_choices)
    .chain(array::dsp_cols_param(cfg))
    .chain(array::tile_cols_param(cfg))
    .chain([
        param("PSUM_BANKS", cfg.psum_banks.into(), "PSUM banks"),
        param(
            "PSUM_DEPTH",
            cfg.psum_depth.into(),
            "entries per bank (power of two)",
        ),
        derived(
            "ROW_W",
            cond(id("ROWS").gt(int(1)), clog2(id("ROWS")), int(1)),
            "row index",
        ),
        derived("K_W", clog2(id("ROWS").add(int(1))), "K count 1..ROWS"),
        derived("M_W", clog2(id("COLS").add(int(1))), "M count 1..COLS"),
        derived(
            "N_W",
            clog2(id("PSUM_DEPTH").add(int(1))),
            "N count 1..PSUM_DEPTH",
        ),
        derived(
            "BANK_W",
            cond(id("PSUM_BANKS").gt(int(1)), clog2(id("PSUM_BANKS")), int(1)),
            "bank number",
        ),
        derived("ADDR_W", clog2(id("PSUM_DEPTH")), "address in a bank"),
        derived(
            "PS_W",
            if float {
                id("ACC_W")
            } else {
                let exact = || id("DATA_W").mul(int(2)).add(clog2(id("ROWS")));
                cond(exact().lt(id("ACC_W")), exact(), id("ACC_W"))
            },
            "a partial sum in the array (exact for ROWS products, at most ACC_W)",
        ),
        derived(
            "X_W",
            if float {
                id("DATA_W").add(int(1))
            } else {
                id("DATA_W")
            },
            "a moving lane (the element, plus an active bit for floating point)",
        ),
    ])
    .collect()
}

/// Integer column sums, exact in `PS_W` bits, sign- or zero-extended to `ACC_W` for PSUM
/// (`psum_aligned` -> `psum_wide`).
fn widen_column_sums() -> Vec<Item> {
    let lane = |net: &str, width: &str| id(net).part(id("c").mul(id(width)), id(width));
    vec![
        comment("Column sums are exact in PS_W bits: extended to ACC_W (SIGNED: sign-extended)."),
        wire("psum_wide", Some(id("COLS").mul(id("ACC_W")))),
        gen_if(
            id("PS_W").eq(id("ACC_W")),
            "g_sum_full",
            vec![assign(id("psum_wide"), id("psum_aligned"))],
            "g_sum_ext",
            vec![gen_for(
                "c",
                int(0),
                id("COLS"),
                "g_col",
                vec![assign(
                    lane("psum_wide", "ACC_W"),
                    concat(vec![
                        repeat(
                            id("ACC_W").sub(id("PS_W")),
                            id("SIGNED").ne(int(0)).bit_and(
                                id("psum_aligned")
                                    .at(id("c").mul(id("PS_W")).add(id("PS_W")).sub(int(1))),
                            ),
                        ),
                        lane("psum_aligned", "PS_W"),
                    ]),
                )],
            )],
        ),
    ]
}

/// A parameter derived from the ones before it (not meant to be overridden).
fn derived(name: &str, value: Expr, what: &str) -> Param {
    Param {
        name: name.into(),
        value,
        comment: Some(format!("derived: bits of {what}")),
    }
}

/// The top-level ports. Widths refer to the module's parameters and localparams.
fn ports(cfg: &Config) -> Vec<Port> {
    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input(
            "ls_valid",
            None,
            "LoadStationary: one stationary row per beat",
        ),
        output("ls_ready", None, ""),
        input(
            "ls_data",
            Some(id("COLS").mul(id("DATA_W"))),
            "element m in [m*DATA_W +: DATA_W]",
        ),
        input("ls_last", None, "last row of this stationary"),
        input(
            "ls_gapless",
            None,
            "1: loads stream without gaps and k <= K: a swap may start one cycle after its load",
        ),
        input("mm_valid", None, "MultiplyMoving header"),
        output("mm_ready", None, ""),
        input("mm_k", w("K_W"), "rows used, 1..ROWS"),
        input("mm_m", w("M_W"), "PSUM columns written, 1..COLS"),
        input("mm_n", w("N_W"), "moving beats, 1..PSUM_DEPTH"),
        input("mm_bank", w("BANK_W"), ""),
        input("mm_offset", w("ADDR_W"), "PSUM address of beat 0"),
        input("mm_acc", None, "1: accumulate, 0: overwrite"),
        input("mm_swap", None, "1: use the newly loaded stationary"),
        input("mv_valid", None, "moving beat: one moving column"),
        output("mv_ready", None, ""),
        input(
            "mv_data",
            Some(id("ROWS").mul(id("DATA_W"))),
            "element k in [k*DATA_W +: DATA_W]",
        ),
        input("rd_valid", None, "PSUM read request"),
        output("rd_ready", None, ""),
        input("rd_bank", w("BANK_W"), ""),
        input("rd_addr", w("ADDR_W"), ""),
        output("rdata_valid", None, "PSUM read response"),
        input("rdata_ready", None, ""),
        output(
            "rdata",
            Some(id("COLS").mul(id("ACC_W"))),
            "column m in [m*ACC_W +: ACC_W]",
        ),
        output(
            "busy",
            None,
            "work queued or in flight, or a read pending or not taken",
        ),
        output(
            "mm_busy",
            None,
            "a MultiplyMoving queued or in flight (what a fence waits for)",
        ),
    ];
    if cfg.dma {
        ports.extend(memory_path_ports());
    }
    ports
}

/// The memory path's ports (`dma = true`): the pipelined PSUM read port and the multiplies'
/// completions.
fn memory_path_ports() -> Vec<Port> {
    vec![
        input(
            "ar_en",
            None,
            "pipelined PSUM read (write-back, PSUM stores): no handshake, one per cycle",
        ),
        input("ar_bank", w("BANK_W"), ""),
        input("ar_addr", w("ADDR_W"), ""),
        output(
            "ar_data",
            Some(id("COLS").mul(id("ACC_W"))),
            "the entry read AR_LAT cycles before; column m in [m*ACC_W +: ACC_W]",
        ),
        output(
            "mm_done",
            None,
            "a MultiplyMoving's last results are written into PSUM (one cycle each, in order)",
        ),
    ]
}
