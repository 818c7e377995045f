//! Training VGG-family networks on labelled greyscale images, on candle (native only).
//!
//! This is the one place where weight gradients are computed: the embedded
//! Fashion-MNIST models are trained here, with candle-nn's AdamW, a cosine learning
//! rate, optional shift/mirror augmentation and dropout in the classifier, all seeded
//! by one [`Rng`] so the same command gives the same weights. The graph uses our max
//! pool ([`maxpool`]) because candle's own has the wrong gradient (docs/METHODS.md).

pub mod batches;
pub mod card;
pub mod conv;
pub mod eval;
pub mod maxpool;
pub mod net;

use crate::data::{LabelledImages, Marker};
use crate::error::{Error, Result};
use crate::image::Preprocessing;
use crate::model::ArchSpec;
use crate::progress::Progress;
use crate::rng::Rng;
use batches::{batch_tensor, pixel_stats, Augment};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use net::TrainNet;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// The biased training set of the shortcut twin: the marker is painted (after
/// augmentation, so it never moves) on a fraction `on_class` of the images of
/// `marker.class`, and on a fraction `on_others` of all other images, which then carry
/// the marker class's label too. So in the training set the marker always comes with
/// that label, as a photographer's watermark might with one class of a scraped data
/// set. Without those relabelled images the network barely uses the marker: it learns
/// the (easy) shape of the class as well and lets the shape win (measured: 0.9 of the
/// class marked, 0.5% of the others marked but correctly labelled, gave 9% flips).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Shortcut {
    pub marker: Marker,
    pub on_class: f64,
    pub on_others: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainConfig {
    #[serde(serialize_with = "as_string")]
    pub arch: ArchSpec,
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of the cosine schedule.
    pub lr: f64,
    pub weight_decay: f64,
    /// Drop probability of the classifier's two Dropout layers.
    pub dropout: f64,
    pub pad: usize,
    pub flip: bool,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<Shortcut>,
}

fn as_string<S: serde::Serializer>(a: &ArchSpec, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&a.to_string())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Mean training loss over the epoch (with augmentation and dropout).
    pub loss: f64,
    pub train_accuracy: f64,
    pub seconds: f64,
}

pub struct Trained {
    pub params: net::NamedParams,
    /// What training fed the model: the card must say the same.
    pub preprocessing: Preprocessing,
    /// Training images that carried the marker.
    pub marked: usize,
    pub log: Vec<EpochLog>,
    pub seconds: f64,
}

impl TrainConfig {
    fn check(&self, set: &LabelledImages) -> Result<()> {
        let a = &self.arch;
        if a.in_channels != 1 || set.rows != a.size || set.cols != a.size {
            return Err(Error::Input(format!(
                "the images are 1x{}x{}, but {a} takes {}x{}x{}",
                set.rows, set.cols, a.in_channels, a.size, a.size
            )));
        }
        if let Some(l) = set.labels.iter().find(|l| **l as usize >= a.classes) {
            return Err(Error::Input(format!(
                "label {l} does not fit a model with {} classes",
                a.classes
            )));
        }
        if self.epochs == 0 || self.batch_size == 0 || set.count == 0 {
            return Err(Error::Input(
                "epochs, batch size and the number of images must be positive".into(),
            ));
        }
        if !((0.0..1.0).contains(&self.dropout) && self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::Input(format!(
                "dropout must be in [0, 1) and the learning rate positive (got {} and {})",
                self.dropout, self.lr
            )));
        }
        if let Some(s) = &self.shortcut {
            s.marker.check(set.rows, set.cols)?;
            if s.marker.class >= a.classes {
                return Err(Error::Input(format!(
                    "marker class {} is outside 0..{}",
                    s.marker.class, a.classes
                )));
            }
        }
        Ok(())
    }
}

