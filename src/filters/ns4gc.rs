//! NS4GC (Liu et al. 2024, "Reliable Node Similarity Matrix Guided Contrastive Graph
//! Clustering", arXiv 2408.03765; DESIGN.md §10b): a GCN encoder trained on two
//! augmented views of the graph so that the views' cosine similarities Z₁Z₂ᵀ are high
//! on the diagonal and on the edges and low elsewhere, trained without labels.
//!
//! # The model
//! Encoder, shared by both views: a GCN with layer widths F → h₁ → … → h_L
//! ([`Ns4gcOptions::hidden`]), H' = Â_v (H W_l) + 1 b_lᵀ, SELU between layers (none
//! after the last), rows L2-normalised at the end: Z_v = normalize(H_L). Initialisation:
//! W Glorot/Xavier uniform U(±√(6/(fan_in + fan_out))), b = 0, from the seed. The
//! features are row-normalised first (each row divided by the sum of its absolute
//! values, as the reference loads Planetoid through DGL; [`Ns4gcOptions::row_normalize`]).
//!
//! Two views per epoch, drawn afresh from the seeded generator: view v drops each
//! undirected edge with probability pd_v (both directions together: Â_v stays
//! symmetric, so the backward pass multiplies by Â_v itself; the paper's code drops the
//! directed entries of A independently), Â_v = D̃^-½ (A_v + I) D̃^-½, and masks each
//! feature column with probability pm_v (the same columns for every node).
//!
//! The loss, with E the directed entries of A (both directions) and M the pairs i ≠ j
//! not in E:
//!
//! L = −(1/N) Σ_i z1ᵢ·z2ᵢ − λ (1/|E|) Σ_{(i,j)∈E} z1ᵢ·z2ⱼ + γ mean_{(i,j)∈M} σ((z1ᵢ·z2ⱼ − s)/τ)
//!
//! The sparsity term (the last) is sampled, as the prototype's `spa_samples`: each epoch,
//! for each node i, m columns j drawn uniformly with replacement from all N nodes; a
//! pair outside M weighs 0, every other sample N/(m·|M|), an unbiased estimate of the
//! mean over M in O(N·m·d). The gradient with respect to Z₁ comes from these samples
//! (row i's), the one with respect to Z₂ from an independent second draw (per node j, m
//! nodes i), so both are row-local sparse products: g₁ = C₁Z₂ − PZ₂, g₂ = C₂Z₁ − PZ₁,
//! P = I/N + (λ/|E|)A, C_v the samples' coefficients γ·w·σ'(u)/τ. Both unbiased. The
//! prototype's estimate divides by the sampled count of pairs in M instead of its
//! expectation (a ratio estimator, unbiased only in the limit) and takes both
//! gradients from one draw. Adam with torch's L2 weight decay (wd·θ added to every
//! gradient, biases included).
//!
//! The embedding: the trained encoder on the full graph (no drop, no mask), rows
//! L2-normalised; k-means follows in [`crate::cluster::fit`].
//!
//! # On the GPU
//! Each view's Â_v, X_v and X_vᵀ keep the full graph's sparsity pattern (Â's, X's):
//! each epoch the host writes their values (a dropped edge or a masked column a
//! stored zero), O(nnz(Â) + nnz(X)) a view, and the samples' column ids and weights
//! (O(N·m)); the one epoch recording is replayed. Per view: `spmm` (X_v W₁), `spmm`
//! (Â_v), `bias_act` (SELU) and `matmul` per further layer, `normalize_rows`. Then
//! `pair_sigmoid` (the samples' coefficients), `spmm` (C_v Z_u, P Z_u),
//! `normalize_rows_backward`, and per layer `reduce_sum` (db), `spmm` (Â_v dH),
//! `matmul_tn_partial` + `reduce_sum` (dW) or `spmm` (X_vᵀ ·) for the first,
//! `matmul` (dP Wᵀ) and `act_backward` (SELU); the second view's gradients are added to
//! the first's with the weight decay by `lincomb`; `adam`. `pair_sigmoid` binds both
//! views' Z whole (a sample's column is any node): a graph whose N × d embedding
//! exceeds one storage binding is refused there ([`Error::BufferTooLarge`]) rather
//! than windowed. [`loss_and_gradients`] is
//! the host reference in `f64` the tests check the device's gradients and the finite
//! differences against.

use std::ops::ControlFlow;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::graph_features;
use crate::data::Graph;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, Recording, StepBuffer, StepParams};
use crate::kernels::act_backward::act_backward;
use crate::kernels::adam::AdamConfig;
use crate::kernels::bias_act::{bias_act, Activation, SELU_ALPHA, SELU_SCALE};
use crate::kernels::lincomb::{lincomb, Combination};
use crate::kernels::matmul::matmul;
use crate::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};
use crate::kernels::normalize_rows::normalize_rows;
use crate::kernels::normalize_rows_backward::normalize_rows_backward;
use crate::kernels::pair_sigmoid::{pair_sigmoid, PairSigmoid};
use crate::kernels::reduce_sum::column_sums;
use crate::kernels::spmm::spmm;
use crate::sparse::Csr;

/// The widest layer [`Ns4gcOptions::hidden`] allows.
pub const MAX_WIDTH: usize = 1024;

/// The most layers.
pub const MAX_LAYERS: usize = 8;

/// The most samples per node.
pub const MAX_SAMPLES: usize = 10_000;

/// Settings of [`ns4gc_embed`]; the defaults are NS4GC's published Cora setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Ns4gcOptions {
    /// The layers' widths h₁ … h_L (the last is the embedding's columns; above 64,
    /// k-means runs on the host).
    pub hidden: Vec<usize>,
    /// Training epochs (the last one's encoder is used).
    pub epochs: u32,
    /// Adam's learning rate.
    pub lr: f32,
    /// L2 weight decay (wd·θ added to every gradient, as torch's Adam).
    pub weight_decay: f32,
    /// λ: the neighbour term's weight.
    pub lambda: f32,
    /// γ: the sparsity term's weight.
    pub gamma: f32,
    /// s: the sigmoid's shift.
    pub shift: f32,
    /// τ: the sigmoid's temperature.
    pub temperature: f32,
    /// pd_v: each view's probability of dropping an undirected edge.
    pub edge_drop: [f32; 2],
    /// pm_v: each view's probability of masking a feature column.
    pub feature_mask: [f32; 2],
    /// m: the sparsity term's samples per node and epoch.
    pub samples: usize,
    /// Divide each feature row by the sum of its absolute values first (the
    /// reference's Planetoid rows sum to 1).
    pub row_normalize: bool,
}

