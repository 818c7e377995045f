//! torchvision's ConvNeXt (`convnext.py`): a 4x4 patchify stem, stages of CNBlocks (7x7
//! depthwise conv, layer norm, a channels-last MLP with GELU, layer scale, residual),
//! downsampling by layer norm + 2x2 stride-2 conv; layer norms use eps 1e-6.

use super::super::arch::ArchSpec;
use super::{builder, stochastic_depth_add};
use crate::model::graph::builder::Builder;
use crate::model::graph::kind::{Activation, ConvCfg, Kind};
use crate::model::graph::spec::{GraphSpec, Src};

const EPS: f64 = 1e-6;
const DIMS: [usize; 4] = [96, 192, 384, 768];

pub fn build(spec: &ArchSpec, depths: [usize; 4]) -> GraphSpec {
    let mut b = builder(spec, "convnext");
    let stem = b.conv(
        "features.0.0",
        ConvCfg::square(spec.in_channels, DIMS[0], 4, 4, 0).bias(true),
    );
    let stem_norm = b.layer_norm("features.0.1", DIMS[0], EPS);
    let mut x = b.chain(Src::Input, [stem, stem_norm]);
    x = b.block("features.0", "Conv2dNormActivation", x);
    let mut idx = 1;
    for (stage, n) in depths.iter().enumerate() {
        let dim = DIMS[stage];
        for i in 0..*n {
            x = cn_block(&mut b, &format!("features.{idx}.{i}"), x, dim);
        }
        x = b.block(&format!("features.{idx}"), "Sequential", x);
        idx += 1;
        if stage + 1 < DIMS.len() {
            let name = format!("features.{idx}");
            let norm = b.layer_norm(&format!("{name}.0"), dim, EPS);
            let conv = b.conv(
                &format!("{name}.1"),
                ConvCfg::square(dim, DIMS[stage + 1], 2, 2, 0).bias(true),
            );
            x = b.chain(x, [norm, conv]);
            x = b.block(&name, "Sequential", x);
            idx += 1;
        }
    }
    let cam = x;
    let last = DIMS[3];
    let pool = b.module("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) });
    let norm = b.layer_norm("classifier.0", last, EPS);
    let flatten = b.module("classifier.1", Kind::Flatten);
    let fc = b.linear("classifier.2", last, spec.classes);
    b.chain(x, [pool, norm, flatten, fc]);
    b.finish(cam)
}

/// `CNBlock`: its own `layer_scale` parameter comes first in the state dict (a module's
/// parameters precede its children's), then the block's layers.
fn cn_block(b: &mut Builder, name: &str, x: Src, dim: usize) -> Src {
    let scale = b.layer_scale(&format!("{name}.layer_scale"), dim);
    let dw = b.conv(
        &format!("{name}.block.0"),
        ConvCfg::square(dim, dim, 7, 1, 3).groups(dim).bias(true),
    );
    let norm = b.layer_norm(&format!("{name}.block.2"), dim, EPS);
    let fc1 = b.pixel_linear(&format!("{name}.block.3"), dim, 4 * dim);
    let gelu = b.act(&format!("{name}.block.4"), Activation::Gelu);
    let fc2 = b.pixel_linear(&format!("{name}.block.5"), 4 * dim, dim);
    let mut y = b.chain(x, [dw, norm, fc1, gelu, fc2]);
    y = b.block(&format!("{name}.block"), "Sequential", y);
    y = b.then(scale, y);
    y = stochastic_depth_add(b, name, y, x);
    b.block(name, "CNBlock", y)
}
