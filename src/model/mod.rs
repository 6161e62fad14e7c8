//! Quantised ONNX networks on the engine (`docs/infer.md`).
//!
//! [`load`] reads a model (the protobuf decoded by `tract-onnx`, [`onnx`]) and recognises its
//! QOperator or QDQ graph as a list of [`Layer`]s ([`import`]); [`plan`] says per layer where it
//! runs, its shapes, its GEMM tiles and its memory footprint; [`run`] executes it:
//!
//! - QLinearMatMul, QGemm and QLinearConv (and their QDQ forms) are matrix products on the
//!   engine through the tiled GEMM ([`crate::engine::gemm`]), the weights as the stationary
//!   operand (`M` = output channels, `K` = inputs, `N` = images, or image positions for a
//!   convolution, whose input is unrolled by im2col on the host). Zero points are folded into
//!   an int32 per-channel bias (uint8 tensors enter the int8 engine shifted by 128), and the
//!   int32 results are requantised by [`crate::golden::requant::write_back_int`], the
//!   arithmetic of the engine's ACTIVATE instruction.
//! - QuantizeLinear, DequantizeLinear, QLinearAdd, the float Add of the int8 QDQ MLP, MaxPool,
//!   Flatten and Reshape run on the host ([`ops`]), in ONNX Runtime's arithmetic.
//!
//! The module sits above the engine and the golden model and below the command line.

pub mod dense;
pub mod import;
pub mod onnx;
pub mod ops;
pub mod report;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::engine::gemm::{self, GemmError, GemmOptions};
use crate::engine::mem_gemm::{self, MemGemmError};
use crate::engine::Engine;
use crate::format::NumberFormat;

pub use dense::ProductStats;
use ops::{QAdd, QParams, QType, Window};

/// Why a model cannot be imported (bad input: the command line exits with status 2).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the model {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("initializer '{name}': {reason}")]
    Initializer { name: String, reason: String },
    #[error(
        "node {node}: operator {op} is not supported; supported are {}",
        import::SUPPORTED
    )]
    Unsupported { node: String, op: String },
    #[error("node {node}: {reason}")]
    Node { node: String, reason: String },
    #[error("{0}")]
    Graph(String),
}

/// A matrix-product layer: `y[m] = requant(sum_k (x[k] - x_zp)(w[m][k] - w_zp[m]) + bias[m])`.
#[derive(Debug, Clone, Serialize)]
pub struct Dense {
    /// The ONNX Runtime kernel it reproduces: QLinearMatMul, QGemm or QLinearConv.
    pub kind: &'static str,
    /// Output channels.
    pub m: usize,
    /// Inputs per output (`C * kh * kw` for a convolution).
    pub k: usize,
    /// The stationary operand, `m x k` row-major, int8 (uint8 weights shifted by -128).
    #[serde(skip)]
    pub a: Vec<i64>,
    /// The int32 bias with the zero-point terms folded in (see [`import`]).
    #[serde(skip)]
    pub bias: Vec<i32>,
    /// Weight zero points after the shift; nonzero ones need a per-column correction.
    #[serde(skip)]
    pub wz: Vec<i32>,
    pub x: QParams,
    pub y: QParams,
    /// The fp32 requantisation multiplier per output channel (ORT's order of operations).
    #[serde(skip)]
    pub multiplier: Vec<f32>,
    pub per_channel: bool,
    /// A convolution's window (its input is unrolled by im2col).
    pub conv: Option<Window>,
}

impl Dense {
    /// Whether ACTIVATE can requantise the layer on chip over the memory path: every weight
    /// zero point is 0 (a nonzero one needs a per-element correction no write-back table
    /// holds, so the raw int32 accumulators go to the host).
    pub fn requantises_on_chip(&self) -> bool {
        self.wz.iter().all(|&z| z == 0)
    }
}

