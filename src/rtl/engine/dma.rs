//! `systolic_dma`: the DMA engine of the memory path (`docs/memory-path.md`): DMA_LOAD and
//! DMA_STORE between the memory behind the engine's AXI4 master and the SBUF, the ACT table
//! (loads) or PSUM (stores).
//!
//! Timing contract (a beat fires in cycle t when valid and ready are both high in t; DB = the
//! bus's bytes, ES = 2^esize the bytes of a memory element, L = DB / EB SBUF elements per beat,
//! LW = DB / 4 words per beat):
//! - Instructions: `go` in cycle t (only while `busy` is low) takes `words` (the instruction's
//!   three words, already checked by the dispatcher) at the edge; `busy` is high from t+1 until
//!   the instruction is finished. One instruction at a time: the next starts only after the
//!   previous one's last SBUF / table write or last write response, so the effects of the DMA's
//!   instructions are in program order whatever they touch. `done` is high in the last busy
//!   cycle of an instruction that finished without error, with `done_store` and `done_bytes`
//!   (`rows * row_len * ES` mod 2^32).
//! - Bursts: the rows of an instruction are contiguous (`stride == row_len * ES`: one segment
//!   of `rows * row_len * ES` bytes) or each row is a segment of its own. A segment is read or
//!   written in INCR bursts of full-width beats, at most 256 beats, never across 4 KB: each
//!   burst from the current address up to the nearest of the segment's end, 256 beats and the
//!   next 4 KB boundary; the first beat of a segment may start inside the beat (AXI4's unaligned
//!   start), and so may the last end. At most one burst is generated per cycle.
//! - Reads: the request (`ar_req`, `ar_addr`, `ar_len`: a combinational offer, stable while
//!   unanswered) is granted (`ar_grant`) by the fetch unit's AR arbiter, which owns the AR
//!   registers; at most `DMA_READS` bursts are granted and not finished (RLAST). R beats (ID 0)
//!   are taken (`r_ready`) while the load queue (2 DB bytes) has room for a whole beat; their
//!   bytes of the segment join it in order. Each cycle the load writer moves a group of
//!   elements of one row from the queue: SBUF entry rows (layout 0): up to L elements, into
//!   entry `entry + r` of their partitions through port 1's row mode (`d_rwen`, one enable per
//!   partition); SBUF partition rows (layout 1): up to LANES elements of one SBUF word (the
//!   entries `(entry + j) / LANES * LANES ..`) through the word mode (`d_wen`); TABLE: one word
//!   (`tbl_wen`, `tbl_waddr`, `tbl_wdata`). No SBUF write while `sb_block` (port 2 writes).
//! - Writes: AW (`m_axi_aw*`, ID 0) and W (`m_axi_w*`) are registers held until ready; W beats
//!   may precede their AW (AXI4 allows it); at most 16 bursts are issued and unanswered.
//!   WSTRB has exactly the beat's bytes of the segment; WLAST marks each burst's last beat.
//!   `m_axi_bready` is always high and every B is checked. The store reader reads SBUF port L
//!   (partitions below COLS) and port M (the others, when ROWS > COLS) only when the streamers
//!   leave it (`l_free`, `m_free`): entry rows up to L elements of one entry per read,
//!   partition rows one element per read; PSUM through `ps_en`, `ps_bank`, `ps_addr` when `ps_ok` (the write-back
//!   unit has priority), up to LW columns of one entry per read, data exactly `AR_LAT` cycles
//!   later. Reads are issued only when the store queue (2 DB bytes) will have room for them.
//! - Errors: an R beat or B response other than OKAY sets `err` for one cycle (the first
//!   only): no more bursts are generated, no more SBUF / table writes happen, every burst
//!   already requested is completed (R beats taken and dropped, W beats sent with WSTRB 0 for
//!   the bursts whose AW is issued or about to be), and `busy` falls once every response is in.
//!   No `done` for that instruction.
//! - Reset: every valid, counter, pointer, the queues; data registers are not reset.

use crate::config::{bits_for, Config, Geometry};
use crate::isa::{field_of, Opcode};
use crate::verilog::*;

use super::blocks::{
    byte_queue, byte_strobes, const_ge, count_bits, fifo, low_bytes_mask, min, rotate_left,
    rotate_right, times_pow2, FifoStatus,
};

/// Write bursts issued and not answered, at most.
pub const MAX_WRITES: u32 = 16;

/// The sizes the DMA is built from.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub g: Geometry,
    /// Bus bytes, their log2.
    pub db: u32,
    pub dbb: u32,
    /// SBUF elements per beat (DB / EB), their log2.
    pub l: u32,
    pub lb: u32,
    /// 32-bit words per beat, their log2.
    pub lw: u32,
    pub lwb: u32,
    /// Bytes of each byte queue and the width of their counts.
    pub qb: u32,
    pub qcw: u32,
    /// Read bursts outstanding at most, the depth of the read-burst FIFO.
    pub reads: u32,
    pub rdepth: u32,
    /// Table words and the width of a table address.
    pub tw: u32,
    pub tw_w: u32,
    /// PSUM read latency of the core's `ar_*` port.
    pub ar_lat: u32,
}

impl Sizes {
    pub fn new(cfg: &Config, ar_lat: u32) -> Sizes {
        assert!(cfg.dma, "systolic_dma needs dma = true");
        let g = Geometry::new(cfg);
        assert_eq!(g.data_w, 8 * g.eb, "an SBUF element is EB bytes with dma");
        assert_eq!(g.acc_w, 32, "32-bit accumulators with dma");
        let db = cfg.dma_bits / 8;
        let l = db / g.eb;
        let lw = db / 4;
        let qb = 2 * db;
        Sizes {
            db,
            dbb: db.trailing_zeros(),
            l,
            lb: l.trailing_zeros(),
            lw,
            lwb: lw.trailing_zeros(),
            qb,
            qcw: count_bits(u64::from(qb)),
            reads: cfg.dma_reads,
            rdepth: cfg.dma_reads.next_power_of_two().max(2),
            tw: 2 * cfg.cols,
            tw_w: bits_for(u64::from(2 * cfg.cols - 1)),
            ar_lat,
            g,
        }
    }

