//! `systolic_sbuf`: the state buffer. `max(ROWS, COLS)` partitions x `SBUF_DEPTH` entries of
//! `DATA_W` bits, one host write port and two read ports that run concurrently.
//!
//! Timing contract:
//! - Read ports, synchronous, latency 1: when `l_en` is high in cycle t, `l_data` shows entry
//!   `l_addr` of partitions 0..COLS-1 (partition c in `[c*DATA_W +: DATA_W]`: a stationary
//!   row) from cycle t+1 on, and holds it while `l_en` stays low. Port M (`m_en`, `m_addr`,
//!   `m_data`) likewise returns partitions 0..ROWS-1 (a moving column). The output registers
//!   are therefore the readers' hold registers: a reader that stalls drops its enable.
//! - Write port: in a cycle with `sb_wen[j]` high, entry `sb_wrow * LANES + j` of partition `sb_wpart`
//!   is written with `sb_wdata[j*DATA_W +: DATA_W]` at the edge; all `LANES` lanes (one 32-bit
//!   bus word) in one cycle. A read of an entry in the cycle it is written returns either value.
//! - Structure: two copies, one per read port (copy L holds partitions < COLS, copy M
//!   partitions < ROWS; a host write goes to both). Each partition of a copy is `LANES`
//!   interleaved lane memories of `SBUF_DEPTH / LANES` entries (entry e in lane `e % LANES`),
//!   each with one write port and one synchronous read port with enable: block-RAM shaped.
//! - No reset (memories and their output registers only).

use crate::config::Config;
use crate::verilog::*;

use super::engine::{bits, bits_of, Geometry};

pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let dw = g.data_w;
    let lane_depth = i64::from(g.sbuf_depth / g.lanes);

    // One copy (port "l" or "m") of partition p: LANES memories, their output registers and
    // the lane multiplexer onto the port's data bus.
    let copy = |port: &str| -> Vec<Item> {
        let mut items = vec![];
        for j in 0..g.lanes {
            let mem = format!("mem_{j}");
            let q = format!("q_{j}");
            items.push(memory(&mem, bits(dw), int(lane_depth)));
            items.push(reg(&q, bits(dw)));
            items.push(always(vec![
                if_(
                    id("sb_wen")
                        .at(int(i64::from(j)))
                        .and(id("sb_wpart").eq(id("p"))),
                    vec![nb(
                        id(&mem).at(id("sb_wrow")),
                        bits_of(id("sb_wdata"), j * dw, dw),
                    )],
                ),
                if_(
                    id(&format!("{port}_en")),
                    vec![nb(id(&q), id(&mem).at(id(&format!("{port}_row"))))],
                ),
            ]));
        }
        let lane = id(&format!("{port}_lane"));
        let mut mux = id(&format!("q_{}", g.lanes - 1));
        for j in (0..g.lanes - 1).rev() {
            mux = cond(
                lane.clone().eq(sized(g.lane_b, u64::from(j))),
                id(&format!("q_{j}")),
                mux,
            );
        }
        items.push(assign(
            id(&format!("{port}_data")).part(id("p").mul(int(i64::from(dw))), int(i64::from(dw))),
            mux,
        ));
        items
    };

    let read_port = |port: &str| -> Vec<Item> {
        vec![
            wire_init(
                &format!("{port}_row"),
                bits(g.srow_w),
                bits_of(id(&format!("{port}_addr")), g.lane_b, g.srow_w),
            ),
            reg(&format!("{port}_lane"), bits(g.lane_b)),
            always(vec![if_(
                id(&format!("{port}_en")),
                vec![nb(
                    id(&format!("{port}_lane")),
                    bits_of(id(&format!("{port}_addr")), 0, g.lane_b),
                )],
            )]),
        ]
    };

    let mut items = vec![comment(
        "Entry e of a partition lives in lane memory e % LANES at row e / LANES.",
    )];
    items.extend(read_port("l"));
    items.extend(read_port("m"));
    items.push(Item::Blank);
    items.push(gen_for(
        "p",
        int(0),
        int(i64::from(g.parts)),
        "g_part",
        vec![
            gen_if(
                id("p").lt(int(i64::from(g.cols))),
                "g_l",
                copy("l"),
                "g_no_l",
                vec![],
            ),
            gen_if(
                id("p").lt(int(i64::from(g.rows))),
                "g_m",
                copy("m"),
                "g_no_m",
                vec![],
            ),
        ],
    ));

    let items = super::engine::hoist(items);
    Module {
        name: "systolic_sbuf".into(),
        doc: vec![
            format!(
                "SBUF: {} partitions x {} entries of {} bits; {} lane memories per partition and read port.",
                g.parts, g.sbuf_depth, dw, g.lanes
            ),
            "Read ports L (partitions 0..COLS-1) and M (partitions 0..ROWS-1): sync read, latency 1,"
                .into(),
            "output held while the enable is low. Host write: one bus word (LANES entries) per cycle."
                .into(),
        ],
        params: vec![],
        ports: vec![
            input("clk", None, ""),
            input("sb_wen", bits(g.lanes), "lane j: write entry sb_wrow*LANES + j"),
            input("sb_wpart", bits(g.part_w), "partition written"),
            input("sb_wrow", bits(g.srow_w), "row of the lane memories"),
            input(
                "sb_wdata",
                bits(g.lanes * dw),
                "lane j in [j*DATA_W +: DATA_W]",
            ),
            input("l_en", None, "read port L: stationary rows"),
            input("l_addr", bits(g.sa_w), "entry"),
            output(
                "l_data",
                bits(g.cols * dw),
                "partition c in [c*DATA_W +: DATA_W]",
            ),
            input("m_en", None, "read port M: moving columns"),
            input("m_addr", bits(g.sa_w), "entry"),
            output(
                "m_data",
                bits(g.rows * dw),
                "partition r in [r*DATA_W +: DATA_W]",
            ),
        ],
        items,
    }
}
