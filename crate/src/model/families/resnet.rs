//! torchvision's ResNet (`resnet.py`, v1.5: the stride sits in the 3x3 convolution),
//! with ResNeXt (grouped 3x3) and Wide ResNet (wider bottlenecks) as settings of the
//! same builder.

use super::super::arch::ArchSpec;
use super::{builder, conv_pool_stem};
use crate::model::graph::builder::{Builder, Module};
use crate::model::graph::kind::{Activation, ConvCfg, Kind};
use crate::model::graph::spec::{GraphSpec, Src};

/// The block type and how many blocks each of the four stages has.
pub enum Depth {
    Basic([usize; 4]),
    Bottleneck([usize; 4]),
}

const EPS: f64 = 1e-5;

pub fn build(spec: &ArchSpec, depth: Depth, groups: usize, width_per_group: usize) -> GraphSpec {
    let mut b = builder(spec, "resnet");
    let stem = ["conv1", "bn1", "relu", "maxpool"];
    let mut x = conv_pool_stem(&mut b, stem, spec.in_channels, 64, EPS);
    let (blocks, expansion) = match depth {
        Depth::Basic(n) => (n, 1),
        Depth::Bottleneck(n) => (n, 4),
    };
    let mut inplanes = 64;
    let mut cam = x;
    for (stage, (planes, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)]
        .into_iter()
        .enumerate()
    {
        for i in 0..blocks[stage] {
            let name = format!("layer{}.{i}", stage + 1);
            let s = if i == 0 { stride } else { 1 };
            x = match depth {
                Depth::Basic(_) => basic(&mut b, &name, x, inplanes, planes, s),
                Depth::Bottleneck(_) => {
                    let width = planes * width_per_group / 64 * groups;
                    bottleneck(&mut b, &name, x, inplanes, planes, width, groups, s)
                }
            };
            inplanes = planes * expansion;
        }
        // pytorch-grad-cam's usual target: the last block of layer4.
        cam = x;
        x = b.block(&format!("layer{}", stage + 1), "Sequential", x);
    }
    let avgpool = b.module("avgpool", Kind::AdaptiveAvgPool2d { out: (1, 1) });
    let fc = b.linear("fc", 512 * expansion, spec.classes);
    b.chain(x, [avgpool, fc]);
    b.finish(cam)
}

/// The shortcut: the input itself, or `downsample` (1x1 conv + batch norm) when the
/// shape changes.
fn downsample(
    b: &mut Builder,
    name: &str,
    inplanes: usize,
    out: usize,
    stride: usize,
) -> Option<(Module, Module)> {
    (stride != 1 || inplanes != out).then(|| {
        let conv = b.conv(
            &format!("{name}.downsample.0"),
            ConvCfg::square(inplanes, out, 1, stride, 0),
        );
        let bn = b.batch_norm(&format!("{name}.downsample.1"), out, EPS);
        (conv, bn)
    })
}

fn shortcut(b: &mut Builder, name: &str, x: Src, ds: Option<(Module, Module)>) -> Src {
    match ds {
        Some((conv, bn)) => {
            let y = b.chain(x, [conv, bn]);
            b.block(&format!("{name}.downsample"), "Sequential", y)
        }
        None => x,
    }
}

fn basic(
    b: &mut Builder,
    name: &str,
    x: Src,
    inplanes: usize,
    planes: usize,
    stride: usize,
) -> Src {
    let conv1 = b.conv(
        &format!("{name}.conv1"),
        ConvCfg::square(inplanes, planes, 3, stride, 1),
    );
    let bn1 = b.batch_norm(&format!("{name}.bn1"), planes, EPS);
    let relu = b.act(&format!("{name}.relu"), Activation::Relu);
    let conv2 = b.conv(
        &format!("{name}.conv2"),
        ConvCfg::square(planes, planes, 3, 1, 1),
    );
    let bn2 = b.batch_norm(&format!("{name}.bn2"), planes, EPS);
    let ds = downsample(b, name, inplanes, planes, stride);
    let mut y = b.chain(x, [conv1, bn1]);
    y = b.apply(&relu, &[y]);
    y = b.chain(y, [conv2, bn2]);
    residual_out(b, name, "BasicBlock", (x, y), ds, &relu)
}

/// A block's end: its residual branch `y` plus the shortcut of its input `x`, through
/// the block's ReLU (applied once more).
fn residual_out(
    b: &mut Builder,
    name: &str,
    class: &str,
    (x, y): (Src, Src),
    ds: Option<(Module, Module)>,
    relu: &Module,
) -> Src {
    let identity = shortcut(b, name, x, ds);
    let y = b.op(&format!("{name}.add"), Kind::Add, &[y, identity]);
    let y = b.apply(relu, &[y]);
    b.block(name, class, y)
}

#[allow(clippy::too_many_arguments)]
fn bottleneck(
    b: &mut Builder,
    name: &str,
    x: Src,
    inplanes: usize,
    planes: usize,
    width: usize,
    groups: usize,
    stride: usize,
) -> Src {
    let out = planes * 4;
    let conv1 = b.conv(
        &format!("{name}.conv1"),
        ConvCfg::square(inplanes, width, 1, 1, 0),
    );
    let bn1 = b.batch_norm(&format!("{name}.bn1"), width, EPS);
    let conv2 = b.conv(
        &format!("{name}.conv2"),
        ConvCfg::square(width, width, 3, stride, 1).groups(groups),
    );
    let bn2 = b.batch_norm(&format!("{name}.bn2"), width, EPS);
    let conv3 = b.conv(
        &format!("{name}.conv3"),
        ConvCfg::square(width, out, 1, 1, 0),
    );
    let bn3 = b.batch_norm(&format!("{name}.bn3"), out, EPS);
    let relu = b.act(&format!("{name}.relu"), Activation::Relu);
    let ds = downsample(b, name, inplanes, out, stride);
    let mut y = b.chain(x, [conv1, bn1]);
    y = b.apply(&relu, &[y]);
    y = b.chain(y, [conv2, bn2]);
    y = b.apply(&relu, &[y]);
    y = b.chain(y, [conv3, bn3]);
    residual_out(b, name, "Bottleneck", (x, y), ds, &relu)
}
