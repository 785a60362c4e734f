//! MAGI (Liu et al., KDD 2024, "Revisiting Modularity Maximization for Graph
//! Clustering: A Contrastive Learning Perspective"; DESIGN.md §10b's trained methods):
//! a GCN encoder trained so that each node's embedding is close to the nodes its random
//! walks visit most (modularity's positive pairs) and far from the rest, without labels.
//!
//! # The model
//! Encoder: a GCN with layer widths F → h₁ → … → h_L ([`MagiOptions::hidden`]),
//! H' = LeakyReLU(Â (H W_l) + 1 b_lᵀ) with slope 0.5 after every layer (the last
//! too), Â = D̃^-½ (A + I) D̃^-½; the last layer's rows min-max scaled to [0, 1], then
//! L2-normalised: Z (so every z_i·z_j lies in [0, 1]). Initialisation: W
//! Glorot/Xavier uniform, b = 0, from the seed ([`super::ns4gc::initial_params`]). The
//! features are used as they are stored (the reference loads Planetoid without
//! normalising them).
//!
//! Positives, fixed for the run: from every node, `walks` uniform random walks of
//! `walk_length` steps on A + I; each node j ≠ i visited is counted, and the positives
//! P_i of i are the visited nodes counted at least the mean count over i's visited
//! nodes. The anchors 𝒜 are the nodes with positives.
//!
//! The loss (the reference's, a supervised-contrastive loss with the positives as
//! labels, scaled by τ):
//!
//! L = (1/|𝒜|) Σ_{i∈𝒜} [ τ·log Σ_{j≠i} exp(z_i·z_j/τ) − (1/|P_i|) Σ_{j∈P_i} z_i·z_j ]
//!
//! The log-partition's sum over all j ≠ i is sampled: each epoch, for each node, m
//! nodes j ≠ i drawn uniformly with replacement ([`MagiOptions::negatives`]), and
//! Σ_{j≠i} exp(s_ij) estimated by (N − 1)/m · Σ over the samples (an O(N·m·d) term in
//! place of the reference's N × N product; the logits lie in [0, 1/τ], so the
//! estimate's spread is small). Its gradient is the samples' softmax: with C the
//! sampled pattern's coefficients gain_i·softmax (gain_i = 1/|𝒜| on anchors, else 0)
//! and P̄ = P + Pᵀ (P_ij = 1/(|𝒜|·|P_i|)),
//!
//! ∂L/∂Z = C Z + Cᵀ Z − P̄ Z.
//!
//! While training, each layer's input is dropped with probability p = 0.1 (inverted
//! dropout, as the reference's `F.dropout`): the features' non-zeros drawn on the host
//! each epoch, the hidden layers' elements by the `dropout` kernel from (seed, layer,
//! epoch). Adam with torch's L2 weight decay (wd·θ added to every gradient, biases
//! included).
//!
//! The embedding: Z of the trained encoder; k-means follows in [`crate::cluster::fit`]
//! (the reference clusters with spectral clustering on Z Zᵀ; k-means on our files
//! scored the same, same section).
//!
//! # On the GPU
//! Each epoch the host writes the negatives' column ids, their transposed pattern
//! (row offsets and column ids) and each entry's slot in it (O(N·m)), and the dropped
//! features' values in X and Xᵀ (O(nnz(X))); the one epoch recording is replayed.
//! Forward: per layer `spmm` (X W₁) or `dropout` + `matmul`, `spmm` (Â),
//! `bias_act` (LeakyReLU); `minmax_rows` (Z); `pair_softmax` (C and Cᵀ's values, the
//! sampled log-partitions). Backward: `spmm` (C Z, Cᵀ Z, P̄ Z), `lincomb`,
//! `minmax_rows_backward`, then per layer `act_backward`, `reduce_sum` (db), `spmm`
//! (Â dH), `spmm` (Xᵀ ·) or `matmul_tn_partial` + `reduce_sum` (dW), `matmul`
//! (dP Wᵀ) and `dropout` (its mask again); `lincomb` (weight decay); `adam`. [`loss_and_gradients`] is the host
//! reference in `f64` the tests check the device's gradients and the finite
//! differences against.

use std::ops::ControlFlow;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::graph_features;
use super::ns4gc::{csr_times, dense_times, initial_params, LayerGradients, LayerParams};
use crate::data::Graph;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, Recording, StepBuffer, StepParams};
use crate::kernels::act_backward::act_backward;
use crate::kernels::adam::AdamConfig;
use crate::kernels::bias_act::{bias_act, Activation};
use crate::kernels::dropout::{dropout, DropoutMask};
use crate::kernels::lincomb::{lincomb, Combination};
use crate::kernels::matmul::matmul;
use crate::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};
use crate::kernels::minmax_rows::{minmax_rows, STATS};
use crate::kernels::minmax_rows_backward::minmax_rows_backward;
use crate::kernels::pair_softmax::{pair_softmax, PairSoftmaxOut};
use crate::kernels::reduce_sum::column_sums;
use crate::kernels::spmm::spmm;
use crate::sparse::Csr;

/// The widest layer [`MagiOptions::hidden`] allows.
pub const MAX_WIDTH: usize = 2048;

/// The most layers.
pub const MAX_LAYERS: usize = 8;

/// The most negatives per node, walks per node and steps per walk.
pub const MAX_SAMPLES: usize = 10_000;