    /// Partitions above COLS exist (read through port M).
    fn port_m(&self) -> bool {
        self.g.rows > self.g.cols
    }
}

/// Bits of a burst's byte count (up to 256 * DB).
const BYTES_W: u32 = 16;

/// The field `name` of the DMA instruction in the 192-bit `words`.
fn field(words: &str, name: &str) -> Expr {
    let f = field_of(Opcode::DmaLoad, name);
    bits_of(id(words), 64 * f.word + f.lsb, f.width)
}

/// The instruction registers `i_*`: (name, width), the low bits of each field that the DMA
/// uses after `go` (`base` only at `go`; `bank`, `entry`, `offset` as wide as an address).
fn instr_regs(s: &Sizes) -> [(&'static str, u32); 10] {
    [
        ("target", 2),
        ("layout", 1),
        ("esize", 2),
        ("rows", 16),
        ("row_len", 16),
        ("part", 9),
        ("bank", s.g.bank_w),
        ("stride", 32),
        ("entry", s.g.sa_w.max(s.tw_w)),
        ("offset", s.g.paddr_w),
    ]
}

fn i(name: &str) -> Expr {
    id(&format!("i_{name}"))
}

/// The low `w` bits of the named net `e` (an identifier).
fn low(e: Expr, w: u32) -> Expr {
    bits_of(e, 0, w)
}

pub fn module(cfg: &Config, ar_lat: u32) -> Module {
    let s = Sizes::new(cfg, ar_lat);
    let mut items = instruction(&s);
    items.extend(address_generator(&s));
    items.extend(read_path(&s));
    items.extend(load_writer(&s));
    items.extend(write_path(&s));
    items.extend(store_reader(&s));
    items.extend(store_gather(&s));
    items.extend(w_generator(&s));
    items.extend(completion(&s));
    Module {
        name: "systolic_dma".into(),
        doc: vec![
            "DMA engine: DMA_LOAD / DMA_STORE between the AXI4 master and the SBUF, the ACT table"
                .into(),
            format!(
                "or PSUM; {}-bit bus, up to {} read bursts and {MAX_WRITES} write bursts outstanding,",
                cfg.dma_bits, cfg.dma_reads
            ),
            "one instruction at a time (see src/rtl/engine/dma.rs).".into(),
        ],
        params: vec![],
        ports: ports(&s),
        items: hoist(items),
    }
}

/// The instruction registers, the target flags and the instruction's derived sizes, latched
/// at `go`.
fn instruction(s: &Sizes) -> Vec<Item> {
    let mut items = vec![comment("---- The instruction, latched at go ----")];
    let mut latch = vec![
        nb(
            i("store"),
            bits_of(id("words"), 0, 4).eq(sized(4, Opcode::DmaStore as u64)),
        ),
        nb(i("total"), bits_of(id("x_total"), 0, 32)),
    ];
    items.push(reg("i_store", None));
    items.push(reg("i_total", bits(32)));
    for (name, w) in instr_regs(s) {
        items.push(reg(&format!("i_{name}"), bits(w)));
        let f = field_of(Opcode::DmaLoad, name);
        latch.push(nb(i(name), bits_of(id("words"), 64 * f.word + f.lsb, w)));
    }
    items.extend([
        comment("The new instruction's bytes: rows * row_len * 2^esize."),
        wire_init(
            "x_total",
            bits(33),
            zext(
                zext(field("words", "rows"), 16, 32).mul(zext(field("words", "row_len"), 16, 32)),
                32,
                33,
            )
            .shl(field("words", "esize")),
        ),
        wire_init(
            "x_row_bytes",
            bits(19),
            zext(field("words", "row_len"), 16, 19).shl(field("words", "esize")),
        ),
        wire_init(
            "x_merged",
            None,
            zext(id("x_row_bytes"), 19, 32).eq(field("words", "stride")),
        ),
        wire_init(
            "row_bytes",
            bits(19),
            zext(i("row_len"), 16, 19).shl(i("esize")),
        ),
        wire_init("is_psum", None, i("target").eq(sized(2, 1))),
        wire_init("is_table", None, i("target").eq(sized(2, 2))),
        wire_init(
            "is_row",
            None,
            i("target").eq(sized(2, 0)).and(not(i("layout"))),
        ),
        wire_init(
            "is_word",
            None,
            i("target").eq(sized(2, 0)).and(i("layout")),
        ),
        always(vec![if_(id("go"), latch)]),
    ]);
    items
}

/// The address generator: the current segment (`ag_addr`, `ag_left` bytes, `ag_rows` segments
/// after it starting at `ag_next`) cut into bursts (`ag_beats`, `ag_len`, `ag_bytes` of the
/// segment, first lane `ag_off`); `ag_fire` takes one.
fn address_generator(s: &Sizes) -> Vec<Item> {
    let (db, dbb) = (s.db, s.dbb);
    let to4k_full = u64::from(4096 / db);
    vec![
        Item::Blank,
        comment(
            "---- Address generator: segments into bursts (<= 256 beats, never across 4 KB) ----",
        ),
        reg("ag_act", None),
        reg("ag_addr", bits(33)),
        reg("ag_left", bits(33)),
        reg("ag_rows", bits(16)),
        reg("ag_next", bits(34)),
        wire_init("ag_off", bits(dbb), bits_of(id("ag_addr"), 0, dbb)),
        wire_init(
            "ag_to4k",
            bits(11),
            sized(11, to4k_full).sub(zext(bits_of(id("ag_addr"), dbb, 12 - dbb), 12 - dbb, 11)),
        ),
        wire_init(
            "ag_need",
            bits(34),
            zext(id("ag_off"), dbb, 34)
                .add(zext(id("ag_left"), 33, 34))
                .add(sized(34, u64::from(db - 1)))
                .shr(int(i64::from(dbb))),
        ),
        wire_init("ag_cap", bits(11), min(sized(11, 256), id("ag_to4k"))),
        wire_init(
            "ag_beats",
            bits(11),
            cond(
                id("ag_need").lt(zext(id("ag_cap"), 11, 34)),
                bits_of(id("ag_need"), 0, 11),
                id("ag_cap"),
            ),
        ),
        wire_init("ag_beats8", bits(8), bits_of(id("ag_beats"), 0, 8)),
        wire_init("ag_len", bits(8), id("ag_beats8").sub(sized(8, 1))),
        wire_init(
            "ag_span",
            bits(BYTES_W),
            zext(
                times_pow2(bits_of(id("ag_beats"), 0, 9), dbb).sub(zext(
                    id("ag_off"),
                    dbb,
                    9 + dbb,
                )),
                9 + dbb,
                BYTES_W,
            ),
        ),
        wire_init(
            "ag_end",
            None,
            id("ag_left").le(zext(id("ag_span"), BYTES_W, 33)),
        ),
        wire_init(
            "ag_bytes",
            bits(BYTES_W),
            cond(
                id("ag_end"),
                bits_of(id("ag_left"), 0, BYTES_W),
                id("ag_span"),
            ),
        ),
        wire_init(
            "ag_fire",
            None,
            cond(i("store"), id("aw_take"), id("ar_req").and(id("ar_grant"))),
        ),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("ag_act"), bit(false))],
            vec![if_else(
                id("go"),
                vec![
                    nb(id("ag_act"), bit(true)),
                    nb(id("ag_addr"), zext(field("words", "base"), 32, 33)),
                    nb(
                        id("ag_left"),
                        cond(
                            id("x_merged"),
                            id("x_total"),
                            zext(id("x_row_bytes"), 19, 33),
                        ),
                    ),
                    nb(
                        id("ag_rows"),
                        cond(
                            id("x_merged"),
                            sized(16, 0),
                            field("words", "rows").sub(sized(16, 1)),
                        ),
                    ),
                    nb(
                        id("ag_next"),
                        zext(field("words", "base"), 32, 34).add(zext(
                            field("words", "stride"),
                            32,
                            34,
                        )),
                    ),
                ],
                vec![if_else(
                    id("fail_now").or(id("failed")),
                    vec![nb(id("ag_act"), bit(false))],
                    vec![if_(
                        id("ag_fire"),
                        vec![if_else(
                            id("ag_end"),
                            vec![if_else(
                                id("ag_rows").ne(sized(16, 0)),
                                vec![
                                    nb(id("ag_addr"), bits_of(id("ag_next"), 0, 33)),
                                    nb(id("ag_left"), zext(id("row_bytes"), 19, 33)),
                                    nb(id("ag_rows"), dec("ag_rows", 16)),
                                    nb(id("ag_next"), id("ag_next").add(zext(i("stride"), 32, 34))),
                                ],
                                vec![nb(id("ag_act"), bit(false))],
                            )],
                            vec![
                                nb(
                                    id("ag_addr"),
                                    concat(vec![
                                        bits_of(id("ag_addr"), dbb, 33 - dbb).add(zext(
                                            id("ag_beats"),
                                            11,
                                            33 - dbb,
                                        )),
                                        sized(dbb, 0),
                                    ]),
                                ),
                                nb(
                                    id("ag_left"),
                                    id("ag_left").sub(zext(id("ag_bytes"), BYTES_W, 33)),
                                ),
                            ],
                        )],
                    )],
                )],
            )],
        )]),
    ]
}

