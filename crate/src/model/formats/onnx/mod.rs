//! ONNX models: a file's graph and initializers made into a [`GraphSpec`] and its named
//! tensors, for any classifier whose operators the layer graph runs.
//!
//! The reader is our own (`wire.rs`, `proto.rs`, `tensor.rs`), not a crate: the subset
//! of ONNX's protobuf schema a classifier uses is small (model, graph, node, attribute,
//! tensor, value info), and reading it by hand lets tensors stay borrowed slices of the
//! file until a node needs them (a 500 MB model is not copied into protobuf structs
//! first), caps every count and length before allocating, and never recurses into nested
//! messages, so a hostile file is an error, never a stack overflow or an OOM abort.
//! `prost` would need its generated code checked in and decodes everything eagerly;
//! `candle-onnx` needs `protoc` at build time and lacks GlobalAveragePool. This builds
//! for wasm32 with nothing but the standard library.
//!
//! Initializers may live in an external-data file (PyTorch writes `model.onnx.data` for
//! large models): its bytes are passed in, as the page has no file system.

mod consts;
mod expr;
mod import;
mod ops;
mod proto;
mod scope;
mod tensor;
mod wire;

use crate::error::{Error, Result};
use crate::model::graph::GraphSpec;
use import::{onnx_error, Importer};
use proto::Dim;
use std::collections::HashMap;

pub use import::SUPPORTED;

/// A model read from an ONNX file.
#[derive(Debug)]
pub struct Imported {
    pub spec: GraphSpec,
    pub params: HashMap<String, Vec<f32>>,
    /// What the reader assumed, for the user (a free input size, ...).
    pub notes: Vec<String>,
}

/// The input side assumed when the file leaves height and width free.
pub const DEFAULT_SIZE: usize = 224;

/// Opsets whose operators' semantics the importer follows.
pub const OPSETS: std::ops::RangeInclusive<i64> = 13..=21;

/// The external-data files a model's initializers name (relative paths, each once), so
/// that a caller with a file system can read them.
pub fn external_locations(bytes: &[u8]) -> Result<Vec<String>> {
    let model = parse(bytes)?;
    Ok(locations(&model))
}

fn locations(model: &proto::Model) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let attrs = model
        .graph
        .nodes
        .iter()
        .flat_map(|n| n.attributes.iter().filter_map(|a| a.t.as_ref()));
    for t in model.graph.initializers.iter().chain(attrs) {
        if let Some(e) = &t.external {
            if !out.contains(&e.location) {
                out.push(e.location.clone());
            }
        }
    }
    out
}

/// Whether an external-data location is a plain relative path inside the model's folder
/// (no absolute path, no `..`): a model file must not make us read elsewhere.
pub fn check_location(location: &str) -> Result<()> {
    let bad = location.is_empty()
        || location.starts_with('/')
        || location.starts_with('\\')
        || location.contains(':')
        || location.split(['/', '\\']).any(|part| part == "..");
    if bad {
        return Err(onnx_error(format!(
            "external data location `{location}` is not a file name beside the model"
        )));
    }
    Ok(())
}

fn parse(bytes: &[u8]) -> Result<proto::Model<'_>> {
    if bytes.is_empty() {
        return Err(onnx_error("the file is empty (0 bytes)"));
    }
    proto::model(bytes).map_err(|e| {
        onnx_error(format!(
            "not a readable ONNX model ({} bytes): {e}",
            bytes.len()
        ))
    })
}

/// Reads an ONNX model. `name` names the model (the file's stem); `external` holds the
/// external-data files by the location the model gives them (a single file given is used
/// for a model that names a single location, whatever it is called).
pub fn read(bytes: &[u8], name: &str, external: &[(&str, &[u8])]) -> Result<Imported> {
    let model = parse(bytes)?;
    let opset = check_opset(&model)?;
    check_operators(&model)?;
    let graph = &model.graph;
    if graph.sparse_initializers > 0 {
        return Err(onnx_error(
            "the graph has sparse initializers, which the engine does not read",
        ));
    }
    let (input, shape, batch_is_one, notes) = check_input(graph)?;
    let names = locations(&model);
    for l in &names {
        check_location(l)?;
    }
    check_memory(
        graph,
        bytes.len() + external.iter().map(|(_, b)| b.len()).sum::<usize>(),
    )?;
    let lookup = |location: &str| -> Option<&[u8]> {
        external
            .iter()
            .find(|(n, _)| {
                *n == location
                    || n.rsplit(['/', '\\']).next() == location.rsplit(['/', '\\']).next()
            })
            .map(|(_, b)| *b)
            .or(match (external, names.len()) {
                ([(_, only)], 1) => Some(*only),
                _ => None,
            })
    };
    let mut importer = Importer::new(graph, opset, &lookup, input, shape, batch_is_one);
    importer.run()?;
    let (spec, params) = importer.finish(name.to_string())?;
    Ok(Imported {
        spec,
        params,
        notes,
    })
}

