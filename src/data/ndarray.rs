//! Typed n-dimensional arrays in the four numpy dtypes the datasets use, decoded from raw
//! bytes (pickled ndarrays, `.npy` files, raw `.bin` dumps), and the `.npy` header parser.
//!
//! Decoders return `Err(String)` describing the problem; callers wrap it in
//! [`Error::Format`] with the file it came from.

use std::path::Path;

use crate::error::{Error, Result};

/// The element types supported: numpy `int32`, `int64`, `float32`, `float64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// `int32` (`i4`).
    I32,
    /// `int64` (`i8`).
    I64,
    /// `float32` (`f4`).
    F32,
    /// `float64` (`f8`).
    F64,
}

impl DType {
    /// Parses a numpy type code without byte order (`i4`, `i8`, `f4`, `f8`) or a dtype name
    /// (`int32`, `int64`, `float32`, `float64`).
    pub fn from_code(code: &str) -> Option<DType> {
        match code {
            "i4" | "int32" => Some(DType::I32),
            "i8" | "int64" => Some(DType::I64),
            "f4" | "float32" => Some(DType::F32),
            "f8" | "float64" => Some(DType::F64),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The numpy name (`int32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
}

/// The elements of an array, in storage order.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    /// `int32` elements.
    I32(Vec<i32>),
    /// `int64` elements.
    I64(Vec<i64>),
    /// `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
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
    /// Decodes `bytes` as `shape.iter().product()` elements of `dtype`. `byte_order` is the
    /// numpy byte-order character: `<` little, `>` big, `=` native (taken as little: every
    /// machine these files come from is), `|` only for one-byte types, so never valid here.
    /// The byte count must match the shape exactly, which also bounds the allocation by
    /// the input size.
    pub fn from_bytes(
        dtype: DType,
        byte_order: u8,
        shape: Vec<usize>,
        fortran_order: bool,
        bytes: &[u8],
    ) -> std::result::Result<NdArray, String> {
        let little = match byte_order {
            b'<' | b'=' => true,
            b'>' => false,
            other => {
                return Err(format!(
                    "byte order {:?} is not valid for {}",
                    char::from(other),
                    dtype.name()
                ))
            }
        };
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        let expected = count
            .checked_mul(dtype.size())
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        if bytes.len() != expected {
            return Err(format!(
                "{} array of shape {shape:?} needs {expected} bytes of data, found {}",
                dtype.name(),
                bytes.len()
            ));
        }
        fn words<const N: usize>(bytes: &[u8], little: bool) -> impl Iterator<Item = [u8; N]> + '_ {
            bytes.chunks_exact(N).map(move |c| {
                let mut w = [0u8; N];
                w.copy_from_slice(c);
                if !little {
                    w.reverse();
                }
                w
            })
        }
        let data = match dtype {
            DType::I32 => {
                ArrayData::I32(words::<4>(bytes, little).map(i32::from_le_bytes).collect())
            }
            DType::I64 => {
                ArrayData::I64(words::<8>(bytes, little).map(i64::from_le_bytes).collect())
            }
            DType::F32 => {
                ArrayData::F32(words::<4>(bytes, little).map(f32::from_le_bytes).collect())
            }
            DType::F64 => {
                ArrayData::F64(words::<8>(bytes, little).map(f64::from_le_bytes).collect())
            }
        };
        Ok(NdArray {
            shape,
            fortran_order,
            data,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            ArrayData::I32(_) => DType::I32,
            ArrayData::I64(_) => DType::I64,
            ArrayData::F32(_) => DType::F32,
            ArrayData::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ArrayData::I32(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::F32(v) => v.len(),
            ArrayData::F64(v) => v.len(),
        }
    }

    /// `true` when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements widened to `i64`, or `None` for a float array.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.data {
            ArrayData::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            ArrayData::I64(v) => Some(v.clone()),
            ArrayData::F32(_) | ArrayData::F64(_) => None,
        }
    }

    /// The elements as `f64`, or `None` for an integer array.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            ArrayData::F32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            ArrayData::F64(v) => Some(v.clone()),
            ArrayData::I32(_) | ArrayData::I64(_) => None,
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
        if self.fortran_order {
            c * rows + r
        } else {
            r * cols + c
        }
    }
}

/// The header of a `.npy` file: what the data is, and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The numpy byte-order character of `descr` (`<`, `>`, `=` or `|`; `=` if absent).
    pub byte_order: u8,
    /// The type code of `descr` without the byte order, e.g. `i8`, `f4`, `u4`.
    pub code: String,
    /// `true` when stored column-major.
    pub fortran_order: bool,
    /// Extent of every axis, as the header says (not yet checked against the data).
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Number of elements, `None` if the product of the shape overflows.
    pub fn count(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Checks that `data_len` bytes hold exactly the header's shape of `item_size`-byte
    /// elements (overflow-checked), so nothing is allocated from the shape alone.
    pub fn check_data_len(
        &self,
        item_size: usize,
        data_len: usize,
    ) -> std::result::Result<usize, String> {
        let shape = &self.shape;
        let count = self
            .count()
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        let expected = count
            .checked_mul(item_size)
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        if data_len != expected {
            return Err(format!(
                "'{}' array of shape {shape:?} needs {expected} bytes of data, found {data_len}",
                self.code
            ));
        }
        Ok(count)
    }
}

/// Parses the magic, version and header dict of a `.npy` file (format versions 1–3).
pub fn parse_npy_header(bytes: &[u8]) -> std::result::Result<NpyHeader, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or(".npy header length is truncated")?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (
                usize::try_from(len).map_err(|_| ".npy header too long")?,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let header = bytes
        .get(header_start..)
        .and_then(|rest| rest.get(..header_len))
        .ok_or_else(|| format!(".npy header of {header_len} bytes is truncated"))?;
    let header = std::str::from_utf8(header).map_err(|_| ".npy header is not text")?;
    let descr = header_value(header, "descr")?;
    let descr = quoted(descr).ok_or_else(|| format!("bad 'descr' in .npy header: {header}"))?;
    let (byte_order, code) = match descr.as_bytes().first() {
        Some(&c @ (b'<' | b'>' | b'=' | b'|')) => (c, &descr[1..]),
        _ => (b'=', descr),
    };
    let fortran = header_value(header, "fortran_order")?;
    let fortran_order = if fortran.starts_with("True") {
        true
    } else if fortran.starts_with("False") {
        false
    } else {
        return Err(format!("bad 'fortran_order' in .npy header: {header}"));
    };
    let shape = parse_shape(header_value(header, "shape")?)
        .ok_or_else(|| format!("bad 'shape' in .npy header: {header}"))?;
    Ok(NpyHeader {
        byte_order,
        code: code.to_owned(),
        fortran_order,
        shape,
        data_offset: header_start + header_len,
    })
}

/// Parses a whole `.npy` file (format versions 1–3): magic, header dict, then raw data.
/// The data length must match the shape exactly (overflow-checked) before anything is
/// allocated.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<NdArray, String> {
    let header = parse_npy_header(bytes)?;
    let dtype = DType::from_code(&header.code).ok_or_else(|| {
        format!(
            "unsupported .npy dtype '{}' (supported: int32, int64, float32, float64)",
            header.code
        )
    })?;
    let data = &bytes[header.data_offset..];
    header.check_data_len(dtype.size(), data.len())?;
    NdArray::from_bytes(
        dtype,
        header.byte_order,
        header.shape,
        header.fortran_order,
        data,
    )
}