/// An 8-bit elementwise Add of a computed tensor and a constant.
#[derive(Debug, Clone, Serialize)]
pub struct AddLayer {
    /// Parameters in the node's input order.
    pub params: QAdd,
    #[serde(skip)]
    pub b: Vec<i32>,
    /// The constant is the node's first input.
    pub const_first: bool,
    /// ORT's float Add between DequantizeLinear and QuantizeLinear (int8 QDQ), instead of
    /// com.microsoft QLinearAdd.
    pub float: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    Quantize(QParams),
    Dense(Box<Dense>),
    Add(AddLayer),
    MaxPool(Window),
    Reshape,
    Dequantize(QParams),
}

/// One step of the network; tensors are numbered, 0 being the graph input.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// The ONNX node(s) it comes from.
    pub node: String,
    pub op: Op,
    pub input: usize,
    pub output: usize,
    /// Shapes of one image (without the batch axis).
    pub in_shape: Vec<usize>,
    pub out_shape: Vec<usize>,
}

/// An imported network.
#[derive(Debug, Clone)]
pub struct Net {
    pub input: String,
    /// The input's shape for one image.
    pub sample_in: Vec<usize>,
    pub output: String,
    pub output_id: usize,
    pub layers: Vec<Layer>,
}

impl Net {
    /// Values per image of the input.
    pub fn in_len(&self) -> usize {
        self.sample_in.iter().product()
    }

    fn out_layer(&self) -> &Layer {
        self.layers
            .iter()
            .find(|l| l.output == self.output_id)
            .expect("the output is a layer's")
    }

    /// Values per image of the output.
    pub fn out_len(&self) -> usize {
        self.out_layer().out_shape.iter().product()
    }

    /// The output's element type: float32 (after DequantizeLinear) or the 8-bit type.
    pub fn out_type(&self) -> Option<QType> {
        let l = self.out_layer();
        match &l.op {
            Op::Dequantize(_) => None,
            _ => Some(self.q_type(l.output)),
        }
    }

    fn q_type(&self, id: usize) -> QType {
        let l = &self
            .layers
            .iter()
            .find(|l| l.output == id)
            .expect("a layer's output");
        match &l.op {
            Op::Quantize(q) => q.ty,
            Op::Dense(d) => d.y.ty,
            Op::Add(a) => a.params.c.ty,
            Op::MaxPool(_) | Op::Reshape => self.q_type(l.input),
            Op::Dequantize(q) => q.ty,
        }
    }
}

/// Read and import an ONNX model.
pub fn load(path: &Path) -> Result<Net, ImportError> {
    import::import(&onnx::read(path)?)
}

/// Whether `cfg` can run the layers: a signed integer format of at least 8 bits (int8 values)
/// and accumulators of at least 32 bits (the int32 result is the sum modulo 2^32, as ORT's).
pub fn check_config(cfg: &Config) -> Result<(), String> {
    match cfg.format {
        NumberFormat::Int { bits, signed: true } if bits >= 8 && cfg.acc_bits >= 32 => Ok(()),
        _ => Err(format!(
            "the engine's format is {} with {}-bit accumulators; quantised models need a signed \
             integer format of at least 8 bits and accumulators of at least 32 bits (e.g. \
             --format int8 --acc-bits 32)",
            cfg.format, cfg.acc_bits
        )),
    }
}

/// One layer's plan for a batch.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPlan {
    pub node: String,
    pub op: String,
    /// `engine` or `host`.
    pub place: &'static str,
    /// With the batch axis.
    pub in_shape: Vec<usize>,
    pub out_shape: Vec<usize>,
    /// The product on the engine: `[M, K, N]`.
    pub gemm: Option<[usize; 3]>,
    pub tiling: Option<gemm::Tiling>,
    pub macs: u64,
    /// Bytes: weights (int8), the ACTIVATE table (fp32 scale and int32 bias per channel), the
    /// input, the im2col matrix, the output.
    pub weight_bytes: usize,
    pub table_bytes: usize,
    pub in_bytes: usize,
    pub im2col_bytes: usize,
    pub out_bytes: usize,
    /// Engine layers: the cycles the timing model predicts for the product's core command
    /// stream ([`gemm::predicted_cycles`]; what they cover: [`CYCLES_COVER`]).
    pub cycles: Option<u64>,
    /// Engine layers on the memory path: the product's plan there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryPlan>,
}

