//! The memory path on the golden back end (`docs/memory-path.md`): every new instruction
//! against a reference written here (triple loops over the 2-D patterns; the write-back against
//! ONNX Runtime's vectors), a DMA + matmul + ACTIVATE chain against NumPy, every error path
//! followed by a clean recovery, the program checker on planted races and deadlocks and on
//! correct double-buffered programs, and random valid programs giving the same state in every
//! legal order.

mod common;

use std::collections::HashMap;

use proptest::prelude::*;

use systolic::config::{Config, RawConfig};
use systolic::engine::asm::{self, AsmError, Builder};
use systolic::engine::golden::{GoldenEngine, Schedule};
use systolic::engine::memory::{BusFault, PageFault};
use systolic::engine::{BackendError, Engine};
use systolic::isa::{Act, ActDtype, ActFunc, Dma, EngineId, ErrorCode, Instr};
use systolic::program::SplitMix64;

use EngineId::{Act as ACT, Dma as DMA, Pe as PE};

fn cfg(rows: u32, cols: u32, format: &str) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("mem-{rows}x{cols}-{format}"),
        rows,
        cols,
        format: format.into(),
        psum_banks: 2,
        psum_depth: 16,
        sbuf_depth: 64,
        dma: true,
        ..RawConfig::default()
    })
    .expect("config")
}

fn int8() -> Config {
    cfg(4, 6, "int8")
}

/// Bytes of one SBUF element.
fn eb(c: &Config) -> u32 {
    if c.format.bits() > 8 {
        2
    } else {
        1
    }
}

#[allow(clippy::too_many_arguments)]
fn dma(
    target: u32,
    layout: u32,
    esize: u32,
    rows: u32,
    row_len: u32,
    part: u32,
    base: u32,
    stride: u32,
    entry: u32,
) -> Dma {
    Dma {
        target,
        layout,
        esize,
        rows,
        row_len,
        part,
        bank: 0,
        base,
        stride,
        entry,
        offset: 0,
    }
}

fn psum_store(
    bank: u32,
    offset: u32,
    rows: u32,
    part: u32,
    len: u32,
    base: u32,
    stride: u32,
) -> Dma {
    Dma {
        target: 1,
        esize: 2,
        rows,
        row_len: len,
        part,
        bank,
        base,
        stride,
        offset,
        ..Dma::default()
    }
}

fn table_load(entry: u32, words: u32, base: u32) -> Dma {
    dma(2, 0, 2, 1, words, 0, base, 0, entry)
}

