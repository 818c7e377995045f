//! `.npy` arrays in and out: float32 (or float64, converted) C-order arrays. Our own
//! small reader so that a hostile header (absurd shape, short data) is an error that
//! says so, checked before anything is allocated.

use crate::error::{Error, Result};
use candle_core::{Device, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

fn field<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .ok_or_else(|| Error::Npy(format!("header has no '{key}' entry")))?;
    let rest = &header[at + key.len() + 2..];
    let colon = rest
        .find(':')
        .ok_or_else(|| Error::Npy(format!("malformed '{key}' entry")))?;
    Ok(rest[colon + 1..].trim_start())
}

/// Parses `.npy` bytes into an f32 tensor of the stored shape.
pub fn from_bytes(bytes: &[u8]) -> Result<Tensor> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(Error::Npy("not a .npy file (no \\x93NUMPY magic)".into()));
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(Error::Npy(format!("unsupported .npy version {v}"))),
    };
    let end = start
        .checked_add(header_len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| {
            Error::Npy(format!(
                "header length {header_len} runs past the end of the file ({} bytes)",
                bytes.len()
            ))
        })?;
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| Error::Npy("header is not text".into()))?;
    let descr = field(header, "descr")?;
    let item = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        let shown: String = descr.chars().take(8).collect();
        return Err(Error::Npy(format!(
            "dtype {shown} is not supported; save the array as float32 (or float64)"
        )));
    };
    if field(header, "fortran_order")?.starts_with("True") {
        return Err(Error::Npy(
            "Fortran-order arrays are not supported; save a C-order array".into(),
        ));
    }
    // A tuple: `(` first, then entries up to the first `)`.
    let shape_text = field(header, "shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|t| t.find(')').map(|close| &t[..close]))
        .ok_or_else(|| {
            Error::Npy("malformed shape (expected a tuple such as (1, 3, 224, 224))".into())
        })?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| Error::Npy(format!("malformed shape entry `{s}`")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(*d))
        .ok_or_else(|| Error::Npy(format!("shape {shape:?} is too large")))?;
    let data = &bytes[end..];
    if count.checked_mul(item) != Some(data.len()) {
        return Err(Error::Npy(format!(
            "shape {shape:?} needs {} bytes of data, the file has {}: truncated or corrupt",
            count.saturating_mul(item),
            data.len()
        )));
    }
    let values: Vec<f32> = if item == 4 {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect()
    };
    Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
}

/// Serialises an f32 tensor as `.npy` (version 1, little-endian, C order).
pub fn to_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let values = t
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let dims: Vec<String> = t.dims().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts on a 64-byte boundary, as numpy does.
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn read(path: &std::path::Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes).map_err(|e| match e {
        Error::Npy(m) => Error::Npy(format!("{}: {m}", path.display())),
        other => other,
    })
}

#[cfg(not(target_arch = "wasm32"))]
pub fn write(path: &std::path::Path, t: &Tensor) -> Result<()> {
    std::fs::write(path, to_bytes(t)?).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_shape_and_values() {
        let t = Tensor::from_vec(
            vec![1f32, -2.5, 3.25, 0.0, 7.0, 8.0],
            (1, 2, 3),
            &Device::Cpu,
        )
        .unwrap();
        let bytes = to_bytes(&t).unwrap();
        assert_eq!((bytes.len() - 6 * 4) % 64, 0, "data aligned to 64 bytes");
        let back = from_bytes(&bytes).unwrap();
        assert_eq!(back.dims(), [1, 2, 3]);
        assert_eq!(
            back.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [1., -2.5, 3.25, 0., 7., 8.]
        );
        let v = Tensor::from_vec(vec![4f32], 1, &Device::Cpu).unwrap();
        assert_eq!(from_bytes(&to_bytes(&v).unwrap()).unwrap().dims(), [1]);
    }

    /// A version-1 `.npy` file with this header dict and data.
    fn npy_with(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good =
            to_bytes(&Tensor::from_vec(vec![1f32; 4], (2, 2), &Device::Cpu).unwrap()).unwrap();
        let dict = |descr: &str, shape: &str| {
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n")
        };
        for (bytes, needle) in [
            (b"hello".to_vec(), "not a .npy"),
            (good[..good.len() - 3].to_vec(), "truncated"),
            (
                npy_with(&dict("<f4", "(99999999999, 99999999999)"), &[0; 16]),
                "too large",
            ),
            (
                npy_with(&dict("<f4", "(4000000000,)"), &[0; 16]),
                "needs 16000000000 bytes",
            ),
            (npy_with(&dict("<i8", "(2,)"), &[0; 16]), "not supported"),
            (
                npy_with(&dict("<f4", "(2, x)"), &[0; 16]),
                "malformed shape",
            ),
            (
                npy_with(
                    "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
                    &[0; 8],
                ),
                "Fortran",
            ),
        ] {
            let err = from_bytes(&bytes).unwrap_err().to_string();
            assert!(err.contains(needle), "`{err}` lacks `{needle}`");
        }
    }
}
