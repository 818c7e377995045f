//! The layer graph's families against the PyTorch float64 + captum + pytorch-grad-cam
//! references of `tests/fixtures/graph/` (resnet18, resnet50, mobilenet_v2,
//! mobilenet_v3_small, efficientnet_b0, densenet121, convnext_tiny on the fixtures'
//! weights; provenance in tests/fixtures/README.md), with docs/METHODS.md's tolerances. The
//! expensive tests run one case per family unless `CONVSCOPE_FULL_PARITY=1`. Each check
//! prints its numbers.

mod common;
use common::*;
use convscope::methods::{Attribution, Options, Score};
use convscope::model::Graph;

fn run(model: &Graph, case: &GraphCase, method: &str, options: &Options) -> Attribution {
    run_method(model, &case.image, case.target, method, options)
}

/// PyTorch's own float32 spread on these references (`float32_spread.json`, made by
/// scripts/fixtures/float32_spread.py): the worst distance from the float64 reference of
/// PyTorch's float32 pass over the exact input and four inputs moved by at most 4 ulps. A
/// few of the fixture models are ill-conditioned at some layers (resnet50's layer3,
/// mobilenet_v2's features.14 and input gradients, densenet121's input gradient): there no
/// float32 implementation, PyTorch's included, meets the tolerance, so the bound
/// there is that spread with a margin of [`MARGIN`] (five trials are a small sample, and our
/// pass is one more draw from the same spread); everywhere else it is the tolerance.
struct Spread(serde_json::Value);

/// How far past PyTorch's sampled float32 spread a bound reaches: errors times 1.5, the share
/// outside 1e-3 times 1.5.
const MARGIN: f64 = 1.5;

impl Spread {
    fn load() -> Self {
        let text = std::fs::read_to_string(fixture("graph/float32_spread.json")).unwrap();
        Spread(serde_json::from_str(&text).unwrap())
    }

    fn max_rel_error(&self, arch: &str, key: &str) -> f64 {
        MARGIN
            * self.0["cases"][arch]["max_rel_error"][key]
                .as_f64()
                .unwrap_or(0.0)
    }

    /// (median, share within 1e-3, relative L2) of PyTorch's float32 spread, with the margin.
    fn tie_robust(&self, arch: &str, key: &str) -> (f64, f64, f64) {
        let v = &self.0["cases"][arch]["tie_robust"][key];
        let get = |k: &str| v[k].as_f64();
        (
            MARGIN * get("median").unwrap_or(0.0),
            1.0 - MARGIN * (1.0 - get("within_1e-3").unwrap_or(1.0)),
            MARGIN * get("rel_l2").unwrap_or(0.0),
        )
    }
}

