//! The `.keras` archive Keras 3's `model.save` writes: a zip of `metadata.json`,
//! `config.json` and `model.weights.h5` (the `.weights.h5` layout), stored uncompressed.
//! The weights member is located, not copied.

use super::h5::shown;
use crate::error::{Error, Result};
use std::io::Cursor;
use std::ops::Range;
use zip::{CompressionMethod, ZipArchive};

/// The member that holds the weights.
const WEIGHTS: &str = "model.weights.h5";

/// Whether a zip archive's first record is one Keras writes first (`metadata.json`; or
/// `config.json`, `model.weights.h5` in archives re-zipped by hand), which no PyTorch
/// checkpoint starts with. Reads only the first local header.
pub fn looks_like_keras(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..30).filter(|h| h.starts_with(b"PK\x03\x04")) else {
        return false;
    };
    let len = u16::from_le_bytes([header[26], header[27]]) as usize;
    let name = bytes.get(30..30 + len).unwrap_or_default();
    [
        b"metadata.json".as_slice(),
        b"config.json",
        WEIGHTS.as_bytes(),
    ]
    .contains(&name)
}

fn corrupt(what: String) -> Error {
    Error::WeightsFile(format!(
        "the .keras archive {what}: the file is truncated or corrupt"
    ))
}

/// Where `model.weights.h5`'s bytes lie in the archive.
pub fn weights_range(bytes: &[u8]) -> Result<Range<usize>> {
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| corrupt(format!("cannot be read ({e})")))?;
    let Some(index) = zip.index_for_name(WEIGHTS) else {
        let names: Vec<String> = zip
            .file_names_raw()
            .take(6)
            .map(|n| format!("`{}`", shown(&String::from_utf8_lossy(n))))
            .collect();
        let hint = if zip.index_for_name("model.weights.npz").is_some() {
            " (its weights are in model.weights.npz, which is not read: save the model with Keras' default HDF5 weights)"
        } else {
            ""
        };
        return Err(Error::WeightsFile(format!(
            "the .keras archive has no {WEIGHTS}{hint}; it holds {}",
            names.join(", ")
        )));
    };
    let entry = zip
        .by_index_raw(index)
        .map_err(|e| corrupt(format!("record {WEIGHTS} cannot be found ({e})")))?;
    if entry.compression() != CompressionMethod::Stored || entry.encrypted() {
        return Err(Error::WeightsFile(format!(
            "{WEIGHTS} in the .keras archive is compressed or encrypted ({:?}); Keras stores it as it is: unzip the archive and load {WEIGHTS} itself",
            entry.compression()
        )));
    }
    let (size, claimed) = (entry.compressed_size(), entry.size());
    let start = entry.data_start().unwrap_or(u64::MAX);
    let end = start.saturating_add(size);
    if size != claimed || end > bytes.len() as u64 {
        return Err(corrupt(format!(
            "record {WEIGHTS} claims {claimed} bytes at byte {start}, past the end of the {}-byte file",
            bytes.len()
        )));
    }
    Ok(start as usize..end as usize)
}
