//! Shared helpers for the integration tests: fixture files and the comparison rules of
//! METHODS.md ("How close is the same").
#![allow(dead_code)] // each test binary uses a different subset

use candle_core::{DType, Tensor};
use convscope::model::{ArchSpec, Vgg};
use std::path::PathBuf;
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

/// METHODS.md's tie-robust agreement for maps that pass back through max pooling:
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

/// METHODS.md's three agreement figures: (median error, fraction of elements within
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
pub fn vgg16() -> &'static Vgg {
    static MODEL: OnceLock<Vgg> = OnceLock::new();
    MODEL.get_or_init(|| Vgg::synthetic(&ArchSpec::parse("vgg16").unwrap(), 1).unwrap())
}

/// The fixtures' tiny VGG (seed 3).
pub fn tiny() -> &'static Vgg {
    static MODEL: OnceLock<Vgg> = OnceLock::new();
    MODEL.get_or_init(|| Vgg::synthetic(&ArchSpec::parse("tiny").unwrap(), 3).unwrap())
}

/// The model a fixture case was computed with.
pub fn model_for(case: &Case) -> &'static Vgg {
    match (case.arch.as_str(), case.seed) {
        ("vgg16", 1) => vgg16(),
        ("tiny", 3) => tiny(),
        other => panic!("no fixture model for {other:?}"),
    }
}