/// Reads: the request to the AR arbiter, the read-burst FIFO `ri` ({bytes, first lane}),
/// `rd_out` bursts outstanding, and the R intake into the load queue `lq`.
fn read_path(s: &Sizes) -> Vec<Item> {
    let (db, dbb) = (s.db, s.dbb);
    let rcw = count_bits(u64::from(s.reads));
    let nb_w = count_bits(u64::from(db));
    let mut items = vec![
        Item::Blank,
        comment("---- Reads: AR requests, bursts outstanding, R beats into the load queue ----"),
        reg("rd_out", bits(rcw)),
        assign(
            id("ar_req"),
            id("ag_act")
                .and(not(i("store")))
                .and(not(id("failed")))
                .and(id("rd_out").lt(sized(rcw, u64::from(s.reads)))),
        ),
        assign(id("ar_addr"), bits_of(id("ag_addr"), 0, 32)),
        assign(id("ar_len"), id("ag_len")),
        wire_init("r_fire", None, id("r_valid").and(id("r_ready"))),
        wire_init("r_end", None, id("r_fire").and(id("r_last"))),
        wire_init("ri_push", None, id("ar_req").and(id("ar_grant"))),
        wire_init(
            "ri_din",
            bits(BYTES_W + dbb),
            concat(vec![id("ag_bytes"), id("ag_off")]),
        ),
        wire_init("ri_pop", None, id("r_end")),
        wire_init("ri_flush", None, bit(false)),
    ];
    items.extend(fifo("ri", s.rdepth, BYTES_W + dbb, FifoStatus::default()));
    items.extend([
        reg("rb_first", None),
        reg("rb_rem", bits(BYTES_W)),
        wire_init(
            "rx_lo",
            bits(dbb),
            cond(
                id("rb_first"),
                bits_of(id("ri_dout"), 0, dbb),
                sized(dbb, 0),
            ),
        ),
        wire_init(
            "rx_rem",
            bits(BYTES_W),
            cond(
                id("rb_first"),
                bits_of(id("ri_dout"), dbb, BYTES_W),
                id("rb_rem"),
            ),
        ),
        wire_init(
            "rx_room",
            bits(nb_w),
            sized(nb_w, u64::from(db)).sub(zext(id("rx_lo"), dbb, nb_w)),
        ),
        wire_init(
            "rx_n",
            bits(nb_w),
            cond(
                id("rx_rem").lt(zext(id("rx_room"), nb_w, BYTES_W)),
                bits_of(id("rx_rem"), 0, nb_w),
                id("rx_room"),
            ),
        ),
        wire_init(
            "rx_data",
            bits(8 * db),
            id("r_data")
                .shr(times_pow2(id("rx_lo"), 3))
                .bit_and(low_bytes_mask(id("rx_n"), db)),
        ),
        assign(
            id("r_ready"),
            id("failed").or(id("lq_n").le(sized(s.qcw, u64::from(s.qb - db)))),
        ),
        wire_init(
            "r_bad",
            None,
            id("r_fire").and(id("r_resp").ne(sized(2, 0))),
        ),
        wire_init(
            "lq_push",
            None,
            id("r_fire").and(not(id("r_bad"))).and(not(id("failed"))),
        ),
        wire_init("lq_in", bits(8 * db), id("rx_data")),
        wire_init("lq_in_n", bits(s.qcw), zext(id("rx_n"), nb_w, s.qcw)),
        wire_init("lq_flush", None, id("go")),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("rd_out"), sized(rcw, 0)),
                nb(id("rb_first"), bit(true)),
            ],
            vec![
                nb(
                    id("rd_out"),
                    id("rd_out")
                        .add(zext(id("ri_push"), 1, rcw))
                        .sub(zext(id("r_end"), 1, rcw)),
                ),
                if_(
                    id("r_fire"),
                    vec![
                        nb(id("rb_first"), id("r_last")),
                        nb(
                            id("rb_rem"),
                            id("rx_rem").sub(zext(id("rx_n"), nb_w, BYTES_W)),
                        ),
                    ],
                ),
            ],
        )]),
    ]);
    items.extend(byte_queue("lq", s.qb, db));
    items
}