impl Default for Ns4gcOptions {
    fn default() -> Self {
        Ns4gcOptions {
            hidden: vec![256, 64],
            epochs: 200,
            lr: 1e-3,
            weight_decay: 1e-5,
            lambda: 1.0,
            gamma: 1.0,
            shift: 0.6,
            temperature: 0.1,
            edge_drop: [0.3, 0.3],
            feature_mask: [0.2, 0.2],
            samples: 50,
            row_normalize: true,
        }
    }
}

impl Ns4gcOptions {
    /// NS4GC's published settings for its two citation graphs with features (the
    /// paper's params.txt): Cora's (the [`Default`]) and Citeseer's (one 256-wide layer,
    /// 50 epochs, s = 0.5, edges dropped with 0.6 / 0.8, feature columns masked with
    /// 0 / 0.4). `cluster --method ns4gc` trains both and keeps the one whose k-means
    /// partition has the lower Davies–Bouldin index ([`crate::cluster::fit`]).
    pub fn published_settings() -> Vec<Ns4gcOptions> {
        let citeseer = Ns4gcOptions {
            hidden: vec![256],
            epochs: 50,
            shift: 0.5,
            edge_drop: [0.6, 0.8],
            feature_mask: [0.0, 0.4],
            ..Ns4gcOptions::default()
        };
        vec![Ns4gcOptions::default(), citeseer]
    }

    /// Checks the settings (no device needed).
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, message: String| Err(Error::InvalidConfig { setting, message });
        if self.hidden.is_empty() || self.hidden.len() > MAX_LAYERS {
            return bad(
                "hidden",
                format!(
                    "the encoder has 1 to {MAX_LAYERS} layers, got {}",
                    self.hidden.len()
                ),
            );
        }
        if let Some(&w) = self.hidden.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
            return bad(
                "hidden",
                format!("a layer's width must be 1 to {MAX_WIDTH}, got {w}"),
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
        for (setting, v) in [
            ("weight_decay", self.weight_decay),
            ("lambda", self.lambda),
            ("gamma", self.gamma),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(setting, format!("must be finite and not negative, got {v}"));
            }
        }
        if !self.shift.is_finite() {
            return bad("shift", format!("must be finite, got {}", self.shift));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(
                "temperature",
                format!("must be positive, got {}", self.temperature),
            );
        }
        for (setting, pair) in [
            ("edge_drop", self.edge_drop),
            ("feature_mask", self.feature_mask),
        ] {
            if let Some(p) = pair.iter().find(|p| !(0.0..1.0).contains(*p)) {
                return bad(
                    setting,
                    format!("a probability in [0, 1) for each view, got {p}"),
                );
            }
        }
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return bad(
                "samples",
                format!(
                    "the sparsity term's samples per node must be 1 to {MAX_SAMPLES}, got {}",
                    self.samples
                ),
            );
        }
        Ok(())
    }

    /// The embedding's columns (the last layer's width).
    pub fn dim(&self) -> usize {
        self.hidden.last().copied().unwrap_or(0)
    }
}

/// One layer's parameters, host side: W (fan_in × fan_out, row-major) and b (fan_out).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    /// W.
    pub w: Vec<f32>,
    /// b.
    pub b: Vec<f32>,
}

/// The encoder's parameters as [`ns4gc_embed`] starts them: W Glorot uniform
/// U(±√(6/(fan_in + fan_out))) layer by layer from `seed`, b = 0.
pub fn initial_params(features: usize, hidden: &[usize], seed: u64) -> Vec<LayerParams> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fan_in = features;
    hidden
        .iter()
        .map(|&fan_out| {
            let bound = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt() as f32;
            let w = (0..fan_in * fan_out)
                .map(|_| rng.random_range(-bound..=bound))
                .collect();
            fan_in = fan_out;
            LayerParams {
                w,
                b: vec![0.0; fan_out],
            }
        })
        .collect()
}

/// The method's fixed operators on the host.
pub struct Ns4gcGraph {
    /// X (N × F), row-normalised if asked.
    pub x: Csr,
    /// Xᵀ.
    pub xt: Csr,
    /// A + I's pattern: the views' Â_v share it (values per view).
    pub smooth_pattern: Csr,
    /// Per entry of `smooth_pattern`: its undirected edge's index in `edges`, or
    /// `u32::MAX` on the diagonal.
    entry_edge: Vec<u32>,
    /// The undirected edges (i < j), sorted.
    pub edges: Vec<(u32, u32)>,
    /// A (both directions, sorted columns): membership tests for the samples.
    pub adjacency: Csr,
    /// P = I/N + (λ/|E|) A.
    pub neighbour: Csr,
}

impl Ns4gcGraph {
    /// The operators of `graph` (its features must be there) for λ = `lambda`.
    pub fn new(graph: &Graph, lambda: f32, row_normalize: bool) -> Result<Self> {
        let n = graph.num_nodes;
        let mut x = graph_features(graph, "ns4gc")?.clone();
        if row_normalize {
            let values: Vec<f32> = (0..x.rows())
                .flat_map(|r| {
                    let range = x.row_range(r);
                    let sum: f64 = x.values()[range.clone()]
                        .iter()
                        .map(|v| f64::from(v.abs()))
                        .sum();
                    let scale = if sum > 0.0 { 1.0 / sum } else { 1.0 };
                    x.values()[range]
                        .iter()
                        .map(move |&v| (f64::from(v) * scale) as f32)
                        .collect::<Vec<_>>()
                })
                .collect();
            x = x.with_values(values)?;
        }
        let edges = graph.edges.clone();
        let mut triplets: Vec<(u32, u32, f32)> = (0..n as u32).map(|i| (i, i, 1.0)).collect();
        let mut adjacency = Vec::with_capacity(2 * edges.len());
        for &(i, j) in &edges {
            adjacency.push((i, j, 1.0));
            adjacency.push((j, i, 1.0));
        }
        triplets.extend_from_slice(&adjacency);
        let smooth_pattern = Csr::from_triplets(n, n, &triplets)?;
        let mut entry_edge = Vec::with_capacity(smooth_pattern.nnz());
        for r in 0..n {
            for e in smooth_pattern.row_range(r) {
                let c = smooth_pattern.col_idx()[e];
                let r = r as u32;
                entry_edge.push(if c == r {
                    u32::MAX
                } else {
                    let key = (r.min(c), r.max(c));
                    edges.binary_search(&key).map_err(|_| Error::InvalidGraph {
                        message: format!("edge {key:?} is not among the graph's sorted edges"),
                    })? as u32
                });
            }
        }
        let adjacency = Csr::from_triplets(n, n, &adjacency)?;
        let directed = adjacency.nnz();
        let per_edge = if directed > 0 {
            f64::from(lambda) / directed as f64
        } else {
            0.0
        };
        let mut p_triplets: Vec<(u32, u32, f32)> = (0..n as u32)
            .map(|i| (i, i, (1.0 / n as f64) as f32))
            .collect();
        p_triplets.extend(
            graph
                .edges
                .iter()
                .flat_map(|&(i, j)| [(i, j, per_edge as f32), (j, i, per_edge as f32)]),
        );
        let neighbour = Csr::from_triplets(n, n, &p_triplets)?;
        Ok(Ns4gcGraph {
            xt: x.transpose(),
            x,
            smooth_pattern,
            entry_edge,
            edges,
            adjacency,
            neighbour,
        })
    }

