//! Recognising a quantised ONNX graph (QOperator or QDQ form) as a list of [`Layer`]s.
//!
//! Nodes are visited in file order (topological). Each tensor name gets a [`Val`]: the graph's
//! float input, a runtime 8-bit tensor, the DequantizeLinear of one (kept symbolic), a constant,
//! the DequantizeLinear of a constant, or a float operator of the QDQ form waiting for the
//! QuantizeLinear that closes its group. QDQ groups become the layers ONNX Runtime fuses them
//! into (QLinearMatMul, QLinearConv, QGemm, QLinearAdd; MaxPool and Flatten on the 8-bit
//! tensor with the DequantizeLinear / QuantizeLinear pair dropped), so both forms lower to the
//! same layers. Anything else is refused before any work, naming the node.

use std::collections::HashMap;

use crate::golden::requant::{scale_qgemm, scale_qlinear};

use super::onnx::{Const, Elem, Graph, Node};
use super::ops::{QAdd, QParams, QType, Window};
use super::{AddLayer, Dense, ImportError, Layer, Net, Op};

/// What the importer supports, for the refusal message.
pub const SUPPORTED: &str = "QuantizeLinear, DequantizeLinear, QLinearMatMul, QLinearConv, \
     com.microsoft QLinearAdd and QGemm, MaxPool, Flatten, Reshape (QOperator form), and \
     MatMul, Gemm, Conv, Add, MaxPool, Flatten, Reshape between DequantizeLinear and \
     QuantizeLinear (QDQ form)";

/// The value of one tensor name during import.
#[derive(Debug, Clone)]
enum Val {
    /// A runtime float tensor (the graph input, or the output of a DequantizeLinear layer).
    Float { id: usize, shape: Vec<usize> },
    /// A runtime 8-bit tensor of type `ty`.
    Q {
        id: usize,
        shape: Vec<usize>,
        ty: QType,
    },
    /// DequantizeLinear of a runtime 8-bit tensor.
    Dq {
        id: usize,
        shape: Vec<usize>,
        q: QParams,
    },
    /// An initializer.
    Const(String),
    /// DequantizeLinear of an initializer: scales and zero points (one, or one per `axis`
    /// slice).
    ConstDq {
        name: String,
        scale: Vec<f32>,
        zp: Vec<i64>,
        axis: usize,
    },
    /// A float operator of the QDQ form waiting for its QuantizeLinear.
    Pending { node: usize, args: Vec<Val> },
}

struct Importer<'g> {
    g: &'g Graph,
    vals: HashMap<String, Val>,
    layers: Vec<Layer>,
    next_id: usize,
}

fn node_err(n: &Node, reason: impl Into<String>) -> ImportError {
    ImportError::Node {
        node: n.label.clone(),
        reason: reason.into(),
    }
}

/// Import a decoded graph.
pub fn import(g: &Graph) -> Result<Net, ImportError> {
    let [input] = &g.inputs[..] else {
        return Err(ImportError::Graph(format!(
            "the graph has {} inputs; exactly one (the batch of float inputs) is supported",
            g.inputs.len()
        )));
    };
    if input.elem != Some(Elem::F32) || input.dims.len() < 2 {
        return Err(ImportError::Graph(format!(
            "input '{}' must be a float tensor [batch, ...] of at least 2 dimensions",
            input.name
        )));
    }
    let sample: Option<Vec<usize>> = input.dims[1..].iter().copied().collect();
    let sample = sample.ok_or_else(|| {
        ImportError::Graph(format!(
            "input '{}' has symbolic dimensions after the batch axis",
            input.name
        ))
    })?;
    let [output] = &g.outputs[..] else {
        return Err(ImportError::Graph(format!(
            "the graph has {} outputs; exactly one is supported",
            g.outputs.len()
        )));
    };
    let mut im = Importer {
        g,
        vals: HashMap::new(),
        layers: Vec::new(),
        next_id: 1,
    };
    im.vals.insert(
        input.name.clone(),
        Val::Float {
            id: 0,
            shape: sample.clone(),
        },
    );
    for i in 0..g.nodes.len() {
        im.node(i)?;
    }
    let out = im.val(output).ok_or_else(|| {
        ImportError::Graph(format!("the output '{output}' is not computed by any node"))
    })?;
    let output_id = match out {
        Val::Dq { id, shape, q } => {
            let label = format!("DequantizeLinear of '{output}'");
            im.push(label, Op::Dequantize(q), id, shape.clone(), shape)
        }
        Val::Q { id, .. } if id != 0 => id,
        _ => {
            return Err(ImportError::Graph(format!(
                "the output '{output}' is not a quantised result (it must come from a \
                 DequantizeLinear or be an 8-bit tensor)"
            )))
        }
    };
    Ok(Net {
        input: input.name.clone(),
        sample_in: sample,
        output: output.clone(),
        output_id,
        layers: im.layers,
    })
}

