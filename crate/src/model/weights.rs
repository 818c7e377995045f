//! Reading a model's weights: safetensors (f32, f16, bf16; computed in f32), through
//! `formats::pth` PyTorch `.pth` checkpoints, and through `formats::keras` Keras' VGG
//! weights (HDF5 `.h5`/`.weights.h5`, `.keras`), matched by name against the
//! architecture's state dict (torchvision names; timm's VGG names; `module.`/`model.`
//! wrapper prefixes; Keras' layer names), with errors that name the tensor at fault and,
//! for another architecture's file, the architecture it looks like.

use super::arch::ArchSpec;
use super::families;
use super::graph::GraphSpec;
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use std::collections::HashMap;

/// timm's VGG (`vgg16.tv_in1k`) stores the first two classifier layers as convolutions
/// (`pre_logits.fc1`: `[4096, 512, 7, 7]`, `pre_logits.fc2`: `[4096, 4096, 1, 1]`) and
/// the last as `head.fc`. Their row-major data is exactly torchvision's linear weight.
const TIMM_NAMES: &[(&str, &str)] = &[
    ("pre_logits.fc1.", "classifier.0."),
    ("pre_logits.fc2.", "classifier.3."),
    ("head.fc.", "classifier.6."),
];

/// Prefixes that wrappers add to every key (DataParallel, Lightning, `nn.Sequential`).
const WRAPPER_PREFIXES: &[&str] = &["module.", "model."];

/// The torchvision name of a stored tensor name.
pub fn canonical_name(stored: &str) -> String {
    let mut name = stored;
    for prefix in WRAPPER_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    for (timm, tv) in TIMM_NAMES {
        if let Some(rest) = name.strip_prefix(timm) {
            return format!("{tv}{rest}");
        }
    }
    name.to_string()
}

/// A tensor as a weights file stores it, converted to f32 only once it is known to fit.
pub struct Stored<'a> {
    /// The name in the file.
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Data<'a>,
}

pub enum Data<'a> {
    /// Raw little-endian values of a safetensors file.
    Bytes { dtype: Dtype, bytes: &'a [u8] },
    /// Values already read (a `.pth` checkpoint).
    F32(Vec<f32>),
}

