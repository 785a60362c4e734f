//! k-means (see the [`cluster`](crate::cluster#k-means) docs): [`kmeans`], its two Lloyd
//! halves [`assign`] and [`update`], [`kmeans_plusplus`] and [`lloyd`]; and the pieces
//! that the GPU version ([`kmeans_gpu`](crate::cluster::kmeans_gpu)) shares with it
//! (validation, k-means++ over a source of distances, empty-cluster re-seeding, the
//! restarts), so that the two differ only in where the distances and sums come from.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cpu;
use crate::error::{Error, Result};
use crate::kernels::kmeans_update::UpdateLayout;

/// Settings of [`kmeans`] and [`kmeans_gpu`](crate::cluster::kmeans_gpu). Construct with
/// [`KMeansConfig::new`] (or `default()`, k = 8 as in sklearn) and set the public fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KMeansConfig {
    /// Number of clusters, `1 ≤ k ≤ N`.
    pub k: usize,
    /// Independent k-means++ + Lloyd runs; the lowest inertia wins. Default 10.
    pub n_init: usize,
    /// Most Lloyd iterations (assignment + update) per run. Default 300.
    pub max_iter: usize,
    /// Seed of every random choice. Default 0.
    pub seed: u64,
    /// Candidates per k-means++ centre after the first; `None` (default) = 2 + ⌊ln k⌋,
    /// sklearn's default; `Some(1)` = the classic, non-greedy k-means++.
    pub n_local_trials: Option<usize>,
}

impl KMeansConfig {
    /// `k` clusters, sklearn's defaults otherwise (n_init 10, max_iter 300), seed 0.
    pub fn new(k: usize) -> Self {
        KMeansConfig {
            k,
            n_init: 10,
            max_iter: 300,
            seed: 0,
            n_local_trials: None,
        }
    }

    /// The same settings with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig::new(8)
    }
}

/// What one k-means++ + Lloyd run ended with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KMeansRun {
    /// Its inertia, see [`KMeans::inertia`].
    pub inertia: f64,
    /// Its Lloyd iterations, see [`Lloyd::n_iter`].
    pub n_iter: usize,
    /// Whether it stopped because no assignment changed (rather than at `max_iter`).
    pub converged: bool,
}

/// The result of [`kmeans`] (and of [`kmeans_gpu`](crate::cluster::kmeans_gpu)): the
/// best of its runs, and a summary of every run.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// Cluster of each point, in `0..k`.
    pub labels: Vec<u32>,
    /// `k × dim` centroids, row-major. `labels` is the assignment of the points to these
    /// centroids (each point's nearest, ties to the lowest index).
    pub centroids: Vec<f32>,
    /// Number of clusters.
    pub k: usize,
    /// Dimension of the points.
    pub dim: usize,
    /// Sum over the points of the squared distance to their centroid (each distance as
    /// the assignment step computes it, in `f32`: [`assign`] on the CPU, the
    /// `kmeans_assign` kernel on the GPU; summed in `f64`).
    pub inertia: f64,
    /// Lloyd iterations of the best run.
    pub n_iter: usize,
    /// Whether the best run converged (no assignment changed) before `max_iter`.
    pub converged: bool,
    /// Index of the best run in `runs`.
    pub best_run: usize,
    /// Every run, in order.
    pub runs: Vec<KMeansRun>,
}

/// Runs k-means on `points` (`n × dim`, row-major) with `config`: `n_init` runs of
/// k-means++ then Lloyd, keeping the lowest inertia. See the
/// [`cluster`](crate::cluster#k-means) docs.
///
/// Errors: `Error::InvalidArgument` if `points.len() != n·dim`, `dim = 0`, `n = 0` or a
/// coordinate is not finite; `Error::InvalidConfig` if `k = 0`, `k > n`, `n_init = 0`,
/// `max_iter = 0` or `n_local_trials = Some(0)`. Points whose squared distances overflow
/// `f32` (coordinates beyond about 10¹⁹) are not refused but make the distances infinite.
pub fn kmeans(points: &[f32], n: usize, dim: usize, config: &KMeansConfig) -> Result<KMeans> {
    check_points(points, n, dim)?;
    let trials = check_config(config, n)?;
    let k = config.k;
    best_of_runs(config, dim, |rng| {
        let mut distances = HostDistances { points, n, dim };
        let init = plusplus(&mut distances, n, k, trials, rng)?;
        let run = lloyd_unchecked(
            points,
            n,
            dim,
            centroids_of(points, dim, &init),
            k,
            config.max_iter,
        );
        Ok(Run {
            labels: run.labels,
            centroids: run.centroids,
            inertia: run.inertia,
            n_iter: run.n_iter,
            converged: run.converged,
        })
    })
}

