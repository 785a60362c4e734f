//! k-means on the GPU ([`kmeans_gpu`], [`cluster_embeddings`]): the same algorithm as
//! [`kmeans`](super::kmeans) with the N × k work in kernels.
//!
//! Per run, on the device: the points (uploaded once, in slices when they exceed one
//! storage binding), the centroids, the labels and distances, the per-chunk update sums.
//! - k-means++: the candidates of a centre are measured together by one
//!   `kmeans_distances` pass (each point loaded once for all of them); the host reads
//!   the distances back and draws the next candidates exactly as the CPU version does
//!   (the D² draws need running sums over all points, in `f64`).
//! - Lloyd: one submission per iteration runs `kmeans_assign` (which also counts the
//!   labels that changed), `kmeans_update` and the `reduce_sum` chain; the host reads
//!   back only the change count and the k × (dim + 1) totals, and writes k × dim new
//!   centroids. Labels and distances come back once per run, and when a cluster is
//!   empty (to re-seed it from the farthest point, as the CPU version does).

use std::collections::HashMap;

use super::kmeans::{
    apply_means, best_of_runs, centroids_of, check_config, check_points, plusplus, relocate_empty,
    split_totals, sum_f64, KMeans, KMeansConfig, PointDistances, Run,
};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuArray, GpuBuffer, GpuMatrix, Recording};
use crate::kernels::kmeans_assign::{kmeans_assign, Assignment, MAX_DIM};
use crate::kernels::kmeans_distances::kmeans_distances;
use crate::kernels::kmeans_update::{kmeans_update, totals, UpdateLayout, MAX_POINTS};

/// Most k-means++ candidates measured in one pass (each needs N distances on the
/// device); the default 2 + ⌊ln k⌋ candidates fit one pass up to k = 1096.
const SEED_SLOTS: usize = 8;

/// Runs k-means on `points` (`n × dim`, row-major) on `gpu` with `config`: the same
/// algorithm, random draws and stopping rule as [`kmeans`](super::kmeans), with the
/// assignment and update steps as GPU kernels (see the
/// [`cluster`](crate::cluster#k-means-on-the-gpu) docs). Deterministic for a seed.
///
/// The update's sums are bit-identical to the CPU version's for the same labels; the
/// distances may differ in the last bit (the driver may fuse a multiply and an add), so
/// labels agree with the CPU's except where two centroids are within rounding of equally
/// near (or a k-means++ draw falls within rounding of a boundary), and the inertia to
/// rounding (tests/cluster_gpu.rs: within 1e-5 relative).
///
/// Errors as [`kmeans`](super::kmeans), `Error::InvalidArgument` (`dim`) if `dim > 64`
/// ([`MAX_DIM`]) and `Error::TooLarge` if `n > 2²⁴` (counts are exact `f32` integers up
/// to there); device errors as `Error::Kernel`, `Error::OutOfMemory`,
/// `Error::BufferTooLarge`.
pub fn kmeans_gpu(
    gpu: &Gpu,
    points: &[f32],
    n: usize,
    dim: usize,
    config: &KMeansConfig,
) -> Result<KMeans> {
    kmeans_gpu_observed(gpu, points, n, dim, config, &mut |_| {})
}

/// [`kmeans_gpu`], handing the final labels of every run (restart) to `observe` as it
/// ends: what a criterion averaged over the restarts needs (the filters' order rule).
pub fn kmeans_gpu_observed(
    gpu: &Gpu,
    points: &[f32],
    n: usize,
    dim: usize,
    config: &KMeansConfig,
    observe: &mut dyn FnMut(&[u32]),
) -> Result<KMeans> {
    check_points(points, n, dim)?;
    let trials = check_config(config, n)?;
    if dim > MAX_DIM {
        return Err(Error::InvalidArgument {
            argument: "dim",
            message: format!(
                "k-means on the GPU: points of dimension {dim}; the kernels take at most \
                 {MAX_DIM} (cluster::kmeans runs on the CPU at any dimension)"
            ),
        });
    }
    if n > MAX_POINTS {
        return Err(Error::TooLarge {
            what: "the point count of k-means on the GPU (its update counts exactly in f32)".into(),
            size: n as u64,
            limit: MAX_POINTS as u64,
        });
    }
    let k = config.k;
    let mut device = DeviceKMeans::new(gpu, points, n, dim, k, trials)?;
    best_of_runs(config, dim, |rng| {
        let init = plusplus(&mut device, n, k, trials, rng)?;
        let run = device.lloyd(centroids_of(points, dim, &init), config.max_iter)?;
        observe(&run.labels);
        Ok(run)
    })
}

