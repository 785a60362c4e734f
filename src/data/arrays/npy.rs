//! The `.npy` format (numpy's `NEP 1`, versions 1.0–3.0): reading any array of the
//! supported dtypes, writing one, and [`NpyWriter`], which streams a float matrix too
//! large to hold twice to disk in row chunks.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{ArrayView, DType, NdArray};
use crate::data::input::read_file;
use crate::error::{Error, Result};
use crate::output::{parent_dir, temp_path, write_atomic};

/// The first bytes of every `.npy` file.
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// The header of a `.npy` file: what the data is, and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The element type.
    pub dtype: DType,
    /// The numpy byte-order character of `descr` (`<`, `>`, `=` or `|`; `=` if absent).
    pub byte_order: u8,
    /// `true` when stored column-major.
    pub fortran_order: bool,
    /// Extent of every axis, as the header says (not yet checked against the data).
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

impl NpyHeader {
    /// The header's array over `data` (the bytes after the header), checked: the byte
    /// count must match the shape exactly (overflow-checked), so nothing is allocated
    /// from the shape alone.
    pub fn view<'a>(&self, data: &'a [u8]) -> std::result::Result<ArrayView<'a>, String> {
        ArrayView::new(
            self.dtype,
            self.byte_order,
            self.shape.clone(),
            self.fortran_order,
            data,
        )
    }
}

/// Parses the magic, version and header dict of a `.npy` file (format versions 1–3).
/// Errors for another format, a truncated header, or a dtype outside [`DType`] (strings,
/// objects, complex numbers, structured records).
pub fn parse_npy_header(bytes: &[u8]) -> std::result::Result<NpyHeader, String> {
    if bytes.len() < 10 || !bytes.starts_with(NPY_MAGIC) {
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
    let descr = quoted(descr).ok_or_else(|| {
        format!(
            "unsupported 'descr' in .npy header (structured arrays are not supported): {header}"
        )
    })?;
    let (byte_order, code) = match descr.as_bytes().first() {
        Some(&c @ (b'<' | b'>' | b'=' | b'|')) => (c, &descr[1..]),
        _ => (b'=', descr),
    };
    let dtype = DType::from_code(code).ok_or_else(|| {
        format!(
            "unsupported .npy dtype '{descr}' (supported: {})",
            DType::all_names()
        )
    })?;
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
        dtype,
        byte_order,
        fortran_order,
        shape,
        data_offset: header_start + header_len,
    })
}

/// The array of a whole `.npy` file, borrowed from its bytes, checked (see
/// [`NpyHeader::view`]).
pub fn npy_view(bytes: &[u8]) -> std::result::Result<ArrayView<'_>, String> {
    let header = parse_npy_header(bytes)?;
    header.view(&bytes[header.data_offset..])
}

/// Parses a whole `.npy` file (format versions 1–3): magic, header dict, then raw data.
/// The data length must match the shape exactly (overflow-checked) before anything is
/// allocated.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<NdArray, String> {
    Ok(npy_view(bytes)?.decode())
}

/// Reads and parses a `.npy` file; errors name it.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    let bytes = read_file(path)?;
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

/// The numpy `descr` of `dtype` as written: little endian, `|` for one-byte types.
fn descr(dtype: DType) -> String {
    let order = if dtype.size() == 1 { '|' } else { '<' };
    format!("{order}{}", dtype.code())
}

/// The header of a `.npy` file of little-endian `dtype` elements in `shape`: magic,
/// version (1.0, or 2.0 for a dict too long for 1.0's 16-bit length), length and the
/// dictionary, space-padded so that the data start on a multiple of 64 bytes.
pub fn npy_header(dtype: DType, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': {order}, 'shape': {dims}, }}",
        descr(dtype)
    );
    // Magic (6) + version (2) + length (2 or 4) + dict + '\n', padded to 64 bytes.
    let padded = |prefix: usize| (prefix + dict.len() + 1).next_multiple_of(64) - prefix;
    let version_1 = padded(10) <= usize::from(u16::MAX);
    let prefix = if version_1 { 10 } else { 12 };
    let unpadded = prefix + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut bytes = Vec::with_capacity(prefix + dict.len());
    bytes.extend_from_slice(NPY_MAGIC);
    if version_1 {
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        bytes.extend_from_slice(&[2, 0]);
        bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    bytes.extend_from_slice(dict.as_bytes());
    bytes
}