/// Settings of [`magi_embed`]; the defaults are MAGI's published Cora setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MagiOptions {
    /// The layers' widths h₁ … h_L (the last is the embedding's columns).
    pub hidden: Vec<usize>,
    /// Training epochs (the last one's encoder is used).
    pub epochs: u32,
    /// Adam's learning rate.
    pub lr: f32,
    /// L2 weight decay (wd·θ added to every gradient, as torch's Adam).
    pub weight_decay: f32,
    /// τ: the contrastive temperature.
    pub temperature: f32,
    /// Random walks from each node (the reference's `wt`).
    pub walks: usize,
    /// Steps per walk (`wl`).
    pub walk_length: usize,
    /// LeakyReLU's negative slope (`ns`).
    pub negative_slope: f32,
    /// m: sampled negatives per node and epoch.
    pub negatives: usize,
    /// p: each layer's input dropped with this probability while training (inverted
    /// dropout; the features' non-zeros on the first layer).
    pub dropout: f32,
}

impl Default for MagiOptions {
    fn default() -> Self {
        MagiOptions {
            hidden: vec![512],
            epochs: 400,
            lr: 5e-4,
            weight_decay: 1e-3,
            temperature: 0.3,
            walks: 100,
            walk_length: 2,
            negative_slope: 0.5,
            negatives: 100,
            dropout: 0.1,
        }
    }
}

impl MagiOptions {
    /// MAGI's published settings for its two citation graphs (the reference's README):
    /// Cora's (the [`Default`]) and Citeseer's (layers 1024, 512; walks of 3 steps;
    /// τ = 0.9, lr 1e-4, wd 5e-4). `cluster --method magi` trains both and keeps the
    /// one whose k-means partition has the lower Davies–Bouldin index
    /// ([`crate::cluster::fit`]).
    pub fn published_settings() -> Vec<MagiOptions> {
        let citeseer = MagiOptions {
            hidden: vec![1024, 512],
            walk_length: 3,
            temperature: 0.9,
            lr: 1e-4,
            weight_decay: 5e-4,
            ..MagiOptions::default()
        };
        vec![MagiOptions::default(), citeseer]
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
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!("must be finite and not negative, got {}", self.weight_decay),
            );
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(
                "temperature",
                format!("must be positive, got {}", self.temperature),
            );
        }
        if !(self.negative_slope.is_finite() && self.negative_slope > 0.0) {
            return bad(
                "negative_slope",
                format!(
                    "must be positive (the backward pass reads the sign of the output), got {}",
                    self.negative_slope
                ),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "dropout",
                format!("a probability in [0, 1), got {}", self.dropout),
            );
        }
        for (setting, v) in [
            ("walks", self.walks),
            ("walk_length", self.walk_length),
            ("negatives", self.negatives),
        ] {
            if v == 0 || v > MAX_SAMPLES {
                return bad(setting, format!("must be 1 to {MAX_SAMPLES}, got {v}"));
            }
        }
        Ok(())
    }

    /// The embedding's columns (the last layer's width).
    pub fn dim(&self) -> usize {
        self.hidden.last().copied().unwrap_or(0)
    }

    fn activation(&self) -> Activation {
        Activation::LeakyRelu {
            slope: self.negative_slope,
        }
    }
}

/// The positives of every node (values 1, columns sorted): the nodes j ≠ i that
/// `walks` uniform random walks of `walk_length` steps from i on A + I visit at least
/// as often as the mean over i's visited nodes.
pub fn walk_positives(graph: &Graph, walks: usize, walk_length: usize, seed: u64) -> Result<Csr> {
    let n = graph.num_nodes;
    let mut neighbours: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    for &(i, j) in &graph.edges {
        neighbours[i as usize].push(j);
        neighbours[j as usize].push(i);
    }
    for list in &mut neighbours {
        list.sort_unstable();
        list.dedup();
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6d61_6769_5f77_616c);
    let mut triplets = Vec::new();
    let mut visits: Vec<u32> = Vec::with_capacity(walks * walk_length);
    let mut counted: Vec<(u32, u32)> = Vec::new();
    for start in 0..n as u32 {
        visits.clear();
        for _ in 0..walks {
            let mut at = start;
            for _ in 0..walk_length {
                let list = &neighbours[at as usize];
                at = list[rng.random_range(0..list.len())];
                if at != start {
                    visits.push(at);
                }
            }
        }
        visits.sort_unstable();
        counted.clear();
        for &v in &visits {
            match counted.last_mut() {
                Some((node, count)) if *node == v => *count += 1,
                _ => counted.push((v, 1)),
            }
        }
        if counted.is_empty() {
            continue;
        }
        // count ≥ mean ⇔ count·len ≥ Σ counts, in integers (no rounding at the mean).
        let total: u64 = counted.iter().map(|&(_, c)| u64::from(c)).sum();
        let len = counted.len() as u64;
        triplets.extend(
            counted
                .iter()
                .filter(|&&(_, c)| u64::from(c) * len >= total)
                .map(|&(node, _)| (start, node, 1.0)),
        );
    }
    Csr::from_triplets(n, n, &triplets)
}

/// The method's fixed operators on the host.
pub struct MagiGraph {
    /// X (N × F).
    pub x: Csr,
    /// Xᵀ.
    pub xt: Csr,
    /// Per non-zero of X: its index in Xᵀ.
    xt_slot: Vec<u32>,
    /// Â = D̃^-½ (A + I) D̃^-½.
    pub smooth: Csr,
    /// The positives (values 1).
    pub positives: Csr,
    /// P̄ = P + Pᵀ, P_ij = 1/(|𝒜|·|P_i|) on the positives.
    pub pull: Csr,
    /// 1/|𝒜| on the anchors, 0 elsewhere.
    pub gain: Vec<f32>,
}