/// `P0 + c > p` and `p >= P0` for a constant `p`, 17-bit arithmetic: the enable of partition
/// (or column) `p` for a group of `c` elements from `p0`.
fn in_group(p: u32, p0: Expr, c: Expr) -> Expr {
    const_ge(u64::from(p), p0.clone(), 17).and(sized(17, u64::from(p)).lt(p0.add(c)))
}

/// The load writer: per cycle a group of `w_c` elements of row `w_r` from element `w_j` (`w_k`
/// elements so far) out of the load queue, into the SBUF (row or word mode) or the table.
fn load_writer(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let dw = g.data_w;
    let capw = count_bits(u64::from(s.l));
    let mut items = vec![
        Item::Blank,
        comment("---- Load writer: the queue's elements into the SBUF or the table ----"),
        reg("w_r", bits(16)),
        reg("w_j", bits(16)),
        reg("w_k", bits(s.tw_w)),
        wire_init("w_ej", bits(g.sa_w), low(i("entry"), g.sa_w).add(low(id("w_j"), g.sa_w))),
        wire_init("w_er", bits(g.sa_w), low(i("entry"), g.sa_w).add(low(id("w_r"), g.sa_w))),
        wire_init("w_ek", bits(s.tw_w), low(i("entry"), s.tw_w).add(id("w_k"))),
        wire_init(
            "w_pr",
            bits(g.part_w),
            low(i("part"), g.part_w).add(low(id("w_r"), g.part_w)),
        ),
        wire_init("w_lane0", bits(g.lane_b), bits_of(id("w_ej"), 0, g.lane_b)),
        wire_init(
            "w_cap",
            bits(capw),
            cond(
                id("is_table"),
                sized(capw, 1),
                cond(
                    i("layout"),
                    sized(capw, u64::from(g.lanes)).sub(zext(id("w_lane0"), g.lane_b, capw)),
                    sized(capw, u64::from(s.l)),
                ),
            ),
        ),
        wire_init(
            "w_c",
            bits(16),
            min(
                min(
                    zext(id("lq_n").shr(i("esize")), s.qcw, 16),
                    zext(id("w_cap"), capw, 16),
                ),
                i("row_len").sub(id("w_j")),
            ),
        ),
        wire_init(
            "wr_go",
            None,
            id("busy")
                .and(not(i("store")))
                .and(not(id("failed")))
                .and(id("w_r").ne(i("rows")))
                .and(id("w_c").ne(sized(16, 0)))
                .and(id("is_table").or(not(id("sb_block")))),
        ),
        wire_init(
            "lq_pop_n",
            bits(s.qcw),
            cond(
                id("wr_go"),
                bits_of(id("w_c"), 0, s.qcw).shl(i("esize")),
                sized(s.qcw, 0),
            ),
        ),
        wire_init("w_j1", bits(16), id("w_j").add(id("w_c"))),
        always(vec![if_else(
            id("go"),
            vec![
                nb(id("w_r"), sized(16, 0)),
                nb(id("w_j"), sized(16, 0)),
                nb(id("w_k"), sized(s.tw_w, 0)),
            ],
            vec![if_(
                id("wr_go"),
                vec![
                    nb(id("w_k"), id("w_k").add(low(id("w_c"), s.tw_w))),
                    if_else(
                        id("w_j1").eq(i("row_len")),
                        vec![nb(id("w_j"), sized(16, 0)), nb(id("w_r"), inc("w_r", 16))],
                        vec![nb(id("w_j"), id("w_j1"))],
                    ),
                ],
            )],
        )]),
        comment("Entry rows: element j of the group goes to lane (part + w_j + j) mod L, which every partition p = that lane mod L reads."),
        wire_init(
            "w_p0",
            bits(17),
            zext(i("part"), 9, 17).add(zext(id("w_j"), 16, 17)),
        ),
    ];
    items.extend(rotate_left(
        "w_rot",
        bits_of(id("lq_q"), 0, 8 * s.db),
        bits_of(id("w_p0"), 0, s.lb),
        s.l,
        dw,
        s.l > g.parts,
    ));
    let mut rdata = vec![];
    let mut rwen = vec![];
    for p in (0..g.parts).rev() {
        rdata.push(bits_of(id("w_rot"), (p % s.l) * dw, dw));
        rwen.push(in_group(p, id("w_p0"), zext(id("w_c"), 16, 17)));
    }
    items.extend([
        assign(id("d_rentry"), id("w_er")),
        assign(id("d_rdata"), concat(rdata)),
        wire_init("w_row_go", None, id("wr_go").and(id("is_row"))),
        assign(
            id("d_rwen"),
            repeat(int(i64::from(g.parts)), id("w_row_go")).bit_and(concat(rwen)),
        ),
    ]);
    items.extend(word_and_table_writes(s));
    items
}

