//! The link-prediction edge split, and where its parts live: the split itself here
//! ([`split_edges`], tkipf/gae's `mask_test_edges`), the negative samplers in
//! `negatives` ([`sample_negative_pairs`] for the held-out sets,
//! [`sample_training_negatives`] for the per-epoch negatives of the sampled objective,
//! PyG's `negative_sampling`), and the set of node pairs they consult in `edge_set`
//! ([`EdgeSet`]).
//!
//! Everything is seeded: the same inputs and seed give the same output for a given `rand`
//! version (`StdRng` does not promise the same stream across `rand` releases). The outputs
//! are those of the original one-draw-at-a-time code (kept test-only in `split/reference.rs`
//! and compared against), whatever the batching or the number of threads.
//!
//! Scale: time and memory are linear in the edges. At 1M nodes and 10M edges the split
//! needs about 1.5 CPU-seconds and 230 MiB beside its input, and 20M per-epoch negatives
//! about 2 CPU-seconds, spread over the available cores (at most 8). Both are bound by
//! random memory access into the [`EdgeSet`], not by arithmetic.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod edge_set;
mod negatives;

pub use edge_set::EdgeSet;
pub(crate) use edge_set::{pair_key, PairTable, TOUCH_BATCH};
pub use negatives::{sample_negative_pairs, sample_training_negatives};

/// Node ids are `u32`, so a graph has at most 2³² nodes.
const MAX_NODES: usize = 1 << 32;

/// A train/validation/test split of an undirected graph's edges for link prediction.
///
/// Every pair is stored once with `i < j`. The five edge lists are pairwise disjoint; the
/// negatives are node pairs that are not edges of the full graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSplit {
    /// Number of nodes of the graph (every id is below it).
    pub num_nodes: usize,
    /// Edges the model trains on (the encoder's adjacency and the positive targets).
    pub train: Vec<(u32, u32)>,
    /// Held-out validation edges.
    pub val_pos: Vec<(u32, u32)>,
    /// Validation non-edges, as many as `val_pos`.
    pub val_neg: Vec<(u32, u32)>,
    /// Held-out test edges.
    pub test_pos: Vec<(u32, u32)>,
    /// Test non-edges, as many as `test_pos`, disjoint from `val_neg`.
    pub test_neg: Vec<(u32, u32)>,
}

/// Splits undirected `edges` for link prediction exactly as tkipf/gae's `mask_test_edges`:
/// after a seeded shuffle, the first ⌊E/20⌋ edges validate, the next ⌊E/10⌋ test, and the
/// remaining ones train; validation and test each get as many negatives (see
/// [`sample_negative_pairs`]), drawn together so that the two negative sets are disjoint.
///
/// `edges` must hold each undirected edge once as `(i, j)` with `i < j < num_nodes`.
/// On a tiny graph (E < 10) the test set is empty, and for E < 20 so is the validation
/// set; that is allowed, and callers that report held-out metrics must check for it.
///
/// Errors if an edge is out of range, not `i < j`, or repeated; if fewer than one training
/// edge would remain (E = 0); or if the graph has fewer non-edges than needed negatives.
pub fn split_edges(num_nodes: usize, edges: &[(u32, u32)], seed: u64) -> Result<EdgeSplit> {
    let e = edges.len();
    split_with_counts(num_nodes, edges, e / 20, e / 10, seed)
}

