//! The training epoch written once, as data: the model's tensors with their shapes and
//! roles, and the ordered kernel invocations of its three phases (encode; loss and
//! gradients; optimize), with the objective's and the model's branches resolved.
//!
//! Three runners read it: the GPU engine ([`crate::model::GaeModel`]) records it and
//! plans buffer reuse from the lifetimes it makes explicit; the CPU reference
//! ([`crate::model::CpuModel`]) runs each step's twin; the benchmarks take per-kernel
//! counts and work from it. A new objective or head is one change here (and, for a new
//! kernel, one [`Op`] variant that each runner maps to its wrapper or twin).
//!
//! The forward pass and the manual backward pass follow DESIGN.md §1-§3:
//!
//! ```text
//! encode:          P = X·W0   Q = Â·P   H1 = relu(Q)   Y = H1·W1   [μ|s] = Â·Y
//! loss and grads:  Z, KL rows (VGAE) → decoder (dense or sampled) → dZ, loss rows
//!                  D = [dμ|ds] → dY = Â·D → dW1 = H1ᵀ·dY, dH1 = dY·W1ᵀ
//!                  dQ = dH1∘1[Q>0] → dP = Â·dQ → dW0 = Xᵀ·dP
//! optimize:        Adam(W0), Adam(W1)
//! ```

use serde::Serialize;

use super::inputs::DenseWeights;
use super::{head_cols, ModelConfig, ModelKind, Objective};
use crate::error::Result;
use crate::gpu::AdapterProfile;
use crate::kernels::decoder_dense::DenseLayout;
use crate::kernels::{
    adam, class_mean_grad, decoder_dense, decoder_pairs, gather_rows, matmul, matmul_tn_partial,
    reduce_sum, reparam_backward, reparam_kl, scatter_rows, spmm, Work,
};

/// A tensor of the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TensorId(usize);

/// A sparse (CSR) input of the schedule: Â, X or Xᵀ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SparseId(usize);

/// Weighted node pairs grouped by row (a decoder's pair list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PairsId(usize);

impl TensorId {
    /// Position in [`Schedule::tensors`].
    pub fn index(self) -> usize {
        self.0
    }

    pub(crate) fn from_index(index: usize) -> Self {
        TensorId(index)
    }
}

impl SparseId {
    /// Position in [`Schedule::sparse_inputs`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// The element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Elem {
    /// `f32`.
    F32,
    /// `u32` (indices).
    U32,
}

/// How a tensor's content arrives and how long it must live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    /// Graph data written once when the model is built.
    Input,
    /// Rewritten by the host before every epoch (the sampled objective's pairs).
    EpochInput,
    /// A trained weight: persistent, read and written by the host.
    Parameter,
    /// Optimizer state: persistent, zero at the start.
    State,
    /// Read by the host after a phase (μ|s, the loss sums, the gradients): persistent.
    Output,
    /// Lives from its first write to its last read within an epoch, so its memory can
    /// serve other scratch tensors outside that interval.
    Scratch,
}

impl Role {
    /// Whether the tensor keeps its own memory for the model's whole life.
    pub fn is_persistent(self) -> bool {
        self != Role::Scratch
    }
}

/// A tensor: name (labels, errors), element type, shape and role.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorSpec {
    /// Name, e.g. `h1` (labelled `gpu_vgae.h1` on the device).
    pub name: String,
    /// Element type.
    pub elem: Elem,
    /// Rows (1 for vectors).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Role.
    pub role: Role,
}

impl TensorSpec {
    /// Elements.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes (both element types are 4 bytes).
    pub fn bytes(&self) -> u64 {
        4 * self.rows as u64 * self.cols as u64
    }
}

/// A CSR input: its shape and the tensors holding its three arrays.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SparseSpec {
    /// Name, e.g. `a_hat`.
    pub name: &'static str,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Stored entries.
    pub nnz: usize,
    /// `rows + 1` offsets (u32).
    pub row_ptr: TensorId,
    /// Column per entry (u32).
    pub col_idx: TensorId,
    /// Value per entry.
    pub values: TensorId,
}

/// A pair list: `(i, j, w_pos, w_neg)` entries grouped by `i` (see
/// [`crate::kernels::decoder_pairs::PairRows`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairsSpec {
    /// Name, e.g. `label_pairs`.
    pub name: &'static str,
    /// Nodes (rows).
    pub nodes: usize,
    /// Entries.
    pub entries: usize,
    /// `nodes + 1` offsets (u32).
    pub ptr: TensorId,
    /// Other node per entry (u32).
    pub col: TensorId,
    /// `(w_pos, w_neg)` of the two weight classes (2 × 2; an entry's class is the top
    /// bit of its column word).
    pub weight: TensorId,
}

