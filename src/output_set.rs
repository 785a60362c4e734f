//! Result files as one unit: a command's whole set of files (`model.gvae`,
//! `embeddings.npy`, ..., `manifest.json`) replaces the output directory at once, so a
//! directory never holds files of two runs.
//!
//! - [`OutputDir::claim`] takes the directory before any work: it resolves the path (a
//!   symlink to a directory is followed; the set replaces the directory it points to),
//!   refuses a directory holding files that gpu-vgae did not write (the set replaces the
//!   whole directory), and creates the lock `.NAME.lock` next to it with `create_new`,
//!   holding the process id and its start time. A second writer is refused while the
//!   lock's process lives; the lock of a dead process (no `/proc/PID` with that start
//!   time) is stale and taken over, and the staging directories it left are removed.
//! - [`OutputSet`] writes the files into a fresh staging directory `.NAME.tmp-PID-N` next
//!   to the target (same filesystem), each synced, then `manifest.json` (run id, time,
//!   command, SHA-256 and size of every file). [`OutputSet::commit`] swaps it in with two
//!   renames: the old directory to `.NAME.old-PID-N`, the staging directory to the
//!   target; then the old one is removed. Between the renames (microseconds) the target
//!   is absent, never mixed. If the process dies right there (SIGKILL, power loss), the
//!   next claim finds the target missing and the complete old set at `.NAME.old-…` of a
//!   dead process, and puts it back.
//! - A set dropped before [`OutputSet::commit`] (an error, a disk full, a stop request)
//!   removes its staging directory: the target is left exactly as it was. Signals stop
//!   a set through [`WriteOptions::interrupt`], checked before every file and before the
//!   swap; nothing here is async-signal code.
//!
//! Readers check a set with [`verify_output`] (every file's size and SHA-256 against the
//! manifest, and no file beside them); `SavedModel::load` checks its own file against the
//! manifest next to it.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::arrays::{DType, NpyWriter};
use crate::error::{Error, Result};

/// The manifest's file name inside a set.
pub const MANIFEST: &str = "manifest.json";

/// The `format` field of a manifest.
const MANIFEST_FORMAT: &str = "gpu-vgae output set";

/// Files that gpu-vgae sets held before manifests existed: a directory holding only
/// these (and their temporary names) may be replaced.
const KNOWN_FILES: &[&str] = &[
    "model.gvae",
    "embeddings.npy",
    "node_ids.txt",
    "metrics.json",
    "clusters.csv",
    "training.svg",
    "embeddings.svg",
    "results.json",
    "table.md",
    "epoch_scaling.svg",
];

/// For the signal tests only: a pause after each file of a set, in milliseconds, so
/// that a test can deliver a signal while a set is being written.
const TEST_DELAY_ENV: &str = "GPU_VGAE_TEST_WRITE_DELAY_MS";

/// The element type of a set's `embeddings.npy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingsDtype {
    /// float32 (`<f4`).
    #[default]
    F32,
    /// float16 (`<f2`): half the bytes; every value rounded to the nearest f16, and a
    /// value beyond its range (±65504) is an error rather than an infinity.
    F16,
}

text_enum!(
    EmbeddingsDtype,
    "embeddings_dtype",
    EmbeddingsDtype::F32 => "f32" | "float32",
    EmbeddingsDtype::F16 => "f16" | "float16"
);

impl EmbeddingsDtype {
    /// The `.npy` element type.
    pub fn dtype(self) -> DType {
        match self {
            EmbeddingsDtype::F32 => DType::F32,
            EmbeddingsDtype::F16 => DType::F16,
        }
    }
}

/// How a set is written.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The command that made the set, recorded in the manifest (the command line passes
    /// its arguments; empty: the library call's name).
    pub command: Vec<String>,
    /// A stop request (e.g. set by a signal handler): checked before every file and
    /// before the swap; when set, the staging directory is removed, the target is left
    /// as it was and [`Error::Interrupted`] is returned.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// The element type of `embeddings.npy` (float32).
    pub embeddings_dtype: EmbeddingsDtype,
}

impl WriteOptions {
    /// Options recording `command`.
    pub fn with_command(mut self, command: Vec<String>) -> Self {
        self.command = command;
        self
    }

    /// Options watching `flag` for a stop request.
    pub fn with_interrupt(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }

    /// Options writing `embeddings.npy` as `dtype`.
    pub fn with_embeddings_dtype(mut self, dtype: EmbeddingsDtype) -> Self {
        self.embeddings_dtype = dtype;
        self
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
}

/// One file of a set, as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// File name inside the set.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content, 64 lowercase hex digits.
    pub sha256: String,
}

