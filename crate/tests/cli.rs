//! The `convscope` binary end to end: the contract other tools rely on (summary,
//! predict, activations) and one clear line on stderr for every bad input.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Output;

use common::convscope_cli as convscope;

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "convscope failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp(name: &str) -> PathBuf {
    scratch("cli", name)
}

/// The JSON that a successful run prints.
fn json_of(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&stdout(&convscope(args))).unwrap()
}

/// Keras' `VGG16(include_top=True).summary()` table (keras.io/api/applications/vgg):
/// (layer, output shape without the batch, parameters).
const KERAS_VGG16: &[(&str, &[usize], usize)] = &[
    ("block1_conv1", &[224, 224, 64], 1_792),
    ("block1_conv2", &[224, 224, 64], 36_928),
    ("block1_pool", &[112, 112, 64], 0),
    ("block2_conv1", &[112, 112, 128], 73_856),
    ("block2_conv2", &[112, 112, 128], 147_584),
    ("block2_pool", &[56, 56, 128], 0),
    ("block3_conv1", &[56, 56, 256], 295_168),
    ("block3_conv2", &[56, 56, 256], 590_080),
    ("block3_conv3", &[56, 56, 256], 590_080),
    ("block3_pool", &[28, 28, 256], 0),
    ("block4_conv1", &[28, 28, 512], 1_180_160),
    ("block4_conv2", &[28, 28, 512], 2_359_808),
    ("block4_conv3", &[28, 28, 512], 2_359_808),
    ("block4_pool", &[14, 14, 512], 0),
    ("block5_conv1", &[14, 14, 512], 2_359_808),
    ("block5_conv2", &[14, 14, 512], 2_359_808),
    ("block5_conv3", &[14, 14, 512], 2_359_808),
    ("block5_pool", &[7, 7, 512], 0),
    ("fc1", &[4096], 102_764_544),
    ("fc2", &[4096], 16_781_312),
    ("predictions", &[1000], 4_097_000),
];

#[test]
fn summary_of_vgg16_matches_keras() {
    let text = stdout(&convscope(&["summary", "--arch", "vgg16"]));
    assert!(text.contains("Total params: 138,357,544"), "{text}");
    assert!(text.contains("Trainable params: 138,357,544"), "{text}");

    let json = json_of(&["summary", "--arch", "vgg16", "--json"]);
    assert_eq!(json["total_params"], 138_357_544);
    assert_eq!(json["trainable_params"], 138_357_544);
    let layers = json["layers"].as_array().unwrap();
    for (keras, hwc, params) in KERAS_VGG16 {
        let ours = layers
            .iter()
            .find(|l| l["keras_name"] == *keras)
            .unwrap_or_else(|| panic!("no layer for Keras' {keras}"));
        let shape: Vec<usize> = serde_json::from_value(ours["output_shape"].clone()).unwrap();
        // Keras is channels-last, torchvision channels-first.
        let chw: Vec<usize> = if hwc.len() == 3 {
            vec![hwc[2], hwc[0], hwc[1]]
        } else {
            hwc.to_vec()
        };
        assert_eq!(shape, chw, "{keras} output shape");
        assert_eq!(ours["params"], *params, "{keras} parameters");
    }
    assert_eq!(
        layers.len(),
        39,
        "31 feature layers, avgpool, 7 classifier layers"
    );
}

#[test]
fn summary_at_another_size_and_of_a_spec() {
    // 128 px into VGG16: 4x4 after the last pool, adaptive pooling still gives 7x7.
    let json = json_of(&["summary", "--arch", "vgg16", "--size", "128", "--json"]);
    let layers = json["layers"].as_array().unwrap();
    let get =
        |name: &str| layers.iter().find(|l| l["name"] == name).unwrap()["output_shape"].clone();
    assert_eq!(get("features.30"), serde_json::json!([512, 4, 4]));
    assert_eq!(get("avgpool"), serde_json::json!([512, 7, 7]));
    let text = stdout(&convscope(&[
        "summary",
        "--arch",
        "cfg=8,M,16,M;in=1;pool=2;hidden=32;classes=10",
    ]));
    // 1*9*8+8 + 8*9*16+16 + 16*2*2*32+32 + 32*32+32 + 32*10+10
    assert!(text.contains("Total params: 4,714"), "{text}");
}

#[test]
fn inspect_gives_config_and_weight_statistics() {
    let json = json_of(&with_tiny(&["inspect", "--layer", "features.3"]));
    let c = &json["config"];
    assert_eq!(c["type"], "Conv2d");
    assert_eq!(c["filters"], 16);
    assert_eq!(c["kernel_size"], serde_json::json!([3, 3]));
    assert_eq!(c["params"], 16 * 8 * 9 + 16);
    assert_eq!(c["input_shape"], serde_json::json!([8, 16, 16]));
    let w = &json["weights"]["weight"];
    assert_eq!(w["count"], 16 * 8 * 9);
    // He-uniform bound sqrt(6 / 72): every weight within it, mean near 0.
    let bound = (6.0f64 / 72.0).sqrt();
    assert!(w["max"].as_f64().unwrap() <= bound && w["min"].as_f64().unwrap() >= -bound);
    assert!(w["mean"].as_f64().unwrap().abs() < 0.05);
}