/// One kernel invocation over named tensors. Shapes come from the tensors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Op {
    /// `spmm`: out = A · B, or max(A · B, 0) with `relu`.
    Spmm {
        /// Sparse left operand.
        a: SparseId,
        /// Dense right operand.
        b: TensorId,
        /// Whether the rectifier is fused in (the first layer's H1).
        relu: bool,
        /// Result.
        out: TensorId,
    },
    /// `matmul`: out = A · B or A · Bᵀ, zero where `mask` is not positive.
    Matmul {
        /// Left operand.
        a: TensorId,
        /// Right operand.
        b: TensorId,
        /// Whether B is used transposed.
        transpose_b: bool,
        /// The rectifier's gradient fused in: keep out where mask (H1) > 0.
        mask: Option<TensorId>,
        /// Result.
        out: TensorId,
    },
    /// `matmul_tn_partial`: chunk partials of Aᵀ · B.
    MatmulTnPartial {
        /// m × k.
        a: TensorId,
        /// m × n.
        b: TensorId,
        /// chunks × (k·n).
        partial: TensorId,
    },
    /// `reduce_sum`: one level of column sums (input rows × cols → ⌈rows/64⌉ × cols).
    ReduceSum {
        /// rows × cols.
        input: TensorId,
        /// Output rows × cols.
        out: TensorId,
    },
    /// `reparam_kl`: z and the KL rows from [μ | s], noise of the epoch.
    ReparamKl {
        /// n × 2L.
        ms: TensorId,
        /// The class-conditional prior: (class of each node, class means).
        prior: Option<(TensorId, TensorId)>,
        /// n × L.
        z: TensorId,
        /// n × 1.
        kl_rows: TensorId,
    },
    /// `reparam_backward`: [dμ | ds] from dz and the KL gradients.
    ReparamBackward {
        /// n × 2L.
        ms: TensorId,
        /// n × L.
        dz: TensorId,
        /// Scale of the KL gradients (1/N²).
        kl_scale: f32,
        /// The class-conditional prior: (class of each node, class means).
        prior: Option<(TensorId, TensorId)>,
        /// n × 2L.
        d_ms: TensorId,
    },
    /// `class_mean_grad`: the gradient of −KL with respect to the class means.
    ClassMeanGrad {
        /// [μ | s], n × 2L.
        ms: TensorId,
        /// classes + 1 offsets into `class_nodes` (u32).
        class_ptr: TensorId,
        /// The nodes of each class (u32).
        class_nodes: TensorId,
        /// classes × L.
        class_means: TensorId,
        /// Scale of the KL gradients (1/N²).
        kl_scale: f32,
        /// classes × L.
        out: TensorId,
    },
    /// `decoder_dense`: per-slot partial sums over all pairs.
    DecoderDense {
        /// Embeddings (the first `latent` columns are used).
        z: TensorId,
        /// Latent width.
        latent: usize,
        /// Which pairs the pass visits and what its partial slots hold.
        layout: DenseLayout,
        /// (slots·n) × L.
        grad_partial: TensorId,
        /// slots × n.
        loss_partial: TensorId,
    },
    /// `decoder_pairs`: listed pairs (plus dense partials) → dz, loss rows.
    DecoderPairs {
        /// Embeddings (the first `latent` columns are used).
        z: TensorId,
        /// Latent width.
        latent: usize,
        /// The pair list.
        pairs: PairsId,
        /// Dense partials (grad, loss, their layout) to add, for the dense objective.
        dense: Option<(TensorId, TensorId, DenseLayout)>,
        /// Scale of dz.
        grad_scale: f32,
        /// n × L.
        dz: TensorId,
        /// n × 1.
        loss_rows: TensorId,
    },
    /// `gather_rows`: `out = src[index]` (the subgraph's rows of Z).
    GatherRows {
        /// Rows to gather from (its first `out` columns).
        src: TensorId,
        /// Row indices (u32, the epoch's sample).
        index: TensorId,
        /// Gathered rows.
        out: TensorId,
    },
    /// `scatter_rows`: `out[i] = decoder_scale · src[position[i]]`, zero for unsampled i.
    ScatterRows {
        /// Rows of the sample.
        src: TensorId,
        /// Every node's row in the sample or u32::MAX (u32, the epoch's sample).
        position: TensorId,
        /// Every node's row.
        out: TensorId,
    },
    /// `adam`: one step on a weight tensor.
    Adam {
        /// The weights.
        param: TensorId,
        /// Their gradient.
        grad: TensorId,
        /// First moment.
        m: TensorId,
        /// Second moment.
        v: TensorId,
    },
}

/// Which part of an epoch a step belongs to; each phase is one recording on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The encoder up to [μ | s].
    Encode,
    /// Decoder, losses and the backward pass.
    LossAndGrads,
    /// Adam.
    Optimize,
}

impl Phase {
    /// The three phases in order.
    pub const ALL: [Phase; 3] = [Phase::Encode, Phase::LossAndGrads, Phase::Optimize];