impl<'g> Importer<'g> {
    fn val(&self, name: &str) -> Option<Val> {
        self.vals.get(name).cloned().or_else(|| {
            self.g
                .consts
                .contains_key(name)
                .then(|| Val::Const(name.to_string()))
        })
    }

    fn arg(&self, n: &Node, i: usize) -> Result<Val, ImportError> {
        let name = n
            .input(i)
            .ok_or_else(|| node_err(n, format!("input {i} is missing")))?;
        self.val(name)
            .ok_or_else(|| node_err(n, format!("input '{name}' is not computed before it")))
    }

    fn konst(&self, n: &Node, i: usize) -> Result<&'g Const, ImportError> {
        match self.arg(n, i)? {
            Val::Const(name) => Ok(&self.g.consts[&name]),
            _ => Err(node_err(
                n,
                format!("input {i} ('{}') must be an initializer", n.inputs[i]),
            )),
        }
    }

    fn push(
        &mut self,
        node: String,
        op: Op,
        input: usize,
        in_shape: Vec<usize>,
        out_shape: Vec<usize>,
    ) -> usize {
        let output = self.next_id;
        self.next_id += 1;
        self.layers.push(Layer {
            node,
            op,
            input,
            output,
            in_shape,
            out_shape,
        });
        output
    }

    fn set(&mut self, n: &Node, v: Val) {
        if let Some(name) = n.outputs.first() {
            self.vals.insert(name.clone(), v);
        }
    }

    fn node(&mut self, i: usize) -> Result<(), ImportError> {
        let n = &self.g.nodes[i];
        if n.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(node_err(n, "only the first output may be used"));
        }
        let v = match (n.domain.as_str(), n.op.as_str()) {
            ("ai.onnx", "QuantizeLinear") => self.quantize(n)?,
            ("ai.onnx", "DequantizeLinear") => self.dequantize(n)?,
            ("ai.onnx", "QLinearMatMul") => self.qlinear_dense(n, "QLinearMatMul")?,
            ("ai.onnx", "QLinearConv") => self.qlinear_dense(n, "QLinearConv")?,
            ("com.microsoft", "QGemm") => self.qlinear_dense(n, "QGemm")?,
            ("com.microsoft", "QLinearAdd") => self.qlinear_add(n)?,
            ("ai.onnx", "MaxPool" | "Flatten" | "Reshape") => self.layout_op(n)?,
            ("ai.onnx", "MatMul" | "Gemm" | "Conv" | "Add") => {
                let args = (0..n.inputs.len())
                    .filter(|&k| n.input(k).is_some())
                    .map(|k| self.arg(n, k))
                    .collect::<Result<Vec<_>, _>>()?;
                Val::Pending { node: i, args }
            }
            _ => {
                return Err(ImportError::Unsupported {
                    node: n.label.clone(),
                    op: format!("{}.{}", n.domain, n.op),
                })
            }
        };
        self.set(n, v);
        Ok(())
    }

    /// A scale (`f32` scalar or vector) and zero point (same length, or absent: 0 of `uint8`,
    /// ONNX's default) from inputs `si` and `zi`.
    fn params(
        &self,
        n: &Node,
        si: usize,
        zi: usize,
    ) -> Result<(Vec<f32>, Vec<i64>, Elem), ImportError> {
        let s = self.konst(n, si)?;
        if s.elem != Elem::F32 || s.is_empty() {
            return Err(node_err(n, format!("scale '{}' must be float", s.name)));
        }
        let (zp, elem) = match n.input(zi) {
            Some(_) => {
                let z = self.konst(n, zi)?;
                (z.i.clone(), z.elem)
            }
            None => (vec![0; s.len()], Elem::U8),
        };
        if zp.len() != s.len() {
            return Err(node_err(n, "scale and zero point differ in length"));
        }
        Ok((s.f.clone(), zp, elem))
    }

    /// Per-tensor 8-bit parameters from inputs `si`, `zi`.
    fn qparams(&self, n: &Node, si: usize, zi: usize) -> Result<QParams, ImportError> {
        let (s, z, elem) = self.params(n, si, zi)?;
        let ty = qtype(n, elem)?;
        match (&s[..], &z[..]) {
            ([scale], [zp]) => Ok(QParams {
                scale: *scale,
                zp: *zp as i32,
                ty,
            }),
            _ => Err(node_err(
                n,
                "an activation's scale and zero point must be per tensor",
            )),
        }
    }

    fn quantize(&mut self, n: &Node) -> Result<Val, ImportError> {
        let q = self.qparams(n, 1, 2)?;
        Ok(match self.arg(n, 0)? {
            Val::Float { id: 0, shape } => {
                let id = self.push(
                    n.label.clone(),
                    Op::Quantize(q),
                    0,
                    shape.clone(),
                    shape.clone(),
                );
                Val::Q {
                    id,
                    shape,
                    ty: q.ty,
                }
            }
            Val::Dq { id, shape, q: p } if p == q => Val::Q {
                id,
                shape,
                ty: q.ty,
            },
            Val::Dq { .. } => {
                return Err(node_err(
                    n,
                    "requantising a DequantizeLinear output to other parameters is not supported",
                ))
            }
            Val::Pending { node, args } => self.fuse(node, args, n, q)?,
            _ => {
                return Err(node_err(
                    n,
                    "its input must be the graph input or a QDQ group",
                ))
            }
        })
    }

    fn dequantize(&mut self, n: &Node) -> Result<Val, ImportError> {
        Ok(match self.arg(n, 0)? {
            Val::Const(name) => {
                let (scale, zp, _) = self.params(n, 1, 2)?;
                let c = &self.g.consts[&name];
                let axis = n.int("axis", 1);
                let axis = usize::try_from(axis)
                    .ok()
                    .filter(|&a| scale.len() == 1 || (a < c.dims.len() && c.dims[a] == scale.len()))
                    .ok_or_else(|| node_err(n, "per-axis scales must match the axis' length"))?;
                Val::ConstDq {
                    name,
                    scale,
                    zp,
                    axis,
                }
            }
            Val::Q { id, shape, ty } => {
                let q = self.qparams(n, 1, 2)?;
                if q.ty != ty {
                    return Err(node_err(
                        n,
                        "the zero point's type differs from the input's",
                    ));
                }
                Val::Dq { id, shape, q }
            }
            _ => {
                return Err(node_err(
                    n,
                    "its input must be an 8-bit tensor or an initializer",
                ))
            }
        })
    }
}

