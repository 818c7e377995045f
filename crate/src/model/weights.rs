//! Reading VGG weights from safetensors: torchvision and timm names, f32/f16/bf16
//! storage (computed in f32), with errors that name the tensor at fault.

use super::arch::ArchSpec;
use super::params::{param_specs, ParamSpec};
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
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
fn canonical_name(stored: &str) -> String {
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

/// The raw values of one stored tensor as f32.
fn to_f32(name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<f32>> {
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

/// The shape a stored tensor may have for the parameter `p`: torchvision's, or timm's
/// conv-shaped classifier weights (same element count and order).
fn shape_fits(p: &ParamSpec, found: &[usize], spec: &ArchSpec) -> bool {
    if found == p.shape.as_slice() {
        return true;
    }
    let timm = match p.name.as_str() {
        "classifier.0.weight" => vec![spec.hidden(), spec.last_channels(), spec.pool(), spec.pool()],
        "classifier.3.weight" => vec![spec.hidden(), spec.hidden(), 1, 1],
        _ => return false,
    };
    found == timm.as_slice()
}

/// A VGG16 header is about 3 KB; anything past this is not a weights file of ours.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;
/// More tensors than any VGG-family model has, by far.
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
            "header length {n} bytes is absurd (a VGG header is a few KB, the limit is {MAX_HEADER_BYTES}): not a safetensors file, or a corrupt one"
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
fn check_memory(spec: &ArchSpec, file_bytes: usize) -> Result<()> {
    let params = super::params::count(spec) as u64;
    let need = params.saturating_mul(4).saturating_add(file_bytes as u64);
    if need > LOAD_BUDGET_BYTES {
        return Err(Error::WeightsFile(format!(
            "{spec} has {params} parameters: with the {file_bytes}-byte file that needs {} MiB, over the {} MiB this platform allows",
            need >> 20,
            LOAD_BUDGET_BYTES >> 20
        )));
    }
    Ok(())
}

/// Reads every parameter `spec` needs from safetensors bytes, as f32 tensors in
/// torchvision naming. The bytes can be dropped as soon as this returns.
pub fn read(spec: &ArchSpec, bytes: &[u8]) -> Result<HashMap<String, Tensor>> {
    if bytes.is_empty() {
        return Err(Error::WeightsFile("file is empty (0 bytes)".into()));
    }
    check_header_length(bytes)?;
    check_memory(spec, bytes.len())?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| describe(e, bytes.len()))?;
    if st.len() > MAX_TENSORS {
        return Err(Error::WeightsFile(format!(
            "file holds {} tensors; a VGG-family model has {} (at most {MAX_TENSORS} are read)",
            st.len(),
            param_specs(spec).len()
        )));
    }
    let mut stored: HashMap<String, (String, safetensors::tensor::TensorView<'_>)> = HashMap::new();
    for (name, view) in st.iter() {
        stored.insert(canonical_name(name), (name.to_string(), view));
    }
    let mut out = HashMap::new();
    let mut problems: Vec<Error> = Vec::new();
    for p in param_specs(spec) {
        let Some((stored_name, view)) = stored.remove(&p.name) else {
            problems.push(Error::MissingTensor {
                name: p.name.clone(),
                expected: p.shape.clone(),
            });
            continue;
        };
        if !shape_fits(&p, view.shape(), spec) {
            problems.push(Error::TensorShape {
                name: stored_name,
                expected: p.shape.clone(),
                found: view.shape().to_vec(),
            });
            continue;
        }
        let values = to_f32(&stored_name, view.dtype(), view.data())?;
        out.insert(
            p.name.clone(),
            Tensor::from_vec(values, p.shape.as_slice(), &Device::Cpu)?,
        );
    }
    let mut extra: Vec<String> = stored.into_values().map(|(n, _)| n).collect();
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
        (0, 0) => {}
        (1, 0) => return Err(problems.remove(0)),
        (0, _) => {
            return Err(Error::ExtraTensors {
                names: list(&extra),
                arch: spec.to_string(),
            })
        }
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
            let guess =
                infer_spec(&st).map_or(String::new(), |g| format!(" The file looks like `{g}`."));
            return Err(Error::ArchMismatch {
                arch: spec.to_string(),
                detail: format!(
                    "{}. Are these weights for another architecture?{guess}",
                    detail.join("; ")
                ),
            });
        }
    }
    Ok(out)
}

/// Guesses the architecture a weights file was made for from its tensor names and
/// shapes (convolutions at `features.N`, pools in the index gaps, the classifier's
/// widths), to say what the file is when it does not fit.
pub fn infer_spec(st: &SafeTensors<'_>) -> Option<ArchSpec> {
    let mut convs: Vec<(usize, usize, usize)> = Vec::new(); // (index, in, out)
    let mut linear: HashMap<String, Vec<usize>> = HashMap::new();
    for (name, view) in st.iter() {
        let name = canonical_name(name);
        if let Some(idx) = name
            .strip_prefix("features.")
            .and_then(|r| r.strip_suffix(".weight"))
        {
            let shape = view.shape();
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
            linear.insert(name, view.shape().to_vec());
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
    let spec = ArchSpec::parse(&text).ok()?;
    // Prefer the short name when the guess is a named architecture.
    Some(
        ArchSpec::named()
            .filter_map(|n| ArchSpec::parse(n).ok())
            .find(|named| {
                named.cfg() == spec.cfg()
                    && named.in_channels == spec.in_channels
                    && named.pool() == spec.pool()
                    && named.hidden() == spec.hidden()
                    && named.classes == spec.classes
            })
            .unwrap_or(spec),
    )
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