    /// The recording's label.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Encode => "encode",
            Phase::LossAndGrads => "loss_and_grads",
            Phase::Optimize => "adam",
        }
    }
}

/// One step: a kernel invocation in a phase.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Its phase.
    pub phase: Phase,
    /// What it runs.
    pub op: Op,
}

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

/// The whole epoch: tensors, inputs and steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    tensors: Vec<TensorSpec>,
    sparse: Vec<SparseSpec>,
    pairs: Vec<PairsSpec>,
    steps: Vec<Step>,
    handles: Handles,
    loss_scale: LossScale,
    /// The dense objective's constants, when it is the objective.
    dense_weights: Option<DenseWeights>,
}

impl Schedule {
    /// The schedule of `config` on a graph of `shape`, with the dense decoder's layout
    /// chosen for `profile`. Checks the config and the objective's preconditions
    /// (e.g. at least one training edge), allocates nothing large.
    pub fn new(config: &ModelConfig, shape: &GraphShape, profile: &AdapterProfile) -> Result<Self> {
        config.validate()?;
        Builder::default().build(config, shape, profile, true)
    }

    /// The encoder alone (the encode phase up to [μ | s]): what embedding a graph with
    /// trained weights needs, without the decoder's, the backward pass's or Adam's
    /// memory.
    pub fn encoder(config: &ModelConfig, shape: &GraphShape) -> Result<Self> {
        config.validate()?;
        Builder::default().build(config, shape, &AdapterProfile::default(), false)
    }

    /// The training tensors, or an error for an encoder-only schedule.
    pub fn training(&self) -> Result<&TrainingHandles> {
        self.handles
            .training
            .as_ref()
            .ok_or_else(|| crate::Error::InvalidArgument {
                argument: "model",
                message: "this model was built to embed graphs (encoder only); it cannot train"
                    .into(),
            })
    }

    /// Every tensor, indexed by [`TensorId`].
    pub fn tensors(&self) -> &[TensorSpec] {
        &self.tensors
    }

    /// A tensor's spec.
    pub fn tensor(&self, id: TensorId) -> &TensorSpec {
        &self.tensors[id.0]
    }

    /// The CSR inputs, indexed by [`SparseId`].
    pub fn sparse(&self, id: SparseId) -> &SparseSpec {
        &self.sparse[id.0]
    }

    /// The sparse inputs.
    pub fn sparse_inputs(&self) -> &[SparseSpec] {
        &self.sparse
    }

    /// A pair list's spec.
    pub fn pairs(&self, id: PairsId) -> &PairsSpec {
        &self.pairs[id.0]
    }