fn qtype(n: &Node, e: Elem) -> Result<QType, ImportError> {
    match e {
        Elem::I8 => Ok(QType::Int8),
        Elem::U8 => Ok(QType::Uint8),
        _ => Err(node_err(
            n,
            format!("8-bit tensors are int8 or uint8, not {}", e.name()),
        )),
    }
}

/// How a weight tensor is laid out.
#[derive(Clone, Copy)]
enum WLayout {
    /// `[K, N]` (MatMul, Gemm with transB = 0).
    Kn,
    /// `[N, K]` (Gemm with transB = 1).
    Nk,
    /// `[M, C, kh, kw]` (Conv).
    Mchw,
}

/// Everything a dense layer is built from.
struct DenseSpec<'a> {
    kind: &'static str,
    x: QParams,
    w: &'a Const,
    w_scale: Vec<f32>,
    w_zp: Vec<i64>,
    layout: WLayout,
    bias: Option<Vec<i64>>,
    y: QParams,
    alpha: Option<f32>,
}

impl Importer<'_> {
    /// QLinearMatMul, QLinearConv, com.microsoft QGemm.
    fn qlinear_dense(&mut self, n: &Node, kind: &'static str) -> Result<Val, ImportError> {
        let (id, shape) = match self.arg(n, 0)? {
            Val::Q { id, shape, .. } => (id, shape),
            _ => return Err(node_err(n, "input 0 must be a computed 8-bit tensor")),
        };
        let x = self.qparams(n, 1, 2)?;
        let w = self.konst(n, 3)?;
        let (w_scale, w_zp, w_elem) = self.params(n, 4, 5)?;
        qtype(n, w_elem)?;
        let (bias_at, y_at) = match kind {
            "QLinearMatMul" => (None, 6),
            "QLinearConv" => (Some(8), 6),
            _ => (Some(6), 7),
        };
        if kind == "QGemm" && n.input(7).is_none() {
            return Err(node_err(
                n,
                "a QGemm with float output (no y_scale) is not supported",
            ));
        }
        let y = self.qparams(n, y_at, y_at + 1)?;
        let bias = match bias_at.and_then(|b| n.input(b).map(|_| b)) {
            Some(b) => {
                let c = self.konst(n, b)?;
                if c.elem != Elem::I32 {
                    return Err(node_err(n, "the bias must be int32"));
                }
                Some(c.i.clone())
            }
            None => None,
        };
        let layout = match kind {
            "QLinearConv" => WLayout::Mchw,
            "QGemm" => self.gemm_layout(n)?,
            _ => WLayout::Kn,
        };
        let spec = DenseSpec {
            kind,
            x,
            w,
            w_scale,
            w_zp,
            layout,
            bias,
            y,
            alpha: (kind == "QGemm").then(|| n.float("alpha", 1.0)),
        };
        self.dense(n, spec, id, shape)
    }

    fn gemm_layout(&self, n: &Node) -> Result<WLayout, ImportError> {
        if n.int("transA", 0) != 0 {
            return Err(node_err(n, "transA = 1 is not supported"));
        }
        Ok(if n.int("transB", 0) != 0 {
            WLayout::Nk
        } else {
            WLayout::Kn
        })
    }

    /// Build the dense layer (weights as the stationary `M x K` matrix, zero points folded).
    fn dense(
        &mut self,
        n: &Node,
        s: DenseSpec,
        input: usize,
        in_shape: Vec<usize>,
    ) -> Result<Val, ImportError> {
        let w_ty = qtype(n, s.w.elem)?;
        let (m, k, conv, out_shape) = match (s.layout, &s.w.dims[..], &in_shape[..]) {
            (WLayout::Kn, [k, m], [kin]) if k == kin => (*m, *k, None, vec![*m]),
            (WLayout::Nk, [m, k], [kin]) if k == kin => (*m, *k, None, vec![*m]),
            (WLayout::Mchw, [m, c, kh, kw], [cin, h, w]) if c == cin => {
                let win = conv_window(n, [*kh, *kw])?;
                let (oh, ow) = win
                    .out_size(*h, *w)
                    .ok_or_else(|| node_err(n, "the kernel does not fit the input"))?;
                (*m, c * kh * kw, Some(win), vec![*m, oh, ow])
            }
            _ => {
                return Err(node_err(
                    n,
                    format!(
                        "weights {:?} do not fit the input's per-image shape {in_shape:?}",
                        s.w.dims
                    ),
                ))
            }
        };
        let per = |v: &[f32]| -> Result<Vec<f32>, ImportError> {
            match v.len() {
                1 => Ok(vec![v[0]; m]),
                l if l == m => Ok(v.to_vec()),
                l => Err(node_err(
                    n,
                    format!("{l} weight scales for {m} output channels"),
                )),
            }
        };
        let w_scale = per(&s.w_scale)?;
        let w_zp: Vec<i32> = match s.w_zp.len() {
            1 => vec![s.w_zp[0] as i32; m],
            l if l == m => s.w_zp.iter().map(|&z| z as i32).collect(),
            l => {
                return Err(node_err(
                    n,
                    format!("{l} weight zero points for {m} channels"),
                ))
            }
        };
        let bias = match &s.bias {
            None => vec![0; m],
            Some(b) if b.len() == m => b.iter().map(|&v| v as i32).collect(),
            Some(b) if b.len() == 1 => vec![b[0] as i32; m],
            Some(b) => {
                return Err(node_err(
                    n,
                    format!("{} bias values for {m} channels", b.len()),
                ))
            }
        };
        let shift = w_ty.shift();
        let a: Vec<i64> = (0..m * k)
            .map(|i| {
                let (mi, ki) = (i / k, i % k);
                let v = match s.layout {
                    WLayout::Kn => s.w.i[ki * m + mi],
                    WLayout::Nk | WLayout::Mchw => s.w.i[i],
                };
                v - i64::from(shift)
            })
            .collect();
        let xz = s.x.zp - s.x.ty.shift();
        let wz: Vec<i32> = w_zp.iter().map(|z| z - shift).collect();
        // acc = sum (x - xz)(w - wz) = sum x'w' - wz' sum x' - xz' sum w' + K xz' wz', with
        // x' = x - shift(x), w' = w - shift(w): the last two terms are per channel (the bias).
        let bias: Vec<i32> = (0..m)
            .map(|mi| {
                let sw = a[mi * k..][..k]
                    .iter()
                    .map(|&v| v as i32)
                    .fold(0i32, i32::wrapping_add);
                bias[mi]
                    .wrapping_sub(xz.wrapping_mul(sw))
                    .wrapping_add((k as i32).wrapping_mul(xz).wrapping_mul(wz[mi]))
            })
            .collect();
        let multiplier = w_scale
            .iter()
            .map(|&ws| match s.alpha {
                Some(alpha) => scale_qgemm(alpha, s.x.scale, ws, s.y.scale),
                None => scale_qlinear(s.x.scale, ws, s.y.scale),
            })
            .collect();
        let dense = Dense {
            kind: s.kind,
            m,
            k,
            a,
            bias,
            wz,
            x: s.x,
            y: s.y,
            multiplier,
            per_channel: s.w_scale.len() > 1,
            conv,
        };
        let id = self.push(
            n.label.clone(),
            Op::Dense(Box::new(dense)),
            input,
            in_shape,
            out_shape.clone(),
        );
        Ok(Val::Q {
            id,
            shape: out_shape,
            ty: s.y.ty,
        })
    }
}

