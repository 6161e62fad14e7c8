//! `systolic_psum`: the PSUM accumulation buffer below the array, with its host read port.
//!
//! Timing contract:
//! - Storage: per column, `BANKS x DEPTH` accumulators of `ACC_W` bits in one memory with one
//!   synchronous read port and one write port (block-RAM shaped); entry `{bank, addr}`.
//! - Write pipeline (fixed latency, never stalls): the control of a result vector
//!   (`pre_valid`, `pre_bank`, `pre_addr`, `pre_acc`, `pre_m`) arrives one cycle before its data
//!   (`in_data`, all columns aligned). In the control cycle the old value is read; in the data
//!   cycle `new = (acc ? old : 0) + in_data` is written at the clock edge, to columns `c < m`
//!   only. `wr_valid` is high in the data cycle. Integer formats add modulo `2^ACC_W`; the
//!   floating-point formats write `acc ? fp32_add(old, in_data) : in_data` with one
//!   combinational `systolic_fp32_add` per column (nearest-even, as `docs/numerics.md` says).
//! - Accumulating into the address written in the previous cycle is forwarded: the sum written
//!   at the last edge replaces the memory's (stale) read data. Two cycles apart the memory
//!   already holds it. So back-to-back accumulation into one address is correct at any N,
//!   without stalls, whatever the memory's read-during-write behaviour: the inferred memories
//!   carry `no_rw_check`, so Yosys adds no collision logic in front of the block RAM (checked
//!   by `tests/mutation.rs` with memories that return garbage on such reads).
//! - Integer read-ahead (`RD_AHEAD = 1`, generated with pe_latency 2): the control arrives
//!   two cycles before the data. The memory is read in the first control cycle; in the second
//!   the addend is formed and registered (`old_q`: 0 when overwriting, else the read value or
//!   the sum written at the edge that ended the first control cycle, which the read may have
//!   missed), together with whether the sum written at the end of the second one must replace
//!   it (`fwd_q`). The data cycle holds only `sum = (fwd_q ? last_sum : old_q) + in_data`, the
//!   memory's write and `last_sum`. Same write cycle and the same guarantees as above.
//!   `RD_AHEAD = 2` (pe_latency 3): control three cycles early; the read data is registered
//!   as it leaves the memory (`q_r`, no logic after the block RAM's output); the addend formed
//!   in the cycle before the data forwards the sums written at the two edges before that cycle
//!   (`last_sum`, `last2_sum`), which the early read may have missed, and the data cycle's
//!   predecessor's sum replaces it as before (`fwd_q`). The memory is then written from the
//!   sum's register (`last_sum` at `fwd_index`) at the edge after the data cycle, so the
//!   adder's result goes only into a register, and `wr_valid` (the write's cycle) is one cycle
//!   after the data cycle; the addend also forwards the sum of the data cycle three cycles
//!   back (`last3_sum`), whose write the early read may have missed too. With either
//!   RD_AHEAD, every forwarding select is a register of its column: whether the entry is the
//!   data cycle's (`ctl_same0`, into `fwd_q`) is compared a cycle early, from the control one
//!   stage before (`nx_index`), and so are the older ones (`nx_same1..3`), which each column
//!   registers with its own write strobes as `use1..3_q` (no select fans out across columns).
//!   `RAM_ECP5 = 1` (with `RD_AHEAD = 2`, `primitives = "ecp5"`): each column's memory is
//!   `systolic_ram_ecp5`, whose DP16KD blocks register the read data in their own output
//!   registers: the same two cycles from address to `q_r`'s place, with no fabric register.
//! - Split accumulate (`psum_split`, generated with `RD_AHEAD = 2` only; parameter `LO_W`):
//!   each column is two lanes with their own memory, read-ahead and forwarding as above, the
//!   low `LO_W` bits (`_lo`) and the high `HI_W = ACC_W - LO_W` (`_hi`). The high lane is the
//!   low one a cycle later: its control (`h_*`) is the module's delayed by one register, its
//!   input the data cycle's high bits registered (`in_hi_q`), and its sum adds the low sum's
//!   carry (`carry_lo`, recovered from the low operands' registered top bits and the low sum's
//!   top bit, so the low adder needs no carry output). So each accumulate loop (`last_sum ->
//!   addend -> sum`) is `LO_W` or `HI_W` bits long instead of `ACC_W`, and the high half is
//!   written one edge after the low one; `wr_valid` marks that later write (one cycle of
//!   latency more). Host reads read both memories in the same cycle (`h_raddr` takes
//!   `rd_index` when no high-lane read is due, which `rd_allow` guarantees: nothing is in
//!   flight then).
//! - Floating point with `ACC_PIPE = 1` (pe_latency 3): the fp32 adder has one internal
//!   register, so a result vector is written one edge later (`wr_valid` high then). The sum of
//!   the previous data cycle does not exist yet when the next one needs it, so the top level
//!   must never send an accumulation into the entry of the result vector one cycle ahead of it
//!   (it stalls that beat for one cycle); two or more cycles apart the forwarding above applies.
//! - Host read: `rd_valid`/`rd_ready` request, `rdata_valid`/`rdata_ready` response holding all
//!   columns of one entry. `rd_ready` needs `rd_allow` (the top level's guarantee that no result
//!   is in flight, so the read port is free and the read sees every earlier instruction),
//!   no read pending, and a free (or freeing) response register. Response two cycles (three with
//!   `RAM_ECP5`, whose block RAMs register their read data once more) after the
//!   request; it is held until taken, never overwritten, never repeated.

