//! Result files: embeddings as `.npy` (float32, readable by numpy), metrics and weights
//! as JSON. Every file is written under a temporary name in the same directory and
//! renamed into place, so an interrupted run never leaves a half-written file.
//!
//! [`NpyWriter`] streams a large matrix to disk in row chunks, for embeddings too big to
//! hold twice (once as floats, once as file bytes, as [`npy_f32_bytes`] does).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{Error, Result};

/// The bytes of a C-order float32 `.npy` file (format 1.0) of shape `rows × cols`.
pub fn npy_f32_bytes(rows: usize, cols: usize, data: &[f32]) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::InvalidArgument {
            argument: "data",
            message: format!("{} values do not form a {rows} x {cols} matrix", data.len()),
        });
    }
    let header = npy_f32_header(rows, cols);
    let mut bytes = Vec::with_capacity(header.len() + 4 * data.len());
    bytes.extend_from_slice(&header);
    extend_le(&mut bytes, data);
    Ok(bytes)
}

/// The header of a C-order float32 `.npy` file (format 1.0) of shape `rows × cols`: magic,
/// version, length and the dictionary, space-padded so that the data start on a multiple
/// of 64 bytes.
fn npy_f32_header(rows: usize, cols: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to 64 bytes. Two
    // usizes print in at most 40 digits, so the length always fits the u16 of format 1.0.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes
}

/// Appends `values` as little-endian float32 bytes.
fn extend_le(bytes: &mut Vec<u8>, values: &[f32]) {
    if cfg!(target_endian = "little") {
        bytes.extend_from_slice(bytemuck::cast_slice(values));
    } else {
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Writes a C-order float32 `.npy` file of shape `rows × cols` from chunks of whole rows,
/// so that a matrix too large to hold twice reaches disk without a full in-memory copy.
///
/// The data go to a temporary file in the target's directory; [`finish`](Self::finish)
/// checks that every row arrived, syncs the file and renames it into place. Until then the
/// target is untouched, and a writer dropped unfinished (an error, a panic, an early
/// return) deletes its temporary file.
///
/// ```no_run
/// # fn main() -> gpu_vgae::Result<()> {
/// use gpu_vgae::internal::output::NpyWriter;
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
    rows: usize,
    cols: usize,
    rows_written: usize,
    /// Bytes converted for one `write_rows` call on big-endian hosts; empty elsewhere.
    scratch: Vec<u8>,
}

impl NpyWriter {
    /// Creates the temporary file next to `path` and writes the header of a `rows × cols`
    /// matrix.
    ///
    /// Errors if the bytes of `rows × cols` values overflow ([`Error::TooLarge`]), `path`
    /// has no file name, or the temporary file cannot be created or written.
    pub fn new(path: &Path, rows: usize, cols: usize) -> Result<Self> {
        rows.checked_mul(cols)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| Error::TooLarge {
                what: format!("the row count of a float32 matrix of {cols} columns"),
                size: rows as u64,
                limit: (usize::MAX / 4 / cols.max(1)) as u64,
            })?;
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
            rows,
            cols,
            rows_written: if cols == 0 { rows } else { 0 },
            scratch: Vec::new(),
        };
        writer.write_bytes_of(|w| w.write_all(&npy_f32_header(rows, cols)))?;
        Ok(writer)
    }

    /// Appends whole rows: `values` holds `values.len() / cols` rows in C order.
    ///
    /// Errors, writing nothing, if `values` is not a whole number of rows or holds more
    /// rows than remain; errors on a failed write, after which the writer can only be
    /// dropped (which removes the temporary file).
    pub fn write_rows(&mut self, values: &[f32]) -> Result<()> {
        if self.cols == 0 {
            // An N × 0 matrix has no data: its rows are complete from the start.
            return match values.len() {
                0 => Ok(()),
                n => Err(Error::InvalidArgument {
                    argument: "values",
                    message: format!("{n} values for a matrix with no columns"),
                }),
            };
        }
        if !values.len().is_multiple_of(self.cols) {
            return Err(Error::InvalidArgument {
                argument: "values",
                message: format!(
                    "{} values are not a whole number of rows of {} columns",
                    values.len(),
                    self.cols
                ),
            });
        }
        let rows = values.len() / self.cols;
        if rows > self.rows - self.rows_written {
            return Err(Error::InvalidArgument {
                argument: "values",
                message: format!(
                    "{rows} more rows would exceed the {} of {} (already written: {})",
                    self.rows,
                    self.path.display(),
                    self.rows_written
                ),
            });
        }
        if cfg!(target_endian = "little") {
            self.write_bytes_of(|w| w.write_all(bytemuck::cast_slice(values)))?;
        } else {
            // Chunks of whole values, converted a bounded piece at a time.
            for piece in values.chunks(1 << 16) {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                extend_le(&mut scratch, piece);
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

/// The directory of `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary name next to `path`, unique within this process (pid and a counter).
fn temp_path(path: &Path) -> Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| Error::InvalidArgument {
        argument: "path",
        message: format!("{} is not a file path", path.display()),
    })?;
    Ok(parent_dir(path).join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, flushed,
/// then renamed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Serializes `value` as pretty JSON and writes it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    write_atomic(path, format!("{text}\n").as_bytes())
}

/// `value` as pretty-printed JSON (for standard output).
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Io {
        path: "<standard output>".into(),
        source: e.into(),
    })
}

