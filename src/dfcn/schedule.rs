//! DFCN's epoch as a [`Schedule`] (DESIGN.md §10a): the forward pass in phase encode,
//! the four losses and the manual backward pass in phase loss-and-grads, Adam on all 24
//! trained tensors in phase optimize. The pretraining stages ([`Stage`]) are the same
//! schedule with parts left out: the AE alone (its decoder on Z_AE), the IGAE alone (its
//! decoder on Z_G), the fused network without the KL term.
//!
//! ```text
//! encode:  AE encoder  h_k = leaky(h_{k-1}·W_k + b_k), Z_AE = h_3·W_4 + b_4
//!          IGAE encoder g_k = Â·tanh(g_{k-1}·G_k), Z_G = Â·(g_2·G_3)
//!          Z_I = a·Z_AE + (1 − a)·Z_G,  Z_L = Â·Z_I
//!          Z_S = softmax_row(Z_L Z_Lᵀ)·Z_L (tiled, no N×N),  Z̃ = γ·Z_S + Z_L
//!          X̂ = AE decoder(Z̃), Ẑ = IGAE decoder(Z̃) (tanh on its three layers)
//!          q, q1, q2 = Student's t of Z̃, Z_AE, Z_G to the centres;  P = target(q)
//! loss:    dX̂ = MSE'(X̂, X);  dẐ = MSE'(Ẑ, Â·X) + adjacency term;  dZ_G = adjacency term
//!          dZ̃ = KL'(q) + AE decoder backward + IGAE decoder backward
//!          dγ = Σ dZ̃ ∘ Z_S;  dZ_L = dZ̃ + attention backward(γ·dZ̃);  dZ_I = Âᵀ·dZ_L
//!          dZ_AE = a·dZ_I + KL'(q1);  dZ_G += (1 − a)·dZ_I + KL'(q2)
//!          the encoders' backward passes; the centres' gradient from the three KL terms
//! adam:    every weight, bias, the centres and γ
//! ```
//!
//! Â is row-normalised (D⁻¹(A + I)), so it is not symmetric: the backward passes
//! multiply by Âᵀ, a CSR input of its own. The adjacency MSE's sparse correction runs
//! over Â + Âᵀ (same pattern as A + I).

use serde::Serialize;

use super::{param_specs, DfcnConfig};
use crate::kernels::act_backward::ActBackwardStep;
use crate::kernels::adam::AdamStep;
use crate::kernels::attention_backward::AttentionBackwardStep;
use crate::kernels::attention_combine::AttentionCombineStep;
use crate::kernels::attention_forward::AttentionForwardStep;
use crate::kernels::bias_act::{Activation, BiasActStep};
use crate::kernels::lincomb::{Combination, LincombStep};
use crate::kernels::matmul::MatmulStep;
use crate::kernels::matmul_tn_partial::{self, MatmulTnPartialStep};
use crate::kernels::mse_grad::MseGradStep;
use crate::kernels::pair_mse::{ColumnSplits, PairMseBlocks, PairMseStep};
use crate::kernels::pair_mse_gradient::{Factor, PairMseGradientStep};
use crate::kernels::pair_mse_mirror::{has_mirror, PairMseMirrorStep};
use crate::kernels::pair_mse_sparse::PairMseSparseStep;
use crate::kernels::row_dot::RowDotStep;
use crate::kernels::spmm::SpmmStep;
use crate::kernels::student_t::StudentTStep;
use crate::kernels::student_t_grad::StudentTGradStep;
use crate::kernels::target_dist::TargetDistStep;
use crate::model::schedule::{Builder, Phase, Role, Schedule, SparseId, TensorId};

/// Which network an epoch trains: the reference's three pretraining stages, then DFCN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Stage {
    /// The AE alone: X̂ = AE decoder(Z_AE), loss MSE(X̂, X) over a mini-batch of rows
    /// (the schedule's rows, gathered from X before each step, with per-row weights: 1/B
    /// on the batch's rows, 0 on padding), Adam on the AE.
    Ae,
    /// The IGAE alone: Ẑ = IGAE decoder(Z_G), loss MSE(Ẑ, ÂX) + w·MSE(Â_enc + Â_dec, Â),
    /// Adam on the IGAE.
    Igae,
    /// The fused network without the KL term (centres untouched), Adam on everything
    /// else.
    Joint,
    /// DFCN: the fused network, all four losses, Adam on every tensor.
    Dfcn,
}

