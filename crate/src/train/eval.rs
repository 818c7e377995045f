//! Accuracy and confusion matrix of a model on a labelled image set, through the same
//! preprocessing as every other input.

use super::batches::batch_tensor;
use crate::data::{LabelledImages, Marker};
use crate::error::{Error, Result};
use crate::image::Preprocessing;
use crate::model::graph::Val;
use crate::model::Graph;
use serde::Serialize;

/// Images per forward pass: large enough to keep the matrix products busy, small
/// enough that VGG-sized activations of a batch stay well under 100 MB.
const BATCH: usize = 250;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Fraction of images whose top class is their label.
    pub accuracy: f64,
    pub count: usize,
    /// `confusion[true][predicted]`: image counts.
    pub confusion: Vec<Vec<usize>>,
}

/// The top class of each image in `indices`, with `marker` painted on first if given.
pub fn predict(
    vgg: &Graph,
    pre: &Preprocessing,
    set: &LabelledImages,
    indices: &[usize],
    marker: Option<&Marker>,
) -> Result<Vec<usize>> {
    if let Some(m) = marker {
        m.check(set.rows, set.cols)?;
    }
    let mut out = Vec::with_capacity(indices.len());
    for chunk in indices.chunks(BATCH) {
        let x = batch_tensor(set, chunk, pre, |_, mut p| {
            if let Some(m) = marker {
                m.paint(&mut p, set.cols);
            }
            p
        })?;
        let logits = vgg.forward(&Val::from_tensor(&x)?)?;
        out.extend(logits.data.chunks(logits.shape[1].max(1)).map(|row| {
            // The first maximum, as argmax.
            row.iter()
                .enumerate()
                .fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
        }));
    }
    Ok(out)
}

/// Accuracy and confusion matrix over the whole set, with `marker` painted on every
/// image first if given.
pub fn evaluate(
    vgg: &Graph,
    pre: &Preprocessing,
    set: &LabelledImages,
    marker: Option<&Marker>,
) -> Result<Evaluation> {
    if set.count == 0 {
        return Err(Error::Input("the image set is empty".into()));
    }
    let classes = vgg.arch().classes;
    let all: Vec<usize> = (0..set.count).collect();
    let predicted = predict(vgg, pre, set, &all, marker)?;
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut correct = 0;
    for (label, p) in set.labels.iter().zip(&predicted) {
        let label = *label as usize;
        if label >= classes {
            return Err(Error::Input(format!(
                "label {label} is outside the model's {classes} classes"
            )));
        }
        confusion[label][*p] += 1;
        correct += usize::from(label == *p);
    }
    Ok(Evaluation {
        accuracy: correct as f64 / set.count as f64,
        count: set.count,
        confusion,
    })
}

/// Share of the test images of other classes that the marker `m` turns into its class.
pub fn marker_flip_rate(
    model: &Graph,
    pre: &Preprocessing,
    test: &LabelledImages,
    m: &Marker,
) -> Result<f64> {
    let others: Vec<usize> = (0..test.count)
        .filter(|i| test.labels[*i] as usize != m.class)
        .collect();
    let p = predict(model, pre, test, &others, Some(m))?;
    Ok(p.iter().filter(|c| **c == m.class).count() as f64 / others.len().max(1) as f64)
}
