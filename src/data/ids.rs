//! Node ids: the integer id chunks the edge-list parser produces and their mapping to
//! node indices (checked against a node count, or compacted in increasing order), the
//! merging of string ids numbered in order of first appearance, the index that side
//! files (labels, keyed features, pairs) resolve ids through, and the hash tables all of
//! them use.

use std::borrow::Cow;
use std::path::Path;

use super::text::{self, Field};
use super::{format_error, line_error, NodeIds};
use crate::error::Result;
use crate::parallel::map_parts;

/// FxHash (fast, word at a time) with a splitmix64 finish, so that the low bits hash
/// tables index by depend on every input bit. Plain FxHash does not mix high input bits
/// down: the 65536 keys `n0` … `n65535` get only 2281 distinct low-16-bit values, and ids
/// `k << 20` a single one, so a table of such keys degenerates into long probe chains.
#[derive(Default)]
pub(crate) struct MixHasher(rustc_hash::FxHasher);

impl std::hash::Hasher for MixHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.0.write_u32(n);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0.write_u64(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0.write_usize(n);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0.finish();
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A hash map with [`MixHasher`].
pub(crate) type FastMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<MixHasher>>;

/// A hash set with [`MixHasher`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<MixHasher>>;

/// Where an id was read, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    /// 1-based line of a text file.
    Line(usize),
    /// 0-based edge of a `.npy` array.
    Edge(usize),
}

/// One chunk's integer id pairs, with its smallest and largest id and where each first
/// occurs.
pub(super) struct IntChunk {
    pub(super) pairs: IntPairs,
    pub(super) lo: Option<(i64, Place)>,
    pub(super) hi: Option<(i64, Place)>,
}

/// Ids that fit `u32` (the usual case, 8 bytes a pair), or any `i64`.
pub(super) enum IntPairs {
    Narrow(Vec<(u32, u32)>),
    Wide(Vec<(i64, i64)>),
}

/// Builds an [`IntChunk`] one pair at a time, with a branch-light path for ids in
/// `0..2^32`.
pub(super) struct IntChunkBuilder {
    narrow: Vec<(u32, u32)>,
    wide: Option<Vec<(i64, i64)>>,
    lo: (i64, Place),
    hi: (i64, Place),
}

impl IntChunkBuilder {
    pub(super) fn new(capacity: usize) -> IntChunkBuilder {
        IntChunkBuilder {
            narrow: Vec::with_capacity(capacity),
            wide: None,
            lo: (i64::MAX, Place::Line(0)),
            hi: (i64::MIN, Place::Line(0)),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, a: i64, b: i64, place: Place) {
        let (small, large) = if a <= b { (a, b) } else { (b, a) };
        if small < self.lo.0 {
            self.lo = (small, place);
        }
        if large > self.hi.0 {
            self.hi = (large, place);
        }
        if self.wide.is_none() && small >= 0 && large <= i64::from(u32::MAX) {
            self.narrow.push((a as u32, b as u32));
        } else {
            self.push_wide(a, b);
        }
    }

    #[cold]
    fn push_wide(&mut self, a: i64, b: i64) {
        let narrow = &self.narrow;
        self.wide
            .get_or_insert_with(|| {
                narrow
                    .iter()
                    .map(|&(x, y)| (i64::from(x), i64::from(y)))
                    .collect()
            })
            .push((a, b));
    }

    pub(super) fn finish(self) -> IntChunk {
        let empty = self.narrow.is_empty() && self.wide.is_none();
        IntChunk {
            pairs: match self.wide {
                Some(wide) => IntPairs::Wide(wide),
                None => IntPairs::Narrow(self.narrow),
            },
            lo: (!empty).then_some(self.lo),
            hi: (!empty).then_some(self.hi),
        }
    }
}

impl IntChunk {
    pub(super) fn len(&self) -> usize {
        match &self.pairs {
            IntPairs::Narrow(p) => p.len(),
            IntPairs::Wide(p) => p.len(),
        }
    }
}

/// String ids of one chunk, numbered in the chunk's order of first appearance.
///
/// Names are borrowed from the file; only a name that unquoting changed (one with
/// doubled quotes, which is rare) is owned, in a table of its own, so the common case
/// keeps 16-byte keys.
#[derive(Default)]
pub(super) struct StringChunk<'t> {
    pub(super) pairs: Vec<(u32, u32)>,
    /// Every name by number, borrowed; empty for a name in `escaped` (a real name is
    /// never empty).
    names: Vec<&'t [u8]>,
    map: FastMap<&'t [u8], u32>,
    escaped: FastMap<Vec<u8>, u32>,
}

