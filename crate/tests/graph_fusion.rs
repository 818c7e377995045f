//! A residual addition runs inside the convolution that feeds it, also through the
//! blocks wrapping that convolution (MobileNet's and EfficientNet's `Sequential`s,
//! EfficientNet's stochastic depth): the fused pass must give the values of the pass
//! that keeps those nodes, and a trace must still give the skipped nodes on demand. So
//! must an expansion run band by band with the depthwise convolution after it, and a
//! stem with its max pool.

use convscope::model::graph::Src;
use convscope::model::{ArchSpec, Graph, Val};

fn input(size: usize) -> Val {
    let x = (0..3 * size * size)
        .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 2.0)
        .collect();
    Val::new(x, vec![1, 3, size, size])
}

fn max_rel_error(ours: &Val, reference: &Val) -> f32 {
    assert_eq!(ours.shape, reference.shape);
    let scale = reference.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "an all-zero reference checks nothing");
    let worst = ours
        .data
        .iter()
        .zip(reference.data.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    worst / scale
}

#[test]
fn additions_fuse_through_blocks_without_changing_any_value() {
    // (model, the residual branch's nodes from the convolution's batch norm to the
    // addition's input, the addition)
    let cases = [
        (
            "mobilenet_v2",
            vec!["features.3.conv.3", "features.3.conv"],
            "features.3.add",
        ),
        (
            "efficientnet_b0",
            vec![
                "features.2.1.block.3.1",
                "features.2.1.block.3",
                "features.2.1.block",
                "features.2.1.stochastic_depth",
            ],
            "features.2.1.add",
        ),
    ];
    for (arch, branch, add) in cases {
        let model = Graph::synthetic(&ArchSpec::parse(arch).unwrap(), 7).unwrap();
        let x = input(64);
        let fused = model.forward(&x).unwrap();
        let trace = model.trace(&x, model.output()).unwrap();
        for name in branch.iter().chain([&add]) {
            let node = model.node(name).unwrap();
            // Keeping the node stops the fusion, so its value is computed on its own.
            let kept = model.forward_nodes(&x, &[node, model.output()]).unwrap();
            let err = max_rel_error(&fused, &kept[1]);
            assert!(err < 1e-5, "{arch}: logits with {name} kept, error {err}");
            let on_demand = model.value(&trace, Src::Node(node)).unwrap();
            let err = max_rel_error(&on_demand, &kept[0]);
            assert!(err < 1e-5, "{arch}: {name} from the trace, error {err}");
        }
    }
}

/// Whether `arch`'s plain pass (seeded `seed`) at each size skips computing `node` on
/// its own (`fused`), and gives the logits of the pass that keeps it.
fn runs_inside(arch: &str, seed: u64, node: &str, fused: bool, sizes: [usize; 2]) {
    let model = Graph::synthetic(&ArchSpec::parse(arch).unwrap(), seed).unwrap();
    let id = model.node(node).unwrap();
    for size in sizes {
        let x = input(size);
        let mut seen = vec![];
        let plain = model.forward_observed(&x, &mut |i| seen.push(i)).unwrap();
        assert_eq!(
            !seen.contains(&id),
            fused,
            "{arch}: {node} computed on its own"
        );
        // Keeping the node runs its run apart.
        let apart = model.forward_nodes(&x, &[id, model.output()]).unwrap();
        let err = max_rel_error(&plain, &apart[1]);
        assert!(err < 1e-5, "{arch} at {size} px: logits error {err}");
    }
}

#[test]
fn expansions_run_band_by_band_with_their_depthwise_convolution() {
    // MobileNetV2's features.2 (96 planes of 112x112 at 224 px) and features.3-4 (144 of
    // 56x56) run as pairs; features.5's 28x28 planes apart. EfficientNet-B0's first
    // pairs end their expansion with SiLU, added after the product.
    runs_inside("mobilenet_v2", 11, "features.2.conv.0", true, [64, 97]);
    runs_inside("mobilenet_v2", 11, "features.4.conv.0", true, [64, 97]);
    runs_inside("mobilenet_v2", 11, "features.5.conv.0", false, [64, 97]);
    runs_inside(
        "efficientnet_b0",
        11,
        "features.2.0.block.0",
        true,
        [64, 97],
    );
}

#[test]
fn stems_run_band_by_band_with_their_max_pool() {
    // ResNet's and DenseNet's 7x7 stem, batch norm and ReLU, then the 3x3 stride-2 pool:
    // one run where the stem is on the direct kernel (AVX-512), the same logits either way.
    let direct = std::arch::is_x86_feature_detected!("avx512f");
    runs_inside("resnet18", 5, "relu", direct, [64, 75]);
    runs_inside("densenet121", 5, "features.relu0", direct, [64, 75]);
}
