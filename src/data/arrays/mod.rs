//! The one array I/O layer: typed n-dimensional arrays in numpy's common dtypes, decoded
//! from raw bytes (pickled ndarrays, `.npy` files, `.npz` archives, raw dumps), and the
//! `.npy`/`.npz` formats themselves ([`npy`]: read and write, streamed writing of large
//! float matrices; [`npz`]: reading `np.savez` archives).
//!
//! Dtypes: `bool`, `int8`–`int64`, `uint8`–`uint64`, `float16` (through the `half`
//! crate), `float32`, `float64`; little or big endian; C or Fortran order. Every size read
//! from a header is checked against the bytes actually present (overflow-checked) before
//! anything of that size is allocated, so a small file cannot claim a large allocation.
//!
//! Decoders return `Err(String)` describing the problem; the readers wrap it in
//! [`crate::Error::Format`] with the file it came from.

pub mod npy;
pub mod npz;

pub use half::f16;
pub use npy::{encode_npy, parse_npy, parse_npy_header, read_npy, write_npy, NpyHeader, NpyWriter};
pub use npz::{parse_npz, read_npz};

/// The element types supported, numpy's common ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `bool` (`b1`, one byte, nonzero is true).
    Bool,
    /// `int8` (`i1`).
    I8,
    /// `int16` (`i2`).
    I16,
    /// `int32` (`i4`).
    I32,
    /// `int64` (`i8`).
    I64,
    /// `uint8` (`u1`).
    U8,
    /// `uint16` (`u2`).
    U16,
    /// `uint32` (`u4`).
    U32,
    /// `uint64` (`u8`).
    U64,
    /// `float16` (`f2`, IEEE half precision).
    F16,
    /// `float32` (`f4`).
    F32,
    /// `float64` (`f8`).
    F64,
}

impl DType {
    /// Every dtype, in the order above.
    pub const ALL: [DType; 12] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::F32,
        DType::F64,
    ];

    /// Parses a numpy type code without byte order (`i4`, `f2`, `b1`, `?`, ...) or a
    /// dtype name (`int32`, `float16`, `bool`, ...).
    pub fn from_code(code: &str) -> Option<DType> {
        let dtype = match code {
            "b1" | "?" | "bool" => DType::Bool,
            "i1" | "b" | "int8" => DType::I8,
            "i2" | "h" | "int16" => DType::I16,
            "i4" | "int32" => DType::I32,
            "i8" | "int64" => DType::I64,
            "u1" | "B" | "uint8" => DType::U8,
            "u2" | "H" | "uint16" => DType::U16,
            "u4" | "uint32" => DType::U32,
            "u8" | "uint64" => DType::U64,
            "f2" | "e" | "float16" => DType::F16,
            "f4" | "f" | "float32" => DType::F32,
            "f8" | "d" | "float64" => DType::F64,
            _ => return None,
        };
        Some(dtype)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// The numpy name (`int32`, `float16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The numpy type code without byte order (`i4`, `f2`, `b1`, ...).
    pub fn code(self) -> &'static str {
        match self {
            DType::Bool => "b1",
            DType::I8 => "i1",
            DType::I16 => "i2",
            DType::I32 => "i4",
            DType::I64 => "i8",
            DType::U8 => "u1",
            DType::U16 => "u2",
            DType::U32 => "u4",
            DType::U64 => "u8",
            DType::F16 => "f2",
            DType::F32 => "f4",
            DType::F64 => "f8",
        }
    }

    /// Whether this is a signed or unsigned integer type (not `bool`, not a float).
    pub fn is_integer(self) -> bool {
        !matches!(self, DType::Bool | DType::F16 | DType::F32 | DType::F64)
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }

    /// The names of every dtype, for error messages.
    pub fn all_names() -> String {
        DType::ALL.map(DType::name).join(", ")
    }
}