    /// The steps in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The steps of one phase, with their indices.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = (usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.phase == phase)
    }

    /// The tensors the host reads or writes.
    pub fn handles(&self) -> &Handles {
        &self.handles
    }

    /// How the loss sums become the loss.
    pub fn loss_scale(&self) -> LossScale {
        self.loss_scale
    }

    /// The dense objective's pos_weight and norm (None for other objectives).
    pub fn dense_weights(&self) -> Option<DenseWeights> {
        self.dense_weights
    }

    /// The tensors a step reads and the ones it writes.
    pub fn accesses(&self, op: &Op) -> (Vec<TensorId>, Vec<TensorId>) {
        let sparse = |id: SparseId| {
            let s = self.sparse(id);
            [s.row_ptr, s.col_idx, s.values]
        };
        let pairs = |id: PairsId| {
            let p = self.pairs(id);
            [p.ptr, p.col, p.weight]
        };
        match *op {
            Op::Spmm { a, b, out, .. } => ([sparse(a).as_slice(), &[b]].concat(), vec![out]),
            Op::Matmul {
                a, b, mask, out, ..
            } => ([&[a, b][..], mask.as_slice()].concat(), vec![out]),
            Op::MatmulTnPartial { a, b, partial } => (vec![a, b], vec![partial]),
            Op::ReduceSum { input, out } => (vec![input], vec![out]),
            Op::ReparamKl {
                ms,
                prior,
                z,
                kl_rows,
            } => {
                let mut reads = vec![ms];
                reads.extend(prior.iter().flat_map(|&(c, m)| [c, m]));
                (reads, vec![z, kl_rows])
            }
            Op::ReparamBackward {
                ms,
                dz,
                prior,
                d_ms,
                ..
            } => {
                let mut reads = vec![ms, dz];
                reads.extend(prior.iter().flat_map(|&(c, m)| [c, m]));
                (reads, vec![d_ms])
            }
            Op::ClassMeanGrad {
                ms,
                class_ptr,
                class_nodes,
                class_means,
                out,
                ..
            } => (vec![ms, class_ptr, class_nodes, class_means], vec![out]),
            Op::DecoderDense {
                z,
                grad_partial,
                loss_partial,
                ..
            } => (vec![z], vec![grad_partial, loss_partial]),
            Op::DecoderPairs {
                z,
                pairs: p,
                dense,
                dz,
                loss_rows,
                ..
            } => {
                let mut reads = [&[z][..], &pairs(p)].concat();
                if let Some((grad, loss, _)) = dense {
                    reads.extend([grad, loss]);
                }
                (reads, vec![dz, loss_rows])
            }
            Op::GatherRows { src, index, out } => (vec![src, index], vec![out]),
            Op::ScatterRows { src, position, out } => (vec![src, position], vec![out]),
            Op::Adam { param, grad, m, v } => (vec![param, grad, m, v], vec![param, m, v]),
        }
    }

    /// The kernel a step runs (its registry name).
    pub fn kernel(op: &Op) -> &'static str {
        match op {
            Op::Spmm { .. } => spmm::SPMM.name,
            Op::Matmul { .. } => matmul::MATMUL.name,
            Op::MatmulTnPartial { .. } => matmul_tn_partial::MATMUL_TN_PARTIAL.name,
            Op::ReduceSum { .. } => reduce_sum::REDUCE_SUM.name,
            Op::ReparamKl { .. } => reparam_kl::REPARAM_KL.name,
            Op::ReparamBackward { .. } => reparam_backward::REPARAM_BACKWARD.name,
            Op::ClassMeanGrad { .. } => class_mean_grad::CLASS_MEAN_GRAD.name,
            Op::DecoderDense { .. } => decoder_dense::DECODER_DENSE.name,
            Op::DecoderPairs { .. } => decoder_pairs::DECODER_PAIRS.name,
            Op::GatherRows { .. } => gather_rows::GATHER_ROWS.name,
            Op::ScatterRows { .. } => scatter_rows::SCATTER_ROWS.name,
            Op::Adam { .. } => adam::ADAM.name,
        }
    }

    /// The work a step does (each kernel's formula at the step's shapes).
    pub fn work(&self, op: &Op) -> Work {
        let t = |id: TensorId| self.tensor(id);
        match *op {
            Op::Spmm { a, b, .. } => {
                let s = self.sparse(a);
                spmm::work(s.rows, s.cols, s.nnz, t(b).cols)
            }
            Op::Matmul { a, out, .. } => matmul::work(t(a).rows, t(a).cols, t(out).cols),
            Op::MatmulTnPartial { a, b, .. } => {
                matmul_tn_partial::work(t(a).rows, t(a).cols, t(b).cols)
            }
            Op::ReduceSum { input, .. } => reduce_sum::work(t(input).rows, t(input).cols),
            Op::ReparamKl { z, .. } => reparam_kl::work(t(z).rows, t(z).cols),
            Op::ReparamBackward { dz, .. } => reparam_backward::work(t(dz).rows, t(dz).cols),
            Op::ClassMeanGrad {
                class_nodes, out, ..
            } => class_mean_grad::work(t(class_nodes).len(), t(out).rows, t(out).cols),
            Op::DecoderDense {
                z, latent, layout, ..
            } => decoder_dense::work(t(z).rows, latent, layout.slots()),
            Op::DecoderPairs {
                z,
                latent,
                pairs,
                dense,
                ..
            } => decoder_pairs::work(
                t(z).rows,
                latent,
                self.pairs(pairs).entries,
                dense.map_or(0, |d| d.2.slots()),
            ),
            Op::GatherRows { out, .. } => gather_rows::work(t(out).rows, t(out).cols),
            Op::ScatterRows { src, out, .. } => {
                scatter_rows::work(t(out).rows, t(out).cols, t(src).rows)
            }
            Op::Adam { param, .. } => adam::work(t(param).len()),
        }
    }

    /// A one-line description of a step for benchmark tables and errors, e.g.
    /// `spmm a_hat·p → q`.
    pub fn describe(&self, op: &Op) -> String {
        let name = |id: TensorId| self.tensor(id).name.as_str();
        let shape = |id: TensorId| {
            let t = self.tensor(id);
            format!("{}x{}", t.rows, t.cols)
        };
        match *op {
            Op::Spmm { a, b, relu, out } => {
                let s = self.sparse(a);
                format!(
                    "{}{}·{}{} → {} ({}x{} nnz={} · {})",
                    if relu { "relu(" } else { "" },
                    s.name,
                    name(b),
                    if relu { ")" } else { "" },
                    name(out),
                    s.rows,
                    s.cols,
                    s.nnz,
                    shape(b)
                )
            }
            Op::Matmul {
                a,
                b,
                transpose_b,
                mask,
                out,
            } => format!(
                "{}·{}{}{} → {} ({} · {})",
                name(a),
                name(b),
                if transpose_b { "ᵀ" } else { "" },
                mask.map(|m| format!(" ∘ 1[{} > 0]", name(m)))
                    .unwrap_or_default(),
                name(out),
                shape(a),
                shape(b)
            ),
            Op::MatmulTnPartial { a, b, partial } => format!(
                "{}ᵀ·{} → {} ({}ᵀ · {})",
                name(a),
                name(b),
                name(partial),
                shape(a),
                shape(b)
            ),
            Op::ReduceSum { input, out } => {
                format!("{} → {} ({})", name(input), name(out), shape(input))
            }
            Op::ReparamKl { ms, z, .. } => format!("{} → {} ({})", name(ms), name(z), shape(z)),
            Op::ReparamBackward { dz, d_ms, .. } => {
                format!("{} → {} ({})", name(dz), name(d_ms), shape(dz))
            }
            Op::ClassMeanGrad {
                class_nodes, out, ..
            } => format!(
                "{} over {} labelled nodes ({})",
                name(out),
                self.tensor(class_nodes).len(),
                shape(out)
            ),
            Op::DecoderDense {
                z, latent, layout, ..
            } => format!(
                "{} (N={} L={latent} {})",
                name(z),
                self.tensor(z).rows,
                match layout {
                    DenseLayout::Rows { splits } => format!("splits={splits}"),
                    DenseLayout::Tiles(b) => format!("tiles blocks={}", b.blocks),
                }
            ),
            Op::DecoderPairs {
                z, latent, pairs, ..
            } => {
                let p = self.pairs(pairs);
                format!(
                    "{} over {} (N={} L={latent} entries={})",
                    name(z),
                    p.name,
                    p.nodes,
                    p.entries
                )
            }
            Op::GatherRows { src, out, .. } => {
                format!("{} → {} ({})", name(src), name(out), shape(out))
            }
            Op::ScatterRows { src, out, .. } => {
                format!(
                    "{} → {} ({} → {})",
                    name(src),
                    name(out),
                    shape(src),
                    shape(out)
                )
            }
            Op::Adam { param, .. } => format!("{} ({})", name(param), shape(param)),
        }
    }

    /// Device bytes of the persistent tensors and of every scratch tensor, if nothing
    /// shared memory (an upper bound of what the GPU engine allocates).
    pub fn unshared_bytes(&self) -> u64 {
        self.tensors.iter().map(TensorSpec::bytes).sum()
    }

    /// The largest tensor: its name and bytes.
    pub fn largest_tensor(&self) -> Option<(&str, u64)> {
        self.tensors
            .iter()
            .max_by_key(|t| t.bytes())
            .map(|t| (t.name.as_str(), t.bytes()))
    }
}

