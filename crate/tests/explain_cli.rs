//! `convscope explain` and `convscope sanity` end to end on the tiny fixture model
//! (`--synthetic 3`): the written maps match the reference fixtures, and bad options exit
//! with status 1 and one clear line on stderr.

mod common;
use common::*;
use std::path::PathBuf;

use common::convscope_cli as convscope;

fn tmp(name: &str) -> PathBuf {
    scratch("explain-cli", name)
}

/// Runs `explain` on the tiny model and astronaut32 (case 0 of tiny_dev: target 9;
/// the .npy input unless `extra` gives `--image`), returning the written map.
fn explain(name: &str, extra: &[&str]) -> Vec<f64> {
    let out = tmp(&format!("{name}.npy"));
    let input = fixture("astronaut32.npy");
    let mut args = vec!["explain", extra[0]];
    args.extend(TINY);
    args.extend(["--target", "9", "--out", arg(&out)]);
    if !extra.contains(&"--image") {
        args.extend(["--input", arg(&input)]);
    }
    args.extend(&extra[1..]);
    let run = convscope(&args);
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    flat(&convscope::npy::read(&out).unwrap())
}

#[test]
fn explain_writes_the_reference_maps() {
    let npz = "tiny_dev.npz";
    #[rustfmt::skip]
    let cases: [(&str, &[&str], &str, f64); 3] = [
        ("gradcam", &["grad-cam", "--layer", "features.7"], "gradcam_raw__features_7", 1e-3),
        ("gradcam_full", &["grad-cam", "--layer", "features.7", "--full"], "gradcam_full__features_7", 2e-3),
        ("occlusion", &["occlusion", "--window", "4", "--stride", "4", "--score", "prob"], "occlusion_prob", 1e-3),
    ];
    for (out, args, key, tol) in cases {
        matches_reference(npz, 0, key, &explain(out, args), tol);
    }
    let sal = explain("saliency", &["saliency"]);
    assert_tie_robust("CLI saliency", &sal, &reference(npz, 0, "saliency"));
}

#[test]
fn explain_draws_the_overlay_with_a_colour_bar() {
    let png = tmp("overlay.png");
    let image = fixture("astronaut32.png");
    explain(
        "overlay",
        &[
            "grad-cam++",
            "--image",
            arg(&image),
            "--png",
            arg(&png),
            "--colormap",
            "turbo",
        ],
    );
    let pic = image::open(&png).unwrap().to_rgba8();
    // The 32x32 picture enlarged 7x (to 224 px, whole pixels) plus the bar (6 + 16 + 6
    // pixels) on its right.
    assert_eq!(pic.dimensions(), (224 + 28, 224));
    // Nearest neighbour: each 7x7 block is one colour.
    for (by, bx) in [(0, 0), (10, 20), (31, 31)] {
        let first = pic.get_pixel(bx * 7, by * 7);
        for dy in 0..7 {
            for dx in 0..7 {
                assert_eq!(pic.get_pixel(bx * 7 + dx, by * 7 + dy), first);
            }
        }
    }
}

#[test]
fn occlusion_mask_view_writes_the_tutorials_mask() {
    // The mask keeps windows whose occluded probability is below a share of the original
    // (0.85 by default; on this random model no window goes below 0.876, so 0.95 here,
    // which keeps 4 of 64): recompute it from the reference (drop = p - p_occluded).
    let args = [
        "occlusion",
        "--window",
        "4",
        "--stride",
        "4",
        "--view",
        "mask",
        "--mask-threshold",
        "0.95",
    ];
    let mask = explain("mask", &args);
    let p = reference("tiny_dev.npz", 0, "probs")[9];
    let expect: Vec<f64> = reference("tiny_dev.npz", 0, "occlusion_prob")
        .iter()
        .map(|drop| (((p - drop) / p) < 0.95) as u8 as f64)
        .collect();
    assert_eq!(mask, expect);
    assert_eq!(mask.iter().sum::<f64>(), 4.0);
}