/// What one run hands to [`best_of_runs`].
pub(crate) struct Run {
    pub(crate) labels: Vec<u32>,
    pub(crate) centroids: Vec<f32>,
    pub(crate) inertia: f64,
    pub(crate) n_iter: usize,
    pub(crate) converged: bool,
}

/// The restarts: run r gets its own `StdRng` seeded from (`config.seed`, r); the lowest
/// inertia wins, the first one on ties.
pub(crate) fn best_of_runs(
    config: &KMeansConfig,
    dim: usize,
    mut one_run: impl FnMut(&mut StdRng) -> Result<Run>,
) -> Result<KMeans> {
    let mut best: Option<(usize, Run)> = None;
    let mut runs = Vec::with_capacity(config.n_init);
    for r in 0..config.n_init {
        let mut rng = StdRng::seed_from_u64(run_seed(config.seed, r));
        let run = one_run(&mut rng)?;
        runs.push(KMeansRun {
            inertia: run.inertia,
            n_iter: run.n_iter,
            converged: run.converged,
        });
        if best.as_ref().is_none_or(|(_, b)| run.inertia < b.inertia) {
            best = Some((r, run));
        }
    }
    let (best_run, run) = best.ok_or_else(|| Error::InvalidConfig {
        setting: "n_init",
        message: "k-means: n_init must be at least 1".into(),
    })?;
    Ok(KMeans {
        labels: run.labels,
        centroids: run.centroids,
        k: config.k,
        dim,
        inertia: run.inertia,
        n_iter: run.n_iter,
        converged: run.converged,
        best_run,
        runs,
    })
}

/// The seed of run `r`: runs get unrelated `StdRng` streams (`seed_from_u64` expands its
/// argument with a PCG step, so neighbouring arguments are fine).
fn run_seed(seed: u64, r: usize) -> u64 {
    seed ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The rows `indices` of `points`, as `indices.len() × dim` centroids.
pub(crate) fn centroids_of(points: &[f32], dim: usize, indices: &[usize]) -> Vec<f32> {
    indices
        .iter()
        .flat_map(|&i| points[i * dim..(i + 1) * dim].iter().copied())
        .collect()
}

fn local_trials(k: usize, n_local_trials: Option<usize>) -> Result<usize> {
    match n_local_trials {
        Some(0) => Err(Error::InvalidConfig {
            setting: "n_local_trials",
            message: "k-means++: n_local_trials must be at least 1".into(),
        }),
        Some(t) => Ok(t),
        None => Ok(2 + (k as f64).ln().floor() as usize),
    }
}

/// Checks every setting of `config` for `n` points; returns the k-means++ candidates per
/// centre.
pub(crate) fn check_config(config: &KMeansConfig, n: usize) -> Result<usize> {
    check_k(config.k, n)?;
    if config.n_init == 0 {
        return Err(Error::InvalidConfig {
            setting: "n_init",
            message: "k-means: n_init must be at least 1".into(),
        });
    }
    if config.max_iter == 0 {
        return Err(Error::InvalidConfig {
            setting: "max_iter",
            message: "k-means: max_iter must be at least 1".into(),
        });
    }
    local_trials(config.k, config.n_local_trials)
}

/// Shape and finiteness of `n × dim` points: `n ≥ 1`, `dim ≥ 1`, every value finite.
pub(crate) fn check_points(points: &[f32], n: usize, dim: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidArgument {
            argument: "n",
            message: "no points (n = 0)".into(),
        });
    }
    if dim == 0 {
        return Err(Error::InvalidArgument {
            argument: "dim",
            message: "points of dimension 0".into(),
        });
    }
    if n.checked_mul(dim) != Some(points.len()) {
        return Err(Error::InvalidArgument {
            argument: "points",
            message: format!("{} values for {n} points of dimension {dim}", points.len()),
        });
    }
    if let Some(i) = points.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument {
            argument: "points",
            message: format!(
                "point {} coordinate {} is {}: points must be finite",
                i / dim,
                i % dim,
                points[i]
            ),
        });
    }
    Ok(())
}

fn check_k(k: usize, n: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidConfig {
            setting: "k",
            message: "k-means: k = 0 clusters; k must be at least 1".into(),
        });
    }
    if k > n {
        return Err(Error::InvalidConfig {
            setting: "k",
            message: format!(
                "k-means: k = {k} clusters for only {n} points; k must be at most the \
                 number of points"
            ),
        });
    }
    Ok(())
}

