//! A reader for the part of Python's pickle format (protocols 2–4) that the Planetoid
//! files use: numpy arrays, `scipy.sparse.csr_matrix` objects and `defaultdict(list)`
//! adjacency lists, written by Python 2.
//!
//! It is a small stack machine over the binary opcodes. It imports nothing: the few
//! globals these files name (`numpy.core.multiarray._reconstruct`, `numpy.ndarray`,
//! `numpy.dtype`, `scipy.sparse.csr.csr_matrix`, `collections.defaultdict`, `list`) are
//! replayed by hand, and any other global, opcode or shape of data is a
//! [`Error::Format`] naming the file and the byte offset. Whatever the bytes, it never
//! panics and never allocates more than a small multiple of the input: every length
//! field is checked against the bytes left, every object comes from one opcode.
//!
//! Objects live in an arena and values refer to them by index, so the memo and the
//! stack share objects as Python does (BUILD on a memoised dtype is seen through later
//! BINGETs), reference cycles cannot leak, and dropping is flat however deep the nesting.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::arrays::{DType, NdArray};
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// What a supported pickle holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Pickled {
    /// A `numpy.ndarray`.
    Array(NdArray),
    /// A `scipy.sparse.csr_matrix`, values cast to `f32`, column order as stored.
    Csr(Csr),
    /// A dict (or `defaultdict(list)`) of int → list of ints, e.g. `ind.cora.graph`.
    /// A key given twice keeps its last list, as in Python.
    Adjacency(BTreeMap<i64, Vec<i64>>),
}

impl Pickled {
    /// A short description for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Pickled::Array(_) => "a numpy array",
            Pickled::Csr(_) => "a scipy CSR matrix",
            Pickled::Adjacency(_) => "an adjacency dict",
        }
    }
}

/// Parses pickle `bytes`; `path` only names the source in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Pickled> {
    let mut machine = Machine {
        input: bytes,
        pos: 0,
        op_pos: 0,
        path,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        objects: Vec::new(),
        decoded: Cell::new(0),
    };
    if bytes.is_empty() {
        return Err(machine.fail_content("file is empty, expected a pickle".into()));
    }
    let result = machine.run()?;
    machine.finish(result)
}

/// Reads and parses the pickle file at `path`.
pub fn read(path: &Path) -> Result<Pickled> {
    parse(&read_bytes(path)?, path)
}

/// Reads a pickled numpy array.
pub fn read_array(path: &Path) -> Result<NdArray> {
    parse_array(&read_bytes(path)?, path)
}

/// Reads a pickled `scipy.sparse.csr_matrix`.
pub fn read_csr(path: &Path) -> Result<Csr> {
    parse_csr(&read_bytes(path)?, path)
}

/// Reads a pickled dict of int → list of ints.
pub fn read_adjacency(path: &Path) -> Result<BTreeMap<i64, Vec<i64>>> {
    parse_adjacency(&read_bytes(path)?, path)
}

/// Parses pickle `bytes` (read from `path`) holding a numpy array.
pub fn parse_array(bytes: &[u8], path: &Path) -> Result<NdArray> {
    match parse(bytes, path)? {
        Pickled::Array(a) => Ok(a),
        other => Err(wrong_kind(path, "a numpy array", &other)),
    }
}

/// Parses pickle `bytes` (read from `path`) holding a `scipy.sparse.csr_matrix`.
pub fn parse_csr(bytes: &[u8], path: &Path) -> Result<Csr> {
    match parse(bytes, path)? {
        Pickled::Csr(m) => Ok(m),
        other => Err(wrong_kind(path, "a scipy CSR matrix", &other)),
    }
}

/// Parses pickle `bytes` (read from `path`) holding a dict of int → list of ints.
pub fn parse_adjacency(bytes: &[u8], path: &Path) -> Result<BTreeMap<i64, Vec<i64>>> {
    match parse(bytes, path)? {
        Pickled::Adjacency(d) => Ok(d),
        other => Err(wrong_kind(path, "an adjacency dict", &other)),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    super::input::read_file(path)
}

fn wrong_kind(path: &Path, expected: &str, found: &Pickled) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line: None,
        message: format!("expected a pickle of {expected}, found {}", found.kind()),
    }
}

/// A stack or memo entry: a scalar, or an index into the object arena.
#[derive(Clone, Copy, Debug)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// A float's value is never needed by the supported structures, only its place.
    Float,
    Obj(usize),
}

