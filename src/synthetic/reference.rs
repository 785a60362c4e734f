//! The generator as it was before it used a hash table and built the CSR directly (commit
//! 36550f4, `BTreeSet`s and `Csr::from_triplets`), kept verbatim as the reference that the
//! fast version must reproduce exactly. Test-only.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{SyntheticGraph, SyntheticSpec};
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Generates the graph described by `spec`.
pub fn generate(spec: &SyntheticSpec) -> Result<SyntheticGraph> {
    let bad = |setting: &'static str, m: &str| {
        Err(Error::InvalidConfig {
            setting,
            message: format!("synthetic graph: {m}"),
        })
    };
    if spec.nodes < 2 {
        return bad("nodes", "needs at least 2 nodes");
    }
    if spec.communities == 0 || spec.communities > spec.nodes {
        return bad(
            "communities",
            "communities must be between 1 and the number of nodes",
        );
    }
    if !(spec.mean_degree > 0.0 && spec.mean_degree < (spec.nodes - 1) as f64) {
        return bad(
            "mean_degree",
            "mean degree must be positive and below nodes − 1",
        );
    }
    if !(0.0..=1.0).contains(&spec.within_fraction) {
        return bad("within_fraction", "fractions must lie in [0, 1]");
    }
    if !(0.0..=1.0).contains(&spec.feature_signal) {
        return bad("feature_signal", "fractions must lie in [0, 1]");
    }
    if spec.features == 0 || spec.features_per_node == 0 || spec.features_per_node > spec.features {
        return bad(
            "features_per_node",
            "features per node must be between 1 and the feature width",
        );
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