/// The assignment step: for each of the `n` points (`n × dim`, row-major), the index of
/// its nearest of the `k` centroids (`k × dim`) and the squared distance to it.
///
/// Distances in `f32`, accumulated over the columns in order: `acc += (x[j] − c[j])²` for
/// j = 0, 1, …, dim − 1, no fused multiply-add ([`cpu::sq_dist`]). Ties go to the lowest
/// centroid index (a strict `<` scan from centroid 0). The host form of
/// [`cpu::kmeans_assign`], the twin of the GPU kernel `kmeans_assign`.
///
/// Errors (`Error::InvalidArgument`) if `points.len() != n·dim`,
/// `centroids.len() != k·dim`, or `k = 0` while `n > 0`.
pub fn assign(
    points: &[f32],
    n: usize,
    dim: usize,
    centroids: &[f32],
    k: usize,
) -> Result<(Vec<u32>, Vec<f32>)> {
    check_shape("points", points.len(), n, dim)?;
    check_shape("centroids", centroids.len(), k, dim)?;
    if k == 0 && n > 0 {
        return Err(Error::InvalidArgument {
            argument: "k",
            message: format!("no centroids to assign {n} points to"),
        });
    }
    let mut labels = vec![0u32; n];
    let mut min_sq = vec![0f32; n];
    cpu::kmeans_assign(points, n, dim, centroids, k, &mut labels, &mut min_sq);
    Ok((labels, min_sq))
}

/// The update step's reduction: per cluster, the sum of its points' coordinates
/// (`k × dim`, row-major) and its number of points. The host then sets
/// centroid = sum / count.
///
/// Sums are in `f32` in the GPU's order: the points are cut into chunks
/// ([`UpdateLayout::new`], a function of the shape only), each chunk summed in point
/// order ([`cpu::kmeans_update`], the twin of the GPU kernel `kmeans_update`), then the
/// chunks added by the `reduce_sum` tree ([`cpu::column_sums`]). So the CPU and the GPU
/// k-means compute the same centroids from the same labels, bit for bit.
///
/// Errors (`Error::InvalidArgument`) if `points.len() != n·dim`, `labels.len() != n`,
/// `dim = 0`, `k = 0`, or a label is ≥ `k`.
pub fn update(
    points: &[f32],
    n: usize,
    dim: usize,
    labels: &[u32],
    k: usize,
) -> Result<(Vec<f32>, Vec<u32>)> {
    check_shape("points", points.len(), n, dim)?;
    if dim == 0 || k == 0 {
        return Err(Error::InvalidArgument {
            argument: if dim == 0 { "dim" } else { "k" },
            message: "the update needs points of dimension ≥ 1 and k ≥ 1".into(),
        });
    }
    if labels.len() != n {
        return Err(Error::InvalidArgument {
            argument: "labels",
            message: format!("{} labels for {n} points", labels.len()),
        });
    }
    if let Some(i) = labels.iter().position(|&c| c as usize >= k) {
        return Err(Error::InvalidArgument {
            argument: "labels",
            message: format!("label {} of point {i} is not below k = {k}", labels[i]),
        });
    }
    Ok(update_with(
        points,
        n,
        dim,
        labels,
        &UpdateLayout::new(n, k, dim),
    ))
}

/// `len` values for `rows × dim`.
fn check_shape(argument: &'static str, len: usize, rows: usize, dim: usize) -> Result<()> {
    if rows.checked_mul(dim) != Some(len) {
        return Err(Error::InvalidArgument {
            argument,
            message: format!("{len} values for {rows} rows of dimension {dim}"),
        });
    }
    Ok(())
}

/// [`update`] with a given chunking.
fn update_with(
    points: &[f32],
    n: usize,
    dim: usize,
    labels: &[u32],
    layout: &UpdateLayout,
) -> (Vec<f32>, Vec<u32>) {
    let partial = cpu::kmeans_update(points, n, dim, labels, layout.k, layout.chunk_rows);
    let totals = cpu::column_sums(&partial, layout.chunks(), layout.totals_len());
    split_totals(&totals, layout.k, dim)
}