/// The elements of an array, in storage order.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    /// `bool` elements.
    Bool(Vec<bool>),
    /// `int8` elements.
    I8(Vec<i8>),
    /// `int16` elements.
    I16(Vec<i16>),
    /// `int32` elements.
    I32(Vec<i32>),
    /// `int64` elements.
    I64(Vec<i64>),
    /// `uint8` elements.
    U8(Vec<u8>),
    /// `uint16` elements.
    U16(Vec<u16>),
    /// `uint32` elements.
    U32(Vec<u32>),
    /// `uint64` elements.
    U64(Vec<u64>),
    /// `float16` elements.
    F16(Vec<f16>),
    /// `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
}

/// Applies `$body` to the vector inside any [`ArrayData`] variant.
macro_rules! each_variant {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            ArrayData::Bool($v) => $body,
            ArrayData::I8($v) => $body,
            ArrayData::I16($v) => $body,
            ArrayData::I32($v) => $body,
            ArrayData::I64($v) => $body,
            ArrayData::U8($v) => $body,
            ArrayData::U16($v) => $body,
            ArrayData::U32($v) => $body,
            ArrayData::U64($v) => $body,
            ArrayData::F16($v) => $body,
            ArrayData::F32($v) => $body,
            ArrayData::F64($v) => $body,
        }
    };
}

impl ArrayData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            ArrayData::Bool(_) => DType::Bool,
            ArrayData::I8(_) => DType::I8,
            ArrayData::I16(_) => DType::I16,
            ArrayData::I32(_) => DType::I32,
            ArrayData::I64(_) => DType::I64,
            ArrayData::U8(_) => DType::U8,
            ArrayData::U16(_) => DType::U16,
            ArrayData::U32(_) => DType::U32,
            ArrayData::U64(_) => DType::U64,
            ArrayData::F16(_) => DType::F16,
            ArrayData::F32(_) => DType::F32,
            ArrayData::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each_variant!(self, v => v.len())
    }

    /// `true` when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dense array: shape, memory order and elements in storage order.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    /// Extent of every axis (empty for a scalar).
    pub shape: Vec<usize>,
    /// `true` when stored column-major (numpy `fortran_order`), `false` for C order.
    pub fortran_order: bool,
    /// The elements, `shape.iter().product()` of them.
    pub data: ArrayData,
}

impl NdArray {
    /// An array of `data` with `shape` (C order), or an error if the element count does
    /// not match the shape.
    pub fn new(shape: Vec<usize>, data: ArrayData) -> std::result::Result<NdArray, String> {
        let count = element_count(&shape)?;
        if count != data.len() {
            return Err(format!(
                "{} elements do not fill a {} array of shape {shape:?}",
                data.len(),
                data.dtype().name()
            ));
        }
        Ok(NdArray {
            shape,
            fortran_order: false,
            data,
        })
    }

