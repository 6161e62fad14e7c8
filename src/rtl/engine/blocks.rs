//! Small generators shared by the memory path's levels (`systolic_sequencer` with `dma`,
//! `systolic_dma`, `systolic_fetch`): a register FIFO, a byte queue, element rotations and
//! minima. Each returns the items of one block, its nets named with a prefix; they are parts of
//! the module that calls them, not modules of their own.
//!
//! Timing contracts:
//! - [`fifo`]: `P_push` in cycle t writes `P_din` at the edge (the writer never pushes into a
//!   full FIFO); `P_dout` shows the head combinationally from the memory while `P_cnt != 0`;
//!   `P_pop` removes it at the edge; push and pop may share a cycle. `P_flush` empties it at
//!   the edge (a push in the same cycle is lost). Count and pointers are reset.
//! - [`byte_queue`]: a register of `QB` bytes holding `P_n` bytes in order (byte 0 first, in
//!   `P_q[7:0]`), every byte at or above `P_n` zero. In a cycle, `P_pop_n` bytes leave the front
//!   and then, with `P_push`, the `P_in_n` low bytes of `P_in` (its other bytes zero) join the
//!   back, both at the edge; `P_flush` empties it. The caller never pops more than it holds nor
//!   pushes past `QB`.

use crate::verilog::*;

/// Bits to count `0..=max`.
pub fn count_bits(max: u64) -> u32 {
    crate::config::bits_for(max)
}

/// `a < b ? a : b` (both `w` bits).
pub fn min(a: Expr, b: Expr) -> Expr {
    cond(a.clone().lt(b.clone()), a, b)
}

/// `c >= e` for a constant `c` and `e` of `w` bits (`e == 0` when `c` is 0, `1` when `c` is
/// the largest value of `w` bits: a linter calls those comparisons constant).
pub fn const_ge(c: u64, e: Expr, w: u32) -> Expr {
    if c == 0 {
        e.eq(sized(w, 0))
    } else if w < 64 && c >= (1u64 << w) - 1 {
        bit(true)
    } else {
        sized(w, c).ge(e)
    }
}

/// `e` (of `w` bits) shifted left by a constant `k` bits, as a concatenation (`{e, k'b0}`).
pub fn times_pow2(e: Expr, k: u32) -> Expr {
    if k == 0 {
        e
    } else {
        concat(vec![e, sized(k, 0)])
    }
}

/// Which status nets a [`fifo`] declares (only those its user reads: the rest would be unused).
#[derive(Debug, Clone, Copy, Default)]
pub struct FifoStatus {
    pub full: bool,
    pub empty: bool,
}

/// A FIFO of `depth` (a power of two) entries of `width` bits, prefix `p`: memory `P_mem`,
/// pointers, `P_cnt` (0..=depth), `P_dout`, and `P_full`, `P_empty` as `status` asks. The
/// caller drives `P_push`, `P_din`, `P_pop`, `P_flush` (nets it declares).
pub fn fifo(p: &str, depth: u32, width: u32, status: FifoStatus) -> Vec<Item> {
    assert!(depth.is_power_of_two() && depth >= 2, "FIFO depth {depth}");
    let ab = depth.trailing_zeros();
    let cb = ab + 1;
    let n = |s: &str| format!("{p}_{s}");
    let mut items = vec![
        memory(&n("mem"), bits(width), int(i64::from(depth))),
        reg(&n("wp"), bits(ab)),
        reg(&n("rp"), bits(ab)),
        reg(&n("cnt"), bits(cb)),
        wire_init(&n("dout"), bits(width), id(&n("mem")).at(id(&n("rp")))),
    ];
    if status.full {
        items.push(wire_init(
            &n("full"),
            None,
            id(&n("cnt")).eq(sized(cb, u64::from(depth))),
        ));
    }
    if status.empty {
        items.push(wire_init(&n("empty"), None, id(&n("cnt")).eq(sized(cb, 0))));
    }
    items.extend([
        always(vec![if_(
            id(&n("push")),
            vec![nb(id(&n("mem")).at(id(&n("wp"))), id(&n("din")))],
        )]),
        always(vec![if_else(
            id("rst").or(id(&n("flush"))),
            vec![
                nb(id(&n("wp")), sized(ab, 0)),
                nb(id(&n("rp")), sized(ab, 0)),
                nb(id(&n("cnt")), sized(cb, 0)),
            ],
            vec![
                if_(id(&n("push")), vec![nb(id(&n("wp")), inc(&n("wp"), ab))]),
                if_(id(&n("pop")), vec![nb(id(&n("rp")), inc(&n("rp"), ab))]),
                nb(
                    id(&n("cnt")),
                    id(&n("cnt"))
                        .add(zext(id(&n("push")), 1, cb))
                        .sub(zext(id(&n("pop")), 1, cb)),
                ),
            ],
        )]),
    ]);
    items
}

