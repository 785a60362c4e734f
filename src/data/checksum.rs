//! SHA-256 checks of dataset files against a `SHA256SUMS` file in the same directory
//! (the format `sha256sum` writes and `sha256sum -c` reads: a 64-digit hex digest, one
//! or two spaces or ` *`, then the file name).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::input::read_file;
use super::line_error;
use crate::error::{Error, Result};

/// Name of the checksum file looked for in a dataset directory.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// The expected digests of a directory's files.
#[derive(Clone, Debug)]
pub struct Checksums {
    path: PathBuf,
    digests: HashMap<String, String>,
}

/// What [`Checksums::verify`] found for a file whose bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// The digest matches.
    Match,
    /// `SHA256SUMS` does not list the file.
    NotListed,
}

impl Checksums {
    /// Reads `dir/SHA256SUMS`; `Ok(None)` if there is no such file.
    pub fn load(dir: &Path) -> Result<Option<Checksums>> {
        let path = dir.join(SUMS_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = read_file(&path)?;
        Checksums::parse(&bytes, &path).map(Some)
    }

    /// Parses the content of a `SHA256SUMS` file (`path` names it in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Checksums> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            line_error(path, line, "not valid UTF-8 text".into())
        })?;
        let mut digests = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = line.split_once(' ').and_then(|(digest, name)| {
                let name = name.strip_prefix([' ', '*']).unwrap_or(name);
                let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
                (hex && !name.is_empty()).then_some((digest, name))
            });
            let Some((digest, name)) = parsed else {
                return Err(line_error(
                    path,
                    n + 1,
                    format!("expected `<64 hex digits>  <file name>`, found `{line}`"),
                ));
            };
            digests.insert(name.to_owned(), digest.to_ascii_lowercase());
        }
        Ok(Checksums {
            path: path.to_path_buf(),
            digests,
        })
    }

    /// Checks `bytes`, the content of `file` (a file in the checksums' directory), and
    /// errors naming `file` with the expected and actual digests when they differ.
    pub fn verify(&self, file: &Path, bytes: &[u8]) -> Result<Verified> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(expected) = self.digests.get(&name) else {
            return Ok(Verified::NotListed);
        };
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(Error::Format {
                path: file.to_path_buf(),
                line: None,
                message: format!(
                    "SHA-256 mismatch: {} expects {expected}, the file has {actual} \
                     (corrupt, truncated or not the original file)",
                    self.path.display()
                ),
            });
        }
        Ok(Verified::Match)
    }
}

/// The SHA-256 digest of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_abc_is_the_standard_one() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sums_parse_verify_and_report() {
        let abc = sha256_hex(b"abc");
        let text = format!("{abc}  a.txt\n{abc} *b.bin\n\n");
        let sums = Checksums::parse(text.as_bytes(), Path::new("d/SHA256SUMS")).unwrap();
        assert_eq!(
            sums.verify(Path::new("d/a.txt"), b"abc").unwrap(),
            Verified::Match
        );
        assert_eq!(
            sums.verify(Path::new("d/b.bin"), b"abc").unwrap(),
            Verified::Match
        );
        assert_eq!(
            sums.verify(Path::new("d/c"), b"abc").unwrap(),
            Verified::NotListed
        );
        let e = sums
            .verify(Path::new("d/a.txt"), b"abd")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("d/a.txt: SHA-256 mismatch"), "{e}");
        assert!(e.contains(&abc) && e.contains(&sha256_hex(b"abd")), "{e}");

        let e = Checksums::parse(b"123  a\n", Path::new("S"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("S:1: expected"), "{e}");
    }
}
