//! The link-prediction edge split and the negative samplers.
//!
//! [`split_edges`] follows tkipf/gae's `mask_test_edges`: shuffle the undirected edges, hold
//! out ⌊E/20⌋ for validation and ⌊E/10⌋ for test, train on the rest, and pair each held-out
//! set with as many sampled non-edges. [`sample_training_negatives`] draws the per-epoch
//! negatives of the sampled objective (PyG's `negative_sampling`).
//!
//! Everything is seeded: the same inputs and seed give the same output for a given `rand`
//! version (`StdRng` does not promise the same stream across `rand` releases).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Node ids are `u32`, so a graph has at most 2³² nodes.
const MAX_NODES: usize = 1 << 32;

/// Draws per training negative before the last draw is accepted even if it is an edge.
const MAX_DRAWS_PER_NEGATIVE: u32 = 16;

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

/// A set of undirected node pairs of a graph with `num_nodes` nodes: `(i, j)` and `(j, i)`
/// are the same member. Built once and queried many times by the negative samplers.
#[derive(Clone, Debug)]
pub struct EdgeSet {
    num_nodes: usize,
    /// Keys `min·N + max`, unique per unordered pair because both ids are below `N`.
    keys: HashSet<u64, BuildHasherDefault<PairKeyHasher>>,
}

impl EdgeSet {
    /// Builds the set of `edges` in either orientation; repeated pairs (also reversed ones)
    /// are stored once.
    ///
    /// Errors if `num_nodes` exceeds 2³², an id is `>= num_nodes`, or an edge is a self loop.
    pub fn from_edges(num_nodes: usize, edges: &[(u32, u32)]) -> Result<Self> {
        let mut set = Self::with_capacity(num_nodes, edges.len())?;
        for &(i, j) in edges {
            set.check_pair(i, j)?;
            set.keys.insert(set.key(i, j));
        }
        Ok(set)
    }

    fn with_capacity(num_nodes: usize, capacity: usize) -> Result<Self> {
        if num_nodes > MAX_NODES {
            return Err(Error::InvalidInput(format!(
                "{num_nodes} nodes, but node ids are u32 so at most 2^32 are supported"
            )));
        }
        Ok(Self {
            num_nodes,
            keys: HashSet::with_capacity_and_hasher(capacity, Default::default()),
        })
    }

    fn check_pair(&self, i: u32, j: u32) -> Result<()> {
        check_edge(self.num_nodes, i, j)
    }

    /// The key of a pair whose ids are both `< num_nodes`.
    fn key(&self, i: u32, j: u32) -> u64 {
        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
        u64::from(lo) * self.num_nodes as u64 + u64::from(hi)
    }

    /// Whether `(i, j)` (equivalently `(j, i)`) is in the set; `false` for ids out of range.
    pub fn contains(&self, i: u32, j: u32) -> bool {
        // Out-of-range ids must not reach `key`: they would alias a valid pair's key.
        (i as usize) < self.num_nodes
            && (j as usize) < self.num_nodes
            && self.keys.contains(&self.key(i, j))
    }

    /// Number of distinct unordered pairs in the set.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no pairs.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of nodes of the graph the pairs belong to.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }
}

/// Hasher for the `u64` pair keys: the splitmix64 finalizer. The keys come from our own
/// graphs, so std's DoS-resistant SipHash buys nothing and is the bulk of a lookup's cost in
/// the per-epoch sampler.
#[derive(Clone, Copy, Debug, Default)]
struct PairKeyHasher(u64);

impl Hasher for PairKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // `HashSet<u64>` only calls `write_u64`; this keeps the trait's contract for others.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 ^= key;
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Fails unless `(i, j)` joins two distinct nodes below `num_nodes`.
pub(crate) fn check_edge(num_nodes: usize, i: u32, j: u32) -> Result<()> {
    if i as usize >= num_nodes || j as usize >= num_nodes {
        return Err(Error::InvalidInput(format!(
            "edge ({i}, {j}) is out of range for {num_nodes} nodes"
        )));
    }
    if i == j {
        return Err(Error::InvalidInput(format!(
            "edge ({i}, {i}) is a self loop; edges must join distinct nodes"
        )));
    }
    Ok(())
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
        return Err(Error::InvalidInput(format!(
            "held-out fractions must be >= 0 and sum to less than 1, got validation \
             {val_fraction} and test {test_fraction}"
        )));
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
    for &(i, j) in edges {
        all.check_pair(i, j)?;
        if i > j {
            return Err(Error::InvalidInput(format!(
                "edge ({i}, {j}) is not stored as (i, j) with i < j"
            )));
        }
        if !all.keys.insert(all.key(i, j)) {
            return Err(Error::InvalidInput(format!(
                "edge ({i}, {j}) appears twice"
            )));
        }
    }
    let held_out = num_val + num_test;
    if held_out >= edges.len() {
        return Err(Error::InvalidInput(format!(
            "{} edges leave no training edge after holding out {num_val} for validation and \
             {num_test} for test",
            edges.len()
        )));
    }

    let mut rng = StdRng::seed_from_u64(seed);
    let mut shuffled = edges.to_vec();
    shuffled.shuffle(&mut rng);
    let mut negatives = sample_negative_pairs(&all, held_out, &mut rng)?;

    let train = shuffled.split_off(held_out);
    let test_pos = shuffled.split_off(num_val);
    let test_neg = negatives.split_off(num_val);
    Ok(EdgeSplit {
        num_nodes,
        train,
        val_pos: shuffled,
        val_neg: negatives,
        test_pos,
        test_neg,
    })
}