    /// N.
    pub fn nodes(&self) -> usize {
        self.x.rows()
    }

    /// |M|: the ordered pairs i ≠ j that are not edges.
    pub fn non_edges(&self) -> u64 {
        let n = self.nodes() as u64;
        n * n.saturating_sub(1) - self.adjacency.nnz() as u64
    }

    /// Whether (i, j) is an entry of A.
    pub fn is_edge(&self, i: u32, j: u32) -> bool {
        let range = self.adjacency.row_range(i as usize);
        self.adjacency.col_idx()[range].binary_search(&j).is_ok()
    }

    /// The view that keeps every edge and feature (the embedding's).
    pub fn full_view(&self) -> ViewDraw {
        self.view(&vec![true; self.edges.len()], vec![true; self.x.cols()])
    }

    /// The view keeping the edges `kept` (per undirected edge) and the feature columns
    /// `columns`: Â_v = D̃^-½ (A_v + I) D̃^-½ on A + I's pattern (dropped edges stored
    /// as zeros).
    pub fn view(&self, kept: &[bool], columns: Vec<bool>) -> ViewDraw {
        let n = self.nodes();
        let mut degree = vec![1f64; n];
        for (&(i, j), _) in self.edges.iter().zip(kept).filter(|(_, &k)| k) {
            degree[i as usize] += 1.0;
            degree[j as usize] += 1.0;
        }
        let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
        let mut values = Vec::with_capacity(self.smooth_pattern.nnz());
        for r in 0..n {
            for e in self.smooth_pattern.row_range(r) {
                let c = self.smooth_pattern.col_idx()[e] as usize;
                let edge = self.entry_edge[e];
                let on = edge == u32::MAX || kept[edge as usize];
                values.push(if on {
                    (inv_sqrt[r] * inv_sqrt[c]) as f32
                } else {
                    0.0
                });
            }
        }
        ViewDraw {
            smooth: values,
            columns,
        }
    }

    /// X_v's values (masked columns zero) in X's storage order.
    pub fn x_values(&self, columns: &[bool]) -> Vec<f32> {
        self.x
            .col_idx()
            .iter()
            .zip(self.x.values())
            .map(|(&c, &v)| if columns[c as usize] { v } else { 0.0 })
            .collect()
    }

    /// X_vᵀ's values in Xᵀ's storage order.
    pub fn xt_values(&self, columns: &[bool]) -> Vec<f32> {
        (0..self.xt.rows())
            .flat_map(|c| {
                let keep = columns[c];
                self.xt.values()[self.xt.row_range(c)]
                    .iter()
                    .map(move |&v| if keep { v } else { 0.0 })
            })
            .collect()
    }

    /// One draw of the sparsity term's samples: per row (node of one view) `m` columns
    /// (nodes of the other) uniform with replacement, sorted; weight N/(m·|M|) for a
    /// pair in M, 0 otherwise (0 everywhere when M is empty).
    pub fn draw_samples(&self, rng: &mut StdRng, m: usize) -> Result<Csr> {
        let n = self.nodes();
        let non_edges = self.non_edges();
        let weight = if non_edges > 0 {
            (n as f64 / (m as f64 * non_edges as f64)) as f32
        } else {
            0.0
        };
        let mut col_idx = Vec::with_capacity(n * m);
        let mut values = Vec::with_capacity(n * m);
        let mut row = Vec::with_capacity(m);
        for i in 0..n as u32 {
            row.clear();
            row.extend((0..m).map(|_| rng.random_range(0..n as u32)));
            row.sort_unstable();
            for &j in &row {
                col_idx.push(j);
                values.push(if j != i && !self.is_edge(i, j) {
                    weight
                } else {
                    0.0
                });
            }
        }
        let row_ptr = (0..=n).map(|i| (i * m) as u32).collect();
        Csr::new(n, n, row_ptr, col_idx, values)
    }
}

/// One view of an epoch: Â_v's values on A + I's pattern and the kept feature columns.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewDraw {
    /// Â_v's values in [`Ns4gcGraph::smooth_pattern`]'s storage order.
    pub smooth: Vec<f32>,
    /// Per feature column: kept.
    pub columns: Vec<bool>,
}

/// Everything one epoch draws: the two views and the two sample sets (rows of the
/// first: nodes of view 1, columns nodes of view 2; the second the other way round).
#[derive(Clone, Debug)]
pub struct EpochDraw {
    /// The views.
    pub views: [ViewDraw; 2],
    /// The samples for Z₁'s and Z₂'s gradients (weights as values).
    pub samples: [Csr; 2],
}

/// The per-epoch draws from the seeded generator: view 1's edges (one uniform per
/// undirected edge) and columns, view 2's, then the two sample sets.
pub struct Sampler {
    rng: StdRng,
}

impl Sampler {
    /// A generator for `seed` (its own stream, apart from the initialisation's).
    pub fn new(seed: u64) -> Self {
        Sampler {
            rng: StdRng::seed_from_u64(seed ^ 0x6e73_3467_635f_6570),
        }
    }

