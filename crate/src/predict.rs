//! Turning logits into the ranked, labelled predictions the CLI and the page show.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// One ranked class: its index, name, softmax probability and raw logit.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub label: String,
    pub prob: f32,
    pub logit: f32,
}

/// Softmax over all logits, computed in f64 after subtracting the maximum so that
/// large logits neither overflow nor lose the small probabilities. Non-finite logits
/// (NaN, +inf) give NaN probabilities rather than a plausible-looking answer.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let exps: Vec<f64> = logits.iter().map(|&x| (x as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// The `k` highest-scoring classes, best first; equal logits rank the lower class index
/// first so that results are reproducible. `k` is clamped to the number of classes,
/// and classes without a label are called "class N".
pub fn top_k(logits: &[f32], labels: &[String], k: usize) -> Vec<Prediction> {
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| descending(logits[a], logits[b]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k.min(logits.len()))
        .map(|class| Prediction {
            class,
            label: labels
                .get(class)
                .cloned()
                .unwrap_or_else(|| format!("class {class}")),
            prob: probs[class],
            logit: logits[class],
        })
        .collect()
}

/// Larger first, NaN last (a NaN logit is a bug upstream, not a top prediction).
fn descending(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}