fn random_bytes(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// The SBUF value of the element whose bytes are `b` (little-endian), decoded here.
fn element(c: &Config, b: &[u8]) -> i64 {
    match (c.format.bits(), c.format.is_signed()) {
        (8, true) => i64::from(b[0] as i8),
        (8, false) => i64::from(b[0]),
        _ => i64::from(u16::from_le_bytes([b[0], b[1]])),
    }
}

fn element_bytes(c: &Config, v: i64) -> Vec<u8> {
    if eb(c) == 1 {
        vec![v as u8]
    } else {
        (v as u16).to_le_bytes().to_vec()
    }
}

fn ok(e: &mut GoldenEngine) {
    let s = e.wait_idle().expect("run");
    assert_eq!(s.error, ErrorCode::None);
    assert!(!s.busy, "idle");
}

fn sbuf_copy(e: &GoldenEngine) -> Vec<Vec<i64>> {
    e.sbuf_contents().to_vec()
}

// ---- DMA ----

#[test]
fn dma_load_moves_both_layouts_as_the_triple_loop_says() {
    for c in [
        int8(),
        cfg(3, 5, "uint8"),
        cfg(4, 4, "bf16"),
        cfg(2, 5, "fp8e4m3"),
    ] {
        let mut rng = SplitMix64::new(7);
        let mut e = GoldenEngine::new(&c);
        let mem = random_bytes(&mut rng, 8192);
        e.write_memory(0x1_0000, &mem).unwrap();
        let parts = c.rows.max(c.cols);
        let es = eb(&c);
        let shapes = [
            // (layout, rows, row_len, part, entry, stride in elements)
            (0, 5, parts, 0, 0, parts),  // contiguous rows
            (0, 3, 2, parts - 2, 60, 7), // strided, last partitions, last entries
            (1, parts, 9, 0, 10, 9),     // partition rows, contiguous
            (1, 2, 64, 1, 0, 100),       // whole partitions
            (1, 1, 1, parts - 1, 63, 0), // one element
            (0, 4, 1, 2, 30, 0),         // stride 0: the same element four times
        ];
        for (t, &(layout, rows, len, part, entry, stride)) in shapes.iter().enumerate() {
            let base = 0x1_0000 + 3 * es * t as u32;
            let before = sbuf_copy(&e);
            let d = dma(
                0,
                layout,
                es.trailing_zeros(),
                rows,
                len,
                part,
                base,
                stride * es,
                entry,
            );
            e.push(Instr::DmaLoad(d)).unwrap();
            ok(&mut e);
            let mut want = before;
            for r in 0..rows {
                for j in 0..len {
                    let a = (base + r * stride * es + j * es - 0x1_0000) as usize;
                    let v = element(&c, &mem[a..a + es as usize]);
                    let (p, en) = if layout == 0 {
                        (part + j, entry + r)
                    } else {
                        (part + r, entry + j)
                    };
                    want[p as usize][en as usize] = v;
                }
            }
            assert_eq!(sbuf_copy(&e), want, "{} shape {t}", c.name);
        }
        let n: u64 = shapes.iter().map(|s| u64::from(s.1 * s.2 * es)).sum();
        assert_eq!(e.counters().unwrap().dma_read_bytes, n);
    }
}

#[test]
fn dma_store_writes_exactly_the_elements_both_layouts_and_psum() {
    for c in [int8(), cfg(4, 4, "bf16")] {
        let mut rng = SplitMix64::new(11);
        let mut e = GoldenEngine::new(&c);
        let parts = c.rows.max(c.cols);
        for p in 0..parts {
            let v: Vec<i64> = (0..64)
                .map(|_| rng.range_i64(c.format.min_value(), c.format.max_value()))
                .collect();
            e.write_sbuf(p, 0, &v).unwrap();
        }
        let fill = random_bytes(&mut rng, 4096);
        e.write_memory(0x2000, &fill).unwrap();
        let mut want: Vec<u8> = fill.clone();
        let es = eb(&c);
        let at = |a: u32| (a - 0x2000) as usize;
        // Entry rows, strided, base not bus-aligned (odd for 8-bit elements).
        let (base, stride) = (0x2000 + 3 * es, 11 * es);
        e.push(Instr::DmaStore(dma(
            0,
            0,
            es.trailing_zeros(),
            4,
            3,
            1,
            base,
            stride,
            5,
        )))
        .unwrap();
        for r in 0..4 {
            for j in 0..3 {
                let a = at(base + r * stride + j * es);
                let v = e.sbuf(1 + j, 5 + r);
                want[a..a + es as usize].copy_from_slice(&element_bytes(&c, v));
            }
        }
        // Partition rows.
        let (base, stride) = (0x2400 + es, 40 * es);
        e.push(Instr::DmaStore(dma(
            0,
            1,
            es.trailing_zeros(),
            2,
            17,
            2,
            base,
            stride,
            40,
        )))
        .unwrap();
        for r in 0..2 {
            for j in 0..17 {
                let a = at(base + r * stride + j * es);
                let v = e.sbuf(2 + r, 40 + j);
                want[a..a + es as usize].copy_from_slice(&element_bytes(&c, v));
            }
        }
        // PSUM: 32-bit accumulators.
        for entry in 0..6 {
            for col in 0..c.cols {
                e.core_mut()
                    .poke_psum(1, entry, col, rng.next_u64() & 0xFFFF_FFFF);
            }
        }
        let (base, stride) = (0x2800, 24);
        e.push(Instr::DmaStore(psum_store(1, 2, 4, 1, 3, base, stride)))
            .unwrap();
        for r in 0..4 {
            for j in 0..3 {
                let a = at(base + r * stride + j * 4);
                let v = e.core().psum(1, 2 + r)[(1 + j) as usize].unwrap() as u32;
                want[a..a + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        ok(&mut e);
        assert_eq!(e.read_memory(0x2000, 4096).unwrap(), want, "{}", c.name);
        assert_eq!(
            e.counters().unwrap().dma_write_bytes,
            u64::from(12 * es + 34 * es + 48)
        );
    }
}

#[test]
fn table_load_fills_words_in_row_order() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    let words: Vec<u8> = (0..64u32)
        .flat_map(|w| (w * 0x0101_0101).to_le_bytes())
        .collect();
    e.write_memory(0x100, &words).unwrap();
    // 2 rows of 3 words, stride 20 bytes, into table words 4..10.
    e.push(Instr::DmaLoad(dma(2, 0, 2, 2, 3, 0, 0x100, 20, 4)))
        .unwrap();
    ok(&mut e);
    let mut want = [0u32; 12];
    for r in 0..2 {
        for j in 0..3 {
            want[(4 + r * 3 + j) as usize] = (5 * r + j) * 0x0101_0101;
        }
    }
    assert_eq!(e.table(), &want[..]);
}

// ---- ACTIVATE ----

fn act(bank: u32, offset: u32, n: u32, m: u32, dtype: ActDtype, entry: u32) -> Act {
    Act {
        bank,
        offset,
        n,
        m,
        dtype: dtype as u32,
        entry,
        ..Act::default()
    }
}

fn set_table(e: &mut GoldenEngine, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    e.write_memory(0xF000, &bytes).unwrap();
    e.push(Instr::DmaLoad(table_load(0, words.len() as u32, 0xF000)))
        .unwrap();
}

#[test]
fn activate_maps_psum_columns_to_partitions_and_raw32_to_entries() {
    for (c, dtype) in [
        (int8(), ActDtype::Int8),
        (cfg(2, 3, "uint8"), ActDtype::Uint8),
        (cfg(3, 3, "bf16"), ActDtype::Bf16),
    ] {
        let mut e = GoldenEngine::new(&c);
        let one = 1f32.to_bits();
        let mut t = vec![one; c.cols as usize];
        t.extend(vec![0; c.cols as usize]);
        set_table(&mut e, &t);
        let mut rng = SplitMix64::new(3);
        let mut x = HashMap::new();
        for entry in 0..16 {
            for col in 0..c.cols {
                let v = if c.format.is_float() {
                    // Small integers as fp32: exact in bf16.
                    f32::from_bits((rng.range_i64(-100, 100) as f32).to_bits()).to_bits()
                } else {
                    rng.range_i64(0, 100) as u32
                };
                e.core_mut().poke_psum(1, entry, col, u64::from(v));
                x.insert((entry, col), v);
            }
        }
        let (offset, n, m, entry) = (3, 5, c.cols - 1, 7);
        let before = sbuf_copy(&e);
        e.push(Instr::Activate(act(1, offset, n, m, dtype, entry)))
            .unwrap();
        ok(&mut e);
        let mut want = before;
        for nn in 0..n {
            for mm in 0..m {
                let v = x[&(offset + nn, mm)];
                want[mm as usize][(entry + nn) as usize] = if c.format.is_float() {
                    i64::from(v >> 16) // exact small integers: the upper half
                } else {
                    i64::from(v) // 0..100 at scale 1: itself (zero point 0)
                };
            }
        }
        assert_eq!(sbuf_copy(&e), want, "{}", c.name);
        // raw32: 4 / EB entries per accumulator, little-endian.
        let before = sbuf_copy(&e);
        e.push(Instr::Activate(act(1, 0, 4, c.cols, ActDtype::Raw32, 20)))
            .unwrap();
        ok(&mut e);
        let mut want = before;
        let per = 4 / eb(&c);
        for nn in 0..4 {
            for mm in 0..c.cols {
                let bytes = x[&(nn, mm)].to_le_bytes();
                for i in 0..per {
                    let s = (i * eb(&c)) as usize;
                    want[mm as usize][(20 + nn * per + i) as usize] =
                        element(&c, &bytes[s..s + eb(&c) as usize]);
                }
            }
        }
        assert_eq!(sbuf_copy(&e), want, "{} raw32", c.name);
    }
}

#[test]
fn activate_scale_zero_per_column_or_not_and_bias_per_column() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    let cols = c.cols as usize;
    let mut t: Vec<u32> = (0..cols)
        .map(|i| (0.5 * (i + 1) as f32).to_bits())
        .collect();
    t.extend((0..cols).map(|i| (10 * i) as u32));
    set_table(&mut e, &t);
    for col in 0..c.cols {
        e.core_mut().poke_psum(0, 0, col, 20);
    }
    let mut a = act(0, 0, 1, c.cols, ActDtype::Int8, 0);
    e.push(Instr::Activate(a)).unwrap();
    a.per_col = true;
    a.entry = 1;
    e.push(Instr::Activate(a)).unwrap();
    a.bias = true;
    a.entry = 2;
    e.push(Instr::Activate(a)).unwrap();
    ok(&mut e);
    for m in 0..cols {
        let s = 0.5 * (m + 1) as f64;
        assert_eq!(e.sbuf(m as u32, 0), 10, "scale[0] = 0.5 for every column");
        assert_eq!(
            e.sbuf(m as u32, 1),
            (20.0 * s).round_ties_even().min(127.0) as i64
        );
        let with_bias = (20.0 + 10.0 * m as f64) * s;
        assert_eq!(
            e.sbuf(m as u32, 2),
            with_bias.round_ties_even().min(127.0) as i64
        );
    }
}

/// The ORT vectors of one output dtype, through the engine: per group, `cols` vectors per
/// ACTIVATE (one PSUM entry, per-column scales and biases from a TABLE load).
fn activate_against_ort(c: &Config, dtype: ActDtype, vectors: &serde_json::Value) -> usize {
    let mut e = GoldenEngine::new(c);
    let cols = c.cols as usize;
    let mut n = 0;
    for g in vectors["groups"].as_array().unwrap() {
        if g["dtype"].as_str() != Some(dtype.name()) || (c.format.is_float() && g["acc"] != "fp32")
        {
            continue;
        }
        let get = |k: &str| -> Vec<i64> {
            g[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        };
        let (x, b, s, out) = (get("x"), get("b"), get("scale"), get("out"));
        let nan: Vec<bool> = g["nan"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        let func = match g["func"].as_str().unwrap() {
            "identity" => ActFunc::Identity,
            "relu" => ActFunc::Relu,
            _ => ActFunc::Clamp,
        };
        let byte = |k: &str| (g[k].as_i64().unwrap() as u32) & 0xFF;
        for chunk in (0..x.len()).collect::<Vec<_>>().chunks(cols) {
            let mut t = vec![0u32; 2 * cols];
            for (col, &i) in chunk.iter().enumerate() {
                t[col] = s[i] as u32;
                t[cols + col] = b[i] as u32;
                e.core_mut().poke_psum(0, 0, col as u32, x[i] as u32 as u64);
            }
            set_table(&mut e, &t);
            let mut a = act(0, 0, 1, chunk.len() as u32, dtype, 0);
            a.func = func as u32;
            a.per_col = true;
            a.bias = g["bias"].as_bool().unwrap();
            if !c.format.is_float() {
                a.zp = byte("zp");
                if func == ActFunc::Clamp {
                    a.lo = byte("lo");
                    a.hi = byte("hi");
                }
            }
            e.push(Instr::Activate(a)).unwrap();
            ok(&mut e);
            for (col, &i) in chunk.iter().enumerate() {
                let got = e.sbuf(col as u32, 0);
                if nan[i] {
                    let f = systolic::golden::requant::float_format(dtype).unwrap();
                    assert_eq!(
                        got,
                        i64::from(f.canonical_nan_bits()),
                        "vector {i} of {g:.80}"
                    );
                } else {
                    assert_eq!(
                        got, out[i],
                        "{dtype:?} vector {i}: x={} s={:#x} b={}",
                        x[i], s[i], b[i]
                    );
                }
                n += 1;
            }
        }
    }
    n
}

#[test]
fn activate_matches_onnx_runtime_on_every_dtype() {
    let Some(v) = common::ort_activate_vectors("activate_matches_onnx_runtime_on_every_dtype")
    else {
        return;
    };
    let cases = [
        (cfg(2, 8, "int8"), ActDtype::Int8),
        (cfg(2, 8, "uint8"), ActDtype::Uint8),
        (cfg(2, 8, "bf16"), ActDtype::Bf16),
        (cfg(2, 8, "fp8e4m3"), ActDtype::Fp8E4M3),
        (cfg(2, 8, "fp8e5m2"), ActDtype::Fp8E5M2),
    ];
    for (c, dtype) in cases {
        let n = activate_against_ort(&c, dtype, v);
        assert!(n >= 6000, "{dtype:?}: only {n} vectors");
    }
}

// ---- Semaphores, FIFOs, FENCE ----

fn wait(engine: EngineId, sem: u32, value: u32) -> Instr {
    Instr::Wait {
        engine: engine as u32,
        sem,
        value,
    }
}

fn signal(engine: EngineId, sem: u32) -> Instr {
    Instr::Signal {
        engine: engine as u32,
        sem,
    }
}

#[test]
fn wait_blocks_until_the_wrapping_compare_holds_and_fifos_hold_eight() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    // A value more than 2^15 ahead of the count reads as behind: it passes at once.
    e.push(wait(ACT, 0, 40000)).unwrap();
    e.push(wait(ACT, 0, 32769)).unwrap();
    assert_eq!(e.fifo_lengths(), [0, 0, 0]);
    // Exactly 2^15 ahead waits ((0 - 32768) mod 2^16 = 2^15 is not below 2^15), as does 1.
    e.push(wait(ACT, 0, 32768)).unwrap();
    assert_eq!(e.fifo_lengths(), [0, 0, 1], "blocked: count 0, value 32768");
    e.push(wait(ACT, 0, 1)).unwrap();
    for _ in 0..6 {
        e.push(Instr::Activate(act(0, 0, 1, 1, ActDtype::Raw32, 0)))
            .unwrap();
    }
    assert_eq!(e.fifo_lengths(), [0, 0, 8]);
    // The dispatcher waits at a ninth ACT instruction; a PE instruction behind it waits too.
    e.push(signal(ACT, 3)).unwrap();
    e.push(Instr::LoadStationary {
        addr: 0,
        k: 1,
        m: 1,
    })
    .unwrap();
    assert_eq!(e.fifo_lengths(), [0, 0, 8]);
    assert!(e.wait_idle().unwrap().busy);
    assert_eq!(e.semaphores().unwrap(), [0; 8]);
    // A DMA instruction cannot get past either; clear_error is the only way out, so instead
    // release the wait by signalling from a fresh engine state: the count is what it is.
    let mut e = GoldenEngine::new(&c);
    e.core_mut().poke_psum(0, 0, 0, 5);
    e.push(wait(ACT, 0, 1)).unwrap();
    e.push(Instr::Activate(act(0, 0, 1, 1, ActDtype::Raw32, 0)))
        .unwrap();
    e.push(signal(DMA, 0)).unwrap();
    ok(&mut e);
    assert_eq!(e.semaphores().unwrap()[0], 1);
    assert_eq!(e.sbuf(0, 0), 5);
    // 65536 signals wrap the count to 0; a WAIT for 65535 then is 1 behind: passes.
    for _ in 0..65535 {
        e.push(signal(DMA, 1)).unwrap();
    }
    assert_eq!(e.semaphores().unwrap()[1], 65535);
    e.push(signal(DMA, 1)).unwrap();
    assert_eq!(e.semaphores().unwrap()[1], 0);
    e.push(wait(PE, 1, 65535)).unwrap();
    ok(&mut e);
    e.push(wait(PE, 1, 1)).unwrap();
    assert_eq!(e.fifo_lengths(), [1, 0, 0]);
    e.clear_error().unwrap();
    assert_eq!(e.fifo_lengths(), [0, 0, 0], "clear_error drops the FIFOs");
    e.clear_semaphores().unwrap();
    assert_eq!(e.semaphores().unwrap(), [0; 8]);
}

#[test]
fn a_pe_signal_fires_only_when_its_loads_are_streamed() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    e.push(Instr::LoadStationary {
        addr: 0,
        k: 2,
        m: 2,
    })
    .unwrap();
    e.push(Instr::LoadStationary {
        addr: 8,
        k: 2,
        m: 2,
    })
    .unwrap(); // waits for a swap
    e.push(signal(PE, 2)).unwrap();
    assert_eq!(
        e.semaphores().unwrap()[2],
        0,
        "the second load is not streamed yet"
    );
    assert!(e.wait_idle().unwrap().busy);
    // FENCE is not held by the waiting load nor by its signal.
    e.push(Instr::Fence).unwrap();
    e.push(Instr::MultiplyMoving {
        addr: 0,
        k: 2,
        n: 1,
        bank: 0,
        offset: 0,
        acc: false,
        swap: true,
    })
    .unwrap();
    assert_eq!(e.semaphores().unwrap()[2], 1, "streamed at the swap: fired");
}

#[test]
fn fence_waits_for_every_engine() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    e.push(wait(DMA, 0, 1)).unwrap();
    e.push(Instr::Fence).unwrap();
    e.push(signal(ACT, 0)).unwrap();
    assert_eq!(
        e.fifo_lengths(),
        [0, 1, 0],
        "the SIGNAL behind the FENCE is not dispatched"
    );
    assert!(
        e.wait_idle().unwrap().busy,
        "deadlocked, as the checker would say"
    );
    let err = asm::check(&c, &[wait(DMA, 0, 1), Instr::Fence, signal(ACT, 0)], None).unwrap_err();
    assert!(matches!(err, AsmError::Deadlock { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the dispatcher waits at instruction 1 (FENCE)"),
        "{err}"
    );
}

// ---- Errors and recovery ----

/// A valid program after an error: DMA in, multiply, ACTIVATE, DMA out, with semaphores.
fn clean_run(e: &mut GoldenEngine) {
    let c = e.config().clone();
    e.clear_semaphores().unwrap();
    let a: Vec<u8> = (0..16u8).map(|i| i % 5).collect();
    e.write_memory(0x3000, &a).unwrap();
    let one = 1f32.to_bits().to_le_bytes();
    e.write_memory(0x3100, &one).unwrap();
    let mut b = Builder::new(&c);
    b.dma_load(dma(0, 0, 0, 4, 4, 0, 0x3000, 4, 0)); // A as entry rows: SBUF[j][r] = a[r][j]
    b.dma_load(table_load(0, 1, 0x3100));
    let s = b.signal(DMA, 0);
    b.wait(PE, 0, s);
    b.load_stationary(0, 4, 4);
    b.multiply(0, 4, 4, 0, 0, false, true);
    let s = b.signal(PE, 1);
    b.wait(ACT, 1, s);
    b.activate(act(0, 0, 4, 4, ActDtype::Int8, 32));
    let s = b.signal(ACT, 2);
    b.wait(DMA, 2, s);
    b.dma_store(dma(0, 0, 0, 4, 4, 0, 0x3200, 4, 32));
    let p = b.finish().expect("a valid program");
    for i in p.instrs {
        e.push(i).unwrap();
    }
    ok(e);
    // out[n][m] = sum_k A[m][k] * A[k][n]... with stationary[k][m] = SBUF[m][k] = a[k][m]
    // and moving[k][n] = SBUF[k][n] = a[n][k]: psum[n][m] = sum_k a[k][m] * a[n][k].
    let out = e.read_memory(0x3200, 16).unwrap();
    for n in 0..4 {
        for m in 0..4 {
            let want: i64 = (0..4).map(|k| i64::from(a[k * 4 + m] * a[n * 4 + k])).sum();
            assert_eq!(
                i64::from(out[n * 4 + m] as i8),
                want.min(127),
                "out[{n}][{m}]"
            );
        }
    }
}

fn dma_range_cases(c: &Config) -> Vec<(&'static str, Instr)> {
    let d = dma(0, 0, 0, 2, 2, 0, 0x100, 2, 0);
    let with = |f: &dyn Fn(&mut Dma)| {
        let mut x = d;
        f(&mut x);
        x
    };
    let parts = c.rows.max(c.cols);
    vec![
        ("target 3", Instr::DmaLoad(with(&|d| d.target = 3))),
        ("PSUM load", Instr::DmaLoad(with(&|d| d.target = 1))),
        ("TABLE store", Instr::DmaStore(with(&|d| d.target = 2))),
        ("esize 1 for int8", Instr::DmaLoad(with(&|d| d.esize = 1))),
        ("rows 0", Instr::DmaLoad(with(&|d| d.rows = 0))),
        ("row_len 0", Instr::DmaStore(with(&|d| d.row_len = 0))),
        ("SBUF with bank", Instr::DmaLoad(with(&|d| d.bank = 1))),
        ("SBUF with offset", Instr::DmaLoad(with(&|d| d.offset = 1))),
        ("partitions", Instr::DmaLoad(with(&|d| d.part = parts - 1))),
        ("entries", Instr::DmaLoad(with(&|d| d.entry = 63))),
        (
            "partition rows: partitions",
            Instr::DmaLoad(with(&|d| {
                d.layout = 1;
                d.rows = parts + 1
            })),
        ),
        (
            "partition rows: entries",
            Instr::DmaStore(with(&|d| {
                d.layout = 1;
                d.row_len = 65
            })),
        ),
        (
            "PSUM bank",
            Instr::DmaStore(psum_store(2, 0, 1, 0, 1, 0, 4)),
        ),
        (
            "PSUM entries",
            Instr::DmaStore(psum_store(0, 15, 2, 0, 1, 0, 4)),
        ),
        (
            "PSUM columns",
            Instr::DmaStore(psum_store(0, 0, 1, c.cols - 1, 2, 0, 4)),
        ),
        (
            "PSUM layout",
            Instr::DmaStore({
                let mut p = psum_store(0, 0, 1, 0, 1, 0, 4);
                p.layout = 1;
                p
            }),
        ),
        (
            "PSUM esize",
            Instr::DmaStore({
                let mut p = psum_store(0, 0, 1, 0, 1, 0, 4);
                p.esize = 0;
                p
            }),
        ),
        (
            "table words",
            Instr::DmaLoad(table_load(2 * c.cols - 1, 2, 0)),
        ),
        (
            "table part",
            Instr::DmaLoad({
                let mut t = table_load(0, 1, 0);
                t.part = 1;
                t
            }),
        ),
        (
            "memory beyond 2^32",
            Instr::DmaLoad(with(&|d| {
                d.base = 0xFFFF_FFFE;
                d.stride = 2
            })),
        ),
        (
            "memory span beyond 2^32",
            Instr::DmaLoad(with(&|d| {
                d.base = 0x8000_0000;
                d.stride = 0x8000_0000
            })),
        ),
    ]
}

/// A named instruction (or raw words) and the error it stops the engine with.
type ErrorCase = (&'static str, ErrorCode, Result<Instr, Vec<u64>>);

fn error_cases(c: &Config) -> Vec<ErrorCase> {
    let mut v: Vec<ErrorCase> = dma_range_cases(c)
        .into_iter()
        .map(|(n, i)| (n, ErrorCode::DmaRange, Ok(i)))
        .collect();
    let mut t = table_load(0, 1, 2);
    v.push((
        "table base unaligned",
        ErrorCode::DmaAlign,
        Ok(Instr::DmaLoad(t)),
    ));
    t.base = 0;
    t.stride = 6;
    v.push((
        "table stride unaligned",
        ErrorCode::DmaAlign,
        Ok(Instr::DmaLoad(t)),
    ));
    let bf = cfg(4, 4, "bf16");
    let _ = bf;
    let a = act(0, 0, 1, 1, ActDtype::Int8, 0);
    let with = |f: &dyn Fn(&mut Act)| {
        let mut x = a;
        f(&mut x);
        Instr::Activate(x)
    };
    for (name, i) in [
        (
            "dtype uint8 on int8",
            with(&|a| a.dtype = ActDtype::Uint8 as u32),
        ),
        (
            "dtype bf16 on int8",
            with(&|a| a.dtype = ActDtype::Bf16 as u32),
        ),
        ("dtype 6", with(&|a| a.dtype = 6)),
        ("func 3", with(&|a| a.func = 3)),
        (
            "raw32 with relu",
            with(&|a| {
                a.dtype = ActDtype::Raw32 as u32;
                a.func = 1
            }),
        ),
        (
            "raw32 with bias",
            with(&|a| {
                a.dtype = ActDtype::Raw32 as u32;
                a.bias = true
            }),
        ),
        ("lo without clamp", with(&|a| a.lo = 1)),
        ("n 0", with(&|a| a.n = 0)),
        ("m 0", with(&|a| a.m = 0)),
        ("m > cols", with(&|a| a.m = c.cols + 1)),
        ("bank", with(&|a| a.bank = 2)),
        (
            "offset + n",
            with(&|a| {
                a.offset = 10;
                a.n = 7
            }),
        ),
        ("entries", with(&|a| a.entry = 64)),
        (
            "raw32 entries",
            with(&|a| {
                a.dtype = ActDtype::Raw32 as u32;
                a.entry = 61
            }),
        ),
    ] {
        v.push((name, ErrorCode::ActRange, Ok(i)));
    }
    v.push((
        "WAIT engine 3",
        ErrorCode::IllegalOpcode,
        Ok(wait(PE, 0, 0)).map(|_| Instr::Wait {
            engine: 3,
            sem: 0,
            value: 0,
        }),
    ));
    v.push((
        "SIGNAL engine 3",
        ErrorCode::IllegalOpcode,
        Ok(Instr::Signal { engine: 3, sem: 1 }),
    ));
    let mut words = Instr::DmaLoad(dma(0, 0, 0, 1, 1, 0, 0, 0, 0))
        .encode()
        .to_vec();
    words[2] |= 1 << 40;
    v.push(("unused bit in word 2", ErrorCode::UnusedBitsSet, Err(words)));
    let mut words = Instr::Activate(a).encode().to_vec();
    words[1] |= 1 << 63;
    v.push(("unused bit in word 1", ErrorCode::UnusedBitsSet, Err(words)));
    v.push(("opcode 9", ErrorCode::IllegalOpcode, Err(vec![9])));
    v
}

#[test]
fn every_error_stops_the_engine_and_clear_error_recovers() {
    let c = int8();
    let mut seen = std::collections::HashSet::new();
    for (name, code, what) in error_cases(&c) {
        let mut e = GoldenEngine::new(&c);
        // Work dispatched before the error completes; work after it does not run.
        e.push(Instr::DmaLoad(table_load(5, 1, 0x40))).unwrap();
        match &what {
            Ok(i) => e.push(*i).unwrap(),
            Err(w) => e.push_words(w).unwrap(),
        }
        e.push(Instr::DmaLoad(table_load(6, 1, 0x40))).unwrap();
        let s = e.wait_idle().unwrap();
        assert_eq!(s.error, code, "{name}");
        assert_eq!(
            e.counters().unwrap().retired,
            1,
            "{name}: only the first load ran"
        );
        // The asm checker names the same error at the same instruction.
        if let Ok(i) = &what {
            let err = asm::check(&c, &[*i], None).unwrap_err();
            assert!(
                matches!(err, AsmError::Invalid { code: k, .. } if k == code),
                "{name}: {err}"
            );
        }
        e.clear_error().unwrap();
        clean_run(&mut e);
        seen.insert(code as u8);
    }
    assert!(
        [1, 2, 12, 13, 15].iter().all(|c| seen.contains(c)),
        "{seen:?}"
    );
}

#[test]
fn memory_path_opcodes_are_illegal_without_dma() {
    let mut raw = int8().to_raw();
    raw.dma = false;
    raw.dma_bits = None;
    raw.dma_reads = None;
    let plain = Config::from_raw(&raw).unwrap();
    for i in [
        Instr::DmaLoad(table_load(0, 1, 0)),
        Instr::Activate(act(0, 0, 1, 1, ActDtype::Raw32, 0)),
        wait(PE, 0, 0),
        signal(PE, 0),
    ] {
        let mut e = GoldenEngine::new(&plain);
        e.push(i).unwrap();
        assert_eq!(
            e.wait_idle().unwrap().error,
            ErrorCode::IllegalOpcode,
            "{i}"
        );
    }
}

#[test]
fn bus_errors_stop_the_dma_and_recover() {
    let c = int8();
    let fault = |read, write| PageFault { read, write };
    for (store, f) in [
        (false, BusFault::SlvErr),
        (false, BusFault::DecErr),
        (true, BusFault::SlvErr),
        (true, BusFault::DecErr),
    ] {
        let mut e = GoldenEngine::new(&c);
        let pf = if store {
            fault(None, Some(f))
        } else {
            fault(Some(f), None)
        };
        e.memory_mut().set_fault(0x5000, pf);
        // The transfer's second row is on the faulty page.
        let d = dma(0, 0, 0, 2, 4, 0, 0x4FFC, 4, 0);
        e.push(wait(ACT, 0, 1)).unwrap(); // ACT waits for a signal the DMA never sends
        e.push(if store {
            Instr::DmaStore(d)
        } else {
            Instr::DmaLoad(d)
        })
        .unwrap();
        e.push(Instr::DmaLoad(table_load(0, 1, 0))).unwrap(); // discarded with the DMA FIFO
        e.push(signal(DMA, 0)).unwrap();
        let s = e.wait_idle().unwrap();
        assert_eq!(s.error, ErrorCode::DmaBus, "store {store} {f:?}");
        assert!(s.busy, "ACT still waits");
        assert_eq!(e.fifo_lengths(), [0, 0, 1]);
        assert_eq!(e.semaphores().unwrap()[0], 0);
        let c0 = e.counters().unwrap();
        assert_eq!((c0.dma_read_bytes, c0.dma_write_bytes), (0, 0));
        e.clear_error().unwrap();
        assert!(!e.wait_idle().unwrap().busy);
        e.memory_mut().clear_faults();
        clean_run(&mut e);
    }
}

#[test]
fn instruction_fetch_runs_a_program_from_memory() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    // Semaphores are cleared by START: a leftover count must not satisfy the program's WAIT.
    e.push(signal(DMA, 0)).unwrap();
    ok(&mut e);
    let mut b = Builder::new(&c);
    b.fetched_from(0x8000);
    b.dma_load(table_load(0, 2, 0x9000));
    let s = b.signal(DMA, 0);
    b.wait(ACT, 0, s);
    b.activate(act(0, 0, 1, 2, ActDtype::Int8, 3));
    let p = b.finish().unwrap();
    e.write_memory(0x8000, &p.bytes()).unwrap();
    e.write_memory(0x9000, &[0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
        .unwrap(); // 1.0, 2.0
    e.core_mut().poke_psum(0, 0, 0, 7);
    e.core_mut().poke_psum(0, 0, 1, 7);
    e.start_program(0x8000, p.words().len() as u32).unwrap();
    ok(&mut e);
    assert_eq!((e.sbuf(0, 3), e.sbuf(1, 3)), (7, 7), "scale[0] for both");
    assert_eq!(e.semaphores().unwrap()[0], 1);
    // Misaligned, out of range, faulty: errors; busy: refused.
    e.start_program(0x8004, 1).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::DmaAlign);
    e.clear_error().unwrap();
    e.start_program(0xFFFF_FFF8, 2).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::DmaRange);
    e.clear_error().unwrap();
    e.memory_mut().set_fault(
        0xA000,
        PageFault {
            read: Some(BusFault::SlvErr),
            write: None,
        },
    );
    e.write_memory(
        0x9FF8,
        &Instr::DmaLoad(table_load(1, 1, 0)).encode()[0].to_le_bytes(),
    )
    .unwrap();
    e.start_program(0x9FF8, 3).unwrap();
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::DmaBus);
    e.clear_error().unwrap();
    e.memory_mut().clear_faults();
    e.push(wait(PE, 5, 1)).unwrap();
    let err = e.start_program(0x8000, 1).unwrap_err();
    assert!(err.to_string().contains("busy"), "{err}");
    e.clear_error().unwrap();
    clean_run(&mut e);
}

#[test]
fn reading_unwritten_psum_is_a_caller_error() {
    let c = int8();
    let mut e = GoldenEngine::new(&c);
    let err = e
        .push(Instr::Activate(act(1, 0, 1, 1, ActDtype::Raw32, 0)))
        .unwrap_err();
    assert!(err.to_string().contains("never written"), "{err}");
    let err = e
        .push(Instr::DmaStore(psum_store(0, 3, 1, 0, 1, 0, 4)))
        .unwrap_err();
    assert!(matches!(err, BackendError::Other(_)), "{err}");
    assert_eq!(e.wait_idle().unwrap().error, ErrorCode::None);
}

// ---- The checker ----

const S_IN: u32 = 0; // DMA: a tile is in SBUF
const S_MM: u32 = 1; // PE: a tile's product is in PSUM
const S_ACT: u32 = 2; // ACT: a tile's output is in SBUF
const S_OUT: u32 = 3; // DMA: a tile's output is in memory

/// Which WAIT of a double-buffered program to leave out (a planted race).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plant {
    None,
    /// The DMA stores a tile's output without waiting for ACT to write it.
    StoreEarly(usize),
    /// ACT reads PSUM without waiting for the product.
    ActEarly(usize),
}

/// A double-buffered pipeline of `tiles` tiles on `c` (int8): the stationary and the table
/// are loaded once; per tile `i` (buffer `b = i % 2`) the DMA loads the moving tile into SBUF
/// buffer `b` (entries `16 b..`), the PE multiplies it into PSUM bank `b`, ACT writes the int8
/// result into SBUF entries `40 + 8 b..`, the DMA stores it to memory. Each reuse of a buffer
/// waits for the instruction that last read it, two tiles before; the next tile's load is
/// issued before this tile's product (software pipelining).
fn double_buffered(c: &Config, tiles: usize, plant: Plant) -> Builder {
    let (k, n) = (c.rows, 8);
    let mut b = Builder::new(c);
    b.dma_load(dma(0, 1, 0, c.cols, k, 0, 0x1000, 64, 56)); // stationary: partition rows
    b.dma_load(table_load(0, 2 * c.cols, 0x2000));
    let load = |b: &mut Builder, i: usize| {
        if i >= 2 {
            b.wait(DMA, S_MM, (i - 1) as u64); // the product of tile i - 2 has read buffer b
        }
        let buf = (i % 2) as u32;
        b.dma_load(dma(0, 1, 0, k, n, 0, 0x4000 + 256 * i as u32, 16, 16 * buf));
        b.signal(DMA, S_IN);
    };
    load(&mut b, 0);
    for i in 0..tiles {
        let buf = (i % 2) as u32;
        if i + 1 < tiles {
            load(&mut b, i + 1);
        }
        b.wait(PE, S_IN, (i + 1) as u64);
        if i == 0 {
            b.load_stationary(56, k, c.cols);
        }
        if i >= 2 {
            b.wait(PE, S_ACT, (i - 1) as u64); // ACT of tile i - 2 has read bank b
        }
        b.multiply(16 * buf, k, n, buf, 0, false, i == 0);
        b.signal(PE, S_MM);
        if plant != Plant::ActEarly(i) {
            b.wait(ACT, S_MM, (i + 1) as u64);
        }
        if i >= 2 {
            b.wait(ACT, S_OUT, (i - 1) as u64); // the store of tile i - 2 has read it
        }
        let mut a = act(buf, 0, n, c.cols, ActDtype::Int8, 40 + 8 * buf);
        a.per_col = true;
        a.bias = true;
        b.activate(a);
        b.signal(ACT, S_ACT);
        if plant != Plant::StoreEarly(i) {
            b.wait(DMA, S_ACT, (i + 1) as u64);
        }
        b.dma_store(dma(
            0,
            0,
            0,
            n,
            c.cols,
            0,
            0x10_0000 + 64 * i as u32,
            8,
            40 + 8 * buf,
        ));
        b.signal(DMA, S_OUT);
    }
    b
}

/// Memory for [`double_buffered`]: random int8 data, scales 1/64 .. and small biases.
fn double_buffered_memory(e: &mut GoldenEngine, tiles: usize, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let cols = e.config().cols as usize;
    e.write_memory(0x1000, &random_bytes(&mut rng, 64 * cols))
        .unwrap();
    let mut t: Vec<u8> = vec![];
    for i in 0..cols {
        t.extend((1.0f32 / (16 + 8 * i) as f32).to_le_bytes());
    }
    for i in 0..cols {
        t.extend((i as i32 * 100 - 250).to_le_bytes());
    }
    e.write_memory(0x2000, &t).unwrap();
    e.write_memory(0x4000, &random_bytes(&mut rng, 256 * tiles))
        .unwrap();
}

#[test]
fn a_double_buffered_pipeline_is_accepted_and_computes_the_same_in_any_order() {
    let c = int8();
    let p = double_buffered(&c, 12, Plant::None)
        .finish()
        .expect("valid");
    let mut results = vec![];
    for schedule in [
        Schedule::InOrder,
        Schedule::Random(1),
        Schedule::Random(2),
        Schedule::Random(3),
    ] {
        let mut e = GoldenEngine::new(&c);
        e.set_schedule(schedule);
        double_buffered_memory(&mut e, 12, 5);
        for i in &p.instrs {
            e.push(*i).unwrap();
        }
        ok(&mut e);
        results.push(e.read_memory(0x10_0000, 64 * 12).unwrap());
    }
    assert!(results.iter().all(|r| *r == results[0]));
    assert!(results[0].iter().any(|b| *b != 0), "something was computed");
}

#[test]
fn planted_races_are_named() {
    let c = int8();
    let err = double_buffered(&c, 6, Plant::StoreEarly(4))
        .finish()
        .unwrap_err();
    let msg = err.to_string();
    let AsmError::Race { first, second, .. } = &err else {
        panic!("{msg}")
    };
    let mut pair = [first.mnemonic, second.mnemonic];
    pair.sort();
    assert_eq!(pair, ["ACTIVATE", "DMA_STORE"], "{msg}");
    assert!(
        msg.starts_with("race on SBUF partition 0 entries 40..48")
            && msg.contains("(ACTIVATE on ACT) writes it")
            && msg.contains("(DMA_STORE on DMA) reads it"),
        "{msg}"
    );
    let err = double_buffered(&c, 6, Plant::ActEarly(3))
        .finish()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("race on PSUM bank 1 column 0 entries 0..8")
            && msg.contains("(MULTIPLY_MOVING on PE) writes it")
            && msg.contains("(ACTIVATE on ACT) reads it"),
        "{msg}"
    );
    // The table, and PSUM read by the DMA.
    let mut b = Builder::new(&c);
    b.dma_load(table_load(0, 2, 0));
    b.activate(act(0, 0, 1, 1, ActDtype::Int8, 0));
    let msg = b.finish().unwrap_err().to_string();
    assert!(msg.starts_with("race on ACT table words 0"), "{msg}");
    let mut b = Builder::new(&c);
    b.load_stationary(0, 1, 2);
    b.multiply(0, 1, 4, 1, 2, false, true);
    b.dma_store(psum_store(1, 5, 1, 1, 1, 0, 4));
    let msg = b.finish().unwrap_err().to_string();
    assert!(
        msg.starts_with("race on PSUM bank 1 column 1 entries 5"),
        "{msg}"
    );
    // A store into the program being fetched.
    let mut b = Builder::new(&c);
    b.fetched_from(0x100);
    b.dma_store(dma(0, 0, 0, 1, 4, 0, 0x116, 0, 0)); // the program is 0x100..0x118
    let msg = b.finish().unwrap_err().to_string();
    assert!(
        msg.contains("writes memory bytes 278..280, which holds the program"),
        "{msg}"
    );
    let mut b = Builder::new(&c);
    b.fetched_from(0x100);
    b.dma_store(dma(0, 0, 0, 1, 4, 0, 0x118, 0, 0));
    b.finish().expect("just past the program");
    // Ordered through a SIGNAL -> WAIT, or a FENCE, the same accesses are fine.
    let mut b = Builder::new(&c);
    b.dma_load(table_load(0, 2, 0));
    b.fence();
    b.core_free_activate(&c);
    b.finish().expect("a FENCE orders them");
}