/// An engine layer's product over the memory path (`C = A x B`: `A` the activations, `N x K`;
/// `B` the weights, `K x M`).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryPlan {
    pub schedule: &'static str,
    /// The weights stay in the SBUF, read once (panel schedule with more than one block of
    /// rows).
    pub resident_weights: bool,
    /// Tiles of C's rows (images or positions), of K, of C's columns (channels).
    pub tiles: mem_gemm::Tiles,
    /// `activate` (requantised on chip) or `host` (raw int32 stored: a nonzero weight zero
    /// point).
    pub write_back: &'static str,
    /// Bytes the DMA reads (A, B, tables as often as the schedule loads them) and writes (C).
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// `max(M K N / PEs, bytes / bus bytes)`.
    pub roofline_cycles: u64,
    /// The planner's rough estimate ([`mem_gemm::Plan::estimate`]).
    pub estimated_cycles: u64,
}

fn memory_plan(cfg: &Config, d: &Dense, n: usize) -> Result<MemoryPlan, MemGemmError> {
    let on_chip = d.requantises_on_chip();
    let out = if on_chip {
        mem_gemm::OutDtype::Int8
    } else {
        mem_gemm::OutDtype::Int32
    };
    let p = mem_gemm::plan(cfg, n, d.k, d.m, out, None)?;
    let wb = mem_gemm::WriteBack {
        out,
        ..mem_gemm::WriteBack::raw()
    };
    let read_bytes = p.read_bytes(&wb, cfg.cols);
    let write_bytes = (n * d.m) as u64 * u64::from(out.bytes());
    let bus = u64::from(cfg.dma_bits / 8);
    Ok(MemoryPlan {
        schedule: p.schedule.name(),
        resident_weights: p.resident,
        tiles: p.tiles,
        write_back: if on_chip { "activate" } else { "host" },
        read_bytes,
        write_bytes,
        roofline_cycles: ((d.m * d.k * n) as u64)
            .div_ceil(cfg.pes())
            .max(read_bytes.div_ceil(bus))
            .max(write_bytes.div_ceil(bus)),
        estimated_cycles: p.estimate(cfg),
    })
}

/// What the predicted cycles of a plan cover (printed with them).
pub const CYCLES_COVER: &str = "array core cycles predicted by the timing model \
    (src/golden/timing.rs) for a stall-free run of each product's LOAD_STATIONARY / \
    MULTIPLY_MOVING / PSUM-read stream on the core; not counted: the engine's instruction \
    dispatch and early swap, host transfers (SBUF writes, PSUM reads over the bus), host \
    layers and the write-back, so not an end-to-end time";

/// What the memory path's estimated cycles cover (printed with them).
pub const ESTIMATE_COVERS: &str = "the memory-path planner's rough estimate per product (the \
    larger of the array's steps and the read bus's bursts at a 20-cycle latency; \
    src/engine/mem_gemm/plan.rs), used to choose its schedule; not counted: the write-back, \
    stores, dispatch, host layers; not a timing model";

/// The predicted cycles of all engine layers of a plan (register path: the timing model's;
/// memory path: the planner's estimates) and what they cover.
pub fn total_cycles(plans: &[LayerPlan]) -> (u64, &'static str) {
    let register: u64 = plans.iter().filter_map(|p| p.cycles).sum();
    let memory: u64 = plans
        .iter()
        .filter_map(|p| p.memory.as_ref())
        .map(|m| m.estimated_cycles)
        .sum();
    if plans.iter().any(|p| p.memory.is_some()) {
        (memory, ESTIMATE_COVERS)
    } else {
        (register, CYCLES_COVER)
    }
}

