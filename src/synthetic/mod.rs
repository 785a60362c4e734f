//! The embedded default graph: a seeded stochastic block model with class-correlated
//! sparse binary features, of any size, so that `gpu-vgae run` and the benchmarks need
//! no file. Communities make links predictable from both structure and features, as in
//! the citation graphs.
//!
//! Time and memory are linear in the edges and feature entries: a million nodes of mean
//! degree 20 (ten million edges) take a few seconds and a few hundred MiB.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::sparse::Csr;
use crate::split::{pair_key, try_with_capacity, PairTable, TOUCH_BATCH};

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
    /// Feature width (500). `0` generates a featureless graph: no feature is drawn, the
    /// edges are the same as with features, and [`SyntheticGraph::feature_matrix`] is
    /// `None` (train it with the identity as features).
    pub features: usize,
    /// Nonzero features per node (20); ignored when `features` is 0.
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
    /// N × F binary features; N × 0 (no entries) when the spec asks for no features.
    pub features: Csr,
    /// Community of each node.
    pub labels: Vec<i32>,
}

impl SyntheticGraph {
    /// The feature matrix to train with: `Some(&self.features)`, or `None` for a graph
    /// generated without features (`SyntheticSpec::features == 0`), which the model reads
    /// as the identity.
    pub fn feature_matrix(&self) -> Option<&Csr> {
        (self.features.cols() > 0).then_some(&self.features)
    }
}