/// k-means of node embeddings `mu` (`n × dim`, row-major) into `k` clusters on the GPU,
/// with scikit-learn's defaults (k-means++, 10 restarts, at most 300 Lloyd iterations)
/// and `seed`: [`kmeans_gpu`] with [`KMeansConfig::new`]`(k)`. DESIGN.md §8 takes k =
/// the number of classes.
///
/// Errors: `Error::InvalidConfig` (setting `k`) if `k = 0` or `k > n`; otherwise as
/// [`kmeans_gpu`].
pub fn cluster_embeddings(
    gpu: &Gpu,
    mu: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    seed: u64,
) -> Result<KMeans> {
    kmeans_gpu(gpu, mu, n, dim, &KMeansConfig::new(k).with_seed(seed))
}

/// Device buffers and prepared recordings for k-means of one point set.
struct DeviceKMeans<'a> {
    gpu: Gpu,
    /// The points on the host: candidate centres and re-seeded centroids come from them.
    points: &'a [f32],
    n: usize,
    dim: usize,
    k: usize,
    centroids: GpuMatrix,
    assignment: Assignment,
    totals: GpuArray<f32>,
    /// assign, update, totals: one Lloyd iteration.
    step: Recording,
    /// assign alone: the final assignment of a run that did not converge.
    assign_only: Recording,
    /// The point slices (first point, slice), for the k-means++ recordings.
    slices: Vec<(usize, GpuMatrix)>,
    /// k-means++: up to SEED_SLOTS candidate centres (rows of dim), their distances
    /// (rows of n), and the recording measuring a batch of each size, built on first use.
    seed_centres: GpuBuffer,
    seed_distances: GpuBuffer,
    seed_slots: usize,
    seed_steps: HashMap<usize, Recording>,
}

impl<'a> DeviceKMeans<'a> {
    fn new(
        gpu: &Gpu,
        points: &'a [f32],
        n: usize,
        dim: usize,
        k: usize,
        trials: usize,
    ) -> Result<Self> {
        let layout = UpdateLayout::new(n, k, dim);
        let slices = upload_slices(gpu, points, n, dim, layout.chunk_rows)?;
        let centroids = gpu.alloc_matrix("gpu_vgae.kmeans.centroids", k, dim)?;
        let assignment = Assignment::new(gpu, n)?;
        let partial = gpu.alloc::<f32>("gpu_vgae.kmeans.partial", layout.partial_len())?;
        let totals_out = gpu.alloc::<f32>("gpu_vgae.kmeans.totals", layout.totals_len())?;
        let mut step = Recording::new("kmeans.step");
        let mut assign_only = Recording::new("kmeans.assign");
        for (first, slice) in &slices {
            step.push(kmeans_assign(gpu, slice, *first, &centroids, &assignment)?);
            assign_only.push(kmeans_assign(gpu, slice, *first, &centroids, &assignment)?);
        }
        for (first, slice) in &slices {
            step.push(kmeans_update(
                gpu,
                slice,
                *first,
                &assignment.labels,
                &layout,
                &partial,
            )?);
        }
        step.extend(totals(gpu, &layout, &partial, &totals_out)?);
        // As many candidates per pass as the default needs, within one binding.
        let per_binding = (max_binding_bytes(gpu) / (n as u64 * 4)) as usize;
        let seed_slots = trials.min(SEED_SLOTS).min(per_binding).max(1);
        let seed_centres =
            gpu.alloc_buffer("gpu_vgae.kmeans.candidates", (seed_slots * dim * 4) as u64)?;
        let seed_distances =
            gpu.alloc_buffer("gpu_vgae.kmeans.distances", (seed_slots * n * 4) as u64)?;
        Ok(DeviceKMeans {
            gpu: gpu.clone(),
            points,
            n,
            dim,
            k,
            centroids,
            assignment,
            totals: totals_out,
            step,
            assign_only,
            slices,
            seed_centres,
            seed_distances,
            seed_slots,
            seed_steps: HashMap::new(),
        })
    }

