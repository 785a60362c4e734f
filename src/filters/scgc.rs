//! A trained method on the filtered features (DESIGN.md §10b): SCGC's objective
//! (Liu et al., "Simple Contrastive Graph Clustering", TNNLS 2023) with linear encoders,
//! trained without labels, every hyperparameter the same on every graph.
//!
//! # The model
//! X̄ = Ãᵗ X with Ã = D̃^-½ (A + I) D̃^-½ (SCGC's filter, t = [`ScgcOptions::order`]).
//! Two views, each one linear layer and rows L2-normalised:
//! Z_v = normalize(X̄ W_v + 1 b_vᵀ), v = 1, 2 (W_v: F × d, d = 256). The loss asks the
//! cosine similarities between the views to reproduce a target graph T:
//!
//! L = (1/N²) ‖Z₁ Z₂ᵀ − T‖²_F = (1/N²) [tr(G₁ G₂) − 2 Σ_{(i,j) ∈ T} z₁ᵢ·z₂ⱼ + ‖T‖²_F],
//! G_v = Z_vᵀ Z_v (d × d),
//!
//! with T = min(A + K, 1) + I where K joins each node to its m = 10 nearest neighbours
//! by cosine similarity of the rows of X̄ (found from X̄'s top 64 singular triplets,
//! [`filtered_neighbours`]): the graph's edges and the features' neighbourhoods as
//! the targets (`neighbours: 0` gives SCGC's T = A + I). No N × N matrix is formed: ∂L/∂Z₁ = (2/N²)(Z₁ G₂ − T Z₂), ∂L/∂Z₂ = (2/N²)(Z₂ G₁ − T Z₁)
//! (T is symmetric). Differences from SCGC's paper: linear encoders (its are MLPs), no
//! Gaussian noise on the second view, the embedding is the mean of the two views'
//! rows, and the epoch is the last one (SCGC reports the epoch of best ACC). Adam,
//! t = 2, m = 10, d = 256, lr 10⁻³, 100 epochs, the same on every graph (chosen on
//! Citeseer and Cora with the labels' ACC over a handful of settings: see benches/ACCURACY.md); torch.nn.Linear's initialisation (U(±1/√F)).
//!
//! # On the GPU
//! X̄ is never formed (as in [`crate::filters`]): X̄W = Ãᵗ (X W) and X̄ᵀ D = Xᵀ (Ãᵗ D),
//! all SpMMs by the sparse X, Xᵀ and Ã. An epoch, per view: `spmm` (X W_v), t × `spmm`
//! (Ã), `normalize_rows`; the Grams by `matmul_tn_partial` + `reduce_sum`; then
//! `matmul` (Z_v G_u), `spmm` (T Z_u), `normalize_rows_backward` (dH_v), `reduce_sum`
//! (db_v), t × `spmm` (Ã dH), `spmm` (Xᵀ ·) = dW_v, and `adam` on W_v and b_v: one
//! submission per epoch, nothing read back until the end. The dense buffers (W, its
//! gradient and Adam's moments, F × d each per view; six N × d activations) are
//! estimated from the shape ([`dense_buffer_bytes`]) and checked against the available
//! memory on a CPU adapter before anything runs. [`loss_and_gradients`] is the
//! host reference in `f64` that the tests check the device's gradients and the
//! finite differences against.

use std::ops::ControlFlow;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::svd::{top_left_singular_vectors, Operator, SvdSettings};
use super::{graph_features, sym_normalized};
use crate::data::Graph;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuArray, GpuCsr, GpuMatrix, Recording, StepBuffer, StepParams};
use crate::kernels::adam::AdamConfig;
use crate::kernels::matmul::matmul;
use crate::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};
use crate::kernels::normalize_rows::normalize_rows;
use crate::kernels::normalize_rows_backward::normalize_rows_backward;
use crate::kernels::reduce_sum::column_sums;
use crate::kernels::spmm::spmm;
use crate::predict::{top_k_links, Exclusion, TopKMode};
use crate::sparse::Csr;

