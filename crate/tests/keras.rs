//! Keras' VGG weights (crate/tests/fixtures/keras/, made by
//! scripts/fixtures/make_keras_fixtures.py): every layout Keras writes gives the logits of
//! the same weights in torchvision's layout, and Keras' own; the kernel conversions by
//! hand; the real VGG16/VGG19 layer lists; Keras names as layers; each refusal's message.

mod common;
use candle_core::Tensor;
use common::*;
use convscope::image::Preprocessing;
use convscope::model::card::preprocessing_for_weights;
use convscope::model::formats::keras::convert::{dense_to_linear, hwio_to_oihw};
use convscope::model::formats::keras::vgg::{plan, slots, Listed};
use convscope::model::summary::summarize;
use convscope::model::weights::{sniff, Format};
use convscope::model::{families, ArchSpec, Graph};
use std::path::{Path, PathBuf};

const MINI: &str = "cfg=4,4,M,8,M;in=3;pool=2;hidden=8;classes=5";
const VGG16MINI: &str = "cfg=3,4,M,4,4,M,4,4,4,M,4,4,4,M,4,4,3,M;in=3;pool=1;hidden=6;classes=5";

fn keras_fixture(name: &str) -> PathBuf {
    fixture(&format!("keras/{name}"))
}

fn load(spec: &str, file: &str) -> Result<Graph, String> {
    Graph::from_file(&ArchSpec::parse(spec).unwrap(), &keras_fixture(file))
        .map_err(|e| e.to_string())
}

fn npy(name: &str) -> Tensor {
    Tensor::read_npy(keras_fixture(name)).unwrap()
}

fn logits_of(model: &Graph, input: &str) -> Vec<f64> {
    flat(&logits(model, &npy(input)))
}

/// Each Keras file of `model` against the torchvision file of the same weights and
/// against Keras' own forward pass; returns the largest error against each.
fn parity(spec: &str, model: &str, files: &[&str]) -> (f64, f64) {
    let input = format!("{model}_input.npy");
    let torchvision = logits_of(
        &load(spec, &format!("{model}.safetensors")).unwrap(),
        &input,
    );
    let keras = flat(&npy(&format!("{model}_keras_logits.npy")));
    let (mut vs_torch, mut vs_keras) = (0f64, 0f64);
    for file in files {
        let ours = logits_of(
            &load(spec, file).unwrap_or_else(|e| panic!("{file}: {e}")),
            &input,
        );
        let (t, k) = (
            max_rel_error(&ours, &torchvision),
            max_rel_error(&ours, &keras),
        );
        println!("{file}: vs torchvision layout {t:.2e}, vs Keras' logits {k:.2e}");
        assert!(
            t <= 1e-5,
            "{file}: logits differ from the torchvision layout's by {t:.2e}"
        );
        assert!(k <= 1e-5, "{file}: logits differ from Keras' by {k:.2e}");
        (vs_torch, vs_keras) = (vs_torch.max(t), vs_keras.max(k));
    }
    // Keras' pass itself against the torchvision-layout file, so a bad fixture shows.
    let direct = max_rel_error(&torchvision, &keras);
    println!("{model}.safetensors vs Keras' logits {direct:.2e}");
    assert!(direct <= 1e-5);
    (vs_torch, vs_keras)
}

#[test]
fn every_keras_layout_gives_the_torchvision_logits() {
    parity(
        MINI,
        "mini",
        &[
            "mini.weights.h5",
            "mini.keras",
            "mini_keras2.h5",
            "mini_hosted.h5",
        ],
    );
    parity(VGG16MINI, "vgg16mini", &["vgg16mini_hosted.h5"]);
}

#[test]
fn keras_files_are_told_apart_from_other_weights() {
    for (file, format) in [
        ("mini.weights.h5", Format::Keras),
        ("mini.keras", Format::Keras),
        ("mini_keras2.h5", Format::Keras),
        ("mini.safetensors", Format::Safetensors),
    ] {
        let bytes = std::fs::read(keras_fixture(file)).unwrap();
        assert_eq!(sniff(&bytes), format, "{file}");
    }
}

#[test]
fn keras_weights_get_caffe_preprocessing() {
    let vgg16 = ArchSpec::parse("vgg16").unwrap();
    assert_eq!(
        preprocessing_for_weights(&vgg16, Format::Keras),
        Preprocessing::Caffe { size: 224 }
    );
    assert!(matches!(
        preprocessing_for_weights(&vgg16, Format::Safetensors),
        Preprocessing::Torchvision { crop: 224, .. }
    ));
}

