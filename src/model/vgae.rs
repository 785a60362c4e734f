//! The VGAE's and GAE's schedule: one user of the op set (see [`super::schedule`]).
//! [`training`] builds the whole epoch, [`encoder`] the encode phase alone; both return
//! the [`Schedule`] and the [`Handles`] the model's host code reads and writes.
//!
//! The forward pass and the manual backward pass follow DESIGN.md §1-§3:
//!
//! ```text
//! encode:          P = X·W0   Q = Â·P   H1 = relu(Q)   Y = H1·W1   [μ|s] = Â·Y
//! loss and grads:  Z, KL rows (VGAE) → decoder (dense, sampled, subgraph) → dZ, loss rows
//!                  (under Precision::F16 the decoder reads Z stored in f16: written so by
//!                  the reparameterization, or converted from μ or the sampled rows)
//!                  D = [dμ|ds] → dY = Â·D → dW1 = H1ᵀ·dY, dH1 = dY·W1ᵀ
//!                  dQ = dH1∘1[Q>0] → dP = Â·dQ → dW0 = Xᵀ·dP
//! optimize:        Adam(W0), Adam(W1) (and the class means)
//! ```
//!
//! The builder has one method per part: the encoder, the conditional prior, the
//! reparameterization and KL and their backward, one method per objective (`dense`,
//! `sampled`, `subgraph`), the encoder's backward and Adam; [`training`] and [`encoder`]
//! put them together, and the generic [`Builder`] makes the [`Schedule`]. A new
//! objective or head is a method here and a line in [`training`].

use serde::Serialize;

use super::inputs::DenseWeights;
use super::schedule::{Builder, Elem, PairsId, Phase, Role, Schedule, SparseId, TensorId};
use super::{head_cols, ModelConfig, ModelKind, Objective, Precision};
use crate::error::{Error, Result};
use crate::gpu::AdapterProfile;
use crate::kernels::adam::AdamStep;
use crate::kernels::class_mean_grad::ClassMeanGradStep;
use crate::kernels::convert_rows::ConvertRowsStep;
use crate::kernels::decoder_dense::{DecoderDenseStep, DenseLayout};
use crate::kernels::decoder_pairs::DecoderPairsStep;
use crate::kernels::gather_rows::GatherRowsStep;
use crate::kernels::matmul::MatmulStep;
use crate::kernels::matmul_tn_partial::{self, MatmulTnPartialStep};
use crate::kernels::reparam_backward::ReparamBackwardStep;
use crate::kernels::reparam_kl::ReparamKlStep;
use crate::kernels::scatter_rows::ScatterRowsStep;
use crate::kernels::spmm::SpmmStep;

/// The tensors the host reads or writes by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Handles {
    /// Â (N × N).
    pub a_hat: SparseId,
    /// X (N × F); None for identity features (see [`GraphShape::identity_features`]).
    pub x: Option<SparseId>,
    /// W0 (F × H).
    pub w0: TensorId,
    /// W1 = [Wμ | Wσ] (H × 2L) or Wμ (H × L).
    pub w1: TensorId,
    /// [μ | s] (N × 2L), or μ for GAE.
    pub ms: TensorId,
    /// The training phases' tensors; `None` for an encoder-only schedule.
    pub training: Option<TrainingHandles>,
}

impl Handles {
    /// The training tensors, or an error for an encoder-only schedule.
    pub fn training(&self) -> Result<&TrainingHandles> {
        self.training
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument {
                argument: "model",
                message: "this model was built to embed graphs (encoder only); it cannot train"
                    .into(),
            })
    }

    /// The class-conditional prior's tensors, where the model trains with one.
    pub fn prior(&self) -> Option<&PriorHandles> {
        self.training.as_ref()?.prior.as_ref()
    }
}

/// The tensors of the loss, the backward pass and the optimizer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingHandles {
    /// Xᵀ (F × N), for dW0 = Xᵀ·dP; None for identity features.
    pub x_t: Option<SparseId>,
    /// The decoder's pair list: the label pattern (dense), this epoch's positives and
    /// negatives (sampled) or the sample's labels (subgraph).
    pub pairs: PairsId,
    /// Adam moments (m, v) of W0 and of W1.
    pub moments: [TensorId; 4],
    /// dW0.
    pub dw0: TensorId,
    /// dW1.
    pub dw1: TensorId,
    /// Σ of the reconstruction loss rows (1 × 1).
    pub loss_sum: TensorId,
    /// Σ of the KL rows (1 × 1; VGAE only).
    pub kl_sum: Option<TensorId>,
    /// The subgraph objective's sample: its nodes (n) and every node's row in it (N).
    pub sample: Option<(TensorId, TensorId)>,
    /// The class-conditional prior's tensors.
    pub prior: Option<PriorHandles>,
    /// How the loss sums become the loss.
    pub loss_scale: LossScale,
    /// The dense objective's pos_weight and norm (None for other objectives).
    pub dense_weights: Option<DenseWeights>,
}

