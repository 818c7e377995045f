//! A graph bound to its weights, runnable: forward passes from the input or from any
//! node that cuts the graph (the classifier head), traces that keep every node's output
//! for the reverse pass, and the reverse pass itself (input and activation gradients
//! only, accumulated where a value feeds several nodes, in PyTorch's conventions).
//!
//! Speed without losing any node: a convolution followed by a batch norm that nothing
//! else reads runs as one convolution with folded weights, a residual addition after a
//! convolution (ResNet's and MobileNet's shortcuts, through the blocks around it) runs
//! in the convolution's store, and so does an activation after either; plain passes run
//! an inverted residual's expansion with its depthwise convolution, and a stem with its
//! max pool, band by band ([`super::chain`]). The skipped nodes' outputs are computed
//! only if someone asks for them ([`Trace::value`]). A trace fuses only activations
//! whose derivative can be read from their output (ReLU, ReLU6, sigmoids), so the
//! reverse pass never needs a skipped value. Blocks, dropout and flatten share their
//! input's values.

use super::chain::{self, Chain, Run};
use super::spec::{GraphSpec, NodeId, Src};
use super::Activation;
use crate::error::{Error, Result};
use crate::model::arch::ArchSpec;
use crate::model::ops::conv::ConvKernel;
use crate::model::ops::{act, Op, Params, ReluGrad, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A node's output: its values (shared, never copied between nodes) and its shape with
/// the batch first.
#[derive(Clone, Debug)]
pub struct Val {
    pub data: Arc<Vec<f32>>,
    pub shape: Vec<usize>,
}

impl Val {
    pub fn new(data: Vec<f32>, shape: Vec<usize>) -> Self {
        Val {
            data: Arc::new(data),
            shape,
        }
    }

    fn view(&self) -> Value<'_> {
        Value {
            data: &self.data,
            shape: &self.shape,
        }
    }

    pub fn to_tensor(&self) -> Result<candle_core::Tensor> {
        Ok(candle_core::Tensor::from_slice(
            &self.data,
            self.shape.as_slice(),
            &candle_core::Device::Cpu,
        )?)
    }

    pub fn from_tensor(t: &candle_core::Tensor) -> Result<Self> {
        let data = t
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(Val::new(data, t.dims().to_vec()))
    }
}

/// Where the reverse pass stops: the gradient with respect to the model's input, or to
/// the output of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Input,
    Node(NodeId),
}

/// A node computed together with its producer(s).
#[derive(Debug)]
enum Fused {
    /// This batch norm, computed straight from its convolution's input with folded
    /// weights (the convolution's own output is then not computed).
    ConvBn { conv: NodeId, kernel: ConvKernel },
}

#[derive(Debug)]
pub struct Graph {
    arch: ArchSpec,
    spec: GraphSpec,
    ops: Vec<Op>,
    consumers: Vec<Vec<NodeId>>,
    fused: Vec<Option<Fused>>,
    /// Expansion and depthwise pairs, by the depthwise batch norm's node.
    chains: HashMap<NodeId, Chain>,
    /// For each node computed inside a chain, the chain's node.
    chain_of: Vec<Option<NodeId>>,
}

/// One forward pass with the outputs it kept.
#[derive(Debug)]
pub struct Trace {
    pub input: Val,
    values: Vec<OnceLock<Val>>,
    /// Output shapes of every node (batch first).
    shapes: Vec<Vec<usize>>,
    /// The last node computed.
    pub last: NodeId,
}

/// How a pass treats the nodes that can be fused.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Keep only what is asked for; fuse every activation.
    Plain,
    /// Keep everything computed; fuse only output-derivable activations.
    Trace,
}

