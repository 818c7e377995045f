//! torchvision's DenseNet (`densenet.py`): dense blocks whose layers each read the
//! concatenation of everything before them, transitions (batch norm, ReLU, 1x1 conv,
//! 2x2 average pool), and a final functional ReLU before the pooled classifier.

use super::super::arch::ArchSpec;
use super::{builder, conv_pool_stem};
use crate::model::graph::builder::Builder;
use crate::model::graph::kind::{Activation, ConvCfg, Kind, PoolCfg};
use crate::model::graph::spec::{GraphSpec, Src};

const EPS: f64 = 1e-5;
const BN_SIZE: usize = 4;

pub fn build(spec: &ArchSpec, growth: usize, blocks: [usize; 4], init: usize) -> GraphSpec {
    let mut b = builder(spec, "densenet");
    let stem = [
        "features.conv0",
        "features.norm0",
        "features.relu0",
        "features.pool0",
    ];
    let mut x = conv_pool_stem(&mut b, stem, spec.in_channels, init, EPS);
    let mut features = init;
    for (i, layers) in blocks.iter().enumerate() {
        let block = format!("features.denseblock{}", i + 1);
        let mut parts = vec![x];
        for l in 0..*layers {
            let new = dense_layer(
                &mut b,
                &format!("{block}.denselayer{}", l + 1),
                &parts,
                features + l * growth,
                growth,
            );
            parts.push(new);
        }
        x = b.op(&format!("{block}.cat"), Kind::Concat, &parts);
        x = b.block(&block, "_DenseBlock", x);
        features += layers * growth;
        if i + 1 != blocks.len() {
            x = transition(
                &mut b,
                &format!("features.transition{}", i + 1),
                x,
                features,
                features / 2,
            );
            features /= 2;
        }
    }
    let norm5 = b.batch_norm("features.norm5", features, EPS);
    x = b.then(norm5, x);
    let cam = x;
    // torchvision's forward: F.relu, F.adaptive_avg_pool2d, torch.flatten, classifier.
    x = b.op("relu", Kind::Act(Activation::Relu), &[x]);
    x = b.op("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) }, &[x]);
    let fc = b.linear("classifier", features, spec.classes);
    b.then(fc, x);
    b.finish(cam)
}

fn dense_layer(b: &mut Builder, name: &str, parts: &[Src], inp: usize, growth: usize) -> Src {
    let norm1 = b.batch_norm(&format!("{name}.norm1"), inp, EPS);
    let relu1 = b.act(&format!("{name}.relu1"), Activation::Relu);
    let conv1 = b.conv(
        &format!("{name}.conv1"),
        ConvCfg::square(inp, BN_SIZE * growth, 1, 1, 0),
    );
    let norm2 = b.batch_norm(&format!("{name}.norm2"), BN_SIZE * growth, EPS);
    let relu2 = b.act(&format!("{name}.relu2"), Activation::Relu);
    let conv2 = b.conv(
        &format!("{name}.conv2"),
        ConvCfg::square(BN_SIZE * growth, growth, 3, 1, 1),
    );
    let x = if parts.len() == 1 {
        parts[0]
    } else {
        b.op(&format!("{name}.cat"), Kind::Concat, parts)
    };
    let y = b.chain(x, [norm1, relu1, conv1, norm2, relu2, conv2]);
    b.block(name, "_DenseLayer", y)
}

fn transition(b: &mut Builder, name: &str, x: Src, inp: usize, out: usize) -> Src {
    let norm = b.batch_norm(&format!("{name}.norm"), inp, EPS);
    let relu = b.act(&format!("{name}.relu"), Activation::Relu);
    let conv = b.conv(&format!("{name}.conv"), ConvCfg::square(inp, out, 1, 1, 0));
    let pool = b.module(
        &format!("{name}.pool"),
        Kind::AvgPool2d(PoolCfg::square(2, 2, 0)),
    );
    let y = b.chain(x, [norm, relu, conv, pool]);
    b.block(name, "_Transition", y)
}
