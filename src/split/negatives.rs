//! The negative samplers: distinct non-edges for the held-out sets
//! ([`sample_negative_pairs`]) and the per-epoch negatives of the sampled objective
//! ([`sample_training_negatives`], PyG's `negative_sampling`), drawn in parallel from one
//! seekable ChaCha stream so that the result does not depend on the thread count.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

use super::edge_set::{pair_key, EdgeSet, PairTable, TOUCH_BATCH};
use super::try_with_capacity;
use crate::error::{Error, Result};
use crate::parallel::{self, map_parts};

/// Draws per training negative before the last draw is accepted even if it is an edge.
const MAX_DRAWS_PER_NEGATIVE: u32 = 16;

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
/// their candidates on up to [`parallel::threads`] threads, each seeking to its part of
/// the one ChaCha stream, so the result is the same as drawing one pair after another.
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
        parallel::threads()
    };
    training_negatives_on(train_edges, count, seed, epoch, threads)
}

/// Requests below this many negatives are drawn on the calling thread alone.
const PARALLEL_MIN_NEGATIVES: usize = 1 << 18;

/// Candidates drawn, looked up and consumed per round: bounds the edge flags' memory.
const NEGATIVE_ROUND: usize = 1 << 20;

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
    // Where each part's draws ended, each drawn with a clone of `rng` sought to its
    // assumed start (the first part's is where `rng` stands).
    let ends: Vec<u128> = map_parts(
        parts
            .iter_mut()
            .map(|(start, items, flags)| {
                let mut local = rng.clone();
                local.set_word_pos(*start);
                (local, &mut **items, &mut **flags)
            })
            .collect(),
        |(mut local, items, flags)| {
            work(&mut local, items, flags);
            local.get_word_pos()
        },
    );
    let mut expected = origin;
    for ((start, items, flags), &end) in parts.iter_mut().zip(&ends) {
        if *start == expected {
            expected = end;
        } else {
            rng.set_word_pos(expected);
            work(rng, items, flags);
            expected = rng.get_word_pos();
        }
    }
    rng.set_word_pos(expected);
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::StdRng;

    use super::super::fixtures::*;
    use super::super::reference;
    use super::*;

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
}
