//! The link-prediction edge split and the negative samplers.
//!
//! [`split_edges`] follows tkipf/gae's `mask_test_edges`: shuffle the undirected edges, hold
//! out ⌊E/20⌋ for validation and ⌊E/10⌋ for test, train on the rest, and pair each held-out
//! set with as many sampled non-edges. [`sample_training_negatives`] draws the per-epoch
//! negatives of the sampled objective (PyG's `negative_sampling`).
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
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
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
///
/// An open-addressing hash table of `u64` pair keys with linear probing, about 13 bytes per
/// pair, where a lookup is one cache miss (std's `HashSet` keeps control bytes and keys apart,
/// so two, at 16+ bytes per pair).
#[derive(Clone)]
pub struct EdgeSet {
    num_nodes: usize,
    table: PairTable,
}

impl EdgeSet {
    /// Builds the set of `edges` in either orientation; repeated pairs (also reversed ones)
    /// are stored once.
    ///
    /// Errors if `num_nodes` exceeds 2³², an id is `>= num_nodes`, or an edge is a self loop.
    pub fn from_edges(num_nodes: usize, edges: &[(u32, u32)]) -> Result<Self> {
        let mut set = Self::with_capacity(num_nodes, edges.len())?;
        for batch in edges.chunks(TOUCH_BATCH) {
            set.table.touch_pairs(batch);
            for &(i, j) in batch {
                set.check_pair(i, j)?;
                set.table.insert(pair_key(i, j))?;
            }
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
            table: PairTable::with_capacity(capacity)?,
        })
    }

    fn check_pair(&self, i: u32, j: u32) -> Result<()> {
        check_edge(self.num_nodes, i, j)
    }

    /// Whether `(i, j)` (equivalently `(j, i)`) is in the set; `false` for ids out of range.
    pub fn contains(&self, i: u32, j: u32) -> bool {
        // Out-of-range ids are never inserted, so they need no check of their own; a self
        // loop's key could collide with the empty marker and is answered here.
        i != j && self.table.contains(pair_key(i, j))
    }

    /// Writes `self.contains(i, j)` for each pair of `pairs` into `out` (cleared first).
    ///
    /// Faster than one [`contains`](Self::contains) after another on a large set: the
    /// table slots of the whole batch are loaded first, with no branch between the loads,
    /// so their cache misses overlap instead of being paid one at a time.
    pub fn contains_many(&self, pairs: &[(u32, u32)], out: &mut Vec<bool>) {
        out.clear();
        out.resize(pairs.len(), false);
        for (pairs, out) in pairs.chunks(TOUCH_BATCH).zip(out.chunks_mut(TOUCH_BATCH)) {
            self.flag_members(pairs, out);
        }
    }

    /// `flags[k] = self.contains(pairs[k])` for a batch small enough that its slots stay
    /// cached between the loading pass and the lookups (callers cut batches of
    /// [`TOUCH_BATCH`]); `flags` is as long as `pairs`.
    fn flag_members(&self, pairs: &[(u32, u32)], flags: &mut [bool]) {
        let mut keys = [EMPTY; TOUCH_BATCH];
        for (key, &(i, j)) in keys.iter_mut().zip(pairs) {
            *key = pair_key(i, j);
        }
        self.table
            .contains_batch(&keys[..pairs.len().min(TOUCH_BATCH)], flags);
        for (flag, &(i, j)) in flags.iter_mut().zip(pairs) {
            *flag &= i != j;
        }
    }

    /// Number of distinct unordered pairs in the set.
    pub fn len(&self) -> usize {
        self.table.len
    }

    /// Whether the set has no pairs.
    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }

    /// Number of nodes of the graph the pairs belong to.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }
}

impl std::fmt::Debug for EdgeSet {
    /// A summary: the table can hold tens of millions of keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeSet")
            .field("num_nodes", &self.num_nodes)
            .field("len", &self.table.len)
            .field("slots", &self.table.slots.len())
            .finish()
    }
}

