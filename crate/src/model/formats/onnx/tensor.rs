//! A tensor's values, decoded from wherever its `TensorProto` keeps them (`raw_data`,
//! a typed array, or a range of an external-data file) once its claimed size has been
//! checked against the bytes that are really there: a header claiming 2 GiB over a
//! 12-byte payload is refused before anything is allocated.

use super::proto::{
    fields_numbered, Tensor, DOUBLE_DATA, FLOAT_DATA, INT32_DATA, INT64_DATA, UINT64_DATA,
};
use super::wire::Field;

pub type Result<T> = std::result::Result<T, String>;

/// ONNX's element types that a classifier's tensors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

impl DType {
    pub fn from_code(code: i64) -> Result<DType> {
        Ok(match code {
            1 => DType::F32,
            2 => DType::U8,
            3 => DType::I8,
            4 => DType::U16,
            5 => DType::I16,
            6 => DType::I32,
            7 => DType::I64,
            9 => DType::Bool,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::U32,
            13 => DType::U64,
            16 => DType::BF16,
            8 => return Err("holds strings".into()),
            c => return Err(format!("has element type {c}, which the engine does not read (float, float16, bfloat16, double and integers)")),
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
    }

    /// The typed array that holds values of this type when `raw_data` is not used.
    fn field(self) -> u32 {
        match self {
            DType::F32 => FLOAT_DATA,
            DType::F64 => DOUBLE_DATA,
            DType::I64 => INT64_DATA,
            DType::U32 | DType::U64 => UINT64_DATA,
            _ => INT32_DATA,
        }
    }

    /// One little-endian value of `raw_data` as f64.
    fn read(self, b: &[u8]) -> f64 {
        let a = |n: usize| -> [u8; 8] {
            let mut out = [0u8; 8];
            out[..n].copy_from_slice(&b[..n]);
            out
        };
        match self {
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            DType::F16 => half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
            DType::BF16 => half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
            DType::F64 => f64::from_le_bytes(a(8)),
            DType::I64 => i64::from_le_bytes(a(8)) as f64,
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            DType::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
            DType::I8 => b[0] as i8 as f64,
            DType::U8 | DType::Bool => b[0] as f64,
            DType::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
            DType::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            DType::U64 => u64::from_le_bytes(a(8)) as f64,
        }
    }

    /// One little-endian integer of `raw_data` (integer types only).
    fn read_int(self, b: &[u8]) -> i64 {
        match self {
            DType::I64 | DType::U64 => {
                i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            _ => self.read(b) as i64,
        }
    }

    /// One element of a typed array's varint as f64 (`int32_data` carries float16 and
    /// bfloat16 as their bits).
    fn of_varint(self, v: u64) -> f64 {
        match self {
            DType::F16 => half::f16::from_bits(v as u16).to_f64(),
            DType::BF16 => half::bf16::from_bits(v as u16).to_f64(),
            DType::U64 => v as f64,
            _ => v as i64 as f64,
        }
    }
}

/// Most values one tensor may hold: 2^31 (8 GiB of f32, beyond any classifier and beyond
/// what a wasm32 page can address).
pub const MAX_ELEMENTS: u64 = 1 << 31;

/// The dimensions as sizes, refusing negative ones.
pub fn shape(t: &Tensor) -> Result<Vec<usize>> {
    t.dims
        .iter()
        .map(|d| {
            usize::try_from(*d).map_err(|_| {
                format!(
                    "tensor `{}` has a negative dimension {d} ({:?})",
                    t.name, t.dims
                )
            })
        })
        .collect()
}

/// How many values the dimensions claim, checked against [`MAX_ELEMENTS`].
pub fn numel(t: &Tensor) -> Result<usize> {
    let mut n: u64 = 1;
    for d in shape(t)? {
        n = n
            .checked_mul(d as u64)
            .filter(|n| *n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                format!(
                    "tensor `{}` claims dimensions {:?}, over {MAX_ELEMENTS} values",
                    t.name, t.dims
                )
            })?;
    }
    Ok(n as usize)
}

pub fn dtype(t: &Tensor) -> Result<DType> {
    DType::from_code(t.data_type).map_err(|e| format!("tensor `{}` {e}", t.name))
}

/// Where a tensor's raw little-endian bytes are: `raw_data`, or its range of the
/// external file `external` (already looked up by location), checked to hold exactly
/// the values the dimensions claim.
fn raw_bytes<'a>(
    t: &'a Tensor,
    external: Option<&'a [u8]>,
    count: usize,
    dt: DType,
) -> Result<Option<&'a [u8]>> {
    let want = count as u64 * dt.size() as u64;
    if let Some(ext) = &t.external {
        let file = external.ok_or_else(|| {
            format!(
                "tensor `{}` is stored in the external file `{}`, which was not given",
                t.name, ext.location
            )
        })?;
        let length = ext.length.unwrap_or(want);
        let end = ext.offset.checked_add(length).filter(|e| *e <= file.len() as u64).ok_or_else(|| {
            format!(
                "tensor `{}` claims bytes {}..{} of `{}`, which has {} bytes (truncated or the wrong file)",
                t.name,
                ext.offset,
                ext.offset.saturating_add(length),
                ext.location,
                file.len()
            )
        })?;
        if length != want {
            return Err(format!("tensor `{}` claims {length} bytes in `{}` for {count} values of {dt:?} ({want} bytes)", t.name, ext.location));
        }
        return Ok(Some(&file[ext.offset as usize..end as usize]));
    }
    match t.raw {
        Some(raw) if raw.len() as u64 != want => Err(format!(
            "tensor `{}` claims dimensions {:?} ({count} values, {want} bytes of {dt:?}) but holds {} bytes",
            t.name,
            t.dims,
            raw.len()
        )),
        Some(raw) => Ok(Some(raw)),
        None => Ok(None),
    }
}