#[test]
fn keras_layer_names_reach_the_same_activations() {
    let x = npy("vgg16mini_input.npy");
    let keras = load(VGG16MINI, "vgg16mini_hosted.h5").unwrap();
    let torch = load(VGG16MINI, "vgg16mini.safetensors").unwrap();
    // VGG16's layer indices: the narrow model has VGG16's blocks, so the same names.
    assert_eq!(
        keras.node("block5_conv3").unwrap(),
        keras.node("features.28").unwrap()
    );
    let by_keras_name = flat(&layer_output(&keras, &x, "block5_conv3"));
    let by_torch_name = flat(&layer_output(&torch, &x, "features.28"));
    assert_eq!(by_keras_name.len(), 3 * 2 * 2);
    let e = max_rel_error(&by_keras_name, &by_torch_name);
    assert!(e <= 1e-6, "block5_conv3 vs features.28: {e:.2e}");
    assert!(by_torch_name.iter().any(|v| *v != 0.0));
    // And on the real VGG16 graph, and in its summary.
    let vgg16 = families::graph(&ArchSpec::parse("vgg16").unwrap()).unwrap();
    assert_eq!(vgg16.find("block5_conv3"), vgg16.find("features.28"));
    let summary = summarize(&ArchSpec::parse("vgg16").unwrap(), None).unwrap();
    let row = summary
        .layers
        .iter()
        .find(|l| l.name == "features.28")
        .unwrap();
    assert_eq!(row.keras_name.as_deref(), Some("block5_conv3"));
}

#[test]
fn convolution_kernels_go_from_hwio_to_oihw() {
    // [kh=1, kw=2, in=2, out=3]: value = 100 y + 10 x... written as (x, i, o) digits.
    let hwio: Vec<f32> = (0..2)
        .flat_map(|x| (0..2).flat_map(move |i| (0..3).map(move |o| (100 * x + 10 * i + o) as f32)))
        .collect();
    let oihw = hwio_to_oihw(&hwio, [1, 2, 2, 3]).unwrap();
    // [out, in, 1, 2]: o-major, then i, then x.
    let expected: Vec<f32> = (0..3)
        .flat_map(|o| (0..2).flat_map(move |i| (0..2).map(move |x| (100 * x + 10 * i + o) as f32)))
        .collect();
    assert_eq!(oihw, expected);
    assert_eq!(hwio_to_oihw(&hwio, [1, 2, 2, 2]), None);
}

#[test]
fn fc1_rows_go_from_height_width_channel_to_channel_height_width() {
    // A 1x2 map of 2 channels, 2 outputs: Keras' kernel rows are (x0,c0), (x0,c1),
    // (x1,c0), (x1,c1); row r, output o holds 10 r + o.
    let kernel = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0];
    let linear = dense_to_linear(&kernel, 4, 2, Some((2, 1, 2))).unwrap();
    // torch.flatten's columns are (c0,x0), (c0,x1), (c1,x0), (c1,x1) = rows 0, 2, 1, 3.
    assert_eq!(linear, [0.0, 20.0, 10.0, 30.0, 1.0, 21.0, 11.0, 31.0]);
    // Without a map before it, a plain transpose.
    let plain = dense_to_linear(&kernel, 4, 2, None).unwrap();
    assert_eq!(plain, [0.0, 10.0, 20.0, 30.0, 1.0, 11.0, 21.0, 31.0]);
    assert_eq!(dense_to_linear(&kernel, 4, 2, Some((3, 1, 2))), None);

    // A 2x3 map of 3 channels: the same map flattened each way meets the same weight.
    let (c, h, w, outs) = (3, 2, 3, 2);
    let map = |ch: usize, y: usize, x: usize| (ch * 7 + y * 3 + x) as f32 * 0.5 - 4.0;
    let keras_input: Vec<f32> = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| (0..c).map(move |ch| map(ch, y, x))))
        .collect();
    let torch_input: Vec<f32> = (0..c)
        .flat_map(|ch| (0..h).flat_map(move |y| (0..w).map(move |x| map(ch, y, x))))
        .collect();
    let kernel: Vec<f32> = (0..c * h * w * outs)
        .map(|i| ((i * 37) % 11) as f32 - 5.0)
        .collect();
    let linear = dense_to_linear(&kernel, c * h * w, outs, Some((c, h, w))).unwrap();
    for o in 0..outs {
        let keras: f32 = (0..c * h * w)
            .map(|r| keras_input[r] * kernel[r * outs + o])
            .sum();
        let torch: f32 = (0..c * h * w)
            .map(|j| torch_input[j] * linear[o * c * h * w + j])
            .sum();
        assert_eq!(keras, torch, "output {o}");
    }
}