//! - Memory-path read port (`ar_*`, generated only with `dma = true`): `ar_en`, `ar_bank`,
//!   `ar_addr` in cycle t -> the entry on `ar_data` in cycle t + `AR_LAT` (2), one read per
//!   cycle, no handshake, no forwarding. Every column (split: every lane) keeps a second copy
//!   of its memory, written by the same write port as the first, read only by `ar_*` (an
//!   inferred memory with a read register enabled by `ar_en` and a register after it, or a
//!   second `systolic_ram_ecp5`, whose output register is the second stage). So `ar` reads are
//!   independent of the accumulate path's reads and of the host read (`rd_allow` does not gate
//!   them); they see every write made at or before the edge ending cycle t - 1 and nothing
//!   about an entry written at edge t or later (the program keeps them apart).
//!
//! `RD_AHEAD`, `RAM_ECP5` and the split are the generator's choices for the configuration
//! (`psum_ahead`, `psum_ram_ecp5`, `psum_split`), resolved in Rust rather than by Verilog
//! `generate`: the module holds only the logic of its own configuration. Its parameters are the
//! sizes a user may override (`COLS`, `ACC_W`, `BANKS`, `DEPTH` and their derived widths; with
//! the ECP5 block RAMs at most 1024 entries per column) and `LO_W`, `ACC_PIPE`.

use crate::config::Config;
use crate::verilog::*;

/// What the generator fixes for one configuration.
#[derive(Clone, Copy)]
struct Shape {
    float: bool,
    /// Split accumulate (`psum_split`, read-ahead 2 only).
    split: bool,
    /// Integer read-ahead `RD_AHEAD` (0..=2); 0 for floating point.
    ahead: u32,
    /// `RAM_ECP5`: each column on ECP5 DP16KD blocks with their output registers (read-ahead 2).
    ram_ecp5: bool,
    /// The memory path's pipelined read port `ar_*` (`dma = true`): a second copy of each
    /// memory, read `AR_LAT` cycles ahead of `ar_data`.
    ar: bool,
}

/// Cycles from `ar_en` (with `ar_bank`, `ar_addr`) to `ar_data` on the memory path's PSUM read
/// port, for every configuration: the memory copy's read register and an output register
/// (with `RAM_ECP5` the DP16KD's read latch and its own output register).
pub const AR_LAT: u32 = 2;

impl Shape {
    fn of(cfg: &Config) -> Shape {
        let d = &cfg.derived;
        let s = Shape {
            float: cfg.format.is_float(),
            split: cfg.psum_split,
            ahead: d.psum_ahead,
            ram_ecp5: d.psum_ram_ecp5 != 0,
            ar: cfg.dma,
        };
        assert!(s.ahead <= 2 && !(s.float && s.ahead != 0));
        assert!(
            !s.split || (s.ahead == 2 && !s.float),
            "split PSUM needs read-ahead 2"
        );
        assert!(!s.ram_ecp5 || s.ahead == 2, "RAM_ECP5 needs read-ahead 2");
        s
    }

    /// The control of the beat whose data comes next cycle: `pre_*` itself, or (read-ahead)
    /// `ctl_*`, which follows `pre_*` by RD_AHEAD cycles.
    fn ctl(&self, field: &str) -> Expr {
        if self.ahead == 0 {
            id(&format!("pre_{field}"))
        } else {
            id(&format!("ctl_{field}"))
        }
    }

    /// The write one cycle after the data cycle (`fwd_valid`, `fwd_index`): used by the
    /// forwarding without read-ahead, and by read-ahead 2; read-ahead 1 forwards from the data
    /// cycle's strobes.
    fn has_fwd(&self) -> bool {
        self.ahead != 1
    }

    /// `wr_acc`: the accumulate flag in the data cycle (without read-ahead; with it the flag
    /// is applied a cycle early, from `ctl_acc`).
    fn has_wr_acc(&self) -> bool {
        self.ahead == 0
    }

    /// Cycles from a host read request to its response.
    fn read_latency(&self) -> u32 {
        if self.ram_ecp5 {
            3
        } else {
            2
        }
    }
}

/// The PSUM module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let s = Shape::of(cfg);
    Module {
        name: "systolic_psum".into(),
        doc: module_doc(&s),
        params: params(cfg, &s),
        ports: ports(&s),
        items: [
            state_decls(&s),
            if s.float {
                vec![wire_init(
                    "fwd_hit",
                    None,
                    id("fwd_valid").and(id("fwd_index").eq(id("wr_index"))),
                )]
            } else {
                int_control(&s)
            },
            read_stages(s.ram_ecp5),
            state_updates(&s),
            vec![
                if s.float {
                    float_write_stage()
                } else {
                    Item::Blank
                },
                Item::Blank,
                comment("One memory per column: column c is g_col[c].mem."),
                gen_for("c", int(0), id("COLS"), "g_col", column(&s)),
            ],
        ]
        .concat(),
    }
}

/// The module's comment: its timing, with this configuration's numbers.
fn module_doc(s: &Shape) -> Vec<String> {
    let control = match s.ahead {
        0 => "one cycle".to_string(),
        n => format!("{} cycles", n + 1),
    };
    let mut doc = vec![
        "PSUM buffer: per column BANKS x DEPTH accumulators, 1 sync read + 1 write port.".into(),
        format!("Control (pre_*) {control} before data (in_data): read old value, then write"),
        "(acc ? old : 0) + in_data to columns c < m at the data cycle's edge; sums written since"
            .into(),
        "the read are forwarded.".into(),
    ];
    if s.ahead == 2 {
        doc.push(
            "The sum is written from its register, at the edge after the data cycle (wr_valid)."
                .into(),
        );
    }
    if s.split {
        doc.push(
            "Split accumulate: the high ACC_W - LO_W bits one edge after the low LO_W (wr_valid)."
                .into(),
        );
    }
    if s.float {
        doc.push(
            "ACC_PIPE 1: the fp32 adder registered, the write one edge later (wr_valid).".into(),
        );
    }
    if s.ar {
        doc.push(
            "ar_*: pipelined read of a second copy of the memories, data AR_LAT = 2 cycles after ar_en."
                .into(),
        );
    }
    doc.extend([
        format!(
            "Host read: response {} cycles after the request, held until taken; accepted only",
            s.read_latency()
        ),
        "while rd_allow (nothing in flight).".into(),
    ]);
    doc
}