impl Stage {
    fn trains_ae(self) -> bool {
        self != Stage::Igae
    }

    fn trains_igae(self) -> bool {
        self != Stage::Ae
    }

    fn fused(self) -> bool {
        matches!(self, Stage::Joint | Stage::Dfcn)
    }

    /// Whether the stage trains parameter `index` of [`param_specs`].
    fn trains(self, index: usize) -> bool {
        match self {
            Stage::Ae => index < IGAE_ENC,
            Stage::Igae => (IGAE_ENC..CENTERS_PARAM).contains(&index),
            Stage::Joint => index != CENTERS_PARAM,
            Stage::Dfcn => true,
        }
    }
}

/// The tensors DFCN's host code reads and writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DfcnHandles {
    /// The graph's CSR inputs (none in the AE stage, which has no graph terms).
    pub adjacency: Option<Adjacency>,
    /// The features X (N × d).
    pub x: TensorId,
    /// The trained tensors, in [`param_specs`] order.
    pub params: Vec<TensorId>,
    /// Their gradients, same order.
    pub grads: Vec<TensorId>,
    /// Adam's moments (m, v) of each, same order.
    pub moments: Vec<[TensorId; 2]>,
    /// The stage the schedule trains.
    pub stage: Stage,
    /// Z̃ (N × L), the embedding k-means clusters (fused stages).
    pub z_tilde: Option<TensorId>,
    /// The target distribution P (N × K) the forward pass computes from Q (DFCN stage).
    pub p: Option<TensorId>,
    /// The AE stage's per-row loss weights (1/B on the mini-batch's rows, 0 on padding).
    pub batch_weights: Option<TensorId>,
    /// Σ of the loss rows: MSE(X̂, X), MSE(Ẑ, ÂX), the adjacency MSE's dense part minus its
    /// correction, and the three KL terms.
    pub loss_sums: LossSums,
    /// The column splits of the N² kernels.
    pub layout: ColumnSplits,
}

/// The graph's CSR inputs, in their [`SparseId`] order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Adjacency {
    /// Â = D⁻¹(A + I).
    pub a_hat: SparseId,
    /// Âᵀ.
    pub a_hat_t: SparseId,
    /// Â + Âᵀ (the adjacency MSE's correction).
    pub a_sym: SparseId,
}

/// The 1 × 1 tensors the loss is made of (see [`super::DfcnLoss`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossSums {
    /// Σ (X̂ − X)² (weighted by the batch weights in the AE stage).
    pub features: Option<TensorId>,
    /// Σ (Ẑ − ÂX)².
    pub propagated: Option<TensorId>,
    /// Σ (Â_enc + Â_dec)² − Σ (Â + Âᵀ)(Â_enc + Â_dec) over the pattern.
    pub adjacency: Option<TensorId>,
    /// Σ over the three assignments of Σ p (log p − log q).
    pub kl: Option<TensorId>,
}

/// The training schedule of `stage` for N = `nodes`, d = `features`, Â with
/// `adjacency_nnz` entries; the N² kernels' column splits chosen for `layout`. The AE
/// stage has no graph terms: its `nodes` are the rows of one mini-batch (gathered from X
/// before each step) and it declares no CSR inputs.
pub fn training(
    config: &DfcnConfig,
    stage: Stage,
    nodes: usize,
    features: usize,
    adjacency_nnz: usize,
    layout: ColumnSplits,
) -> (Schedule, DfcnHandles) {
    let mut b = Builder::default();
    let adjacency = (stage != Stage::Ae).then(|| Adjacency {
        a_hat: b.sparse("a_hat", nodes, nodes, adjacency_nnz),
        a_hat_t: b.sparse("a_hat_t", nodes, nodes, adjacency_nnz),
        a_sym: b.sparse("a_sym", nodes, nodes, adjacency_nnz),
    });
    let x = b.f32("x", nodes, features, Role::Input);
    let specs = param_specs(config, features);
    let params: Vec<TensorId> = specs
        .iter()
        .map(|s| b.f32(&s.name, s.rows, s.cols, Role::Parameter))
        .collect();
    let grads: Vec<TensorId> = specs
        .iter()
        .map(|s| b.f32(&format!("d_{}", s.name), s.rows, s.cols, Role::Output))
        .collect();
    let mut d = DfcnBuilder {
        b,
        config,
        n: nodes,
        adjacency,
        params: params.clone(),
        grads: grads.clone(),
        stage,
    };
    d.b.set_phase(Phase::Encode);
    let fwd = d.forward(x, layout);
    d.b.set_phase(Phase::LossAndGrads);
    let batch_weights =
        (stage == Stage::Ae).then(|| d.b.f32("ae.batch_weights", nodes, 1, Role::EpochInput));
    let loss_sums = d.loss_and_grads(&fwd, x, layout, batch_weights);
    d.b.set_phase(Phase::Optimize);
    let moments = d.adam();
    let handles = DfcnHandles {
        adjacency,
        x,
        params,
        grads,
        moments,
        stage,
        z_tilde: fwd.z_tilde,
        p: fwd.p,
        batch_weights,
        loss_sums,
        layout,
    };
    (d.b.finish(), handles)
}

