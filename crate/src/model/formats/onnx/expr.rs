//! Chains of elementwise operators on one value, collapsed to the activation they
//! compute. Exporters spell an activation in many ways: PyTorch writes SiLU as
//! `x * Sigmoid(x)` and, below opset 20, the exact GELU as
//! `x * (0.5 * (1 + Erf(x / sqrt 2)))` (or with the `0.5` outside, or a multiply by
//! `1 / sqrt 2`). Rather than match every arrangement, the chain is kept as a small
//! expression of one variable and identified by evaluating it: it is the activation it
//! agrees with, to 1e-6, on 420 points from -50 to 50 (every kink and tail of the
//! candidates included). A chain that matches none is refused by name.

use crate::model::graph::Activation;
use candle_core::cpu::erf::erf_f64;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The variable: the value the chain starts from.
    X,
    C(f64),
    Act(Activation, Rc<Expr>),
    Erf(Rc<Expr>),
    Bin(Bin, Rc<Expr>, Rc<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

/// What a chain computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Identified {
    /// The value itself (a multiply by 1).
    Identity,
    Act(Activation),
    /// `a * x` (a scale by a constant).
    Scale(f64),
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `a(x)` in f64, PyTorch's definitions.
pub fn activation(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Silu => x * sigmoid(x),
        Activation::Sigmoid => sigmoid(x),
        Activation::Hardswish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::Hardsigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::Gelu => 0.5 * x * (1.0 + erf_f64(x / std::f64::consts::SQRT_2)),
    }
}

impl Expr {
    pub fn eval(&self, x: f64) -> f64 {
        match self {
            Expr::X => x,
            Expr::C(c) => *c,
            Expr::Act(a, e) => activation(*a, e.eval(x)),
            Expr::Erf(e) => erf_f64(e.eval(x)),
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.eval(x), b.eval(x));
                match op {
                    Bin::Add => a + b,
                    Bin::Sub => a - b,
                    Bin::Mul => a * b,
                    Bin::Div => a / b,
                }
            }
        }
    }

    /// The variable itself.
    pub fn is_x(&self) -> bool {
        matches!(self, Expr::X)
    }

    /// The activation (or scale) this chain computes, if any.
    pub fn identify(&self) -> Option<Identified> {
        if self.is_x() {
            return Some(Identified::Identity);
        }
        let points = sample_points();
        let values: Vec<f64> = points.iter().map(|x| self.eval(*x)).collect();
        let agrees = |f: &dyn Fn(f64) -> f64| {
            points.iter().zip(&values).all(|(x, v)| {
                let want = f(*x);
                v.is_finite() && (v - want).abs() <= 1e-6 * want.abs().max(1.0)
            })
        };
        const ACTIVATIONS: [Activation; 7] = [
            Activation::Relu,
            Activation::Relu6,
            Activation::Sigmoid,
            Activation::Silu,
            Activation::Hardswish,
            Activation::Hardsigmoid,
            Activation::Gelu,
        ];
        if let Some(a) = ACTIVATIONS
            .into_iter()
            .find(|a| agrees(&|x| activation(*a, x)))
        {
            return Some(Identified::Act(a));
        }
        let scale = self.eval(1.0) - self.eval(0.0);
        if agrees(&|x| scale * x) {
            return Some(if scale == 1.0 {
                Identified::Identity
            } else {
                Identified::Scale(scale)
            });
        }
        None
    }
}

/// -50, -10, -9.95, ..., 10 in steps of 0.05 (kinks at 0, +-3, 6 fall on the grid),
/// then 50 and a few points off the grid.
// 0.7071 is an arbitrary point off the grid, not 1/sqrt(2).
#[allow(clippy::approx_constant)]
fn sample_points() -> Vec<f64> {
    let mut p: Vec<f64> = (-200..=200).map(|i| i as f64 * 0.05).collect();
    p.extend([
        -50.0, -25.0, -12.5, 12.5, 25.0, 50.0, 0.013, -0.013, 2.999, 3.001, -2.999, -3.001, 5.999,
        6.001, 1e-3, -1e-3, 0.7071, -0.7071, 1.234,
    ]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: f64) -> Rc<Expr> {
        Rc::new(Expr::C(v))
    }
    fn x() -> Rc<Expr> {
        Rc::new(Expr::X)
    }
    fn bin(op: Bin, a: Rc<Expr>, b: Rc<Expr>) -> Rc<Expr> {
        Rc::new(Expr::Bin(op, a, b))
    }

    #[test]
    fn pytorch_gelu_and_silu_spellings_are_recognised() {
        // PyTorch's opset-18 GELU: x * (0.5 * (1 + erf(x / sqrt2))), sqrt2 rounded to f32.
        let sqrt2 = std::f32::consts::SQRT_2 as f64;
        let inner = bin(
            Bin::Add,
            Rc::new(Expr::Erf(bin(Bin::Div, x(), c(sqrt2)))),
            c(1.0),
        );
        let gelu = bin(Bin::Mul, x(), bin(Bin::Mul, c(0.5), inner.clone()));
        assert_eq!(gelu.identify(), Some(Identified::Act(Activation::Gelu)));
        // The other arrangement: (x * 0.5) * (1 + erf(x * (1/sqrt2))).
        let inner2 = bin(
            Bin::Add,
            c(1.0),
            Rc::new(Expr::Erf(bin(
                Bin::Mul,
                x(),
                c(std::f64::consts::FRAC_1_SQRT_2 as f32 as f64),
            ))),
        );
        let gelu2 = bin(Bin::Mul, bin(Bin::Mul, x(), c(0.5)), inner2);
        assert_eq!(gelu2.identify(), Some(Identified::Act(Activation::Gelu)));
        let silu = bin(Bin::Mul, x(), Rc::new(Expr::Act(Activation::Sigmoid, x())));
        assert_eq!(silu.identify(), Some(Identified::Act(Activation::Silu)));
        // x * hardsigmoid(x) is hardswish.
        let hs = bin(
            Bin::Mul,
            x(),
            Rc::new(Expr::Act(Activation::Hardsigmoid, x())),
        );
        assert_eq!(hs.identify(), Some(Identified::Act(Activation::Hardswish)));
    }

    #[test]
    fn near_misses_are_not_activations() {
        // GELU's tanh approximation differs from the exact form by up to ~5e-4.
        let t = |x: f64| {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
        };
        let points = sample_points();
        assert!(points
            .iter()
            .any(|p| (t(*p) - activation(Activation::Gelu, *p)).abs() > 1e-6));
        // x / sqrt2 alone is a scale, x + 1 is nothing we run, x * 1 is the identity.
        assert_eq!(
            bin(Bin::Div, x(), c(2.0)).identify(),
            Some(Identified::Scale(0.5))
        );
        assert_eq!(bin(Bin::Add, x(), c(1.0)).identify(), None);
        assert_eq!(
            bin(Bin::Mul, x(), c(1.0)).identify(),
            Some(Identified::Identity)
        );
        assert_eq!(Rc::new(Expr::Erf(x())).identify(), None);
    }
}