/// keras.applications' VGG16 and VGG19 layers (names and weight shapes, as Keras builds
/// them), from applications_layers.json.
fn applications(model: &str) -> Vec<(String, Vec<Vec<usize>>)> {
    let text = std::fs::read_to_string(keras_fixture("applications_layers.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all[model]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let shapes = serde_json::from_value(l["shapes"].clone()).unwrap();
            (l["name"].as_str().unwrap().to_string(), shapes)
        })
        .collect()
}

fn plan_for(
    arch: &str,
    layers: &[(String, Vec<Vec<usize>>)],
    keyed_by_class: bool,
) -> Result<usize, String> {
    let graph = families::graph(&ArchSpec::parse(arch).unwrap()).unwrap();
    let slots = slots(&graph).unwrap();
    let listed: Vec<Listed> = layers
        .iter()
        .map(|(name, shapes)| Listed {
            name,
            keyed_by_class,
            shapes: shapes.iter().map(|s| s.as_slice()).collect(),
        })
        .collect();
    plan(arch, &slots, &listed)
        .map(|p| p.len())
        .map_err(|e| e.to_string())
}

#[test]
fn the_real_vgg16_and_vgg19_layers_fit_our_graphs() {
    assert_eq!(plan_for("vgg16", &applications("vgg16"), false), Ok(16));
    assert_eq!(plan_for("vgg19", &applications("vgg19"), false), Ok(19));
    for (arch, notop) in [("vgg16", "vgg16_notop"), ("vgg19", "vgg19_notop")] {
        let err = plan_for(arch, &applications(notop), false).unwrap_err();
        assert!(
            err.contains("include_top=False") && err.contains("`fc1`, `fc2`, `predictions`"),
            "{err}"
        );
    }
    // One architecture's layers are not the other's.
    let err = plan_for("vgg16", &applications("vgg19"), false).unwrap_err();
    assert!(err.contains("vgg16 has no layer `block3_conv4`"), "{err}");
    // Keras 3 files that do not record names: `conv2d_N`, `dense_N` in class order.
    let keyed: Vec<(String, Vec<Vec<usize>>)> = applications("vgg16")
        .into_iter()
        .enumerate()
        .map(|(i, (_, shapes))| {
            let key = match i {
                0 => "conv2d".to_string(),
                1..=12 => format!("conv2d_{i}"),
                13 => "dense".to_string(),
                _ => format!("dense_{}", i - 13),
            };
            (key, shapes)
        })
        .collect();
    assert_eq!(plan_for("vgg16", &keyed, true), Ok(16));
}

#[test]
fn refusals_say_what_does_not_fit() {
    for (spec, file, needles) in [
        (
            MINI,
            "mini_notop.h5",
            &[
                "include_top=False",
                "no `fc1`, `fc2`, `predictions` layer",
                "needs its classifier",
            ][..],
        ),
        (
            "cfg=4,4,M,8,M;in=3;pool=2;hidden=8;classes=7",
            "mini.keras",
            &[
                "`predictions`'s kernel has shape [8, 5]",
                "expects [8, 7]",
                "classes=5`",
            ][..],
        ),
        (
            "cfg=4,4,M,8,M;in=3;pool=3;hidden=8;classes=5",
            "mini.weights.h5",
            &[
                "`fc1`'s kernel has shape [32, 8]",
                "expects [72, 8]",
                "flattened 3x3x8 map",
            ][..],
        ),
        (
            "cfg=4,M,8,M;in=3;pool=2;hidden=8;classes=5",
            "mini_keras2.h5",
            &["has no layer `block1_conv2`"][..],
        ),
        (
            "resnet18",
            "mini_hosted.h5",
            &[
                "Keras weights are read for VGG-family architectures",
                "resnet",
            ][..],
        ),
    ] {
        let err = load(spec, file).map(|_| ()).unwrap_err();
        assert!(!err.contains('\n'), "{file}: one line: {err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "{spec} with {file}: `{err}` lacks `{needle}`"
            );
        }
    }
}

