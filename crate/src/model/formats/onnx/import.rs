//! An ONNX graph made into a [`GraphSpec`] and its tensors: each ONNX value becomes a
//! node of ours, a constant the importer folds, or an elementwise chain kept until it is
//! known which activation it spells (`expr.rs`). Nodes are named after PyTorch's module
//! scopes (`scope.rs`); where a value leaves a module, that module's output becomes a
//! block node of its own name, as the families' builders make them, so that a layer name
//! means the same node in a torchvision weights file and in its ONNX export. The
//! operators themselves are in `ops.rs`.

use super::consts::{Const, Num, MAX_FOLD};
use super::expr::{Expr, Identified};
use super::proto::{self, Node};
use super::scope::{self, Scope};
use super::tensor;
use crate::error::{Error, Result};
use crate::model::graph::{GraphSpec, Kind, NodeSpec, Src, StateEntry};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// How a 4-D value's axes are ordered in the ONNX graph. Our nodes always hold
/// `[N, C, H, W]` data; a value seen through a `Transpose` to channels-last keeps its
/// node and only changes how ONNX axes map onto it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// What an ONNX value is to the importer.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// The output of one of our nodes (or the model's input).
    Node { src: Src, layout: Layout },
    /// An elementwise function of a node's output, not yet a node (`at`: the ONNX node
    /// that computed it, whose scope names the node it becomes).
    Expr {
        src: Src,
        layout: Layout,
        expr: Rc<Expr>,
        at: usize,
    },
    /// A map flattened together with its batch (`Reshape` to `[-1]`): only read by the
    /// exporter's spelling of an identity (`Gather` of every index, from `as_strided`).
    FlatAll { src: Src },
    /// A tensor of the file (initializer or `Constant`), decoded when needed.
    Tensor(&'a proto::Tensor<'a>),
    /// A small constant the importer computed.
    Const(Const),
}

pub struct Importer<'a> {
    pub(super) graph: &'a proto::Graph<'a>,
    pub(super) opset: i64,
    pub(super) external: &'a dyn Fn(&str) -> Option<&'a [u8]>,
    pub(super) spec: GraphSpec,
    pub(super) params: HashMap<String, Vec<f32>>,
    /// Output shape of each of our nodes (batch left out) at the import size.
    pub(super) shapes: Vec<Vec<usize>>,
    pub(super) input_shape: Vec<usize>,
    /// Whether the file fixes the batch at 1 (then a `Reshape` to `[1, -1]` flattens).
    pub(super) batch_is_one: bool,
    values: HashMap<&'a str, Value<'a>>,
    initializers: HashMap<&'a str, &'a proto::Tensor<'a>>,
    producer: HashMap<&'a str, usize>,
    pub(super) uses: HashMap<&'a str, usize>,
    scopes: Vec<Scope>,
    /// Module paths that hold other modules: an op in one of them is a functional op of
    /// its `forward` (named `module.op`), not the module itself.
    containers: HashSet<String>,
    /// Every module path of the graph.
    modules: HashSet<String>,
    /// How many of our nodes each module path has produced.
    emitted: HashMap<String, usize>,
    taken: HashMap<String, usize>,
    blocks: HashMap<(String, Src), Src>,
    /// Names of the nodes made by an op of a module's `forward` (`relu` for DenseNet's
    /// final `F.relu`, `layer1.0.add`) rather than by a module of their own.
    functional: HashSet<String>,
}

/// The operators the importer reads, for messages.
pub const SUPPORTED: &[&str] = &[
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "Conv",
    "Div",
    "Dropout",
    "Erf",
    "Flatten",
    "Gather",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LayerNormalization",
    "MatMul",
    "MaxPool",
    "Mul",
    "ReduceMean",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Squeeze",
    "Sub",
    "Transpose",
    "Unsqueeze",
];

pub fn onnx_error(msg: impl Into<String>) -> Error {
    Error::Onnx(msg.into())
}