#[test]
fn sanity_reports_one_correlation_per_parameterised_layer() {
    let input = fixture("astronaut32.npy");
    let run = convscope(
        &[
            &["sanity", "grad-cam"][..],
            &TINY,
            &["--input", arg(&input), "--json"],
        ]
        .concat(),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    // tiny has 3 convs and 3 linears, re-initialised from the top.
    let layers: Vec<&str> = steps.iter().map(|s| s["layer"].as_str().unwrap()).collect();
    assert_eq!(
        layers,
        [
            "classifier.6",
            "classifier.3",
            "classifier.0",
            "features.6",
            "features.3",
            "features.0"
        ]
    );
    for s in steps {
        let r = s["spearman"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&r), "{r}");
    }
}

/// A failing run: exit status 1, exactly one stderr line `convscope: error: ...`
/// containing `needle`, and no panic.
fn fails_with(args: &[&str], needle: &str) {
    let input = fixture("astronaut32.npy");
    let out = tmp("never.npy");
    let mut all = vec!["explain"];
    all.extend(args);
    all.extend(TINY);
    all.extend(["--input", arg(&input), "--out", arg(&out)]);
    let run = convscope(&all);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{all:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("convscope: error: ") && stderr.contains(needle),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_options_exit_1_with_one_clear_line() {
    #[rustfmt::skip]
    let cases: [(&[&str], &str); 7] = [
        (&["gradcam"], "unknown method `gradcam`; known: saliency"),
        (&["saliency", "--target", "10"], "target class 10 is out of range: the model has 10 classes"),
        (&["grad-cam", "--layer", "features.99"], "unknown layer `features.99`"),
        (&["occlusion", "--window", "40"], "occlusion window 40 is larger than the 32x32 input"),
        (&["occlusion", "--score", "rank"], "unknown occlusion score `rank`"),
        (&["saliency", "--colormap", "rainbow"], "unknown colormap `rainbow`"),
        (&["grad-cam", "--view", "mask"], "--view and --mask-threshold apply to occlusion"),
    ];
    for (args, message) in cases {
        fails_with(args, message);
    }
}

#[test]
fn methods_json_is_the_catalogue() {
    let run = convscope(&["methods", "--json"]);
    assert!(run.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(printed, convscope::methods::catalogue::to_json());
}

#[test]
fn out_of_range_options_are_refused_before_any_work() {
    // With --progress a run reports every batch on stderr; a refused one reports none,
    // writes nothing and says only what is wrong (the page's words, see
    // tests/browser/catalogue.test.mjs).
    let input = fixture("astronaut32.npy");
    let run = |name: &str, method: &[&str]| {
        let out = tmp(&format!("refused_{name}.npy"));
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["explain"];
        args.extend(method);
        args.extend(TINY);
        args.push("--progress");
        args.extend(["--input", arg(&input), "--out", arg(&out)]);
        let result = convscope(&args);
        let stderr = String::from_utf8_lossy(&result.stderr).to_string();
        (result.status.code(), stderr, out.exists())
    };
    for (name, method, message) in [
        (
            "steps",
            ["integrated-gradients", "--steps", "1"],
            "integrated-gradients needs at least 2 steps (the trapezoid rule's two ends), got 1",
        ),
        (
            "window",
            ["occlusion", "--window", "33"],
            "occlusion window 33 is larger than the 32x32 input",
        ),
        (
            "noise",
            ["smoothgrad", "--noise", "-0.1"],
            "smoothgrad noise must be at least 0, got -0.1",
        ),
    ] {
        let (code, stderr, written) = run(name, &method);
        assert_eq!(
            (code, stderr.as_str(), written),
            (
                Some(1),
                format!("convscope: error: input: {message}\n").as_str(),
                false
            )
        );
    }
    // The same runs with values in range report their batches and write the map.
    for (name, method) in [
        ("steps_ok", ["integrated-gradients", "--steps", "2"]),
        ("window_ok", ["occlusion", "--window", "32"]),
        ("noise_ok", ["smoothgrad", "--noise", "0"]),
    ] {
        let (code, stderr, written) = run(name, &method);
        assert_eq!((code, written), (Some(0), true), "{stderr}");
        assert!(
            stderr.starts_with(&format!("{}: 0/", method[0])),
            "{stderr}"
        );
    }
}