/// The load writer's word mode (partition rows) and table writes.
fn word_and_table_writes(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let mut items = rotate_left(
        "w_wrot",
        bits_of(id("lq_q"), 0, 32),
        id("w_lane0"),
        g.lanes,
        g.data_w,
        false,
    );
    let mut wen = vec![];
    for l in (0..g.lanes).rev() {
        wen.push(const_ge(u64::from(l), id("w_lane0"), g.lane_b).and(
            sized(17, u64::from(l)).lt(zext(id("w_lane0"), g.lane_b, 17).add(zext(
                id("w_c"),
                16,
                17,
            ))),
        ));
    }
    items.extend([
        wire_init("w_word_go", None, id("wr_go").and(id("is_word"))),
        assign(
            id("d_wen"),
            repeat(int(i64::from(g.lanes)), id("w_word_go")).bit_and(concat(wen)),
        ),
        assign(id("d_wpart"), id("w_pr")),
        assign(id("d_wrow"), bits_of(id("w_ej"), g.lane_b, g.srow_w)),
        assign(id("d_wdata"), id("w_wrot")),
        assign(id("tbl_wen"), id("wr_go").and(id("is_table"))),
        assign(id("tbl_waddr"), id("w_ek")),
        assign(id("tbl_wdata"), bits_of(id("lq_q"), 0, 32)),
    ]);
    items
}

/// Writes: the AW register (loaded from the address generator by `aw_take`), the write-burst
/// FIFO `wi` ({bytes, first lane}) for the W generator, `wr_out` bursts unanswered, B.
fn write_path(s: &Sizes) -> Vec<Item> {
    let dbb = s.dbb;
    let wcw = count_bits(u64::from(MAX_WRITES));
    let mut items = vec![
        Item::Blank,
        comment("---- Writes: AW register, bursts unanswered, B ----"),
        reg("wr_out", bits(wcw)),
        wire_init(
            "aw_take",
            None,
            id("ag_act")
                .and(i("store"))
                .and(not(id("failed")))
                .and(not(id("m_axi_awvalid")).or(id("m_axi_awready")))
                .and(id("wr_out").lt(sized(wcw, u64::from(MAX_WRITES)))),
        ),
        wire_init("wi_push", None, id("aw_take")),
        wire_init(
            "wi_din",
            bits(BYTES_W + dbb),
            concat(vec![id("ag_bytes"), id("ag_off")]),
        ),
        wire_init("wi_flush", None, bit(false)),
        assign(id("m_axi_bready"), bit(true)),
        wire_init(
            "b_bad",
            None,
            id("m_axi_bvalid").and(id("m_axi_bresp").ne(sized(2, 0))),
        ),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("m_axi_awvalid"), bit(false)),
                nb(id("wr_out"), sized(wcw, 0)),
            ],
            vec![
                if_else(
                    id("aw_take"),
                    vec![nb(id("m_axi_awvalid"), bit(true))],
                    vec![if_(
                        id("m_axi_awready"),
                        vec![nb(id("m_axi_awvalid"), bit(false))],
                    )],
                ),
                nb(
                    id("wr_out"),
                    id("wr_out").add(zext(id("aw_take"), 1, wcw)).sub(zext(
                        id("m_axi_bvalid"),
                        1,
                        wcw,
                    )),
                ),
            ],
        )]),
        always(vec![if_(
            id("aw_take"),
            vec![
                nb(id("m_axi_awaddr"), bits_of(id("ag_addr"), 0, 32)),
                nb(id("m_axi_awlen"), id("ag_len")),
            ],
        )]),
    ];
    items.extend(fifo(
        "wi",
        MAX_WRITES,
        BYTES_W + dbb,
        FifoStatus {
            full: false,
            empty: true,
        },
    ));
    items
}