/// Reads and parses a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_npy(&bytes).map_err(|message| Error::Format {
        path: path.to_path_buf(),
        line: None,
        message,
    })
}

/// The text after `'key':` in a `.npy` header dict literal.
fn header_value<'h>(header: &'h str, key: &str) -> std::result::Result<&'h str, String> {
    let quoted_key = format!("'{key}'");
    let at = header
        .find(&quoted_key)
        .ok_or_else(|| format!(".npy header lacks '{key}': {header}"))?;
    let rest = header[at + quoted_key.len()..].trim_start();
    rest.strip_prefix(':')
        .map(str::trim_start)
        .ok_or_else(|| format!("bad .npy header near '{key}': {header}"))
}

/// The content of a leading `'...'` string literal.
fn quoted(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('\'')?;
    rest.find('\'').map(|end| &rest[..end])
}

/// Parses a leading Python tuple of non-negative ints: `()`, `(5,)`, `(3, 4)`.
fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('(')?;
    let inner = &inner[..inner.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn npy_round_trip_both_orders_and_endianness() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&npy("<f4", false, "(2, 3)", &data)).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.matrix_offset(1, 0), 3);
        let f = parse_npy(&npy("<f4", true, "(2, 3)", &data)).unwrap();
        assert_eq!(f.matrix_offset(1, 0), 1);
        let be: Vec<u8> = [7i64, -2].iter().flat_map(|v| v.to_be_bytes()).collect();
        let b = parse_npy(&npy(">i8", false, "(2,)", &be)).unwrap();
        assert_eq!(b.data, ArrayData::I64(vec![7, -2]));
    }

    #[test]
    fn npy_errors_are_reported() {
        assert!(parse_npy(b"").is_err());
        assert!(parse_npy(&npy("<U4", false, "(1,)", &[0; 16]))
            .unwrap_err()
            .contains("unsupported .npy dtype"));
        assert!(parse_npy(&npy("<i4", false, "(3,)", &[0; 8]))
            .unwrap_err()
            .contains("needs 12 bytes"));
        assert!(
            parse_npy(&npy("<i4", false, "(99999999999999, 99999999999)", &[]))
                .unwrap_err()
                .contains("overflows")
        );
        let mut cut = npy("<i4", false, "(1,)", &[0; 4]);
        cut.truncate(20);
        assert!(parse_npy(&cut).unwrap_err().contains("truncated"));
    }
}