/// Sums (`k × dim`) and counts from the totals of the update (per cluster, `dim` sums
/// then the count, an exact integer in `f32`).
pub(crate) fn split_totals(totals: &[f32], k: usize, dim: usize) -> (Vec<f32>, Vec<u32>) {
    let cols = dim + 1;
    let mut sums = Vec::with_capacity(k * dim);
    let mut counts = Vec::with_capacity(k);
    for row in totals.chunks_exact(cols).take(k) {
        sums.extend_from_slice(&row[..dim]);
        counts.push(row[dim] as u32);
    }
    (sums, counts)
}

/// Sets each non-empty cluster's centroid to sum / count (in `f32`); an empty cluster
/// left (impossible for k ≤ n, see [`relocate_empty`]) keeps its centroid.
pub(crate) fn apply_means(centroids: &mut [f32], sums: &[f32], counts: &[u32], dim: usize) {
    for (c, &count) in counts.iter().enumerate() {
        if count > 0 {
            for (x, s) in centroids[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(&sums[c * dim..(c + 1) * dim])
            {
                *x = s / count as f32;
            }
        }
    }
}

/// sklearn's greedy k-means++: the indices of the `k` points chosen as initial centres,
/// in order. See the [`cluster`](crate::cluster#k-means) docs; `n_local_trials = None`
/// means 2 + ⌊ln k⌋.
///
/// A D² draw takes u uniform in [0, 1) and picks the first point whose running sum of D²
/// (in `f64`, point order) exceeds u·Σ D², so a point with D² = 0 is never drawn while
/// the total is positive. If the total is 0 (every point sits on a chosen centre), the
/// draw is uniform. Distances as [`assign`]'s; potentials summed in `f64`; ties between
/// candidates go to the first drawn.
///
/// Errors as [`kmeans`] for the shape, finiteness, `k` and `n_local_trials`.
pub fn kmeans_plusplus<R: Rng + ?Sized>(
    points: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    n_local_trials: Option<usize>,
    rng: &mut R,
) -> Result<Vec<usize>> {
    check_points(points, n, dim)?;
    check_k(k, n)?;
    let trials = local_trials(k, n_local_trials)?;
    plusplus(&mut HostDistances { points, n, dim }, n, k, trials, rng)
}

/// Where k-means++ gets its distances: the CPU twin ([`HostDistances`]) or the GPU
/// kernel (`cluster::gpu`).
pub(crate) trait PointDistances {
    /// For each of the points `centres` (indices), the squared distance of every point
    /// to it, as the assignment step computes distances: `centres.len()` vectors of n.
    fn distances(&mut self, centres: &[usize]) -> Result<Vec<Vec<f32>>>;
}

/// Distances from [`cpu::kmeans_distances`], the twin of the GPU's.
struct HostDistances<'a> {
    points: &'a [f32],
    n: usize,
    dim: usize,
}

impl PointDistances for HostDistances<'_> {
    fn distances(&mut self, centres: &[usize]) -> Result<Vec<Vec<f32>>> {
        let (n, dim) = (self.n, self.dim);
        let rows = centroids_of(self.points, dim, centres);
        let all = cpu::kmeans_distances(self.points, n, dim, &rows, centres.len());
        Ok(all.chunks_exact(n).map(<[f32]>::to_vec).collect())
    }
}

/// k-means++ over `n` points whose distances come from `source`. The `trials`
/// candidates of a centre are drawn first, then measured together (one batch for the
/// GPU); the draws do not depend on the measurements, so the random stream is that of
/// drawing and measuring in turn.
pub(crate) fn plusplus<R: Rng + ?Sized>(
    source: &mut dyn PointDistances,
    n: usize,
    k: usize,
    trials: usize,
    rng: &mut R,
) -> Result<Vec<usize>> {
    let first = rng.random_range(0..n);
    let mut chosen = vec![first];
    let mut closest = source
        .distances(&[first])?
        .pop()
        .expect("one vector per centre");
    let mut cumsum = vec![0f64; n];
    while chosen.len() < k {
        let mut acc = 0f64;
        for (s, &d) in cumsum.iter_mut().zip(&closest) {
            acc += d as f64;
            *s = acc;
        }
        let potential = acc;
        let candidates: Vec<usize> = (0..trials)
            .map(|_| draw_d2(&cumsum, potential, rng))
            .collect();
        let mut best: Option<(usize, f64, Vec<f32>)> = None;
        for (&candidate, mut d) in candidates.iter().zip(source.distances(&candidates)?) {
            let mut pot = 0f64;
            for (d, &old) in d.iter_mut().zip(&closest) {
                *d = old.min(*d);
                pot += *d as f64;
            }
            if best.as_ref().is_none_or(|&(_, b, _)| pot < b) {
                best = Some((candidate, pot, d));
            }
        }
        let (candidate, _, d) = best.expect("trials >= 1");
        chosen.push(candidate);
        closest = d;
    }
    Ok(chosen)
}