#[test]
fn predict_and_activations_match_the_reference() {
    let x = fixture("astronaut32.npy");
    let logits_path = temp("logits.npy");
    let json = json_of(&with_tiny(&[
        "predict",
        "--input",
        arg(&x),
        "--top",
        "3",
        "--json",
        "--logits-out",
        arg(&logits_path),
    ]));
    let reference_logits = reference("tiny_dev.npz", 0, "logits");
    let reference_probs = reference("tiny_dev.npz", 0, "probs");
    let top = json["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    let best = (0..10)
        .max_by(|a, b| reference_logits[*a].total_cmp(&reference_logits[*b]))
        .unwrap();
    assert_eq!(top[0]["class"], best);
    for p in top {
        let k = p["class"].as_u64().unwrap() as usize;
        assert!((p["logit"].as_f64().unwrap() - reference_logits[k]).abs() < 1e-4);
        assert!((p["prob"].as_f64().unwrap() - reference_probs[k]).abs() < 1e-5);
    }
    let written = flat(&convscope::npy::read(&logits_path).unwrap());
    assert_close("--logits-out", &written, &reference_logits, 1e-4);

    // The same through --image: the PNG is the same pixels as the .npy.
    let png = fixture("astronaut32.png");
    let json = json_of(&with_tiny(&["predict", "--image", arg(&png), "--json"]));
    assert_eq!(json["top"][0]["class"], best);

    let out = temp("act.npy");
    stdout(&convscope(&with_tiny(&[
        "activations",
        "--input",
        arg(&x),
        "--layer",
        "features.7",
        "--out",
        arg(&out),
    ])));
    let act = convscope::npy::read(&out).unwrap();
    assert_eq!(act.dims(), [32, 8, 8]);
    assert_close(
        "activations features.7",
        &flat(&act),
        &reference("tiny_dev.npz", 0, "act__features_7"),
        1e-4,
    );
}

#[test]
fn model_card_stands_in_for_arch_and_weights() {
    let spec = convscope::model::ArchSpec::parse("tiny").unwrap();
    let weights = temp("tiny.safetensors");
    let bytes = convscope::model::weights::to_safetensors(
        &convscope::model::synthetic::weights(&spec, 3),
        safetensors::Dtype::F16,
    )
    .unwrap();
    std::fs::write(&weights, bytes).unwrap();
    let card = temp("tiny.json");
    let labels: Vec<String> = (0..10).map(|i| format!("thing {i}")).collect();
    std::fs::write(
        &card,
        serde_json::json!({"name": "tiny", "arch": "tiny", "weights": "tiny.safetensors", "labels": labels, "input": [3, 32, 32]}).to_string(),
    )
    .unwrap();
    let npy = fixture("astronaut32.npy");
    let json = json_of(&[
        "predict",
        "--model",
        arg(&card),
        "--input",
        arg(&npy),
        "--json",
    ]);
    assert_eq!(json["top"][0]["label"], "thing 9");
}

/// Runs convscope expecting failure: exit code 1, one line on stderr, no panic.
fn failure(args: &[&str]) -> String {
    let out = convscope(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with exit 1; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: expected one line, got: {err}"
    );
    assert!(err.starts_with("convscope: error: "), "{err}");
    err
}

#[test]
fn bad_inputs_give_one_clear_line() {
    let text_file = temp("notes.png");
    std::fs::write(&text_file, "these are my notes, not a picture").unwrap();
    let empty = temp("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let zeros = |name: &str, shape: (usize, usize, usize, usize)| {
        let file = temp(name);
        let t =
            candle_core::Tensor::zeros(shape, candle_core::DType::F32, &candle_core::Device::Cpu);
        convscope::npy::write(&file, &t.unwrap()).unwrap();
        file
    };
    let gray = zeros("gray.npy", (1, 1, 32, 32));
    let small = zeros("small.npy", (1, 3, 4, 4));
    let truncated = temp("truncated.safetensors");
    std::fs::write(&truncated, 1_000u64.to_le_bytes()).unwrap();
    let card = temp("orphan.json");
    std::fs::write(
        &card,
        r#"{"name":"x","arch":"tiny","weights":"nowhere.safetensors"}"#,
    )
    .unwrap();
    let input = fixture("astronaut32.npy");
    // `cmd` on the tiny synthetic model, then `rest`; or the words as they are.
    let tiny = |cmd: &str, rest: &[&str]| -> Vec<String> {
        with_tiny(&[&[cmd], rest].concat())
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let words = |w: &[&str]| -> Vec<String> { w.iter().map(|s| s.to_string()).collect() };

    #[rustfmt::skip]
    let cases: Vec<(Vec<String>, &str)> = vec![
        (tiny("predict", &["--image", arg(&text_file)]), "not a PNG, JPEG or WebP"),
        (tiny("predict", &["--image", arg(&empty)]), "empty"),
        (tiny("predict", &["--input", arg(&gray)]), "1 channel(s), but the model takes 3"),
        (tiny("predict", &["--input", arg(&small)]), "too small"),
        (
            tiny("activations", &["--input", arg(&input), "--layer", "features.99", "--out", "/tmp/x.npy"]),
            "unknown layer `features.99`",
        ),
        (words(&["summary", "--arch", "cfg=8,Q"]), "cfg entry `Q`"),
        (words(&["predict", "--arch", "tiny", "--input", arg(&input)]), "needs weights"),
        (
            words(&["predict", "--arch", "tiny", "--weights", arg(&truncated), "--input", arg(&input)]),
            "truncated",
        ),
        (words(&["predict", "--model", arg(&card), "--input", arg(&input)]), "does not exist"),
        (tiny("predict", &["--input", "/no/such/file.npy"]), "/no/such/file.npy"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = failure(&args);
        assert!(
            err.contains(needle),
            "{args:?}: `{err}` does not mention `{needle}`"
        );
    }
}
