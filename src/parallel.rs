//! Host parallelism in one place: how many threads a large host task may use, and one
//! helper that runs a task's parts on scoped threads.
//!
//! Every parallel host task (edge-list parsing, id mapping, the edge sort, the per-epoch
//! negative sampler) splits its input into contiguous parts itself, so its result does
//! not depend on the number of threads or on their timing: the parts are processed
//! independently and their outputs come back in part order. A work-stealing pool (rayon)
//! would bring nothing here but five more crates and a global pool that ignores the cap.

/// The most threads one host task uses, whatever the core count: the tasks are bound by
/// memory bandwidth well before that.
pub const MAX_THREADS: usize = 8;

/// Threads for a host task: the cores available, at most [`MAX_THREADS`] (1 where the
/// count is unknown).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
}

/// Runs `work` on every part, the first on the calling thread and each other one on a
/// scoped thread of its own, and returns the results in part order.
///
/// A part whose thread cannot be started runs on the calling thread instead, so the
/// result is the same either way; a panic in any part is passed on to the caller.
pub fn map_parts<P, R, W>(parts: Vec<P>, work: W) -> Vec<R>
where
    P: Send,
    R: Send,
    W: Fn(P) -> R + Sync,
{
    use std::sync::{Mutex, PoisonError};
    // Each part waits in a slot that its thread takes it from; if the thread cannot be
    // started, the calling thread takes it instead.
    let slots: Vec<Mutex<Option<P>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let take = |slot: &Mutex<Option<P>>| slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let (work, take) = (&work, &take);
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .iter()
            .skip(1)
            .map(|slot| {
                let handle = std::thread::Builder::new()
                    .name("gpu-vgae-host".into())
                    .spawn_scoped(scope, move || take(slot).map(work));
                (slot, handle.ok())
            })
            .collect();
        let mut results = Vec::with_capacity(slots.len());
        results.extend(slots.first().and_then(take).map(work));
        for (slot, handle) in handles {
            let done = match handle.map(|h| h.join()) {
                Some(Ok(result)) => result,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => None,
            };
            // Not started (or, impossibly, started without its part): run it here.
            results.extend(done.or_else(|| take(slot).map(work)));
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_part_order() {
        for parts in [0usize, 1, 2, 7, 20] {
            let input: Vec<Vec<u64>> = (0..parts)
                .map(|p| (0..100).map(|k| (p * 100 + k) as u64).collect())
                .collect();
            let sums = map_parts(input.clone(), |part: Vec<u64>| part.iter().sum::<u64>());
            let expected: Vec<u64> = input.iter().map(|p| p.iter().sum()).collect();
            assert_eq!(sums, expected, "{parts} parts");
        }
    }

    #[test]
    fn parts_may_borrow_mutably() {
        let mut data = vec![1u32; 1000];
        let parts: Vec<&mut [u32]> = data.chunks_mut(128).collect();
        map_parts(parts, |part| part.iter_mut().for_each(|v| *v *= 3));
        assert!(data.iter().all(|&v| v == 3));
    }

    #[test]
    fn a_panicking_part_panics_the_caller() {
        let result = std::panic::catch_unwind(|| {
            map_parts(vec![0, 1, 2], |p: i32| {
                assert!(p != 2, "part 2 fails");
                p
            })
        });
        assert!(result.is_err());
    }

    #[test]
    fn the_cap_holds() {
        assert!((1..=MAX_THREADS).contains(&threads()));
    }
}
