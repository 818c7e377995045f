//! The few HDF5 operations Keras' weights need, over the `hdf5-pure` crate (pure Rust,
//! so the page can read a file the user picks): groups and their string attributes,
//! datasets' shapes, and float values once their shape is known to be the expected one.
//! Every failure becomes one `weights file:` message naming the object at fault.

use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, DType, Datatype, DatatypeByteOrder, File, Source};

/// An HDF5 file opened over bytes it owns (a whole `.h5` file, or the member of a
/// `.keras` archive, sliced without a copy).
pub struct H5 {
    file: File,
}

/// `bytes[start..end]` as an HDF5 byte source.
struct Slice {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl Source for Slice {
    fn len(&self) -> u64 {
        (self.end - self.start) as u64
    }

    fn read_at(
        &self,
        offset: u64,
        buf: &mut [u8],
    ) -> std::result::Result<(), hdf5_pure::FormatError> {
        let len = self.end - self.start;
        let begin = usize::try_from(offset).ok().filter(|o| *o <= len);
        let stop = begin
            .and_then(|b| b.checked_add(buf.len()))
            .filter(|s| *s <= len);
        match (begin, stop) {
            (Some(b), Some(s)) => {
                buf.copy_from_slice(&self.bytes[self.start + b..self.start + s]);
                Ok(())
            }
            _ => Err(hdf5_pure::FormatError::UnexpectedEof {
                expected: usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .saturating_add(buf.len()),
                available: len,
            }),
        }
    }
}

/// HDF5's signature, at the start of every file Keras or h5py writes (no user block).
pub const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

fn broken(what: &str, e: impl std::fmt::Display) -> Error {
    Error::WeightsFile(format!(
        "{what} ({e}): the HDF5 file is truncated or corrupt"
    ))
}

/// A dataset's element type, as far as weights go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    F16,
    F16Big,
    F32,
    F64,
}

impl H5 {
    /// Opens `bytes[start..end]` as an HDF5 file.
    pub fn open(bytes: Vec<u8>, start: usize, end: usize) -> Result<H5> {
        if end > bytes.len() || start > end {
            return Err(Error::WeightsFile(format!(
                "HDF5 data at bytes {start}..{end} lies past the end of the {}-byte file",
                bytes.len()
            )));
        }
        if !bytes[start..end].starts_with(SIGNATURE) {
            return Err(Error::WeightsFile(
                "not an HDF5 file (it does not start with HDF5's signature)".into(),
            ));
        }
        let file = File::from_source(Slice { bytes, start, end })
            .map_err(|e| broken("its superblock cannot be read", e))?;
        Ok(H5 { file })
    }

    /// Whether `path` names a group.
    pub fn has_group(&self, path: &str) -> bool {
        self.file.group(path).is_ok()
    }

    /// The names of the groups directly under `path`, sorted.
    pub fn groups(&self, path: &str) -> Result<Vec<String>> {
        let g = self.group(path)?;
        let mut names = g.groups().map_err(|e| {
            broken(
                &format!("the members of group `{}` cannot be listed", shown(path)),
                e,
            )
        })?;
        names.sort();
        Ok(names)
    }

    /// The names of the datasets directly under `path`.
    pub fn datasets(&self, path: &str) -> Result<Vec<String>> {
        self.group(path)?.datasets().map_err(|e| {
            broken(
                &format!("the members of group `{}` cannot be listed", shown(path)),
                e,
            )
        })
    }

    fn group(&self, path: &str) -> Result<hdf5_pure::Group> {
        if path.is_empty() {
            return Ok(self.file.root());
        }
        self.file
            .group(path)
            .map_err(|e| broken(&format!("group `{}` cannot be opened", shown(path)), e))
    }

    /// The attribute `name` of group `path` as a list of strings: `Ok(None)` when it is
    /// absent, an empty list for an empty numeric array (Keras 3 writes a layer without
    /// weights so), an error for any other type.
    pub fn string_list(&self, path: &str, name: &str) -> Result<Option<Vec<String>>> {
        let attrs = self.group(path)?.attrs().map_err(|e| {
            broken(
                &format!("the attributes of group `{}` cannot be read", shown(path)),
                e,
            )
        })?;
        let Some(value) = attrs.get(name) else {
            return Ok(None);
        };
        let list = match value {
            AttrValue::String(s)
            | AttrValue::AsciiString(s)
            | AttrValue::VarLenString(s)
            | AttrValue::VarLenAsciiString(s)
            | AttrValue::StringSized { value: s, .. }
            | AttrValue::AsciiStringSized { value: s, .. } => vec![s.clone()],
            AttrValue::StringArray(v)
            | AttrValue::AsciiStringArray(v)
            | AttrValue::VarLenAsciiCharArray(v)
            | AttrValue::VarLenStringArray(v)
            | AttrValue::VarLenAsciiStringArray(v)
            | AttrValue::StringArraySized { values: v, .. }
            | AttrValue::AsciiStringArraySized { values: v, .. } => v.clone(),
            AttrValue::F64Array(v) if v.is_empty() => Vec::new(),
            AttrValue::F32Array(v) if v.is_empty() => Vec::new(),
            other => {
                return Err(Error::WeightsFile(format!(
                    "attribute `{name}` of group `{}` is {}, not a list of names",
                    shown(path),
                    kind_of(other)
                )))
            }
        };
        // Fixed-length strings come null-padded.
        Ok(Some(
            list.into_iter()
                .map(|s| s.trim_end_matches('\0').to_string())
                .collect(),
        ))
    }