/// The class-conditional prior's tensors (DESIGN.md §9).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriorHandles {
    /// Training class of every node, u32::MAX for none (N).
    pub class_of: TensorId,
    /// classes + 1 offsets into `class_nodes`.
    pub class_ptr: TensorId,
    /// The nodes of each class, ascending.
    pub class_nodes: TensorId,
    /// The learnable class means m (classes × L).
    pub class_means: TensorId,
    /// Their gradient.
    pub d_class_means: TensorId,
    /// Adam's moments (m, v) of the class means.
    pub moments: [TensorId; 2],
}

/// The class-conditional prior's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PriorShape {
    /// Classes C (max training label + 1).
    pub classes: usize,
    /// Nodes with a training label.
    pub members: usize,
}

/// The subgraph objective's sizes: nodes per sample and room for its labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SubgraphShape {
    /// Nodes per sample n.
    pub sample: usize,
    /// Most label entries of a sample (diagonal and induced edges).
    pub label_capacity: usize,
}

/// Sizes a schedule depends on, computable before any data is built: what the memory
/// estimate and the config checks run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GraphShape {
    /// Nodes N.
    pub nodes: usize,
    /// Undirected training edges.
    pub train_edges: usize,
    /// Feature columns F (N for the identity).
    pub features: usize,
    /// Nonzeros of X (N for the identity).
    pub feature_nnz: usize,
    /// X is the identity (a graph without features): X·W0 is W0 and Xᵀ·dP is dP, so
    /// the schedule has neither product nor the CSR of X.
    pub identity_features: bool,
    /// The subgraph objective's sizes (needed for that objective only).
    pub subgraph: Option<SubgraphShape>,
    /// The class-conditional prior's sizes (needed when the model has it).
    pub prior: Option<PriorShape>,
}

impl GraphShape {
    /// The shape of a model on `graph` (its edges are the training edges).
    pub fn of(graph: &crate::data::GraphView<'_>) -> Self {
        GraphShape {
            nodes: graph.num_nodes(),
            train_edges: graph.edges().len(),
            features: graph.num_features(),
            feature_nnz: graph.feature_nnz(),
            identity_features: graph.features().is_none(),
            subgraph: None,
            prior: None,
        }
    }

    /// Nonzeros of Â: both directions of every edge and the diagonal.
    pub fn adjacency_nnz(&self) -> usize {
        self.nodes + 2 * self.train_edges
    }
}

/// How the host turns the loss sums into the loss (DESIGN.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossScale {
    /// reconstruction = `reconstruction` · Σ loss rows (norm/N² dense; ½ sampled,
    /// whose rows count every pair at both ends).
    pub reconstruction: f64,
    /// −KL = `kl` · Σ KL rows (−0.5/N² for VGAE, 0 for GAE).
    pub kl: f64,
}

