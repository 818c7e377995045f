//! Keras' VGG layers (`keras.applications.VGG16`/`VGG19`, or any VGG-shaped model
//! named the same way) matched to a VGG graph through the graph's Keras names, checked
//! against the shapes Keras would give them, and converted to torchvision's tensors.

use super::convert::{dense_to_linear, hwio_to_oihw};
use super::h5::shown;
use super::layout::Layer;
use super::KerasFile;
use crate::error::{Error, Result};
use crate::model::graph::spec::{GraphSpec, NodeId, Src};
use crate::model::graph::Kind;
use crate::model::weights::{Data, Stored};
use std::collections::HashMap;

/// What a Keras layer of the graph must hold, and where its tensors go.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub keras: String,
    pub node: NodeId,
    /// Keras' shapes of the kernel and the bias.
    pub kernel: Vec<usize>,
    pub bias: Vec<usize>,
    /// torchvision's names of the weight and the bias.
    pub names: [String; 2],
    pub conv: bool,
    /// For a dense layer after the flatten of a `[C, H, W]` map: that map's shape.
    pub flattened: Option<(usize, usize, usize)>,
}

/// The layers with weights a Keras model of this graph has, in the graph's order.
pub fn slots(graph: &GraphSpec) -> Result<Vec<Slot>> {
    let side = graph.size.max(graph.min_size());
    let shapes = graph.shapes((side, side))?;
    let mut out = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let (Some(keras), [weight, bias]) = (graph.keras_names.get(&id), node.params.as_slice())
        else {
            continue;
        };
        let (kernel, bias_shape, conv, flattened) = match &node.kind {
            Kind::Conv2d(c) => (
                vec![
                    c.kernel.0,
                    c.kernel.1,
                    c.in_channels / c.groups.max(1),
                    c.out_channels,
                ],
                vec![c.out_channels],
                true,
                None,
            ),
            Kind::Linear {
                in_features,
                out_features,
                ..
            } => {
                let input = match node.inputs.first() {
                    Some(Src::Node(j)) => shapes.get(*j).cloned().unwrap_or_default(),
                    _ => Vec::new(),
                };
                let flattened = match input.as_slice() {
                    [c, h, w] if h * w > 1 => Some((*c, *h, *w)),
                    _ => None,
                };
                (
                    vec![*in_features, *out_features],
                    vec![*out_features],
                    false,
                    flattened,
                )
            }
            _ => continue,
        };
        out.push(Slot {
            keras: keras.clone(),
            node: id,
            kernel,
            bias: bias_shape,
            names: [weight.clone(), bias.clone()],
            conv,
            flattened,
        });
    }
    Ok(out)
}

/// A layer's name and shapes, as a Keras file lists them (no values).
pub struct Listed<'a> {
    pub name: &'a str,
    pub keyed_by_class: bool,
    pub shapes: Vec<&'a [usize]>,
}

impl<'a> From<&'a Layer> for Listed<'a> {
    fn from(l: &'a Layer) -> Self {
        Listed {
            name: &l.name,
            keyed_by_class: l.keyed_by_class,
            shapes: l.vars.iter().map(|v| v.shape.as_slice()).collect(),
        }
    }
}

/// Which slot each of the file's layers fills (by index into both lists), or the one
/// error that says what does not fit: layers the model lacks, layers the file lacks
/// (the classifier of an `include_top=False` file most of all), shapes that differ.
pub fn plan(arch: &str, slots: &[Slot], layers: &[Listed]) -> Result<Vec<(usize, usize)>> {
    let by_name: HashMap<&str, usize> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| (s.keras.as_str(), i))
        .collect();
    let (convs, denses): (Vec<usize>, Vec<usize>) = (0..slots.len()).partition(|i| slots[*i].conv);
    let mut filled: Vec<Option<usize>> = vec![None; slots.len()];
    let mut unknown = Vec::new();
    for (li, layer) in layers.iter().enumerate() {
        let slot = if layer.keyed_by_class {
            by_class_key(layer.name, &convs, &denses)
        } else {
            by_name.get(layer.name).copied()
        };
        match slot {
            Some(si) if filled[si].is_some() => {
                return Err(Error::WeightsFile(format!(
                    "the file holds layer `{}` twice",
                    shown(&slots[si].keras)
                )))
            }
            Some(si) => filled[si] = Some(li),
            None => unknown.push(format!("`{}`", shown(layer.name))),
        }
    }
    let missing: Vec<usize> = (0..slots.len()).filter(|i| filled[*i].is_none()).collect();
    let names = |ids: &[usize]| {
        ids.iter()
            .map(|i| format!("`{}`", slots[*i].keras))
            .collect::<Vec<_>>()
    };
    if !missing.is_empty() && missing.iter().all(|i| !slots[*i].conv) && unknown.is_empty() {
        return Err(Error::WeightsFile(format!(
            "the file has no {} layer: it holds only the convolutional base (Keras' include_top=False, a `_notop.h5` file), and {arch} needs its classifier. Load the weights saved with include_top=True",
            names(&missing).join(", ")
        )));
    }
    if !missing.is_empty() || !unknown.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("it lacks {}", list(names(&missing))));
        }
        if !unknown.is_empty() {
            parts.push(format!("{arch} has no layer {}", list(unknown)));
        }
        let expected = slots.iter().map(|s| s.keras.as_str()).collect::<Vec<_>>();
        return Err(Error::ArchMismatch {
            arch: arch.to_string(),
            detail: format!(
                "{} (Keras names of its layers with weights: {}). Are these weights for another architecture?",
                parts.join("; "),
                expected.join(", ")
            ),
        });
    }
    let mut pairs = Vec::new();
    for (si, li) in filled.iter().enumerate() {
        let Some(li) = *li else { continue };
        check_shapes(arch, &slots[si], &layers[li], denses.last() == Some(&si))?;
        pairs.push((si, li));
    }
    Ok(pairs)
}

