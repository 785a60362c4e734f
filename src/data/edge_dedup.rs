//! Edge normalisation: every reader's pairs become undirected edges `(i, j)`, `i < j`,
//! sorted and unique, with self loops dropped, and what was removed counted in
//! [`EdgeStats`]. A parallel radix sort of packed 64-bit keys does it in place.

use super::EdgeStats;
use crate::parallel::{self, map_parts};

/// Whether `pairs` are already what [`normalise`] makes of them: every pair `(i, j)` with
/// `i < j`, in strictly increasing order (so sorted and unique). One pass, no memory.
pub(super) fn is_normalised(pairs: &[(u32, u32)]) -> bool {
    pairs.iter().all(|&(i, j)| i < j) && pairs.windows(2).all(|w| w[0] < w[1])
}

/// Orients (`i < j`), sorts and deduplicates pairs, counting what it drops; ids must be
/// below `num_nodes`.
///
/// With at most 2^31 nodes (ids of `b` bits) every pair `(a, c)` becomes one key of
/// `2b + 1` bits, `min << (b + 1) | max << 1 | (a > c)`, stored in place of the pair
/// (high and low 32 bits), self loops dropped. An LSD radix sort orders the keys; a
/// group of equal `(min, max)` then yields one edge, its distinct directions minus one
/// reverse pairs and the rest duplicates, written back in place.
pub(super) fn normalise(
    num_nodes: usize,
    mut pairs: Vec<(u32, u32)>,
) -> (Vec<(u32, u32)>, EdgeStats) {
    let input_pairs = pairs.len();
    if num_nodes > 1 << 31 {
        return normalise_wide(&[&pairs]);
    }
    let bits = (usize::BITS - (num_nodes.max(2) - 1).leading_zeros()).min(31);
    let to_tuple = |key: u64| ((key >> 32) as u32, key as u32);
    let mut kept = 0;
    for k in 0..pairs.len() {
        let (a, c) = pairs[k];
        if a != c {
            let (lo, hi) = (u64::from(a.min(c)), u64::from(a.max(c)));
            pairs[kept] = to_tuple(lo << (bits + 1) | hi << 1 | u64::from(a > c));
            kept += 1;
        }
    }
    pairs.truncate(kept);
    let self_loops = input_pairs - kept;
    radix_sort(&mut pairs, 2 * bits + 1);

    let (mut duplicates, mut reverse_pairs) = (0usize, 0usize);
    let mut written = 0;
    let mut k = 0;
    while k < pairs.len() {
        let key = |t: (u32, u32)| u64::from(t.0) << 32 | u64::from(t.1);
        let pair = key(pairs[k]) >> 1;
        let mut seen = 0u8;
        let mut count = 0;
        while k < pairs.len() && key(pairs[k]) >> 1 == pair {
            seen |= 1 << (pairs[k].1 & 1);
            count += 1;
            k += 1;
        }
        let directions = seen.count_ones() as usize;
        duplicates += count - directions;
        reverse_pairs += directions - 1;
        pairs[written] = ((pair >> bits) as u32, (pair & ((1 << bits) - 1)) as u32);
        written += 1;
    }
    pairs.truncate(written);
    pairs.shrink_to_fit();
    let stats = EdgeStats {
        input_pairs,
        self_loops,
        duplicates,
        reverse_pairs,
    };
    (pairs, stats)
}

/// Sorts pairs as 64-bit keys `high << 32 | low` of `key_bits` significant bits: LSD
/// radix, at most 11 bits a pass, passes whose digit is the same for every key skipped.
/// From 2^20 pairs on, each pass runs on one thread per core: every thread counts the
/// digits of its contiguous part, then scatters it into its own sub-range of every
/// bucket (disjoint slices, so no locking). Small inputs use `sort_unstable`.
fn radix_sort(pairs: &mut Vec<(u32, u32)>, key_bits: u32) {
    let len = pairs.len();
    if len < 1 << 12 {
        pairs.sort_unstable();
        return;
    }
    let threads = if len >= 1 << 20 {
        parallel::threads()
    } else {
        1
    };
    let key = |t: &(u32, u32)| u64::from(t.0) << 32 | u64::from(t.1);
    let passes = key_bits.div_ceil(11).max(1);
    let width = key_bits.div_ceil(passes);
    let buckets = 1usize << width;
    let mut scratch: Vec<(u32, u32)> = vec![(0, 0); len];
    let mut in_scratch = false;
    for p in 0..passes {
        let shift = p * width;
        let digit = move |t: &(u32, u32)| ((key(t) >> shift) as usize) & (buckets - 1);
        let (src, dst) = if in_scratch {
            (scratch.as_slice(), pairs.as_mut_slice())
        } else {
            (pairs.as_slice(), scratch.as_mut_slice())
        };
        let parts: Vec<&[(u32, u32)]> = src.chunks(len.div_ceil(threads)).collect();
        let counts: Vec<Vec<usize>> = map_parts(parts.clone(), |part| {
            let mut count = vec![0usize; buckets];
            for t in part {
                count[digit(t)] += 1;
            }
            count
        });
        if (0..buckets).any(|b| counts.iter().map(|c| c[b]).sum::<usize>() == len) {
            continue;
        }
        // Bucket by bucket, thread by thread: each thread's slice of each bucket.
        let mut slices: Vec<Vec<&mut [(u32, u32)]>> = (0..parts.len())
            .map(|_| Vec::with_capacity(buckets))
            .collect();
        let mut rest = dst;
        for b in 0..buckets {
            for (t, count) in counts.iter().enumerate() {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(count[b]);
                slices[t].push(head);
                rest = tail;
            }
        }
        map_parts(
            parts.into_iter().zip(slices).collect(),
            |(part, mut mine)| {
                let mut cursor = vec![0usize; buckets];
                for t in part {
                    let d = digit(t);
                    mine[d][cursor[d]] = *t;
                    cursor[d] += 1;
                }
            },
        );
        in_scratch = !in_scratch;
    }
    if in_scratch {
        *pairs = scratch;
    }
}

