//! DFCN's epoch as a [`Schedule`] (DESIGN.md §10a): the forward pass in phase encode,
//! the four losses and the manual backward pass in phase loss-and-grads, Adam on all 24
//! trained tensors in phase optimize.
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
use crate::kernels::pair_mse::{partial_width, ColumnSplits, PairMseStep};
use crate::kernels::pair_mse_sparse::PairMseSparseStep;
use crate::kernels::row_dot::RowDotStep;
use crate::kernels::spmm::SpmmStep;
use crate::kernels::student_t::StudentTStep;
use crate::kernels::student_t_grad::StudentTGradStep;
use crate::kernels::target_dist::TargetDistStep;
use crate::model::schedule::{Builder, Phase, Role, Schedule, SparseId, TensorId};

/// The tensors DFCN's host code reads and writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DfcnHandles {
    /// Â = D⁻¹(A + I).
    pub a_hat: SparseId,
    /// Âᵀ.
    pub a_hat_t: SparseId,
    /// Â + Âᵀ (the adjacency MSE's correction).
    pub a_sym: SparseId,
    /// The features X (N × d).
    pub x: TensorId,
    /// The trained tensors, in [`param_specs`] order.
    pub params: Vec<TensorId>,
    /// Their gradients, same order.
    pub grads: Vec<TensorId>,
    /// Adam's moments (m, v) of each, same order.
    pub moments: Vec<[TensorId; 2]>,
    /// Z̃ (N × L), the embedding k-means clusters.
    pub z_tilde: TensorId,
    /// Q (N × K), the soft assignment of Z̃.
    pub q: TensorId,
    /// The target distribution P (N × K) the forward pass computes from Q.
    pub p: TensorId,
    /// Σ of the loss rows: MSE(X̂, X), MSE(Ẑ, ÂX), the adjacency MSE's dense part minus its
    /// correction, and the three KL terms.
    pub loss_sums: LossSums,
    /// The column splits of the N² kernels.
    pub layout: ColumnSplits,
}

/// The 1 × 1 tensors the loss is made of (see [`super::DfcnLoss`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossSums {
    /// Σ (X̂ − X)².
    pub features: TensorId,
    /// Σ (Ẑ − ÂX)².
    pub propagated: TensorId,
    /// Σ (Â_enc + Â_dec)² − Σ (Â + Âᵀ)(Â_enc + Â_dec) over the pattern.
    pub adjacency: TensorId,
    /// Σ over the three assignments of Σ p (log p − log q).
    pub kl: TensorId,
}

/// DFCN's training schedule for N = `nodes`, d = `features`, Â with `adjacency_nnz`
/// entries; the N² kernels' column splits chosen for `layout`.
pub fn training(
    config: &DfcnConfig,
    nodes: usize,
    features: usize,
    adjacency_nnz: usize,
    layout: ColumnSplits,
) -> (Schedule, DfcnHandles) {
    let mut b = Builder::default();
    let a_hat = b.sparse("a_hat", nodes, nodes, adjacency_nnz);
    let a_hat_t = b.sparse("a_hat_t", nodes, nodes, adjacency_nnz);
    let a_sym = b.sparse("a_sym", nodes, nodes, adjacency_nnz);
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
        a_hat,
        a_hat_t,
        params: params.clone(),
        grads: grads.clone(),
    };
    d.b.set_phase(Phase::Encode);
    let fwd = d.forward(x, layout);
    d.b.set_phase(Phase::LossAndGrads);
    let loss_sums = d.loss_and_grads(&fwd, x, a_sym, layout);
    d.b.set_phase(Phase::Optimize);
    let moments = d.adam();
    let handles = DfcnHandles {
        a_hat,
        a_hat_t,
        a_sym,
        x,
        params,
        grads,
        moments,
        z_tilde: fwd.z_tilde,
        q: fwd.q[0],
        p: fwd.p,
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
    z_ae: TensorId,
    z_g: TensorId,
    z_l: TensorId,
    zs: TensorId,
    lse: TensorId,
    z_tilde: TensorId,
    x_hat: TensorId,
    z_hat: TensorId,
    /// q, q1, q2.
    q: [TensorId; 3],
    p: TensorId,
}

