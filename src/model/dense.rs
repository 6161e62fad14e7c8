//! A dense layer (QLinearMatMul, QGemm, QLinearConv) on the engine, on either data path:
//!
//! - **register** ([`on_registers`]): the tiled GEMM through the host's register window
//!   ([`crate::engine::gemm`]), weights stationary (`M` = output channels, `K` = inputs, `N` =
//!   images or image positions); the int32 accumulators are read back and requantised on the
//!   host by ACTIVATE's arithmetic ([`write_back_int`]).
//! - **memory** ([`on_memory`]): one product over the memory path ([`mem_gemm`]): the
//!   activations (`A`, `N x K`) and the transposed weights (`B`, `K x M`) in the memory behind
//!   the engine's AXI4 master, the program fetched by the engine, the requantisation done on
//!   chip by ACTIVATE (per-channel scale, the folded int32 bias, the output zero point) and `C`
//!   (`N x M`, 8-bit) stored by the DMA. A uint8 output is written as int8 with its zero point
//!   less 128 (the same value less 128, saturated alike: ORT clamps the float to the range less
//!   the zero point) and 128 is added back on the host. A layer with a nonzero weight zero point
//!   needs a per-(channel, column) correction no write-back table holds: it stores the raw int32
//!   accumulators and is requantised on the host like the register path.
//!
//! In both, a convolution's input is unrolled by im2col on the host.

use serde::Serialize;

use crate::engine::gemm::{self, GemmOptions, Matrix};
use crate::engine::mem_gemm::{self, OutDtype, WriteBack};
use crate::engine::{Counters, Engine};
use crate::golden::requant::write_back_int;
use crate::isa::{ActDtype, ActFunc};

use super::ops::{self, QType};
use super::{Dense, RunError, RunStats};

/// What one product on the engine did.
#[derive(Debug, Clone, Serialize)]
pub struct ProductStats {
    /// The ONNX node(s) of the layer.
    pub node: String,
    /// `[M, K, N]`: output channels, inputs per output, images (or image positions).
    pub gemm: [usize; 3],
    /// Clock cycles of the product (0 on the golden model). Register path: every bus cycle from
    /// its first SBUF write to its last PSUM read. Memory path: from CONTROL.START to the status
    /// read that saw the engine idle (the host writes memory beside the bus, unclocked).
    pub cycles: u64,
    pub busy_cycles: u64,
    pub macs: u64,
    pub dma_read_bytes: u64,
    pub dma_write_bytes: u64,
    /// `ceil(M K N / PEs)`.
    pub compute_bound: u64,
    /// Memory path: `max(compute_bound, DMA bytes read / bus bytes, written / bus bytes)`;
    /// register path: `compute_bound`.
    pub roofline_cycles: u64,
    /// `MACs / (PEs * cycles)` (back ends with a clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<f64>,
    /// `roofline_cycles / cycles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roofline_fraction: Option<f64>,
    /// Memory path: the requantisation ran on chip (`activate`) or on the host (`host`: a
    /// nonzero weight zero point); register path: `host`.
    pub write_back: &'static str,
    /// Memory path: the planner's loop order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<&'static str>,
}

impl ProductStats {
    fn new(node: &str, gemm: [usize; 3], e: &dyn Engine, c: &Counters, cycles: u64) -> Self {
        let cfg = e.config();
        let pes = cfg.pes();
        let [m, k, n] = gemm.map(|v| v as u64);
        let compute_bound = (m * k * n).div_ceil(pes);
        let bus = u64::from(cfg.dma_bits / 8).max(1);
        let roofline_cycles = compute_bound
            .max(c.dma_read_bytes.div_ceil(bus))
            .max(c.dma_write_bytes.div_ceil(bus));
        let clocked = cycles > 0;
        ProductStats {
            node: node.to_string(),
            gemm,
            cycles,
            busy_cycles: c.busy_cycles,
            macs: c.macs,
            dma_read_bytes: c.dma_read_bytes,
            dma_write_bytes: c.dma_write_bytes,
            compute_bound,
            roofline_cycles,
            utilisation: clocked.then(|| c.macs as f64 / (pes as f64 * cycles as f64)),
            roofline_fraction: clocked.then(|| roofline_cycles as f64 / cycles as f64),
            write_back: "host",
            schedule: None,
        }
    }
}

/// The layer's product operand `X` (`K x N`, int8: uint8 shifted by 128) and the image
/// positions per image (1 for a matrix product).
fn unrolled(d: &Dense, x: &[i32], batch: usize, in_shape: &[usize]) -> (Matrix, usize) {
    let shift = d.x.ty.shift();
    match &d.conv {
        None => (
            Matrix::from_fn(d.k, batch, |k, n| i64::from(x[n * d.k + k] - shift)),
            1,
        ),
        Some(win) => {
            let [c, h, w] = in_shape[..] else {
                unreachable!("checked at import")
            };
            let (oh, ow) = win.out_size(h, w).expect("checked at import");
            let cols = ops::im2col(x, batch, [c, h, w], win, shift, d.x.zp - shift);
            (Matrix::new(d.k, batch * oh * ow, cols), oh * ow)
        }
    }
}

