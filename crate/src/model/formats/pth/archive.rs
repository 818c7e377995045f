//! The zip format `torch.save` writes since PyTorch 1.6: `<name>/data.pkl` (the
//! pickle), `<name>/data/<key>` (each storage's raw bytes, stored uncompressed),
//! `<name>/byteorder` (`little` or `big`; absent before 1.10, meaning little) and
//! version records. Entries are sliced from the file's bytes, never copied.

use super::pickle::{self, Unpickled};
use super::value::shown;
use super::StorageBytes;
use crate::error::{Error, Result};
use std::io::Cursor;
use zip::{CompressionMethod, ZipArchive};

/// An opened checkpoint archive.
pub(super) struct Archive<'a> {
    bytes: &'a [u8],
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// The folder every record sits in (torch names it after the file, or `archive`).
    prefix: String,
}

fn corrupt(what: String) -> Error {
    Error::WeightsFile(format!(
        "the checkpoint's zip archive {what}: the file is truncated or corrupt"
    ))
}

impl<'a> Archive<'a> {
    pub(super) fn open(bytes: &'a [u8]) -> Result<Archive<'a>> {
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| corrupt(format!("cannot be read ({e})")))?;
        let names: Vec<&[u8]> = zip.file_names_raw().collect();
        let pickle = names
            .iter()
            .filter_map(|n| n.strip_suffix(b"/data.pkl"))
            .find(|prefix| !prefix.contains(&b'/'));
        let Some(prefix) = pickle else {
            return Err(Error::WeightsFile(
                "a zip archive without a `<name>/data.pkl` record: not a PyTorch checkpoint".into(),
            ));
        };
        let prefix = String::from_utf8_lossy(prefix).into_owned();
        let torchscript = names.iter().any(|n| {
            n.strip_prefix(prefix.as_bytes())
                .is_some_and(|rest| rest.starts_with(b"/code/") || rest == b"/constants.pkl")
        });
        if torchscript {
            return Err(Error::WeightsFile(
                "this is a TorchScript archive (torch.jit.save), which holds code; save `model.state_dict()` with torch.save and load that file".into(),
            ));
        }
        Ok(Archive { bytes, zip, prefix })
    }

    /// The bytes of record `name` (under the prefix), if the archive has it.
    fn record(&mut self, name: &str) -> Result<Option<&'a [u8]>> {
        let full = format!("{}/{name}", self.prefix);
        let Some(index) = self.zip.index_for_name(&full) else {
            return Ok(None);
        };
        let entry = self
            .zip
            .by_index_raw(index)
            .map_err(|e| corrupt(format!("record `{}` cannot be found ({e})", shown(&full))))?;
        if entry.compression() != CompressionMethod::Stored || entry.encrypted() {
            return Err(Error::WeightsFile(format!(
                "record `{}` of the checkpoint's zip archive is compressed or encrypted ({:?}); torch.save stores records as they are: load and re-save the checkpoint with torch.save",
                shown(&full),
                entry.compression()
            )));
        }
        let (size, claimed) = (entry.compressed_size(), entry.size());
        let start = entry.data_start().unwrap_or(u64::MAX);
        let end = start.saturating_add(size);
        if size != claimed || end > self.bytes.len() as u64 {
            return Err(corrupt(format!(
                "record `{}` claims {claimed} bytes at byte {start}, past the end of the {}-byte file",
                shown(&full),
                self.bytes.len()
            )));
        }
        Ok(Some(&self.bytes[start as usize..end as usize]))
    }

    pub(super) fn unpickle(&mut self) -> Result<Unpickled> {
        let pickle = self
            .record("data.pkl")?
            .ok_or_else(|| corrupt("lost its data.pkl record".into()))?;
        pickle::load(pickle, 0)
    }

    /// Whether the storages are big-endian, from the `byteorder` record.
    pub(super) fn big_endian(&mut self) -> Result<bool> {
        match self.record("byteorder")? {
            None | Some(b"little") => Ok(false),
            Some(b"big") => Ok(true),
            Some(other) => Err(Error::WeightsFile(format!(
                "the checkpoint's byteorder record says `{}`; expected `little` or `big`",
                shown(&String::from_utf8_lossy(other))
            ))),
        }
    }
}

impl<'a> StorageBytes<'a> for Archive<'a> {
    fn storage(&mut self, key: &str) -> Result<&'a [u8]> {
        self.record(&format!("data/{key}"))?.ok_or_else(|| {
            corrupt(format!(
                "has no record `{}/data/{}` for a tensor's storage",
                shown(&self.prefix),
                shown(key)
            ))
        })
    }
}