/// `manifest.json`: what made a set and the checksum of every file in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `"gpu-vgae output set"`.
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// Unique id of the run that wrote the set (time, process id, random suffix).
    pub run_id: String,
    /// When the set was written, UTC, RFC 3339.
    pub created: String,
    /// The command that wrote it.
    pub command: Vec<String>,
    /// The library that wrote it, `gpu-vgae <version>`.
    pub writer: String,
    /// The files, in the order they were written.
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    /// The entry of `name`, if the set has that file.
    pub fn entry(&self, name: &str) -> Option<&ManifestEntry> {
        self.files.iter().find(|f| f.name == name)
    }

    /// Reads `dir/manifest.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| Error::Format {
            path: path.clone(),
            line: Some(e.line()),
            message: format!("not a gpu-vgae manifest: {e}"),
        })?;
        if manifest.format != MANIFEST_FORMAT || manifest.version != 1 {
            return Err(Error::Format {
                path,
                line: None,
                message: format!(
                    "manifest format `{}` version {}; this gpu-vgae reads `{MANIFEST_FORMAT}` \
                     version 1",
                    manifest.format, manifest.version
                ),
            });
        }
        Ok(Some(manifest))
    }
}

/// Checks a set: `dir/manifest.json` exists, every file it lists has its size and
/// SHA-256, and no other file lies beside them. Returns the manifest.
pub fn verify_output(dir: &Path) -> Result<Manifest> {
    let manifest = Manifest::load(dir)?.ok_or_else(|| Error::Format {
        path: dir.join(MANIFEST),
        line: None,
        message: "missing: the directory is not a complete gpu-vgae output set".into(),
    })?;
    for entry in &manifest.files {
        check_file(&dir.join(&entry.name), entry)?;
    }
    for name in entries(dir)? {
        if name != MANIFEST && manifest.entry(&name).is_none() {
            return Err(mixed(
                dir,
                format!("{name} is not part of the set that {MANIFEST} describes"),
            ));
        }
    }
    Ok(manifest)
}

/// Checks one file of a set against its manifest entry.
pub fn check_file(path: &Path, entry: &ManifestEntry) -> Result<()> {
    let (bytes, digest) = sha256_of_file(path)?;
    if bytes != entry.bytes || digest != entry.sha256 {
        return Err(mixed(
            path.parent().unwrap_or(Path::new(".")),
            format!(
                "{} ({bytes} bytes, SHA-256 {digest}) is not the file that {MANIFEST} lists \
                 ({} bytes, SHA-256 {}): it was changed or comes from another run",
                entry.name, entry.bytes, entry.sha256
            ),
        ));
    }
    Ok(())
}