/// Draws `count` distinct node pairs `(i, j)`, `i < j`, uniformly among the unordered pairs
/// of distinct nodes that are not in `exclude` (pairs range over `exclude.num_nodes()`).
///
/// Sparse cases use rejection sampling. When the excluded and requested pairs fill half or
/// more of all pairs, rejection would slow down, so the allowed pairs are enumerated and a
/// random subset taken instead; that costs time and memory linear in all N(N−1)/2 pairs,
/// which is then less than twice `exclude.len() + count`, so it always terminates promptly.
///
/// Errors if fewer than `count` allowed pairs exist.
pub fn sample_negative_pairs<R: Rng + ?Sized>(
    exclude: &EdgeSet,
    count: usize,
    rng: &mut R,
) -> Result<Vec<(u32, u32)>> {
    let n = exclude.num_nodes;
    let total_pairs = n as u128 * n.saturating_sub(1) as u128 / 2;
    let allowed = total_pairs - exclude.len() as u128;
    if (count as u128) > allowed {
        return Err(Error::InvalidInput(format!(
            "cannot sample {count} negative pairs: the graph with {n} nodes has only \
             {allowed} node pairs that are not edges ({} edges)",
            exclude.len()
        )));
    }
    if count == 0 {
        return Ok(Vec::new());
    }

    if 2 * (allowed - count as u128) >= total_pairs {
        // Every draw is accepted with probability ≥ 1/2, so ≤ 2·count draws are expected.
        let mut chosen = EdgeSet::with_capacity(n, count)?;
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let (i, j) = random_ordered_pair(n as u64, rng);
            let (i, j) = (i.min(j), i.max(j));
            if !exclude.contains(i, j) && chosen.keys.insert(chosen.key(i, j)) {
                out.push((i, j));
            }
        }
        Ok(out)
    } else {
        // Here n(n−1)/2 < 2·(|exclude| + count), so this is linear in the input and output.
        let mut candidates = Vec::with_capacity(allowed as usize);
        for i in 0..n as u32 {
            for j in i + 1..n as u32 {
                if !exclude.contains(i, j) {
                    candidates.push((i, j));
                }
            }
        }
        let (picked, _) = candidates.partial_shuffle(rng, count);
        Ok(picked.to_vec())
    }
}

/// A uniformly random ordered pair `(i, j)` of distinct ids below `n` (requires `n >= 2`).
fn random_ordered_pair<R: Rng + ?Sized>(n: u64, rng: &mut R) -> (u32, u32) {
    let i = rng.random_range(0..n);
    // Draw j from the n − 1 other ids and skip over i, so the pair is uniform without retries.
    let j = rng.random_range(0..n - 1);
    let j = if j >= i { j + 1 } else { j };
    (i as u32, j as u32)
}

