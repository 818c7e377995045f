//! A small protobuf writer for hand-made ONNX files in tests: valid models built field by
//! field, and the broken ones a hostile or damaged file could be.
#![allow(dead_code)] // each test binary uses a different subset

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A message under construction.
#[derive(Default, Clone)]
pub struct Msg(pub Vec<u8>);

impl Msg {
    pub fn new() -> Self {
        Msg(Vec::new())
    }

    fn key(&mut self, field: u32, wire: u8) {
        varint(((field as u64) << 3) | wire as u64, &mut self.0);
    }

    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, 0);
        varint(v as u64, &mut self.0);
        self
    }

    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend(v.to_le_bytes());
        self
    }

    pub fn bytes(mut self, field: u32, b: &[u8]) -> Self {
        self.key(field, 2);
        varint(b.len() as u64, &mut self.0);
        self.0.extend_from_slice(b);
        self
    }

    pub fn str(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }

    pub fn msg(self, field: u32, m: &Msg) -> Self {
        self.bytes(field, &m.0)
    }
}

/// A float32 `TensorProto` with its values in `raw_data`.
pub fn tensor(name: &str, dims: &[i64], values: &[f32]) -> Msg {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, 1, &raw)
}

/// An int64 `TensorProto` (shapes, axes).
pub fn int_tensor(name: &str, dims: &[i64], values: &[i64]) -> Msg {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, 7, &raw)
}

/// A `TensorProto` of ONNX `data_type` with its little-endian values in `raw_data`.
fn raw_tensor(name: &str, dims: &[i64], data_type: i64, raw: &[u8]) -> Msg {
    let mut m = Msg::new();
    for d in dims {
        m = m.int(1, *d);
    }
    m.int(2, data_type).str(8, name).bytes(9, raw)
}

pub fn attr_ints(name: &str, values: &[i64]) -> Msg {
    let mut m = Msg::new().str(1, name);
    for v in values {
        m = m.int(8, *v);
    }
    m.int(20, 7)
}

pub fn attr_int(name: &str, v: i64) -> Msg {
    Msg::new().str(1, name).int(3, v).int(20, 2)
}

pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: &[Msg]) -> Msg {
    let mut m = Msg::new();
    for i in inputs {
        m = m.str(1, i);
    }
    for o in outputs {
        m = m.str(2, o);
    }
    m = m.str(3, name).str(4, op);
    for a in attrs {
        m = m.msg(5, a);
    }
    m
}

/// A float32 tensor value with fixed dimensions.
pub fn value_info(name: &str, dims: &[i64]) -> Msg {
    let mut shape = Msg::new();
    for d in dims {
        shape = shape.msg(1, &Msg::new().int(1, *d));
    }
    let tensor_type = Msg::new().int(1, 1).msg(2, &shape);
    Msg::new()
        .str(1, name)
        .msg(2, &Msg::new().msg(1, &tensor_type))
}

pub fn graph(nodes: &[Msg], initializers: &[Msg], inputs: &[Msg], outputs: &[Msg]) -> Msg {
    let mut g = Msg::new().str(2, "g");
    for n in nodes {
        g = g.msg(1, n);
    }
    for t in initializers {
        g = g.msg(5, t);
    }
    for i in inputs {
        g = g.msg(11, i);
    }
    for o in outputs {
        g = g.msg(12, o);
    }
    g
}

pub fn model(opset: i64, graph: &Msg) -> Vec<u8> {
    Msg::new()
        .int(1, 8)
        .str(2, "test")
        .msg(7, graph)
        .msg(8, &Msg::new().str(1, "").int(2, opset))
        .0
}