impl Data<'_> {
    fn to_f32(&self, name: &str) -> Result<Vec<f32>> {
        let (dtype, data) = match self {
            Data::F32(v) => return Ok(v.clone()),
            Data::Bytes { dtype, bytes } => (*dtype, *bytes),
        };
        let halves = |f: fn(u16) -> f32| {
            data.chunks_exact(2)
                .map(|b| f(u16::from_le_bytes([b[0], b[1]])))
                .collect()
        };
        Ok(match dtype {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => halves(|b| half::f16::from_bits(b).to_f32()),
            Dtype::BF16 => halves(|b| half::bf16::from_bits(b).to_f32()),
            other => {
                return Err(Error::TensorDtype {
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        })
    }
}

fn describe(e: SafeTensorError, len: usize) -> Error {
    let msg = match e {
        SafeTensorError::HeaderTooSmall => format!("file is too short to be safetensors ({len} bytes; it needs at least an 8-byte header length)"),
        SafeTensorError::HeaderTooLarge => "header length is absurd (over 100 MB): not a safetensors file, or a corrupt one".into(),
        SafeTensorError::InvalidHeaderLength => format!("header length points past the end of the file ({len} bytes): the file is truncated or not safetensors"),
        SafeTensorError::InvalidHeader(_) => "header is not UTF-8 text: not a safetensors file, or a corrupt one".into(),
        // serde's detail says which value did not fit (in wasm32 an offset or size over
        // 4 GiB is not a number the page can hold).
        SafeTensorError::InvalidHeaderDeserialization(e) | SafeTensorError::JsonError(e) => {
            format!("header is not valid safetensors JSON ({e}): not a safetensors file, or a corrupt one")
        }
        SafeTensorError::MetadataIncompleteBuffer | SafeTensorError::InvalidOffset(_) | SafeTensorError::TensorInvalidInfo => {
            format!("tensor data does not match the header ({len} bytes): the file is truncated or corrupt")
        }
        other => format!("not a valid safetensors file: {other:?}"),
    };
    Error::WeightsFile(msg)
}

/// A torchvision header is a few KB; anything past this is not a weights file of ours.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;
/// More tensors than any supported model has (DenseNet-169: about 1,200), by far.
pub const MAX_TENSORS: usize = 10_000;
/// What one model may occupy while loading: the file's bytes plus its f32 copy. A wasm32
/// instance addresses 4 GiB in all, so the page keeps room for activations.
pub const LOAD_BUDGET_BYTES: u64 = if cfg!(target_arch = "wasm32") {
    3 << 30
} else {
    64 << 30
};

/// The first 8 bytes give the header's length; say plainly when it cannot be right.
fn check_header_length(bytes: &[u8]) -> Result<()> {
    let Some(head) = bytes.first_chunk::<8>() else {
        return Err(Error::WeightsFile(format!(
            "file is too short to be safetensors ({} bytes; it needs at least an 8-byte header length)",
            bytes.len()
        )));
    };
    let n = u64::from_le_bytes(*head);
    if n > MAX_HEADER_BYTES {
        return Err(Error::WeightsFile(format!(
            "header length {n} bytes is absurd (a model's header is a few KB, the limit is {MAX_HEADER_BYTES}): not a safetensors file, or a corrupt one"
        )));
    }
    if n > bytes.len() as u64 - 8 {
        return Err(Error::WeightsFile(format!(
            "header length {n} points past the end of the file ({} bytes): the file is truncated or not safetensors",
            bytes.len()
        )));
    }
    Ok(())
}

/// Refuses, before any copy, a model that cannot fit next to its file in memory.
fn check_memory(arch: &ArchSpec, graph: &GraphSpec, file_bytes: usize) -> Result<()> {
    let params: u64 = graph
        .state
        .iter()
        .map(|e| e.shape.iter().map(|d| *d as u64).product::<u64>())
        .fold(0, u64::saturating_add);
    check_load_budget(params, file_bytes, |need, budget| {
        Error::WeightsFile(format!(
            "{arch} has {params} parameters: with the {file_bytes}-byte file that needs {need} MiB, over the {budget} MiB this platform allows"
        ))
    })
}

/// Refuses `values` f32 tensor values that would not fit beside their `file_bytes`-byte
/// file within [`LOAD_BUDGET_BYTES`]; `refusal(need, budget)`, both in MiB, words the
/// error in the file format's terms.
pub(crate) fn check_load_budget(
    values: u64,
    file_bytes: usize,
    refusal: impl FnOnce(u64, u64) -> Error,
) -> Result<()> {
    let need = values.saturating_mul(4).saturating_add(file_bytes as u64);
    if need > LOAD_BUDGET_BYTES {
        return Err(refusal(need >> 20, LOAD_BUDGET_BYTES >> 20));
    }
    Ok(())
}

/// Which format a weights file is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    /// A PyTorch checkpoint: a zip archive (torch.save since 1.6) or a legacy pickle.
    Pth,
    /// Keras weights: an HDF5 file (Keras 2 or 3 layout) or a `.keras` archive. Keras'
    /// VGGs were trained on "caffe" preprocessing (BGR, ImageNet means subtracted).
    Keras,
}

pub fn sniff(bytes: &[u8]) -> Format {
    if super::formats::keras::is_keras(bytes) {
        return Format::Keras;
    }
    match bytes {
        [b'P', b'K', 3, 4, ..] | [0x80, 2..=5, ..] => Format::Pth,
        _ => Format::Safetensors,
    }
}

/// The format of the weights file at `path`, from its first bytes.
#[cfg(not(target_arch = "wasm32"))]
pub fn sniff_file(path: &std::path::Path) -> Result<Format> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    Ok(sniff(&head))
}

/// Reads every tensor `graph` needs from a weights file's bytes (safetensors, `.pth` or
/// Keras), as f32 values by torchvision name. The bytes can be dropped as soon as this
/// returns. A Keras file is copied once (its reader owns its bytes): [`read_owned`]
/// avoids that.
pub fn read(arch: &ArchSpec, graph: &GraphSpec, bytes: &[u8]) -> Result<HashMap<String, Vec<f32>>> {
    if sniff(bytes) == Format::Keras {
        return read_keras(arch, graph, bytes.to_vec());
    }
    read_borrowed(arch, graph, bytes)
}

/// [`read`] from bytes it may keep (no copy of a Keras file).
pub fn read_owned(
    arch: &ArchSpec,
    graph: &GraphSpec,
    bytes: Vec<u8>,
) -> Result<HashMap<String, Vec<f32>>> {
    if sniff(&bytes) == Format::Keras {
        return read_keras(arch, graph, bytes);
    }
    read_borrowed(arch, graph, &bytes)
}

/// Keras' VGG weights: layers matched by their Keras names, kernels converted to
/// torchvision's layouts.
fn read_keras(
    arch: &ArchSpec,
    graph: &GraphSpec,
    bytes: Vec<u8>,
) -> Result<HashMap<String, Vec<f32>>> {
    check_memory(arch, graph, bytes.len())?;
    let file = super::formats::keras::read(bytes)?;
    let stored = super::formats::keras::vgg::state_dict(&arch.to_string(), graph, &file)?;
    bind(arch, graph, stored)
}