/// Builds a schedule step by step.
#[derive(Default)]
struct Builder {
    tensors: Vec<TensorSpec>,
    sparse: Vec<SparseSpec>,
    pairs: Vec<PairsSpec>,
    steps: Vec<Step>,
    phase: Option<Phase>,
}

impl Builder {
    fn tensor(&mut self, name: &str, elem: Elem, rows: usize, cols: usize, role: Role) -> TensorId {
        self.tensors.push(TensorSpec {
            name: name.to_string(),
            elem,
            rows,
            cols,
            role,
        });
        TensorId(self.tensors.len() - 1)
    }

    fn f32(&mut self, name: &str, rows: usize, cols: usize, role: Role) -> TensorId {
        self.tensor(name, Elem::F32, rows, cols, role)
    }

    fn scratch(&mut self, name: &str, rows: usize, cols: usize) -> TensorId {
        self.f32(name, rows, cols, Role::Scratch)
    }

    fn sparse(&mut self, name: &'static str, rows: usize, cols: usize, nnz: usize) -> SparseId {
        let row_ptr = self.tensor(
            &format!("{name}.row_ptr"),
            Elem::U32,
            1,
            rows + 1,
            Role::Input,
        );
        let col_idx = self.tensor(&format!("{name}.col_idx"), Elem::U32, 1, nnz, Role::Input);
        let values = self.f32(&format!("{name}.values"), 1, nnz, Role::Input);
        self.sparse.push(SparseSpec {
            name,
            rows,
            cols,
            nnz,
            row_ptr,
            col_idx,
            values,
        });
        SparseId(self.sparse.len() - 1)
    }

    fn pair_list(
        &mut self,
        name: &'static str,
        nodes: usize,
        entries: usize,
        role: Role,
    ) -> PairsId {
        let ptr = self.tensor(&format!("{name}.ptr"), Elem::U32, 1, nodes + 1, role);
        let col = self.tensor(&format!("{name}.col"), Elem::U32, 1, entries, role);
        let weight = self.f32(&format!("{name}.weight"), 2, 2, role);
        self.pairs.push(PairsSpec {
            name,
            nodes,
            entries,
            ptr,
            col,
            weight,
        });
        PairsId(self.pairs.len() - 1)
    }

    fn push(&mut self, op: Op) {
        let phase = self.phase.expect("a phase is set before the first step");
        self.steps.push(Step { phase, op });
    }

