//! Elementwise activations and their input gradients, with PyTorch's derivatives at the
//! edges (docs/METHODS.md): ReLU'(0) = 0; ReLU6 passes the gradient only where 0 < x < 6;
//! Hardsigmoid 1/6 where -3 < x < 3; Hardswish 0 below -3, x/3 + 1/2 on [-3, 3], 1
//! above; SiLU s(x)(1 + x(1 - s(x))); GELU the exact erf form. Guided backpropagation
//! rectifies the gradient at ReLUs only, as captum's hooks on `nn.ReLU` do.

use super::super::graph::Activation;
use super::fastmath::{erf, exp};
use super::wide;
use super::ReluGrad;
use rayon::prelude::*;

/// Values per parallel chunk: small maps run on one thread.
const CHUNK: usize = 1 << 14;

// exp and erf are fastmath's branch-free ones, so that the loops below vectorise.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// The standard normal CDF through erf (GELU's exact form, not its tanh approximation).
#[inline(always)]
fn phi_cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `a(x)` for one value.
#[inline(always)]
pub fn apply(a: Activation, x: f32) -> f32 {
    match a {
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Silu => x * sigmoid(x),
        Activation::Sigmoid => sigmoid(x),
        Activation::Hardswish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::Hardsigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::Gelu => x * phi_cdf(x),
    }
}

/// `a` applied to every value in place, split over threads.
pub fn apply_in_place(a: Activation, v: &mut [f32]) {
    // One loop per activation, the choice made outside it, so each loop vectorises.
    fn each(chunk: &mut [f32], f: impl Fn(f32) -> f32) {
        wide::run(|| {
            for x in chunk {
                *x = f(*x);
            }
        })
    }
    v.par_chunks_mut(CHUNK).for_each(|chunk| match a {
        Activation::Relu => each(chunk, |x| apply(Activation::Relu, x)),
        Activation::Relu6 => each(chunk, |x| apply(Activation::Relu6, x)),
        Activation::Silu => each(chunk, |x| apply(Activation::Silu, x)),
        Activation::Sigmoid => each(chunk, |x| apply(Activation::Sigmoid, x)),
        Activation::Hardswish => each(chunk, |x| apply(Activation::Hardswish, x)),
        Activation::Hardsigmoid => each(chunk, |x| apply(Activation::Hardsigmoid, x)),
        Activation::Gelu => each(chunk, |x| apply(Activation::Gelu, x)),
    });
}

/// Whether the derivative can be read from the output alone (so a pass that keeps only
/// the output, with the activation fused into the layer before it, can still go back).
pub fn needs_input(a: Activation) -> bool {
    matches!(
        a,
        Activation::Silu | Activation::Hardswish | Activation::Gelu
    )
}

/// `d a(x) / dx` (at the edges as PyTorch computes it), from the input `x` and output `y`;
/// where [`needs_input`] is false only `y` is read (`0 < x < 6` exactly where
/// `0 < relu6(x) < 6`; `-3 < x < 3` where `0 < hardsigmoid(x) < 1`).
#[inline]
fn derivative(a: Activation, x: f32, y: f32) -> f32 {
    match a {
        Activation::Relu => (y > 0.0) as u8 as f32,
        Activation::Relu6 => (y > 0.0 && y < 6.0) as u8 as f32,
        Activation::Silu => {
            let s = sigmoid(x);
            s * (1.0 + x * (1.0 - s))
        }
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Hardswish => {
            if x < -3.0 {
                0.0
            } else if x <= 3.0 {
                x / 3.0 + 0.5
            } else {
                1.0
            }
        }
        Activation::Hardsigmoid => {
            if y > 0.0 && y < 1.0 {
                1.0 / 6.0
            } else {
                0.0
            }
        }
        Activation::Gelu => {
            let pdf = exp(-0.5 * x * x) / (2.0 * std::f32::consts::PI).sqrt();
            phi_cdf(x) + x * pdf
        }
    }
}

