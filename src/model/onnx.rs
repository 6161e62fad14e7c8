//! Reading an ONNX file: the protobuf is decoded by the `tract-onnx` crate (its `ModelProto`);
//! this module turns initializers into [`Const`] tensors and nodes into [`Node`]s with their
//! attributes, and reads the graph input's shape. Nothing here interprets the operators (that is
//! [`super::import`]).

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::pb;
use tract_onnx::prelude::Framework;

use super::ImportError;

/// The element types an initializer may have here (ONNX `TensorProto.DataType` codes 1, 2, 3,
/// 6, 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F32,
    U8,
    I8,
    I32,
    I64,
}

impl Elem {
    fn from_code(code: i32) -> Option<Elem> {
        Some(match code {
            1 => Elem::F32,
            2 => Elem::U8,
            3 => Elem::I8,
            6 => Elem::I32,
            7 => Elem::I64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Elem::F32 => "float",
            Elem::U8 => "uint8",
            Elem::I8 => "int8",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
        }
    }
}

/// A constant tensor (an initializer): float elements in `f`, integer elements in `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub name: String,
    pub elem: Elem,
    pub dims: Vec<usize>,
    pub f: Vec<f32>,
    pub i: Vec<i64>,
}

impl Const {
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One attribute value (the kinds the supported operators use).
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Str(String),
    Other,
}

/// One node of the graph, in file order (ONNX requires topological order).
#[derive(Debug, Clone)]
pub struct Node {
    /// `#index op 'name'`, for messages.
    pub label: String,
    pub op: String,
    /// `ai.onnx` for the default domain.
    pub domain: String,
    /// Input names; an empty name is an omitted optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: HashMap<String, Attr>,
}

impl Node {
    pub fn int(&self, name: &str, default: i64) -> i64 {
        match self.attrs.get(name) {
            Some(Attr::Int(v)) => *v,
            _ => default,
        }
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.attrs.get(name) {
            Some(Attr::Float(v)) => *v,
            _ => default,
        }
    }

    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.attrs.get(name) {
            Some(Attr::Ints(v)) => Some(v),
            _ => None,
        }
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        match self.attrs.get(name) {
            Some(Attr::Str(v)) => Some(v),
            _ => None,
        }
    }

    /// The optional input `i`, `None` when absent or empty.
    pub fn input(&self, i: usize) -> Option<&str> {
        self.inputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// The graph input: its name, element type and dimensions (`None` for a symbolic one).
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub elem: Option<Elem>,
    pub dims: Vec<Option<usize>>,
}

/// The parts of a model the importer needs.
#[derive(Debug, Clone)]
pub struct Graph {
    pub inputs: Vec<Input>,
    pub outputs: Vec<String>,
    pub consts: HashMap<String, Const>,
    pub nodes: Vec<Node>,
}

/// Read and decode `path` (with tract-onnx's protobuf types).
pub fn read(path: &Path) -> Result<Graph, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| ImportError::Read {
            path: path.to_path_buf(),
            reason: format!("not an ONNX model: {e}"),
        })?;
    let graph = proto.graph.ok_or_else(|| ImportError::Read {
        path: path.to_path_buf(),
        reason: "the model has no graph".into(),
    })?;
    from_proto(&graph)
}

fn from_proto(g: &pb::GraphProto) -> Result<Graph, ImportError> {
    let mut consts = HashMap::new();
    for t in &g.initializer {
        consts.insert(t.name.clone(), tensor(t)?);
    }
    let inputs = g
        .input
        .iter()
        .filter(|v| !consts.contains_key(&v.name))
        .map(input)
        .collect();
    let nodes = g.node.iter().enumerate().map(|(i, n)| node(i, n)).collect();
    Ok(Graph {
        inputs,
        outputs: g.output.iter().map(|v| v.name.clone()).collect(),
        consts,
        nodes,
    })
}

fn node(index: usize, n: &pb::NodeProto) -> Node {
    let domain = if n.domain.is_empty() || n.domain == "ai.onnx" {
        "ai.onnx".to_string()
    } else {
        n.domain.clone()
    };
    let label = if n.name.is_empty() {
        format!("#{index} {}", n.op_type)
    } else {
        format!("#{index} {} '{}'", n.op_type, n.name)
    };
    let attrs = n
        .attribute
        .iter()
        .map(|a| {
            // AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 6 FLOATS, 7 INTS.
            let v = match a.r#type {
                1 => Attr::Float(a.f),
                2 => Attr::Int(a.i),
                3 => Attr::Str(String::from_utf8_lossy(&a.s).into_owned()),
                7 => Attr::Ints(a.ints.clone()),
                _ => Attr::Other,
            };
            (a.name.clone(), v)
        })
        .collect();
    Node {
        label,
        op: n.op_type.clone(),
        domain,
        inputs: n.input.clone(),
        outputs: n.output.clone(),
        attrs,
    }
}

fn input(v: &pb::ValueInfoProto) -> Input {
    let mut elem = None;
    let mut dims = Vec::new();
    if let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_ref().and_then(|t| t.value.as_ref())
    {
        elem = Elem::from_code(t.elem_type);
        if let Some(shape) = &t.shape {
            for d in &shape.dim {
                dims.push(match d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(n)) if n >= 0 => {
                        Some(n as usize)
                    }
                    _ => None,
                });
            }
        }
    }
    Input {
        name: v.name.clone(),
        elem,
        dims,
    }
}

/// An initializer's values, from `raw_data` (little-endian) or the typed fields.
fn tensor(t: &pb::TensorProto) -> Result<Const, ImportError> {
    let bad = |reason: String| ImportError::Initializer {
        name: t.name.clone(),
        reason,
    };
    let elem = Elem::from_code(t.data_type).ok_or_else(|| {
        bad(format!(
            "element type code {} (supported: float, uint8, int8, int32, int64)",
            t.data_type
        ))
    })?;
    if t.data_location == Some(1) {
        return Err(bad("external data is not supported".into()));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let len: usize = dims.iter().product();
    let raw = &t.raw_data;
    let (mut f, mut i) = (Vec::new(), Vec::new());
    match elem {
        Elem::F32 if !raw.is_empty() => {
            f = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        }
        Elem::F32 => f = t.float_data.clone(),
        Elem::U8 if !raw.is_empty() => i = raw.iter().map(|&b| i64::from(b)).collect(),
        Elem::I8 if !raw.is_empty() => i = raw.iter().map(|&b| i64::from(b as i8)).collect(),
        Elem::U8 => i = t.int32_data.iter().map(|&v| i64::from(v as u8)).collect(),
        Elem::I8 => i = t.int32_data.iter().map(|&v| i64::from(v as i8)).collect(),
        Elem::I32 if !raw.is_empty() => {
            i = raw
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect()
        }
        Elem::I32 => i = t.int32_data.iter().map(|&v| i64::from(v)).collect(),
        Elem::I64 if !raw.is_empty() => {
            i = raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        }
        Elem::I64 => i = t.int64_data.clone(),
    }
    let got = f.len().max(i.len());
    if got != len {
        return Err(bad(format!(
            "shape {dims:?} needs {len} values, the file has {got}"
        )));
    }
    Ok(Const {
        name: t.name.clone(),
        elem,
        dims,
        f,
        i,
    })
}