/// Indices into [`param_specs`]: AE encoder (w, b) × 4, AE decoder (w, b) × 4, IGAE
/// encoder w × 3, IGAE decoder w × 3, centres, γ.
const AE_ENC: usize = 0;
const AE_DEC: usize = 8;
const IGAE_ENC: usize = 16;
const IGAE_DEC: usize = 19;
pub(crate) const CENTERS_PARAM: usize = 22;
pub(crate) const GAMMA_PARAM: usize = 23;

/// A linear layer's tensors, for its backward pass.
#[derive(Clone, Copy)]
struct Linear {
    input: TensorId,
    param: usize,
    activation: Activation,
    out: TensorId,
}

/// An IGAE layer out = Â·act(input·W): its tensors, for its backward pass.
#[derive(Clone, Copy)]
struct Graph {
    input: TensorId,
    param: usize,
    /// tanh(input·W), or None for the encoder's last layer (no activation).
    tanh_out: Option<TensorId>,
}

/// What the forward pass leaves for the backward pass.
struct Forward {
    ae_enc: Vec<Linear>,
    ae_dec: Vec<Linear>,
    igae_enc: Vec<Graph>,
    igae_dec: Vec<Graph>,
    z_ae: Option<TensorId>,
    z_g: Option<TensorId>,
    fusion: Option<Fusion>,
    z_tilde: Option<TensorId>,
    x_hat: Option<TensorId>,
    z_hat: Option<TensorId>,
    /// q, q1, q2 (DFCN stage).
    q: Option<[TensorId; 3]>,
    p: Option<TensorId>,
}

/// The fusion's tensors, for its backward pass.
struct Fusion {
    z_l: TensorId,
    zs: TensorId,
    lse: TensorId,
}

struct DfcnBuilder<'a> {
    b: Builder,
    config: &'a DfcnConfig,
    n: usize,
    adjacency: Option<Adjacency>,
    params: Vec<TensorId>,
    grads: Vec<TensorId>,
    stage: Stage,
}