/// `conv2d_3` is the fourth convolution, `dense` the first dense layer: the keys
/// Keras 3 makes from a layer's class when the file does not record names.
fn by_class_key(key: &str, convs: &[usize], denses: &[usize]) -> Option<usize> {
    let (class, n) = match key.rsplit_once('_') {
        Some((class, n)) if n.parse::<usize>().is_ok() => (class, n.parse::<usize>().ok()?),
        _ => (key, 0),
    };
    match class {
        "conv2d" => convs.get(n).copied(),
        "dense" => denses.get(n).copied(),
        _ => None,
    }
}

fn list(mut names: Vec<String>) -> String {
    if names.len() > 4 {
        let more = names.len() - 4;
        names.truncate(4);
        names.push(format!("{more} more"));
    }
    names.join(", ")
}

fn check_shapes(arch: &str, slot: &Slot, layer: &Listed, last: bool) -> Result<()> {
    let what = if slot.conv {
        "a Conv2D"
    } else {
        "a Dense layer"
    };
    if layer.shapes.len() != 2 {
        return Err(Error::WeightsFile(format!(
            "layer `{}` holds {} weights; {what} of {arch} holds 2 (kernel and bias)",
            shown(layer.name),
            layer.shapes.len()
        )));
    }
    for (found, expected, part) in [
        (layer.shapes[0], &slot.kernel, "kernel"),
        (layer.shapes[1], &slot.bias, "bias"),
    ] {
        if found == expected.as_slice() {
            continue;
        }
        let hint = if last
            && part == "kernel"
            && found.len() == 2
            && found.first() == expected.first()
        {
            format!(
                ": the file's classifier has {} classes, so give the architecture as `{arch};classes={}`",
                found[1], found[1]
            )
        } else if slot.flattened.is_some() && part == "kernel" {
            format!(
                " (its inputs are the flattened {}x{}x{} map before it)",
                slot.flattened.map_or(0, |f| f.1),
                slot.flattened.map_or(0, |f| f.2),
                slot.flattened.map_or(0, |f| f.0)
            )
        } else {
            String::new()
        };
        return Err(Error::WeightsFile(format!(
            "layer `{}`'s {part} has shape {found:?}, {arch} expects {expected:?}{hint}",
            shown(layer.name)
        )));
    }
    Ok(())
}

/// Every tensor of the graph from a Keras file, under torchvision's names and shapes.
pub fn state_dict(arch: &str, graph: &GraphSpec, file: &KerasFile) -> Result<Vec<Stored<'static>>> {
    if graph.family != "vgg" {
        return Err(Error::WeightsFile(format!(
            "Keras weights are read for VGG-family architectures (vgg16, vgg19, a VGG spec); {arch} is a {} network",
            graph.family
        )));
    }
    let slots = slots(graph)?;
    let listed: Vec<Listed> = file.layers.iter().map(Listed::from).collect();
    let mut out = Vec::new();
    for (si, li) in plan(arch, &slots, &listed)? {
        let (slot, layer) = (&slots[si], &file.layers[li]);
        let kernel = file.values(&layer.vars[0])?;
        let bias = file.values(&layer.vars[1])?;
        let converted = if slot.conv {
            let k = &slot.kernel;
            hwio_to_oihw(&kernel, [k[0], k[1], k[2], k[3]])
        } else {
            dense_to_linear(&kernel, slot.kernel[0], slot.kernel[1], slot.flattened)
        };
        let Some(weight) = converted else {
            return Err(Error::WeightsFile(format!(
                "layer `{}`'s kernel does not hold the values its shape says",
                shown(&layer.name)
            )));
        };
        let torch_shape = if slot.conv {
            graph
                .state
                .iter()
                .find(|e| e.name == slot.names[0])
                .map(|e| e.shape.clone())
                .unwrap_or_default()
        } else {
            vec![slot.kernel[1], slot.kernel[0]]
        };
        out.push(Stored {
            name: slot.names[0].clone(),
            shape: torch_shape,
            data: Data::F32(weight),
        });
        out.push(Stored {
            name: slot.names[1].clone(),
            shape: slot.bias.clone(),
            data: Data::F32(bias),
        });
    }
    Ok(out)
}
