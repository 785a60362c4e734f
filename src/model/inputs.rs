//! Host-side preparation of the model's inputs: the normalized adjacency Â, the
//! decoder's label pattern with its weights, the sampled objective's per-epoch pairs,
//! Glorot initialisation, and the [`ModelSetup`] that gathers them with the schedule.

use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::Rng;

use super::schedule::{Role, Schedule, SparseId, TensorSpec};
use super::subgraph::SubgraphSampler;
use super::vgae::{self, GraphShape, Handles, PriorShape, SubgraphShape};
use super::{ModelConfig, Objective};
use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::gpu::AdapterProfile;
use crate::kernels::decoder_pairs::{PairRows, WeightedPair};
use crate::memory::check_host_memory;
use crate::sparse::Csr;
use crate::split::{sample_training_negatives, try_with_capacity, EdgeSet};

/// Â = D^-1/2 (A + I) D^-1/2 over the graph's undirected edges, D the degree matrix
/// of A + I. Isolated nodes get Â_ii = 1. Entry (i, j) is `(d_i · d_j) as f32` with
/// d = 1/√degree in f64, every row's columns ascending.
///
/// Built straight into CSR form: degrees, row offsets, then each edge written into both
/// of its rows and each row sorted, so the only large buffers are the result's own (8
/// bytes per entry), not a list of (row, column, value) triplets and its sorted copy.
pub fn normalized_adjacency(graph: &GraphView<'_>) -> Result<Csr> {
    let (num_nodes, edges) = (graph.num_nodes(), graph.edges());
    let nnz = num_nodes as u64 + 2 * edges.len() as u64;
    if nnz > u64::from(u32::MAX) {
        return Err(Error::TooLarge {
            what: "the entries of the normalized adjacency (CSR offsets are u32)".into(),
            size: nnz,
            limit: u64::from(u32::MAX),
        });
    }
    // Entries per row: the diagonal and one per incident edge (the degree of A + I).
    let mut row_ptr: Vec<u32> = try_with_capacity(num_nodes + 1)?;
    row_ptr.push(0);
    row_ptr.resize(num_nodes + 1, 1);
    for &(i, j) in edges {
        row_ptr[i as usize + 1] += 1;
        row_ptr[j as usize + 1] += 1;
    }
    let inv_sqrt: Vec<f64> = row_ptr[1..]
        .iter()
        .map(|&d| 1.0 / f64::from(d).sqrt())
        .collect();
    for r in 0..num_nodes {
        row_ptr[r + 1] += row_ptr[r];
    }
    // Each row filled from its front: the diagonal first, then the neighbours.
    let mut col_idx: Vec<u32> = try_with_capacity(nnz as usize)?;
    col_idx.resize(nnz as usize, 0);
    let mut next: Vec<u32> = row_ptr[..num_nodes].to_vec();
    for (r, slot) in next.iter_mut().enumerate() {
        col_idx[*slot as usize] = r as u32;
        *slot += 1;
    }
    for &(i, j) in edges {
        col_idx[next[i as usize] as usize] = j;
        next[i as usize] += 1;
        col_idx[next[j as usize] as usize] = i;
        next[j as usize] += 1;
    }
    drop(next);
    let mut values: Vec<f32> = try_with_capacity(nnz as usize)?;
    for r in 0..num_nodes {
        let row = &mut col_idx[row_ptr[r] as usize..row_ptr[r + 1] as usize];
        row.sort_unstable();
        // (d_i · d_j) as f32, the same product in both directions (f64 multiplication
        // commutes exactly) and on the diagonal.
        values.extend(
            row.iter()
                .map(|&c| (inv_sqrt[r] * inv_sqrt[c as usize]) as f32),
        );
    }
    Csr::new(num_nodes, num_nodes, row_ptr, col_idx, values)
}

/// The dense objective's constants (DESIGN.md §2a) for N nodes and E directed train
/// edges (each undirected edge counted twice, no diagonal).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct DenseWeights {
    /// (N² − E) / E.
    pub pos_weight: f64,
    /// N² / (2 (N² − E)).
    pub norm: f64,
}