impl DfcnBuilder<'_> {
    /// The graph's CSR inputs; only the graph stages (never the AE stage) reach here.
    fn graph_inputs(&self) -> Adjacency {
        self.adjacency
            .expect("every stage with graph terms declares the adjacency")
    }

    fn cols(&self, id: TensorId) -> usize {
        self.b.spec(id).cols
    }

    fn lincomb(&mut self, x: TensorId, y: Option<TensorId>, terms: Combination, out: TensorId) {
        self.b.push(LincombStep {
            x,
            y,
            scale: None,
            terms,
            out,
        });
    }

    /// out = act(input·W + b) with the weight and bias at `param`, `param + 1`.
    fn linear(&mut self, name: &str, input: TensorId, param: usize, act: Activation) -> Linear {
        let (w, bias) = (self.params[param], self.params[param + 1]);
        let cols = self.cols(w);
        let pre = self.b.scratch(&format!("{name}.pre"), self.n, cols);
        self.b.push(MatmulStep {
            a: input,
            b: w,
            transpose_b: false,
            mask: None,
            out: pre,
        });
        let out = self.b.scratch(name, self.n, cols);
        self.b.push(BiasActStep {
            x: pre,
            bias: Some(bias),
            activation: act,
            out,
        });
        Linear {
            input,
            param,
            activation: act,
            out,
        }
    }

    /// out = Â·act(input·W), act = tanh or none.
    fn graph(
        &mut self,
        name: &str,
        input: TensorId,
        param: usize,
        tanh: bool,
    ) -> (Graph, TensorId) {
        let w = self.params[param];
        let cols = self.cols(w);
        let pre = self.b.scratch(&format!("{name}.pre"), self.n, cols);
        self.b.push(MatmulStep {
            a: input,
            b: w,
            transpose_b: false,
            mask: None,
            out: pre,
        });
        let tanh_out = tanh.then(|| {
            let u = self.b.scratch(&format!("{name}.tanh"), self.n, cols);
            self.b.push(BiasActStep {
                x: pre,
                bias: None,
                activation: Activation::Tanh,
                out: u,
            });
            u
        });
        let out = self.b.scratch(name, self.n, cols);
        self.b.push(SpmmStep::plain(
            self.graph_inputs().a_hat,
            tanh_out.unwrap_or(pre),
            out,
        ));
        (
            Graph {
                input,
                param,
                tanh_out,
            },
            out,
        )
    }

    /// An AE stack of four linear layers (LeakyReLU after the first three) from
    /// parameter `first` on.
    fn ae_stack(&mut self, part: &str, input: TensorId, first: usize, last: &str) -> Vec<Linear> {
        let leaky = Activation::LeakyRelu {
            slope: self.config.slope,
        };
        let mut layers: Vec<Linear> = Vec::new();
        let mut h = input;
        for layer in 0..4 {
            let (act, name) = if layer < 3 {
                (leaky, format!("{part}{}", layer + 1))
            } else {
                (Activation::Identity, last.to_string())
            };
            let lin = self.linear(&name, h, first + 2 * layer, act);
            h = lin.out;
            layers.push(lin);
        }
        layers
    }

    /// An IGAE stack of three graph layers from parameter `first` on; the last one
    /// without tanh unless `tanh_last`.
    fn igae_stack(
        &mut self,
        part: &str,
        input: TensorId,
        first: usize,
        last: &str,
        tanh_last: bool,
    ) -> (Vec<Graph>, TensorId) {
        let mut layers = Vec::new();
        let mut g = input;
        for layer in 0..3 {
            let name = if layer < 2 {
                format!("{part}{}", layer + 1)
            } else {
                last.to_string()
            };
            let (graph, out) = self.graph(&name, g, first + layer, layer < 2 || tanh_last);
            layers.push(graph);
            g = out;
        }
        (layers, g)
    }

    fn forward(&mut self, x: TensorId, layout: ColumnSplits) -> Forward {
        let (n, l, k) = (self.n, self.config.latent, self.config.clusters);
        let stage = self.stage;
        let ae_enc = if stage.trains_ae() {
            self.ae_stack("ae.h", x, AE_ENC, "z_ae")
        } else {
            Vec::new()
        };
        let z_ae = ae_enc.last().map(|lin| lin.out);
        let (igae_enc, z_g) = if stage.trains_igae() {
            let (layers, z_g) = self.igae_stack("igae.g", x, IGAE_ENC, "z_g", false);
            (layers, Some(z_g))
        } else {
            (Vec::new(), None)
        };
        // Fusion: Z_L = Â·(a·Z_AE + (1 − a)·Z_G), then the self-correlation.
        let (fusion, z_tilde) = match (stage.fused(), z_ae, z_g) {
            (true, Some(z_ae), Some(z_g)) => {
                let a = self.config.fusion;
                let z_i = self.b.scratch("z_i", n, l);
                self.lincomb(
                    z_ae,
                    Some(z_g),
                    Combination {
                        alpha: a,
                        beta: 1.0 - a,
                        accumulate: false,
                    },
                    z_i,
                );
                let z_l = self.b.scratch("z_l", n, l);
                self.b
                    .push(SpmmStep::plain(self.graph_inputs().a_hat, z_i, z_l));
                let att = self
                    .b
                    .scratch("attention.partial", layout.splits, n * (2 + l));
                self.b.push(AttentionForwardStep {
                    y: z_l,
                    layout,
                    partial: att,
                });
                let zs = self.b.scratch("z_s", n, l);
                let lse = self.b.scratch("attention.lse", n, 1);
                let z_tilde = self.b.f32("z_tilde", n, l, Role::Output);
                self.b.push(AttentionCombineStep {
                    partial: att,
                    layout,
                    y: z_l,
                    gamma: self.params[GAMMA_PARAM],
                    zs,
                    lse,
                    z_tilde,
                });
                (Some(Fusion { z_l, zs, lse }), Some(z_tilde))
            }
            _ => (None, None),
        };
        // Decoders: from Z̃ when fused, else from their own encoder's output.
        let ae_dec = match z_tilde.or(z_ae) {
            Some(z) => self.ae_stack("ae.d", z, AE_DEC, "x_hat"),
            None => Vec::new(),
        };
        let x_hat = ae_dec.last().map(|lin| lin.out);
        let (igae_dec, z_hat) = match z_tilde.or(z_g) {
            Some(z) => {
                let (layers, z_hat) = self.igae_stack("igae.e", z, IGAE_DEC, "z_hat", true);
                (layers, Some(z_hat))
            }
            None => (Vec::new(), None),
        };
        // Soft assignments and the target distribution (from q, no gradient).
        let (mut q, mut p) = (None, None);
        if let (Stage::Dfcn, Some(z_tilde), Some(z_ae), Some(z_g)) = (stage, z_tilde, z_ae, z_g) {
            let centers = self.params[CENTERS_PARAM];
            let qs = [
                self.b.scratch("q", n, k),
                self.b.scratch("q1", n, k),
                self.b.scratch("q2", n, k),
            ];
            for (z, q) in [z_tilde, z_ae, z_g].into_iter().zip(qs) {
                self.b.push(StudentTStep { z, centers, q });
            }
            let f = self.b.scratch("q.col_sums", 1, k);
            self.b.column_sums(qs[0], f);
            let target = self.b.scratch("p", n, k);
            self.b.push(TargetDistStep {
                q: qs[0],
                f,
                p: target,
            });
            q = Some(qs);
            p = Some(target);
        }
        Forward {
            ae_enc,
            ae_dec,
            igae_enc,
            igae_dec,
            z_ae,
            z_g,
            fusion,
            z_tilde,
            x_hat,
            z_hat,
            q,
            p,
        }
    }

    /// The backward pass of a linear layer from the gradient of its output: its weight's
    /// and bias's gradients, and the gradient of its input when `input_grad`.
    fn linear_backward(
        &mut self,
        lin: Linear,
        dout: TensorId,
        input_grad: bool,
    ) -> Option<TensorId> {
        let name = self.b.spec(lin.out).name.clone();
        let cols = self.cols(lin.out);
        let dpre = if lin.activation == Activation::Identity {
            dout
        } else {
            let dpre = self.b.scratch(&format!("d_{name}.pre"), self.n, cols);
            self.b.push(ActBackwardStep {
                dy: dout,
                y: lin.out,
                activation: lin.activation,
                dx: dpre,
            });
            dpre
        };
        self.weight_grad(lin.input, dpre, lin.param);
        self.b.column_sums(dpre, self.grads[lin.param + 1]);
        input_grad.then(|| self.input_grad(&name, dpre, lin.param, lin.input))
    }

    /// dW = inputᵀ·dpre into the gradient of `param`.
    fn weight_grad(&mut self, input: TensorId, dpre: TensorId, param: usize) {
        let size = self.cols(input) * self.cols(dpre);
        let name = self.b.spec(self.grads[param]).name.clone();
        let partial = self.b.scratch(
            &format!("{name}.partial"),
            matmul_tn_partial::chunks(self.n),
            size,
        );
        self.b.push(MatmulTnPartialStep {
            a: input,
            b: dpre,
            partial,
        });
        self.b.column_sums(partial, self.grads[param]);
    }

    /// d input = dpre·Wᵀ.
    fn input_grad(
        &mut self,
        name: &str,
        dpre: TensorId,
        param: usize,
        input: TensorId,
    ) -> TensorId {
        let din = self
            .b
            .scratch(&format!("d_{name}.input"), self.n, self.cols(input));
        self.b.push(MatmulStep {
            a: dpre,
            b: self.params[param],
            transpose_b: true,
            mask: None,
            out: din,
        });
        din
    }

    /// The backward pass of an IGAE layer out = Â·act(input·W) from d out.
    fn graph_backward(&mut self, g: Graph, dout: TensorId, input_grad: bool) -> Option<TensorId> {
        let name = self.b.spec(self.grads[g.param]).name.clone();
        let cols = self.cols(dout);
        let du = self.b.scratch(&format!("{name}.du"), self.n, cols);
        self.b
            .push(SpmmStep::plain(self.graph_inputs().a_hat_t, dout, du));
        let dpre = match g.tanh_out {
            Some(u) => {
                let dpre = self.b.scratch(&format!("{name}.dpre"), self.n, cols);
                self.b.push(ActBackwardStep {
                    dy: du,
                    y: u,
                    activation: Activation::Tanh,
                    dx: dpre,
                });
                dpre
            }
            None => du,
        };
        self.weight_grad(g.input, dpre, g.param);
        input_grad.then(|| self.input_grad(&name, dpre, g.param, g.input))
    }

    /// out = alpha·x (+ out).
    fn scaled(&mut self, x: TensorId, alpha: f32, accumulate: bool, out: TensorId) {
        self.lincomb(
            x,
            None,
            Combination {
                alpha,
                beta: 0.0,
                accumulate,
            },
            out,
        );
    }

    fn loss_and_grads(
        &mut self,
        f: &Forward,
        x: TensorId,
        layout: ColumnSplits,
        batch_weights: Option<TensorId>,
    ) -> LossSums {
        let (n, l, k) = (self.n, self.config.latent, self.config.clusters);
        let d = self.cols(x);
        let mse_scale = 2.0 / (n as f32 * d as f32);
        let n2 = n as f64 * n as f64;
        let mut sums = LossSums {
            features: None,
            propagated: None,
            adjacency: None,
            kl: None,
        };
        // MSE(X̂, X) (over the batch's rows in the AE stage: weights 1/B, scale 2/d).
        let dx_hat = f.x_hat.map(|x_hat| {
            let dx_hat = self.b.scratch("d_x_hat", n, d);
            let rows = self.b.scratch("loss.features.rows", n, 1);
            self.b.push(MseGradStep {
                a: x_hat,
                b: x,
                weights: batch_weights,
                scale: if batch_weights.is_some() {
                    2.0 / d as f32
                } else {
                    mse_scale
                },
                accumulate: false,
                grad: dx_hat,
                loss_rows: rows,
            });
            let sum = self.b.f32("loss.features", 1, 1, Role::Output);
            self.b.column_sums(rows, sum);
            sums.features = Some(sum);
            dx_hat
        });
        // w·MSE(Â_enc + Â_dec, Â): the dense pass, then the correction over Â + Âᵀ; and
        // MSE(Ẑ, Â·X), added to dẐ.
        let mut igae_grads = None;
        if let (Some(z_g), Some(z_hat)) = (f.z_g, f.z_hat) {
            // Block by block of rows: the coefficients against the columns from the
            // block's first row on, then the block's rows of ga and gb from them and
            // (the coefficients being symmetric) the mirrored sums of the later rows.
            let blocks = PairMseBlocks::new(n, layout);
            let coefficients =
                self.b
                    .scratch("pair_mse.coefficients", 1, blocks.coefficients_len(n));
            let dense = self
                .b
                .scratch("pair_mse.dense", 1, blocks.dense_len(n, l, d));
            for block in blocks.blocks(n) {
                let (row0, rows) = (block.start, block.len());
                self.b.push(PairMseStep {
                    za: z_g,
                    zb: z_hat,
                    blocks,
                    row0,
                    rows,
                    coefficients,
                    dense,
                });
                for factor in [Factor::A, Factor::B] {
                    self.b.push(PairMseGradientStep {
                        za: z_g,
                        zb: z_hat,
                        factor,
                        blocks,
                        row0,
                        rows,
                        coefficients,
                        dense,
                    });
                    if has_mirror(&block, n) {
                        self.b.push(PairMseMirrorStep {
                            za: z_g,
                            zb: z_hat,
                            factor,
                            blocks,
                            row0,
                            rows,
                            coefficients,
                            dense,
                        });
                    }
                }
            }
            let dz_g = self.b.scratch("d_z_g", n, l);
            let dz_hat = self.b.scratch("d_z_hat", n, d);
            let rows = self.b.scratch("loss.adjacency.rows", n, 1);
            self.b.push(PairMseSparseStep {
                za: z_g,
                zb: z_hat,
                dense,
                blocks,
                s: self.graph_inputs().a_sym,
                kappa: (2.0 * f64::from(self.config.adjacency_weight) / n2) as f32,
                accumulate: false,
                dza: dz_g,
                dzb: dz_hat,
                loss_rows: rows,
            });
            let sum = self.b.f32("loss.adjacency", 1, 1, Role::Output);
            self.b.column_sums(rows, sum);
            sums.adjacency = Some(sum);
            let ax = self.b.scratch("a_hat_x", n, d);
            self.b
                .push(SpmmStep::plain(self.graph_inputs().a_hat, x, ax));
            let rows = self.b.scratch("loss.propagated.rows", n, 1);
            self.b.push(MseGradStep {
                a: z_hat,
                b: ax,
                weights: None,
                scale: mse_scale,
                accumulate: true,
                grad: dz_hat,
                loss_rows: rows,
            });
            let sum = self.b.f32("loss.propagated", 1, 1, Role::Output);
            self.b.column_sums(rows, sum);
            sums.propagated = Some(sum);
            igae_grads = Some((dz_g, dz_hat));
        }
        // λ·KL(P ‖ (log q + log q1 + log q2)/3): q's term first (into dZ̃).
        let kl_scale = self.config.kl_weight / (3.0 * n as f32);
        let centers = self.params[CENTERS_PARAM];
        let kl = match (f.q, f.p, f.z_tilde) {
            (Some(q), Some(p), Some(z_tilde)) => {
                let dz_tilde = self.b.scratch("d_z_tilde", n, l);
                let dc_rows = self.b.scratch("d_centers.rows", n, k * l);
                let kl_rows = self.b.scratch("loss.kl.rows", n, 1);
                self.b.push(StudentTGradStep {
                    z: z_tilde,
                    centers,
                    q: q[0],
                    p,
                    scale: kl_scale,
                    accumulate: false,
                    dz: dz_tilde,
                    dc_rows,
                    loss_rows: kl_rows,
                });
                Some((q, p, dz_tilde, dc_rows, kl_rows))
            }
            _ => None,
        };
        // Decoders' backward passes.
        let dec_ae = dx_hat.map(|dx_hat| {
            let mut grad = dx_hat;
            for lin in f.ae_dec.clone().into_iter().rev() {
                if let Some(din) = self.linear_backward(lin, grad, true) {
                    grad = din;
                }
            }
            grad
        });
        let dec_igae = igae_grads.map(|(_, dz_hat)| {
            let mut grad = dz_hat;
            for g in f.igae_dec.clone().into_iter().rev() {
                if let Some(din) = self.graph_backward(g, grad, true) {
                    grad = din;
                }
            }
            grad
        });
        let dz_g = igae_grads.map(|(dz_g, _)| dz_g);
        let dz_ae = match (&f.fusion, dec_ae, dec_igae, dz_g) {
            (Some(fusion), Some(dec_ae), Some(dec_igae), Some(dz_g)) => {
                // dZ̃ = both decoders' input gradients (+ the KL term).
                let dz_tilde = match kl {
                    Some((_, _, dz_tilde, _, _)) => dz_tilde,
                    None => self.b.scratch("d_z_tilde", n, l),
                };
                self.lincomb(
                    dec_ae,
                    Some(dec_igae),
                    Combination {
                        alpha: 1.0,
                        beta: 1.0,
                        accumulate: kl.is_some(),
                    },
                    dz_tilde,
                );
                let dz_i = self.fusion_backward(fusion, dz_tilde, layout);
                // dZ_AE = a·dZ_I (+ KL'(q1)); dZ_G += (1 − a)·dZ_I (+ KL'(q2)).
                let a = self.config.fusion;
                let dz = self.b.scratch("d_z_ae", n, l);
                self.scaled(dz_i, a, false, dz);
                self.scaled(dz_i, 1.0 - a, true, dz_g);
                if let (Some((q, p, _, dc_rows, kl_rows)), Some(z_ae), Some(z_g)) =
                    (kl, f.z_ae, f.z_g)
                {
                    for (z, q, dz) in [(z_ae, q[1], dz), (z_g, q[2], dz_g)] {
                        self.b.push(StudentTGradStep {
                            z,
                            centers,
                            q,
                            p,
                            scale: kl_scale,
                            accumulate: true,
                            dz,
                            dc_rows,
                            loss_rows: kl_rows,
                        });
                    }
                    let sum = self.b.f32("loss.kl", 1, 1, Role::Output);
                    self.b.column_sums(kl_rows, sum);
                    sums.kl = Some(sum);
                    self.b.column_sums(dc_rows, self.grads[CENTERS_PARAM]);
                }
                Some(dz)
            }
            // Unfused stages: each decoder feeds its own encoder.
            (_, dec_ae, dec_igae, dz_g) => {
                if let (Some(dec_igae), Some(dz_g)) = (dec_igae, dz_g) {
                    self.scaled(dec_igae, 1.0, true, dz_g);
                }
                dec_ae
            }
        };
        // Encoders' backward passes.
        if let Some(mut grad) = dz_ae {
            for (layer, lin) in f.ae_enc.clone().into_iter().enumerate().rev() {
                if let Some(din) = self.linear_backward(lin, grad, layer > 0) {
                    grad = din;
                }
            }
        }
        if let Some(mut grad) = dz_g {
            for (layer, g) in f.igae_enc.clone().into_iter().enumerate().rev() {
                if let Some(din) = self.graph_backward(g, grad, layer > 0) {
                    grad = din;
                }
            }
        }
        sums
    }

    /// The fusion's backward pass from dZ̃: dγ = Σ dZ̃∘Z_S; with G = γ·dZ̃ and
    /// D_i = G_i·Z_S,i, dZ_L = dZ̃ + attention backward; returns dZ_I = Âᵀ·dZ_L.
    fn fusion_backward(
        &mut self,
        fusion: &Fusion,
        dz_tilde: TensorId,
        layout: ColumnSplits,
    ) -> TensorId {
        let (n, l) = (self.n, self.config.latent);
        let gamma = self.params[GAMMA_PARAM];
        let row_dots = self.b.scratch("d_gamma.rows", n, 1);
        self.b.push(RowDotStep {
            x: dz_tilde,
            y: fusion.zs,
            out: row_dots,
        });
        self.b.column_sums(row_dots, self.grads[GAMMA_PARAM]);
        let times_gamma = Combination {
            alpha: 1.0,
            beta: 0.0,
            accumulate: false,
        };
        let g = self.b.scratch("attention.g", n, l);
        self.b.push(LincombStep {
            x: dz_tilde,
            y: None,
            scale: Some(gamma),
            terms: times_gamma,
            out: g,
        });
        let dd = self.b.scratch("attention.d", n, 1);
        self.b.push(LincombStep {
            x: row_dots,
            y: None,
            scale: Some(gamma),
            terms: times_gamma,
            out: dd,
        });
        let partial = self
            .b
            .scratch("attention_backward.partial", layout.splits, n * l);
        self.b.push(AttentionBackwardStep {
            y: fusion.z_l,
            g,
            lse: fusion.lse,
            d: dd,
            layout,
            partial,
        });
        let dz_l = self.b.scratch("d_z_l", n, l);
        self.b.column_sums(partial, dz_l);
        self.scaled(dz_tilde, 1.0, true, dz_l);
        let dz_i = self.b.scratch("d_z_i", n, l);
        self.b
            .push(SpmmStep::plain(self.graph_inputs().a_hat_t, dz_l, dz_i));
        dz_i
    }

    /// Adam on every tensor the stage trains; returns the moments (in [`param_specs`]
    /// order, of the trained tensors only).
    fn adam(&mut self) -> Vec<[TensorId; 2]> {
        let mut moments = Vec::new();
        for (index, (&param, &grad)) in self
            .params
            .clone()
            .iter()
            .zip(&self.grads.clone())
            .enumerate()
        {
            if !self.stage.trains(index) {
                continue;
            }
            let (rows, cols, name) = {
                let s = self.b.spec(param);
                (s.rows, s.cols, s.name.clone())
            };
            let m = self
                .b
                .f32(&format!("adam.m.{name}"), rows, cols, Role::State);
            let v = self
                .b
                .f32(&format!("adam.v.{name}"), rows, cols, Role::State);
            self.b.push(AdamStep {
                param,
                grad,
                m,
                v,
                config: self.config.adam,
            });
            moments.push([m, v]);
        }
        moments
    }
}
