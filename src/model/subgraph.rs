//! The subgraph objective's per-epoch draw (DESIGN.md §2c, FastGAE): n nodes without
//! replacement with probability ∝ deg^α, the labels of the subgraph they induce, and its
//! own pos_weight and norm.
//!
//! Sampling uses Efraimidis–Spirakis keys: node i gets key ln(u_i) / w_i with u_i
//! uniform in (0, 1] and w_i = deg_i^α, and the n largest keys are the sample; this
//! draws exactly as n successive weighted draws without replacement would, in O(N) per
//! epoch. Nodes of degree 0 have weight 0 and are never drawn when α > 0; α = 0 is
//! uniform over all nodes.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::inputs::DenseWeights;
use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::kernels::decoder_pairs::{PairRows, WeightedPair};

/// Marks a node outside the sample in [`SubgraphDraw::position`].
pub const NOT_SAMPLED: u32 = u32::MAX;

/// One epoch's sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SubgraphDraw {
    /// The sampled nodes, ascending (row r of the subgraph is node `nodes[r]`).
    pub nodes: Vec<u32>,
    /// For every node of the graph, its row in the sample, or [`NOT_SAMPLED`].
    pub position: Vec<u32>,
    /// The induced subgraph's labels (A_train + I)[S, S] by sample row, weighted
    /// (pos_weight_S, −1) as the dense objective's correction.
    pub pairs: PairRows,
    /// pos_weight_S and norm_S of this sample.
    pub weights: DenseWeights,
    /// Ones of A_train[S, S], both directions counted (E_S).
    pub induced_entries: usize,
}

/// Draws the subgraph of each epoch.
#[derive(Clone, Debug)]
pub struct SubgraphSampler {
    /// Neighbours of every node in the training graph, ascending (CSR).
    offsets: Vec<u32>,
    neighbours: Vec<u32>,
    /// deg^α per node (0: never drawn).
    weights: Vec<f64>,
    sample: usize,
    label_capacity: usize,
    seed: u64,
}