fn read_borrowed(
    arch: &ArchSpec,
    graph: &GraphSpec,
    bytes: &[u8],
) -> Result<HashMap<String, Vec<f32>>> {
    if bytes.is_empty() {
        return Err(Error::WeightsFile("file is empty (0 bytes)".into()));
    }
    if sniff(bytes) == Format::Pth {
        check_memory(arch, graph, bytes.len())?;
        let tensors = super::formats::pth::read(bytes)?;
        let stored = tensors
            .into_iter()
            .map(|t| Stored {
                name: t.name,
                shape: t.shape,
                data: Data::F32(t.values),
            })
            .collect();
        return bind(arch, graph, stored);
    }
    check_header_length(bytes)?;
    check_memory(arch, graph, bytes.len())?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| describe(e, bytes.len()))?;
    if st.len() > MAX_TENSORS {
        return Err(Error::WeightsFile(format!(
            "file holds {} tensors; {arch} has {} (at most {MAX_TENSORS} are read)",
            st.len(),
            graph.state.len()
        )));
    }
    let stored = st
        .iter()
        .map(|(name, view)| Stored {
            name: name.to_string(),
            shape: view.shape().to_vec(),
            data: Data::Bytes {
                dtype: view.dtype(),
                bytes: view.data(),
            },
        })
        .collect();
    bind(arch, graph, stored)
}

/// Whether a stored shape fits the expected one: equal, or a linear weight stored as a
/// convolution (timm's VGG classifier: same first dimension and element count).
fn shape_fits(expected: &[usize], found: &[usize]) -> bool {
    expected == found
        || (expected.len() == 2
            && found.len() == 4
            && found[0] == expected[0]
            && found.iter().product::<usize>() == expected.iter().product::<usize>())
}

/// Matches stored tensors to the state dict by name: every float entry must be present
/// with its shape; integer buffers (`num_batches_tracked`) are optional; nothing else
/// may be there.
pub fn bind(
    arch: &ArchSpec,
    graph: &GraphSpec,
    stored: Vec<Stored>,
) -> Result<HashMap<String, Vec<f32>>> {
    let mut by_name: HashMap<String, Stored> = HashMap::new();
    for s in stored {
        by_name.insert(canonical_name(&s.name), s);
    }
    let mut out = HashMap::new();
    let mut problems: Vec<Error> = Vec::new();
    let signature = signature_of(
        by_name
            .iter()
            .map(|(n, s)| (n.as_str(), s.shape.as_slice())),
    );
    for e in &graph.state {
        let Some(s) = by_name.remove(&e.name) else {
            if e.is_float {
                problems.push(Error::MissingTensor {
                    name: e.name.clone(),
                    expected: e.shape.clone(),
                });
            }
            continue;
        };
        if !e.is_float {
            continue;
        }
        if !shape_fits(&e.shape, &s.shape) {
            problems.push(Error::TensorShape {
                name: s.name.clone(),
                expected: e.shape.clone(),
                found: s.shape.clone(),
            });
            continue;
        }
        out.insert(e.name.clone(), s.data.to_f32(&s.name)?);
    }
    let mut extra: Vec<String> = by_name.into_values().map(|s| s.name).collect();
    extra.sort();
    let list = |names: &[String]| {
        let shown = names
            .iter()
            .take(4)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > 4 {
            format!("{shown} and {} more", names.len() - 4)
        } else {
            shown
        }
    };
    match (problems.len(), extra.len()) {
        (0, 0) => Ok(out),
        (1, 0) => Err(problems.remove(0)),
        (0, _) => Err(Error::ExtraTensors {
            names: list(&extra),
            arch: arch.to_string(),
        }),
        _ => {
            let mut detail: Vec<String> = problems
                .iter()
                .take(3)
                .map(|e| e.to_string().replace("weights: ", ""))
                .collect();
            if problems.len() > 3 {
                detail.push(format!("{} more", problems.len() - 3));
            }
            if !extra.is_empty() {
                detail.push(format!("unexpected {}", list(&extra)));
            }
            let guess = guess_arch(&signature)
                .map_or(String::new(), |g| format!(" The file looks like `{g}`."));
            Err(Error::ArchMismatch {
                arch: arch.to_string(),
                detail: format!(
                    "{}. Are these weights for another architecture?{guess}",
                    detail.join("; ")
                ),
            })
        }
    }
}

/// A file's float-looking tensors by canonical name and shape.
type Signature = HashMap<String, Vec<usize>>;

fn signature_of<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize])>) -> Signature {
    tensors.map(|(n, s)| (n.to_string(), s.to_vec())).collect()
}

/// The architecture a file's tensors were made for: a named model whose state dict
/// holds every tensor of the file under the same name and shape (its classifier may have
/// another number of classes), else a VGG-family spec read from the layer indices.
pub fn guess_arch(file: &Signature) -> Option<ArchSpec> {
    guess_named(file).or_else(|| infer_vgg(file))
}

