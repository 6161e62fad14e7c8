//! Engine scenarios beyond `gemm` on the Verilator engine, each run in lockstep with the golden
//! engine ([`GoldenEngine`]) and returning a description of the first difference: the error
//! paths and CLEAR_ERROR, STATUS and the identity and counter registers ([`error_paths`]), and
//! a product over the memory path: DMA loads, ACTIVATE's write-back and DMA stores
//! ([`memory_gemm`], `dma = true` engines). The mutation campaign (`crate::mutate`) runs them
//! on every engine mutant; the erroring sequences ([`bad_programs`]) are `tests/engine_rtl.rs`'s
//! too. The random memory-path programs are [`super::dma_random`]'s.

use crate::config::Config;
use crate::cosim::axi4::SlaveConfig;
use crate::cosim::engine::RtlEngine;
use crate::engine::gemm::{gemm, GemmOptions, Matrix};
use crate::engine::golden::GoldenEngine;
use crate::engine::mem_gemm::{self, OutDtype, WriteBack};
use crate::engine::memory::SparseMemory;
use crate::engine::{BackendError, Counters, Engine};
use crate::isa::{Act, Dma, ErrorCode, Instr};
use crate::program::SplitMix64;
use crate::regs::{self, RESP_SLVERR};

/// A random matrix of `cfg`'s format: extremes and zeros often, else uniform.
pub fn random_matrix(cfg: &Config, rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
    Matrix::from_fn(rows, cols, |_, _| match rng.below(6) {
        0 => lo,
        1 => hi,
        2 => 0,
        _ => rng.range_i64(lo, hi),
    })
}

/// MACs and instructions retired must have risen alike; the RTL's busy cycles must have risen
/// when anything retired.
fn compare_counters(what: &str, golden: &Counters, rtl: &Counters) -> Result<(), String> {
    let rows = [
        ("MACS", golden.macs, rtl.macs),
        ("RETIRED", golden.retired, rtl.retired),
        ("DMA_READ_BYTES", golden.dma_read_bytes, rtl.dma_read_bytes),
        (
            "DMA_WRITE_BYTES",
            golden.dma_write_bytes,
            rtl.dma_write_bytes,
        ),
    ];
    if let Some((name, g, r)) = rows.iter().find(|(_, g, r)| g != r) {
        return Err(format!("{what}: {name} rose by {r}, golden {g}"));
    }
    if rtl.retired > 0 && rtl.busy_cycles == 0 {
        return Err(format!(
            "{what}: BUSY_CYCLES did not rise over {} instructions",
            rtl.retired
        ));
    }
    Ok(())
}

fn first_difference(what: &str, got: &Matrix, want: &Matrix) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    if (got.rows, got.cols) != (want.rows, want.cols) {
        return Err(format!(
            "{what}: C is {}x{}, expected {}x{}",
            got.rows, got.cols, want.rows, want.cols
        ));
    }
    let k = (0..want.data.len())
        .find(|&k| got.data[k] != want.data[k])
        .expect("a differing element");
    Err(format!(
        "{what}: C[{}][{}] = {}, expected {}",
        k / want.cols,
        k % want.cols,
        got.data[k],
        want.data[k]
    ))
}

/// A small product on both engines (in their present state): the same C and counter rises.
fn gemm_both(
    rtl: &mut RtlEngine,
    golden: &mut GoldenEngine,
    rng: &mut SplitMix64,
    what: &str,
) -> Result<(), String> {
    let cfg = golden.config().clone();
    let (m, k, n) = (
        1 + rng.below(6) as usize,
        1 + rng.below(6) as usize,
        1 + rng.below(6) as usize,
    );
    let a = random_matrix(&cfg, m, k, rng);
    let b = random_matrix(&cfg, k, n, rng);
    let opts = GemmOptions::default();
    let want = gemm(golden, &a, &b, &opts)
        .map_err(|e| format!("{what}: the golden engine fails {m}x{k}x{n}: {e}"))?;
    let got = gemm(rtl, &a, &b, &opts).map_err(|e| format!("{what}: {m}x{k}x{n}: {e}"))?;
    first_difference(&format!("{what} {m}x{k}x{n}"), &got.c, &want.c)?;
    compare_counters(what, &want.counters, &got.counters)
}

