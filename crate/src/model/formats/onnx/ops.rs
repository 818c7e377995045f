//! Each ONNX operator the importer reads, made into nodes of ours (or folded, or kept as
//! an elementwise chain). What an operator's attributes ask for that the engine cannot
//! compute the same way (asymmetric padding, a `Clip` other than ReLU6, a layer norm
//! over more than the channels) is refused with the values that were asked for.

use super::consts::{resolve_shape, Const, Num};
use super::expr::{Bin, Expr};
use super::import::{Importer, Layout, Value};
use super::proto::{Attribute, Node};
use crate::error::Result;
use crate::model::graph::{Activation, ConvCfg, Kind, PoolCfg, Src};
use std::rc::Rc;

fn attr<'n>(node: &'n Node, name: &str) -> Option<&'n Attribute<'n>> {
    node.attr(name)
}

fn attr_int(node: &Node, name: &str, default: i64) -> i64 {
    attr(node, name).and_then(|a| a.i).unwrap_or(default)
}

fn attr_float(node: &Node, name: &str, default: f32) -> f32 {
    attr(node, name).and_then(|a| a.f).unwrap_or(default)
}

fn attr_string(node: &Node, name: &str, default: &str) -> String {
    attr(node, name).and_then(|a| a.s.as_ref()).map_or_else(
        || default.to_string(),
        |s| String::from_utf8_lossy(s).into_owned(),
    )
}