/// Checks that failed, reported together at the end of a test (every number printed).
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    /// Max relative error within `tol`, or within PyTorch's float32 spread where that is wider.
    fn close(&mut self, what: &str, ours: &[f64], reference: &[f64], tol: f64, spread: f64) {
        let e = max_rel_error(ours, reference);
        let bound = tol.max(spread);
        let widened = if bound > tol {
            format!(", widened to 1.5x PyTorch float32's spread, {spread:.1e}")
        } else {
            String::new()
        };
        eprintln!("{what}: max rel error {e:.2e} (tol {tol:.0e}{widened})");
        if e > bound {
            self.0
                .push(format!("{what}: max rel error {e:.2e} > {bound:.1e}"));
        }
    }

    /// docs/METHODS.md's tie-robust agreement (at least 90% of elements within 1e-3, median and
    /// relative L2 bounded), each bound widened to PyTorch's float32 spread where that is wider.
    fn tie_robust(
        &mut self,
        what: &str,
        ours: &[f64],
        reference: &[f64],
        median_bound: f64,
        spread: (f64, f64, f64),
    ) {
        let (median, within, l2) = tie_robust_stats(what, ours, reference);
        let (m_bound, w_bound, l_bound) = (
            median_bound.max(spread.0),
            0.90f64.min(spread.1),
            3e-2f64.max(spread.2),
        );
        eprintln!(
            "{what}: median {median:.1e}, within 1e-3 {:.3}%, rel L2 {l2:.2e} (bounds {m_bound:.1e}, {:.1}%, {l_bound:.1e})",
            within * 100.0,
            w_bound * 100.0
        );
        if !(median <= m_bound && within >= w_bound && l2 <= l_bound) {
            self.0.push(format!(
                "{what}: median {median:.2e} (<= {m_bound:.1e}), within {within:.4} (>= {w_bound:.4}), rel L2 {l2:.2e} (<= {l_bound:.1e})"
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
            0.0,
        );
        for name in &case.cam_layers {
            let ours = flat(&layer_output(&model, &x, name));
            f.close(
                &format!("{} {name}", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, &format!("act__{}", key(name))),
                1e-4,
                0.0,
            );
        }
    }
    f.assert_none();
}

/// A CAM's `map` ("raw", or "full" at 224 px), beside case `i`'s reference
/// `{method_key}_{map}__{layer}`.
fn cam_map(
    a: &Attribution,
    i: usize,
    method_key: &str,
    map: &str,
    layer: &str,
) -> (Vec<f64>, Vec<f64>) {
    let ours = match map {
        "raw" => a.raw(),
        _ => a.full((224, 224)),
    };
    let want = reference(GRAPH_NPZ, i, &format!("{method_key}_{map}__{layer}"));
    (flat(&ours.unwrap()), want)
}

#[test]
fn grad_cam_and_grad_cam_plus_plus_match_pytorch_grad_cam() {
    let (mut f, spread) = (Failures::default(), Spread::load());
    for (i, case) in graph_cases().iter().enumerate() {
        let model = graph_model(case);
        for name in &case.cam_layers {
            let what = format!("{} {name}", case.arch);
            let a = run(&model, case, "grad-cam", &at_layer(name));
            let k = key(name);
            let raw_spread = spread.max_rel_error(&case.arch, &format!("gradcam_raw__{k}"));
            let (ours, want) = cam_map(&a, i, "gradcam", "raw", &k);
            f.close(
                &format!("{what} grad-cam raw"),
                &ours,
                &want,
                1e-3,
                raw_spread,
            );
            // The full map is the raw one resized and scaled to its maximum: the issue's
            // tolerances keep a ratio of 2 between them, and so does the widened bound.
            let (ours, want) = cam_map(&a, i, "gradcam", "full", &k);
            f.close(
                &format!("{what} grad-cam full"),
                &ours,
                &want,
                2e-3,
                2.0 * raw_spread,
            );
            let pp_spread = spread.tie_robust(&case.arch, &format!("gradcampp_raw__{k}"));
            let a = run(&model, case, "grad-cam++", &at_layer(name));
            let (ours, want) = cam_map(&a, i, "gradcampp", "raw", &k);
            f.tie_robust(
                &format!("{what} grad-cam++ raw"),
                &ours,
                &want,
                1e-5,
                pp_spread,
            );
            // Twice the raw map's spread in median and L2, as for Grad-CAM's full map.
            let full_spread = (2.0 * pp_spread.0, pp_spread.1, 2.0 * pp_spread.2);
            let (ours, want) = cam_map(&a, i, "gradcampp", "full", &k);
            f.tie_robust(
                &format!("{what} grad-cam++ full"),
                &ours,
                &want,
                1e-5,
                full_spread,
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
    let (mut f, spread) = (Failures::default(), Spread::load());
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
                spread.tie_robust(&case.arch, k),
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
                spread.tie_robust(&case.arch, "integrated_gradients"),
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
    let a = run(&model, &case, "score-cam", &at_layer(name));
    f.close(
        &format!("resnet18 score-cam {name} full"),
        &flat(&a.full((224, 224)).unwrap()),
        &reference(GRAPH_NPZ, i, &format!("scorecam_full__{}", key(name))),
        1e-2,
        0.0,
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
            let opts = Options::default()
                .with("window", window)
                .with("stride", stride)
                .with("score", score.name());
            let ours = flat(&run(&model, case, "occlusion", &opts).raw().unwrap());
            f.close(
                &format!("{} {k}", case.arch),
                &ours,
                &reference(GRAPH_NPZ, i, k),
                1e-3,
                0.0,
            );
        }
    }
    f.assert_none();
}