/// The only globals a pickle may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Global {
    /// `numpy.core.multiarray._reconstruct`
    Reconstruct,
    /// `numpy.ndarray`
    NdArrayType,
    /// `numpy.dtype`
    Dtype,
    /// `scipy.sparse.csr.csr_matrix`
    CsrMatrix,
    /// `collections.defaultdict`
    DefaultDict,
    /// `__builtin__.list`
    List,
}

impl Global {
    fn lookup(module: &str, name: &str) -> Option<Global> {
        match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Some(Global::Reconstruct)
            }
            ("numpy", "ndarray") => Some(Global::NdArrayType),
            ("numpy", "dtype") => Some(Global::Dtype),
            ("scipy.sparse.csr" | "scipy.sparse._csr", "csr_matrix") => Some(Global::CsrMatrix),
            ("collections", "defaultdict") => Some(Global::DefaultDict),
            ("__builtin__" | "builtins", "list") => Some(Global::List),
            _ => None,
        }
    }
}

/// Heap objects. Byte strings borrow the input.
enum Object<'a> {
    /// Python 2 `str` (latin-1 bytes) or Python 3 `bytes`.
    Bytes(&'a [u8]),
    /// Python `unicode` / `str`.
    Text(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Entries in insertion order; lookups take the last match, like a Python dict.
    Dict(Vec<(Value, Value)>),
    Global(Global),
    /// A `numpy.dtype`; the byte order arrives with BUILD.
    Dtype {
        dtype: DType,
        byte_order: u8,
    },
    /// An ndarray made by `_reconstruct`, filled in by BUILD.
    Array(Option<NdArray>),
    /// A `csr_matrix` made by NEWOBJ; BUILD gives it its `__dict__` (object index).
    CsrMatrix(Option<usize>),
}

struct Machine<'a> {
    input: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Offset of the opcode being executed, for error messages.
    op_pos: usize,
    path: &'a Path,
    stack: Vec<Value>,
    /// Stack lengths at each MARK; nothing may pop below the last one.
    marks: Vec<usize>,
    /// A map rather than a vector: LONG_BINPUT indices come from the input.
    memo: HashMap<u32, Value>,
    objects: Vec<Object<'a>>,
    /// Bytes of array data decoded so far, capped by the input length.
    decoded: Cell<usize>,
}

impl<'a> Machine<'a> {
    fn fail(&self, message: impl std::fmt::Display) -> Error {
        let at = match self.input.get(self.op_pos) {
            Some(op) => format!("pickle byte {} (opcode 0x{op:02x})", self.op_pos),
            None => format!("pickle byte {} (end of input)", self.op_pos),
        };
        Error::Format {
            path: self.path.to_path_buf(),
            line: None,
            message: format!("{at}: {message}"),
        }
    }

