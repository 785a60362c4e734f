//! The split and the samplers exactly as they were before the open-addressing [`EdgeSet`]
//! (commit 36550f4, std `HashSet` keys), kept verbatim as the reference that the fast
//! versions must reproduce draw for draw. Test-only.
//!
//! [`EdgeSet`]: super::EdgeSet
#![allow(dead_code)]

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::edge_set::check_edge;
use super::EdgeSplit;
use crate::error::{Error, Result};

/// Node ids are `u32`, so a graph has at most 2³² nodes.
const MAX_NODES: usize = 1 << 32;

/// Draws per training negative before the last draw is accepted even if it is an edge.
const MAX_DRAWS_PER_NEGATIVE: u32 = 16;

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
            return Err(Error::TooLarge {
                what: "the node count of an edge set (node ids are u32)".into(),
                size: num_nodes as u64,
                limit: MAX_NODES as u64,
            });
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
    for &(i, j) in edges {
        all.check_pair(i, j)?;
        if i > j {
            return Err(Error::InvalidGraph {
                message: format!("edge ({i}, {j}) is not stored as (i, j) with i < j"),
            });
        }
        if !all.keys.insert(all.key(i, j)) {
            return Err(Error::InvalidGraph {
                message: format!("edge ({i}, {j}) appears twice"),
            });
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
        return Err(Error::InvalidGraph {
            message: format!(
                "cannot sample {count} negative pairs: the graph with {n} nodes has only \
                 {allowed} node pairs that are not edges ({} edges)",
                exclude.len()
            ),
        });
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
        return Err(Error::InvalidGraph {
            message: format!(
                "cannot sample negative pairs of distinct nodes in a graph with {n} node(s)"
            ),
        });
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