fn check_opset(model: &proto::Model) -> Result<i64> {
    let Some((_, version)) = model
        .opsets
        .iter()
        .find(|(d, _)| d.is_empty() || d == "ai.onnx")
    else {
        return Err(onnx_error(
            "the model imports no version of ONNX's operator set",
        ));
    };
    if !OPSETS.contains(version) {
        return Err(onnx_error(format!(
            "the model uses ONNX opset {version}; the engine reads opsets {} to {} (re-export with opset_version=18)",
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    Ok(*version)
}

/// Refuses, before any work, a graph with an operator the importer does not read,
/// naming each such operator and the first node that uses it.
fn check_operators(model: &proto::Model) -> Result<()> {
    let mut unknown: Vec<(String, usize)> = Vec::new();
    for (i, n) in model.graph.nodes.iter().enumerate() {
        let ours = n.domain.is_empty() || n.domain == "ai.onnx";
        let key = if ours {
            n.op_type.clone()
        } else {
            format!("{}::{}", n.domain, n.op_type)
        };
        if (!ours || !SUPPORTED.contains(&n.op_type.as_str()))
            && !unknown.iter().any(|(k, _)| *k == key)
        {
            unknown.push((key, i));
        }
    }
    let Some((op, first)) = unknown.first() else {
        return Ok(());
    };
    let node = &model.graph.nodes[*first];
    let label = if node.name.is_empty() {
        format!("#{first}")
    } else {
        format!("`{}`", node.name)
    };
    let others = if unknown.len() > 1 {
        format!(
            " (also unsupported: {})",
            unknown[1..]
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    Err(onnx_error(format!(
        "operator {op} (node {label}) is not supported{others}; the engine runs {}",
        SUPPORTED.join(", ")
    )))
}

/// The graph's one image input: its name, `[C, H, W]` at which shapes are checked,
/// whether the batch is fixed at 1, and notes on what was assumed.
fn check_input<'a>(graph: &'a proto::Graph) -> Result<(&'a str, Vec<usize>, bool, Vec<String>)> {
    let init: std::collections::HashSet<&str> =
        graph.initializers.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&proto::ValueInfo> = graph
        .inputs
        .iter()
        .filter(|i| !init.contains(i.name.as_str()))
        .collect();
    let input = match inputs.as_slice() {
        [one] => *one,
        [] => return Err(onnx_error("the graph has no input")),
        many => {
            return Err(onnx_error(format!(
                "the graph has {} inputs ({}); the engine runs models with one image input",
                many.len(),
                many.iter()
                    .map(|i| format!("`{}`", i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let what = format!("the input `{}`", input.name);
    if !input.is_tensor || input.elem_type != Some(1) {
        return Err(onnx_error(format!(
            "{what} is not a float32 tensor (element type {:?}); the engine takes float32 images",
            input.elem_type
        )));
    }
    let dims = input.dims.clone().unwrap_or_default();
    let show = |d: &Dim| match d {
        Dim::Value(v) => v.to_string(),
        Dim::Param(p) if p.is_empty() => "?".into(),
        Dim::Param(p) => p.clone(),
    };
    let shown = dims.iter().map(show).collect::<Vec<_>>().join(", ");
    let [n, c, h, w] = dims.as_slice() else {
        return Err(onnx_error(format!(
            "{what} has shape [{shown}]; the engine takes a 4-D image batch [N, C, H, W]"
        )));
    };
    let channels = match c {
        Dim::Value(v) if (1..=4096).contains(v) => *v as usize,
        _ => {
            return Err(onnx_error(format!(
                "{what} has shape [{shown}]: its channel count (axis 1) must be a fixed number"
            )))
        }
    };
    let mut notes = Vec::new();
    let side = |d: &Dim| match d {
        Dim::Value(v) if (1..=1 << 14).contains(v) => Ok(Some(*v as usize)),
        Dim::Value(v) => Err(onnx_error(format!(
            "{what} has shape [{shown}]: a side of {v} pixels is not an image"
        ))),
        Dim::Param(_) => Ok(None),
    };
    let (h, w) = match (side(h)?, side(w)?) {
        (Some(h), Some(w)) => (h, w),
        (h, w) => {
            notes.push(format!(
                "{what} leaves its size free ([{shown}]); shapes are checked at {DEFAULT_SIZE}x{DEFAULT_SIZE}"
            ));
            (h.unwrap_or(DEFAULT_SIZE), w.unwrap_or(DEFAULT_SIZE))
        }
    };
    if matches!(n, Dim::Value(v) if *v != 1 && *v > 0) {
        notes.push(format!(
            "{what} fixes the batch at {}; the engine runs any batch",
            show(n)
        ));
    }
    Ok((
        input.name.as_str(),
        vec![channels, h, w],
        matches!(n, Dim::Value(1)),
        notes,
    ))
}

/// Refuses, before decoding, a model whose f32 tensors would not fit beside its file.
fn check_memory(graph: &proto::Graph, file_bytes: usize) -> Result<()> {
    let mut values: u64 = 0;
    for t in &graph.initializers {
        let n = tensor::numel(t).map_err(|e| onnx_error(format!("initializer: {e}")))?;
        values = values.saturating_add(n as u64);
    }
    crate::model::weights::check_load_budget(values, file_bytes, |need, budget| {
        Error::Onnx(format!(
            "the model's {values} weights need {need} MiB beside its {file_bytes}-byte file, over the {budget} MiB this platform allows"
        ))
    })
}