fn params(cfg: &Config, s: &Shape) -> Vec<Param> {
    let d = &cfg.derived;
    let mut params = vec![
        param("COLS", cfg.cols.into(), "columns"),
        param("ACC_W", d.acc_w.into(), "bits of one accumulator"),
        param("BANKS", cfg.psum_banks.into(), "PSUM banks"),
        param(
            "DEPTH",
            cfg.psum_depth.into(),
            "entries per bank (power of two)",
        ),
        param("BANK_W", d.bank_w.into(), "bits of a bank number"),
        param("ADDR_W", d.addr_w.into(), "log2(DEPTH)"),
        param("M_W", d.m_w.into(), "bits of a column count 1..COLS"),
    ];
    if s.split {
        params.push(param(
            "LO_W",
            i64::from(d.psum_lo_w),
            "split accumulate: bits of the low half (the high ACC_W - LO_W a cycle later)",
        ));
    }
    if s.float {
        params.push(param(
            "ACC_PIPE",
            i64::from(d.add_lat - 1),
            "1: fp32 accumulate adder with one register (writes one cycle later)",
        ));
    }
    params
}

fn ports(s: &Shape) -> Vec<Port> {
    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("pre_valid", None, "a result vector arrives next cycle"),
        input("pre_bank", w("BANK_W"), "unused when BANKS == 1").waive("UNUSED"),
        input("pre_addr", w("ADDR_W"), ""),
        input("pre_acc", None, "1: add to the entry, 0: overwrite"),
        input("pre_m", w("M_W"), "columns c < m are written"),
        input(
            "in_data",
            Some(id("COLS").mul(id("ACC_W"))),
            "result vector, column c in [c*ACC_W +: ACC_W]",
        ),
        output(
            "wr_valid",
            None,
            "a result vector is written at this cycle's edge",
        ),
        input("rd_allow", None, "no result in flight (from the top level)"),
        input("rd_valid", None, "host read request"),
        output("rd_ready", None, ""),
        input("rd_bank", w("BANK_W"), "unused when BANKS == 1").waive("UNUSED"),
        input("rd_addr", w("ADDR_W"), ""),
        output_reg("rdata_valid", None, "host read response"),
        input("rdata_ready", None, ""),
        output(
            "rdata",
            Some(id("COLS").mul(id("ACC_W"))),
            "column c in [c*ACC_W +: ACC_W]",
        ),
        output(
            "rd_busy",
            None,
            "a read is pending or its response not yet taken",
        ),
    ];
    if s.ar {
        let en = input(
            "ar_en",
            None,
            "pipelined read (memory path): no handshake, one per cycle",
        );
        // The ECP5 block RAMs read every cycle (no read enable on systolic_ram_ecp5).
        let en = if s.ram_ecp5 { en.waive("UNUSED") } else { en };
        ports.extend([
            en,
            input("ar_bank", w("BANK_W"), "unused when BANKS == 1").waive("UNUSED"),
            input("ar_addr", w("ADDR_W"), ""),
            output(
                "ar_data",
                Some(id("COLS").mul(id("ACC_W"))),
                "the entry read AR_LAT = 2 cycles before; column c in [c*ACC_W +: ACC_W]",
            ),
        ]);
    }
    ports
}

/// The module-level state of the write pipeline and the read port, and the entry indices.
fn state_decls(s: &Shape) -> Vec<Item> {
    let idx_w = || w("IDX_W");
    let mut items = vec![
        Item::Localparam("ENTRIES".into(), id("BANKS").mul(id("DEPTH"))),
        Item::Localparam(
            "IDX_W".into(),
            cond(
                id("BANKS").gt(int(1)),
                id("BANK_W").add(id("ADDR_W")),
                id("ADDR_W"),
            ),
        ),
        reg("rd_pending", None),
        comment(match (s.float, s.ahead) {
            (true, _) => {
                "The data cycle's valid; the write (wr_valid) follows it ACC_PIPE cycles later."
            }
            (false, 2) => {
                "The data cycle's valid; the write (wr_valid) follows it one cycle later."
            }
            _ => "The data cycle's valid (also the write's: wr_valid).",
        }),
        reg("dat_valid", None),
    ];
    if s.has_wr_acc() {
        items.push(reg("wr_acc", None));
    }
    items.push(reg("wr_m", w("M_W")));
    if s.float {
        items.extend([wire("w_acc", None), wire("w_index", idx_w())]);
    }
    items.extend([
        comment("Entry index: {bank, addr}, or addr alone with one bank."),
        wire("pre_index", idx_w()),
        wire("rd_index", idx_w()),
    ]);
    let (mut banks, mut one_bank) = (
        vec![
            assign(
                id("pre_index"),
                concat(vec![id("pre_bank"), id("pre_addr")]),
            ),
            assign(id("rd_index"), concat(vec![id("rd_bank"), id("rd_addr")])),
        ],
        vec![
            assign(id("pre_index"), id("pre_addr")),
            assign(id("rd_index"), id("rd_addr")),
        ],
    );
    if s.ar {
        items.push(wire("ar_index", idx_w()));
        banks.push(assign(
            id("ar_index"),
            concat(vec![id("ar_bank"), id("ar_addr")]),
        ));
        one_bank.push(assign(id("ar_index"), id("ar_addr")));
    }
    items.extend([
        gen_if(
            id("BANKS").gt(int(1)),
            "g_banks",
            banks,
            "g_one_bank",
            one_bank,
        ),
        reg("wr_index", idx_w()),
    ]);
    if s.has_fwd() {
        items.extend([reg("fwd_valid", None), reg("fwd_index", idx_w())]);
    }
    items.extend([
        wire_init("rd_fire", None, id("rd_valid").and(id("rd_ready"))),
        wire_init(
            "raddr",
            idx_w(),
            cond(id("pre_valid"), id("pre_index"), id("rd_index")),
        ),
    ]);
    items
}