/// The store reader: per cycle one read of a group of `s_c` elements (row `s_r`, element
/// `s_j`) from SBUF port L/M or PSUM, when the store queue will have room; the reads' tags
/// travel down a pipeline as long as the source's latency (`t1_*` for the SBUF, `tp<k>_*` for
/// PSUM).
fn store_reader(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let qc1 = s.qcw + 1;
    let capw = count_bits(u64::from(s.l.max(s.lw)));
    let mut items = vec![
        Item::Blank,
        comment("---- Store reader: SBUF or PSUM groups, as the store queue has room ----"),
        reg("s_r", bits(16)),
        reg("s_j", bits(16)),
        reg("sq_infl", bits(qc1)),
        wire_init(
            "s_cap",
            bits(capw),
            cond(
                id("is_psum"),
                sized(capw, u64::from(s.lw)),
                cond(i("layout"), sized(capw, 1), sized(capw, u64::from(s.l))),
            ),
        ),
        wire_init(
            "s_c",
            bits(16),
            min(zext(id("s_cap"), capw, 16), i("row_len").sub(id("s_j"))),
        ),
        wire_init(
            "s_bytes",
            bits(s.qcw),
            bits_of(id("s_c"), 0, s.qcw).shl(i("esize")),
        ),
        wire_init(
            "s_room",
            None,
            zext(id("sq_n"), s.qcw, qc1)
                .add(id("sq_infl"))
                .add(zext(id("s_bytes"), s.qcw, qc1))
                .le(sized(qc1, u64::from(s.qb))),
        ),
        wire_init(
            "s_p0",
            bits(17),
            zext(i("part"), 9, 17).add(zext(cond(i("layout"), id("s_r"), id("s_j")), 16, 17)),
        ),
        wire_init(
            "s_entry",
            bits(g.sa_w),
            low(i("entry"), g.sa_w).add(cond(
                i("layout"),
                low(id("s_j"), g.sa_w),
                low(id("s_r"), g.sa_w),
            )),
        ),
        wire_init(
            "s_need_l",
            None,
            id("s_p0").lt(sized(17, u64::from(g.cols))),
        ),
    ];
    let mut port_ok = not(id("s_need_l")).or(id("l_free"));
    if s.port_m() {
        items.push(wire_init(
            "s_need_m",
            None,
            id("s_p0")
                .add(zext(id("s_c"), 16, 17))
                .gt(sized(17, u64::from(g.cols))),
        ));
        port_ok = port_ok.and(not(id("s_need_m")).or(id("m_free")));
        items.extend([
            assign(
                id("d_m_en"),
                id("rd_go").and(not(id("is_psum"))).and(id("s_need_m")),
            ),
            assign(id("d_m_addr"), id("s_entry")),
        ]);
    }
    items.extend([
        wire_init(
            "rd_go",
            None,
            id("busy")
                .and(i("store"))
                .and(not(id("failed")))
                .and(id("s_r").ne(i("rows")))
                .and(id("s_room"))
                .and(cond(id("is_psum"), id("ps_ok"), port_ok)),
        ),
        assign(
            id("d_l_en"),
            id("rd_go").and(not(id("is_psum"))).and(id("s_need_l")),
        ),
        assign(id("d_l_addr"), id("s_entry")),
        assign(id("ps_en"), id("rd_go").and(id("is_psum"))),
        assign(id("ps_bank"), i("bank")),
        assign(id("ps_addr"), i("offset").add(low(id("s_r"), g.paddr_w))),
        wire_init("s_j1", bits(16), id("s_j").add(id("s_c"))),
        always(vec![if_else(
            id("go"),
            vec![nb(id("s_r"), sized(16, 0)), nb(id("s_j"), sized(16, 0))],
            vec![if_(
                id("rd_go"),
                vec![if_else(
                    id("s_j1").eq(i("row_len")),
                    vec![nb(id("s_j"), sized(16, 0)), nb(id("s_r"), inc("s_r", 16))],
                    vec![nb(id("s_j"), id("s_j1"))],
                )],
            )],
        )]),
    ]);
    items.extend(read_tags(s));
    items
}

/// The tags of the store reader's reads: one stage for the SBUF (`t1_*`), `AR_LAT` for PSUM
/// (`tp1_*` .. `tp<AR_LAT>_*`): valid, first element `p0`, count `c`, bytes `b`. And the bytes
/// in flight, `sq_infl`.
fn read_tags(s: &Sizes) -> Vec<Item> {
    let qc1 = s.qcw + 1;
    let stage = |p: &str| -> Vec<Item> {
        vec![
            reg(&format!("{p}_v"), None),
            reg(&format!("{p}_p0"), bits(17)),
            reg(&format!("{p}_c"), bits(17)),
            reg(&format!("{p}_b"), bits(s.qcw)),
        ]
    };
    let load = |p: &str, v: Expr, from: Option<&str>| -> (Stmt, Vec<Stmt>) {
        let src = |f: &str, issue: Expr| match from {
            Some(q) => id(&format!("{q}_{f}")),
            None => issue,
        };
        (
            nb(id(&format!("{p}_v")), v),
            vec![
                nb(id(&format!("{p}_p0")), src("p0", id("s_p0"))),
                nb(id(&format!("{p}_c")), src("c", zext(id("s_c"), 16, 17))),
                nb(id(&format!("{p}_b")), src("b", id("s_bytes"))),
            ],
        )
    };
    let mut items = stage("t1");
    let mut valids = vec![];
    let mut data = vec![];
    let (v, d) = load("t1", id("rd_go").and(not(id("is_psum"))), None);
    valids.push(v);
    data.extend(d);
    let last = format!("tp{}", s.ar_lat);
    for k in 1..=s.ar_lat {
        let p = format!("tp{k}");
        items.extend(stage(&p));
        let prev = format!("tp{}", k - 1);
        let (v, d) = if k == 1 {
            load(&p, id("rd_go").and(id("is_psum")), None)
        } else {
            load(&p, id(&format!("{prev}_v")), Some(&prev))
        };
        valids.push(v);
        data.extend(d);
    }
    let reset: Vec<Stmt> = std::iter::once("t1".to_string())
        .chain((1..=s.ar_lat).map(|k| format!("tp{k}")))
        .map(|p| nb(id(&format!("{p}_v")), bit(false)))
        .collect();
    let mut ctl = valids;
    ctl.push(nb(
        id("sq_infl"),
        id("sq_infl")
            .add(cond(
                id("rd_go"),
                zext(id("s_bytes"), s.qcw, qc1),
                sized(qc1, 0),
            ))
            .sub(zext(id("s_arrive_b"), s.qcw, qc1)),
    ));
    let mut reset = reset;
    reset.push(nb(id("sq_infl"), sized(qc1, 0)));
    items.extend([
        wire_init(
            "s_arrive_b",
            bits(s.qcw),
            cond(
                id("t1_v"),
                id("t1_b"),
                cond(
                    id(&format!("{last}_v")),
                    id(&format!("{last}_b")),
                    sized(s.qcw, 0),
                ),
            ),
        ),
        always(vec![if_else(id("rst"), reset, ctl)]),
        always(data),
    ]);
    items
}