    /// Pushes out = A · B (no rectifier).
    fn spmm(&mut self, a: SparseId, b: TensorId, out: TensorId) {
        self.push(Op::Spmm {
            a,
            b,
            relu: false,
            out,
        });
    }

    /// The levels of `reduce_sum` that sum the rows of `input` into `out` (1 × cols).
    fn column_sums(&mut self, input: TensorId, out: TensorId) {
        let (rows, cols) = (self.tensors[input.0].rows, self.tensors[input.0].cols);
        let levels = reduce_sum::levels(rows);
        let mut current = input;
        for (level, &level_rows) in levels.iter().enumerate() {
            let next = if level + 1 == levels.len() {
                out
            } else {
                let name = format!("{}.sum{}", self.tensors[input.0].name, level + 1);
                self.scratch(&name, level_rows.div_ceil(reduce_sum::GROUP_ROWS), cols)
            };
            self.push(Op::ReduceSum {
                input: current,
                out: next,
            });
            current = next;
        }
    }

    /// The dense objective's decoder over the rows of `z`: the tiled pass over all pairs,
    /// then the pair list's correction, the partials' sum and the scale.
    #[allow(clippy::too_many_arguments)]
    fn dense_decoder(
        &mut self,
        config: &ModelConfig,
        profile: &AdapterProfile,
        z: TensorId,
        pairs: PairsId,
        grad_scale: f32,
        dz: TensorId,
        loss_rows: TensorId,
    ) {
        let (n, l) = (self.tensors[z.0].rows, config.latent);
        let layout = DenseLayout::new(n, profile, config.dense_splits);
        let slots = layout.slots();
        let grad_partial = self.scratch("decoder.grad_partial", slots * n, l);
        let loss_partial = self.scratch("decoder.loss_partial", slots, n);
        self.push(Op::DecoderDense {
            z,
            latent: l,
            layout,
            grad_partial,
            loss_partial,
        });
        self.push(Op::DecoderPairs {
            z,
            latent: l,
            pairs,
            dense: Some((grad_partial, loss_partial, layout)),
            grad_scale,
            dz,
            loss_rows,
        });
    }