/// One D² draw from the running sums `cumsum` (total `potential`); see [`kmeans_plusplus`].
fn draw_d2<R: Rng + ?Sized>(cumsum: &[f64], potential: f64, rng: &mut R) -> usize {
    let n = cumsum.len();
    if potential <= 0.0 {
        return rng.random_range(0..n);
    }
    let r = rng.random::<f64>() * potential;
    let i = cumsum.partition_point(|&s| s <= r);
    if i < n {
        return i;
    }
    // u·Σ rounded up to Σ: the last point with D² > 0.
    (1..n)
        .rev()
        .find(|&i| cumsum[i] > cumsum[i - 1])
        .unwrap_or(0)
}

/// The result of [`lloyd`]: one run of Lloyd iterations.
#[derive(Clone, Debug, PartialEq)]
pub struct Lloyd {
    /// Cluster of each point: its nearest centroid in `centroids`, ties to the lowest index.
    pub labels: Vec<u32>,
    /// Final `k × dim` centroids.
    pub centroids: Vec<f32>,
    /// Σ of the points' squared distances to their centroid (as [`KMeans::inertia`]).
    pub inertia: f64,
    /// Lloyd iterations: assignment steps until the labels stopped changing (the last one
    /// confirming it), or `max_iter` updates when they never did.
    pub n_iter: usize,
    /// Whether the labels stopped changing before `max_iter` ran out.
    pub converged: bool,
    /// The inertia after each assignment step, in order (the last equals `inertia`):
    /// `n_iter` entries when converged, `max_iter + 1` otherwise (a final assignment
    /// matches the labels to the last centroids). Non-increasing up to rounding.
    pub inertia_history: Vec<f64>,
    /// Empty clusters re-seeded with a far point, over the whole run.
    pub relocations: usize,
}

/// Lloyd iterations from the given `k × dim` initial centroids, at most `max_iter`
/// updates, stopping when an assignment repeats the previous one. See the
/// [`cluster`](crate::cluster#k-means) docs for empty clusters.
///
/// Errors as [`kmeans`] for the points, `k` and `max_iter`, and `Error::InvalidArgument`
/// (`init`) if `init.len() != k·dim` or an initial centroid is not finite.
pub fn lloyd(
    points: &[f32],
    n: usize,
    dim: usize,
    init: &[f32],
    k: usize,
    max_iter: usize,
) -> Result<Lloyd> {
    check_points(points, n, dim)?;
    check_k(k, n)?;
    if init.len() != k * dim {
        return Err(Error::InvalidArgument {
            argument: "init",
            message: format!(
                "lloyd: {} initial centroid values for {k} centroids of dimension {dim}",
                init.len()
            ),
        });
    }
    if let Some(i) = init.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument {
            argument: "init",
            message: format!(
                "lloyd: initial centroid {} coordinate {} is {}",
                i / dim,
                i % dim,
                init[i]
            ),
        });
    }
    if max_iter == 0 {
        return Err(Error::InvalidConfig {
            setting: "max_iter",
            message: "lloyd: max_iter must be at least 1".into(),
        });
    }
    Ok(lloyd_unchecked(points, n, dim, init.to_vec(), k, max_iter))
}

fn lloyd_unchecked(
    points: &[f32],
    n: usize,
    dim: usize,
    mut centroids: Vec<f32>,
    k: usize,
    max_iter: usize,
) -> Lloyd {
    let layout = UpdateLayout::new(n, k, dim);
    // No previous assignment: every label counts as changed the first time.
    let mut labels = vec![u32::MAX; n];
    let mut min_sq = vec![0f32; n];
    let mut history = Vec::new();
    let mut relocations = 0;
    for it in 0..max_iter {
        let changed = cpu::kmeans_assign(points, n, dim, &centroids, k, &mut labels, &mut min_sq);
        let inertia = sum_f64(&min_sq);
        history.push(inertia);
        if changed == 0 {
            return Lloyd {
                labels,
                centroids,
                inertia,
                n_iter: it + 1,
                converged: true,
                inertia_history: history,
                relocations,
            };
        }
        let (mut sums, mut counts) = update_with(points, n, dim, &labels, &layout);
        relocations += relocate_empty(points, dim, &labels, &min_sq, &mut sums, &mut counts);
        apply_means(&mut centroids, &sums, &counts, dim);
    }
    cpu::kmeans_assign(points, n, dim, &centroids, k, &mut labels, &mut min_sq);
    let inertia = sum_f64(&min_sq);
    history.push(inertia);
    Lloyd {
        labels,
        centroids,
        inertia,
        n_iter: max_iter,
        converged: false,
        inertia_history: history,
        relocations,
    }
}
pub(crate) fn sum_f64(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum()
}

