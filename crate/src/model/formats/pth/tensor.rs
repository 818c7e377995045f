//! Tensors as a checkpoint describes them (a storage, an offset, a shape and strides in
//! elements) and their values as row-major f32, after every claim has been checked
//! against the bytes actually there.

use super::value::shown;
use crate::error::{Error, Result};

/// Element types a checkpoint's storages may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    pub(super) fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// torch's name for the type.
    pub(super) fn name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I64 => "int64",
            DType::I32 => "int32",
            DType::I16 => "int16",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// Weights are floating point; integer tensors (batch norm's `num_batches_tracked`,
    /// index buffers) are not weights and are skipped.
    pub(super) fn is_float(self) -> bool {
        matches!(self, DType::F64 | DType::F32 | DType::F16 | DType::BF16)
    }

    /// The type of a `torch.FloatStorage`-style class (what `torch.save` names in a
    /// persistent id); `UntypedStorage` is bytes.
    pub(super) fn from_storage_class(name: &str) -> Option<DType> {
        Some(match name {
            "DoubleStorage" => DType::F64,
            "FloatStorage" => DType::F32,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" | "UntypedStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }

    /// The type named by a `torch.float32`-style dtype object.
    pub(super) fn from_dtype_name(name: &str) -> Option<DType> {
        Some(match name {
            "float64" | "double" => DType::F64,
            "float32" | "float" => DType::F32,
            "float16" | "half" => DType::F16,
            "bfloat16" => DType::BF16,
            "int64" | "long" => DType::I64,
            "int32" | "int" => DType::I32,
            "int16" | "short" => DType::I16,
            "int8" => DType::I8,
            "uint8" => DType::U8,
            "bool" => DType::Bool,
            _ => return None,
        })
    }
}

/// A storage as a persistent id names it: its key in the file, the element type it was
/// saved with, and for a legacy-format view the range of elements it covers.
#[derive(Clone, Debug)]
pub(super) struct StorageRef {
    pub key: String,
    pub dtype: DType,
    pub view: Option<(i64, i64)>,
}

/// A tensor as a rebuild call describes it, numbers as pickled (checked on conversion).
#[derive(Clone, Debug)]
pub(super) struct TensorRef {
    pub storage: StorageRef,
    pub dtype: DType,
    pub offset: i64,
    pub shape: Vec<i64>,
    pub stride: Vec<i64>,
}

/// More dimensions than any tensor has; a longer shape is a hostile file.
pub(super) const MAX_RANK: usize = 64;

/// How many values the whole checkpoint may still produce: no more than the file has
/// bytes (stored values take at least two bytes each, so only views that repeat values
/// could claim more), and no more than the platform can hold next to the file.
pub(super) struct Budget {
    values_left: u64,
    file_bytes: u64,
}

impl Budget {
    pub(super) fn new(file_bytes: usize) -> Self {
        let file_bytes = file_bytes as u64;
        let room = crate::model::weights::LOAD_BUDGET_BYTES.saturating_sub(file_bytes) / 4;
        Budget {
            values_left: file_bytes.min(room),
            file_bytes,
        }
    }

    fn take(&mut self, name: &str, shape: &[i64], values: u64) -> Result<()> {
        if values > self.values_left {
            return Err(Error::WeightsFile(format!(
                "tensor `{}` of shape {shape:?} claims {values} values, more than a {}-byte checkpoint can hold (or than fit in memory)",
                shown(name),
                self.file_bytes
            )));
        }
        self.values_left -= values;
        Ok(())
    }
}

/// Where a tensor's values sit in its storage, in elements, checked.
struct Layout {
    offset: u64,
    shape: Vec<u64>,
    /// Strides with those of length-1 dimensions set to 0: they never move.
    stride: Vec<u64>,
    numel: u64,
}

impl Layout {
    fn check(name: &str, t: &TensorRef) -> Result<Layout> {
        let bad = |what: String| Error::WeightsFile(format!("tensor `{}`: {what}", shown(name)));
        if t.shape.len() > MAX_RANK {
            return Err(bad(format!("{} dimensions", t.shape.len())));
        }
        if t.shape.len() != t.stride.len() {
            return Err(bad(format!(
                "{} sizes but {} strides",
                t.shape.len(),
                t.stride.len()
            )));
        }
        let unsigned =
            |v: i64, what: &str| u64::try_from(v).map_err(|_| bad(format!("negative {what} {v}")));
        let offset = unsigned(t.offset, "storage offset")?;
        let mut shape = Vec::with_capacity(t.shape.len());
        let mut stride = Vec::with_capacity(t.shape.len());
        for (&n, &s) in t.shape.iter().zip(&t.stride) {
            let n = unsigned(n, "size")?;
            let s = unsigned(s, "stride")?;
            shape.push(n);
            stride.push(if n == 1 { 0 } else { s });
        }
        let numel = shape
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| bad(format!("shape {:?} has more than 2^64 values", t.shape)))?;
        Ok(Layout {
            offset,
            shape,
            stride,
            numel,
        })
    }

    /// The storage element the last value lies at, if the tensor has values.
    fn last_element(&self) -> Option<u64> {
        if self.numel == 0 {
            return None;
        }
        self.shape
            .iter()
            .zip(&self.stride)
            .try_fold(self.offset, |acc, (&n, &s)| {
                (n - 1).checked_mul(s).and_then(|d| acc.checked_add(d))
            })
            .or(Some(u64::MAX))
    }

    fn is_row_major(&self) -> bool {
        let mut expected = 1u64;
        for (&n, &s) in self.shape.iter().zip(&self.stride).rev() {
            if n != 1 && s != expected {
                return false;
            }
            expected = expected.saturating_mul(n);
        }
        true
    }
}