impl MagiGraph {
    /// The operators of `graph` (its features must be there), the positives drawn from
    /// `seed`.
    pub fn new(graph: &Graph, options: &MagiOptions, seed: u64) -> Result<Self> {
        let n = graph.num_nodes;
        if n < 2 {
            return Err(Error::InvalidGraph {
                message: format!("magi samples negatives j ≠ i: it needs 2 nodes or more, got {n}"),
            });
        }
        let x = graph_features(graph, "magi")?.clone();
        let positives = walk_positives(graph, options.walks, options.walk_length, seed)?;
        let anchors = (0..n)
            .filter(|&i| !positives.row_range(i).is_empty())
            .count();
        let mut gain = vec![0f32; n];
        let mut triplets = Vec::with_capacity(2 * positives.nnz());
        if anchors > 0 {
            for (i, g) in gain.iter_mut().enumerate() {
                let range = positives.row_range(i);
                if range.is_empty() {
                    continue;
                }
                *g = (1.0 / anchors as f64) as f32;
                let w = (1.0 / (anchors as f64 * range.len() as f64)) as f32;
                for &j in &positives.col_idx()[range] {
                    triplets.push((i as u32, j, w));
                    triplets.push((j, i as u32, w));
                }
            }
        }
        let (xt, xt_slot) = transpose_with_slots(&x)?;
        Ok(MagiGraph {
            xt,
            xt_slot,
            x,
            smooth: super::sym_normalized(graph, true)?,
            pull: Csr::from_triplets(n, n, &triplets)?,
            positives,
            gain,
        })
    }

    /// N.
    pub fn nodes(&self) -> usize {
        self.x.rows()
    }

    /// The values of X and Xᵀ with the non-zeros `kept` (per entry of X; all when
    /// `None`) scaled by 1/(1 − p), the others 0.
    pub fn x_values(&self, kept: Option<&[bool]>, p: f32) -> (Vec<f32>, Vec<f32>) {
        let scale = 1.0 / (1.0 - p);
        let x: Vec<f32> = match kept {
            None => self.x.values().to_vec(),
            Some(kept) => self
                .x
                .values()
                .iter()
                .zip(kept)
                .map(|(&v, &k)| if k { v * scale } else { 0.0 })
                .collect(),
        };
        let mut xt = vec![0f32; x.len()];
        for (&v, &slot) in x.iter().zip(&self.xt_slot) {
            xt[slot as usize] = v;
        }
        (x, xt)
    }

    /// |𝒜|.
    pub fn anchors(&self) -> usize {
        self.gain.iter().filter(|&&g| g > 0.0).count()
    }
}

/// The transpose of `a` and, per entry of `a`, its index in the transpose (counting
/// sort: rows in order, so each transposed row's columns come out sorted; repeated
/// entries are kept).
pub fn transpose_with_slots(a: &Csr) -> Result<(Csr, Vec<u32>)> {
    let mut row_ptr = vec![0u32; a.cols() + 1];
    for &j in a.col_idx() {
        row_ptr[j as usize + 1] += 1;
    }
    for k in 0..a.cols() {
        row_ptr[k + 1] += row_ptr[k];
    }
    let mut next = row_ptr.clone();
    let mut col_idx = vec![0u32; a.nnz()];
    let mut values = vec![0f32; a.nnz()];
    let mut slot = vec![0u32; a.nnz()];
    for i in 0..a.rows() {
        for e in a.row_range(i) {
            let j = a.col_idx()[e] as usize;
            let at = next[j] as usize;
            next[j] += 1;
            col_idx[at] = i as u32;
            values[at] = a.values()[e];
            slot[e] = at as u32;
        }
    }
    Ok((
        Csr::new(a.cols(), a.rows(), row_ptr, col_idx, values)?,
        slot,
    ))
}

/// One epoch's negatives: per node m columns j ≠ i, uniform with replacement, sorted
/// (values 1); the transposed pattern; and each entry's index in the transposed one.
#[derive(Clone, Debug)]
pub struct NegativeDraw {
    /// The samples.
    pub samples: Csr,
    /// Their transpose (the same entries, by column).
    pub transposed: Csr,
    /// Per entry of `samples`: its index in `transposed`.
    pub slot: Vec<u32>,
}

/// Draws one epoch's [`NegativeDraw`] for `n` ≥ 2 nodes.
pub fn draw_negatives(rng: &mut StdRng, n: usize, m: usize) -> Result<NegativeDraw> {
    let mut col_idx = Vec::with_capacity(n * m);
    for i in 0..n as u32 {
        let first = col_idx.len();
        col_idx.extend((0..m).map(|_| {
            let j = rng.random_range(0..n as u32 - 1);
            j + u32::from(j >= i)
        }));
        col_idx[first..].sort_unstable();
    }
    let row_ptr: Vec<u32> = (0..=n).map(|i| (i * m) as u32).collect();
    let samples = Csr::new(n, n, row_ptr, col_idx, vec![1f32; n * m])?;
    let (transposed, slot) = transpose_with_slots(&samples)?;
    Ok(NegativeDraw {
        samples,
        transposed,
        slot,
    })
}

/// Everything one training epoch draws: its negatives, the features' non-zeros kept,
/// and the epoch and seed the hidden layers' dropout masks come from.
#[derive(Clone, Debug)]
pub struct EpochDraw {
    /// The negatives.
    pub negatives: NegativeDraw,
    /// Per non-zero of X (storage order): kept.
    pub x_kept: Vec<bool>,
    /// The epoch (0-based; the `dropout` kernel's counter).
    pub epoch: u32,
    /// The run's seed (the `dropout` kernel's key).
    pub seed: u64,
}

/// The per-epoch draws from the seeded generator.
pub struct Sampler {
    rng: StdRng,
    seed: u64,
}

impl Sampler {
    /// A generator for `seed` (its own stream, apart from the initialisation's and the
    /// walks').
    pub fn new(seed: u64) -> Self {
        Sampler {
            rng: StdRng::seed_from_u64(seed ^ 0x6d61_6769_5f6e_6567),
            seed,
        }
    }

