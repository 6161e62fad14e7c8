//! The memory behind the engine's AXI4 master (`docs/memory-path.md`): a byte-addressed 32-bit
//! space. [`Memory`] is what the DMA engine and the instruction fetch see; the golden back end
//! uses [`SparseMemory`], the RTL back end's AXI slave model implements the same trait, so a
//! test can give both the same contents and the same faults.
//!
//! Faults are per 4 KB page (a page answers reads, writes or both with SLVERR or DECERR). An
//! AXI burst never crosses a 4 KB boundary and a bus beat is aligned, so "an access touches a
//! faulty page" is the same question for the golden model (which accesses bytes) and for the
//! RTL (which issues bursts of full bus words, writing only the strobed bytes).

use std::collections::{BTreeMap, HashMap};

/// Bytes of a page (the AXI 4 KB boundary).
pub const PAGE: u32 = 4096;

/// An error response of the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusFault {
    /// SLVERR (RESP = 2).
    SlvErr,
    /// DECERR (RESP = 3).
    DecErr,
}

/// A byte-addressed memory seen through the engine's AXI4 master. An access never wraps past
/// `2^32` (the engine checks that first: DmaRange).
pub trait Memory {
    /// Read `buf.len()` bytes from `addr`. An error leaves `buf` unspecified.
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), BusFault>;
    /// Write `data` at `addr`. On an error, the bytes on pages before the faulty one may have
    /// been written.
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), BusFault>;
    /// The test bench's view, beside the bus (no faults): read bytes.
    fn peek(&self, addr: u32, buf: &mut [u8]);
    /// The test bench's view, beside the bus (no faults): write bytes.
    fn poke(&mut self, addr: u32, data: &[u8]);
}

/// Which accesses a faulty page answers with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFault {
    pub read: Option<BusFault>,
    pub write: Option<BusFault>,
}

/// A sparse memory: pages allocated when first written, unwritten bytes read as 0; faults per
/// page.
#[derive(Debug, Clone, Default)]
pub struct SparseMemory {
    pages: HashMap<u32, Box<[u8]>>,
    faults: BTreeMap<u32, PageFault>,
}

impl SparseMemory {
    pub fn new() -> SparseMemory {
        SparseMemory::default()
    }

    /// Make the page holding `addr` answer reads and/or writes with an error.
    pub fn set_fault(&mut self, addr: u32, fault: PageFault) {
        let page = addr / PAGE;
        if fault == PageFault::default() {
            self.faults.remove(&page);
        } else {
            self.faults.insert(page, fault);
        }
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The pages written so far (page numbers, sorted) with their bytes: for comparisons.
    pub fn pages(&self) -> Vec<(u32, &[u8])> {
        let mut v: Vec<(u32, &[u8])> = self.pages.iter().map(|(k, p)| (*k, &p[..])).collect();
        v.sort_by_key(|p| p.0);
        v
    }

    /// Whether two memories hold the same bytes (unwritten pages read as zeros).
    pub fn same_contents(&self, other: &SparseMemory) -> bool {
        let zero = |p: &[u8]| p.iter().all(|b| *b == 0);
        let covers = |a: &SparseMemory, b: &SparseMemory| {
            a.pages.iter().all(|(k, p)| match b.pages.get(k) {
                Some(q) => p == q,
                None => zero(p),
            })
        };
        covers(self, other) && covers(other, self)
    }

    /// Calls `f(page, range in page, range in the caller's buffer)` for each page of
    /// `addr..addr + len`, in address order.
    fn split(
        addr: u32,
        len: usize,
        mut f: impl FnMut(u32, usize, usize, usize) -> Result<(), BusFault>,
    ) -> Result<(), BusFault> {
        let mut done = 0usize;
        while done < len {
            let a = u64::from(addr) + done as u64;
            let page = (a / u64::from(PAGE)) as u32;
            let off = (a % u64::from(PAGE)) as usize;
            let n = (PAGE as usize - off).min(len - done);
            f(page, off, done, n)?;
            done += n;
        }
        Ok(())
    }
}

impl Memory for SparseMemory {
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), BusFault> {
        let (pages, faults) = (&self.pages, &self.faults);
        SparseMemory::split(addr, buf.len(), |page, off, at, n| {
            if let Some(e) = faults.get(&page).and_then(|f| f.read) {
                return Err(e);
            }
            match pages.get(&page) {
                Some(p) => buf[at..at + n].copy_from_slice(&p[off..off + n]),
                None => buf[at..at + n].fill(0),
            }
            Ok(())
        })
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), BusFault> {
        let (pages, faults) = (&mut self.pages, &self.faults);
        SparseMemory::split(addr, data.len(), |page, off, at, n| {
            if let Some(e) = faults.get(&page).and_then(|f| f.write) {
                return Err(e);
            }
            let p = pages
                .entry(page)
                .or_insert_with(|| vec![0u8; PAGE as usize].into_boxed_slice());
            p[off..off + n].copy_from_slice(&data[at..at + n]);
            Ok(())
        })
    }

    fn peek(&self, addr: u32, buf: &mut [u8]) {
        let pages = &self.pages;
        let _ = SparseMemory::split(addr, buf.len(), |page, off, at, n| {
            match pages.get(&page) {
                Some(p) => buf[at..at + n].copy_from_slice(&p[off..off + n]),
                None => buf[at..at + n].fill(0),
            }
            Ok(())
        });
    }

    fn poke(&mut self, addr: u32, data: &[u8]) {
        let faults = std::mem::take(&mut self.faults);
        let _ = self.write(addr, data);
        self.faults = faults;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_across_pages_and_faults_by_page() {
        let mut m = SparseMemory::new();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        m.write(4090, &data).unwrap();
        let mut back = vec![0; 10_000];
        m.read(4090, &mut back).unwrap();
        assert_eq!(back, data);
        let mut z = [9u8; 4];
        m.read(0x8000_0000, &mut z).unwrap();
        assert_eq!(z, [0; 4]);
        m.set_fault(
            8192,
            PageFault {
                read: Some(BusFault::DecErr),
                write: None,
            },
        );
        assert_eq!(m.read(8190, &mut z), Err(BusFault::DecErr));
        assert_eq!(m.read(8188, &mut z), Ok(()));
        assert_eq!(m.write(8190, &z), Ok(()));
        m.write(u32::MAX - 3, &[1, 2, 3, 4]).unwrap();
        let mut other = m.clone();
        assert!(m.same_contents(&other));
        other.write(5, &[0]).unwrap();
        assert!(m.same_contents(&other), "a written zero is still zero");
        other.write(5, &[1]).unwrap();
        assert!(!m.same_contents(&other));
    }
}