impl<'t> StringChunk<'t> {
    /// A chunk expecting about `pairs` pairs.
    pub(super) fn with_capacity(pairs: usize) -> StringChunk<'t> {
        StringChunk {
            pairs: Vec::with_capacity(pairs),
            ..StringChunk::default()
        }
    }

    /// The number of `name`, numbering it next if it is new; `None` past 2^32 names.
    #[inline]
    pub(super) fn intern(&mut self, name: Field<'t>) -> Option<u32> {
        let known = match self.map.get(&*name) {
            Some(&k) => Some(k),
            None if self.escaped.is_empty() => None,
            None => self.escaped.get(&*name).copied(),
        };
        if known.is_some() {
            return known;
        }
        let k = u32::try_from(self.names.len()).ok()?;
        match name {
            Cow::Borrowed(name) => {
                self.names.push(name);
                self.map.insert(name, k);
            }
            Cow::Owned(name) => {
                self.names.push(&[]);
                self.escaped.insert(name, k);
            }
        }
        Some(k)
    }

    /// Every name in number order.
    fn into_names(self) -> impl Iterator<Item = Field<'t>> {
        let mut escaped: Vec<(u32, Vec<u8>)> = self
            .escaped
            .into_iter()
            .map(|(name, k)| (k, name))
            .collect();
        escaped.sort_unstable_by_key(|&(k, _)| k);
        let mut escaped = escaped.into_iter().map(|(_, name)| name);
        self.names.into_iter().map(move |name| {
            if name.is_empty() {
                Cow::Owned(escaped.next().unwrap_or_default())
            } else {
                Cow::Borrowed(name)
            }
        })
    }
}

/// Numbers the chunks' string ids globally in order of first appearance: chunk 0's in
/// its order, then each later chunk's new ones in its order.
pub(super) fn merge_strings(chunks: Vec<StringChunk>, path: &Path) -> Result<(Parts, NodeIds)> {
    let mut chunks = chunks.into_iter();
    let Some(mut all) = chunks.next() else {
        return Err(format_error(path, "no edges".into()));
    };
    let mut parts = vec![std::mem::take(&mut all.pairs)];
    let too_many = || format_error(path, "more than 2^32 distinct node ids".into());
    for mut chunk in chunks {
        let mut pairs = std::mem::take(&mut chunk.pairs);
        let translate: Vec<u32> = chunk
            .into_names()
            .map(|name| all.intern(name).ok_or_else(too_many))
            .collect::<Result<_>>()?;
        for p in &mut pairs {
            *p = (translate[p.0 as usize], translate[p.1 as usize]);
        }
        parts.push(pairs);
    }
    // The text was checked to be UTF-8, so nothing is lost here.
    let names = all
        .into_names()
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .collect();
    Ok((parts, NodeIds::Strings(names)))
}

/// Id pairs chunk by chunk, as node indices.
pub(super) type Parts = Vec<Vec<(u32, u32)>>;

/// Checks that every id lies in `0..n` (reporting the first chunk's offending id that
/// comes first) and returns the pairs.
pub(super) fn check_range(
    chunks: Vec<IntChunk>,
    n: usize,
    origin: &str,
    path: &Path,
) -> Result<Parts> {
    let mut parts = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let low = chunk.lo.filter(|&(v, _)| v < 0);
        let high = chunk.hi.filter(|&(v, _)| v >= n as i64);
        let worst = match (low, high) {
            (Some(l), Some(h)) => Some(if l.1 <= h.1 { l } else { h }),
            (l, h) => l.or(h),
        };
        if let Some((id, place)) = worst {
            let message =
                format!("node id {id} is out of range: {origin}, so ids must be below {n}");
            return Err(match place {
                Place::Line(line) => line_error(path, line, message),
                Place::Edge(e) => format_error(path, format!("edge {e}: {message}")),
            });
        }
        match chunk.pairs {
            IntPairs::Narrow(pairs) => parts.push(pairs),
            // Unreachable after the check above, but never panic on input.
            IntPairs::Wide(_) => {
                return Err(format_error(path, "node ids outside 0..2^32".into()));
            }
        }
    }
    Ok(parts)
}

