//! Loading real safetensors files: torchvision and timm names, f32/f16/bf16, and every
//! malformed file a user could bring, each with a message that names the problem.

mod common;
use common::*;
use convscope::model::{families, synthetic, weights, ArchSpec, Graph};
use safetensors::Dtype;
use std::path::PathBuf;

type Params = Vec<(String, Vec<usize>, Vec<f32>)>;

fn temp_path(name: &str) -> PathBuf {
    scratch("weights", name)
}

/// torchvision names -> timm's (`pre_logits.fc1` stored as a 7x7 conv, etc.).
fn to_timm(spec: &ArchSpec, params: Params) -> Params {
    params
        .into_iter()
        .map(|(name, shape, values)| match name.as_str() {
            "classifier.0.weight" => (
                "pre_logits.fc1.weight".into(),
                vec![shape[0], spec.last_channels(), spec.pool(), spec.pool()],
                values,
            ),
            "classifier.0.bias" => ("pre_logits.fc1.bias".into(), shape, values),
            "classifier.3.weight" => (
                "pre_logits.fc2.weight".into(),
                vec![shape[0], shape[1], 1, 1],
                values,
            ),
            "classifier.3.bias" => ("pre_logits.fc2.bias".into(), shape, values),
            "classifier.6.weight" => ("head.fc.weight".into(), shape, values),
            "classifier.6.bias" => ("head.fc.bias".into(), shape, values),
            _ => (name, shape, values),
        })
        .collect()
}

fn logits_of(model: &Graph, image: &str) -> Vec<f32> {
    logits(model, &input(image))
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn load_file(spec: &ArchSpec, params: &Params, dtype: Dtype, name: &str) -> Graph {
    let path = temp_path(name);
    std::fs::write(&path, weights::to_safetensors(params, dtype).unwrap()).unwrap();
    let model = Graph::from_file(spec, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    model
}

/// `params` renamed as timm names them, written as an f32 file `name` and loaded.
fn load_timm(spec: &ArchSpec, params: &Params, name: &str) -> Graph {
    load_file(spec, &to_timm(spec, params.clone()), Dtype::F32, name)
}

fn round_f16(params: &Params) -> Params {
    params
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().map(|x| half::f16::from_f32(*x).to_f32()).collect(),
            )
        })
        .collect()
}

#[test]
fn vgg16_from_timm_names_and_from_f16_file() {
    let spec = ArchSpec::parse("vgg16").unwrap();
    let params = synthetic::weights(&spec, 1);
    let reference = logits_of(vgg16(), "coffee");

    // timm naming, f32: bit-identical logits.
    let timm = load_timm(&spec, &params, "vgg16-timm.safetensors");
    assert_eq!(
        logits_of(&timm, "coffee"),
        reference,
        "timm-named file must give identical logits"
    );
    drop(timm);

    // f16 file: identical to computing in f32 with f16-rounded weights.
    let f16_model = load_file(&spec, &params, Dtype::F16, "vgg16-f16.safetensors");
    let rounded = load_file(
        &spec,
        &round_f16(&params),
        Dtype::F32,
        "vgg16-rounded.safetensors",
    );
    assert_eq!(
        logits_of(&f16_model, "coffee"),
        logits_of(&rounded, "coffee")
    );
    // ...and close to the f32 model: f16 keeps ~3 significant digits per weight.
    let ours: Vec<f64> = logits_of(&f16_model, "coffee")
        .iter()
        .map(|v| *v as f64)
        .collect();
    let refs: Vec<f64> = reference.iter().map(|v| *v as f64).collect();
    assert_close("f16 vgg16 logits vs f32", &ours, &refs, 1e-2);
}

