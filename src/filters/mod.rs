//! Low-pass graph filters for clustering without labels (DESIGN.md §10b): the features
//! smoothed over the graph by repeated SpMM on the GPU, their top singular vectors
//! (randomised SVD), rows L2-normalised, k-means; the filter's order chosen by the
//! intra-cluster rule, never by labels.
//!
//! # The filters
//! - **S²GC** (Zhu & Koniusz, ICLR 2021, "Simple Spectral Graph Convolution", its
//!   Eq. 7 without the classifier): X̄ = (1/K) Σ_{k=1..K} ((1 − α)·T̃ᵏX + α·X)
//!   = α·X + (1 − α)·(1/K)·Σ_{k=1..K} T̃ᵏX, with T̃ = D̃^-½ (A + I) D̃^-½, the
//!   renormalised operator of the paper (self loops; `self_loops: false` gives
//!   D^-½ A D^-½, isolated nodes a zero row). α = 0.05, the paper's value. (Its
//!   clustering script, `NodeClustering/test_mygdc.py` of allenhaozhu/SSGC, uses T
//!   without self loops and sets α without using it, i.e. α = 0; on Citeseer seed 0
//!   the published form scores higher, see the module tests' numbers in
//!   benches/ACCURACY.md.)
//! - **AGC** (Zhang et al., IJCAI 2019): X̄ = Gᵏ X, G = ½(I + D̃^-½ (A + I) D̃^-½).
//!
//! # On the GPU
//! X̄ is never formed. The randomised SVD ([`svd`]) needs only X̄·B and X̄ᵀ·B for thin
//! B (l = 26 columns), and since X̄ = F(T)·X with F(T) a polynomial of the symmetric T̃:
//! - X̄·B = F(T)·(X·B): one SpMM by the sparse X, then K SpMMs by the graph operator on
//!   an N × l matrix;
//! - X̄ᵀ·B = Xᵀ·(F(T)·B): K SpMMs on B, then one SpMM by the sparse Xᵀ.
//!
//! S²GC keeps the current power P and the running sum S (N × l each, started at v
//! and β·v, β = αK/(1 − α)) and advances them with one SpMM by T̃ and one add
//! (P ↦ T̃P, S ↦ S + T̃P), so that S ends as α·v + (1 − α)/K·Σ T̃ᵏv up to the factor
//! (1 − α)/K. AGC advances v by G, K times. The thin matrices live on the device
//! padded to a multiple of 4 columns (l = 26 → 28: the SpMM's vec4 layout). The thin
//! QR and the l × l eigenproblem of the SVD are done on the host in `f64`.
//!
//! Cost per order K: 2·(power iterations + 1) = 16 products, each one sparse product
//! (nnz(X)·l) and K graph products (nnz(T̃)·l): O(K·nnz(T̃)·l) per product rather than
//! the O(N·F·l) of products with a dense X̄, and memory O(nnz + (N + F)·l) whatever the
//! feature width — so wide features need no projection first: no N × F matrix is ever
//! made (Citeseer's would be 49 MB; a million nodes with 10,000 features, 40 GB), and
//! identity features (a graph without any, F = N) cost what a sparse X with N
//! non-zeros costs. The search over K = 1, 2, … costs O(K²) graph products in all:
//! for Citeseer (nnz(T̃) = 12,431, K ≈ 20) a few thousand small dispatches; Pubmed
//! (nnz(T̃) = 108,365) runs to K ≈ 40-60, about 16·K²/2 ≈ 13,000-29,000 SpMMs
//! (benches/ACCURACY.md, "Label-free clustering").
//!
//! # Choosing the order without labels
//! For K = 1, 2, … (at most `max_order`, 60): X̄_K, its top `components` (16) left
//! singular vectors U, rows L2-normalised (Z), k-means (10 restarts, seeded), and the
//! mean intra-cluster squared distance of each restart's clustering of Z,
//!
//! intra(K) = (1/k') Σ_c (1/|c|²) Σ_{i,j ∈ c} ‖z_i − z_j‖² = (1/k') Σ_c 2·(mean_{i∈c}‖z_i‖² − ‖mean_{i∈c} z_i‖²)
//!
//! averaged over the 10 restarts (AGC's script averages `square_dist` over 10 k-means
//! runs: a single run's value jumps with its local optimum, and the rule compares
//! neighbouring orders whose values differ by a fraction of a percent),
//! over the k' non-empty clusters (AGC's `square_dist`, computed on the clustered
//! points as S²GC's script does). The order is the K before the first K whose
//! intra(K) is not lower than intra(K − 1) (AGC and S²GC stop at the first that is
//! higher; equal values mean the filter has converged, so stopping there loses
//! nothing); `max_order` when it keeps falling. The clustering returned is the one of
//! the chosen order.

