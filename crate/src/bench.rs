//! Native benchmarks: medians of repeated runs after a warm-up, and peak memory. These
//! print numbers; nothing asserts on time.

use crate::error::Result;
use crate::model::{ReluGrad, Vgg};
use candle_core::{Device, Tensor};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub arch: String,
    pub input: Vec<usize>,
    pub threads: usize,
    pub runs: usize,
    /// One forward pass to the logits.
    pub forward_ms: f64,
    /// Forward pass with every layer kept, then the reverse pass to the input.
    pub saliency_ms: f64,
    /// Resident-set high-water mark of the whole process so far.
    pub peak_rss_mb: f64,
}

/// Median wall time in milliseconds of `runs` calls after one warm-up call.
pub fn median_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}

/// Peak resident memory (VmHWM) in MB, 0 where /proc is unavailable.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A deterministic input of the model's own size (values in [-2, 2], like normalised
/// images), so runs compare across machines.
pub fn sample_input(model: &Vgg) -> Result<Tensor> {
    let [c, h, w] = model.spec().input_shape();
    let values: Vec<f32> = (0..c * h * w)
        .map(|i| ((i as f32 * 0.618_034).fract() * 4.0) - 2.0)
        .collect();
    Ok(Tensor::from_vec(values, (1, c, h, w), &Device::Cpu)?)
}

pub fn run(model: &Vgg, runs: usize) -> Result<BenchReport> {
    let x = sample_input(model)?;
    let forward_ms = median_ms(runs, || model.forward(&x).map(drop))?;
    let saliency_ms = median_ms(runs, || {
        model.input_gradient(&x, 0, ReluGrad::Plain).map(drop)
    })?;
    Ok(BenchReport {
        arch: model.spec().to_string(),
        input: x.dims().to_vec(),
        threads: candle_core::utils::get_num_threads(),
        runs,
        forward_ms,
        saliency_ms,
        peak_rss_mb: peak_rss_mb(),
    })
}