/// The builder has no notion of PSUM contents: a helper that adds an ACTIVATE of written PSUM.
trait ActivateHelper {
    fn core_free_activate(&mut self, c: &Config);
}

impl ActivateHelper for Builder {
    fn core_free_activate(&mut self, _c: &Config) {
        self.activate(act(0, 0, 1, 1, ActDtype::Int8, 0));
    }
}

#[test]
fn planted_deadlocks_are_named() {
    let c = int8();
    // A WAIT whose SIGNAL comes eight ACT instructions later: the ACT FIFO (the WAIT and seven
    // more) fills first.
    let mut b = Builder::new(&c);
    b.wait(ACT, 0, 1);
    for e in 0..8 {
        b.activate(act(0, 0, 1, 1, ActDtype::Raw32, 4 * e));
    }
    b.signal(DMA, 0);
    let err = b.finish().unwrap_err();
    assert_eq!(
        err.to_string(),
        "deadlock: the dispatcher waits at instruction 8 (ACTIVATE on ACT) (the ACT FIFO is \
         full); ACT waits at instruction 0 (WAIT on ACT) on semaphore 0 for value 1 (count 0)"
    );
    // The same on the golden engine: stuck, busy.
    let mut e = GoldenEngine::new(&c);
    e.core_mut().poke_psum(0, 0, 0, 1);
    for i in b.instrs() {
        e.push(*i).unwrap();
    }
    assert!(e.wait_idle().unwrap().busy);
    assert_eq!(e.fifo_lengths(), [0, 0, 8]);
    // With seven ACTIVATEs the SIGNAL gets through.
    let mut b = Builder::new(&c);
    b.wait(ACT, 0, 1);
    for e in 0..7 {
        b.activate(act(0, 0, 1, 1, ActDtype::Raw32, 4 * e));
    }
    b.signal(DMA, 0);
    b.finish().expect("fits the FIFO");
    // Two engines waiting for each other.
    let mut b = Builder::new(&c);
    b.wait(PE, 1, 1);
    b.signal(PE, 0);
    b.wait(DMA, 0, 1);
    b.signal(DMA, 1);
    let msg = b.finish().unwrap_err().to_string();
    assert!(
        msg.contains("PE waits at instruction 0 (WAIT on PE) on semaphore 1")
            && msg.contains("DMA waits at instruction 2 (WAIT on DMA) on semaphore 0"),
        "{msg}"
    );
    // A SIGNAL that never comes.
    let mut b = Builder::new(&c);
    b.wait(DMA, 4, 2);
    b.signal(PE, 4);
    assert!(b
        .finish()
        .unwrap_err()
        .to_string()
        .contains("for value 2 (count 1)"));
    // A PE SIGNAL behind a load that waits for its swap: the signal fires only once the swap
    // streamed the load. If the swap waits for ACT, which waits for the signal: a cycle.
    let pe_signal_program = |swap_first: bool| {
        let mut b = Builder::new(&c);
        b.load_stationary(0, 1, 1);
        b.load_stationary(1, 1, 1); // waits for a swap
        b.signal(PE, 0);
        if swap_first {
            b.multiply(0, 1, 1, 0, 0, false, true);
            b.wait(PE, 1, 1);
        } else {
            b.wait(PE, 1, 1);
            b.multiply(0, 1, 1, 0, 0, false, true);
        }
        b.wait(ACT, 0, 1);
        b.signal(ACT, 1);
        b
    };
    let b = pe_signal_program(false);
    let msg = b.finish().unwrap_err().to_string();
    assert!(
        msg.contains("PE waits at instruction 3 (WAIT on PE) on semaphore 1 for value 1 (count 0)")
            && msg.contains("ACT waits at instruction 5 (WAIT on ACT) on semaphore 0"),
        "{msg}"
    );
    let mut e = GoldenEngine::new(&c);
    for i in b.instrs() {
        e.push(*i).unwrap();
    }
    assert!(
        e.wait_idle().unwrap().busy,
        "the golden engine is stuck too"
    );
    assert_eq!(e.semaphores().unwrap(), [0; 8]);
    let b = pe_signal_program(true);
    b.finish()
        .expect("the SIGNAL does not block the PE: the swap streams the load");
    let mut e = GoldenEngine::new(&c);
    for i in b.instrs() {
        e.push(*i).unwrap();
    }
    ok(&mut e);
    assert_eq!(&e.semaphores().unwrap()[..2], &[1, 1]);
}