pub mod magi;
pub mod ns4gc;
pub mod scgc;
pub mod svd;

use std::ops::ControlFlow;

use serde::Serialize;

use crate::cluster::{kmeans_gpu_observed, KMeans, KMeansConfig};
use crate::data::Graph;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, Recording, StepBuffer};
use crate::kernels::adam::{adam, AdamConfig};
use crate::kernels::lincomb::{lincomb, Combination};
use crate::kernels::spmm::spmm;
use crate::sparse::Csr;
use svd::{top_left_singular_vectors, Operator, SvdSettings};

/// Which low-pass filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    /// S²GC: α·X + (1 − α)·mean of T̃ᵏX over k = 1..K.
    #[default]
    S2gc,
    /// AGC: Gᵏ X, G = ½(I + T̃).
    Agc,
}

text_enum!(FilterKind, "filter", FilterKind::S2gc => "s2gc", FilterKind::Agc => "agc");

/// Settings of [`filter_cluster`]; the defaults are the published ones, the same on
/// every graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FilterOptions {
    /// The filter.
    pub kind: FilterKind,
    /// The order K (S²GC) or power k (AGC); `None`: chosen by the intra-cluster rule.
    pub order: Option<usize>,
    /// The largest order the rule tries.
    pub max_order: usize,
    /// S²GC's α (the share of X itself); AGC has none and ignores it.
    pub alpha: f64,
    /// S²GC's operator with self loops (T̃, the paper's) or without (D^-½AD^-½).
    pub self_loops: bool,
    /// The randomised SVD of the filtered features.
    pub svd: SvdSettings,
}

impl Default for FilterOptions {
    fn default() -> Self {
        FilterOptions {
            kind: FilterKind::S2gc,
            order: None,
            max_order: 60,
            alpha: 0.05,
            self_loops: true,
            svd: SvdSettings::default(),
        }
    }
}

impl FilterOptions {
    /// Checks the settings (no device needed).
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, message: String| Err(Error::InvalidConfig { setting, message });
        if self.max_order == 0 || self.order == Some(0) {
            return bad("order", "the filter's order must be at least 1".into());
        }
        if let Some(k) = self.order {
            if k > self.max_order {
                return bad(
                    "order",
                    format!("order {k} is above max_order {}", self.max_order),
                );
            }
        }
        if !(0.0..1.0).contains(&self.alpha) {
            return bad(
                "alpha",
                format!("S²GC's alpha must be in [0, 1), got {}", self.alpha),
            );
        }
        if self.svd.components == 0 || self.svd.components > crate::kernels::MAX_LATENT {
            return bad(
                "components",
                format!(
                    "singular vectors kept must be between 1 and {} (k-means on the GPU), got {}",
                    crate::kernels::MAX_LATENT,
                    self.svd.components
                ),
            );
        }
        Ok(())
    }
}

/// One order tried.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OrderStep {
    /// K.
    pub order: usize,
    /// The mean intra-cluster squared distance of its k-means clusterings, averaged over
    /// the k-means restarts.
    pub intra: f64,
    /// Its k-means inertia.
    pub inertia: f64,
    /// Seconds it took (filter, SVD, k-means).
    pub seconds: f64,
}

/// What [`filter_cluster`] found.
#[derive(Clone, Debug)]
pub struct FilterOutcome {
    /// Z: the top singular vectors of X̄ at the chosen order, rows L2-normalised,
    /// `n × dim`.
    pub embeddings: Vec<f32>,
    /// Columns of Z.
    pub dim: usize,
    /// The chosen order.
    pub order: usize,
    /// k-means of Z at that order.
    pub kmeans: KMeans,
    /// Every order tried, in order.
    pub history: Vec<OrderStep>,
}

