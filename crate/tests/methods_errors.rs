//! Bad choices a user can make give one clear error naming the problem, never a panic.

mod common;
use common::*;
use convscope::methods::{build, Forward, Options, Target};

fn error_of(method: &str, options: Options) -> String {
    let model = tiny();
    let fwd = Forward::new(model, &input("astronaut32")).unwrap();
    match build(method, model, &options).and_then(|m| m.attribute(&fwd, 0)) {
        Ok(_) => panic!("{method} with {options:?} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_method_lists_the_known_ones() {
    let e = error_of("gradcam", Options::default());
    assert!(
        e.contains("unknown method `gradcam`") && e.contains("grad-cam++, score-cam"),
        "{e}"
    );
}

#[test]
fn target_out_of_range_names_the_class_count() {
    let fwd = Forward::new(tiny(), &input("astronaut32")).unwrap();
    let e = fwd.class(Target::Class(10)).unwrap_err().to_string();
    assert_eq!(
        e,
        "input: target class 10 is out of range: the model has 10 classes (0..9)"
    );
    assert_eq!(fwd.class(Target::Class(9)).unwrap(), 9);
}

#[test]
fn unknown_or_flat_layer_is_refused() {
    let layer = |name: &str| Options::default().with("layer", name);
    let e = error_of("grad-cam", layer("features.99"));
    assert!(
        e.starts_with(
            "unknown layer `features.99`; this model's layers are features.0..features.8"
        ),
        "{e}"
    );
    let e = error_of("score-cam", layer("classifier.0"));
    assert!(e.contains("layer `classifier.0` has no spatial map"), "{e}");
}

/// The error of `method` given the one option `name` = `value`.
fn error_with(method: &str, name: &str, value: impl Into<serde_json::Value>) -> String {
    error_of(method, Options::default().with(name, value))
}

#[test]
fn occlusion_window_larger_than_the_image_is_refused() {
    let e = error_with("occlusion", "window", 40);
    assert_eq!(
        e,
        "input: occlusion window 40 is larger than the 32x32 input"
    );
    let e = error_with("occlusion", "stride", 0);
    assert!(e.contains("window and stride must be at least 1"), "{e}");
}

#[test]
fn options_that_do_not_apply_or_do_not_fit_are_refused() {
    let e = error_with("saliency", "steps", 8);
    let takes_none = "input: option --steps does not apply to saliency (it takes no options)";
    assert_eq!(e, takes_none);
    let e = error_with("grad-cam", "window", 4);
    let takes_layer = "input: option --window does not apply to grad-cam (it takes --layer)";
    assert_eq!(e, takes_layer);
    let e = error_with("integrated-gradients", "steps", 1);
    assert!(e.contains("at least 2 steps"), "{e}");
}

#[test]
fn replacing_parameters_checks_names_and_shapes() {
    use std::collections::HashMap;
    let zeros = |d: &[usize]| (d.to_vec(), vec![0f32; d.iter().product()]);
    let replace = |name: &str, w: &[usize], b: &[usize]| {
        let new = HashMap::from([(name.to_string(), vec![zeros(w), zeros(b)])]);
        tiny().with_params(&new).map(drop).unwrap_err().to_string()
    };
    let e = replace("features.0", &[8, 3, 3, 3], &[9]);
    assert!(
        e.contains("`features.0.bias` has shape [9], expected [8]"),
        "{e}"
    );
    assert!(replace("features.1", &[1], &[1]).contains("layer `features.1` has no parameters"));
    assert!(replace("features.42", &[1], &[1]).contains("unknown layer `features.42`"));
}

#[test]
fn batched_methods_report_progress_and_stop_when_told() {
    let model = tiny();
    for (method, options, total) in [
        (
            "occlusion",
            Options::default().with("window", 4).with("stride", 4),
            64, // an 8x8 grid of windows over 32x32
        ),
        ("smoothgrad", Options::default().with("samples", 5), 5),
        ("score-cam", Options::default(), 0), // total: the non-constant channels
    ] {
        let calls = std::cell::RefCell::new(Vec::new());
        let fwd = Forward::new(model, &input("astronaut32"))
            .unwrap()
            .with_progress(|done, total| {
                calls.borrow_mut().push((done, total));
                Ok(())
            });
        build(method, model, &options)
            .and_then(|m| m.attribute(&fwd, 0))
            .unwrap();
        let seen = calls.borrow().clone();
        assert!(!seen.is_empty(), "{method}: no progress reported");
        assert_eq!(seen[0].0, 0, "{method}: {seen:?}");
        if total > 0 {
            assert!(seen.iter().all(|c| c.1 == total), "{method}: {seen:?}");
        }
        assert!(seen.iter().all(|c| c.0 < c.1), "{method}: {seen:?}");

        // A callback answering "stop" ends the run with the cancelled error.
        let fwd = Forward::new(model, &input("astronaut32"))
            .unwrap()
            .with_progress(|_, _| Err(convscope::Error::Cancelled));
        let e = build(method, model, &options)
            .and_then(|m| m.attribute(&fwd, 0))
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("cancelled"), "{method}");
    }
}
