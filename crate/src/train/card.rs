//! The model card of a model trained here on Fashion-MNIST (the embedded pair): what it
//! is, how it was trained and what it measured, so that `www/models/*.json` says how to
//! reproduce itself. The CLI (`convscope train`) measures and writes; this assembles.

use super::{TrainConfig, Trained};
use crate::data::FASHION_MNIST_LABELS;
use crate::error::{Error, Result};
use crate::model::card::Labels;
use crate::model::ModelCard;

/// What the trainer measured after training, for the card.
pub struct Measured<'a> {
    /// The weights' file name, beside the card.
    pub weights_file: &'a str,
    /// Accuracy of the shipped (f16) weights on the 10,000 test images.
    pub accuracy: f64,
    /// Training images used.
    pub images: usize,
    /// For a shortcut twin: the share of other classes' test images the marker turns
    /// into its class ([`super::eval::marker_flip_rate`]).
    pub flip_rate: Option<f64>,
    /// The command line that trained it.
    pub command: &'a str,
}

/// The card of a model trained with `cfg`.
pub fn fashion_card(cfg: &TrainConfig, trained: &Trained, m: &Measured) -> Result<ModelCard> {
    let mut card = ModelCard::for_arch(&cfg.arch, m.weights_file);
    card.name = match cfg.shortcut {
        Some(_) => "Fashion-MNIST VGG, shortcut twin".into(),
        None => "Fashion-MNIST VGG".into(),
    };
    card.labels = Some(Labels::List(
        FASHION_MNIST_LABELS.iter().map(|s| s.to_string()).collect(),
    ));
    card.input = Some(cfg.arch.input_shape().to_vec());
    card.preprocessing = Some(trained.preprocessing.clone());
    let extra = &mut card.extra;
    extra.insert("accuracy".into(), serde_json::json!(m.accuracy));
    extra.insert(
        "dataset".into(),
        serde_json::json!("Fashion-MNIST (Xiao et al. 2017, Debian dataset-fashion-mnist): trained on the 60,000 training images, accuracy on the 10,000 test images"),
    );
    extra.insert("training_command".into(), serde_json::json!(m.command));
    extra.insert(
        "training".into(),
        serde_json::json!({
            "config": cfg,
            "images": m.images,
            "seconds": trained.seconds.round(),
            "threads": candle_core::utils::get_num_threads(),
            "epochs": trained.log,
        }),
    );
    if let (Some(s), Some(flip)) = (&cfg.shortcut, m.flip_rate) {
        let mut shortcut = serde_json::to_value(s.marker)
            .map_err(|e| Error::Card(format!("cannot encode the marker: {e}")))?;
        shortcut["trained_on"] = serde_json::json!({
            "marker_class_fraction": s.on_class,
            "other_classes_fraction_relabelled": s.on_others,
            "marked_images": trained.marked,
        });
        shortcut["flip_rate"] = serde_json::json!(flip);
        extra.insert("shortcut".into(), shortcut);
    }
    Ok(card)
}