/// The features `graph` clusters with, checked: present, and the method's name for the
/// message when they are not.
pub fn graph_features<'a>(graph: &'a Graph, method: &str) -> Result<&'a Csr> {
    graph.features.as_ref().ok_or_else(|| Error::InvalidConfig {
        setting: "method",
        message: format!(
            "{method} filters node features, and {} has none (give --features FILE, or \
             choose --method vgae, which trains without them)",
            graph.name
        ),
    })
}

/// Filters `graph`'s features, takes their top singular vectors, and clusters them
/// into `k` groups with k-means (seeded by `seed`), the order chosen as the module
/// docs say unless `options.order` fixes it. `progress` hears every order tried and
/// may stop the search (`Error::Interrupted`).
pub fn filter_cluster(
    gpu: &Gpu,
    graph: &Graph,
    k: usize,
    seed: u64,
    options: &FilterOptions,
    progress: &mut dyn FnMut(&OrderStep) -> ControlFlow<()>,
) -> Result<FilterOutcome> {
    options.validate()?;
    let x = graph_features(graph, &options.kind.to_string())?;
    let n = graph.num_nodes;
    let inputs = FilterInputs::new(gpu, graph, x, options)?;
    let (first, last) = match options.order {
        Some(order) => (order, order),
        None => (1, options.max_order),
    };
    let mut history: Vec<OrderStep> = Vec::new();
    let mut best: Option<(usize, Vec<f32>, usize, KMeans)> = None;
    for order in first..=last {
        let start = std::time::Instant::now();
        let mut op = inputs.operator(gpu, order, options);
        let (u, _, dim) = top_left_singular_vectors(&mut op, &options.svd, seed)?;
        let z = l2_rows(u, dim);
        let mut intra_of_runs = Vec::new();
        let result = kmeans_gpu_observed(
            gpu,
            &z,
            n,
            dim,
            &KMeansConfig::new(k).with_seed(seed),
            &mut |labels| intra_of_runs.push(intra_cluster_distance(&z, dim, labels, k)),
        )?;
        let step = OrderStep {
            order,
            intra: intra_of_runs.iter().sum::<f64>() / intra_of_runs.len().max(1) as f64,
            inertia: result.inertia,
            seconds: start.elapsed().as_secs_f64(),
        };
        if progress(&step).is_break() {
            return Err(Error::Interrupted {
                message: format!("stopped at order {order} of the filter"),
            });
        }
        let stop = history.last().is_some_and(|prev| step.intra >= prev.intra);
        history.push(step);
        if stop {
            break;
        }
        best = Some((order, z, dim, result));
    }
    let (order, embeddings, dim, kmeans) = best.ok_or_else(|| Error::InvalidArgument {
        argument: "order",
        message: "the filter tried no order".into(),
    })?;
    Ok(FilterOutcome {
        embeddings,
        dim,
        order,
        kmeans,
        history,
    })
}

/// The top left singular vectors of X̄ at a fixed `order` (n × r, row-major, not
/// normalised) and r: what [`filter_cluster`] clusters at that order before the rows
/// are normalised.
pub fn filtered_singular_vectors(
    gpu: &Gpu,
    graph: &Graph,
    order: usize,
    options: &FilterOptions,
    seed: u64,
) -> Result<(Vec<f32>, usize)> {
    options.validate()?;
    if order == 0 {
        return Err(Error::InvalidConfig {
            setting: "order",
            message: "the filter's order must be at least 1".into(),
        });
    }
    let x = graph_features(graph, &options.kind.to_string())?;
    let inputs = FilterInputs::new(gpu, graph, x, options)?;
    let mut op = inputs.operator(gpu, order, options);
    let (u, _, dim) = top_left_singular_vectors(&mut op, &options.svd, seed)?;
    Ok((u, dim))
}