/// The widest embedding [`ScgcOptions::dim`] allows.
pub const MAX_DIM: usize = 1024;

/// Settings of [`scgc_embed`]; the defaults are used on every graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScgcOptions {
    /// t: the filter Ãᵗ's power.
    pub order: usize,
    /// m: each node's nearest neighbours by the filtered features that join the target
    /// graph (T = min(A + K, 1) + I); 0: T = A + I.
    pub neighbours: usize,
    /// Singular vectors of X̄ the neighbours are found with (at most 64).
    pub neighbour_components: usize,
    /// d: columns of each view's embedding (at most [`MAX_DIM`]; above 64, k-means runs
    /// on the host).
    pub dim: usize,
    /// Training epochs (the last one's embedding is clustered).
    pub epochs: u32,
    /// Adam's learning rate.
    pub lr: f32,
}

impl Default for ScgcOptions {
    fn default() -> Self {
        ScgcOptions {
            order: 2,
            neighbours: 10,
            neighbour_components: 64,
            dim: 256,
            epochs: 100,
            lr: 1e-3,
        }
    }
}

impl ScgcOptions {
    /// Checks the settings (no device needed).
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, message: String| Err(Error::InvalidConfig { setting, message });
        if self.order == 0 || self.order > 60 {
            return bad(
                "order",
                format!("the filter's power must be 1 to 60, got {}", self.order),
            );
        }
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(
                "dim",
                format!(
                    "the embedding's columns must be 1 to {MAX_DIM}, got {}",
                    self.dim
                ),
            );
        }
        if self.neighbour_components == 0 || self.neighbour_components > crate::kernels::MAX_LATENT
        {
            return bad(
                "neighbour_components",
                format!(
                    "the neighbours are found among 1 to {} singular vectors, got {}",
                    crate::kernels::MAX_LATENT,
                    self.neighbour_components
                ),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "at least one epoch".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "lr",
                format!("the learning rate must be positive, got {}", self.lr),
            );
        }
        Ok(())
    }
}

/// One view's parameters, host side: W (F × d, row-major) and b (d).
#[derive(Clone, Debug, PartialEq)]
pub struct ViewParams {
    /// W.
    pub w: Vec<f32>,
    /// b.
    pub b: Vec<f32>,
}

/// The two views' parameters as [`scgc_embed`] starts them: torch.nn.Linear's
/// U(−1/√F, 1/√F) for W and b, drawn from `seed` (view 1's W, b, then view 2's).
pub fn initial_params(features: usize, dim: usize, seed: u64) -> [ViewParams; 2] {
    let mut rng = StdRng::seed_from_u64(seed);
    let bound = 1.0 / (features.max(1) as f32).sqrt();
    let mut draw =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-bound..=bound)).collect() };
    let first = ViewParams {
        w: draw(features * dim),
        b: draw(dim),
    };
    let second = ViewParams {
        w: draw(features * dim),
        b: draw(dim),
    };
    [first, second]
}

/// The loss's operators on the host: X, Ã and the target T.
pub struct ScgcGraph {
    /// X (N × F).
    pub x: Csr,
    /// Ã = D̃^-½ (A + I) D̃^-½.
    pub smooth: Csr,
    /// T: A + I, or with [`with_neighbours`](Self::with_neighbours) min(A + K, 1) + I.
    pub target: Csr,
    /// The edges of A (i < j).
    edges: Vec<(u32, u32)>,
}

impl ScgcGraph {
    /// The operators of `graph` (its features must be there), T = A + I.
    pub fn new(graph: &Graph) -> Result<Self> {
        let x = graph_features(graph, "scgc")?.clone();
        let edges = graph.edges.clone();
        Ok(ScgcGraph {
            x,
            smooth: sym_normalized(graph, true)?,
            target: binary_target(graph.num_nodes, &edges, &[])?,
            edges,
        })
    }