impl SubgraphSampler {
    /// A sampler of `sample_nodes` nodes (at most the number of drawable nodes) with
    /// p ∝ deg^`alpha` over `graph`'s (training) edges, seeded by `seed`.
    pub fn new(graph: &GraphView<'_>, sample_nodes: usize, alpha: f64, seed: u64) -> Result<Self> {
        if sample_nodes == 0 {
            return Err(Error::InvalidConfig {
                setting: "sample_nodes",
                message: "the subgraph objective needs at least one sampled node".into(),
            });
        }
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::InvalidConfig {
                setting: "alpha",
                message: format!("the degree exponent must be a number >= 0, got {alpha}"),
            });
        }
        let n = graph.num_nodes();
        let mut degree = vec![0u32; n];
        for &(i, j) in graph.edges() {
            degree[i as usize] += 1;
            degree[j as usize] += 1;
        }
        let mut offsets = vec![0u32; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + degree[i];
        }
        let mut next = offsets.clone();
        let mut neighbours = vec![0u32; 2 * graph.edges().len()];
        for &(i, j) in graph.edges() {
            neighbours[next[i as usize] as usize] = j;
            next[i as usize] += 1;
            neighbours[next[j as usize] as usize] = i;
            next[j as usize] += 1;
        }
        for i in 0..n {
            neighbours[offsets[i] as usize..offsets[i + 1] as usize].sort_unstable();
        }
        let weights: Vec<f64> = degree
            .iter()
            .map(|&d| {
                if alpha == 0.0 {
                    1.0
                } else {
                    f64::from(d).powf(alpha)
                }
            })
            .collect();
        let drawable = weights.iter().filter(|&&w| w > 0.0).count();
        if drawable == 0 {
            return Err(Error::InvalidGraph {
                message: "the subgraph objective with alpha > 0 draws nodes by degree, and no \
                          node has a training edge"
                    .into(),
            });
        }
        let sample = sample_nodes.min(drawable);
        // The induced subgraph has at most the edges of its `sample` best-connected
        // nodes, and at most sample·(sample − 1) ordered pairs.
        let mut sorted = degree.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let top: usize = sorted[..sample].iter().map(|&d| d as usize).sum();
        let label_capacity = sample + top.min(sample * (sample - 1));
        Ok(SubgraphSampler {
            offsets,
            neighbours,
            weights,
            sample,
            label_capacity,
            seed,
        })
    }

    /// Nodes per sample: the requested count, or every drawable node if fewer.
    pub fn sample_size(&self) -> usize {
        self.sample
    }

    /// The most label entries (diagonal and induced edges) any sample can have.
    pub fn label_capacity(&self) -> usize {
        self.label_capacity
    }

    /// The sample of `epoch`.
    pub fn draw(&self, epoch: u32) -> Result<SubgraphDraw> {
        let n = self.weights.len();
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..12].copy_from_slice(&epoch.to_le_bytes());
        // A stream of its own, apart from the sampled objective's negatives.
        key[12..20].copy_from_slice(b"subgraph");
        let mut rng = StdRng::from_seed(key);
        // (key, node) for drawable nodes; the n largest keys win (ties to the smaller id).
        let mut keys: Vec<(f64, u32)> = Vec::with_capacity(n);
        for (i, &w) in self.weights.iter().enumerate() {
            let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            if w > 0.0 {
                keys.push((u.ln() / w, i as u32));
            }
        }
        let order = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if self.sample < keys.len() {
            keys.select_nth_unstable_by(self.sample - 1, order);
            keys.truncate(self.sample);
        }
        let mut nodes: Vec<u32> = keys.into_iter().map(|(_, i)| i).collect();
        nodes.sort_unstable();
        let mut position = vec![NOT_SAMPLED; n];
        for (r, &i) in nodes.iter().enumerate() {
            position[i as usize] = r as u32;
        }
        let mut entries: Vec<WeightedPair> = Vec::with_capacity(self.label_capacity);
        let mut induced = 0usize;
        for (r, &i) in nodes.iter().enumerate() {
            entries.push((r as u32, r as u32, 0.0, -1.0));
            let range = self.offsets[i as usize] as usize..self.offsets[i as usize + 1] as usize;
            for &j in &self.neighbours[range] {
                let c = position[j as usize];
                if c != NOT_SAMPLED {
                    entries.push((r as u32, c, 0.0, -1.0));
                    induced += 1;
                }
            }
        }
        // A sample that induces no edge (tiny or nearly empty graphs) has only the
        // diagonal as positives; its weights are taken as for one edge.
        let weights = DenseWeights::new(self.sample, (induced / 2).max(1))?;
        let pw = weights.pos_weight as f32;
        for entry in &mut entries {
            entry.2 = pw;
        }
        Ok(SubgraphDraw {
            pairs: PairRows::from_directed(self.sample, &entries)?,
            nodes,
            position,
            weights,
            induced_entries: induced,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn star_and_path() -> Vec<(u32, u32)> {
        // Node 0 is a hub of 0..6; 6-7-8-9 a path; node 10 isolated.
        let mut edges: Vec<(u32, u32)> = (1..6).map(|j| (0, j)).collect();
        edges.extend([(6, 7), (7, 8), (8, 9)]);
        edges
    }

    #[test]
    fn draws_without_replacement_and_labels_the_induced_subgraph() {
        let edges = star_and_path();
        let graph = GraphView::new(11, &edges, None).unwrap();
        let sampler = SubgraphSampler::new(&graph, 4, 2.0, 7).unwrap();
        assert_eq!(sampler.sample_size(), 4);
        for epoch in 0..20 {
            let draw = sampler.draw(epoch).unwrap();
            assert_eq!(draw.nodes.len(), 4);
            assert!(
                draw.nodes.windows(2).all(|w| w[0] < w[1]),
                "distinct, ascending"
            );
            assert!(
                !draw.nodes.contains(&10),
                "degree 0 is never drawn with alpha > 0"
            );
            for (r, &i) in draw.nodes.iter().enumerate() {
                assert_eq!(draw.position[i as usize], r as u32);
            }
            // Induced entries: both directions of every edge with both ends sampled.
            let expected = edges
                .iter()
                .filter(|&&(i, j)| draw.nodes.contains(&i) && draw.nodes.contains(&j))
                .count();
            assert_eq!(draw.induced_entries, 2 * expected);
            assert_eq!(draw.pairs.len(), 4 + 2 * expected);
            let e = (2 * expected.max(1)) as f64;
            assert!((draw.weights.pos_weight - (16.0 - e) / e).abs() < 1e-12);
            assert!((0..draw.pairs.len()).all(|p| draw.pairs.weights(p).1 == -1.0));
        }
        assert_eq!(sampler.draw(3).unwrap(), sampler.draw(3).unwrap());
        assert_ne!(
            sampler.draw(3).unwrap().nodes,
            sampler.draw(4).unwrap().nodes
        );
    }

    #[test]
    fn degree_weighting_favours_hubs_and_alpha_zero_is_uniform() {
        let edges = star_and_path();
        let graph = GraphView::new(11, &edges, None).unwrap();
        let count = |alpha: f64, node: u32| {
            let sampler = SubgraphSampler::new(&graph, 2, alpha, 1).unwrap();
            (0..4000)
                .filter(|&e| sampler.draw(e).unwrap().nodes.contains(&node))
                .count() as f64
                / 4000.0
        };
        // α = 2: the hub (degree 5, weight 25) against leaves of weight 1 to 4.
        assert!(count(2.0, 0) > 0.8);
        // α = 0: every one of the 11 nodes with probability 2/11.
        for node in [0, 5, 10] {
            let p = count(0.0, node);
            assert!((p - 2.0 / 11.0).abs() < 0.03, "node {node}: {p}");
        }
    }

    #[test]
    fn bad_settings_and_edgeless_graphs_are_errors() {
        let edges = star_and_path();
        let graph = GraphView::new(11, &edges, None).unwrap();
        assert!(SubgraphSampler::new(&graph, 0, 2.0, 0).is_err());
        assert!(SubgraphSampler::new(&graph, 3, -1.0, 0).is_err());
        assert!(SubgraphSampler::new(&graph, 3, f64::NAN, 0).is_err());
        // More nodes than drawable: all 10 with an edge.
        assert_eq!(
            SubgraphSampler::new(&graph, 50, 2.0, 0)
                .unwrap()
                .sample_size(),
            10
        );
        assert_eq!(
            SubgraphSampler::new(&graph, 50, 0.0, 0)
                .unwrap()
                .sample_size(),
            11
        );
        let empty = GraphView::new(4, &[], None).unwrap();
        assert!(SubgraphSampler::new(&empty, 2, 1.0, 0).is_err());
    }
}