    /// Lloyd iterations from `init` (k × dim), as `kmeans::lloyd_unchecked` does them.
    fn lloyd(&mut self, init: Vec<f32>, max_iter: usize) -> Result<Run> {
        let (gpu, points) = (&self.gpu, self.points);
        let (n, dim, k) = (self.n, self.dim, self.k);
        let mut centroids = init;
        self.centroids.data().write(gpu, &centroids)?;
        // No previous assignment: every label counts as changed the first time.
        self.assignment.labels.write(gpu, &vec![u32::MAX; n])?;
        // The totals read back with the change count in one submission, as raw bits.
        let totals_bits = GpuArray::<u32>::view(self.totals.buffer(), self.totals.len())?;
        let mut converged_at = None;
        for it in 0..max_iter {
            self.assignment.changed.write(gpu, &[0])?;
            gpu.submit(&self.step)?;
            let back = gpu.read_many(&[&self.assignment.changed, &totals_bits])?;
            if back[0][0] == 0 {
                converged_at = Some(it + 1);
                break;
            }
            let totals: Vec<f32> = back[1].iter().map(|&b| f32::from_bits(b)).collect();
            let (mut sums, mut counts) = split_totals(&totals, k, dim);
            if counts.contains(&0) {
                let labels = gpu.read(&self.assignment.labels)?;
                let min_sq = gpu.read(&self.assignment.min_sq)?;
                relocate_empty(points, dim, &labels, &min_sq, &mut sums, &mut counts);
            }
            apply_means(&mut centroids, &sums, &counts, dim);
            self.centroids.data().write(gpu, &centroids)?;
        }
        if converged_at.is_none() {
            gpu.submit(&self.assign_only)?;
        }
        let labels = gpu.read(&self.assignment.labels)?;
        let min_sq = gpu.read(&self.assignment.min_sq)?;
        Ok(Run {
            labels,
            centroids,
            inertia: sum_f64(&min_sq),
            n_iter: converged_at.unwrap_or(max_iter),
            converged: converged_at.is_some(),
        })
    }
}

impl PointDistances for DeviceKMeans<'_> {
    /// One `kmeans_distances` pass per batch of up to SEED_SLOTS centres, one readback.
    fn distances(&mut self, centres: &[usize]) -> Result<Vec<Vec<f32>>> {
        let (n, dim) = (self.n, self.dim);
        let mut out = Vec::with_capacity(centres.len());
        for batch in centres.chunks(self.seed_slots) {
            let m = batch.len();
            let rows: Vec<f32> = centroids_of(self.points, dim, batch);
            GpuArray::<f32>::view(&self.seed_centres, m * dim)?.write(&self.gpu, &rows)?;
            if !self.seed_steps.contains_key(&m) {
                let step = self.seed_step(m)?;
                self.seed_steps.insert(m, step);
            }
            self.gpu.submit(&self.seed_steps[&m])?;
            let distances = self
                .gpu
                .read(&GpuArray::<f32>::view(&self.seed_distances, m * n)?)?;
            out.extend(distances.chunks_exact(n).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

impl DeviceKMeans<'_> {
    /// The dispatches measuring `m` candidate centres (one per point slice).
    fn seed_step(&self, m: usize) -> Result<Recording> {
        let centres = GpuMatrix::view(&self.seed_centres, m, self.dim)?;
        let distances = GpuArray::view(&self.seed_distances, m * self.n)?;
        let mut step = Recording::new(format!("kmeans.candidates{m}"));
        for (first, slice) in &self.slices {
            step.push(kmeans_distances(
                &self.gpu, slice, *first, &centres, self.n, &distances,
            )?);
        }
        Ok(step)
    }
}

/// The largest storage binding (and buffer) of the device, bytes.
fn max_binding_bytes(gpu: &Gpu) -> u64 {
    gpu.binding_limit().min(gpu.limits().max_buffer_size)
}

/// Uploads `points` in slices that each fit one storage binding, every slice but the
/// last a multiple of `chunk_rows` points (so the update's chunks are those of the
/// whole array): (first point, slice) pairs.
fn upload_slices(
    gpu: &Gpu,
    points: &[f32],
    n: usize,
    dim: usize,
    chunk_rows: usize,
) -> Result<Vec<(usize, GpuMatrix)>> {
    let max_bytes = max_binding_bytes(gpu);
    let row_bytes = (dim * 4) as u64;
    let fit = (max_bytes / row_bytes) as usize / chunk_rows * chunk_rows;
    if fit == 0 {
        return Err(Error::BufferTooLarge {
            label: "gpu_vgae.kmeans.points".into(),
            bytes: row_bytes * chunk_rows as u64,
            limit: max_bytes,
            limit_kind: "storage binding",
        });
    }
    let mut slices = Vec::new();
    let mut first = 0;
    while first < n {
        let rows = fit.min(n - first);
        let slice = gpu.upload_matrix(
            "gpu_vgae.kmeans.points",
            rows,
            dim,
            &points[first * dim..(first + rows) * dim],
        )?;
        slices.push((first, slice));
        first += rows;
    }
    Ok(slices)
}