/// The values of `tensor` as row-major f32 with its shape, or `None` for an integer
/// tensor (not a weight). `storage` is the bytes of the whole storage the tensor's
/// persistent id names.
pub(super) fn to_f32(
    name: &str,
    tensor: &TensorRef,
    storage: &[u8],
    big_endian: bool,
    budget: &mut Budget,
) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
    if !tensor.dtype.is_float() {
        return Ok(None);
    }
    let layout = Layout::check(name, tensor)?;
    budget.take(name, &tensor.shape, layout.numel)?;
    let shape = layout
        .shape
        .iter()
        .map(|&n| usize::try_from(n))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| {
            Error::WeightsFile(format!(
                "tensor `{}` has shape {:?}, too large for this platform",
                shown(name),
                tensor.shape
            ))
        })?;
    let bytes = viewed(name, &tensor.storage, storage)?;
    let size = tensor.dtype.size();
    let held = (bytes.len() / size) as u64;
    let data = match layout.last_element() {
        None => &[][..],
        Some(last) if last < held => &bytes[..(last as usize + 1) * size],
        Some(last) => {
            return Err(Error::WeightsFile(format!(
                "tensor `{}` (shape {:?}, strides {:?}, offset {}) reaches element {} of storage `{}`, which holds {held} {} elements: the file is truncated or corrupt",
                shown(name),
                tensor.shape,
                tensor.stride,
                tensor.offset,
                last.saturating_add(1),
                shown(&tensor.storage.key),
                tensor.dtype.name()
            )))
        }
    };
    let values = convert(tensor.dtype, big_endian, data, &layout);
    Ok(Some((shape, values)))
}

/// The part of a storage's bytes a legacy-format view covers (the whole storage
/// otherwise).
fn viewed<'a>(name: &str, storage: &StorageRef, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let Some((offset, len)) = storage.view else {
        return Ok(bytes);
    };
    let size = storage.dtype.size() as u64;
    let range = u64::try_from(offset)
        .ok()
        .zip(u64::try_from(len).ok())
        .and_then(|(o, n)| Some((o.checked_mul(size)?, o.checked_add(n)?.checked_mul(size)?)))
        .filter(|&(start, end)| end <= bytes.len() as u64 && start <= end);
    match range {
        Some((start, end)) => Ok(&bytes[start as usize..end as usize]),
        None => Err(Error::WeightsFile(format!(
            "tensor `{}`: its storage view (elements {offset}..+{len}) lies outside storage `{}` ({} bytes)",
            shown(name),
            shown(&storage.key),
            bytes.len()
        ))),
    }
}

/// Decodes the layout's values; `data` ends at the last element the layout reaches.
fn convert(dtype: DType, big_endian: bool, data: &[u8], layout: &Layout) -> Vec<f32> {
    macro_rules! read {
        ($n:literal, $decode:expr) => {
            gather::<$n>(data, layout, $decode)
        };
    }
    match (dtype, big_endian) {
        (DType::F32, false) => read!(4, f32::from_le_bytes),
        (DType::F32, true) => read!(4, f32::from_be_bytes),
        (DType::F64, false) => read!(8, |b| f64::from_le_bytes(b) as f32),
        (DType::F64, true) => read!(8, |b| f64::from_be_bytes(b) as f32),
        (DType::F16, false) => read!(2, |b| half::f16::from_le_bytes(b).to_f32()),
        (DType::F16, true) => read!(2, |b| half::f16::from_be_bytes(b).to_f32()),
        (DType::BF16, false) => read!(2, |b| half::bf16::from_le_bytes(b).to_f32()),
        (DType::BF16, true) => read!(2, |b| half::bf16::from_be_bytes(b).to_f32()),
        // Integer tensors never get here (`to_f32` skips them).
        _ => Vec::new(),
    }
}