/// Counts the values of the typed array `number` without decoding them.
fn typed_count(t: &Tensor, dt: DType) -> Result<u64> {
    let mut count = 0u64;
    for f in fields_numbered(t.message, dt.field()) {
        count += match f.map_err(|e| format!("tensor `{}`: {e}", t.name))? {
            Field::Bytes(b) => match dt.field() {
                FLOAT_DATA => (b.len() / 4) as u64,
                DOUBLE_DATA => (b.len() / 8) as u64,
                _ => b.iter().filter(|x| **x & 0x80 == 0).count() as u64,
            },
            _ => 1,
        };
    }
    Ok(count)
}

/// Visits every value of `t` as f64, in order, after checking the count.
fn visit(t: &Tensor, external: Option<&[u8]>, mut each: impl FnMut(f64, i64)) -> Result<usize> {
    if t.segmented {
        return Err(format!(
            "tensor `{}` is split into segments, which the engine does not read",
            t.name
        ));
    }
    let dt = dtype(t)?;
    let count = numel(t)?;
    if let Some(raw) = raw_bytes(t, external, count, dt)? {
        for b in raw.chunks_exact(dt.size()) {
            each(dt.read(b), if dt.is_float() { 0 } else { dt.read_int(b) });
        }
        return Ok(count);
    }
    let found = typed_count(t, dt)?;
    if found != count as u64 {
        return Err(format!(
            "tensor `{}` claims dimensions {:?} ({count} values) but holds {found}",
            t.name, t.dims
        ));
    }
    for f in fields_numbered(t.message, dt.field()) {
        match (f?, dt.field()) {
            (Field::Fixed32(v), FLOAT_DATA) => each(f32::from_bits(v) as f64, 0),
            (Field::Fixed64(v), DOUBLE_DATA) => each(f64::from_bits(v), 0),
            (Field::Bytes(b), FLOAT_DATA) => b
                .chunks_exact(4)
                .for_each(|c| each(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64, 0)),
            (Field::Bytes(b), DOUBLE_DATA) => b.chunks_exact(8).for_each(|c| {
                each(
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
                    0,
                )
            }),
            (Field::Varint(v), _) => each(dt.of_varint(v), v as i64),
            (Field::Bytes(b), _) => {
                let mut v = 0u64;
                let mut shift = 0;
                for byte in b {
                    if shift < 64 {
                        v |= u64::from(byte & 0x7f) << shift;
                    }
                    shift += 7;
                    if byte & 0x80 == 0 {
                        each(dt.of_varint(v), v as i64);
                        v = 0;
                        shift = 0;
                    }
                }
            }
            _ => {
                return Err(format!(
                    "tensor `{}` has a value array of the wrong wire type",
                    t.name
                ))
            }
        }
    }
    Ok(count)
}

