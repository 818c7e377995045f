//! Deterministic weights, bit-identical to the shared fixtures' generators
//! (`vggweights.py`, and `graph/cnnweights.py` for every other torchvision CNN, which
//! agrees with it on VGG), so tests and benchmarks rebuild the reference models instead
//! of shipping them.
//!
//! Every float state-dict entry `t` (PyTorch's `state_dict()` order, integer buffers
//! counted too) has element `i` drawn from `r = 2u - 1`, `u = (splitmix64((seed << 40) +
//! (t << 32) + i) >> 40) / 2^24`, then by the entry's name and shape (arithmetic in f64,
//! rounded to f32 as the Python does):
//! conv / linear weights (2+ dims) `r * sqrt(6 / fan_in)`; their biases `r / sqrt(fan_in)`;
//! 1-D weights (batch / layer norm gamma) `1 + 0.1 r`; other 1-D biases `0.1 r`;
//! `running_mean` 0, `running_var` 1 (the fixtures then replace both with calibrated
//! statistics); ConvNeXt's `layer_scale` `0.1 + 0.05 r`.

use super::arch::ArchSpec;
use super::families;
use super::graph::GraphSpec;
use crate::error::Result;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `f32((2u - 1) * bound)` for the `n` elements of entry `t`: the Python `fill`.
pub fn fill(seed: u64, t: u64, n: usize, bound: f64) -> Vec<f32> {
    let base = (seed << 40).wrapping_add(t << 32);
    (0..n as u64)
        .map(|i| {
            let u = (splitmix64(base.wrapping_add(i)) >> 40) as f64 / (1u64 << 24) as f64;
            ((2.0 * u - 1.0) * bound) as f32
        })
        .collect()
}

/// `f32(offset + f64(fill(...)))`: the generator's `1 + 0.1 r` and `0.1 + 0.05 r`.
fn offset_fill(seed: u64, t: u64, n: usize, offset: f64, bound: f64) -> Vec<f32> {
    fill(seed, t, n, bound)
        .into_iter()
        .map(|v| (offset + v as f64) as f32)
        .collect()
}

/// A state dict's entry: name, shape, values (row-major).
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Every float state-dict entry of `spec` for `seed`, as `(name, shape, values)`, in
/// state-dict order.
pub fn state_dict(spec: &GraphSpec, seed: u64) -> Vec<NamedTensor> {
    let shapes: std::collections::HashMap<&str, &[usize]> = spec
        .state
        .iter()
        .map(|e| (e.name.as_str(), e.shape.as_slice()))
        .collect();
    let mut out = Vec::new();
    for (t, e) in spec.state.iter().enumerate() {
        if !e.is_float {
            continue;
        }
        let t = t as u64;
        let n: usize = e.shape.iter().product();
        let (prefix, leaf) = e.name.rsplit_once('.').unwrap_or(("", e.name.as_str()));
        let fan_in = |shape: &[usize]| shape[1..].iter().product::<usize>() as f64;
        let values = match leaf {
            "running_mean" => vec![0.0; n],
            "running_var" => vec![1.0; n],
            "layer_scale" => offset_fill(seed, t, n, 0.1, 0.05),
            _ if e.shape.len() >= 2 => fill(seed, t, n, (6.0 / fan_in(&e.shape)).sqrt()),
            "weight" => offset_fill(seed, t, n, 1.0, 0.1),
            "bias" => match shapes.get(format!("{prefix}.weight").as_str()) {
                Some(w) if w.len() >= 2 => fill(seed, t, n, 1.0 / fan_in(w).sqrt()),
                _ => fill(seed, t, n, 0.1),
            },
            _ => fill(seed, t, n, 0.1),
        };
        out.push((e.name.clone(), e.shape.clone(), values));
    }
    out
}

/// [`state_dict`] of the architecture `spec`.
pub fn weights(spec: &ArchSpec, seed: u64) -> Vec<NamedTensor> {
    families::graph(spec).map_or_else(|_| Vec::new(), |g| state_dict(&g, seed))
}

/// [`weights`], or the reason the architecture has no graph.
pub fn try_weights(spec: &ArchSpec, seed: u64) -> Result<Vec<NamedTensor>> {
    Ok(state_dict(&families::graph(spec)?, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of splitmix64 seeded with 0 (Vigna's reference implementation
        // adds the increment before mixing, as here).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn matches_vggweights_py_bit_for_bit() {
        // Bits of the first elements of `vggweights.make("tiny", 3)` (numpy float32).
        let spec = ArchSpec::parse("tiny").unwrap();
        let w = weights(&spec, 3);
        let bits = |v: &[f32]| v[..4].iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!(
            bits(&w[0].2),
            [0x3eba85be, 0xbe7b9a90, 0x3edf6370, 0x3edea3f9]
        );
        assert_eq!(
            bits(&w[1].2),
            [0xbe285518, 0xbe2bc71b, 0xbe3f6df0, 0xbde86ac6]
        );
        let last_weight = &w[w.len() - 2];
        assert_eq!(last_weight.0, "classifier.6.weight");
        assert_eq!(
            bits(&last_weight.2),
            [0xbe2dfcbe, 0xbec49bbd, 0x3ed640a1, 0xbed30bd4]
        );
    }

    #[test]
    fn matches_cnnweights_py_bit_for_bit() {
        // Bits of the first elements of `cnnweights.make(spec, seed)` (numpy float32) for
        // each rule: conv weight, batch-norm gamma and beta, linear bias, layer scale,
        // layer-norm gamma and beta, channels-last linear bias.
        let bits = |arch: &str, seed: u64, name: &str| -> Vec<u32> {
            let w = weights(&ArchSpec::parse(arch).unwrap(), seed);
            let (_, _, v) = w.iter().find(|(n, _, _)| n == name).unwrap();
            v[..3].iter().map(|x| x.to_bits()).collect()
        };
        // One rule a row, as the generator's docstring lists them.
        #[rustfmt::skip]
        let cases: [(&str, u64, &str, [u32; 3]); 8] = [
            ("resnet18", 21, "conv1.weight", [0x3e4b3ed4, 0xbe0ab27a, 0x3d5a6455]),
            ("resnet18", 21, "bn1.weight", [0x3f71484c, 0x3f739f70, 0x3f81496f]),
            ("resnet18", 21, "bn1.bias", [0xbdb33aeb, 0xbda2f422, 0x3d9398b5]),
            ("resnet18", 21, "fc.bias", [0xbca16cae, 0xbd007fde, 0x3cb35033]),
            ("convnext_tiny", 27, "features.1.0.layer_scale", [0x3da6d217, 0x3dca8eda, 0x3dec97bf]),
            ("convnext_tiny", 27, "features.0.1.weight", [0x3f7c13aa, 0x3f74b7c2, 0x3f6e9127]),
            ("convnext_tiny", 27, "features.0.1.bias", [0xbd083320, 0x3d329056, 0x3b3da100]),
            ("convnext_tiny", 27, "features.1.0.block.3.bias", [0xbd1545c6, 0xbd921189, 0x3cf68d6e]),
        ];
        for (arch, seed, name, want) in cases {
            assert_eq!(bits(arch, seed, name), want, "{arch} {name}");
        }
    }
}
