//! The part of ONNX's protobuf schema (`onnx.proto3`) a convolutional classifier uses:
//! the model with its opsets, the graph's nodes, initializers, inputs and outputs, each
//! node's attributes and metadata. Tensors keep borrowed slices of the file; their values
//! are decoded only when a node asks for them (`tensor.rs`). Subgraphs (`If`, `Loop`) are
//! never descended into: their operators are refused anyway.

use super::wire::{push_floats, push_ints, Field, Fields};

/// Most nodes, initializers, inputs or outputs a graph may have (ConvNeXt-Large has a few
/// thousand nodes).
pub const MAX_ITEMS: usize = 200_000;
/// Most dimensions of a tensor, and most values of an `ints`/`floats` attribute.
pub const MAX_RANK: usize = 16;
pub const MAX_ATTR_VALUES: usize = 1 << 16;

pub type Result<T> = std::result::Result<T, String>;

#[derive(Debug, Default)]
pub struct Model<'a> {
    pub ir_version: i64,
    pub producer: String,
    /// (domain, version); the default domain is `""` (or `ai.onnx`).
    pub opsets: Vec<(String, i64)>,
    pub graph: Graph<'a>,
}

#[derive(Debug, Default)]
pub struct Graph<'a> {
    pub name: String,
    pub nodes: Vec<Node<'a>>,
    pub initializers: Vec<Tensor<'a>>,
    pub sparse_initializers: usize,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

#[derive(Debug, Default)]
pub struct Node<'a> {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute<'a>>,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Attribute<'a> {
    pub name: String,
    /// `AttributeProto.AttributeType`: 1 float, 2 int, 3 string, 4 tensor, 5 graph,
    /// 6 floats, 7 ints, 8 strings, ...
    pub kind: i64,
    pub f: Option<f32>,
    pub i: Option<i64>,
    pub s: Option<Vec<u8>>,
    pub t: Option<Tensor<'a>>,
    pub floats: Vec<f32>,
    pub ints: Vec<i64>,
    /// Holds a subgraph (`g`/`graphs`) or a reference to a function's attribute.
    pub unsupported: bool,
}

/// A `TensorProto` with its values left in the file.
#[derive(Debug, Default, Clone)]
pub struct Tensor<'a> {
    pub name: String,
    pub dims: Vec<i64>,
    pub data_type: i64,
    pub raw: Option<&'a [u8]>,
    /// The whole message, scanned again for the typed value fields when needed.
    pub message: &'a [u8],
    /// `data_location == EXTERNAL`, with `location`/`offset`/`length` from `external_data`.
    pub external: Option<ExternalRef>,
    pub segmented: bool,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExternalRef {
    pub location: String,
    pub offset: u64,
    pub length: Option<u64>,
}

/// An input or output: its name and, for a tensor, element type and dimensions.
#[derive(Debug, Default, Clone)]
pub struct ValueInfo {
    pub name: String,
    pub elem_type: Option<i64>,
    /// `None` when the shape is not given at all.
    pub dims: Option<Vec<Dim>>,
    pub is_tensor: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Value(i64),
    /// A named or unnamed free dimension (`batch`, `height`, ...).
    Param(String),
}

fn push_bounded<T>(v: &mut Vec<T>, item: T, what: &str) -> Result<()> {
    if v.len() >= MAX_ITEMS {
        return Err(format!("more than {MAX_ITEMS} {what}"));
    }
    v.push(item);
    Ok(())
}

/// Calls `on_field(number, value)` for each field of the message `bytes`, in order.
fn each_field<'a>(
    bytes: &'a [u8],
    mut on_field: impl FnMut(u32, Field<'a>) -> Result<()>,
) -> Result<()> {
    let mut f = Fields::new(bytes);
    while let Some((n, v)) = f.next_field()? {
        on_field(n, v)?;
    }
    Ok(())
}

