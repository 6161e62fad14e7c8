//! The instructions both schedules emit the same way: DMA_LOADs of SBUF rows and of table
//! words, the ACTIVATE of an output tile, the DMA_STOREs of an output tile to C.

use crate::isa::{Act, ActFunc, Dma, DmaTarget};

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
