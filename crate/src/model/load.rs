//! Making a runnable [`Graph`] for an architecture: from a weights file's bytes
//! (safetensors or `.pth`), from a file on disk, or from the fixtures' deterministic
//! weights; and reading a loaded node back (the layer inspector).

use super::arch::ArchSpec;
use super::config::{node_config, LayerConfig};
use super::graph::Graph;
use super::stats::{tensor_stats, WeightStats};
use super::{families, synthetic, weights};
use crate::error::{Error, Result};
use std::collections::HashMap;

impl Graph {
    /// Loads weights file bytes (safetensors: torchvision or timm names, f32/f16/bf16; a
    /// PyTorch `.pth` state dict; or Keras' VGG weights, `.h5`/`.weights.h5`/`.keras`).
    /// The bytes are dropped once the f32 values exist.
    pub fn from_bytes(arch: &ArchSpec, bytes: Vec<u8>) -> Result<Graph> {
        let graph = families::graph(arch)?;
        let params = weights::read_owned(arch, &graph, bytes)?;
        Graph::new(arch.clone(), graph, params)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(arch: &ArchSpec, path: &std::path::Path) -> Result<Graph> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(arch, bytes).map_err(|e| match e {
            Error::WeightsFile(m) => Error::WeightsFile(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Reads an ONNX model (`name`: what to call it, the file's stem) with its
    /// external-data files by location (see [`super::formats::onnx::read`]). Returns the
    /// graph and what the reader assumed (a free input size), to tell the user.
    pub fn from_onnx(
        bytes: &[u8],
        name: &str,
        external: &[(&str, &[u8])],
    ) -> Result<(Graph, Vec<String>)> {
        let imported = super::formats::onnx::read(bytes, name, external)?;
        let arch = ArchSpec::imported(name, "onnx", &imported.spec);
        Ok((
            Graph::new(arch, imported.spec, imported.params)?,
            imported.notes,
        ))
    }

    /// [`Graph::from_onnx`] for a file, with the external-data files its model names,
    /// read from the same folder.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_onnx_file(path: &std::path::Path) -> Result<(Graph, Vec<String>)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let at = |e: Error| match e {
            Error::Onnx(m) => Error::Onnx(format!("{}: {m}", path.display())),
            other => other,
        };
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        let mut files = Vec::new();
        for location in super::formats::onnx::external_locations(&bytes).map_err(at)? {
            super::formats::onnx::check_location(&location).map_err(at)?;
            let file = folder.join(&location);
            let data = std::fs::read(&file).map_err(|e| {
                Error::Onnx(format!(
                    "{}: its weights are in the external file `{location}`, which cannot be read beside it ({}: {e})",
                    path.display(),
                    file.display()
                ))
            })?;
            files.push((location, data));
        }
        let external: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(l, d)| (l.as_str(), d.as_slice()))
            .collect();
        let stem = path
            .file_stem()
            .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned());
        Self::from_onnx(&bytes, &stem, &external).map_err(at)
    }

    /// The fixtures' deterministic weights for `seed` (see [`synthetic`]), with batch
    /// norms' running statistics at 0 and 1 unless `stats` replaces them.
    pub fn synthetic(arch: &ArchSpec, seed: u64) -> Result<Graph> {
        Self::synthetic_with(arch, seed, HashMap::new())
    }

    /// [`Graph::synthetic`] with some tensors replaced (the fixtures' calibrated
    /// batch-norm statistics).
    pub fn synthetic_with(
        arch: &ArchSpec,
        seed: u64,
        replace: HashMap<String, Vec<f32>>,
    ) -> Result<Graph> {
        let graph = families::graph(arch)?;
        let mut params: HashMap<String, Vec<f32>> = synthetic::state_dict(&graph, seed)
            .into_iter()
            .map(|(n, _, v)| (n, v))
            .collect();
        for (name, v) in replace {
            match params.get_mut(&name) {
                Some(slot) if slot.len() == v.len() => *slot = v,
                _ => {
                    return Err(Error::Input(format!(
                        "`{name}` is not a tensor of {arch} of {} values",
                        v.len()
                    )))
                }
            }
        }
        Graph::new(arch.clone(), graph, params)
    }

    /// The config of node `name` at an input of `size`, with its tensors' statistics.
    pub fn inspect(
        &self,
        name: &str,
        size: Option<(usize, usize)>,
    ) -> Result<(LayerConfig, Option<WeightStats>)> {
        let config = node_config(self.arch(), self.spec(), name, size)?;
        let i = self.node(name)?;
        let shapes: HashMap<&str, &[usize]> = self
            .spec()
            .state
            .iter()
            .map(|e| (e.name.as_str(), e.shape.as_slice()))
            .collect();
        let tensors = self.op(i).tensors();
        if tensors.is_empty() {
            return Ok((config, None));
        }
        let stats = tensors
            .into_iter()
            .zip(&self.spec().nodes[i].params)
            .map(|((leaf, v), full)| {
                (
                    leaf.to_string(),
                    tensor_stats(v, shapes.get(full.as_str()).copied().unwrap_or(&[])),
                )
            })
            .collect();
        Ok((config, Some(stats)))
    }
}