/// [`split_edges`] with other held-out fractions: ⌊E·`val_fraction`⌋ validation edges and
/// ⌊E·`test_fraction`⌋ test edges. `split_edges_with(n, e, 0.05, 0.1, s)` equals
/// `split_edges(n, e, s)`.
///
/// Errors as [`split_edges`], and if a fraction is not finite, is negative, or the two sum
/// to 1 or more.
pub fn split_edges_with(
    num_nodes: usize,
    edges: &[(u32, u32)],
    val_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Result<EdgeSplit> {
    let valid = |f: f64| f.is_finite() && f >= 0.0;
    if !valid(val_fraction) || !valid(test_fraction) || val_fraction + test_fraction >= 1.0 {
        return Err(Error::InvalidArgument {
            argument: if valid(val_fraction) {
                "test_fraction"
            } else {
                "val_fraction"
            },
            message: format!(
                "held-out fractions must be >= 0 and sum to less than 1, got validation \
                 {val_fraction} and test {test_fraction}"
            ),
        });
    }
    let e = edges.len() as f64;
    // Truncating casts are the floor here: both products are finite and non-negative.
    // (0.05 and 0.1 round up in f64, so E·0.1 never falls below an exact E/10.)
    let num_val = (e * val_fraction) as usize;
    let num_test = (e * test_fraction) as usize;
    split_with_counts(num_nodes, edges, num_val, num_test, seed)
}

fn split_with_counts(
    num_nodes: usize,
    edges: &[(u32, u32)],
    num_val: usize,
    num_test: usize,
    seed: u64,
) -> Result<EdgeSplit> {
    let mut all = EdgeSet::with_capacity(num_nodes, edges.len())?;
    for batch in edges.chunks(TOUCH_BATCH) {
        all.table.touch_pairs(batch);
        for &(i, j) in batch {
            all.check_pair(i, j)?;
            if i > j {
                return Err(Error::InvalidGraph {
                    message: format!("edge ({i}, {j}) is not stored as (i, j) with i < j"),
                });
            }
            if !all.table.insert(pair_key(i, j))? {
                return Err(Error::InvalidGraph {
                    message: format!("edge ({i}, {j}) appears twice"),
                });
            }
        }
    }
    let held_out = num_val + num_test;
    if held_out >= edges.len() {
        return Err(Error::InvalidGraph {
            message: format!(
                "{} edges leave no training edge after holding out {num_val} for validation \
                 and {num_test} for test",
                edges.len()
            ),
        });
    }

    let mut rng = StdRng::seed_from_u64(seed);
    let mut shuffled = try_copy(edges)?;
    shuffled.shuffle(&mut rng);
    let mut negatives = sample_negative_pairs(&all, held_out, &mut rng)?;
    drop(all);

    // The held-out edges are the shuffled list's head; the training edges, the bulk, stay
    // where they are (moved down in place) rather than being copied into a second list.
    let val_pos = shuffled[..num_val].to_vec();
    let test_pos = shuffled[num_val..held_out].to_vec();
    shuffled.drain(..held_out);
    // Give back the held-out part's room (on Linux a large block shrinks in place).
    shuffled.shrink_to_fit();
    let test_neg = negatives.split_off(num_val);
    Ok(EdgeSplit {
        num_nodes,
        train: shuffled,
        val_pos,
        val_neg: negatives,
        test_pos,
        test_neg,
    })
}

/// `items.to_vec()`, or an error instead of an abort when memory is short.
fn try_copy<T: Copy>(items: &[T]) -> Result<Vec<T>> {
    let mut out = try_with_capacity(items.len())?;
    out.extend_from_slice(items);
    Ok(out)
}

/// `Vec::with_capacity(len)`, or an error instead of an abort when memory is short.
pub(crate) fn try_with_capacity<T>(len: usize) -> Result<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| {
        crate::memory::allocation_failed(
            format!("{len} values of {} bytes", std::mem::size_of::<T>()),
            (len as u64).saturating_mul(std::mem::size_of::<T>() as u64),
        )
    })?;
    Ok(out)
}

#[cfg(test)]
mod reference;

/// Graphs the tests of the split and of its parts share.
#[cfg(test)]
mod fixtures {
    use std::collections::HashSet;

    use crate::error::Result;

    /// Every unordered pair of a path 0–1–…–(n−1) plus chords, deterministic and sparse.
    pub(super) fn sparse_graph(n: u32, extra: u32) -> Vec<(u32, u32)> {
        let mut edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let mut k = 0u64;
        let mut set: HashSet<(u32, u32)> = edges.iter().copied().collect();
        while edges.len() < (n - 1 + extra) as usize {
            // A fixed LCG, so the fixture does not depend on the code under test.
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = ((k >> 33) % n as u64) as u32;
            let b = ((k >> 13) % n as u64) as u32;
            let (a, b) = (a.min(b), a.max(b));
            if a != b && set.insert((a, b)) {
                edges.push((a, b));
            }
        }
        edges
    }