fn window(n: &Node, kernel: [usize; 2]) -> Result<Window, ImportError> {
    if n.string("auto_pad").is_some_and(|p| p != "NOTSET") {
        return Err(node_err(n, "auto_pad is not supported (give pads)"));
    }
    let two = |name: &str, default: usize| -> Result<[usize; 2], ImportError> {
        match n.ints(name) {
            None => Ok([default; 2]),
            Some([a, b]) if *a >= 1 && *b >= 1 => Ok([*a as usize, *b as usize]),
            Some(v) => Err(node_err(
                n,
                format!("{name} = {v:?}: two positive values expected"),
            )),
        }
    };
    let pads = match n.ints("pads") {
        None => [0; 4],
        Some(p) if p.len() == 4 && p.iter().all(|&v| v >= 0) => {
            [p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize]
        }
        Some(p) => {
            return Err(node_err(
                n,
                format!("pads = {p:?}: four values >= 0 expected"),
            ))
        }
    };
    Ok(Window {
        kernel,
        strides: two("strides", 1)?,
        pads,
        dilations: two("dilations", 1)?,
    })
}

fn conv_window(n: &Node, kernel: [usize; 2]) -> Result<Window, ImportError> {
    if n.int("group", 1) != 1 {
        return Err(node_err(n, "group != 1 is not supported"));
    }
    if let Some(ks) = n.ints("kernel_shape") {
        if ks.len() != 2 || ks[0] as usize != kernel[0] || ks[1] as usize != kernel[1] {
            return Err(node_err(n, "kernel_shape differs from the weights' shape"));
        }
    }
    window(n, kernel)
}

