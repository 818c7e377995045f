//! Where Keras keeps each layer's weights, in the two HDF5 layouts it writes.
//!
//! - Keras 2 (`model.save_weights("w.h5")`, `keras.applications`' hosted files such as
//!   `vgg16_weights_tf_dim_ordering_tf_kernels.h5`, and Keras 3's legacy `.h5` writer):
//!   the root's `layer_names` attribute lists the layers in order; each has a group of
//!   that name whose `weight_names` attribute lists its weights as paths relative to the
//!   group (`block1_conv1_W_1:0` in the hosted files, `block1_conv1/kernel:0` from
//!   tf.keras, `block1_conv1/kernel` from Keras 3). A whole-model `.h5` keeps the same
//!   under a `model_weights` group. Attributes over 64 KB are split by Keras into
//!   `layer_names0`, `layer_names1`, ...
//! - Keras 3 (`.weights.h5`, and the `model.weights.h5` inside a `.keras` archive):
//!   `layers/<key>/vars/0`, `1`, ... in the layer's variable order (kernel, bias). The
//!   key is made from the layer's class (`conv2d`, `conv2d_1`, `dense`); recent Keras
//!   also writes the layer's own name as the `vars` group's `name` attribute.

use super::h5::{shown, Float, H5};
use crate::error::{Error, Result};

/// One stored variable of a layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    /// Its dataset's path in the file.
    pub path: String,
    pub shape: Vec<usize>,
    pub float: Float,
}

/// One layer that holds weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The layer's Keras name (`block1_conv1`), or for a Keras 3 file that does not
    /// record names, its class-made key (`conv2d_1`).
    pub name: String,
    /// Whether `name` is such a class-made key rather than the layer's name.
    pub keyed_by_class: bool,
    /// Kernel first, then bias, as Keras orders them.
    pub vars: Vec<Var>,
}

/// Which of Keras' layouts a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Keras2,
    Keras3,
}

/// More layers than any VGG has (VGG19: 25 with pools), by far.
const MAX_LAYERS: usize = 10_000;
/// More variables than a layer of ours has (a convolution: 2).
const MAX_VARS: usize = 64;

/// The layers of a Keras weights file that hold weights, in the file's order.
pub fn layers(h5: &H5) -> Result<(Layout, Vec<Layer>)> {
    if let Some(base) = keras2_base(h5)? {
        return Ok((Layout::Keras2, keras2(h5, &base)?));
    }
    if h5.has_group("layers") {
        return Ok((Layout::Keras3, keras3(h5)?));
    }
    let mut top = h5.groups("")?;
    top.extend(h5.datasets("")?);
    let listed = top
        .iter()
        .take(6)
        .map(|n| format!("`{}`", shown(n)))
        .collect::<Vec<_>>();
    Err(Error::WeightsFile(format!(
        "an HDF5 file, but not Keras weights: it has neither Keras 2's `layer_names` attribute nor Keras 3's `layers` group (its top level holds {})",
        if listed.is_empty() { "nothing".to_string() } else { listed.join(", ") }
    )))
}

/// The group holding Keras 2's `layer_names`: the root, or a whole model's `model_weights`.
fn keras2_base(h5: &H5) -> Result<Option<String>> {
    for base in ["", "model_weights"] {
        if !base.is_empty() && !h5.has_group(base) {
            continue;
        }
        if names_attr(h5, base, "layer_names")?.is_some() {
            return Ok(Some(base.to_string()));
        }
    }
    Ok(None)
}

/// A list-of-names attribute, joined from Keras' numbered chunks when it was split.
fn names_attr(h5: &H5, group: &str, name: &str) -> Result<Option<Vec<String>>> {
    if let Some(list) = h5.string_list(group, name)? {
        return Ok(Some(list));
    }
    let mut joined: Option<Vec<String>> = None;
    for i in 0..MAX_LAYERS {
        match h5.string_list(group, &format!("{name}{i}"))? {
            Some(part) => joined.get_or_insert_with(Vec::new).extend(part),
            None => break,
        }
    }
    Ok(joined)
}

fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

fn keras2(h5: &H5, base: &str) -> Result<Vec<Layer>> {
    let names = names_attr(h5, base, "layer_names")?.unwrap_or_default();
    read_at_most("`layer_names` lists", names.len(), "layers", MAX_LAYERS)?;
    let mut out = Vec::new();
    for name in names {
        let group = join(base, &name);
        if !h5.has_group(&group) {
            return Err(Error::WeightsFile(format!(
                "`layer_names` lists layer `{}`, but the file has no group `{}` for its weights",
                shown(&name),
                shown(&group)
            )));
        }
        let Some(weights) = names_attr(h5, &group, "weight_names")? else {
            return Err(Error::WeightsFile(format!(
                "group `{}` has no `weight_names` attribute: not a Keras layer's weights",
                shown(&group)
            )));
        };
        if weights.is_empty() {
            continue;
        }
        let holder = format!("layer `{}` lists", shown(&name));
        read_at_most(&holder, weights.len(), "weights", MAX_VARS)?;
        let vars = weights
            .iter()
            .map(|w| var(h5, join(&group, w)))
            .collect::<Result<Vec<_>>>()?;
        out.push(Layer {
            name,
            keyed_by_class: false,
            vars,
        });
    }
    Ok(out)
}

/// Refuses a file whose `holder` (`"layer `x` lists"`) has more than `max` `things`.
fn read_at_most(holder: &str, count: usize, things: &str, max: usize) -> Result<()> {
    if count > max {
        return Err(Error::WeightsFile(format!(
            "{holder} {count} {things}; at most {max} are read"
        )));
    }
    Ok(())
}

fn var(h5: &H5, path: String) -> Result<Var> {
    let (shape, float) = h5.describe(&path)?;
    Ok(Var { path, shape, float })
}

fn keras3(h5: &H5) -> Result<Vec<Layer>> {
    let keys = h5.groups("layers")?;
    read_at_most("the `layers` group holds", keys.len(), "layers", MAX_LAYERS)?;
    let mut out = Vec::new();
    for key in keys {
        let vars_group = format!("layers/{key}/vars");
        if !h5.has_group(&vars_group) {
            continue;
        }
        let mut numbered = Vec::new();
        for d in h5.datasets(&vars_group)? {
            let Ok(i) = d.parse::<usize>() else {
                return Err(Error::WeightsFile(format!(
                    "`{}` holds a dataset `{}`; Keras 3 numbers a layer's variables 0, 1, ...",
                    shown(&vars_group),
                    shown(&d)
                )));
            };
            numbered.push((i, d));
        }
        if numbered.is_empty() {
            continue;
        }
        let holder = format!("layer `{}` holds", shown(&key));
        read_at_most(&holder, numbered.len(), "variables", MAX_VARS)?;
        numbered.sort();
        if numbered.iter().enumerate().any(|(k, (i, _))| k != *i) {
            return Err(Error::WeightsFile(format!(
                "the variables of `{}` are not numbered 0 to {}: the file is incomplete",
                shown(&vars_group),
                numbered.len() - 1
            )));
        }
        let recorded = h5
            .string_list(&vars_group, "name")?
            .and_then(|names| names.into_iter().next())
            .filter(|n| !n.is_empty());
        let vars = numbered
            .into_iter()
            .map(|(_, d)| var(h5, format!("{vars_group}/{d}")))
            .collect::<Result<Vec<_>>>()?;
        out.push(Layer {
            keyed_by_class: recorded.is_none(),
            name: recorded.unwrap_or(key),
            vars,
        });
    }
    Ok(out)
}
