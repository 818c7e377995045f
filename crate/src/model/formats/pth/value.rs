//! What the unpickler builds: small values that are copied freely, and every compound
//! object in one arena that values point into. A memo lookup copies a pointer, never an
//! object, so a pickle that fetches one big object many times costs nothing, and an
//! object that contains itself is only an index (no reference cycle, nothing leaks).

use super::globals::Global;
use super::tensor::{StorageRef, TensorRef};
use crate::error::{Error, Result};

/// The most objects one pickle may create, counting with each tuple, list and dict the
/// items it is made with. A state dict makes about fifteen per tensor, so this is room
/// for hundreds of thousands of tensors; past it the file is hostile (a call that
/// copies a memoized list again and again, say).
pub(super) const MAX_CELLS: usize = 1 << 23;

/// A pickled value: a scalar, or an index into the [`Heap`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Object(usize),
}

/// A compound object. Dicts keep their items in insertion order, as pickled; a key set
/// twice is resolved when the state dict is read.
#[derive(Debug)]
pub(super) enum Object {
    Str(String),
    /// An integer wider than 64 bits, as its little-endian two's-complement bytes: the
    /// legacy format's magic number is one.
    BigInt(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(Box<StorageRef>),
    Tensor(Box<TensorRef>),
}

#[derive(Default)]
pub(super) struct Heap {
    objects: Vec<Object>,
    cells: usize,
}

impl Heap {
    pub(super) fn alloc(&mut self, object: Object) -> Result<Value> {
        let items = match &object {
            Object::Tuple(items) | Object::List(items) => items.len(),
            Object::Dict(items) => items.len(),
            _ => 0,
        };
        self.cells = self.cells.saturating_add(1 + items);
        if self.cells > MAX_CELLS {
            return Err(Error::WeightsFile(format!(
                "the pickle builds more than {MAX_CELLS} objects and items: not a state dict (or a hostile file)"
            )));
        }
        self.objects.push(object);
        Ok(Value::Object(self.objects.len() - 1))
    }

    pub(super) fn get(&self, value: Value) -> Option<&Object> {
        match value {
            Value::Object(i) => self.objects.get(i),
            _ => None,
        }
    }

    pub(super) fn get_mut(&mut self, value: Value) -> Option<&mut Object> {
        match value {
            Value::Object(i) => self.objects.get_mut(i),
            _ => None,
        }
    }

    pub(super) fn text(&self, value: Value) -> Option<&str> {
        match self.get(value) {
            Some(Object::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn tensor(&self, value: Value) -> Option<&TensorRef> {
        match self.get(value) {
            Some(Object::Tensor(t)) => Some(t),
            _ => None,
        }
    }

    /// The items of a tuple or list.
    pub(super) fn sequence(&self, value: Value) -> Option<&[Value]> {
        match self.get(value) {
            Some(Object::Tuple(items) | Object::List(items)) => Some(items),
            _ => None,
        }
    }

    /// Every storage the pickle refers to, in the order the persistent ids appeared.
    pub(super) fn storages(&self) -> impl Iterator<Item = &StorageRef> {
        self.objects.iter().filter_map(|o| match o {
            Object::Storage(s) => Some(s.as_ref()),
            _ => None,
        })
    }

    /// What a value is, for messages: "an int", "a list of 3 items", "a tensor of shape
    /// [2, 3]". Looks one level deep only.
    pub(super) fn describe(&self, value: Value) -> String {
        match value {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) => "an int".into(),
            Value::Float(_) => "a float".into(),
            Value::Object(_) => match self.get(value) {
                Some(Object::Str(_)) => "a string".into(),
                Some(Object::BigInt(_)) => "an int".into(),
                Some(Object::Tuple(items)) => format!("a tuple of {} items", items.len()),
                Some(Object::List(items)) => format!("a list of {} items", items.len()),
                Some(Object::Dict(items)) => format!("a dict of {} items", items.len()),
                Some(Object::Global(g)) => format!("a reference to `{}`", g.name()),
                Some(Object::Storage(_)) => "a bare tensor storage".into(),
                Some(Object::Tensor(t)) if t.shape.len() <= 8 => {
                    format!("a tensor of shape {:?}", t.shape)
                }
                Some(Object::Tensor(t)) => format!("a tensor of {} dimensions", t.shape.len()),
                None => "nothing".into(),
            },
        }
    }
}

/// Shows a name taken from the file in a message: printable, and short.
pub(super) fn shown(name: &str) -> String {
    const MAX: usize = 80;
    let escaped: String = name.escape_debug().collect();
    match escaped.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}