impl Importer<'_> {
    /// MaxPool, Flatten, Reshape: on a runtime 8-bit tensor, or on its DequantizeLinear (then
    /// the result is the DequantizeLinear of the 8-bit result: ORT drops the pair around them).
    fn layout_op(&mut self, n: &Node) -> Result<Val, ImportError> {
        let (id, shape, q, ty) = match self.arg(n, 0)? {
            Val::Q { id, shape, ty } => (id, shape, None, ty),
            Val::Dq { id, shape, q } => (id, shape, Some(q), q.ty),
            _ => {
                return Err(node_err(
                    n,
                    "input 0 must be an 8-bit tensor or its DequantizeLinear",
                ))
            }
        };
        let (op, out_shape) = match n.op.as_str() {
            "MaxPool" => {
                let win = pool_window(n)?;
                let [c, h, w] = shape[..] else {
                    return Err(node_err(n, "MaxPool needs [batch, C, H, W] input"));
                };
                let (oh, ow) = win
                    .out_size(h, w)
                    .ok_or_else(|| node_err(n, "the window does not fit the input"))?;
                (Op::MaxPool(win), vec![c, oh, ow])
            }
            "Flatten" => {
                if n.int("axis", 1) != 1 {
                    return Err(node_err(
                        n,
                        "only axis = 1 (keep the batch axis) is supported",
                    ));
                }
                (Op::Reshape, vec![shape.iter().product()])
            }
            _ => (Op::Reshape, self.reshape(n, &shape)?),
        };
        let out = self.push(n.label.clone(), op, id, shape, out_shape.clone());
        Ok(match q {
            Some(q) => Val::Dq {
                id: out,
                shape: out_shape,
                q,
            },
            None => Val::Q {
                id: out,
                shape: out_shape,
                ty,
            },
        })
    }

    fn reshape(&self, n: &Node, shape: &[usize]) -> Result<Vec<usize>, ImportError> {
        let c = self.konst(n, 1)?;
        let numel: usize = shape.iter().product();
        let rest: Option<Vec<usize>> =
            c.i.iter()
                .skip(1)
                .map(|&d| usize::try_from(d).ok())
                .collect();
        match (c.i.first(), rest) {
            (Some(0 | -1), Some(rest)) if rest.iter().product::<usize>() == numel => Ok(rest),
            _ => Err(node_err(
                n,
                format!(
                    "shape {:?}: the batch axis first (0 or -1), then fixed sizes holding {numel} \
                     values, is supported",
                    c.i
                ),
            )),
        }
    }
}

