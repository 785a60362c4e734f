//! Clustering metrics, see the [`cluster`](crate::cluster#metrics-against-labels) docs.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::hungarian::linear_sum_assignment;
use crate::cpu::sq_dist;
use crate::error::{Error, Result};

/// The four labelled metrics of one clustering, see the
/// [`cluster`](crate::cluster#metrics-against-labels) docs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterMetrics {
    /// Accuracy after the Hungarian mapping of clusters to classes, in [0, 1].
    pub acc: f64,
    /// Normalized mutual information, arithmetic normalisation, in [0, 1].
    pub nmi: f64,
    /// Adjusted Rand index, at most 1 (0 on average for a random clustering).
    pub ari: f64,
    /// Macro-averaged F1 over the classes after the same mapping, in [0, 1].
    pub f1: f64,
    /// Nodes that have a label (the others were left out).
    pub labelled: usize,
    /// Distinct classes among the labelled nodes.
    pub classes: usize,
    /// Distinct clusters among the labelled nodes.
    pub clusters: usize,
}

/// ACC, NMI, ARI and F1 of `clusters` against `labels` (one entry per node; `-1` = no
/// label) from one contingency table.
///
/// Errors if the lengths differ, a label is below `-1`, no node is labelled, or the
/// table has more than 2²² cells (the Hungarian step is cubic).
pub fn cluster_metrics(labels: &[i32], clusters: &[u32]) -> Result<ClusterMetrics> {
    let table = Contingency::new(labels, clusters)?;
    let map = table.best_map()?;
    Ok(ClusterMetrics {
        acc: map.correct as f64 / table.n as f64,
        nmi: table.nmi(),
        ari: table.ari(),
        f1: table.macro_f1(&map),
        labelled: table.n as usize,
        classes: table.classes.len(),
        clusters: table.clusters.len(),
    })
}

/// ACC alone, see [`cluster_metrics`].
pub fn accuracy(labels: &[i32], clusters: &[u32]) -> Result<f64> {
    let table = Contingency::new(labels, clusters)?;
    Ok(table.best_map()?.correct as f64 / table.n as f64)
}

/// NMI alone, see [`cluster_metrics`]: scikit-learn's `normalized_mutual_info_score` with
/// `average_method='arithmetic'` on the labelled nodes, I(Y; C) / ((H(Y) + H(C)) / 2), with
/// its special cases: 1 when both the classes and the clusters are a single group, 0 when
/// the mutual information is 0 (in particular when just one of them is a single group).
/// Natural logarithms; per-cell terms below machine epsilon in magnitude are dropped and a
/// negative total is clipped to 0, as sklearn does.
pub fn nmi(labels: &[i32], clusters: &[u32]) -> Result<f64> {
    Ok(Contingency::new(labels, clusters)?.nmi())
}

/// ARI alone, see [`cluster_metrics`]: scikit-learn's `adjusted_rand_score` on the
/// labelled nodes, 2·(tp·tn − fn·fp) / ((tp + fn)·(fn + tn) + (tp + fp)·(fp + tn)) over
/// the pair-confusion counts (ordered pairs, exact 128-bit integers), and 1 when
/// fn = fp = 0 (the two partitions agree, including the single-node case).
pub fn ari(labels: &[i32], clusters: &[u32]) -> Result<f64> {
    Ok(Contingency::new(labels, clusters)?.ari())
}

/// Macro-F1 alone, see [`cluster_metrics`] and the
/// [`cluster`](crate::cluster#mapping-clusters-to-classes-acc-and-f1) docs for what
/// happens to classes without a cluster.
pub fn macro_f1(labels: &[i32], clusters: &[u32]) -> Result<f64> {
    let table = Contingency::new(labels, clusters)?;
    let map = table.best_map()?;
    Ok(table.macro_f1(&map))
}

/// The Hungarian map used by ACC and F1: `(cluster, class)` pairs, sorted by cluster, for
/// the `min(k, c)` matched clusters (clusters and classes as seen among labelled nodes).
pub fn best_mapping(labels: &[i32], clusters: &[u32]) -> Result<Vec<(u32, i32)>> {
    let table = Contingency::new(labels, clusters)?;
    let map = table.best_map()?;
    Ok(map
        .class_of_cluster
        .iter()
        .enumerate()
        .filter_map(|(q, c)| c.map(|c| (table.clusters[q], table.classes[c])))
        .collect())
}