/// The key of the unordered pair `{i, j}`: `min << 32 | max`. Distinct pairs get distinct
/// keys, and no pair of distinct nodes gets [`EMPTY`] (its `max` is at least 1).
pub(crate) fn pair_key(i: u32, j: u32) -> u64 {
    let (lo, hi) = if i < j { (i, j) } else { (j, i) };
    u64::from(lo) << 32 | u64::from(hi)
}

/// The marker of an unused slot: the key of the self loop (0, 0), which is never stored.
const EMPTY: u64 = 0;

/// Slots per stored key, as a fraction: at most 5 keys per 8 slots (load ≤ 0.625), where a
/// failed lookup with linear probing reads about 4 consecutive slots, usually one cache line.
const LOAD_NUM: usize = 5;
const LOAD_DEN: usize = 8;

/// An open-addressing set of nonzero `u64` keys with linear probing; a key's home slot is
/// chosen by a strong 64-bit mix, so the structured pair keys spread evenly.
#[derive(Clone)]
pub(crate) struct PairTable {
    slots: Vec<u64>,
    len: usize,
}

impl PairTable {
    /// A table that holds `capacity` keys without growing.
    pub(crate) fn with_capacity(capacity: usize) -> Result<Self> {
        let slots = capacity
            .checked_mul(LOAD_DEN)
            .map(|s| (s / LOAD_NUM).max(8) + 1)
            .ok_or_else(|| too_many_pairs(capacity))?;
        let mut table = Vec::new();
        table
            .try_reserve_exact(slots)
            .map_err(|_| too_many_pairs(capacity))?;
        table.resize(slots, EMPTY);
        Ok(Self {
            slots: table,
            len: 0,
        })
    }

    /// The slot where the search for `key` starts: the top bits of `mix(key) · slots`, so
    /// any table size works (no power of two needed).
    fn home(&self, key: u64) -> usize {
        ((u128::from(mix(key)) * self.slots.len() as u128) >> 64) as usize
    }

    fn contains(&self, key: u64) -> bool {
        self.contains_from(key, self.home(key))
    }