#[test]
fn semaphore_rules() {
    let c = int8();
    let mut b = Builder::new(&c);
    b.signal(PE, 3);
    b.signal(DMA, 3);
    let msg = b.finish().unwrap_err().to_string();
    assert_eq!(
        msg,
        "semaphore 3 is signalled by instruction 0 (SIGNAL on PE) and by instruction 1 (SIGNAL \
         on DMA): the checker needs one signalling engine per semaphore"
    );
    // 40,000 unordered signals before a WAIT for the first: the count may be 2^15 past it.
    let mut b = Builder::new(&c);
    b.wait(ACT, 0, 1);
    for _ in 0..40_000 {
        b.signal(DMA, 0);
    }
    let err = b.finish().unwrap_err();
    assert!(
        matches!(
            err,
            AsmError::SemaphoreWindow {
                lo: 0,
                hi: 40_000,
                ..
            }
        ),
        "{err}"
    );
    // Ordered in between, it is fine: the DMA waits for the ACT's signal first.
    let mut b = Builder::new(&c);
    b.wait(ACT, 0, 1);
    b.signal(ACT, 1);
    b.signal(DMA, 0);
    b.wait(DMA, 1, 1);
    for _ in 0..40_000 {
        b.signal(DMA, 0);
    }
    b.finish().expect("the count stays within the window");
}

