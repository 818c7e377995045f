//! Exact answers, computed by hand, on tiny hand-weighted networks (captum's testing
//! style), for the maps the reference fixtures do not hold: guided Grad-CAM and
//! SmoothGrad. Every number below is a short hand computation written out in comments.

use candle_core::{Device, Tensor};
use convscope::methods::guided_grad_cam::GuidedGradCam;
use convscope::methods::smoothgrad::SmoothGrad;
use convscope::methods::{Attribution, Forward, Method};
use convscope::model::{ArchSpec, Graph};
use convscope::rng::Rng;
use std::collections::HashMap;

/// A network of `spec` whose parameterised layers get the given `(weight, bias)` values.
fn hand_net(spec: &str, params: &[(&str, Vec<f32>, Vec<f32>)]) -> Graph {
    let base = Graph::synthetic(&ArchSpec::parse(spec).unwrap(), 0).unwrap();
    let mut new = HashMap::new();
    for (name, w, b) in params {
        let shapes = base.param_shapes(base.node(name).unwrap());
        new.insert(
            name.to_string(),
            vec![
                (shapes[0].clone(), w.clone()),
                (shapes[1].clone(), b.clone()),
            ],
        );
    }
    base.with_params(&new).unwrap()
}

fn image(v: &[f32], h: usize, w: usize) -> Tensor {
    Tensor::from_slice(v, (1, 1, h, w), &Device::Cpu).unwrap()
}

