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
    /// Arguments that do not fit together (shapes, lengths, ranges, NaN input). Being
    /// replaced by the typed variants below.
    InvalidInput(String),
    /// An argument of a library call that cannot be used: arrays whose lengths or shapes
    /// do not fit together, a value out of range, NaN or infinite input. Names the argument.
    InvalidArgument {
        /// The argument, as the function names it.
        argument: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A graph that the operation cannot run on (no training edge for the sampled
    /// objective, fewer nodes than clusters, an edge naming a node outside the graph, ...).
    InvalidGraph {
        /// What is wrong.
        message: String,
    },
    /// A size beyond what the engine or a format can index (32-bit node or entry indices,
    /// a matrix whose byte size overflows), checked before anything that size is allocated.
    TooLarge {
        /// What is too large.
        what: String,
        /// Its size.
        size: u64,
        /// The largest size allowed.
        limit: u64,
    },
    /// Stopped by the caller (a progress callback asked to stop, or Ctrl-C) before finishing.
    Interrupted {
        /// What was stopped, and when.
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
            Error::InvalidInput(msg) => write!(f, "invalid input: {msg}"),
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
