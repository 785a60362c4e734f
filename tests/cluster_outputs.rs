//! `gpu-vgae cluster --dataset citeseer --seed 0 --out D` (the default method, as a user
//! runs it): ACC, NMI, ARI and macro-F1 recomputed from D/clusters.csv and the Planetoid
//! labels by an implementation of their own here (ACC over every one-to-one map of
//! clusters to classes, NMI from entropies, ARI from pair counts), equal to
//! metrics.json's to 1e-6. The crate's metrics are checked against scikit-learn in
//! tests/cluster_metrics.rs and python/tests/test_cluster.py.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::process::Command;

use gpu_vgae::internal::data::load_planetoid;

/// The scores of `clusters` against `labels` over the labelled nodes (label ≥ 0).
fn scores(labels: &[i32], clusters: &[u32]) -> BTreeMap<&'static str, f64> {
    let pairs: Vec<(usize, usize)> = labels
        .iter()
        .zip(clusters)
        .filter(|(&y, _)| y >= 0)
        .map(|(&y, &c)| (c as usize, y as usize))
        .collect();
    let n = pairs.len() as f64;
    let rows = pairs.iter().map(|p| p.0).max().unwrap() + 1;
    let cols = pairs.iter().map(|p| p.1).max().unwrap() + 1;
    let mut table = vec![vec![0f64; cols]; rows];
    for &(c, y) in &pairs {
        table[c][y] += 1.0;
    }
    let row_sums: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..cols)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    // ACC: the best of every injective map of clusters to classes (padded with dummies).
    let size = rows.max(cols);
    let mut perm: Vec<usize> = (0..size).collect();
    let (mut best, mut best_map) = (-1f64, perm.clone());
    permutations(&mut perm, 0, &mut |p| {
        let hits: f64 = (0..rows)
            .filter(|&c| p[c] < cols)
            .map(|c| table[c][p[c]])
            .sum();
        if hits > best {
            best = hits;
            best_map = p.to_vec();
        }
    });
    let acc = best / n;
    // Macro F1 of the mapped clusters over the classes present.
    let mut f1 = 0f64;
    let mut classes = 0;
    for y in 0..cols {
        if col_sums[y] == 0.0 {
            continue;
        }
        classes += 1;
        let predicted: f64 = (0..rows)
            .filter(|&c| best_map[c] == y)
            .map(|c| row_sums[c])
            .sum();
        let hits: f64 = (0..rows)
            .filter(|&c| best_map[c] == y)
            .map(|c| table[c][y])
            .sum();
        if hits > 0.0 {
            let (p, r) = (hits / predicted, hits / col_sums[y]);
            f1 += 2.0 * p * r / (p + r);
        }
    }
    let entropy = |sums: &[f64]| -> f64 {
        sums.iter()
            .filter(|&&s| s > 0.0)
            .map(|&s| -(s / n) * (s / n).ln())
            .sum()
    };
    let mut mutual = 0f64;
    for c in 0..rows {
        for y in 0..cols {
            let v = table[c][y];
            if v > 0.0 {
                mutual += (v / n) * (n * v / (row_sums[c] * col_sums[y])).ln();
            }
        }
    }
    let nmi = mutual / (0.5 * (entropy(&row_sums) + entropy(&col_sums)));
    let pairs_of = |v: f64| v * (v - 1.0) / 2.0;
    let index: f64 = table.iter().flatten().map(|&v| pairs_of(v)).sum();
    let a: f64 = row_sums.iter().map(|&v| pairs_of(v)).sum();
    let b: f64 = col_sums.iter().map(|&v| pairs_of(v)).sum();
    let expected = a * b / pairs_of(n);
    let ari = (index - expected) / (0.5 * (a + b) - expected);
    BTreeMap::from([
        ("acc", acc),
        ("nmi", nmi),
        ("ari", ari),
        ("f1", f1 / classes as f64),
    ])
}

/// Calls `visit` with every permutation of `items[at..]` (Heap's recursion).
fn permutations(items: &mut [usize], at: usize, visit: &mut dyn FnMut(&[usize])) {
    if at + 1 >= items.len() {
        visit(items);
        return;
    }
    for i in at..items.len() {
        items.swap(at, i);
        permutations(items, at + 1, visit);
        items.swap(at, i);
    }
}

#[test]
fn the_independent_scores_are_right_on_a_hand_example() {
    // Classes 0,0,0,1,1,2 (and an unlabelled node); clusters 1,1,0,0,0,2 (and 2).
    // Best map 1→0, 0→1, 2→2: 5 of 6 right.
    let s = scores(&[0, 0, 0, 1, 1, 2, -1], &[1, 1, 0, 0, 0, 2, 2]);
    assert!((s["acc"] - 5.0 / 6.0).abs() < 1e-12, "{s:?}");
    // F1: class 0 (p 1, r 2/3) 0.8; class 1 (p 2/3, r 1) 0.8; class 2: 1.
    assert!((s["f1"] - (0.8 + 0.8 + 1.0) / 3.0).abs() < 1e-12, "{s:?}");
    // ARI from the pair counts: index 1 + 1 = 2, a = 1 + 3 = 4, b = 3 + 1 = 4, C(6,2) = 15.
    let expected = 16.0 / 15.0;
    assert!(
        (s["ari"] - (2.0 - expected) / (4.0 - expected)).abs() < 1e-12,
        "{s:?}"
    );
    assert!(s["nmi"] > 0.0 && s["nmi"] < 1.0);
    let same = scores(&[0, 0, 1, 1, 2], &[2, 2, 0, 0, 1]);
    for v in same.values() {
        assert!((v - 1.0).abs() < 1e-12, "{same:?}");
    }
}

gpu_test! {
    fn cluster_citeseer_csv_reproduces_metrics_json() {
        common::gpu();
        let out = std::env::temp_dir()
            .join(format!("gpu-vgae-cluster-outputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(env!("CARGO_BIN_EXE_gpu-vgae"))
            .args(["cluster", "--dataset", "citeseer", "--seed", "0", "--quiet", "--out"])
            .arg(&out)
            .arg("--data-dir")
            .arg(common::planetoid_dir())
            .env_remove("GPU_VGAE_DATA_DIR")
            .output()
            .expect("the binary runs");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        let graph = load_planetoid(&common::planetoid_dir(), "citeseer").unwrap();
        let labels = graph.labels.clone().unwrap();
        let csv = std::fs::read_to_string(out.join("clusters.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("node,cluster"));
        let mut clusters = vec![u32::MAX; labels.len()];
        for line in lines {
            let (node, cluster) = line.split_once(',').unwrap();
            clusters[node.parse::<usize>().unwrap()] = cluster.parse().unwrap();
        }
        assert!(clusters.iter().all(|&c| c != u32::MAX), "every node has a cluster");
        let reported = &metrics["clustering"]["all_labelled"];
        assert_eq!(reported["labelled"].as_u64(), Some(3312));
        for (name, value) in scores(&labels, &clusters) {
            let stored = reported[name].as_f64().unwrap();
            assert!((stored - value).abs() <= 1e-6, "{name}: metrics.json {stored}, recomputed {value}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