/// Index of output channel `m`, product column `j` in the layer's output tensor.
fn out_index(d: &Dense, spatial: usize, m: usize, j: usize) -> usize {
    let (img, pos) = (j / spatial, j % spatial);
    (img * d.m + m) * spatial + pos
}

/// The host's requantisation of the int32 accumulators `acc(m, j)` (ACTIVATE's arithmetic),
/// with the weight-zero-point correction `- wz[m] * sum_k X[k][j]` where it is nonzero.
fn requantise_on_host(
    d: &Dense,
    x: &Matrix,
    spatial: usize,
    acc: impl Fn(usize, usize) -> i32,
) -> Vec<i32> {
    let n = x.cols;
    let colsum: Option<Vec<i32>> = d.wz.iter().any(|&z| z != 0).then(|| {
        (0..n)
            .map(|j| (0..d.k).fold(0i32, |s, k| s.wrapping_add(x.get(k, j) as i32)))
            .collect()
    });
    let (dtype, zp_bits) = match d.y.ty {
        QType::Int8 => (ActDtype::Int8, u32::from(d.y.zp as i8 as u8)),
        QType::Uint8 => (ActDtype::Uint8, d.y.zp as u32 & 0xFF),
    };
    let mut y = vec![0; d.m * n];
    for m in 0..d.m {
        let scale = d.multiplier[m].to_bits();
        for j in 0..n {
            let mut a = acc(m, j);
            if let Some(cs) = &colsum {
                a = a.wrapping_sub(d.wz[m].wrapping_mul(cs[j]));
            }
            y[out_index(d, spatial, m, j)] = write_back_int(
                a,
                Some(d.bias[m]),
                scale,
                dtype,
                ActFunc::Identity,
                zp_bits,
                0,
                0,
            );
        }
    }
    y
}

/// The layer over the register window; its product's numbers are added to `stats`.
pub(super) fn on_registers(
    engine: &mut dyn Engine,
    (node, d): (&str, &Dense),
    x: &[i32],
    (batch, in_shape): (usize, &[usize]),
    stats: &mut RunStats,
) -> Result<Vec<i32>, RunError> {
    let (b, spatial) = unrolled(d, x, batch, in_shape);
    let a = Matrix::new(d.m, d.k, d.a.clone());
    let r = gemm::gemm(engine, &a, &b, &GemmOptions::default())?;
    stats.add(
        ProductStats::new(node, [d.m, d.k, b.cols], engine, &r.counters, r.host_cycles),
        r.instructions,
    );
    // The int32 accumulator (the sum modulo 2^32 for wider accumulators).
    Ok(requantise_on_host(d, &b, spatial, |m, j| {
        r.c.get(m, j) as i32
    }))
}

/// The layer over the memory path; its product's numbers are added to `stats`.
pub(super) fn on_memory(
    engine: &mut dyn Engine,
    (node, d): (&str, &Dense),
    x: &[i32],
    (batch, in_shape): (usize, &[usize]),
    stats: &mut RunStats,
) -> Result<Vec<i32>, RunError> {
    let (xk, spatial) = unrolled(d, x, batch, in_shape);
    let n = xk.cols;
    let a = Matrix::from_fn(n, d.k, |j, k| xk.get(k, j));
    let b = Matrix::from_fn(d.k, d.m, |k, m| d.a[m * d.k + k]);
    let on_chip = d.requantises_on_chip();
    let wb = if on_chip {
        WriteBack {
            out: OutDtype::Int8,
            scale: d.multiplier.clone(),
            bias: Some(d.bias.clone()),
            relu: false,
            zero_point: d.y.zp - d.y.ty.shift(),
        }
    } else {
        WriteBack::raw()
    };
    let r = mem_gemm::run(engine, &a, &b, &wb)?;
    let mut p = ProductStats::new(node, [d.m, d.k, n], engine, &r.counters, r.cycles);
    p.schedule = Some(r.plan.schedule.name());
    if !on_chip {
        stats.add(p, r.instructions as u64);
        return Ok(requantise_on_host(d, &xk, spatial, |m, j| {
            r.c.get(j, m) as i32
        }));
    }
    p.write_back = "activate";
    stats.add(p, r.instructions as u64);
    let shift = d.y.ty.shift();
    let mut y = vec![0; d.m * n];
    for j in 0..n {
        for m in 0..d.m {
            y[out_index(d, spatial, m, j)] = r.c.get(j, m) as i32 + shift;
        }
    }
    Ok(y)
}
