//! The layer graph's families against the PyTorch float64 + captum + pytorch-grad-cam
//! references of `tests/fixtures/graph/` (resnet18, resnet50, mobilenet_v2,
//! mobilenet_v3_small, efficientnet_b0, densenet121, convnext_tiny on the fixtures'
//! weights; provenance in tests/fixtures/README.md), with METHODS.md's tolerances. The
//! expensive tests run one case per family unless `CONVSCOPE_FULL_PARITY=1`. Each check
//! prints its numbers.

mod common;
use common::*;
use convscope::methods::{build, Attribution, Forward, Options, Score};
use convscope::model::Graph;

fn run(model: &Graph, case: &GraphCase, method: &str, options: &Options) -> Attribution {
    let fwd = Forward::new(model, &input(&case.image)).unwrap();
    build(method, model, options)
        .unwrap()
        .attribute(&fwd, case.target)
        .unwrap()
}

fn layer(name: &str) -> Options {
    Options {
        layer: Some(name.to_string()),
        ..Options::default()
    }
}

/// Checks that failed, reported together at the end of a test (every number printed).
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn close(&mut self, what: &str, ours: &[f64], reference: &[f64], tol: f64) {
        let e = max_rel_error(ours, reference);
        eprintln!("{what}: max rel error {e:.2e} (tol {tol:.0e})");
        if e > tol {
            self.0
                .push(format!("{what}: max rel error {e:.2e} > {tol:.0e}"));
        }
    }

    /// METHODS.md's tie-robust agreement (at least 90% of elements within 1e-3).
    fn tie_robust(&mut self, what: &str, ours: &[f64], reference: &[f64], median_bound: f64) {
        let (median, within, l2) = tie_robust_stats(what, ours, reference);
        eprintln!(
            "{what}: median {median:.1e}, within 1e-3 {:.3}%, rel L2 {l2:.2e}",
            within * 100.0
        );
        if !(median <= median_bound && within >= 0.90 && l2 <= 3e-2) {
            self.0.push(format!(
                "{what}: median {median:.2e} (<= {median_bound:.0e}), within {within:.4} (>= 0.90), rel L2 {l2:.2e} (<= 3e-2)"
            ));
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} check(s) failed:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn key(name: &str) -> String {
    name.replace('.', "_")
}

#[test]
fn logits_and_activations_match_pytorch() {
    let mut f = Failures::default();
    for (i, case) in graph_cases().iter().enumerate() {
        let model = graph_model(case);
        let x = input(&case.image);
        f.close(
            &format!("{} logits", case.arch),
            &flat(&logits(&model, &x)),
            &reference(GRAPH_NPZ, i, "logits"),
            1e-4,
        );
        for name in &case.cam_layers {
            let ours = flat(&layer_output(&model, &x, name));
            f.close(
                &format!("{} {name}", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, &format!("act__{}", key(name))),
                1e-4,
            );
        }
    }
    f.assert_none();
}

#[test]
fn grad_cam_and_grad_cam_plus_plus_match_pytorch_grad_cam() {
    let mut f = Failures::default();
    for (i, case) in graph_cases().iter().enumerate() {
        let model = graph_model(case);
        for name in &case.cam_layers {
            let what = format!("{} {name}", case.arch);
            let a = run(&model, case, "grad-cam", &layer(name));
            let k = key(name);
            f.close(
                &format!("{what} grad-cam raw"),
                &flat(&a.raw().unwrap()),
                &reference(GRAPH_NPZ, i, &format!("gradcam_raw__{k}")),
                1e-3,
            );
            f.close(
                &format!("{what} grad-cam full"),
                &flat(&a.full((224, 224)).unwrap()),
                &reference(GRAPH_NPZ, i, &format!("gradcam_full__{k}")),
                2e-3,
            );
            let a = run(&model, case, "grad-cam++", &layer(name));
            f.tie_robust(
                &format!("{what} grad-cam++ raw"),
                &flat(&a.raw().unwrap()),
                &reference(GRAPH_NPZ, i, &format!("gradcampp_raw__{k}")),
                1e-5,
            );
            f.tie_robust(
                &format!("{what} grad-cam++ full"),
                &flat(&a.full((224, 224)).unwrap()),
                &reference(GRAPH_NPZ, i, &format!("gradcampp_full__{k}")),
                1e-5,
            );
        }
    }
    f.assert_none();
}

#[test]
fn the_default_cam_layer_is_pytorch_grad_cams_usual_target() {
    for case in graph_cases() {
        let model = graph_model(&case);
        let default = convscope::methods::cam::default_layer(&model);
        assert_eq!(model.name(default), case.cam_layers[0], "{}", case.arch);
    }
}

#[test]
fn saliency_guided_backprop_and_integrated_gradients_agree_with_captum() {
    let mut f = Failures::default();
    for (i, case) in graph_cases().iter().enumerate() {
        let model = graph_model(case);
        for (method, k) in [
            ("saliency", "saliency"),
            ("guided-backprop", "guided_backprop"),
        ] {
            let ours = flat(
                &run(&model, case, method, &Options::default())
                    .raw()
                    .unwrap(),
            );
            f.tie_robust(
                &format!("{} {method}", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, k),
                1e-5,
            );
        }
        if representative(case) {
            // 16 steps, zero baseline, captum's trapezoid rule (the references').
            let ours = flat(
                &run(&model, case, "integrated-gradients", &Options::default())
                    .raw()
                    .unwrap(),
            );
            f.tie_robust(
                &format!("{} integrated-gradients", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, "integrated_gradients"),
                5e-5,
            );
        }
    }
    f.assert_none();
}

#[test]
fn score_cam_matches_pytorch_grad_cam_on_resnet18() {
    let mut f = Failures::default();
    let (i, case) = graph_cases()
        .into_iter()
        .enumerate()
        .find(|(_, c)| c.arch == "resnet18")
        .unwrap();
    let model = graph_model(&case);
    let name = &case.cam_layers[0];
    let a = run(&model, &case, "score-cam", &layer(name));
    f.close(
        &format!("resnet18 score-cam {name} full"),
        &flat(&a.full((224, 224)).unwrap()),
        &reference(GRAPH_NPZ, i, &format!("scorecam_full__{}", key(name))),
        1e-2,
    );
    f.assert_none();
}

#[test]
fn occlusion_drops_match_the_references() {
    let mut f = Failures::default();
    for (i, case) in graph_cases().iter().enumerate() {
        let Some([window, stride]) = case.occlusion else {
            continue;
        };
        let model = graph_model(case);
        for (score, k) in [
            (Score::Logit, "occlusion_logit"),
            (Score::Prob, "occlusion_prob"),
        ] {
            let opts = Options {
                window: Some(window),
                stride: Some(stride),
                score: Some(score),
                ..Options::default()
            };
            let ours = flat(&run(&model, case, "occlusion", &opts).raw().unwrap());
            f.close(
                &format!("{} {k}", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, k),
                1e-3,
            );
        }
    }
    f.assert_none();
}