/// Integer PSUM: the write strobe `wr_valid` (or, split, the high lanes' control), and with
/// read-ahead the control stages.
fn int_control(s: &Shape) -> Vec<Item> {
    let mut items = vec![];
    if s.split {
        items.extend(split_control());
    } else if s.ahead == 2 {
        items.extend([
            comment(
                "A sum is written from its register (last_sum) one cycle after its data cycle.",
            ),
            assign(id("wr_valid"), id("fwd_valid")),
        ]);
    } else {
        items.push(assign(id("wr_valid"), id("dat_valid")));
    }
    if s.ahead == 2 {
        items.extend([
            comment("The entry of the data cycle three cycles back."),
            reg("fwd2_index", w("IDX_W")),
            always(vec![nb(id("fwd2_index"), id("fwd_index"))]),
        ]);
    }
    if s.ahead > 0 {
        items.extend(control_stages(s.ahead));
    }
    items
}

/// The module's state updates: the read port's handshake, the data cycle's control and valid.
fn state_updates(s: &Shape) -> Vec<Item> {
    let index_name = if s.float { "w_index" } else { "wr_index" };
    let mut regs = vec![];
    if s.has_wr_acc() {
        regs.push(nb(id("wr_acc"), s.ctl("acc")));
    }
    regs.extend([
        nb(id("wr_m"), s.ctl("m")),
        nb(id("wr_index"), s.ctl("index")),
    ]);
    let (mut resets, mut loads) = (
        vec![nb(id("dat_valid"), sized(1, 0))],
        vec![nb(id("dat_valid"), s.ctl("valid"))],
    );
    if s.has_fwd() {
        regs.push(nb(id("fwd_index"), id(index_name)));
        resets.push(nb(id("fwd_valid"), sized(1, 0)));
        loads.push(nb(
            id("fwd_valid"),
            id(if s.float { "wr_valid" } else { "dat_valid" }),
        ));
    }
    resets.extend([
        nb(id("rd_pending"), sized(1, 0)),
        nb(id("rdata_valid"), sized(1, 0)),
    ]);
    loads.extend([
        nb(id("rd_pending"), id("rd_fire")),
        if_else(
            id("rd_take"),
            vec![nb(id("rdata_valid"), sized(1, 1))],
            vec![if_(
                id("rdata_ready"),
                vec![nb(id("rdata_valid"), sized(1, 0))],
            )],
        ),
    ]);
    vec![
        Item::Blank,
        assign(
            id("rd_ready"),
            id("rd_allow")
                .and(not(id("rd_wait")))
                .and(not(id("rdata_valid")).or(id("rdata_ready"))),
        ),
        assign(id("rd_busy"), id("rd_wait").or(id("rdata_valid"))),
        Item::Blank,
        always(regs),
        always(vec![if_else(id("rst"), resets, loads)]),
    ]
}

/// Floating point: the write stage, one cycle after the data cycle with `ACC_PIPE`.
fn float_write_stage() -> Item {
    gen_if(
        id("ACC_PIPE").ne(int(0)),
        "g_wr_pipe",
        vec![
            comment("The write stage, one cycle after the data cycle."),
            reg("dat_valid_q", None),
            reg("wr_acc_q", None),
            reg("wr_index_q", w("IDX_W")),
            always(vec![
                nb(id("wr_acc_q"), id("wr_acc")),
                nb(id("wr_index_q"), id("wr_index")),
            ]),
            always(vec![if_else(
                id("rst"),
                vec![nb(id("dat_valid_q"), sized(1, 0))],
                vec![nb(id("dat_valid_q"), id("dat_valid"))],
            )]),
            assign(id("wr_valid"), id("dat_valid_q")),
            assign(id("w_acc"), id("wr_acc_q")),
            assign(id("w_index"), id("wr_index_q")),
        ],
        "g_wr_now",
        vec![
            assign(id("wr_valid"), id("dat_valid")),
            assign(id("w_acc"), id("wr_acc")),
            assign(id("w_index"), id("wr_index")),
        ],
    )
}

/// Integer read-ahead (`ahead` 1 or 2): the control of the beat whose data arrives next cycle
/// (`ctl_*`), `ahead` cycles after it arrived on `pre_*` (whose cycle reads the memory), and
/// the forwarding flags compared a cycle early.
fn control_stages(ahead: u32) -> Vec<Item> {
    let fields = [
        ("valid", None),
        ("acc", None),
        ("m", w("M_W")),
        ("index", w("IDX_W")),
    ];
    let mut items: Vec<Item> = fields
        .iter()
        .map(|(f, width)| wire(&format!("ctl_{f}"), width.clone()))
        .collect();
    // `mid{i}_*`: the control i + 1 cycles after `pre_*`; `ctl_*` is the last of them.
    for i in 0..ahead {
        let from = if i == 0 { "pre" } else { "mid0" };
        let name = |f: &str| format!("mid{i}_{f}");
        let src = |f: &str| id(&format!("{from}_{f}"));
        items.extend(fields.iter().map(|(f, width)| reg(&name(f), width.clone())));
        items.push(always(
            fields[1..]
                .iter()
                .map(|(f, _)| nb(id(&name(f)), src(f)))
                .collect(),
        ));
        items.push(always(vec![if_else(
            id("rst"),
            vec![nb(id(&name("valid")), sized(1, 0))],
            vec![nb(id(&name("valid")), src("valid"))],
        )]));
    }
    let last = ahead - 1;
    items.extend(
        fields
            .iter()
            .map(|(f, _)| assign(id(&format!("ctl_{f}")), id(&format!("mid{last}_{f}")))),
    );
    // `ctl_same0`: the control's entry is that of the data cycle (`wr_index` next cycle),
    // compared one cycle early against the control one stage before `ctl_*` (`nx_index`), so
    // that it is a register. `nx_same{j}`: `nx_index` against the entry of the data cycle j
    // cycles before the next one (1: `wr_index`, 2: `fwd_index`, 3: `fwd2_index`), from which
    // each lane registers its own forwarding selects (`use{j}_q`) a cycle early.
    let nx_same = [
        ("nx_same1", "wr_index"),
        ("nx_same2", "fwd_index"),
        ("nx_same3", "fwd2_index"),
    ];
    let nx_same = &nx_same[..if ahead == 2 { 3 } else { 1 }];
    items.extend([
        wire_init(
            "nx_index",
            w("IDX_W"),
            id(if ahead == 2 {
                "mid0_index"
            } else {
                "pre_index"
            }),
        ),
        reg("ctl_same0_q", None),
        always(vec![nb(
            id("ctl_same0_q"),
            id("nx_index").eq(id("ctl_index")),
        )]),
        wire("ctl_same0", None),
        assign(id("ctl_same0"), id("ctl_same0_q")),
    ]);
    items.extend(
        nx_same
            .iter()
            .map(|(flag, other)| wire_init(flag, None, id("nx_index").eq(id(other)))),
    );
    items
}