    /// A graph of `n` nodes with `m` of its n(n−1)/2 pairs as edges, chosen by a fixed LCG;
    /// dense enough, for `m` near the total, to send the split down its enumeration path.
    pub(super) fn dense_graph(n: u32, m: usize, salt: u64) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
        let mut k = salt;
        for t in (1..all.len()).rev() {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            all.swap(t, ((k >> 33) % (t as u64 + 1)) as usize);
        }
        all.truncate(m);
        all
    }

    /// Graphs covering both sampling paths of the split, small and Citeseer-sized.
    pub(super) fn reference_graphs() -> Vec<(usize, Vec<(u32, u32)>)> {
        vec![
            (30, sparse_graph(30, 20)),
            (300, sparse_graph(300, 400)),
            (2000, sparse_graph(2000, 6000)),
            (3327, sparse_graph(3327, 4552 - 3326)),
            (40, dense_graph(40, 500, 1)),
            (25, dense_graph(25, 250, 2)),
            (8, dense_graph(8, 25, 3)),
        ]
    }

    /// Both `Ok` and equal, or both errors with the same message.
    pub(super) fn same<T: PartialEq + std::fmt::Debug>(new: Result<T>, old: Result<T>, what: &str) {
        match (new, old) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
            (a, b) => panic!("{what}: {a:?} but the reference gives {b:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::fixtures::*;
    use super::*;
    use crate::split::negatives::sample_training_negatives;

    fn check_split(s: &EdgeSplit, edges: &[(u32, u32)]) {
        let all: HashSet<(u32, u32)> = edges.iter().copied().collect();
        let mut seen = HashSet::new();
        for list in [&s.train, &s.val_pos, &s.test_pos] {
            for &p in list.iter() {
                assert!(all.contains(&p), "{p:?} is not an input edge");
                assert!(seen.insert(p), "{p:?} is in two positive sets");
            }
        }
        assert_eq!(
            seen.len(),
            all.len(),
            "the positive sets must cover every edge"
        );
        let mut negs = HashSet::new();
        for list in [&s.val_neg, &s.test_neg] {
            for &(i, j) in list.iter() {
                assert!(i < j, "negative ({i}, {j}) is not normalised");
                assert!((j as usize) < s.num_nodes);
                assert!(!all.contains(&(i, j)), "negative ({i}, {j}) is an edge");
                assert!(negs.insert((i, j)), "negative ({i}, {j}) repeats");
            }
        }
        assert_eq!(s.val_neg.len(), s.val_pos.len());
        assert_eq!(s.test_neg.len(), s.test_pos.len());
    }

    #[test]
    fn citeseer_sized_split_has_tkipf_sizes_and_is_disjoint() {
        let edges = sparse_graph(3327, 4552 - 3326);
        assert_eq!(edges.len(), 4552);
        let s = split_edges(3327, &edges, 7).unwrap();
        assert_eq!(s.test_pos.len(), 455);
        assert_eq!(s.val_pos.len(), 227);
        assert_eq!(s.train.len(), 3870);
        check_split(&s, &edges);
    }

    #[test]
    fn same_seed_same_split_other_seed_different() {
        let edges = sparse_graph(500, 700);
        let a = split_edges(500, &edges, 42).unwrap();
        let b = split_edges(500, &edges, 42).unwrap();
        let c = split_edges(500, &edges, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.test_pos, c.test_pos);
        assert_ne!(a.test_neg, c.test_neg);
    }

    #[test]
    fn fractions_variant_matches_default_and_honours_fractions() {
        let edges = sparse_graph(300, 400);
        let e = edges.len();
        assert_eq!(
            split_edges_with(300, &edges, 0.05, 0.1, 5).unwrap(),
            split_edges(300, &edges, 5).unwrap()
        );
        let s = split_edges_with(300, &edges, 0.2, 0.3, 5).unwrap();
        assert_eq!(s.val_pos.len(), e * 2 / 10);
        assert_eq!(s.test_pos.len(), e * 3 / 10);
        check_split(&s, &edges);
        // ⌊E·0.1⌋ = E/10 and ⌊E·0.05⌋ = E/20 for every E, so the two entry points agree.
        for n in 0..100_000usize {
            assert_eq!((n as f64 * 0.1) as usize, n / 10);
            assert_eq!((n as f64 * 0.05) as usize, n / 20);
        }
    }

    #[test]
    fn bad_fractions_are_rejected() {
        let edges = sparse_graph(50, 10);
        // A sum of 1 or more is blamed on the test fraction.
        for (v, t, argument) in [
            (-0.1, 0.1, "val_fraction"),
            (0.5, 0.5, "test_fraction"),
            (f64::NAN, 0.1, "val_fraction"),
            (0.1, f64::INFINITY, "test_fraction"),
        ] {
            match split_edges_with(50, &edges, v, t, 0) {
                Err(Error::InvalidArgument { argument: a, .. }) if a == argument => {}
                other => panic!("({v}, {t}): expected an invalid {argument}, got {other:?}"),
            }
        }
    }

    #[test]
    fn tiny_graph_has_empty_held_out_sets() {
        // E = 3: ⌊3/10⌋ = ⌊3/20⌋ = 0, so everything trains.
        let edges = [(0, 1), (1, 2), (0, 2)];
        let s = split_edges(4, &edges, 1).unwrap();
        assert_eq!(s.train.len(), 3);
        assert!(s.val_pos.is_empty() && s.test_pos.is_empty());
        assert!(s.val_neg.is_empty() && s.test_neg.is_empty());
    }

    #[test]
    fn empty_edge_list_is_an_error() {
        let err = split_edges(10, &[], 0).unwrap_err();
        assert!(err.to_string().contains("no training edge"), "{err}");
    }

    #[test]
    fn malformed_edges_are_errors() {
        let ok = [(0, 1), (1, 2)];
        assert!(split_edges(3, &ok, 0).is_ok());
        for bad in [
            vec![(0, 1), (1, 3)], // id out of range
            vec![(0, 1), (2, 2)], // self loop
            vec![(0, 1), (2, 1)], // not i < j
            vec![(0, 1), (0, 1)], // repeated
        ] {
            let err = split_edges(3, &bad, 0).unwrap_err();
            assert!(
                matches!(err, Error::InvalidGraph { .. }),
                "{bad:?}: {err:?}"
            );
        }
        assert!(matches!(
            EdgeSet::from_edges(MAX_NODES + 1, &[]),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn too_dense_graph_is_an_error_not_a_hang() {
        // K_8 has 28 edges and no non-edge, but the split needs 1 + 2 = 3 negatives.
        let edges: Vec<(u32, u32)> = (0..8)
            .flat_map(|i| (i + 1..8).map(move |j| (i, j)))
            .collect();
        let err = split_edges(8, &edges, 0).unwrap_err();
        assert!(
            err.to_string().contains("cannot sample 3 negative pairs"),
            "{err}"
        );
    }

    #[test]
    fn dense_graph_uses_enumeration_and_finds_the_last_non_edges() {
        // K_8 minus three edges: exactly 3 non-edges, exactly 3 negatives needed (28−3 = 25
        // edges → 1 val + 2 test). Rejection would need many draws; enumeration is exact.
        let missing = [(0, 7), (2, 5), (3, 4)];
        let edges: Vec<(u32, u32)> = (0..8)
            .flat_map(|i| (i + 1..8).map(move |j| (i, j)))
            .filter(|p| !missing.contains(p))
            .collect();
        for seed in 0..20 {
            let s = split_edges(8, &edges, seed).unwrap();
            check_split(&s, &edges);
            let mut negs: Vec<_> = s.val_neg.iter().chain(&s.test_neg).copied().collect();
            negs.sort();
            assert_eq!(negs, missing);
        }
    }

    #[test]
    fn split_matches_the_reference_implementation_draw_for_draw() {
        let mut oks = 0;
        for (n, edges) in reference_graphs() {
            for seed in [0, 1, 7, 42, u64::MAX] {
                let what = format!("n {n}, {} edges, seed {seed}", edges.len());
                let new = split_edges(n, &edges, seed);
                oks += new.is_ok() as usize;
                same(new, reference::split_edges(n, &edges, seed), &what);
                same(
                    split_edges_with(n, &edges, 0.2, 0.3, seed),
                    reference::split_edges_with(n, &edges, 0.2, 0.3, seed),
                    &format!("{what}, fractions 0.2/0.3"),
                );
            }
        }
        assert_eq!(
            oks,
            5 * reference_graphs().len(),
            "every default split is feasible"
        );
        // Malformed inputs fail with the same message, at the same edge.
        for bad in [
            vec![(0, 1), (1, 3)],
            vec![(0, 1), (2, 2)],
            vec![(0, 1), (2, 1)],
            vec![(0, 1), (1, 2), (0, 1)],
            vec![],
        ] {
            same(
                split_edges(3, &bad, 0),
                reference::split_edges(3, &bad, 0),
                "bad",
            );
        }
    }

    /// FNV-1a over every id of the split, in order.
    fn digest(s: &EdgeSplit) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for list in [&s.train, &s.val_pos, &s.val_neg, &s.test_pos, &s.test_neg] {
            for &(i, j) in list.iter() {
                for b in i.to_le_bytes().into_iter().chain(j.to_le_bytes()) {
                    h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        h
    }

    #[test]
    fn citeseer_sized_split_is_pinned() {
        // Digests of the splits made before the open-addressing EdgeSet (commit 36550f4,
        // rand 0.9.5). A change here changes every seed-fixed split the project reports
        // (Citeseer seed 0 among them): it needs a reason, not a new constant.
        let edges = sparse_graph(3327, 4552 - 3326);
        assert_eq!(digest(&split_edges(3327, &edges, 0).unwrap()), PINNED[0]);
        assert_eq!(digest(&split_edges(3327, &edges, 1).unwrap()), PINNED[1]);
        let set = EdgeSet::from_edges(3327, &edges).unwrap();
        let negs = sample_training_negatives(&set, 5000, 0, 3).unwrap();
        let pseudo = EdgeSplit {
            num_nodes: 3327,
            train: negs,
            val_pos: vec![],
            val_neg: vec![],
            test_pos: vec![],
            test_neg: vec![],
        };
        assert_eq!(digest(&pseudo), PINNED[2]);
    }

    const PINNED: [u64; 3] = [
        0x8f15_c350_b9b1_b118,
        0xdb9b_0a80_19dc_c73d,
        0x22b4_452e_1b27_1c18,
    ];
}
