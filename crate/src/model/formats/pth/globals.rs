//! The allow-list: the only Python names a checkpoint may mention, and what calling
//! each of them builds. Nothing is ever run; a name outside the list stops the read
//! where it appears.

use super::tensor::{DType, StorageRef, TensorRef, MAX_RANK};
use super::value::{shown, Heap, Object, Value};
use crate::error::{Error, Result};

/// A Python name a state dict's pickle may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Global {
    OrderedDict,
    /// `torch._utils._rebuild_tensor`: how PyTorch up to 0.3 pickled tensors (the
    /// oldest torchvision checkpoints, e.g. `vgg16-397923af.pth`).
    RebuildTensor,
    RebuildTensorV2,
    /// Tensors on an untyped storage, their dtype passed separately.
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    /// A storage class (`torch.FloatStorage`, `torch.UntypedStorage`): a persistent id's
    /// element type.
    Storage(DType),
    /// A dtype object (`torch.float32`): `_rebuild_tensor_v3`'s element type.
    DType(DType),
}

impl Global {
    pub(super) fn name(self) -> String {
        match self {
            Global::OrderedDict => "collections.OrderedDict".into(),
            Global::RebuildTensor => "torch._utils._rebuild_tensor".into(),
            Global::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".into(),
            Global::RebuildTensorV3 => "torch._utils._rebuild_tensor_v3".into(),
            Global::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Global::RebuildParameterWithState => {
                "torch._utils._rebuild_parameter_with_state".into()
            }
            Global::Storage(d) => format!("a {} storage class", d.name()),
            Global::DType(d) => format!("torch.{}", d.name()),
        }
    }
}

/// Why a name was not resolved.
pub(super) enum Refusal {
    /// Anything outside the list: code, or a class the pickle would instantiate.
    NotAllowed(String),
    /// A storage class or dtype of torch's that holds no numbers we convert.
    UnsupportedType(String),
}

pub(super) fn resolve(module: &str, name: &str) -> std::result::Result<Global, Refusal> {
    let global = match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_tensor_v3") => Global::RebuildTensorV3,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch" | "torch.storage", "UntypedStorage") => Global::Storage(DType::U8),
        ("torch", _) if name.ends_with("Storage") => match DType::from_storage_class(name) {
            Some(d) => Global::Storage(d),
            None => return Err(Refusal::UnsupportedType(format!("torch.{name}"))),
        },
        ("torch", _) => match DType::from_dtype_name(name) {
            Some(d) => Global::DType(d),
            None if looks_like_dtype(name) => {
                return Err(Refusal::UnsupportedType(format!("torch.{name}")))
            }
            None => return Err(Refusal::NotAllowed(format!("{module}.{name}"))),
        },
        _ => return Err(Refusal::NotAllowed(format!("{module}.{name}"))),
    };
    Ok(global)
}

/// torch's other element types: complex, 8-bit floats, unsigned and quantized ints.
fn looks_like_dtype(name: &str) -> bool {
    let numbered = ["complex", "float", "uint", "qint", "quint", "bits", "int"]
        .iter()
        .any(|p| name.starts_with(p))
        && name.bytes().any(|b| b.is_ascii_digit());
    numbered || matches!(name, "cfloat" | "cdouble" | "chalf")
}

fn malformed(what: &str) -> Error {
    Error::WeightsFile(format!(
        "the checkpoint's pickle is malformed: {what} (the file is corrupt or not a state dict)"
    ))
}

fn int(heap: &Heap, v: Value, what: &str) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(i),
        other => Err(malformed(&format!(
            "{what} is {}, not an int",
            heap.describe(other)
        ))),
    }
}

/// A shape or strides: a tuple of at most [`MAX_RANK`] ints (checked before copying,
/// as a memoized tuple may be passed many times).
fn ints(heap: &Heap, v: Value, what: &str) -> Result<Vec<i64>> {
    let items = heap
        .sequence(v)
        .ok_or_else(|| malformed(&format!("{what} is {}, not a tuple", heap.describe(v))))?;
    if items.len() > MAX_RANK {
        return Err(malformed(&format!("{what} has {} dimensions", items.len())));
    }
    items.iter().map(|&i| int(heap, i, what)).collect()
}

/// Longer than any key torch.save writes (a number); checked before copying.
const MAX_KEY_BYTES: usize = 256;