/// The values of `t` as f32 (any float or integer type).
pub fn floats(t: &Tensor, external: Option<&[u8]>) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(numel(t)?.min(1 << 24));
    visit(t, external, |v, _| out.push(v as f32))?;
    Ok(out)
}

/// The values of `t` as f64 (small constants: shapes, scalars).
pub fn doubles(t: &Tensor, external: Option<&[u8]>) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(numel(t)?.min(1 << 16));
    visit(t, external, |v, _| out.push(v))?;
    Ok(out)
}

/// The values of an integer tensor as i64 (exact beyond 2^53, unlike [`doubles`]).
pub fn ints(t: &Tensor, external: Option<&[u8]>) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(numel(t)?.min(1 << 16));
    visit(t, external, |_, i| out.push(i))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor<'a>(
        dims: Vec<i64>,
        data_type: i64,
        raw: Option<&'a [u8]>,
        message: &'a [u8],
    ) -> Tensor<'a> {
        Tensor {
            name: "t".into(),
            dims,
            data_type,
            raw,
            message,
            ..Tensor::default()
        }
    }

    #[test]
    fn raw_values_of_each_width() {
        let raw: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            floats(&tensor(vec![2], 1, Some(&raw), &[]), None).unwrap(),
            [1.5, -2.0]
        );
        let raw: Vec<u8> = [half::f16::from_f32(0.25)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            floats(&tensor(vec![1], 10, Some(&raw), &[]), None).unwrap(),
            [0.25]
        );
        let raw: Vec<u8> = [-7i64, 1 << 60]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            ints(&tensor(vec![2], 7, Some(&raw), &[]), None).unwrap(),
            [-7, 1 << 60]
        );
    }

    #[test]
    fn typed_arrays_packed_and_not() {
        // float_data packed [1.0, 2.0]; int64_data unpacked 3 then packed [-1].
        let mut msg = vec![0x22, 8];
        msg.extend(1f32.to_le_bytes());
        msg.extend(2f32.to_le_bytes());
        assert_eq!(
            floats(&tensor(vec![2], 1, None, &msg), None).unwrap(),
            [1.0, 2.0]
        );
        let mut msg = vec![0x38, 3, 0x3a, 10];
        msg.extend([0xff; 9]);
        msg.push(0x01);
        assert_eq!(
            ints(&tensor(vec![2], 7, None, &msg), None).unwrap(),
            [3, -1]
        );
    }

    #[test]
    fn claims_beyond_the_data_are_refused_before_allocating() {
        let raw = [0u8; 12];
        let huge = tensor(vec![1 << 29], 1, Some(&raw), &[]);
        let e = floats(&huge, None).unwrap_err();
        assert!(
            e.contains("536870912 values") && e.contains("holds 12 bytes"),
            "{e}"
        );
        let e = floats(&tensor(vec![1 << 40, 1 << 40], 1, Some(&raw), &[]), None).unwrap_err();
        assert!(e.contains("over 2147483648 values"), "{e}");
        let e = floats(&tensor(vec![-3], 1, Some(&raw), &[]), None).unwrap_err();
        assert!(e.contains("negative dimension -3"), "{e}");
        let e = floats(&tensor(vec![4], 1, None, &[]), None).unwrap_err();
        assert!(e.contains("(4 values) but holds 0"), "{e}");
        let e = floats(&tensor(vec![1], 8, None, &[]), None).unwrap_err();
        assert!(e.contains("strings"), "{e}");
    }

    #[test]
    fn external_ranges_are_checked() {
        let file: Vec<u8> = [1f32, 2.0, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut t = tensor(vec![2], 1, None, &[]);
        t.external = Some(super::super::proto::ExternalRef {
            location: "m.onnx.data".into(),
            offset: 4,
            length: Some(8),
        });
        assert_eq!(floats(&t, Some(&file)).unwrap(), [2.0, 3.0]);
        assert!(floats(&t, None).unwrap_err().contains("was not given"));
        t.external.as_mut().unwrap().offset = 8;
        assert!(floats(&t, Some(&file)).unwrap_err().contains("bytes 8..16"));
    }
}