/// The training schedule of `config` on a graph of `shape`, with the dense decoder's
/// layout chosen for `profile`. Checks the config and the objective's preconditions
/// (e.g. at least one training edge), allocates nothing large.
pub fn training(
    config: &ModelConfig,
    shape: &GraphShape,
    profile: &AdapterProfile,
) -> Result<(Schedule, Handles)> {
    config.validate()?;
    let mut v = VgaeBuilder::new(config, shape, profile);
    let encoded = v.encode();
    let x_t = encoded.handles.x.map(|_| {
        v.b.sparse("x_t", shape.features, shape.nodes, shape.feature_nnz)
    });
    v.b.set_phase(Phase::LossAndGrads);
    let prior = v.conditional_prior()?;
    let ms = encoded.handles.ms;
    let (z, kl_sum) = v.reparameterize(ms, prior.as_ref());
    let dz = v.b.scratch("dz", shape.nodes, config.latent);
    let reconstruction = match config.objective {
        Objective::Dense => v.dense(z, dz)?,
        Objective::Sampled => v.sampled(z, dz)?,
        Objective::Subgraph => v.subgraph(z, dz)?,
    };
    let loss_sum = v.b.f32("loss_sum", 1, 1, Role::Output);
    v.b.column_sums(reconstruction.loss_rows, loss_sum);
    let d_ms = v.reparameterize_backward(ms, dz, prior.as_ref());
    let (dw0, dw1) = v.encoder_backward(&encoded, x_t, d_ms);
    v.b.set_phase(Phase::Optimize);
    let moments = v.adam(&encoded.handles, dw0, dw1, prior.as_ref());
    let mut handles = encoded.handles;
    handles.training = Some(TrainingHandles {
        x_t,
        pairs: reconstruction.pairs,
        moments,
        dw0,
        dw1,
        loss_sum,
        kl_sum,
        sample: reconstruction.sample,
        prior,
        loss_scale: LossScale {
            reconstruction: reconstruction.scale,
            kl: match config.kind {
                ModelKind::Vgae => -0.5 / v.n2(),
                ModelKind::Gae => 0.0,
            },
        },
        dense_weights: reconstruction.dense_weights,
    });
    Ok((v.b.finish(), handles))
}

/// The encoder alone (the encode phase up to [μ | s]): what embedding a graph with
/// trained weights needs, without the decoder's, the backward pass's or Adam's memory.
pub fn encoder(config: &ModelConfig, shape: &GraphShape) -> Result<(Schedule, Handles)> {
    config.validate()?;
    let profile = AdapterProfile::default();
    let mut v = VgaeBuilder::new(config, shape, &profile);
    let encoded = v.encode();
    Ok((v.b.finish(), encoded.handles))
}

/// What an objective's decoder leaves for the loss and the host.
struct Reconstruction {
    /// The decoder's pair list.
    pairs: PairsId,
    /// Loss rows to sum.
    loss_rows: TensorId,
    /// reconstruction = scale · Σ loss rows (times the epoch's loss factor).
    scale: f64,
    /// The dense objective's constants.
    dense_weights: Option<DenseWeights>,
    /// The subgraph objective's sample tensors.
    sample: Option<(TensorId, TensorId)>,
}

/// The encoder's handles and H1 = relu(Â·P), which the backward pass reads.
struct Encoded {
    handles: Handles,
    h1: TensorId,
}

/// Builds the VGAE's schedule part by part on a [`Builder`].
struct VgaeBuilder<'a> {
    b: Builder,
    config: &'a ModelConfig,
    shape: &'a GraphShape,
    profile: &'a AdapterProfile,
}

impl<'a> VgaeBuilder<'a> {
    fn new(config: &'a ModelConfig, shape: &'a GraphShape, profile: &'a AdapterProfile) -> Self {
        VgaeBuilder {
            b: Builder::default(),
            config,
            shape,
            profile,
        }
    }

    /// N², the KL terms' and the dense objective's normaliser.
    fn n2(&self) -> f64 {
        let n = self.shape.nodes as f64;
        n * n
    }

    /// Columns of [μ | s] (2L) or μ (L).
    fn head_cols(&self) -> usize {
        head_cols(self.config.kind, self.config.latent)
    }

    /// The element type the decoders read Z in.
    fn decoder_elem(&self) -> Elem {
        match self.config.precision {
            Precision::F32 => Elem::F32,
            Precision::F16 => Elem::F16,
        }
    }

    /// `z` as the decoders read it: itself, or (f16 precision, `z` f32) its first L
    /// columns converted to f16 by a step.
    fn for_decoder(&mut self, z: TensorId) -> TensorId {
        let elem = self.decoder_elem();
        if self.b.spec(z).elem == elem {
            return z;
        }
        let (rows, l) = (self.b.spec(z).rows, self.config.latent);
        let name = format!("{}.{elem:?}", self.b.spec(z).name).to_lowercase();
        let out = self.b.tensor(&name, elem, rows, l, Role::Scratch);
        self.b.push(ConvertRowsStep { src: z, out });
        out
    }

