//! Every attribution method against the captum / pytorch-grad-cam float64 references in
//! `tests/fixtures/{dev,tiny_dev}.npz` (provenance in tests/fixtures/README.md), with
//! docs/METHODS.md's tolerances. Each check prints its numbers.

mod common;
use common::*;
use convscope::methods::{Attribution, Options, Score};

const SUITES: [(&str, &str); 2] = [("tiny_dev.json", "tiny_dev.npz"), ("dev.json", "dev.npz")];

/// Runs `method` with `options` on a fixture case's image and target.
fn run(case: &Case, method: &str, options: &Options) -> Attribution {
    run_method(model_for(case), &case.image, case.target, method, options)
}

/// Max error relative to the largest reference magnitude, asserted and printed.
fn close(what: &str, ours: &[f64], reference: &[f64], tol: f64) {
    eprintln!(
        "{what}: max rel error {:.2e} (tol {tol:.0e})",
        max_rel_error(ours, reference)
    );
    assert_close(what, ours, reference, tol);
}

fn tie_robust(what: &str, ours: &[f64], reference: &[f64]) {
    tie_robust_with(what, ours, reference, 0.95)
}

fn tie_robust_with(what: &str, ours: &[f64], reference: &[f64], min_within: f64) {
    let (median, within, l2) = assert_tie_robust_with(what, ours, reference, min_within);
    eprintln!(
        "{what}: median {median:.1e}, within 1e-3 {:.3}%, rel L2 {l2:.2e}",
        within * 100.0
    );
}

fn size(case: &Case) -> (usize, usize) {
    let d = input(&case.image).dims().to_vec();
    (d[2], d[3])
}

/// Integrated gradients on the random-weight VGG16 is more tie-sensitive than one
/// gradient: its small-alpha path points (inputs scaled by 1/15, 2/15, ...) give nearly
/// flat activations, so float32 rounding breaks many more max-pool near-ties than at the
/// image. Measured: scaling the input by (1 + 2^-21), about 4 ulp, moves our own map by a
/// median 2.3e-5 (case 0) and 3.5e-5 (case 1) of its largest value, more than our
/// distance to the float64 reference (6.5e-6, 1.6e-5). So the median bound is 5e-5 here
/// (docs/METHODS.md's 1e-5 elsewhere); the 95%-within-1e-3 and relative-L2 bounds are kept.
fn integrated_gradients_on_vgg16(what: &str, ours: &[f64], reference: &[f64]) {
    let (median, within, l2) = tie_robust_stats(what, ours, reference);
    eprintln!(
        "{what}: median {median:.1e}, within 1e-3 {:.3}%, rel L2 {l2:.2e}",
        within * 100.0
    );
    assert!(median <= 5e-5 && within >= 0.95 && l2 <= 3e-2, "{what}: median {median:.2e} (<= 5e-5), within {within:.4} (>= 0.95), rel L2 {l2:.2e} (<= 3e-2)");
}

/// Which of a CAM's maps: the layer-sized one, or the one resized to the input.
#[derive(Clone, Copy, PartialEq)]
enum Map {
    Raw,
    Full,
}

/// Runs the CAM `method` at every CAM layer of every case and hands `check` its raw and
/// then its full map, each with its name and its reference (`{key}_raw__{layer}`,
/// `{key}_full__{layer}`).
fn each_cam_map(method: &str, key: &str, mut check: impl FnMut(&str, &[f64], &[f64], Map)) {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            for name in &case.cam_layers {
                let a = run(case, method, &at_layer(name));
                let layer = name.replace('.', "_");
                let what = format!("{npz} case {i} {method} {name}");
                let raw = flat(&a.raw().unwrap());
                let raw_ref = reference(npz, i, &format!("{key}_raw__{layer}"));
                check(&format!("{what} raw"), &raw, &raw_ref, Map::Raw);
                let full = flat(&a.full(size(case)).unwrap());
                let full_ref = reference(npz, i, &format!("{key}_full__{layer}"));
                check(&format!("{what} full"), &full, &full_ref, Map::Full);
            }
        }
    }
}

#[test]
fn grad_cam_raw_and_full_match_pytorch_grad_cam() {
    each_cam_map("grad-cam", "gradcam", |what, ours, reference, map| {
        let tol = if map == Map::Raw { 1e-3 } else { 2e-3 };
        close(what, ours, reference, tol);
    });
}

#[test]
fn grad_cam_plus_plus_agrees_with_pytorch_grad_cam() {
    each_cam_map("grad-cam++", "gradcampp", |what, ours, reference, _| {
        tie_robust(what, ours, reference);
    });
}

#[test]
fn score_cam_matches_pytorch_grad_cam() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            for name in &case.cam_layers {
                let a = run(case, "score-cam", &at_layer(name));
                let full = flat(&a.full(size(case)).unwrap());
                let key = format!("scorecam_full__{}", name.replace('.', "_"));
                close(
                    &format!("{npz} case {i} score-cam {name} full"),
                    &full,
                    &reference(npz, i, &key),
                    1e-2,
                );
            }
        }
    }
}

#[test]
fn input_attributions_agree_with_captum() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            for (method, key) in [
                ("saliency", "saliency"),
                ("guided-backprop", "guided_backprop"),
                ("integrated-gradients", "integrated_gradients"),
            ] {
                let ours = flat(&run(case, method, &Options::default()).raw().unwrap());
                // dev.npz case 1's saliency crosses the float32 near-tie of one max-pool
                // window documented in tests/parity.rs (measured: 92.84% within 1e-3, median
                // 2.3e-7, relative L2 9.6e-3); the same exception, for that map only.
                let min_within = if (npz, i, method) == ("dev.npz", 1, "saliency") {
                    0.92
                } else {
                    0.95
                };
                let what = format!("{npz} case {i} {method}");
                if (npz, method) == ("dev.npz", "integrated-gradients") {
                    integrated_gradients_on_vgg16(&what, &ours, &reference(npz, i, key));
                } else {
                    tie_robust_with(&what, &ours, &reference(npz, i, key), min_within);
                }
            }
        }
    }
}

#[test]
fn occlusion_grids_match_the_references() {
    for (json, npz) in SUITES {
        for (i, case) in cases(json).iter().enumerate() {
            let [window, stride] = case.occlusion;
            let opts = |window, score: Score| {
                Options::default()
                    .with("window", window)
                    .with("stride", stride)
                    .with("score", score.name())
            };
            let logit = flat(
                &run(case, "occlusion", &opts(window, Score::Logit))
                    .raw()
                    .unwrap(),
            );
            for key in ["occlusion_logit", "occlusion_captum"] {
                close(
                    &format!("{npz} case {i} {key}"),
                    &logit,
                    &reference(npz, i, key),
                    1e-3,
                );
            }
            let prob = flat(
                &run(case, "occlusion", &opts(window, Score::Prob))
                    .raw()
                    .unwrap(),
            );
            close(
                &format!("{npz} case {i} occlusion_prob"),
                &prob,
                &reference(npz, i, "occlusion_prob"),
                1e-3,
            );
            let overlap = flat(
                &run(case, "occlusion", &opts(2 * window, Score::Logit))
                    .raw()
                    .unwrap(),
            );
            let key = "occlusion_overlap_logit";
            close(
                &format!("{npz} case {i} {key}"),
                &overlap,
                &reference(npz, i, key),
                1e-3,
            );
        }
    }
}
