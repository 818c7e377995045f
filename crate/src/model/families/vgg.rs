//! torchvision's VGG (`vgg.py`): `features` (3x3 convs with ReLUs, 2x2 max pools),
//! `avgpool`, and a three-layer `classifier`; also any VGG-shaped spec. Keras' layer
//! names (`block1_conv1`, `fc1`, `predictions`) are kept as aliases.

use super::super::arch::{ArchSpec, CfgItem, VggCfg};
use super::builder;
use crate::model::graph::kind::{Activation, ConvCfg, Kind, PoolCfg};
use crate::model::graph::spec::{GraphSpec, Src};

pub fn build(spec: &ArchSpec, v: &VggCfg) -> GraphSpec {
    let mut b = builder(spec, "vgg");
    let mut x = Src::Input;
    let (mut c, mut idx, mut block, mut conv_in_block) = (spec.in_channels, 0, 1, 0);
    let mut last_relu = x;
    for item in &v.cfg {
        match item {
            CfgItem::Conv(out) => {
                conv_in_block += 1;
                let conv = b.conv(
                    &format!("features.{idx}"),
                    ConvCfg::square(c, *out, 3, 1, 1).bias(true),
                );
                x = b.then(conv, x);
                b.keras_name(x, format!("block{block}_conv{conv_in_block}"));
                let relu = b.act(&format!("features.{}", idx + 1), Activation::Relu);
                x = b.then(relu, x);
                last_relu = x;
                c = *out;
                idx += 2;
            }
            CfgItem::Pool => {
                let pool = b.module(
                    &format!("features.{idx}"),
                    Kind::MaxPool2d(PoolCfg::square(2, 2, 0)),
                );
                x = b.then(pool, x);
                b.keras_name(x, format!("block{block}_pool"));
                idx += 1;
                block += 1;
                conv_in_block = 0;
            }
        }
    }
    let pool = b.module(
        "avgpool",
        Kind::AdaptiveAvgPool2d {
            out: (v.pool, v.pool),
        },
    );
    x = b.then(pool, x);
    let widths = [c * v.pool * v.pool, v.hidden, v.hidden, spec.classes];
    for i in 0..3 {
        let fc = b.linear(&format!("classifier.{}", 3 * i), widths[i], widths[i + 1]);
        x = b.then(fc, x);
        b.keras_name(x, ["fc1", "fc2", "predictions"][i].to_string());
        if i < 2 {
            let relu = b.act(&format!("classifier.{}", 3 * i + 1), Activation::Relu);
            x = b.then(relu, x);
            let drop = b.dropout(&format!("classifier.{}", 3 * i + 2), 0.5);
            x = b.then(drop, x);
        }
    }
    // pytorch-grad-cam's examples explain VGG at the last ReLU of `features`.
    b.finish(last_relu)
}
