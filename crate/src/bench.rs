//! Native benchmarks: medians of repeated runs after a warm-up, and peak memory. These
//! print numbers; nothing asserts on time.

use crate::error::Result;
use crate::methods::{build, Forward, Method, Options};
use crate::model::conv::{self, ConvImpl};
use crate::model::graph::Val;
use crate::model::{Graph, ReluGrad};
use crate::probes::maximize::{maximize, InputSpace, MaximizeOptions, Objective};
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
    /// The same kept forward pass, then Grad-CAM at the default layer (the reverse pass
    /// stops there).
    pub grad_cam_ms: f64,
    /// Occlusion with window and stride a 16th of the input (14 at 224: a 16x16 grid of
    /// 256 occluded copies), incremental and batched.
    pub occlusion_ms: f64,
    /// Score-CAM at the default layer: one masked forward pass per channel, batched.
    /// Timed once (it is hundreds of forward passes), not a median.
    pub score_cam_ms: f64,
    /// One activation-maximization step (forward to `maximize_layer`, reverse pass,
    /// update) on a `maximize_size` picture.
    pub maximize_step_ms: f64,
    pub maximize_layer: String,
    pub maximize_size: usize,
    /// Resident-set high-water mark of the whole process so far.
    pub peak_rss_mb: f64,
    /// The 3x3 convolution code timed above: "stock" (candle's conv2d) or our
    /// micro-kernel's name (`avx512`, `avx2+fma`, ...).
    pub conv: String,
    /// Ours against candle's stock conv2d path in the same run, alternating run by run
    /// so both see the same machine load (`--conv both`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conv_ab: Option<ConvAb>,
}

/// Medians of wall time and of process CPU time (all threads; on a shared machine it
/// counts only the time this process ran), ours and stock.
#[derive(Debug, Serialize)]
pub struct ConvAb {
    pub forward_ms: Ab,
    pub forward_cpu_ms: Ab,
    pub saliency_ms: Ab,
    pub saliency_cpu_ms: Ab,
}

#[derive(Debug, Serialize)]
pub struct Ab {
    pub ours: f64,
    pub stock: f64,
}

/// Which convolution code a benchmark times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvChoice {
    Stock,
    Fast,
    /// Ours and the stock path, alternating.
    Both,
}

impl BenchReport {
    /// The report as text, each method also as a multiple of one forward pass.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} input {:?}, {} thread(s), median of {} runs (occlusion of up to 3, Score-CAM one run)\n",
            self.arch, self.input, self.threads, self.runs
        );
        for (name, ms) in [
            ("forward", self.forward_ms),
            ("saliency", self.saliency_ms),
            ("grad-cam", self.grad_cam_ms),
            ("occlusion", self.occlusion_ms),
            ("score-cam", self.score_cam_ms),
        ] {
            out += &format!(
                "  {name:<10} {ms:>10.1} ms  {:>7.2}x forward\n",
                ms / self.forward_ms
            );
        }
        out += &format!(
            "  maximize   {:>10.1} ms per step ({:.2} steps/s; {} px, up to {})\n",
            self.maximize_step_ms,
            1e3 / self.maximize_step_ms,
            self.maximize_size,
            self.maximize_layer
        );
        out += &format!("  peak RSS   {:>10.1} MB\n", self.peak_rss_mb);
        out += &format!("  conv       {}\n", self.conv);
        out
    }
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

/// Medians (ms) of wall and CPU time over `runs` rounds in which each of `fs` runs
/// once, in turn, after one warm-up round: an A/B comparison that shares the machine's
/// load evenly. Returns `(wall, cpu)` per function.
pub fn median_ms_alternating(
    runs: usize,
    fs: &mut [&mut dyn FnMut() -> Result<()>],
) -> Result<Vec<(f64, f64)>> {
    let mut times = vec![(Vec::with_capacity(runs), Vec::with_capacity(runs)); fs.len()];
    for round in 0..=runs.max(1) {
        for (f, (wall, cpu)) in fs.iter_mut().zip(&mut times) {
            let (start, cpu_start) = (Instant::now(), process_cpu_ms());
            f()?;
            if round > 0 {
                wall.push(start.elapsed().as_secs_f64() * 1e3);
                cpu.push(process_cpu_ms() - cpu_start);
            }
        }
    }
    let median = |mut t: Vec<f64>| {
        t.sort_by(|a, b| a.total_cmp(b));
        t[t.len() / 2]
    };
    Ok(times
        .into_iter()
        .map(|(wall, cpu)| (median(wall), median(cpu)))
        .collect())
}