    /// The encoder (phase encode): Â, X, the weights and the steps up to [μ | s]; the
    /// handles without the training part.
    fn encode(&mut self) -> Encoded {
        let (shape, b) = (self.shape, &mut self.b);
        let (n, f, h) = (shape.nodes, shape.features, self.config.hidden);
        let c = head_cols(self.config.kind, self.config.latent);
        let a_hat = b.sparse("a_hat", n, n, shape.adjacency_nnz());
        let x = (!shape.identity_features).then(|| b.sparse("x", n, f, shape.feature_nnz));
        let w0 = b.f32("w0", f, h, Role::Parameter);
        let w1 = b.f32("w1", h, c, Role::Parameter);
        b.set_phase(Phase::Encode);
        let p = match x {
            Some(x) => {
                let p = b.scratch("p", n, h);
                b.push(SpmmStep::plain(x, w0, p));
                p
            }
            None => w0,
        };
        let h1 = b.scratch("h1", n, h);
        b.push(SpmmStep {
            a: a_hat,
            b: p,
            relu: true,
            out: h1,
        });
        let y = b.scratch("y", n, c);
        b.push(MatmulStep {
            a: h1,
            b: w1,
            transpose_b: false,
            mask: None,
            out: y,
        });
        let ms = b.f32("ms", n, c, Role::Output);
        b.push(SpmmStep::plain(a_hat, y, ms));
        Encoded {
            handles: Handles {
                a_hat,
                x,
                w0,
                w1,
                ms,
                training: None,
            },
            h1,
        }
    }

    /// The class-conditional prior's tensors (DESIGN.md §9), where the config asks for
    /// it; an error when it does and the shape has no training labels.
    fn conditional_prior(&mut self) -> Result<Option<PriorHandles>> {
        let (n, l, b) = (self.shape.nodes, self.config.latent, &mut self.b);
        match (self.config.conditional, self.shape.prior) {
            (false, _) => Ok(None),
            (true, Some(p)) => Ok(Some(PriorHandles {
                class_of: b.tensor("prior.class_of", Elem::U32, 1, n, Role::Input),
                class_ptr: b.tensor("prior.class_ptr", Elem::U32, 1, p.classes + 1, Role::Input),
                class_nodes: b.tensor("prior.class_nodes", Elem::U32, 1, p.members, Role::Input),
                class_means: b.f32("prior.class_means", p.classes, l, Role::Parameter),
                d_class_means: b.f32("prior.d_class_means", p.classes, l, Role::Output),
                moments: [
                    b.f32("adam.m_prior", p.classes, l, Role::State),
                    b.f32("adam.v_prior", p.classes, l, Role::State),
                ],
            })),
            (true, None) => Err(Error::InvalidConfig {
                setting: "conditional",
                message: "the class-conditional prior needs training labels".into(),
            }),
        }
    }

    /// Z and the summed KL rows from [μ | s] (VGAE: reparameterization with the
    /// epoch's noise, Z written in the decoders' precision unless the subgraph objective
    /// gathers rows of it first, which it does in f32); GAE decodes μ itself and has no
    /// KL term.
    fn reparameterize(
        &mut self,
        ms: TensorId,
        prior: Option<&PriorHandles>,
    ) -> (TensorId, Option<TensorId>) {
        match self.config.kind {
            ModelKind::Vgae => {
                let (n, l) = (self.shape.nodes, self.config.latent);
                let elem = match self.config.objective {
                    Objective::Subgraph => Elem::F32,
                    Objective::Dense | Objective::Sampled => self.decoder_elem(),
                };
                let z = self.b.tensor("z", elem, n, l, Role::Scratch);
                let kl_rows = self.b.scratch("kl_rows", n, 1);
                self.b.push(ReparamKlStep {
                    ms,
                    prior: prior.map(|p| (p.class_of, p.class_means)),
                    seed: self.config.seed,
                    z,
                    kl_rows,
                });
                let kl_sum = self.b.f32("kl_sum", 1, 1, Role::Output);
                self.b.column_sums(kl_rows, kl_sum);
                (z, Some(kl_sum))
            }
            ModelKind::Gae => (ms, None),
        }
    }

    /// The dense objective (DESIGN.md §2a): the tiled pass over all N² pairs and the
    /// label pattern's correction.
    fn dense(&mut self, z: TensorId, dz: TensorId) -> Result<Reconstruction> {
        let n = self.shape.nodes;
        let weights = DenseWeights::new(n, self.shape.train_edges)?;
        let loss_rows = self.b.scratch("loss_rows", n, 1);
        let entries = self.shape.adjacency_nnz();
        let pairs = self.b.pair_list("label_pairs", n, entries, Role::Input);
        let grad_scale = (2.0 * weights.norm / self.n2()) as f32;
        let z = self.for_decoder(z);
        self.dense_decoder(z, pairs, grad_scale, dz, loss_rows);
        Ok(Reconstruction {
            pairs,
            loss_rows,
            scale: weights.norm / self.n2(),
            dense_weights: Some(weights),
            sample: None,
        })
    }