fn op_name(op: &Op) -> String {
    match op {
        Op::Quantize(_) => "QuantizeLinear".into(),
        Op::Dense(d) => d.kind.into(),
        Op::Add(a) if a.float => "Add (float, DequantizeLinear/QuantizeLinear)".into(),
        Op::Add(_) => "QLinearAdd".into(),
        Op::MaxPool(_) => "MaxPool".into(),
        Op::Reshape => "Flatten/Reshape".into(),
        Op::Dequantize(_) => "DequantizeLinear".into(),
    }
}

/// The plan of every layer for `batch` images on `cfg` over `path` (refuses what the GEMM
/// cannot tile).
pub fn plan(
    net: &Net,
    cfg: &Config,
    batch: usize,
    path: DataPath,
) -> Result<Vec<LayerPlan>, RunError> {
    net.layers
        .iter()
        .map(|l| {
            let with_batch = |s: &[usize]| [&[batch][..], s].concat();
            let numel = |s: &[usize]| batch * s.iter().product::<usize>();
            let elem = |float: bool| if float { 4 } else { 1 };
            let in_float = l.input == 0;
            let out_float = matches!(l.op, Op::Dequantize(_));
            let mut p = LayerPlan {
                node: l.node.clone(),
                op: op_name(&l.op),
                place: "host",
                in_shape: with_batch(&l.in_shape),
                out_shape: with_batch(&l.out_shape),
                gemm: None,
                tiling: None,
                macs: 0,
                weight_bytes: 0,
                table_bytes: 0,
                in_bytes: numel(&l.in_shape) * elem(in_float),
                im2col_bytes: 0,
                out_bytes: numel(&l.out_shape) * elem(out_float),
                cycles: None,
                memory: None,
            };
            if let Op::Dense(d) = &l.op {
                let n = if d.conv.is_some() {
                    batch * l.out_shape[1..].iter().product::<usize>()
                } else {
                    batch
                };
                p.place = "engine";
                p.gemm = Some([d.m, d.k, n]);
                match path {
                    DataPath::Register => {
                        let opts = GemmOptions::default();
                        p.tiling = Some(gemm::tiling(cfg, d.m, d.k, n, &opts)?);
                        p.cycles = Some(gemm::predicted_cycles(cfg, d.m, d.k, n, &opts)?);
                    }
                    DataPath::Memory => p.memory = Some(memory_plan(cfg, d, n)?),
                }
                p.macs = (d.m * d.k * n) as u64;
                p.weight_bytes = d.m * d.k;
                p.table_bytes = 8 * d.m;
                if d.conv.is_some() {
                    p.im2col_bytes = d.k * n;
                }
            }
            Ok(p)
        })
        .collect()
}

/// Which way a dense layer's operands and results travel (see [`dense`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataPath {
    /// The host writes SBUF and reads PSUM through the register window and requantises.
    #[default]
    Register,
    /// The engine's DMA and write-back over memory (a `dma = true` engine).
    Memory,
}

/// Why a run failed: a product refused or failed on either path.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Gemm(#[from] GemmError),
    #[error(transparent)]
    Memory(#[from] MemGemmError),
}

impl From<crate::engine::BackendError> for RunError {
    fn from(e: crate::engine::BackendError) -> Self {
        RunError::Memory(e.into())
    }
}

