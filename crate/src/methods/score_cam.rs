//! Score-CAM (Wang et al., "Score-CAM: Score-Weighted Visual Explanations for
//! Convolutional Neural Networks", 2020), as pytorch-grad-cam computes it: each channel
//! `A_k`, upsampled to the input (corner-aligned bilinear) and min-max normalised
//! (eps 1e-8), masks the input; the masked input's logit is the channel's score, and the
//! weights are `softmax(scores)`. No gradients; one forward pass per channel, batched.
//! With `max-n` (Faster Score-CAM, as tf-keras-vis' `max_N`; docs/METHODS.md) only the `N`
//! channels of largest spatial variance are scored and the softmax runs over those.

use super::cam::{class_activation_map, ChannelWeights, LayerMaps};
use super::catalogue::{DefaultValue, Kind, Max, MethodSpec, OptionSpec};
use super::steps::resize_bilinear_corners;
use super::{batch_size, features, head_logits, Attribution, Forward, Method};
use crate::error::Result;
use candle_core::{Device, Tensor};

pub const METHOD: MethodSpec = MethodSpec {
    name: "score-cam",
    title: "Score-CAM",
    about: "Each of the layer's maps, upsampled into a mask on the image, weighted by the class score the masked image gets (Wang et al. 2020): no gradients.",
    order: 70,
    layer: true,
    options: &[OptionSpec {
        name: "max-n",
        kind: Kind::Int {
            min: 1,
            max: Max::Unbounded,
        },
        default: DefaultValue::Described("all"),
        unit: "channels",
        help: "Faster Score-CAM (tf-keras-vis' max_N): score only the N channels of the layer with the largest spatial variance",
        below_min: None,
    }],
    build: |args| {
        Ok(Box::new(ScoreCam {
            layer: args.layer()?,
            max_n: args.count_if_given("max-n")?,
        }))
    },
};

#[derive(Clone, Copy, Debug)]
pub struct ScoreCam {
    pub layer: crate::model::NodeId,
    /// Faster Score-CAM: score only this many channels, those of largest variance over
    /// the spatial positions (ties by channel index); `None` scores all (Score-CAM).
    pub max_n: Option<usize>,
}

/// The `n` channels of largest spatial variance, highest first, ties by channel index.
fn highest_variance(maps: &LayerMaps, n: usize) -> Vec<usize> {
    let variance = |k: usize| {
        let a = maps.activation(k);
        let mean = a.iter().map(|v| *v as f64).sum::<f64>() / a.len() as f64;
        a.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / a.len() as f64
    };
    let variances: Vec<f64> = (0..maps.channels).map(variance).collect();
    let mut order: Vec<usize> = (0..maps.channels).collect();
    order.sort_by(|&a, &b| variances[b].total_cmp(&variances[a]));
    order.truncate(n);
    order
}

/// The input mask of one channel: upsampled, then `(u - min) / (max - min + 1e-8)`.
fn mask(a: &[f32], hw: (usize, usize), size: (usize, usize)) -> Vec<f32> {
    let up = resize_bilinear_corners(a, hw, size);
    let (lo, hi) = up
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    up.iter().map(|v| (v - lo) / (hi - lo + 1e-8)).collect()
}

impl ChannelWeights for ScoreCam {
    fn uses_gradient(&self) -> bool {
        false
    }

    fn weights(&self, fwd: &Forward, class: usize, maps: &LayerMaps) -> Result<Vec<f64>> {
        // The channels scored: all of them, or Faster Score-CAM's highest-variance `N`.
        let kept = match self.max_n {
            Some(n) if n < maps.channels => highest_variance(maps, n),
            _ => (0..maps.channels).collect(),
        };
        crate::limits::check_passes(
            kept.len(),
            &match kept.len() == maps.channels {
                true => format!("Score-CAM of a layer with {} channels", maps.channels),
                false => format!(
                    "Score-CAM of {} of a layer's {} channels",
                    kept.len(),
                    maps.channels
                ),
            },
            "pick a layer with fewer channels, or score fewer (max-n)",
        )?;
        let x = fwd.input();
        let size = fwd.size();
        let score_of = |xs: &Tensor| -> Result<Vec<f32>> {
            let rows = head_logits(fwd.model(), &[features(fwd.model(), xs)?])?;
            Ok(rows.iter().map(|r| r[class]).collect())
        };
        // A constant channel (often all zero after a ReLU) gives an all-zero mask, so its
        // masked input is the zero image for every such channel: score it once.
        let constant = |k: usize| {
            let a = maps.activation(k);
            a.iter().all(|v| *v == a[0])
        };
        let (flat, varying): (Vec<usize>, Vec<usize>) =
            kept.iter().partition(|&&k| constant(k));
        let mut scores = vec![0f64; maps.channels];
        if !flat.is_empty() {
            let zero = score_of(&x.zeros_like()?)?[0] as f64;
            for k in flat {
                scores[k] = zero;
            }
        }
        let batch = batch_size(4 * fwd.largest_activation_bytes());
        let model = fwd.model();
        let mut batches = Vec::with_capacity(varying.len().div_ceil(batch));
        for (i, chunk) in varying.chunks(batch).enumerate() {
            fwd.report(i * batch, varying.len())?;
            let mut m = Vec::with_capacity(chunk.len() * size.0 * size.1);
            for &k in chunk {
                m.extend(mask(maps.activation(k), (maps.h, maps.w), size));
            }
            let m = Tensor::from_vec(m, (chunk.len(), 1, size.0, size.1), &Device::Cpu)?;
            let masked = x.broadcast_mul(&m)?;
            batches.push(features(model, &masked)?);
        }
        // The head over many masked copies at once.
        for (k, row) in varying.iter().zip(head_logits(model, &batches)?) {
            scores[*k] = row[class] as f64;
        }
        // Softmax over the scored channels; the others weigh 0.
        let top = kept.iter().map(|&k| scores[k]).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = kept.iter().map(|&k| (scores[k] - top).exp()).sum();
        let mut weights = vec![0f64; maps.channels];
        for &k in &kept {
            weights[k] = (scores[k] - top).exp() / sum;
        }
        Ok(weights)
    }
}

impl Method for ScoreCam {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        Ok(Attribution::Layer(class_activation_map(
            self, fwd, self.layer, class,
        )?))
    }
}
