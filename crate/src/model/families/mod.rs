//! The families of torchvision CNNs, each a builder from an [`ArchSpec`] to a
//! [`GraphSpec`] whose node and tensor names are torchvision's: `vgg`, `resnet` (with
//! ResNeXt and Wide ResNet), `mobilenet` (v2 and v3), `efficientnet`, `densenet`,
//! `convnext`. A builder reads like torchvision's module: modules are created in
//! `__init__`'s order (that is the state dict's order), then applied as `forward` does.

mod convnext;
mod densenet;
mod efficientnet;
mod mobilenet;
mod resnet;
mod vgg;

use super::arch::{ArchSpec, Family};
use super::graph::builder::Builder;
use super::graph::kind::{Activation, ConvCfg, Kind, PoolCfg};
use super::graph::spec::{GraphSpec, Src};
use crate::error::{Error, Result};

/// A named torchvision model.
pub struct Named {
    pub name: &'static str,
    /// torchvision's module of the family (`resnet`, `mobilenet_v3`, ...).
    pub family: &'static str,
    pub build: fn(&ArchSpec) -> GraphSpec,
}

/// Every torchvision model beyond VGG that we build, by its torchvision name.
#[rustfmt::skip]
pub const TORCHVISION: &[Named] = &[
    named("resnet18", "resnet", |s| resnet::build(s, resnet::Depth::Basic([2, 2, 2, 2]), 1, 64)),
    named("resnet34", "resnet", |s| resnet::build(s, resnet::Depth::Basic([3, 4, 6, 3]), 1, 64)),
    named("resnet50", "resnet", |s| resnet::build(s, resnet::Depth::Bottleneck([3, 4, 6, 3]), 1, 64)),
    named("resnet101", "resnet", |s| resnet::build(s, resnet::Depth::Bottleneck([3, 4, 23, 3]), 1, 64)),
    named("resnet152", "resnet", |s| resnet::build(s, resnet::Depth::Bottleneck([3, 8, 36, 3]), 1, 64)),
    named("resnext50_32x4d", "resnet", |s| resnet::build(s, resnet::Depth::Bottleneck([3, 4, 6, 3]), 32, 4)),
    named("wide_resnet50_2", "resnet", |s| resnet::build(s, resnet::Depth::Bottleneck([3, 4, 6, 3]), 1, 128)),
    named("mobilenet_v2", "mobilenet_v2", mobilenet::v2),
    named("mobilenet_v3_small", "mobilenet_v3", |s| mobilenet::v3(s, mobilenet::V3::Small)),
    named("mobilenet_v3_large", "mobilenet_v3", |s| mobilenet::v3(s, mobilenet::V3::Large)),
    named("efficientnet_b0", "efficientnet", |s| efficientnet::build(s, 1.0, 1.0, 0.2)),
    named("efficientnet_b1", "efficientnet", |s| efficientnet::build(s, 1.0, 1.1, 0.2)),
    named("efficientnet_b2", "efficientnet", |s| efficientnet::build(s, 1.1, 1.2, 0.3)),
    named("efficientnet_b3", "efficientnet", |s| efficientnet::build(s, 1.2, 1.4, 0.3)),
    named("densenet121", "densenet", |s| densenet::build(s, 32, [6, 12, 24, 16], 64)),
    named("densenet169", "densenet", |s| densenet::build(s, 32, [6, 12, 32, 32], 64)),
    named("convnext_tiny", "convnext", |s| convnext::build(s, [3, 3, 9, 3])),
    named("convnext_small", "convnext", |s| convnext::build(s, [3, 3, 27, 3])),
];

/// A row of [`TORCHVISION`].
const fn named(
    name: &'static str,
    family: &'static str,
    build: fn(&ArchSpec) -> GraphSpec,
) -> Named {
    Named {
        name,
        family,
        build,
    }
}

/// The graph of `spec`, checked.
pub fn graph(spec: &ArchSpec) -> Result<GraphSpec> {
    let g = match &spec.family {
        Family::Vgg(cfg) => vgg::build(spec, cfg),
        Family::Torchvision(name) => {
            let named = TORCHVISION
                .iter()
                .find(|f| f.name == *name)
                .ok_or_else(|| Error::Spec(format!("unknown architecture `{name}`")))?;
            (named.build)(spec)
        }
        Family::Imported { format, .. } => {
            return Err(Error::Spec(format!(
                "{spec} was read from a {format} file: its graph comes with the file, not from a builder"
            )))
        }
    };
    g.validate()?;
    Ok(g)
}

