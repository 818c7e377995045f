//! A pickle machine for state dicts: it builds dicts, lists, tuples, strings, numbers
//! and tensor descriptions, resolves Python names only through the allow-list
//! (`globals`), and runs nothing. Only the opcodes `torch.save` writes (protocols 2 to
//! 5, and Python 2's strings) are read; every length is checked against the bytes left
//! before anything is allocated, and the stack, marks and memo are bounded.

use super::globals::{self, Refusal};
use super::value::{shown, Heap, Object, Value};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Values on the stack at once; `torch.save` batches items by 1,000.
const MAX_STACK: usize = 1 << 20;
/// Nested marks; a state dict nests a handful.
const MAX_MARKS: usize = 1 << 10;
/// Memo entries; a state dict uses about fifteen per tensor.
const MAX_MEMO: usize = 1 << 20;
/// Arguments of a call; the allowed calls take at most eight.
const MAX_ARGS: usize = 8;

/// One pickle read: the objects it built, its result, and where it ended.
pub(super) struct Unpickled {
    pub heap: Heap,
    pub root: Value,
    pub end: usize,
}

/// Reads the pickle that starts at `start` in `bytes` (a file may hold several in a
/// row, as the legacy format does).
pub(super) fn load(bytes: &[u8], start: usize) -> Result<Unpickled> {
    Machine {
        bytes,
        pos: start,
        heap: Heap::default(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    heap: Heap,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

fn malformed(what: String) -> Error {
    Error::WeightsFile(format!(
        "the checkpoint's pickle is malformed: {what} (the file is corrupt or not a PyTorch checkpoint)"
    ))
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(Error::WeightsFile(format!(
                "the checkpoint's pickle is cut short at byte {} (it needs {n} more bytes, {left} are left): the file is truncated",
                self.pos
            )));
        }
        let slice = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A newline-terminated name (GLOBAL's operands).
    fn line(&mut self) -> Result<String> {
        let rest = &self.bytes[self.pos..];
        // Without a newline this asks for one byte more than is left: "cut short".
        let n = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = self.take(n as u64 + 1)?;
        self.text(&line[..n])
    }

    fn text(&self, bytes: &[u8]) -> Result<String> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| malformed(format!("a string before byte {} is not UTF-8", self.pos)))
    }

    fn push(&mut self, v: Value) -> Result<()> {
        if self.stack.len() >= MAX_STACK {
            return Err(malformed(format!(
                "more than {MAX_STACK} values on the stack at byte {}",
                self.pos
            )));
        }
        self.stack.push(v);
        Ok(())
    }

    fn alloc(&mut self, o: Object) -> Result<()> {
        let v = self.heap.alloc(o)?;
        self.push(v)
    }

    fn pop(&mut self) -> Result<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(malformed(format!(
                "the stack runs empty at byte {}",
                self.pos
            )));
        }
        Ok(self.stack.pop().unwrap_or(Value::None))
    }

    fn top(&self) -> Result<Value> {
        self.stack
            .last()
            .copied()
            .ok_or_else(|| malformed(format!("the stack is empty at byte {}", self.pos)))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let at = self
            .marks
            .pop()
            .ok_or_else(|| malformed(format!("no mark to pop at byte {}", self.pos)))?;
        Ok(self.stack.split_off(at.min(self.stack.len())))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>> {
        let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>>>()?;
        items.reverse();
        Ok(items)
    }

    /// The memo index a memo opcode names: a byte after BINPUT and BINGET, a
    /// little-endian u32 after LONG_BINPUT and LONG_BINGET; MEMOIZE takes the next one.
    fn memo_index(&mut self, op: u8) -> Result<u32> {
        match op {
            b'q' | b'h' => Ok(self.byte()?.into()),
            b'r' | b'j' => self.u32(),
            _ => Ok(u32::try_from(self.memo.len()).unwrap_or(u32::MAX)),
        }
    }

    fn memo_put(&mut self, index: u32) -> Result<()> {
        let v = self.top()?;
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&index) {
            return Err(malformed(format!("more than {MAX_MEMO} memo entries")));
        }
        self.memo.insert(index, v);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Result<()> {
        let v = self.memo.get(&index).copied().ok_or_else(|| {
            malformed(format!(
                "memo entry {index} is fetched before it is stored (byte {})",
                self.pos
            ))
        })?;
        self.push(v)
    }

    /// An int of `n` little-endian two's-complement bytes (LONG1, LONG4).
    fn long(&mut self, n: u64) -> Result<()> {
        let bytes = self.take(n)?;
        let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
        let fill = if negative { 0xff } else { 0 };
        let significant = bytes.iter().rposition(|&b| b != fill).map_or(0, |i| i + 1);
        if significant <= 8 && (significant < 8 || (bytes[7] & 0x80 != 0) == negative) {
            let mut wide = [fill; 8];
            wide[..significant].copy_from_slice(&bytes[..significant]);
            return self.push(Value::Int(i64::from_le_bytes(wide)));
        }
        self.alloc(Object::BigInt(bytes.to_vec()))
    }

    fn string(&mut self, n: u64) -> Result<()> {
        let bytes = self.take(n)?;
        let s = self.text(bytes)?;
        self.alloc(Object::Str(s))
    }

    fn global(&mut self, module: &str, name: &str) -> Result<()> {
        match globals::resolve(module, name) {
            Ok(g) => self.alloc(Object::Global(g)),
            Err(Refusal::UnsupportedType(name)) => Err(Error::WeightsFile(format!(
                "the checkpoint holds tensors of type `{}`; only float32, float16, bfloat16 and float64 weights are read (and integer buffers skipped)",
                shown(&name)
            ))),
            Err(Refusal::NotAllowed(name)) if self.instance_follows() => {
                Err(Error::WeightsFile(format!(
                    "the checkpoint holds a pickled `{}` object (a whole model saved with `torch.save(model)`?), not a state dict; save `model.state_dict()` instead and load that file",
                    shown(&name)
                )))
            }
            Err(Refusal::NotAllowed(name)) => Err(Error::WeightsFile(format!(
                "the checkpoint asks to run `{}`; only plain state dicts are read",
                shown(&name)
            ))),
        }
    }

    /// Whether the bytes after a class name make an instance of it (memo writes, then
    /// EMPTY_TUPLE NEWOBJ: how protocol 2 pickles an object such as an `nn.Module`).
    /// Only looks; nothing is read or built.
    fn instance_follows(&self) -> bool {
        let mut p = self.pos;
        loop {
            match self.bytes.get(p) {
                Some(b'q') => p += 2,
                Some(b'r') => p += 5,
                Some(0x94) => p += 1,
                _ => break,
            }
        }
        self.bytes.get(p..p + 2) == Some(&[b')', 0x81][..])
    }

    fn container(&mut self, target: Value, items: Vec<Value>, op: &str) -> Result<()> {
        match (self.heap.get_mut(target), op) {
            (Some(Object::Dict(entries)), "SETITEMS") if items.len().is_multiple_of(2) => {
                entries.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
                Ok(())
            }
            (Some(Object::List(list)), "APPENDS") => {
                list.extend(items);
                Ok(())
            }
            _ => Err(malformed(format!(
                "{op} on {} at byte {}",
                self.heap.describe(target),
                self.pos
            ))),
        }
    }

    fn run(mut self) -> Result<Unpickled> {
        loop {
            let at = self.pos;
            match self.byte()? {
                0x80 => {
                    let protocol = self.byte()?;
                    if !(2..=5).contains(&protocol) {
                        return Err(malformed(format!(
                            "pickle protocol {protocol}; torch.save writes 2 to 5"
                        )));
                    }
                }
                // FRAME: the length of what follows, a hint for buffered readers.
                0x95 => {
                    self.take(8)?;
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok(Unpickled {
                        heap: self.heap,
                        root,
                        end: self.pos,
                    });
                }
                b'(' => {
                    if self.marks.len() >= MAX_MARKS {
                        return Err(malformed(format!("marks nested over {MAX_MARKS} deep")));
                    }
                    self.marks.push(self.stack.len());
                }
                b'}' => self.alloc(Object::Dict(Vec::new()))?,
                b']' => self.alloc(Object::List(Vec::new()))?,
                b')' => self.alloc(Object::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.alloc(Object::Tuple(items))?
                }
                op @ 0x85..=0x87 => {
                    let items = self.pop_n(usize::from(op - 0x84))?;
                    self.alloc(Object::Tuple(items))?
                }
                // SETITEM, SETITEMS, APPEND, APPENDS: into the dict or list below.
                op @ (b's' | b'u' | b'a' | b'e') => {
                    let items = match op {
                        b's' => self.pop_n(2)?,
                        b'a' => self.pop_n(1)?,
                        _ => self.pop_mark()?,
                    };
                    let target = self.top()?;
                    let into = if matches!(op, b's' | b'u') {
                        "SETITEMS"
                    } else {
                        "APPENDS"
                    };
                    self.container(target, items, into)?
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push(Value::Int(v.into()))?
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()))?
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()))?
                }
                0x8a => {
                    let n = self.byte()?;
                    self.long(n.into())?
                }
                0x8b => {
                    let n = i32::from_le_bytes(self.array()?);
                    let n = u64::try_from(n)
                        .map_err(|_| malformed(format!("negative int length at byte {at}")))?;
                    self.long(n)?
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.push(Value::Float(v))?
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8; Python 2's BINSTRING and
                // SHORT_BINSTRING (names in checkpoints saved by Python 2), read as UTF-8
                // as torch.load does.
                b'X' | b'T' => {
                    let n = self.u32()?;
                    self.string(n.into())?
                }
                0x8c | b'U' => {
                    let n = self.byte()?;
                    self.string(n.into())?
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.array()?);
                    self.string(n)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(&module, &name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.heap.text(module), self.heap.text(name))
                    else {
                        return Err(malformed(format!(
                            "STACK_GLOBAL without two strings at byte {at}"
                        )));
                    };
                    let (module, name) = (module.to_string(), name.to_string());
                    self.global(&module, &name)?
                }
                b'Q' => {
                    let id = self.pop()?;
                    let storage = globals::storage_from_id(&mut self.heap, id)?;
                    self.push(storage)?
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let (Some(Object::Global(g)), Some(items)) = (
                        self.heap.get(func),
                        self.heap.sequence(args).filter(|a| a.len() <= MAX_ARGS),
                    ) else {
                        return Err(malformed(format!(
                            "a call of {} with {} at byte {at}",
                            self.heap.describe(func),
                            self.heap.describe(args)
                        )));
                    };
                    let (g, args) = (*g, items.to_vec());
                    let v = globals::call(&mut self.heap, g, &args)?;
                    self.push(v)?
                }
                // BUILD sets attributes: a state dict's `_metadata` (versions of each
                // module's layout), which the weights do not need.
                b'b' => {
                    let _state = self.pop()?;
                    let target = self.top()?;
                    if !matches!(
                        self.heap.get(target),
                        Some(Object::Dict(_) | Object::Tensor(_))
                    ) {
                        return Err(malformed(format!(
                            "BUILD on {} at byte {at}",
                            self.heap.describe(target)
                        )));
                    }
                }
                // BINPUT, LONG_BINPUT, MEMOIZE: the top of the stack into the memo.
                op @ (b'q' | b'r' | 0x94) => {
                    let i = self.memo_index(op)?;
                    self.memo_put(i)?
                }
                // BINGET, LONG_BINGET: a memo entry onto the stack.
                op @ (b'h' | b'j') => {
                    let i = self.memo_index(op)?;
                    self.memo_get(i)?
                }
                op => {
                    return Err(malformed(format!(
                        "opcode 0x{op:02x} at byte {at} is not one a state dict uses"
                    )))
                }
            }
        }
    }
}