    /// T = min(A + K, 1) + I with K the symmetrised pairs `neighbours` (node, other).
    pub fn with_neighbours(mut self, neighbours: &[(u32, u32)]) -> Result<Self> {
        self.target = binary_target(self.x.rows(), &self.edges, neighbours)?;
        Ok(self)
    }
}

/// The 0/1 matrix with ones on the diagonal and at (i, j) and (j, i) for every pair of
/// `edges` and `extra` (self pairs and repeats count once).
fn binary_target(n: usize, edges: &[(u32, u32)], extra: &[(u32, u32)]) -> Result<Csr> {
    let mut pairs: std::collections::BTreeSet<(u32, u32)> = (0..n as u32).map(|i| (i, i)).collect();
    for &(i, j) in edges.iter().chain(extra) {
        pairs.insert((i, j));
        pairs.insert((j, i));
    }
    let triplets: Vec<(u32, u32, f32)> = pairs.into_iter().map(|(i, j)| (i, j, 1.0)).collect();
    Csr::from_triplets(n, n, &triplets)
}

/// Each node's `m` nearest neighbours by cosine similarity of its row of X̄ = Ãᵗ X,
/// approximated by the rows of U·S, X̄'s top `components` singular triplets (randomised
/// SVD on the device, seeded), L2-normalised; per-node top-m by `top_k_links` (node
/// itself excluded). Pairs (node, neighbour).
pub fn filtered_neighbours(
    gpu: &Gpu,
    host: &ScgcGraph,
    order: usize,
    m: usize,
    components: usize,
    seed: u64,
) -> Result<Vec<(u32, u32)>> {
    let n = host.x.rows();
    if m == 0 || n < 2 {
        return Ok(Vec::new());
    }
    let mut op = FilteredFeatures {
        gpu,
        x: gpu.upload_csr("gpu_vgae.scgc.x", &host.x)?,
        xt: gpu.upload_csr("gpu_vgae.scgc.xt", &host.x.transpose())?,
        smooth: gpu.upload_csr("gpu_vgae.scgc.smooth", &host.smooth)?,
        order,
    };
    let settings = SvdSettings {
        components,
        ..SvdSettings::default()
    };
    let (u, singular, r) = top_left_singular_vectors(&mut op, &settings, seed)?;
    let scaled: Vec<f32> = u
        .chunks_exact(r)
        .flat_map(|row| {
            row.iter()
                .zip(&singular)
                .map(|(&v, &s)| (f64::from(v) * s) as f32)
        })
        .collect();
    let rows = super::l2_rows(scaled, r);
    let links = top_k_links(
        gpu,
        &rows,
        n,
        r,
        &Exclusion::none(n)?,
        m.min(n - 1),
        TopKMode::PerNode,
    )?;
    Ok(links.iter().map(|l| (l.source, l.target)).collect())
}

/// X̄ = Ãᵗ X as an operator for the randomised SVD: products by SpMMs on the device.
struct FilteredFeatures<'a> {
    gpu: &'a Gpu,
    x: GpuCsr,
    xt: GpuCsr,
    smooth: GpuCsr,
    order: usize,
}

impl FilteredFeatures<'_> {
    /// `first`·b, then Ãᵗ (`smooth_first`: Ãᵗ first, then `first`).
    fn product(&self, first: &GpuCsr, b: &[f32], l: usize, smooth_first: bool) -> Result<Vec<f64>> {
        let gpu = self.gpu;
        let rows_in = if smooth_first {
            self.smooth.rows()
        } else {
            first.cols()
        };
        let mut current = gpu.upload_matrix("gpu_vgae.scgc.svd_in", rows_in, l, b)?;
        let mut rec = Recording::new("scgc.svd_product");
        let smooth = |current: &mut GpuMatrix, rec: &mut Recording| -> Result<()> {
            for _ in 0..self.order {
                let next = gpu.alloc_matrix("gpu_vgae.scgc.svd_chain", self.smooth.rows(), l)?;
                rec.extend(spmm(gpu, &self.smooth, current, &next)?);
                *current = next;
            }
            Ok(())
        };
        if smooth_first {
            smooth(&mut current, &mut rec)?;
        }
        let product = gpu.alloc_matrix("gpu_vgae.scgc.svd_out", first.rows(), l)?;
        rec.extend(spmm(gpu, first, &current, &product)?);
        current = product;
        if !smooth_first {
            smooth(&mut current, &mut rec)?;
        }
        gpu.submit(&rec)?;
        Ok(gpu
            .read(current.data())?
            .iter()
            .map(|&v| f64::from(v))
            .collect())
    }
}