/// Rows scaled to unit length (a zero row stays zero), as scikit-learn's `normalize`.
pub fn l2_rows(mut values: Vec<f32>, dim: usize) -> Vec<f32> {
    for row in values.chunks_exact_mut(dim.max(1)) {
        let norm = row
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            row.iter_mut()
                .for_each(|v| *v = (f64::from(*v) / norm) as f32);
        }
    }
    values
}

/// The mean over non-empty clusters of the mean squared distance between two of its
/// points (pairs with itself included), 2·(mean ‖z‖² − ‖mean z‖²) per cluster: AGC's
/// `square_dist`.
pub fn intra_cluster_distance(points: &[f32], dim: usize, labels: &[u32], k: usize) -> f64 {
    let mut sums = vec![0f64; k * dim];
    let mut squares = vec![0f64; k];
    let mut counts = vec![0usize; k];
    for (row, &c) in points.chunks_exact(dim).zip(labels) {
        let c = c as usize;
        counts[c] += 1;
        for (d, &v) in row.iter().enumerate() {
            sums[c * dim + d] += f64::from(v);
            squares[c] += f64::from(v) * f64::from(v);
        }
    }
    let (mut total, mut clusters) = (0f64, 0usize);
    for c in 0..k {
        if counts[c] == 0 {
            continue;
        }
        let m = counts[c] as f64;
        let mean_sq: f64 = sums[c * dim..(c + 1) * dim]
            .iter()
            .map(|s| (s / m) * (s / m))
            .sum();
        total += 2.0 * (squares[c] / m - mean_sq);
        clusters += 1;
    }
    total / clusters.max(1) as f64
}

/// X̄ at one order as an [`Operator`]: the products with thin matrices go through the
/// sparse X and repeated SpMM by the graph operator, never through X̄ itself.
struct FilterOperator<'a> {
    gpu: &'a Gpu,
    x: &'a GpuCsr,
    xt: &'a GpuCsr,
    /// S²GC: T̃; AGC: G (N × N each).
    step: &'a GpuCsr,
    kind: FilterKind,
    order: usize,
    alpha: f64,
}

impl FilterOperator<'_> {
    /// F(T)·v for v (N × l): S²GC's α·v + (1 − α)/K·Σ_{k=1..K} T̃ᵏv, AGC's Gᴷv. S²GC
    /// starts the sum at β·v, β = αK/(1 − α), and adds each power T̃ᵏv after its SpMM,
    /// so the sum ends as β·v + Σ T̃ᵏv = F(T)v · K/(1 − α): to the bit what one SpMM by
    /// the stacked [[T̃, 0], [T̃, I]] on [P; S] gives (each row's entries summed in
    /// column order, then S's element added), at half its SpMM work.
    fn smooth(&self, v: &[f64], l: usize) -> Result<Vec<f64>> {
        let gpu = self.gpu;
        let n = v.len() / l.max(1);
        let width = padded_width(l);
        let mut power = gpu.upload_matrix(
            "gpu_vgae.filter.power",
            n,
            width,
            &padded(v.iter().map(|&x| x as f32), l, width),
        )?;
        let mut next = gpu.alloc_matrix("gpu_vgae.filter.power", n, width)?;
        let mut rec = Recording::new("filter.smooth");
        let (result, scale) = match self.kind {
            FilterKind::S2gc => {
                let weight = (1.0 - self.alpha) / self.order as f64;
                let beta = self.alpha / weight;
                let sum = gpu.upload_matrix(
                    "gpu_vgae.filter.sum",
                    n,
                    width,
                    &padded(v.iter().map(|&x| (beta * x) as f32), l, width),
                )?;
                let add = Combination {
                    alpha: 1.0,
                    beta: 0.0,
                    accumulate: true,
                };
                for _ in 0..self.order {
                    rec.extend(spmm(gpu, self.step, &power, &next)?);
                    rec.extend(lincomb(gpu, next.data(), None, None, add, sum.data())?);
                    std::mem::swap(&mut power, &mut next);
                }
                (sum, weight)
            }
            FilterKind::Agc => {
                for _ in 0..self.order {
                    rec.extend(spmm(gpu, self.step, &power, &next)?);
                    std::mem::swap(&mut power, &mut next);
                }
                (power, 1.0)
            }
        };
        gpu.submit(&rec)?;
        Ok(unpadded(&gpu.read(result.data())?, width, l, scale))
    }

    /// a · b on the device (a sparse, b thin).
    fn sparse_product(&self, a: &GpuCsr, b: &[f32], l: usize) -> Result<Vec<f64>> {
        let gpu = self.gpu;
        let width = padded_width(l);
        let b_gpu = gpu.upload_matrix(
            "gpu_vgae.filter.thin",
            a.cols(),
            width,
            &padded(b.iter().copied(), l, width),
        )?;
        let out = gpu.alloc_matrix("gpu_vgae.filter.product", a.rows(), width)?;
        let mut rec = Recording::new("filter.features");
        rec.extend(spmm(gpu, a, &b_gpu, &out)?);
        gpu.submit(&rec)?;
        Ok(unpadded(&gpu.read(out.data())?, width, l, 1.0))
    }
}