/// CPU time of all this process's threads so far, in ms (Linux `schedstat`, ns
/// resolution); 0 where /proc is unavailable.
pub fn process_cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e6
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
pub fn sample_input(model: &Graph) -> Result<Tensor> {
    let [c, h, w] = model.arch().input_shape();
    let values: Vec<f32> = (0..c * h * w)
        .map(|i| ((i as f32 * 0.618_034).fract() * 4.0) - 2.0)
        .collect();
    Ok(Tensor::from_vec(values, (1, c, h, w), &Device::Cpu)?)
}

pub fn run(model: &Graph, runs: usize, choice: ConvChoice) -> Result<BenchReport> {
    let x = sample_input(model)?;
    let xv = Val::from_tensor(&x)?;
    let forward = || model.forward(&xv).map(drop);
    let saliency = || crate::methods::batch_input_gradient(model, &x, 0, ReluGrad::Plain).map(drop);
    let ours = if choice == ConvChoice::Stock {
        ConvImpl::Stock
    } else {
        ConvImpl::Fast
    };
    let (forward_ms, saliency_ms, conv_ab) = if choice == ConvChoice::Both {
        let f = alternate(runs, &forward)?;
        let s = alternate(runs, &saliency)?;
        let ab = |i: fn(&(f64, f64)) -> f64, t: &[(f64, f64)]| Ab {
            ours: i(&t[0]),
            stock: i(&t[1]),
        };
        let times = ConvAb {
            forward_ms: ab(|t| t.0, &f),
            forward_cpu_ms: ab(|t| t.1, &f),
            saliency_ms: ab(|t| t.0, &s),
            saliency_cpu_ms: ab(|t| t.1, &s),
        };
        (f[0].0, s[0].0, Some(times))
    } else {
        conv::set_conv_impl(ours);
        (median_ms(runs, forward)?, median_ms(runs, saliency)?, None)
    };
    conv::set_conv_impl(ConvImpl::default());
    let (maximize_layer, maximize_size, maximize_step_ms) = maximize_step(model, runs)?;
    // Each method timed from the image: its own forward pass included.
    let explain = |method: &dyn Method| -> Result<()> {
        let fwd = Forward::for_method(model, &x, method)?;
        method.attribute(&fwd, 0).map(drop)
    };
    let grad_cam = build("grad-cam", model, &Options::default())?;
    let grad_cam_ms = median_ms(runs, || explain(grad_cam.as_ref()))?;
    let occlusion = build("occlusion", model, &Options::default())?;
    let occlusion_ms = median_ms(runs.min(3), || explain(occlusion.as_ref()))?;
    let score_cam = build("score-cam", model, &Options::default())?;
    let start = Instant::now();
    explain(score_cam.as_ref())?;
    let score_cam_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(BenchReport {
        arch: model.arch().to_string(),
        input: x.dims().to_vec(),
        threads: candle_core::utils::get_num_threads(),
        runs,
        forward_ms,
        saliency_ms,
        grad_cam_ms,
        occlusion_ms,
        score_cam_ms,
        maximize_step_ms,
        maximize_layer,
        maximize_size,
        peak_rss_mb: peak_rss_mb(),
        conv: match ours {
            ConvImpl::Stock => "stock".into(),
            ConvImpl::Fast => conv::kernel_name().into(),
        },
        conv_ab,
    })
}

/// Median time of one activation-maximization step for channel 0 of `features.22`
/// (VGG16's conv4_3 ReLU) or, in other models, of the end of the features, at the default size (128 px for VGG16). Steps are timed between
/// progress reports, so the start and end evaluations are left out.
pub fn maximize_step(model: &Graph, runs: usize) -> Result<(String, usize, f64)> {
    let layer = match model.node("features.22") {
        Ok(_) if model.arch().vgg().is_some() => "features.22".to_string(),
        _ => model.name(model.features_end()).to_string(),
    };
    let mut opts = MaximizeOptions::for_model(model);
    opts.steps = runs.max(1) + 1; // the first step is the warm-up
    let space = InputSpace::from_preprocessing(
        &crate::model::card::default_preprocessing(model.arch()),
        model.arch().in_channels,
    )?;
    let mut stamps = Vec::with_capacity(opts.steps);
    maximize(
        model,
        &Objective::channels(&layer, vec![0]),
        &space,
        &opts,
        &crate::progress::Unwatched,
        |_| stamps.push(Instant::now()),
    )?;
    let mut times: Vec<f64> = stamps
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    Ok((layer, opts.size, times[times.len() / 2]))
}

/// `[ours, stock]` medians (wall, CPU) of `f`, the two convolution paths alternating.
fn alternate(runs: usize, f: &dyn Fn() -> Result<()>) -> Result<Vec<(f64, f64)>> {
    let mut fast = || {
        conv::set_conv_impl(ConvImpl::Fast);
        f()
    };
    let mut stock = || {
        conv::set_conv_impl(ConvImpl::Stock);
        f()
    };
    median_ms_alternating(runs, &mut [&mut fast, &mut stock])
}