impl DenseWeights {
    /// The constants for `num_nodes` and `undirected_edges` (E = 2 · undirected_edges).
    pub fn new(num_nodes: usize, undirected_edges: usize) -> Result<Self> {
        let n2 = (num_nodes as f64).powi(2);
        let e = 2.0 * undirected_edges as f64;
        if e == 0.0 {
            return Err(Error::InvalidGraph {
                message: "the dense objective needs at least one training edge".into(),
            });
        }
        if n2 - e <= 0.0 {
            return Err(Error::InvalidGraph {
                message: format!(
                    "the graph has {num_nodes} nodes and {undirected_edges} edges: it is \
                     complete, so there are no negative pairs"
                ),
            });
        }
        Ok(DenseWeights {
            pos_weight: (n2 - e) / e,
            norm: n2 / (2.0 * (n2 - e)),
        })
    }
}

/// The label's nonzeros (every train edge in both directions plus the diagonal) with
/// weights (pos_weight, −1): the sparse correction of the dense objective.
pub fn dense_label_rows(graph: &GraphView<'_>, weights: DenseWeights) -> Result<PairRows> {
    let (num_nodes, edges) = (graph.num_nodes(), graph.edges());
    let pw = weights.pos_weight as f32;
    let mut entries: Vec<WeightedPair> = Vec::with_capacity(2 * edges.len() + num_nodes);
    for i in 0..num_nodes as u32 {
        entries.push((i, i, pw, -1.0));
    }
    for &(i, j) in edges {
        entries.push((i, j, pw, -1.0));
        entries.push((j, i, pw, -1.0));
    }
    PairRows::from_directed(num_nodes, &entries)
}

/// The sampled objective's pairs of one epoch: `positives` and `negatives` (ordered
/// pairs, PyG's convention of both directions of every train edge) weighted by
/// 1/count each, every pair listed at both of its nodes.
pub fn sampled_rows(
    num_nodes: usize,
    positives: &[(u32, u32)],
    negatives: &[(u32, u32)],
) -> Result<PairRows> {
    let w_pos = 1.0 / positives.len().max(1) as f32;
    let w_neg = 1.0 / negatives.len().max(1) as f32;
    PairRows::from_pair_lists(
        num_nodes,
        &[(positives, w_pos, 0.0), (negatives, 0.0, w_neg)],
    )
}

/// Draws the sampled objective's pairs for each epoch: the training edges in both
/// directions against as many fresh negatives, seeded by (seed, epoch).
#[derive(Clone, Debug)]
pub struct EpochSampler {
    num_nodes: usize,
    positives: Vec<(u32, u32)>,
    train_set: EdgeSet,
    seed: u64,
}

impl EpochSampler {
    fn new(graph: &GraphView<'_>, seed: u64) -> Result<Self> {
        Ok(EpochSampler {
            num_nodes: graph.num_nodes(),
            positives: graph
                .edges()
                .iter()
                .flat_map(|&(i, j)| [(i, j), (j, i)])
                .collect(),
            train_set: EdgeSet::from_edges(graph.num_nodes(), graph.edges())?,
            seed,
        })
    }

    /// The pair rows of `epoch`.
    pub fn rows(&self, epoch: u32) -> Result<PairRows> {
        let negatives =
            sample_training_negatives(&self.train_set, self.positives.len(), self.seed, epoch)?;
        sampled_rows(self.num_nodes, &self.positives, &negatives)
    }
}

/// What the host provides before an epoch, besides the step uniform.
#[derive(Clone, Debug)]
pub enum EpochInputs {
    /// Nothing changes between epochs (the dense objective).
    Static,
    /// The sampled objective's pairs.
    Sampled(EpochSampler),
    /// The subgraph objective's sample.
    Subgraph(SubgraphSampler),
}