fn values(a: Attribution) -> Vec<f32> {
    a.raw().unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

/// One 1->2 conv whose channel 0 copies the pixel and channel 1 negates it, so after the
/// ReLU `A0 = relu(x)` and `A1 = relu(-x)`; a 2x2 max pool gives `P0`, `P1`; the average
/// pool their means `m0`, `m1`; two identity linears (ReLUs open: m > 0); and
/// `logit0 = m0 - 2 m1`, `logit1 = m1`.
fn two_channel_net() -> Graph {
    let mut conv = vec![0f32; 18];
    conv[4] = 1.0; // channel 0, kernel centre
    conv[13] = -1.0; // channel 1, kernel centre
    let id = vec![1.0, 0.0, 0.0, 1.0];
    hand_net(
        "cfg=2,M;in=1;pool=1;hidden=2;classes=2;size=4",
        &[
            ("features.0", conv, vec![0.0; 2]),
            ("classifier.0", id.clone(), vec![0.0; 2]),
            ("classifier.3", id, vec![0.0; 2]),
            ("classifier.6", vec![1.0, -2.0, 0.0, 1.0], vec![0.0; 2]),
        ],
    )
}

/// No ties in any pool window of `A0` or `A1`:
/// P0 = [[4, 3], [3, 1]] at (1,1), (0,2), (3,1), (2,3);
/// P1 = [[2, 3], [1, 4]] at (0,1), (1,2), (2,1), (2,2).
const X: [f32; 16] = [
    1.0, -2.0, 3.0, 0.5, //
    -1.0, 4.0, -3.0, 2.0, //
    2.0, -1.0, -4.0, 1.0, //
    0.5, 3.0, 0.5, -2.0,
];

fn at(points: &[((usize, usize), f32)]) -> Vec<f32> {
    let mut v = vec![0f32; 16];
    for ((y, x), value) in points {
        v[y * 4 + x] = *value;
    }
    v
}

#[test]
fn guided_grad_cam_on_a_hand_weighted_net() {
    let model = two_channel_net();
    let fwd = Forward::new(&model, &image(&X, 4, 4)).unwrap();
    // Guided backprop of logit0: the classifier's last ReLU sees [1, -2] and passes
    // relu(.) = [1, 0], so only m0 = mean(P0) is followed: 1/4 at each P0 maximum.
    let guided = [(1, 1), (0, 2), (3, 1), (2, 3)];

    // At features.1 (4x4): dA0 = 1/4 at the four P0 maxima, dA1 = -1/2 at the four P1
    // maxima, so w0 = 1/16, w1 = -1/8, and as A0, A1 never overlap the map is
    // relu(A0/16 - A1/8) = relu(x)/16; same size, no resize. Guided Grad-CAM = 1/4 * x/16.
    let layer1 = GuidedGradCam { layer: 1 };
    let expect = at(&guided.map(|(y, x)| ((y, x), 0.25 * X[y * 4 + x] / 16.0)));
    assert_eq!(values(layer1.attribute(&fwd, 0).unwrap()), expect);

    // At features.2 (the 2x2 pool output): dP0 = 1/4, dP1 = -1/2 everywhere, so
    // w = (1/4, -1/2) and the map is relu(P0/4 - P1/2) = relu([[0, -0.75], [0.25, -1.75]])
    // = [[0, 0], [0.25, 0]]. Resized to 4x4 with half-pixel centres, the source row of
    // output rows 0..4 is -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1): row
    // weights of source row 1 are [0, 1/4, 3/4, 1], column weights of source column 0 are
    // [1, 3/4, 1/4, 0]. Times the guided map's 1/4:
    // (1,1): 1/4 * 0.25 * 1/4 * 3/4 = 3/256; (3,1): 1/4 * 0.25 * 1 * 3/4 = 3/64;
    // (0,2) and (2,3) fall on zero weights.
    let layer2 = GuidedGradCam { layer: 2 };
    let expect = at(&[((1, 1), 3.0 / 256.0), ((3, 1), 3.0 / 64.0)]);
    assert_eq!(values(layer2.attribute(&fwd, 0).unwrap()), expect);
}

/// SmoothGrad over 16 copies with `noise` and `seed`: few enough to follow by hand.
fn sixteen_copies(noise: f32, seed: u64) -> SmoothGrad {
    SmoothGrad {
        samples: 16,
        noise,
        seed,
    }
}

#[test]
fn smoothgrad_without_noise_is_saliency() {
    let model = two_channel_net();
    let fwd = Forward::new(&model, &image(&X, 4, 4)).unwrap();
    // Saliency of logit0 = m0 - 2 m1: 1/4 at the P0 maxima and, through the negating
    // channel, -2 * 1/4 * -1 = 1/2 at the P1 maxima. 16 samples: the mean is exact.
    let smooth = sixteen_copies(0.0, 1);
    let expect = at(&[
        ((1, 1), 0.25),
        ((0, 2), 0.25),
        ((3, 1), 0.25),
        ((2, 3), 0.25),
        ((0, 1), 0.5),
        ((1, 2), 0.5),
        ((2, 1), 0.5),
        ((2, 2), 0.5),
    ]);
    assert_eq!(values(smooth.attribute(&fwd, 0).unwrap()), expect);
}

/// `logit0 = max(relu(x))` over a 2x2 input (identity conv, pool, identity linears;
/// `logit1 = -logit0`): its gradient is 1 at the first maximal pixel when that maximum is
/// positive, and 0 everywhere otherwise (ReLU'(0) = 0).
fn max_net() -> Graph {
    let mut conv = vec![0f32; 9];
    conv[4] = 1.0;
    hand_net(
        "cfg=1,M;in=1;pool=1;hidden=1;classes=2;size=2",
        &[
            ("features.0", conv, vec![0.0]),
            ("classifier.0", vec![1.0], vec![0.0]),
            ("classifier.3", vec![1.0], vec![0.0]),
            ("classifier.6", vec![1.0, -1.0], vec![0.0; 2]),
        ],
    )
}

#[test]
fn smoothgrad_averages_the_gradients_of_the_seeded_noisy_copies() {
    let x = [0.1f32, 0.0, -0.1, 0.05];
    let model = max_net();
    let fwd = Forward::new(&model, &image(&x, 2, 2)).unwrap();
    let smooth = sixteen_copies(1.0, 7);
    // By hand: noise std = 1.0 * (max x - min x) = 0.2; copy k adds the k-th 4 normals of
    // Rng(7); its gradient is 1/16 at the first maximum of x + noise if that is > 0.
    let mut rng = Rng::new(7);
    let std = 1.0 * (0.1f32 - -0.1f32) as f64;
    let mut expect = [0f32; 4];
    for _ in 0..16 {
        let noisy: Vec<f32> = x
            .iter()
            .zip(rng.normals(4, std))
            .map(|(a, n)| a + n)
            .collect();
        let top = (0..4).fold(0, |b, i| if noisy[i] > noisy[b] { i } else { b });
        if noisy[top] > 0.0 {
            expect[top] += 1.0 / 16.0;
        }
    }
    let ours = values(smooth.attribute(&fwd, 0).unwrap());
    assert_eq!(ours, expect);
    // The noise matters here (the map is not the noiseless gradient [1, 0, 0, 0]), the
    // same seed gives the same map, and another seed another one.
    assert_ne!(ours, [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(values(smooth.attribute(&fwd, 0).unwrap()), ours);
    let other = SmoothGrad { seed: 8, ..smooth };
    assert_ne!(values(other.attribute(&fwd, 0).unwrap()), ours);
}

/// Faster Score-CAM keeps the channels of largest spatial variance. At `features.1`,
/// `A0 = relu(X)` has mean 17.5/16 = 1.09375 and variance 44.75/16 - 1.09375^2 = 1.6006;
/// `A1 = relu(-X)` has mean 13/16 and variance 35/16 - 0.8125^2 = 1.5273. With N = 1
/// only `A0` is scored: its softmax weight is 1, so the map is `relu(1 * A0) = A0`.
/// N = 2 (all channels) is Score-CAM itself.
#[test]
fn faster_score_cam_scores_the_highest_variance_channels_only() {
    use convscope::methods::{build, Options};
    let model = two_channel_net();
    let fwd = Forward::new(&model, &image(&X, 4, 4)).unwrap();
    let at_layer = Options::default().with("layer", "features.1");
    let run = |options: &Options| {
        let method = build("score-cam", &model, options).unwrap();
        values(method.attribute(&fwd, 0).unwrap())
    };
    let one = run(&at_layer.clone().with("max-n", 1));
    let relu_x: Vec<f32> = X.iter().map(|v| v.max(0.0)).collect();
    assert_eq!(one, relu_x);
    assert_eq!(run(&at_layer.clone().with("max-n", 2)), run(&at_layer));
    assert_eq!(run(&at_layer.clone().with("max-n", 99)), run(&at_layer));
    let err = build("score-cam", &model, &at_layer.with("max-n", 0))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("max-n"), "{err}");
}