impl Operator for FilterOperator<'_> {
    fn rows(&self) -> usize {
        self.x.rows()
    }

    fn cols(&self) -> usize {
        self.x.cols()
    }

    /// X̄·b = F(T)·(X·b).
    fn mul(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        let xb = self.sparse_product(self.x, b, l)?;
        self.smooth(&xb, l)
    }

    /// X̄ᵀ·b = Xᵀ·(F(T)·b): F(T) is symmetric.
    fn mul_t(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        let smoothed: Vec<f32> = self
            .smooth(&scaled(b, 1.0), l)?
            .iter()
            .map(|&v| v as f32)
            .collect();
        self.sparse_product(self.xt, &smoothed, l)
    }
}

/// The device's copies of what every order reuses: X, Xᵀ and the step matrix.
struct FilterInputs {
    x: GpuCsr,
    xt: GpuCsr,
    step: GpuCsr,
}

impl FilterInputs {
    fn new(gpu: &Gpu, graph: &Graph, x: &Csr, options: &FilterOptions) -> Result<Self> {
        let step = match options.kind {
            FilterKind::S2gc => sym_normalized(graph, options.self_loops)?,
            FilterKind::Agc => lazy_walk(&sym_normalized(graph, true)?)?,
        };
        Ok(FilterInputs {
            x: gpu.upload_csr("gpu_vgae.filter.x", x)?,
            xt: gpu.upload_csr("gpu_vgae.filter.xt", &x.transpose())?,
            step: gpu.upload_csr("gpu_vgae.filter.step", &step)?,
        })
    }

    fn operator<'a>(
        &'a self,
        gpu: &'a Gpu,
        order: usize,
        options: &FilterOptions,
    ) -> FilterOperator<'a> {
        FilterOperator {
            gpu,
            x: &self.x,
            xt: &self.xt,
            step: &self.step,
            kind: options.kind,
            order,
            alpha: options.alpha,
        }
    }
}

/// Adam on one trained layer's W and b (`moments`: W's first and second moments, then
/// b's), the update step of the trained methods (scgc's views, ns4gc's layers).
pub(crate) fn adam_layer(
    gpu: &Gpu,
    config: &AdamConfig,
    (w, dw): (&GpuMatrix, &GpuMatrix),
    (b, db): (&GpuArray<f32>, &GpuArray<f32>),
    moments: &[GpuArray<f32>; 4],
    step: &StepBuffer,
) -> Result<Vec<Dispatch>> {
    let [m_w, v_w, m_b, v_b] = moments;
    let mut out = adam(gpu, config, w.data(), dw.data(), m_w, v_w, step)?;
    out.extend(adam(gpu, config, b, db, m_b, v_b, step)?);
    Ok(out)
}

/// Submits `recording` (a trained method's forward and backward passes) and reads back
/// each layer's (dW, db) from `layers` (ns4gc's and magi's gradient checks).
pub(crate) fn read_gradients(
    gpu: &Gpu,
    recording: &Recording,
    layers: &[(&GpuMatrix, &GpuArray<f32>)],
) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
    gpu.submit(recording)?;
    let arrays: Vec<&GpuArray<f32>> = layers
        .iter()
        .flat_map(|&(dw, db)| [dw.data(), db])
        .collect();
    let read = gpu.read_many(&arrays)?;
    Ok(read
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect())
}

