//! The library's one error type. Every fallible public function returns [`Result`];
//! nothing in the library panics on user input.

use std::fmt;
use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, gpu_vgae::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, with enough context to act on it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No GPU adapter (or none matching the requested name/backend) could be found.
    NoAdapter {
        /// What was asked for and what was seen.
        details: String,
    },
    /// The adapter refused to create a device with the features and limits we need.
    RequestDevice(String),
    /// A WGSL shader failed to compile or its pipeline could not be built.
    ShaderCompile {
        /// The kernel (shader file stem).
        kernel: &'static str,
        /// The validation message from wgpu/naga.
        message: String,
    },
    /// A dispatch or submission raised a wgpu validation error.
    Kernel {
        /// The recording or kernel that was running.
        kernel: String,
        /// The validation message from wgpu.
        message: String,
    },
    /// The device ran out of memory while allocating or running `what`.
    OutOfMemory {
        /// The allocation or recording that failed.
        what: String,
    },
    /// The device was lost (driver reset, GPU removed); nothing further can run on it.
    DeviceLost(String),
    /// A buffer, or a window of one that a kernel must bind whole, would exceed what
    /// the device allows.
    BufferTooLarge {
        /// Label of the buffer (or kernel binding).
        label: String,
        /// Bytes asked for.
        bytes: u64,
        /// The limit it exceeds, bytes.
        limit: u64,
        /// Which limit: `"buffer"` (`max_buffer_size`) or `"storage binding"`
        /// (`max_storage_buffer_binding_size`, or [`crate::gpu::Gpu::binding_limit`]).
        limit_kind: &'static str,
    },
    /// Mapping a staging buffer for readback failed.
    Readback(String),
    /// A setting is out of its range (a learning rate of 0, a latent width of 65, …);
    /// raised before any device is opened.
    InvalidConfig {
        /// The setting, as the library names it (e.g. `latent`).
        setting: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A run would need more memory than the machine or the device offers; raised
    /// before anything that size is allocated.
    InsufficientMemory {
        /// What needs the memory, with the sizes behind it.
        what: String,
        /// Bytes it needs.
        needed: u64,
        /// Bytes available (host memory or the device's limit).
        available: u64,
        /// Where the limit comes from (e.g. "available host memory").
        limit: &'static str,
    },
    /// The loss became NaN or infinite during training.
    Diverged {
        /// The 1-based epoch whose loss was not finite.
        epoch: u32,
        /// Reconstruction term at that epoch.
        reconstruction: f64,
        /// −KL term at that epoch.
        kl: f64,
    },
    /// An argument of a library call that cannot be used: arrays whose lengths or shapes
    /// do not fit together, a value out of range, NaN or infinite input. Names the
    /// argument.
    InvalidArgument {
        /// The argument, as the function names it (e.g. `points`).
        argument: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A graph that the operation cannot run on (no training edge for the sampled
    /// objective, fewer nodes than clusters, an edge naming a node outside the graph, …).
    InvalidGraph {
        /// What is wrong with the graph.
        message: String,
    },
    /// A size beyond what the engine or a format can index (32-bit node or entry indices,
    /// a matrix whose byte size overflows), checked before anything that size is
    /// allocated.
    TooLarge {
        /// What is too large.
        what: String,
        /// Its size, in the unit of `limit` (elements, nodes, entries, …).
        size: u64,
        /// The largest size allowed.
        limit: u64,
    },
    /// Stopped by the caller (a progress callback asked to stop, or Ctrl-C) before
    /// finishing.
    Interrupted {
        /// What was stopped, and where.
        message: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A file's content is malformed.
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number, where the format has lines.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAdapter { details } => write!(
                f,
                "no usable GPU adapter: {details}. Install a Vulkan driver (on Debian/Ubuntu: \
                 `apt-get install mesa-vulkan-drivers` for the lavapipe software driver), \
                 or unset GPU_VGAE_ADAPTER / GPU_VGAE_BACKEND"
            ),
            Error::RequestDevice(msg) => write!(f, "could not create a GPU device: {msg}"),
            Error::ShaderCompile { kernel, message } => {
                write!(f, "shader `{kernel}` failed to compile: {message}")
            }
            Error::Kernel { kernel, message } => {
                write!(f, "GPU validation error in `{kernel}`: {message}")
            }
            Error::OutOfMemory { what } => write!(f, "GPU out of memory in {what}"),
            Error::DeviceLost(msg) => write!(f, "GPU device lost: {msg}"),
            Error::BufferTooLarge {
                label,
                bytes,
                limit,
                limit_kind,
            } => write!(
                f,
                "`{label}` needs {bytes} bytes, more than this device allows in one \
                 {limit_kind} ({limit} bytes)"
            ),
            Error::Readback(msg) => write!(f, "reading results back from the GPU failed: {msg}"),
            Error::InvalidConfig { setting, message } => {
                write!(f, "invalid setting `{setting}`: {message}")
            }
            Error::InsufficientMemory {
                what,
                needed,
                available,
                limit,
            } => write!(
                f,
                "{what} needs {}, more than the {} of {limit}",
                format_bytes(*needed),
                format_bytes(*available)
            ),
            Error::Diverged {
                epoch,
                reconstruction,
                kl,
            } => write!(
                f,
                "training diverged at epoch {epoch}: the loss is not finite (reconstruction \
                 {reconstruction}, KL {kl}); lower the learning rate, or scale the features \
                 (--normalize-features row or standard)"
            ),
            Error::InvalidArgument { argument, message } => {
                write!(f, "invalid {argument}: {message}")
            }
            Error::InvalidGraph { message } => write!(f, "invalid graph: {message}"),
            Error::TooLarge { what, size, limit } => {
                write!(f, "{what} is {size}, more than the limit of {limit}")
            }
            Error::Interrupted { message } => write!(f, "interrupted: {message}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format {
                path,
                line: Some(line),
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
            Error::Format {
                path,
                line: None,
                message,
            } => write!(f, "{}: {message}", path.display()),
        }
    }
}

/// The broad kind of an [`Error`], from [`Error::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input cannot be used: a setting, an argument, a graph or a file's
    /// content ([`Error::InvalidConfig`], [`Error::InvalidArgument`],
    /// [`Error::InvalidGraph`], [`Error::Format`]).
    Input,
    /// Something is too large for the engine, the machine or the device
    /// ([`Error::TooLarge`], [`Error::InsufficientMemory`], [`Error::OutOfMemory`],
    /// [`Error::BufferTooLarge`]).
    Size,
    /// A file that does not exist ([`Error::Io`] with [`std::io::ErrorKind::NotFound`]).
    NotFound,
    /// Any other failure to read or write a file ([`Error::Io`]).
    Io,
    /// The GPU failed: no adapter, no device, a shader, a kernel, a readback or a lost
    /// device.
    Device,
    /// Training diverged ([`Error::Diverged`]).
    Diverged,
    /// The caller stopped the work ([`Error::Interrupted`]).
    Interrupted,
}

impl Error {
    /// The broad kind of failure, for callers that map errors onto their own (a Python
    /// binding maps these onto ValueError, MemoryError, RuntimeError, FileNotFoundError,
    /// ...).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidConfig { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidGraph { .. }
            | Error::Format { .. } => ErrorKind::Input,
            Error::TooLarge { .. }
            | Error::InsufficientMemory { .. }
            | Error::OutOfMemory { .. }
            | Error::BufferTooLarge { .. } => ErrorKind::Size,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            Error::Io { .. } => ErrorKind::Io,
            Error::NoAdapter { .. }
            | Error::RequestDevice(_)
            | Error::ShaderCompile { .. }
            | Error::Kernel { .. }
            | Error::Readback(_)
            | Error::DeviceLost(_) => ErrorKind::Device,
            Error::Diverged { .. } => ErrorKind::Diverged,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1, e.g. `1.5 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn every_variant_has_its_kind() {
        let io = |kind| Error::Io {
            path: "x".into(),
            source: io::Error::new(kind, "x"),
        };
        let cases = [
            (
                Error::NoAdapter {
                    details: "none".into(),
                },
                ErrorKind::Device,
            ),
            (Error::RequestDevice("no".into()), ErrorKind::Device),
            (
                Error::ShaderCompile {
                    kernel: "spmm",
                    message: "bad".into(),
                },
                ErrorKind::Device,
            ),
            (
                Error::Kernel {
                    kernel: "spmm".into(),
                    message: "bad".into(),
                },
                ErrorKind::Device,
            ),
            (
                Error::OutOfMemory {
                    what: "spmm".into(),
                },
                ErrorKind::Size,
            ),
            (Error::DeviceLost("reset".into()), ErrorKind::Device),
            (
                Error::BufferTooLarge {
                    label: "b".into(),
                    bytes: 2,
                    limit: 1,
                    limit_kind: "buffer",
                },
                ErrorKind::Size,
            ),
            (Error::Readback("map".into()), ErrorKind::Device),
            (
                Error::InvalidConfig {
                    setting: "latent",
                    message: "0".into(),
                },
                ErrorKind::Input,
            ),
            (
                Error::InsufficientMemory {
                    what: "x".into(),
                    needed: 2,
                    available: 1,
                    limit: "available host memory",
                },
                ErrorKind::Size,
            ),
            (
                Error::Diverged {
                    epoch: 1,
                    reconstruction: f64::NAN,
                    kl: 0.0,
                },
                ErrorKind::Diverged,
            ),
            (
                Error::InvalidArgument {
                    argument: "points",
                    message: "NaN".into(),
                },
                ErrorKind::Input,
            ),
            (
                Error::InvalidGraph {
                    message: "no edges".into(),
                },
                ErrorKind::Input,
            ),
            (
                Error::TooLarge {
                    what: "nodes".into(),
                    size: 2,
                    limit: 1,
                },
                ErrorKind::Size,
            ),
            (
                Error::Interrupted {
                    message: "Ctrl-C".into(),
                },
                ErrorKind::Interrupted,
            ),
            (io(io::ErrorKind::NotFound), ErrorKind::NotFound),
            (io(io::ErrorKind::PermissionDenied), ErrorKind::Io),
            (
                Error::Format {
                    path: "x".into(),
                    line: Some(1),
                    message: "bad".into(),
                },
                ErrorKind::Input,
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
    }

    #[test]
    fn new_variants_display_what_they_hold() {
        let shown = |e: Error| e.to_string();
        assert_eq!(
            shown(Error::InvalidArgument {
                argument: "points",
                message: "4 values for 3 points of dimension 2".into()
            }),
            "invalid points: 4 values for 3 points of dimension 2"
        );
        assert_eq!(
            shown(Error::InvalidGraph {
                message: "no edges".into()
            }),
            "invalid graph: no edges"
        );
        assert_eq!(
            shown(Error::TooLarge {
                what: "nodes".into(),
                size: 5,
                limit: 4
            }),
            "nodes is 5, more than the limit of 4"
        );
        assert_eq!(
            shown(Error::Interrupted {
                message: "at epoch 3".into()
            }),
            "interrupted: at epoch 3"
        );
    }
}