/// Host reads: `rd_take` is the cycle whose read data goes into the response register,
/// `rd_wait` that a read is between request and response. One cycle after the request, or two
/// with the ECP5 block RAMs' output registers (`RAM_ECP5`).
fn read_stages(ram_ecp5: bool) -> Vec<Item> {
    let mut items = vec![wire("rd_take", None), wire("rd_wait", None)];
    if ram_ecp5 {
        items.extend([
            reg("rd_pending2", None),
            always(vec![if_else(
                id("rst"),
                vec![nb(id("rd_pending2"), sized(1, 0))],
                vec![nb(id("rd_pending2"), id("rd_pending"))],
            )]),
            assign(id("rd_take"), id("rd_pending2")),
            assign(id("rd_wait"), id("rd_pending").or(id("rd_pending2"))),
        ]);
    } else {
        items.extend([
            assign(id("rd_take"), id("rd_pending")),
            assign(id("rd_wait"), id("rd_pending")),
        ]);
    }
    items
}

/// One column (the body of `g_col`): a split one's two lanes, or the whole accumulator's
/// memory and adder.
fn column(s: &Shape) -> Vec<Item> {
    if s.split {
        return split_column(s);
    }
    let col = |net: &str| id(net).part(id("c").mul(id("ACC_W")), id("ACC_W"));
    // The write stage's strobe: the data cycle's, or (floating point) ACC_PIPE cycles later.
    let we_name = if s.float { "w_we" } else { "we" };
    let mut items = vec![
        comment("rd_q: the word read at raddr, one cycle later."),
        wire("rd_q", w("ACC_W")),
        reg("rq", w("ACC_W")),
        reg("last_sum", w("ACC_W")),
    ];
    if s.has_fwd() {
        items.push(reg("last_we", None));
    }
    items.push(wire_init(
        "we",
        None,
        id("dat_valid").and(id("wr_m").gt(id("c"))),
    ));
    if s.float {
        items.extend(float_sum(col("in_data")));
        items.extend(storage(s, &Lane::WHOLE, "w_we", "w_index", "sum"));
    } else {
        items.extend(int_lane_sum(s, &Lane::WHOLE, col("in_data")));
        items.extend(int_write_port(s, &Lane::WHOLE));
        items.extend(storage(s, &Lane::WHOLE, "st_we", "st_index", "st_data"));
    }
    let mut updates = vec![nb(id("last_sum"), id("sum"))];
    if s.has_fwd() {
        updates.push(nb(id("last_we"), id(we_name)));
    }
    updates.push(if_(id("rd_take"), vec![nb(id("rq"), id("rd_q"))]));
    items.extend([always(updates), assign(col("rdata"), id("rq"))]);
    if s.ar {
        items.push(assign(col("ar_data"), id("ar_rd")));
    }
    items
}

/// Floating point: the new value of an entry, `acc ? fp32_add(old, in) : in`, with the old
/// value forwarded from the previous write, in the write stage (ACC_PIPE cycles after the data
/// cycle).
fn float_sum(input: Expr) -> Vec<Item> {
    vec![
        wire_init(
            "old",
            w("ACC_W"),
            cond(id("fwd_hit").and(id("last_we")), id("last_sum"), id("rd_q")),
        ),
        wire("acc_sum", w("ACC_W")),
        Item::Instance(Instance {
            module: "systolic_fp32_add".into(),
            name: "u_acc".into(),
            params: vec![("PIPE".into(), id("ACC_PIPE"))],
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id("old")),
                ("b".into(), input.clone()),
                ("y".into(), id("acc_sum")),
            ],
        }),
        comment("The data of the write stage: ACC_PIPE cycles after the data cycle."),
        wire("w_in", w("ACC_W")),
        wire("w_we", None),
        gen_if(
            id("ACC_PIPE").ne(int(0)),
            "g_acc_pipe",
            vec![
                reg("in_q", w("ACC_W")),
                reg("we_q", None),
                always(vec![
                    nb(id("in_q"), input.clone()),
                    nb(id("we_q"), id("we")),
                ]),
                assign(id("w_in"), id("in_q")),
                assign(id("w_we"), id("we_q")),
            ],
            "g_acc_comb",
            vec![assign(id("w_in"), input), assign(id("w_we"), id("we"))],
        ),
        wire_init(
            "sum",
            w("ACC_W"),
            cond(id("w_acc"), id("acc_sum"), id("w_in")),
        ),
    ]
}