/// Reads a `ModelProto`.
pub fn model(bytes: &[u8]) -> Result<Model<'_>> {
    let mut m = Model::default();
    let mut f = Fields::new(bytes);
    let mut graphs = 0;
    while let Some((n, v)) = f.next_field().map_err(|e| format!("model: {e}"))? {
        match n {
            1 => m.ir_version = v.int("ir_version")?,
            2 => m.producer = v.string("producer_name")?,
            7 => {
                m.graph = graph(v.bytes("graph")?).map_err(|e| format!("graph: {e}"))?;
                graphs += 1;
            }
            8 => {
                let mut domain = String::new();
                let mut version = 0;
                let mut g = Fields::new(v.bytes("opset_import")?);
                while let Some((n, v)) = g.next_field().map_err(|e| format!("opset_import: {e}"))? {
                    match n {
                        1 => domain = v.string("opset domain")?,
                        2 => version = v.int("opset version")?,
                        _ => {}
                    }
                }
                push_bounded(&mut m.opsets, (domain, version), "opset imports")?;
            }
            _ => {}
        }
    }
    if graphs == 0 {
        return Err(
            "the file has no graph (an empty or truncated file, or not an ONNX model)".into(),
        );
    }
    Ok(m)
}

fn graph(bytes: &[u8]) -> Result<Graph<'_>> {
    let mut g = Graph::default();
    each_field(bytes, |n, v| {
        match n {
            1 => {
                let i = g.nodes.len();
                let node = node(v.bytes("node")?).map_err(|e| format!("node {i}: {e}"))?;
                push_bounded(&mut g.nodes, node, "nodes")?;
            }
            2 => g.name = v.string("graph name")?,
            5 => {
                let i = g.initializers.len();
                let t =
                    tensor(v.bytes("initializer")?).map_err(|e| format!("initializer {i}: {e}"))?;
                push_bounded(&mut g.initializers, t, "initializers")?;
            }
            11 => {
                let vi = value_info(v.bytes("input")?).map_err(|e| format!("input: {e}"))?;
                push_bounded(&mut g.inputs, vi, "inputs")?;
            }
            12 => {
                let vi = value_info(v.bytes("output")?).map_err(|e| format!("output: {e}"))?;
                push_bounded(&mut g.outputs, vi, "outputs")?;
            }
            15 => g.sparse_initializers += 1,
            _ => {}
        }
        Ok(())
    })?;
    Ok(g)
}

fn node(bytes: &[u8]) -> Result<Node<'_>> {
    let mut node = Node::default();
    each_field(bytes, |n, v| {
        match n {
            1 => push_bounded(&mut node.inputs, v.string("node input")?, "node inputs")?,
            2 => push_bounded(&mut node.outputs, v.string("node output")?, "node outputs")?,
            3 => node.name = v.string("node name")?,
            4 => node.op_type = v.string("op_type")?,
            5 => {
                let a = attribute(v.bytes("attribute")?)?;
                push_bounded(&mut node.attributes, a, "attributes")?;
            }
            7 => node.domain = v.string("domain")?,
            9 => {
                let entry = string_entry(v.bytes("metadata_props")?)?;
                push_bounded(&mut node.metadata, entry, "metadata entries")?;
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(node)
}

fn string_entry(bytes: &[u8]) -> Result<(String, String)> {
    let (mut key, mut value) = (String::new(), String::new());
    each_field(bytes, |n, v| {
        match n {
            1 => key = v.string("key")?,
            2 => value = v.string("value")?,
            _ => {}
        }
        Ok(())
    })?;
    Ok((key, value))
}

fn attribute(bytes: &[u8]) -> Result<Attribute<'_>> {
    let mut a = Attribute::default();
    each_field(bytes, |n, v| {
        match n {
            1 => a.name = v.string("attribute name")?,
            2 => a.f = Some(v.float("attribute f")?),
            3 => a.i = Some(v.int("attribute i")?),
            4 => {
                let s = v.bytes("attribute s")?;
                if s.len() > super::wire::MAX_STRING {
                    return Err(format!("attribute string of {} bytes", s.len()));
                }
                a.s = Some(s.to_vec());
            }
            5 => {
                a.t = Some(
                    tensor(v.bytes("attribute t")?)
                        .map_err(|e| format!("attribute tensor: {e}"))?,
                )
            }
            6 | 11 | 21 => a.unsupported = true,
            7 => push_floats(v, &mut a.floats, MAX_ATTR_VALUES, "attribute floats")?,
            8 => push_ints(v, &mut a.ints, MAX_ATTR_VALUES, "attribute ints")?,
            20 => a.kind = v.int("attribute type")?,
            _ => {}
        }
        Ok(())
    })?;
    if a.unsupported {
        a.t = None;
    }
    Ok(a)
}

/// Reads a `TensorProto`'s description; the values stay in `message`/`raw`.
pub fn tensor(bytes: &[u8]) -> Result<Tensor<'_>> {
    let mut t = Tensor {
        message: bytes,
        ..Tensor::default()
    };
    let mut location = 0;
    let mut entries = Vec::new();
    each_field(bytes, |n, v| {
        match n {
            1 => push_ints(v, &mut t.dims, MAX_RANK + 1, "dims")
                .map_err(|_| format!("a tensor has more than {MAX_RANK} dimensions"))?,
            2 => t.data_type = v.int("data_type")?,
            3 => t.segmented = true,
            8 => t.name = v.string("tensor name")?,
            9 => t.raw = Some(v.bytes("raw_data")?),
            13 => push_bounded(
                &mut entries,
                string_entry(v.bytes("external_data")?)?,
                "external_data entries",
            )?,
            14 => location = v.int("data_location")?,
            _ => {}
        }
        Ok(())
    })?;
    if location == 1 {
        let mut ext = ExternalRef::default();
        for (k, v) in entries {
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("tensor `{}`: external {k} `{v}` is not a number", t.name))
            };
            match k.as_str() {
                "location" => ext.location = v,
                "offset" => ext.offset = number(&v)?,
                "length" => ext.length = Some(number(&v)?),
                _ => {}
            }
        }
        if ext.location.is_empty() {
            return Err(format!(
                "tensor `{}` is stored outside the file but names no location",
                t.name
            ));
        }
        t.external = Some(ext);
    }
    Ok(t)
}