    /// The next epoch's draw.
    pub fn draw(&mut self, graph: &Ns4gcGraph, options: &Ns4gcOptions) -> Result<EpochDraw> {
        let mut view = |v: usize| {
            let kept: Vec<bool> = (0..graph.edges.len())
                .map(|_| self.rng.random::<f32>() >= options.edge_drop[v])
                .collect();
            let columns: Vec<bool> = (0..graph.x.cols())
                .map(|_| self.rng.random::<f32>() >= options.feature_mask[v])
                .collect();
            graph.view(&kept, columns)
        };
        let views = [view(0), view(1)];
        let samples = [
            graph.draw_samples(&mut self.rng, options.samples)?,
            graph.draw_samples(&mut self.rng, options.samples)?,
        ];
        Ok(EpochDraw { views, samples })
    }
}

/// σ(x), stable.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The sampled sparsity estimate Σ_e w_e σ((z1_i·z2_j − s)/τ) over the entries (i, j)
/// of `samples` (rows index `z1`), in `f64`.
pub fn sparsity_estimate(
    z1: &[f64],
    z2: &[f64],
    d: usize,
    samples: &Csr,
    shift: f64,
    temperature: f64,
) -> f64 {
    let mut total = 0.0;
    for i in 0..samples.rows() {
        for e in samples.row_range(i) {
            let j = samples.col_idx()[e] as usize;
            let dot: f64 = (0..d).map(|c| z1[i * d + c] * z2[j * d + c]).sum();
            total += f64::from(samples.values()[e]) * sigmoid((dot - shift) / temperature);
        }
    }
    total
}

/// The exact sparsity mean over M (O(N²d)): for tests on small graphs.
pub fn sparsity_exact(
    graph: &Ns4gcGraph,
    z1: &[f64],
    z2: &[f64],
    d: usize,
    shift: f64,
    temperature: f64,
) -> f64 {
    let n = graph.nodes();
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i != j && !graph.is_edge(i as u32, j as u32) {
                let dot: f64 = (0..d).map(|c| z1[i * d + c] * z2[j * d + c]).sum();
                total += sigmoid((dot - shift) / temperature);
            }
        }
    }
    if graph.non_edges() > 0 {
        total / graph.non_edges() as f64
    } else {
        0.0
    }
}

/// One layer's gradients on the host: (dW, db).
pub type LayerGradients = (Vec<f64>, Vec<f64>);

/// a · m for a sparse a (given its values) and m dense (a.cols() × cols), in `f64`.
pub(super) fn csr_times(a: &Csr, values: &[f32], m: &[f64], cols: usize) -> Vec<f64> {
    let mut out = vec![0f64; a.rows() * cols];
    for r in 0..a.rows() {
        for e in a.row_range(r) {
            let (c, v) = (a.col_idx()[e] as usize, f64::from(values[e]));
            for k in 0..cols {
                out[r * cols + k] += v * m[c * cols + k];
            }
        }
    }
    out
}

/// a (rows × inner) · b (inner × cols), dense, `f64`.
pub(super) fn dense_times(a: &[f64], b: &[f64], inner: usize, cols: usize) -> Vec<f64> {
    let rows = a.len() / inner.max(1);
    let mut out = vec![0f64; rows * cols];
    for r in 0..rows {
        for k in 0..inner {
            let v = a[r * inner + k];
            for c in 0..cols {
                out[r * cols + c] += v * b[k * cols + c];
            }
        }
    }
    out
}

fn selu(v: f64) -> f64 {
    let (scale, alpha) = (SELU_SCALE, SELU_ALPHA);
    if v > 0.0 {
        scale * v
    } else {
        scale * alpha * v.exp_m1()
    }
}

fn selu_slope(v: f64) -> f64 {
    let (scale, alpha) = (SELU_SCALE, SELU_ALPHA);
    if v > 0.0 {
        scale
    } else {
        scale * alpha * v.exp()
    }
}

/// One view's forward pass on the host: every layer's input (after the activation)
/// and pre-activation, Z and the row norms.
struct HostForward {
    /// Layer l's input A_{l−1} (l ≥ 1; index l − 1).
    inputs: Vec<Vec<f64>>,
    /// Layer l's pre-activation Â(A W) + b.
    pre: Vec<Vec<f64>>,
    z: Vec<f64>,
    norms: Vec<f64>,
}

fn host_forward(graph: &Ns4gcGraph, view: &ViewDraw, params: &[LayerParams]) -> HostForward {
    let x_values = graph.x_values(&view.columns);
    let mut inputs = Vec::new();
    let mut pre = Vec::new();
    let mut current: Option<Vec<f64>> = None;
    let mut fan_in = graph.x.cols();
    for p in params {
        let fan_out = p.b.len();
        let w: Vec<f64> = p.w.iter().map(|&v| f64::from(v)).collect();
        let product = match &current {
            None => csr_times(&graph.x, &x_values, &w, fan_out),
            Some(a) => dense_times(a, &w, fan_in, fan_out),
        };
        let mut h = csr_times(&graph.smooth_pattern, &view.smooth, &product, fan_out);
        for row in h.chunks_exact_mut(fan_out) {
            for (v, &b) in row.iter_mut().zip(&p.b) {
                *v += f64::from(b);
            }
        }
        if let Some(a) = current.take() {
            inputs.push(a);
        }
        current = Some(h.iter().map(|&v| selu(v)).collect());
        pre.push(h);
        fan_in = fan_out;
    }
    let h = pre.last().cloned().unwrap_or_default();
    let d = fan_in;
    let norms: Vec<f64> = h
        .chunks_exact(d)
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12))
        .collect();
    let z = h
        .chunks_exact(d)
        .zip(&norms)
        .flat_map(|(r, &s)| r.iter().map(move |v| v / s))
        .collect();
    HostForward {
        inputs,
        pre,
        z,
        norms,
    }
}