#[test]
fn the_checker_takes_tens_of_thousands_of_instructions() {
    let c = int8();
    let b = double_buffered(&c, 3000, Plant::None);
    let n = b.instrs().len();
    assert!(n >= 30_000, "{n}");
    let t = std::time::Instant::now();
    b.finish().expect("valid");
    let dt = t.elapsed();
    eprintln!("checked {n} instructions in {dt:?}");
    assert!(dt.as_secs() < 20, "{n} instructions took {dt:?}");
    let mut b = double_buffered(&c, 3000, Plant::StoreEarly(2500));
    b.fence();
    assert!(matches!(b.finish(), Err(AsmError::Race { .. })));
}

// ---- Random programs ----

/// Regions of state a random program uses, for the generator's own (coarse) ordering:
/// SBUF blocks 0..4 (16 entries each, all partitions), PSUM banks 4..6, the table 6.
const REGIONS: usize = 7;

/// Generates random programs on an int8 engine, made valid by construction: before each
/// instruction, for every region it touches, the last instruction of another engine that
/// conflicts with it gets a SIGNAL (if none covers it yet) and this engine a WAIT for it.
/// With `drop_wait`, some of those WAITs are left out (the program may race).
struct Gen {
    b: Builder,
    rng: SplitMix64,
    /// Per engine: instructions so far, and (count, instructions covered) of its signals.
    ops: [u64; 3],
    signals: [Vec<(u64, u64)>; 3],
    /// Per engine and signalling engine: the highest count waited for.
    seen: [[u64; 3]; 3],
    /// Per region: last writer (engine, op number), last reader per engine (op number).
    writer: [Option<(usize, u64)>; REGIONS],
    readers: [[Option<u64>; 3]; REGIONS],
    /// A loaded stationary not swapped in yet.
    loaded: bool,
    drop_wait: u64,
}