/// An integer lane's write port (`st_*{sfx}`): the data cycle's sum, or (read-ahead 2) its
/// register one cycle later.
fn int_write_port(s: &Shape, l: &Lane) -> Vec<Item> {
    let (we, index, data) = if s.ahead == 2 {
        (
            l.c("fwd_valid").and(l.l("last_we")),
            l.c("fwd_index"),
            l.l("last_sum"),
        )
    } else {
        (l.l("we"), l.c("wr_index"), l.l("sum"))
    };
    vec![
        wire_init(&l.n("st_we"), None, we),
        wire_init(&l.n("st_index"), w("IDX_W"), index),
        wire_init(&l.n("st_data"), l.w(), data),
    ]
}

/// One column's (or integer lane's) memory: written with `data` at `index` when `we`, read at
/// `raddr` (the high lane: `h_raddr`) into `rd_q{sfx}`. An inferred memory with a registered
/// read (`g_col[c].mem{sfx}`, one cycle), or (`ram_ecp5`) `systolic_ram_ecp5` (two cycles).
fn storage(s: &Shape, l: &Lane, we: &str, index: &str, data: &str) -> Vec<Item> {
    let mut items = main_storage(s.ram_ecp5, l, we, index, data);
    if s.ar {
        items.extend(ar_storage(s.ram_ecp5, l, we, index, data));
    }
    items
}

/// The memory path's copy of a lane's memory (`ar`): written exactly as the lane's memory, read
/// at `ar_index` into `ar_rd{sfx}` two cycles later (`AR_LAT`): the inferred memory's read
/// register (enabled by `ar_en`) and a register after it, or `systolic_ram_ecp5`'s two. A
/// second copy rather than a second read port on one memory: the iCE40 and ECP5 block RAMs
/// Yosys maps PSUM to have one read port beside their write port.
fn ar_storage(ram_ecp5: bool, l: &Lane, we: &str, index: &str, data: &str) -> Vec<Item> {
    let mut items = vec![
        comment("The memory path's copy of this memory, for the pipelined read port ar_*."),
        wire(&l.n("ar_rd"), l.w()),
    ];
    if ram_ecp5 {
        let write = [we, index, data];
        items.push(ecp5_ram(l, "u_aram", write, id("ar_index"), l.l("ar_rd")));
        return items;
    }
    items.extend([
        // The program keeps ar reads off the entries being written: no collision logic.
        memory_no_rw_check(&l.n("amem"), l.w(), id("ENTRIES")),
        reg(&l.n("aq"), l.w()),
        reg(&l.n("aq2"), l.w()),
        always(vec![
            if_(
                id("ar_en"),
                vec![nb(l.l("aq"), l.l("amem").at(id("ar_index")))],
            ),
            nb(l.l("aq2"), l.l("aq")),
            if_(id(we), vec![nb(l.l("amem").at(id(index)), id(data))]),
        ]),
        assign(l.l("ar_rd"), l.l("aq2")),
    ]);
    items
}

/// A `systolic_ram_ecp5` of a lane (`name` with the lane's suffix), written by `[we, index,
/// data]`, read at `raddr` into `rdata`.
fn ecp5_ram(l: &Lane, name: &str, [we, index, data]: [&str; 3], raddr: Expr, rdata: Expr) -> Item {
    Item::Instance(Instance {
        module: "systolic_ram_ecp5".into(),
        name: l.n(name),
        params: vec![
            ("W".into(), id(l.width)),
            ("ENTRIES".into(), id("ENTRIES")),
            ("AW".into(), id("IDX_W")),
        ],
        ports: vec![
            ("clk".into(), id("clk")),
            ("we".into(), id(we)),
            ("waddr".into(), id(index)),
            ("wdata".into(), id(data)),
            ("raddr".into(), raddr),
            ("rdata".into(), rdata),
        ],
    })
}

/// A lane's own memory, read at `raddr` (the high lane: `h_raddr`) into `rd_q{sfx}`.
fn main_storage(ram_ecp5: bool, l: &Lane, we: &str, index: &str, data: &str) -> Vec<Item> {
    if ram_ecp5 {
        let write = [we, index, data];
        return vec![ecp5_ram(l, "u_ram", write, l.c("raddr"), l.l("rd_q"))];
    }
    vec![
        // The forwarding above replaces every read that meets a write of its entry, so the
        // memory needs no read-during-write behaviour (no collision logic from Yosys).
        memory_no_rw_check(&l.n("mem"), l.w(), id("ENTRIES")),
        reg(&l.n("q"), l.w()),
        always(vec![
            nb(l.l("q"), l.l("mem").at(l.c("raddr"))),
            if_(id(we), vec![nb(l.l("mem").at(id(index)), id(data))]),
        ]),
        assign(l.l("rd_q"), l.l("q")),
    ]
}

/// The control of a split PSUM's high lanes: the module's, one cycle later (`h_*`); its write
/// (`h_fwd_valid`) is the module's `wr_valid`.
fn split_control() -> Vec<Item> {
    let delayed: [(&str, Option<Expr>); 5] = [
        ("ctl_acc", None),
        ("ctl_same0", None),
        ("fwd_index", w("IDX_W")),
        ("pre_index", w("IDX_W")),
        ("pre_valid", None),
    ];
    let h = |name: &str| id(&format!("h_{name}"));
    let mut items = vec![
        comment("Split accumulate: the high lanes' control, one cycle after the low lanes'."),
        Item::Localparam("HI_W".into(), id("ACC_W").sub(id("LO_W"))),
        reg("h_fwd_valid", None),
    ];
    items.extend(
        delayed
            .iter()
            .map(|(name, width)| reg(&format!("h_{name}"), width.clone())),
    );
    items.push(always(
        delayed
            .iter()
            .filter(|(name, _)| *name != "pre_valid")
            .map(|(name, _)| nb(h(name), id(name)))
            .collect(),
    ));
    items.push(always(vec![if_else(
        id("rst"),
        vec![
            nb(h("fwd_valid"), sized(1, 0)),
            nb(h("pre_valid"), sized(1, 0)),
        ],
        vec![
            nb(h("fwd_valid"), id("fwd_valid")),
            nb(h("pre_valid"), id("pre_valid")),
        ],
    )]));
    items.push(comment("The high lanes read an entry a cycle after the low ones, or, for the host (never while a result is in flight), in the same cycle."));
    items.push(wire_init(
        "h_raddr",
        w("IDX_W"),
        cond(h("pre_valid"), h("pre_index"), id("rd_index")),
    ));
    items.push(assign(id("wr_valid"), h("fwd_valid")));
    items
}

