//! A network's structure without its weights: named nodes in a topological order, what
//! each computes and which nodes feed it, and the state dict the weights must fill (in
//! PyTorch's `state_dict()` order, the order the fixtures' weight generator numbers).
//! Built by a family's builder (`model::families`), checked, then bound to weights
//! (`model::graph::Graph`).

use super::kind::Kind;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;

/// Index of a node in [`GraphSpec::nodes`] (a topological order).
pub type NodeId = usize;

/// Where a node's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Src {
    /// The model's input image.
    Input,
    Node(NodeId),
}

/// One node: the application of a module (or a functional op) to its inputs.
#[derive(Clone, Debug, Serialize)]
pub struct NodeSpec {
    /// torchvision module path (`layer4.1.conv2`); a module applied more than once gets
    /// `:1`, `:2` for its later applications (ResNet blocks reuse their ReLU); a block's
    /// output node carries the block's path (`layer4.1`).
    pub name: String,
    pub kind: Kind,
    pub inputs: Vec<Src>,
    /// State-dict names of the node's tensors, in the order its op takes them (conv:
    /// weight, bias; batch norm: weight, bias, running_mean, running_var; ...).
    pub params: Vec<String>,
}

/// One state-dict entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateEntry {
    pub name: String,
    pub shape: Vec<usize>,
    /// `false` for integer buffers (`num_batches_tracked`), which no computation reads.
    pub is_float: bool,
}

/// The structure of a network.
#[derive(Clone, Debug, Serialize)]
pub struct GraphSpec {
    /// The architecture's canonical name (`resnet50`, `vgg16;classes=2`).
    pub arch: String,
    /// torchvision's family name (`resnet`, `vgg`, `mobilenet_v3`, ...).
    pub family: &'static str,
    pub in_channels: usize,
    pub classes: usize,
    /// The input side the model was trained at.
    pub size: usize,
    pub nodes: Vec<NodeSpec>,
    pub state: Vec<StateEntry>,
    /// The layer class-activation methods explain by default (pytorch-grad-cam's usual
    /// target for the family).
    pub cam_layer: NodeId,
    /// Keras' names for nodes that have one (VGG: `block1_conv1`), for the summary and
    /// as aliases a user may type.
    pub keras_names: HashMap<NodeId, String>,
}

