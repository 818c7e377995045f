//! Finding the state dict in what a checkpoint holds: the object itself, or one entry
//! of a training checkpoint's dict (`{"state_dict": ..., "epoch": ...}`); anything
//! else is refused saying what the file holds.

use super::tensor::TensorRef;
use super::value::{shown, Heap, Object, Value};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Entries that hold the weights in training scripts' checkpoints (Lightning, timm,
/// torchvision's references), in the order preferred when several hold a state dict.
const WEIGHT_KEYS: [&str; 7] = [
    "state_dict",
    "model_state_dict",
    "model",
    "module",
    "net",
    "network",
    "weights",
];

const ADVICE: &str = "save `model.state_dict()` with torch.save and load that file";

fn refuse(what: String) -> Error {
    Error::WeightsFile(format!(
        "the checkpoint holds {what}, not a state dict (names mapped to tensors); {ADVICE}"
    ))
}

/// The dict's items with a string key set twice kept once, at its first place with its
/// last value (as Python's dict does).
fn items(heap: &Heap, entries: &[(Value, Value)]) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for &(k, v) in entries {
        if let Some(text) = heap.text(k) {
            if let Some(&i) = seen.get(text) {
                out[i].1 = v;
                continue;
            }
            seen.insert(text, out.len());
        }
        out.push((k, v));
    }
    out
}

/// The tensors of a dict whose keys are all strings and values all tensors.
fn as_state_dict(heap: &Heap, value: Value) -> Option<Vec<(&str, &TensorRef)>> {
    let Some(Object::Dict(entries)) = heap.get(value) else {
        return None;
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in items(heap, entries) {
        out.push((heap.text(k)?, heap.tensor(v)?));
    }
    (!out.is_empty()).then_some(out)
}

/// How many keys a message lists.
const SHOWN_KEYS: usize = 8;

fn key_list(heap: &Heap, entries: &[(Value, Value)]) -> String {
    let mut names: Vec<String> = entries
        .iter()
        .take(SHOWN_KEYS)
        .map(|&(k, _)| match heap.text(k) {
            Some(s) => format!("`{}`", shown(s)),
            None => heap.describe(k),
        })
        .collect();
    if entries.len() > SHOWN_KEYS {
        names.push(format!("and {} more", entries.len() - SHOWN_KEYS));
    }
    names.join(", ")
}

/// The state dict's `(name, tensor)` pairs in stored order.
pub(super) fn find(heap: &Heap, root: Value) -> Result<Vec<(&str, &TensorRef)>> {
    if let Some(found) = as_state_dict(heap, root) {
        return Ok(found);
    }
    let entries = match heap.get(root) {
        Some(Object::Dict(entries)) => items(heap, entries),
        _ => return Err(refuse(heap.describe(root))),
    };
    if entries.is_empty() {
        return Err(refuse("an empty dict".into()));
    }
    // Which entries hold a state dict, each dict judged once however many keys share it.
    let mut verdicts: HashMap<usize, bool> = HashMap::new();
    let nested: Vec<(&str, Value)> = entries
        .iter()
        .filter_map(|&(k, v)| {
            let Value::Object(id) = v else { return None };
            let is = *verdicts
                .entry(id)
                .or_insert_with(|| as_state_dict(heap, v).is_some());
            Some((heap.text(k)?, v)).filter(|_| is)
        })
        .collect();
    let chosen = match nested.as_slice() {
        [(_, only)] => Some(*only),
        _ => WEIGHT_KEYS
            .iter()
            .find_map(|w| nested.iter().find(|(k, _)| k == w))
            .map(|&(_, v)| v),
    };
    if let Some(found) = chosen.and_then(|v| as_state_dict(heap, v)) {
        return Ok(found);
    }
    if !nested.is_empty() {
        let mut keys: Vec<String> = nested
            .iter()
            .take(SHOWN_KEYS)
            .map(|(k, _)| format!("`{}`", shown(k)))
            .collect();
        if nested.len() > SHOWN_KEYS {
            keys.push(format!("and {} more", nested.len() - SHOWN_KEYS));
        }
        return Err(Error::WeightsFile(format!(
            "the checkpoint holds several state dicts ({}) and none under a usual name ({}); save the one you want on its own",
            keys.join(", "),
            WEIGHT_KEYS.join(", ")
        )));
    }
    let odd = entries
        .iter()
        .find(|&&(k, v)| heap.text(k).is_none() || heap.tensor(v).is_none());
    let holds_tensors = entries.iter().any(|&(_, v)| heap.tensor(v).is_some());
    match odd {
        Some(&(k, v)) if holds_tensors => Err(refuse(format!(
            "a dict mixing tensors with other things (key {} holds {})",
            key_list(heap, &[(k, v)]),
            heap.describe(v)
        ))),
        _ => Err(refuse(format!(
            "a dict with keys {} and no state dict in it",
            key_list(heap, &entries)
        ))),
    }
}