/// What a run did on the engine.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    pub path: DataPath,
    /// Matrix products run on the engine.
    pub gemms: u64,
    /// Useful MACs counted by the engine.
    pub macs: u64,
    pub instructions: u64,
    /// Engine busy cycles (0 on the golden model, which has no clock).
    pub busy_cycles: u64,
    /// Memory bytes the engine's DMA read and wrote (memory path).
    pub dma_read_bytes: u64,
    pub dma_write_bytes: u64,
    /// Clock cycles from the first transfer of the run to the last result read, on back ends
    /// with a clock (0 on the golden model): every cycle the host drove the engine's bus,
    /// waits for the engine included. The host layers (QuantizeLinear, im2col, pooling, the
    /// requantisation of read-back accumulators) take no simulated cycles: they run between
    /// transfers, as if the host were infinitely fast; on the memory path so do the host's
    /// writes and reads of the memory behind the engine.
    pub end_to_end_cycles: u64,
    /// Each product on the engine, in order.
    pub products: Vec<ProductStats>,
}

impl RunStats {
    fn add(&mut self, p: ProductStats, instructions: u64) {
        self.gemms += 1;
        self.macs += p.macs;
        self.instructions += instructions;
        self.busy_cycles += p.busy_cycles;
        self.dma_read_bytes += p.dma_read_bytes;
        self.dma_write_bytes += p.dma_write_bytes;
        self.products.push(p);
    }
}

/// A network's output: float32 values (after DequantizeLinear) or 8-bit values.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    F32(Vec<f32>),
    Q(Vec<i32>, QType),
}

enum Tensor {
    F32(Vec<f32>),
    Q(Vec<i32>),
}

/// Run `net` on `batch` images (`x`: `batch * net.in_len()` float32 values, row-major), the
/// products on `engine` over `path`.
pub fn run(
    net: &Net,
    engine: &mut dyn Engine,
    x: &[f32],
    batch: usize,
    path: DataPath,
) -> Result<(Output, RunStats), RunError> {
    assert_eq!(x.len(), batch * net.in_len(), "input length");
    let mut vals: Vec<Option<Tensor>> = Vec::new();
    vals.push(Some(Tensor::F32(x.to_vec())));
    let mut stats = RunStats {
        path,
        ..RunStats::default()
    };
    let start = engine.host_cycles();
    for l in &net.layers {
        let out = match (&l.op, vals[l.input].as_ref().expect("computed before")) {
            (Op::Quantize(q), Tensor::F32(v)) => {
                Tensor::Q(v.iter().map(|&f| ops::quantize(f, *q)).collect())
            }
            (Op::Dequantize(q), Tensor::Q(v)) => {
                Tensor::F32(v.iter().map(|&i| ops::dequantize(i, *q)).collect())
            }
            (Op::Dense(d), Tensor::Q(v)) => {
                let on = match path {
                    DataPath::Register => dense::on_registers,
                    DataPath::Memory => dense::on_memory,
                };
                let shape = (batch, &l.in_shape[..]);
                Tensor::Q(on(engine, (&l.node, d), v, shape, &mut stats)?)
            }
            (Op::Add(a), Tensor::Q(v)) => {
                let (x, y) = if a.const_first {
                    (&a.b[..], &v[..])
                } else {
                    (&v[..], &a.b[..])
                };
                Tensor::Q(if a.float {
                    ops::float_add(x, y, &a.params)
                } else {
                    a.params.run(x, y)
                })
            }
            (Op::MaxPool(w), Tensor::Q(v)) => {
                let [c, h, wd] = l.in_shape[..] else {
                    unreachable!("checked at import")
                };
                Tensor::Q(ops::max_pool(v, batch, [c, h, wd], w))
            }
            (Op::Reshape, Tensor::Q(v)) => Tensor::Q(v.clone()),
            _ => unreachable!("the importer types every layer's input"),
        };
        if vals.len() <= l.output {
            vals.resize_with(l.output + 1, || None);
        }
        vals[l.output] = Some(out);
    }
    let out = match vals[net.output_id].take().expect("the output is computed") {
        Tensor::F32(v) => Output::F32(v),
        Tensor::Q(v) => Output::Q(v, net.out_type().expect("an 8-bit output")),
    };
    stats.end_to_end_cycles = engine.host_cycles() - start;
    Ok((out, stats))
}