/// One epoch's host-side inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochData {
    /// The pair list's content, where it changes every epoch.
    pub pairs: Option<PairRows>,
    /// The subgraph objective's sample: its nodes and every node's row in it.
    pub sample: Option<(Vec<u32>, Vec<u32>)>,
    /// The step uniform's decoder scale (the subgraph's 2·norm_S/n², else 1).
    pub decoder_scale: f32,
    /// The factor of this epoch's reconstruction loss beyond the schedule's fixed one
    /// (the subgraph's norm_S, else 1).
    pub loss_factor: f64,
}

impl EpochInputs {
    /// The inputs of `epoch`.
    pub fn for_epoch(&self, epoch: u32) -> Result<EpochData> {
        let fixed = EpochData {
            pairs: None,
            sample: None,
            decoder_scale: 1.0,
            loss_factor: 1.0,
        };
        match self {
            EpochInputs::Static => Ok(fixed),
            EpochInputs::Sampled(sampler) => Ok(EpochData {
                pairs: Some(sampler.rows(epoch)?),
                ..fixed
            }),
            EpochInputs::Subgraph(sampler) => {
                let draw = sampler.draw(epoch)?;
                let n2 = (sampler.sample_size() as f64).powi(2);
                Ok(EpochData {
                    pairs: Some(draw.pairs),
                    sample: Some((draw.nodes, draw.position)),
                    decoder_scale: (2.0 * draw.weights.norm / n2) as f32,
                    loss_factor: draw.weights.norm,
                })
            }
        }
    }
}

/// Everything both runners of a model need, built on the host from the config and the
/// graph: the schedule and its handles, the CSR inputs (in [`SparseId`](super::schedule::SparseId)
/// order: Â, X, Xᵀ), the static pair list (the dense objective's labels) and what
/// changes every epoch.
#[derive(Clone)]
pub struct ModelSetup<'a> {
    /// The configuration.
    pub config: ModelConfig,
    /// The epoch's schedule.
    pub schedule: Schedule,
    /// The tensors the host reads and writes.
    pub handles: Handles,
    pub(crate) sparse: Vec<Cow<'a, Csr>>,
    pub(crate) label_pairs: Option<PairRows>,
    pub(crate) epoch_inputs: EpochInputs,
    pub(crate) prior: Option<PriorData>,
}

/// The class-conditional prior's inputs from the training labels: every node's class
/// (u32::MAX for none) and each class's nodes, ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorData {
    /// N entries.
    pub class_of: Vec<u32>,
    /// classes + 1 offsets into `class_nodes`.
    pub class_ptr: Vec<u32>,
    /// The nodes of each class.
    pub class_nodes: Vec<u32>,
}

impl PriorData {
    /// From training labels (−1: none); fails when no node has one.
    pub fn from_labels(labels: &[i32]) -> Result<Self> {
        let classes = labels.iter().copied().max().unwrap_or(-1);
        if classes < 0 {
            return Err(Error::InvalidConfig {
                setting: "conditional",
                message: "the class-conditional prior needs training labels, and no node has \
                          one"
                .into(),
            });
        }
        let classes = classes as usize + 1;
        let mut class_ptr = vec![0u32; classes + 1];
        for &l in labels.iter().filter(|&&l| l >= 0) {
            class_ptr[l as usize + 1] += 1;
        }
        for c in 0..classes {
            class_ptr[c + 1] += class_ptr[c];
        }
        let mut next = class_ptr.clone();
        let mut class_nodes = vec![0u32; class_ptr[classes] as usize];
        let mut class_of = vec![u32::MAX; labels.len()];
        for (i, &l) in labels.iter().enumerate() {
            if l >= 0 {
                class_of[i] = l as u32;
                class_nodes[next[l as usize] as usize] = i as u32;
                next[l as usize] += 1;
            }
        }
        Ok(PriorData {
            class_of,
            class_ptr,
            class_nodes,
        })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_ptr.len() - 1
    }
}