/// Both engines after the same pushes: the same error code and busy flag; STATUS.ERROR set
/// with a code; then CLEAR_ERROR on both, the RTL idle with no error and an empty queue, and a
/// product matching the golden engine's.
fn stopped_alike(
    rtl: &mut RtlEngine,
    golden: &mut GoldenEngine,
    rng: &mut SplitMix64,
    what: &str,
) -> Result<(), String> {
    let be = |e: BackendError| format!("{what}: {e}");
    let want = golden.wait_idle().map_err(be)?;
    let got = rtl.wait_idle().map_err(be)?;
    if got.error != want.error || got.busy != want.busy {
        return Err(format!(
            "{what}: STATUS error {:?} busy {}, golden {:?} busy {}",
            got.error, got.busy, want.error, want.busy
        ));
    }
    let w = rtl.status_word().map_err(be)?;
    let flag = regs::reg("STATUS").field("ERROR").get(w);
    if flag != u32::from(want.error != ErrorCode::None) {
        return Err(format!("{what}: STATUS.ERROR = {flag} ({w:#x})"));
    }
    clear_both(rtl, golden, what)?;
    gemm_both(
        rtl,
        golden,
        rng,
        &format!("{what}: product after CLEAR_ERROR"),
    )
}

fn clear_both(rtl: &mut RtlEngine, golden: &mut GoldenEngine, what: &str) -> Result<(), String> {
    let be = |e: BackendError| format!("{what}: {e}");
    golden.clear_error().map_err(be)?;
    rtl.clear_error().map_err(be)?;
    let st = rtl.wait_idle().map_err(be)?;
    if st.error != ErrorCode::None || st.busy || st.queue_free != regs::queue_depth(rtl.config()) {
        return Err(format!(
            "{what}: after CLEAR_ERROR error {:?}, busy {}, {} queue slots free",
            st.error, st.busy, st.queue_free
        ));
    }
    // CLEAR_ERROR keeps a stationary already streamed into the shadow: swap it in (on both),
    // as long as the golden engine takes a swap, so the next product starts with none loaded.
    let (r, last) = (golden.config().rows, golden.config().psum_banks - 1);
    for _ in 0..2 {
        let swap = mm(0, r, 1, last, 0, true);
        let mut probe = golden.clone();
        let takes =
            probe.push(swap).is_ok() && probe.wait_idle().is_ok_and(|s| s.error == ErrorCode::None);
        if !takes {
            break;
        }
        golden.push(swap).map_err(be)?;
        golden.wait_idle().map_err(be)?;
        rtl.push(swap).map_err(be)?;
        let st = rtl.wait_idle().map_err(be)?;
        if st.error != ErrorCode::None {
            return Err(format!(
                "{what}: a swap of the stationary kept by CLEAR_ERROR stops with {:?}",
                st.error
            ));
        }
    }
    Ok(())
}

fn ls(addr: u32, k: u32, m: u32) -> Instr {
    Instr::LoadStationary { addr, k, m }
}

fn mm(addr: u32, k: u32, n: u32, bank: u32, offset: u32, swap: bool) -> Instr {
    Instr::MultiplyMoving {
        addr,
        k,
        n,
        bank,
        offset,
        acc: false,
        swap,
    }
}

/// An instruction sequence that ends in an error: valid instructions, then raw words of which
/// the last instruction fails with `code` at dispatch.
#[derive(Debug, Clone)]
pub struct BadProgram {
    pub what: &'static str,
    /// Valid instructions pushed first (LOAD_STATIONARY and MULTIPLY_MOVING only).
    pub prefix: Vec<Instr>,
    pub words: Vec<u64>,
    pub code: ErrorCode,
}