    fn build(
        mut self,
        config: &ModelConfig,
        shape: &GraphShape,
        profile: &AdapterProfile,
        training: bool,
    ) -> Result<Schedule> {
        let (n, f, h, l) = (shape.nodes, shape.features, config.hidden, config.latent);
        let c = head_cols(config.kind, l);
        let a_hat = self.sparse("a_hat", n, n, shape.adjacency_nnz());
        let x = (!shape.identity_features).then(|| self.sparse("x", n, f, shape.feature_nnz));
        let w0 = self.f32("w0", f, h, Role::Parameter);
        let w1 = self.f32("w1", h, c, Role::Parameter);

        self.phase = Some(Phase::Encode);
        let p = match x {
            Some(x) => {
                let p = self.scratch("p", n, h);
                self.spmm(x, w0, p);
                p
            }
            None => w0,
        };
        let h1 = self.scratch("h1", n, h);
        self.push(Op::Spmm {
            a: a_hat,
            b: p,
            relu: true,
            out: h1,
        });
        let y = self.scratch("y", n, c);
        self.push(Op::Matmul {
            a: h1,
            b: w1,
            transpose_b: false,
            mask: None,
            out: y,
        });
        let ms = self.f32("ms", n, c, Role::Output);
        self.spmm(a_hat, y, ms);

        if !training {
            return Ok(Schedule {
                tensors: self.tensors,
                sparse: self.sparse,
                pairs: self.pairs,
                steps: self.steps,
                handles: Handles {
                    a_hat,
                    x,
                    w0,
                    w1,
                    ms,
                    training: None,
                },
                loss_scale: LossScale {
                    reconstruction: 0.0,
                    kl: 0.0,
                },
                dense_weights: None,
            });
        }
        let x_t = x.map(|_| self.sparse("x_t", f, n, shape.feature_nnz));
        self.phase = Some(Phase::LossAndGrads);
        let n2 = (n as f64) * (n as f64);
        let prior = match (config.conditional, shape.prior) {
            (false, _) => None,
            (true, Some(p)) => Some(PriorHandles {
                class_of: self.tensor("prior.class_of", Elem::U32, 1, n, Role::Input),
                class_ptr: self.tensor("prior.class_ptr", Elem::U32, 1, p.classes + 1, Role::Input),
                class_nodes: self.tensor("prior.class_nodes", Elem::U32, 1, p.members, Role::Input),
                class_means: self.f32("prior.class_means", p.classes, l, Role::Parameter),
                d_class_means: self.f32("prior.d_class_means", p.classes, l, Role::Output),
                moments: [
                    self.f32("adam.m_prior", p.classes, l, Role::State),
                    self.f32("adam.v_prior", p.classes, l, Role::State),
                ],
            }),
            (true, None) => {
                return Err(crate::Error::InvalidConfig {
                    setting: "conditional",
                    message: "the class-conditional prior needs training labels".into(),
                })
            }
        };
        let prior_pair = prior.as_ref().map(|p| (p.class_of, p.class_means));
        let (z, kl_sum) = match config.kind {
            ModelKind::Vgae => {
                let z = self.scratch("z", n, l);
                let kl_rows = self.scratch("kl_rows", n, 1);
                self.push(Op::ReparamKl {
                    ms,
                    prior: prior_pair,
                    z,
                    kl_rows,
                });
                let kl_sum = self.f32("kl_sum", 1, 1, Role::Output);
                self.column_sums(kl_rows, kl_sum);
                (z, Some(kl_sum))
            }
            ModelKind::Gae => (ms, None),
        };
        let dz = self.scratch("dz", n, l);
        let mut sample = None;
        let (loss_rows, pairs, reconstruction_scale, dense_weights) = match config.objective {
            Objective::Dense => {
                let weights = DenseWeights::new(n, shape.train_edges)?;
                let loss_rows = self.scratch("loss_rows", n, 1);
                let pairs = self.pair_list("label_pairs", n, shape.adjacency_nnz(), Role::Input);
                let grad_scale = (2.0 * weights.norm / n2) as f32;
                self.dense_decoder(config, profile, z, pairs, grad_scale, dz, loss_rows);
                (loss_rows, pairs, weights.norm / n2, Some(weights))
            }
            Objective::Sampled => {
                if shape.train_edges == 0 {
                    return Err(crate::Error::InvalidGraph {
                        message: "the sampled objective needs at least one training edge".into(),
                    });
                }
                let loss_rows = self.scratch("loss_rows", n, 1);
                // Both directions of every edge and as many negatives, each pair listed
                // at both of its nodes.
                let entries = 2 * (2 * shape.train_edges + 2 * shape.train_edges);
                let pairs = self.pair_list("sampled_pairs", n, entries, Role::EpochInput);
                self.push(Op::DecoderPairs {
                    z,
                    latent: l,
                    pairs,
                    dense: None,
                    grad_scale: 1.0,
                    dz,
                    loss_rows,
                });
                // Every pair is listed at both of its nodes: the row sums count it twice.
                (loss_rows, pairs, 0.5, None)
            }
            Objective::Subgraph => {
                let sub = shape
                    .subgraph
                    .ok_or_else(|| crate::Error::InvalidArgument {
                        argument: "shape",
                        message: "the subgraph objective's schedule needs the sample's shape"
                            .into(),
                    })?;
                let m = sub.sample;
                let nodes = self.tensor("subgraph.nodes", Elem::U32, 1, m, Role::EpochInput);
                let position = self.tensor("subgraph.position", Elem::U32, 1, n, Role::EpochInput);
                let z_sub = self.scratch("z_sub", m, l);
                self.push(Op::GatherRows {
                    src: z,
                    index: nodes,
                    out: z_sub,
                });
                let loss_rows = self.scratch("loss_rows", m, 1);
                let dz_sub = self.scratch("dz_sub", m, l);
                let pairs =
                    self.pair_list("subgraph_pairs", m, sub.label_capacity, Role::EpochInput);
                // The scale 2·norm_S/n² changes with every sample: scatter_rows applies it
                // from the step uniform.
                self.dense_decoder(config, profile, z_sub, pairs, 1.0, dz_sub, loss_rows);
                self.push(Op::ScatterRows {
                    src: dz_sub,
                    position,
                    out: dz,
                });
                sample = Some((nodes, position));
                // × norm_S of the epoch (EpochData::loss_factor).
                (loss_rows, pairs, 1.0 / (m as f64).powi(2), None)
            }
        };
        let loss_sum = self.f32("loss_sum", 1, 1, Role::Output);
        self.column_sums(loss_rows, loss_sum);

        // Backward (DESIGN.md §3).
        let d_ms = match config.kind {
            ModelKind::Vgae => {
                let d_ms = self.scratch("d_ms", n, c);
                self.push(Op::ReparamBackward {
                    ms,
                    dz,
                    kl_scale: (1.0 / n2) as f32,
                    prior: prior_pair,
                    d_ms,
                });
                if let Some(p) = &prior {
                    self.push(Op::ClassMeanGrad {
                        ms,
                        class_ptr: p.class_ptr,
                        class_nodes: p.class_nodes,
                        class_means: p.class_means,
                        kl_scale: (1.0 / n2) as f32,
                        out: p.d_class_means,
                    });
                }
                d_ms
            }
            ModelKind::Gae => dz,
        };
        let dy = self.scratch("dy", n, c);
        self.spmm(a_hat, d_ms, dy);
        let partial = self.scratch("dw1.partial", matmul_tn_partial::chunks(n), h * c);
        self.push(Op::MatmulTnPartial {
            a: h1,
            b: dy,
            partial,
        });
        let dw1 = self.f32("dw1", h, c, Role::Output);
        self.column_sums(partial, dw1);
        // dQ = (dY·W1ᵀ) ∘ 1[Q > 0], with H1 = relu(Q) > 0 exactly where Q > 0.
        let dq = self.scratch("dq", n, h);
        self.push(Op::Matmul {
            a: dy,
            b: w1,
            transpose_b: true,
            mask: Some(h1),
            out: dq,
        });
        // dP = Â·dQ, then dW0 = Xᵀ·dP; for identity features dW0 is dP itself.
        let dw0 = match x_t {
            Some(x_t) => {
                let dp = self.scratch("dp", n, h);
                self.spmm(a_hat, dq, dp);
                let dw0 = self.f32("dw0", f, h, Role::Output);
                self.spmm(x_t, dp, dw0);
                dw0
            }
            None => {
                let dw0 = self.f32("dw0", f, h, Role::Output);
                self.spmm(a_hat, dq, dw0);
                dw0
            }
        };

        self.phase = Some(Phase::Optimize);
        let moments = [
            self.f32("adam.m0", f, h, Role::State),
            self.f32("adam.v0", f, h, Role::State),
            self.f32("adam.m1", h, c, Role::State),
            self.f32("adam.v1", h, c, Role::State),
        ];
        self.push(Op::Adam {
            param: w0,
            grad: dw0,
            m: moments[0],
            v: moments[1],
        });
        self.push(Op::Adam {
            param: w1,
            grad: dw1,
            m: moments[2],
            v: moments[3],
        });
        if let Some(p) = &prior {
            self.push(Op::Adam {
                param: p.class_means,
                grad: p.d_class_means,
                m: p.moments[0],
                v: p.moments[1],
            });
        }

        let kl_scale = match config.kind {
            ModelKind::Vgae => -0.5 / n2,
            ModelKind::Gae => 0.0,
        };
        Ok(Schedule {
            tensors: self.tensors,
            sparse: self.sparse,
            pairs: self.pairs,
            steps: self.steps,
            handles: Handles {
                a_hat,
                x,
                w0,
                w1,
                ms,
                training: Some(TrainingHandles {
                    x_t,
                    pairs,
                    moments,
                    dw0,
                    dw1,
                    loss_sum,
                    kl_sum,
                    sample,
                    prior,
                }),
            },
            loss_scale: LossScale {
                reconstruction: reconstruction_scale,
                kl: kl_scale,
            },
            dense_weights,
        })
    }
}