struct DfcnBuilder<'a> {
    b: Builder,
    config: &'a DfcnConfig,
    n: usize,
    a_hat: SparseId,
    a_hat_t: SparseId,
    params: Vec<TensorId>,
    grads: Vec<TensorId>,
}

impl DfcnBuilder<'_> {
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
        self.b
            .push(SpmmStep::plain(self.a_hat, tanh_out.unwrap_or(pre), out));
        (
            Graph {
                input,
                param,
                tanh_out,
            },
            out,
        )
    }

    fn forward(&mut self, x: TensorId, layout: ColumnSplits) -> Forward {
        let (n, l, k) = (self.n, self.config.latent, self.config.clusters);
        let leaky = Activation::LeakyRelu {
            slope: self.config.slope,
        };
        // AE encoder.
        let mut ae_enc = Vec::new();
        let mut h = x;
        for layer in 0..4 {
            let act = if layer < 3 {
                leaky
            } else {
                Activation::Identity
            };
            let name = if layer < 3 {
                format!("ae.h{}", layer + 1)
            } else {
                "z_ae".into()
            };
            let lin = self.linear(&name, h, AE_ENC + 2 * layer, act);
            h = lin.out;
            ae_enc.push(lin);
        }
        let z_ae = h;
        // IGAE encoder.
        let mut igae_enc = Vec::new();
        let mut g = x;
        for layer in 0..3 {
            let name = if layer < 2 {
                format!("igae.g{}", layer + 1)
            } else {
                "z_g".into()
            };
            let (graph, out) = self.graph(&name, g, IGAE_ENC + layer, layer < 2);
            igae_enc.push(graph);
            g = out;
        }
        let z_g = g;
        // Fusion: Z_L = Â·(a·Z_AE + (1 − a)·Z_G), then the self-correlation.
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
        self.b.push(SpmmStep::plain(self.a_hat, z_i, z_l));
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
        // Decoders.
        let mut ae_dec = Vec::new();
        let mut h = z_tilde;
        for layer in 0..4 {
            let act = if layer < 3 {
                leaky
            } else {
                Activation::Identity
            };
            let name = if layer < 3 {
                format!("ae.d{}", layer + 1)
            } else {
                "x_hat".into()
            };
            let lin = self.linear(&name, h, AE_DEC + 2 * layer, act);
            h = lin.out;
            ae_dec.push(lin);
        }
        let x_hat = h;
        let mut igae_dec = Vec::new();
        let mut g = z_tilde;
        for layer in 0..3 {
            let name = if layer < 2 {
                format!("igae.e{}", layer + 1)
            } else {
                "z_hat".into()
            };
            let (graph, out) = self.graph(&name, g, IGAE_DEC + layer, true);
            igae_dec.push(graph);
            g = out;
        }
        let z_hat = g;
        // Soft assignments and the target distribution (from q, no gradient).
        let centers = self.params[CENTERS_PARAM];
        let q = [
            self.b.f32("q", n, k, Role::Output),
            self.b.scratch("q1", n, k),
            self.b.scratch("q2", n, k),
        ];
        for (z, q) in [z_tilde, z_ae, z_g].into_iter().zip(q) {
            self.b.push(StudentTStep { z, centers, q });
        }
        let f = self.b.scratch("q.col_sums", 1, k);
        self.b.column_sums(q[0], f);
        let p = self.b.scratch("p", n, k);
        self.b.push(TargetDistStep { q: q[0], f, p });
        Forward {
            ae_enc,
            ae_dec,
            igae_enc,
            igae_dec,
            z_ae,
            z_g,
            z_l,
            zs,
            lse,
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
        self.b.push(SpmmStep::plain(self.a_hat_t, dout, du));
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

    fn loss_and_grads(
        &mut self,
        f: &Forward,
        x: TensorId,
        a_sym: SparseId,
        layout: ColumnSplits,
    ) -> LossSums {
        let (n, l, k) = (self.n, self.config.latent, self.config.clusters);
        let d = self.cols(x);
        let mse_scale = 2.0 / (n as f32 * d as f32);
        let n2 = n as f64 * n as f64;
        let sums = LossSums {
            features: self.b.f32("loss.features", 1, 1, Role::Output),
            propagated: self.b.f32("loss.propagated", 1, 1, Role::Output),
            adjacency: self.b.f32("loss.adjacency", 1, 1, Role::Output),
            kl: self.b.f32("loss.kl", 1, 1, Role::Output),
        };
        // MSE(X̂, X).
        let dx_hat = self.b.scratch("d_x_hat", n, d);
        let rows = self.b.scratch("loss.features.rows", n, 1);
        self.b.push(MseGradStep {
            a: f.x_hat,
            b: x,
            weights: None,
            scale: mse_scale,
            accumulate: false,
            grad: dx_hat,
            loss_rows: rows,
        });
        self.b.column_sums(rows, sums.features);
        // w·MSE(Â_enc + Â_dec, Â): the dense pass, then the correction over Â + Âᵀ.
        let partial = self
            .b
            .scratch("pair_mse.partial", layout.splits, n * partial_width(l, d));
        self.b.push(PairMseStep {
            za: f.z_g,
            zb: f.z_hat,
            layout,
            partial,
        });
        let dz_g = self.b.scratch("d_z_g", n, l);
        let dz_hat = self.b.scratch("d_z_hat", n, d);
        let rows = self.b.scratch("loss.adjacency.rows", n, 1);
        self.b.push(PairMseSparseStep {
            za: f.z_g,
            zb: f.z_hat,
            partial,
            layout,
            s: a_sym,
            kappa: (2.0 * f64::from(self.config.adjacency_weight) / n2) as f32,
            accumulate: false,
            dza: dz_g,
            dzb: dz_hat,
            loss_rows: rows,
        });
        self.b.column_sums(rows, sums.adjacency);
        // MSE(Ẑ, Â·X), added to dẐ.
        let ax = self.b.scratch("a_hat_x", n, d);
        self.b.push(SpmmStep::plain(self.a_hat, x, ax));
        let rows = self.b.scratch("loss.propagated.rows", n, 1);
        self.b.push(MseGradStep {
            a: f.z_hat,
            b: ax,
            weights: None,
            scale: mse_scale,
            accumulate: true,
            grad: dz_hat,
            loss_rows: rows,
        });
        self.b.column_sums(rows, sums.propagated);
        // λ·KL(P ‖ (log q + log q1 + log q2)/3): q's term first (into dZ̃).
        let kl_scale = self.config.kl_weight / (3.0 * n as f32);
        let centers = self.params[CENTERS_PARAM];
        let dz_tilde = self.b.scratch("d_z_tilde", n, l);
        let dc_rows = self.b.scratch("d_centers.rows", n, k * l);
        let kl_rows = self.b.scratch("loss.kl.rows", n, 1);
        self.b.push(StudentTGradStep {
            z: f.z_tilde,
            centers,
            q: f.q[0],
            p: f.p,
            scale: kl_scale,
            accumulate: false,
            dz: dz_tilde,
            dc_rows,
            loss_rows: kl_rows,
        });
        // Decoders' backward passes into dZ̃.
        let mut grad = dx_hat;
        for lin in f.ae_dec.clone().into_iter().rev() {
            if let Some(din) = self.linear_backward(lin, grad, true) {
                grad = din;
            }
        }
        let dz_tilde_ae = grad;
        let mut grad = dz_hat;
        for g in f.igae_dec.clone().into_iter().rev() {
            if let Some(din) = self.graph_backward(g, grad, true) {
                grad = din;
            }
        }
        self.lincomb(
            dz_tilde_ae,
            Some(grad),
            Combination {
                alpha: 1.0,
                beta: 1.0,
                accumulate: true,
            },
            dz_tilde,
        );
        // Self-correlation backward: dγ = Σ dZ̃∘Z_S; G = γ·dZ̃, D_i = G_i·Z_S,i.
        let gamma = self.params[GAMMA_PARAM];
        let row_dots = self.b.scratch("d_gamma.rows", n, 1);
        self.b.push(RowDotStep {
            x: dz_tilde,
            y: f.zs,
            out: row_dots,
        });
        self.b.column_sums(row_dots, self.grads[GAMMA_PARAM]);
        let scaled = Combination {
            alpha: 1.0,
            beta: 0.0,
            accumulate: false,
        };
        let g = self.b.scratch("attention.g", n, l);
        self.b.push(LincombStep {
            x: dz_tilde,
            y: None,
            scale: Some(gamma),
            terms: scaled,
            out: g,
        });
        let dd = self.b.scratch("attention.d", n, 1);
        self.b.push(LincombStep {
            x: row_dots,
            y: None,
            scale: Some(gamma),
            terms: scaled,
            out: dd,
        });
        let partial = self
            .b
            .scratch("attention_backward.partial", layout.splits, n * l);
        self.b.push(AttentionBackwardStep {
            y: f.z_l,
            g,
            lse: f.lse,
            d: dd,
            layout,
            partial,
        });
        let dz_l = self.b.scratch("d_z_l", n, l);
        self.b.column_sums(partial, dz_l);
        self.lincomb(
            dz_tilde,
            None,
            Combination {
                alpha: 1.0,
                beta: 0.0,
                accumulate: true,
            },
            dz_l,
        );
        let dz_i = self.b.scratch("d_z_i", n, l);
        self.b.push(SpmmStep::plain(self.a_hat_t, dz_l, dz_i));
        // dZ_AE = a·dZ_I + KL'(q1); dZ_G += (1 − a)·dZ_I + KL'(q2).
        let a = self.config.fusion;
        let dz_ae = self.b.scratch("d_z_ae", n, l);
        self.lincomb(
            dz_i,
            None,
            Combination {
                alpha: a,
                beta: 0.0,
                accumulate: false,
            },
            dz_ae,
        );
        self.lincomb(
            dz_i,
            None,
            Combination {
                alpha: 1.0 - a,
                beta: 0.0,
                accumulate: true,
            },
            dz_g,
        );
        for (z, q, dz) in [(f.z_ae, f.q[1], dz_ae), (f.z_g, f.q[2], dz_g)] {
            self.b.push(StudentTGradStep {
                z,
                centers,
                q,
                p: f.p,
                scale: kl_scale,
                accumulate: true,
                dz,
                dc_rows,
                loss_rows: kl_rows,
            });
        }
        self.b.column_sums(kl_rows, sums.kl);
        self.b.column_sums(dc_rows, self.grads[CENTERS_PARAM]);
        // Encoders' backward passes.
        let mut grad = dz_ae;
        for (layer, lin) in f.ae_enc.clone().into_iter().enumerate().rev() {
            if let Some(din) = self.linear_backward(lin, grad, layer > 0) {
                grad = din;
            }
        }
        let mut grad = dz_g;
        for (layer, g) in f.igae_enc.clone().into_iter().enumerate().rev() {
            if let Some(din) = self.graph_backward(g, grad, layer > 0) {
                grad = din;
            }
        }
        sums
    }

    /// Adam on every trained tensor; returns the moments.
    fn adam(&mut self) -> Vec<[TensorId; 2]> {
        let mut moments = Vec::new();
        for (&param, &grad) in self.params.clone().iter().zip(&self.grads.clone()) {
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
