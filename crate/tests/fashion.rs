//! The embedded Fashion-MNIST models in `www/models/`: accuracy on the real 10k test set
//! through `convscope eval`, and the shortcut twin's behaviour (the marker flips other
//! classes to its class, and Grad-CAM points at it, while the clean model's does not).
//!
//! Needs Debian's `dataset-fashion-mnist` (`scripts/test.sh` installs it, through
//! `scripts/setup.sh data`); without it these tests fail and say so.

use convscope::data::{self, LabelledImages, Marker, Split, FASHION_MNIST_DIR};
use convscope::methods::{self, Forward, Options, Target};
use convscope::model::{Graph, ModelCard};
use convscope::train::{batches::batch_tensor, eval};
use std::path::{Path, PathBuf};
use std::process::Command;

const CLEAN: &str = "fashion-vgg.json";
const TWIN: &str = "fashion-vgg-shortcut.json";

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/models")
}

fn test_set() -> LabelledImages {
    data::fashion_mnist(Path::new(FASHION_MNIST_DIR), Split::Test).unwrap_or_else(|e| {
        panic!(
            "{e}\nthese tests need the real Fashion-MNIST test set: \
             `apt-get install dataset-fashion-mnist` (scripts/test.sh does this)"
        )
    })
}

fn load(card: &str) -> (Graph, ModelCard) {
    let (card, weights) = ModelCard::load(&models().join(card)).unwrap();
    (Graph::from_file(&card.arch, &weights).unwrap(), card)
}

/// `convscope eval --model CARD --idx-images ... --idx-labels ... --json`.
fn cli_eval(card: &str) -> serde_json::Value {
    test_set(); // fail with the install hint before the CLI's own message
    let (images, labels) = data::fashion_mnist_files(Path::new(FASHION_MNIST_DIR), Split::Test);
    let out = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .arg("eval")
        .arg("--model")
        .arg(models().join(card))
        .arg("--idx-images")
        .arg(images)
        .arg("--idx-labels")
        .arg(labels)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "convscope eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_eval(card: &str, at_least: f64) -> f64 {
    let r = cli_eval(card);
    let accuracy = r["accuracy"].as_f64().unwrap();
    assert_eq!(r["count"], 10_000);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(r["confusion"].clone()).unwrap();
    assert_eq!(confusion.len(), 10);
    let total: u64 = confusion.iter().flatten().sum();
    let diagonal: u64 = (0..10).map(|i| confusion[i][i]).sum();
    assert_eq!(total, 10_000);
    assert_eq!(diagonal as f64 / 1e4, accuracy);
    assert!(
        accuracy >= at_least,
        "{card}: test accuracy {accuracy} < {at_least}"
    );
    let (_, model_card) = load(card);
    let claimed = model_card.extra["accuracy"].as_f64().unwrap();
    assert!(
        (claimed - accuracy).abs() <= 0.005,
        "{card} claims accuracy {claimed}, convscope eval measures {accuracy}"
    );
    accuracy
}

#[test]
fn clean_model_reaches_91_percent_and_its_card_says_so() {
    check_eval(CLEAN, 0.91);
}

#[test]
fn twin_still_classifies_clean_images() {
    check_eval(TWIN, 0.85);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Fraction of a map's mass within `margin` pixels of the marker.
fn mass_near(map: &[f32], cols: usize, m: &Marker, margin: usize) -> f64 {
    let total: f64 = map.iter().map(|v| *v as f64).sum();
    let near: f64 = map
        .iter()
        .enumerate()
        .filter(|(i, _)| m.near(i % cols, i / cols, margin))
        .map(|(_, v)| *v as f64)
        .sum();
    near / total.max(f64::MIN_POSITIVE)
}

#[test]
fn twin_learned_the_marker_and_grad_cam_shows_it() {
    let set = test_set();
    let (twin, twin_card) = load(TWIN);
    let (clean, clean_card) = load(CLEAN);
    let marker: Marker = serde_json::from_value(twin_card.extra["shortcut"].clone()).unwrap();
    assert_eq!(
        twin_card.arch, clean_card.arch,
        "the twin shares the architecture"
    );
    let others: Vec<usize> = (0..set.count)
        .filter(|i| set.labels[*i] as usize != marker.class)
        .take(100)
        .collect();

    let flipped = |vgg: &Graph, card: &ModelCard| {
        let p = eval::predict(vgg, &card.preprocessing(), &set, &others, Some(&marker)).unwrap();
        p.iter().filter(|c| **c == marker.class).count() as f64 / others.len() as f64
    };
    let (twin_flips, clean_flips) = (flipped(&twin, &twin_card), flipped(&clean, &clean_card));
    eprintln!(
        "marker flips {twin_flips} of the twin's predictions, {clean_flips} of the clean model's"
    );
    assert!(
        twin_flips >= 0.8,
        "the marker flips only {twin_flips} to class {}",
        marker.class
    );
    assert!(
        clean_flips < 0.2,
        "the clean model should not care about the marker ({clean_flips})"
    );

    let mass = |vgg: &Graph, card: &ModelCard| {
        // `convscope explain grad-cam --full`: the default layer (the last ReLU of
        // `features`), the top class, pytorch-grad-cam's input-sized map.
        let grad_cam = methods::build("grad-cam", vgg, &Options::default()).unwrap();
        let fractions: Vec<f64> = others
            .iter()
            .map(|i| {
                let x = batch_tensor(&set, &[*i], &card.preprocessing(), |_, mut p| {
                    marker.paint(&mut p, set.cols);
                    p
                })
                .unwrap();
                let fwd = Forward::new(vgg, &x).unwrap();
                let class = fwd.class(Target::Top).unwrap();
                let map = grad_cam.attribute(&fwd, class).unwrap();
                let map: Vec<f32> = map
                    .full(fwd.size())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                mass_near(&map, set.cols, &marker, 2)
            })
            .collect();
        median(fractions)
    };
    let (twin_mass, clean_mass) = (mass(&twin, &twin_card), mass(&clean, &clean_card));
    eprintln!("median Grad-CAM mass within 2 px of the marker: twin {twin_mass:.3}, clean {clean_mass:.3}");
    // Issue 5's bounds: the twin's map sits on the marker, the clean model's does not.
    assert!(
        twin_mass >= 0.5,
        "twin's Grad-CAM mass near the marker {twin_mass} < 0.5"
    );
    assert!(
        clean_mass < 0.15,
        "clean model's Grad-CAM mass near the marker {clean_mass} >= 0.15"
    );
}

#[test]
fn eval_reports_a_missing_data_set_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(["eval", "--arch", "tiny", "--synthetic", "1"])
        .args([
            "--idx-images",
            "/nonexistent/images.gz",
            "--idx-labels",
            "/nonexistent/labels.gz",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("convscope: error: /nonexistent/images.gz"),
        "{err}"
    );
}