/// Where each tensor lives on the device: tensors sharing a slot share a buffer.
/// Persistent tensors have a slot of their own; a scratch tensor takes the smallest
/// free slot that fits, free meaning that every tensor placed there before was last
/// used by an earlier step (so reuse follows from the lifetimes the schedule makes
/// explicit, whatever the order of its lines).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryPlan {
    /// Slot of every tensor.
    pub slot_of: Vec<usize>,
    /// Bytes of every slot.
    pub slot_bytes: Vec<u64>,
}

impl MemoryPlan {
    /// Plans `schedule`; `share` = false gives every tensor its own slot.
    pub fn new(schedule: &Schedule, share: bool) -> Self {
        let count = schedule.tensors.len();
        // First and last step touching each tensor.
        let mut first = vec![usize::MAX; count];
        let mut last = vec![0usize; count];
        for (index, step) in schedule.steps.iter().enumerate() {
            let (reads, writes) = schedule.accesses(&step.op);
            for id in reads.into_iter().chain(writes) {
                first[id.0] = first[id.0].min(index);
                last[id.0] = last[id.0].max(index);
            }
        }
        let mut slot_of = vec![usize::MAX; count];
        let mut slot_bytes: Vec<u64> = Vec::new();
        // The step after which each slot is free again.
        let mut busy_until: Vec<usize> = Vec::new();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&t| (first[t], t));
        for t in order {
            let spec = &schedule.tensors[t];
            let bytes = spec.bytes().max(4);
            let shareable = share && spec.role == Role::Scratch && first[t] != usize::MAX;
            let reuse = if shareable {
                (0..slot_bytes.len())
                    .filter(|&s| busy_until[s] < first[t] && slot_bytes[s] >= bytes)
                    .min_by_key(|&s| (slot_bytes[s], s))
            } else {
                None
            };
            let slot = match reuse {
                Some(s) => s,
                None => {
                    slot_bytes.push(bytes);
                    busy_until.push(0);
                    slot_bytes.len() - 1
                }
            };
            slot_of[t] = slot;
            busy_until[slot] = if spec.role.is_persistent() {
                usize::MAX
            } else {
                last[t]
            };
        }
        MemoryPlan {
            slot_of,
            slot_bytes,
        }
    }

    /// Bytes of all slots.
    pub fn total_bytes(&self) -> u64 {
        self.slot_bytes.iter().sum()
    }
}
