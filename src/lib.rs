//! gpu-vgae: Variational and plain Graph Auto-Encoders (Kipf & Welling 2016) trained on the
//! GPU through wgpu, with hand-written WGSL compute kernels and a manual backward pass.
//!
//! Layers, bottom up:
//! - [`gpu`]: device selection, buffers, the pipeline cache, recordings and readback;
//! - [`kernels`]: one Rust wrapper per `shaders/*.wgsl`, each with a CPU twin in [`cpu`];
//! - [`sparse`]: host CSR matrices shared by loaders and kernels;
//! - [`model`]: VGAE/GAE on the GPU — forward, manual backward and Adam as recordings;
//! - [`split`], [`metrics`], [`train`]: link-prediction split, AUC/AP, the training loop;
//! - [`data`], [`synthetic`], [`output`]: loaders, the embedded graph, result files;
//! - [`bench`](mod@bench), [`profile`]: the kernel benchmark harness (`benches/kernels.rs`) and the
//!   end-to-end epoch benchmark (`gpu-vgae bench`).
//!
//! ```no_run
//! use gpu_vgae::gpu::Gpu;
//! use gpu_vgae::train::{train, TrainOptions};
//!
//! let gpu = Gpu::from_env()?;
//! let graph = gpu_vgae::data::load_planetoid("datasets".as_ref(), "cora")?;
//! let trained = train(
//!     &gpu,
//!     graph.num_nodes,
//!     &graph.edges,
//!     graph.features.as_ref(),
//!     &TrainOptions::default(),
//!     |_| {},
//! )?;
//! println!("test AUC {:?}", trained.report.test);
//! # Ok::<(), gpu_vgae::Error>(())
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod cpu;
pub mod data;
pub mod error;
pub mod gpu;
pub mod kernels;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod output;
pub mod profile;
pub mod sparse;
pub mod split;
pub mod synthetic;
pub mod train;

pub use error::{Error, Result};
pub use sparse::Csr;