    /// Epoch `epoch`'s draw (0-based): the features' non-zeros kept with probability
    /// 1 − p, then the negatives.
    pub fn draw(
        &mut self,
        graph: &MagiGraph,
        options: &MagiOptions,
        epoch: u32,
    ) -> Result<EpochDraw> {
        let x_kept = (0..graph.x.nnz())
            .map(|_| self.rng.random::<f32>() >= options.dropout)
            .collect();
        Ok(EpochDraw {
            negatives: draw_negatives(&mut self.rng, graph.nodes(), options.negatives)?,
            x_kept,
            epoch,
            seed: self.seed,
        })
    }
}

/// The dropout mask of layer `layer`'s input (layers after the first).
fn hidden_mask(seed: u64, layer: usize) -> DropoutMask {
    DropoutMask {
        seed,
        stream: layer as u32,
    }
}

/// The forward pass on the host: every layer's input and output, Z and the rows'
/// min-max statistics.
struct HostForward {
    /// Layer l's output LeakyReLU(Â(H W) + b), per layer.
    act: Vec<Vec<f64>>,
    /// Layer l's input after dropout, per layer after the first.
    dropped: Vec<Vec<f64>>,
    z: Vec<f64>,
    /// Per row: (lo, range, norm).
    stats: Vec<(f64, f64, f64)>,
}

fn leaky(v: f64, slope: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        slope * v
    }
}

/// Layer `layer`'s input `a` (rows of `cols`) after the draw's dropout.
fn host_dropout(a: &[f64], cols: usize, layer: usize, draw: &EpochDraw, p: f32) -> Vec<f64> {
    let scale = 1.0 / (1.0 - f64::from(p));
    let mask = hidden_mask(draw.seed, layer);
    a.iter()
        .enumerate()
        .map(|(e, &v)| {
            let (r, c) = ((e / cols) as u32, (e % cols) as u32);
            if crate::cpu::dropout_keeps(r, c, draw.epoch, p, mask) {
                v * scale
            } else {
                0.0
            }
        })
        .collect()
}

fn host_forward(
    graph: &MagiGraph,
    options: &MagiOptions,
    draw: &EpochDraw,
    params: &[LayerParams],
) -> HostForward {
    let slope = f64::from(options.negative_slope);
    let (x_values, _) = graph.x_values(Some(&draw.x_kept), options.dropout);
    let mut act: Vec<Vec<f64>> = Vec::new();
    let mut dropped: Vec<Vec<f64>> = Vec::new();
    let mut fan_in = graph.x.cols();
    for (l, p) in params.iter().enumerate() {
        let fan_out = p.b.len();
        let w: Vec<f64> = p.w.iter().map(|&v| f64::from(v)).collect();
        let product = match act.last() {
            None => csr_times(&graph.x, &x_values, &w, fan_out),
            Some(a) => {
                dropped.push(host_dropout(a, fan_in, l, draw, options.dropout));
                dense_times(&dropped[l - 1], &w, fan_in, fan_out)
            }
        };
        let mut h = csr_times(&graph.smooth, graph.smooth.values(), &product, fan_out);
        for row in h.chunks_exact_mut(fan_out) {
            for (v, &b) in row.iter_mut().zip(&p.b) {
                *v = leaky(*v + f64::from(b), slope);
            }
        }
        act.push(h);
        fan_in = fan_out;
    }
    let d = fan_in;
    let last = act.last().cloned().unwrap_or_default();
    let mut z = vec![0f64; last.len()];
    let mut stats = Vec::with_capacity(graph.nodes());
    for (row, out) in last.chunks_exact(d).zip(z.chunks_exact_mut(d)) {
        let lo = row.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let range = hi - lo + 1e-20;
        let norm = row
            .iter()
            .map(|v| ((v - lo) / range).powi(2))
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        for (o, v) in out.iter_mut().zip(row) {
            *o = (v - lo) / range / norm;
        }
        stats.push((lo, range, norm));
    }
    HostForward {
        act,
        dropped,
        z,
        stats,
    }
}

