//! The plan derived from a validated configuration: the core's widths and latencies
//! ([`Derived`]) and the sizes of the engine around it ([`Geometry`]).

use crate::format::NumberFormat;

use super::{Config, Primitives, RawConfig, SbufLayout};

/// Widths and latencies computed once from a validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// Bits of one input element (`DATA_W`).
    pub data_w: u32,
    /// Bits of one accumulator (`ACC_W`).
    pub acc_w: u32,
    /// Bits of a partial sum inside the array (`PS_W`): integers `min(acc_w, 2*data_w +
    /// ceil(log2(rows)))`, which holds the exact sum of `rows` products, so adding modulo
    /// `2^PS_W` and extending to `acc_w` below the array gives the same value as adding modulo
    /// `2^acc_w`; floating point `acc_w` (fp32 partial sums). The generated top level computes
    /// the same value from its parameters.
    pub ps_w: u32,
    /// Bits of a row index inside the array (`ROW_W`, at least 1).
    pub row_w: u32,
    /// Bits of a K count, 1..=rows (`K_W`).
    pub k_w: u32,
    /// Bits of an M count, 1..=cols (`M_W`).
    pub m_w: u32,
    /// Bits of an N count, 1..=psum_depth (`N_W`).
    pub n_w: u32,
    /// Bits of a PSUM bank number (`BANK_W`, at least 1).
    pub bank_w: u32,
    /// Bits of an address inside one PSUM bank (`ADDR_W`).
    pub addr_w: u32,
    /// Registers between a PE's moving input and its product (`MUL_LAT`: 0..=4 for integers: 1
    /// the product, 2 also the operands, 3 also the two halves, 4 also the four quarter products;
    /// 0..=2 for floating point: 2 a two-stage multiplier).
    pub mul_lat: u32,
    /// Cycles from a PE's partial-sum input to its output (`ADD_LAT`, 1 or 2): the step of the
    /// moving data's skew from one row to the next.
    pub add_lat: u32,
    /// Registers inside the fp32 accumulate adder of PSUM (`ACC_PIPE`: `add_lat - 1`, 0 for
    /// integers). With 1 a result is written one cycle later, and an accumulation into the entry
    /// of the beat just before it waits one cycle (see `rtl::psum`).
    pub psum_pipe: u32,
    /// Integer PSUM read-ahead (`RD_AHEAD`, 0..=2; `mul_lat` (at most 2) for integers, 0 for floating
    /// point): the control of a result vector reaches PSUM `1 + psum_ahead` cycles before its
    /// data; with 1 the old value is read and selected a cycle early, so only the adder is left
    /// in the data cycle; with 2 the memory's read data is also registered before the selection,
    /// and the sum is written from its register one cycle after the data cycle
    /// (`psum_wr_reg`; see `rtl::psum`).
    pub psum_ahead: u32,
    /// Integer PSUM writes a sum from its register, one cycle after its data cycle (1 with
    /// `psum_ahead` 2, else 0): results are written, and visible, one cycle later.
    pub psum_wr_reg: u32,
    /// PSUM memories on ECP5 block RAMs with their output registers (`RAM_ECP5`, 0 or 1):
    /// with `primitives = "ecp5"`, read-ahead 2 and at most 1024 entries per column. The read
    /// data then leaves the block's own output register, and a host read answers one cycle
    /// later (`psum_read_lat`).
    pub psum_ram_ecp5: u32,
    /// Cycles from a host PSUM read request to its response: 2, or 3 with `psum_ram_ecp5`.
    pub psum_read_lat: u32,
    /// Integer PSUM accumulate split (`psum_split`, 0 or 1): the low `psum_lo_w` bits of a sum
    /// are written at the usual edge, the high ones one edge later, which is then the write's
    /// (`wr_valid`) and the result's visibility.
    pub psum_split: u32,
    /// Bits of the low lane of a split accumulate (`LO_W` = `(acc_w + 4) / 2`, at most
    /// `acc_w - 1`: the high lane, which also adds the low lane's carry, is shorter); `acc_w`
    /// unsplit.
    pub psum_lo_w: u32,
    /// Register stages along a row of the array: `ceil(cols / tile_cols)` (column `c`'s results
    /// leave `c / tile_cols` cycles after column 0's; the deskew evens them out).
    pub col_stages: u32,
    /// Extra cycles a new stationary load waits after a swap so that it never overtakes the
    /// swap wavefront: `(rows - 1) * (add_lat - 1)` (0 when `add_lat` is 1).
    pub load_hold: u32,
    /// A moving beat fired in cycle s is written at the edge ending cycle
    /// s + rows*add_lat + mul_lat + col_stages + psum_pipe + psum_wr_reg + psum_split, so it is
    /// visible from cycle
    /// s + `mm_latency` (see `rtl::top` and `golden::timing`).
    pub mm_latency: u32,
}

/// Number of bits needed to represent values 0..=max (at least 1).
pub fn bits_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

/// `(mul_lat, add_lat)` of a PE latency (`pe_latency = mul_lat + add_lat`). Both kinds of
/// format: 1: (0, 1), 2: (1, 1); integers 3: (2, 1) (operand registers), 4: (3, 1) (and partial
/// products), 5: (4, 1) (and quarter products); floating point 3: (1, 2), 4: (2, 2).
pub(super) fn pe_stages(pe_latency: u32, format: NumberFormat) -> (u32, u32) {
    match (pe_latency, format.is_float()) {
        (1, _) => (0, 1),
        (2, _) => (1, 1),
        (3, false) => (2, 1),
        (4, false) => (3, 1),
        (5, false) => (4, 1),
        (3, true) => (1, 2),
        _ => (2, 2),
    }
}