/// Back through one view's encoder from g = ∂L/∂Z: every layer's (dW, db).
fn host_backward(
    graph: &Ns4gcGraph,
    view: &ViewDraw,
    params: &[LayerParams],
    forward: &HostForward,
    g: &[f64],
) -> Vec<LayerGradients> {
    let n = graph.nodes();
    let layers = params.len();
    let d = params[layers - 1].b.len();
    // Through the normalisation.
    let mut dh = vec![0f64; n * d];
    for i in 0..n {
        let zi = &forward.z[i * d..(i + 1) * d];
        let gi = &g[i * d..(i + 1) * d];
        let along: f64 = zi.iter().zip(gi).map(|(a, b)| a * b).sum();
        for c in 0..d {
            dh[i * d + c] = (gi[c] - zi[c] * along) / forward.norms[i];
        }
    }
    let mut grads = vec![(Vec::new(), Vec::new()); layers];
    for l in (0..layers).rev() {
        let fan_out = params[l].b.len();
        let db: Vec<f64> = (0..fan_out)
            .map(|c| (0..n).map(|i| dh[i * fan_out + c]).sum())
            .collect();
        let dp = csr_times(&graph.smooth_pattern, &view.smooth, &dh, fan_out);
        let dw = if l == 0 {
            let xt_values = graph.xt_values(&view.columns);
            csr_times(&graph.xt, &xt_values, &dp, fan_out)
        } else {
            let a = &forward.inputs[l - 1];
            let fan_in = params[l - 1].b.len();
            let mut dw = vec![0f64; fan_in * fan_out];
            for i in 0..n {
                for k in 0..fan_in {
                    let v = a[i * fan_in + k];
                    for c in 0..fan_out {
                        dw[k * fan_out + c] += v * dp[i * fan_out + c];
                    }
                }
            }
            // dA = dP Wᵀ, then through SELU at the previous pre-activation.
            let w = &params[l].w;
            let pre = &forward.pre[l - 1];
            let mut next = vec![0f64; n * fan_in];
            for i in 0..n {
                for k in 0..fan_in {
                    let da: f64 = (0..fan_out)
                        .map(|c| dp[i * fan_out + c] * f64::from(w[k * fan_out + c]))
                        .sum();
                    next[i * fan_in + k] = da * selu_slope(pre[i * fan_in + k]);
                }
            }
            dh = next;
            dw
        };
        grads[l] = (dw, db);
    }
    grads
}

/// The loss and its gradients per layer (dW, db) at `params` for one epoch's `draw`,
/// on the host in `f64`: the reference the device's gradients are checked against.
/// The loss's sparsity term is draw 1's estimate; Z₁'s gradient comes from draw 1 and
/// Z₂'s from draw 2 (pass draw 2 = draw 1ᵀ for the gradient of this one loss). The
/// weight decay enters as (wd/2)·‖θ‖² (its gradient wd·θ, as torch's Adam adds).
pub fn loss_and_gradients(
    graph: &Ns4gcGraph,
    options: &Ns4gcOptions,
    draw: &EpochDraw,
    params: &[LayerParams],
) -> (f64, Vec<LayerGradients>) {
    let n = graph.nodes();
    let d = params.last().map_or(0, |p| p.b.len());
    let (shift, tau, gamma) = (
        f64::from(options.shift),
        f64::from(options.temperature),
        f64::from(options.gamma),
    );
    let f1 = host_forward(graph, &draw.views[0], params);
    let f2 = host_forward(graph, &draw.views[1], params);
    // −Σ z1ᵢ·(P Z₂)ᵢ = the alignment and neighbour terms.
    let q1 = csr_times(&graph.neighbour, graph.neighbour.values(), &f2.z, d);
    let q2 = csr_times(&graph.neighbour, graph.neighbour.values(), &f1.z, d);
    let pull: f64 = f1.z.iter().zip(&q1).map(|(a, b)| a * b).sum();
    let sparsity = sparsity_estimate(&f1.z, &f2.z, d, &draw.samples[0], shift, tau);
    let decay: f64 = params
        .iter()
        .flat_map(|p| p.w.iter().chain(&p.b))
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        * 0.5
        * f64::from(options.weight_decay);
    let loss = -pull + gamma * sparsity + decay;
    // g = C Z_other − P Z_other.
    let gradient = |samples: &Csr, z: &[f64], other: &[f64], q: &[f64]| {
        let mut g: Vec<f64> = q.iter().map(|v| -v).collect();
        for i in 0..n {
            for e in samples.row_range(i) {
                let j = samples.col_idx()[e] as usize;
                let dot: f64 = (0..d).map(|c| z[i * d + c] * other[j * d + c]).sum();
                let s = sigmoid((dot - shift) / tau);
                let coef = gamma * f64::from(samples.values()[e]) * s * (1.0 - s) / tau;
                for c in 0..d {
                    g[i * d + c] += coef * other[j * d + c];
                }
            }
        }
        g
    };
    let g1 = gradient(&draw.samples[0], &f1.z, &f2.z, &q1);
    let g2 = gradient(&draw.samples[1], &f2.z, &f1.z, &q2);
    let b1 = host_backward(graph, &draw.views[0], params, &f1, &g1);
    let b2 = host_backward(graph, &draw.views[1], params, &f2, &g2);
    let wd = f64::from(options.weight_decay);
    let grads = b1
        .into_iter()
        .zip(b2)
        .zip(params)
        .map(|(((w1, c1), (w2, c2)), p)| {
            let dw = w1
                .iter()
                .zip(&w2)
                .zip(&p.w)
                .map(|((a, b), &w)| a + b + wd * f64::from(w))
                .collect();
            let db = c1
                .iter()
                .zip(&c2)
                .zip(&p.b)
                .map(|((a, b), &v)| a + b + wd * f64::from(v))
                .collect();
            (dw, db)
        })
        .collect();
    (loss, grads)
}

/// One epoch heard by [`ns4gc_embed`]'s callback.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ns4gcEpoch {
    /// The epoch (1-based).
    pub epoch: u32,
    /// Of how many.
    pub epochs: u32,
    /// The loss (its sampled estimate, weight decay excluded) at the start of this
    /// epoch where it was computed (the first and every 50th), else `None`.
    pub loss: Option<f64>,
}

/// What [`ns4gc_embed`] found.
#[derive(Clone, Debug)]
pub struct Ns4gcOutcome {
    /// The encoder's unit rows on the full graph (n × dim).
    pub embeddings: Vec<f32>,
    /// Columns.
    pub dim: usize,
    /// The loss after the last epoch (with that epoch's last draw).
    pub final_loss: f64,
}