/// The bytes of a `.npy` file holding `array` (little endian, its own memory order).
pub fn encode_npy(array: &NdArray) -> Vec<u8> {
    let mut bytes = npy_header(array.dtype(), array.fortran_order, &array.shape);
    bytes.extend_from_slice(&array.to_le_bytes());
    bytes
}

/// Writes `array` as a `.npy` file, atomically (a temporary file renamed into place).
pub fn write_npy(path: &Path, array: &NdArray) -> Result<()> {
    write_atomic(path, &encode_npy(array))
}

/// Writes a C-order float `.npy` file of shape `rows × cols` (float32, or float16 or
/// float64 with [`NpyWriter::with_dtype`]) from chunks of whole float32 rows, so that a
/// matrix too large to hold twice reaches disk without a full in-memory copy.
///
/// The data go to a temporary file in the target's directory; [`finish`](Self::finish)
/// checks that every row arrived, syncs the file and renames it into place. Until then the
/// target is untouched, and a writer dropped unfinished (an error, a panic, an early
/// return) deletes its temporary file.
///
/// ```no_run
/// # fn main() -> gpu_vgae::Result<()> {
/// use gpu_vgae::internal::data::arrays::NpyWriter;
///
/// let (rows, cols) = (1_000_000, 16);
/// let mut out = NpyWriter::new("embeddings.npy".as_ref(), rows, cols)?;
/// for start in (0..rows).step_by(65_536) {
///     let chunk = vec![0.0f32; (rows - start).min(65_536) * cols]; // e.g. read back from the GPU
///     out.write_rows(&chunk)?;
/// }
/// out.finish()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct NpyWriter {
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once finished (or after an I/O error, which leaves nothing to finish).
    file: Option<BufWriter<fs::File>>,
    dtype: DType,
    rows: usize,
    cols: usize,
    rows_written: usize,
    /// Bytes converted for one piece of a `write_rows` call (all but float32 on a
    /// little-endian host).
    scratch: Vec<u8>,
}

/// Values converted per piece of a `write_rows` call that needs conversion.
const CONVERT_PIECE: usize = 1 << 16;

impl NpyWriter {
    /// A float32 writer: creates the temporary file next to `path` and writes the header
    /// of a `rows × cols` matrix.
    ///
    /// Errors if the matrix's byte size overflows, `path` has no file name, or the
    /// temporary file cannot be created or written.
    pub fn new(path: &Path, rows: usize, cols: usize) -> Result<Self> {
        Self::with_dtype(path, rows, cols, DType::F32)
    }