#[test]
fn tiny_loads_from_every_dtype_and_matches_pytorch() {
    let spec = ArchSpec::parse("tiny").unwrap();
    let params = synthetic::weights(&spec, 3);
    let ref_logits = reference("tiny_dev.npz", 0, "logits");
    for (dtype, tol) in [(Dtype::F32, 1e-4), (Dtype::F16, 1e-2), (Dtype::BF16, 3e-2)] {
        let model = load_file(
            &spec,
            &params,
            dtype,
            &format!("tiny-{dtype:?}.safetensors"),
        );
        let ours: Vec<f64> = logits_of(&model, "astronaut32")
            .iter()
            .map(|v| *v as f64)
            .collect();
        assert_close(
            &format!("tiny logits from a {dtype:?} file"),
            &ours,
            &ref_logits,
            tol,
        );
    }
    let timm = load_timm(&spec, &params, "tiny-timm.safetensors");
    assert_eq!(
        logits_of(&timm, "astronaut32"),
        logits_of(tiny(), "astronaut32")
    );
}

fn error_of(spec: &str, bytes: Vec<u8>) -> String {
    let err = Graph::from_bytes(&ArchSpec::parse(spec).unwrap(), bytes).unwrap_err();
    err.to_string()
}

fn tiny_bytes(edit: impl FnOnce(&mut Params)) -> Vec<u8> {
    let mut params = synthetic::weights(&ArchSpec::parse("tiny").unwrap(), 3);
    edit(&mut params);
    weights::to_safetensors(&params, Dtype::F32).unwrap()
}

#[test]
fn malformed_files_are_named_errors() {
    let good = tiny_bytes(|_| {});
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty file", vec![], vec!["empty"]),
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            vec!["truncated"],
        ),
        (
            "only a header length",
            good[..8].to_vec(),
            vec!["truncated"],
        ),
        (
            "absurd header length",
            u64::MAX
                .to_le_bytes()
                .iter()
                .chain(b"{}")
                .copied()
                .collect(),
            vec!["header"],
        ),
        (
            "header length past the end",
            1_000_000u64
                .to_le_bytes()
                .iter()
                .chain(b"{}")
                .copied()
                .collect(),
            vec!["truncated"],
        ),
        (
            "not safetensors",
            b"<!DOCTYPE html><html>404 Not Found</html>".to_vec(),
            vec!["safetensors"],
        ),
        (
            "mis-shaped tensor",
            tiny_bytes(|p| {
                let w = p
                    .iter_mut()
                    .find(|(n, _, _)| n == "features.3.weight")
                    .unwrap();
                w.1 = vec![16, 4, 3, 3, 2];
            }),
            vec!["features.3.weight", "[16, 4, 3, 3, 2]", "[16, 8, 3, 3]"],
        ),
        (
            "missing tensor",
            tiny_bytes(|p| p.retain(|(n, _, _)| n != "classifier.3.bias")),
            vec!["missing", "classifier.3.bias", "[32]"],
        ),
        (
            "extra tensor",
            tiny_bytes(|p| p.push(("features.99.weight".into(), vec![2], vec![0.0, 1.0]))),
            vec!["unexpected", "features.99.weight"],
        ),
    ];
    for (what, bytes, needles) in cases {
        let err = error_of("tiny", bytes);
        for needle in needles {
            assert!(
                err.contains(needle),
                "{what}: `{err}` does not mention `{needle}`"
            );
        }
    }
}

#[test]
fn weights_of_another_architecture_are_refused() {
    // A VGG-16-like tiny network's file given to the tiny architecture, and back.
    let other = ArchSpec::parse("cfg=8,8,M,16,M,32,M;pool=2;hidden=32;classes=10;size=32").unwrap();
    let bytes = weights::to_safetensors(&synthetic::weights(&other, 1), Dtype::F32).unwrap();
    let err = error_of("tiny", bytes);
    assert_mentions(&err, &["features.3.weight", "another architecture"]);
    assert_mentions(
        &err,
        &["looks like `cfg=8,8,M,16,M,32,M;in=3;pool=2;hidden=32;classes=10"],
    );
    let err = error_of(
        "cfg=8,8,M,16,M,32,M;pool=2;hidden=32;classes=10;size=32",
        tiny_bytes(|_| {}),
    );
    assert!(err.contains("features.2.weight"), "{err}");
    // Same convolutions, another head (a 10-class file for a 1000-class model).
    let err = error_of("tiny;classes=5", tiny_bytes(|_| {}));
    assert_mentions(&err, &["classifier.6.weight", "[5, 32]", "[10, 32]"]);
}