impl Operator for FilteredFeatures<'_> {
    fn rows(&self) -> usize {
        self.x.rows()
    }

    fn cols(&self) -> usize {
        self.x.cols()
    }

    /// X̄·b = Ãᵗ (X b).
    fn mul(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        self.product(&self.x, b, l, false)
    }

    /// X̄ᵀ·b = Xᵀ (Ãᵗ b): Ã is symmetric.
    fn mul_t(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        self.product(&self.xt, b, l, true)
    }
}

/// One view's gradients on the host: (dW, db).
pub type ViewGradients = (Vec<f64>, Vec<f64>);

/// The loss and its gradients (dW₁, db₁, dW₂, db₂) at `params`, on the host in `f64`:
/// the reference the device's gradients are checked against. The loss is summed over
/// every pair (O(N²d)): for tests on small graphs.
pub fn loss_and_gradients(
    graph: &ScgcGraph,
    order: usize,
    params: &[ViewParams; 2],
) -> (f64, [ViewGradients; 2]) {
    let n = graph.x.rows();
    let f = graph.x.cols();
    let d = params[0].b.len();
    let smooth = |m: Vec<f64>| (0..order).fold(m, |m, _| csr_times(&graph.smooth, &m, d));
    // Forward per view: H = Ãᵗ (X W) + b, Z = H / ‖H‖.
    let forward = |p: &ViewParams| {
        let w: Vec<f64> = p.w.iter().map(|&v| f64::from(v)).collect();
        let mut h = smooth(csr_times(&graph.x, &w, d));
        for row in h.chunks_exact_mut(d) {
            for (v, &b) in row.iter_mut().zip(&p.b) {
                *v += f64::from(b);
            }
        }
        let norms: Vec<f64> = h
            .chunks_exact(d)
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12))
            .collect();
        let z: Vec<f64> = h
            .chunks_exact(d)
            .zip(&norms)
            .flat_map(|(r, &s)| r.iter().map(move |v| v / s))
            .collect();
        (z, norms)
    };
    let (z1, n1) = forward(&params[0]);
    let (z2, n2) = forward(&params[1]);
    let dense_t = graph.target.to_dense();
    let mut loss = 0f64;
    for i in 0..n {
        for j in 0..n {
            let s: f64 = (0..d).map(|c| z1[i * d + c] * z2[j * d + c]).sum();
            let e = s - f64::from(dense_t[i * n + j]);
            loss += e * e;
        }
    }
    let scale = 2.0 / (n * n) as f64;
    let gram = |z: &[f64]| {
        let mut g = vec![0f64; d * d];
        for row in z.chunks_exact(d) {
            for a in 0..d {
                for b in 0..d {
                    g[a * d + b] += row[a] * row[b];
                }
            }
        }
        g
    };
    let backward = |z: &[f64], norms: &[f64], other: &[f64]| {
        let g_other = gram(other);
        let t_other = csr_times(&graph.target, other, d);
        let mut dh = vec![0f64; n * d];
        for i in 0..n {
            let zi = &z[i * d..(i + 1) * d];
            let g: Vec<f64> = (0..d)
                .map(|c| {
                    let y: f64 = (0..d).map(|a| zi[a] * g_other[a * d + c]).sum();
                    scale * (y - t_other[i * d + c])
                })
                .collect();
            let along: f64 = zi.iter().zip(&g).map(|(a, b)| a * b).sum();
            for c in 0..d {
                dh[i * d + c] = (g[c] - zi[c] * along) / norms[i];
            }
        }
        let db: Vec<f64> = (0..d)
            .map(|c| (0..n).map(|i| dh[i * d + c]).sum())
            .collect();
        let dw = csr_times(&graph.x.transpose(), &smooth(dh), d);
        debug_assert_eq!(dw.len(), f * d);
        (dw, db)
    };
    let first = backward(&z1, &n1, &z2);
    let second = backward(&z2, &n2, &z1);
    (loss / (n * n) as f64, [first, second])
}