    /// The sampled objective (DESIGN.md §2b): the epoch's positives and negatives.
    fn sampled(&mut self, z: TensorId, dz: TensorId) -> Result<Reconstruction> {
        let (n, edges) = (self.shape.nodes, self.shape.train_edges);
        if edges == 0 {
            return Err(Error::InvalidGraph {
                message: "the sampled objective needs at least one training edge".into(),
            });
        }
        let loss_rows = self.b.scratch("loss_rows", n, 1);
        // Both directions of every edge and as many negatives, each pair listed at both
        // of its nodes.
        let entries = 2 * (2 * edges + 2 * edges);
        let pairs = self
            .b
            .pair_list("sampled_pairs", n, entries, Role::EpochInput);
        let z = self.for_decoder(z);
        self.b.push(DecoderPairsStep {
            z,
            latent: self.config.latent,
            pairs,
            dense: None,
            grad_scale: 1.0,
            dz,
            loss_rows,
        });
        Ok(Reconstruction {
            pairs,
            loss_rows,
            // Every pair is listed at both of its nodes: the row sums count it twice.
            scale: 0.5,
            dense_weights: None,
            sample: None,
        })
    }

    /// The subgraph objective (DESIGN.md §2c, FastGAE): the dense objective on the rows
    /// of the epoch's sample, its gradient scattered back to every node.
    fn subgraph(&mut self, z: TensorId, dz: TensorId) -> Result<Reconstruction> {
        let sub = self.shape.subgraph.ok_or_else(|| Error::InvalidArgument {
            argument: "shape",
            message: "the subgraph objective's schedule needs the sample's shape".into(),
        })?;
        let (n, m, l) = (self.shape.nodes, sub.sample, self.config.latent);
        let b = &mut self.b;
        let nodes = b.tensor("subgraph.nodes", Elem::U32, 1, m, Role::EpochInput);
        let position = b.tensor("subgraph.position", Elem::U32, 1, n, Role::EpochInput);
        let z_sub = b.scratch("z_sub", m, l);
        b.push(GatherRowsStep {
            src: z,
            index: nodes,
            out: z_sub,
        });
        let loss_rows = b.scratch("loss_rows", m, 1);
        let dz_sub = b.scratch("dz_sub", m, l);
        let pairs = b.pair_list("subgraph_pairs", m, sub.label_capacity, Role::EpochInput);
        // The scale 2·norm_S/n² changes with every sample: scatter_rows applies it from
        // the step uniform.
        let z_sub = self.for_decoder(z_sub);
        self.dense_decoder(z_sub, pairs, 1.0, dz_sub, loss_rows);
        self.b.push(ScatterRowsStep {
            src: dz_sub,
            position,
            out: dz,
        });
        Ok(Reconstruction {
            pairs,
            loss_rows,
            // × norm_S of the epoch (EpochData::loss_factor).
            scale: 1.0 / (m as f64).powi(2),
            dense_weights: None,
            sample: Some((nodes, position)),
        })
    }

    /// The dense decoder over the rows of `z`: the tiled pass over all pairs, then the
    /// pair list's correction, the partials' sum and the scale.
    fn dense_decoder(
        &mut self,
        z: TensorId,
        pairs: PairsId,
        grad_scale: f32,
        dz: TensorId,
        loss_rows: TensorId,
    ) {
        let (n, l) = (self.b.spec(z).rows, self.config.latent);
        let layout = DenseLayout::new(n, self.profile, self.config.dense_splits);
        let slots = layout.slots();
        let grad_partial = self.b.scratch("decoder.grad_partial", slots * n, l);
        let loss_partial = self.b.scratch("decoder.loss_partial", slots, n);
        self.b.push(DecoderDenseStep {
            z,
            latent: l,
            layout,
            grad_partial,
            loss_partial,
        });
        self.b.push(DecoderPairsStep {
            z,
            latent: l,
            pairs,
            dense: Some((grad_partial, loss_partial, layout)),
            grad_scale,
            dz,
            loss_rows,
        });
    }