    /// [`NpyWriter::new`] storing `dtype` elements: [`DType::F16`], [`DType::F32`] or
    /// [`DType::F64`] (the rows still arrive as float32; float16 rounds to nearest, and a
    /// value beyond its range is an error rather than an infinity).
    pub fn with_dtype(path: &Path, rows: usize, cols: usize, dtype: DType) -> Result<Self> {
        if !dtype.is_float() {
            return Err(Error::InvalidArgument {
                argument: "dtype",
                message: format!(
                    "an embeddings file holds float16, float32 or float64, not {}",
                    dtype.name()
                ),
            });
        }
        let bytes = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(dtype.size()));
        if bytes.is_none() {
            return Err(Error::TooLarge {
                what: format!(
                    "the row count of a {} matrix of {cols} columns",
                    dtype.name()
                ),
                size: rows as u64,
                limit: (usize::MAX / dtype.size() / cols.max(1)) as u64,
            });
        }
        let tmp = temp_path(path)?;
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| Error::Io {
                path: tmp.clone(),
                source,
            })?;
        let mut writer = NpyWriter {
            path: path.to_path_buf(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            dtype,
            rows,
            cols,
            rows_written: if cols == 0 { rows } else { 0 },
            scratch: Vec::new(),
        };
        let header = npy_header(dtype, false, &[rows, cols]);
        writer.write_bytes_of(|w| w.write_all(&header))?;
        Ok(writer)
    }

    /// The element type written.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Appends whole rows: `values` holds `values.len() / cols` rows in C order.
    ///
    /// Errors, writing nothing, if `values` is not a whole number of rows, holds more
    /// rows than remain, or (float16) holds a finite value beyond float16's range; errors
    /// on a failed write, after which the writer can only be dropped (which removes the
    /// temporary file).
    pub fn write_rows(&mut self, values: &[f32]) -> Result<()> {
        let bad = |message: String| Error::InvalidArgument {
            argument: "values",
            message,
        };
        if self.cols == 0 {
            // An N × 0 matrix has no data: its rows are complete from the start.
            return match values.len() {
                0 => Ok(()),
                n => Err(bad(format!("{n} values for a matrix with no columns"))),
            };
        }
        if !values.len().is_multiple_of(self.cols) {
            return Err(bad(format!(
                "{} values are not a whole number of rows of {} columns",
                values.len(),
                self.cols
            )));
        }
        let rows = values.len() / self.cols;
        if rows > self.rows - self.rows_written {
            return Err(bad(format!(
                "{rows} more rows would exceed the {} of {} (already written: {})",
                self.rows,
                self.path.display(),
                self.rows_written
            )));
        }
        if self.dtype == DType::F16 {
            if let Some(k) = values
                .iter()
                .position(|v| v.is_finite() && !half::f16::from_f32(*v).is_finite())
            {
                return Err(bad(format!(
                    "value {} at row {}, column {} is beyond float16's range (±65504)",
                    values[k],
                    self.rows_written + k / self.cols,
                    k % self.cols
                )));
            }
        }
        if self.dtype == DType::F32 && cfg!(target_endian = "little") {
            self.write_bytes_of(|w| w.write_all(bytemuck::cast_slice(values)))?;
        } else {
            // Converted a bounded piece at a time.
            for piece in values.chunks(CONVERT_PIECE) {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                match self.dtype {
                    DType::F16 => piece
                        .iter()
                        .for_each(|&v| scratch.extend(half::f16::from_f32(v).to_le_bytes())),
                    DType::F64 => piece
                        .iter()
                        .for_each(|&v| scratch.extend(f64::from(v).to_le_bytes())),
                    _ => piece.iter().for_each(|v| scratch.extend(v.to_le_bytes())),
                }
                let result = self.write_bytes_of(|w| w.write_all(&scratch));
                self.scratch = scratch;
                result?;
            }
        }
        self.rows_written += rows;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> usize {
        self.rows_written
    }

    /// Checks that all rows arrived, flushes and syncs the file, and renames it to the
    /// target path (replacing any file there).
    ///
    /// Errors if rows are missing or a write, sync or rename fails; the temporary file is
    /// removed and the target left as it was.
    pub fn finish(mut self) -> Result<()> {
        if self.rows_written != self.rows {
            return Err(Error::InvalidArgument {
                argument: "rows",
                message: format!(
                    "{} has {} of its {} rows; not written",
                    self.path.display(),
                    self.rows_written,
                    self.rows
                ),
            });
        }
        let Some(writer) = self.file.take() else {
            return Err(self.failed_earlier());
        };
        let tmp = self.tmp.clone();
        let io = |source| Error::Io {
            path: tmp.clone(),
            source,
        };
        let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        fs::rename(&self.tmp, &self.path).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        // Renamed: nothing left for Drop to remove. Syncing the directory makes the rename
        // itself durable; where directories cannot be opened (Windows) it is skipped.
        self.tmp = PathBuf::new();
        if let Ok(dir) = fs::File::open(parent_dir(&self.path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Runs one write on the open file; on failure the file is closed for good.
    fn write_bytes_of(
        &mut self,
        write: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(self.failed_earlier());
        };
        write(file).map_err(|source| {
            self.file = None;
            Error::Io {
                path: self.tmp.clone(),
                source,
            }
        })
    }

    fn failed_earlier(&self) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other(
                "an earlier write failed, so the file cannot be completed",
            ),
        }
    }
}