/// A builder for `spec`'s graph, `family` being torchvision's module of the family.
pub(crate) fn builder(spec: &ArchSpec, family: &'static str) -> Builder {
    Builder::new(
        &spec.to_string(),
        family,
        spec.in_channels,
        spec.classes,
        spec.size,
    )
}

/// The stem of ResNet and DenseNet under the family's four module names: a 7x7
/// stride-2 convolution (no bias) from the input to `out` channels, batch norm, ReLU and
/// a 3x3 stride-2 max pool.
pub(crate) fn conv_pool_stem(
    b: &mut Builder,
    [conv, norm, relu, pool]: [&str; 4],
    in_channels: usize,
    out: usize,
    eps: f64,
) -> Src {
    let conv = b.conv(conv, ConvCfg::square(in_channels, out, 7, 2, 3));
    let norm = b.batch_norm(norm, out, eps);
    let relu = b.act(relu, Activation::Relu);
    let pool = b.module(pool, Kind::MaxPool2d(PoolCfg::square(3, 2, 1)));
    b.chain(Src::Input, [conv, norm, relu, pool])
}

/// The first layer of MobileNet and EfficientNet: `features.0`, a 3x3 stride-2
/// [`conv_norm_act`] from the input to `out` channels.
pub(crate) fn conv3_stem(
    b: &mut Builder,
    in_channels: usize,
    out: usize,
    eps: f64,
    act: Option<Activation>,
) -> Src {
    let cfg = conv_same(in_channels, out, 3, 2);
    conv_norm_act(b, "features.0", Src::Input, cfg, eps, act)
}

/// torchvision's `StochasticDepth` at `name.stochastic_depth` (the identity at
/// inference) on the residual branch `y`, then its sum with the block's input `x`.
pub(crate) fn stochastic_depth_add(b: &mut Builder, name: &str, y: Src, x: Src) -> Src {
    let kind = Kind::Dropout {
        class: "StochasticDepth",
        p: 0.0,
    };
    let y = b.op(&format!("{name}.stochastic_depth"), kind, &[y]);
    b.op(&format!("{name}.add"), Kind::Add, &[y, x])
}

/// torchvision's `Conv2dNormActivation` at `name`: conv (`name.0`, no bias), batch norm
/// (`name.1`) and, if given, the activation (`name.2`), padding `(k - 1) / 2`; its
/// output is the block node `name`.
pub(crate) fn conv_norm_act(
    b: &mut Builder,
    name: &str,
    x: Src,
    cfg: ConvCfg,
    eps: f64,
    act: Option<Activation>,
) -> Src {
    let conv = b.conv(&format!("{name}.0"), cfg);
    let bn = b.batch_norm(&format!("{name}.1"), cfg.out_channels, eps);
    let mut y = b.chain(x, [conv, bn]);
    if let Some(a) = act {
        let m = b.act(&format!("{name}.2"), a);
        y = b.then(m, y);
    }
    b.block(name, "Conv2dNormActivation", y)
}

/// The start of an inverted-residual block in the sequential `seq` (MobileNetV2 and V3,
/// EfficientNet): the 1x1 expansion to `expanded` channels at `seq.0` (only when it
/// widens), then the `kernel x kernel` depthwise convolution, each a [`conv_norm_act`].
/// Returns the depthwise output and the index of the next layer in `seq`.
pub(crate) fn expand_depthwise(
    b: &mut Builder,
    seq: &str,
    x: Src,
    (inp, expanded): (usize, usize),
    (kernel, stride): (usize, usize),
    eps: f64,
    act: Option<Activation>,
) -> (Src, usize) {
    let mut y = x;
    let mut k = 0;
    if expanded != inp {
        let cfg = conv_same(inp, expanded, 1, 1);
        y = conv_norm_act(b, &format!("{seq}.0"), y, cfg, eps, act);
        k = 1;
    }
    let dw = conv_same(expanded, expanded, kernel, stride).groups(expanded);
    y = conv_norm_act(b, &format!("{seq}.{k}"), y, dw, eps, act);
    (y, k + 1)
}

/// A `k x k` convolution with torchvision's "same" padding `(k - 1) / 2` (dilation 1).
pub(crate) fn conv_same(cin: usize, cout: usize, k: usize, stride: usize) -> ConvCfg {
    ConvCfg::square(cin, cout, k, stride, (k - 1) / 2)
}

