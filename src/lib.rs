//! gpu-vgae: Variational and plain Graph Auto-Encoders (Kipf & Welling 2016) trained on the
//! GPU through wgpu, with hand-written WGSL compute kernels and a manual backward pass.
//!
//! Layers, bottom up:
//! - [`gpu`]: device selection, the adapter profile, buffers, kernel definitions, the
//!   pipeline cache, recordings and readback;
//! - [`kernels`]: the kernel registry — one Rust wrapper per `shaders/*.wgsl`, each with a
//!   CPU twin of the same name in [`cpu`];
//! - [`sparse`]: host CSR matrices shared by loaders and kernels;
//! - [`model`]: VGAE/GAE — the epoch's [`schedule`](model::schedule) written once as data,
//!   run by the GPU engine ([`model::GaeModel`]) and the CPU reference
//!   ([`model::CpuModel`]);
//! - [`split`], [`metrics`], [`train`]: link-prediction split, AUC/AP, the training loop;
//! - [`predict`]: top-k link recommendation from the embeddings (exact, on the GPU) and
//!   pair scores;
//! - [`cluster`]: k-means on the embeddings and the clustering metrics (ACC, NMI, ARI,
//!   F1, silhouette);
//! - [`data`], [`synthetic`], [`output`], [`resources`]: loaders, the embedded graph,
//!   result files, memory checks;
//! - [`saved`]: a trained model as one file (config, weights, node ids, metrics);
//! - [`pipeline`]: the tasks behind the command line (load, save, embed, cluster);
//! - [`profile`]: the end-to-end epoch benchmark (`gpu-vgae bench`).
//!
//! ```no_run
//! use gpu_vgae::gpu::Gpu;
//! use gpu_vgae::train::{train, TrainOptions};
//!
//! let gpu = Gpu::from_env()?;
//! let graph = gpu_vgae::data::load_planetoid("datasets/planetoid".as_ref(), "cora")?;
//! let trained = train(&gpu, graph.view(), &TrainOptions::default(), |_| {})?;
//! println!("test AUC {:?}", trained.report.test);
//! # Ok::<(), gpu_vgae::Error>(())
//! ```

#![warn(missing_docs)]

pub mod cluster;
pub mod cpu;
pub mod data;
pub mod error;
pub mod gpu;
pub mod kernels;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod predict;
pub mod profile;
pub mod resources;
pub mod saved;
pub mod sparse;
pub mod split;
pub mod synthetic;
pub mod train;

pub use error::{Error, ErrorKind, Result};
pub use sparse::Csr;
