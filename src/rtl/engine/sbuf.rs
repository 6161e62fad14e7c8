//! `systolic_sbuf`: the state buffer. `max(ROWS, COLS)` partitions x `SBUF_DEPTH` entries of
//! `DATA_W` bits, one host write port and two read ports that run concurrently.
//!
//! Timing contract:
//! - Read ports, synchronous, latency 1: when `l_en` is high in cycle t, `l_data` shows entry
//!   `l_addr` of partitions 0..COLS-1 (partition c in `[c*DATA_W +: DATA_W]`: a stationary
//!   row) from cycle t+1 on, and holds it while `l_en` stays low. Port M (`m_en`, `m_addr`,
//!   `m_data`) likewise returns partitions 0..ROWS-1 (a moving column). The output registers
//!   are therefore the readers' hold registers: a reader that stalls drops its enable.
//! - Write port: a cycle with any `sb_wen[j]` high writes entry `sb_wrow * LANES + j` of
//!   partition `sb_wpart` with `sb_wdata[j*DATA_W +: DATA_W]` for each such lane j (one 32-bit
//!   bus word). Layout `partitioned`: all lanes at that edge. Layout `packed`: the word is
//!   captured at that edge and lane j written at the edge ending cycle t+1+j (t the write's
//!   cycle); `sb_wbusy` (a register) is high in cycles t+1 .. t+LANES and the writer must not
//!   write while it is high, so every lane of a word is stored before the next write (or any
//!   other bus write) is performed. A read of an entry in the cycle it is written returns
//!   either value (the memories carry `no_rw_check`: no collision logic).
//! - Structure, `partitioned`: two copies, one per read port (copy L holds partitions < COLS,
//!   copy M partitions < ROWS; a host write goes to both). Each partition of a copy is `LANES`
//!   interleaved lane memories of `SBUF_DEPTH / LANES` entries (entry e in lane `e % LANES`),
//!   each with one write port and one synchronous read port with enable: block-RAM shaped,
//!   each at least one block RAM. `packed`: one memory per copy of `SBUF_DEPTH` rows, row e
//!   holding entry e of every partition of the copy (written one partition at a time through
//!   its slice's enable): an iCE40 block RAM per 16 bits of row at up to 256 entries.
//! - With the memory path (`dma`, `partitioned` only): write port 1 also takes the DMA, as a
//!   word (`d_wen`, `d_wpart`, `d_wrow`, `d_wdata`: LANES entries of one partition, like the
//!   host's word) or as a row (`d_rwen`, `d_rentry`, `d_rdata`: entry `d_rentry` of every
//!   partition p whose `d_rwen[p]` is high, with `d_rdata[p*DATA_W +: DATA_W]`); write port 2
//!   (`a_wen`, `a_wentry`, `a_wdata`, the write-back unit) writes a row the same way. All take
//!   effect at the edge of their cycle. Each lane memory keeps one write port: in a cycle port 2
//!   has it, else the DMA, else the host; the writers keep out of each other's way (port 2's
//!   writer never waits; the DMA does not write while any `a_wen` is high; the host window does
//!   not write while `sb_wbusy`, the OR of every DMA and port-2 enable, combinational).
//! - Reset: none in `partitioned` (memories and their output registers only); `packed` resets
//!   `sb_wbusy` (`rst`).

use crate::config::{Config, SbufLayout};
use crate::verilog::*;

use crate::config::Geometry;

pub fn module(cfg: &Config) -> Module {
    match cfg.sbuf_layout {
        SbufLayout::Partitioned => partitioned(cfg),
        SbufLayout::Packed => packed(cfg),
    }
}

/// The write port and read ports every layout has.
fn ports(g: &Geometry) -> Vec<Port> {
    let dw = g.data_w;
    vec![
        input("clk", None, ""),
        input(
            "sb_wen",
            bits(g.lanes),
            "lane j: write entry sb_wrow*LANES + j",
        ),
        input("sb_wpart", bits(g.part_w), "partition written"),
        input(
            "sb_wrow",
            bits(g.srow_w),
            "bus word: entries sb_wrow*LANES .. +LANES-1",
        ),
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
    ]
}

