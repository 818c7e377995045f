//! The protobuf wire format, read from a borrowed byte slice: fields as (number, value)
//! pairs, lengths checked against what is left before anything is sliced, and no
//! recursion (a message's fields are read one level at a time by the caller, so a
//! nesting bomb costs nothing until someone asks for the nested message).

/// One field's value as the wire carries it.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    /// A length-delimited field: bytes, a string, a nested message or a packed array.
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A cursor over one message's fields.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(format!(
                    "a number is cut off at byte {} (the data ends)",
                    self.pos
                ));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!(
            "a number longer than 10 bytes ends at byte {}",
            self.pos
        ))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "a field claims {n} bytes at byte {}, but only {left} are left (truncated or not protobuf)",
                self.pos
            ));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// The next field, `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Field<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(format!(
                "field number {number} at byte {at} is not valid protobuf"
            ));
        }
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Field::Fixed64(u64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            }
            2 => {
                let len = self.varint()?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Field::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            3 | 4 => {
                return Err(format!(
                    "field {number} at byte {at} is a protobuf group, which ONNX never writes"
                ))
            }
            w => {
                return Err(format!(
                    "field {number} at byte {at} has wire type {w}, which protobuf does not define"
                ))
            }
        };
        Ok(Some((number as u32, field)))
    }
}

impl<'a> Field<'a> {
    pub fn bytes(self, what: &str) -> Result<&'a [u8], String> {
        match self {
            Field::Bytes(b) => Ok(b),
            _ => Err(format!("{what} should be length-delimited")),
        }
    }

    pub fn string(self, what: &str) -> Result<String, String> {
        let b = self.bytes(what)?;
        if b.len() > MAX_STRING {
            return Err(format!(
                "{what} is a string of {} bytes (at most {MAX_STRING} are read)",
                b.len()
            ));
        }
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| format!("{what} is not UTF-8 text"))
    }

    pub fn varint(self, what: &str) -> Result<u64, String> {
        match self {
            Field::Varint(v) => Ok(v),
            _ => Err(format!("{what} should be a varint")),
        }
    }

    /// A signed 64-bit integer (protobuf `int64`/`int32`: two's complement in a varint).
    pub fn int(self, what: &str) -> Result<i64, String> {
        self.varint(what).map(|v| v as i64)
    }

    pub fn float(self, what: &str) -> Result<f32, String> {
        match self {
            Field::Fixed32(v) => Ok(f32::from_bits(v)),
            _ => Err(format!("{what} should be a 32-bit float")),
        }
    }
}

/// Longest name, op type or attribute string we keep (a name is a few dozen bytes; a
/// stack trace in metadata a few KB).
pub const MAX_STRING: usize = 1 << 20;

/// Appends the elements of a repeated varint field, packed (one length-delimited run)
/// or not (one varint per field), to `out`, refusing more than `max` in all.
pub fn push_ints(field: Field, out: &mut Vec<i64>, max: usize, what: &str) -> Result<(), String> {
    match field {
        Field::Varint(v) => out.push(v as i64),
        Field::Bytes(b) => {
            let mut f = Fields::new(b);
            while f.pos < b.len() {
                if out.len() >= max {
                    break;
                }
                out.push(f.varint()? as i64);
            }
        }
        _ => return Err(format!("{what} should hold integers")),
    }
    if out.len() >= max {
        return Err(format!("{what} has more than {max} values"));
    }
    Ok(())
}

/// Appends the elements of a repeated `float` field (packed or not), refusing more than
/// `max` in all.
pub fn push_floats(field: Field, out: &mut Vec<f32>, max: usize, what: &str) -> Result<(), String> {
    match field {
        Field::Fixed32(v) => out.push(f32::from_bits(v)),
        Field::Bytes(b) => {
            if b.len() % 4 != 0 {
                return Err(format!(
                    "{what} is a packed float array of {} bytes, not a multiple of 4",
                    b.len()
                ));
            }
            if out.len() + b.len() / 4 >= max {
                return Err(format!("{what} has more than {max} values"));
            }
            out.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        _ => return Err(format!("{what} should hold 32-bit floats")),
    }
    if out.len() >= max {
        return Err(format!("{what} has more than {max} values"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // field 1 varint 150, field 2 bytes "hi", field 3 fixed32 1.0, field 4 fixed64 7.
        let mut msg = vec![0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d];
        msg.extend(1f32.to_le_bytes());
        msg.push(0x21);
        msg.extend(7u64.to_le_bytes());
        let mut f = Fields::new(&msg);
        assert!(matches!(
            f.next_field().unwrap(),
            Some((1, Field::Varint(150)))
        ));
        assert!(matches!(
            f.next_field().unwrap(),
            Some((2, Field::Bytes(b"hi")))
        ));
        assert!(
            matches!(f.next_field().unwrap(), Some((3, Field::Fixed32(v))) if f32::from_bits(v) == 1.0)
        );
        assert!(matches!(
            f.next_field().unwrap(),
            Some((4, Field::Fixed64(7)))
        ));
        assert!(f.next_field().unwrap().is_none());
    }

    #[test]
    fn lengths_past_the_end_and_endless_varints_are_errors() {
        let past = [0x12, 0x05, b'a'];
        let e = Fields::new(&past).next_field().unwrap_err();
        assert!(
            e.contains("claims 5 bytes") && e.contains("only 1 are left"),
            "{e}"
        );
        let endless = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(Fields::new(&endless)
            .next_field()
            .unwrap_err()
            .contains("longer than 10 bytes"));
        assert!(Fields::new(&[0x08])
            .next_field()
            .unwrap_err()
            .contains("cut off"));
        assert!(Fields::new(&[0x0b])
            .next_field()
            .unwrap_err()
            .contains("group"));
        assert!(Fields::new(&[0x00])
            .next_field()
            .unwrap_err()
            .contains("field number 0"));
    }

    #[test]
    fn repeated_ints_packed_or_not_and_bounded() {
        let mut out = Vec::new();
        push_ints(
            Field::Bytes(&[0x01, 0x96, 0x01, 0x7f]),
            &mut out,
            10,
            "dims",
        )
        .unwrap();
        push_ints(Field::Varint(u64::MAX), &mut out, 10, "dims").unwrap();
        assert_eq!(out, [1, 150, 127, -1]);
        let many = vec![0x01; 20];
        assert!(push_ints(Field::Bytes(&many), &mut Vec::new(), 10, "dims")
            .unwrap_err()
            .contains("more than 10"));
    }
}