/// D^-½ (A [+ I]) D^-½ with D the degrees of the matrix normalised; a node of degree 0
/// (no self loops, no edges) gets a zero row.
pub fn sym_normalized(graph: &Graph, self_loops: bool) -> Result<Csr> {
    let n = graph.num_nodes;
    let mut degree = vec![if self_loops { 1f64 } else { 0f64 }; n];
    for &(i, j) in &graph.edges {
        degree[i as usize] += 1.0;
        degree[j as usize] += 1.0;
    }
    let inv_sqrt: Vec<f64> = degree
        .iter()
        .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
        .collect();
    let mut triplets = Vec::with_capacity(2 * graph.edges.len() + n);
    if self_loops {
        for (i, d) in inv_sqrt.iter().enumerate() {
            triplets.push((i as u32, i as u32, (d * d) as f32));
        }
    }
    for &(i, j) in &graph.edges {
        let w = (inv_sqrt[i as usize] * inv_sqrt[j as usize]) as f32;
        triplets.push((i, j, w));
        triplets.push((j, i, w));
    }
    Csr::from_triplets(n, n, &triplets)
}

/// ½(I + T).
fn lazy_walk(t: &Csr) -> Result<Csr> {
    let mut triplets: Vec<(u32, u32, f32)> = (0..t.rows() as u32).map(|i| (i, i, 0.5)).collect();
    for r in 0..t.rows() {
        for e in t.row_range(r) {
            triplets.push((r as u32, t.col_idx()[e], 0.5 * t.values()[e]));
        }
    }
    Csr::from_triplets(t.rows(), t.cols(), &triplets)
}

/// Columns of the device's copies of a thin matrix of `l` columns: the next multiple of
/// 4, so that the SpMM reads and writes whole vec4s (its ALIGNED layout) rather than
/// element by element. The padding columns stay zero and are never read back; each
/// output column sums its entries in the same order whatever the width.
fn padded_width(l: usize) -> usize {
    l.div_ceil(4) * 4
}

/// `values` (rows × l, row-major) as rows × `width` with zero columns on the right.
fn padded(values: impl Iterator<Item = f32>, l: usize, width: usize) -> Vec<f32> {
    let values: Vec<f32> = values.collect();
    let mut out = vec![0f32; values.len() / l.max(1) * width];
    for (row, src) in out
        .chunks_exact_mut(width)
        .zip(values.chunks_exact(l.max(1)))
    {
        row[..l].copy_from_slice(src);
    }
    out
}

/// The first `l` of each row of `width` columns, times `weight`, in `f64`.
fn unpadded(values: &[f32], width: usize, l: usize, weight: f64) -> Vec<f64> {
    values
        .chunks_exact(width.max(1))
        .flat_map(|row| row[..l].iter().map(move |&v| f64::from(v) * weight))
        .collect()
}

fn scaled(values: &[f32], weight: f64) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v) * weight).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intra_distance_is_twice_the_mean_cluster_variance() {
        // Cluster 0: (0,0), (2,0): mean pair distance over 4 ordered pairs = 2·4/4 = 2.
        // Cluster 1: (1,1) alone: 0. Cluster 2 empty: not counted.
        let points = [0.0, 0.0, 2.0, 0.0, 1.0, 1.0];
        let d = intra_cluster_distance(&points, 2, &[0, 0, 1], 3);
        assert!((d - 1.0).abs() < 1e-12, "{d}");
    }

    #[test]
    fn l2_rows_keep_zero_rows() {
        let z = l2_rows(vec![3.0, 4.0, 0.0, 0.0], 2);
        assert_eq!(z, vec![0.6, 0.8, 0.0, 0.0]);
    }

    #[test]
    fn padding_round_trips_the_thin_matrix() {
        let v = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(padded_width(3), 4);
        assert_eq!(padded_width(8), 8);
        let p = padded(v.iter().copied(), 3, 4);
        assert_eq!(p, vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0]);
        assert_eq!(
            unpadded(&p, 4, 3, 2.0),
            vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
        );
    }
}