/// The arrival of a read: its group of elements gathered into consecutive lanes (each element's
/// partition or column, modulo the lanes, is its bin; the group covers each bin at most once),
/// rotated to start at lane 0, into the store queue `sq`.
fn store_gather(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let dw = g.data_w;
    let last = format!("tp{}", s.ar_lat);
    let part_data = |p: u32| {
        if p < g.cols {
            bits_of(id("l_data"), p * dw, dw)
        } else {
            bits_of(id("m_data"), p * dw, dw)
        }
    };
    // Lane b: the OR of the enabled elements of bin b.
    let bins = |lanes: u32, n: u32, w: u32, p0: &str, c: &str, data: &dyn Fn(u32) -> Expr| {
        let mut lanes_v = vec![];
        for b in (0..lanes).rev() {
            let mut terms = vec![];
            let mut p = b;
            while p < n {
                terms.push(cond(in_group(p, id(p0), id(c)), data(p), sized(w, 0)));
                p += lanes;
            }
            lanes_v.push(
                terms
                    .into_iter()
                    .reduce(|a, b| a.bit_or(b))
                    .unwrap_or_else(|| sized(w, 0)),
            );
        }
        concat(lanes_v)
    };
    let mut items = vec![
        Item::Blank,
        comment(
            "---- Store gather: the read's group into consecutive lanes, into the store queue ----",
        ),
        wire_init(
            "sg_sbuf",
            bits(8 * s.db),
            bins(s.l, g.parts, dw, "t1_p0", "t1_c", &part_data),
        ),
        wire_init(
            "sg_psum",
            bits(8 * s.db),
            bins(
                s.lw,
                g.cols,
                32,
                &format!("{last}_p0"),
                &format!("{last}_c"),
                &|c| bits_of(id("ps_data"), 32 * c, 32),
            ),
        ),
    ];
    items.extend(rotate_right(
        "sg_sbuf_rot",
        id("sg_sbuf"),
        bits_of(id("t1_p0"), 0, s.lb),
        s.l,
        dw,
        false,
    ));
    let k = if s.lw > 1 {
        bits_of(id(&format!("{last}_p0")), 0, s.lwb)
    } else {
        sized(1, 0)
    };
    items.extend(rotate_right(
        "sg_psum_rot",
        id("sg_psum"),
        k,
        s.lw,
        32,
        false,
    ));
    items.extend([
        wire_init(
            "sq_push",
            None,
            id("t1_v")
                .or(id(&format!("{last}_v")))
                .and(not(id("failed"))),
        ),
        wire_init(
            "sq_in",
            bits(8 * s.db),
            cond(id("t1_v"), id("sg_sbuf_rot"), id("sg_psum_rot")),
        ),
        wire_init("sq_in_n", bits(s.qcw), id("s_arrive_b")),
        wire_init("sq_flush", None, id("go")),
    ]);
    items.extend(byte_queue("sq", s.qb, s.db));
    items
}

/// The W generator: per beat of the head burst of `wi`, `wx_n` bytes of the store queue at
/// lanes `wx_lo..` into the W register (WSTRB 0 after an error, without waiting for data).
fn w_generator(s: &Sizes) -> Vec<Item> {
    let (db, dbb) = (s.db, s.dbb);
    let nb_w = count_bits(u64::from(db));
    vec![
        Item::Blank,
        comment("---- W generator: the store queue's bytes into the W register ----"),
        reg("wb_first", None),
        reg("wb_rem", bits(BYTES_W)),
        wire_init(
            "wx_lo",
            bits(dbb),
            cond(
                id("wb_first"),
                bits_of(id("wi_dout"), 0, dbb),
                sized(dbb, 0),
            ),
        ),
        wire_init(
            "wx_rem",
            bits(BYTES_W),
            cond(
                id("wb_first"),
                bits_of(id("wi_dout"), dbb, BYTES_W),
                id("wb_rem"),
            ),
        ),
        wire_init(
            "wx_room",
            bits(nb_w),
            sized(nb_w, u64::from(db)).sub(zext(id("wx_lo"), dbb, nb_w)),
        ),
        wire_init(
            "wx_last",
            None,
            id("wx_rem").le(zext(id("wx_room"), nb_w, BYTES_W)),
        ),
        wire_init(
            "wx_n",
            bits(nb_w),
            cond(id("wx_last"), bits_of(id("wx_rem"), 0, nb_w), id("wx_room")),
        ),
        wire_init(
            "w_go",
            None,
            not(id("wi_empty"))
                .and(not(id("m_axi_wvalid")).or(id("m_axi_wready")))
                .and(id("failed").or(zext(id("wx_n"), nb_w, s.qcw).le(id("sq_n")))),
        ),
        wire_init("wi_pop", None, id("w_go").and(id("wx_last"))),
        wire_init(
            "sq_pop_n",
            bits(s.qcw),
            cond(
                id("w_go").and(not(id("failed"))),
                zext(id("wx_n"), nb_w, s.qcw),
                sized(s.qcw, 0),
            ),
        ),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("m_axi_wvalid"), bit(false)),
                nb(id("wb_first"), bit(true)),
            ],
            vec![if_else(
                id("w_go"),
                vec![
                    nb(id("m_axi_wvalid"), bit(true)),
                    nb(id("wb_first"), id("wx_last")),
                ],
                vec![if_(
                    id("m_axi_wready"),
                    vec![nb(id("m_axi_wvalid"), bit(false))],
                )],
            )],
        )]),
        always(vec![if_(
            id("w_go"),
            vec![
                nb(
                    id("m_axi_wdata"),
                    bits_of(id("sq_q"), 0, 8 * db).shl(times_pow2(id("wx_lo"), 3)),
                ),
                nb(
                    id("m_axi_wstrb"),
                    cond(
                        id("failed"),
                        sized(db, 0),
                        byte_strobes(id("wx_n"), id("wx_lo"), db),
                    ),
                ),
                nb(id("m_axi_wlast"), id("wx_last")),
                nb(
                    id("wb_rem"),
                    id("wx_rem").sub(zext(id("wx_n"), nb_w, BYTES_W)),
                ),
            ],
        )]),
    ]
}

