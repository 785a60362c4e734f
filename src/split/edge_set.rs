//! [`EdgeSet`]: the set of a graph's undirected node pairs that the negative samplers
//! and the split consult, an open-addressing hash table of packed pair keys.

use crate::error::{Error, Result};

use super::MAX_NODES;

/// A set of undirected node pairs of a graph with `num_nodes` nodes: `(i, j)` and `(j, i)`
/// are the same member. Built once and queried many times by the negative samplers.
///
/// An open-addressing hash table of `u64` pair keys with linear probing, about 13 bytes per
/// pair, where a lookup is one cache miss (std's `HashSet` keeps control bytes and keys apart,
/// so two, at 16+ bytes per pair).
#[derive(Clone)]
pub struct EdgeSet {
    pub(super) num_nodes: usize,
    pub(super) table: PairTable,
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

    pub(super) fn with_capacity(num_nodes: usize, capacity: usize) -> Result<Self> {
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

    pub(super) fn check_pair(&self, i: u32, j: u32) -> Result<()> {
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
    pub(super) fn flag_members(&self, pairs: &[(u32, u32)], flags: &mut [bool]) {
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
    /// The slots of a table for `capacity` keys (`None` past `usize`).
    fn slots_for(capacity: usize) -> Option<usize> {
        capacity
            .checked_mul(LOAD_DEN)
            .map(|s| (s / LOAD_NUM).max(8) + 1)
    }

    /// Bytes of a table made for `capacity` keys (about 12.8 per key), for memory
    /// estimates.
    pub(crate) fn bytes_for(capacity: usize) -> u64 {
        Self::slots_for(capacity).map_or(u64::MAX, |slots| slots as u64 * 8)
    }

    /// A table that holds `capacity` keys without growing.
    pub(crate) fn with_capacity(capacity: usize) -> Result<Self> {
        let slots = Self::slots_for(capacity).ok_or_else(|| too_many_pairs(capacity))?;
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
    crate::memory::allocation_failed(
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

/// Candidates whose table slots are loaded together before they are looked up.
pub(crate) const TOUCH_BATCH: usize = 64;

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn estimated_bytes_are_the_tables_own() {
        for capacity in [0, 1, 5, 8, 1000, 123_457] {
            let table = PairTable::with_capacity(capacity).unwrap();
            assert_eq!(
                PairTable::bytes_for(capacity),
                8 * table.slots.len() as u64,
                "{capacity}"
            );
        }
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
}