fn load_bytes(spec: &str, bytes: Vec<u8>) -> String {
    let err = Graph::from_bytes(&ArchSpec::parse(spec).unwrap(), bytes)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

#[test]
fn broken_files_end_in_one_clear_error() {
    let hosted = std::fs::read(keras_fixture("mini_hosted.h5")).unwrap();
    for cut in [8, 100, 2000, hosted.len() / 2, hosted.len() - 1] {
        let err = load_bytes(MINI, hosted[..cut].to_vec());
        assert!(err.starts_with("weights file: "), "cut at {cut}: {err}");
    }
    // A .keras archive cut short loses its directory.
    let archive = std::fs::read(keras_fixture("mini.keras")).unwrap();
    let err = load_bytes(MINI, archive[..archive.len() - 10].to_vec());
    assert!(
        err.contains(".keras archive") && err.contains("truncated or corrupt"),
        "{err}"
    );
    // An HDF5 file that is not Keras'.
    let mut other = hdf5_pure::FileBuilder::new();
    other
        .create_dataset("temperature")
        .with_f64_data(&[1.0, 2.0]);
    let err = load_bytes(MINI, other.finish().unwrap());
    assert!(
        err.contains("not Keras weights") && err.contains("`temperature`"),
        "{err}"
    );
}

fn convscope(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// `cmd` on the [`MINI`] architecture with the Keras weights file `weights`, then `rest`.
fn on_mini<'a>(cmd: &'a str, weights: &'a Path, rest: &[&'a str]) -> Vec<&'a str> {
    let mut words = vec![cmd, "--arch", MINI, "--weights", arg(weights)];
    words.extend(rest);
    words
}

#[test]
fn the_cli_reads_keras_weights_with_caffe_preprocessing() {
    let weights = keras_fixture("mini.keras");
    let image = fixture("astronaut32.png");
    let (ok, stdout, stderr) = convscope(&on_mini(
        "predict",
        &weights,
        &["--image", arg(&image), "--top", "5", "--json"],
    ));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("\"caffe\" preprocessing"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut cli: Vec<(usize, f64)> = json["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["class"].as_u64().unwrap() as usize,
                p["logit"].as_f64().unwrap(),
            )
        })
        .collect();
    cli.sort_by_key(|(c, _)| *c);
    // The library's logits for the picture under Keras' caffe preprocessing at 8x8.
    let model = load(MINI, "mini.keras").unwrap();
    let x = convscope::image::preprocess(
        &convscope::image::decode_file(&image).unwrap(),
        &Preprocessing::Caffe { size: 8 },
        3,
    )
    .unwrap();
    let expected = flat(&logits(&model, &x));
    let got: Vec<f64> = cli.iter().map(|(_, l)| *l).collect();
    assert_eq!(cli.len(), 5);
    let e = max_rel_error(&got, &expected);
    assert!(
        e <= 1e-5,
        "CLI logits vs caffe-preprocessed library logits: {e:.2e}"
    );

    // `--layer block2_conv1` names features.5 on the command line too.
    let out = std::env::temp_dir().join(format!("convscope-keras-{}.npy", std::process::id()));
    let input = keras_fixture("mini_input.npy");
    let weights = keras_fixture("mini.weights.h5");
    let (ok, _, stderr) = convscope(&on_mini(
        "activations",
        &weights,
        &[
            "--input",
            arg(&input),
            "--layer",
            "block2_conv1",
            "--out",
            arg(&out),
        ],
    ));
    assert!(ok, "{stderr}");
    let cli = flat(&Tensor::read_npy(&out).unwrap());
    std::fs::remove_file(&out).unwrap();
    let torch = load(MINI, "mini.safetensors").unwrap();
    let expected = flat(&layer_output(&torch, &npy("mini_input.npy"), "features.5"));
    assert_eq!(cli.len(), 8 * 4 * 4);
    assert!(max_rel_error(&cli, &expected) <= 1e-6);

    // A file without the classifier is one line on stderr.
    let notop = keras_fixture("mini_notop.h5");
    let (ok, _, stderr) = convscope(&on_mini("predict", &notop, &["--input", arg(&input)]));
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("convscope: error: weights file: ")
            && stderr.contains("include_top=False"),
        "{stderr}"
    );
}