    /// A dataset's shape and float type.
    pub fn describe(&self, path: &str) -> Result<(Vec<usize>, Float)> {
        let ds = self
            .file
            .dataset(path)
            .map_err(|e| broken(&format!("dataset `{}` cannot be opened", shown(path)), e))?;
        let shape = ds.shape().map_err(|e| {
            broken(
                &format!("the shape of dataset `{}` cannot be read", shown(path)),
                e,
            )
        })?;
        let shape = shape
            .iter()
            .map(|d| usize::try_from(*d).ok().filter(|d| *d <= u32::MAX as usize))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| {
                Error::WeightsFile(format!(
                    "dataset `{}` claims an absurd shape {shape:?}",
                    shown(path)
                ))
            })?;
        let dtype = ds.datatype().map_err(|e| {
            broken(
                &format!("the type of dataset `{}` cannot be read", shown(path)),
                e,
            )
        })?;
        let float = match dtype {
            Datatype::FloatingPoint {
                size: 2,
                byte_order: DatatypeByteOrder::LittleEndian,
                ..
            } => Float::F16,
            Datatype::FloatingPoint {
                size: 2,
                byte_order: DatatypeByteOrder::BigEndian,
                ..
            } => Float::F16Big,
            Datatype::FloatingPoint { size: 4 | 8, .. } => match ds.dtype() {
                Ok(DType::F32) => Float::F32,
                Ok(DType::F64) => Float::F64,
                _ => return Err(unsupported(path, "floats of an unusual layout")),
            },
            Datatype::FloatingPoint { size, .. } => {
                return Err(unsupported(
                    path,
                    &format!("{}-bit floats", size.saturating_mul(8)),
                ))
            }
            Datatype::FixedPoint { size, .. } => {
                return Err(unsupported(
                    path,
                    &format!("{}-bit integers", size.saturating_mul(8)),
                ))
            }
            _ => return Err(unsupported(path, "values that are not numbers")),
        };
        Ok((shape, float))
    }

    /// A dataset's values as f32. Call only after [`Self::describe`]'s shape was found to
    /// be the expected one, so that what is allocated is what the model needs.
    pub fn values(&self, path: &str, float: Float, count: usize) -> Result<Vec<f32>> {
        let ds = self
            .file
            .dataset(path)
            .map_err(|e| broken(&format!("dataset `{}` cannot be opened", shown(path)), e))?;
        let unreadable = |e: hdf5_pure::Error| {
            broken(
                &format!("the values of dataset `{}` cannot be read", shown(path)),
                e,
            )
        };
        let values: Vec<f32> = match float {
            Float::F32 => ds.read_f32().map_err(unreadable)?,
            Float::F64 => ds
                .read_f64()
                .map_err(unreadable)?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            Float::F16 | Float::F16Big => {
                let raw = ds.read_raw().map_err(unreadable)?;
                raw.chunks_exact(2)
                    .map(|b| {
                        let bits = if float == Float::F16Big {
                            u16::from_be_bytes([b[0], b[1]])
                        } else {
                            u16::from_le_bytes([b[0], b[1]])
                        };
                        half::f16::from_bits(bits).to_f32()
                    })
                    .collect()
            }
        };
        if values.len() != count {
            return Err(Error::WeightsFile(format!(
                "dataset `{}` gave {} values for a shape of {count}: the file is corrupt",
                shown(path),
                values.len()
            )));
        }
        Ok(values)
    }
}

fn unsupported(path: &str, what: &str) -> Error {
    Error::WeightsFile(format!(
        "dataset `{}` holds {what}; weights are read as f16, f32 or f64",
        shown(path)
    ))
}

fn kind_of(v: &AttrValue) -> &'static str {
    match v {
        AttrValue::F32(_) | AttrValue::F64(_) => "a float",
        AttrValue::F32Array(_) | AttrValue::F64Array(_) => "an array of floats",
        AttrValue::I8(_) | AttrValue::I16(_) | AttrValue::I32(_) | AttrValue::I64(_) => {
            "an integer"
        }
        AttrValue::U8(_) | AttrValue::U16(_) | AttrValue::U32(_) | AttrValue::U64(_) => {
            "an integer"
        }
        _ => "an array of numbers",
    }
}

/// A name from the file, shortened and stripped of control characters for a message.
pub fn shown(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
    if name.chars().count() > 80 {
        format!("{clean}...")
    } else {
        clean
    }
}
