//! PyTorch `.pth` checkpoints read from their bytes, as a user downloads them
//! (torchvision's hosted weights, a training script's `torch.save`): both serialisations
//! `torch.save` writes (the zip archive, and the legacy stream of pickles), through an
//! unpickler that resolves only an allow-list of names and runs nothing. Pure Rust on
//! bytes, so the page can read a file the user picks.

mod archive;
mod globals;
mod legacy;
mod pickle;
mod state_dict;
mod tensor;
mod value;

use crate::error::{Error, Result};
use std::collections::HashMap;

/// One floating-point tensor of a state dict, its values row-major f32 (f16, bf16 and
/// f64 converted; views and strided tensors laid out as their shape says).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    /// The state dict's key as stored (a DataParallel `module.` prefix included).
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Where a checkpoint's storages are found by key.
trait StorageBytes<'a> {
    fn storage(&mut self, key: &str) -> Result<&'a [u8]>;
}

/// Reads the state dict of a `.pth` checkpoint: its floating-point tensors in stored
/// order. Integer tensors (batch norm's `num_batches_tracked`) are skipped. A state dict
/// nested under a key (`{"state_dict": ...}`) is found; a file that holds anything else
/// or names anything outside the allow-list is refused saying what it holds.
pub fn read(bytes: &[u8]) -> Result<Vec<StoredTensor>> {
    match sniff(bytes)? {
        Format::Zip => {
            let mut archive = archive::Archive::open(bytes)?;
            let big_endian = archive.big_endian()?;
            let unpickled = archive.unpickle()?;
            collect(bytes.len(), &unpickled, &mut archive, big_endian)
        }
        Format::Legacy => {
            // The legacy format always writes storages little-endian.
            let (unpickled, mut storages) = legacy::open(bytes)?;
            collect(bytes.len(), &unpickled, &mut storages, false)
        }
    }
}

enum Format {
    Zip,
    Legacy,
}

/// Which serialisation the bytes are, or what they look like instead.
fn sniff(bytes: &[u8]) -> Result<Format> {
    let refuse = |what: &str| Err(Error::WeightsFile(what.to_string()));
    match bytes {
        [] => refuse("the .pth file is empty (0 bytes)"),
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Ok(Format::Zip),
        // Every pickle torch.save writes starts with PROTO.
        [0x80, ..] => Ok(Format::Legacy),
        _ if bytes.get(257..262) == Some(b"ustar") => refuse(
            "the file is a tar-format checkpoint (PyTorch before 0.1.10): load it with an old PyTorch and re-save it with torch.save",
        ),
        _ if looks_like_safetensors(bytes) => refuse(
            "this is a safetensors file, not a .pth checkpoint: load it as safetensors",
        ),
        _ => refuse(
            "not a PyTorch checkpoint (neither a zip archive nor a pickle from torch.save)",
        ),
    }
}

fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() > 9 && bytes[8] == b'{'
}

fn collect<'a>(
    file_bytes: usize,
    unpickled: &pickle::Unpickled,
    storages: &mut impl StorageBytes<'a>,
    big_endian: bool,
) -> Result<Vec<StoredTensor>> {
    let mut budget = tensor::Budget::new(file_bytes);
    let mut out = Vec::new();
    // Tensors often share a storage (views, tied weights): look each key up once.
    let mut found: HashMap<&str, &'a [u8]> = HashMap::new();
    for (name, t) in state_dict::find(&unpickled.heap, unpickled.root)? {
        if !t.dtype.is_float() {
            continue;
        }
        let key = t.storage.key.as_str();
        let bytes = match found.get(key) {
            Some(&bytes) => bytes,
            None => *found.entry(key).or_insert(storages.storage(key)?),
        };
        if let Some((shape, values)) = tensor::to_f32(name, t, bytes, big_endian, &mut budget)? {
            out.push(StoredTensor {
                name: name.to_string(),
                shape,
                values,
            });
        }
    }
    Ok(out)
}
