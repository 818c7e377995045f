//! Deterministic weights, bit-identical to the shared fixtures' `vggweights.py`, so tests
//! and benchmarks rebuild the reference models instead of shipping them.
//!
//! Every parameter tensor `t` (state_dict order) has element `i` =
//! `f32((2u - 1) * bound)` with `u = (splitmix64((seed << 40) + (t << 32) + i) >> 40) / 2^24`
//! (arithmetic in f64, rounded once), `bound = sqrt(6 / fan_in)` for weights and
//! `1 / sqrt(fan_in)` for biases.

use super::arch::ArchSpec;
use super::params::{param_specs, ParamSpec};

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The values of parameter number `t` of the given spec.
pub fn fill(seed: u64, t: u64, param: &ParamSpec) -> Vec<f32> {
    let n: usize = param.shape.iter().product();
    let bound = if param.name.ends_with("weight") {
        (6.0 / param.fan_in as f64).sqrt()
    } else {
        1.0 / (param.fan_in as f64).sqrt()
    };
    let base = (seed << 40).wrapping_add(t << 32);
    (0..n as u64)
        .map(|i| {
            let u = (splitmix64(base.wrapping_add(i)) >> 40) as f64 / (1u64 << 24) as f64;
            ((2.0 * u - 1.0) * bound) as f32
        })
        .collect()
}

/// All parameters of `spec` for `seed`, as `(name, shape, values)`.
pub fn weights(spec: &ArchSpec, seed: u64) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    param_specs(spec)
        .into_iter()
        .enumerate()
        .map(|(t, p)| {
            let values = fill(seed, t as u64, &p);
            (p.name, p.shape, values)
        })
        .collect()
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
}