impl Graph {
    /// Binds `params` (by state-dict name, f32, shapes already checked) to `spec`.
    pub fn new(
        arch: ArchSpec,
        spec: GraphSpec,
        mut params: HashMap<String, Vec<f32>>,
    ) -> Result<Graph> {
        let shapes: HashMap<&str, &[usize]> = spec
            .state
            .iter()
            .map(|e| (e.name.as_str(), e.shape.as_slice()))
            .collect();
        let mut ops = Vec::with_capacity(spec.nodes.len());
        // A module applied twice shares its tensors: cloned for all but the last use,
        // moved there (so the weights are never held twice at load).
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for name in spec.nodes.iter().flat_map(|n| &n.params) {
            *uses.entry(name.as_str()).or_default() += 1;
        }
        for n in &spec.nodes {
            let p: Params = n
                .params
                .iter()
                .map(|name| {
                    let expected = shapes.get(name.as_str()).copied().unwrap_or(&[]);
                    let left = uses.get_mut(name.as_str()).map(|u| {
                        *u -= 1;
                        *u
                    });
                    let tensor = if left == Some(0) {
                        params.remove(name)
                    } else {
                        params.get(name).cloned()
                    };
                    let v = tensor.ok_or_else(|| Error::MissingTensor {
                        name: name.clone(),
                        expected: expected.to_vec(),
                    })?;
                    if v.len() != expected.iter().product::<usize>() {
                        return Err(Error::Input(format!(
                            "`{name}` has {} values, its shape {expected:?} needs {}",
                            v.len(),
                            expected.iter().product::<usize>()
                        )));
                    }
                    Ok(v)
                })
                .collect::<Result<_>>()?;
            ops.push(Op::bind(&n.kind, p)?);
        }
        params.clear();
        let consumers = spec.consumers();
        // The map each convolution sees at the model's own input size (none where the
        // spec cannot plan it): the size its kernel is chosen for.
        let planned = spec.shapes((spec.size, spec.size)).ok();
        let input_hw = |src: &Src| -> Option<(usize, usize)> {
            match src {
                Src::Input => Some((spec.size, spec.size)),
                Src::Node(k) => match planned.as_ref()?[*k][..] {
                    [_, h, w] => Some((h, w)),
                    _ => None,
                },
            }
        };
        let mut fused: Vec<Option<Fused>> = (0..spec.nodes.len()).map(|_| None).collect();
        for (j, n) in spec.nodes.iter().enumerate() {
            let (Op::BatchNorm { affine, .. }, [Src::Node(i)]) = (&ops[j], n.inputs.as_slice())
            else {
                continue;
            };
            if let (Op::Conv(conv), [only]) = (&ops[*i], consumers[*i].as_slice()) {
                if *only == j {
                    fused[j] = Some(Fused::ConvBn {
                        conv: *i,
                        kernel: conv.fold(affine, input_hw(&spec.nodes[*i].inputs[0]))?,
                    });
                }
            }
        }
        let folded: Vec<Option<NodeId>> = fused
            .iter()
            .map(|f| f.as_ref().map(|Fused::ConvBn { conv, .. }| *conv))
            .collect();
        let on_direct = |bn: NodeId| matches!(&fused[bn], Some(Fused::ConvBn { kernel, .. }) if kernel.is_direct());
        let mut chains = HashMap::new();
        let mut chain_of = vec![None; spec.nodes.len()];
        for last in 0..spec.nodes.len() {
            let found = planned.as_ref().and_then(|planned| {
                let sizes = (planned.as_slice(), &on_direct as &dyn Fn(NodeId) -> bool);
                chain::ending_at(last, &spec, &ops, &consumers, &folded, sizes)
            });
            if let Some(c) = found {
                for n in &c.inner {
                    chain_of[*n] = Some(last);
                }
                chains.insert(last, c);
            }
        }
        Ok(Graph {
            arch,
            spec,
            ops,
            consumers,
            fused,
            chains,
            chain_of,
        })
    }

    pub fn arch(&self) -> &ArchSpec {
        &self.arch
    }

    pub fn spec(&self) -> &GraphSpec {
        &self.spec
    }

    pub fn len(&self) -> usize {
        self.spec.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spec.nodes.is_empty()
    }

    pub fn op(&self, node: NodeId) -> &Op {
        &self.ops[node]
    }

    /// The node called `name`, or an error listing the layers.
    pub fn node(&self, name: &str) -> Result<NodeId> {
        self.spec.node(name)
    }

    pub fn name(&self, node: NodeId) -> &str {
        &self.spec.nodes[node].name
    }

    /// The output node (logits).
    pub fn output(&self) -> NodeId {
        self.spec.output()
    }

    /// `x` as a value, checked ([`Self::check_input`]) to be one image: `batch_refused(n)`
    /// words the error for a batch of `n`.
    pub fn one_image(
        &self,
        x: &candle_core::Tensor,
        batch_refused: impl FnOnce(usize) -> String,
    ) -> Result<Val> {
        let v = Val::from_tensor(x)?;
        self.check_input(&v.shape)?;
        if v.shape[0] != 1 {
            return Err(Error::Input(batch_refused(v.shape[0])));
        }
        Ok(v)
    }

    /// Checks that `x` is `[N, C, H, W]` f32 with this model's channels, a size every
    /// node can take, and kept outputs within the platform's budget.
    pub fn check_input(&self, x: &[usize]) -> Result<Vec<Vec<usize>>> {
        let [n, c, h, w] = x else {
            return Err(Error::Input(format!(
                "expected a [N, C, H, W] tensor, got shape {x:?}"
            )));
        };
        if *n == 0 {
            return Err(Error::Input("the batch is empty (N = 0)".into()));
        }
        if *c != self.spec.in_channels {
            return Err(Error::Input(format!(
                "input has {c} channel(s), but the model takes {} (shape {x:?})",
                self.spec.in_channels
            )));
        }
        let shapes = self.spec.shapes((*h, *w))?;
        let per_image: u64 = shapes
            .iter()
            .map(|s| s.iter().map(|d| *d as u64).product::<u64>())
            .fold(0u64, u64::saturating_add);
        crate::limits::check_trace(per_image.saturating_mul(4 * *n as u64), || {
            format!("a batch of {n} {c}x{h}x{w} input(s)")
        })?;
        Ok(shapes
            .into_iter()
            .map(|s| std::iter::once(*n).chain(s).collect())
            .collect())
    }

