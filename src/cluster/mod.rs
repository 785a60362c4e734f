//! Node clustering on embeddings (DESIGN.md §8): k-means on μ (N × L, `f32`, row-major)
//! and the seed paper's clustering metrics, on the host.
//!
//! - [`kmeans`]: scikit-learn's k-means (greedy k-means++, Lloyd, best of `n_init`
//!   restarts) stopping when no assignment changes; [`assign`] and [`update`] are the two
//!   halves of a Lloyd step with plain slice signatures, the CPU twins of the GPU kernels.
//! - [`cluster_metrics`]: ACC, NMI, ARI and macro-F1 against integer labels (`-1` = no
//!   label, left out), ACC and F1 through the Hungarian map of clusters to classes
//!   ([`linear_sum_assignment`]).
//! - [`silhouette`] and [`inertia`]: label-free quality of a clustering.
//!
//! ```
//! use gpu_vgae::cluster::{cluster_metrics, kmeans, KMeansConfig};
//!
//! // Two well-separated groups in 2-D.
//! let mu = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
//! let result = kmeans(&mu, 4, 2, &KMeansConfig::new(2).with_seed(7))?;
//! let scores = cluster_metrics(&[3, 3, 1, -1], &result.labels)?;
//! assert_eq!((scores.acc, scores.nmi, scores.ari, scores.f1), (1.0, 1.0, 1.0, 1.0));
//! assert_eq!(scores.labelled, 3);
//! # Ok::<(), gpu_vgae::Error>(())
//! ```

mod hungarian;
mod kmeans;
mod metrics;

pub use hungarian::linear_sum_assignment;
pub use kmeans::{
    assign, kmeans, kmeans_plusplus, lloyd, update, KMeans, KMeansConfig, KMeansRun, Lloyd,
};
pub use metrics::{
    accuracy, ari, best_mapping, cluster_metrics, inertia, macro_f1, nmi, silhouette,
    ClusterMetrics, SilhouetteOptions,
};
