//! Forward and reverse passes against the PyTorch float64 references in
//! `tests/fixtures/{dev,tiny_dev}.npz` (see tests/fixtures/README.md for provenance).

mod common;
use common::*;
use convscope::model::graph::Src;
use convscope::model::{Graph, ReluGrad};

const SUITES: [(&str, &str); 2] = [("tiny_dev.json", "tiny_dev.npz"), ("dev.json", "dev.npz")];

#[test]
fn logits_match_pytorch() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            let model = model_for(case);
            let logits = flat(&logits(model, &input(&case.image)));
            matches_reference(npz, i, "logits", &logits, 1e-4);
        }
    }
}

#[test]
fn channel_means_of_every_feature_layer_match() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            let model = model_for(case);
            let features = (0..model.len())
                .take_while(|n| model.name(*n).starts_with("features."))
                .count();
            let trace = model
                .trace(&val(&input(&case.image)), features - 1)
                .unwrap();
            for n in 0..features {
                let out = model
                    .value(&trace, Src::Node(n))
                    .unwrap()
                    .to_tensor()
                    .unwrap();
                let means = flat(&out.mean((2, 3)).unwrap());
                let key = format!("feat_mean_{n}");
                matches_reference(npz, i, &key, &means, 1e-4);
            }
        }
    }
}

#[test]
fn activations_at_listed_layers_match() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            let model = model_for(case);
            for layer in &case.cam_layers {
                let ours = flat(&layer_output(model, &input(&case.image), layer));
                let key = format!("act__{}", layer.replace('.', "_"));
                matches_reference(npz, i, &key, &ours, 1e-4);
            }
        }
    }
}

#[test]
fn input_gradient_agrees_with_pytorch_saliency() {
    reverse_pass_agrees(ReluGrad::Plain, "saliency");
}

#[test]
fn guided_reverse_pass_agrees_with_captum_guided_backprop() {
    reverse_pass_agrees(ReluGrad::Guided, "guided_backprop");
}

/// The reverse pass to the input under `relu` against reference `key` of every case, by
/// the tie-robust rule (the maps pass back through max pooling), its numbers printed.
fn reverse_pass_agrees(relu: ReluGrad, key: &str) {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            let grad = input_gradient(model_for(case), &input(&case.image), case.target, relu);
            let what = format!("{npz} case {i} {key}");
            let (median, within, l2) =
                assert_tie_robust(&what, &flat(&grad), &reference(npz, i, key));
            eprintln!(
                "{what}: median {median:.1e}, within 1e-3 {:.3}%, rel L2 {l2:.2e}",
                within * 100.0
            );
        }
    }
}

#[test]
fn batch_of_two_gives_each_image_its_own_logits() {
    let model = vgg16();
    let (a, b) = (input("astronaut"), input("coffee"));
    let batch = candle_core::Tensor::cat(&[&a, &b], 0).unwrap();
    let batch_logits = logits(model, &batch);
    for (row, image) in [(0, "astronaut"), (1, "coffee")] {
        let single = flat(&logits(model, &input(image)));
        let from_batch = flat(&batch_logits.get(row).unwrap());
        assert_close(&format!("batch row {row}"), &from_batch, &single, 1e-5);
    }
}

#[test]
fn grayscale_models_and_inputs_smaller_than_training_size_run() {
    use convscope::model::ArchSpec;
    // A Fashion-MNIST-shaped model: 1 channel, 28 px, two pools -> 7x7 -> pool=7 identity.
    let spec = ArchSpec::parse("cfg=8,M,16,M;in=1;pool=7;hidden=16;classes=10;size=28").unwrap();
    let model = Graph::synthetic(&spec, 5).unwrap();
    let x = candle_core::Tensor::ones(
        (2, 1, 28, 28),
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    assert_eq!(logits(&model, &x).dims(), [2, 10]);
    // VGG16 at 128 px: 4x4 after the last pool, and AdaptiveAvgPool2d(7) upsamples by
    // repeating bins; every 7x7 output cell equals its PyTorch bin's source pixel.
    let x = candle_core::Tensor::ones(
        (1, 3, 128, 128),
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let vgg = vgg16();
    let pooled = layer_output(vgg, &x, "avgpool");
    let before = layer_output(vgg, &x, "features.30");
    assert_eq!(pooled.dims(), [1, 512, 7, 7]);
    let (p, b) = (flat(&pooled), flat(&before));
    // PyTorch's bins for 4 -> 7: cell i covers [floor(4i/7), ceil(4(i+1)/7)).
    for i in 0..7usize {
        for j in 0..7usize {
            let (r0, r1) = (4 * i / 7, (4 * (i + 1)).div_ceil(7));
            let (c0, c1) = (4 * j / 7, (4 * (j + 1)).div_ceil(7));
            let mut sum = 0.0;
            for r in r0..r1 {
                for c in c0..c1 {
                    sum += b[r * 4 + c];
                }
            }
            let want = sum / ((r1 - r0) * (c1 - c0)) as f64;
            assert!(
                (p[i * 7 + j] - want).abs() < 1e-5,
                "cell ({i},{j}): {} vs {want}",
                p[i * 7 + j]
            );
        }
    }
}