    /// Whether node `i` is computed inside a later node under `mode`, given what must be
    /// kept: a convolution absorbed by its batch norm, or an activation's producer.
    fn skipped(&self, i: NodeId, keep: &[bool], mode: Mode) -> bool {
        if keep[i] {
            return false;
        }
        if self.chain_of[i].is_some_and(|c| self.active_chain(c, keep, mode).is_some()) {
            return true;
        }
        let [only] = self.consumers[i].as_slice() else {
            return false;
        };
        match (&self.ops[i], &self.ops[*only]) {
            (Op::Conv(_), _) if matches!(self.fused[*only], Some(Fused::ConvBn { conv, .. }) if conv == i) => {
                true
            }
            (Op::Conv(_) | Op::BatchNorm { .. } | Op::Identity, _) if self.inside_add(i, keep) => {
                true
            }
            // A batch norm not folded into a convolution (DenseNet's, after a
            // concatenation) runs with its activation in one pass.
            (Op::Conv(_) | Op::BatchNorm { .. }, Op::Act(a)) => {
                mode == Mode::Plain || !act::needs_input(*a)
            }
            (Op::Add, Op::Act(a)) => {
                self.add_conv_input(i, keep).is_some()
                    && (mode == Mode::Plain || !act::needs_input(*a))
            }
            _ => false,
        }
    }

    /// The chain computed inside node `i` in a pass of `mode` keeping `keep`: in plain
    /// passes that keep none of its inner nodes (a trace keeps every value for the reverse
    /// pass).
    fn active_chain(&self, i: NodeId, keep: &[bool], mode: Mode) -> Option<&Chain> {
        let chain = self.chains.get(&i)?;
        (mode == Mode::Plain && chain.inner.iter().all(|n| !keep[*n])).then_some(chain)
    }

    /// Node `i`, a chain's last node, with `act` after it: the chain from its input, band
    /// by band.
    fn chain_run(
        &self,
        i: NodeId,
        chain: &Chain,
        get: &dyn Fn(Src) -> Result<Val>,
        act: Option<Activation>,
    ) -> Result<Val> {
        let x = get(chain.input)?;
        let refused = |why: String| self.at(i, Error::Input(why));
        let [n, _, h, w] = x.shape[..] else {
            return Err(refused(format!(
                "needs a [N, C, H, W] input, got {:?}",
                x.shape
            )));
        };
        let ran = match &chain.run {
            Run::ExpandDepthwise(k) => k
                .forward(&x.data, n, (h, w), act)
                .map(|(y, hw)| (y, k.out_channels(), hw)),
            Run::StemPool { bn } => match &self.fused[*bn] {
                Some(Fused::ConvBn { kernel, .. }) => kernel
                    .forward_relu_pooled(&x.data, n, (h, w))
                    .map(|(y, hw)| (y, kernel.cfg.out_channels, hw)),
                None => None,
            },
        };
        let (y, channels, (oh, ow)) =
            ran.ok_or_else(|| refused(format!("does not fit an input of {:?}", x.shape)))?;
        Ok(Val::new(y, vec![n, channels, oh, ow]))
    }

    /// Whether node `i` is a convolution, or a batch norm computed as one.
    fn runs_conv(&self, i: NodeId) -> bool {
        matches!(self.ops[i], Op::Conv(_)) || self.fused[i].is_some()
    }

    /// For an addition, the input computed inside it, as `(input, convolution)`: the
    /// first input that is a convolution (or a folded batch norm), or blocks passing one
    /// on unchanged (MobileNet's and EfficientNet's `Sequential`s), each read by nothing
    /// else and not kept. The convolution's kernel then adds the other input in its
    /// store. Addition never reads its inputs in the reverse pass, so traces fuse it too.
    fn add_conv_input(&self, add: NodeId, keep: &[bool]) -> Option<(NodeId, NodeId)> {
        if !matches!(self.ops[add], Op::Add) {
            return None;
        }
        let [Src::Node(a), b] = self.spec.nodes[add].inputs.as_slice() else {
            return None;
        };
        let candidates = std::iter::once(*a).chain(match b {
            Src::Node(b) => Some(*b),
            Src::Input => None,
        });
        candidates
            .into_iter()
            .find_map(|j| Some((j, self.conv_inside(j, add, keep)?)))
    }

    /// The convolution node `j` is, or passes on through blocks, when `j` and each node
    /// on the way are read only by the next one (`j` by `reader`) and not kept.
    fn conv_inside(&self, j: NodeId, reader: NodeId, keep: &[bool]) -> Option<NodeId> {
        if keep[j] || self.consumers[j].as_slice() != [reader] {
            return None;
        }
        if self.runs_conv(j) {
            return Some(j);
        }
        match (&self.ops[j], self.spec.nodes[j].inputs.as_slice()) {
            (Op::Identity, [Src::Node(k)]) => self.conv_inside(*k, j, keep),
            _ => None,
        }
    }

