//! Result files: metrics and weights as JSON. Every file is written under a temporary
//! name in the same directory and renamed into place, so an interrupted run never leaves
//! a half-written file. Embeddings (`.npy`, streamed in row chunks) are written by the
//! array layer's [`NpyWriter`](crate::data::arrays::NpyWriter) with the same discipline.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{Error, Result};

/// The directory of `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary name next to `path`, unique within this process (pid and a counter).
pub(crate) fn temp_path(path: &Path) -> Result<PathBuf> {
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
}