/// Layout `partitioned`: per read port and partition, `LANES` lane memories.
fn partitioned(cfg: &Config) -> Module {
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
            items.push(memory_no_rw_check(&mem, bits(dw), int(lane_depth)));
            items.push(reg(&q, bits(dw)));
            let write = if cfg.dma {
                let w = |what: &str| id(&format!("w{j}_{what}"));
                if_(w("en"), vec![nb(id(&mem).at(w("row")), w("data"))])
            } else {
                if_(
                    id("sb_wen")
                        .at(int(i64::from(j)))
                        .and(id("sb_wpart").eq(id("p"))),
                    vec![nb(
                        id(&mem).at(id("sb_wrow")),
                        bits_of(id("sb_wdata"), j * dw, dw),
                    )],
                )
            };
            items.push(always(vec![
                write,
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
    let mut per_part = if cfg.dma { lane_writes(&g) } else { vec![] };
    per_part.extend([
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
    ]);
    if cfg.dma {
        items.push(assign(
            id("sb_wbusy"),
            red_or(id("d_rwen"))
                .or(red_or(id("d_wen")))
                .or(red_or(id("a_wen"))),
        ));
    }
    items.push(gen_for(
        "p",
        int(0),
        int(i64::from(g.parts)),
        "g_part",
        per_part,
    ));

    let items = hoist(items);
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
        ports: if cfg.dma { dma_ports(&g) } else { ports(&g) },
        items,
    }
}

/// The write ports of the memory path (`dma`): port 1's row mode and the DMA's word writes,
/// port 2 (the write-back unit), and `sb_wbusy` for the host window.
fn dma_ports(g: &Geometry) -> Vec<Port> {
    let dw = g.data_w;
    let mut p = ports(g);
    p.extend([
        input(
            "d_rwen",
            bits(g.parts),
            "port 1 row mode (DMA): partition p writes entry d_rentry",
        ),
        input("d_rentry", bits(g.sa_w), ""),
        input(
            "d_rdata",
            bits(g.parts * dw),
            "partition p in [p*DATA_W +: DATA_W]",
        ),
        input("d_wen", bits(g.lanes), "port 1 word mode (DMA): as sb_wen"),
        input("d_wpart", bits(g.part_w), ""),
        input("d_wrow", bits(g.srow_w), ""),
        input("d_wdata", bits(g.lanes * dw), ""),
        input(
            "a_wen",
            bits(g.parts),
            "port 2 (write-back): partition p writes entry a_wentry",
        ),
        input("a_wentry", bits(g.sa_w), ""),
        input(
            "a_wdata",
            bits(g.parts * dw),
            "partition p in [p*DATA_W +: DATA_W]",
        ),
        output(
            "sb_wbusy",
            None,
            "the DMA or port 2 writes in this cycle: the host window waits",
        ),
    ]);
    p
}

/// With the memory path, the one write of lane memory j of partition p (genvar `p`) in a
/// cycle: port 2 (`a_*`) first, then port 1's row mode (`d_r*`), the DMA's word (`d_w*`) and
/// the host's word (`sb_*`). The writers never collide (see the timing contract); the order
/// only makes the write port single.
fn lane_writes(g: &Geometry) -> Vec<Item> {
    let dw = i64::from(g.data_w);
    let lane_of = |e: &str| bits_of(id(e), 0, g.lane_b);
    let row_of = |e: &str| bits_of(id(e), g.lane_b, g.srow_w);
    // Bit p of a per-partition enable (a scalar with one partition).
    let at_p = |e: &str| {
        if g.parts == 1 {
            id(e)
        } else {
            id(e).at(id("p"))
        }
    };
    let mut items = vec![];
    for j in 0..g.lanes {
        let lane = |e: &str| lane_of(e).eq(sized(g.lane_b, u64::from(j)));
        let hit = |h: &str| id(&format!("w{j}_{h}"));
        let jj = int(i64::from(j));
        items.extend([
            wire_init(
                &format!("w{j}_a"),
                None,
                at_p("a_wen").and(lane("a_wentry")),
            ),
            wire_init(
                &format!("w{j}_r"),
                None,
                at_p("d_rwen").and(lane("d_rentry")),
            ),
            wire_init(
                &format!("w{j}_d"),
                None,
                id("d_wen").at(jj.clone()).and(id("d_wpart").eq(id("p"))),
            ),
            wire_init(
                &format!("w{j}_h"),
                None,
                id("sb_wen").at(jj.clone()).and(id("sb_wpart").eq(id("p"))),
            ),
            wire_init(
                &format!("w{j}_en"),
                None,
                hit("a").or(hit("r")).or(hit("d")).or(hit("h")),
            ),
            wire_init(
                &format!("w{j}_row"),
                bits(g.srow_w),
                cond(
                    hit("a"),
                    row_of("a_wentry"),
                    cond(
                        hit("r"),
                        row_of("d_rentry"),
                        cond(hit("d"), id("d_wrow"), id("sb_wrow")),
                    ),
                ),
            ),
            wire_init(
                &format!("w{j}_data"),
                bits(g.data_w),
                cond(
                    hit("a"),
                    id("a_wdata").part(id("p").mul(int(dw)), int(dw)),
                    cond(
                        hit("r"),
                        id("d_rdata").part(id("p").mul(int(dw)), int(dw)),
                        cond(
                            hit("d"),
                            id("d_wdata").part(jj.clone().mul(int(dw)), int(dw)),
                            id("sb_wdata").part(jj.mul(int(dw)), int(dw)),
                        ),
                    ),
                ),
            ),
        ]);
    }
    items
}

/// Layout `packed`: per read port one memory whose row holds an entry of every partition of
/// the port, and a serialiser that stores a host word one entry per cycle.
fn packed(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let dw = g.data_w;
    let depth = i64::from(g.sbuf_depth);
    let mut items = vec![
        comment("---- Write serialiser: a captured bus word, one lane written per cycle ----"),
        reg("w_lane", bits(g.lane_b)),
        reg("w_en_q", bits(g.lanes)),
        reg("w_part_q", bits(g.part_w)),
        reg("w_row_q", bits(g.srow_w)),
        reg("w_data_q", bits(g.lanes * dw)),
        wire_init("w_new", None, red_or(id("sb_wen"))),
        wire_init(
            "w_go",
            None,
            id("sb_wbusy").and(id("w_en_q").at(id("w_lane"))),
        ),
        wire_init(
            "w_addr",
            bits(g.sa_w),
            concat(vec![id("w_row_q"), id("w_lane")]),
        ),
        wire_init(
            "w_entry",
            bits(dw),
            id("w_data_q").part(id("w_lane").mul(int(i64::from(dw))), int(i64::from(dw))),
        ),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("sb_wbusy"), bit(false))],
            vec![if_else(
                id("w_new"),
                vec![nb(id("sb_wbusy"), bit(true))],
                vec![if_(
                    id("w_lane").eq(sized(g.lane_b, u64::from(g.lanes - 1))),
                    vec![nb(id("sb_wbusy"), bit(false))],
                )],
            )],
        )]),
        always(vec![if_else(
            id("w_new"),
            vec![
                nb(id("w_lane"), sized(g.lane_b, 0)),
                nb(id("w_en_q"), id("sb_wen")),
                nb(id("w_part_q"), id("sb_wpart")),
                nb(id("w_row_q"), id("sb_wrow")),
                nb(id("w_data_q"), id("sb_wdata")),
            ],
            vec![if_(
                id("sb_wbusy"),
                vec![nb(id("w_lane"), inc("w_lane", g.lane_b))],
            )],
        )]),
        Item::Blank,
        comment(
            "---- One memory per read port: row e holds entry e of each of its partitions ----",
        ),
    ];
    let mut per_part = vec![];
    for (port, parts) in [("l", g.cols), ("m", g.rows)] {
        let mem = format!("mem_{port}");
        let q = format!("q_{port}");
        items.extend([
            memory_no_rw_check(&mem, bits(parts * dw), int(depth)),
            reg(&q, bits(parts * dw)),
            always(vec![if_(
                id(&format!("{port}_en")),
                vec![nb(id(&q), id(&mem).at(id(&format!("{port}_addr"))))],
            )]),
            assign(id(&format!("{port}_data")), id(&q)),
        ]);
        let write = always(vec![if_(
            id("w_go").and(id("w_part_q").eq(id("p"))),
            vec![nb(
                id(&mem)
                    .at(id("w_addr"))
                    .part(id("p").mul(int(i64::from(dw))), int(i64::from(dw))),
                id("w_entry"),
            )],
        )]);
        per_part.push(gen_if(
            id("p").lt(int(i64::from(parts))),
            &format!("g_{port}"),
            vec![write],
            &format!("g_no_{port}"),
            vec![],
        ));
    }
    items.push(gen_for(
        "p",
        int(0),
        int(i64::from(g.parts)),
        "g_part",
        per_part,
    ));

    let items = hoist(items);
    let mut ports = ports(&g);
    ports.insert(1, input("rst", None, "synchronous, active high"));
    ports.push(output_reg(
        "sb_wbusy",
        None,
        "a captured word's lanes are being written: no bus write",
    ));
    Module {
        name: "systolic_sbuf".into(),
        doc: vec![
            format!(
                "SBUF (packed): {} partitions x {} entries of {} bits; per read port one memory \
                 whose row holds an entry of every partition.",
                g.parts, g.sbuf_depth, dw
            ),
            "Read ports L (partitions 0..COLS-1) and M (partitions 0..ROWS-1): sync read, latency 1,"
                .into(),
            format!(
                "output held while the enable is low. Host write: a bus word is stored one entry \
                 per cycle over the next {} cycles (sb_wbusy).",
                g.lanes
            ),
        ],
        params: vec![],
        ports,
        items,
    }
}
