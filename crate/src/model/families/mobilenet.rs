//! torchvision's MobileNetV2 (`mobilenetv2.py`: inverted residuals with ReLU6) and
//! MobileNetV3 (`mobilenetv3.py`: hard-swish, squeeze-and-excitation with a hard
//! sigmoid, batch norm eps 0.001).

use super::super::arch::ArchSpec;
use super::{conv_norm_act, conv_same, make_divisible, squeeze_excitation};
use crate::model::graph::builder::Builder;
use crate::model::graph::kind::{Activation, Kind};
use crate::model::graph::spec::{GraphSpec, Src};

const V2_EPS: f64 = 1e-5;

pub fn v2(spec: &ArchSpec) -> GraphSpec {
    let mut b = Builder::new(
        &spec.to_string(),
        "mobilenet_v2",
        spec.in_channels,
        spec.classes,
        spec.size,
    );
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
    let mut x = conv_norm_act(
        &mut b,
        "features.0",
        Src::Input,
        conv_same(spec.in_channels, input, 3, 2),
        V2_EPS,
        relu6,
    );
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
    let drop = b.module(
        "classifier.0",
        Kind::Dropout {
            class: "Dropout",
            p: 0.2,
        },
    );
    let fc = b.linear("classifier.1", last, spec.classes);
    x = b.then(drop, x);
    b.then(fc, x);
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
    let mut y = x;
    let mut k = 0;
    if t != 1 {
        y = conv_norm_act(
            b,
            &format!("{name}.conv.0"),
            y,
            conv_same(inp, hidden, 1, 1),
            V2_EPS,
            relu6,
        );
        k = 1;
    }
    y = conv_norm_act(
        b,
        &format!("{name}.conv.{k}"),
        y,
        conv_same(hidden, hidden, 3, stride).groups(hidden),
        V2_EPS,
        relu6,
    );
    let proj = b.conv(
        &format!("{name}.conv.{}", k + 1),
        conv_same(hidden, oup, 1, 1),
    );
    let bn = b.batch_norm(&format!("{name}.conv.{}", k + 2), oup, V2_EPS);
    y = b.then(proj, y);
    y = b.then(bn, y);
    y = b.block(&format!("{name}.conv"), "Sequential", y);
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

/// One row of torchvision's `InvertedResidualConfig` table.
struct Bneck {
    input: usize,
    kernel: usize,
    expanded: usize,
    out: usize,
    se: bool,
    hard_swish: bool,
    stride: usize,
}

const fn bn(
    input: usize,
    kernel: usize,
    expanded: usize,
    out: usize,
    se: bool,
    hs: bool,
    stride: usize,
) -> Bneck {
    Bneck {
        input,
        kernel,
        expanded,
        out,
        se,
        hard_swish: hs,
        stride,
    }
}

const LARGE: [Bneck; 15] = [
    bn(16, 3, 16, 16, false, false, 1),
    bn(16, 3, 64, 24, false, false, 2),
    bn(24, 3, 72, 24, false, false, 1),
    bn(24, 5, 72, 40, true, false, 2),
    bn(40, 5, 120, 40, true, false, 1),
    bn(40, 5, 120, 40, true, false, 1),
    bn(40, 3, 240, 80, false, true, 2),
    bn(80, 3, 200, 80, false, true, 1),
    bn(80, 3, 184, 80, false, true, 1),
    bn(80, 3, 184, 80, false, true, 1),
    bn(80, 3, 480, 112, true, true, 1),
    bn(112, 3, 672, 112, true, true, 1),
    bn(112, 5, 672, 160, true, true, 2),
    bn(160, 5, 960, 160, true, true, 1),
    bn(160, 5, 960, 160, true, true, 1),
];

const SMALL: [Bneck; 11] = [
    bn(16, 3, 16, 16, true, false, 2),
    bn(16, 3, 72, 24, false, false, 2),
    bn(24, 3, 88, 24, false, false, 1),
    bn(24, 5, 96, 40, true, true, 2),
    bn(40, 5, 240, 40, true, true, 1),
    bn(40, 5, 240, 40, true, true, 1),
    bn(40, 5, 120, 48, true, true, 1),
    bn(48, 5, 144, 48, true, true, 1),
    bn(48, 5, 288, 96, true, true, 2),
    bn(96, 5, 576, 96, true, true, 1),
    bn(96, 5, 576, 96, true, true, 1),
];

pub fn v3(spec: &ArchSpec, size: V3) -> GraphSpec {
    let mut b = Builder::new(
        &spec.to_string(),
        "mobilenet_v3",
        spec.in_channels,
        spec.classes,
        spec.size,
    );
    let (table, last_channel): (&[Bneck], usize) = match size {
        V3::Small => (&SMALL, 1024),
        V3::Large => (&LARGE, 1280),
    };
    let hs = Some(Activation::Hardswish);
    let first = table[0].input;
    let mut x = conv_norm_act(
        &mut b,
        "features.0",
        Src::Input,
        conv_same(spec.in_channels, first, 3, 2),
        V3_EPS,
        hs,
    );
    for (i, cnf) in table.iter().enumerate() {
        x = inverted_residual_v3(&mut b, &format!("features.{}", i + 1), x, cnf);
    }
    let last_in = table[table.len() - 1].out;
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
    let drop = b.module(
        "classifier.2",
        Kind::Dropout {
            class: "Dropout",
            p: 0.2,
        },
    );
    let fc2 = b.linear("classifier.3", last_channel, spec.classes);
    x = b.then(pool, x);
    x = b.then(fc1, x);
    x = b.then(act, x);
    x = b.then(drop, x);
    b.then(fc2, x);
    b.finish(cam)
}

fn inverted_residual_v3(b: &mut Builder, name: &str, x: Src, cnf: &Bneck) -> Src {
    let act = Some(if cnf.hard_swish {
        Activation::Hardswish
    } else {
        Activation::Relu
    });
    let mut y = x;
    let mut k = 0;
    if cnf.expanded != cnf.input {
        y = conv_norm_act(
            b,
            &format!("{name}.block.0"),
            y,
            conv_same(cnf.input, cnf.expanded, 1, 1),
            V3_EPS,
            act,
        );
        k += 1;
    }
    let dw = conv_same(cnf.expanded, cnf.expanded, cnf.kernel, cnf.stride).groups(cnf.expanded);
    y = conv_norm_act(b, &format!("{name}.block.{k}"), y, dw, V3_EPS, act);
    k += 1;
    if cnf.se {
        let squeeze = make_divisible((cnf.expanded / 4) as f64, 8, None);
        y = squeeze_excitation(
            b,
            &format!("{name}.block.{k}"),
            y,
            cnf.expanded,
            squeeze,
            Activation::Relu,
            Activation::Hardsigmoid,
        );
        k += 1;
    }
    y = conv_norm_act(
        b,
        &format!("{name}.block.{k}"),
        y,
        conv_same(cnf.expanded, cnf.out, 1, 1),
        V3_EPS,
        None,
    );
    y = b.block(&format!("{name}.block"), "Sequential", y);
    if cnf.stride == 1 && cnf.input == cnf.out {
        y = b.op(&format!("{name}.add"), Kind::Add, &[y, x]);
    }
    b.block(name, "InvertedResidual", y)
}