impl Gen {
    fn new(c: &Config, seed: u64, drop_wait: u64) -> Gen {
        Gen {
            b: Builder::new(c),
            rng: SplitMix64::new(seed),
            ops: [0; 3],
            signals: Default::default(),
            seen: [[0; 3]; 3],
            writer: [None; REGIONS],
            readers: [[None; 3]; REGIONS],
            loaded: false,
            drop_wait,
        }
    }

    /// Order this engine's next instruction after the conflicting ones, then emit it.
    fn emit(&mut self, e: EngineId, reads: &[usize], writes: &[usize], instr: Instr) {
        let ei = e.index();
        let mut after: Vec<(usize, u64)> = vec![];
        for &r in reads.iter().chain(writes) {
            after.extend(self.writer[r]);
        }
        for &w in writes {
            for (x, op) in self.readers[w].iter().enumerate() {
                if let Some(op) = op {
                    after.push((x, *op));
                }
            }
        }
        for (x, op) in after {
            if x == ei {
                continue;
            }
            // A signal of engine x covering its op number `op` (ops are numbered from 1).
            let count = match self.signals[x].iter().find(|s| s.1 >= op) {
                Some(s) => s.0,
                None => {
                    let engine = EngineId::ALL[x];
                    let count = self.b.signal(engine, x as u32);
                    self.signals[x].push((count, self.ops[x]));
                    count
                }
            };
            if self.seen[ei][x] < count {
                if self.drop_wait > 0 && self.rng.below(self.drop_wait) == 0 {
                    continue;
                }
                self.b.wait(e, x as u32, count);
                self.seen[ei][x] = count;
            }
        }
        self.b.push(instr);
        self.ops[ei] += 1;
        let op = self.ops[ei];
        for &r in reads {
            self.readers[r][ei] = Some(op);
        }
        for &w in writes {
            self.writer[w] = Some((ei, op));
            self.readers[w] = [None; 3];
        }
    }