/// Generates the graph described by `spec`.
///
/// Edges: each attempt picks a uniform node i and, with probability `within_fraction`, a
/// uniform member of i's community (else a uniform node) as j; self loops and repeated
/// pairs are dropped, until round(N · mean_degree / 2) edges exist (or 50 attempts per
/// edge have been spent, on specs too dense to reach it). Features: each node draws
/// distinct features, each from its community's slice of the vocabulary with probability
/// `feature_signal`, else uniformly. One seeded stream serves both, edges first.
///
/// Errors ([`Error::InvalidConfig`] naming the field) if the spec is out of range (fewer
/// than 2 nodes, communities not in 1..=N, mean degree not in (0, N − 1), fractions
/// outside [0, 1], `features_per_node` not in 1..=`features` when `features > 0`),
/// [`Error::TooLarge`] if the nodes or the feature entries exceed 2³² − 1, or if the graph
/// does not fit in memory.
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
    if spec.nodes > u32::MAX as usize {
        return Err(Error::TooLarge {
            what: "the node count of a synthetic graph (node ids are u32)".into(),
            size: spec.nodes as u64,
            limit: u64::from(u32::MAX),
        });
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
    if spec.features > 0 && (spec.features_per_node == 0 || spec.features_per_node > spec.features)
    {
        return bad(
            "features_per_node",
            "features per node must be between 1 and the feature width",
        );
    }
    if spec.features > 0 && spec.nodes.saturating_mul(spec.features_per_node) > u32::MAX as usize {
        return Err(Error::TooLarge {
            what: "the feature entry count of a synthetic graph (nodes × features per node)".into(),
            size: (spec.nodes as u64).saturating_mul(spec.features_per_node as u64),
            limit: u64::from(u32::MAX),
        });
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let (n, k) = (spec.nodes, spec.communities);
    let labels: Vec<i32> = (0..n).map(|i| (i % k) as i32).collect();
    let edges = draw_edges(spec, &mut rng)?;
    let features = if spec.features == 0 {
        Csr::new(n, 0, vec![0; n + 1], Vec::new(), Vec::new())?
    } else {
        draw_features(spec, &mut rng)?
    };
    Ok(SyntheticGraph {
        num_nodes: n,
        edges,
        features,
        labels,
    })
}

/// The edges, sorted. Node i is in community i mod k, so community c's members are
/// c, c + k, c + 2k, …: the m-th member is c + m·k, with no member lists to store.
fn draw_edges(spec: &SyntheticSpec, rng: &mut StdRng) -> Result<Vec<(u32, u32)>> {
    let (n, k) = (spec.nodes, spec.communities);
    let target = (spec.mean_degree * n as f64 / 2.0).round() as usize;
    let max_attempts = target.saturating_mul(50).saturating_add(1000);
    let mut seen = PairTable::with_capacity(target)?;
    let mut edges: Vec<(u32, u32)> = try_with_capacity(target)?;
    let mut attempts = 0usize;
    // Whether a pair is new does not change the draws, only when they stop. Each batch
    // draws no more attempts than edges are missing (an attempt adds at most one), so the
    // stream is consumed exactly as by one attempt at a time; the batch's table slots are
    // loaded together before the inserts.
    let mut batch = [(0u32, 0u32); TOUCH_BATCH];
    while edges.len() < target && attempts < max_attempts {
        let len = TOUCH_BATCH
            .min(target - edges.len())
            .min(max_attempts - attempts);
        for pair in &mut batch[..len] {
            let i = rng.random_range(0..n) as u32;
            let j = if rng.random_bool(spec.within_fraction) {
                let community = i as usize % k;
                let size = (n - community).div_ceil(k);
                (community + rng.random_range(0..size) * k) as u32
            } else {
                rng.random_range(0..n) as u32
            };
            *pair = (i, j);
        }
        attempts += len;
        seen.touch_pairs(&batch[..len]);
        for &(i, j) in &batch[..len] {
            if i != j && seen.insert(pair_key(i, j))? {
                edges.push((i.min(j), i.max(j)));
            }
        }
    }
    drop(seen);
    edges.sort_unstable_by_key(|&(i, j)| pair_key(i, j));
    Ok(edges)
}

/// The N × F binary feature matrix, built row by row straight into CSR form.
fn draw_features(spec: &SyntheticSpec, rng: &mut StdRng) -> Result<Csr> {
    let (n, k, width) = (spec.nodes, spec.communities, spec.features);
    let per_node = spec.features_per_node;
    // Each community owns a slice of the vocabulary.
    let slice = (width / k).max(1);
    let nnz = n * per_node; // checked against u32 by the caller
    let mut row_ptr: Vec<u32> = try_with_capacity(n + 1)?;
    let mut col_idx: Vec<u32> = try_with_capacity(nnz)?;
    row_ptr.push(0);
    // `owner[f]` is 1 + the last node that chose f: membership in O(1) with no clearing.
    let mut owner = vec![0usize; width];
    let mut chosen: Vec<u32> = Vec::with_capacity(per_node);
    for i in 0..n {
        let start = (i % k * slice) % width;
        chosen.clear();
        while chosen.len() < per_node {
            let f = if rng.random_bool(spec.feature_signal) {
                (start + rng.random_range(0..slice)) % width
            } else {
                rng.random_range(0..width)
            };
            if owner[f] != i + 1 {
                owner[f] = i + 1;
                chosen.push(f as u32);
            }
        }
        chosen.sort_unstable();
        col_idx.extend_from_slice(&chosen);
        row_ptr.push(col_idx.len() as u32);
    }
    let mut values: Vec<f32> = try_with_capacity(nnz)?;
    values.resize(nnz, 1.0);
    Csr::new(n, width, row_ptr, col_idx, values)
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut SyntheticSpec)) -> SyntheticSpec {
        let mut s = SyntheticSpec::default();
        f(&mut s);
        s
    }

    fn assert_same(a: &SyntheticGraph, b: &SyntheticGraph, what: &str) {
        assert_eq!(a.num_nodes, b.num_nodes, "{what}");
        assert_eq!(a.edges, b.edges, "{what}");
        assert_eq!(a.features, b.features, "{what}");
        assert_eq!(a.labels, b.labels, "{what}");
    }

    /// Specs that cover every branch of the generator: both coins at 0 and 1, one
    /// community and one per node, a dense graph, every feature taken, other seeds.
    fn specs() -> Vec<SyntheticSpec> {
        vec![
            SyntheticSpec::default(),
            with(|s| s.seed = 1),
            with(|s| s.seed = u64::MAX),
            with(|s| {
                s.nodes = 300;
                s.communities = 3;
                s.mean_degree = 7.5;
            }),
            with(|s| s.within_fraction = 0.0),
            with(|s| s.within_fraction = 1.0),
            with(|s| s.feature_signal = 0.0),
            with(|s| s.feature_signal = 1.0),
            with(|s| s.communities = 1),
            with(|s| {
                s.nodes = 7;
                s.communities = 7;
                s.mean_degree = 2.0;
                s.features = 5;
                s.features_per_node = 5;
            }),
            with(|s| {
                s.nodes = 30;
                s.communities = 4;
                s.mean_degree = 26.0;
                s.features = 9;
                s.features_per_node = 3;
            }),
            with(|s| {
                s.nodes = 2;
                s.communities = 2;
                s.mean_degree = 0.5;
            }),
        ]
    }

    #[test]
    fn output_equals_the_reference_implementation() {
        for (k, s) in specs().iter().enumerate() {
            let want = reference::generate(s).unwrap();
            assert_same(&generate(s).unwrap(), &want, &format!("spec {k}: {s:?}"));
        }
    }

    #[test]
    fn featureless_graph_has_the_same_edges_and_no_features() {
        for s in specs() {
            let with = generate(&s).unwrap();
            let without = generate(&SyntheticSpec {
                features: 0,
                ..s.clone()
            })
            .unwrap();
            assert_eq!(without.edges, with.edges);
            assert_eq!(without.labels, with.labels);
            assert!(without.feature_matrix().is_none());
            assert_eq!(
                (
                    without.features.rows(),
                    without.features.cols(),
                    without.features.nnz()
                ),
                (s.nodes, 0, 0)
            );
            assert_eq!(with.feature_matrix(), Some(&with.features));
        }
        // features_per_node does not matter without features.
        let s = with(|s| {
            s.features = 0;
            s.features_per_node = 0;
        });
        assert!(generate(&s).is_ok());
    }

    #[test]
    fn default_graph_is_pinned() {
        // FNV-1a of the default graph's edges and feature columns as generated before the
        // rewrite (commit 36550f4). The README and the tests' expected scores rely on it.
        let g = generate(&SyntheticSpec::default()).unwrap();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let ids = g
            .edges
            .iter()
            .flat_map(|&(i, j)| [i, j])
            .chain(g.features.row_ptr().iter().copied())
            .chain(g.features.col_idx().iter().copied());
        for id in ids {
            for b in id.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        assert_eq!(h, PINNED_DEFAULT);
    }

    const PINNED_DEFAULT: u64 = 1_786_903_928_589_455_009;

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
        assert!(matches!(
            generate(&spec),
            Err(Error::InvalidConfig {
                setting: "nodes",
                ..
            })
        ));
        let spec = SyntheticSpec {
            features_per_node: 501,
            ..Default::default()
        };
        assert!(matches!(
            generate(&spec),
            Err(Error::InvalidConfig {
                setting: "features_per_node",
                ..
            })
        ));
        for (bad, name) in [
            (with(|s| s.features_per_node = 0), "features_per_node"),
            (with(|s| s.communities = 0), "communities"),
            (with(|s| s.communities = 2001), "communities"),
            (with(|s| s.mean_degree = 1999.0), "mean_degree"),
            (with(|s| s.mean_degree = f64::NAN), "mean_degree"),
            (with(|s| s.within_fraction = 1.5), "within_fraction"),
            (with(|s| s.feature_signal = -0.1), "feature_signal"),
        ] {
            match generate(&bad) {
                Err(Error::InvalidConfig { setting, .. }) if setting == name => {}
                other => panic!("{bad:?}: expected InvalidConfig({name}), got {other:?}"),
            }
        }
        let bad = with(|s| s.nodes = 1 << 32);
        assert!(
            matches!(generate(&bad), Err(Error::TooLarge { .. })),
            "{bad:?}"
        );
    }
}