/// The loss and its gradients per layer (dW, db) at `params` for one epoch's draw
/// (negatives and dropout), on the host in `f64`: the reference the device's gradients are checked
/// against. The weight decay enters as (wd/2)·‖θ‖² (its gradient wd·θ, as torch's
/// Adam adds).
pub fn loss_and_gradients(
    graph: &MagiGraph,
    options: &MagiOptions,
    draw: &EpochDraw,
    params: &[LayerParams],
) -> (f64, Vec<LayerGradients>) {
    let negatives = &draw.negatives;
    let n = graph.nodes();
    let d = options.dim();
    let m = options.negatives;
    let tau = f64::from(options.temperature);
    let slope = f64::from(options.negative_slope);
    let f = host_forward(graph, options, draw, params);
    let z = &f.z;
    let dot = |i: usize, j: usize| -> f64 { (0..d).map(|c| z[i * d + c] * z[j * d + c]).sum() };
    // The sampled log-partitions and C Z + Cᵀ Z.
    let log_scale = ((n - 1) as f64 / m as f64).ln();
    let mut loss = 0.0;
    let mut g = vec![0f64; n * d];
    for i in 0..n {
        let gain = f64::from(graph.gain[i]);
        if gain == 0.0 {
            continue;
        }
        let range = negatives.samples.row_range(i);
        let s: Vec<f64> = range
            .clone()
            .map(|e| dot(i, negatives.samples.col_idx()[e] as usize) / tau)
            .collect();
        let top = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = top + s.iter().map(|v| (v - top).exp()).sum::<f64>().ln();
        loss += gain * tau * (lse + log_scale);
        for (k, e) in range.enumerate() {
            let j = negatives.samples.col_idx()[e] as usize;
            let c = gain * (s[k] - lse).exp();
            for col in 0..d {
                g[i * d + col] += c * z[j * d + col];
                g[j * d + col] += c * z[i * d + col];
            }
        }
    }
    // − P̄ Z, and the positives' term −½ Σ z·(P̄ Z).
    let q = csr_times(&graph.pull, graph.pull.values(), z, d);
    loss -= 0.5 * z.iter().zip(&q).map(|(a, b)| a * b).sum::<f64>();
    for (gv, qv) in g.iter_mut().zip(&q) {
        *gv -= qv;
    }
    let wd = f64::from(options.weight_decay);
    loss += 0.5
        * wd
        * params
            .iter()
            .flat_map(|p| p.w.iter().chain(&p.b))
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>();
    // Through the min-max scaling and the normalisation, row by row.
    let last = &f.act[params.len() - 1];
    let mut da = vec![0f64; n * d];
    for i in 0..n {
        let (lo, range, norm) = f.stats[i];
        let a = &last[i * d..(i + 1) * d];
        let zi = &z[i * d..(i + 1) * d];
        let gi = &g[i * d..(i + 1) * d];
        let along: f64 = zi.iter().zip(gi).map(|(x, y)| x * y).sum();
        let (mut lo_at, mut hi_at) = (0, 0);
        for c in 0..d {
            if a[c] < a[lo_at] {
                lo_at = c;
            }
            if a[c] > a[hi_at] {
                hi_at = c;
            }
        }
        let (mut s, mut t) = (0.0, 0.0);
        for c in 0..d {
            let du = if norm <= 1e-12 {
                gi[c] / 1e-12
            } else {
                (gi[c] - zi[c] * along) / norm
            };
            let v = du / range;
            s += v * (a[c] - lo) / range;
            t += v;
            da[i * d + c] = v;
        }
        da[i * d + hi_at] -= s;
        da[i * d + lo_at] += s - t;
    }
    // Back through the layers.
    let layers = params.len();
    let mut grads: Vec<LayerGradients> = vec![(Vec::new(), Vec::new()); layers];
    let mut d_act = da;
    for l in (0..layers).rev() {
        let fan_out = params[l].b.len();
        let dh: Vec<f64> = d_act
            .iter()
            .zip(&f.act[l])
            .map(|(&g, &y)| if y > 0.0 { g } else { g * slope })
            .collect();
        let db: Vec<f64> = (0..fan_out)
            .map(|c| (0..n).map(|i| dh[i * fan_out + c]).sum::<f64>())
            .zip(&params[l].b)
            .map(|(v, &b)| v + wd * f64::from(b))
            .collect();
        let dp = csr_times(&graph.smooth, graph.smooth.values(), &dh, fan_out);
        let mut dw = if l == 0 {
            let (_, xt_values) = graph.x_values(Some(&draw.x_kept), options.dropout);
            csr_times(&graph.xt, &xt_values, &dp, fan_out)
        } else {
            let a = &f.dropped[l - 1];
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
            let w = &params[l].w;
            let d_dropped: Vec<f64> = (0..n * fan_in)
                .map(|e| {
                    let (i, k) = (e / fan_in, e % fan_in);
                    (0..fan_out)
                        .map(|c| dp[i * fan_out + c] * f64::from(w[k * fan_out + c]))
                        .sum()
                })
                .collect();
            d_act = host_dropout(&d_dropped, fan_in, l, draw, options.dropout);
            dw
        };
        for (v, &w) in dw.iter_mut().zip(&params[l].w) {
            *v += wd * f64::from(w);
        }
        grads[l] = (dw, db);
    }
    (loss, grads)
}

/// One epoch heard by [`magi_embed`]'s callback.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MagiEpoch {
    /// The epoch (1-based).
    pub epoch: u32,
    /// Of how many.
    pub epochs: u32,
    /// The loss (its sampled estimate, weight decay excluded) at the start of this
    /// epoch where it was computed (the first and every 50th), else `None`.
    pub loss: Option<f64>,
}

/// What [`magi_embed`] found.
#[derive(Clone, Debug)]
pub struct MagiOutcome {
    /// Z of the trained encoder (n × dim, unit rows but for a constant last-layer row).
    pub embeddings: Vec<f32>,
    /// Columns.
    pub dim: usize,
    /// The loss after the last epoch (with that epoch's negatives).
    pub final_loss: f64,
    /// |𝒜|: the nodes with positives.
    pub anchors: usize,
    /// Σ |P_i|.
    pub positives: usize,
}