impl<'a> Importer<'a> {
    pub fn new(
        graph: &'a proto::Graph<'a>,
        opset: i64,
        external: &'a dyn Fn(&str) -> Option<&'a [u8]>,
        input: &'a str,
        input_shape: Vec<usize>,
        batch_is_one: bool,
    ) -> Self {
        let scopes: Vec<Scope> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| scope::of(n, i))
            .collect();
        let mut containers = HashSet::new();
        let mut modules = HashSet::new();
        for s in &scopes {
            for m in s.modules.iter().rev().skip(1) {
                containers.insert(m.clone());
            }
            modules.extend(s.modules.iter().cloned());
        }
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for n in &graph.nodes {
            for i in n.inputs.iter().filter(|i| !i.is_empty()) {
                *uses.entry(i.as_str()).or_default() += 1;
            }
        }
        for o in &graph.outputs {
            *uses.entry(o.name.as_str()).or_default() += 1;
        }
        let mut values = HashMap::new();
        values.insert(
            input,
            Value::Node {
                src: Src::Input,
                layout: Layout::Nchw,
            },
        );
        Importer {
            graph,
            opset,
            external,
            spec: GraphSpec {
                arch: String::new(),
                family: "onnx",
                in_channels: input_shape[0],
                classes: 0,
                size: input_shape[1],
                nodes: Vec::new(),
                state: Vec::new(),
                cam_layer: 0,
                keras_names: HashMap::new(),
            },
            params: HashMap::new(),
            shapes: Vec::new(),
            input_shape,
            batch_is_one,
            values,
            initializers: graph
                .initializers
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            producer: HashMap::new(),
            uses,
            scopes,
            containers,
            modules,
            emitted: HashMap::new(),
            taken: HashMap::new(),
            blocks: HashMap::new(),
            functional: HashSet::new(),
        }
    }

    /// "node `node_Conv_12` (Conv, in layer1.0.bn1)" for messages.
    pub(super) fn describe(&self, at: usize) -> String {
        let n = &self.graph.nodes[at];
        let name = if n.name.is_empty() {
            format!("#{at}")
        } else {
            format!("`{}`", n.name)
        };
        match self.scopes[at].modules.last() {
            Some(m) => format!("node {name} ({}, in {m})", n.op_type),
            None => format!("node {name} ({})", n.op_type),
        }
    }

    pub(super) fn fail(&self, at: usize, why: impl std::fmt::Display) -> Error {
        onnx_error(format!("{}: {why}", self.describe(at)))
    }

    /// Converts every node, in the file's order (ONNX requires a topological one).
    pub fn run(&mut self) -> Result<()> {
        for (at, node) in self.graph.nodes.iter().enumerate() {
            let outs = self.op(at, node)?;
            for (k, name) in node.outputs.iter().enumerate() {
                if name.is_empty() {
                    continue;
                }
                match outs.get(k) {
                    Some(v) => {
                        self.values.insert(name.as_str(), v.clone());
                        self.producer.insert(name.as_str(), at);
                    }
                    None if self.uses.get(name.as_str()).copied().unwrap_or(0) > 0 => {
                        return Err(self.fail(at, format!("its output {k} (`{name}`) is read by another node, but the engine computes only the first output of {}", node.op_type)));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    /// The ONNX shape of a node's output without the batch, in the value's layout.
    pub(super) fn view(&self, src: Src, layout: Layout) -> Vec<usize> {
        let s = self.shape(src);
        match (layout, s) {
            (Layout::Nhwc, [c, h, w]) => vec![*h, *w, *c],
            _ => s.to_vec(),
        }
    }

    pub(super) fn shape(&self, src: Src) -> &[usize] {
        match src {
            Src::Input => &self.input_shape,
            Src::Node(i) => &self.shapes[i],
        }
    }

    /// The value of `node`'s `k`-th input, `None` when the optional input is absent.
    /// A value leaving a module on the way passes through that module's block node.
    pub(super) fn arg(&mut self, at: usize, k: usize) -> Result<Option<Value<'a>>> {
        let node: &'a Node<'a> = &self.graph.nodes[at];
        let Some(name) = node.inputs.get(k).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let name = name.as_str();
        let v = match self.values.get(name) {
            Some(v) => v.clone(),
            None => match self.initializers.get(name) {
                Some(t) => Value::Tensor(t),
                None => {
                    return Err(self.fail(
                        at,
                        format!("reads `{name}`, which no node or initializer provides"),
                    ))
                }
            },
        };
        let exits = self.exits(name, &self.scopes[at].modules.clone());
        if exits.is_empty() || !matches!(v, Value::Node { .. } | Value::Expr { .. }) {
            return Ok(Some(v));
        }
        let (src, layout) = self.materialize(name)?;
        Ok(Some(Value::Node {
            src: self.through_blocks(name, src, &exits)?,
            layout,
        }))
    }

    /// `arg`, which must be present.
    pub(super) fn need(&mut self, at: usize, k: usize) -> Result<Value<'a>> {
        self.arg(at, k)?
            .ok_or_else(|| self.fail(at, format!("input {k} is missing")))
    }

    /// The modules the value `name` leaves on its way into a node inside `into`: those
    /// of its producer beyond the modules both share, outermost first (with each
    /// module's class).
    fn exits(&self, name: &str, into: &[String]) -> Vec<(String, String)> {
        let Some(p) = self.producer.get(name) else {
            return Vec::new();
        };
        let s = &self.scopes[*p];
        let common = s
            .modules
            .iter()
            .zip(into)
            .take_while(|(a, b)| a == b)
            .count();
        s.modules[common..]
            .iter()
            .cloned()
            .zip(s.classes[common..].iter().cloned())
            .collect()
    }

    /// `src` as it leaves the modules `exits` (innermost last): the block node of each
    /// module that made nodes of ours, unless `src` is already named after it.
    fn through_blocks(
        &mut self,
        _name: &str,
        mut src: Src,
        exits: &[(String, String)],
    ) -> Result<Src> {
        for (module, class) in exits.iter().rev() {
            let Src::Node(i) = src else { continue };
            // A module's own node (`relu`, or `relu:1` when applied again) needs no block.
            let own = &self.spec.nodes[i].name;
            let named_after = own == module
                || own
                    .strip_prefix(module.as_str())
                    .is_some_and(|rest| rest.starts_with(':'));
            if self.emitted.get(module).copied().unwrap_or(0) == 0 || named_after {
                continue;
            }
            if let Some(b) = self.blocks.get(&(module.clone(), src)) {
                src = *b;
                continue;
            }
            let name = self.unique(module);
            let block = self.push(
                name,
                Kind::Block {
                    class: class.clone(),
                },
                vec![src],
                Vec::new(),
                None,
            )?;
            self.blocks.insert((module.clone(), src), block);
            src = block;
        }
        Ok(src)
    }

    /// The value `name` as one of our nodes: an elementwise chain becomes the node of the
    /// activation it computes (and the value is that node from then on).
    pub(super) fn materialize(&mut self, name: &str) -> Result<(Src, Layout)> {
        let v = self.values.get(name).cloned();
        let at = self.producer.get(name).copied();
        match v {
            Some(Value::Node { src, layout }) => Ok((src, layout)),
            Some(Value::Expr { src, layout, expr, at }) => {
                let made = self.expr_node(at, src, &expr)?;
                if let Some(key) = self.graph.nodes[at].outputs.iter().find(|o| o.as_str() == name) {
                    self.values.insert(key.as_str(), Value::Node { src: made, layout });
                }
                Ok((made, layout))
            }
            Some(Value::FlatAll { .. }) => Err(onnx_error(format!(
                "`{name}` flattens a map together with its batch; only the exporter's Gather of every index may read it"
            ))),
            _ => Err(match at {
                Some(at) => self.fail(at, format!("its output `{name}` is a constant where a computed value was expected")),
                None => onnx_error(format!("`{name}` is a constant where a computed value was expected")),
            }),
        }
    }

    /// The node for the chain `expr` of `src`, named after the ONNX node `at`.
    fn expr_node(&mut self, at: usize, src: Src, expr: &Expr) -> Result<Src> {
        match expr.identify() {
            Some(Identified::Identity) => Ok(src),
            Some(Identified::Act(a)) => self.emit(at, Kind::Act(a), vec![src], Vec::new()),
            Some(Identified::Scale(s)) => {
                let c = self.channels_of(src);
                self.emit(at, Kind::LayerScale { channels: c }, vec![src], vec![("weight", vec![c, 1, 1], vec![s as f32; c])])
            }
            None => Err(self.fail(
                at,
                "its chain of elementwise operators computes none of the activations the engine runs (ReLU, ReLU6, sigmoid, SiLU, hard swish, hard sigmoid, exact GELU) nor a scale",
            )),
        }
    }

    /// Channels of a node's output (features of a flat one).
    pub(super) fn channels_of(&self, src: Src) -> usize {
        self.shape(src).first().copied().unwrap_or(1)
    }

    /// The name a new node of ONNX node `at` gets (see the module docs), and whether it
    /// is an op of a module's `forward` rather than a module of its own.
    fn node_name(&self, at: usize) -> (String, bool) {
        let s = &self.scopes[at];
        match s.modules.last() {
            Some(m) if !self.containers.contains(m) => (m.clone(), false),
            Some(m) => (format!("{m}.{}", s.op), true),
            None => (s.op.clone(), s.scoped),
        }
    }

    /// `base`, or `base:k` for its later uses (a module applied again, as the builders).
    fn unique(&mut self, base: &str) -> String {
        let count = self.taken.entry(base.to_string()).or_insert(0);
        let name = if *count == 0 {
            base.to_string()
        } else {
            format!("{base}:{count}")
        };
        *count += 1;
        name
    }

    /// Adds a node for ONNX node `at` with its tensors (leaf name, shape, values).
    pub(super) fn emit(
        &mut self,
        at: usize,
        kind: Kind,
        inputs: Vec<Src>,
        tensors: Vec<(&str, Vec<usize>, Vec<f32>)>,
    ) -> Result<Src> {
        let (name, functional) = self.node_name(at);
        self.emit_as(at, name, functional, kind, inputs, tensors)
    }

    /// [`Self::emit`] under the name `base` (made unique). A global average pool written
    /// in a `forward` (torchvision's `F.adaptive_avg_pool2d` in MobileNetV2 and DenseNet,
    /// exported as a `mean`) is named `avgpool` there, as the builders name it after the
    /// ResNets' module, unless a module of that name exists.
    pub(super) fn emit_as(
        &mut self,
        at: usize,
        base: String,
        functional: bool,
        kind: Kind,
        inputs: Vec<Src>,
        tensors: Vec<(&str, Vec<usize>, Vec<f32>)>,
    ) -> Result<Src> {
        let base = match (&kind, functional) {
            (Kind::AdaptiveAvgPool2d { out: (1, 1) }, true) => {
                let pool = self.scopes[at]
                    .modules
                    .last()
                    .map_or_else(|| "avgpool".to_string(), |m| format!("{m}.avgpool"));
                if self.modules.contains(&pool) {
                    base
                } else {
                    pool
                }
            }
            _ => base,
        };
        let name = self.unique(&base);
        if functional {
            self.functional.insert(name.clone());
        }
        for m in &self.scopes[at].modules {
            *self.emitted.entry(m.clone()).or_default() += 1;
        }
        self.push(name, kind, inputs, tensors, Some(at))
    }

    fn push(
        &mut self,
        name: String,
        kind: Kind,
        inputs: Vec<Src>,
        tensors: Vec<(&str, Vec<usize>, Vec<f32>)>,
        at: Option<usize>,
    ) -> Result<Src> {
        let ins: Vec<&[usize]> = inputs.iter().map(|s| self.shape(*s)).collect();
        let shape = kind.output_shape(&ins).map_err(|why| {
            let msg = format!(
                "{} at the file's input size {:?}: it {why}",
                kind.class(),
                self.input_shape
            );
            match at {
                Some(at) => self.fail(at, msg),
                None => onnx_error(format!("{name}: {msg}")),
            }
        })?;
        let mut params = Vec::new();
        for (leaf, shape, values) in tensors {
            let p = format!("{name}.{leaf}");
            self.spec.state.push(StateEntry {
                name: p.clone(),
                shape,
                is_float: true,
            });
            self.params.insert(p.clone(), values);
            params.push(p);
        }
        self.spec.nodes.push(NodeSpec {
            name,
            kind,
            inputs,
            params,
        });
        self.shapes.push(shape);
        Ok(Src::Node(self.spec.nodes.len() - 1))
    }

    /// Adds a tensor to an existing node (a bias folded into the layer before it).
    pub(super) fn add_tensor(
        &mut self,
        node: usize,
        leaf: &str,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) {
        let p = format!("{}.{leaf}", self.spec.nodes[node].name);
        self.spec.state.push(StateEntry {
            name: p.clone(),
            shape,
            is_float: true,
        });
        self.params.insert(p.clone(), values);
        self.spec.nodes[node].params.push(p);
    }

    /// The parameter of ONNX node `at`'s innermost module that the constant `v` is
    /// (`features.1.0.layer_scale`, ConvNeXt's layer scale): an initializer named inside
    /// that module, as PyTorch's exporter names parameters by their state-dict keys.
    pub(super) fn parameter_of(&self, at: usize, v: &Value<'a>) -> Option<String> {
        let Value::Tensor(t) = v else { return None };
        if !self.initializers.contains_key(t.name.as_str()) {
            return None;
        }
        let module = self.scopes[at].modules.last()?;
        let leaf = t.name.strip_prefix(module.as_str())?.strip_prefix('.')?;
        (!leaf.is_empty() && !leaf.contains('.')).then(|| t.name.clone())
    }

    /// A constant input as f32 values with its shape.
    pub(super) fn floats(&self, at: usize, v: &Value<'a>) -> Result<(Vec<usize>, Vec<f32>)> {
        match v {
            Value::Tensor(t) => {
                let shape = tensor::shape(t).map_err(|e| self.fail(at, e))?;
                let ext = t
                    .external
                    .as_ref()
                    .and_then(|e| (self.external)(&e.location));
                let values = tensor::floats(t, ext).map_err(|e| self.fail(at, e))?;
                Ok((shape, values))
            }
            Value::Const(c) => Ok((c.shape.clone(), c.floats().map_err(|e| self.fail(at, e))?)),
            _ => Err(self.fail(
                at,
                "takes a computed value where its weights (a constant) should be",
            )),
        }
    }

    /// A small constant input, folded.
    pub(super) fn constant(&self, at: usize, v: &Value<'a>) -> Result<Const> {
        match v {
            Value::Const(c) => Ok(c.clone()),
            Value::Tensor(t) => {
                let fail = |e: String| self.fail(at, e);
                let n = tensor::numel(t).map_err(fail)?;
                if n > MAX_FOLD {
                    return Err(self.fail(at, format!("reads a constant of {n} values where a small one (a shape, a scalar) was expected")));
                }
                let shape = tensor::shape(t).map_err(fail)?;
                let dt = tensor::dtype(t).map_err(fail)?;
                let ext = t
                    .external
                    .as_ref()
                    .and_then(|e| (self.external)(&e.location));
                let data = if dt.is_float() {
                    tensor::doubles(t, ext)
                        .map_err(fail)?
                        .into_iter()
                        .map(Num::F)
                        .collect()
                } else {
                    tensor::ints(t, ext)
                        .map_err(fail)?
                        .into_iter()
                        .map(Num::I)
                        .collect()
                };
                Const::new(shape, data).map_err(fail)
            }
            _ => Err(self.fail(
                at,
                "reads a computed value where a constant (a shape, axes, a scalar) was expected",
            )),
        }
    }

    pub(super) fn is_constant(v: &Value) -> bool {
        matches!(v, Value::Tensor(_) | Value::Const(_))
    }

    /// Finishes the graph: its single output must be class scores; nodes nothing reads
    /// are dropped; the default CAM layer is the block the classifier head reads.
    pub fn finish(mut self, arch: String) -> Result<(GraphSpec, HashMap<String, Vec<f32>>)> {
        let outputs = &self.graph.outputs;
        if outputs.len() != 1 {
            return Err(onnx_error(format!(
                "the graph has {} outputs ({}); the engine explains a classifier with one output of class scores",
                outputs.len(),
                outputs.iter().map(|o| format!("`{}`", o.name)).collect::<Vec<_>>().join(", ")
            )));
        }
        let name = outputs[0].name.as_str();
        if !self.values.contains_key(name) {
            return Err(onnx_error(format!(
                "the graph's output `{name}` is computed by no node"
            )));
        }
        let exits = self.exits(name, &[]);
        let (src, _) = self.materialize(name)?;
        let out = match self.through_blocks(name, src, &exits)? {
            Src::Node(i) => i,
            Src::Input => {
                return Err(onnx_error(
                    "the graph's output is its input: there is nothing to run",
                ))
            }
        };
        let classes = match self.shapes[out].as_slice() {
            [f] => *f,
            s => {
                return Err(onnx_error(format!(
                    "the graph's output `{name}` is a {s:?} map per image, not a vector of class scores (add a pooling and a flatten, or export the classifier)"
                )))
            }
        };
        let (spec, params) = prune(self.spec, self.params, out);
        let mut spec = spec;
        spec.arch = arch;
        spec.classes = classes;
        spec.cam_layer = default_cam_layer(&spec, &self.functional);
        spec.validate()?;
        Ok((spec, params))
    }
}

/// Keeps the nodes `out` depends on (renumbered; `out` becomes the last) and their
/// tensors.
fn prune(
    spec: GraphSpec,
    mut params: HashMap<String, Vec<f32>>,
    out: usize,
) -> (GraphSpec, HashMap<String, Vec<f32>>) {
    let mut live = vec![false; spec.nodes.len()];
    live[out] = true;
    for i in (0..=out).rev() {
        if live[i] {
            for s in &spec.nodes[i].inputs {
                if let Src::Node(j) = s {
                    live[*j] = true;
                }
            }
        }
    }
    let mut new_index = vec![usize::MAX; spec.nodes.len()];
    let mut nodes = Vec::new();
    for (i, mut n) in spec.nodes.into_iter().enumerate() {
        if !live[i] {
            for p in &n.params {
                params.remove(p);
            }
            continue;
        }
        n.inputs = n
            .inputs
            .iter()
            .map(|s| match s {
                Src::Node(j) => Src::Node(new_index[*j]),
                Src::Input => Src::Input,
            })
            .collect();
        new_index[i] = nodes.len();
        nodes.push(n);
    }
    let state = spec
        .state
        .into_iter()
        .filter(|e| params.contains_key(&e.name))
        .collect();
    (
        GraphSpec {
            nodes,
            state,
            ..spec
        },
        params,
    )
}

/// The default layer of the class-activation methods: the last module's output before
/// the classifier's flat features whose map is more than one pixel (the last map at all if
/// none is), or, when that is a stage (a `Sequential` block such as `layer4` or
/// `features`, or a block of blocks), the module it ends with (`layer4.1`, `features.18`,
/// DenseNet's `features.norm5`): pytorch-grad-cam's usual targets, which are modules, so
/// an op of a `forward` (DenseNet's final `F.relu`) is passed over unless no module's
/// output is left.
fn default_cam_layer(spec: &GraphSpec, functional: &HashSet<String>) -> usize {
    let shapes = spec.shapes((spec.size, spec.size)).unwrap_or_default();
    let first_flat = shapes
        .iter()
        .position(|s| s.len() == 1)
        .unwrap_or(shapes.len());
    let shapes = &shapes;
    let is_module = |i: usize| !functional.contains(&spec.nodes[i].name);
    let pick = |modules_only: bool| {
        let maps = || {
            (0..first_flat)
                .rev()
                .filter(move |i| shapes[*i].len() == 3 && (!modules_only || is_module(*i)))
        };
        maps()
            .find(|i| shapes[*i][1] * shapes[*i][2] > 1)
            .or_else(|| maps().next())
    };
    let Some(at) = pick(true).or_else(|| pick(false)) else {
        return spec.nodes.len().saturating_sub(1);
    };
    match (&spec.nodes[at].kind, spec.nodes[at].inputs.as_slice()) {
        (Kind::Block { class }, [Src::Node(j)])
            if matches!(spec.nodes[*j].kind, Kind::Block { .. })
                || (class == "Sequential" && is_module(*j)) =>
        {
            *j
        }
        _ => at,
    }
}