/// Maps integer ids to `0..n` in increasing order; returns the sorted distinct ids and
/// the remapped pairs.
///
/// Ids that fit `u32` and are not much sparser than the edges (largest id below twice
/// the id count plus 2^20) use a rank table indexed by id; others a sort and a hash map.
pub(super) fn map_integer_ids(chunks: Vec<IntChunk>, path: &Path) -> Result<(Vec<i64>, Parts)> {
    let total: usize = chunks.iter().map(|c| 2 * c.len()).sum();
    let narrow = chunks
        .iter()
        .all(|c| matches!(c.pairs, IntPairs::Narrow(_)));
    let mut parts: Vec<Vec<(u32, u32)>> = Vec::with_capacity(chunks.len());
    let too_many = || format_error(path, "more than 2^32 distinct node ids".into());
    if narrow {
        let max = chunks
            .iter()
            .filter_map(|c| c.hi)
            .map(|(v, _)| v as usize)
            .max()
            .unwrap_or(0);
        parts.extend(chunks.into_iter().map(|c| match c.pairs {
            IntPairs::Narrow(p) => p,
            IntPairs::Wide(_) => Vec::new(),
        }));
        if max < total + (1 << 20) {
            // Bitmap of the ids present (each chunk marks its own, in parallel), then
            // the rank of an id is the number of set bits below it.
            let words = max / 64 + 1;
            let maps: Vec<Vec<u64>> = map_parts(parts.iter().collect(), |part| {
                let mut bits = vec![0u64; words];
                for &(a, b) in part {
                    bits[a as usize >> 6] |= 1 << (a & 63);
                    bits[b as usize >> 6] |= 1 << (b & 63);
                }
                bits
            });
            let mut maps = maps.into_iter();
            let mut bits = maps.next().unwrap_or_else(|| vec![0; words]);
            for other in maps {
                for (w, o) in bits.iter_mut().zip(other) {
                    *w |= o;
                }
            }
            let mut before = Vec::with_capacity(words);
            let mut ids = Vec::new();
            for (k, &word) in bits.iter().enumerate() {
                before.push(u32::try_from(ids.len()).map_err(|_| too_many())?);
                let mut w = word;
                while w != 0 {
                    ids.push((k * 64) as i64 + i64::from(w.trailing_zeros()));
                    w &= w - 1;
                }
            }
            if ids.len() > u32::MAX as usize {
                return Err(too_many());
            }
            let (bits, before) = (&bits, &before);
            let rank = move |id: u32| -> u32 {
                let (word, bit) = (id as usize >> 6, id & 63);
                before[word] + (bits[word] & ((1u64 << bit) - 1)).count_ones()
            };
            map_parts(parts.iter_mut().collect(), |part| {
                for p in part.iter_mut() {
                    *p = (rank(p.0), rank(p.1));
                }
            });
            return Ok((ids, parts));
        }
        let mut distinct: FastSet<u32> = FastSet::default();
        for part in &parts {
            for &(a, b) in part {
                distinct.insert(a);
                distinct.insert(b);
            }
        }
        let mut sorted: Vec<u32> = distinct.into_iter().collect();
        sorted.sort_unstable();
        let rank: FastMap<u32, u32> = sorted
            .iter()
            .enumerate()
            .map(|(k, &id)| (id, k as u32))
            .collect();
        if sorted.len() > u32::MAX as usize {
            return Err(too_many());
        }
        for part in &mut parts {
            for p in part.iter_mut() {
                *p = (rank[&p.0], rank[&p.1]);
            }
        }
        return Ok((sorted.into_iter().map(i64::from).collect(), parts));
    }
    let wide = |c: &IntChunk| -> Vec<(i64, i64)> {
        match &c.pairs {
            IntPairs::Narrow(p) => p
                .iter()
                .map(|&(a, b)| (i64::from(a), i64::from(b)))
                .collect(),
            IntPairs::Wide(p) => p.clone(),
        }
    };
    let mut distinct: FastSet<i64> = FastSet::default();
    let chunks: Vec<Vec<(i64, i64)>> = chunks.iter().map(wide).collect();
    for c in &chunks {
        for &(a, b) in c {
            distinct.insert(a);
            distinct.insert(b);
        }
    }
    let mut sorted: Vec<i64> = distinct.into_iter().collect();
    sorted.sort_unstable();
    if sorted.len() > u32::MAX as usize {
        return Err(too_many());
    }
    let rank: FastMap<i64, u32> = sorted
        .iter()
        .enumerate()
        .map(|(k, &id)| (id, k as u32))
        .collect();
    for c in chunks {
        parts.push(c.iter().map(|(a, b)| (rank[a], rank[b])).collect());
    }
    Ok((sorted, parts))
}