/// The per-epoch negatives of the sampled training objective (PyG's `negative_sampling`):
/// `count` uniformly random ordered pairs `(i, j)`, `i ≠ j`, that are not in `train_edges`
/// (in either direction). Pairs may repeat.
///
/// Each negative is redrawn while it hits an edge, at most 16 draws in all, after which the
/// last draw is kept even if it is an edge: this bounds the work on dense graphs, and on the
/// sparse graphs this is for (edge density p ≪ 1) a kept edge has probability p¹⁶.
///
/// The stream depends only on `(seed, epoch)`, so an epoch can be replayed exactly.
///
/// Errors if `count > 0` and the graph has fewer than two nodes.
pub fn sample_training_negatives(
    train_edges: &EdgeSet,
    count: usize,
    seed: u64,
    epoch: u32,
) -> Result<Vec<(u32, u32)>> {
    let n = train_edges.num_nodes as u64;
    if count > 0 && n < 2 {
        return Err(Error::InvalidInput(format!(
            "cannot sample negative pairs of distinct nodes in a graph with {n} node(s)"
        )));
    }
    // Seed and epoch laid side by side in the ChaCha key: distinct (seed, epoch) pairs get
    // distinct streams, with no collisions from hashing them together.
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..12].copy_from_slice(&epoch.to_le_bytes());
    let mut rng = StdRng::from_seed(key);

    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut pair = random_ordered_pair(n, &mut rng);
        for _ in 1..MAX_DRAWS_PER_NEGATIVE {
            if !train_edges.contains(pair.0, pair.1) {
                break;
            }
            pair = random_ordered_pair(n, &mut rng);
        }
        out.push(pair);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every unordered pair of a path 0–1–…–(n−1) plus chords, deterministic and sparse.
    fn sparse_graph(n: u32, extra: u32) -> Vec<(u32, u32)> {
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
        for (v, t) in [
            (-0.1, 0.1),
            (0.5, 0.5),
            (f64::NAN, 0.1),
            (0.1, f64::INFINITY),
        ] {
            assert!(matches!(
                split_edges_with(50, &edges, v, t, 0),
                Err(Error::InvalidInput(_))
            ));
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
            assert!(
                matches!(split_edges(3, &bad, 0), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        assert!(EdgeSet::from_edges(MAX_NODES + 1, &[]).is_err());
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
    fn sample_negative_pairs_counts_and_exclusion() {
        let edges = sparse_graph(40, 100);
        let set = EdgeSet::from_edges(40, &edges).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        // 40·39/2 = 780 pairs, 139 edges → 641 allowed: ask for all of them.
        assert_eq!(set.len(), 139);
        let all = sample_negative_pairs(&set, 641, &mut rng).unwrap();
        let distinct: HashSet<_> = all.iter().copied().collect();
        assert_eq!(distinct.len(), 641);
        assert!(all.iter().all(|&(i, j)| i < j && !set.contains(i, j)));
        assert!(sample_negative_pairs(&set, 642, &mut rng).is_err());
        assert!(sample_negative_pairs(&set, 0, &mut rng).unwrap().is_empty());
        // Sparse path: few pairs requested.
        let few = sample_negative_pairs(&set, 50, &mut rng).unwrap();
        assert_eq!(few.iter().copied().collect::<HashSet<_>>().len(), 50);
        assert!(few.iter().all(|&(i, j)| i < j && !set.contains(i, j)));
    }

    #[test]
    fn edge_set_is_undirected_and_range_checked() {
        let set = EdgeSet::from_edges(5, &[(0, 3), (3, 0), (4, 2)]).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.contains(3, 0) && set.contains(0, 3) && set.contains(2, 4));
        assert!(!set.contains(0, 4));
        // Key 0·5 + 8 would alias (1, 3) if ids were not range-checked.
        assert!(!set.contains(0, 8));
        assert!(EdgeSet::from_edges(5, &[(1, 1)]).is_err());
        assert!(EdgeSet::from_edges(5, &[(1, 5)]).is_err());
    }

    #[test]
    fn training_negatives_avoid_edges_and_replay_by_seed_and_epoch() {
        let edges = sparse_graph(2000, 3000);
        let set = EdgeSet::from_edges(2000, &edges).unwrap();
        let a = sample_training_negatives(&set, 20_000, 9, 3).unwrap();
        assert_eq!(a.len(), 20_000);
        assert!(a.iter().all(|&(i, j)| i != j && i < 2000 && j < 2000));
        assert!(a.iter().all(|&(i, j)| !set.contains(i, j)));
        // Both orientations appear: the pairs are ordered.
        assert!(a.iter().any(|&(i, j)| i < j) && a.iter().any(|&(i, j)| i > j));
        assert_eq!(a, sample_training_negatives(&set, 20_000, 9, 3).unwrap());
        assert_ne!(a, sample_training_negatives(&set, 20_000, 9, 4).unwrap());
        assert_ne!(a, sample_training_negatives(&set, 20_000, 10, 3).unwrap());
    }

    #[test]
    fn training_negatives_terminate_on_a_complete_graph() {
        // Every pair is an edge: each draw gives up after 16 tries and keeps an edge.
        let edges: Vec<(u32, u32)> = (0..6)
            .flat_map(|i| (i + 1..6).map(move |j| (i, j)))
            .collect();
        let set = EdgeSet::from_edges(6, &edges).unwrap();
        let out = sample_training_negatives(&set, 100, 0, 0).unwrap();
        assert_eq!(out.len(), 100);
        assert!(out.iter().all(|&p| p.0 != p.1 && set.contains(p.0, p.1)));
    }

    #[test]
    fn training_negatives_need_two_nodes() {
        let set = EdgeSet::from_edges(1, &[]).unwrap();
        assert!(sample_training_negatives(&set, 1, 0, 0).is_err());
        assert!(sample_training_negatives(&set, 0, 0, 0).unwrap().is_empty());
    }

    #[test]
    fn random_pairs_are_uniform_over_ordered_pairs() {
        // n = 4 has 12 ordered pairs; 120 000 draws → 10 000 each, σ ≈ 96.
        let mut rng = StdRng::seed_from_u64(11);
        let mut counts = [[0u32; 4]; 4];
        for _ in 0..120_000 {
            let (i, j) = random_ordered_pair(4, &mut rng);
            counts[i as usize][j as usize] += 1;
        }
        for (i, row) in counts.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                if i == j {
                    assert_eq!(c, 0);
                } else {
                    assert!((9_500..=10_500).contains(&c), "({i}, {j}) drawn {c} times");
                }
            }
        }
    }
}