/// Most cells the dense table handed to the Hungarian algorithm may have.
const MAX_TABLE_CELLS: usize = 1 << 22;

/// The contingency table of the labelled nodes, sparse (non-zero cells only).
struct Contingency {
    /// Distinct classes, ascending.
    classes: Vec<i32>,
    /// Distinct clusters, ascending.
    clusters: Vec<u32>,
    class_sizes: Vec<u64>,
    cluster_sizes: Vec<u64>,
    /// Non-zero cells `(class index, cluster index, count)`, sorted.
    cells: Vec<(usize, usize, u64)>,
    /// Labelled nodes.
    n: u64,
}

/// A one-to-one map between cluster and class indices.
struct Map {
    class_of_cluster: Vec<Option<usize>>,
    cluster_of_class: Vec<Option<usize>>,
    /// Labelled nodes whose cluster maps to their class.
    correct: u64,
    /// The dense table, `clusters × classes`, for the F1 counts.
    dense: Vec<u64>,
}

impl Contingency {
    fn new(labels: &[i32], clusters: &[u32]) -> Result<Contingency> {
        if labels.len() != clusters.len() {
            return Err(Error::InvalidArgument {
                argument: "clusters",
                message: format!(
                    "{} labels for {} cluster assignments",
                    labels.len(),
                    clusters.len()
                ),
            });
        }
        if let Some(i) = labels.iter().position(|&l| l < -1) {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!(
                    "node {i} has label {}, labels must be >= -1 (-1 = no label)",
                    labels[i]
                ),
            });
        }
        let mut pairs: Vec<(i32, u32)> = labels
            .iter()
            .zip(clusters)
            .filter(|(&l, _)| l >= 0)
            .map(|(&l, &q)| (l, q))
            .collect();
        if pairs.is_empty() {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!(
                    "none of the {} nodes has a label: clustering metrics need labelled nodes",
                    labels.len()
                ),
            });
        }
        pairs.sort_unstable();
        let mut classes: Vec<i32> = pairs.iter().map(|p| p.0).collect();
        classes.dedup();
        let mut cluster_ids: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        cluster_ids.sort_unstable();
        cluster_ids.dedup();
        let mut class_sizes = vec![0u64; classes.len()];
        let mut cluster_sizes = vec![0u64; cluster_ids.len()];
        let mut cells: Vec<(usize, usize, u64)> = Vec::new();
        let mut class_index = 0usize;
        for (i, &(l, q)) in pairs.iter().enumerate() {
            if i > 0 && pairs[i - 1] == (l, q) {
                cells.last_mut().expect("a cell was opened").2 += 1;
            } else {
                while classes[class_index] != l {
                    class_index += 1;
                }
                let q_index = cluster_ids
                    .binary_search(&q)
                    .expect("every cluster id is in the list");
                cells.push((class_index, q_index, 1));
            }
        }
        for &(c, q, count) in &cells {
            class_sizes[c] += count;
            cluster_sizes[q] += count;
        }
        Ok(Contingency {
            classes,
            clusters: cluster_ids,
            class_sizes,
            cluster_sizes,
            cells,
            n: pairs.len() as u64,
        })
    }

    fn best_map(&self) -> Result<Map> {
        let (k, c) = (self.clusters.len(), self.classes.len());
        if k.saturating_mul(c) > MAX_TABLE_CELLS {
            return Err(Error::TooLarge {
                what: format!(
                    "the cell count of the Hungarian algorithm's table of {k} clusters × {c} \
                     classes"
                ),
                size: (k as u64).saturating_mul(c as u64),
                limit: MAX_TABLE_CELLS as u64,
            });
        }
        let mut dense = vec![0u64; k * c];
        for &(class, q, count) in &self.cells {
            dense[q * c + class] = count;
        }
        // Maximise the matched count = minimise its negation. Counts below 2^53 are exact.
        let cost: Vec<f64> = dense.iter().map(|&x| -(x as f64)).collect();
        let pairs = linear_sum_assignment(&cost, k, c)?;
        let mut class_of_cluster = vec![None; k];
        let mut cluster_of_class = vec![None; c];
        let mut correct = 0u64;
        for (q, class) in pairs {
            class_of_cluster[q] = Some(class);
            cluster_of_class[class] = Some(q);
            correct += dense[q * c + class];
        }
        Ok(Map {
            class_of_cluster,
            cluster_of_class,
            correct,
            dense,
        })
    }

    fn macro_f1(&self, map: &Map) -> f64 {
        let c = self.classes.len();
        let sum: f64 = (0..c)
            .map(|class| match map.cluster_of_class[class] {
                Some(q) => {
                    let tp = map.dense[q * c + class];
                    // 2·TP + FP + FN = |predicted as class| + |in class|.
                    2.0 * tp as f64 / (self.cluster_sizes[q] + self.class_sizes[class]) as f64
                }
                None => 0.0,
            })
            .sum();
        sum / c as f64
    }

    /// sklearn's `mutual_info_score` on the table, term for term.
    fn mutual_information(&self) -> f64 {
        if self.classes.len() == 1 || self.clusters.len() == 1 {
            return 0.0;
        }
        let n = self.n as f64;
        let ln_n = n.ln();
        let mut mi = 0.0;
        for &(c, q, count) in &self.cells {
            let p = count as f64 / n;
            let outer = (self.class_sizes[c] * self.cluster_sizes[q]) as f64;
            let log_outer = -outer.ln() + ln_n + ln_n;
            let term = p * ((count as f64).ln() - ln_n) + p * log_outer;
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
        mi.max(0.0)
    }

    fn nmi(&self) -> f64 {
        if self.classes.len() == 1 && self.clusters.len() == 1 {
            return 1.0;
        }
        let mi = self.mutual_information();
        if mi == 0.0 {
            return 0.0;
        }
        let h_true = entropy(&self.class_sizes, self.n);
        let h_pred = entropy(&self.cluster_sizes, self.n);
        mi / ((h_true + h_pred) / 2.0)
    }

    fn ari(&self) -> f64 {
        let n = self.n as i128;
        let sum_squares: i128 = self.cells.iter().map(|&(_, _, x)| (x as i128).pow(2)).sum();
        let row_dot: i128 = self
            .cells
            .iter()
            .map(|&(_, q, x)| x as i128 * self.cluster_sizes[q] as i128)
            .sum();
        let col_dot: i128 = self
            .cells
            .iter()
            .map(|&(c, _, x)| x as i128 * self.class_sizes[c] as i128)
            .sum();
        // sklearn's pair_confusion_matrix: [[tn, fp], [fn, tp]], ordered pairs.
        let tp = sum_squares - n;
        let fp = row_dot - sum_squares;
        let fn_ = col_dot - sum_squares;
        let tn = n * n - fp - fn_ - sum_squares;
        if fn_ == 0 && fp == 0 {
            return 1.0;
        }
        let numerator = tp * tn - fn_ * fp;
        let denominator = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
        2.0 * numerator as f64 / denominator as f64
    }
}