/// a · m for a sparse and m dense (a.cols() × cols), in `f64`.
fn csr_times(a: &Csr, m: &[f64], cols: usize) -> Vec<f64> {
    let mut out = vec![0f64; a.rows() * cols];
    for r in 0..a.rows() {
        for e in a.row_range(r) {
            let (c, v) = (a.col_idx()[e] as usize, f64::from(a.values()[e]));
            for k in 0..cols {
                out[r * cols + k] += v * m[c * cols + k];
            }
        }
    }
    out
}

/// One epoch heard by [`scgc_embed`]'s callback.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ScgcEpoch {
    /// The epoch (1-based).
    pub epoch: u32,
    /// Of how many.
    pub epochs: u32,
    /// The loss at the start of this epoch where it was computed (every 50 epochs and
    /// the last), else `None`.
    pub loss: Option<f64>,
}

/// What [`scgc_embed`] found.
#[derive(Clone, Debug)]
pub struct ScgcOutcome {
    /// The mean of the two views' unit rows (n × dim), rows L2-normalised again.
    pub embeddings: Vec<f32>,
    /// Columns.
    pub dim: usize,
    /// The loss after the last epoch.
    pub final_loss: f64,
}

/// Trains the two views on `graph`'s features as the module docs say and returns the
/// embedding to cluster. `progress` hears every epoch and may stop training
/// (`Error::Interrupted`).
pub fn scgc_embed(
    gpu: &Gpu,
    graph: &Graph,
    seed: u64,
    options: &ScgcOptions,
    progress: &mut dyn FnMut(&ScgcEpoch) -> ControlFlow<()>,
) -> Result<ScgcOutcome> {
    options.validate()?;
    let features = graph_features(graph, "scgc")?.cols();
    let device_is_host = crate::memory::device_memory_is_host(&gpu.report().device_type);
    check_dense_buffers(device_is_host, graph.num_nodes, features, options.dim)?;
    let host = ScgcGraph::new(graph)?;
    let neighbours = filtered_neighbours(
        gpu,
        &host,
        options.order,
        options.neighbours,
        options.neighbour_components,
        seed,
    )?;
    let host = host.with_neighbours(&neighbours)?;
    let params = initial_params(host.x.cols(), options.dim, seed);
    let device = DeviceScgc::new(gpu, &host, options, &params)?;
    let epoch_recording = device.record_epoch()?;
    for epoch in 1..=options.epochs {
        let loss = (epoch == 1 || epoch % 50 == 0)
            .then(|| device.loss())
            .transpose()?;
        device.step.write(gpu, StepParams::for_epoch(epoch - 1));
        gpu.submit(&epoch_recording)?;
        let report = ScgcEpoch {
            epoch,
            epochs: options.epochs,
            loss,
        };
        if progress(&report).is_break() {
            return Err(Error::Interrupted {
                message: format!("stopped at epoch {epoch} of {}", options.epochs),
            });
        }
    }
    // The views of the trained parameters.
    let mut forward = Recording::new("scgc.embed");
    forward.extend(device.record_forward()?);
    gpu.submit(&forward)?;
    let final_loss = device.loss()?;
    let z: Vec<Vec<f32>> = gpu.read_many(&[device.views[0].z.data(), device.views[1].z.data()])?;
    let mean: Vec<f32> = z[0].iter().zip(&z[1]).map(|(a, b)| 0.5 * (a + b)).collect();
    Ok(ScgcOutcome {
        embeddings: super::l2_rows(mean, options.dim),
        dim: options.dim,
        final_loss,
    })
}