/// Creates `dir` (and parents) and checks that files can be created in it, before any
/// work is done, so an unwritable `--out` fails in a second rather than after training.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    let probe = dir.join(format!(".gpu-vgae-write-test-{}", std::process::id()));
    fs::File::create(&probe).map_err(io)?;
    fs::remove_file(&probe).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_describes_the_matrix() {
        let bytes = npy_f32_bytes(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"));
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 4],
            &1.0f32.to_le_bytes()
        );
        assert!(npy_f32_bytes(2, 2, &[1.0]).is_err());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-out-{}", std::process::id()));
        prepare_dir(&dir).unwrap();
        let path = dir.join("a.json");
        write_json(&path, &vec![1, 2]).unwrap();
        write_json(&path, &vec![3]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "[\n  3\n]\n");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh empty directory for one test.
    fn test_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        prepare_dir(&dir).unwrap();
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

    /// Parses a `.npy` file as numpy's format 1.0 reader does, for `<f4` C-order data.
    fn parse_npy(bytes: &[u8]) -> ((usize, usize), Vec<f32>) {
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
        assert_eq!(bytes, npy_f32_bytes(rows, cols, &data).unwrap());
        assert_eq!(parse_npy(&bytes), ((rows, cols), data));
        assert_eq!(entries(&dir), ["emb.npy"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn npy_headers_parse_for_awkward_shapes() {
        for (rows, cols) in [(0, 0), (0, 3), (3, 0), (1, 1), (123_456_789, 16)] {
            let header = npy_f32_header(rows, cols);
            assert_eq!(parse_npy(&header), ((rows, cols), vec![]));
        }
        let dir = test_dir("npy-empty");
        for (rows, cols) in [(0, 4), (5, 0)] {
            let path = dir.join(format!("e{rows}x{cols}.npy"));
            let w = NpyWriter::new(&path, rows, cols).unwrap();
            w.finish().unwrap();
            assert_eq!(parse_npy(&fs::read(&path).unwrap()), ((rows, cols), vec![]));
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
        let values = |r: Result<()>| {
            assert!(
                matches!(
                    r,
                    Err(Error::InvalidArgument {
                        argument: "values",
                        ..
                    })
                ),
                "{r:?}"
            )
        };
        values(w.write_rows(&[1.0; 4]));
        values(w.write_rows(&[1.0; 9]));
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
        assert_eq!(parse_npy(&fs::read(&path).unwrap()).1, [2.0]);
        assert_eq!(entries(&dir), ["emb.npy"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