    /// Whether node `i` is the convolution an addition computes inside it, or a block
    /// between the two ([`Self::add_conv_input`]).
    fn inside_add(&self, i: NodeId, keep: &[bool]) -> bool {
        let mut at = i;
        let add = loop {
            let [only] = self.consumers[at].as_slice() else {
                return false;
            };
            match self.ops[*only] {
                Op::Add => break *only,
                Op::Identity => at = *only,
                _ => return false,
            }
        };
        let Some((input, conv)) = self.add_conv_input(add, keep) else {
            return false;
        };
        // The nodes from the convolution to the addition's input, each read only by the
        // next.
        let mut on_way = conv;
        loop {
            if on_way == i {
                return true;
            }
            if on_way == input {
                return false;
            }
            on_way = self.consumers[on_way][0];
        }
    }

    /// Releases what node `i` read in a plain pass: the reader counts of its inputs, or,
    /// for a skipped input computed inside `i`, of that input's own inputs.
    fn release(
        &self,
        i: NodeId,
        keep: &[bool],
        mode: Mode,
        to: NodeId,
        readers: &mut [usize],
        values: &mut [Option<Val>],
    ) {
        for s in &self.spec.nodes[i].inputs {
            let Src::Node(j) = *s else { continue };
            if values[j].is_none() && self.skipped(j, keep, mode) {
                self.release(j, keep, mode, to, readers, values);
                continue;
            }
            readers[j] = readers[j].saturating_sub(1);
            if readers[j] == 0 && !keep[j] && j != to {
                values[j] = None;
            }
        }
    }

    /// Computes node `i` (or, when it absorbs its producers, the whole fused run) from the
    /// values available. Returns the value of node `i`.
    fn compute(
        &self,
        i: NodeId,
        get: &dyn Fn(Src) -> Result<Val>,
        fuse_act: bool,
        (keep, mode): (&[bool], Mode),
    ) -> Result<Val> {
        let node = &self.spec.nodes[i];
        // An activation whose producer was skipped runs inside that producer's kernel.
        if let (Op::Act(a), [Src::Node(p)]) = (&self.ops[i], node.inputs.as_slice()) {
            if fuse_act {
                if let (Op::BatchNorm { affine, .. }, false) = (&self.ops[*p], self.runs_conv(*p)) {
                    let x = get(self.spec.nodes[*p].inputs[0])?;
                    let plane = x.view().plane();
                    let y = affine.forward_then(&x.data, plane, *a);
                    return Ok(Val::new(y, x.shape.clone()));
                }
                if let Some(chain) = self.active_chain(*p, keep, mode) {
                    return self.chain_run(*p, chain, get, Some(*a));
                }
                return match self.add_conv_input(*p, keep) {
                    Some(read) => self.add_run(*p, read, get, Some(*a)),
                    None => self.conv_run(*p, get, Some(*a)),
                };
            }
        }
        if let Some(read) = self.add_conv_input(i, keep) {
            return self.add_run(i, read, get, None);
        }
        if let Some(chain) = self.active_chain(i, keep, mode) {
            return self.chain_run(i, chain, get, None);
        }
        if matches!(self.fused[i], Some(Fused::ConvBn { .. })) || matches!(self.ops[i], Op::Conv(_))
        {
            return self.conv_run(i, get, None);
        }
        // Blocks, dropout and flatten pass their input's values on without a copy.
        if let (Op::Identity | Op::Flatten, [src]) = (&self.ops[i], node.inputs.as_slice()) {
            let x = get(*src)?;
            let shape = match self.ops[i] {
                Op::Flatten => vec![x.shape[0], x.data.len() / x.shape[0].max(1)],
                _ => x.shape.clone(),
            };
            return Ok(Val {
                data: x.data,
                shape,
            });
        }
        let inputs = node
            .inputs
            .iter()
            .map(|s| get(*s))
            .collect::<Result<Vec<_>>>()?;
        let views: Vec<Value> = inputs.iter().map(Val::view).collect();
        let (data, shape) = self.ops[i].forward(&views).map_err(|e| self.at(i, e))?;
        Ok(Val::new(data, shape))
    }

    /// The addition `add` whose input `input` runs inside it as convolution `conv`: the
    /// convolution with the other input added in its store, then `act`.
    fn add_run(
        &self,
        add: NodeId,
        (input, conv): (NodeId, NodeId),
        get: &dyn Fn(Src) -> Result<Val>,
        act: Option<Activation>,
    ) -> Result<Val> {
        let other = self.spec.nodes[add]
            .inputs
            .iter()
            .find(|s| **s != Src::Node(input))
            .copied()
            .unwrap_or(Src::Node(input));
        let residual = get(other)?;
        self.conv_run_with(conv, get, Some(&residual), act)
            .map_err(|e| self.at(add, e))
    }