impl<'a> ModelSetup<'a> {
    /// The setup of `config` on `graph` (whose edges are the training edges), with the
    /// schedule planned for `profile`. Checks the config and that the host can hold the
    /// model's weights before building anything large.
    pub fn new(
        config: &ModelConfig,
        graph: GraphView<'a>,
        profile: &AdapterProfile,
    ) -> Result<Self> {
        config.validate()?;
        let mut shape = GraphShape::of(&graph);
        let prior = if config.conditional {
            let labels = graph.train_labels().ok_or_else(|| Error::InvalidConfig {
                setting: "conditional",
                message: "the class-conditional prior needs training labels (Planetoid's \
                          x/y nodes, or a --train-labels file)"
                    .into(),
            })?;
            let prior = PriorData::from_labels(labels)?;
            shape.prior = Some(PriorShape {
                classes: prior.classes(),
                members: prior.class_nodes.len(),
            });
            Some(prior)
        } else {
            None
        };
        let epoch_inputs = match config.objective {
            Objective::Dense => EpochInputs::Static,
            Objective::Sampled => EpochInputs::Sampled(EpochSampler::new(&graph, config.seed)?),
            Objective::Subgraph => {
                let sampler =
                    SubgraphSampler::new(&graph, config.sample_nodes, config.alpha, config.seed)?;
                shape.subgraph = Some(SubgraphShape {
                    sample: sampler.sample_size(),
                    label_capacity: sampler.label_capacity(),
                });
                EpochInputs::Subgraph(sampler)
            }
        };
        crate::memory::trace("epoch sampler", None);
        let (schedule, handles) = vgae::training(config, &shape, profile)?;
        // The host holds the weights (initialisation, read-back) and the inputs.
        let host_bytes = schedule
            .tensors()
            .iter()
            .filter(|t| matches!(t.role, Role::Parameter | Role::Input | Role::EpochInput))
            .map(TensorSpec::bytes)
            .sum::<u64>();
        check_host_memory(
            || {
                let w0 = schedule.tensor(handles.w0);
                format!(
                    "a model with hidden width {} on {} nodes and {} features (W0 alone is \
                     {} x {} floats)",
                    config.hidden,
                    graph.num_nodes(),
                    graph.num_features(),
                    w0.rows,
                    w0.cols
                )
            },
            host_bytes,
        )?;
        // The schedule has X and Xᵀ only for a real feature matrix (see
        // GraphShape::identity_features).
        let mut sparse = vec![Cow::Owned(normalized_adjacency(&graph)?)];
        if let Some(x) = graph.features() {
            sparse.extend([Cow::Borrowed(x), Cow::Owned(x.transpose())]);
        }
        crate::memory::trace("adjacency", None);
        let dense_weights = handles.training.as_ref().and_then(|t| t.dense_weights);
        let label_pairs = match dense_weights {
            Some(weights) if config.objective == Objective::Dense => {
                Some(dense_label_rows(&graph, weights)?)
            }
            _ => None,
        };
        Ok(ModelSetup {
            config: config.clone(),
            sparse,
            schedule,
            handles,
            label_pairs,
            epoch_inputs,
            prior,
        })
    }

    /// The setup of the encoder alone on `graph` (all of whose edges enter Â), for
    /// embedding it with trained weights: no decoder, backward pass or optimizer.
    pub fn encoder(config: &ModelConfig, graph: GraphView<'a>) -> Result<Self> {
        let (schedule, handles) = vgae::encoder(config, &GraphShape::of(&graph))?;
        check_host_memory(
            || {
                format!(
                    "embedding {} nodes with {} features (hidden width {})",
                    graph.num_nodes(),
                    graph.num_features(),
                    config.hidden
                )
            },
            schedule.unshared_bytes(),
        )?;
        let mut sparse = vec![Cow::Owned(normalized_adjacency(&graph)?)];
        sparse.extend(graph.features().map(Cow::Borrowed));
        Ok(ModelSetup {
            config: config.clone(),
            sparse,
            schedule,
            handles,
            label_pairs: None,
            epoch_inputs: EpochInputs::Static,
            prior: None,
        })
    }

    /// The CSR matrix of a sparse input.
    pub fn sparse(&self, id: SparseId) -> &Csr {
        &self.sparse[id.index()]
    }

