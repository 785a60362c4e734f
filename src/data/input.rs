//! Reading an input file whole, with its size bounded before it is read.
//!
//! A regular file is sized by its metadata first, and refused if it is larger than the
//! host memory available. Anything else — a pipe, a device such as `/dev/zero`,
//! standard input, a process substitution — has no size to check, so it is read in
//! blocks up to a byte budget ([`STREAM_BUDGET`], or less when less memory is
//! available), and a stream that goes on past it is an [`Error::TooLarge`] naming the
//! file. A text reader's stream stops at its first block that holds a NUL byte (a binary
//! or UTF-16 file, or `/dev/zero`), since the text readers refuse those at that line
//! anyway. A directory is an error naming it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use memchr::memchr;

use crate::error::{Error, Result};
use crate::memory::{allocation_failed, available_memory};

/// The most bytes read from an input that is not a regular file: 4 GiB.
pub const STREAM_BUDGET: u64 = 4 << 30;

/// Bytes read from a stream at a time.
const BLOCK: usize = 1 << 20;

/// What the caller will do with the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    /// Any bytes (`.npy`, `.npz`, pickles).
    Binary,
    /// Text, or a `.npy` file (recognised by its magic): a stream of other bytes stops
    /// at its first block with a NUL byte.
    Text,
}

/// Reads a binary input whole (see the module docs).
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    read_input(path, Content::Binary, STREAM_BUDGET)
}

/// Reads a text input (or a `.npy` one) whole (see the module docs).
pub(crate) fn read_text_file(path: &Path) -> Result<Vec<u8>> {
    read_input(path, Content::Text, STREAM_BUDGET)
}

/// [`read_file`] with the stream budget as a parameter.
pub(crate) fn read_input(path: &Path, content: Content, budget: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if metadata.is_dir() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            line: None,
            message: "is a directory, not a file".into(),
        });
    }
    if metadata.is_file() {
        let size = metadata.len();
        if let Some(available) = available_memory().filter(|&a| size > a) {
            return Err(Error::InsufficientMemory {
                what: format!("reading {}", path.display()),
                needed: size,
                available,
                limit: "available host memory",
            });
        }
        let size = usize::try_from(size).map_err(|_| too_large(path, size, usize::MAX as u64))?;
        let mut bytes = Vec::new();
        // One more byte than the file has, so reading to its end needs no reallocation.
        bytes
            .try_reserve_exact(size.saturating_add(1))
            .map_err(|_| no_memory(path, size as u64))?;
        // A regular file that grows while it is read (a log being written) is still cut
        // at the budget, or at its size if that is larger.
        let limit = (size as u64).max(budget);
        (&mut file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(too_large(path, bytes.len() as u64, limit));
        }
        return Ok(bytes);
    }
    read_stream(&mut file, path, content, budget)
}

/// Reads a stream in blocks, up to `budget` bytes (less if less memory is available).
fn read_stream(file: &mut File, path: &Path, content: Content, budget: u64) -> Result<Vec<u8>> {
    let limit = match available_memory() {
        Some(available) => budget.min(available),
        None => budget,
    };
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let start = bytes.len();
        if bytes.capacity() - start < BLOCK {
            let grow = bytes.capacity().max(BLOCK);
            bytes
                .try_reserve(grow)
                .map_err(|_| no_memory(path, (start + grow) as u64))?;
        }
        let room = (bytes.capacity() - start).min(BLOCK);
        bytes.resize(start + room, 0);
        let read = loop {
            match file.read(&mut bytes[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        };
        bytes.truncate(start + read);
        if read == 0 {
            return Ok(bytes);
        }
        if content == Content::Text
            && !bytes.starts_with(super::arrays::npy::NPY_MAGIC)
            && memchr(0, &bytes[start..]).is_some()
        {
            // Not text: the reader names the NUL byte's line.
            return Ok(bytes);
        }
        if bytes.len() as u64 > limit {
            return Err(too_large(path, bytes.len() as u64, limit));
        }
    }
}

fn too_large(path: &Path, size: u64, limit: u64) -> Error {
    Error::TooLarge {
        what: format!(
            "{} (not a regular file, so read until a limit), in bytes,",
            path.display()
        ),
        size,
        limit,
    }
}

fn no_memory(path: &Path, needed: u64) -> Error {
    allocation_failed(format!("reading {}", path.display()), needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_and_directories() {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        std::fs::write(&path, b"0 1\n").unwrap();
        assert_eq!(read_text_file(&path).unwrap(), b"0 1\n");
        let err = read_file(&dir).unwrap_err().to_string();
        assert!(
            err.contains("is a directory") && err.contains("gpu-vgae-input"),
            "{err}"
        );
        let missing = read_file(&dir.join("nope")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A stream that goes on is cut at the budget, with an error naming it; a text
    /// stream of NUL bytes stops after its first block.
    #[cfg(unix)]
    #[test]
    fn streams_are_bounded() {
        let zero = Path::new("/dev/zero");
        let err = read_input(zero, Content::Binary, 3 << 20).unwrap_err();
        match &err {
            Error::TooLarge { what, size, limit } => {
                assert!(what.contains("/dev/zero"), "{err}");
                assert_eq!(*limit, 3 << 20);
                assert!(*size > *limit && *size <= (4 << 20), "{err}");
            }
            other => panic!("{other}"),
        }
        let bytes = read_input(zero, Content::Text, STREAM_BUDGET).unwrap();
        assert_eq!(
            bytes.len(),
            BLOCK,
            "one block, then the NUL bytes stop the read"
        );

        // An endless text stream through a pipe.
        let (reader, mut writer) = std::io::pipe().unwrap();
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            let line = b"0 1\n".repeat(1 << 12);
            while writer.write_all(&line).is_ok() {}
        });
        let fd = {
            use std::os::fd::AsRawFd;
            reader.as_raw_fd()
        };
        let path = format!("/proc/self/fd/{fd}");
        let err = read_input(Path::new(&path), Content::Text, 5 << 20).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        drop(reader);
        feeder.join().unwrap();
    }
}