    /// Node `i` (a convolution, or a batch norm that absorbs one) from the convolution's
    /// input, with `act` applied inside.
    fn conv_run(
        &self,
        i: NodeId,
        get: &dyn Fn(Src) -> Result<Val>,
        act: Option<Activation>,
    ) -> Result<Val> {
        self.conv_run_with(i, get, None, act)
    }

    /// [`Self::conv_run`] with `residual` added before `act`.
    fn conv_run_with(
        &self,
        i: NodeId,
        get: &dyn Fn(Src) -> Result<Val>,
        residual: Option<&Val>,
        act: Option<Activation>,
    ) -> Result<Val> {
        let (conv, kernel) = match (&self.fused[i], &self.ops[i]) {
            (Some(Fused::ConvBn { conv, kernel }), _) => (*conv, Some(kernel)),
            (None, Op::Conv(_)) => (i, None),
            _ => {
                return Err(Error::Input(format!(
                    "{} is not a convolution",
                    self.name(i)
                )))
            }
        };
        let x = get(self.spec.nodes[conv].inputs[0])?;
        let v = x.view();
        let [n, _, h, w] = x.shape[..] else {
            return Err(self.at(
                conv,
                Error::Input(format!("needs a [N, C, H, W] input, got {:?}", x.shape)),
            ));
        };
        let residual = residual.map(|r| r.data.as_slice());
        let (data, (oh, ow), out) = match (kernel, &self.ops[conv]) {
            (Some(k), _) => {
                let (y, hw) = k
                    .forward_fused(v.data, n, (h, w), residual, act)
                    .map_err(|e| self.at(i, e))?;
                (y, hw, k.cfg.out_channels)
            }
            (None, Op::Conv(c)) => {
                let (y, hw) = c
                    .forward_fused(v.data, n, (h, w), residual, act)
                    .map_err(|e| self.at(i, e))?;
                (y, hw, c.cfg.out_channels)
            }
            _ => unreachable!("conv_run is called on convolutions only"),
        };
        Ok(Val::new(data, vec![n, out, oh, ow]))
    }

    fn at(&self, i: NodeId, e: Error) -> Error {
        match e {
            Error::Input(m) => Error::Input(format!(
                "{} ({}): {m}",
                self.name(i),
                self.spec.nodes[i].kind.class()
            )),
            other => other,
        }
    }

    /// Runs nodes `from..=to` given `sources` (the input and/or a node that cuts the
    /// graph), keeping the nodes marked in `keep` (everything computed, in a trace), and
    /// calling `on_node` after each node (or fused run) is computed.
    fn execute_observed(
        &self,
        sources: &[(Src, Val)],
        from: NodeId,
        to: NodeId,
        keep: &[bool],
        mode: Mode,
        on_node: &mut dyn FnMut(NodeId) -> Result<()>,
    ) -> Result<Vec<Option<Val>>> {
        let mut values: Vec<Option<Val>> = vec![None; self.len()];
        let mut input = None;
        for (src, v) in sources {
            match src {
                Src::Input => input = Some(v.clone()),
                Src::Node(i) => values[*i] = Some(v.clone()),
            }
        }
        // Plain passes free a value once its last reader has run.
        let mut readers: Vec<usize> = self.consumers.iter().map(Vec::len).collect();
        for i in from..=to {
            if values[i].is_some() || self.skipped(i, keep, mode) {
                continue;
            }
            let get = |s: Src| -> Result<Val> {
                match s {
                    Src::Input => input.clone().ok_or_else(|| Error::Input("this pass starts after the input".into())),
                    Src::Node(j) => values[j].clone().ok_or_else(|| {
                        Error::Input(format!(
                            "{} reads {}, which this pass does not compute (a range must start at a node that cuts the graph)",
                            self.name(i),
                            self.name(j)
                        ))
                    }),
                }
            };
            // An activation whose producer was skipped runs inside the producer's kernel.
            let fuse_act = matches!(self.spec.nodes[i].inputs.as_slice(), [Src::Node(p)] if self.skipped(*p, keep, mode));
            let v = self.compute(i, &get, fuse_act, (keep, mode))?;
            values[i] = Some(v);
            on_node(i)?;
            if mode == Mode::Plain {
                self.release(i, keep, mode, to, &mut readers, &mut values);
            }
        }
        Ok(values)
    }