    fn region(&mut self) -> u32 {
        self.rng.below(4) as u32
    }

    /// One random instruction (with its ordering).
    fn step(&mut self, c: &Config) {
        let parts = c.rows.max(c.cols);
        let r = self.region();
        let (lo, r16) = (16 * r, r as usize);
        let bank = self.rng.below(2) as u32;
        let pb = 4 + bank as usize;
        match self.rng.below(8) {
            0 | 1 => {
                // DMA in: a block of the region, either layout.
                let layout = self.rng.below(2) as u32;
                let (rows, len) = if layout == 0 {
                    (self.rng.range_u32(1, 16), self.rng.range_u32(1, parts))
                } else {
                    (self.rng.range_u32(1, parts), self.rng.range_u32(1, 16))
                };
                let stride = len + self.rng.range_u32(0, 5);
                let base = self.rng.range_u32(0, 4000);
                let d = dma(0, layout, 0, rows, len, 0, base, stride, lo);
                self.emit(DMA, &[], &[r16], Instr::DmaLoad(d));
            }
            2 => {
                // DMA out: a block of the region, or PSUM.
                let base = 0x10_0000 + self.rng.range_u32(0, 4000);
                if self.rng.below(2) == 0 {
                    let d = dma(
                        0,
                        0,
                        0,
                        self.rng.range_u32(1, 16),
                        parts,
                        0,
                        base,
                        parts,
                        lo,
                    );
                    self.emit(DMA, &[r16], &[], Instr::DmaStore(d));
                } else {
                    let d = psum_store(
                        bank,
                        0,
                        self.rng.range_u32(1, 16),
                        0,
                        c.cols,
                        base & !3,
                        4 * c.cols,
                    );
                    self.emit(DMA, &[pb], &[], Instr::DmaStore(d));
                }
            }
            3 => {
                let words = self.rng.range_u32(1, 2 * c.cols);
                let d = table_load(0, words, self.rng.range_u32(0, 1000) * 4);
                self.emit(DMA, &[], &[6], Instr::DmaLoad(d));
            }
            4 | 5 => {
                // PE: a load (only when none is pending) or a product into a whole bank.
                if !self.loaded && self.rng.below(2) == 0 {
                    let k = self.rng.range_u32(1, c.rows);
                    self.emit(
                        PE,
                        &[r16],
                        &[],
                        Instr::LoadStationary {
                            addr: lo,
                            k,
                            m: c.cols,
                        },
                    );
                    self.loaded = true;
                } else if self.loaded || self.ops[0] > 0 {
                    let swap = self.loaded;
                    self.loaded = false;
                    let k = self.rng.range_u32(1, c.rows);
                    let acc = self.rng.below(2) == 0;
                    let i = Instr::MultiplyMoving {
                        addr: lo,
                        k,
                        n: 16,
                        bank,
                        offset: 0,
                        acc,
                        swap,
                    };
                    self.emit(PE, &[r16, pb], &[pb], i);
                }
            }
            _ => {
                // ACTIVATE a whole bank into the region.
                let mut a = act(
                    bank,
                    0,
                    self.rng.range_u32(1, 16),
                    c.cols,
                    ActDtype::Int8,
                    lo,
                );
                match self.rng.below(4) {
                    0 => a.dtype = ActDtype::Raw32 as u32,
                    1 => a.func = ActFunc::Relu as u32,
                    2 => {
                        a.func = ActFunc::Clamp as u32;
                        a.lo = self.rng.below(256) as u32;
                        a.hi = self.rng.below(256) as u32;
                    }
                    _ => {}
                }
                if a.dtype != ActDtype::Raw32 as u32 {
                    a.per_col = self.rng.below(2) == 0;
                    a.bias = self.rng.below(2) == 0;
                    a.zp = self.rng.below(256) as u32;
                }
                if a.dtype == ActDtype::Raw32 as u32 {
                    a.n = a.n.min(4);
                }
                self.emit(ACT, &[pb, 6], &[r16], Instr::Activate(a));
            }
        }
    }

    /// A program: both PSUM banks written whole first (so every later read is of written
    /// entries), then `n` random instructions.
    fn program(c: &Config, seed: u64, n: usize, drop_wait: u64) -> Vec<Instr> {
        let mut g = Gen::new(c, seed, drop_wait);
        g.emit(
            PE,
            &[0],
            &[],
            Instr::LoadStationary {
                addr: 0,
                k: c.rows,
                m: c.cols,
            },
        );
        for bank in 0..2 {
            let i = Instr::MultiplyMoving {
                addr: 0,
                k: c.rows,
                n: 16,
                bank,
                offset: 0,
                acc: false,
                swap: bank == 0,
            };
            g.emit(PE, &[0], &[4 + bank as usize], i);
        }
        for _ in 0..n {
            g.step(c);
        }
        g.b.instrs().to_vec()
    }
}

/// Everything a program can change.
type State = (
    Vec<Vec<i64>>,
    Vec<Vec<Option<u64>>>,
    Vec<u32>,
    Vec<u8>,
    [u16; 8],
    (u64, u64, u64, u64),
);