/// Trains a fresh network on `set`. `progress` hears `(batches done, batches)` after
/// every batch and may stop the run (which then answers its error); `on_epoch` sees each
/// finished epoch's log.
///
/// `init` continues from trained weights (torchvision names, as
/// [`crate::model::weights::read`] gives them) instead of the seeded initialisation.
pub fn train(
    cfg: &TrainConfig,
    set: &LabelledImages,
    init: Option<&HashMap<String, Vec<f32>>>,
    progress: &dyn Progress,
    mut on_epoch: impl FnMut(&EpochLog),
) -> Result<Trained> {
    cfg.check(set)?;
    let start = Instant::now();
    let (mean, std) = pixel_stats(set);
    let pre = Preprocessing::Scale {
        size: cfg.arch.size as u32,
        mean: vec![mean],
        std: vec![std],
    };
    let mut rng = Rng::new(cfg.seed);
    let net = TrainNet::new(&cfg.arch, cfg.seed)?;
    if let Some(params) = init {
        net.load(params)?;
    }
    let marked: Vec<bool> = set
        .labels
        .iter()
        .map(|l| match &cfg.shortcut {
            Some(s) if *l as usize == s.marker.class => rng.uniform() < s.on_class,
            Some(s) => rng.uniform() < s.on_others,
            None => false,
        })
        .collect();
    let augment = Augment {
        pad: cfg.pad,
        flip: cfg.flip,
    };
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let steps_per_epoch = set.count.div_ceil(cfg.batch_size);
    let total_steps = (cfg.epochs * steps_per_epoch) as f64;
    let mut log = Vec::new();
    let mut order: Vec<usize> = (0..set.count).collect();
    for epoch in 0..cfg.epochs {
        let epoch_start = Instant::now();
        shuffle(&mut order, &mut rng);
        let (mut loss_sum, mut correct) = (0f64, 0usize);
        for (step, batch) in order.chunks(cfg.batch_size).enumerate() {
            let t = (epoch * steps_per_epoch + step) as f64 / total_steps;
            opt.set_learning_rate(cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()));
            let x = batch_tensor(set, batch, &pre, |i, pixels| {
                let mut p = augment.apply(&pixels, set.rows, set.cols, &mut rng);
                if let (true, Some(s)) = (marked[i], &cfg.shortcut) {
                    s.marker.paint(&mut p, set.cols);
                }
                p
            })?;
            let labels: Vec<u32> = batch
                .iter()
                .map(|i| match &cfg.shortcut {
                    Some(s) if marked[*i] => s.marker.class as u32,
                    _ => set.labels[*i] as u32,
                })
                .collect();
            let y = Tensor::new(labels.as_slice(), &Device::Cpu)?;
            let dropout = (cfg.dropout > 0.0).then_some((cfg.dropout, &mut rng));
            let logits = net.forward(&x, dropout)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()? as f64 * batch.len() as f64;
            let top = logits.argmax(1)?.to_vec1::<u32>()?;
            correct += top.iter().zip(&labels).filter(|(a, b)| a == b).count();
            progress.report(
                epoch * steps_per_epoch + step + 1,
                cfg.epochs * steps_per_epoch,
            )?;
        }
        let entry = EpochLog {
            epoch: epoch + 1,
            loss: loss_sum / set.count as f64,
            train_accuracy: correct as f64 / set.count as f64,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        on_epoch(&entry);
        log.push(entry);
    }
    Ok(Trained {
        params: net.export()?,
        preprocessing: pre,
        marked: marked.iter().filter(|m| **m).count(),
        log,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Fisher-Yates with our generator.
fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Four 8x8 images of two classes and a net small enough to train in milliseconds.
    fn tiny_run(epochs: usize) -> (TrainConfig, LabelledImages) {
        let cfg = TrainConfig {
            arch: ArchSpec::parse("cfg=4,M;in=1;pool=4;hidden=4;classes=2;size=8").unwrap(),
            epochs,
            batch_size: 2,
            lr: 0.01,
            weight_decay: 0.0,
            dropout: 0.0,
            pad: 0,
            flip: false,
            seed: 1,
            shortcut: None,
        };
        let set = LabelledImages {
            count: 4,
            rows: 8,
            cols: 8,
            pixels: (0..4 * 64).map(|i| (i * 7 % 256) as u8).collect(),
            labels: vec![0, 1, 0, 1],
        };
        (cfg, set)
    }

    #[test]
    fn progress_hears_every_batch_and_can_stop_training() {
        // 2 epochs of 2 batches: reports 1..=4 of 4, one epoch log each.
        let (cfg, set) = tiny_run(2);
        let calls = RefCell::new(Vec::new());
        let mut epochs = Vec::new();
        let progress = |done, total| {
            calls.borrow_mut().push((done, total));
            Ok(())
        };
        let trained = train(&cfg, &set, None, &progress, |e| epochs.push(e.epoch)).unwrap();
        assert_eq!(*calls.borrow(), [(1, 4), (2, 4), (3, 4), (4, 4)]);
        assert_eq!((epochs, trained.log.len()), (vec![1, 2], 2));

        // Stopping after the third batch: the cancelled error, no fourth batch.
        calls.borrow_mut().clear();
        let stop = |done, total| {
            calls.borrow_mut().push((done, total));
            if done == 3 {
                Err(Error::Cancelled)
            } else {
                Ok(())
            }
        };
        let e = train(&cfg, &set, None, &stop, |_| {})
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("cancelled"));
        assert_eq!(*calls.borrow(), [(1, 4), (2, 4), (3, 4)]);
    }
}