impl GraphSpec {
    /// The node called `name` (a module path, a later application `name:1`, or a Keras
    /// alias).
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).or_else(|| {
            self.keras_names
                .iter()
                .find(|(_, k)| k.as_str() == name)
                .map(|(id, _)| *id)
        })
    }

    /// [`Self::find`], or an error listing the model's layers.
    pub fn node(&self, name: &str) -> Result<NodeId> {
        self.find(name).ok_or_else(|| Error::UnknownLayer {
            name: name.to_string(),
            known: self.layer_list(),
        })
    }

    /// "features.0..features.30, avgpool, classifier.0..classifier.6": the nodes grouped
    /// by their top-level module, for error messages.
    pub fn layer_list(&self) -> String {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for n in &self.nodes {
            let top = n.name.split('.').next().unwrap_or("");
            match groups.last_mut() {
                Some((p, names)) if *p == top => names.push(&n.name),
                _ => groups.push((top, vec![&n.name])),
            }
        }
        groups
            .iter()
            .map(|(_, names)| match names.as_slice() {
                [one] => one.to_string(),
                [first, .., last] => format!("{first}..{last}"),
                [] => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The nodes that read each node's output.
    pub fn consumers(&self) -> Vec<Vec<NodeId>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for s in &n.inputs {
                if let Src::Node(j) = s {
                    out[*j].push(i);
                }
            }
        }
        out
    }

    /// The output node (the logits).
    pub fn output(&self) -> NodeId {
        self.nodes.len() - 1
    }

    /// Whether every node reads exactly the node before it (VGG): the chain engines
    /// (incremental occlusion) need that.
    pub fn is_chain(&self) -> bool {
        self.nodes.iter().enumerate().all(|(i, n)| {
            n.inputs.len() == 1 && n.inputs[0] == if i == 0 { Src::Input } else { Src::Node(i - 1) }
        })
    }

    /// The first node that mixes the whole map (global pool, flatten, linear) and cuts
    /// the graph (nothing after it reads anything before it): where the features end and
    /// the classifier head begins. A squeeze-and-excitation's pool mixes the map too, but
    /// its product reads the map again, so it is no head. Methods that run many copies
    /// of an image run the head apart, on many copies at once.
    pub fn head_start(&self) -> NodeId {
        (0..self.nodes.len())
            .find(|h| self.nodes[*h].kind.mixes_map() && self.cuts(*h))
            .unwrap_or(self.nodes.len())
    }

    /// Whether nothing after node `h` reads anything before it (nor the input): a pass
    /// can go on from its output alone.
    pub fn cuts(&self, h: NodeId) -> bool {
        self.nodes[h + 1..].iter().all(|n| {
            n.inputs
                .iter()
                .all(|s| matches!(s, Src::Node(k) if *k >= h))
        })
    }

    /// Output shapes of every node (batch left out) for a `h x w` input, or an error
    /// naming the first node the input is too small (or malformed) for.
    pub fn shapes(&self, (h, w): (usize, usize)) -> Result<Vec<Vec<usize>>> {
        self.infer((h, w)).map_err(|(i, why)| {
            let (n, m) = (&self.nodes[i], self.min_size());
            let what = if h.min(w) < m { "is too small for" } else { "does not fit" };
            Error::Input(format!(
                "input {h}x{w} {what} {} ({}): {why}; the smallest input this model takes is {m}x{m}",
                n.name,
                n.kind.class(),
            ))
        })
    }

    /// The smallest square input every node can take (the stem, pools and strides
    /// need a minimum). Found by trying sizes: shape inference costs microseconds.
    pub fn min_size(&self) -> usize {
        (1..=4096)
            .find(|s| self.infer((*s, *s)).is_ok())
            .unwrap_or(4096)
    }

    /// Shape inference over the nodes in order; on failure, the first node that cannot
    /// take its inputs and why.
    fn infer(
        &self,
        (h, w): (usize, usize),
    ) -> std::result::Result<Vec<Vec<usize>>, (NodeId, String)> {
        let input = vec![self.in_channels, h, w];
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let ins: Vec<&[usize]> = n
                .inputs
                .iter()
                .map(|s| match s {
                    Src::Input => input.as_slice(),
                    Src::Node(j) => shapes[*j].as_slice(),
                })
                .collect();
            shapes.push(n.kind.output_shape(&ins).map_err(|why| (i, why))?);
        }
        Ok(shapes)
    }

    /// Trainable parameters (PyTorch's `sum(p.numel() for p in model.parameters())`).
    pub fn param_count(&self) -> usize {
        self.nodes.iter().map(|n| n.kind.param_count()).sum()
    }

    /// Checks what a builder made: inputs come before their node, arities fit, names are
    /// unique and every parameter a node names is in the state dict.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Spec(format!("{}: {m}", self.arch)));
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let state: HashMap<&str, &StateEntry> =
            self.state.iter().map(|e| (e.name.as_str(), e)).collect();
        if self.nodes.is_empty() {
            return bad("the graph has no nodes".into());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(j) = seen.insert(&n.name, i) {
                return bad(format!("nodes {j} and {i} are both called {}", n.name));
            }
            if !n.kind.arity().contains(&n.inputs.len()) {
                return bad(format!("{} has {} inputs", n.name, n.inputs.len()));
            }
            for s in &n.inputs {
                if matches!(s, Src::Node(j) if *j >= i) {
                    return bad(format!("{} reads a later node", n.name));
                }
            }
            for p in &n.params {
                if !state.contains_key(p.as_str()) {
                    return bad(format!(
                        "{} needs `{p}`, which is not in the state dict",
                        n.name
                    ));
                }
            }
        }
        if self.cam_layer >= self.nodes.len() {
            return bad("the default CAM layer is not a node".into());
        }
        Ok(())
    }
}
