//! Shared helpers for the integration tests: fixture files and the comparison rules of
//! docs/METHODS.md ("How close is the same").
#![allow(dead_code)] // each test binary uses a different subset

pub mod protobuf;

use candle_core::{DType, Tensor};
use convscope::model::graph::Val;
use convscope::model::{ArchSpec, Graph};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One case of `dev.json` / `tiny_dev.json`.
#[derive(serde::Deserialize, Debug, Clone)]
pub struct Case {
    pub arch: String,
    pub seed: u64,
    pub image: String,
    pub target: usize,
    pub cam_layers: Vec<String>,
    pub occlusion: [usize; 2],
}

pub fn cases(json: &str) -> Vec<Case> {
    serde_json::from_str(&std::fs::read_to_string(fixture(json)).unwrap()).unwrap()
}

/// Reference array `c{case}__{key}` from an npz fixture, as f64.
pub fn reference(npz: &str, case: usize, key: &str) -> Vec<f64> {
    let name = format!("c{case}__{key}");
    let t = Tensor::read_npz_by_name(fixture(npz), &[name.as_str()])
        .unwrap_or_else(|e| panic!("{npz} has no {name}: {e}"));
    t[0].to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

pub fn input(image: &str) -> Tensor {
    Tensor::read_npy(fixture(&format!("{image}.npy"))).unwrap()
}

pub fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Largest |ours - ref| relative to the largest |ref|.
pub fn max_rel_error(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "length mismatch");
    let scale = reference
        .iter()
        .fold(0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0f64, f64::max)
        / scale
}

pub fn assert_close(what: &str, ours: &[f64], reference: &[f64], tol: f64) {
    let e = max_rel_error(ours, reference);
    assert!(e <= tol, "{what}: max error {e:.3e} relative to the largest reference magnitude (tolerance {tol:.0e})");
}

/// docs/METHODS.md's tie-robust agreement for maps that pass back through max pooling:
/// median error <= 1e-5, >= 95% of elements within 1e-3, relative L2 <= 3e-2 (errors
/// relative to the largest reference magnitude). Returns (median, fraction, rel L2).
pub fn assert_tie_robust(what: &str, ours: &[f64], reference: &[f64]) -> (f64, f64, f64) {
    assert_tie_robust_with(what, ours, reference, 0.95)
}

/// [`assert_tie_robust`] with another bound on the fraction of elements within 1e-3.
pub fn assert_tie_robust_with(
    what: &str,
    ours: &[f64],
    reference: &[f64],
    min_within: f64,
) -> (f64, f64, f64) {
    let (median, within, rel_l2) = tie_robust_stats(what, ours, reference);
    assert!(
        median <= 1e-5 && within >= min_within && rel_l2 <= 3e-2,
        "{what}: median error {median:.2e} (<= 1e-5), within 1e-3: {:.2}% (>= {:.0}%), relative L2 {rel_l2:.2e} (<= 3e-2)",
        within * 100.0,
        min_within * 100.0
    );
    (median, within, rel_l2)
}

/// docs/METHODS.md's three agreement figures: (median error, fraction of elements within
/// 1e-3, relative L2), errors relative to the largest reference magnitude.
pub fn tie_robust_stats(what: &str, ours: &[f64], reference: &[f64]) -> (f64, f64, f64) {
    assert_eq!(ours.len(), reference.len(), "{what}: length mismatch");
    let scale = reference.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: reference is all zero");
    let mut errs: Vec<f64> = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs() / scale)
        .collect();
    let within = errs.iter().filter(|e| **e <= 1e-3).count() as f64 / errs.len() as f64;
    let diff2: f64 = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let ref2: f64 = reference.iter().map(|b| b * b).sum();
    errs.sort_by(|a, b| a.total_cmp(b));
    (errs[errs.len() / 2], within, (diff2 / ref2).sqrt())
}

/// The fixtures' VGG16 (seed 1), rebuilt once per test binary.
pub fn vgg16() -> &'static Graph {
    static MODEL: OnceLock<Graph> = OnceLock::new();
    MODEL.get_or_init(|| Graph::synthetic(&ArchSpec::parse("vgg16").unwrap(), 1).unwrap())
}

/// The fixtures' tiny VGG (seed 3).
pub fn tiny() -> &'static Graph {
    static MODEL: OnceLock<Graph> = OnceLock::new();
    MODEL.get_or_init(|| Graph::synthetic(&ArchSpec::parse("tiny").unwrap(), 3).unwrap())
}

/// `x` as the graph's value type.
pub fn val(x: &Tensor) -> Val {
    Val::from_tensor(x).unwrap()
}

/// Logits of `model` for `x`.
pub fn logits(model: &Graph, x: &Tensor) -> Tensor {
    model.forward(&val(x)).unwrap().to_tensor().unwrap()
}

/// The output of layer `name` for `x`.
pub fn layer_output(model: &Graph, x: &Tensor, name: &str) -> Tensor {
    let node = model.node(name).unwrap();
    model
        .forward_to(&val(x), node)
        .unwrap()
        .to_tensor()
        .unwrap()
}

