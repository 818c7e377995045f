//! The format `torch.save` wrote before PyTorch 1.6 (and still writes with
//! `_use_new_zipfile_serialization=False`): five pickles in a row (a magic number, the
//! format's protocol version 1001, a dict of platform facts, the object itself, the
//! sorted list of storage keys), then each listed storage as an 8-byte little-endian
//! element count and its raw little-endian bytes.

use super::pickle::{self, Unpickled};
use super::tensor::DType;
use super::value::{shown, Heap, Object, Value};
use super::StorageBytes;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as pickled.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

/// The bytes of a legacy checkpoint's storages, by key.
pub(super) struct Storages<'a>(HashMap<String, &'a [u8]>);

fn unexpected(what: &str, heap: &Heap, found: Value) -> Error {
    Error::WeightsFile(format!(
        "the file is a pickle but not a torch.save checkpoint: {what} is {}",
        heap.describe(found)
    ))
}

/// Reads a legacy checkpoint: its object, and where its storages are.
pub(super) fn open(bytes: &[u8]) -> Result<(Unpickled, Storages<'_>)> {
    let magic = pickle::load(bytes, 0)?;
    if !matches!(magic.heap.get(magic.root), Some(Object::BigInt(b)) if b[..] == MAGIC) {
        return Err(unexpected(
            "its first value (torch.save's magic number)",
            &magic.heap,
            magic.root,
        ));
    }
    let protocol = pickle::load(bytes, magic.end)?;
    if protocol.root != Value::Int(PROTOCOL_VERSION) {
        return Err(unexpected(
            "its format version (1001)",
            &protocol.heap,
            protocol.root,
        ));
    }
    let sys_info = pickle::load(bytes, protocol.end)?;
    if !matches!(sys_info.heap.get(sys_info.root), Some(Object::Dict(_))) {
        return Err(unexpected(
            "its platform record (a dict)",
            &sys_info.heap,
            sys_info.root,
        ));
    }
    let unpickled = pickle::load(bytes, sys_info.end)?;
    let keys = pickle::load(bytes, unpickled.end)?;
    let storages = read_storages(bytes, &unpickled.heap, &keys)?;
    Ok((unpickled, Storages(storages)))
}

/// Slices each listed storage out of the bytes after the key list. A storage's element
/// count is in units of the type it was first pickled with, as torch.load reads it.
fn read_storages<'a>(
    bytes: &'a [u8],
    heap: &Heap,
    keys: &Unpickled,
) -> Result<HashMap<String, &'a [u8]>> {
    let mut dtypes: HashMap<&str, DType> = HashMap::new();
    for s in heap.storages() {
        dtypes.entry(&s.key).or_insert(s.dtype);
    }
    let listed = keys
        .heap
        .sequence(keys.root)
        .ok_or_else(|| unexpected("its storage key list", &keys.heap, keys.root))?;
    let mut storages = HashMap::new();
    let mut pos = keys.end;
    for &key in listed {
        let key = keys
            .heap
            .text(key)
            .ok_or_else(|| unexpected("a storage key", &keys.heap, key))?;
        let dtype = dtypes.get(key).copied().ok_or_else(|| {
            Error::WeightsFile(format!(
                "the checkpoint lists storage `{}`, which no tensor uses: the file is corrupt",
                shown(key)
            ))
        })?;
        let cut_short = |what: String| {
            Error::WeightsFile(format!(
                "the checkpoint is cut short in storage `{}` ({what}): the file is truncated",
                shown(key)
            ))
        };
        let count = bytes
            .get(pos..pos + 8)
            .ok_or_else(|| cut_short(format!("its element count at byte {pos} is missing")))?;
        let count = u64::from_le_bytes(count.try_into().unwrap_or([0xff; 8]));
        let left = bytes.len() - pos - 8;
        let len = count
            .checked_mul(dtype.size() as u64)
            .filter(|&n| n <= left as u64)
            .ok_or_else(|| {
                cut_short(format!(
                    "{count} {} elements claimed, {left} bytes left",
                    dtype.name()
                ))
            })? as usize;
        storages.insert(key.to_string(), &bytes[pos + 8..pos + 8 + len]);
        pos += 8 + len;
    }
    Ok(storages)
}

impl<'a> StorageBytes<'a> for Storages<'a> {
    fn storage(&mut self, key: &str) -> Result<&'a [u8]> {
        self.0.get(key).copied().ok_or_else(|| {
            Error::WeightsFile(format!(
                "a tensor's storage `{}` is not among the checkpoint's stored data: the file is corrupt",
                shown(key)
            ))
        })
    }
}
