//! Which map to trust: the deletion and insertion scores of Petsiuk et al. ("RISE:
//! Randomized Input Sampling for Explanation of Black-box Models", 2018), exactly as the
//! repository's docs/METHODS.md defines them ("Which map to trust").
//!
//! A map orders the pixels, most important first. **Deletion** removes them in that order
//! (sets every channel to 0 in normalised space, the dataset's mean colour), `step`
//! pixels at a time, and records the class's softmax probability after each step: a
//! faithful map makes it fall fast (low area). **Insertion** starts from a blurred copy
//! of the image ([`blur`]) and puts the original pixels back in the same order: a
//! faithful map makes it rise fast (high area). The `n + 1` images of a curve do not
//! depend on each other, so they run batched, and the classifier head over many copies
//! at once ([`head_logits`]).

pub mod blur;
pub mod score;

use crate::error::{Error, Result};
use crate::methods::{batch_size, features, head_logits, Attribution, Forward};
use crate::predict::softmax;
use candle_core::Tensor;
use serde::Serialize;
use std::cmp::Ordering;

/// One of the two scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Deletion,
    Insertion,
}

impl Metric {
    pub const ALL: [Metric; 2] = [Metric::Deletion, Metric::Insertion];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Deletion => "deletion",
            Metric::Insertion => "insertion",
        }
    }

    pub fn parse(name: &str) -> Result<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                Error::Input(format!(
                    "unknown metric `{name}`; use deletion or insertion (or both, comma-separated)"
                ))
            })
    }

    /// What a good map does to this score, for a person reading a table.
    pub fn better(self) -> &'static str {
        match self {
            Metric::Deletion => "lower is better",
            Metric::Insertion => "higher is better",
        }
    }
}

/// One curve: the class's probability after each of the `n` steps (`scores[0]` before
/// any change), so `n + 1` values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Curve {
    pub metric: Metric,
    /// Pixels changed per step.
    pub step: usize,
    pub scores: Vec<f64>,
}

impl Curve {
    /// The number of steps, `n`.
    pub fn steps(&self) -> usize {
        self.scores.len() - 1
    }

    /// The area under the curve over [0, 1] by the trapezoid rule:
    /// `(sum_k p_k - (p_0 + p_n) / 2) / n`.
    pub fn auc(&self) -> f64 {
        auc(&self.scores)
    }
}

/// The trapezoid area of `n + 1` equally spaced scores over [0, 1].
pub fn auc(scores: &[f64]) -> f64 {
    let n = scores.len().saturating_sub(1);
    if n == 0 {
        return scores.first().copied().unwrap_or(0.0);
    }
    let sum: f64 = scores.iter().sum();
    (sum - (scores[0] + scores[n]) / 2.0) / n as f64
}

/// The input-sized map a score ranks (`H * W` values): for an input attribution the
/// channel sum of `|m|`; for a CAM its full-size map; for occlusion its grid drawn at the
/// input's size (each pixel the mean drop of the windows covering it).
pub fn metric_map(attribution: &Attribution, (h, w): (usize, usize)) -> Result<Vec<f32>> {
    let full = attribution.full((h, w))?;
    let values: Vec<f32> = full.flatten_all()?.to_vec1()?;
    match attribution {
        Attribution::Input(_) => {
            let mut sum = vec![0f32; h * w];
            for plane in values.chunks_exact(h * w) {
                for (s, v) in sum.iter_mut().zip(plane) {
                    *s += v.abs();
                }
            }
            Ok(sum)
        }
        _ => Ok(values),
    }
}

/// The pixel positions ordered by the map, highest first; equal values keep row-major
/// order (a stable sort). Refuses a map with NaN or infinite values, which order nothing.
pub fn ranking(map: &[f32]) -> Result<Vec<usize>> {
    if let Some(i) = map.iter().position(|v| !v.is_finite()) {
        return Err(Error::Input(format!(
            "the map has a non-finite value ({}) at pixel {i}: it cannot order the pixels",
            map[i]
        )));
    }
    let mut order: Vec<usize> = (0..map.len()).collect();
    // Compared as numbers: -0.0 equals 0.0 (a total order would put it after 0.0).
    order.sort_by(|&a, &b| map[b].partial_cmp(&map[a]).unwrap_or(Ordering::Equal));
    Ok(order)
}

/// The default step: one row's worth of pixels (`W`), so `n = H` for a square image.
pub fn default_step((_, w): (usize, usize)) -> usize {
    w
}