/// Trains the encoder on `graph` as the module docs say and returns the embedding to
/// cluster. `progress` hears every epoch and may stop training (`Error::Interrupted`).
pub fn magi_embed(
    gpu: &Gpu,
    graph: &Graph,
    seed: u64,
    options: &MagiOptions,
    progress: &mut dyn FnMut(&MagiEpoch) -> ControlFlow<()>,
) -> Result<MagiOutcome> {
    options.validate()?;
    let features = graph_features(graph, "magi")?.cols();
    let device_is_host = crate::memory::device_memory_is_host(&gpu.report().device_type);
    check_dense_buffers(device_is_host, graph.num_nodes, features, options)?;
    let host = MagiGraph::new(graph, options, seed)?;
    let params = initial_params(features, &options.hidden, seed);
    let device = DeviceMagi::new(gpu, &host, options, &params, seed)?;
    let mut sampler = Sampler::new(seed);
    let epoch_recording = device.record_epoch()?;
    let mut draw = sampler.draw(&host, options, 0)?;
    for epoch in 1..=options.epochs {
        device.write_draw(&host, &draw)?;
        let loss = (epoch == 1 || epoch % 50 == 0)
            .then(|| device.loss())
            .transpose()?;
        gpu.submit(&epoch_recording)?;
        // The next draw on the host while the device runs this epoch.
        if epoch < options.epochs {
            draw = sampler.draw(&host, options, epoch)?;
        }
        let report = MagiEpoch {
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
    Ok(MagiOutcome {
        embeddings,
        dim: options.dim(),
        final_loss,
        anchors: host.anchors(),
        positives: host.positives.nnz(),
    })
}

/// Bytes of the dense f32 buffers [`magi_embed`] trains with, from the shape alone:
/// per layer W, dW and Adam's moments (4·fan_in·fan_out), its dW partial blocks
/// (layers after the first: chunks·fan_in·fan_out), the bias's four arrays; per layer
/// the product, the pre-activation, the activation and the backward pass's dH, dP and
/// dA (6·N·h), and (but the last) its dropped copy (N·h); Z, C Z, Cᵀ Z, P̄ Z (4·N·d), the rows' statistics (3·N), the
/// log-partitions and gains (2·N), the samples' two coefficient arrays (2·N·m). The
/// sparse operators and the samples' ids (O(nnz + N·m)) are not counted.
pub fn dense_buffer_bytes(nodes: usize, features: usize, options: &MagiOptions) -> u64 {
    let (n, d, m) = (nodes as u64, options.dim() as u64, options.negatives as u64);
    let mut words = 0u64;
    let mut fan_in = features as u64;
    for (l, &h) in options.hidden.iter().enumerate() {
        let h = h as u64;
        words += 4 * fan_in * h + 4 * h;
        if l > 0 {
            words += chunks(nodes) as u64 * fan_in * h;
        }
        words += 6 * n * h;
        if l + 1 < options.hidden.len() {
            words += n * h;
        }
        fan_in = h;
    }
    words += 4 * n * d + (STATS as u64) * n + 2 * n + 2 * n * m;
    words * 4
}

/// Refuses ([`Error::InsufficientMemory`]) before training when the dense buffers
/// exceed the host memory available now, on an adapter whose device memory is host
/// memory (a CPU adapter such as lavapipe); a GPU reports its own allocation failures.
pub fn check_dense_buffers(
    device_is_host: bool,
    nodes: usize,
    features: usize,
    options: &MagiOptions,
) -> Result<()> {
    if !device_is_host {
        return Ok(());
    }
    crate::memory::check_host_memory(
        || {
            format!(
                "magi's buffers ({nodes} nodes, {features} feature columns, layers {:?}, \
                 {} negatives a node: the encoder's weights with their gradients and \
                 Adam's moments, N × h activations)",
                options.hidden, options.negatives
            )
        },
        dense_buffer_bytes(nodes, features, options),
    )
}

/// One layer's parameters, gradients and activations on the device.
struct DeviceLayer {
    w: GpuMatrix,
    b: GpuArray<f32>,
    dw: GpuMatrix,
    db: GpuArray<f32>,
    /// The dW partial blocks (layers after the first).
    partial: Option<GpuArray<f32>>,
    /// Adam's moments of W and b.
    moments: [GpuArray<f32>; 4],
    /// X W or A W.
    product: GpuMatrix,
    /// Â · product.
    pre: GpuMatrix,
    /// LeakyReLU(pre + b).
    act: GpuMatrix,
    /// act after dropout: the next layer's input (all layers but the last).
    dropped: Option<GpuMatrix>,
    /// The backward pass's ∂L/∂act, ∂L/∂pre and Â·∂L/∂pre.
    d_act: GpuMatrix,
    dh: GpuMatrix,
    dp: GpuMatrix,
}

/// The method's buffers on the device.
pub struct DeviceMagi<'a> {
    gpu: &'a Gpu,
    x: GpuCsr,
    xt: GpuCsr,
    smooth: GpuCsr,
    pull: GpuCsr,
    gain: GpuArray<f32>,
    /// The negatives with their coefficients as values, and the transpose likewise.
    coef: GpuCsr,
    coef_t: GpuCsr,
    slot: GpuArray<u32>,
    lse: GpuArray<f32>,
    z: GpuMatrix,
    stats: GpuMatrix,
    /// C Z (then the whole ∂L/∂Z), Cᵀ Z, P̄ Z.
    g: GpuMatrix,
    t: GpuMatrix,
    q: GpuMatrix,
    layers: Vec<DeviceLayer>,
    options: MagiOptions,
    /// The run's seed: the hidden layers' dropout key.
    seed: u64,
    adam: AdamConfig,
    step: StepBuffer,
}

impl<'a> DeviceMagi<'a> {
    /// Uploads the operators and `params`; Adam's moments start at zero. The negatives
    /// are written per epoch by [`write_draw`](Self::write_draw).
    pub fn new(
        gpu: &'a Gpu,
        host: &MagiGraph,
        options: &MagiOptions,
        params: &[LayerParams],
        seed: u64,
    ) -> Result<Self> {
        let n = host.nodes();
        let label = |what: &str| format!("gpu_vgae.magi.{what}");
        let mut fan_in = host.x.cols();
        let mut layers = Vec::with_capacity(options.hidden.len());
        for (l, (&fan_out, p)) in options.hidden.iter().zip(params).enumerate() {
            let matrix = |what: &str| gpu.alloc_matrix(&label(what), n, fan_out);
            layers.push(DeviceLayer {
                w: gpu.upload_matrix(&label("w"), fan_in, fan_out, &p.w)?,
                b: gpu.upload(&label("b"), &p.b)?,
                dw: gpu.alloc_matrix(&label("dw"), fan_in, fan_out)?,
                db: gpu.alloc(&label("db"), fan_out)?,
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
                product: matrix("product")?,
                pre: matrix("pre")?,
                act: matrix("act")?,
                dropped: if l + 1 < options.hidden.len() {
                    Some(matrix("dropped")?)
                } else {
                    None
                },
                d_act: matrix("d_act")?,
                dh: matrix("dh")?,
                dp: matrix("dp")?,
            });
            fan_in = fan_out;
        }
        let d = options.dim();
        let nm = n.saturating_mul(options.negatives);
        crate::kernels::to_u32("magi negatives (nodes × negatives)", nm)?;
        let row_ptr: Arc<[u32]> = (0..=n).map(|i| (i * options.negatives) as u32).collect();
        let coef = GpuCsr::from_parts(
            n,
            n,
            gpu.upload(&label("negatives.row_ptr"), &row_ptr)?,
            gpu.zeros::<u32>(&label("negatives.col_idx"), nm)?,
            gpu.zeros::<f32>(&label("negatives.coef"), nm)?,
        )?
        .with_host_row_ptr(row_ptr)?;
        // The transpose's row offsets change every epoch: no host copy, bound whole.
        let coef_t = GpuCsr::from_parts(
            n,
            n,
            gpu.zeros::<u32>(&label("negatives_t.row_ptr"), n + 1)?,
            gpu.zeros::<u32>(&label("negatives_t.col_idx"), nm)?,
            gpu.zeros::<f32>(&label("negatives_t.coef"), nm)?,
        )?;
        Ok(DeviceMagi {
            gpu,
            x: gpu.upload_csr(&label("x"), &host.x)?,
            xt: gpu.upload_csr(&label("xt"), &host.xt)?,
            smooth: gpu.upload_csr(&label("smooth"), &host.smooth)?,
            pull: gpu.upload_csr(&label("pull"), &host.pull)?,
            gain: gpu.upload(&label("gain"), &host.gain)?,
            coef,
            coef_t,
            slot: gpu.zeros::<u32>(&label("negatives.slot"), nm)?,
            lse: gpu.alloc(&label("lse"), n)?,
            z: gpu.alloc_matrix(&label("z"), n, d)?,
            stats: gpu.alloc_matrix(&label("stats"), n, STATS)?,
            g: gpu.alloc_matrix(&label("dz"), n, d)?,
            t: gpu.alloc_matrix(&label("coef_t_z"), n, d)?,
            q: gpu.alloc_matrix(&label("pull_z"), n, d)?,
            layers,
            options: options.clone(),
            seed,
            adam: AdamConfig {
                lr: options.lr,
                ..AdamConfig::default()
            },
            step: gpu.step_buffer(StepParams::for_epoch(0)),
        })
    }

    /// Bytes of the dense buffers as allocated (what [`dense_buffer_bytes`] estimates).
    pub fn dense_bytes(&self) -> u64 {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [
                    &l.w, &l.dw, &l.product, &l.pre, &l.act, &l.d_act, &l.dh, &l.dp,
                ]
                .iter()
                .map(|m| m.data().len())
                .sum::<usize>()
                    + l.dropped.as_ref().map_or(0, |m| m.data().len())
                    + l.b.len()
                    + l.db.len()
                    + l.moments.iter().map(|a| a.len()).sum::<usize>()
                    + l.partial.as_ref().map_or(0, |p| p.len())
            })
            .sum();
        let rest: usize = [&self.z, &self.g, &self.t, &self.q, &self.stats]
            .iter()
            .map(|m| m.data().len())
            .sum::<usize>()
            + self.lse.len()
            + self.gain.len()
            + self.coef.values.len()
            + self.coef_t.values.len();
        (layers + rest) as u64 * 4
    }

    /// Writes one epoch's draw: the negatives, the dropped features, and the epoch
    /// into the step buffer (the hidden layers' dropout masks and Adam's step).
    pub fn write_draw(&self, host: &MagiGraph, draw: &EpochDraw) -> Result<()> {
        let negatives = &draw.negatives;
        self.coef
            .col_idx
            .write(self.gpu, negatives.samples.col_idx())?;
        self.coef_t
            .row_ptr
            .write(self.gpu, negatives.transposed.row_ptr())?;
        self.coef_t
            .col_idx
            .write(self.gpu, negatives.transposed.col_idx())?;
        self.slot.write(self.gpu, &negatives.slot)?;
        self.write_features(host, Some(&draw.x_kept))?;
        self.step.write(self.gpu, StepParams::for_epoch(draw.epoch));
        Ok(())
    }

    fn write_features(&self, host: &MagiGraph, kept: Option<&[bool]>) -> Result<()> {
        let (x, xt) = host.x_values(kept, self.options.dropout);
        self.x.values.write(self.gpu, &x)?;
        self.xt.values.write(self.gpu, &xt)
    }

    /// The encoder's forward pass: Z and the rows' statistics; `training`: with the
    /// hidden layers' dropout (the features' is in the values written).
    fn record_embedding(&self, training: bool) -> Result<Vec<Dispatch>> {
        let gpu = self.gpu;
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            if l == 0 {
                out.extend(spmm(gpu, &self.x, &layer.w, &layer.product)?);
            } else {
                let below = &self.layers[l - 1];
                let input = match (&below.dropped, training) {
                    (Some(dropped), true) => {
                        out.extend(dropout(
                            gpu,
                            &below.act,
                            self.options.dropout,
                            hidden_mask(self.seed, l),
                            &self.step,
                            dropped,
                        )?);
                        dropped
                    }
                    _ => &below.act,
                };
                out.extend(matmul(gpu, input, &layer.w, false, &layer.product)?);
            }
            out.extend(spmm(gpu, &self.smooth, &layer.product, &layer.pre)?);
            out.extend(bias_act(
                gpu,
                &layer.pre,
                Some(&layer.b),
                self.options.activation(),
                &layer.act,
            )?);
        }
        let last = self.last()?;
        out.extend(minmax_rows(gpu, &last.act, &self.z, &self.stats)?);
        Ok(out)
    }

    fn last(&self) -> Result<&DeviceLayer> {
        self.layers.last().ok_or_else(|| Error::InvalidArgument {
            argument: "hidden",
            message: "the encoder has no layer".into(),
        })
    }

    /// The forward pass and the negatives' coefficients and log-partitions.
    fn record_forward(&self) -> Result<Vec<Dispatch>> {
        let mut out = self.record_embedding(true)?;
        out.push(pair_softmax(
            self.gpu,
            &self.coef,
            &self.gain,
            &self.z,
            &self.z,
            self.options.temperature,
            PairSoftmaxOut {
                coef: &self.coef.values,
                coef_t: &self.coef_t.values,
                slot: &self.slot,
                lse: &self.lse,
            },
        )?);
        Ok(out)
    }

    /// The backward pass after [`record_forward`](Self::record_forward): every layer's
    /// dW and db with the weight decay.
    fn record_gradients(&self) -> Result<Vec<Dispatch>> {
        let gpu = self.gpu;
        let n = self.z.rows();
        let mut out = Vec::new();
        out.extend(spmm(gpu, &self.coef, &self.z, &self.g)?);
        out.extend(spmm(gpu, &self.coef_t, &self.z, &self.t)?);
        out.extend(spmm(gpu, &self.pull, &self.z, &self.q)?);
        // g += Cᵀ Z − P̄ Z.
        out.extend(lincomb(
            gpu,
            self.t.data(),
            Some(self.q.data()),
            None,
            Combination {
                alpha: 1.0,
                beta: -1.0,
                accumulate: true,
            },
            self.g.data(),
        )?);
        let last = self.last()?;
        out.extend(minmax_rows_backward(
            gpu,
            &last.act,
            &self.z,
            &self.stats,
            &self.g,
            &last.d_act,
        )?);
        let decay = Combination {
            alpha: self.options.weight_decay,
            beta: 0.0,
            accumulate: true,
        };
        for (l, layer) in self.layers.iter().enumerate().rev() {
            out.extend(act_backward(
                gpu,
                layer.d_act.data(),
                layer.act.data(),
                self.options.activation(),
                layer.dh.data(),
            )?);
            out.extend(column_sums(
                gpu,
                layer.dh.data(),
                n,
                layer.dh.cols(),
                &layer.db,
            )?);
            out.extend(spmm(gpu, &self.smooth, &layer.dh, &layer.dp)?);
            match &layer.partial {
                None => out.extend(spmm(gpu, &self.xt, &layer.dp, &layer.dw)?),
                Some(partial) => {
                    let below = &self.layers[l - 1];
                    let input = below.dropped.as_ref().unwrap_or(&below.act);
                    out.extend(matmul_tn_partial(gpu, input, &layer.dp, partial)?);
                    out.extend(column_sums(
                        gpu,
                        partial,
                        chunks(n),
                        layer.dw.rows() * layer.dw.cols(),
                        layer.dw.data(),
                    )?);
                    // ∂L/∂dropped into below.dh (free until act_backward), then through
                    // the same mask into below.d_act.
                    out.extend(matmul(gpu, &layer.dp, &layer.w, true, &below.dh)?);
                    out.extend(dropout(
                        gpu,
                        &below.dh,
                        self.options.dropout,
                        hidden_mask(self.seed, l),
                        &self.step,
                        &below.d_act,
                    )?);
                }
            }
            out.extend(lincomb(
                gpu,
                layer.w.data(),
                None,
                None,
                decay,
                layer.dw.data(),
            )?);
            out.extend(lincomb(gpu, &layer.b, None, None, decay, &layer.db)?);
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
        let mut recording = Recording::new("magi.epoch");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        recording.extend(self.record_update()?);
        Ok(recording)
    }

    /// The gradients per layer (dW, db; weight decay included) at the current
    /// parameters and the negatives written last, read back.
    pub fn gradients(&self) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let mut recording = Recording::new("magi.gradients");
        recording.extend(self.record_forward()?);
        recording.extend(self.record_gradients()?);
        let layers: Vec<_> = self.layers.iter().map(|l| (&l.dw, &l.db)).collect();
        super::read_gradients(self.gpu, &recording, &layers)
    }

    /// The loss at the current parameters and the negatives written last, weight decay
    /// excluded, summed in `f64` on the host from Z, P̄ Z and the log-partitions.
    pub fn loss(&self) -> Result<f64> {
        let mut recording = Recording::new("magi.loss");
        recording.extend(self.record_forward()?);
        recording.extend(spmm(self.gpu, &self.pull, &self.z, &self.q)?);
        self.gpu.submit(&recording)?;
        let read = self
            .gpu
            .read_many(&[self.z.data(), self.q.data(), &self.lse, &self.gain])?;
        let n = self.z.rows();
        let tau = f64::from(self.options.temperature);
        let log_scale = ((n - 1) as f64 / self.options.negatives as f64).ln();
        let pull: f64 = read[0]
            .iter()
            .zip(&read[1])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let partition: f64 = read[2]
            .iter()
            .zip(&read[3])
            .filter(|(_, &g)| g > 0.0)
            .map(|(&lse, &g)| f64::from(g) * tau * (f64::from(lse) + log_scale))
            .sum();
        Ok(partition - 0.5 * pull)
    }

    /// Z of the encoder as it stands, without dropout (the features' values are
    /// rewritten whole; the next [`write_draw`](Self::write_draw) drops them again).
    pub fn embed(&self, host: &MagiGraph) -> Result<Vec<f32>> {
        self.write_features(host, None)?;
        let mut recording = Recording::new("magi.embed");
        recording.extend(self.record_embedding(false)?);
        self.gpu.submit(&recording)?;
        self.gpu.read(self.z.data())
    }
}