/// The integer PSUM read-ahead of a multiplier with `mul_lat` registers (see
/// [`Derived::psum_ahead`]); 0 for floating point.
pub(super) fn psum_ahead(format: NumberFormat, mul_lat: u32) -> u32 {
    if format.is_float() {
        0
    } else {
        mul_lat.min(2)
    }
}

impl Derived {
    /// The widths and latencies of `raw`, already validated (see [`Config::from_raw`]) with
    /// its number format parsed into `format`.
    pub(super) fn new(raw: &RawConfig, format: NumberFormat) -> Derived {
        let product_bits = format.product_bits();
        let (mul_lat, add_lat) = pe_stages(raw.pe_latency, format);
        let psum_ahead = psum_ahead(format, mul_lat);
        let col_stages = raw.cols.div_ceil(raw.tile_cols);
        let psum_split = u32::from(raw.psum_split);
        let psum_wr_reg = u32::from(psum_ahead == 2);
        let psum_ram_ecp5 = u32::from(
            raw.primitives == Primitives::Ecp5
                && psum_ahead == 2
                && raw.psum_banks * raw.psum_depth <= 1024,
        );
        Derived {
            data_w: format.bits(),
            acc_w: raw.acc_bits,
            ps_w: if format.is_float() {
                raw.acc_bits
            } else {
                raw.acc_bits
                    .min(product_bits + (u32::BITS - (raw.rows - 1).leading_zeros()))
            },
            row_w: bits_for(u64::from(raw.rows - 1)),
            k_w: bits_for(u64::from(raw.rows)),
            m_w: bits_for(u64::from(raw.cols)),
            n_w: bits_for(u64::from(raw.psum_depth)),
            bank_w: bits_for(u64::from(raw.psum_banks - 1)),
            addr_w: raw.psum_depth.trailing_zeros(),
            mul_lat,
            add_lat,
            psum_pipe: add_lat - 1,
            psum_ahead,
            psum_wr_reg,
            psum_ram_ecp5,
            psum_read_lat: 2 + psum_ram_ecp5,
            psum_split,
            // The high lane's path also holds the low lane's carry (a LUT and its route, about
            // four carry-chain bits on the iCE40), so the low lane takes two bits more than
            // half: HX8K int8 4x4 at pe_latency 5, seeds 1-5, median 144.9 MHz at 16/16, 154.1
            // at 18/14 (148.7 at 20/12).
            psum_lo_w: if raw.psum_split {
                ((raw.acc_bits + 4) / 2).min(raw.acc_bits - 1)
            } else {
                raw.acc_bits
            },
            col_stages,
            load_hold: (raw.rows - 1) * (add_lat - 1),
            mm_latency: raw.rows * add_lat
                + mul_lat
                + col_stages
                + 1
                + (add_lat - 1)
                + psum_wr_reg
                + psum_split,
        }
    }
}

/// Sizes of the engine around the core, computed once from a configuration. All widths of the
/// engine's own modules are plain numbers from here (the modules have no parameters: they are
/// generated per configuration, like their file header says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub rows: u32,
    pub cols: u32,
    /// SBUF partitions: `max(rows, cols)`.
    pub parts: u32,
    pub data_w: u32,
    pub acc_w: u32,
    pub k_w: u32,
    pub m_w: u32,
    pub n_w: u32,
    pub bank_w: u32,
    /// Bits of a PSUM address (the core's `ADDR_W`).
    pub paddr_w: u32,
    pub banks: u32,
    pub psum_depth: u32,
    pub sbuf_depth: u32,
    /// Bits of an SBUF entry address: `log2(sbuf_depth)`.
    pub sa_w: u32,
    /// Bits of a partition number (at least 1).
    pub part_w: u32,
    /// Bytes per SBUF entry on the bus (1 or 2) and its log2.
    pub eb: u32,
    pub ebb: u32,
    /// SBUF entries per 32-bit bus word (`4 / eb`) and its log2: the SBUF is built of this many
    /// interleaved lane memories per partition, so one bus write stores a whole word at once.
    pub lanes: u32,
    pub lane_b: u32,
    /// Bits of a row of a lane memory: `sa_w - lane_b`.
    pub srow_w: u32,
    /// Bits of `k * m`.
    pub km_w: u32,
    /// The SBUF is `packed` (see `crate::rtl::engine::sbuf`): the bus waits while it stores a word.
    pub sbuf_packed: bool,
}

impl Geometry {
    pub fn new(cfg: &Config) -> Geometry {
        let d = &cfg.derived;
        let parts = cfg.rows.max(cfg.cols);
        let eb = sbuf_entry_bytes(d.data_w);
        let lanes = 4 / eb;
        let sa_w = cfg.sbuf_depth.trailing_zeros();
        let lane_b = lanes.trailing_zeros();
        Geometry {
            rows: cfg.rows,
            cols: cfg.cols,
            parts,
            data_w: d.data_w,
            acc_w: d.acc_w,
            k_w: d.k_w,
            m_w: d.m_w,
            n_w: d.n_w,
            bank_w: d.bank_w,
            paddr_w: d.addr_w,
            banks: cfg.psum_banks,
            psum_depth: cfg.psum_depth,
            sbuf_depth: cfg.sbuf_depth,
            sa_w,
            part_w: bits_for(u64::from(parts - 1)),
            eb,
            ebb: eb.trailing_zeros(),
            lanes,
            lane_b,
            srow_w: sa_w - lane_b,
            km_w: d.k_w + d.m_w,
            sbuf_packed: cfg.sbuf_layout == SbufLayout::Packed,
        }
    }
}

/// Bytes per SBUF entry on the host bus: 1 for inputs of at most 8 bits, else 2.
pub fn sbuf_entry_bytes(data_w: u32) -> u32 {
    if data_w <= 8 {
        1
    } else {
        2
    }
}
