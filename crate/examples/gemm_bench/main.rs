//! The packed product of the 1x1 convolutions (`conv::packed_gemm`) on ResNet-50's and
//! MobileNetV2's shapes at 224 px, against this core's multiply-add peak: how far from
//! the machine each shape is, apart from the rest of the model. Each line is the median
//! of five timings of repeated calls on the same (hot) operands, one thread unless
//! RAYON_NUM_THREADS says otherwise; a model's own passes read their inputs colder.
//!
//! Usage: cargo run --release -p convscope --example gemm_bench

use convscope::model::conv::gemm_micro::Clamp;
use convscope::model::conv::packed_gemm::{gemm, Dense, PackedA};
use std::time::Instant;

/// `(output channels, input channels, pixels, what it is)`.
const SHAPES: &[(usize, usize, usize, &str)] = &[
    (64, 256, 3136, "ResNet-50 layer1 256 -> 64 at 56x56"),
    (256, 64, 3136, "ResNet-50 layer1 64 -> 256 at 56x56"),
    (128, 512, 784, "ResNet-50 layer2 512 -> 128 at 28x28"),
    (512, 128, 784, "ResNet-50 layer2 128 -> 512 at 28x28"),
    (256, 1024, 196, "ResNet-50 layer3 1024 -> 256 at 14x14"),
    (1024, 256, 196, "ResNet-50 layer3 256 -> 1024 at 14x14"),
    (2048, 512, 49, "ResNet-50 layer4 512 -> 2048 at 7x7"),
    (16, 32, 12544, "MobileNetV2 features.1 32 -> 16 at 112x112"),
    (96, 16, 12544, "MobileNetV2 features.2 16 -> 96 at 112x112"),
    (24, 96, 3136, "MobileNetV2 features.2 96 -> 24 at 56x56"),
    (144, 24, 3136, "MobileNetV2 features.3 24 -> 144 at 56x56"),
];

/// Multiply-adds per second of 16 independent AVX-512 chains (the core's peak), or
/// `None` without AVX-512F.
fn peak_macs() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        let iters = 20_000_000;
        let t = Instant::now();
        // SAFETY: AVX-512F is present.
        let sink = unsafe { fma_chains(std::hint::black_box(iters)) };
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        return Some((iters * 16 * 16) as f64 / secs);
    }
    None
}

/// `iters` rounds of 16 dependent-free multiply-adds on 16 lanes.
///
/// # Safety
/// AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_chains(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); 16];
    let (a, b) = (_mm512_set1_ps(1.000_000_1), _mm512_set1_ps(0.999_999_9));
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(a, *x, b);
        }
    }
    acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
}

fn main() {
    let peak = peak_macs();
    match peak {
        Some(p) => println!(
            "peak: {:.1} GMAC/s (16 AVX-512 multiply-add chains)",
            p / 1e9
        ),
        None => println!("peak: not measured (no AVX-512F)"),
    }
    for &(m, k, n, what) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 11) as f32 * 0.01).collect();
        let packed = PackedA::rows(&a, m, k, None);
        let input = Dense { data: &b, ld: n };
        let mut c = vec![0f32; m * n];
        // About 50 ms of work per timing.
        let reps = (2.5e9 / (m * k * n) as f64).ceil() as usize;
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reps {
                    gemm(&packed, &input, n, &mut c, n, None, Clamp::None);
                }
                t.elapsed().as_secs_f64() / reps as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let t = times[2];
        let rate = (m * k * n) as f64 / t;
        let share = peak.map_or(String::new(), |p| {
            format!("  {:3.0}% of peak", 100.0 * rate / p)
        });
        println!(
            "{m:5} x {k:5} x {n:5}  {:6.3} ms  {:5.1} GMAC/s{share}  {what}",
            t * 1e3,
            rate / 1e9
        );
    }
}