/// When `path` lies in a directory with a manifest, checks it against its entry (a file
/// that the manifest does not list is refused); without a manifest there is nothing to
/// check.
pub fn check_against_manifest(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    let Some(manifest) = Manifest::load(dir)? else {
        return Ok(());
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match manifest.entry(&name) {
        Some(entry) => check_file(path, entry),
        None => Err(mixed(
            dir,
            format!("{name} is not listed in {MANIFEST}: it does not belong to that set"),
        )),
    }
}

fn mixed(dir: &Path, message: String) -> Error {
    Error::Format {
        path: dir.join(MANIFEST),
        line: None,
        message,
    }
}

/// Size and SHA-256 (hex) of a file, read in pieces.
fn sha256_of_file(path: &Path) -> Result<(u64, String)> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names in `dir` (directories marked with a trailing `/`).
fn entries(dir: &Path) -> Result<Vec<String>> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().map_err(io)?.is_dir() {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// The directory of `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// An output directory claimed for one writer: its resolved path and the lock next to
/// it, released when this is dropped (or the set written into it is committed).
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    parent: PathBuf,
    name: String,
    lock: PathBuf,
    /// What this process wrote into the lock, to release only its own.
    lock_text: String,
}

impl OutputDir {
    /// Claims `dir` for a set (see the module docs): creates its parent directories,
    /// refuses a file, a directory holding files that gpu-vgae did not write, or a
    /// directory another live process is writing; removes what a dead writer left.
    pub fn claim(dir: &Path) -> Result<OutputDir> {
        let (parent, name) = resolve(dir)?;
        let target = parent.join(&name);
        let lock = parent.join(format!(".{name}.lock"));
        let lock_text = format!(
            "{} {}\n",
            std::process::id(),
            start_time(std::process::id())
        );
        acquire_lock(&lock, &lock_text, &target)?;
        let claimed = OutputDir {
            target,
            parent,
            name,
            lock,
            lock_text,
        };
        claimed.recover_stale()?;
        check_replaceable(&claimed.target)?;
        Ok(claimed)
    }

    /// The directory the set will replace (symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Puts back the old set of a writer that died between its two renames, and
    /// removes the staging directories that dead writers left.
    fn recover_stale(&self) -> Result<()> {
        let tmp_prefix = format!(".{}.tmp-", self.name);
        let old_prefix = format!(".{}.old-", self.name);
        for entry in entries(&self.parent)? {
            let entry = entry.trim_end_matches('/');
            let (prefix, is_old) = if entry.starts_with(&tmp_prefix) {
                (&tmp_prefix, false)
            } else if entry.starts_with(&old_prefix) {
                (&old_prefix, true)
            } else {
                continue;
            };
            let Some(pid) = entry[prefix.len()..]
                .split('-')
                .next()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == std::process::id() || process_alive(pid) != Some(false) {
                continue;
            }
            let path = self.parent.join(entry);
            if is_old && !self.target.exists() {
                fs::rename(&path, &self.target).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            } else {
                remove_any(&path)?;
            }
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // Only this process's lock: never one that another writer took over.
        if fs::read_to_string(&self.lock).is_ok_and(|t| t == self.lock_text) {
            let _ = fs::remove_file(&self.lock);
        }
    }
}

/// The parent (created, canonical) and the name of `dir`, following a symlink at `dir`.
fn resolve(dir: &Path) -> Result<(PathBuf, String)> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let full = if fs::symlink_metadata(dir).is_ok() {
        // Exists (perhaps as a symlink): its real path.
        fs::canonicalize(dir).map_err(io(dir))?
    } else {
        let parent = parent_dir(dir);
        fs::create_dir_all(parent).map_err(io(parent))?;
        let name = dir.file_name().ok_or_else(|| Error::InvalidArgument {
            argument: "out",
            message: format!("{} does not name a directory to create", dir.display()),
        })?;
        fs::canonicalize(parent).map_err(io(parent))?.join(name)
    };
    let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
        return Err(Error::InvalidArgument {
            argument: "out",
            message: format!(
                "{} cannot be replaced as a whole: give a directory below it",
                full.display()
            ),
        });
    };
    if !parent.is_dir() {
        return Err(Error::InvalidArgument {
            argument: "out",
            message: format!("{} is not a directory", parent.display()),
        });
    }
    Ok((parent.to_path_buf(), name.to_string_lossy().into_owned()))
}

/// Refuses a target that a set may not replace: anything but a directory, or a
/// directory holding files that gpu-vgae did not write.
fn check_replaceable(target: &Path) -> Result<()> {
    let Ok(meta) = fs::metadata(target) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(Error::InvalidArgument {
            argument: "out",
            message: format!(
                "{} exists and is not a directory; give a new or empty directory",
                target.display()
            ),
        });
    }
    let names = entries(target)?;
    let manifest = Manifest::load(target).ok().flatten();
    let ours = |name: &String| {
        name == MANIFEST
            || manifest.as_ref().is_some_and(|m| m.entry(name).is_some())
            || KNOWN_FILES.contains(&name.as_str())
            || KNOWN_FILES
                .iter()
                .any(|known| name.starts_with(&format!(".{known}.tmp-")))
    };
    let foreign: Vec<&String> = names.iter().filter(|n| !ours(n)).collect();
    if let Some(first) = foreign.first() {
        return Err(Error::InvalidArgument {
            argument: "out",
            message: format!(
                "{} holds {} that gpu-vgae did not write ({first}{}); the results replace \
                 the whole directory, so give a new or empty directory",
                target.display(),
                if foreign.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                if foreign.len() > 1 { ", ..." } else { "" }
            ),
        });
    }
    Ok(())
}