fn value_info(bytes: &[u8]) -> Result<ValueInfo> {
    let mut vi = ValueInfo::default();
    each_field(bytes, |n, v| {
        match n {
            1 => vi.name = v.string("value name")?,
            2 => {
                // TypeProto: only `tensor_type` (field 1) is read.
                let mut t = Fields::new(v.bytes("type")?);
                while let Some((n, v)) = t.next_field()? {
                    if n == 1 {
                        vi.is_tensor = true;
                        tensor_type(v.bytes("tensor_type")?, &mut vi)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(vi)
}

fn tensor_type(bytes: &[u8], vi: &mut ValueInfo) -> Result<()> {
    each_field(bytes, |n, v| {
        match n {
            1 => vi.elem_type = Some(v.int("elem_type")?),
            2 => {
                let mut dims = Vec::new();
                let mut s = Fields::new(v.bytes("shape")?);
                while let Some((n, v)) = s.next_field()? {
                    if n != 1 {
                        continue;
                    }
                    let mut dim = Dim::Param(String::new());
                    let mut d = Fields::new(v.bytes("dim")?);
                    while let Some((n, v)) = d.next_field()? {
                        match n {
                            1 => dim = Dim::Value(v.int("dim_value")?),
                            2 => dim = Dim::Param(v.string("dim_param")?),
                            _ => {}
                        }
                    }
                    if dims.len() > MAX_RANK {
                        return Err(format!("a value has more than {MAX_RANK} dimensions"));
                    }
                    dims.push(dim);
                }
                vi.dims = Some(dims);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(())
}

impl<'a> Node<'a> {
    pub fn attr(&self, name: &str) -> Option<&Attribute<'a>> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Field numbers of `TensorProto`'s typed value arrays (used by `tensor.rs`).
pub const FLOAT_DATA: u32 = 4;
pub const INT32_DATA: u32 = 5;
pub const INT64_DATA: u32 = 7;
pub const DOUBLE_DATA: u32 = 10;
pub const UINT64_DATA: u32 = 11;

/// The fields of one number in `message`, for the typed value arrays.
pub fn fields_numbered<'a>(
    message: &'a [u8],
    number: u32,
) -> impl Iterator<Item = Result<Field<'a>>> + 'a {
    let mut f = Fields::new(message);
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        match f.next_field() {
            Err(e) => {
                done = true;
                return Some(Err(e));
            }
            Ok(None) => return None,
            Ok(Some((n, v))) if n == number => return Some(Ok(v)),
            Ok(Some(_)) => {}
        }
    })
}
