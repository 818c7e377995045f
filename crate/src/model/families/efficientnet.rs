//! torchvision's EfficientNet B0-B3 (`efficientnet.py`): MBConv blocks (expand,
//! depthwise, squeeze-and-excitation with SiLU and a sigmoid, project) scaled in width
//! and depth; stochastic depth is the identity at inference. B0-B3 use batch norm's
//! default eps (torchvision passes eps 1e-3 only from B5 on and for V2).

use super::super::arch::ArchSpec;
use super::{builder, conv3_stem, expand_depthwise, stochastic_depth_add};
use super::{conv_norm_act, conv_same, make_divisible, squeeze_excitation};
use crate::model::graph::builder::Builder;
use crate::model::graph::kind::{Activation, Kind};
use crate::model::graph::spec::{GraphSpec, Src};

const EPS: f64 = 1e-5;

pub fn build(spec: &ArchSpec, width: f64, depth: f64, dropout: f32) -> GraphSpec {
    let mut b = builder(spec, "efficientnet");
    let ch = |c: usize| make_divisible(c as f64 * width, 8, None);
    // (expand ratio, kernel, stride, input, output, layers): torchvision's B0 table.
    let setting = [
        (1, 3, 1, 32, 16, 1),
        (6, 3, 2, 16, 24, 2),
        (6, 5, 2, 24, 40, 2),
        (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3),
        (6, 5, 2, 112, 192, 4),
        (6, 3, 1, 192, 320, 1),
    ];
    let silu = Some(Activation::Silu);
    let first = ch(setting[0].3);
    let mut x = conv3_stem(&mut b, spec.in_channels, first, EPS, silu);
    for (stage, (expand, kernel, stride, input, output, layers)) in setting.into_iter().enumerate()
    {
        let layers = (layers as f64 * depth).ceil() as usize;
        let (mut inp, out) = (ch(input), ch(output));
        for i in 0..layers {
            let s = if i == 0 { stride } else { 1 };
            let name = format!("features.{}.{i}", stage + 1);
            x = mbconv(&mut b, &name, x, inp, out, expand, kernel, s);
            inp = out;
        }
        x = b.block(&format!("features.{}", stage + 1), "Sequential", x);
    }
    let last_in = ch(setting[6].4);
    let last_out = 4 * last_in;
    x = conv_norm_act(
        &mut b,
        "features.8",
        x,
        conv_same(last_in, last_out, 1, 1),
        EPS,
        silu,
    );
    let cam = x;
    let pool = b.module("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) });
    let drop = b.dropout("classifier.0", dropout);
    let fc = b.linear("classifier.1", last_out, spec.classes);
    b.chain(x, [pool, drop, fc]);
    b.finish(cam)
}

#[allow(clippy::too_many_arguments)]
fn mbconv(
    b: &mut Builder,
    name: &str,
    x: Src,
    inp: usize,
    out: usize,
    expand: usize,
    kernel: usize,
    stride: usize,
) -> Src {
    let silu = Some(Activation::Silu);
    let expanded = make_divisible((inp * expand) as f64, 8, None);
    let seq = format!("{name}.block");
    let window = (kernel, stride);
    let (mut y, k) = expand_depthwise(b, &seq, x, (inp, expanded), window, EPS, silu);
    let squeeze = (inp / 4).max(1);
    y = squeeze_excitation(
        b,
        &format!("{seq}.{k}"),
        y,
        expanded,
        squeeze,
        Activation::Silu,
        Activation::Sigmoid,
    );
    y = conv_norm_act(
        b,
        &format!("{seq}.{}", k + 1),
        y,
        conv_same(expanded, out, 1, 1),
        EPS,
        None,
    );
    y = b.block(&seq, "Sequential", y);
    if stride == 1 && inp == out {
        y = stochastic_depth_add(b, name, y, x);
    }
    b.block(name, "MBConv", y)
}