/// torchvision's `_make_divisible`: the nearest multiple of `divisor` at or above
/// `min_value`, not more than 10% below `v`.
pub(crate) fn make_divisible(v: f64, divisor: usize, min_value: Option<usize>) -> usize {
    let min_value = min_value.unwrap_or(divisor);
    let d = divisor as f64;
    let mut new_v = min_value.max(((v + d / 2.0) as usize / divisor) * divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// torchvision's `SqueezeExcitation` at `name` (avgpool, fc1, activation, fc2,
/// scale_activation, then the product with its input); its output is the block node.
pub(crate) fn squeeze_excitation(
    b: &mut Builder,
    name: &str,
    x: Src,
    channels: usize,
    squeeze: usize,
    act: Activation,
    scale_act: Activation,
) -> Src {
    let pool = b.module(
        &format!("{name}.avgpool"),
        Kind::AdaptiveAvgPool2d { out: (1, 1) },
    );
    let fc1 = b.conv(
        &format!("{name}.fc1"),
        ConvCfg::square(channels, squeeze, 1, 1, 0).bias(true),
    );
    let fc2 = b.conv(
        &format!("{name}.fc2"),
        ConvCfg::square(squeeze, channels, 1, 1, 0).bias(true),
    );
    let a = b.act(&format!("{name}.activation"), act);
    let s = b.act(&format!("{name}.scale_activation"), scale_act);
    let scale = b.chain(x, [pool, fc1, a, fc2, s]);
    let y = b.op(&format!("{name}.mul"), Kind::Mul, &[x, scale]);
    b.block(name, "SqueezeExcitation", y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> GraphSpec {
        graph(&ArchSpec::parse(name).unwrap()).unwrap()
    }

    #[test]
    fn parameter_totals_match_torchvision() {
        // torchvision's `num_params` of each model's weights entry.
        for (name, total) in [
            ("vgg16", 138_357_544),
            ("resnet18", 11_689_512),
            ("resnet34", 21_797_672),
            ("resnet50", 25_557_032),
            ("resnet101", 44_549_160),
            ("resnet152", 60_192_808),
            ("resnext50_32x4d", 25_028_904),
            ("wide_resnet50_2", 68_883_240),
            ("mobilenet_v2", 3_504_872),
            ("mobilenet_v3_small", 2_542_856),
            ("mobilenet_v3_large", 5_483_032),
            ("efficientnet_b0", 5_288_548),
            ("efficientnet_b1", 7_794_184),
            ("efficientnet_b2", 9_109_994),
            ("efficientnet_b3", 12_233_232),
            ("densenet121", 7_978_856),
            ("densenet169", 14_149_480),
            ("convnext_tiny", 28_589_128),
            ("convnext_small", 50_223_688),
        ] {
            assert_eq!(spec(name).param_count(), total, "{name}");
        }
    }

    #[test]
    fn the_head_starts_at_the_global_pool_not_at_a_squeeze_and_excitation() {
        for name in [
            "resnet18",
            "mobilenet_v3_small",
            "efficientnet_b0",
            "densenet121",
            "convnext_tiny",
            "mobilenet_v2",
        ] {
            let g = spec(name);
            assert_eq!(g.nodes[g.head_start()].name, "avgpool", "{name}");
        }
    }

    #[test]
    fn make_divisible_is_torchvisions() {
        assert_eq!(make_divisible(32.0 * 1.1, 8, None), 32); // 35.2 -> 32, within 10%
        assert_eq!(make_divisible(16.0, 8, None), 16);
        assert_eq!(make_divisible(72.0 / 4.0, 8, None), 24); // 18 -> 16 < 16.2 -> 24
        assert_eq!(make_divisible(3.0, 8, None), 8);
    }

    #[test]
    fn shapes_at_224_end_in_the_logits_and_cam_layers_are_the_usual_ones() {
        for (name, cam, cam_shape) in [
            ("resnet18", "layer4.1", vec![512, 7, 7]),
            ("resnet50", "layer4.2", vec![2048, 7, 7]),
            ("mobilenet_v2", "features.18", vec![1280, 7, 7]),
            ("mobilenet_v3_small", "features.12", vec![576, 7, 7]),
            ("efficientnet_b0", "features.8", vec![1280, 7, 7]),
            ("densenet121", "features.norm5", vec![1024, 7, 7]),
            ("convnext_tiny", "features.7", vec![768, 7, 7]),
            ("vgg16", "features.29", vec![512, 14, 14]),
        ] {
            let g = spec(name);
            let shapes = g.shapes((224, 224)).unwrap();
            assert_eq!(shapes[g.output()], [1000], "{name}");
            assert_eq!(g.nodes[g.cam_layer].name, cam, "{name}");
            assert_eq!(shapes[g.cam_layer], cam_shape, "{name}");
        }
    }
}
