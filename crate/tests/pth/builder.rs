//! Checkpoints written opcode by opcode, for the cases torch.save never writes: hostile
//! and broken files, big-endian archives, Python 2 strings, the newer untyped storages.

use std::io::{Cursor, Write};

/// A pickle under construction (protocol 2 unless the caller writes another PROTO).
pub struct Pickle(pub Vec<u8>);

impl Pickle {
    pub fn new() -> Self {
        Pickle(vec![0x80, 2])
    }

    pub fn op(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn global(self, module: &str, name: &str) -> Self {
        self.op(format!("c{module}\n{name}\n").as_bytes())
    }

    pub fn str(self, s: &str) -> Self {
        let len = (s.len() as u32).to_le_bytes();
        self.op(b"X").op(&len).op(s.as_bytes())
    }

    /// Python 2's SHORT_BINSTRING, as Python 2 pickled `str` keys.
    pub fn py2_str(self, s: &str) -> Self {
        self.op(&[b'U', s.len() as u8]).op(s.as_bytes())
    }

    pub fn int(self, i: i32) -> Self {
        self.op(b"J").op(&i.to_le_bytes())
    }

    /// A tuple of ints (a shape or strides).
    pub fn ints(mut self, values: &[i64]) -> Self {
        self = self.op(b"(");
        for &v in values {
            self = self.int(v as i32);
        }
        self.op(b"t")
    }

    /// A persistent id for storage `key` of `class` (zip layout: five items).
    pub fn storage(self, class: &str, key: &str, numel: i32) -> Self {
        self.op(b"(")
            .str("storage")
            .global("torch", class)
            .str(key)
            .str("cpu")
            .int(numel)
            .op(b"tQ")
    }

    /// `_rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())`.
    pub fn tensor(
        self,
        class: &str,
        key: &str,
        offset: i32,
        shape: &[i64],
        stride: &[i64],
    ) -> Self {
        self.global("torch._utils", "_rebuild_tensor_v2")
            .op(b"(")
            .storage(class, key, 0)
            .int(offset)
            .ints(shape)
            .ints(stride)
            .op(&[0x89])
            .global("collections", "OrderedDict")
            .op(b")Rt")
            .op(b"R")
    }

    /// Starts an OrderedDict and a MARK for its items.
    pub fn ordered_dict(self) -> Self {
        self.global("collections", "OrderedDict").op(b")R(")
    }

    /// Ends the items (SETITEMS) and the pickle.
    pub fn end_dict(self) -> Vec<u8> {
        self.op(b"u.").0
    }

    pub fn stop(self) -> Vec<u8> {
        self.op(b".").0
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[i64]) -> Vec<i64> {
    let mut out = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        out[d] = out[d + 1] * shape[d + 1];
    }
    out
}

/// A state dict pickle of float32 tensors, each on its own storage named by its index.
pub fn state_dict(tensors: &[(&str, &[i64])]) -> Vec<u8> {
    let mut p = Pickle::new().ordered_dict();
    for (i, (name, shape)) in tensors.iter().enumerate() {
        p = p
            .str(name)
            .tensor("FloatStorage", &i.to_string(), 0, shape, &strides(shape));
    }
    p.end_dict()
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The legacy stream: magic number, protocol 1001, platform dict, `main`, the key list,
/// then each storage's element count and bytes.
pub fn legacy(main: &[u8], storages: &[(&str, u64, &[u8])]) -> Vec<u8> {
    let magic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    let mut out = Pickle::new().op(&[0x8a, 10]).op(&magic).stop();
    out.extend(Pickle::new().op(b"M").op(&1001u16.to_le_bytes()).stop());
    out.extend(Pickle::new().op(b"}").stop());
    out.extend_from_slice(main);
    let mut keys = Pickle::new().op(b"](");
    for (key, _, _) in storages {
        keys = keys.str(key);
    }
    out.extend(keys.op(b"e").stop());
    for (_, count, bytes) in storages {
        out.extend(count.to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// A zip archive laid out as torch.save lays it out.
pub fn archive(data_pkl: &[u8], byteorder: Option<&str>, storages: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut record = |name: &str, bytes: &[u8]| {
        zip.start_file(format!("archive/{name}"), options).unwrap();
        zip.write_all(bytes).unwrap();
    };
    record("data.pkl", data_pkl);
    if let Some(order) = byteorder {
        record("byteorder", order.as_bytes());
    }
    for (key, bytes) in storages {
        record(&format!("data/{key}"), bytes);
    }
    record("version", b"3\n");
    zip.finish().unwrap().into_inner()
}
