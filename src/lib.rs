//! gpu-vgae: Variational and plain Graph Auto-Encoders (Kipf & Welling 2016) trained on the
//! GPU through wgpu, with hand-written WGSL compute kernels and a manual backward pass.
//!
//! The API is this page: open a [`Gpu`] (or hand in your own wgpu device with
//! [`Gpu::from_device`]), load a [`Graph`], [`train`] a model with [`TrainOptions`], then
//! use what was trained — embeddings ([`GaeModel::embeddings`], [`SavedModel::embed`] for
//! another graph), link scores and the top-k missing links ([`score_links`],
//! [`top_k_links`], [`SavedModel::predict_links`]), clusters ([`Embeddings::cluster`],
//! [`cluster_embeddings`]). [`run`] does what `gpu-vgae run` does (train → embed →
//! cluster) and [`RunOutput::write`] writes its files as one set. Every fallible call
//! returns [`Result`] with a typed [`Error`]; nothing panics on user input, and nothing
//! prints.
//!
//! ```no_run
//! use gpu_vgae::{train, Gpu, TrainOptions};
//!
//! let gpu = Gpu::from_env()?;
//! let graph = gpu_vgae::load_planetoid("datasets/planetoid".as_ref(), "cora")?;
//! let trained = train(&gpu, graph.view(), &TrainOptions::default(), |_| {})?;
//! println!("test AUC {:?}", trained.report.test);
//! let mu = trained.model.embeddings()?; // N × 16, row-major
//! # Ok::<(), gpu_vgae::Error>(())
//! ```
//!
//! How it is built, bottom up (all in [`internal`], which the project's own tests,
//! benchmarks and command line use; it is not a stable API):
//! - `gpu`: device selection, the adapter profile, buffers, kernel definitions, the
//!   pipeline cache, recordings, readback and windows of tensors larger than one binding;
//! - `kernels`: the kernel registry — one Rust wrapper per `shaders/*.wgsl`, each with a
//!   CPU twin of the same name in `cpu`;
//! - `model`: VGAE/GAE — the epoch's schedule written once as data, run by the GPU engine
//!   and the CPU reference;
//! - `data`, `sparse`, `synthetic`: loaders, CSR matrices, the embedded graph;
//! - `split`, `metrics`, `train`: the link-prediction split, AUC/AP, the training loop;
//! - `predict`, `cluster`, `saved`: using what was trained;
//! - `filters`: low-pass graph filters, their randomised SVD and the order rule
//!   (`cluster_fit`'s label-free methods);
//! - `run`, `output`, `output_set`, `svg`: the command line's tasks, result files and
//!   their sets (staging directory, lock, manifest), charts;
//! - `memory`, `parallel`, `profile`: host memory (checks and resident set), host
//!   threads, the end-to-end benchmark.

#![warn(missing_docs)]

/// `Display`, `FromStr` (any case, an unknown value is an [`Error::InvalidConfig`] naming
/// the setting and the choices) and `NAMES` for a settings enum, so the command line and
/// the bindings parse the same words the library prints.
macro_rules! text_enum {
    ($ty:ty, $setting:literal, $($variant:path => $text:literal $(| $alias:literal)*),+ $(,)?) => {
        impl $ty {
            /// The words this setting accepts, as `Display` prints them.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $($variant => $text),+ })
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                match s.to_ascii_lowercase().as_str() {
                    $($text $(| $alias)* => Ok($variant),)+
                    other => Err($crate::Error::InvalidConfig {
                        setting: $setting,
                        message: format!(
                            "unknown value `{other}`; expected one of: {}",
                            Self::NAMES.join(", ")
                        ),
                    }),
                }
            }
        }
    };
}

#[doc(hidden)]
pub mod internal;

mod error;

// Inside the crate the layers keep their short paths (`crate::kernels::...`).
pub(crate) use internal::{
    cluster, cpu, data, dfcn, filters, gpu, kernels, memory, metrics, model, output, output_set,
    parallel, predict, run, saved, sparse, split, svg, synthetic, train,
};

pub use error::{Error, ErrorKind, Result};

// The device.
pub use gpu::{Gpu, GpuOptions};

// Graphs.
pub use data::{
    data_dir, load_edge_list, load_planetoid, read_features, read_labels, EdgeListOptions,
    FeatureNormalization, Features, Graph, MissingFeatures, NodeLabels,
};
pub use sparse::Csr;
pub use synthetic::{generate as synthetic_graph, SyntheticSpec};

// Models and training.
pub use model::{GaeModel, ModelConfig, ModelKind, Objective, Precision};
pub use saved::SavedModel;
pub use train::{train, EpochReport, Monitor, Progress, TrainOptions, TrainReport, Trained};

// A whole run (`gpu-vgae run`) and its files.
pub use output_set::{EmbeddingsDtype, OutputDir, WriteOptions};
pub use run::{
    run, ClusterOptions, Embeddings, GraphSource, KnownEdges, PredictOptions, RunEvent, RunOptions,
    RunOutput,
};

// Using what was trained: links.
pub use metrics::link_metrics;
pub use predict::{score_links, score_pairs, top_k_links, Exclusion, ScoredPair, TopKMode};

// Clustering: k-means on embeddings, and a graph clustered in one call (`gpu-vgae cluster`).
pub use cluster::fit::{fit as cluster_fit, ClusterFitOptions, ClusterFitOutput, FitEvent};
pub use cluster::{cluster_embeddings, cluster_metrics, kmeans, KMeansConfig};