    fn keep_mask(&self, keep: &[NodeId]) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for k in keep {
            if *k < mask.len() {
                mask[*k] = true;
            }
        }
        mask
    }

    /// The outputs of `nodes` for the input `x` (`[N, C, H, W]`).
    pub fn forward_nodes(&self, x: &Val, nodes: &[NodeId]) -> Result<Vec<Val>> {
        self.forward_nodes_watched(x, nodes, &mut |_| Ok(()))
    }

    /// [`Graph::forward_nodes`], calling `on_node(i)` after node `i` (or the fused run
    /// that ends at it) is computed; an `Err` from it (a cancel) stops the pass.
    pub fn forward_nodes_watched(
        &self,
        x: &Val,
        nodes: &[NodeId],
        on_node: &mut dyn FnMut(NodeId) -> Result<()>,
    ) -> Result<Vec<Val>> {
        self.check_input(&x.shape)?;
        let to = nodes.iter().copied().max().unwrap_or(0).min(self.len() - 1);
        let mut keep = self.keep_mask(nodes);
        keep[to] = true;
        let values = self.execute_observed(
            &[(Src::Input, x.clone())],
            0,
            to,
            &keep,
            Mode::Plain,
            on_node,
        )?;
        nodes
            .iter()
            .map(|n| {
                values[*n]
                    .clone()
                    .ok_or_else(|| Error::Input(format!("{} was not computed", self.name(*n))))
            })
            .collect()
    }

    /// Logits for `x`, calling `on_node(i)` right after node `i` (or the fused run that
    /// ends at it) is computed: benchmarks time the nodes by the gaps between calls.
    pub fn forward_observed(&self, x: &Val, on_node: &mut dyn FnMut(NodeId)) -> Result<Val> {
        self.check_input(&x.shape)?;
        let to = self.output();
        let mut keep = vec![false; self.len()];
        keep[to] = true;
        let mut values = self.execute_observed(
            &[(Src::Input, x.clone())],
            0,
            to,
            &keep,
            Mode::Plain,
            &mut |i| {
                on_node(i);
                Ok(())
            },
        )?;
        values[to]
            .take()
            .ok_or_else(|| Error::Input(format!("{} was not computed", self.name(to))))
    }

    /// The output of `node` for the input `x`.
    pub fn forward_to(&self, x: &Val, node: NodeId) -> Result<Val> {
        Ok(self.forward_nodes(x, &[node])?.remove(0))
    }

    /// Logits `[N, classes]`.
    pub fn forward(&self, x: &Val) -> Result<Val> {
        self.forward_to(x, self.output())
    }

    /// The output of `to`, given the output of `start` (a node that cuts the graph:
    /// nothing after it reads anything before it).
    pub fn forward_from(&self, start: NodeId, value: Val, to: NodeId) -> Result<Val> {
        let mut keep = vec![false; self.len()];
        keep[to] = true;
        let values = self.execute_observed(
            &[(Src::Node(start), value)],
            start + 1,
            to,
            &keep,
            Mode::Plain,
            &mut |_| Ok(()),
        )?;
        values[to]
            .clone()
            .ok_or_else(|| Error::Input(format!("{} was not computed", self.name(to))))
    }

    /// The first node of the classifier head (global pooling, flatten or linear).
    pub fn head_start(&self) -> NodeId {
        self.spec.head_start()
    }

    /// The node whose output the head reads: the end of the features.
    pub fn features_end(&self) -> NodeId {
        match self
            .spec
            .nodes
            .get(self.head_start())
            .map(|n| n.inputs.as_slice())
        {
            Some([Src::Node(i)]) => *i,
            _ => self.head_start().saturating_sub(1),
        }
    }

    /// Logits `[N, classes]` from the output of the features ([`Self::features_end`]).
    pub fn head(&self, features: Val) -> Result<Val> {
        self.forward_from(self.features_end(), features, self.output())
    }

    /// Whether nothing after `node` reads anything before it ([`GraphSpec::cuts`]): a
    /// pass can start from its output.
    pub fn cuts(&self, node: NodeId) -> bool {
        self.spec.cuts(node)
    }

    /// [`Self::trace`] for a reverse pass that stops at `start` or later: a plain pass
    /// (fused, nothing kept) to `start` where it cuts the graph ([`Self::cuts`]), then
    /// the trace; a full trace where it does not. Nodes before `start` are computed
    /// from the input if asked for ([`Self::value`]). Grad-CAM on MobileNetV2 took 1.43x
    /// a forward pass, 1.06x this way, its peak RSS 55 -> 34 MB, and the forward pass
    /// after it 5.3 -> 4.7 ms (its trace left the heap as a forward pass leaves it).
    pub fn trace_after(&self, x: &Val, start: NodeId, to: NodeId) -> Result<Trace> {
        let to = to.min(self.len() - 1);
        if start >= to || !self.cuts(start) {
            return self.trace(x, to);
        }
        let at = self.forward_to(x, start)?;
        // Kept, so no node after it computes it again inside itself (an activation fused
        // with its batch norm: DenseNet's norm5 and relu).
        let mut keep = vec![false; self.len()];
        keep[start] = true;
        let sources = [(Src::Input, x.clone()), (Src::Node(start), at)];
        self.traced(x, &sources, (start + 1, to), &keep)
    }

    /// A forward pass through `to`, keeping every node's output for the reverse pass.
    pub fn trace(&self, x: &Val, to: NodeId) -> Result<Trace> {
        let to = to.min(self.len() - 1);
        let keep = vec![false; self.len()];
        self.traced(x, &[(Src::Input, x.clone())], (0, to), &keep)
    }

    /// The trace of nodes `from..=to` of input `x` given `sources`, keeping `keep` too.
    fn traced(
        &self,
        x: &Val,
        sources: &[(Src, Val)],
        (from, to): (NodeId, NodeId),
        keep: &[bool],
    ) -> Result<Trace> {
        let shapes = self.check_input(&x.shape)?;
        let values =
            self.execute_observed(sources, from, to, keep, Mode::Trace, &mut |_| Ok(()))?;
        Ok(Trace {
            input: x.clone(),
            values: values
                .into_iter()
                .map(|v| v.map_or_else(OnceLock::new, OnceLock::from))
                .collect(),
            shapes,
            last: to,
        })
    }

    /// Reverse pass: given `seed`, the gradient of a score with respect to the output of
    /// `top`, the gradient with respect to `stop` (the input, or a node's output), in its
    /// shape. Nodes whose output does not lead to `top` get no gradient (zeros at `stop`).
    pub fn backward(
        &self,
        trace: &Trace,
        top: NodeId,
        seed: Vec<f32>,
        stop: Stop,
        rule: ReluGrad,
    ) -> Result<Val> {
        self.backward_observed(trace, top, seed, stop, rule, &mut |_| {})
    }

    /// [`Self::backward`], calling `on_node(i)` right after node `i`'s input gradients are
    /// computed and accumulated.
    pub fn backward_observed(
        &self,
        trace: &Trace,
        top: NodeId,
        seed: Vec<f32>,
        stop: Stop,
        rule: ReluGrad,
        on_node: &mut dyn FnMut(NodeId),
    ) -> Result<Val> {
        if top > trace.last {
            return Err(Error::Input(format!(
                "reverse pass from {} beyond the traced nodes (up to {})",
                self.name(top),
                self.name(trace.last)
            )));
        }
        let low = match stop {
            Stop::Input => 0,
            Stop::Node(l) if l <= top => l + 1,
            Stop::Node(l) => {
                return Err(Error::Input(format!(
                    "{} comes after {}",
                    self.name(l),
                    self.name(top)
                )));
            }
        };
        if seed.len() != trace.shapes[top].iter().product::<usize>() {
            return Err(Error::Input(format!(
                "the gradient seed has {} values, {} has shape {:?}",
                seed.len(),
                self.name(top),
                trace.shapes[top]
            )));
        }
        let mut grads: Vec<Option<Vec<f32>>> = vec![None; top + 1];
        grads[top] = Some(seed);
        let mut input_grad: Option<Vec<f32>> = None;
        let empty: Vec<f32> = Vec::new();
        for i in (low..=top).rev() {
            let Some(g) = grads[i].take() else { continue };
            let op = &self.ops[i];
            let node = &self.spec.nodes[i];
            let reads = op.backward_reads_inputs();
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for s in &node.inputs {
                let shape = match s {
                    Src::Input => trace.input.shape.clone(),
                    Src::Node(j) => trace.shapes[*j].clone(),
                };
                let data = if reads {
                    Some(self.value(trace, *s)?)
                } else {
                    None
                };
                inputs.push((data, shape));
            }
            // Output-derivable activations read their output; pass it as their input too.
            let out = if matches!(op, Op::Act(_)) {
                Some(self.value(trace, Src::Node(i))?)
            } else {
                None
            };
            let views: Vec<Value> = inputs
                .iter()
                .map(|(d, shape)| Value {
                    data: d.as_ref().map_or_else(
                        || out.as_ref().map_or(empty.as_slice(), |o| o.data.as_slice()),
                        |v| v.data.as_slice(),
                    ),
                    shape,
                })
                .collect();
            let y = out.as_ref().map_or(empty.as_slice(), |o| o.data.as_slice());
            let gin = op
                .backward(&views, y, &g, rule)
                .map_err(|e| self.at(i, e))?;
            drop(g);
            for (s, gi) in node.inputs.iter().zip(gin) {
                let slot = match s {
                    Src::Input => &mut input_grad,
                    Src::Node(j) if *j >= low || matches!(stop, Stop::Node(l) if l == *j) => {
                        &mut grads[*j]
                    }
                    Src::Node(_) => continue,
                };
                match slot {
                    Some(acc) => acc.iter_mut().zip(&gi).for_each(|(a, b)| *a += b),
                    None => *slot = Some(gi),
                }
            }
            on_node(i);
        }
        let (grad, shape) = match stop {
            Stop::Input => (input_grad, trace.input.shape.clone()),
            Stop::Node(l) => (grads[l].take(), trace.shapes[l].clone()),
        };
        let len = shape.iter().product();
        Ok(Val::new(grad.unwrap_or_else(|| vec![0.0; len]), shape))
    }

    /// The value of `s` in `trace`, computing a skipped node from its inputs on demand.
    pub fn value(&self, trace: &Trace, s: Src) -> Result<Val> {
        let i = match s {
            Src::Input => return Ok(trace.input.clone()),
            Src::Node(i) => i,
        };
        if i > trace.last {
            return Err(Error::Input(format!(
                "{} comes after the traced nodes",
                self.name(i)
            )));
        }
        if let Some(v) = trace.values[i].get() {
            return Ok(v.clone());
        }
        // Computed alone: no fusion, so each input is its own value.
        let v = match &self.ops[i] {
            Op::Conv(c) => {
                let x = self.value(trace, self.spec.nodes[i].inputs[0])?;
                let [n, _, h, w] = x.shape[..] else {
                    return Err(Error::Input(format!(
                        "{} needs a [N, C, H, W] input",
                        self.name(i)
                    )));
                };
                let (y, (oh, ow)) = c.forward(&x.data, n, (h, w), None)?;
                Val::new(y, vec![n, c.cfg.out_channels, oh, ow])
            }
            op => {
                let inputs = self.spec.nodes[i]
                    .inputs
                    .iter()
                    .map(|s| self.value(trace, *s))
                    .collect::<Result<Vec<_>>>()?;
                let views: Vec<Value> = inputs.iter().map(Val::view).collect();
                let (data, shape) = op.forward(&views).map_err(|e| self.at(i, e))?;
                Val::new(data, shape)
            }
        };
        Ok(trace.values[i].get_or_init(|| v).clone())
    }

    /// A copy whose nodes named in `new` get new tensors, each given with its shape (the
    /// sanity check's randomisation; hand-made test networks). Every name, tensor count
    /// and shape is checked against the state dict.
    pub fn with_params(&self, new: &HashMap<String, ShapedParams>) -> Result<Graph> {
        let mut replaced: HashMap<NodeId, Params> = HashMap::new();
        for (name, tensors) in new {
            let node = self.node(name)?;
            let names = &self.spec.nodes[node].params;
            if names.is_empty() {
                return Err(Error::Input(format!("layer `{name}` has no parameters")));
            }
            if names.len() != tensors.len() {
                return Err(Error::Input(format!(
                    "layer `{name}` has {} tensors ({}), {} given",
                    names.len(),
                    names.join(", "),
                    tensors.len()
                )));
            }
            for (param, (shape, values)) in names.iter().zip(tensors) {
                let expected = self
                    .spec
                    .state
                    .iter()
                    .find(|e| &e.name == param)
                    .map_or(vec![], |e| e.shape.clone());
                if *shape != expected || values.len() != shape.iter().product::<usize>() {
                    return Err(Error::TensorShape {
                        name: param.clone(),
                        expected,
                        found: shape.clone(),
                    });
                }
            }
            replaced.insert(node, tensors.iter().map(|(_, v)| v.clone()).collect());
        }
        let mut params = HashMap::new();
        for (i, n) in self.spec.nodes.iter().enumerate() {
            let tensors: Vec<Vec<f32>> = match replaced.remove(&i) {
                Some(p) => p,
                None => self.ops[i]
                    .tensors()
                    .into_iter()
                    .map(|(_, v)| v.to_vec())
                    .collect(),
            };
            for (name, v) in n.params.iter().zip(tensors) {
                params.insert(name.clone(), v);
            }
        }
        Graph::new(self.arch.clone(), self.spec.clone(), params)
    }

    /// The shapes of node `i`'s tensors, in the order its op takes them.
    pub fn param_shapes(&self, i: NodeId) -> Vec<Vec<usize>> {
        self.spec.nodes[i]
            .params
            .iter()
            .map(|p| {
                self.spec
                    .state
                    .iter()
                    .find(|e| &e.name == p)
                    .map_or(vec![], |e| e.shape.clone())
            })
            .collect()
    }
}

/// A node's tensors with their shapes, in the order its op takes them.
pub type ShapedParams = Vec<(Vec<usize>, Vec<f32>)>;

impl Trace {
    /// Bytes of the values kept.
    pub fn bytes(&self) -> usize {
        4 * self
            .values
            .iter()
            .filter_map(|v| v.get())
            .map(|v| v.data.len())
            .sum::<usize>()
    }

    /// The shape of node `i`'s output (batch first).
    pub fn shape(&self, i: NodeId) -> &[usize] {
        &self.shapes[i]
    }

    /// Bytes of the pass's largest activation through [`Self::last`] (or of the input),
    /// from the shapes: whether it was kept or not. A trace from a layer on
    /// ([`Graph::trace_after`]) keeps none of the larger maps before it, and batches sized
    /// by the values kept would have outgrown their memory.
    pub fn largest_bytes(&self) -> usize {
        4 * self.shapes[..=self.last]
            .iter()
            .map(|s| s.iter().product::<usize>())
            .max()
            .unwrap_or(0)
            .max(self.input.data.len())
    }
}