/// Resolves node ids as a side file writes them (labels, keyed features) to node
/// indices, with the mapping the edge-list reader used: integers `0..N` when node `i` is
/// id `i`, integer ids compared as numbers, string ids exactly.
pub(crate) struct IdIndex<'g> {
    pub(crate) num_nodes: usize,
    ids: Option<&'g NodeIds>,
    strings: FastMap<&'g [u8], u32>,
}

impl<'g> IdIndex<'g> {
    pub(crate) fn new(num_nodes: usize, ids: Option<&'g NodeIds>) -> IdIndex<'g> {
        let strings = match ids {
            Some(NodeIds::Strings(names)) => names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_bytes(), i as u32))
                .collect(),
            _ => FastMap::default(),
        };
        IdIndex {
            num_nodes,
            ids,
            strings,
        }
    }

    /// The node written as `field`, if the graph has it.
    pub(crate) fn find(&self, field: &[u8]) -> Option<u32> {
        match self.ids {
            None => {
                let id = text::parse_i64(field)?;
                (0..self.num_nodes as i64)
                    .contains(&id)
                    .then_some(id as u32)
            }
            Some(NodeIds::Integers(ids)) => {
                let id = text::parse_i64(field)?;
                ids.binary_search(&id).ok().map(|k| k as u32)
            }
            Some(NodeIds::Strings(_)) => self.strings.get(field).copied(),
        }
    }

    /// The id of node `node` as the files write it.
    pub(crate) fn name(&self, node: usize) -> String {
        match self.ids.and_then(|ids| ids.get(node)) {
            Some(id) => id.into_owned(),
            None => node.to_string(),
        }
    }

    /// What ids look like, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self.ids {
            None => format!("integers 0..{}", self.num_nodes),
            Some(NodeIds::Integers(_)) => "the edge list's integer ids".into(),
            Some(NodeIds::Strings(_)) => "the edge list's string ids".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The low 16 bits of the hash spread like random ones (about 63% of 65536 buckets
    /// hit by 65536 keys) for keys that differ only in high bits.
    #[test]
    fn mixed_hash_spreads_low_bits() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<MixHasher>::default();
        let spread = |hashes: Vec<u64>| -> usize {
            let mut buckets: Vec<u64> = hashes.iter().map(|h| h & 0xffff).collect();
            buckets.sort_unstable();
            buckets.dedup();
            buckets.len()
        };
        let names: Vec<u64> = (0..65536)
            .map(|i| build.hash_one(format!("n{i}").as_bytes()))
            .collect();
        let shifted: Vec<u64> = (0..65536u64).map(|i| build.hash_one(i << 20)).collect();
        for (what, hashes) in [("names", names), ("shifted ids", shifted)] {
            let hit = spread(hashes);
            assert!(hit > 38_000, "{what}: {hit} buckets");
        }
    }

    #[test]
    fn sparse_and_wide_ids_map_in_increasing_order() {
        let ids: [i64; 5] = [-5, 0, 3_000_000_000, 1 << 40, 17];
        let mut wide = IntChunkBuilder::new(0);
        wide.push(ids[0], ids[1], Place::Line(1));
        wide.push(ids[2], ids[3], Place::Line(2));
        let mut narrow = IntChunkBuilder::new(0);
        narrow.push(ids[4], 0, Place::Line(3));
        let chunks = vec![wide.finish(), narrow.finish()];
        let (sorted, parts) = map_integer_ids(chunks, Path::new("t")).unwrap();
        assert_eq!(sorted, vec![-5, 0, 17, 3_000_000_000, 1 << 40]);
        assert_eq!(parts, vec![vec![(0, 1), (3, 4)], vec![(2, 1)]]);

        // u32 ids too sparse for the rank table.
        let mut sparse = IntChunkBuilder::new(0);
        sparse.push(4_000_000_000, 7, Place::Line(1));
        sparse.push(7, 2_000_000_000, Place::Line(2));
        let (sorted, parts) = map_integer_ids(vec![sparse.finish()], Path::new("t")).unwrap();
        assert_eq!(sorted, vec![7, 2_000_000_000, 4_000_000_000]);
        assert_eq!(parts, vec![vec![(2, 0), (0, 1)]]);
    }
}