    /// [dμ | ds] from dZ (VGAE: through the reparameterization, with the KL terms'
    /// gradients, and the class means' gradient under the prior); GAE's is dZ itself.
    fn reparameterize_backward(
        &mut self,
        ms: TensorId,
        dz: TensorId,
        prior: Option<&PriorHandles>,
    ) -> TensorId {
        match self.config.kind {
            ModelKind::Vgae => {
                let kl_scale = (1.0 / self.n2()) as f32;
                let d_ms = self.b.scratch("d_ms", self.shape.nodes, self.head_cols());
                self.b.push(ReparamBackwardStep {
                    ms,
                    dz,
                    kl_scale,
                    prior: prior.map(|p| (p.class_of, p.class_means)),
                    seed: self.config.seed,
                    d_ms,
                });
                if let Some(p) = prior {
                    self.b.push(ClassMeanGradStep {
                        ms,
                        class_ptr: p.class_ptr,
                        class_nodes: p.class_nodes,
                        class_means: p.class_means,
                        kl_scale,
                        out: p.d_class_means,
                    });
                }
                d_ms
            }
            ModelKind::Gae => dz,
        }
    }

    /// The encoder's backward pass (DESIGN.md §3) from [dμ | ds]: dW0 and dW1.
    fn encoder_backward(
        &mut self,
        encoded: &Encoded,
        x_t: Option<SparseId>,
        d_ms: TensorId,
    ) -> (TensorId, TensorId) {
        let (n, f, h, c) = (
            self.shape.nodes,
            self.shape.features,
            self.config.hidden,
            self.head_cols(),
        );
        let (a_hat, w1, h1) = (encoded.handles.a_hat, encoded.handles.w1, encoded.h1);
        let b = &mut self.b;
        let dy = b.scratch("dy", n, c);
        b.push(SpmmStep::plain(a_hat, d_ms, dy));
        let partial = b.scratch("dw1.partial", matmul_tn_partial::chunks(n), h * c);
        b.push(MatmulTnPartialStep {
            a: h1,
            b: dy,
            partial,
        });
        let dw1 = b.f32("dw1", h, c, Role::Gradient);
        b.column_sums(partial, dw1);
        // dQ = (dY·W1ᵀ) ∘ 1[Q > 0], with H1 = relu(Q) > 0 exactly where Q > 0.
        let dq = b.scratch("dq", n, h);
        b.push(MatmulStep {
            a: dy,
            b: w1,
            transpose_b: true,
            mask: Some(h1),
            out: dq,
        });
        // dP = Â·dQ, then dW0 = Xᵀ·dP; for identity features dW0 is dP itself.
        let dw0 = match x_t {
            Some(x_t) => {
                let dp = b.scratch("dp", n, h);
                b.push(SpmmStep::plain(a_hat, dq, dp));
                let dw0 = b.f32("dw0", f, h, Role::Gradient);
                b.push(SpmmStep::plain(x_t, dp, dw0));
                dw0
            }
            None => {
                let dw0 = b.f32("dw0", f, h, Role::Gradient);
                b.push(SpmmStep::plain(a_hat, dq, dw0));
                dw0
            }
        };
        (dw0, dw1)
    }