/// sklearn's `_entropy` from the group sizes (all non-zero): 0 for a single group.
fn entropy(sizes: &[u64], n: u64) -> f64 {
    if sizes.len() == 1 {
        return 0.0;
    }
    let n = n as f64;
    let ln_n = n.ln();
    -sizes
        .iter()
        .map(|&s| {
            let s = s as f64;
            (s / n) * (s.ln() - ln_n)
        })
        .sum::<f64>()
}

/// Options of [`silhouette`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SilhouetteOptions {
    /// Score a uniform random subset of this many points (without replacement) instead of
    /// all of them, as sklearn's `sample_size`; `None` (the default) or a size ≥ N uses
    /// every point. The cost is O(m²·dim) for m points scored.
    pub sample_size: Option<usize>,
    /// Seed of the subset (a `StdRng`); the subset is not sklearn's for the same seed.
    pub seed: u64,
}

impl SilhouetteOptions {
    /// Score a seeded random subset of `sample_size` points.
    pub fn sampled(sample_size: usize, seed: u64) -> Self {
        SilhouetteOptions {
            sample_size: Some(sample_size),
            seed,
        }
    }
}

/// The mean silhouette coefficient, as scikit-learn's `silhouette_score` with the
/// Euclidean metric: for each scored point, `a` = mean distance to the other points of
/// its cluster, `b` = the smallest mean distance to the points of another cluster,
/// s = (b − a) / max(a, b), and s = 0 for a point alone in its cluster (or when
/// a = b = 0); the score is the mean of s. Only the scored points (all, or the sample)
/// take part, in the distances as in the mean. Distances in `f64` from the `f32` points.
///
/// `points` is `n × dim`, row-major; `clusters` holds any ids, one per point.
/// Errors if the shapes disagree, `dim = 0`, a point is not finite, `sample_size` is 0, or
/// the scored points do not form between 2 and m − 1 clusters (m = points scored), as
/// sklearn requires.
pub fn silhouette(
    points: &[f32],
    n: usize,
    dim: usize,
    clusters: &[u32],
    options: &SilhouetteOptions,
) -> Result<f64> {
    super::kmeans::check_points(points, n, dim)?;
    if clusters.len() != n {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!("silhouette: {} cluster ids for {n} points", clusters.len()),
        });
    }
    let chosen: Vec<usize> = match options.sample_size {
        Some(0) => {
            return Err(Error::InvalidConfig {
                setting: "sample_size",
                message: "silhouette: sample_size must be at least 1".into(),
            })
        }
        Some(m) if m < n => {
            let mut rng = StdRng::seed_from_u64(options.seed);
            let mut idx = rand::seq::index::sample(&mut rng, n, m).into_vec();
            idx.sort_unstable();
            idx
        }
        _ => (0..n).collect(),
    };
    let m = chosen.len();
    let mut ids: Vec<u32> = chosen.iter().map(|&i| clusters[i]).collect();
    ids.sort_unstable();
    ids.dedup();
    let q = ids.len();
    if !(2..m).contains(&q) {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!(
                "silhouette: {q} clusters among {m} scored points, need 2 to {}",
                m.saturating_sub(1)
            ),
        });
    }
    let label: Vec<usize> = chosen
        .iter()
        .map(|&i| ids.binary_search(&clusters[i]).expect("id listed"))
        .collect();
    let mut sizes = vec![0usize; q];
    for &l in &label {
        sizes[l] += 1;
    }
    let rows: Vec<f64> = chosen
        .iter()
        .flat_map(|&i| points[i * dim..(i + 1) * dim].iter().map(|&x| x as f64))
        .collect();
    // sums[a·q + c]: the sum of distances from scored point a to the scored points of c.
    let mut sums = vec![0f64; m * q];
    for a in 0..m {
        let xa = &rows[a * dim..(a + 1) * dim];
        let la = label[a];
        for b in a + 1..m {
            let xb = &rows[b * dim..(b + 1) * dim];
            let d = xa
                .iter()
                .zip(xb)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt();
            sums[a * q + label[b]] += d;
            sums[b * q + la] += d;
        }
    }
    let mut total = 0.0;
    for a in 0..m {
        let la = label[a];
        if sizes[la] == 1 {
            continue; // s = 0
        }
        let row = &sums[a * q..(a + 1) * q];
        let intra = row[la] / (sizes[la] - 1) as f64;
        let inter = (0..q)
            .filter(|&c| c != la)
            .map(|c| row[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let s = (inter - intra) / intra.max(inter);
        if !s.is_nan() {
            total += s;
        }
    }
    Ok(total / m as f64)
}

/// The Davies–Bouldin index, as scikit-learn's `davies_bouldin_score`: per cluster c,
/// s_c = the mean Euclidean distance of its points to their centroid; per pair of
/// clusters, R_ab = (s_a + s_b) / ‖centroid_a − centroid_b‖ (a pair of equal centroids
/// does not count); the index is the mean over clusters of their largest R. Lower is
/// better; 0 when every s_c or every centroid distance is 0. Clusters are the ids that
/// occur; sums in `f64` from the `f32` points.
///
/// `points` is `n × dim`, row-major; `clusters` holds any ids, one per point. Errors if
/// the shapes disagree, `dim = 0`, a point is not finite, or the ids do not form between
/// 2 and n − 1 clusters, as sklearn requires.
pub fn davies_bouldin(points: &[f32], n: usize, dim: usize, clusters: &[u32]) -> Result<f64> {
    super::kmeans::check_points(points, n, dim)?;
    if clusters.len() != n {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!(
                "davies_bouldin: {} cluster ids for {n} points",
                clusters.len()
            ),
        });
    }
    let mut ids = clusters.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let q = ids.len();
    if !(2..n).contains(&q) {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!(
                "davies_bouldin: {q} clusters among {n} points, need 2 to {}",
                n.saturating_sub(1)
            ),
        });
    }
    let label: Vec<usize> = clusters
        .iter()
        .map(|c| ids.binary_search(c).expect("id listed"))
        .collect();
    let mut sizes = vec![0usize; q];
    let mut centroids = vec![0f64; q * dim];
    for (i, &l) in label.iter().enumerate() {
        sizes[l] += 1;
        for (c, &x) in centroids[l * dim..(l + 1) * dim]
            .iter_mut()
            .zip(&points[i * dim..(i + 1) * dim])
        {
            *c += f64::from(x);
        }
    }
    for (l, &size) in sizes.iter().enumerate() {
        for c in &mut centroids[l * dim..(l + 1) * dim] {
            *c /= size as f64;
        }
    }
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    };
    let mut spread = vec![0f64; q];
    for (i, &l) in label.iter().enumerate() {
        let point: Vec<f64> = points[i * dim..(i + 1) * dim]
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        spread[l] += distance(&point, &centroids[l * dim..(l + 1) * dim]);
    }
    for (s, &size) in spread.iter_mut().zip(&sizes) {
        *s /= size as f64;
    }
    let separation: Vec<f64> = (0..q * q)
        .map(|ab| {
            let (a, b) = (ab / q, ab % q);
            distance(
                &centroids[a * dim..(a + 1) * dim],
                &centroids[b * dim..(b + 1) * dim],
            )
        })
        .collect();
    // sklearn's guards: np.allclose(·, 0) with its default tolerances.
    if spread.iter().all(|&s| s.abs() <= 1e-8) || separation.iter().all(|&d| d.abs() <= 1e-8) {
        return Ok(0.0);
    }
    let total: f64 = (0..q)
        .map(|a| {
            (0..q)
                .filter(|&b| b != a && separation[a * q + b] != 0.0)
                .map(|b| (spread[a] + spread[b]) / separation[a * q + b])
                .fold(0.0, f64::max)
        })
        .sum();
    Ok(total / q as f64)
}