#[test]
fn unsupported_dtypes_are_named() {
    let spec = ArchSpec::parse("tiny").unwrap();
    let params = synthetic::weights(&spec, 3);
    let views: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| (*x as f64).to_le_bytes()).collect(),
            )
        })
        .collect();
    let tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = views
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(Dtype::F64, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::serialize(tensors, None).unwrap();
    let err = error_of("tiny", bytes);
    assert_mentions(&err, &["F64", "features.0.weight"]);
}

#[test]
fn file_bytes_are_not_kept_after_loading() {
    // The model holds f32 tensors of exactly the parameter count: no copy of the file.
    let spec = ArchSpec::parse("tiny").unwrap();
    let model = Graph::from_bytes(&spec, tiny_bytes(|_| {})).unwrap();
    let held: usize = (0..model.len())
        .flat_map(|i| model.op(i).tensors())
        .map(|(_, v)| v.len())
        .sum();
    assert_eq!(held, families::graph(&spec).unwrap().param_count());
}

#[test]
fn models_too_large_for_memory_are_refused_before_allocating() {
    // 65536-wide layers: ~2e11 parameters, far past what loading may take (64 GiB
    // natively, 3 GiB in wasm32); refused from the spec alone, with the numbers.
    let err = error_of("cfg=65536,M;hidden=65536;classes=65536", tiny_bytes(|_| {}));
    assert!(err.contains("parameters") && err.contains("MiB"), "{err}");
    // A header length of a gigabyte in a tiny file is named as such.
    let mut bytes = (1u64 << 30).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let err = error_of("tiny", bytes);
    assert_mentions(&err, &["header length 1073741824", "absurd"]);
}

#[test]
fn files_with_too_many_tensors_are_refused() {
    // A header listing more tensors than any VGG could use: refused by count, before the
    // per-tensor work (one byte each, so the file itself stays small).
    let data = [0u8; 4];
    let names: Vec<String> = (0..=weights::MAX_TENSORS)
        .map(|i| format!("t{i}"))
        .collect();
    let views = names.iter().map(|n| {
        (
            n.clone(),
            safetensors::tensor::TensorView::new(Dtype::F32, vec![1], &data).unwrap(),
        )
    });
    let bytes = safetensors::serialize(views, None).unwrap();
    let err = error_of("tiny", bytes);
    assert_mentions(
        &err,
        &[
            &format!("holds {} tensors", weights::MAX_TENSORS + 1),
            &format!("at most {}", weights::MAX_TENSORS),
        ],
    );
}

#[test]
fn guessing_the_architecture_of_odd_files_neither_panics_nor_hangs() {
    // Shapes and names no VGG has, in a file that fits nothing: the mismatch is named,
    // and the guess is skipped instead of walking 10^17 layer indices or reading the
    // first dimension of a scalar.
    let scalar = || (vec![], vec![1.0]);
    for (what, odd) in [
        (
            "a huge layer index",
            (
                "features.99999999999999999.weight",
                vec![8, 8, 3, 3],
                vec![0.0; 576],
            ),
        ),
        (
            "a scalar classifier",
            ("classifier.0.weight", scalar().0, scalar().1),
        ),
    ] {
        let bytes = weights::to_safetensors(
            &[
                ("features.0.weight".into(), vec![8, 3, 3, 3], vec![0.0; 216]),
                (odd.0.into(), odd.1, odd.2),
                ("classifier.6.weight".into(), vec![], vec![1.0]),
            ],
            Dtype::F32,
        )
        .unwrap();
        let err = error_of("tiny", bytes);
        assert!(
            err.contains("another architecture") && !err.contains("looks like"),
            "{what}: {err}"
        );
    }
}