/// [`normalise`] for ids that do not fit the packed key (more than 2^31 nodes), and its
/// plain reference in tests.
fn normalise_wide(parts: &[&[(u32, u32)]]) -> (Vec<(u32, u32)>, EdgeStats) {
    let input_pairs: usize = parts.iter().map(|p| p.len()).sum();
    let mut ordered: Vec<(u32, u32)> = parts
        .iter()
        .flat_map(|p| p.iter().copied())
        .filter(|(a, b)| a != b)
        .collect();
    let self_loops = input_pairs - ordered.len();
    ordered.sort_unstable();
    ordered.dedup();
    let duplicates = input_pairs - self_loops - ordered.len();
    let mut edges: Vec<(u32, u32)> = ordered.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
    edges.sort_unstable();
    edges.dedup();
    let stats = EdgeStats {
        input_pairs,
        self_loops,
        duplicates,
        reverse_pairs: ordered.len() - edges.len(),
    };
    (edges, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed, radix-sorted normalisation against the plain tuple version, on random
    /// pairs with many duplicates, reverses and loops, below and above the radix
    /// threshold and for node counts that are and are not powers of two.
    #[test]
    fn packed_normalisation_matches_the_plain_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (n, pairs) in [
            (2u32, 10usize),
            (5, 50),
            (300, 20_000),
            (1024, 50_000),
            (2000, 300_000),
            (70_000, 100_000),
        ] {
            let pairs: Vec<(u32, u32)> = (0..pairs)
                .map(|_| (rng.random_range(0..n), rng.random_range(0..n)))
                .collect();
            let packed = normalise(n as usize, pairs.clone());
            let plain = normalise_wide(&[&pairs]);
            assert_eq!(packed, plain, "n = {n}");
            let s = packed.1;
            assert_eq!(
                s.input_pairs,
                s.self_loops + s.duplicates + s.reverse_pairs + packed.0.len()
            );
        }
        // Ids at the top of the packed range.
        let top = (1u32 << 31) - 1;
        let mut pairs = vec![(top, 0), (0, top), (top, top - 1), (top, top - 1), (5, 5)];
        pairs.extend((0..5000).map(|k| (top - k, k)));
        assert_eq!(normalise(1 << 31, pairs.clone()), normalise_wide(&[&pairs]));
    }

    /// Exactly the lists that normalisation leaves unchanged with nothing removed.
    #[test]
    fn normalised_lists_are_recognised() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for len in [0usize, 1, 2, 5, 40] {
            for _ in 0..200 {
                let pairs: Vec<(u32, u32)> = (0..len)
                    .map(|_| (rng.random_range(0..6), rng.random_range(0..6)))
                    .collect();
                let (edges, stats) = normalise(6, pairs.clone());
                let unchanged = edges == pairs && stats.input_pairs == edges.len();
                assert_eq!(is_normalised(&pairs), unchanged, "{pairs:?}");
            }
        }
        assert!(is_normalised(&[(0, 1), (0, 2), (1, 2)]));
        assert!(!is_normalised(&[(0, 2), (0, 1)]));
        assert!(!is_normalised(&[(0, 1), (0, 1)]));
        assert!(!is_normalised(&[(1, 0)]));
        assert!(!is_normalised(&[(3, 3)]));
    }

    #[test]
    fn radix_sort_sorts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for (bits, len) in [
            (1u32, 20_000),
            (7, 20_000),
            (12, 20_000),
            (33, 20_000),
            (41, 1 << 20),
            (63, 20_000),
        ] {
            let mut v: Vec<(u32, u32)> = (0..len)
                .map(|_| {
                    let k: u64 = rng.random::<u64>() >> (64 - bits);
                    ((k >> 32) as u32, k as u32)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_unstable();
            radix_sort(&mut v, bits);
            assert_eq!(v, expected, "{bits} bits");
        }
    }
}