/// The k-means objective of an assignment: the sum over the points of the squared
/// Euclidean distance to the centroid of their cluster, each distance computed as
/// [`assign`](super::assign) does (`f32`, column order) and summed in `f64`, so that it
/// equals [`KMeans::inertia`](super::KMeans::inertia) for a k-means result.
///
/// Errors if the shapes disagree, `dim = 0`, a point or centroid is not finite, or a
/// cluster id is ≥ `k`.
pub fn inertia(
    points: &[f32],
    n: usize,
    dim: usize,
    centroids: &[f32],
    k: usize,
    clusters: &[u32],
) -> Result<f64> {
    super::kmeans::check_points(points, n, dim)?;
    if centroids.len() != k * dim {
        return Err(Error::InvalidArgument {
            argument: "centroids",
            message: format!(
                "inertia: {} centroid values for {k} centroids of dimension {dim}",
                centroids.len()
            ),
        });
    }
    if let Some(i) = centroids.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument {
            argument: "centroids",
            message: format!(
                "inertia: centroid {} coordinate {} is {}",
                i / dim,
                i % dim,
                centroids[i]
            ),
        });
    }
    if clusters.len() != n {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!("inertia: {} cluster ids for {n} points", clusters.len()),
        });
    }
    if let Some(i) = clusters.iter().position(|&c| c as usize >= k) {
        return Err(Error::InvalidArgument {
            argument: "clusters",
            message: format!(
                "inertia: point {i} is in cluster {}, but there are {k} centroids",
                clusters[i]
            ),
        });
    }
    Ok(clusters
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let c = c as usize;
            sq_dist(
                &points[i * dim..(i + 1) * dim],
                &centroids[c * dim..(c + 1) * dim],
            ) as f64
        })
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    #[test]
    fn permuted_labels_score_one() {
        let labels = [0, 0, 1, 1, 2, 2, 2];
        let clusters = [5, 5, 3, 3, 9, 9, 9];
        let m = cluster_metrics(&labels, &clusters).unwrap();
        close(m.acc, 1.0);
        close(m.nmi, 1.0);
        close(m.ari, 1.0);
        close(m.f1, 1.0);
        assert_eq!((m.labelled, m.classes, m.clusters), (7, 3, 3));
        assert_eq!(
            best_mapping(&labels, &clusters).unwrap(),
            vec![(3, 1), (5, 0), (9, 2)]
        );
    }

    #[test]
    fn one_cluster_against_several_classes() {
        // 3 classes of sizes 2, 2, 2, all in one cluster: NMI 0 (MI 0), ARI 0
        // (tn = 0 so the numerator is 0); the cluster maps to class 0 → ACC 2/6;
        // F1: class 0 has TP 2, |pred| 6, |class| 2 → 4/8; others 0 → mean 1/6.
        let labels = [0, 0, 1, 1, 2, 2];
        let clusters = [4; 6];
        let m = cluster_metrics(&labels, &clusters).unwrap();
        close(m.nmi, 0.0);
        close(m.ari, 0.0);
        close(m.acc, 2.0 / 6.0);
        close(m.f1, 0.5 / 3.0);
    }

    #[test]
    fn single_class_and_single_cluster() {
        let m = cluster_metrics(&[3, 3, 3], &[1, 1, 1]).unwrap();
        close(m.acc, 1.0);
        close(m.nmi, 1.0);
        close(m.ari, 1.0);
        close(m.f1, 1.0);
        // One class, several clusters: NMI 0; ARI 0 (sklearn: tn = 0); largest cluster wins.
        let m = cluster_metrics(&[3, 3, 3, 3], &[0, 0, 0, 1]).unwrap();
        close(m.nmi, 0.0);
        close(m.ari, 0.0);
        close(m.acc, 0.75);
        // F1 of the one class: TP 3, |pred| 3, |class| 4 → 6/7.
        close(m.f1, 6.0 / 7.0);
        // One labelled node: fn = fp = 0 → ARI 1; one class & one cluster → NMI 1.
        let m = cluster_metrics(&[-1, 2, -1], &[0, 1, 2]).unwrap();
        assert_eq!(
            (m.acc, m.nmi, m.ari, m.f1, m.labelled),
            (1.0, 1.0, 1.0, 1.0, 1)
        );
    }

    #[test]
    fn every_node_its_own_cluster() {
        // 4 nodes, 2 classes, 4 singleton clusters: ARI (sklearn) = 0; the 2 best matched
        // clusters give ACC 2/4; F1 per class = 2·1/(1 + 2) = 2/3.
        let m = cluster_metrics(&[0, 0, 1, 1], &[0, 1, 2, 3]).unwrap();
        close(m.ari, 0.0);
        close(m.acc, 0.5);
        close(m.f1, 2.0 / 3.0);
        // NMI: MI = H(Y) = ln 2, H(C) = ln 4 → ln2 / ((ln2 + ln4)/2) = 2/3.
        close(m.nmi, 2.0 / 3.0);
    }

    #[test]
    fn unlabelled_nodes_are_left_out() {
        let with = cluster_metrics(&[0, -1, 0, 1, -1, 1], &[1, 0, 1, 0, 1, 0]).unwrap();
        let without = cluster_metrics(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap();
        assert_eq!(with, without);
        assert_eq!(with.acc, 1.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let bad = |r: Result<ClusterMetrics>, name: &str| match r {
            Err(Error::InvalidArgument { argument, .. }) => assert_eq!(argument, name),
            other => panic!("expected InvalidArgument({name}), got {other:?}"),
        };
        bad(cluster_metrics(&[0, 1], &[0]), "clusters");
        bad(cluster_metrics(&[0, -2], &[0, 0]), "labels");
        bad(cluster_metrics(&[-1, -1], &[0, 0]), "labels");
        bad(cluster_metrics(&[], &[]), "labels");
    }

    #[test]
    fn davies_bouldin_matches_scikit_learn() {
        // sklearn 1.9.1: davies_bouldin_score(points, [0, 0, 0, 3, 3, 3, 7, 7]) on float32
        // points, which it sums in float32 (we sum in f64: 1.2e-8 apart).
        let points = [
            0.0, 0.0, 1.0, 0.0, 0.0, 1.5, 5.0, 5.0, 6.0, 5.0, 5.0, 7.0, 10.0, -1.0, 11.0, -2.0,
        ];
        let got = davies_bouldin(&points, 8, 2, &[0, 0, 0, 3, 3, 3, 7, 7]).unwrap();
        assert!((got - 0.23675872241926554).abs() < 1e-7, "{got}");
        // Every cluster a single repeated point, or every centroid the same: 0, as sklearn.
        let pairs = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 3.0, 4.0, 0.0, 3.0, 4.0, 0.0];
        assert_eq!(davies_bouldin(&pairs, 4, 3, &[1, 1, 2, 2]).unwrap(), 0.0);
        assert_eq!(davies_bouldin(&pairs, 4, 3, &[1, 2, 1, 2]).unwrap(), 0.0);
        // One cluster, n clusters, shapes, non-finite points: errors.
        assert!(davies_bouldin(&points, 8, 2, &[4; 8]).is_err());
        assert!(davies_bouldin(&points, 8, 2, &[0, 1, 2, 3, 4, 5, 6, 7]).is_err());
        assert!(davies_bouldin(&points, 8, 2, &[0, 1]).is_err());
        assert!(davies_bouldin(&[0.0, f32::NAN, 1.0], 3, 1, &[0, 0, 1]).is_err());
    }

    #[test]
    fn silhouette_by_hand() {
        // 1-D points 0, 1 (cluster 0) and 4, 6 (cluster 1).
        // x=0: a = 1, b = (4 + 6)/2 = 5 → 4/5; x=1: a = 1, b = (3 + 5)/2 = 4 → 3/4;
        // x=4: a = 2, b = (4 + 3)/2 = 3.5 → 1.5/3.5; x=6: a = 2, b = (6 + 5)/2 = 5.5 → 3.5/5.5.
        let points = [0.0, 1.0, 4.0, 6.0];
        let s = silhouette(&points, 4, 1, &[0, 0, 1, 1], &SilhouetteOptions::default()).unwrap();
        close(s, (0.8 + 0.75 + 1.5 / 3.5 + 3.5 / 5.5) / 4.0);
        // A singleton cluster scores 0 for its point: x=9 alone.
        // x=0: a = 1, b = 9 → 8/9; x=1: a = 1, b = 8 → 7/8; x=9: 0.
        let s = silhouette(
            &[0.0, 1.0, 9.0],
            3,
            1,
            &[2, 2, 7],
            &SilhouetteOptions::default(),
        )
        .unwrap();
        close(s, (8.0 / 9.0 + 7.0 / 8.0) / 3.0);
    }

    #[test]
    fn silhouette_sampling_and_errors() {
        let points: Vec<f32> = (0..40)
            .map(|i| (i % 20) as f32 + 100.0 * (i / 20) as f32)
            .collect();
        let clusters: Vec<u32> = (0..40).map(|i| (i / 20) as u32).collect();
        let full = silhouette(&points, 40, 1, &clusters, &SilhouetteOptions::default()).unwrap();
        // A sample as large as the data is the data.
        let all = silhouette(
            &points,
            40,
            1,
            &clusters,
            &SilhouetteOptions::sampled(40, 3),
        )
        .unwrap();
        close(all, full);
        // Seeded: the same seed, the same subset.
        let a = silhouette(
            &points,
            40,
            1,
            &clusters,
            &SilhouetteOptions::sampled(10, 3),
        )
        .unwrap();
        let b = silhouette(
            &points,
            40,
            1,
            &clusters,
            &SilhouetteOptions::sampled(10, 3),
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(a > 0.8 && a <= 1.0, "{a}");
        let one = SilhouetteOptions::default();
        assert!(silhouette(&points, 40, 1, &[0; 40], &one).is_err()); // 1 cluster
        let each: Vec<u32> = (0..40).collect();
        assert!(silhouette(&points, 40, 1, &each, &one).is_err()); // n clusters
        assert!(silhouette(&points, 40, 1, &clusters, &SilhouetteOptions::sampled(0, 1)).is_err());
        assert!(silhouette(&points, 40, 1, &clusters[1..], &one).is_err());
        assert!(silhouette(&[0.0, f32::NAN, 1.0], 3, 1, &[0, 0, 1], &one).is_err());
    }

    #[test]
    fn inertia_by_hand_and_errors() {
        let points = [0.0, 0.0, 2.0, 0.0, 10.0, 10.0];
        let centroids = [1.0, 0.0, 10.0, 11.0];
        close(
            inertia(&points, 3, 2, &centroids, 2, &[0, 0, 1]).unwrap(),
            3.0,
        );
        assert!(inertia(&points, 3, 2, &centroids, 2, &[0, 2, 1]).is_err());
        assert!(inertia(&points, 3, 2, &centroids[..3], 2, &[0, 0, 1]).is_err());
        assert!(inertia(
            &points,
            3,
            2,
            &[1.0, 0.0, f32::INFINITY, 0.0],
            2,
            &[0, 0, 1]
        )
        .is_err());
    }
}
