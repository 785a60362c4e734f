//! The embedded default graph: a seeded stochastic block model with class-correlated
//! sparse binary features, of any size, so that `gpu-vgae run` and the benchmarks need
//! no file. Communities make links predictable from both structure and features, as in
//! the citation graphs.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Shape of the synthetic graph.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SyntheticSpec {
    /// Nodes (2000).
    pub nodes: usize,
    /// Communities, which are also the labels (6).
    pub communities: usize,
    /// Expected degree (4, about Citeseer's 2.7 and Cora's 3.9).
    pub mean_degree: f64,
    /// Fraction of a node's edges that stay inside its community (0.8).
    pub within_fraction: f64,
    /// Feature width (500).
    pub features: usize,
    /// Nonzero features per node (20).
    pub features_per_node: usize,
    /// Fraction of a node's features drawn from its community's vocabulary (0.7).
    pub feature_signal: f64,
    /// Seed (0).
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            nodes: 2000,
            communities: 6,
            mean_degree: 4.0,
            within_fraction: 0.8,
            features: 500,
            features_per_node: 20,
            feature_signal: 0.7,
            seed: 0,
        }
    }
}

/// A generated graph: undirected unique edges (i < j), binary features, labels.
#[derive(Clone, Debug)]
pub struct SyntheticGraph {
    /// Nodes.
    pub num_nodes: usize,
    /// Undirected edges, i < j, sorted, unique.
    pub edges: Vec<(u32, u32)>,
    /// N × F binary features.
    pub features: Csr,
    /// Community of each node.
    pub labels: Vec<i32>,
}

/// Generates the graph described by `spec`.
pub fn generate(spec: &SyntheticSpec) -> Result<SyntheticGraph> {
    let bad = |m: &str| Err(Error::InvalidInput(format!("synthetic graph: {m}")));
    if spec.nodes < 2 {
        return bad("needs at least 2 nodes");
    }
    if spec.communities == 0 || spec.communities > spec.nodes {
        return bad("communities must be between 1 and the number of nodes");
    }
    if !(spec.mean_degree > 0.0 && spec.mean_degree < (spec.nodes - 1) as f64) {
        return bad("mean degree must be positive and below nodes − 1");
    }
    if !(0.0..=1.0).contains(&spec.within_fraction) || !(0.0..=1.0).contains(&spec.feature_signal) {
        return bad("fractions must lie in [0, 1]");
    }
    if spec.features == 0 || spec.features_per_node == 0 || spec.features_per_node > spec.features {
        return bad("features per node must be between 1 and the feature width");
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let (n, k) = (spec.nodes, spec.communities);
    let labels: Vec<i32> = (0..n).map(|i| (i % k) as i32).collect();
    let members: Vec<Vec<u32>> = (0..k)
        .map(|c| (c..n).step_by(k).map(|i| i as u32).collect())
        .collect();
    let target = (spec.mean_degree * n as f64 / 2.0).round() as usize;
    let mut edges = std::collections::BTreeSet::new();
    let mut attempts = 0usize;
    while edges.len() < target && attempts < 50 * target + 1000 {
        attempts += 1;
        let i = rng.random_range(0..n) as u32;
        let j = if rng.random_bool(spec.within_fraction) {
            let group = &members[labels[i as usize] as usize];
            group[rng.random_range(0..group.len())]
        } else {
            rng.random_range(0..n) as u32
        };
        if i != j {
            edges.insert((i.min(j), i.max(j)));
        }
    }
    // Each community owns a slice of the vocabulary.
    let slice = (spec.features / k).max(1);
    let mut triplets = Vec::with_capacity(n * spec.features_per_node);
    for (i, &label) in labels.iter().enumerate() {
        let start = (label as usize * slice) % spec.features;
        let mut chosen = std::collections::BTreeSet::new();
        while chosen.len() < spec.features_per_node {
            let f = if rng.random_bool(spec.feature_signal) {
                (start + rng.random_range(0..slice)) % spec.features
            } else {
                rng.random_range(0..spec.features)
            };
            chosen.insert(f as u32);
        }
        triplets.extend(chosen.into_iter().map(|f| (i as u32, f, 1.0)));
    }
    Ok(SyntheticGraph {
        num_nodes: n,
        edges: edges.into_iter().collect(),
        features: Csr::from_triplets(n, spec.features, &triplets)?,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_graph_has_the_requested_shape_and_is_reproducible() {
        let g = generate(&SyntheticSpec::default()).unwrap();
        assert_eq!(g.num_nodes, 2000);
        assert_eq!(g.edges.len(), 4000);
        assert!(g.edges.iter().all(|&(i, j)| i < j));
        assert_eq!(g.features.nnz(), 2000 * 20);
        let again = generate(&SyntheticSpec::default()).unwrap();
        assert_eq!(g.edges, again.edges);
        let within = g
            .edges
            .iter()
            .filter(|&&(i, j)| g.labels[i as usize] == g.labels[j as usize])
            .count();
        assert!(within as f64 / g.edges.len() as f64 > 0.75);
    }

    #[test]
    fn bad_specs_are_errors() {
        let spec = SyntheticSpec {
            nodes: 1,
            ..Default::default()
        };
        assert!(generate(&spec).is_err());
        let spec = SyntheticSpec {
            features_per_node: 501,
            ..Default::default()
        };
        assert!(generate(&spec).is_err());
    }
}
