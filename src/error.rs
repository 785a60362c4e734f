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
    /// A buffer would exceed what one storage binding on this device can address.
    BufferTooLarge {
        /// Label of the buffer.
        label: String,
        /// Bytes asked for.
        bytes: u64,
        /// The device's `max_storage_buffer_binding_size` (or `max_buffer_size`).
        limit: u64,
    },
    /// Mapping a staging buffer for readback failed.
    Readback(String),
    /// Arguments that do not fit together (shapes, lengths, ranges, NaN input).
    InvalidInput(String),
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
            } => write!(
                f,
                "buffer `{label}` needs {bytes} bytes, more than this device allows in one \
                 binding ({limit} bytes)"
            ),
            Error::Readback(msg) => write!(f, "reading results back from the GPU failed: {msg}"),
            Error::InvalidInput(msg) => write!(f, "invalid input: {msg}"),
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

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