/// Completion: `busy`, `failed` (set by the first error response, `err`), `done`.
fn completion(s: &Sizes) -> Vec<Item> {
    let rcw = count_bits(u64::from(s.reads));
    let wcw = count_bits(u64::from(MAX_WRITES));
    vec![
        Item::Blank,
        comment("---- Completion and errors ----"),
        reg("failed", None),
        wire_init(
            "fail_now",
            None,
            id("busy").and(id("r_bad").or(id("b_bad"))),
        ),
        assign(id("err"), id("fail_now").and(not(id("failed")))),
        wire_init(
            "ld_end",
            None,
            not(i("store")).and(cond(
                id("failed"),
                id("rd_out").eq(sized(rcw, 0)),
                id("w_r").eq(i("rows")),
            )),
        ),
        wire_init(
            "st_end",
            None,
            i("store")
                .and(not(id("ag_act")))
                .and(id("wr_out").eq(sized(wcw, 0)))
                .and(id("wi_empty"))
                .and(not(id("m_axi_wvalid")))
                .and(not(id("m_axi_awvalid"))),
        ),
        wire_init("fin", None, id("busy").and(id("ld_end").or(id("st_end")))),
        assign(
            id("done"),
            id("fin").and(not(id("failed"))).and(not(id("fail_now"))),
        ),
        assign(id("done_store"), i("store")),
        assign(id("done_bytes"), bits_of(i("total"), 0, 32)),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("busy"), bit(false)), nb(id("failed"), bit(false))],
            vec![if_else(
                id("go"),
                vec![nb(id("busy"), bit(true)), nb(id("failed"), bit(false))],
                vec![
                    if_(id("fin"), vec![nb(id("busy"), bit(false))]),
                    if_(id("fail_now"), vec![nb(id("failed"), bit(true))]),
                ],
            )],
        )]),
    ]
}

fn ports(s: &Sizes) -> Vec<Port> {
    let g = &s.g;
    let dw = g.data_w;
    let mut p =
        vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("go", None, "start the instruction in words (only while busy is low)"),
        input(
            "words",
            bits(192),
            "the instruction's three words, word k in [64k +: 64] (unused fields are checked 0)",
        )
        .waive("UNUSED"),
        output_reg("busy", None, "an instruction is in progress (or draining after an error)"),
        output("done", None, "the instruction finished without error (last busy cycle)"),
        output("done_store", None, "with done: it was a DMA_STORE"),
        output("done_bytes", bits(32), "with done: its bytes, mod 2^32"),
        output("err", None, "an error response (DmaBus), once per instruction"),
        output("ar_req", None, "AR arbiter: a read burst is offered"),
        output("ar_addr", bits(32), ""),
        output("ar_len", bits(8), ""),
        input("ar_grant", None, "the offer is taken at this edge"),
        input("r_valid", None, "R beats of ID 0"),
        input("r_data", bits(8 * s.db), ""),
        input("r_resp", bits(2), ""),
        input("r_last", None, ""),
        output("r_ready", None, ""),
        output_reg("m_axi_awvalid", None, "AW (ID 0)"),
        input("m_axi_awready", None, ""),
        output_reg("m_axi_awaddr", bits(32), ""),
        output_reg("m_axi_awlen", bits(8), ""),
        output_reg("m_axi_wvalid", None, "W"),
        input("m_axi_wready", None, ""),
        output_reg("m_axi_wdata", bits(8 * s.db), ""),
        output_reg("m_axi_wstrb", bits(s.db), ""),
        output_reg("m_axi_wlast", None, ""),
        input("m_axi_bvalid", None, "B"),
        input("m_axi_bresp", bits(2), ""),
        output("m_axi_bready", None, "always high"),
        output("d_rwen", bits(g.parts), "SBUF port 1, row mode"),
        output("d_rentry", bits(g.sa_w), ""),
        output("d_rdata", bits(g.parts * dw), ""),
        output("d_wen", bits(g.lanes), "SBUF port 1, word mode"),
        output("d_wpart", bits(g.part_w), ""),
        output("d_wrow", bits(g.srow_w), ""),
        output("d_wdata", bits(g.lanes * dw), ""),
        input("sb_block", None, "SBUF port 2 writes: no port-1 write"),
        output("d_l_en", None, "SBUF port L read (only with l_free)"),
        output("d_l_addr", bits(g.sa_w), ""),
        input("l_data", bits(g.cols * dw), ""),
        input("l_free", None, "the load streamer leaves port L"),
    ];
    if s.port_m() {
        p.extend([
            output("d_m_en", None, "SBUF port M read (only with m_free)"),
            output("d_m_addr", bits(g.sa_w), ""),
            input(
                "m_data",
                bits(g.rows * dw),
                "partitions below COLS are read through port L",
            )
            .waive("UNUSED"),
            input("m_free", None, "the moving streamer leaves port M"),
        ]);
    }
    p.extend([
        output("ps_en", None, "PSUM read (only with ps_ok)"),
        output("ps_bank", bits(g.bank_w), ""),
        output("ps_addr", bits(g.paddr_w), ""),
        input("ps_data", bits(g.cols * 32), "AR_LAT cycles after ps_en"),
        input(
            "ps_ok",
            None,
            "the write-back unit leaves the PSUM read port",
        ),
        output("tbl_wen", None, "ACT table write"),
        output("tbl_waddr", bits(s.tw_w), ""),
        output("tbl_wdata", bits(32), ""),
    ]);
    p
}
