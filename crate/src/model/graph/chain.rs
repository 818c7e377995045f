//! Runs of nodes that plain passes compute band by band, found in a graph: each node
//! read by the next only.
//! - Inverted residuals' expansions and the depthwise convolutions after them
//!   ([`ExpandDepthwise`]): a 1x1 convolution at stride 1 with its batch norm and
//!   activation, any blocks passing that on, then a depthwise convolution with its batch
//!   norm. Only where the expanded map outgrows L2 ([`EXPANDED_BYTES`]): smaller maps
//!   stay in cache between the two kernels anyway, and the expansion's own kernel is
//!   faster.
//! - ResNet's and DenseNet's stems: a convolution on the direct kernel with its batch
//!   norm and ReLU, then the 3x3 stride-2 max pool
//!   ([`ConvKernel::forward_relu_pooled`](crate::model::ops::conv::ConvKernel)).

use super::spec::{GraphSpec, NodeId, Src};
use crate::model::ops::conv::{fold_weights, ExpandDepthwise};
use crate::model::ops::Op;

/// Expanded maps from this size run band by band: MobileNetV2's 96 planes of 112x112
/// (4.8 MB) and 144 of 56x56 (1.8 MB) went through L3 between the two kernels, 1 MB of
/// L2 on the machine measured.
const EXPANDED_BYTES: usize = 1 << 20;

/// A run computed inside its last node.
#[derive(Debug)]
pub(super) struct Chain {
    /// The run's input (its first convolution's).
    pub input: Src,
    /// Every other node of the run.
    pub inner: Vec<NodeId>,
    pub run: Run,
}

#[derive(Debug)]
pub(super) enum Run {
    ExpandDepthwise(Box<ExpandDepthwise>),
    /// The stem's folded convolution is this batch norm's kernel.
    StemPool {
        bn: NodeId,
    },
}

/// The run ending at node `last`, if there is one: `folded[n]` is the convolution that
/// batch norm `n` absorbs, `consumers` each node's readers, `planned` each node's
/// `[c, h, w]` at the model's own input size, `on_direct(n)` whether batch norm `n`'s
/// folded kernel is on the direct kernel.
pub(super) fn ending_at(
    last: NodeId,
    spec: &GraphSpec,
    ops: &[Op],
    consumers: &[Vec<NodeId>],
    folded: &[Option<NodeId>],
    (planned, on_direct): (&[Vec<usize>], &dyn Fn(NodeId) -> bool),
) -> Option<Chain> {
    expand_depthwise(last, spec, ops, consumers, folded, planned)
        .or_else(|| stem_pool(last, spec, ops, consumers, folded, on_direct))
}

/// The stem run ending at max pool `pool`.
fn stem_pool(
    pool: NodeId,
    spec: &GraphSpec,
    ops: &[Op],
    consumers: &[Vec<NodeId>],
    folded: &[Option<NodeId>],
    on_direct: &dyn Fn(NodeId) -> bool,
) -> Option<Chain> {
    let Op::MaxPool(cfg) = &ops[pool] else {
        return None;
    };
    let stem_pool =
        cfg.kernel == (3, 3) && cfg.stride == (2, 2) && cfg.padding == (1, 1) && !cfg.ceil_mode;
    let [Src::Node(relu)] = spec.nodes[pool].inputs[..] else {
        return None;
    };
    let [Src::Node(bn)] = spec.nodes[relu].inputs[..] else {
        return None;
    };
    let conv = folded[bn]?;
    let single = consumers[relu].as_slice() == [pool] && consumers[bn].as_slice() == [relu];
    let relu_op = matches!(ops[relu], Op::Act(crate::model::graph::Activation::Relu));
    (stem_pool && single && relu_op && on_direct(bn)).then(|| Chain {
        input: spec.nodes[conv].inputs[0],
        inner: vec![relu, bn, conv],
        run: Run::StemPool { bn },
    })
}

/// The expansion and depthwise run ending at batch norm `bn`.
fn expand_depthwise(
    bn: NodeId,
    spec: &GraphSpec,
    ops: &[Op],
    consumers: &[Vec<NodeId>],
    folded: &[Option<NodeId>],
    planned: &[Vec<usize>],
) -> Option<Chain> {
    let conv = folded[bn]?;
    let (Op::Conv(dw), Op::BatchNorm { affine: dw_bn, .. }) = (&ops[conv], &ops[bn]) else {
        return None;
    };
    if !dw.cfg.is_depthwise() {
        return None;
    }
    let mut inner = vec![conv];
    let (mut next, mut src) = (conv, spec.nodes[conv].inputs[0]);
    let (act_node, act) = loop {
        let Src::Node(b) = src else { return None };
        if consumers[b].as_slice() != [next] {
            return None;
        }
        match (&ops[b], spec.nodes[b].inputs.as_slice()) {
            (Op::Identity, [only]) => {
                inner.push(b);
                (next, src) = (b, *only);
            }
            (Op::Act(a), [_]) => break (b, *a),
            _ => return None,
        }
    };
    inner.push(act_node);
    let [Src::Node(expand_bn)] = spec.nodes[act_node].inputs[..] else {
        return None;
    };
    let expand_conv = folded[expand_bn]?;
    if consumers[expand_bn].as_slice() != [act_node] {
        return None;
    }
    let (Op::Conv(ex), Op::BatchNorm { affine: ex_bn, .. }) = (&ops[expand_conv], &ops[expand_bn])
    else {
        return None;
    };
    let cfg = &ex.cfg;
    let pointwise = cfg.kernel == (1, 1)
        && cfg.stride == (1, 1)
        && cfg.padding == (0, 0)
        && cfg.groups == 1
        && cfg.out_channels == dw.cfg.in_channels;
    let big = match planned.get(expand_bn).map(Vec::as_slice) {
        Some(&[c, h, w]) => 4 * c * h * w >= EXPANDED_BYTES,
        _ => false,
    };
    if !pointwise || !big {
        return None;
    }
    inner.extend([expand_bn, expand_conv]);
    let (ew, eb) = fold_weights(cfg, &ex.weight, ex.bias.as_deref(), ex_bn);
    let (dww, dwb) = fold_weights(&dw.cfg, &dw.weight, dw.bias.as_deref(), dw_bn);
    let kernel = ExpandDepthwise::new((&ew, &eb), Some(act), dw.cfg, (&dww, &dwb))?;
    Some(Chain {
        input: spec.nodes[expand_conv].inputs[0],
        inner,
        run: Run::ExpandDepthwise(Box::new(kernel)),
    })
}
