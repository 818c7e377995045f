//! torchvision's MobileNetV2 (`mobilenetv2.py`: inverted residuals with ReLU6) and
//! MobileNetV3 (`mobilenetv3.py`: hard-swish, squeeze-and-excitation with a hard
//! sigmoid, batch norm eps 0.001).

use super::super::arch::ArchSpec;
use super::{builder, conv3_stem, expand_depthwise};
use super::{conv_norm_act, conv_same, make_divisible, squeeze_excitation};
use crate::model::graph::builder::Builder;
use crate::model::graph::kind::{Activation, Kind};
use crate::model::graph::spec::{GraphSpec, Src};

const V2_EPS: f64 = 1e-5;

pub fn v2(spec: &ArchSpec) -> GraphSpec {
    let mut b = builder(spec, "mobilenet_v2");
    // (expand ratio t, channels c, repeats n, stride s), torchvision's table.
    let setting = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut input = make_divisible(32.0, 8, None);
    let last = make_divisible(1280.0, 8, None);
    let relu6 = Some(Activation::Relu6);
    let mut x = conv3_stem(&mut b, spec.in_channels, input, V2_EPS, relu6);
    let mut idx = 1;
    for (t, c, n, s) in setting {
        let out = make_divisible(c as f64, 8, None);
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            x = inverted_residual_v2(&mut b, &format!("features.{idx}"), x, input, out, stride, t);
            input = out;
            idx += 1;
        }
    }
    x = conv_norm_act(
        &mut b,
        &format!("features.{idx}"),
        x,
        conv_same(input, last, 1, 1),
        V2_EPS,
        relu6,
    );
    let cam = x;
    // torchvision's forward pools functionally (`adaptive_avg_pool2d`), then flattens.
    x = b.op("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) }, &[x]);
    let drop = b.dropout("classifier.0", 0.2);
    let fc = b.linear("classifier.1", last, spec.classes);
    b.chain(x, [drop, fc]);
    b.finish(cam)
}

fn inverted_residual_v2(
    b: &mut Builder,
    name: &str,
    x: Src,
    inp: usize,
    oup: usize,
    stride: usize,
    t: usize,
) -> Src {
    let hidden = inp * t;
    let relu6 = Some(Activation::Relu6);
    let seq = format!("{name}.conv");
    let (mut y, k) = expand_depthwise(b, &seq, x, (inp, hidden), (3, stride), V2_EPS, relu6);
    let proj = b.conv(&format!("{seq}.{k}"), conv_same(hidden, oup, 1, 1));
    let bn = b.batch_norm(&format!("{seq}.{}", k + 1), oup, V2_EPS);
    y = b.chain(y, [proj, bn]);
    y = b.block(&seq, "Sequential", y);
    if stride == 1 && inp == oup {
        y = b.op(&format!("{name}.add"), Kind::Add, &[x, y]);
    }
    b.block(name, "InvertedResidual", y)
}

pub enum V3 {
    Small,
    Large,
}

const V3_EPS: f64 = 1e-3;

/// One row of torchvision's `InvertedResidualConfig` table: (input channels, kernel,
/// expanded channels, output channels, squeeze-and-excitation, hard-swish (else ReLU),
/// stride).
type Bneck = (usize, usize, usize, usize, bool, bool, usize);

const LARGE: [Bneck; 15] = [
    (16, 3, 16, 16, false, false, 1),
    (16, 3, 64, 24, false, false, 2),
    (24, 3, 72, 24, false, false, 1),
    (24, 5, 72, 40, true, false, 2),
    (40, 5, 120, 40, true, false, 1),
    (40, 5, 120, 40, true, false, 1),
    (40, 3, 240, 80, false, true, 2),
    (80, 3, 200, 80, false, true, 1),
    (80, 3, 184, 80, false, true, 1),
    (80, 3, 184, 80, false, true, 1),
    (80, 3, 480, 112, true, true, 1),
    (112, 3, 672, 112, true, true, 1),
    (112, 5, 672, 160, true, true, 2),
    (160, 5, 960, 160, true, true, 1),
    (160, 5, 960, 160, true, true, 1),
];

const SMALL: [Bneck; 11] = [
    (16, 3, 16, 16, true, false, 2),
    (16, 3, 72, 24, false, false, 2),
    (24, 3, 88, 24, false, false, 1),
    (24, 5, 96, 40, true, true, 2),
    (40, 5, 240, 40, true, true, 1),
    (40, 5, 240, 40, true, true, 1),
    (40, 5, 120, 48, true, true, 1),
    (48, 5, 144, 48, true, true, 1),
    (48, 5, 288, 96, true, true, 2),
    (96, 5, 576, 96, true, true, 1),
    (96, 5, 576, 96, true, true, 1),
];

pub fn v3(spec: &ArchSpec, size: V3) -> GraphSpec {
    let mut b = builder(spec, "mobilenet_v3");
    let (table, last_channel): (&[Bneck], usize) = match size {
        V3::Small => (&SMALL, 1024),
        V3::Large => (&LARGE, 1280),
    };
    let hs = Some(Activation::Hardswish);
    let (first, ..) = table[0];
    let mut x = conv3_stem(&mut b, spec.in_channels, first, V3_EPS, hs);
    for (i, cnf) in table.iter().enumerate() {
        x = inverted_residual_v3(&mut b, &format!("features.{}", i + 1), x, cnf);
    }
    let (.., last_in, _, _, _) = table[table.len() - 1];
    let last_out = 6 * last_in;
    x = conv_norm_act(
        &mut b,
        &format!("features.{}", table.len() + 1),
        x,
        conv_same(last_in, last_out, 1, 1),
        V3_EPS,
        hs,
    );
    let cam = x;
    let pool = b.module("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) });
    let fc1 = b.linear("classifier.0", last_out, last_channel);
    let act = b.act("classifier.1", Activation::Hardswish);
    let drop = b.dropout("classifier.2", 0.2);
    let fc2 = b.linear("classifier.3", last_channel, spec.classes);
    b.chain(x, [pool, fc1, act, drop, fc2]);
    b.finish(cam)
}

fn inverted_residual_v3(b: &mut Builder, name: &str, x: Src, cnf: &Bneck) -> Src {
    let &(input, kernel, expanded, out, se, hard_swish, stride) = cnf;
    let act = Some(if hard_swish {
        Activation::Hardswish
    } else {
        Activation::Relu
    });
    let seq = format!("{name}.block");
    let window = (kernel, stride);
    let (mut y, mut k) = expand_depthwise(b, &seq, x, (input, expanded), window, V3_EPS, act);
    if se {
        let squeeze = make_divisible((expanded / 4) as f64, 8, None);
        y = squeeze_excitation(
            b,
            &format!("{seq}.{k}"),
            y,
            expanded,
            squeeze,
            Activation::Relu,
            Activation::Hardsigmoid,
        );
        k += 1;
    }
    y = conv_norm_act(
        b,
        &format!("{seq}.{k}"),
        y,
        conv_same(expanded, out, 1, 1),
        V3_EPS,
        None,
    );
    y = b.block(&seq, "Sequential", y);
    if stride == 1 && input == out {
        y = b.op(&format!("{name}.add"), Kind::Add, &[y, x]);
    }
    b.block(name, "InvertedResidual", y)
}