    /// The host-side inputs of `epoch`.
    pub fn epoch_data(&self, epoch: u32) -> Result<EpochData> {
        self.epoch_inputs.for_epoch(epoch)
    }
}

/// Glorot (Xavier) uniform: ±sqrt(6 / (fan_in + fan_out)), row-major fan_in × fan_out.
pub fn glorot_uniform(rng: &mut StdRng, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    (0..fan_in * fan_out)
        .map(|_| rng.random_range(-limit..limit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(n: usize, edges: &[(u32, u32)]) -> GraphView<'_> {
        GraphView::new(n, edges, None).unwrap()
    }

    #[test]
    fn normalized_adjacency_of_a_path() {
        // 0 - 1 - 2: degrees with self loops 2, 3, 2.
        let a = normalized_adjacency(&view(3, &[(0, 1), (1, 2)])).unwrap();
        let d = a.to_dense();
        let close = |x: f32, y: f64| (x as f64 - y).abs() < 1e-7;
        assert!(close(d[0], 0.5));
        assert!(close(d[1], 1.0 / 6f64.sqrt()));
        assert!(close(d[4], 1.0 / 3.0));
        assert!(close(d[3], 1.0 / 6f64.sqrt()));
        assert!(close(d[2], 0.0));
    }

    /// The triplet construction the direct one replaced: every entry listed, sorted and
    /// gathered by `Csr::from_triplets`.
    fn adjacency_from_triplets(graph: &GraphView<'_>) -> Csr {
        let (num_nodes, edges) = (graph.num_nodes(), graph.edges());
        let mut degree = vec![1f64; num_nodes];
        for &(i, j) in edges {
            degree[i as usize] += 1.0;
            degree[j as usize] += 1.0;
        }
        let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
        let mut triplets = Vec::new();
        for (i, d) in inv_sqrt.iter().enumerate() {
            triplets.push((i as u32, i as u32, (d * d) as f32));
        }
        for &(i, j) in edges {
            let w = (inv_sqrt[i as usize] * inv_sqrt[j as usize]) as f32;
            triplets.push((i, j, w));
            triplets.push((j, i, w));
        }
        Csr::from_triplets(num_nodes, num_nodes, &triplets).unwrap()
    }

    #[test]
    fn direct_adjacency_equals_the_triplet_construction_bit_for_bit() {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut rng = StdRng::seed_from_u64(5);
        for (n, m) in [(1, 0), (2, 1), (7, 0), (50, 120), (300, 2000), (1000, 400)] {
            // Random distinct pairs i < j in random order (the split's training edges are
            // shuffled), some nodes isolated.
            let mut pairs: Vec<(u32, u32)> = (0..n as u32)
                .flat_map(|i| (i + 1..n as u32).map(move |j| (i, j)))
                .collect();
            pairs.shuffle(&mut rng);
            pairs.truncate(m);
            let graph = view(n, &pairs);
            let direct = normalized_adjacency(&graph).unwrap();
            let reference = adjacency_from_triplets(&graph);
            assert_eq!(direct.row_ptr(), reference.row_ptr(), "n {n}, m {m}");
            assert_eq!(direct.col_idx(), reference.col_idx(), "n {n}, m {m}");
            let bits = |c: &Csr| c.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&direct), bits(&reference), "n {n}, m {m}");
        }
    }

    #[test]
    fn isolated_nodes_keep_their_self_loop() {
        let a = normalized_adjacency(&view(3, &[(0, 1)])).unwrap();
        assert_eq!(a.to_dense()[8], 1.0);
    }

    #[test]
    fn dense_weights_match_the_formulas() {
        let w = DenseWeights::new(10, 5).unwrap();
        assert!((w.pos_weight - 90.0 / 10.0).abs() < 1e-12);
        assert!((w.norm - 100.0 / 180.0).abs() < 1e-12);
        assert!(DenseWeights::new(10, 0).is_err());
        assert!(DenseWeights::new(2, 2).is_err());
    }
}