/// Trains the encoder on `graph` as the module docs say and returns the embedding to
/// cluster. `progress` hears every epoch and may stop training (`Error::Interrupted`).
pub fn ns4gc_embed(
    gpu: &Gpu,
    graph: &Graph,
    seed: u64,
    options: &Ns4gcOptions,
    progress: &mut dyn FnMut(&Ns4gcEpoch) -> ControlFlow<()>,
) -> Result<Ns4gcOutcome> {
    options.validate()?;
    let features = graph_features(graph, "ns4gc")?.cols();
    let device_is_host = crate::memory::device_memory_is_host(&gpu.report().device_type);
    check_dense_buffers(device_is_host, graph.num_nodes, features, options)?;
    let host = Ns4gcGraph::new(graph, options.lambda, options.row_normalize)?;
    let params = initial_params(features, &options.hidden, seed);
    let device = DeviceNs4gc::new(gpu, &host, options, &params)?;
    let mut sampler = Sampler::new(seed);
    let epoch_recording = device.record_epoch()?;
    let mut draw = sampler.draw(&host, options)?;
    for epoch in 1..=options.epochs {
        device.write_draw(&host, &draw)?;
        let loss = (epoch == 1 || epoch % 50 == 0)
            .then(|| device.loss())
            .transpose()?;
        device.step.write(gpu, StepParams::for_epoch(epoch - 1));
        gpu.submit(&epoch_recording)?;
        // The next draw on the host while the device runs this epoch.
        if epoch < options.epochs {
            draw = sampler.draw(&host, options)?;
        }
        let report = Ns4gcEpoch {
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
    let final_loss = device.loss()?;
    let embeddings = device.embed(&host)?;
    Ok(Ns4gcOutcome {
        embeddings: super::l2_rows(embeddings, options.dim()),
        dim: options.dim(),
        final_loss,
    })
}

/// Bytes of the dense f32 buffers [`ns4gc_embed`] trains with, from the shape alone:
/// per layer W, its two views' gradients and Adam's moments (5·fan_in·fan_out), its
/// dW partial blocks (layers after the first: chunks·fan_in·fan_out), the bias's five
/// arrays; per view and layer the product, the pre-activation and (but the last) the
/// activation (N·h each), and per layer the shared dH, dP and (but the last) dA; per
/// view Z, C Z, P Z (3·N·d), the
/// row norms, and the samples' values and coefficients (2·N·m). The sparse operators
/// and the samples' column ids (O(nnz + N·m)) are not counted.
pub fn dense_buffer_bytes(nodes: usize, features: usize, options: &Ns4gcOptions) -> u64 {
    let (n, d, m) = (nodes as u64, options.dim() as u64, options.samples as u64);
    let mut words = 0u64;
    let mut fan_in = features as u64;
    let last = options.hidden.len().saturating_sub(1);
    for (l, &h) in options.hidden.iter().enumerate() {
        let h = h as u64;
        words += 5 * fan_in * h + 5 * h;
        if l > 0 {
            words += chunks(nodes) as u64 * fan_in * h;
        }
        // The activation and its gradient exist for the hidden layers only.
        let per_node = if l < last { 3 } else { 2 };
        words += 2 * per_node * n * h + per_node * n * h;
        fan_in = h;
    }
    words += 2 * (3 * n * d + n + 2 * n * m);
    words * 4
}

/// Refuses ([`Error::InsufficientMemory`]) before training when the dense buffers
/// exceed the host memory available now, on an adapter whose device memory is host
/// memory (a CPU adapter such as lavapipe); a GPU reports its own allocation failures.
pub fn check_dense_buffers(
    device_is_host: bool,
    nodes: usize,
    features: usize,
    options: &Ns4gcOptions,
) -> Result<()> {
    if !device_is_host {
        return Ok(());
    }
    crate::memory::check_host_memory(
        || {
            format!(
                "ns4gc's buffers ({nodes} nodes, {features} feature columns, layers {:?}, \
                 {} samples a node: the encoder's weights with their gradients and Adam's \
                 moments, two views' N × h activations)",
                options.hidden, options.samples
            )
        },
        dense_buffer_bytes(nodes, features, options),
    )
}

/// One layer's parameters and gradients on the device.
struct DeviceLayer {
    w: GpuMatrix,
    b: GpuArray<f32>,
    /// The total gradient (view 1's, then view 2's and the decay added).
    dw: GpuMatrix,
    db: GpuArray<f32>,
    /// View 2's gradient.
    dw_second: GpuMatrix,
    db_second: GpuArray<f32>,
    /// The dW partial blocks (layers after the first).
    partial: Option<GpuArray<f32>>,
    /// Adam's moments of W and b.
    moments: [GpuArray<f32>; 4],
}

/// One view's operators and activations on the device.
struct DeviceView {
    x: GpuCsr,
    xt: GpuCsr,
    smooth: GpuCsr,
    /// Per layer: X_v W or A W.
    product: Vec<GpuMatrix>,
    /// Per layer: Â_v · product (the bias is added by the activation or the
    /// normalisation).
    pre: Vec<GpuMatrix>,
    /// Per hidden layer (all but the last): SELU(pre + b).
    act: Vec<GpuMatrix>,
    z: GpuMatrix,
    norm: GpuArray<f32>,
    /// The samples for this view's gradient (weights as values) and the CSR of their
    /// coefficients over the same pattern.
    samples: GpuCsr,
    coef: GpuCsr,
    /// w·σ(u) per sample.
    value: GpuArray<f32>,
    /// C_v Z_other and P Z_other.
    y: GpuMatrix,
    q: GpuMatrix,
}

/// The method's buffers on the device.
pub struct DeviceNs4gc<'a> {
    gpu: &'a Gpu,
    neighbour: GpuCsr,
    shape: PairSigmoid,
    weight_decay: f32,
    adam: AdamConfig,
    step: StepBuffer,
    layers: Vec<DeviceLayer>,
    views: [DeviceView; 2],
    /// Per layer: the backward pass's dH, dP and (but the last) dA, shared by the views.
    dh: Vec<GpuMatrix>,
    dp: Vec<GpuMatrix>,
    da: Vec<GpuMatrix>,
}

impl<'a> DeviceNs4gc<'a> {
    /// Uploads the operators and `params`; Adam's moments start at zero. The views'
    /// values are written per epoch by [`write_draw`](Self::write_draw).
    pub fn new(
        gpu: &'a Gpu,
        host: &Ns4gcGraph,
        options: &Ns4gcOptions,
        params: &[LayerParams],
    ) -> Result<Self> {
        let n = host.nodes();
        let label = |what: &str| format!("gpu_vgae.ns4gc.{what}");
        let widths = &options.hidden;
        let mut fan_in = host.x.cols();
        let mut layers = Vec::with_capacity(widths.len());
        for (l, (&fan_out, p)) in widths.iter().zip(params).enumerate() {
            layers.push(DeviceLayer {
                w: gpu.upload_matrix(&label("w"), fan_in, fan_out, &p.w)?,
                b: gpu.upload(&label("b"), &p.b)?,
                dw: gpu.alloc_matrix(&label("dw"), fan_in, fan_out)?,
                db: gpu.alloc(&label("db"), fan_out)?,
                dw_second: gpu.alloc_matrix(&label("dw_second"), fan_in, fan_out)?,
                db_second: gpu.alloc(&label("db_second"), fan_out)?,
                partial: if l > 0 {
                    Some(gpu.alloc(&label("dw_partial"), chunks(n) * fan_in * fan_out)?)
                } else {
                    None
                },
                moments: [
                    gpu.zeros(&label("adam_m_w"), fan_in * fan_out)?,
                    gpu.zeros(&label("adam_v_w"), fan_in * fan_out)?,
                    gpu.zeros(&label("adam_m_b"), fan_out)?,
                    gpu.zeros(&label("adam_v_b"), fan_out)?,
                ],
            });
            fan_in = fan_out;
        }
        let d = options.dim();
        let m = options.samples;
        let nm = n.saturating_mul(m);
        crate::kernels::to_u32("ns4gc samples (nodes × samples)", nm)?;
        let sample_row_ptr: Arc<[u32]> = (0..=n).map(|i| (i * m) as u32).collect();
        let view = || -> Result<DeviceView> {
            let row_ptr = gpu.upload(&label("samples.row_ptr"), &sample_row_ptr)?;
            let col_idx = gpu.zeros::<u32>(&label("samples.col_idx"), nm)?;
            let weights = gpu.zeros::<f32>(&label("samples.weight"), nm)?;
            let coef = gpu.zeros::<f32>(&label("samples.coef"), nm)?;
            let samples = GpuCsr::from_parts(n, n, row_ptr.clone(), col_idx.clone(), weights)?
                .with_host_row_ptr(sample_row_ptr.clone())?;
            let coef = GpuCsr::from_parts(n, n, row_ptr, col_idx, coef)?
                .with_host_row_ptr(sample_row_ptr.clone())?;
            let hidden = &widths[..widths.len() - 1];
            Ok(DeviceView {
                x: gpu.upload_csr(&label("x"), &host.x)?,
                xt: gpu.upload_csr(&label("xt"), &host.xt)?,
                smooth: gpu.upload_csr(&label("smooth"), &host.smooth_pattern)?,
                product: widths
                    .iter()
                    .map(|&h| gpu.alloc_matrix(&label("product"), n, h))
                    .collect::<Result<_>>()?,
                pre: widths
                    .iter()
                    .map(|&h| gpu.alloc_matrix(&label("pre"), n, h))
                    .collect::<Result<_>>()?,
                act: hidden
                    .iter()
                    .map(|&h| gpu.alloc_matrix(&label("act"), n, h))
                    .collect::<Result<_>>()?,
                z: gpu.alloc_matrix(&label("z"), n, d)?,
                norm: gpu.alloc(&label("norm"), n)?,
                samples,
                coef,
                value: gpu.alloc(&label("samples.value"), nm)?,
                y: gpu.alloc_matrix(&label("y"), n, d)?,
                q: gpu.alloc_matrix(&label("q"), n, d)?,
            })
        };
        let shared = |what: &str, count: usize| -> Result<Vec<GpuMatrix>> {
            widths[..count]
                .iter()
                .map(|&h| gpu.alloc_matrix(&label(what), n, h))
                .collect()
        };
        Ok(DeviceNs4gc {
            gpu,
            neighbour: gpu.upload_csr(&label("neighbour"), &host.neighbour)?,
            shape: PairSigmoid {
                shift: options.shift,
                temperature: options.temperature,
                gain: options.gamma,
            },
            weight_decay: options.weight_decay,
            adam: AdamConfig {
                lr: options.lr,
                ..AdamConfig::default()
            },
            step: gpu.step_buffer(StepParams::for_epoch(0)),
            layers,
            views: [view()?, view()?],
            dh: shared("dh", widths.len())?,
            dp: shared("dp", widths.len())?,
            da: shared("da", widths.len() - 1)?,
        })
    }

    /// Bytes of the dense buffers as allocated (what [`dense_buffer_bytes`] estimates).
    pub fn dense_bytes(&self) -> u64 {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.w, &l.dw, &l.dw_second]
                    .iter()
                    .map(|m| m.data().len())
                    .sum::<usize>()
                    + [&l.b, &l.db, &l.db_second]
                        .iter()
                        .map(|a| a.len())
                        .sum::<usize>()
                    + l.moments.iter().map(|a| a.len()).sum::<usize>()
                    + l.partial.as_ref().map_or(0, |p| p.len())
            })
            .sum();
        let views: usize = self
            .views
            .iter()
            .map(|v| {
                v.product
                    .iter()
                    .chain(&v.pre)
                    .chain(&v.act)
                    .chain([&v.z, &v.y, &v.q])
                    .map(|m| m.data().len())
                    .sum::<usize>()
                    + v.norm.len()
                    + v.value.len()
                    + v.coef.values.len()
            })
            .sum();
        let shared: usize = self
            .dh
            .iter()
            .chain(&self.dp)
            .chain(&self.da)
            .map(|m| m.data().len())
            .sum();
        (layers + views + shared) as u64 * 4
    }

    /// Writes one epoch's views and samples into the device's operators.
    pub fn write_draw(&self, host: &Ns4gcGraph, draw: &EpochDraw) -> Result<()> {
        for (v, (view, samples)) in self.views.iter().zip(draw.views.iter().zip(&draw.samples)) {
            self.write_view(host, v, view)?;
            v.samples.col_idx.write(self.gpu, samples.col_idx())?;
            v.samples.values.write(self.gpu, samples.values())?;
        }
        Ok(())
    }

    fn write_view(&self, host: &Ns4gcGraph, v: &DeviceView, view: &ViewDraw) -> Result<()> {
        v.smooth.values.write(self.gpu, &view.smooth)?;
        v.x.values.write(self.gpu, &host.x_values(&view.columns))?;
        v.xt.values
            .write(self.gpu, &host.xt_values(&view.columns))?;
        Ok(())
    }

    /// One view's forward pass: its Z and row norms.
    fn record_view_forward(&self, v: &DeviceView) -> Result<Vec<Dispatch>> {
        let gpu = self.gpu;
        let last = self.layers.len() - 1;
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            if l == 0 {
                out.extend(spmm(gpu, &v.x, &layer.w, &v.product[0])?);
            } else {
                out.extend(matmul(gpu, &v.act[l - 1], &layer.w, false, &v.product[l])?);
            }
            out.extend(spmm(gpu, &v.smooth, &v.product[l], &v.pre[l])?);
            if l < last {
                out.extend(bias_act(
                    gpu,
                    &v.pre[l],
                    Some(&layer.b),
                    Activation::Selu,
                    &v.act[l],
                )?);
            } else {
                out.extend(normalize_rows(gpu, &v.pre[l], &layer.b, &v.z, &v.norm)?);
            }
        }
        Ok(out)
    }

    /// Both views' forward passes and the samples' values and coefficients.
    fn record_forward(&self) -> Result<Vec<Dispatch>> {
        let mut out = Vec::new();
        for v in &self.views {
            out.extend(self.record_view_forward(v)?);
        }
        for (index, v) in self.views.iter().enumerate() {
            let other = &self.views[1 - index];
            out.push(pair_sigmoid(
                self.gpu,
                &v.samples,
                &v.z,
                &other.z,
                self.shape,
                &v.value,
                &v.coef.values,
            )?);
        }
        Ok(out)
    }

    /// The backward pass after [`record_forward`](Self::record_forward): every layer's
    /// dW and db, both views and the weight decay summed.
    fn record_gradients(&self) -> Result<Vec<Dispatch>> {
        let gpu = self.gpu;
        let n = self.neighbour.rows();
        let last = self.layers.len() - 1;
        let mut out = Vec::new();
        for (index, v) in self.views.iter().enumerate() {
            let other = &self.views[1 - index];
            out.extend(spmm(gpu, &v.coef, &other.z, &v.y)?);
            out.extend(spmm(gpu, &self.neighbour, &other.z, &v.q)?);
            out.extend(normalize_rows_backward(
                gpu,
                &v.z,
                &v.norm,
                &v.y,
                &v.q,
                1.0,
                &self.dh[last],
            )?);
            for (l, layer) in self.layers.iter().enumerate().rev() {
                let (dw, db) = match index {
                    0 => (&layer.dw, &layer.db),
                    _ => (&layer.dw_second, &layer.db_second),
                };
                let dh = &self.dh[l];
                out.extend(column_sums(gpu, dh.data(), n, dh.cols(), db)?);
                out.extend(spmm(gpu, &v.smooth, dh, &self.dp[l])?);
                if l == 0 {
                    out.extend(spmm(gpu, &v.xt, &self.dp[0], dw)?);
                    continue;
                }
                let partial = layer
                    .partial
                    .as_ref()
                    .ok_or_else(|| Error::InvalidArgument {
                        argument: "layers",
                        message: "a layer after the first without its partial blocks".into(),
                    })?;
                out.extend(matmul_tn_partial(gpu, &v.act[l - 1], &self.dp[l], partial)?);
                out.extend(column_sums(
                    gpu,
                    partial,
                    chunks(n),
                    dw.rows() * dw.cols(),
                    dw.data(),
                )?);
                out.extend(matmul(gpu, &self.dp[l], &layer.w, true, &self.da[l - 1])?);
                out.extend(act_backward(
                    gpu,
                    self.da[l - 1].data(),
                    v.act[l - 1].data(),
                    Activation::Selu,
                    self.dh[l - 1].data(),
                )?);
            }
        }
        // dW += dW₂ + wd·W (and the biases).
        let sum = Combination {
            alpha: 1.0,
            beta: self.weight_decay,
            accumulate: true,
        };
        for layer in &self.layers {
            out.extend(lincomb(
                gpu,
                layer.dw_second.data(),
                Some(layer.w.data()),
                None,
                sum,
                layer.dw.data(),
            )?);
            out.extend(lincomb(
                gpu,
                &layer.db_second,
                Some(&layer.b),
                None,
                sum,
                &layer.db,
            )?);
        }
        Ok(out)
    }

    /// Adam on every parameter, after [`record_gradients`](Self::record_gradients).
    fn record_update(&self) -> Result<Vec<Dispatch>> {
        let mut out = Vec::new();
        for layer in &self.layers {
            out.extend(super::adam_layer(
                self.gpu,
                &self.adam,
                (&layer.w, &layer.dw),
                (&layer.b, &layer.db),
                &layer.moments,
                &self.step,
            )?);
        }
        Ok(out)
    }

    /// One epoch: forward, gradients, Adam.
    fn record_epoch(&self) -> Result<Recording> {
        let mut recording = Recording::new("ns4gc.epoch");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        recording.extend(self.record_update()?);
        Ok(recording)
    }

    /// The gradients per layer (dW, db) at the current parameters and the draw
    /// written last, read back.
    pub fn gradients(&self) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let mut recording = Recording::new("ns4gc.gradients");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        let layers: Vec<_> = self.layers.iter().map(|l| (&l.dw, &l.db)).collect();
        super::read_gradients(self.gpu, &recording, &layers)
    }

    /// The loss at the current parameters and the draw written last, weight decay
    /// excluded: −Σ z1ᵢ·(P Z₂)ᵢ + γ Σ draw 1's w·σ(u), summed in `f64` on the host.
    pub fn loss(&self) -> Result<f64> {
        let mut recording = Recording::new("ns4gc.loss");
        recording.extend(self.record_forward()?);
        let [first, second] = &self.views;
        recording.extend(spmm(self.gpu, &self.neighbour, &second.z, &first.q)?);
        self.gpu.submit(&recording)?;
        let read = self
            .gpu
            .read_many(&[first.z.data(), first.q.data(), &first.value])?;
        let pull: f64 = read[0]
            .iter()
            .zip(&read[1])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let sparsity: f64 = read[2].iter().map(|&v| f64::from(v)).sum();
        Ok(-pull + f64::from(self.shape.gain) * sparsity)
    }

    /// The encoder's Z on the full graph (no drop, no mask), through view 1's buffers
    /// (which the next [`write_draw`](Self::write_draw) overwrites).
    pub fn embed(&self, host: &Ns4gcGraph) -> Result<Vec<f32>> {
        let first = &self.views[0];
        self.write_view(host, first, &host.full_view())?;
        let mut recording = Recording::new("ns4gc.embed");
        recording.extend(self.record_view_forward(first)?);
        self.gpu.submit(&recording)?;
        self.gpu.read(first.z.data())
    }
}
