//! gpu-vgae: Variational and plain Graph Auto-Encoders (Kipf & Welling 2016) trained on the
//! GPU through wgpu, with hand-written WGSL compute kernels and a manual backward pass.
//!
//! Layers, bottom up:
//! - [`gpu`]: device selection, buffers, the pipeline cache, recordings and readback;
//! - [`kernels`]: one Rust wrapper per `shaders/*.wgsl`, each with a CPU twin in [`cpu`];
//! - [`sparse`]: host CSR matrices shared by loaders and kernels;
//! - [`bench`]: the kernel benchmark harness (`benches/kernels.rs`).

pub mod bench;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod kernels;
pub mod metrics;
pub mod sparse;
pub mod split;

pub use error::{Error, Result};
pub use sparse::Csr;