/// Bytes of the dense f32 buffers [`scgc_embed`] trains with, from the shape alone: per
/// view W, its gradient and Adam's two moments (4·F·d), six N × d activations (the two
/// SpMM chain buffers, Z, Z_v G_u, T Z_u, dH), the Gram and its partial blocks
/// ((chunks + 1)·d²), the row norms (N), and b with its gradient and moments (4·d). The
/// sparse operators (O(nnz)) are not counted. With identity features (F = N) W is an
/// N × d table: Pubmed (N = F = 19,717, d = 256) 0.45 GB, a million nodes 22 GB.
pub fn dense_buffer_bytes(nodes: usize, features: usize, dim: usize) -> u64 {
    let (n, f, d) = (nodes as u64, features as u64, dim as u64);
    let per_view = 4 * f * d + 6 * n * d + (chunks(nodes) as u64 + 1) * d * d + n + 4 * d;
    2 * per_view * 4
}

/// Refuses ([`Error::InsufficientMemory`]) before the neighbour search and training when
/// the dense buffers exceed the host memory available now, on an adapter whose device
/// memory is host memory (a CPU adapter such as lavapipe); a GPU reports its own
/// allocation failures.
pub fn check_dense_buffers(
    device_is_host: bool,
    nodes: usize,
    features: usize,
    dim: usize,
) -> Result<()> {
    if !device_is_host {
        return Ok(());
    }
    crate::memory::check_host_memory(
        || {
            format!(
                "scgc's buffers ({nodes} nodes, {features} feature columns, d = {dim}: two \
                 views' F × d weights with their gradients and Adam's moments, and N × d \
                 activations)"
            )
        },
        dense_buffer_bytes(nodes, features, dim),
    )
}

/// One view on the device.
struct DeviceView {
    w: GpuMatrix,
    b: GpuArray<f32>,
    /// Two N × d buffers the SpMM chain alternates between.
    chain: [GpuMatrix; 2],
    z: GpuMatrix,
    norm: GpuArray<f32>,
    gram_partial: GpuArray<f32>,
    gram: GpuMatrix,
    /// Z_v G_u.
    y: GpuMatrix,
    /// T Z_u.
    q: GpuMatrix,
    dh: GpuMatrix,
    dw: GpuMatrix,
    db: GpuArray<f32>,
    /// Adam's moments of W and b.
    moments: [GpuArray<f32>; 4],
}

/// The method's buffers on the device.
pub struct DeviceScgc<'a> {
    gpu: &'a Gpu,
    x: GpuCsr,
    xt: GpuCsr,
    smooth: GpuCsr,
    target: GpuCsr,
    order: usize,
    /// ‖T‖²_F, for the loss.
    target_sq: f64,
    adam: AdamConfig,
    step: StepBuffer,
    views: [DeviceView; 2],
}