/// A split integer column (`psum_split`): the low lane on the data cycle, the high lane a
/// cycle later with the low lane's carry; a host read takes both memories' words of one entry,
/// read in the same cycle.
fn split_column(s: &Shape) -> Vec<Item> {
    let lane = |l: &Lane, input: Expr| {
        [
            vec![
                wire(&l.n("rd_q"), l.w()),
                reg(&l.n("last_sum"), l.w()),
                reg(&l.n("last_we"), None),
            ],
            int_lane_sum(s, l, input),
            int_write_port(s, l),
            storage(s, l, &l.n("st_we"), &l.n("st_index"), &l.n("st_data")),
            vec![always(vec![
                nb(l.l("last_sum"), l.l("sum")),
                nb(l.l("last_we"), l.l("we")),
            ])],
        ]
        .concat()
    };
    let base = || id("c").mul(id("ACC_W"));
    [
        vec![
            comment("Split accumulate: the low LO_W bits in the data cycle (lane _lo), the high HI_W bits one cycle later (lane _hi, the module's control delayed: h_*), with the low lane's carry."),
            reg("rq", w("ACC_W")),
            wire_init("we_lo", None, id("dat_valid").and(id("wr_m").gt(id("c")))),
            reg("we_hi", None),
            reg("in_hi_q", w("HI_W")),
            reg("lo_a_msb", None),
            reg("lo_b_msb", None),
        ],
        lane(&Lane::LO, id("in_data").part(base(), id("LO_W"))),
        split_carry(),
        lane(&Lane::HI, id("in_hi_q")),
        vec![
            always(vec![if_(
                id("rd_take"),
                vec![nb(id("rq"), concat(vec![id("rd_q_hi"), id("rd_q_lo")]))],
            )]),
            assign(id("rdata").part(base(), id("ACC_W")), id("rq")),
        ],
        if s.ar {
            vec![assign(
                id("ar_data").part(base(), id("ACC_W")),
                concat(vec![id("ar_rd_hi"), id("ar_rd_lo")]),
            )]
        } else {
            vec![]
        },
    ]
    .concat()
}

/// A split column's hand-over from the low lane to the high one: the high lane's strobe and
/// input a cycle later, and the low sum's carry (`carry_lo`).
fn split_carry() -> Vec<Item> {
    let base = || id("c").mul(id("ACC_W"));
    vec![
        always(vec![
            nb(id("we_hi"), id("we_lo")),
            nb(
                id("in_hi_q"),
                id("in_data").part(base().add(id("LO_W")), id("HI_W")),
            ),
            nb(id("lo_a_msb"), id("addend_lo").at(id("LO_W").sub(int(1)))),
            nb(
                id("lo_b_msb"),
                id("in_data").at(base().add(id("LO_W")).sub(int(1))),
            ),
        ]),
        comment("The low sum's carry out, from the operands' top bits (registered) and the sum's (last_sum_lo): the low adder's loop ends at its sum, with no carry output."),
        wire_init(
            "carry_lo",
            None,
            id("lo_a_msb").and(id("lo_b_msb")).or(id("lo_a_msb")
                .bit_xor(id("lo_b_msb"))
                .and(not(id("last_sum_lo").at(id("LO_W").sub(int(1)))))),
        ),
    ]
}

/// One integer accumulate lane of a PSUM column: its memory, read-ahead, forwarding and adder.
/// An unsplit column is one lane (`WHOLE`, the names without suffix); a split one
/// (`psum_split`) is two, `LO` (the low `LO_W` bits) and `HI` (the rest), whose control is the
/// module's one cycle later (`h_*`) and whose sum adds the low lane's carry (`carry_lo`).
struct Lane {
    /// Suffix of the lane's own nets and instance names.
    sfx: &'static str,
    /// The parameter naming the lane's width.
    width: &'static str,
    /// The module's control one cycle later (`h_*`): the high lane.
    delayed: bool,
}

impl Lane {
    const WHOLE: Lane = Lane {
        sfx: "",
        width: "ACC_W",
        delayed: false,
    };
    const LO: Lane = Lane {
        sfx: "_lo",
        width: "LO_W",
        delayed: false,
    };
    const HI: Lane = Lane {
        sfx: "_hi",
        width: "HI_W",
        delayed: true,
    };

    /// The name of the lane's own net `base`.
    fn n(&self, base: &str) -> String {
        format!("{base}{}", self.sfx)
    }

    /// The lane's own net `base`.
    fn l(&self, base: &str) -> Expr {
        id(&self.n(base))
    }

    /// The module's control net `name`, as this lane sees it.
    fn c(&self, name: &str) -> Expr {
        if self.delayed {
            id(&format!("h_{name}"))
        } else {
            id(name)
        }
    }

    fn w(&self) -> Option<Expr> {
        w(self.width)
    }
}