/// Walks the layout in row-major order. Every element index it visits is at most the
/// layout's last element, which `data` holds.
fn gather<const N: usize>(
    data: &[u8],
    layout: &Layout,
    decode: impl Fn([u8; N]) -> f32,
) -> Vec<f32> {
    let at = |element: u64| {
        let start = element as usize * N;
        let mut b = [0u8; N];
        b.copy_from_slice(&data[start..start + N]);
        decode(b)
    };
    let mut out = Vec::with_capacity(layout.numel as usize);
    if layout.numel == 0 {
        return out;
    }
    if layout.is_row_major() {
        let start = layout.offset as usize * N;
        let end = start + layout.numel as usize * N;
        out.extend(data[start..end].chunks_exact(N).map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            decode(b)
        }));
        return out;
    }
    let rank = layout.shape.len();
    let (inner_n, inner_s) = (layout.shape[rank - 1], layout.stride[rank - 1]);
    let mut index = vec![0u64; rank - 1];
    let mut row = layout.offset;
    loop {
        out.extend((0..inner_n).map(|i| at(row + i * inner_s)));
        // The next row: carry through the outer dimensions like an odometer.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            row += layout.stride[d];
            if index[d] < layout.shape[d] {
                break;
            }
            row -= layout.stride[d] * layout.shape[d];
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(offset: i64, shape: &[i64], stride: &[i64]) -> TensorRef {
        TensorRef {
            storage: StorageRef {
                key: "0".into(),
                dtype: DType::F32,
                view: None,
            },
            dtype: DType::F32,
            offset,
            shape: shape.to_vec(),
            stride: stride.to_vec(),
        }
    }

    fn storage(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
    }

    fn values(t: &TensorRef, bytes: &[u8]) -> Result<Vec<f32>> {
        let mut budget = Budget::new(1 << 20);
        Ok(to_f32("t", t, bytes, false, &mut budget)?.unwrap().1)
    }

    /// Views of a storage holding 0, 1, 2, ... come out row-major, each element where
    /// its offset and strides put it.
    #[test]
    fn views_pick_the_elements_their_strides_point_at() {
        // (label, offset, shape, strides, storage length, expected elements)
        type Case<'a> = (&'a str, i64, &'a [i64], &'a [i64], usize, &'a [f32]);
        #[rustfmt::skip]
        let cases: [Case; 4] = [
            // A 2x3 row-major storage 0..6 read as its 3x2 transpose.
            ("transposed", 0, &[3, 2], &[1, 3], 6, &[0., 3., 1., 4., 2., 5.]),
            // Rows 1..3, every second column, of a 4x5 storage 0..20.
            ("offset and step", 5, &[2, 3], &[5, 2], 20, &[5., 7., 9., 10., 12., 14.]),
            // A stride of 0 repeats the dimension.
            ("expanded", 1, &[2, 3], &[0, 1], 4, &[1., 2., 3., 1., 2., 3.]),
            // A huge stride on a length-one dimension is harmless.
            ("huge stride, length 1", 0, &[1, 2], &[i64::MAX, 1], 2, &[0., 1.]),
        ];
        for (what, offset, shape, stride, stored, want) in cases {
            let t = tensor(offset, shape, stride);
            assert_eq!(values(&t, &storage(stored)).unwrap(), want, "{what}");
        }
    }

    #[test]
    fn a_view_past_the_storage_is_refused() {
        // The last element is 5 + 1*5 + 2*2 = 14; the storage holds 14 (0..=13).
        let e = values(&tensor(5, &[2, 3], &[5, 2]), &storage(14)).unwrap_err();
        assert!(e.to_string().contains("reaches element 15"), "{e}");
    }

    #[test]
    fn a_huge_shape_is_refused_before_allocating() {
        let e = values(&tensor(0, &[1 << 30, 1 << 30], &[0, 0]), &storage(1)).unwrap_err();
        assert!(
            e.to_string().contains("claims 1152921504606846976 values"),
            "{e}"
        );
        let e = values(&tensor(0, &[1 << 40, 1 << 40], &[1, 1]), &storage(1)).unwrap_err();
        assert!(e.to_string().contains("more than 2^64"), "{e}");
    }
}