    /// Decodes `bytes` as `shape.iter().product()` elements of `dtype`. `byte_order` is the
    /// numpy byte-order character: `<` little, `>` big, `=` native (taken as little: every
    /// machine these files come from is), `|` only for one-byte types. The byte count must
    /// match the shape exactly, which also bounds the allocation by the input size.
    pub fn from_bytes(
        dtype: DType,
        byte_order: u8,
        shape: Vec<usize>,
        fortran_order: bool,
        bytes: &[u8],
    ) -> std::result::Result<NdArray, String> {
        Ok(ArrayView::new(dtype, byte_order, shape, fortran_order, bytes)?.decode())
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// `true` when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements widened to `i64` (booleans as 0 and 1), or `None` for a float array
    /// or a `uint64` value beyond `i64::MAX`.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        fn widen<T: Copy + Into<i64>>(v: &[T]) -> Option<Vec<i64>> {
            Some(v.iter().map(|&x| x.into()).collect())
        }
        match &self.data {
            ArrayData::Bool(v) => Some(v.iter().map(|&b| i64::from(b)).collect()),
            ArrayData::I8(v) => widen(v),
            ArrayData::I16(v) => widen(v),
            ArrayData::I32(v) => widen(v),
            ArrayData::I64(v) => Some(v.clone()),
            ArrayData::U8(v) => widen(v),
            ArrayData::U16(v) => widen(v),
            ArrayData::U32(v) => widen(v),
            ArrayData::U64(v) => v.iter().map(|&x| i64::try_from(x).ok()).collect(),
            ArrayData::F16(_) | ArrayData::F32(_) | ArrayData::F64(_) => None,
        }
    }

    /// The elements of a float array as `f32` (float64 rounded to nearest), or `None`
    /// for a bool or integer array.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match &self.data {
            ArrayData::F16(v) => Some(v.iter().map(|x| x.to_f32()).collect()),
            ArrayData::F32(v) => Some(v.clone()),
            ArrayData::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            _ => None,
        }
    }

    /// The elements of a float array as `f64`, or `None` for a bool or integer array.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            ArrayData::F16(v) => Some(v.iter().map(|x| x.to_f64()).collect()),
            ArrayData::F32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            ArrayData::F64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// `(rows, cols)` if the array is 2-D.
    pub fn matrix_shape(&self) -> Option<(usize, usize)> {
        match self.shape[..] {
            [rows, cols] => Some((rows, cols)),
            _ => None,
        }
    }

    /// Storage position of element `(r, c)` of a 2-D array, honouring the memory order
    /// (any other array is taken as a single column).
    pub fn matrix_offset(&self, r: usize, c: usize) -> usize {
        let (rows, cols) = self.matrix_shape().unwrap_or((self.len(), 1));
        matrix_offset(rows, cols, self.fortran_order, r, c)
    }

    /// The elements as little-endian bytes, in storage order.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.dtype().size());
        match &self.data {
            ArrayData::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
            ArrayData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
            ArrayData::U8(v) => out.extend_from_slice(v),
            ArrayData::I16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::I32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::U16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::U32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::U64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::F16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            ArrayData::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        }
        out
    }
}

/// The raw elements of an array, borrowed from the bytes they were stored in, read one at
/// a time without decoding the whole array (edge arrays and feature matrices are turned
/// into other structures at once, so a decoded copy would only double the memory).
///
/// Constructed only when the byte count matches the shape exactly.
#[derive(Clone, Debug)]
pub struct ArrayView<'a> {
    dtype: DType,
    little: bool,
    shape: Vec<usize>,
    fortran_order: bool,
    data: &'a [u8],
}