impl Drop for NpyWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{f16, ArrayData};
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

    /// A fresh empty directory for one test.
    fn test_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
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
        let h = parse_npy(&npy("<f2", false, "(1,)", &[0x00, 0x3c])).unwrap();
        assert_eq!(h.data, ArrayData::F16(vec![f16::ONE]));
        let flags = parse_npy(&npy("|b1", false, "(3,)", &[1, 0, 1])).unwrap();
        assert_eq!(flags.data, ArrayData::Bool(vec![true, false, true]));
    }

    /// Every dtype and shape written is read back equal, headers aligned to 64 bytes.
    #[test]
    fn encoded_arrays_parse_back() {
        for dtype in DType::ALL {
            for shape in [vec![], vec![0], vec![3], vec![2, 3], vec![2, 1, 2]] {
                let count: usize = shape.iter().product();
                let bytes: Vec<u8> = (0..count * dtype.size()).map(|k| (k % 2) as u8).collect();
                let array = NdArray::from_bytes(dtype, b'<', shape.clone(), false, &bytes).unwrap();
                let file = encode_npy(&array);
                let header = parse_npy_header(&file).unwrap();
                assert_eq!(header.data_offset % 64, 0, "{dtype:?} {shape:?}");
                assert_eq!(parse_npy(&file).unwrap(), array, "{dtype:?} {shape:?}");
            }
        }
        // A dict longer than 65535 bytes needs format 2.0.
        let shape = vec![1; 30_000];
        let array = NdArray::from_bytes(DType::U8, b'|', shape, false, &[5]).unwrap();
        let file = encode_npy(&array);
        assert_eq!(file[6], 2);
        assert_eq!(parse_npy(&file).unwrap(), array);
    }

    #[test]
    fn npy_errors_are_reported() {
        assert!(parse_npy(b"").is_err());
        assert!(parse_npy(&npy("<U4", false, "(1,)", &[0; 16]))
            .unwrap_err()
            .contains("unsupported .npy dtype '<U4'"));
        assert!(parse_npy(&npy("<i4", false, "(3,)", &[0; 8]))
            .unwrap_err()
            .contains("needs 12 bytes"));
        assert!(parse_npy(&npy("<i4", false, "(3,)", &[0; 16]))
            .unwrap_err()
            .contains("needs 12 bytes of data, found 16"));
        assert!(
            parse_npy(&npy("<i4", false, "(99999999999999, 99999999999)", &[]))
                .unwrap_err()
                .contains("overflows")
        );
        let mut cut = npy("<i4", false, "(1,)", &[0; 4]);
        cut.truncate(20);
        assert!(parse_npy(&cut).unwrap_err().contains("truncated"));
        assert!(parse_npy(&npy("<i4", false, "[1]", &[0; 4]))
            .unwrap_err()
            .contains("bad 'shape'"));
    }

    /// Parses a `.npy` file as numpy's format 1.0 reader does, for `<f4` C-order data.
    fn parse_f32(bytes: &[u8]) -> ((usize, usize), Vec<f32>) {
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + len) % 64, 0, "data aligned to 64 bytes");
        let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
        assert!(header.ends_with('\n'));
        let dict = header.trim_end();
        assert!(dict.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': ("));
        assert!(dict.ends_with("), }"));
        let shape = &dict[dict.find("'shape': (").unwrap() + 10..dict.rfind(')').unwrap()];
        let dims: Vec<usize> = shape.split(", ").map(|d| d.parse().unwrap()).collect();
        let data: Vec<f32> = bytes[10 + len..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(data.len() * 4, bytes.len() - 10 - len, "no trailing bytes");
        ((dims[0], dims[1]), data)
    }

    #[test]
    fn streamed_npy_equals_the_in_memory_bytes() {
        let dir = test_dir("npy-stream");
        let (rows, cols) = (1000, 7);
        let data: Vec<f32> = (0..rows * cols).map(|k| k as f32 * 0.25 - 3.0).collect();
        let path = dir.join("emb.npy");
        let mut w = NpyWriter::new(&path, rows, cols).unwrap();
        // Uneven chunks, including an empty one.
        for (a, b) in [(0, 1), (1, 1), (1, 300), (300, 999), (999, 1000)] {
            w.write_rows(&data[a * cols..b * cols]).unwrap();
        }
        assert_eq!(w.rows_written(), rows);
        assert!(!path.exists(), "the target appears only on finish");
        w.finish().unwrap();
        let bytes = fs::read(&path).unwrap();
        let array = NdArray::new(vec![rows, cols], ArrayData::F32(data.clone())).unwrap();
        assert_eq!(bytes, encode_npy(&array));
        assert_eq!(parse_f32(&bytes), ((rows, cols), data));
        assert_eq!(entries(&dir), ["emb.npy"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// float16 and float64 files hold the rounded (widened) values, readable back.
    #[test]
    fn streamed_npy_in_other_float_types() {
        let dir = test_dir("npy-f16");
        let (rows, cols) = (70_000, 3);
        let data: Vec<f32> = (0..rows * cols).map(|k| (k as f32).sin() * 100.0).collect();
        for dtype in [DType::F16, DType::F64] {
            let path = dir.join(format!("emb-{}.npy", dtype.name()));
            let mut w = NpyWriter::with_dtype(&path, rows, cols, dtype).unwrap();
            w.write_rows(&data[..cols]).unwrap();
            w.write_rows(&data[cols..]).unwrap();
            w.finish().unwrap();
            let back = read_npy(&path).unwrap();
            assert_eq!(back.dtype(), dtype);
            assert_eq!(back.shape, vec![rows, cols]);
            let expected: Vec<f32> = match dtype {
                DType::F16 => data.iter().map(|&v| f16::from_f32(v).to_f32()).collect(),
                _ => data.clone(),
            };
            assert_eq!(back.to_f32().unwrap(), expected, "{dtype:?}");
        }
        let path = dir.join("big.npy");
        let mut w = NpyWriter::with_dtype(&path, 2, 2, DType::F16).unwrap();
        let err = w.write_rows(&[1.0, 2.0, 3.0, 7e4]).unwrap_err().to_string();
        assert!(err.contains("value 70000 at row 1, column 1"), "{err}");
        assert_eq!(w.rows_written(), 0);
        drop(w);
        assert!(NpyWriter::with_dtype(&path, 2, 2, DType::I32).is_err());
        assert!(entries(&dir).iter().all(|n| !n.starts_with('.')));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn npy_headers_parse_for_awkward_shapes() {
        for (rows, cols) in [(0, 0), (0, 3), (3, 0), (1, 1), (123_456_789, 16)] {
            let header = npy_header(DType::F32, false, &[rows, cols]);
            assert_eq!(parse_f32(&header), ((rows, cols), vec![]));
        }
        let dir = test_dir("npy-empty");
        for (rows, cols) in [(0, 4), (5, 0)] {
            let path = dir.join(format!("e{rows}x{cols}.npy"));
            let w = NpyWriter::new(&path, rows, cols).unwrap();
            w.finish().unwrap();
            assert_eq!(parse_f32(&fs::read(&path).unwrap()), ((rows, cols), vec![]));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unfinished_or_invalid_writes_leave_no_file_and_keep_the_old_one() {
        let dir = test_dir("npy-errors");
        let path = dir.join("emb.npy");
        fs::write(&path, b"old").unwrap();
        // Dropped before finishing (an error or panic upstream).
        let mut w = NpyWriter::new(&path, 4, 2).unwrap();
        w.write_rows(&[1.0; 4]).unwrap();
        drop(w);
        // Missing rows at finish.
        let mut w = NpyWriter::new(&path, 4, 2).unwrap();
        w.write_rows(&[1.0; 6]).unwrap();
        let err = w.finish().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { argument: "rows", message }
                if message.contains("3 of its 4 rows")),
            "{err}"
        );
        // Partial rows and too many rows are refused without writing anything.
        let mut w = NpyWriter::new(&path, 2, 3).unwrap();
        assert!(matches!(
            w.write_rows(&[1.0; 4]),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            w.write_rows(&[1.0; 9]),
            Err(Error::InvalidArgument { .. })
        ));
        assert_eq!(w.rows_written(), 0);
        w.write_rows(&[2.0; 6]).unwrap();
        assert!(w.write_rows(&[2.0; 3]).is_err());
        drop(w);
        let mut w = NpyWriter::new(&path, 3, 0).unwrap();
        assert!(w.write_rows(&[1.0]).is_err());
        drop(w);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(&dir), ["emb.npy"], "no temporary file is left");
        // Overflowing shapes and unusable paths are errors, not panics.
        assert!(matches!(
            NpyWriter::new(&path, usize::MAX, 2),
            Err(Error::TooLarge { .. })
        ));
        assert!(NpyWriter::new(&dir.join("missing/emb.npy"), 1, 1).is_err());
        assert!(matches!(
            NpyWriter::new(Path::new("/"), 1, 1),
            Err(Error::InvalidArgument {
                argument: "path",
                ..
            })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers_to_one_path_do_not_share_a_temporary_file() {
        let dir = test_dir("npy-two");
        let path = dir.join("emb.npy");
        let mut a = NpyWriter::new(&path, 1, 1).unwrap();
        let mut b = NpyWriter::new(&path, 1, 1).unwrap();
        a.write_rows(&[1.0]).unwrap();
        b.write_rows(&[2.0]).unwrap();
        a.finish().unwrap();
        b.finish().unwrap();
        assert_eq!(parse_f32(&fs::read(&path).unwrap()).1, [2.0]);
        assert_eq!(entries(&dir), ["emb.npy"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn whole_arrays_write_atomically() {
        let dir = test_dir("npy-whole");
        let path = dir.join("a.npy");
        let array = NdArray::new(vec![2, 2], ArrayData::I16(vec![1, -2, 3, -4])).unwrap();
        write_npy(&path, &array).unwrap();
        assert_eq!(read_npy(&path).unwrap(), array);
        assert_eq!(entries(&dir), ["a.npy"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