/// Creates the lock file, taking over a stale one once.
fn acquire_lock(lock: &Path, text: &str, target: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: lock.to_path_buf(),
        source,
    };
    for attempt in 0..2 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt == 0 => {
                let held = fs::read_to_string(lock).unwrap_or_default();
                let mut fields = held.split_whitespace();
                let pid = fields.next().and_then(|p| p.parse::<u32>().ok());
                let started = fields.next().unwrap_or("");
                let alive = match pid {
                    Some(pid) => {
                        process_alive(pid).map(|alive| alive && start_time(pid) == started)
                    }
                    // Unreadable or half-written by a writer that died creating it.
                    None => Some(false),
                };
                if alive != Some(false) {
                    return Err(Error::InvalidArgument {
                        argument: "out",
                        message: format!(
                            "{} is being written by another gpu-vgae (process {}; lock {}). \
                             Wait for it, or choose another directory{}",
                            target.display(),
                            pid.map_or("?".into(), |p| p.to_string()),
                            lock.display(),
                            if alive.is_none() {
                                "; if no gpu-vgae is running, remove the lock file"
                            } else {
                                ""
                            }
                        ),
                    });
                }
                // Stale: move it aside under a name of ours, and remove it only if it is
                // still the stale lock we read (not one another process just created).
                let aside = lock.with_extension(format!("stale-{}", std::process::id()));
                if fs::rename(lock, &aside).is_ok() {
                    if fs::read_to_string(&aside).unwrap_or_default() == held {
                        let _ = fs::remove_file(&aside);
                    } else {
                        let _ = fs::rename(&aside, lock);
                    }
                }
            }
            Err(source) => return Err(io(source)),
        }
    }
    Err(Error::InvalidArgument {
        argument: "out",
        message: format!(
            "{} is being written by another gpu-vgae (lock {})",
            target.display(),
            lock.display()
        ),
    })
}