/// A byte queue of `qb` bytes (see the module's timing contract), prefix `p`: registers `P_q`
/// (`8*qb` bits) and `P_n` (bytes held, `count_bits(qb)` bits). The caller drives `P_pop_n`
/// and `P_in_n` (`count_bits(qb)` bits), `P_push`, `P_in` (`8*in_bytes` bits) and `P_flush`.
pub fn byte_queue(p: &str, qb: u32, in_bytes: u32) -> Vec<Item> {
    assert!(in_bytes <= qb);
    let cw = count_bits(u64::from(qb));
    let n = |s: &str| format!("{p}_{s}");
    let wide = 8 * qb;
    let inw = if in_bytes == qb {
        id(&n("in"))
    } else {
        zext(id(&n("in")), 8 * in_bytes, wide)
    };
    vec![
        reg(&n("q"), bits(wide)),
        reg(&n("n"), bits(cw)),
        wire_init(&n("n1"), bits(cw), id(&n("n")).sub(id(&n("pop_n")))),
        wire_init(
            &n("sh"),
            bits(wide),
            id(&n("q")).shr(times_pow2(id(&n("pop_n")), 3)),
        ),
        wire_init(
            &n("ins"),
            bits(wide),
            cond(
                id(&n("push")),
                inw.shl(times_pow2(id(&n("n1")), 3)),
                sized(wide, 0),
            ),
        ),
        always(vec![if_else(
            id("rst").or(id(&n("flush"))),
            vec![
                nb(id(&n("q")), sized(wide, 0)),
                nb(id(&n("n")), sized(cw, 0)),
            ],
            vec![
                nb(id(&n("q")), id(&n("sh")).bit_or(id(&n("ins")))),
                nb(
                    id(&n("n")),
                    id(&n("n1")).add(cond(id(&n("push")), id(&n("in_n")), sized(cw, 0))),
                ),
            ],
        )]),
    ]
}

/// `out` = the `lanes` lanes of `lane_w` bits of `v` rotated right by `k` lanes (`k` of
/// `log2(lanes)` bits): lane i of `out` is lane `(i + k) mod lanes` of `v`. Declares `out` and
/// helpers `out_2x`, `out_sh`. With one lane, `out = v`. `partly_used`: the caller reads only
/// some lanes of `out` (its declaration carries the lint waiver).
pub fn rotate_right(
    out: &str,
    v: Expr,
    k: Expr,
    lanes: u32,
    lane_w: u32,
    partly_used: bool,
) -> Vec<Item> {
    assert!(lanes.is_power_of_two() && lane_w.is_power_of_two());
    let w = lanes * lane_w;
    let declare = |e: Expr| {
        let net = wire_init(out, bits(w), e);
        if partly_used {
            Item::LintOff {
                warning: "UNUSED",
                reason: "Lanes past the last partition are not read.".into(),
                items: vec![net],
            }
        } else {
            net
        }
    };
    if lanes == 1 {
        return vec![declare(v)];
    }
    let two = format!("{out}_2x");
    let sh = format!("{out}_sh");
    vec![
        wire_init(&two, bits(2 * w), concat(vec![v.clone(), v])),
        Item::LintOff {
            warning: "UNUSED",
            reason: "A rotation keeps the low half of the shifted doubled vector.".into(),
            items: vec![wire_init(
                &sh,
                bits(2 * w),
                id(&two).shr(times_pow2(k, lane_w.trailing_zeros())),
            )],
        },
        declare(bits_of(id(&sh), 0, w)),
    ]
}

/// `out` = `v` rotated left by `k` lanes (lane `(i + k) mod lanes` of `out` is lane i of `v`),
/// `k` of `log2(lanes)` bits; `partly_used` as for [`rotate_right`].
pub fn rotate_left(
    out: &str,
    v: Expr,
    k: Expr,
    lanes: u32,
    lane_w: u32,
    partly_used: bool,
) -> Vec<Item> {
    if lanes == 1 {
        return rotate_right(out, v, k, lanes, lane_w, partly_used);
    }
    let lb = lanes.trailing_zeros();
    let neg = format!("{out}_k");
    let mut items = vec![wire_init(&neg, bits(lb), sized(lb, 0).sub(k))];
    items.extend(rotate_right(out, v, id(&neg), lanes, lane_w, partly_used));
    items
}

/// The mask of `n` bytes from byte `lo` in a bus of `bytes` bytes, as byte strobes (`bytes`
/// bits): `(~({bytes{1}} << n)) << lo`. `n` of `count_bits(bytes)` bits, `lo` of
/// `log2(bytes)` bits.
pub fn byte_strobes(n: Expr, lo: Expr, bytes: u32) -> Expr {
    let ones = sized(
        bytes,
        if bytes >= 64 {
            u64::MAX
        } else {
            (1u64 << bytes) - 1
        },
    );
    bit_not(ones.shl(n)).shl(lo)
}

/// The mask of the low `n` bytes as bits (`8*bytes` bits): `~({8*bytes{1}} << 8n)`.
pub fn low_bytes_mask(n: Expr, bytes: u32) -> Expr {
    bit_not(repeat(int(i64::from(8 * bytes)), sized(1, 1)).shl(times_pow2(n, 3)))
}