/// The instruction sequences that end in an error, with the error each must stop the engine
/// with (`docs/isa.md`); with `dma`, five more of the memory path. Used by [`error_paths`]
/// (against the golden engine too) and `tests/engine_rtl.rs` (against its own reference).
/// Each expects an engine with no load waiting for its swap.
pub fn bad_programs(cfg: &Config) -> Vec<BadProgram> {
    use ErrorCode::*;
    let (r, c, d, banks, sd) = (
        cfg.rows,
        cfg.cols,
        cfg.psum_depth,
        cfg.psum_banks,
        cfg.sbuf_depth,
    );
    let w = |i: Instr| i.encode()[0];
    let bad = |what, prefix, words, code| BadProgram {
        what,
        prefix,
        words,
        code,
    };
    let mut v = vec![
        bad(
            "MM swap, none loaded",
            vec![],
            vec![w(mm(0, r, 1, 0, 0, true))],
            SwapWithoutLoad,
        ),
        bad("opcode 0", vec![], vec![0], IllegalOpcode),
        bad(
            "opcode 15",
            vec![],
            vec![0xF | w(mm(0, r, 1, 0, 0, false)) & !0xF],
            IllegalOpcode,
        ),
        bad(
            "FENCE with a field set",
            vec![],
            vec![w(Instr::Fence) | 1 << 4],
            UnusedBitsSet,
        ),
        bad(
            "LS with bit 40",
            vec![],
            vec![w(ls(0, r, c)) | 1 << 40],
            UnusedBitsSet,
        ),
        bad(
            "MM with bit 63",
            vec![ls(0, r, c)],
            vec![w(mm(0, r, 1, 0, 0, true)) | 1 << 63],
            UnusedBitsSet,
        ),
        bad("LS k = 0", vec![], vec![w(ls(0, 0, c))], KRange),
        bad("LS k = rows + 1", vec![], vec![w(ls(0, r + 1, c))], KRange),
        bad(
            "MM k = 0",
            vec![ls(0, r, c)],
            vec![w(mm(0, 0, 1, 0, 0, true))],
            KRange,
        ),
        bad(
            "MM k = rows + 1",
            vec![ls(0, r, c)],
            vec![w(mm(0, r + 1, 1, 0, 0, true))],
            KRange,
        ),
        bad("LS m = 0", vec![], vec![w(ls(0, r, 0))], MRange),
        bad("LS m = cols + 1", vec![], vec![w(ls(0, r, c + 1))], MRange),
        bad(
            "MM n = 0",
            vec![ls(0, r, c)],
            vec![w(mm(0, r, 0, 0, 0, true))],
            NRange,
        ),
        bad(
            "MM n = psum_depth + 1",
            vec![ls(0, r, c)],
            vec![w(mm(0, r, d + 1, 0, 0, true))],
            NRange,
        ),
        bad(
            "LS past the SBUF",
            vec![],
            vec![w(ls(sd - 1, 2, c))],
            SbufRange,
        ),
        bad(
            "MM past the SBUF",
            vec![ls(0, r, c)],
            vec![w(mm(sd - 2, r, 3, 0, 0, true))],
            SbufRange,
        ),
        bad(
            "MM bank = psum_banks",
            vec![ls(0, r, c)],
            vec![w(mm(0, r, 1, banks, 0, true))],
            BankRange,
        ),
        bad(
            "MM past the PSUM",
            vec![ls(0, r, c)],
            vec![w(mm(0, r, 2, 0, d - 1, true))],
            PsumRange,
        ),
        bad(
            "MM swap after the load was used",
            vec![ls(0, r, c), mm(0, r, 1, 1, 0, true)],
            vec![w(mm(0, r, 1, 0, 0, true))],
            SwapWithoutLoad,
        ),
        bad(
            "third load pending",
            vec![ls(0, r, c), ls(1, r, c)],
            vec![w(ls(2, r, c))],
            SwapWithoutLoad,
        ),
    ];
    if cfg.dma {
        let dma = Dma {
            target: 0,
            layout: 0,
            esize: crate::engine::checks::eb(cfg).trailing_zeros(),
            rows: 1,
            row_len: 1,
            part: 0,
            bank: 0,
            base: 0x1000,
            stride: 0,
            entry: 0,
            offset: 0,
        };
        let words = |i: Instr| i.encode().to_vec();
        v.push(bad(
            "DMA_LOAD rows = 0",
            vec![],
            words(Instr::DmaLoad(Dma { rows: 0, ..dma })),
            DmaRange,
        ));
        v.push(bad(
            "DMA_LOAD past the SBUF",
            vec![],
            words(Instr::DmaLoad(Dma { entry: sd, ..dma })),
            DmaRange,
        ));
        let psum = Dma {
            target: 1,
            esize: 2,
            base: 0x1002,
            row_len: 1,
            ..dma
        };
        v.push(bad(
            "DMA_STORE of PSUM misaligned",
            vec![],
            words(Instr::DmaStore(psum)),
            DmaAlign,
        ));
        v.push(bad(
            "ACTIVATE n = 0",
            vec![],
            words(Instr::Activate(Act {
                n: 0,
                m: 1,
                ..Act::default()
            })),
            ActRange,
        ));
        v.push(bad(
            "WAIT on engine 3",
            vec![],
            words(Instr::Wait {
                engine: 3,
                sem: 0,
                value: 1,
            }),
            IllegalOpcode,
        ));
    }
    v
}