/// An integer lane's addend and sum (`sum{sfx}`): the entry's old value when accumulating, else
/// 0. Without read-ahead, selected in the data cycle (the previous write forwarded); with it,
/// formed in the cycle before (`old_q`, see [`read_ahead`]). `input`: the lane's bits of the
/// result vector.
fn int_lane_sum(s: &Shape, l: &Lane, input: Expr) -> Vec<Item> {
    let mut items = vec![wire(&l.n("addend"), l.w())];
    if s.ahead == 0 {
        items.push(assign(
            l.l("addend"),
            cond(
                l.c("wr_acc"),
                cond(
                    l.c("fwd_valid")
                        .and(l.c("fwd_index").eq(l.c("wr_index")))
                        .and(l.l("last_we")),
                    l.l("last_sum"),
                    l.l("rd_q"),
                ),
                zeros(id(l.width)),
            ),
        ));
    } else {
        items.extend(read_ahead(s, l));
    }
    if l.delayed {
        items.extend([
            comment("The high half, a cycle after the low one: its bits of the data cycle's input (in_hi_q) and the low half's carry (carry_lo)."),
            wire_init(
                &l.n("sum"),
                l.w(),
                l.l("addend")
                    .add(input)
                    .add(concat(vec![zeros(id("HI_W").sub(int(1))), id("carry_lo")])),
            ),
        ]);
    } else {
        items.push(wire_init(&l.n("sum"), l.w(), l.l("addend").add(input)));
    }
    items
}

/// Read-ahead: the addend formed in the cycle before the data from the read value (read-ahead
/// 2: registered first, see [`read_register`]) and the write the early read missed (`old_q`);
/// the previous cycle's write replaces it in the data cycle (`fwd_q`).
fn read_ahead(s: &Shape, l: &Lane) -> Vec<Item> {
    let mut items = vec![
        reg(&l.n("old_q"), l.w()),
        reg(&l.n("fwd_q"), None),
        comment(if s.ahead == 2 {
            "The read value, registered, or the write it missed."
        } else {
            "The read value."
        }),
        wire(&l.n("rd_old"), l.w()),
    ];
    items.extend(forward_selects(l, &[1]));
    if s.ahead == 2 {
        items.extend(read_register(s, l));
    } else {
        items.push(assign(l.l("rd_old"), l.l("rd_q")));
    }
    items.extend([
        always(vec![
            nb(
                l.l("old_q"),
                cond(
                    not(l.c("ctl_acc")),
                    zeros(id(l.width)),
                    cond(id(&l.n("use1_q")), l.l("last_sum"), l.l("rd_old")),
                ),
            ),
            nb(
                l.l("fwd_q"),
                l.c("ctl_acc").and(l.l("we")).and(l.c("ctl_same0")),
            ),
        ]),
        assign(
            l.l("addend"),
            cond(l.l("fwd_q"), l.l("last_sum"), l.l("old_q")),
        ),
    ]);
    items
}

/// `use{j}_q{sfx}` for each `j` of `js`: forward the sum of the data cycle j cycles before the
/// next one (its entry, written by this lane). Registered a cycle early from the lane's valid
/// and write strobe, one cycle before they move into place (1: the data cycle's `we`; 2:
/// `fwd_valid`, `last_we`; 3: `fwd2_valid`, `last2_we`), and the entry compared a cycle early
/// (`nx_same{j}`); the high lane's are the low lane's a cycle later. Reset, like the valids.
fn forward_selects(l: &Lane, js: &[usize]) -> Vec<Item> {
    let select = |j: usize| l.n(&format!("use{j}_q"));
    let next = |j: usize| {
        if l.delayed {
            return id(&format!("use{j}_q_lo"));
        }
        match j {
            1 => l.l("we").and(id("nx_same1")),
            2 => l.c("fwd_valid").and(l.l("last_we")).and(id("nx_same2")),
            _ => l.l("fwd2_valid").and(l.l("last2_we")).and(id("nx_same3")),
        }
    };
    let mut items: Vec<Item> = js.iter().map(|&j| reg(&select(j), None)).collect();
    items.push(always(vec![if_else(
        id("rst"),
        js.iter()
            .map(|&j| nb(id(&select(j)), sized(1, 0)))
            .collect(),
        js.iter().map(|&j| nb(id(&select(j)), next(j))).collect(),
    )]));
    items
}

/// Read-ahead 2: `rd_old{sfx}`, the read data registered as it leaves the memory (or, with
/// `RAM_ECP5`, by the block RAM itself), replaced by the sums written at the two edges before
/// the cycle that forms the addend, which the early read may have missed.
fn read_register(s: &Shape, l: &Lane) -> Vec<Item> {
    let mut items = vec![
        comment(if s.ram_ecp5 {
            "The read data two cycles after its address: the block RAM's output register."
        } else {
            "The read data two cycles after its address: registered."
        }),
        wire(&l.n("rd_q2"), l.w()),
    ];
    if s.ram_ecp5 {
        items.push(assign(l.l("rd_q2"), l.l("rd_q")));
    } else {
        items.extend([
            reg(&l.n("q_r"), l.w()),
            always(vec![nb(l.l("q_r"), l.l("rd_q"))]),
            assign(l.l("rd_q2"), l.l("q_r")),
        ]);
    }
    items.extend([
        comment("The sums of the data cycles two and three cycles back: written after the read."),
        reg(&l.n("last2_sum"), l.w()),
        reg(&l.n("last3_sum"), l.w()),
        always(vec![
            nb(l.l("last2_sum"), l.l("last_sum")),
            nb(l.l("last3_sum"), l.l("last2_sum")),
        ]),
    ]);
    if !l.delayed {
        items.extend([
            reg(&l.n("fwd2_valid"), None),
            reg(&l.n("last2_we"), None),
            always(vec![nb(l.l("last2_we"), l.l("last_we"))]),
            always(vec![if_else(
                id("rst"),
                vec![nb(l.l("fwd2_valid"), sized(1, 0))],
                vec![nb(l.l("fwd2_valid"), l.c("fwd_valid"))],
            )]),
        ]);
    }
    items.extend(forward_selects(l, &[2, 3]));
    items.push(assign(
        l.l("rd_old"),
        cond(
            id(&l.n("use2_q")),
            l.l("last2_sum"),
            cond(id(&l.n("use3_q")), l.l("last3_sum"), l.l("rd_q2")),
        ),
    ));
    items
}