/// The state after running `program` with `schedule`, or the caller error it ran into (a
/// racy program may read PSUM before it is written in some orders).
fn run_state(
    c: &Config,
    program: &[Instr],
    schedule: Schedule,
    seed: u64,
) -> Result<State, String> {
    let mut e = GoldenEngine::new(c);
    e.set_schedule(schedule);
    let mut rng = SplitMix64::new(seed);
    e.write_memory(0, &random_bytes(&mut rng, 8192)).unwrap();
    for i in program {
        e.push(*i).map_err(|x| x.to_string())?;
    }
    let st = e.wait_idle().map_err(|x| x.to_string())?;
    assert!(st.error == ErrorCode::None && !st.busy, "{st:?}");
    let psum = (0..2)
        .flat_map(|b| (0..16).map(move |a| (b, a)))
        .map(|(b, a)| e.core().psum(b, a))
        .collect();
    let k = e.counters().unwrap();
    Ok((
        e.sbuf_contents().to_vec(),
        psum,
        e.table().to_vec(),
        e.read_memory(0x10_0000, 8192).unwrap(),
        e.semaphores().unwrap(),
        (k.retired, k.macs, k.dma_read_bytes, k.dma_write_bytes),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random valid programs: the checker accepts them, and every legal order of their steps
    /// (the in-order schedule and random ones) gives the same SBUF, PSUM, table, memory,
    /// semaphores and counters.
    #[test]
    fn valid_programs_give_the_same_state_in_every_order(seed in any::<u64>(), n in 5usize..60) {
        let c = cfg(3, 4, "int8");
        let p = Gen::program(&c, seed, n, 0);
        if let Err(e) = asm::check(&c, &p, None) {
            panic!("the generator made an invalid program: {e}\n{p:#?}");
        }
        let want = run_state(&c, &p, Schedule::InOrder, seed);
        prop_assert!(want.is_ok(), "{want:?}");
        for s in 0..4 {
            let got = run_state(&c, &p, Schedule::Random(seed ^ (s + 1)), seed);
            prop_assert!(got == want, "order {s} differs");
        }
    }

    /// Random programs with some WAITs left out: whenever the checker accepts one, every
    /// order still gives the same state (the checker lets no race through).
    #[test]
    fn accepted_programs_are_deterministic(seed in any::<u64>(), n in 5usize..20) {
        let c = cfg(3, 4, "int8");
        let p = Gen::program(&c, seed, n, 6);
        if asm::check(&c, &p, None).is_ok() {
            let want = run_state(&c, &p, Schedule::InOrder, seed);
            prop_assert!(want.is_ok(), "{want:?}");
            for s in 0..4 {
                let got = run_state(&c, &p, Schedule::Random(seed ^ (s + 1)), seed);
                prop_assert!(got == want, "order {s} differs on an accepted program");
            }
        }
    }
}

/// The checker is not vacuous: among random programs with WAITs left out, those it rejects
/// for a race include some whose orders really give different results.
#[test]
fn rejected_races_are_real_in_some_programs() {
    let c = cfg(3, 4, "int8");
    let (mut races, mut differ, mut accepted) = (0, 0, 0);
    for seed in 0..150u64 {
        let p = Gen::program(&c, seed, 15, 6);
        match asm::check(&c, &p, None) {
            Ok(()) => accepted += 1,
            Err(AsmError::Race { .. }) => {
                races += 1;
                let want = run_state(&c, &p, Schedule::InOrder, seed);
                if (1..6).any(|s| run_state(&c, &p, Schedule::Random(s), seed) != want) {
                    differ += 1;
                }
            }
            Err(_) => {}
        }
    }
    eprintln!("{races} racy, {differ} of them differing in some order, {accepted} accepted");
    assert!(
        races > 20 && differ > 5 && accepted > 5,
        "{races} {differ} {accepted}"
    );
}

// ---- NumPy ----

/// C = A x B on the engine from memory to memory (DMA in with partition rows, LOAD_STATIONARY,
/// MULTIPLY_MOVING, ACTIVATE with per-column scales, bias, zero point and relu, DMA out), against
/// NumPy computing `clip(rint(float32(A @ B + bias) * scale) + zp)` (through `.venv-models`; with
/// `CI` set a missing Python or NumPy fails the test).
#[test]
fn a_dma_matmul_activate_chain_matches_numpy() {
    let Some(python) = common::models_python("a_dma_matmul_activate_chain_matches_numpy") else {
        return;
    };
    let c = cfg(8, 8, "int8");
    let (m, k, n) = (7usize, 8usize, 12usize);
    let mut rng = SplitMix64::new(2024);
    let a: Vec<i8> = (0..m * k).map(|_| rng.range_i64(-128, 127) as i8).collect();
    let b: Vec<i8> = (0..k * n).map(|_| rng.range_i64(-128, 127) as i8).collect();
    let scale: Vec<f32> = (0..m)
        .map(|_| (rng.range_i64(1, 4000) as f32) * 1e-5)
        .collect();
    let bias: Vec<i32> = (0..m)
        .map(|_| rng.range_i64(-20000, 20000) as i32)
        .collect();
    let zp = -3i32;
    let mut e = GoldenEngine::new(&c);
    e.write_memory(0x1000, &a.iter().map(|v| *v as u8).collect::<Vec<_>>())
        .unwrap();
    e.write_memory(0x2000, &b.iter().map(|v| *v as u8).collect::<Vec<_>>())
        .unwrap();
    let mut t: Vec<u8> = vec![];
    for i in 0..8 {
        t.extend(scale.get(i).copied().unwrap_or(0.0).to_le_bytes());
    }
    for i in 0..8 {
        t.extend(bias.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    e.write_memory(0x3000, &t).unwrap();
    let mut p = Builder::new(&c);
    // A row-major (M x K): row m' -> partition m' (the transposed stationary layout).
    p.dma_load(dma(0, 1, 0, m as u32, k as u32, 0, 0x1000, k as u32, 0));
    // B row-major (K x N): row k' -> partition k' (the moving layout).
    p.dma_load(dma(0, 1, 0, k as u32, n as u32, 0, 0x2000, n as u32, 16));
    p.dma_load(table_load(0, 16, 0x3000));
    let s = p.signal(DMA, 0);
    p.wait(PE, 0, s);
    p.load_stationary(0, k as u32, m as u32);
    p.multiply(16, k as u32, n as u32, 0, 0, false, true); // psum[n'][m'] = C[m'][n']
    let s = p.signal(PE, 1);
    p.wait(ACT, 1, s);
    let mut x = act(0, 0, n as u32, m as u32, ActDtype::Int8, 32);
    x.per_col = true;
    x.bias = true;
    x.func = ActFunc::Relu as u32;
    x.zp = zp as u8 as u32;
    p.activate(x); // SBUF[m'][32 + n'] = out[m'][n']
    let s = p.signal(ACT, 2);
    p.wait(DMA, 2, s);
    p.dma_store(dma(0, 1, 0, m as u32, n as u32, 0, 0x4000, n as u32, 32)); // row-major out
    let prog = p.finish().expect("valid");
    e.write_memory(0x8000, &prog.bytes()).unwrap();
    e.start_program(0x8000, prog.words().len() as u32).unwrap();
    ok(&mut e);
    let got: Vec<i64> = e
        .read_memory(0x4000, m * n)
        .unwrap()
        .iter()
        .map(|v| i64::from(*v as i8))
        .collect();
    let list = |v: Vec<String>| format!("[{}]", v.join(","));
    let script = format!(
        "import numpy as np\n\
         a = np.array({}, dtype=np.int8).reshape({m}, {k}).astype(np.int64)\n\
         b = np.array({}, dtype=np.int8).reshape({k}, {n}).astype(np.int64)\n\
         s = np.array({}, dtype=np.uint32).view(np.float32).reshape({m}, 1)\n\
         bias = np.array({}, dtype=np.int64).reshape({m}, 1)\n\
         acc = (a @ b + bias).astype(np.int32)\n\
         f = acc.astype(np.float32) * s\n\
         q = np.rint(f).astype(np.int64) + ({zp})\n\
         q = np.clip(q, max(-128, {zp}), 127)\n\
         print(' '.join(str(int(v)) for v in q.reshape(-1)))\n",
        list(a.iter().map(|v| v.to_string()).collect()),
        list(b.iter().map(|v| v.to_string()).collect()),
        list(scale.iter().map(|v| v.to_bits().to_string()).collect()),
        list(bias.iter().map(|v| v.to_string()).collect()),
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(got, want, "engine vs NumPy");
    assert!(
        want.iter().any(|v| *v > zp as i64 && *v < 127),
        "a chain that is not all clamped"
    );
}