fn guess_named(file: &Signature) -> Option<ArchSpec> {
    if file.is_empty() {
        return None;
    }
    let mut best: Option<(usize, ArchSpec)> = None;
    for name in ArchSpec::named() {
        let Ok(spec) = ArchSpec::parse(name) else {
            continue;
        };
        let Ok(graph) = families::graph(&spec) else {
            continue;
        };
        let expected: HashMap<&str, &[usize]> = graph
            .state
            .iter()
            .map(|e| (e.name.as_str(), e.shape.as_slice()))
            .collect();
        // The last layer may be trained for another number of classes.
        let last = &graph.nodes[graph.output()].params;
        let mut classes = spec.classes;
        let fits = file.iter().all(|(n, s)| match expected.get(n.as_str()) {
            Some(e) if shape_fits(e, s) => true,
            Some(e) if last.first() == Some(n) && e.len() == 2 && s.len() == 2 && s[1] == e[1] => {
                classes = s[0];
                true
            }
            Some(e) if last.get(1) == Some(n) && e.len() == 1 && s.len() == 1 => true,
            _ => false,
        });
        let floats = graph.state.iter().filter(|e| e.is_float).count();
        let covered = graph
            .state
            .iter()
            .filter(|e| e.is_float && file.contains_key(&e.name))
            .count();
        if !fits || covered * 10 < floats * 9 {
            continue;
        }
        let spec = if classes == spec.classes {
            spec
        } else {
            ArchSpec::parse(&format!("{name};classes={classes}")).ok()?
        };
        if best.as_ref().is_none_or(|(c, _)| covered > *c) {
            best = Some((covered, spec));
        }
    }
    best.map(|(_, s)| s)
}

/// Guesses a VGG-family spec from a file's tensor names and shapes (convolutions at
/// `features.N`, pools in the index gaps, the classifier's widths).
fn infer_vgg(file: &Signature) -> Option<ArchSpec> {
    let mut convs: Vec<(usize, usize, usize)> = Vec::new(); // (index, in, out)
    let mut linear: HashMap<&str, &Vec<usize>> = HashMap::new();
    for (name, shape) in file {
        if let Some(idx) = name
            .strip_prefix("features.")
            .and_then(|r| r.strip_suffix(".weight"))
        {
            let idx: usize = idx.parse().ok()?;
            // The guess walks every index up to the last conv: a VGG's are below 100,
            // so a name such as `features.99999999999.weight` is no VGG at all.
            if idx > MAX_TENSORS {
                return None;
            }
            if shape.len() == 4 {
                convs.push((idx, shape[1], shape[0]));
            }
        } else if name.starts_with("classifier.") && name.ends_with(".weight") {
            linear.insert(name, shape);
        }
    }
    convs.sort();
    let (first, last) = (convs.first()?, convs.last()?);
    let mut cfg = Vec::new();
    let mut next = 0;
    for (idx, _, out) in &convs {
        // Each conv is followed by its ReLU; a gap of one more index is a max pool.
        for _ in next..*idx {
            cfg.push("M".to_string());
        }
        cfg.push(out.to_string());
        next = idx + 2;
    }
    cfg.push("M".into()); // torchvision's VGGs end their features with a pool
                          // Shapes as stored: a scalar has no first dimension.
    let fc1 = linear
        .get("classifier.0.weight")
        .filter(|s| !s.is_empty())?;
    let fc3 = linear
        .get("classifier.6.weight")
        .filter(|s| !s.is_empty())?;
    let per_channel = fc1.iter().skip(1).product::<usize>() / last.2.max(1);
    let pool = (per_channel as f64).sqrt().round() as usize;
    let text = format!(
        "cfg={};in={};pool={pool};hidden={};classes={}",
        cfg.join(","),
        first.1,
        fc1[0],
        fc3[0]
    );
    ArchSpec::parse(&text).ok()
}

/// Serialises named f32 parameters to safetensors bytes in the given dtype (used to
/// write test files and to convert weights to f16 for shipping).
pub fn to_safetensors(params: &[(String, Vec<usize>, Vec<f32>)], dtype: Dtype) -> Result<Vec<u8>> {
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .map(|(name, shape, values)| {
            let bytes: Vec<u8> = match dtype {
                Dtype::F16 => values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
                Dtype::BF16 => values
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect(),
                _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            };
            (name.clone(), shape.clone(), bytes)
        })
        .collect();
    let dtype = if matches!(dtype, Dtype::F16 | Dtype::BF16) {
        dtype
    } else {
        Dtype::F32
    };
    let views = encoded
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::WeightsFile(format!("cannot encode `{name}`: {e:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None)
        .map_err(|e| Error::WeightsFile(format!("cannot serialise: {e:?}")))
}
