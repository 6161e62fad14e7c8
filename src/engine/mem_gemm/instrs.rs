//! The instructions both schedules emit the same way: DMA_LOADs of SBUF rows and of table
//! words, the ACTIVATE of an output tile, the DMA_STOREs of an output tile to C.

use crate::isa::{Act, ActFunc, Dma, DmaTarget};

use crate::engine::gemm::Matrix;

use super::asm::Builder;
use super::{OutDtype, WriteBack};

/// A DMA of `rows` rows of `row_len` elements, `stride` bytes apart from `base`, into (or
/// from) SBUF entries `entry..` in entry-row layout.
pub(super) fn sbuf_load(base: u64, stride: u32, rows: u32, row_len: u32, entry: u32) -> Dma {
    Dma {
        target: DmaTarget::Sbuf as u32,
        layout: 0,
        esize: 0,
        rows,
        row_len,
        part: 0,
        bank: 0,
        base: base as u32,
        stride,
        entry,
        offset: 0,
    }
}

/// Blocks narrower than this many columns are written column by column ([`blocked`]) and loaded
/// in partition-row layout ([`tile_load`]). An entry-row load writes one SBUF entry a cycle, a
/// partition-row load up to the SBUF's lanes of one partition (4 for the 8-bit elements of the
/// memory path, `Geometry::lanes`), so a block of one to three columns (the rest of K after the
/// blocks of `Kt`, e.g. a 3x3 convolution's ninth tap on 8 rows) loads in 1/4 to 3/4 of the
/// cycles.
pub(super) const NARROW: u32 = 4;

/// An operand (`rows x cols`) as the host writes it into memory: in blocks of `bw` columns,
/// each block a row-major `rows x w` matrix of its own (`w = min(bw, cols - b bw)`), or, when
/// narrower than [`NARROW`], its columns one after another; the blocks in order. A (`M x K`) is
/// blocked by `Kt`, B (`K x N`) by `Nt`: a tile is then consecutive rows of one block (or `w`
/// runs of consecutive column elements), which the DMA reads in long bursts ([`tile_load`]),
/// where a row-major operand costs one burst per row of the tile.
pub(super) fn blocked(x: &Matrix, bw: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.data.len());
    for c0 in (0..x.cols).step_by(bw) {
        let w = bw.min(x.cols - c0);
        if w < NARROW as usize {
            for c in c0..c0 + w {
                out.extend((0..x.rows).map(|r| x.data[r * x.cols + c] as u8));
            }
        } else {
            for row in x.data.chunks_exact(x.cols) {
                out.extend(row[c0..c0 + w].iter().map(|&v| v as u8));
            }
        }
    }
    out
}

/// The DMA_LOAD of the tile of rows `r0..r0 + rn` of column block `blk` of a [`blocked`]
/// operand at `base` (`rows x cols`, blocks `bw` wide) into SBUF entries `entry..` (row `r0 + i`
/// into entry `entry + i`, column `blk bw + j` into partition `j`): A's moving tiles (`[M, K,
/// Kt]`, `[m0, mt, kb]`), B's stationary (`[K, N, Nt]`, `[k0, kt, nb]`). Entry rows, or
/// partition rows for a block narrower than [`NARROW`] (one run of `rn` elements per column).
pub(super) fn tile_load(
    base: u32,
    [rows, cols, bw]: [u32; 3],
    [r0, rn, blk]: [u32; 3],
    entry: u32,
) -> Dma {
    let w = bw.min(cols - blk * bw);
    let block = u64::from(base) + u64::from(blk) * u64::from(bw) * u64::from(rows);
    if w < NARROW {
        Dma {
            layout: 1,
            rows: w,
            row_len: rn,
            stride: rows,
            ..sbuf_load(block + u64::from(r0), 0, 0, 0, entry)
        }
    } else {
        sbuf_load(block + u64::from(r0) * u64::from(w), w, rn, w, entry)
    }
}

/// A DMA_LOAD of `words` table words from `base`.
pub(super) fn table_load(base: u32, words: u32) -> Dma {
    Dma {
        target: DmaTarget::Table as u32,
        layout: 0,
        esize: 2,
        rows: 1,
        row_len: words,
        part: 0,
        bank: 0,
        base,
        stride: 4 * words,
        entry: 0,
        offset: 0,
    }
}

/// The ACTIVATE of an output tile of `mt` rows and `nt` columns from `bank` into `entry`.
pub(super) fn activate(wb: &WriteBack, bank: u32, mt: u32, nt: u32, entry: u32) -> Act {
    let func = if wb.relu {
        ActFunc::Relu
    } else {
        ActFunc::Identity
    };
    Act {
        bank,
        offset: 0,
        n: mt,
        m: nt,
        func: func as u32,
        dtype: wb.out.act_dtype() as u32,
        per_col: wb.requantises(),
        bias: wb.requantises() && wb.bias.is_some(),
        zp: wb.zp_bits(),
        entry,
        ..Act::default()
    }
}

/// The DMA_STOREs of the tile `[m0, n0, mt, nt]` of C (`n` columns, at `c`) from its output
/// slot at `entry`.
pub(super) fn store_rows(
    b: &mut Builder,
    c: u32,
    n: u32,
    wb: &WriteBack,
    tile: [u32; 4],
    entry: u32,
) {
    let [m0, n0, mt, nt] = tile;
    let eb = wb.out.bytes();
    let row = |r: u32| {
        u64::from(c) + u64::from(eb) * ((u64::from(m0 + r)) * u64::from(n) + u64::from(n0))
    };
    if wb.out == OutDtype::Int32 {
        // One row of C per store: partition n' holds C[m][n0 + n'] in entries 4m'..4m'+4.
        for r in 0..mt {
            let mut d = sbuf_load(row(r), 4, nt, 4, entry + 4 * r);
            d.layout = 1;
            b.dma_store(d);
        }
    } else {
        b.dma_store(sbuf_load(row(0), n, mt, nt, entry));
    }
}