/// Whether process `pid` exists: `Some` where `/proc` tells, `None` elsewhere.
fn process_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`), so that a reused process id is not taken for the lock's owner;
/// empty where unknown.
fn start_time(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name (field 2) may hold spaces: count from its closing ')'.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_default()
}

fn remove_any(path: &Path) -> Result<()> {
    let result = if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    result.map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A set being written: files go into a staging directory next to the target;
/// [`commit`](Self::commit) swaps it in; dropping it uncommitted removes the staging
/// directory and leaves the target as it was.
#[derive(Debug)]
pub struct OutputSet {
    dir: OutputDir,
    staging: PathBuf,
    files: Vec<ManifestEntry>,
    options: WriteOptions,
    delay: Option<Duration>,
    committed: bool,
}

impl OutputSet {
    /// Starts a set for the claimed directory.
    pub fn begin(dir: OutputDir, options: &WriteOptions) -> Result<OutputSet> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let staging = dir.parent.join(format!(
            ".{}.tmp-{}-{}",
            dir.name,
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&staging).map_err(|source| Error::Io {
            path: staging.clone(),
            source,
        })?;
        let delay = std::env::var(TEST_DELAY_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis);
        let set = OutputSet {
            dir,
            staging,
            files: Vec::new(),
            options: options.clone(),
            delay,
            committed: false,
        };
        set.check_interrupt()?;
        Ok(set)
    }

    /// The staging path of `name` (for writers that stream, such as [`NpyWriter`]);
    /// call [`add_written`](Self::add_written) once the file is complete.
    pub fn staging_path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Writes `name` with `bytes` (synced).
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.check_interrupt()?;
        let path = self.staging_path(name);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        self.files.push(ManifestEntry {
            name: name.into(),
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        });
        self.pause();
        Ok(())
    }

    /// Writes `name` as a C-order `.npy` matrix (`rows × cols`) of float32 or, as the
    /// options say for the set's embeddings, float16, streamed in chunks of rows.
    pub fn write_npy(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        values: &[f32],
    ) -> Result<()> {
        self.check_interrupt()?;
        let dtype = self.options.embeddings_dtype.dtype();
        let mut writer = NpyWriter::with_dtype(&self.staging_path(name), rows, cols, dtype)?;
        let chunk = cols.max(1) * 65_536;
        for piece in values.chunks(chunk) {
            writer.write_rows(piece)?;
            self.check_interrupt()?;
        }
        writer.finish()?;
        self.add_written(name)
    }

    /// Records a file written at [`staging_path`](Self::staging_path) by other means.
    pub fn add_written(&mut self, name: &str) -> Result<()> {
        let (bytes, sha256) = sha256_of_file(&self.staging_path(name))?;
        self.files.push(ManifestEntry {
            name: name.into(),
            bytes,
            sha256,
        });
        self.pause();
        Ok(())
    }

    /// Writes the manifest and swaps the set in for the target directory (see the module
    /// docs); releases the lock. Returns the manifest.
    pub fn commit(mut self) -> Result<Manifest> {
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: 1,
            run_id: run_id(),
            created: rfc3339(SystemTime::now()),
            command: if self.options.command.is_empty() {
                vec!["gpu_vgae (library)".into()]
            } else {
                self.options.command.clone()
            },
            writer: concat!("gpu-vgae ", env!("CARGO_PKG_VERSION")).into(),
            files: self.files.clone(),
        };
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Io {
            path: self.staging_path(MANIFEST),
            source: e.into(),
        })?;
        self.write(MANIFEST, format!("{text}\n").as_bytes())?;
        self.files.pop();
        sync_dir(&self.staging);
        self.check_interrupt()?;
        let target = self.dir.target.clone();
        check_replaceable(&target)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if fs::symlink_metadata(&target).is_ok() {
            let old = self.dir.parent.join(format!(
                ".{}.old-{}-{}",
                self.dir.name,
                std::process::id(),
                &manifest.run_id
            ));
            fs::rename(&target, &old).map_err(io(&target))?;
            if let Err(source) = fs::rename(&self.staging, &target) {
                // Put the old set back: the target must not stay missing.
                let _ = fs::rename(&old, &target);
                return Err(Error::Io {
                    path: target,
                    source,
                });
            }
            self.committed = true;
            sync_dir(&self.dir.parent);
            remove_any(&old)?;
        } else {
            fs::rename(&self.staging, &target).map_err(io(&target))?;
            self.committed = true;
        }
        sync_dir(&self.dir.parent);
        Ok(manifest)
    }

    fn check_interrupt(&self) -> Result<()> {
        if self.options.interrupted() {
            return Err(Error::Interrupted {
                message: format!(
                    "stopped while writing {}; it was left as it was",
                    self.dir.target.display()
                ),
            });
        }
        Ok(())
    }

    fn pause(&self) {
        if let Some(delay) = self.delay {
            std::thread::sleep(delay);
        }
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Makes renames and creations in `dir` durable; skipped where directories cannot be
/// opened (Windows).
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A run id: UTC time, process id and a random suffix.
fn run_id() -> String {
    let now = SystemTime::now();
    let stamp: String = rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!(
        "{stamp}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// `time` as UTC RFC 3339 with whole seconds (`2025-01-31T23:59:59Z`).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Writes one result file (`predict --out FILE`): a regular file is replaced atomically
/// (a temporary name next to it, then a rename); a symlink is followed, and the file it
/// points to is replaced (the link stays); a device, FIFO or socket (`/dev/null`,
/// `/dev/stdout`) is written to, never replaced; a directory is refused.
pub fn write_result_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let target = if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        match fs::canonicalize(path) {
            Ok(real) => real,
            // A dangling link: create the file it names.
            Err(_) => {
                let link = fs::read_link(path).map_err(io(path))?;
                parent_dir(path).join(link)
            }
        }
    } else {
        path.to_path_buf()
    };
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Err(Error::InvalidArgument {
            argument: "out",
            message: format!("{} is a directory; give a file name", target.display()),
        }),
        Ok(meta) if !meta.is_file() => {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(io(&target))?;
            file.write_all(bytes).map_err(io(&target))?;
            file.flush().map_err(io(&target))
        }
        _ => crate::output::write_atomic(&target, bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-set-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_set(dir: &Path, files: &[(&str, &[u8])]) -> Result<Manifest> {
        let mut set = OutputSet::begin(OutputDir::claim(dir)?, &WriteOptions::default())?;
        for (name, bytes) in files {
            set.write(name, bytes)?;
        }
        set.commit()
    }

    #[test]
    fn a_new_set_replaces_the_old_one_whole() {
        let root = scratch("replace");
        let out = root.join("out");
        write_set(&out, &[("model.gvae", b"one"), ("clusters.csv", b"c")]).unwrap();
        verify_output(&out).unwrap();
        let m = write_set(&out, &[("model.gvae", b"two")]).unwrap();
        assert_eq!(entries(&out).unwrap(), ["manifest.json", "model.gvae"]);
        assert_eq!(verify_output(&out).unwrap(), m);
        assert_eq!(fs::read(out.join("model.gvae")).unwrap(), b"two");
        // Nothing but the set is left next to it: no lock, no staging, no old set.
        assert_eq!(entries(&root).unwrap(), ["out/"]);
    }

    #[test]
    fn dropped_or_interrupted_sets_leave_the_target_as_it_was() {
        let root = scratch("drop");
        let out = root.join("out");
        write_set(&out, &[("model.gvae", b"one")]).unwrap();
        let mut set =
            OutputSet::begin(OutputDir::claim(&out).unwrap(), &WriteOptions::default()).unwrap();
        set.write("model.gvae", b"two").unwrap();
        drop(set);
        let flag = Arc::new(AtomicBool::new(false));
        let options = WriteOptions::default().with_interrupt(flag.clone());
        let mut set = OutputSet::begin(OutputDir::claim(&out).unwrap(), &options).unwrap();
        set.write("model.gvae", b"three").unwrap();
        flag.store(true, Ordering::SeqCst);
        assert!(matches!(
            set.write("x", b""),
            Err(Error::Interrupted { .. })
        ));
        assert!(matches!(set.commit(), Err(Error::Interrupted { .. })));
        assert_eq!(fs::read(out.join("model.gvae")).unwrap(), b"one");
        verify_output(&out).unwrap();
        assert_eq!(entries(&root).unwrap(), ["out/"]);
    }

    #[test]
    fn a_second_writer_is_refused_and_stale_locks_are_taken_over() {
        let root = scratch("lock");
        let out = root.join("out");
        let first = OutputDir::claim(&out).unwrap();
        let err = OutputDir::claim(&out).unwrap_err().to_string();
        assert!(err.contains("being written by another gpu-vgae"), "{err}");
        drop(first);
        // A lock of a process that does not exist (pid beyond the kernel's maximum), and
        // the staging directory it left.
        fs::write(root.join(".out.lock"), "4194305 1\n").unwrap();
        fs::create_dir(root.join(".out.tmp-4194305-0")).unwrap();
        write_set(&out, &[("model.gvae", b"x")]).unwrap();
        assert_eq!(entries(&root).unwrap(), ["out/"]);
    }

    #[test]
    fn a_writer_that_died_between_the_renames_gets_its_old_set_back() {
        let root = scratch("recover");
        let out = root.join("out");
        write_set(&out, &[("model.gvae", b"old")]).unwrap();
        fs::rename(&out, root.join(".out.old-4194305-x")).unwrap();
        fs::create_dir(root.join(".out.tmp-4194305-1")).unwrap();
        drop(OutputDir::claim(&out).unwrap());
        assert_eq!(fs::read(out.join("model.gvae")).unwrap(), b"old");
        verify_output(&out).unwrap();
        assert_eq!(entries(&root).unwrap(), ["out/"]);
    }

    #[test]
    fn foreign_files_and_non_directories_are_not_replaced() {
        let root = scratch("foreign");
        let out = root.join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("notes.txt"), b"mine").unwrap();
        let err = OutputDir::claim(&out).unwrap_err().to_string();
        assert!(
            err.contains("notes.txt") && err.contains("did not write"),
            "{err}"
        );
        fs::write(root.join("file"), b"").unwrap();
        assert!(OutputDir::claim(&root.join("file")).is_err());
        // A set of an older gpu-vgae (no manifest, known names) is replaced.
        let old = root.join("old");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("embeddings.npy"), b"x").unwrap();
        fs::write(old.join(".embeddings.npy.tmp-1-1"), b"x").unwrap();
        write_set(&old, &[("model.gvae", b"y")]).unwrap();
        assert_eq!(entries(&old).unwrap(), ["manifest.json", "model.gvae"]);
    }

    #[test]
    fn a_changed_or_foreign_file_fails_verification() {
        let root = scratch("verify");
        let out = root.join("out");
        write_set(&out, &[("model.gvae", b"abc"), ("metrics.json", b"{}")]).unwrap();
        check_against_manifest(&out.join("model.gvae")).unwrap();
        fs::write(out.join("model.gvae"), b"abd").unwrap();
        let err = check_against_manifest(&out.join("model.gvae")).unwrap_err();
        assert!(err.to_string().contains("another run"), "{err}");
        fs::write(out.join("model.gvae"), b"abc").unwrap();
        fs::write(out.join("extra.txt"), b"").unwrap();
        assert!(verify_output(&out)
            .unwrap_err()
            .to_string()
            .contains("extra.txt"));
    }

    #[test]
    #[cfg(unix)]
    fn result_files_write_through_devices_and_follow_links() {
        let root = scratch("file");
        write_result_file(Path::new("/dev/null"), b"x").unwrap();
        assert!(Path::new("/dev/null").exists());
        let real = root.join("real.csv");
        fs::write(&real, b"old").unwrap();
        let link = root.join("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_result_file(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert!(write_result_file(&root, b"x").is_err());
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
    }
}