    /// Whether `key` is present, searching from `at`, its home slot.
    fn contains_from(&self, key: u64, mut at: usize) -> bool {
        loop {
            let slot = self.slots[at];
            if slot == key {
                return true;
            }
            if slot == EMPTY {
                return false;
            }
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
    }

    /// Inserts a nonzero `key`; returns whether it was new.
    pub(crate) fn insert(&mut self, key: u64) -> Result<bool> {
        debug_assert_ne!(key, EMPTY);
        if (self.len + 1) * LOAD_DEN > self.slots.len() * LOAD_NUM {
            self.grow()?;
        }
        let mut at = self.home(key);
        loop {
            let slot = self.slots[at];
            if slot == key {
                return Ok(false);
            }
            if slot == EMPTY {
                self.slots[at] = key;
                self.len += 1;
                return Ok(true);
            }
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
    }

    fn grow(&mut self) -> Result<()> {
        let mut bigger = Self::with_capacity(self.len.max(8) * 2)?;
        for &key in self.slots.iter().filter(|&&k| k != EMPTY) {
            bigger.insert(key)?;
        }
        *self = bigger;
        Ok(())
    }

    /// The home slots of up to [`TOUCH_BATCH`] keys, each loaded once so that the lookups
    /// that follow find them cached. The loads come in a loop of their own with no branch
    /// on what they read, so their cache and TLB misses overlap rather than queue; one
    /// lookup after another waits for each miss in turn (a probe's branches depend on it).
    fn touch(&self, keys: &[u64]) -> [usize; TOUCH_BATCH] {
        let mut homes = [0; TOUCH_BATCH];
        for (home, &key) in homes.iter_mut().zip(keys) {
            *home = self.home(key);
        }
        let mut sink = 0u64;
        for &home in &homes[..keys.len().min(TOUCH_BATCH)] {
            sink ^= self.slots[home];
        }
        std::hint::black_box(sink);
        homes
    }

    /// [`touch`](Self::touch) for the keys of up to [`TOUCH_BATCH`] pairs.
    pub(crate) fn touch_pairs(&self, pairs: &[(u32, u32)]) {
        let mut keys = [EMPTY; TOUCH_BATCH];
        for (key, &(i, j)) in keys.iter_mut().zip(pairs) {
            *key = pair_key(i, j);
        }
        self.touch(&keys[..pairs.len().min(TOUCH_BATCH)]);
    }

    /// `flags[k] = self.contains(keys[k])` for up to [`TOUCH_BATCH`] keys.
    fn contains_batch(&self, keys: &[u64], flags: &mut [bool]) {
        let homes = self.touch(keys);
        for ((flag, &key), &home) in flags.iter_mut().zip(keys).zip(&homes) {
            *flag = self.contains_from(key, home);
        }
    }
}

/// The splitmix64 finalizer: every input bit affects every output bit.
fn mix(key: u64) -> u64 {
    let mut z = key;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn too_many_pairs(count: usize) -> Error {
    let slots = count as u128 * LOAD_DEN as u128 / LOAD_NUM as u128;
    crate::resources::allocation_failed(
        format!("a table for {count} node pairs"),
        u64::try_from(slots * 8).unwrap_or(u64::MAX),
    )
}

/// Fails unless `(i, j)` joins two distinct nodes below `num_nodes`.
pub(crate) fn check_edge(num_nodes: usize, i: u32, j: u32) -> Result<()> {
    if i as usize >= num_nodes || j as usize >= num_nodes {
        return Err(Error::InvalidGraph {
            message: format!("edge ({i}, {j}) is out of range for {num_nodes} nodes"),
        });
    }
    if i == j {
        return Err(Error::InvalidGraph {
            message: format!("edge ({i}, {i}) is a self loop; edges must join distinct nodes"),
        });
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
        crate::resources::allocation_failed(
            format!("{len} values of {} bytes", std::mem::size_of::<T>()),
            (len as u64).saturating_mul(std::mem::size_of::<T>() as u64),
        )
    })?;
    Ok(out)
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
        // Each draw is tested on its own, so a batch of as many draws as pairs are missing
        // can be drawn ahead and looked up together without drawing more than the
        // one-at-a-time loop, which leaves `rng` where that loop would.
        let mut chosen = PairTable::with_capacity(count)?;
        let mut out = try_with_capacity(count)?;
        let mut batch = [(0u32, 0u32); TOUCH_BATCH];
        let mut excluded = [false; TOUCH_BATCH];
        while out.len() < count {
            let len = TOUCH_BATCH.min(count - out.len());
            for pair in &mut batch[..len] {
                let (i, j) = random_ordered_pair(n as u64, rng);
                *pair = (i.min(j), i.max(j));
            }
            exclude.flag_members(&batch[..len], &mut excluded[..len]);
            chosen.touch_pairs(&batch[..len]);
            for (&(i, j), &excluded) in batch[..len].iter().zip(&excluded[..len]) {
                if !excluded && chosen.insert(pair_key(i, j))? {
                    out.push((i, j));
                }
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
/// The stream depends only on `(seed, epoch)`, so an epoch can be replayed exactly; it does
/// not depend on the number of threads. Large requests (from 2¹⁸ pairs) draw and look up
/// their candidates on up to [`available_parallelism`](std::thread::available_parallelism)
/// threads (at most 8), each seeking to its part of the one ChaCha stream, so the result is
/// the same as drawing one pair after another.
///
/// Errors if `count > 0` and the graph has fewer than two nodes, or if `count` pairs do not
/// fit in memory.
pub fn sample_training_negatives(
    train_edges: &EdgeSet,
    count: usize,
    seed: u64,
    epoch: u32,
) -> Result<Vec<(u32, u32)>> {
    let threads = if count < PARALLEL_MIN_NEGATIVES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |t| t.get().min(MAX_THREADS))
    };
    training_negatives_on(train_edges, count, seed, epoch, threads)
}

/// Requests below this many negatives are drawn on the calling thread alone.
const PARALLEL_MIN_NEGATIVES: usize = 1 << 18;

/// The most threads one call of the per-epoch sampler uses.
const MAX_THREADS: usize = 8;

/// Candidates drawn, looked up and consumed per round: bounds the edge flags' memory.
const NEGATIVE_ROUND: usize = 1 << 20;

/// Candidates whose table slots are loaded together before they are looked up.
pub(crate) const TOUCH_BATCH: usize = 64;

/// ChaCha words (u32) one candidate pair takes, barring the rare extra word of a rejected
/// bounded draw (probability about n/2⁶⁴ per id): two u64 draws.
const WORDS_PER_PAIR: u128 = 4;

fn training_negatives_on(
    train_edges: &EdgeSet,
    count: usize,
    seed: u64,
    epoch: u32,
    threads: usize,
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
    // distinct streams, with no collisions from hashing them together. `StdRng` is this
    // generator (rand 0.9); the seekable type is used so that threads can share the stream.
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..12].copy_from_slice(&epoch.to_le_bytes());
    let mut rng = ChaCha12Rng::from_seed(key);

    // The draws do not depend on which of them are edges, only their grouping into negatives
    // does. So each round draws as many candidates as negatives are missing (never more
    // than drawing one at a time would use), flags the edges among them, and consumes them
    // in order: a negative is its first non-edge draw, or its 16th draw. The candidates are
    // written where the negatives go and compacted in place.
    let mut out: Vec<(u32, u32)> = try_with_capacity(count)?;
    let mut is_edge = vec![false; NEGATIVE_ROUND.min(count)];
    let mut draws = 0u32; // draws spent on the negative being chosen
    while out.len() < count {
        let start = out.len();
        let end = count.min(start + NEGATIVE_ROUND);
        out.resize(end, (0, 0));
        let flags = &mut is_edge[..end - start];
        draw_in_parts(
            &mut rng,
            &mut out[start..end],
            flags,
            threads,
            WORDS_PER_PAIR,
            &|rng, pairs, flags| {
                for (pairs, flags) in pairs
                    .chunks_mut(TOUCH_BATCH)
                    .zip(flags.chunks_mut(TOUCH_BATCH))
                {
                    for pair in pairs.iter_mut() {
                        *pair = random_ordered_pair(n, rng);
                    }
                    train_edges.flag_members(pairs, flags);
                }
            },
        );
        let mut kept = start;
        for k in start..end {
            draws += 1;
            if !flags[k - start] || draws == MAX_DRAWS_PER_NEGATIVE {
                out[kept] = out[k];
                kept += 1;
                draws = 0;
            }
        }
        out.truncate(kept);
    }
    Ok(out)
}

/// Fills `items` (and `flags`) with `work`, which draws them in order from a ChaCha stream,
/// exactly as `work(rng, items, flags)` would on one thread, and leaves `rng` after the last
/// draw.
///
/// With several threads, each takes a contiguous part and seeks a clone of `rng` to where
/// its part would start if every item took `words_per_item` words. Afterwards the parts are
/// checked in order against where their predecessor actually ended; a part that started
/// elsewhere (some item took more words) is drawn again from the right place.
fn draw_in_parts<T, W>(
    rng: &mut ChaCha12Rng,
    items: &mut [T],
    flags: &mut [bool],
    threads: usize,
    words_per_item: u128,
    work: &W,
) where
    T: Send,
    W: Fn(&mut ChaCha12Rng, &mut [T], &mut [bool]) + Sync,
{
    let part = items.len().div_ceil(threads.max(1)).max(1);
    if threads <= 1 || items.len() <= part {
        work(rng, items, flags);
        return;
    }
    let origin = rng.get_word_pos();
    let mut parts: Vec<(u128, &mut [T], &mut [bool])> = Vec::with_capacity(threads);
    let mut offset = 0u128;
    for (items, flags) in items.chunks_mut(part).zip(flags.chunks_mut(part)) {
        let len = items.len() as u128;
        parts.push((origin + offset, items, flags));
        offset += len * words_per_item;
    }
    // `ends[k]`: where part k's draws ended, or `None` if no thread could be started for it
    // (then it is drawn below, on this thread, like a part that started off position).
    let ends: Vec<Option<u128>> = std::thread::scope(|scope| {
        let mut parts = parts.iter_mut();
        let first = parts.next();
        let handles: Vec<_> = parts
            .map(|(start, items, flags)| {
                let mut local = rng.clone();
                local.set_word_pos(*start);
                std::thread::Builder::new()
                    .name("gpu-vgae-negatives".into())
                    .spawn_scoped(scope, move || {
                        work(&mut local, items, flags);
                        local.get_word_pos()
                    })
                    .ok()
            })
            .collect();
        let mut ends = Vec::with_capacity(threads);
        if let Some((_, items, flags)) = first {
            work(rng, items, flags);
            ends.push(Some(rng.get_word_pos()));
        }
        // A worker can only fail by panicking, which is a bug here; pass it on.
        ends.extend(handles.into_iter().map(|h| {
            h.map(|h| match h.join() {
                Ok(end) => end,
                Err(panic) => std::panic::resume_unwind(panic),
            })
        }));
        ends
    });
    let mut expected = origin;
    for ((start, items, flags), &end) in parts.iter_mut().zip(&ends) {
        match end {
            Some(end) if *start == expected => expected = end,
            _ => {
                rng.set_word_pos(expected);
                work(rng, items, flags);
                expected = rng.get_word_pos();
            }
        }
    }
    rng.set_word_pos(expected);
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

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
        // Ids out of range and self loops (whose key may be the empty marker) are absent.
        assert!(!set.contains(0, 8));
        assert!(!set.contains(0, 0) && !set.contains(3, 3));
        let debug = format!("{set:?}");
        assert!(
            debug.starts_with("EdgeSet { num_nodes: 5, len: 2, slots: "),
            "{debug}"
        );
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

    /// A graph of `n` nodes with `m` of its n(n−1)/2 pairs as edges, chosen by a fixed LCG;
    /// dense enough, for `m` near the total, to send the split down its enumeration path.
    fn dense_graph(n: u32, m: usize, salt: u64) -> Vec<(u32, u32)> {
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
    fn reference_graphs() -> Vec<(usize, Vec<(u32, u32)>)> {
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
    fn same<T: PartialEq + std::fmt::Debug>(new: Result<T>, old: Result<T>, what: &str) {
        match (new, old) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
            (a, b) => panic!("{what}: {a:?} but the reference gives {b:?}"),
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

    #[test]
    fn negative_pairs_match_the_reference_and_leave_the_rng_in_step() {
        for (n, edges) in reference_graphs() {
            let set = EdgeSet::from_edges(n, &edges).unwrap();
            let old = reference::EdgeSet::from_edges(n, &edges).unwrap();
            let allowed = n * (n - 1) / 2 - edges.len();
            // Both paths (rejection up to half the allowed pairs, enumeration beyond) on the
            // small graphs; the large ones only sample.
            let counts = if n <= 300 {
                vec![0, 1, allowed / 3, allowed / 2 + 1, allowed]
            } else {
                vec![0, 1, 5000]
            };
            for count in counts {
                let mut rng = StdRng::seed_from_u64(count as u64);
                let mut old_rng = StdRng::seed_from_u64(count as u64);
                assert_eq!(
                    sample_negative_pairs(&set, count, &mut rng).unwrap(),
                    reference::sample_negative_pairs(&old, count, &mut old_rng).unwrap(),
                    "n {n}, count {count}"
                );
                // Same number of draws consumed: the streams continue identically.
                assert_eq!(rng.random::<u64>(), old_rng.random::<u64>());
            }
        }
    }

    #[test]
    fn training_negatives_match_the_reference_across_batches() {
        // Sparse graphs (one draw per negative), a dense one where most draws are edges (so
        // a negative's draws straddle batch boundaries) and a complete one (16 draws each).
        let mut graphs = reference_graphs();
        graphs.push((20, dense_graph(20, 150, 4)));
        graphs.push((6, dense_graph(6, 15, 5)));
        for (n, edges) in graphs {
            let set = EdgeSet::from_edges(n, &edges).unwrap();
            let old = reference::EdgeSet::from_edges(n, &edges).unwrap();
            for count in [0, 1, 2047, 2048, 2049, 10_000] {
                for (seed, epoch) in [(0, 0), (3, 17)] {
                    assert_eq!(
                        sample_training_negatives(&set, count, seed, epoch).unwrap(),
                        reference::sample_training_negatives(&old, count, seed, epoch).unwrap(),
                        "n {n}, {} edges, count {count}, seed {seed}, epoch {epoch}",
                        edges.len()
                    );
                }
            }
        }
    }

    #[test]
    fn std_rng_is_the_seekable_chacha12_stream() {
        // The per-epoch sampler draws from `ChaCha12Rng` so that threads can seek; the
        // stream must stay the one `StdRng` gave before (rand 0.9), or every epoch changes.
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&12345u64.to_le_bytes());
        key[8..12].copy_from_slice(&7u32.to_le_bytes());
        let mut std_rng = StdRng::from_seed(key);
        let mut chacha = ChaCha12Rng::from_seed(key);
        let std_words: Vec<u64> = (0..1000).map(|_| std_rng.random()).collect();
        let words: Vec<u64> = (0..1000).map(|_| chacha.random()).collect();
        assert_eq!(std_words, words);
        // Seeking to a u64 boundary resumes the same stream (word = 32 bits).
        let mut seeker = ChaCha12Rng::from_seed(key);
        seeker.set_word_pos(2 * 537);
        assert_eq!(seeker.random::<u64>(), words[537]);
        assert_eq!(chacha.get_word_pos(), 2000);
    }

    #[test]
    fn training_negatives_do_not_depend_on_the_thread_count() {
        // Sparse graphs, a dense one (rejections, so several rounds and parts that end
        // mid-negative) and a complete one; counts below and above the parallel threshold's
        // part sizes, and one above a round.
        let mut graphs = reference_graphs();
        graphs.push((20, dense_graph(20, 150, 4)));
        graphs.push((6, dense_graph(6, 15, 5)));
        for (n, edges) in &graphs {
            let set = EdgeSet::from_edges(*n, edges).unwrap();
            let old = reference::EdgeSet::from_edges(*n, edges).unwrap();
            for count in [1, 2, 3, 100, 4099] {
                let want = reference::sample_training_negatives(&old, count, 5, 2).unwrap();
                for threads in [1, 2, 3, 7] {
                    assert_eq!(
                        training_negatives_on(&set, count, 5, 2, threads).unwrap(),
                        want,
                        "n {n}, count {count}, {threads} threads"
                    );
                }
            }
        }
        let (n, edges) = &graphs[2];
        let set = EdgeSet::from_edges(*n, edges).unwrap();
        let old = reference::EdgeSet::from_edges(*n, edges).unwrap();
        let count = NEGATIVE_ROUND + 1234;
        let want = reference::sample_training_negatives(&old, count, 1, 0).unwrap();
        assert_eq!(training_negatives_on(&set, count, 1, 0, 3).unwrap(), want);
        assert_eq!(sample_training_negatives(&set, count, 1, 0).unwrap(), want);
    }

    #[test]
    fn parts_after_a_longer_draw_are_drawn_again_from_the_right_place() {
        // Items that take one or two u64 draws (a third of them two), so every part but the
        // first starts off its assumed position and must be redrawn; the result, the flags
        // and the generator's final position must equal one thread's.
        let work = |rng: &mut ChaCha12Rng, items: &mut [u64], flags: &mut [bool]| {
            for (item, flag) in items.iter_mut().zip(flags.iter_mut()) {
                let a: u64 = rng.random();
                *item = if a.is_multiple_of(3) {
                    a ^ rng.random::<u64>()
                } else {
                    a
                };
                *flag = *item % 2 == 0;
            }
        };
        let run = |threads: usize, len: usize| {
            let mut rng = ChaCha12Rng::from_seed([9; 32]);
            let _: u64 = rng.random(); // start off the stream's origin
            let mut items = vec![0u64; len];
            let mut flags = vec![false; len];
            draw_in_parts(&mut rng, &mut items, &mut flags, threads, 2, &work);
            (items, flags, rng.get_word_pos(), rng.random::<u64>())
        };
        for len in [0, 1, 2, 5, 1000] {
            let want = run(1, len);
            for threads in [2, 3, 8] {
                assert_eq!(run(threads, len), want, "len {len}, {threads} threads");
            }
        }
        // And parts that do start where assumed are kept: fixed-size items, many threads.
        let fixed = |rng: &mut ChaCha12Rng, items: &mut [u64], _: &mut [bool]| {
            items.iter_mut().for_each(|x| *x = rng.random());
        };
        let mut a = ChaCha12Rng::from_seed([3; 32]);
        let mut b = a.clone();
        let (mut xa, mut xb) = (vec![0u64; 999], vec![0u64; 999]);
        let mut f = vec![false; 999];
        draw_in_parts(&mut a, &mut xa, &mut f, 1, 2, &fixed);
        draw_in_parts(&mut b, &mut xb, &mut f, 4, 2, &fixed);
        assert_eq!((xa, a.get_word_pos()), (xb, b.get_word_pos()));
    }

    #[test]
    fn contains_many_agrees_with_contains() {
        let edges = sparse_graph(500, 2000);
        let set = EdgeSet::from_edges(500, &edges).unwrap();
        let mut pairs: Vec<(u32, u32)> = edges.iter().map(|&(i, j)| (j, i)).collect();
        pairs.extend((0..3000u32).map(|k| (k % 500, (k * 7 + 1) % 503)));
        pairs.extend([(0, 0), (7, 7), (499, 600)]);
        let mut flags = vec![true; 3];
        set.contains_many(&pairs, &mut flags);
        assert_eq!(flags.len(), pairs.len());
        for (&(i, j), &f) in pairs.iter().zip(&flags) {
            assert_eq!(f, set.contains(i, j), "({i}, {j})");
        }
        assert!(flags[..edges.len()].iter().all(|&f| f));
        assert!(!flags[flags.len() - 3..].iter().any(|&f| f));
    }

    #[test]
    fn pair_table_grows_and_keeps_its_keys() {
        let mut table = PairTable::with_capacity(0).unwrap();
        for k in 1..=10_000u64 {
            assert!(table.insert(k * 0x1_0000_0001).unwrap());
        }
        assert!(!table.insert(0x1_0000_0001).unwrap());
        assert_eq!(table.len, 10_000);
        assert!(table.len * LOAD_DEN <= table.slots.len() * LOAD_NUM);
        assert!((1..=10_000u64).all(|k| table.contains(k * 0x1_0000_0001)));
        assert!(!table.contains(3) && !table.contains(10_001 * 0x1_0000_0001));
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