/// `d logit[target] / d x` for each image of `x`.
pub fn input_gradient(
    model: &Graph,
    x: &Tensor,
    target: usize,
    relu: convscope::model::ReluGrad,
) -> Tensor {
    convscope::methods::batch_input_gradient(model, x, target, relu).unwrap()
}

/// The model a fixture case was computed with.
pub fn model_for(case: &Case) -> &'static Graph {
    match (case.arch.as_str(), case.seed) {
        ("vgg16", 1) => vgg16(),
        ("tiny", 3) => tiny(),
        other => panic!("no fixture model for {other:?}"),
    }
}

/// One case of `graph/graph_dev.json`: a torchvision CNN on the fixtures' weights.
#[derive(serde::Deserialize, Debug, Clone)]
pub struct GraphCase {
    pub arch: String,
    pub seed: u64,
    pub image: String,
    pub target: usize,
    pub cam_layers: Vec<String>,
    #[serde(default)]
    pub occlusion: Option<[usize; 2]>,
}

pub fn graph_cases() -> Vec<GraphCase> {
    serde_json::from_str(&std::fs::read_to_string(fixture("graph/graph_dev.json")).unwrap())
        .unwrap()
}

/// The graph fixtures' npz.
pub const GRAPH_NPZ: &str = "graph/graph_dev.npz";

/// Whether to run every graph case in the expensive tests (`CONVSCOPE_FULL_PARITY=1`),
/// or one per family (CI): resnet18, mobilenet_v2, efficientnet_b0, densenet121,
/// convnext_tiny. The cheap tests always run all seven.
pub fn full_parity() -> bool {
    std::env::var("CONVSCOPE_FULL_PARITY").is_ok_and(|v| v == "1")
}

/// One case per family, or all with [`full_parity`].
pub fn representative(case: &GraphCase) -> bool {
    full_parity() || !matches!(case.arch.as_str(), "resnet50" | "mobilenet_v3_small")
}

/// The fixtures' model of a graph case: the generator's weights with the calibrated
/// batch-norm statistics of `graph/MODEL-sSEED-bnstats.safetensors` (models without
/// batch norm have none).
pub fn graph_model(case: &GraphCase) -> Graph {
    let spec = ArchSpec::parse(&case.arch).unwrap();
    let mut stats = std::collections::HashMap::new();
    if let Ok(bytes) = std::fs::read(fixture(&format!(
        "graph/{}-s{}-bnstats.safetensors",
        case.arch, case.seed
    ))) {
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for (name, view) in st.tensors() {
            let v = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            stats.insert(name, v);
        }
    }
    Graph::synthetic_with(&spec, case.seed, stats).unwrap()
}

/// Runs the `convscope` binary with `args`.
pub fn convscope_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .output()
        .expect("the convscope binary runs")
}

/// Runs the `convscope` binary with `args`: whether it succeeded, its stdout, its stderr.
pub fn convscope_run(args: &[&str]) -> (bool, String, String) {
    let out = convscope_cli(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--arch tiny --synthetic 3`: the tiny model with the seeded weights the reference
/// fixtures were made with.
pub const TINY: [&str; 4] = ["--arch", "tiny", "--synthetic", "3"];

/// The command `words[0]` on the [`TINY`] model, then the rest of `words`.
pub fn with_tiny<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = vec![words[0]];
    v.extend(TINY);
    v.extend(&words[1..]);
    v
}

/// Asserts that the message `e` mentions each of `parts`.
#[track_caller]
pub fn assert_mentions(e: &str, parts: &[&str]) {
    for part in parts {
        assert!(e.contains(part), "{e}");
    }
}

/// A path as a command-line word.
pub fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A path `name` in a folder of this test binary's own (`group`), created if missing.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convscope-{group}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `method` with `options` on fixture image `image` for class `target`.
pub fn run_method(
    model: &Graph,
    image: &str,
    target: usize,
    method: &str,
    options: &convscope::methods::Options,
) -> convscope::methods::Attribution {
    let fwd = convscope::methods::Forward::new(model, &input(image)).unwrap();
    convscope::methods::build(method, model, options)
        .unwrap()
        .attribute(&fwd, target)
        .unwrap()
}

/// The options of a method at layer `name`.
pub fn at_layer(name: &str) -> convscope::methods::Options {
    convscope::methods::Options::default().with("layer", name)
}

/// `ours` within `tol` of case `i`'s `key` in the reference file `npz` (relative to its
/// largest magnitude).
pub fn matches_reference(npz: &str, i: usize, key: &str, ours: &[f64], tol: f64) {
    assert_close(
        &format!("{npz} case {i} {key}"),
        ours,
        &reference(npz, i, key),
        tol,
    );
}

/// The largest magnitude in `t`.
pub fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .and_then(|a| a.max_all())
        .and_then(|m| m.to_dtype(DType::F32))
        .and_then(|m| m.to_scalar::<f32>())
        .unwrap()
}
