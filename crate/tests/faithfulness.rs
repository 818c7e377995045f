//! Deletion and insertion (docs/METHODS.md, "Which map to trust"): a case computed by hand on
//! a hand-weighted network, and the curves of a fixed map on the embedded Fashion-MNIST
//! model against a plain NumPy float64 implementation of the definition
//! (`scripts/fixtures/faithfulness_reference.py`, fixtures in `fixtures/faithfulness/`).

mod common;

use candle_core::{Device, Tensor};
use common::fixture;
use convscope::faithfulness::{self, Metric};
use convscope::methods::Forward;
use convscope::model::{ArchSpec, Graph, ModelCard};
use convscope::npy;
use std::collections::HashMap;
use std::path::PathBuf;

/// A 2x2 one-channel network whose class-0 logit is `v = max(relu(x))` and class-1 logit
/// 0: the convolution copies the pixel (kernel centre 1), the ReLU and the 2x2 max pool
/// give `v`, two 1x1 identity linears with open ReLUs keep it, the last linear gives
/// `[v, 0]`. So `p(class 0) = softmax([v, 0])[0] = 1 / (1 + e^-v)`.
fn max_pixel_net() -> Graph {
    let base = Graph::synthetic(
        &ArchSpec::parse("cfg=1,M;in=1;pool=1;hidden=1;classes=2;size=2").unwrap(),
        0,
    )
    .unwrap();
    let mut centre = vec![0f32; 9];
    centre[4] = 1.0;
    let params: [(&str, Vec<f32>, Vec<f32>); 4] = [
        ("features.0", centre, vec![0.0]),
        ("classifier.0", vec![1.0], vec![0.0]),
        ("classifier.3", vec![1.0], vec![0.0]),
        ("classifier.6", vec![1.0, 0.0], vec![0.0, 0.0]),
    ];
    let mut new = HashMap::new();
    for (name, w, b) in params {
        let shapes = base.param_shapes(base.node(name).unwrap());
        new.insert(
            name.to_string(),
            vec![(shapes[0].clone(), w), (shapes[1].clone(), b)],
        );
    }
    base.with_params(&new).unwrap()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{k}]: {g} vs {w}");
    }
}

/// x = [[0.5, 3], [2, 1]]; the map ties pixels 1 and 2 (0.9), so the stable order is
/// 1, 2, 3, 0 (pixel 2 before pixel 1 would keep the 3 one step longer).
const X: [f32; 4] = [0.5, 3.0, 2.0, 1.0];
const MAP: [f32; 4] = [0.1, 0.9, 0.9, 0.2];

#[test]
fn deletion_and_insertion_by_hand_on_a_max_pixel_network() {
    let model = max_pixel_net();
    let x = Tensor::from_slice(&X, (1, 1, 2, 2), &Device::Cpu).unwrap();
    let fwd = Forward::new(&model, &x).unwrap();
    let curves = faithfulness::curves(&fwd, &MAP, 0, &Metric::ALL, 1).unwrap();

    // Deletion, one pixel a step: the largest pixel left is 3, 2, 1, 0.5, then none (0).
    let deletion = [3.0, 2.0, 1.0, 0.5, 0.0].map(sigmoid);
    assert_close(&curves[0].scores, &deletion, 1e-6, "deletion");
    let want = (deletion.iter().sum::<f64>() - (deletion[0] + deletion[4]) / 2.0) / 4.0;
    assert!((curves[0].auc() - want).abs() < 1e-6);

    // Insertion starts from the blur. With the normalised 1-D kernel g(d) =
    // exp(-d^2/50) / sum_{t=-5..5} exp(-t^2/50), a pixel of a 2x2 image blurs to
    // g0^2 x_self + g0 g1 (x_row + x_column neighbour) + g1^2 x_diagonal.
    let s: f64 = (-5..=5).map(|t: i32| (-(t * t) as f64 / 50.0).exp()).sum();
    let (g0, g1) = (1.0 / s, (-1.0f64 / 50.0).exp() / s);
    let blur = |own: f64, row: f64, col: f64, diag: f64| {
        g0 * g0 * own + g0 * g1 * (row + col) + g1 * g1 * diag
    };
    let b = [
        blur(0.5, 3.0, 2.0, 1.0),
        blur(3.0, 0.5, 1.0, 2.0),
        blur(2.0, 1.0, 0.5, 3.0),
        blur(1.0, 2.0, 3.0, 0.5),
    ];
    let start = b.iter().copied().fold(0.0, f64::max);
    // Putting pixel 1 (3.0) back first makes the maximum 3 from then on.
    let insertion = [start, 3.0, 3.0, 3.0, 3.0].map(sigmoid);
    assert_close(&curves[1].scores, &insertion, 1e-6, "insertion");

    // Three pixels a step: n = ceil(4 / 3) = 2, the last step changes one pixel.
    let coarse = faithfulness::curves(&fwd, &MAP, 0, &[Metric::Deletion], 3).unwrap();
    assert_close(
        &coarse[0].scores,
        &[3.0, 0.5, 0.0].map(sigmoid),
        1e-6,
        "deletion, step 3",
    );
    assert_eq!(coarse[0].steps(), 2);
}

#[test]
fn a_map_of_the_wrong_size_or_a_zero_step_is_refused_by_name() {
    let model = max_pixel_net();
    let x = Tensor::from_slice(&X, (1, 1, 2, 2), &Device::Cpu).unwrap();
    let fwd = Forward::new(&model, &x).unwrap();
    let err = faithfulness::curves(&fwd, &[0.0; 3], 0, &Metric::ALL, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 values") && err.contains("2x2"), "{err}");
    let err = faithfulness::curves(&fwd, &MAP, 0, &Metric::ALL, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("step"), "{err}");
}

#[derive(serde::Deserialize)]
struct Reference {
    target: usize,
    cases: Vec<RefCase>,
}

#[derive(serde::Deserialize)]
struct RefCase {
    metric: String,
    step: usize,
    scores: Vec<f64>,
    auc: f64,
}

#[test]
fn curves_of_a_fixed_map_match_a_numpy_implementation_of_the_definition() {
    let dir = fixture("faithfulness");
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/models");
    let (card, weights) = ModelCard::load(&models.join("fashion-vgg.json")).unwrap();
    let model = Graph::from_file(&card.arch, &weights).unwrap();
    let x = npy::read(&dir.join("input.npy")).unwrap();
    let map: Vec<f32> = npy::read(&dir.join("map.npy"))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let fwd = Forward::new(&model, &x).unwrap();
    for case in &reference.cases {
        let metric = Metric::parse(&case.metric).unwrap();
        let got = faithfulness::curves(&fwd, &map, reference.target, &[metric], case.step)
            .unwrap()
            .remove(0);
        let what = format!("{} step {}", case.metric, case.step);
        assert_close(&got.scores, &case.scores, 1e-4, &what);
        assert!(
            (got.auc() - case.auc).abs() <= 1e-4,
            "{what}: area {} vs NumPy's {}",
            got.auc(),
            case.auc
        );
    }
}
