//! Node clustering on embeddings (DESIGN.md §8): k-means on μ (N × L, `f32`, row-major),
//! on the host or the GPU, and the seed paper's clustering metrics, on the host.
//!
//! - [`kmeans`]: scikit-learn's k-means (greedy k-means++, Lloyd, best of `n_init`
//!   restarts) stopping when no assignment changes; [`assign`] and [`update`] are the two
//!   halves of a Lloyd step with plain slice signatures, built on the CPU twins of the GPU
//!   kernels ([`cpu::kmeans_assign`](crate::cpu::kmeans_assign),
//!   [`cpu::kmeans_update`](crate::cpu::kmeans_update)).
//! - [`kmeans_gpu`]: the same k-means with the assignment and update steps on the GPU
//!   (kernels `kmeans_assign`, `kmeans_update`), for millions of points;
//!   [`cluster_embeddings`] runs it on embeddings with the defaults.
//! - [`cluster_metrics`]: ACC, NMI, ARI and macro-F1 against integer labels (`-1` = no
//!   label, left out), ACC and F1 through the Hungarian map of clusters to classes
//!   ([`linear_sum_assignment`]).
//! - [`silhouette`], [`davies_bouldin`] and [`inertia`]: label-free quality of a clustering.
//! - [`fit`]: a graph's nodes clustered in one call by a method of the registry
//!   ([`fit::METHODS`]: the low-pass filters, the auto-encoders, DFCN), with the output
//!   set `gpu-vgae cluster` writes.
//!
//! ```
//! use gpu_vgae::{cluster_metrics, kmeans, KMeansConfig};
//!
//! // Two well-separated groups in 2-D.
//! let mu = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
//! let result = kmeans(&mu, 4, 2, &KMeansConfig::new(2).with_seed(7))?;
//! let scores = cluster_metrics(&[3, 3, 1, -1], &result.labels)?;
//! assert_eq!((scores.acc, scores.ari, scores.f1), (1.0, 1.0, 1.0));
//! assert_eq!(scores.labelled, 3);
//! # Ok::<(), gpu_vgae::Error>(())
//! ```
//!
//! # k-means
//! scikit-learn's semantics (`KMeans(init='k-means++', n_init=10, max_iter=300,
//! algorithm='lloyd')`), except for the stopping rule, which is DESIGN.md §8's: Lloyd
//! iterations until no assignment changes, at most `max_iter` (sklearn's `tol` on the
//! centroid shift is not used).
//!
//! - Initialisation: sklearn's greedy k-means++ ([`kmeans_plusplus`]): the first centre
//!   is a uniformly random point; each further centre is the best, by the resulting
//!   potential (the sum of squared distances to the nearest centre), of
//!   `n_local_trials = 2 + ⌊ln k⌋` candidates drawn with probability proportional to D²,
//!   the squared distance to the nearest centre chosen so far.
//! - Lloyd ([`lloyd`]): [`assign`] every point to its nearest centroid, stop if no label
//!   changed since the previous assignment, else [`update`] the sums and counts and set
//!   each centroid to sum / count on the host. Sums are in `f32` in the GPU kernel's
//!   order (chunks of consecutive points, then a tree of the chunks), so the CPU and the
//!   GPU compute the same centroids from the same labels.
//! - Empty clusters: after an update, each empty cluster is re-seeded with the point
//!   farthest from its assigned centroid (as sklearn does): that point's coordinates
//!   become the empty cluster's centroid and are taken out of its old cluster's sum (its
//!   label moves at the next assignment). Farthest first, ties to the lowest point index,
//!   one point per empty cluster, and never the last point of a cluster (so no cluster is
//!   emptied in turn). Only degenerate data (fewer distinct points than `k`, exact ties)
//!   can still end with an empty cluster.
//! - Restarts: `n_init` independent runs; the result is the run with the lowest inertia
//!   (the first one on ties). Run r draws from its own `StdRng` seeded from
//!   (`seed`, r), so a run can be reproduced alone, and results are deterministic for a
//!   seed (they are not sklearn's numbers for the same seed: the generators differ).
//!
//! # k-means on the GPU
//! [`kmeans_gpu`] runs the algorithm above step for step, with the same random draws:
//! the distances of k-means++ and of each assignment come from the `kmeans_assign`
//! kernel (which also counts the labels that changed, so an iteration reads back one
//! integer and the k × (dim + 1) sums and counts), the sums from `kmeans_update` and the
//! `reduce_sum` tree, without float atomics. The host draws the k-means++ candidates,
//! divides the sums, re-seeds empty clusters and keeps the best run, with the CPU
//! version's code. Results are deterministic, and equal to [`kmeans`]'s for the same
//! seed except where a distance rounded differently (the driver may fuse a multiply and
//! an add) flips a near-tie; tests/cluster_gpu.rs checks both. Points of dimension 1 to
//! 64, at most 2²⁴ of them; points larger than one storage binding are split into
//! slices.
//!
//! ```no_run
//! use gpu_vgae::{cluster_embeddings, cluster_metrics};
//! use gpu_vgae::Gpu;
//!
//! let gpu = Gpu::from_env()?;
//! let (n, dim) = (4, 2);
//! let mu = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
//! let clusters = cluster_embeddings(&gpu, &mu, n, dim, 2, 7)?;
//! let scores = cluster_metrics(&[3, 3, 1, 1], &clusters.labels)?;
//! println!("ACC {}", scores.acc);
//! # Ok::<(), gpu_vgae::Error>(())
//! ```
//!
//! # Metrics against labels
//! Class labels are `i32`, `-1` meaning "no label", as in [`crate::data::Graph`]'s labels:
//! those nodes are left out of every labelled metric, which are then the metrics of the
//! remaining nodes alone (to score a subset, e.g. the nodes whose labels were not used for
//! training, set the others to `-1`). Class and cluster ids need not be contiguous: only
//! the ids that occur among the labelled nodes count. A label below `-1` is an error, and
//! so is a call with no labelled node.
//!
//! - NMI ([`nmi`]) is scikit-learn's `normalized_mutual_info_score(average_method=
//!   'arithmetic')` and ARI ([`ari`]) its `adjusted_rand_score`, special cases included.
//!
//! ## Mapping clusters to classes (ACC and F1)
//! The contingency table counts, for each (cluster, class), the labelled nodes in both. The
//! Hungarian algorithm ([`linear_sum_assignment`]) picks the one-to-one map of clusters to
//! classes with the largest total count, on the rectangular table when the number of
//! clusters `k` differs from the number of classes `c`: `min(k, c)` pairs are matched.
//! A node is *correct* when its cluster is mapped to its class.
//! - ACC = correct nodes / labelled nodes. Nodes of an unmapped cluster (`k > c`) are wrong.
//! - F1 = the unweighted mean over the `c` classes present among the labelled nodes of
//!   F1(class) = 2·TP / (2·TP + FP + FN), where the prediction for a node is the class its
//!   cluster is mapped to, or no class at all for an unmapped cluster. So a class with no
//!   mapped cluster (`k < c`) has TP = 0 and F1 = 0 and still counts in the mean, and the
//!   nodes of an unmapped cluster are false negatives of their own class but false
//!   positives of none. This is scikit-learn's
//!   `f1_score(y, mapped, labels=classes, average='macro')`.
//!
//! DFCN (`cluster_acc` in WxTu/DFCN `utils.py`, called by its `eva`) handles `k != c`
//! differently: with fewer clusters than classes it overwrites the predictions of the
//! first few nodes with the missing class ids before matching (so a missing class gets a
//! tiny nonzero F1, ACC moves a little, and since it edits the caller's array its NMI and
//! ARI see the edit too); with more clusters than classes it prints `error` and returns
//! nothing. For `k = c`, the case DFCN evaluates, the two definitions agree.
//!
//! When several maps reach the same best total (ties in the table), ACC is the same for
//! all of them but F1 may not be; F1 then belongs to the map this Hungarian implementation
//! returns, which need not be scipy's or Munkres'.

pub mod fit;
mod gpu;
mod hungarian;
mod kmeans;
mod metrics;

pub use gpu::{cluster_embeddings, kmeans_gpu, kmeans_gpu_observed};
pub use hungarian::linear_sum_assignment;
pub use kmeans::{
    assign, kmeans, kmeans_plusplus, lloyd, update, KMeans, KMeansConfig, KMeansRun, Lloyd,
};
pub use metrics::{
    accuracy, ari, best_mapping, cluster_metrics, davies_bouldin, inertia, macro_f1, nmi,
    silhouette, ClusterMetrics, SilhouetteOptions,
};
