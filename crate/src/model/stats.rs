//! Statistics of a node's tensors as loaded (the layer inspector), and histograms of
//! their values.

use serde::Serialize;
use std::collections::BTreeMap;

/// Statistics of one tensor.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TensorStats {
    pub shape: Vec<usize>,
    pub count: usize,
    pub min: f32,
    pub max: f32,
    pub mean: f32,
    pub std: f32,
    /// Fraction of exact zeros (pruned or dead weights show up here).
    pub zero_fraction: f32,
}

pub fn tensor_stats(v: &[f32], shape: &[usize]) -> TensorStats {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
    TensorStats {
        shape: shape.to_vec(),
        count: v.len(),
        min: v.iter().copied().fold(f32::INFINITY, f32::min),
        max: v.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        mean: mean as f32,
        std: var.sqrt() as f32,
        zero_fraction: (v.iter().filter(|x| **x == 0.0).count() as f64 / n) as f32,
    }
}

/// A node's tensors by leaf name (`weight`, `bias`, `running_mean`, ...).
pub type WeightStats = BTreeMap<String, TensorStats>;

/// A histogram of `v` over `bins` equal bins between its minimum and maximum.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Histogram {
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

/// Non-finite values are left out.
pub fn histogram(v: &[f32], bins: usize) -> Histogram {
    let bins = bins.max(1);
    let finite = || v.iter().filter(|x| x.is_finite());
    let (min, max) = finite().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(*x), hi.max(*x))
    });
    let mut counts = vec![0u32; bins];
    if min > max {
        return Histogram {
            min: 0.0,
            max: 0.0,
            counts,
        };
    }
    let span = (max - min) as f64;
    for x in finite() {
        let b = if span > 0.0 {
            (((*x - min) as f64 / span) * bins as f64) as usize
        } else {
            0
        };
        counts[b.min(bins - 1)] += 1;
    }
    Histogram { min, max, counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_the_maximum_in_the_last_bin() {
        let h = histogram(&[0.0, 0.1, 0.5, 1.0], 2);
        assert_eq!((h.min, h.max, h.counts), (0.0, 1.0, vec![2, 2]));
        assert_eq!(histogram(&[3.0, 3.0], 4).counts, [2, 0, 0, 0]);
        assert_eq!(histogram(&[f32::NAN, 1.0, f32::INFINITY], 1).counts, [1]);
    }

    #[test]
    fn stats_of_a_small_tensor() {
        let s = tensor_stats(&[0.0, 2.0, -2.0, 0.0], &[2, 2]);
        assert_eq!(
            (s.count, s.min, s.max, s.mean, s.zero_fraction),
            (4, -2.0, 2.0, 0.0, 0.5)
        );
        assert!((s.std - 2f32.sqrt()).abs() < 1e-6);
    }
}