/// The curves of `map` (`H * W`, e.g. from [`metric_map`]) for `class` of `fwd`'s image,
/// one per metric, `step` pixels per step. All curves' images run in one stream of
/// batches; `fwd`'s progress hears `(images done, images)` before each batch.
pub fn curves(
    fwd: &Forward,
    map: &[f32],
    class: usize,
    metrics: &[Metric],
    step: usize,
) -> Result<Vec<Curve>> {
    let (h, w) = fwd.size();
    if map.len() != h * w {
        return Err(Error::Input(format!(
            "the map has {} values; the {h}x{w} input needs one per pixel ({})",
            map.len(),
            h * w
        )));
    }
    if step == 0 {
        return Err(Error::Input(
            "the step must be at least 1 pixel, got 0".into(),
        ));
    }
    let order = ranking(map)?;
    let n = (h * w).div_ceil(step);
    let x = fwd.input();
    let channels = x.dims()[1];
    let image: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let model = fwd.model();
    let batch = batch_size(4 * fwd.largest_activation_bytes());
    let total = metrics.len() * (n + 1);
    let mut feats = Vec::with_capacity(total.div_ceil(batch));
    let mut pending = Vec::with_capacity(batch * image.len());
    let mut done = 0;
    let mut flush = |pending: &mut Vec<f32>, done: &mut usize| -> Result<()> {
        let copies = pending.len() / image.len();
        fwd.report(*done, total)?;
        let xs = Tensor::from_vec(
            std::mem::take(pending),
            (copies, channels, h, w),
            x.device(),
        )?;
        feats.push(features(model, &xs)?);
        *done += copies;
        Ok(())
    };
    for &metric in metrics {
        // The image before any step, and where each changed pixel takes its values.
        let (mut current, target) = match metric {
            Metric::Deletion => (image.clone(), vec![0f32; image.len()]),
            Metric::Insertion => (blur::blur(&image, channels, (h, w)), image.clone()),
        };
        for k in 0..=n {
            if k > 0 {
                for &p in &order[(k - 1) * step..(k * step).min(h * w)] {
                    for c in 0..channels {
                        current[c * h * w + p] = target[c * h * w + p];
                    }
                }
            }
            pending.extend_from_slice(&current);
            if pending.len() / image.len() == batch {
                flush(&mut pending, &mut done)?;
            }
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut done)?;
    }
    fwd.report(total, total)?;
    let probs: Vec<f64> = head_logits(model, &feats)?
        .iter()
        .map(|row| softmax(row)[class] as f64)
        .collect();
    if probs.len() != total {
        return Err(Error::Input(format!(
            "the model gave {} scores for {total} images",
            probs.len()
        )));
    }
    Ok(metrics
        .iter()
        .zip(probs.chunks(n + 1))
        .map(|(&metric, scores)| Curve {
            metric,
            step,
            scores: scores.to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trapezoid_area_by_hand() {
        // n = 2: (1 + 0.5 + 0 - (1 + 0) / 2) / 2 = 0.5.
        assert_eq!(auc(&[1.0, 0.5, 0.0]), 0.5);
        // n = 4, a constant 0.25: 0.25.
        assert_eq!(auc(&[0.25; 5]), 0.25);
        // n = 1: the mean of the ends.
        assert_eq!(auc(&[0.2, 0.6]), 0.4);
    }

    #[test]
    fn ranking_is_highest_first_with_ties_in_row_major_order() {
        assert_eq!(
            ranking(&[0.5, 2.0, 0.5, -1.0, 2.0, 0.0]).unwrap(),
            [1, 4, 0, 2, 5, 3]
        );
        // A rounded map holds -0.0 beside 0.0: equal values, so row-major order.
        assert_eq!(ranking(&[-0.0, 0.0, 1.0]).unwrap(), [2, 0, 1]);
        assert_eq!(ranking(&[0.0, -0.0, 1.0]).unwrap(), [2, 0, 1]);
        let err = ranking(&[0.0, f32::NAN]).unwrap_err().to_string();
        assert!(
            err.contains("non-finite") && err.contains("pixel 1"),
            "{err}"
        );
    }

    #[test]
    fn metric_names_round_trip_and_an_unknown_one_is_named() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()).unwrap(), m);
        }
        let err = Metric::parse("road").unwrap_err().to_string();
        assert!(err.contains("`road`") && err.contains("deletion"), "{err}");
    }
}