/// The error paths, CLEAR_ERROR, STATUS and the registers, in lockstep with the golden engine
/// (`rtl` freshly reset): identity registers; a product and the counters; every program of
/// [`bad_programs`] (the same error code, STATUS.ERROR, CLEAR_ERROR empties the queue, a
/// product after it); a load waiting for a swap (STATUS.STALLED and PENDING_LOADS); bus
/// accesses that must answer SLVERR and stop the engine with BUS_ADDRESS; PSUM_SELECT out of
/// range (PSUM_RANGE); CLEAR_COUNTERS.
pub fn error_paths(rtl: &mut RtlEngine, cfg: &Config, seed: u64) -> Result<(), String> {
    let mut rng = SplitMix64::new(seed);
    let mut golden = GoldenEngine::new(cfg);
    rtl.check_identity().map_err(|e| format!("identity: {e}"))?;
    gemm_both(rtl, &mut golden, &mut rng, "first product")?;
    for BadProgram {
        what,
        prefix,
        words: bad,
        code,
    } in bad_programs(cfg)
    {
        for i in prefix {
            golden
                .push(i)
                .map_err(|e| format!("{what}: golden push: {e}"))?;
            rtl.push(i).map_err(|e| format!("{what}: push {i}: {e}"))?;
        }
        for word in bad {
            golden
                .push_word(word)
                .map_err(|e| format!("{what}: golden push: {e}"))?;
            rtl.push_word(word)
                .map_err(|e| format!("{what}: push {word:#018x}: {e}"))?;
        }
        let golden_error = golden.wait_idle().map(|s| s.error);
        assert!(
            golden_error.as_ref().is_ok_and(|e| *e == code),
            "{what}: the golden engine stops with {golden_error:?}, the list says {code:?}"
        );
        stopped_alike(rtl, &mut golden, &mut rng, what)?;
    }

    // A load that waits for a swap nobody pushed: BUSY, STALLED, PENDING_LOADS = 2.
    let (r, c) = (cfg.rows, cfg.cols);
    for i in [ls(0, r, c), ls(4, r, c)] {
        golden
            .push(i)
            .map_err(|e| format!("stall: golden push: {e}"))?;
        rtl.push(i).map_err(|e| format!("stall: push: {e}"))?;
    }
    let st = rtl.wait_idle().map_err(|e| format!("stall: {e}"))?;
    let sw = rtl.status_word().map_err(|e| format!("stall: {e}"))?;
    let status = regs::reg("STATUS");
    if !st.busy
        || status.field("STALLED").get(sw) != 1
        || status.field("PENDING_LOADS").get(sw) != 2
    {
        return Err(format!(
            "two loads waiting for a swap: STATUS {sw:#x} (expected BUSY, STALLED, PENDING_LOADS 2)"
        ));
    }
    clear_both(rtl, &mut golden, "stall")?;
    gemm_both(rtl, &mut golden, &mut rng, "after a stall")?;

    // Bus accesses that answer SLVERR, read data 0, and stop the engine with BUS_ADDRESS.
    let lo = regs::reg("INSTR_LO").offset;
    let accesses: [(&str, bool, u32); 7] = [
        ("read of an unmapped address", false, 0x2000),
        ("misaligned read", false, regs::reg("STATUS").offset + 2),
        ("read of INSTR_LO", false, lo),
        ("write of STATUS", true, regs::reg("STATUS").offset),
        ("write of ID", true, regs::reg("ID").offset),
        ("write of an unmapped address", true, 0x038),
        // The SBUF window's address with bit 31 set as well (0xC000_0000: unmapped).
        (
            "write above the SBUF window",
            true,
            regs::SBUF_BASE | 0x8000_0000,
        ),
    ];
    for (what, write, addr) in accesses {
        let (resp, data) = if write {
            let resp = rtl
                .bus_mut()
                .write_reg(addr, 0xFFFF_FFFF)
                .map_err(|e| format!("{what}: {e}"))?;
            (resp, 0)
        } else {
            let (d, resp) = rtl
                .bus_mut()
                .read_reg(addr)
                .map_err(|e| format!("{what}: {e}"))?;
            (resp, d)
        };
        if resp != RESP_SLVERR || data != 0 {
            return Err(format!(
                "{what}: response {resp}, data {data:#x} (expected SLVERR, 0)"
            ));
        }
        let st = rtl.wait_idle().map_err(|e| format!("{what}: {e}"))?;
        if st.error != ErrorCode::BusAddress {
            return Err(format!("{what}: error {:?}, expected BusAddress", st.error));
        }
        clear_both(rtl, &mut golden, what)?;
        gemm_both(
            rtl,
            &mut golden,
            &mut rng,
            &format!("{what}: product after"),
        )?;
    }
    match rtl.read_psum(cfg.psum_banks, 0) {
        Err(BackendError::Stopped {
            code: ErrorCode::PsumRange,
            ..
        }) => {}
        other => return Err(format!("PSUM_SELECT bank out of range: {other:?}")),
    }
    clear_both(rtl, &mut golden, "PSUM_SELECT")?;
    gemm_both(rtl, &mut golden, &mut rng, "after PSUM_SELECT")?;

    // CLEAR_COUNTERS zeroes every counter.
    rtl.clear_counters()
        .map_err(|e| format!("CLEAR_COUNTERS: {e}"))?;
    let z = rtl.counters().map_err(|e| format!("counters: {e}"))?;
    if z != Counters::default() {
        return Err(format!("after CLEAR_COUNTERS: {z:?}"));
    }
    gemm_both(rtl, &mut golden, &mut rng, "after CLEAR_COUNTERS")
}