    /// Adam on W0, W1 and the class means; returns the weights' moments (m0, v0, m1,
    /// v1).
    fn adam(
        &mut self,
        encoder: &Handles,
        dw0: TensorId,
        dw1: TensorId,
        prior: Option<&PriorHandles>,
    ) -> [TensorId; 4] {
        let b = &mut self.b;
        let (w0, w1) = (encoder.w0, encoder.w1);
        let moments = [
            b.f32("adam.m0", b.spec(w0).rows, b.spec(w0).cols, Role::State),
            b.f32("adam.v0", b.spec(w0).rows, b.spec(w0).cols, Role::State),
            b.f32("adam.m1", b.spec(w1).rows, b.spec(w1).cols, Role::State),
            b.f32("adam.v1", b.spec(w1).rows, b.spec(w1).cols, Role::State),
        ];
        let config = self.config.adam;
        let mut step = |param, grad, [m, v]: [TensorId; 2]| {
            b.push(AdamStep {
                param,
                grad,
                m,
                v,
                config,
            })
        };
        step(w0, dw0, [moments[0], moments[1]]);
        step(w1, dw1, [moments[2], moments[3]]);
        if let Some(p) = prior {
            step(p.class_means, p.d_class_means, p.moments);
        }
        moments
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::GraphView;
    use crate::kernels::REGISTRY;
    use crate::model::schedule::{Accesses, ScheduleOp};
    use crate::model::{CpuModel, ModelSetup, Weights};
    use crate::synthetic::{generate, SyntheticSpec};

    /// Every VGAE/GAE schedule, in both precisions: each step's kernel is a registry
    /// entry, no step writes an input, every scratch tensor is written before it is
    /// read, the decoders read Z in the precision asked for; and the CPU reference runs
    /// two epochs of it, which checks every step's declared accesses.
    #[test]
    fn every_schedule_declares_its_accesses_and_runs_on_the_host() {
        let g = generate(&SyntheticSpec {
            nodes: 60,
            features: 20,
            features_per_node: 4,
            ..SyntheticSpec::default()
        })
        .unwrap();
        let labels: Vec<i32> = g
            .labels
            .iter()
            .enumerate()
            .map(|(i, &y)| if i % 3 == 0 { y } else { -1 })
            .collect();
        let mut checked = 0;
        for featureless in [false, true] {
            for (kind, conditional) in [
                (ModelKind::Vgae, false),
                (ModelKind::Gae, false),
                (ModelKind::Vgae, true),
            ] {
                for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
                    for (profile, precision) in [
                        (AdapterProfile::cpu(), Precision::F32),
                        (AdapterProfile::gpu(), Precision::F32),
                        (AdapterProfile::cpu(), Precision::F16),
                    ] {
                        let mut graph =
                            GraphView::new(g.num_nodes, &g.edges, Some(&g.features)).unwrap();
                        if featureless {
                            graph = graph.without_features();
                        }
                        graph = graph.with_train_labels(&labels).unwrap();
                        let config = ModelConfig {
                            kind,
                            objective,
                            conditional,
                            sample_nodes: 20,
                            precision,
                            ..ModelConfig::default()
                        };
                        let name =
                            format!("{kind} {objective} {featureless} {conditional} {precision}");
                        let setup = ModelSetup::new(&config, graph, &profile).unwrap();
                        check_accesses(&setup.schedule, &name);
                        check_decoder_precision(&setup.schedule, precision, &name);
                        let weights = Weights::glorot(&config, graph.num_features());
                        let mut twin = CpuModel::from_setup(setup, &weights).unwrap();
                        for _ in 0..2 {
                            twin.train_epoch().unwrap();
                        }
                        assert_ne!(twin.weights(), weights, "{name}: weights did not move");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 54);
    }

    /// The decoders read Z (or its sampled rows) in `precision`; every f16 tensor is
    /// written by the reparameterization or a conversion.
    fn check_decoder_precision(schedule: &Schedule, precision: Precision, name: &str) {
        use crate::model::schedule::Op;
        let want = match precision {
            Precision::F32 => Elem::F32,
            Precision::F16 => Elem::F16,
        };
        for step in schedule.steps() {
            let read = match &step.op {
                Op::DecoderDense(s) => Some(s.z),
                Op::DecoderPairs(s) => Some(s.z),
                _ => None,
            };
            if let Some(z) = read {
                assert_eq!(schedule.tensor(z).elem, want, "{name}: the decoder's z");
            }
            for id in step.op.accesses(schedule).writes {
                if schedule.tensor(id).elem == Elem::F16 {
                    assert!(
                        matches!(step.op, Op::ReparamKl(_) | Op::ConvertRows(_)),
                        "{name}: {} writes f16",
                        step.op.kernel().name
                    );
                }
            }
        }
    }

    fn check_accesses(schedule: &Schedule, name: &str) {
        let mut written = vec![false; schedule.tensors().len()];
        for (index, step) in schedule.steps().iter().enumerate() {
            let kernel = step.op.kernel();
            assert!(
                REGISTRY.iter().any(|k| std::ptr::eq(*k, kernel)),
                "{name}: step {index} runs {}, not a registry entry",
                kernel.name
            );
            let Accesses { reads, writes } = step.op.accesses(schedule);
            assert!(!writes.is_empty(), "{name}: step {index} writes nothing");
            for id in reads {
                let t = schedule.tensor(id);
                assert!(
                    !t.role.reuses_memory() || written[id.index()],
                    "{name}: step {index} reads {} before any step writes it",
                    t.name
                );
            }
            for id in writes {
                let t = schedule.tensor(id);
                assert!(
                    !matches!(t.role, Role::Input | Role::EpochInput),
                    "{name}: step {index} writes the input {}",
                    t.name
                );
                written[id.index()] = true;
            }
        }
    }
}
