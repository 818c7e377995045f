//! Building a [`GraphSpec`] the way torchvision builds its modules: a module is created
//! first (which registers its tensors in the state dict, in PyTorch's order), then applied
//! to inputs (which adds a node). The family builders read like torchvision's `__init__`
//! and `forward`, which keeps their names and state-dict order easy to check.

use super::kind::{Activation, ConvCfg, Kind};
use super::spec::{GraphSpec, NodeId, NodeSpec, Src, StateEntry};
use std::collections::HashMap;

/// A created module: what applying it computes, and its tensors' names.
#[derive(Clone, Debug)]
pub struct Module {
    pub name: String,
    pub kind: Kind,
    pub params: Vec<String>,
}

pub struct Builder {
    spec: GraphSpec,
    /// How many times each module has been applied (a later application is `name:k`).
    applied: HashMap<String, usize>,
}

impl Builder {
    pub fn new(
        arch: &str,
        family: &'static str,
        in_channels: usize,
        classes: usize,
        size: usize,
    ) -> Self {
        Builder {
            spec: GraphSpec {
                arch: arch.to_string(),
                family,
                in_channels,
                classes,
                size,
                nodes: Vec::new(),
                state: Vec::new(),
                cam_layer: 0,
                keras_names: HashMap::new(),
            },
            applied: HashMap::new(),
        }
    }

    fn entry(&mut self, name: String, shape: Vec<usize>, is_float: bool) -> String {
        self.spec.state.push(StateEntry {
            name: name.clone(),
            shape,
            is_float,
        });
        name
    }

    /// `nn.Conv2d` named `name`.
    pub fn conv(&mut self, name: &str, cfg: ConvCfg) -> Module {
        let mut params = vec![self.entry(format!("{name}.weight"), cfg.weight_shape(), true)];
        if cfg.bias {
            params.push(self.entry(format!("{name}.bias"), vec![cfg.out_channels], true));
        }
        Module {
            name: name.into(),
            kind: Kind::Conv2d(cfg),
            params,
        }
    }

    /// `nn.BatchNorm2d(channels, eps)`, with its running statistics and counter.
    pub fn batch_norm(&mut self, name: &str, channels: usize, eps: f64) -> Module {
        let mut params = Vec::new();
        for leaf in ["weight", "bias", "running_mean", "running_var"] {
            params.push(self.entry(format!("{name}.{leaf}"), vec![channels], true));
        }
        self.entry(format!("{name}.num_batches_tracked"), vec![], false);
        Module {
            name: name.into(),
            kind: Kind::BatchNorm2d { channels, eps },
            params,
        }
    }

    /// A layer norm over the channels of each pixel, with weight and bias.
    pub fn layer_norm(&mut self, name: &str, channels: usize, eps: f64) -> Module {
        self.weight_and_bias(name, Kind::LayerNorm2d { channels, eps }, vec![channels])
    }

    /// `nn.Linear` on flat features.
    pub fn linear(&mut self, name: &str, in_features: usize, out_features: usize) -> Module {
        let kind = Kind::Linear {
            in_features,
            out_features,
            bias: true,
        };
        self.weight_and_bias(name, kind, vec![out_features, in_features])
    }

    /// `nn.Linear` applied to the channels of every pixel (channels-last MLPs).
    pub fn pixel_linear(&mut self, name: &str, in_features: usize, out_features: usize) -> Module {
        let kind = Kind::PixelLinear {
            in_features,
            out_features,
        };
        self.weight_and_bias(name, kind, vec![out_features, in_features])
    }

    /// A module of `kind` with `NAME.weight` of `shape` and `NAME.bias` of its first
    /// dimension.
    fn weight_and_bias(&mut self, name: &str, kind: Kind, shape: Vec<usize>) -> Module {
        let out = shape[0];
        let params = vec![
            self.entry(format!("{name}.weight"), shape, true),
            self.entry(format!("{name}.bias"), vec![out], true),
        ];
        Module {
            name: name.into(),
            kind,
            params,
        }
    }

    /// ConvNeXt's `layer_scale` parameter (`[C, 1, 1]`, named without a leaf).
    pub fn layer_scale(&mut self, name: &str, channels: usize) -> Module {
        let params = vec![self.entry(name.to_string(), vec![channels, 1, 1], true)];
        Module {
            name: name.into(),
            kind: Kind::LayerScale { channels },
            params,
        }
    }

    /// A module without tensors (activations, pools, dropout, flatten, merges).
    pub fn module(&mut self, name: &str, kind: Kind) -> Module {
        Module {
            name: name.into(),
            kind,
            params: Vec::new(),
        }
    }

    pub fn act(&mut self, name: &str, a: Activation) -> Module {
        self.module(name, Kind::Act(a))
    }

    /// `nn.Dropout(p)` (the identity at inference).
    pub fn dropout(&mut self, name: &str, p: f32) -> Module {
        self.module(
            name,
            Kind::Dropout {
                class: "Dropout",
                p,
            },
        )
    }

    /// Applies `m` to `inputs`: a new node.
    pub fn apply(&mut self, m: &Module, inputs: &[Src]) -> Src {
        let count = self.applied.entry(m.name.clone()).or_insert(0);
        let name = if *count == 0 {
            m.name.clone()
        } else {
            format!("{}:{count}", m.name)
        };
        *count += 1;
        self.spec.nodes.push(NodeSpec {
            name,
            kind: m.kind.clone(),
            inputs: inputs.to_vec(),
            params: m.params.clone(),
        });
        Src::Node(self.spec.nodes.len() - 1)
    }

    /// Creates and applies a module in one step (a module used once).
    pub fn then(&mut self, m: Module, input: Src) -> Src {
        self.apply(&m, &[input])
    }

    /// Applies each of `modules` once, in order, starting from `x`: a sequential stretch.
    pub fn chain(&mut self, x: Src, modules: impl IntoIterator<Item = Module>) -> Src {
        modules.into_iter().fold(x, |y, m| self.then(m, y))
    }

    /// A functional op (no module, no tensors) on `inputs`, named `name`.
    pub fn op(&mut self, name: &str, kind: Kind, inputs: &[Src]) -> Src {
        let m = self.module(name, kind);
        self.apply(&m, inputs)
    }

    /// Marks `x` as the output of the block `name` (of torchvision class `class`).
    pub fn block(&mut self, name: &str, class: &str, x: Src) -> Src {
        self.op(
            name,
            Kind::Block {
                class: class.into(),
            },
            &[x],
        )
    }

    /// The node `x` refers to (the builders never pass the input here).
    pub fn id(x: Src) -> NodeId {
        match x {
            Src::Node(i) => i,
            Src::Input => 0,
        }
    }

    pub fn keras_name(&mut self, x: Src, name: String) {
        self.spec.keras_names.insert(Self::id(x), name);
    }

    /// Finishes the graph; `cam_layer` is the family's default Grad-CAM target.
    pub fn finish(mut self, cam_layer: Src) -> GraphSpec {
        self.spec.cam_layer = Self::id(cam_layer);
        self.spec
    }
}