    fn fail_content(&self, message: String) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            line: None,
            message,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let rest = self.input.get(self.pos..).unwrap_or(&[]);
        if n > rest.len() {
            return Err(self.fail(format!(
                "truncated: needs {n} more bytes, {} left",
                rest.len()
            )));
        }
        self.pos += n;
        Ok(&rest[..n])
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.fixed::<1>()?[0])
    }

    fn u32_len(&mut self) -> Result<usize> {
        let n = u32::from_le_bytes(self.fixed()?);
        usize::try_from(n).map_err(|_| self.fail("length does not fit in memory"))
    }

    /// A newline-terminated ASCII line (GLOBAL's module and name).
    fn line(&mut self) -> Result<&'a str> {
        let rest = self.input.get(self.pos..).unwrap_or(&[]);
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.fail("truncated: GLOBAL name has no newline"))?;
        let line = self.take(end + 1)?;
        std::str::from_utf8(&line[..end]).map_err(|_| self.fail("GLOBAL name is not text"))
    }

    fn push_obj(&mut self, object: Object<'a>) {
        self.objects.push(object);
        self.stack.push(Value::Obj(self.objects.len() - 1));
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Value> {
        if self.stack.len() <= self.floor() {
            return Err(self.fail("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.fail("stack underflow"))
    }

    fn top(&self) -> Result<Value> {
        if self.stack.len() <= self.floor() {
            return Err(self.fail("stack underflow"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.fail("stack underflow"))
    }

    /// Pops everything above the last MARK, and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.fail("no MARK on the stack"))?;
        // Marks never exceed the stack length: pops stop at the last mark.
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn object(&self, v: Value) -> Option<&Object<'a>> {
        match v {
            Value::Obj(i) => self.objects.get(i),
            _ => None,
        }
    }

    fn describe(&self, v: Value) -> &'static str {
        match v {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float => "float",
            Value::Obj(_) => match self.object(v) {
                Some(Object::Bytes(_)) => "byte string",
                Some(Object::Text(_)) => "unicode string",
                Some(Object::Tuple(_)) => "tuple",
                Some(Object::List(_)) => "list",
                Some(Object::Dict(_)) => "dict",
                Some(Object::Global(_)) => "class or function",
                Some(Object::Dtype { .. }) => "numpy dtype",
                Some(Object::Array(_)) => "numpy array",
                Some(Object::CsrMatrix(_)) => "csr_matrix",
                None => "dangling reference",
            },
        }
    }

    /// The bytes of a Python 2 `str`, `bytes` or (ASCII-compatible) `unicode` value.
    fn text(&self, v: Value) -> Option<&[u8]> {
        match self.object(v)? {
            Object::Bytes(b) => Some(b),
            Object::Text(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    fn global(&self, v: Value) -> Option<Global> {
        match self.object(v)? {
            Object::Global(g) => Some(*g),
            _ => None,
        }
    }

    fn tuple(&self, v: Value, what: &str) -> Result<&[Value]> {
        match self.object(v) {
            Some(Object::Tuple(items)) => Ok(items),
            _ => Err(self.fail(format!(
                "{what} is a {}, expected a tuple",
                self.describe(v)
            ))),
        }
    }

    fn push_global(&mut self, module: &str, name: &str) -> Result<()> {
        let global = Global::lookup(module, name).ok_or_else(|| {
            self.fail(format!(
                "unsupported global `{module}.{name}` (only numpy arrays, scipy CSR \
                 matrices and defaultdict(list) are read)"
            ))
        })?;
        self.push_obj(Object::Global(global));
        Ok(())
    }

    fn memo_put(&mut self, key: u32) -> Result<()> {
        let top = self.top()?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<()> {
        let v = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.fail(format!("memo entry {key} was never stored")))?;
        self.stack.push(v);
        Ok(())
    }

    /// APPEND(S): extends the list on top of the stack.
    fn extend_list(&mut self, items: Vec<Value>) -> Result<()> {
        let target = self.top()?;
        if let Value::Obj(i) = target {
            if let Some(Object::List(list)) = self.objects.get_mut(i) {
                list.extend(items);
                return Ok(());
            }
        }
        Err(self.fail(format!("cannot append to a {}", self.describe(target))))
    }

    /// SETITEM(S): adds entries to the dict on top of the stack.
    fn extend_dict(&mut self, pairs: Vec<(Value, Value)>) -> Result<()> {
        let target = self.top()?;
        if let Value::Obj(i) = target {
            if let Some(Object::Dict(entries)) = self.objects.get_mut(i) {
                entries.extend(pairs);
                return Ok(());
            }
        }
        Err(self.fail(format!("cannot set items on a {}", self.describe(target))))
    }

    fn pairs(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>> {
        if !items.len().is_multiple_of(2) {
            return Err(self.fail("odd number of items for a dict"));
        }
        Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
    }

    /// Executes opcodes up to STOP and returns the value it pops.
    fn run(&mut self) -> Result<Value> {
        loop {
            self.op_pos = self.pos;
            if self.pos >= self.input.len() {
                return Err(self.fail("truncated: input ended before STOP"));
            }
            let op = self.u8()?;
            match op {
                // PROTO: any version up to 5 uses only opcodes handled here or rejected.
                0x80 => {
                    let version = self.u8()?;
                    if version > 5 {
                        return Err(self.fail(format!("unknown pickle protocol {version}")));
                    }
                }
                // FRAME: a read-ahead hint; the frame content follows inline.
                0x95 => {
                    self.take(8)?;
                }
                b'c' => {
                    let module = clip(self.line()?);
                    let name = clip(self.line()?);
                    self.push_global(&module, &name)?;
                }
                // STACK_GLOBAL
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.text(module), self.text(name)) else {
                        return Err(self.fail("STACK_GLOBAL needs two strings"));
                    };
                    let module = clip(&String::from_utf8_lossy(module));
                    let name = clip(&String::from_utf8_lossy(name));
                    self.push_global(&module, &name)?;
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.fixed()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.fixed()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                // LONG1: little-endian two's complement of n bytes.
                0x8a => {
                    let n = usize::from(self.u8()?);
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(self.fail(format!("integer of {n} bytes is too large")));
                    }
                    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
                    let mut word = if negative { [0xff; 8] } else { [0; 8] };
                    word[..n].copy_from_slice(bytes);
                    self.stack.push(Value::Int(i64::from_le_bytes(word)));
                }
                b'G' => {
                    self.take(8)?;
                    self.stack.push(Value::Float);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                // SHORT_BINSTRING, SHORT_BINBYTES
                b'U' | b'C' => {
                    let n = usize::from(self.u8()?);
                    let bytes = self.take(n)?;
                    self.push_obj(Object::Bytes(bytes));
                }
                // BINSTRING (signed length), BINBYTES
                b'T' | b'B' => {
                    let n = self.u32_len()?;
                    if op == b'T' && n > i32::MAX as usize {
                        return Err(self.fail("negative string length"));
                    }
                    let bytes = self.take(n)?;
                    self.push_obj(Object::Bytes(bytes));
                }
                // BINUNICODE, SHORT_BINUNICODE
                b'X' | 0x8c => {
                    let n = if op == b'X' {
                        self.u32_len()?
                    } else {
                        usize::from(self.u8()?)
                    };
                    let bytes = self.take(n)?;
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| self.fail("unicode string is not valid UTF-8"))?;
                    self.push_obj(Object::Text(text.to_owned()));
                }
                b')' => self.push_obj(Object::Tuple(Vec::new())),
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = vec![Value::None; n];
                    for slot in items.iter_mut().rev() {
                        *slot = self.pop()?;
                    }
                    self.push_obj(Object::Tuple(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Object::Tuple(items));
                }
                b']' => self.push_obj(Object::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Object::List(items));
                }
                b'}' => self.push_obj(Object::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push_obj(Object::Dict(pairs));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'a' => {
                    let v = self.pop()?;
                    self.extend_list(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend_list(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.extend_dict(vec![(k, v)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.extend_dict(pairs)?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?;
                    self.stack.push(v);
                }
                b'q' => {
                    let key = self.u8()?;
                    self.memo_put(u32::from(key))?;
                }
                b'r' => {
                    let key = u32::from_le_bytes(self.fixed()?);
                    self.memo_put(key)?;
                }
                // MEMOIZE: the next free memo index.
                0x94 => {
                    let key =
                        u32::try_from(self.memo.len()).map_err(|_| self.fail("memo is full"))?;
                    self.memo_put(key)?;
                }
                b'h' => {
                    let key = self.u8()?;
                    self.memo_get(u32::from(key))?;
                }
                b'j' => {
                    let key = u32::from_le_bytes(self.fixed()?);
                    self.memo_get(key)?;
                }
                b'R' => self.reduce()?,
                0x81 => self.newobj()?,
                b'b' => self.build()?,
                b'.' => return self.pop(),
                other => {
                    let shown = if other.is_ascii_graphic() {
                        format!(" ({:?})", char::from(other))
                    } else {
                        String::new()
                    };
                    return Err(self.fail(format!(
                        "unsupported or invalid pickle opcode 0x{other:02x}{shown}"
                    )));
                }
            }
        }
    }

    /// REDUCE: `callable(*args)` for the three callables these files use.
    fn reduce(&mut self) -> Result<()> {
        let args = self.pop()?;
        let func = self.pop()?;
        let args = self.tuple(args, "REDUCE argument")?;
        let object = match self.global(func) {
            Some(Global::Reconstruct) => {
                let cls = args.first().and_then(|&a| self.global(a));
                if cls != Some(Global::NdArrayType) {
                    return Err(self.fail("_reconstruct of something other than numpy.ndarray"));
                }
                Object::Array(None)
            }
            Some(Global::Dtype) => {
                let code = args
                    .first()
                    .and_then(|&a| self.text(a))
                    .ok_or_else(|| self.fail("numpy.dtype call without a type code"))?;
                let code = clip(&String::from_utf8_lossy(code));
                let dtype = DType::from_code(&code).ok_or_else(|| {
                    self.fail(format!(
                        "unsupported numpy dtype `{code}` (supported: {})",
                        DType::all_names()
                    ))
                })?;
                Object::Dtype {
                    dtype,
                    byte_order: b'=',
                }
            }
            Some(Global::DefaultDict) => {
                let factory_ok = match args[..] {
                    [] => true,
                    [f] => self.global(f) == Some(Global::List),
                    _ => false,
                };
                if !factory_ok {
                    return Err(self.fail("defaultdict with a factory other than list"));
                }
                Object::Dict(Vec::new())
            }
            _ => return Err(self.fail(format!("cannot call a {} here", self.describe(func)))),
        };
        self.push_obj(object);
        Ok(())
    }

    /// NEWOBJ: `cls.__new__(cls, *args)`, only for `csr_matrix`.
    fn newobj(&mut self) -> Result<()> {
        let args = self.pop()?;
        let cls = self.pop()?;
        self.tuple(args, "NEWOBJ argument")?;
        if self.global(cls) != Some(Global::CsrMatrix) {
            return Err(self.fail(format!(
                "cannot instantiate a {} (only csr_matrix)",
                self.describe(cls)
            )));
        }
        self.push_obj(Object::CsrMatrix(None));
        Ok(())
    }

    /// BUILD: `obj.__setstate__(state)` for dtypes, ndarrays and csr matrices.
    fn build(&mut self) -> Result<()> {
        let state = self.pop()?;
        let target = self.top()?;
        let kind = self.describe(target);
        let Value::Obj(id) = target else {
            return Err(self.fail(format!("cannot set the state of a {kind}")));
        };
        let updated = match self.objects.get(id) {
            Some(Object::Dtype { dtype, .. }) => {
                // numpy's dtype state: (version, byte order, ...); only the order matters.
                let items = self.tuple(state, "dtype state")?;
                let order = match items.get(1).and_then(|&v| self.text(v)) {
                    Some(&[c @ (b'<' | b'>' | b'=' | b'|')]) => c,
                    _ => return Err(self.fail("dtype state has no byte order")),
                };
                Object::Dtype {
                    dtype: *dtype,
                    byte_order: order,
                }
            }
            Some(Object::Array(None)) => Object::Array(Some(self.array_from_state(state)?)),
            Some(Object::CsrMatrix(None)) => match (state, self.object(state)) {
                (Value::Obj(dict), Some(Object::Dict(_))) => Object::CsrMatrix(Some(dict)),
                _ => {
                    return Err(self.fail(format!(
                        "csr_matrix state is a {}, expected a dict",
                        self.describe(state)
                    )))
                }
            },
            _ => return Err(self.fail(format!("cannot set the state of a {kind}"))),
        };
        self.objects[id] = updated;
        Ok(())
    }

    /// ndarray `__setstate__`: `([version,] shape, dtype, is_fortran, raw bytes)`.
    fn array_from_state(&self, state: Value) -> Result<NdArray> {
        let items = self.tuple(state, "ndarray state")?;
        let fields = match items.len() {
            5 => &items[1..],
            4 => items,
            n => return Err(self.fail(format!("ndarray state has {n} items, expected 4 or 5"))),
        };
        let dims = self.tuple(fields[0], "ndarray shape")?;
        // numpy allows at most 64 axes; the cap also keeps shared huge tuples cheap.
        if dims.len() > 64 {
            return Err(self.fail(format!("ndarray shape has {} axes", dims.len())));
        }
        let shape = dims
            .iter()
            .map(|&d| match d {
                Value::Int(n) => usize::try_from(n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| self.fail("ndarray shape must hold non-negative ints"))?;
        let (dtype, byte_order) = match self.object(fields[1]) {
            Some(Object::Dtype { dtype, byte_order }) => (*dtype, *byte_order),
            _ => return Err(self.fail(format!("ndarray dtype is a {}", self.describe(fields[1])))),
        };
        let fortran_order = match fields[2] {
            Value::Bool(b) => b,
            Value::Int(0) => false,
            Value::Int(1) => true,
            other => {
                return Err(self.fail(format!("ndarray order flag is a {}", self.describe(other))))
            }
        };
        let raw = match self.object(fields[3]) {
            Some(Object::Bytes(raw)) => *raw,
            _ => {
                return Err(self.fail(format!(
                    "ndarray data is a {}, expected a byte string",
                    self.describe(fields[3])
                )))
            }
        };
        // A memoised byte string can back many arrays; decoding it each time must not
        // let a small file claim unbounded memory. Real files decode each string once.
        let decoded = self.decoded.get() + raw.len();
        if decoded > self.input.len() {
            return Err(self.fail("arrays decode to more bytes than the pickle holds"));
        }
        self.decoded.set(decoded);
        NdArray::from_bytes(dtype, byte_order, shape, fortran_order, raw)
            .map_err(|m| self.fail(format!("bad ndarray: {m}")))
    }

    /// Turns the value STOP returned into a typed result.
    fn finish(mut self, result: Value) -> Result<Pickled> {
        let kind = self.describe(result);
        let Value::Obj(id) = result else {
            return Err(self.unsupported_top(kind));
        };
        if let Some(Object::Array(array)) = self.objects.get_mut(id) {
            return match array.take() {
                Some(array) => Ok(Pickled::Array(array)),
                None => Err(self.fail_content(
                    "numpy array in the pickle never received its data (no BUILD)".into(),
                )),
            };
        }
        match self.objects.get(id) {
            Some(Object::CsrMatrix(Some(dict))) => self.csr_from_state(*dict).map(Pickled::Csr),
            Some(Object::CsrMatrix(None)) => Err(self.fail_content(
                "csr_matrix in the pickle never received its state (no BUILD)".into(),
            )),
            Some(Object::Dict(_)) => self.adjacency(id).map(Pickled::Adjacency),
            _ => Err(self.unsupported_top(kind)),
        }
    }

    fn unsupported_top(&self, kind: &str) -> Error {
        self.fail_content(format!(
            "the pickle holds a {kind}, not a numpy array, scipy CSR matrix or \
             dict of int -> list of int"
        ))
    }

    fn dict_field(&self, entries: &[(Value, Value)], name: &str) -> Option<Value> {
        entries
            .iter()
            .rev()
            .find(|&&(k, _)| self.text(k) == Some(name.as_bytes()))
            .map(|&(_, v)| v)
    }

    /// The ndarray stored under `name` in a csr_matrix `__dict__`.
    fn dict_array(&self, entries: &[(Value, Value)], name: &str) -> Result<&NdArray> {
        let v = self
            .dict_field(entries, name)
            .ok_or_else(|| self.fail_content(format!("csr_matrix state lacks `{name}`")))?;
        match self.object(v) {
            Some(Object::Array(Some(a))) if a.shape.len() == 1 => Ok(a),
            _ => Err(self.fail_content(format!(
                "csr_matrix `{name}` is a {}, expected a 1-D numpy array",
                self.describe(v)
            ))),
        }
    }

    fn index_array(&self, entries: &[(Value, Value)], name: &str) -> Result<Vec<u32>> {
        let array = self.dict_array(entries, name)?;
        let values = array.to_i64().ok_or_else(|| {
            self.fail_content(format!(
                "csr_matrix `{name}` has dtype {}, expected integers",
                array.dtype().name()
            ))
        })?;
        values
            .into_iter()
            .map(|v| u32::try_from(v).ok())
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| {
                self.fail_content(format!("csr_matrix `{name}` holds a value outside 0..2^32"))
            })
    }

    fn csr_from_state(&self, dict: usize) -> Result<Csr> {
        let Some(Object::Dict(entries)) = self.objects.get(dict) else {
            return Err(self.fail_content("csr_matrix state is not a dict".into()));
        };
        if let Some(format) = self.dict_field(entries, "format") {
            if self.text(format) != Some(b"csr") {
                return Err(self.fail_content("csr_matrix `format` is not 'csr'".into()));
            }
        }
        let shape = self
            .dict_field(entries, "_shape")
            .ok_or_else(|| self.fail_content("csr_matrix state lacks `_shape`".into()))?;
        let dims = match self.object(shape) {
            Some(Object::Tuple(items)) => match items[..] {
                [Value::Int(r), Value::Int(c)] => {
                    usize::try_from(r).ok().zip(usize::try_from(c).ok())
                }
                _ => None,
            },
            _ => None,
        };
        let (rows, cols) = dims.ok_or_else(|| {
            self.fail_content("csr_matrix `_shape` is not a pair of non-negative ints".into())
        })?;
        let indptr = self.index_array(entries, "indptr")?;
        let indices = self.index_array(entries, "indices")?;
        let data_array = self.dict_array(entries, "data")?;
        // Narrowing float64 is the point: the GPU works in f32.
        let Some(data) = data_array.to_f32() else {
            return Err(self.fail_content(format!(
                "csr_matrix `data` has dtype {}, expected float16, float32 or float64",
                data_array.dtype().name()
            )));
        };
        if rows.checked_add(1) != Some(indptr.len()) {
            return Err(self.fail_content(format!(
                "csr_matrix has {rows} rows but `indptr` has {} entries",
                indptr.len()
            )));
        }
        Csr::new(rows, cols, indptr, indices, data).map_err(|e| {
            let detail = match e {
                Error::InvalidArgument { message, .. } => message,
                other => other.to_string(),
            };
            self.fail_content(format!("invalid csr_matrix: {detail}"))
        })
    }

    fn adjacency(&self, dict: usize) -> Result<BTreeMap<i64, Vec<i64>>> {
        let Some(Object::Dict(entries)) = self.objects.get(dict) else {
            return Err(self.fail_content("expected a dict".into()));
        };
        let mut out = BTreeMap::new();
        // Every neighbour costs at least two pickle bytes unless lists are shared through
        // the memo; cap the output so sharing cannot blow it up.
        let mut total = 0usize;
        for &(key, value) in entries {
            let Value::Int(key) = key else {
                return Err(self.fail_content(format!(
                    "dict key is a {}, expected an int node id",
                    self.describe(key)
                )));
            };
            let items = match self.object(value) {
                Some(Object::List(items) | Object::Tuple(items)) => items,
                _ => {
                    return Err(self.fail_content(format!(
                        "dict value of key {key} is a {}, expected a list of ints",
                        self.describe(value)
                    )))
                }
            };
            total += items.len();
            if total > self.input.len() {
                return Err(self.fail_content(
                    "adjacency lists hold more ids than the pickle has bytes (shared lists)".into(),
                ));
            }
            let neighbours = items
                .iter()
                .map(|&v| match v {
                    Value::Int(n) => Some(n),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| {
                    self.fail_content(format!("neighbour list of key {key} holds a non-int"))
                })?;
            out.insert(key, neighbours);
        }
        Ok(out)
    }
}

/// At most 80 characters of `text`, for error messages quoting input.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::arrays::ArrayData;
    use rand::{Rng, SeedableRng};

    const P: &str = "test.pkl";

    /// The opcodes Python 2 writes for `numpy.array(raw).reshape(dims)` (no PROTO/STOP).
    fn array_body(dims: &[i32], code: &str, order: u8, raw: &[u8]) -> Vec<u8> {
        let mut b =
            b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01("
                .to_vec();
        for d in dims {
            b.push(b'J');
            b.extend_from_slice(&d.to_le_bytes());
        }
        b.extend_from_slice(b"tcnumpy\ndtype\nU\x02");
        b.extend_from_slice(code.as_bytes());
        b.extend_from_slice(b"K\x00K\x01\x87R(K\x03U\x01");
        b.push(order);
        b.extend_from_slice(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T");
        b.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        b.extend_from_slice(raw);
        b.extend_from_slice(b"tb");
        b
    }

    fn whole(body: &[u8]) -> Vec<u8> {
        [b"\x80\x02".as_slice(), body, b"."].concat()
    }

    fn le<T: Copy, const N: usize>(values: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|&v| f(v)).collect()
    }

    fn csr_pickle() -> Vec<u8> {
        // [[1, 0, 2], [0, 0, 0]] as float64 data with int32 indices.
        let mut b =
            b"cscipy.sparse.csr\ncsr_matrix\nq\x01)\x81}q\x02(U\x06_shapeK\x02K\x03\x86".to_vec();
        b.extend_from_slice(b"U\x06indptr");
        b.extend(array_body(
            &[3],
            "i4",
            b'<',
            &le(&[0i32, 2, 2], i32::to_le_bytes),
        ));
        b.extend_from_slice(b"U\x07indices");
        b.extend(array_body(
            &[2],
            "i4",
            b'<',
            &le(&[2i32, 0], i32::to_le_bytes),
        ));
        b.extend_from_slice(b"U\x04data");
        b.extend(array_body(
            &[2],
            "f8",
            b'<',
            &le(&[2.0f64, 1.0], f64::to_le_bytes),
        ));
        b.extend_from_slice(b"U\x06formatU\x03csrub");
        whole(&b)
    }

    fn message(bytes: &[u8]) -> String {
        parse(bytes, Path::new(P)).unwrap_err().to_string()
    }

    #[test]
    fn reads_an_int32_matrix() {
        let raw = le(&[1i32, 2, 3, 4, 5, 6], i32::to_le_bytes);
        let p = parse(&whole(&array_body(&[2, 3], "i4", b'<', &raw)), Path::new(P)).unwrap();
        let Pickled::Array(a) = p else {
            panic!("not an array")
        };
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, ArrayData::I32(vec![1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn honours_big_endian_dtypes() {
        let raw = le(&[1.5f64, -2.0], f64::to_be_bytes);
        let p = parse(&whole(&array_body(&[2], "f8", b'>', &raw)), Path::new(P)).unwrap();
        assert_eq!(
            p,
            Pickled::Array(NdArray {
                shape: vec![2],
                fortran_order: false,
                data: ArrayData::F64(vec![1.5, -2.0])
            })
        );
    }

    #[test]
    fn reads_a_csr_matrix() {
        let Pickled::Csr(m) = parse(&csr_pickle(), Path::new(P)).unwrap() else {
            panic!("not a CSR matrix")
        };
        assert_eq!((m.rows(), m.cols()), (2, 3));
        assert_eq!(m.to_dense(), vec![1.0, 0.0, 2.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn reads_a_defaultdict_of_lists() {
        let bytes = b"\x80\x02ccollections\ndefaultdict\nc__builtin__\nlist\n\x85R(K\x00]q\x01(K\x01K\x02eK\x01]K\x00aK\x02h\x01u.";
        let Pickled::Adjacency(d) = parse(bytes, Path::new(P)).unwrap() else {
            panic!("not a dict")
        };
        assert_eq!(d[&0], vec![1, 2]);
        assert_eq!(d[&1], vec![0]);
        // BINGET shares the object, as in Python.
        assert_eq!(d[&2], vec![1, 2]);
    }

    #[test]
    fn bad_pickles_are_clear_errors() {
        assert!(message(b"").contains("empty"));
        assert!(message(b"\x80\x02]q\x00.").contains("holds a list"));
        assert!(message(b"\x80\x02cos\nsystem\n.").contains("unsupported global `os.system`"));
        assert!(message(b"\x80\x02I42\n.").contains("opcode 0x49"));
        assert!(message(b"\x80\x02a.").contains("stack underflow"));
        assert!(message(b"\x80\x02h\x07.").contains("memo entry 7"));
        assert!(message(b"\x80\x02T\xff\xff\xff\x7f").contains("truncated"));
        assert!(message(b"\x80\x02K\x01").contains("before STOP"));
        let raw = le(&[1i32, 2], i32::to_le_bytes);
        let wrong_shape = whole(&array_body(&[3], "i4", b'<', &raw));
        assert!(message(&wrong_shape).contains("needs 12 bytes"));
        let object_dtype = whole(&array_body(&[2], "O8", b'|', &raw));
        assert!(message(&object_dtype).contains("unsupported numpy dtype `O8`"));
        assert!(message(b"\x80\x02ccollections\ndefaultdict\n)R}q\x00u.").contains("no MARK"));
        let e = message(b"\x80\x02]q\x00.");
        assert!(e.starts_with(P), "{e}");
    }

    #[test]
    fn shared_objects_cannot_amplify_memory() {
        // One memoised list of 100 ids as the value of 1000 keys.
        let mut dict = b"\x80\x02}(K\x00](".to_vec();
        dict.extend((0..100).flat_map(|_| *b"K\x01"));
        dict.extend_from_slice(b"eq\x01");
        for k in 1..1000u16 {
            dict.push(b'M');
            dict.extend_from_slice(&k.to_le_bytes());
            dict.extend_from_slice(b"h\x01");
        }
        dict.extend_from_slice(b"u.");
        assert!(message(&dict).contains("more ids than the pickle has bytes"));

        // One memoised 1000-byte string as the data of two arrays.
        let raw = [0u8; 1000];
        let mut first = array_body(&[250], "i4", b'<', &raw);
        first.truncate(first.len() - 2);
        first.extend_from_slice(b"q\x09tb");
        let mut second = array_body(&[250], "i4", b'<', &[]);
        second.truncate(second.len() - 7);
        second.extend_from_slice(b"h\x09tb");
        let both = whole(&[b"](".as_slice(), &first, &second, b"e"].concat());
        assert!(message(&both).contains("more bytes than the pickle holds"));
    }

    #[test]
    fn every_truncation_of_a_valid_pickle_fails_cleanly() {
        let full = csr_pickle();
        for len in 0..full.len() {
            assert!(parse(&full[..len], Path::new(P)).is_err(), "length {len}");
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let seeds = [csr_pickle(), whole(&array_body(&[2], "i8", b'<', &[7; 16]))];
        // Opcodes the parser knows, to get past the first byte more often than chance.
        let alphabet =
            b"\x80\x95c\x93KMJ\x8aGN\x88\x89UCTBX\x8c)\x85\x86\x87t]l}d(aesu012qr\x94hjR\x81b.";
        for case in 0..3000 {
            let bytes: Vec<u8> = match case % 3 {
                0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
                1 => (0..rng.random_range(0..64))
                    .map(|_| {
                        if rng.random_bool(0.7) {
                            alphabet[rng.random_range(0..alphabet.len())]
                        } else {
                            rng.random()
                        }
                    })
                    .collect(),
                _ => {
                    let mut b = seeds[case % 2].clone();
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..b.len());
                        b[at] = rng.random();
                    }
                    b.truncate(rng.random_range(0..=b.len()));
                    b
                }
            };
            let outcome = std::panic::catch_unwind(|| parse(&bytes, Path::new(P)).is_ok());
            assert!(outcome.is_ok(), "panic on case {case}: {bytes:?}");
        }
    }
}
