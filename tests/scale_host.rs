//! Host-side work at a million nodes: the split, the per-epoch negatives, AUC/AP and the
//! synthetic generator, timed and with their peak resident memory.
//!
//! The `measure_*` tests are ignored by default: they allocate gigabytes' worth of work on
//! a 2-core machine. Run one at a time, so that the peak belongs to one phase:
//!
//! ```text
//! cargo test --release --test scale_host -- --ignored --nocapture --test-threads 1 measure_split
//! ```
//!
//! Sizes can be changed with `SCALE_NODES` and `SCALE_EDGES` (defaults 1 000 000 and
//! 10 000 000).

use std::time::Instant;

use gpu_vgae::internal::memory::{current_rss_bytes, format_mib, peak_rss_bytes, reset_peak_rss};
use gpu_vgae::internal::metrics::link_metrics;
use gpu_vgae::internal::split::{sample_training_negatives, split_edges, EdgeSet};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn scale() -> (usize, usize) {
    (
        env_usize("SCALE_NODES", 1_000_000),
        env_usize("SCALE_EDGES", 10_000_000),
    )
}

/// splitmix64, so the fixtures do not depend on the code under test.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `m` distinct uniformly random undirected edges (i < j) on `n` nodes, sorted.
fn random_edges(n: usize, m: usize, seed: u64) -> Vec<(u32, u32)> {
    let mut state = seed;
    let mut keys: Vec<u64> = Vec::with_capacity(m);
    while keys.len() < m {
        while keys.len() < m {
            let a = splitmix(&mut state) % n as u64;
            let b = splitmix(&mut state) % n as u64;
            if a != b {
                keys.push(a.min(b) << 32 | a.max(b));
            }
        }
        keys.sort_unstable();
        keys.dedup();
    }
    keys.into_iter()
        .map(|k| ((k >> 32) as u32, k as u32))
        .collect()
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| {
        fields
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f` after resetting the peak and prints its time and the peak above the resident
/// set at its start.
fn measure<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let reset = reset_peak_rss();
    let base = current_rss_bytes();
    let cpu = cpu_seconds();
    let start = Instant::now();
    let out = f();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let peak = peak_rss_bytes();
    let extra = match (peak, base) {
        (Some(p), Some(b)) if reset => Some(p.saturating_sub(b)),
        _ => None,
    };
    println!(
        "{what}: {secs:.3} s (CPU {cpu:.2} s), peak RSS {} ({} above the {} at the start{})",
        format_mib(peak),
        format_mib(extra),
        format_mib(base),
        if reset { "" } else { "; peak not reset" }
    );
    out
}

#[test]
#[ignore = "slow: 10M-edge split; run with --ignored"]
fn measure_split() {
    let (n, m) = scale();
    let edges = measure("fixture: random edges", || random_edges(n, m, 1));
    let split = measure(&format!("split_edges, {n} nodes, {m} edges"), || {
        split_edges(n, &edges, 0).unwrap()
    });
    assert_eq!(split.test_pos.len(), m / 10);
}

#[test]
#[ignore = "slow: 20M negatives; run with --ignored"]
fn measure_training_negatives() {
    let (n, m) = scale();
    let count = env_usize("SCALE_NEGATIVES", 2 * m);
    let edges = measure("fixture: random edges", || random_edges(n, m, 1));
    let set = measure("EdgeSet::from_edges", || {
        EdgeSet::from_edges(n, &edges).unwrap()
    });
    for epoch in 0..3 {
        let negs = measure(&format!("sample_training_negatives, {count} pairs"), || {
            sample_training_negatives(&set, count, 7, epoch).unwrap()
        });
        assert_eq!(negs.len(), count);
    }
}

#[test]
#[ignore = "slow: AUC/AP over 3M pairs; run with --ignored"]
fn measure_metrics() {
    let pairs = env_usize("SCALE_PAIRS", 3_000_000);
    let mut state = 5u64;
    // On a 2^-16 grid (ties are frequent) and continuous; positives shifted up.
    for (what, grid) in [("tied", true), ("distinct", false)] {
        let mut score = |shift: f32| {
            let u = splitmix(&mut state);
            let v = if grid {
                (u >> 48) as f32 / 65536.0
            } else {
                (u >> 40) as f32 / (1u64 << 24) as f32
            };
            v + shift
        };
        let pos: Vec<f32> = (0..pairs / 2).map(|_| score(0.2)).collect();
        let neg: Vec<f32> = (0..pairs - pairs / 2).map(|_| score(0.0)).collect();
        let m = measure(
            &format!("link_metrics, {pairs} pairs, {what} scores"),
            || link_metrics(&pos, &neg).unwrap(),
        );
        println!("  auc {} ap {}", m.auc, m.ap);
        assert!(m.auc > 0.5 && m.ap > 0.5);
    }
}

#[test]
#[ignore = "slow: a 1M-node, 10M-edge synthetic graph; run with --ignored"]
fn measure_synthetic() {
    use gpu_vgae::internal::synthetic::{generate, SyntheticSpec};
    let (n, m) = scale();
    let mut spec = SyntheticSpec::default();
    spec.nodes = n;
    spec.mean_degree = 2.0 * m as f64 / n as f64;
    let g = measure(
        &format!(
            "synthetic::generate, {n} nodes, mean degree {}",
            spec.mean_degree
        ),
        || generate(&spec).unwrap(),
    );
    assert_eq!(g.edges.len(), m);
    drop(g);
    spec.features = 0;
    let g = measure("  the same without features", || generate(&spec).unwrap());
    assert_eq!(g.edges.len(), m);
}

#[test]
#[ignore = "slow: writes a 1M x 16 .npy in chunks; run with --ignored"]
fn measure_npy_writer() {
    use gpu_vgae::internal::data::arrays::NpyWriter;
    let (n, _) = scale();
    let cols = 16;
    let dir = std::env::temp_dir().join(format!("scale-host-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("embeddings.npy");
    let chunk_rows = 65_536;
    measure(
        &format!("NpyWriter, {n} x {cols} in chunks of {chunk_rows} rows"),
        || {
            let mut w = NpyWriter::new(&path, n, cols).unwrap();
            let mut chunk = Vec::with_capacity(chunk_rows * cols);
            for start in (0..n).step_by(chunk_rows) {
                chunk.clear();
                let rows = (n - start).min(chunk_rows);
                chunk.extend((0..rows * cols).map(|k| (start * cols + k) as f32));
                w.write_rows(&chunk).unwrap();
            }
            w.finish().unwrap();
        },
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        128 + 4 * (n * cols) as u64
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn public_pipeline_at_small_scale() {
    // The host side end to end through the public API, on a graph big enough for the
    // threaded negative sampler: featureless generation, split, per-epoch negatives,
    // metrics and a streamed .npy.
    use gpu_vgae::internal::data::arrays::NpyWriter;
    use gpu_vgae::internal::synthetic::{generate, SyntheticSpec};

    let mut spec = SyntheticSpec::default();
    spec.nodes = 20_000;
    spec.mean_degree = 30.0;
    spec.features = 0;
    let g = generate(&spec).unwrap();
    assert_eq!(g.edges.len(), 300_000);
    assert!(g.feature_matrix().is_none());

    let split = split_edges(g.num_nodes, &g.edges, 0).unwrap();
    assert_eq!(split.test_pos.len(), 30_000);
    assert_eq!(split.val_neg.len(), 15_000);
    let all = EdgeSet::from_edges(g.num_nodes, &g.edges).unwrap();
    assert!(split.test_neg.iter().all(|&(i, j)| !all.contains(i, j)));

    let train = EdgeSet::from_edges(g.num_nodes, &split.train).unwrap();
    let count = 2 * split.train.len(); // above the threaded sampler's threshold
    let a = sample_training_negatives(&train, count, 3, 1).unwrap();
    assert_eq!(a.len(), count);
    assert!(a.iter().all(|&(i, j)| i != j && !train.contains(i, j)));
    assert_eq!(a, sample_training_negatives(&train, count, 3, 1).unwrap());

    // Scores that rank positives first except for a tie band: AUC and AP are exact here.
    let pos = vec![1.0f32; split.test_pos.len()];
    let neg = vec![0.0f32; split.test_neg.len()];
    let m = link_metrics(&pos, &neg).unwrap();
    assert_eq!((m.auc, m.ap), (1.0, 1.0));

    let dir = std::env::temp_dir().join(format!("scale-host-small-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("z.npy");
    let mut w = NpyWriter::new(&path, g.num_nodes, 4).unwrap();
    for chunk in (0..g.num_nodes * 4)
        .map(|k| k as f32)
        .collect::<Vec<_>>()
        .chunks(4 * 999)
    {
        w.write_rows(chunk).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        128 + 16 * g.num_nodes as u64
    );
    std::fs::remove_dir_all(&dir).unwrap();

    if cfg!(target_os = "linux") {
        assert!(peak_rss_bytes().unwrap() >= current_rss_bytes().unwrap());
    }
}