impl<'a> ArrayView<'a> {
    /// `data` as elements of `dtype` in `shape` (see [`NdArray::from_bytes`] for
    /// `byte_order`); errors unless the byte count matches the shape exactly.
    pub fn new(
        dtype: DType,
        byte_order: u8,
        shape: Vec<usize>,
        fortran_order: bool,
        data: &'a [u8],
    ) -> std::result::Result<ArrayView<'a>, String> {
        let little = match byte_order {
            b'<' | b'=' => true,
            b'>' => false,
            b'|' if dtype.size() == 1 => true,
            other => {
                return Err(format!(
                    "byte order {:?} is not valid for {}",
                    char::from(other),
                    dtype.name()
                ))
            }
        };
        let count = element_count(&shape)?;
        let expected = count
            .checked_mul(dtype.size())
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        if data.len() != expected {
            return Err(format!(
                "{} array of shape {shape:?} needs {expected} bytes of data, found {}",
                dtype.name(),
                data.len()
            ));
        }
        Ok(ArrayView {
            dtype,
            little,
            shape,
            fortran_order,
            data,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Extent of every axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Whether the elements are stored column-major.
    pub fn fortran_order(&self) -> bool {
        self.fortran_order
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// `true` when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Storage position of element `(r, c)` of a 2-D array of `(rows, cols)`, honouring
    /// the memory order.
    pub fn matrix_offset(&self, rows: usize, cols: usize, r: usize, c: usize) -> usize {
        matrix_offset(rows, cols, self.fortran_order, r, c)
    }

    /// The raw bits of element `k`, zero-extended (`k` must be below [`len`](Self::len)).
    #[inline]
    fn bits(&self, k: usize) -> u64 {
        let size = self.dtype.size();
        let raw = &self.data[k * size..(k + 1) * size];
        let mut word = [0u8; 8];
        if self.little {
            word[..size].copy_from_slice(raw);
        } else {
            for (w, &b) in word.iter_mut().zip(raw.iter().rev()) {
                *w = b;
            }
        }
        u64::from_le_bytes(word)
    }

    /// Element `k` of an integer or bool array, exactly; `None` for a float array.
    #[inline]
    pub fn integer(&self, k: usize) -> Option<i128> {
        let bits = self.bits(k);
        Some(match self.dtype {
            DType::Bool => i128::from(bits != 0),
            DType::I8 => i128::from(bits as u8 as i8),
            DType::I16 => i128::from(bits as u16 as i16),
            DType::I32 => i128::from(bits as u32 as i32),
            DType::I64 => i128::from(bits as i64),
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => i128::from(bits),
            DType::F16 | DType::F32 | DType::F64 => return None,
        })
    }

    /// Element `k` as `f64`: floats widened exactly, booleans as 0 and 1, integers
    /// rounded to the nearest `f64` (exact below 2^53).
    #[inline]
    pub fn float(&self, k: usize) -> f64 {
        let bits = self.bits(k);
        match self.dtype {
            DType::F16 => f16::from_bits(bits as u16).to_f64(),
            DType::F32 => f64::from(f32::from_bits(bits as u32)),
            DType::F64 => f64::from_bits(bits),
            _ => self.integer(k).unwrap_or(0) as f64,
        }
    }

    /// Decodes every element into an owned [`NdArray`].
    pub fn decode(&self) -> NdArray {
        fn collect<const N: usize, T>(
            data: &[u8],
            little: bool,
            from_le: impl Fn([u8; N]) -> T,
        ) -> Vec<T> {
            data.chunks_exact(N)
                .map(|c| {
                    let mut w = [0u8; N];
                    w.copy_from_slice(c);
                    if !little {
                        w.reverse();
                    }
                    from_le(w)
                })
                .collect()
        }
        let (d, l) = (self.data, self.little);
        let data = match self.dtype {
            DType::Bool => ArrayData::Bool(d.iter().map(|&b| b != 0).collect()),
            DType::I8 => ArrayData::I8(d.iter().map(|&b| b as i8).collect()),
            DType::U8 => ArrayData::U8(d.to_vec()),
            DType::I16 => ArrayData::I16(collect(d, l, i16::from_le_bytes)),
            DType::I32 => ArrayData::I32(collect(d, l, i32::from_le_bytes)),
            DType::I64 => ArrayData::I64(collect(d, l, i64::from_le_bytes)),
            DType::U16 => ArrayData::U16(collect(d, l, u16::from_le_bytes)),
            DType::U32 => ArrayData::U32(collect(d, l, u32::from_le_bytes)),
            DType::U64 => ArrayData::U64(collect(d, l, u64::from_le_bytes)),
            DType::F16 => ArrayData::F16(collect(d, l, f16::from_le_bytes)),
            DType::F32 => ArrayData::F32(collect(d, l, f32::from_le_bytes)),
            DType::F64 => ArrayData::F64(collect(d, l, f64::from_le_bytes)),
        };
        NdArray {
            shape: self.shape.clone(),
            fortran_order: self.fortran_order,
            data,
        }
    }
}

/// The product of `shape`, or an error naming it if that overflows.
fn element_count(shape: &[usize]) -> std::result::Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} overflows"))
}

/// Storage position of `(r, c)` in a `rows × cols` matrix.
#[inline]
fn matrix_offset(rows: usize, cols: usize, fortran_order: bool, r: usize, c: usize) -> usize {
    if fortran_order {
        c * rows + r
    } else {
        r * cols + c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every dtype decodes from little- and big-endian bytes, and encodes back.
    #[test]
    fn every_dtype_round_trips_both_byte_orders() {
        let samples: Vec<ArrayData> = vec![
            ArrayData::Bool(vec![true, false, true]),
            ArrayData::I8(vec![-128, 0, 127]),
            ArrayData::I16(vec![-32768, 1, 32767]),
            ArrayData::I32(vec![i32::MIN, -1, i32::MAX]),
            ArrayData::I64(vec![i64::MIN, 7, i64::MAX]),
            ArrayData::U8(vec![0, 1, 255]),
            ArrayData::U16(vec![0, 2, 65535]),
            ArrayData::U32(vec![0, 3, u32::MAX]),
            ArrayData::U64(vec![0, 4, u64::MAX]),
            ArrayData::F16(vec![
                f16::from_f32(-1.5),
                f16::MAX,
                f16::from_f32(0.099975586),
            ]),
            ArrayData::F32(vec![-0.0, 1.5e-45, f32::MAX]),
            ArrayData::F64(vec![f64::MIN_POSITIVE, -2.5, 1e300]),
        ];
        for data in samples {
            let dtype = data.dtype();
            let array = NdArray::new(vec![3], data).unwrap();
            let le = array.to_le_bytes();
            assert_eq!(le.len(), 3 * dtype.size());
            assert_eq!(
                NdArray::from_bytes(dtype, b'<', vec![3], false, &le).unwrap(),
                array
            );
            let be: Vec<u8> = le
                .chunks(dtype.size())
                .flat_map(|c| c.iter().rev().copied())
                .collect();
            assert_eq!(
                NdArray::from_bytes(dtype, b'>', vec![3], false, &be).unwrap(),
                array
            );
            assert_eq!(DType::from_code(dtype.code()), Some(dtype));
            assert_eq!(DType::from_code(dtype.name()), Some(dtype));
        }
    }

    #[test]
    fn views_read_integers_and_floats_exactly() {
        let bytes: Vec<u8> = [-5i64, 1 << 40]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let view = ArrayView::new(DType::I64, b'>', vec![2], false, &bytes).unwrap();
        assert_eq!(
            (view.integer(0), view.integer(1)),
            (Some(-5), Some(1 << 40))
        );
        assert_eq!(view.float(1), (1u64 << 40) as f64);
        let u = u64::MAX.to_le_bytes();
        let view = ArrayView::new(DType::U64, b'<', vec![1], false, &u).unwrap();
        assert_eq!(view.integer(0), Some(i128::from(u64::MAX)));
        let h = f16::from_f32(0.5).to_le_bytes();
        let view = ArrayView::new(DType::F16, b'<', vec![1], false, &h).unwrap();
        assert_eq!((view.integer(0), view.float(0)), (None, 0.5));
    }

    #[test]
    fn sizes_and_byte_orders_are_checked() {
        let err = |r: std::result::Result<NdArray, String>| r.unwrap_err();
        assert!(err(NdArray::from_bytes(
            DType::I32,
            b'<',
            vec![3],
            false,
            &[0; 8]
        ))
        .contains("needs 12 bytes of data, found 8"));
        assert!(err(NdArray::from_bytes(
            DType::I32,
            b'|',
            vec![1],
            false,
            &[0; 4]
        ))
        .contains("byte order '|'"));
        assert!(NdArray::from_bytes(DType::U8, b'|', vec![1], false, &[9]).is_ok());
        assert!(err(NdArray::from_bytes(
            DType::F64,
            b'<',
            vec![1 << 40, 1 << 40],
            false,
            &[]
        ))
        .contains("overflows"));
        assert!(NdArray::new(vec![2, 2], ArrayData::U8(vec![1])).is_err());
    }

    #[test]
    fn conversions() {
        let a = NdArray::new(vec![2], ArrayData::U64(vec![1, u64::MAX])).unwrap();
        assert_eq!(a.to_i64(), None);
        let b = NdArray::new(vec![2], ArrayData::Bool(vec![true, false])).unwrap();
        assert_eq!(b.to_i64(), Some(vec![1, 0]));
        assert_eq!(b.to_f32(), None);
        let f = NdArray::new(vec![1], ArrayData::F16(vec![f16::from_f32(2.0)])).unwrap();
        assert_eq!(
            (f.to_f32(), f.to_f64(), f.to_i64()),
            (Some(vec![2.0]), Some(vec![2.0]), None)
        );
    }
}