/// A product over the memory path on the RTL engine with the AXI4 slave model (random
/// latencies from `seed` when `latency`), against the golden engine: C, the counters, and no
/// AXI4 violation. Even `seed`s write back int8/uint8 with per-column scales, biases and ReLU,
/// odd ones the raw int32 accumulators.
pub fn memory_gemm(
    rtl: &mut RtlEngine,
    cfg: &Config,
    seed: u64,
    size: u32,
    latency: bool,
) -> Result<(), String> {
    let mut rng = SplitMix64::new(seed);
    let size = u64::from(size);
    let (m, k, n) = (
        1 + rng.below(size) as usize,
        1 + rng.below(size) as usize,
        1 + rng.below(size) as usize,
    );
    let a = random_matrix(cfg, m, k, &mut rng);
    let b = random_matrix(cfg, k, n, &mut rng);
    let wb = if seed.is_multiple_of(2) {
        WriteBack {
            out: if cfg.format.is_signed() {
                OutDtype::Int8
            } else {
                OutDtype::Uint8
            },
            scale: (0..n).map(|_| 1.0 / (1 + rng.below(300)) as f32).collect(),
            bias: Some((0..n).map(|_| rng.range_i64(-2000, 2000) as i32).collect()),
            relu: rng.below(2) == 0,
            zero_point: 0,
        }
    } else {
        WriteBack::raw()
    };
    let what = format!("{m}x{k}x{n} {:?}", wb.out);
    let mut golden = GoldenEngine::new(cfg);
    let want = mem_gemm::run(&mut golden, &a, &b, &wb)
        .map_err(|e| format!("{what}: the golden engine fails: {e}"))?;
    rtl.reset();
    let mut slave = SlaveConfig::new(cfg.dma_bits);
    if latency {
        slave.read_latency = 1 + rng.below(24) as u32;
        slave.write_latency = 1 + rng.below(24) as u32;
    }
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .map_err(|e| format!("{what}: memory: {e}"))?;
    rtl.bus_mut().set_cycle_limit(200_000);
    let got = mem_gemm::run(rtl, &a, &b, &wb).map_err(|e| format!("{what}: {e}"))?;
    if let Some(v) = rtl.bus().violation() {
        return Err(format!("{what}: AXI4 violation on the master port: {v}"));
    }
    first_difference(&what, &got.c, &want.c)?;
    compare_counters(&what, &want.counters, &got.counters)?;
    // The semaphores the program signalled (SEM0..SEM7).
    let sems = rtl
        .semaphores()
        .map_err(|e| format!("{what}: semaphores: {e}"))?;
    let gold = golden
        .semaphores()
        .map_err(|e| format!("{what}: golden semaphores: {e}"))?;
    if sems != gold {
        return Err(format!("{what}: semaphores {sems:?}, golden {gold:?}"));
    }
    Ok(())
}