/// The gradient with respect to the input, given the input `x`, the output `y` and the
/// gradient `g` with respect to the output. Under [`ReluGrad::Guided`], ReLUs pass only
/// positive gradients (`relu(g) * [x > 0]`); every other activation keeps its derivative.
pub fn backward(a: Activation, x: &[f32], y: &[f32], g: &[f32], rule: ReluGrad) -> Vec<f32> {
    let guided = rule == ReluGrad::Guided && a == Activation::Relu;
    let mut out = vec![0f32; g.len()];
    out.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
        .for_each(|((dst, g), (x, y))| {
            wide::run(|| {
                for (((d, g), x), y) in dst.iter_mut().zip(g).zip(x).zip(y) {
                    let g = if guided { g.max(0.0) } else { *g };
                    *d = g * derivative(a, *x, *y);
                }
            })
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grad(a: Activation, x: f32) -> f32 {
        backward(a, &[x], &[apply(a, x)], &[1.0], ReluGrad::Plain)[0]
    }

    #[test]
    fn values_match_pytorch() {
        // torch.nn.functional.{silu, hardswish, hardsigmoid, gelu}(torch.tensor(x)) in f64.
        assert!((apply(Activation::Silu, 1.5) - 1.226_361_6).abs() < 1e-6);
        assert_eq!(apply(Activation::Hardswish, 1.5), 1.5 * 4.5 / 6.0);
        assert_eq!(apply(Activation::Hardswish, -3.5), 0.0);
        assert_eq!(apply(Activation::Hardsigmoid, 4.0), 1.0);
        assert!((apply(Activation::Gelu, 1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((apply(Activation::Gelu, -2.0) - (-0.045_500_26)).abs() < 1e-6);
        assert_eq!(apply(Activation::Relu6, 7.0), 6.0);
    }

    #[test]
    fn derivatives_at_the_edges_are_pytorchs() {
        assert_eq!(grad(Activation::Relu, 0.0), 0.0);
        assert_eq!(grad(Activation::Relu6, 0.0), 0.0);
        assert_eq!(grad(Activation::Relu6, 6.0), 0.0);
        assert_eq!(grad(Activation::Relu6, 5.9), 1.0);
        assert_eq!(grad(Activation::Hardsigmoid, 3.0), 0.0);
        assert_eq!(grad(Activation::Hardsigmoid, -2.9), 1.0 / 6.0);
        assert_eq!(grad(Activation::Hardswish, -3.0), -0.5);
        assert_eq!(grad(Activation::Hardswish, 3.0), 1.5);
        assert_eq!(grad(Activation::Hardswish, 3.1), 1.0);
        assert_eq!(grad(Activation::Hardswish, -3.1), 0.0);
        // SiLU'(1.5) = s(1.5) (1 + 1.5 (1 - s(1.5))) = 1.0413; GELU'(1) = Phi(1) + phi(1).
        assert!((grad(Activation::Silu, 1.5) - 1.041_294_2).abs() < 1e-6);
        assert!((grad(Activation::Gelu, 1.0) - 1.083_315_5).abs() < 1e-6);
        assert!((grad(Activation::Sigmoid, 0.0) - 0.25).abs() < 1e-7);
    }

    /// The loops over whole maps (16 lanes wide where AVX-512 is, `wide::run`) give each
    /// value exactly what the one-value functions give: only the width differs.
    #[test]
    fn whole_maps_equal_the_one_value_functions_to_the_bit() {
        let x: Vec<f32> = (0..20_000)
            .map(|i| (i as f32 - 10_000.0) * 1.3e-3)
            .collect();
        let g: Vec<f32> = x.iter().map(|v| (v * 7.0).sin()).collect();
        for a in [
            Activation::Relu,
            Activation::Relu6,
            Activation::Silu,
            Activation::Sigmoid,
            Activation::Hardswish,
            Activation::Hardsigmoid,
            Activation::Gelu,
        ] {
            let mut y = x.clone();
            apply_in_place(a, &mut y);
            let dx = backward(a, &x, &y, &g, ReluGrad::Plain);
            for i in 0..x.len() {
                let want = std::hint::black_box(apply(a, x[i]));
                assert_eq!(y[i].to_bits(), want.to_bits(), "{a:?}({})", x[i]);
                let want = g[i] * std::hint::black_box(derivative(a, x[i], want));
                assert_eq!(dx[i].to_bits(), want.to_bits(), "{a:?}'({})", x[i]);
            }
        }
    }

    #[test]
    fn guided_rule_applies_at_relus_only() {
        let g = [-2.0, 3.0];
        let x = [1.0, 1.0];
        let relu = backward(Activation::Relu, &x, &x, &g, ReluGrad::Guided);
        assert_eq!(relu, [0.0, 3.0]);
        let y6 = [1.0, 1.0];
        let relu6 = backward(Activation::Relu6, &x, &y6, &g, ReluGrad::Guided);
        assert_eq!(relu6, [-2.0, 3.0], "ReLU6 keeps its ordinary derivative");
    }
}