impl<'a> DeviceScgc<'a> {
    /// Uploads the operators and `params`; Adam's moments start at zero.
    pub fn new(
        gpu: &'a Gpu,
        host: &ScgcGraph,
        options: &ScgcOptions,
        params: &[ViewParams; 2],
    ) -> Result<Self> {
        let (n, f, d) = (host.x.rows(), host.x.cols(), options.dim);
        let view = |p: &ViewParams| -> Result<DeviceView> {
            let label = |what: &str| format!("gpu_vgae.scgc.{what}");
            Ok(DeviceView {
                w: gpu.upload_matrix(&label("w"), f, d, &p.w)?,
                b: gpu.upload(&label("b"), &p.b)?,
                chain: [
                    gpu.alloc_matrix(&label("chain"), n, d)?,
                    gpu.alloc_matrix(&label("chain"), n, d)?,
                ],
                z: gpu.alloc_matrix(&label("z"), n, d)?,
                norm: gpu.alloc(&label("norm"), n)?,
                gram_partial: gpu.alloc(&label("gram_partial"), chunks(n) * d * d)?,
                gram: gpu.alloc_matrix(&label("gram"), d, d)?,
                y: gpu.alloc_matrix(&label("y"), n, d)?,
                q: gpu.alloc_matrix(&label("q"), n, d)?,
                dh: gpu.alloc_matrix(&label("dh"), n, d)?,
                dw: gpu.alloc_matrix(&label("dw"), f, d)?,
                db: gpu.alloc(&label("db"), d)?,
                moments: [
                    gpu.zeros(&label("adam_m_w"), f * d)?,
                    gpu.zeros(&label("adam_v_w"), f * d)?,
                    gpu.zeros(&label("adam_m_b"), d)?,
                    gpu.zeros(&label("adam_v_b"), d)?,
                ],
            })
        };
        Ok(DeviceScgc {
            gpu,
            x: gpu.upload_csr("gpu_vgae.scgc.x", &host.x)?,
            xt: gpu.upload_csr("gpu_vgae.scgc.xt", &host.x.transpose())?,
            smooth: gpu.upload_csr("gpu_vgae.scgc.smooth", &host.smooth)?,
            target: gpu.upload_csr("gpu_vgae.scgc.target", &host.target)?,
            order: options.order,
            target_sq: host
                .target
                .values()
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum(),
            adam: AdamConfig {
                lr: options.lr,
                ..AdamConfig::default()
            },
            step: gpu.step_buffer(StepParams::for_epoch(0)),
            views: [view(&params[0])?, view(&params[1])?],
        })
    }

    /// Bytes of the views' dense buffers as allocated (what [`dense_buffer_bytes`]
    /// estimates).
    pub fn dense_bytes(&self) -> u64 {
        let words: usize = self
            .views
            .iter()
            .map(|v| {
                let matrices = [
                    &v.w,
                    &v.chain[0],
                    &v.chain[1],
                    &v.z,
                    &v.gram,
                    &v.y,
                    &v.q,
                    &v.dh,
                    &v.dw,
                ];
                let arrays = [&v.b, &v.norm, &v.gram_partial, &v.db];
                matrices.iter().map(|m| m.data().len()).sum::<usize>()
                    + arrays.iter().map(|a| a.len()).sum::<usize>()
                    + v.moments.iter().map(|a| a.len()).sum::<usize>()
            })
            .sum();
        words as u64 * 4
    }

    /// The forward pass: Z_v, their norms and Grams.
    pub fn record_forward(&self) -> Result<Vec<crate::gpu::Dispatch>> {
        let gpu = self.gpu;
        let mut out = Vec::new();
        for v in &self.views {
            out.extend(spmm(gpu, &self.x, &v.w, &v.chain[0])?);
            let h = self.smooth_in_place(&mut out, v, 0)?;
            out.extend(normalize_rows(gpu, &v.chain[h], &v.b, &v.z, &v.norm)?);
            out.extend(matmul_tn_partial(gpu, &v.z, &v.z, &v.gram_partial)?);
            let rows = v.gram_partial.len() / (v.gram.rows() * v.gram.cols());
            out.extend(column_sums(
                gpu,
                &v.gram_partial,
                rows,
                v.gram.rows() * v.gram.cols(),
                v.gram.data(),
            )?);
        }
        Ok(out)
    }