/// Re-seeds every empty cluster with the point farthest from its assigned centroid, moving
/// it in `sums`/`counts` (the labels are left as they are; the next assignment sees the new
/// centroid). Returns how many clusters were re-seeded.
///
/// A donor cluster must keep one point; with k ≤ n points, while a cluster is empty
/// another holds two or more, so a donor always exists.
pub(crate) fn relocate_empty(
    points: &[f32],
    dim: usize,
    labels: &[u32],
    min_sq: &[f32],
    sums: &mut [f32],
    counts: &mut [u32],
) -> usize {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return 0;
    }
    // Farthest first, ties to the lowest index. A point passed over because its cluster
    // was down to one point stays passed over: that count never grows here.
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_unstable_by(|&a, &b| min_sq[b].total_cmp(&min_sq[a]).then(a.cmp(&b)));
    let mut candidates = order.into_iter();
    let mut moved = 0;
    for &c in &empty {
        let Some(i) = candidates.find(|&i| counts[labels[i] as usize] > 1) else {
            break;
        };
        let old = labels[i] as usize;
        let x = &points[i * dim..(i + 1) * dim];
        for j in 0..dim {
            sums[old * dim + j] -= x[j];
            sums[c * dim + j] = x[j];
        }
        counts[old] -= 1;
        counts[c] = 1;
        moved += 1;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_assign(points: &[f32], dim: usize, centroids: &[f32]) -> (Vec<u32>, Vec<f32>) {
        let n = points.len() / dim;
        let k = centroids.len() / dim;
        let mut labels = Vec::new();
        let mut dists = Vec::new();
        for i in 0..n {
            let ds: Vec<f32> = (0..k)
                .map(|c| {
                    let mut acc = 0f32;
                    for j in 0..dim {
                        let d = points[i * dim + j] - centroids[c * dim + j];
                        acc += d * d;
                    }
                    acc
                })
                .collect();
            let min = ds.iter().copied().fold(f32::INFINITY, f32::min);
            let c = ds.iter().position(|&d| d == min).unwrap();
            labels.push(c as u32);
            dists.push(min);
        }
        (labels, dists)
    }

    fn random_points(rng: &mut StdRng, n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim)
            .map(|_| rng.random_range(-4i32..=4) as f32 * 0.5)
            .collect()
    }

    #[test]
    fn assign_and_update_match_brute_force_on_awkward_shapes() {
        let mut rng = StdRng::seed_from_u64(5);
        for &(n, dim, k) in &[
            (1, 1, 1),
            (1, 3, 1),
            (7, 5, 1),
            (7, 5, 7),
            (9, 3, 4),
            (33, 7, 5),
            (64, 16, 6),
            (100, 1, 3),
            (50, 17, 9),
        ] {
            // Coarse grids of values make exact ties between centroids common.
            let points = random_points(&mut rng, n, dim);
            let centroids = random_points(&mut rng, k, dim);
            let got = assign(&points, n, dim, &centroids, k).unwrap();
            assert_eq!(
                got,
                brute_assign(&points, dim, &centroids),
                "{n}×{dim}, k={k}"
            );
            let (sums, counts) = update(&points, n, dim, &got.0, k).unwrap();
            for c in 0..k {
                let members: Vec<usize> = (0..n).filter(|&i| got.0[i] as usize == c).collect();
                assert_eq!(counts[c] as usize, members.len());
                for j in 0..dim {
                    let want: f64 = members.iter().map(|&i| points[i * dim + j] as f64).sum();
                    assert_eq!(sums[c * dim + j], want as f32);
                }
            }
        }
    }

    #[test]
    fn assign_breaks_ties_to_the_lowest_index() {
        // The point 0 is at distance 1 from centroids 1, 2 and 3 (and 4 from centroid 0).
        let centroids = [2.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 1.0];
        let (labels, d) = assign(&[0.0, 0.0], 1, 2, &centroids, 4).unwrap();
        assert_eq!((labels, d), (vec![1], vec![1.0]));
        // Identical centroids: all points go to the first.
        let (labels, _) = assign(&[1.0, 2.0, 3.0], 3, 1, &[5.0, 5.0], 2).unwrap();
        assert_eq!(labels, vec![0, 0, 0]);
    }

    #[test]
    fn relocation_moves_the_farthest_point_into_an_empty_cluster() {
        // Points 0, 1, 10 in one cluster at 0 (distances 0, 1, 100); cluster 1 empty.
        let points = [0.0, 1.0, 10.0];
        let labels = [0, 0, 0];
        let min_sq = [0.0, 1.0, 100.0];
        let (mut sums, mut counts) = update(&points, 3, 1, &labels, 2).unwrap();
        assert_eq!(
            relocate_empty(&points, 1, &labels, &min_sq, &mut sums, &mut counts),
            1
        );
        assert_eq!((sums, counts), (vec![1.0, 10.0], vec![2, 1]));
        // The only multi-point cluster donates even if a singleton's point is farther.
        let points = [0.0, 1.0, 50.0];
        let labels = [0, 0, 1];
        let min_sq = [0.0, 1.0, 400.0];
        let (mut sums, mut counts) = update(&points, 3, 1, &labels, 3).unwrap();
        assert_eq!(
            relocate_empty(&points, 1, &labels, &min_sq, &mut sums, &mut counts),
            1
        );
        assert_eq!((sums, counts), (vec![0.0, 50.0, 1.0], vec![1, 1, 1]));
    }

    #[test]
    fn relocation_fills_several_empty_clusters_farthest_first() {
        // Cluster 0 holds 0, 1, 3, 3 (distances to its centroid 2: 4, 1, 1, 1) and
        // cluster 1 holds 10; clusters 2 and 3 are empty. Point 0 (farthest) goes to 2;
        // then points 1, 2, 3 tie at 1 and the lowest index, 1, goes to 3.
        let points = [0.0, 1.0, 3.0, 3.0, 10.0];
        let labels = [0, 0, 0, 0, 1];
        let min_sq = [4.0, 1.0, 1.0, 1.0, 0.0];
        let (mut sums, mut counts) = update(&points, 5, 1, &labels, 4).unwrap();
        assert_eq!(
            relocate_empty(&points, 1, &labels, &min_sq, &mut sums, &mut counts),
            2
        );
        assert_eq!(
            (sums, counts),
            (vec![6.0, 10.0, 0.0, 1.0], vec![2, 1, 1, 1])
        );
    }

    #[test]
    fn lloyd_recovers_two_groups_and_stops() {
        let points = [0.0, 0.0, 0.0, 1.0, 10.0, 10.0, 10.0, 11.0];
        let run = lloyd(&points, 4, 2, &[0.0, 0.0, 0.0, 1.0], 2, 300).unwrap();
        assert_eq!(run.labels, vec![0, 0, 1, 1]);
        assert_eq!(run.centroids, vec![0.0, 0.5, 10.0, 10.5]);
        assert!(run.converged);
        // Assign (0: changes), assign (1: changes), assign (2: same) → 3 iterations.
        assert_eq!(run.n_iter, 3);
        assert_eq!(run.inertia, 1.0);
        assert_eq!(run.inertia_history.len(), 3);
        assert_eq!(*run.inertia_history.last().unwrap(), run.inertia);
    }

    #[test]
    fn lloyd_without_convergence_reassigns_at_the_end() {
        let mut rng = StdRng::seed_from_u64(9);
        let points: Vec<f32> = (0..400).map(|_| rng.random_range(-1.0..1.0)).collect();
        let run = lloyd(&points, 200, 2, &points[..10], 5, 1).unwrap();
        assert!(!run.converged);
        assert_eq!(run.n_iter, 1);
        assert_eq!(run.inertia_history.len(), 2);
        assert_eq!(
            assign(&points, 200, 2, &run.centroids, 5).unwrap().0,
            run.labels
        );
    }

    #[test]
    fn duplicate_points_with_k_equal_n_distinct_positions() {
        // 6 points at 3 positions, k = 3: the exact partition, inertia 0.
        let points = [1.0, 1.0, 5.0, 5.0, 9.0, 9.0];
        let r = kmeans(&points, 6, 1, &KMeansConfig::new(3)).unwrap();
        assert_eq!(r.inertia, 0.0);
        assert_eq!(r.labels[0], r.labels[1]);
        assert_eq!(r.labels[2], r.labels[3]);
        assert_eq!(r.labels[4], r.labels[5]);
        // All points equal and k = 2: terminates, inertia 0, labels valid.
        let r = kmeans(&[3.0; 5], 5, 1, &KMeansConfig::new(2)).unwrap();
        assert_eq!(r.inertia, 0.0);
        assert!(r.labels.iter().all(|&l| l < 2));
    }

    #[test]
    fn invalid_input_and_settings_are_refused() {
        let p = [0.0f32, 1.0, 2.0, 3.0];
        let bad = |r: Result<KMeans>, name: &str| match r {
            Err(Error::InvalidArgument { argument, .. }) => assert_eq!(argument, name),
            other => panic!("expected InvalidArgument({name}), got {other:?}"),
        };
        let setting = |r: Result<KMeans>, name: &str| match r {
            Err(Error::InvalidConfig { setting, .. }) => assert_eq!(setting, name),
            other => panic!("expected InvalidConfig({name}), got {other:?}"),
        };
        setting(kmeans(&p, 4, 1, &KMeansConfig::new(0)), "k");
        setting(kmeans(&p, 4, 1, &KMeansConfig::new(5)), "k");
        bad(kmeans(&p, 4, 0, &KMeansConfig::new(1)), "dim");
        bad(kmeans(&p, 3, 1, &KMeansConfig::new(1)), "points");
        bad(kmeans(&[], 0, 1, &KMeansConfig::new(1)), "n");
        bad(
            kmeans(&[0.0, f32::NAN], 2, 1, &KMeansConfig::new(1)),
            "points",
        );
        bad(
            kmeans(&[0.0, f32::NEG_INFINITY], 2, 1, &KMeansConfig::new(1)),
            "points",
        );
        let mut c = KMeansConfig::new(2);
        c.n_init = 0;
        setting(kmeans(&p, 4, 1, &c), "n_init");
        let mut c = KMeansConfig::new(2);
        c.max_iter = 0;
        setting(kmeans(&p, 4, 1, &c), "max_iter");
        let mut c = KMeansConfig::new(2);
        c.n_local_trials = Some(0);
        setting(kmeans(&p, 4, 1, &c), "n_local_trials");
        let msg = kmeans(&[0.0, f32::NAN], 2, 1, &KMeansConfig::new(1))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("point 1 coordinate 0 is NaN"), "{msg}");
        let msg = kmeans(&p, 4, 1, &KMeansConfig::new(5))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("k = 5 clusters for only 4 points"), "{msg}");
    }

    #[test]
    fn assign_and_update_refuse_bad_arguments() {
        let p = [0.0f32, 1.0, 2.0, 3.0];
        let argument = |e: Error| match e {
            Error::InvalidArgument { argument, .. } => argument,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        assert_eq!(argument(assign(&p, 3, 1, &[0.0], 1).unwrap_err()), "points");
        assert_eq!(
            argument(assign(&p, 4, 1, &[0.0], 2).unwrap_err()),
            "centroids"
        );
        assert_eq!(argument(assign(&p, 4, 1, &[], 0).unwrap_err()), "k");
        assert_eq!(
            argument(update(&p, 4, 1, &[0, 0, 1], 2).unwrap_err()),
            "labels"
        );
        assert_eq!(
            argument(update(&p, 4, 1, &[0, 0, 1, 2], 2).unwrap_err()),
            "labels"
        );
        assert_eq!(argument(update(&p, 4, 1, &[0; 4], 0).unwrap_err()), "k");
        assert_eq!(argument(update(&p, 2, 2, &[0; 2], 0).unwrap_err()), "k");
        assert_eq!(
            argument(update(&p, 4, 0, &[0; 4], 1).unwrap_err()),
            "points"
        );
    }

    #[test]
    fn default_local_trials_follow_sklearn() {
        assert_eq!(local_trials(1, None).unwrap(), 2);
        assert_eq!(local_trials(2, None).unwrap(), 2);
        assert_eq!(local_trials(3, None).unwrap(), 3); // ln 3 = 1.10
        assert_eq!(local_trials(7, None).unwrap(), 3); // ln 7 = 1.95
        assert_eq!(local_trials(8, None).unwrap(), 4); // ln 8 = 2.08
        assert_eq!(local_trials(6, Some(1)).unwrap(), 1);
    }

    #[test]
    fn d2_draw_never_picks_a_zero_weight_point() {
        let cumsum = [0.0, 0.0, 2.0, 2.0, 3.0];
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let i = draw_d2(&cumsum, 3.0, &mut rng);
            assert!(i == 2 || i == 4, "{i}");
        }
    }
}