/// Builds what calling `func` with `args` would return, for the allowed calls.
pub(super) fn call(heap: &mut Heap, func: Global, args: &[Value]) -> Result<Value> {
    let arity = |ok: &[usize]| {
        if ok.contains(&args.len()) {
            Ok(())
        } else {
            Err(malformed(&format!(
                "`{}` called with {} arguments",
                func.name(),
                args.len()
            )))
        }
    };
    match func {
        Global::OrderedDict => {
            arity(&[0, 1])?;
            let items = match args.first() {
                None => Vec::new(),
                Some(&pairs) => pairs_of(heap, pairs)?,
            };
            heap.alloc(Object::Dict(items))
        }
        Global::RebuildTensor => {
            arity(&[4])?;
            rebuild(heap, args, None)
        }
        Global::RebuildTensorV2 => {
            arity(&[6, 7])?;
            rebuild(heap, args, None)
        }
        Global::RebuildTensorV3 => {
            arity(&[7, 8])?;
            match heap.get(args[6]) {
                Some(Object::Global(Global::DType(d))) => {
                    let d = *d;
                    rebuild(heap, args, Some(d))
                }
                _ => Err(malformed("`_rebuild_tensor_v3` without a dtype")),
            }
        }
        Global::RebuildParameter | Global::RebuildParameterWithState => {
            arity(if func == Global::RebuildParameter {
                &[3]
            } else {
                &[4]
            })?;
            // A parameter is its tensor (gradients and hooks do not matter here).
            match heap.tensor(args[0]) {
                Some(_) => Ok(args[0]),
                None => Err(malformed("a parameter without a tensor")),
            }
        }
        Global::Storage(_) | Global::DType(_) => Err(malformed(&format!(
            "the pickle calls {}, which a state dict never does",
            func.name()
        ))),
    }
}

/// OrderedDict's argument as Python 2 pickled it: a list of `[key, value]` pairs.
fn pairs_of(heap: &Heap, pairs: Value) -> Result<Vec<(Value, Value)>> {
    let not_pairs = || malformed("OrderedDict called with something other than pairs");
    let items = heap.sequence(pairs).ok_or_else(not_pairs)?;
    items
        .iter()
        .map(|&pair| match heap.sequence(pair) {
            Some(&[k, v]) => Ok((k, v)),
            _ => Err(not_pairs()),
        })
        .collect()
}

/// `_rebuild_tensor*(storage, offset, size, stride, ...)`.
fn rebuild(heap: &mut Heap, args: &[Value], dtype: Option<DType>) -> Result<Value> {
    let storage = match heap.get(args[0]) {
        Some(Object::Storage(s)) => StorageRef::clone(s),
        _ => {
            return Err(malformed(&format!(
                "a tensor's storage is {}",
                heap.describe(args[0])
            )))
        }
    };
    let tensor = TensorRef {
        dtype: dtype.unwrap_or(storage.dtype),
        offset: int(heap, args[1], "a tensor's storage offset")?,
        shape: ints(heap, args[2], "a tensor's size")?,
        stride: ints(heap, args[3], "a tensor's stride")?,
        storage,
    };
    heap.alloc(Object::Tensor(Box::new(tensor)))
}

/// A persistent id: `('storage', storage class, key, location, size)` in the zip
/// format, with a sixth item (None, or a view's `(key, offset, size)`) in the legacy
/// format.
pub(super) fn storage_from_id(heap: &mut Heap, id: Value) -> Result<Value> {
    let not_storage = |heap: &Heap| {
        malformed(&format!(
            "a persistent id is {}, not a ('storage', type, key, location, size) record",
            heap.describe(id)
        ))
    };
    let Some(items) = heap.sequence(id) else {
        return Err(not_storage(heap));
    };
    let (tag, class, key, view) = match *items {
        [tag, class, key, _, _] => (tag, class, key, Value::None),
        [tag, class, key, _, _, view] => (tag, class, key, view),
        _ => return Err(not_storage(heap)),
    };
    if heap.text(tag) != Some("storage") {
        return Err(not_storage(heap));
    }
    let dtype = match heap.get(class) {
        Some(Object::Global(Global::Storage(d))) => *d,
        _ => return Err(not_storage(heap)),
    };
    let key = heap
        .text(key)
        .filter(|k| k.len() <= MAX_KEY_BYTES)
        .ok_or_else(|| malformed("a storage key is not a short string"))?
        .to_string();
    let view = match (view, heap.sequence(view)) {
        (Value::None, _) => None,
        (_, Some(&[_, offset, size])) => Some((
            int(heap, offset, "a storage view's offset")?,
            int(heap, size, "a storage view's size")?,
        )),
        _ => {
            return Err(malformed(&format!(
                "storage `{}` has a view record that is not (key, offset, size)",
                shown(&key)
            )))
        }
    };
    heap.alloc(Object::Storage(Box::new(StorageRef { key, dtype, view })))
}