    /// Ãᵗ applied to `v.chain[start]`; the index of the chain buffer holding the result.
    fn smooth_in_place(
        &self,
        out: &mut Vec<crate::gpu::Dispatch>,
        v: &DeviceView,
        start: usize,
    ) -> Result<usize> {
        let mut current = start;
        for _ in 0..self.order {
            out.extend(spmm(
                self.gpu,
                &self.smooth,
                &v.chain[current],
                &v.chain[1 - current],
            )?);
            current = 1 - current;
        }
        Ok(current)
    }

    /// The backward pass after [`record_forward`](Self::record_forward): dW_v and db_v.
    pub fn record_gradients(&self) -> Result<Vec<crate::gpu::Dispatch>> {
        let gpu = self.gpu;
        let n = self.x.rows();
        let scale = (2.0 / (n as f64 * n as f64)) as f32;
        let mut out = Vec::new();
        for (index, v) in self.views.iter().enumerate() {
            let other = &self.views[1 - index];
            out.extend(matmul(gpu, &v.z, &other.gram, false, &v.y)?);
            out.extend(spmm(gpu, &self.target, &other.z, &v.q)?);
            out.extend(normalize_rows_backward(
                gpu, &v.z, &v.norm, &v.y, &v.q, scale, &v.dh,
            )?);
            out.extend(column_sums(gpu, v.dh.data(), n, v.dh.cols(), &v.db)?);
            // dW = Xᵀ Ãᵗ dH: the chain starts from dH.
            let mut current = None;
            for _ in 0..self.order {
                let (source, target) = match current {
                    None => (&v.dh, 0),
                    Some(c) => (&v.chain[c], 1 - c),
                };
                out.extend(spmm(gpu, &self.smooth, source, &v.chain[target])?);
                current = Some(target);
            }
            let smoothed = current.map_or(&v.dh, |c| &v.chain[c]);
            out.extend(spmm(gpu, &self.xt, smoothed, &v.dw)?);
        }
        Ok(out)
    }

    /// Adam on every parameter, after [`record_gradients`](Self::record_gradients).
    fn record_update(&self) -> Result<Vec<crate::gpu::Dispatch>> {
        let mut out = Vec::new();
        for v in &self.views {
            out.extend(super::adam_layer(
                self.gpu,
                &self.adam,
                (&v.w, &v.dw),
                (&v.b, &v.db),
                &v.moments,
                &self.step,
            )?);
        }
        Ok(out)
    }

    /// One epoch: forward, gradients, Adam.
    fn record_epoch(&self) -> Result<Recording> {
        let mut recording = Recording::new("scgc.epoch");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        recording.extend(self.record_update()?);
        Ok(recording)
    }

    /// The gradients (dW₁, db₁, dW₂, db₂) at the current parameters, read back.
    pub fn gradients(&self) -> Result<[(Vec<f32>, Vec<f32>); 2]> {
        let mut recording = Recording::new("scgc.gradients");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        self.gpu.submit(&recording)?;
        let [first, second] = &self.views;
        let mut read = self
            .gpu
            .read_many(&[first.dw.data(), &first.db, second.dw.data(), &second.db])?
            .into_iter();
        let mut next = || read.next().unwrap_or_default();
        Ok([(next(), next()), (next(), next())])
    }

    /// The loss at the current parameters (a forward pass, the Grams and T·Z₂ read
    /// back, the sums in `f64` on the host).
    pub fn loss(&self) -> Result<f64> {
        let mut recording = Recording::new("scgc.loss");
        recording.extend(self.record_forward()?);
        let [first, second] = &self.views;
        recording.extend(spmm(self.gpu, &self.target, &second.z, &first.q)?);
        self.gpu.submit(&recording)?;
        let read = self.gpu.read_many(&[
            first.gram.data(),
            second.gram.data(),
            first.z.data(),
            first.q.data(),
        ])?;
        let trace: f64 = read[0]
            .iter()
            .zip(&read[1])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let cross: f64 = read[2]
            .iter()
            .zip(&read[3])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let n = self.x.rows() as f64;
        Ok((trace - 2.0 * cross + self.target_sq) / (n * n))
    }
}