fn attr_ints(node: &Node, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

/// An f32 attribute as the decimal it was written as (PyTorch's eps 1e-5 is stored as
/// the f32 9.99999975e-6; computing with 1e-5 again keeps the numbers PyTorch's).
fn decimal(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}

/// A 2-D window's sizes: two positive values.
fn pair(at: &str, v: &[i64], what: &str) -> std::result::Result<(usize, usize), String> {
    match v {
        [a, b] if *a > 0 && *b > 0 && *a < 1 << 16 && *b < 1 << 16 => {
            Ok((*a as usize, *b as usize))
        }
        _ => Err(format!(
            "{at}{what} {v:?} (two positive sizes expected: only 2-D windows are supported)"
        )),
    }
}

impl<'a> Importer<'a> {
    /// Converts ONNX node `at`; returns its outputs' values.
    pub(super) fn op(&mut self, at: usize, node: &'a Node<'a>) -> Result<Vec<Value<'a>>> {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(self.fail(
                at,
                format!("operator domain `{}` is not ONNX's own", node.domain),
            ));
        }
        if node.attributes.iter().any(|a| a.unsupported) {
            return Err(self.fail(
                at,
                "has a subgraph or function-reference attribute, which the engine does not run",
            ));
        }
        let one = |v: Value<'a>| Ok(vec![v]);
        match node.op_type.as_str() {
            "Conv" => one(self.conv(at, node)?),
            "BatchNormalization" => one(self.batch_norm(at, node)?),
            "Relu" => one(self.unary(at, |x| Expr::Act(Activation::Relu, x))?),
            "Sigmoid" => one(self.unary(at, |x| Expr::Act(Activation::Sigmoid, x))?),
            "HardSwish" => one(self.unary(at, |x| Expr::Act(Activation::Hardswish, x))?),
            "Erf" => one(self.unary(at, Expr::Erf)?),
            "HardSigmoid" => {
                let (alpha, beta) = (
                    attr_float(node, "alpha", 0.2),
                    attr_float(node, "beta", 0.5),
                );
                if (alpha as f64 - 1.0 / 6.0).abs() > 1e-6 || beta != 0.5 {
                    return Err(self.fail(at, format!("HardSigmoid(alpha {alpha}, beta {beta}): only PyTorch's (alpha 1/6, beta 0.5) is supported")));
                }
                one(self.unary(at, |x| Expr::Act(Activation::Hardsigmoid, x))?)
            }
            "Gelu" => {
                let approx = attr_string(node, "approximate", "none");
                if approx != "none" {
                    return Err(self.fail(
                        at,
                        format!(
                            "Gelu with approximate=`{approx}`: only the exact form is supported"
                        ),
                    ));
                }
                one(self.unary(at, |x| Expr::Act(Activation::Gelu, x))?)
            }
            "Clip" => one(self.clip(at)?),
            "Add" => one(self.binary(at, Bin::Add)?),
            "Sub" => one(self.binary(at, Bin::Sub)?),
            "Mul" => one(self.binary(at, Bin::Mul)?),
            "Div" => one(self.binary(at, Bin::Div)?),
            "Concat" => one(self.concat(at, node)?),
            "MaxPool" | "AveragePool" => one(self.pool(at, node)?),
            "GlobalAveragePool" => {
                let (x, _) = self.map_arg(at, 0, Layout::Nchw)?;
                one(Value::Node {
                    src: self.emit(
                        at,
                        Kind::AdaptiveAvgPool2d { out: (1, 1) },
                        vec![x],
                        Vec::new(),
                    )?,
                    layout: Layout::Nchw,
                })
            }
            "ReduceMean" => one(self.reduce_mean(at, node)?),
            "Flatten" => one(self.flatten(at, node)?),
            "Reshape" => one(self.reshape(at, node)?),
            "Gemm" => one(self.gemm(at, node)?),
            "MatMul" => one(self.matmul(at)?),
            "LayerNormalization" => one(self.layer_norm(at, node)?),
            "Transpose" => one(self.transpose(at, node)?),
            "Identity" => one(self.need(at, 0)?),
            "Dropout" => {
                let x = self.need(at, 0)?;
                if Self::is_constant(&x) {
                    return one(x);
                }
                let (src, layout) = self.computed(at, 0)?;
                let p = match self.arg(at, 1)? {
                    Some(r) => self.constant(at, &r)?.scalar().unwrap_or(0.5) as f32,
                    None => attr_float(node, "ratio", 0.5),
                };
                one(Value::Node {
                    src: self.emit(
                        at,
                        Kind::Dropout {
                            class: "Dropout",
                            p,
                        },
                        vec![src],
                        Vec::new(),
                    )?,
                    layout,
                })
            }
            "Constant" => one(self.constant_node(at, node)?),
            "Shape" => one(self.shape_of(at, node)?),
            "Gather" => one(self.gather(at, node)?),
            "Unsqueeze" => {
                let x = self.need(at, 0)?;
                let axes = self.axes(at, node, 1)?.unwrap_or_default();
                let c = self.folded(at, &x, "Unsqueeze")?;
                one(Value::Const(
                    c.unsqueeze(&axes).map_err(|e| self.fail(at, e))?,
                ))
            }
            "Squeeze" => one(self.squeeze(at, node)?),
            "Cast" => {
                let x = self.need(at, 0)?;
                let to = attr_int(node, "to", 1);
                let to_float = matches!(to, 1 | 10 | 11 | 16);
                match x {
                    Value::Tensor(_) | Value::Const(_) => one(Value::Const(self.constant(at, &x)?.cast(to_float))),
                    v if to == 1 => one(v),
                    _ => Err(self.fail(at, format!("casts a computed value to element type {to}; the engine computes in float32 only"))),
                }
            }
            other => Err(self.fail(
                at,
                format!(
                    "operator {other} is not supported (supported: {})",
                    super::import::SUPPORTED.join(", ")
                ),
            )),
        }
    }

    /// Input `k` as a computed value (a node of ours, made from a chain if need be).
    pub(super) fn computed(&mut self, at: usize, k: usize) -> Result<(Src, Layout)> {
        match self.need(at, k)? {
            Value::Node { src, layout } => Ok((src, layout)),
            Value::Expr { .. } => {
                let name = &self.graph.nodes[at].inputs[k];
                self.materialize(name)
            }
            _ => Err(self.fail(
                at,
                format!("input {k} is a constant; the engine runs operators on the image's values"),
            )),
        }
    }

    /// Input `k` as a `[C, H, W]` map in `layout`.
    fn map_arg(&mut self, at: usize, k: usize, layout: Layout) -> Result<(Src, Vec<usize>)> {
        let (src, l) = self.computed(at, k)?;
        let shape = self.shape(src).to_vec();
        if shape.len() != 3 {
            return Err(self.fail(
                at,
                format!(
                    "needs an image-like [N, C, H, W] value, got [N, {}]",
                    shape
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if l != layout {
            return Err(self.fail(at, format!("needs its input in {layout:?} order, got {l:?} (a Transpose the engine cannot follow)")));
        }
        Ok((src, shape))
    }

    fn folded(&self, at: usize, v: &Value<'a>, op: &str) -> Result<Const> {
        if !Self::is_constant(v) {
            return Err(self.fail(
                at,
                format!(
                    "{op} of a computed value; the engine folds {op} only on constants (shapes)"
                ),
            ));
        }
        self.constant(at, v)
    }

    /// Axes from input `k` (opset 13+/18+) or the `axes` attribute.
    fn axes(&mut self, at: usize, node: &Node, k: usize) -> Result<Option<Vec<i64>>> {
        if let Some(a) = attr_ints(node, "axes") {
            return Ok(Some(a));
        }
        match self.arg(at, k)? {
            Some(v) => Ok(Some(
                self.constant(at, &v)?
                    .int_list("axes")
                    .map_err(|e| self.fail(at, e))?,
            )),
            None => Ok(None),
        }
    }

    /// Symmetric padding from ONNX's `pads` / `auto_pad` for a window `k` with stride `s`
    /// and dilation `d` over an `h x w` input.
    fn padding(
        &self,
        at: usize,
        node: &Node,
        (h, w): (usize, usize),
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
    ) -> Result<(usize, usize)> {
        let auto = attr_string(node, "auto_pad", "NOTSET");
        let pads: [usize; 4] = match auto.as_str() {
            "NOTSET" | "" => {
                let p = attr_ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
                match p.as_slice() {
                    [a, b, c, e] if p.iter().all(|v| (0..1 << 16).contains(v)) => {
                        [*a as usize, *b as usize, *c as usize, *e as usize]
                    }
                    _ => {
                        return Err(self.fail(
                            at,
                            format!(
                                "pads {p:?} (four non-negative values expected for a 2-D window)"
                            ),
                        ))
                    }
                }
            }
            "VALID" => [0; 4],
            "SAME_UPPER" | "SAME_LOWER" => {
                let total = |len: usize, k: usize, s: usize, d: usize| {
                    let out = len.div_ceil(s);
                    ((out - 1) * s + (k - 1) * d + 1).saturating_sub(len)
                };
                let (th, tw) = (total(h, k.0, s.0, d.0), total(w, k.1, s.1, d.1));
                let small = |t: usize| t / 2;
                if auto == "SAME_UPPER" {
                    [small(th), small(tw), th - small(th), tw - small(tw)]
                } else {
                    [th - small(th), tw - small(tw), small(th), small(tw)]
                }
            }
            other => return Err(self.fail(at, format!("auto_pad `{other}` is not ONNX's"))),
        };
        if pads[0] != pads[2] || pads[1] != pads[3] {
            return Err(self.fail(
                at,
                format!("pads {pads:?} (top, left, bottom, right) differ between sides; the engine pads both sides alike (auto_pad {auto} at input {h}x{w})"),
            ));
        }
        Ok((pads[0], pads[1]))
    }

    fn strides_dilations(
        &self,
        at: usize,
        node: &Node,
    ) -> Result<((usize, usize), (usize, usize))> {
        let fail = |e: String| self.fail(at, e);
        let strides = pair(
            "",
            &attr_ints(node, "strides").unwrap_or_else(|| vec![1, 1]),
            "strides",
        )
        .map_err(fail)?;
        let dilations = pair(
            "",
            &attr_ints(node, "dilations").unwrap_or_else(|| vec![1, 1]),
            "dilations",
        )
        .map_err(fail)?;
        Ok((strides, dilations))
    }

    fn conv(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, shape) = self.map_arg(at, 0, Layout::Nchw)?;
        let w = self.need(at, 1)?;
        let (wshape, weight) = self.floats(at, &w)?;
        let [m, cg, kh, kw] = wshape[..] else {
            return Err(self.fail(at, format!("weight of shape {wshape:?}: only 2-D convolutions ([out, in/groups, kh, kw]) are supported")));
        };
        let group = attr_int(node, "group", 1);
        if group < 1 || m % group as usize != 0 || kh == 0 || kw == 0 {
            return Err(self.fail(
                at,
                format!("group {group} with a weight of shape {wshape:?}"),
            ));
        }
        if let Some(k) = attr_ints(node, "kernel_shape") {
            if k != [kh as i64, kw as i64] {
                return Err(self.fail(
                    at,
                    format!("kernel_shape {k:?} does not match its weight {wshape:?}"),
                ));
            }
        }
        let (stride, dilation) = self.strides_dilations(at, node)?;
        let padding = self.padding(at, node, (shape[1], shape[2]), (kh, kw), stride, dilation)?;
        let bias = match self.arg(at, 2)? {
            Some(b) => {
                let (_, b) = self.floats(at, &b)?;
                if b.len() != m {
                    return Err(self.fail(
                        at,
                        format!("bias of {} values for {m} output channels", b.len()),
                    ));
                }
                Some(b)
            }
            None => None,
        };
        let cfg = ConvCfg {
            in_channels: cg * group as usize,
            out_channels: m,
            kernel: (kh, kw),
            stride,
            padding,
            dilation,
            groups: group as usize,
            bias: bias.is_some(),
        };
        let mut tensors = vec![("weight", wshape, weight)];
        if let Some(b) = bias {
            tensors.push(("bias", vec![m], b));
        }
        Ok(Value::Node {
            src: self.emit(at, Kind::Conv2d(cfg), vec![x], tensors)?,
            layout: Layout::Nchw,
        })
    }

    fn batch_norm(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        if attr_int(node, "training_mode", 0) != 0 {
            return Err(self.fail(
                at,
                "batch norm in training mode; export the model in eval mode",
            ));
        }
        let (x, shape) = self.map_arg(at, 0, Layout::Nchw)?;
        let c = shape[0];
        let mut tensors = Vec::new();
        for (k, leaf) in [
            (1, "weight"),
            (2, "bias"),
            (3, "running_mean"),
            (4, "running_var"),
        ] {
            let v = self.need(at, k)?;
            let (_, values) = self.floats(at, &v)?;
            if values.len() != c {
                return Err(self.fail(
                    at,
                    format!("{leaf} has {} values for {c} channels", values.len()),
                ));
            }
            tensors.push((leaf, vec![c], values));
        }
        let eps = decimal(attr_float(node, "epsilon", 1e-5));
        Ok(Value::Node {
            src: self.emit(at, Kind::BatchNorm2d { channels: c, eps }, vec![x], tensors)?,
            layout: Layout::Nchw,
        })
    }

    /// An elementwise function of one value: added to its chain.
    fn unary(&mut self, at: usize, f: impl FnOnce(Rc<Expr>) -> Expr) -> Result<Value<'a>> {
        match self.need(at, 0)? {
            Value::Node { src, layout } => Ok(Value::Expr {
                src,
                layout,
                expr: Rc::new(f(Rc::new(Expr::X))),
                at,
            }),
            Value::Expr {
                src, layout, expr, ..
            } => Ok(Value::Expr {
                src,
                layout,
                expr: Rc::new(f(expr)),
                at,
            }),
            _ => Err(self.fail(at, "applies an activation to a constant")),
        }
    }

    fn clip(&mut self, at: usize) -> Result<Value<'a>> {
        let mut bound = |k: usize| -> Result<Option<f64>> {
            match self.arg(at, k)? {
                Some(v) => Ok(self.constant(at, &v)?.scalar()),
                None => Ok(None),
            }
        };
        let (lo, hi) = (bound(1)?, bound(2)?);
        if (lo, hi) != (Some(0.0), Some(6.0)) {
            let show = |b: Option<f64>| b.map_or_else(|| "none".to_string(), |v| v.to_string());
            return Err(self.fail(
                at,
                format!(
                    "Clip(min {}, max {}): only Clip(0, 6), ReLU6, is supported",
                    show(lo),
                    show(hi)
                ),
            ));
        }
        self.unary(at, |x| Expr::Act(Activation::Relu6, x))
    }

    /// Add, Sub, Mul, Div: folded on constants, chained on one value with scalars, a
    /// layer scale or a folded bias with a per-channel constant, a merge node on two
    /// computed values.
    fn binary(&mut self, at: usize, op: Bin) -> Result<Value<'a>> {
        let a = self.need(at, 0)?;
        let b = self.need(at, 1)?;
        match (Self::is_constant(&a), Self::is_constant(&b)) {
            (true, true) => {
                let (ca, cb) = (self.constant(at, &a)?, self.constant(at, &b)?);
                return Ok(Value::Const(
                    ca.binary(op, &cb).map_err(|e| self.fail(at, e))?,
                ));
            }
            (false, true) => return self.with_constant(at, op, a, 0, b, false),
            (true, false) => return self.with_constant(at, op, b, 1, a, true),
            (false, false) => {}
        }
        // Two computed values: one chain if they are functions of the same value.
        let chain = |v: &Value<'a>| match v {
            Value::Node { src, layout } => Some((*src, *layout, Rc::new(Expr::X))),
            Value::Expr {
                src, layout, expr, ..
            } => Some((*src, *layout, expr.clone())),
            _ => None,
        };
        if let (Some((sa, la, ea)), Some((sb, lb, eb))) = (chain(&a), chain(&b)) {
            if sa == sb && la == lb && !(ea.is_x() && eb.is_x()) {
                return Ok(Value::Expr {
                    src: sa,
                    layout: la,
                    expr: Rc::new(Expr::Bin(op, ea, eb)),
                    at,
                });
            }
        }
        let (xa, la) = self.computed(at, 0)?;
        let (xb, lb) = self.computed(at, 1)?;
        if la != lb && self.shape(xa).len() == 3 {
            return Err(self.fail(at, format!("combines values in {la:?} and {lb:?} order")));
        }
        let kind = match op {
            Bin::Add => Kind::Add,
            Bin::Mul => Kind::Mul,
            _ => {
                return Err(self.fail(
                    at,
                    format!(
                        "{op:?} of two computed values; the engine adds and multiplies them only"
                    ),
                ))
            }
        };
        // A product's per-channel scale (squeeze-and-excitation) goes second.
        let (first, second) = if op == Bin::Mul
            && self.shape(xa).iter().product::<usize>() < self.shape(xb).iter().product::<usize>()
        {
            (xb, xa)
        } else {
            (xa, xb)
        };
        Ok(Value::Node {
            src: self.emit(at, kind, vec![first, second], Vec::new())?,
            layout: la,
        })
    }

    /// `x op c` (or `c op x` when `swapped`) for a computed `x` (input `k`).
    fn with_constant(
        &mut self,
        at: usize,
        op: Bin,
        x: Value<'a>,
        k: usize,
        c: Value<'a>,
        swapped: bool,
    ) -> Result<Value<'a>> {
        let (src, layout, expr) = match &x {
            Value::Node { src, layout } => (*src, *layout, Rc::new(Expr::X)),
            Value::Expr {
                src, layout, expr, ..
            } => (*src, *layout, expr.clone()),
            _ => {
                return Err(self.fail(
                    at,
                    "combines a constant with a value the engine cannot follow",
                ))
            }
        };
        let (cshape, cvalues) = self.floats(at, &c)?;
        let parameter = self.parameter_of(at, &c);
        if cvalues.len() == 1 {
            let cv = Rc::new(Expr::C(cvalues[0] as f64));
            let e = if swapped {
                Expr::Bin(op, cv, expr)
            } else {
                Expr::Bin(op, expr, cv)
            };
            return Ok(Value::Expr {
                src,
                layout,
                expr: Rc::new(e),
                at,
            });
        }
        let view = self.view(src, layout);
        let channel_axis = match (layout, view.len()) {
            (Layout::Nhwc, 3) => 2,
            _ => 0,
        };
        let per_channel = cshape.len() <= view.len() + 1 && {
            // Right-aligned against [N, view...]: every size 1 but the channel axis.
            let full: Vec<usize> = std::iter::once(1).chain(view.iter().copied()).collect();
            let offset = full.len() - cshape.len();
            cshape.iter().enumerate().all(|(i, d)| {
                *d == 1 || (i + offset == channel_axis + 1 && *d == full[channel_axis + 1])
            }) && cvalues.len() == view[channel_axis]
        };
        if !per_channel {
            return Err(self.fail(at, format!("{op:?} of a {view:?} value and a constant of shape {cshape:?}: only scalars and one value per channel are supported")));
        }
        let c = cvalues.len();
        let name = self.graph.nodes[at].inputs[k].as_str();
        let (xsrc, _) = self.computed(at, k)?;
        match (op, swapped) {
            (Bin::Mul, _) | (Bin::Div, false) => {
                let scale: Vec<f32> = if op == Bin::Div {
                    cvalues.iter().map(|v| 1.0 / v).collect()
                } else {
                    cvalues
                };
                let kind = Kind::LayerScale { channels: c };
                let tensors = vec![("weight", vec![c, 1, 1], scale)];
                // Named after its parameter when it is one, as the builders name it.
                let src = match parameter {
                    Some(p) => self.emit_as(at, p, false, kind, vec![xsrc], tensors)?,
                    None => self.emit(at, kind, vec![xsrc], tensors)?,
                };
                Ok(Value::Node { src, layout })
            }
            (Bin::Add, _) | (Bin::Sub, false) => {
                let bias: Vec<f32> = if op == Bin::Sub {
                    cvalues.iter().map(|v| -v).collect()
                } else {
                    cvalues
                };
                if self.fold_bias(name, xsrc, bias)? {
                    Ok(Value::Node { src: xsrc, layout })
                } else {
                    Err(self.fail(at, "adds one value per channel to something other than the output of a convolution or linear layer (where it would be the layer's bias)"))
                }
            }
            _ => Err(self.fail(at, format!("{op:?} of a constant by a value per channel"))),
        }
    }

    /// Adds `bias` to the layer that computed `src` when nothing else reads its output.
    fn fold_bias(&mut self, name: &str, src: Src, bias: Vec<f32>) -> Result<bool> {
        let Src::Node(i) = src else { return Ok(false) };
        if self.uses.get(name).copied().unwrap_or(0) != 1 {
            return Ok(false);
        }
        let has_bias = match &mut self.spec.nodes[i].kind {
            Kind::Conv2d(cfg) if cfg.out_channels == bias.len() => {
                std::mem::replace(&mut cfg.bias, true)
            }
            Kind::Linear {
                out_features,
                bias: b,
                ..
            } if *out_features == bias.len() => std::mem::replace(b, true),
            Kind::PixelLinear { out_features, .. } if *out_features == bias.len() => true,
            _ => return Ok(false),
        };
        if has_bias {
            let Some(p) = self.spec.nodes[i].params.get(1).cloned() else {
                return Ok(false);
            };
            if let Some(v) = self.params.get_mut(&p) {
                v.iter_mut().zip(&bias).for_each(|(a, b)| *a += b);
            }
        } else {
            self.add_tensor(i, "bias", vec![bias.len()], bias);
        }
        Ok(true)
    }

    fn concat(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let n = node.inputs.len();
        let axis = attr_int(node, "axis", 0);
        let args: Vec<Value<'a>> = (0..n).map(|k| self.need(at, k)).collect::<Result<_>>()?;
        if args.iter().all(Self::is_constant) {
            let parts: Vec<Const> = args
                .iter()
                .map(|v| self.constant(at, v))
                .collect::<Result<_>>()?;
            return Ok(Value::Const(
                Const::concat(&parts).map_err(|e| self.fail(at, e))?,
            ));
        }
        let mut srcs = Vec::with_capacity(n);
        let mut layouts = Vec::with_capacity(n);
        for k in 0..n {
            let (s, l) = self.computed(at, k)?;
            srcs.push(s);
            layouts.push(l);
        }
        let layout = layouts[0];
        let channel = match layout {
            Layout::Nchw => [1, -3],
            Layout::Nhwc => [3, -1],
        };
        if layouts.iter().any(|l| *l != layout)
            || !channel.contains(&axis)
            || srcs.iter().any(|s| self.shape(*s).len() != 3)
        {
            return Err(self.fail(
                at,
                format!(
                    "Concat along axis {axis}: only maps joined along their channels are supported"
                ),
            ));
        }
        Ok(Value::Node {
            src: self.emit(at, Kind::Concat, srcs, Vec::new())?,
            layout,
        })
    }

    fn pool(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, shape) = self.map_arg(at, 0, Layout::Nchw)?;
        let fail = |e: String| self.fail(at, e);
        let kernel = pair(
            "",
            &attr_ints(node, "kernel_shape").unwrap_or_default(),
            "kernel_shape",
        )
        .map_err(fail)?;
        let (stride, dilation) = self.strides_dilations(at, node)?;
        if dilation != (1, 1) {
            return Err(self.fail(
                at,
                format!("dilations {dilation:?} in a pool are not supported"),
            ));
        }
        let padding = self.padding(at, node, (shape[1], shape[2]), kernel, stride, dilation)?;
        let cfg = PoolCfg {
            kernel,
            stride,
            padding,
            ceil_mode: attr_int(node, "ceil_mode", 0) != 0,
            count_include_pad: attr_int(node, "count_include_pad", 0) != 0,
        };
        let kind = if node.op_type == "MaxPool" {
            Kind::MaxPool2d(cfg)
        } else {
            Kind::AvgPool2d(cfg)
        };
        Ok(Value::Node {
            src: self.emit(at, kind, vec![x], Vec::new())?,
            layout: Layout::Nchw,
        })
    }

    fn reduce_mean(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, layout) = self.computed(at, 0)?;
        let axes = if self.opset >= 18 {
            self.axes(at, node, 1)?
        } else {
            attr_ints(node, "axes")
        };
        let mut axes: Vec<i64> = axes
            .unwrap_or_default()
            .iter()
            .map(|a| if *a < 0 { a + 4 } else { *a })
            .collect();
        axes.sort_unstable();
        let spatial: &[i64] = match layout {
            Layout::Nchw => &[2, 3],
            Layout::Nhwc => &[1, 2],
        };
        if self.shape(x).len() != 3 || axes != spatial {
            return Err(self.fail(at, format!("ReduceMean over axes {axes:?} of a {layout:?} value: only a mean over height and width (a global average pool) is supported")));
        }
        let pooled = self.emit(
            at,
            Kind::AdaptiveAvgPool2d { out: (1, 1) },
            vec![x],
            Vec::new(),
        )?;
        if attr_int(node, "keepdims", 1) != 0 {
            return Ok(Value::Node {
                src: pooled,
                layout,
            });
        }
        Ok(Value::Node {
            src: self.emit(at, Kind::Flatten, vec![pooled], Vec::new())?,
            layout: Layout::Nchw,
        })
    }

    fn flatten(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, layout) = self.computed(at, 0)?;
        let axis = attr_int(node, "axis", 1);
        let rank = self.shape(x).len() as i64 + 1;
        if axis != 1 && axis != 1 - rank {
            return Err(self.fail(
                at,
                format!(
                    "Flatten from axis {axis}: only flattening each image (axis 1) is supported"
                ),
            ));
        }
        self.flatten_value(at, x, layout)
    }

    /// Each image's values in a row: a node for maps, the value itself if already flat.
    fn flatten_value(&mut self, at: usize, x: Src, layout: Layout) -> Result<Value<'a>> {
        let shape = self.shape(x).to_vec();
        if shape.len() == 1 {
            return Ok(Value::Node {
                src: x,
                layout: Layout::Nchw,
            });
        }
        if layout == Layout::Nhwc && shape[1] * shape[2] != 1 {
            return Err(self.fail(
                at,
                "flattens a channels-last map, whose order differs from the engine's",
            ));
        }
        Ok(Value::Node {
            src: self.emit(at, Kind::Flatten, vec![x], Vec::new())?,
            layout: Layout::Nchw,
        })
    }

    fn reshape(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let x = self.need(at, 0)?;
        let target_v = self.need(at, 1)?;
        let target = self.constant(at, &target_v)?;
        if Self::is_constant(&x) {
            let c = self.constant(at, &x)?;
            let t = target
                .int_list("a Reshape's target")
                .map_err(|e| self.fail(at, e))?;
            return Ok(Value::Const(c.reshape(&t).map_err(|e| self.fail(at, e))?));
        }
        let (src, layout) = self.computed(at, 0)?;
        let view = self.view(src, layout);
        let per_image: usize = view.iter().product();
        let allow_zero = attr_int(node, "allowzero", 0) != 0;
        let is_batch = |n: Num| match n {
            Num::Batch => true,
            Num::I(0) => !allow_zero,
            Num::I(1) => self.batch_is_one,
            _ => false,
        };
        match target.data.as_slice() {
            [Num::I(-1)] => Ok(Value::FlatAll { src }),
            [b, f] if (is_batch(*b) && matches!(f, Num::I(-1))) || ((is_batch(*b) || *b == Num::I(-1)) && f.as_i64() == Some(per_image as i64)) => {
                self.flatten_value(at, src, layout)
            }
            t if t.len() == view.len() + 1 && is_batch(t[0]) => {
                let rest: Vec<i64> = t[1..].iter().map(|n| n.as_i64().unwrap_or(i64::MIN)).collect();
                let same = resolve_shape(&view, &rest).is_ok_and(|s| s == view);
                if same {
                    Ok(Value::Node { src, layout })
                } else {
                    Err(self.fail(at, format!("Reshape of a {view:?} value to {t:?}: only flattening is supported")))
                }
            }
            t => Err(self.fail(at, format!("Reshape of a {view:?} value to {t:?}: only flattening (to [batch, -1]) is supported"))),
        }
    }

    fn gemm(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, _) = self.computed(at, 0)?;
        let features = match self.shape(x) {
            [f] => *f,
            s => {
                return Err(self.fail(
                    at,
                    format!("Gemm of a {s:?} value per image (a flat vector expected)"),
                ))
            }
        };
        if attr_int(node, "transA", 0) != 0 {
            return Err(self.fail(
                at,
                "Gemm with transA: the image's values must be the left operand as they are",
            ));
        }
        let ([r, c], bvalues) =
            self.weight_matrix(at, |s| format!("Gemm weight of shape {s:?} (2-D expected)"))?;
        let bshape = [r, c];
        let trans_b = attr_int(node, "transB", 0) != 0;
        let (out, inp) = if trans_b { (r, c) } else { (c, r) };
        if inp != features {
            return Err(self.fail(
                at,
                format!("Gemm weight {bshape:?} for {features} input features"),
            ));
        }
        let alpha = attr_float(node, "alpha", 1.0);
        let mut weight = if trans_b {
            bvalues
        } else {
            transpose(&bvalues, r, c)
        };
        if alpha != 1.0 {
            weight.iter_mut().for_each(|w| *w *= alpha);
        }
        let mut tensors = vec![("weight", vec![out, inp], weight)];
        if let Some(cv) = self.arg(at, 2)? {
            let (_, mut bias) = self.floats(at, &cv)?;
            if bias.len() == 1 {
                bias = vec![bias[0]; out];
            }
            if bias.len() != out {
                return Err(self.fail(
                    at,
                    format!("Gemm bias of {} values for {out} outputs", bias.len()),
                ));
            }
            let beta = attr_float(node, "beta", 1.0);
            bias.iter_mut().for_each(|v| *v *= beta);
            tensors.push(("bias", vec![out], bias));
        }
        let kind = Kind::Linear {
            in_features: inp,
            out_features: out,
            bias: tensors.len() == 2,
        };
        Ok(Value::Node {
            src: self.emit(at, kind, vec![x], tensors)?,
            layout: Layout::Nchw,
        })
    }

    /// The node's second input, a constant 2-D weight: its shape and values; `not_2d`
    /// words the error for another shape.
    fn weight_matrix(
        &mut self,
        at: usize,
        not_2d: impl FnOnce(&[usize]) -> String,
    ) -> Result<([usize; 2], Vec<f32>)> {
        let w = self.need(at, 1)?;
        let (shape, values) = self.floats(at, &w)?;
        match shape[..] {
            [r, c] => Ok(([r, c], values)),
            _ => Err(self.fail(at, not_2d(&shape))),
        }
    }

    fn matmul(&mut self, at: usize) -> Result<Value<'a>> {
        let (x, layout) = self.computed(at, 0)?;
        let ([k, n], wvalues) = self.weight_matrix(at, |s| {
            format!("MatMul by a weight of shape {s:?} (a 2-D constant expected)")
        })?;
        let wshape = [k, n];
        let weight = transpose(&wvalues, k, n);
        let shape = self.shape(x).to_vec();
        match (shape.as_slice(), layout) {
            ([f], _) if *f == k => {
                let kind = Kind::Linear { in_features: k, out_features: n, bias: false };
                Ok(Value::Node { src: self.emit(at, kind, vec![x], vec![("weight", vec![n, k], weight)])?, layout: Layout::Nchw })
            }
            ([c, _, _], Layout::Nhwc) if *c == k => {
                let kind = Kind::PixelLinear { in_features: k, out_features: n };
                let tensors = vec![("weight", vec![n, k], weight), ("bias", vec![n], vec![0.0; n])];
                Ok(Value::Node { src: self.emit(at, kind, vec![x], tensors)?, layout: Layout::Nhwc })
            }
            _ => Err(self.fail(at, format!("MatMul of a {:?} value in {layout:?} order by {wshape:?}: only flat features or the channels of a channels-last map are supported", self.view(x, layout)))),
        }
    }

    fn layer_norm(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let (x, layout) = self.computed(at, 0)?;
        let shape = self.shape(x).to_vec();
        let axis = attr_int(node, "axis", -1);
        if shape.len() != 3 || layout != Layout::Nhwc || !(axis == -1 || axis == 3) {
            return Err(self.fail(
                at,
                format!("LayerNormalization from axis {axis} of a {:?} value in {layout:?} order: only a norm over the channels of each pixel (channels last, axis -1) is supported", self.view(x, layout)),
            ));
        }
        let c = shape[0];
        let scale = self.need(at, 1)?;
        let (_, weight) = self.floats(at, &scale)?;
        let bias = match self.arg(at, 2)? {
            Some(b) => self.floats(at, &b)?.1,
            None => vec![0.0; c],
        };
        if weight.len() != c || bias.len() != c {
            return Err(self.fail(
                at,
                format!(
                    "scale of {} and bias of {} values for {c} channels",
                    weight.len(),
                    bias.len()
                ),
            ));
        }
        let eps = decimal(attr_float(node, "epsilon", 1e-5));
        let tensors = vec![("weight", vec![c], weight), ("bias", vec![c], bias)];
        Ok(Value::Node {
            src: self.emit(at, Kind::LayerNorm2d { channels: c, eps }, vec![x], tensors)?,
            layout,
        })
    }

    fn transpose(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let perm = attr_ints(node, "perm").unwrap_or_default();
        let x = self.need(at, 0)?;
        let (src, layout, expr) = match &x {
            Value::Node { src, layout } => (*src, *layout, None),
            Value::Expr {
                src, layout, expr, ..
            } => (*src, *layout, Some(expr.clone())),
            _ => return Err(self.fail(at, "Transpose of a constant is not supported")),
        };
        let rank = self.shape(src).len() + 1;
        let new_layout = match (layout, perm.as_slice()) {
            (l, p) if p.iter().enumerate().all(|(i, v)| *v == i as i64) && p.len() == rank => l,
            (Layout::Nchw, [0, 2, 3, 1]) => Layout::Nhwc,
            (Layout::Nhwc, [0, 3, 1, 2]) => Layout::Nchw,
            _ => return Err(self.fail(at, format!("Transpose {perm:?} of a {layout:?} value: only moving the channels last and back is supported"))),
        };
        Ok(match expr {
            Some(expr) => Value::Expr {
                src,
                layout: new_layout,
                expr,
                at,
            },
            None => Value::Node {
                src,
                layout: new_layout,
            },
        })
    }

    fn constant_node(&mut self, at: usize, node: &'a Node<'a>) -> Result<Value<'a>> {
        let Some(a) = node.attributes.first() else {
            return Err(self.fail(at, "Constant without a value"));
        };
        Ok(match a.name.as_str() {
            "value" => match &a.t {
                Some(t) => Value::Tensor(t),
                None => return Err(self.fail(at, "Constant `value` holds no tensor")),
            },
            "value_float" => Value::Const(
                Const::new(vec![], vec![Num::F(a.f.unwrap_or(0.0) as f64)])
                    .map_err(|e| self.fail(at, e))?,
            ),
            "value_floats" => Value::Const(
                Const::new(
                    vec![a.floats.len()],
                    a.floats.iter().map(|v| Num::F(*v as f64)).collect(),
                )
                .map_err(|e| self.fail(at, e))?,
            ),
            "value_int" => Value::Const(
                Const::new(vec![], vec![Num::I(a.i.unwrap_or(0))]).map_err(|e| self.fail(at, e))?,
            ),
            "value_ints" => Value::Const(Const::ints(a.ints.clone())),
            other => {
                return Err(self.fail(
                    at,
                    format!("Constant `{other}` is not supported (tensors and numbers are)"),
                ))
            }
        })
    }

    fn shape_of(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let x = self.need(at, 0)?;
        let full: Vec<Num> = match &x {
            Value::Node { src, layout } | Value::Expr { src, layout, .. } => {
                std::iter::once(Num::Batch)
                    .chain(
                        self.view(*src, *layout)
                            .into_iter()
                            .map(|d| Num::I(d as i64)),
                    )
                    .collect()
            }
            Value::FlatAll { src } => vec![
                Num::I(-1),
                Num::I(self.shape(*src).iter().product::<usize>() as i64),
            ],
            v => self
                .constant(at, v)?
                .shape
                .iter()
                .map(|d| Num::I(*d as i64))
                .collect(),
        };
        let rank = full.len() as i64;
        let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
        let start = clamp(attr_int(node, "start", 0));
        let end = clamp(attr_int(node, "end", rank));
        let part = full.get(start..end.max(start)).unwrap_or(&[]).to_vec();
        Ok(Value::Const(
            Const::new(vec![part.len()], part).map_err(|e| self.fail(at, e))?,
        ))
    }

    fn gather(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let data = self.need(at, 0)?;
        let iv = self.need(at, 1)?;
        let indices = self.constant(at, &iv)?;
        let axis = attr_int(node, "axis", 0);
        if let Value::FlatAll { src } = data {
            // PyTorch's `as_strided` of a pooled map: every index in order, reshaped to
            // [1, C, H, W] (the batch of 1 baked in): the map itself.
            let shape = self.shape(src).to_vec();
            let n: usize = shape.iter().product();
            let want: Vec<usize> = std::iter::once(1).chain(shape.iter().copied()).collect();
            let idx = indices.int_list("indices").map_err(|e| self.fail(at, e))?;
            if axis == 0
                && indices.shape == want
                && idx.iter().enumerate().all(|(i, v)| *v == i as i64)
                && idx.len() == n
            {
                return Ok(Value::Node {
                    src,
                    layout: Layout::Nchw,
                });
            }
            return Err(self.fail(at, "Gather from a map flattened with its batch: only the identity (every index in order) is supported"));
        }
        let c = self.folded(at, &data, "Gather")?;
        Ok(Value::Const(
            c.gather(&indices, axis).map_err(|e| self.fail(at, e))?,
        ))
    }

    fn squeeze(&mut self, at: usize, node: &Node) -> Result<Value<'a>> {
        let x = self.need(at, 0)?;
        let axes = self.axes(at, node, 1)?;
        if Self::is_constant(&x) {
            let c = self.constant(at, &x)?;
            return Ok(Value::Const(
                c.squeeze(axes.as_deref()).map_err(|e| self.fail(at, e))?,
            ));
        }
        let (src, layout) = self.computed(at, 0)?;
        let spatial = match layout {
            Layout::Nchw => [2, 3],
            Layout::Nhwc => [1, 2],
        };
        let mut a: Vec<i64> = axes
            .unwrap_or_else(|| spatial.to_vec())
            .iter()
            .map(|v| if *v < 0 { v + 4 } else { *v })
            .collect();
        a.sort_unstable();
        match self.shape(src) {
            [_, 1, 1] if a == spatial => self.flatten_value(at, src, Layout::Nchw),
            s => Err(self.fail(at, format!("Squeeze of axes {a:?} of a {s:?} value: only dropping a pooled map's 1x1 height and width is supported"))),
        }
    }
}

/// The `[c, r]` transpose of a row-major `[r, c]` matrix.
fn transpose(m: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; m.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = m[i * c + j];
        }
    }
    out
}