fn pool_window(n: &Node) -> Result<Window, ImportError> {
    let k = match n.ints("kernel_shape") {
        Some([a, b]) if *a >= 1 && *b >= 1 => [*a as usize, *b as usize],
        _ => return Err(node_err(n, "a 2-D kernel_shape is required")),
    };
    if n.int("ceil_mode", 0) != 0 || n.int("storage_order", 0) != 0 {
        return Err(node_err(n, "ceil_mode and storage_order must be 0"));
    }
    window(n, k)
}

impl Importer<'_> {
    /// com.microsoft QLinearAdd: one input computed, the other an 8-bit initializer.
    fn qlinear_add(&mut self, n: &Node) -> Result<Val, ImportError> {
        let p = QAdd {
            a: self.qparams(n, 1, 2)?,
            b: self.qparams(n, 4, 5)?,
            c: self.qparams(n, 6, 7)?,
        };
        let (a, b) = (self.arg(n, 0)?, self.arg(n, 3)?);
        let (run, konst, b_first) = match (a, b) {
            (Val::Q { id, shape, .. }, Val::Const(c)) => ((id, shape), c, false),
            (Val::Const(c), Val::Q { id, shape, .. }) => ((id, shape), c, true),
            _ => {
                return Err(node_err(
                    n,
                    "one input must be computed and the other an initializer",
                ))
            }
        };
        let c = &self.g.consts[&konst];
        qtype(n, c.elem)?;
        self.add_layer(n, p, run, c, b_first, false)
    }

    fn add_layer(
        &mut self,
        n: &Node,
        params: QAdd,
        (id, shape): (usize, Vec<usize>),
        c: &Const,
        const_first: bool,
        float: bool,
    ) -> Result<Val, ImportError> {
        // The constant broadcasts along the trailing axes of [batch, ...shape].
        let dims: Vec<usize> = c.dims.iter().copied().skip_while(|&d| d == 1).collect();
        if !shape.ends_with(&dims) {
            return Err(node_err(
                n,
                format!(
                    "the constant {:?} does not broadcast along the trailing axes of {shape:?}",
                    c.dims
                ),
            ));
        }
        let ty = params.c.ty;
        let layer = AddLayer {
            params,
            b: c.i.iter().map(|&v| v as i32).collect(),
            const_first,
            float,
        };
        let out = self.push(
            n.label.clone(),
            Op::Add(layer),
            id,
            shape.clone(),
            shape.clone(),
        );
        Ok(Val::Q { id: out, shape, ty })
    }

    /// A QDQ group closed by QuantizeLinear `qn` with output parameters `y`: the float node
    /// `node` on DequantizeLinear inputs `args`, as the layer ONNX Runtime fuses it into.
    fn fuse(
        &mut self,
        node: usize,
        args: Vec<Val>,
        qn: &Node,
        y: QParams,
    ) -> Result<Val, ImportError> {
        let n = &self.g.nodes[node];
        let label = format!("{} + {}", n.label, qn.label);
        let (id, shape, x) = match args.first() {
            Some(Val::Dq { id, shape, q }) => (*id, shape.clone(), *q),
            Some(Val::ConstDq { .. }) if n.op == "Add" => return self.fuse_add(n, args, y, label),
            _ => {
                return Err(node_err(
                    n,
                    "input 0 must be a DequantizeLinear of a computed tensor",
                ))
            }
        };
        if n.op == "Add" {
            return self.fuse_add(n, args, y, label);
        }
        let (w, w_scale, w_zp, axis) = match args.get(1) {
            Some(Val::ConstDq {
                name,
                scale,
                zp,
                axis,
            }) => (&self.g.consts[name], scale.clone(), zp.clone(), *axis),
            _ => {
                return Err(node_err(
                    n,
                    "input 1 must be a DequantizeLinear of an initializer",
                ))
            }
        };
        let bias = match args.get(2) {
            None => None,
            Some(Val::ConstDq {
                name, scale, zp, ..
            }) => {
                let b = &self.g.consts[name];
                check_bias(n, b, scale, zp, x.scale, &w_scale)?;
                Some(b.i.clone())
            }
            Some(_) => {
                return Err(node_err(
                    n,
                    "the bias must be a DequantizeLinear of an int32 initializer",
                ))
            }
        };
        let (kind, layout, alpha) = match n.op.as_str() {
            "MatMul" => ("QLinearMatMul", WLayout::Kn, None),
            "Conv" => ("QLinearConv", WLayout::Mchw, None),
            _ => {
                if bias.is_some() && n.float("beta", 1.0) != 1.0 {
                    return Err(node_err(n, "beta != 1 with a bias is not supported"));
                }
                ("QGemm", self.gemm_layout(n)?, Some(n.float("alpha", 1.0)))
            }
        };
        let channel_axis = match layout {
            WLayout::Kn => 1,
            WLayout::Nk | WLayout::Mchw => 0,
        };
        if w_scale.len() > 1 && axis != channel_axis {
            return Err(node_err(
                n,
                format!("per-channel weight scales along axis {axis}, not the output channels' axis {channel_axis}"),
            ));
        }
        let spec = DenseSpec {
            kind,
            x,
            w,
            w_scale,
            w_zp,
            layout,
            bias,
            y,
            alpha,
        };
        let mut v = self.dense(n, spec, id, shape)?;
        if let Some(l) = self.layers.last_mut() {
            l.node = label;
        }
        if let Val::Q { ty, .. } = &mut v {
            *ty = y.ty;
        }
        Ok(v)
    }

    /// QDQ Add of a computed tensor and a constant: com.microsoft QLinearAdd for uint8, and the
    /// float Add ORT 1.32.0 keeps for int8 (models/GRAPHS.md).
    fn fuse_add(
        &mut self,
        n: &Node,
        args: Vec<Val>,
        c: QParams,
        label: String,
    ) -> Result<Val, ImportError> {
        let pick = |v: &Val| match v {
            Val::ConstDq {
                name, scale, zp, ..
            } if scale.len() == 1 => Some((name.clone(), scale[0], zp[0])),
            _ => None,
        };
        let (run, konst, const_first) = match &args[..] {
            [Val::Dq { id, shape, q }, k] => ((*id, shape.clone(), *q), pick(k), false),
            [k, Val::Dq { id, shape, q }] => ((*id, shape.clone(), *q), pick(k), true),
            _ => {
                return Err(node_err(
                    n,
                    "one input must be computed and the other a constant",
                ))
            }
        };
        let (name, scale, zp) = konst
            .ok_or_else(|| node_err(n, "the constant must be a per-tensor DequantizeLinear"))?;
        let konst = &self.g.consts[&name];
        let b = QParams {
            scale,
            zp: zp as i32,
            ty: qtype(n, konst.elem)?,
        };
        let (a, b) = if const_first { (b, run.2) } else { (run.2, b) };
        let float = c.ty == QType::Int8;
        let v = self.add_layer(
            n,
            QAdd { a, b, c },
            (run.0, run.1),
            konst,
            const_first,
            float,
        )?;
        if let Some(l) = self.layers.last_mut() {
            l.node = label;
        }
        Ok(v)
    }
}

/// A QDQ bias: int32, zero point 0, scale `f32(x_scale * w_scale[m])` per channel (otherwise
/// ORT does not fuse the group and computes in float, which the engine does not reproduce).
fn check_bias(
    n: &Node,
    b: &Const,
    scale: &[f32],
    zp: &[i64],
    x_scale: f32,
    w_scale: &[f32],
) -> Result<(), ImportError> {
    if b.elem != Elem::I32 || zp.iter().any(|&z| z != 0) {
        return Err(node_err(n, "the bias must be int32 with zero point 0"));
    }
    let ch = w_scale.len().max(scale.len());
    let ok = (0..ch).all(|m| {
        let want = x_scale * w_scale[m % w_scale.len()];
        scale[m % scale.len()].to_bits() == want.to_bits()
    });
    if !ok {
        return Err(node_err(
            n,
            "the bias scale is not input scale x weight scale (ORT computes such a group in float)",
        ));
    }
    Ok(())
}
