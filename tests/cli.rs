//! The `gpu-vgae` binary as a new user meets it: result files that numpy can read, and
//! bad input of every kind answered with a message naming the file and the problem, a
//! non-zero exit and no panic.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gpu_vgae(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_gpu-vgae"))
        .args(args)
        .env_remove("GPU_VGAE_DATA_DIR")
        .output()
        .expect("the binary runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gpu-vgae-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fails with exit code 1, says `error:` and every `needle`, and does not panic.
fn assert_fails(o: &Outcome, needles: &[&str]) {
    assert_eq!(o.code, 1, "exit code; stderr: {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "panic: {}", o.stderr);
    assert!(
        o.stderr.lines().any(|l| l.starts_with("error: ")),
        "stderr: {}",
        o.stderr
    );
    for needle in needles {
        assert!(
            o.stderr.contains(needle),
            "stderr lacks `{needle}`: {}",
            o.stderr
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// A float64 .npy matrix.
fn npy_f64(rows: usize, cols: usize, values: &[f64]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let pad = (10 + header.len() + 1).next_multiple_of(64) - (10 + header.len() + 1);
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    bytes
}

gpu_test! {
fn out_files_are_complete_and_readable() {
    common::gpu();
    let dir = scratch("out");
    let out = dir.join("results");
    let o = gpu_vgae(&[
        "run",
        "--synthetic-nodes",
        "150",
        "--epochs",
        "5",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    assert!(o.stdout.contains("test  AUC"), "stdout: {}", o.stdout);
    // embeddings.npy: float32, C order, 150 × 16, header padded to 64 bytes.
    let bytes = std::fs::read(out.join("embeddings.npy")).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'")
            && header.contains("'fortran_order': False")
            && header.contains("'shape': (150, 16)"),
        "{header}"
    );
    assert_eq!((10 + header_len) % 64, 0);
    let values: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), 150 * 16);
    assert!(values.iter().all(|v| v.is_finite()) && values.iter().any(|&v| v != 0.0));
    // metrics.json parses, names num_nodes once, has the best epoch; model.gvae loads;
    // no temporary file is left.
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    assert_eq!(text.matches("\"num_nodes\"").count(), 1, "{text}");
    let metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(metrics["test"]["auc"].as_f64().unwrap() > 0.0);
    assert_eq!(metrics["num_nodes"], 150);
    assert_eq!(metrics["best_epoch"], 5);
    let model = gpu_vgae::internal::saved::SavedModel::load(&out.join("model.gvae")).unwrap();
    model.weights.validate().unwrap();
    assert_eq!(model.header.training_graph.num_nodes, 150);
    assert_eq!(model.header.metrics.epochs_run, 5);
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "leftover temporary file {name}");
    }
    // `embed` with the saved model on the same graph gives the run's embeddings, bit for
    // bit (both run the encoder over every edge with the same weights).
    let again = dir.join("again");
    let o = gpu_vgae(&[
        "embed",
        "--model",
        out.join("model.gvae").to_str().unwrap(),
        "--edges",
        &synthetic_edge_list(&dir, 150),
        "--features",
        &synthetic_features(&dir, 150),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    assert_eq!(
        std::fs::read(again.join("embeddings.npy")).unwrap(),
        std::fs::read(out.join("embeddings.npy")).unwrap()
    );
    // --json prints one JSON document on stdout.
    let o = gpu_vgae(&["run", "--synthetic-nodes", "100", "--epochs", "2", "--json"]);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["options"]["epochs"], 2);
}
}

/// The embedded synthetic graph of `nodes` nodes (seed 0) as an edge list file.
fn synthetic_edge_list(dir: &Path, nodes: usize) -> String {
    let mut spec = gpu_vgae::internal::synthetic::SyntheticSpec::default();
    spec.nodes = nodes;
    let g = gpu_vgae::internal::synthetic::generate(&spec).unwrap();
    let text: String = g.edges.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    write(dir, "synthetic_edges.txt", text.as_bytes())
}

/// Its features as a Matrix Market file.
fn synthetic_features(dir: &Path, nodes: usize) -> String {
    let mut spec = gpu_vgae::internal::synthetic::SyntheticSpec::default();
    spec.nodes = nodes;
    let g = gpu_vgae::internal::synthetic::generate(&spec).unwrap();
    let x = g.feature_matrix().unwrap();
    let mut text = format!(
        "%%MatrixMarket matrix coordinate real general\n{} {} {}\n",
        x.rows(),
        x.cols(),
        x.nnz()
    );
    for r in 0..x.rows() {
        for k in x.row_range(r) {
            text.push_str(&format!(
                "{} {} {}\n",
                r + 1,
                x.col_idx()[k] + 1,
                x.values()[k]
            ));
        }
    }
    write(dir, "synthetic_features.mtx", text.as_bytes())
}

gpu_test! {
    /// --patience stops training when validation AUC stops improving and keeps the best
    /// weights; --cluster reports the clustering metrics against the labels.
    fn early_stopping_and_clustering_report_their_results() {
        common::gpu();
        let dir = scratch("patience");
        let out = dir.join("out");
        let o = gpu_vgae(&[
            "run", "--synthetic-nodes", "200", "--epochs", "300", "--patience", "3",
            "--lr", "0.05", "--cluster", "--quiet", "--out", out.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        assert!(o.stdout.contains("early stopping: best validation at epoch"), "{}", o.stdout);
        assert!(o.stdout.contains("clustering (all labelled nodes, k = 6): ACC"), "{}", o.stdout);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        let (best, run) = (metrics["best_epoch"].as_u64().unwrap(), metrics["epochs_run"].as_u64().unwrap());
        assert!(metrics["stopped_early"].as_bool().unwrap(), "{metrics}");
        assert!(run < 300 && run - best >= 3 && best >= 1, "best {best}, run {run}");
        assert!(metrics["clustering"]["all_labelled"]["acc"].as_f64().unwrap() > 0.0);
        let clusters = std::fs::read_to_string(out.join("clusters.csv")).unwrap();
        assert_eq!(clusters.lines().count(), 201);
        assert!(clusters.starts_with("node,cluster\n0,"));
    }
}

gpu_test! {
    fn saved_models_refuse_graphs_they_cannot_embed() {
        common::gpu();
        let dir = scratch("embed-errors");
        let out = dir.join("out");
        let o = gpu_vgae(&["run", "--synthetic-nodes", "100", "--epochs", "2", "--quiet",
                           "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let model = out.join("model.gvae");
        let target = dir.join("embedded");
        // Wrong feature width: Cora has 1433 features, the model 500.
        let o = gpu_vgae(&["embed", "--model", model.to_str().unwrap(), "--dataset", "cora",
                           "--out", target.to_str().unwrap()]);
        assert_fails(&o, &["500 features", "1433"]);
        assert!(!target.join("embeddings.npy").exists(), "no output after an error");
        // Missing and corrupt model files name the file.
        let o = gpu_vgae(&["embed", "--model", "/nonexistent/model.gvae", "--dataset", "cora",
                           "--out", target.to_str().unwrap()]);
        assert_fails(&o, &["/nonexistent/model.gvae"]);
        let corrupt = write(&dir, "corrupt.gvae", b"GPUVGAE\0\x01\0\0\0\xff\xff\xff\xff\0\0\0\0");
        let o = gpu_vgae(&["embed", "--model", &corrupt, "--dataset", "cora",
                           "--out", target.to_str().unwrap()]);
        assert_fails(&o, &["corrupt.gvae", "header"]);
        let o = gpu_vgae(&["embed", "--model", &write(&dir, "text.gvae", b"hello"),
                           "--dataset", "cora", "--out", target.to_str().unwrap()]);
        assert_fails(&o, &["text.gvae", "not a gpu-vgae model"]);
    }
}

#[test]
fn bad_training_settings_are_refused_before_any_work() {
    for (args, needles) in [
        (&["--clusters", "0", "--cluster"][..], &["clusters"][..]),
        (
            &["--sample-nodes", "0", "--objective", "subgraph"],
            &["sample_nodes"],
        ),
        (&["--alpha=-1", "--objective", "subgraph"], &["alpha"]),
        (&["--alpha", "NaN", "--objective", "subgraph"], &["alpha"]),
        (&["--patience", "0"], &["patience"]),
        (&["--conditional", "--model", "gae"], &["conditional"]),
        (&["--hidden", "1000000000000"], &["hidden width", "needs"]),
    ] {
        let mut all = vec!["run", "--synthetic-nodes", "60", "--epochs", "1"];
        all.extend_from_slice(args);
        let o = gpu_vgae(&all);
        if args[0] == "--clusters" {
            // k = 0 is refused after training, when the embeddings exist; it needs a GPU.
            continue;
        }
        assert_fails(&o, needles);
    }
}

gpu_test! {
    fn clustering_and_the_conditional_prior_refuse_what_they_cannot_use() {
        common::gpu();
        let dir = scratch("cluster-errors");
        let edges = write(&dir, "edges.txt", b"a b\nb c\nc d\nd a\na c\n");
        // No labels: the number of clusters must be given.
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "1", "--cluster"]);
        assert_fails(&o, &["--clusters"]);
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "1", "--cluster",
                           "--clusters", "9"]);
        assert_fails(&o, &["between 1 and the 4 nodes"]);
        // The conditional prior needs training labels.
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "1", "--conditional"]);
        assert_fails(&o, &["training labels"]);
        // A training labels file with an unknown node.
        let labels = write(&dir, "train.txt", b"a x\nzz y\n");
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "1", "--conditional",
                           "--train-labels", &labels]);
        assert_fails(&o, &["train.txt", "zz"]);
        // Class names are mapped to integers, not refused.
        let labels = write(&dir, "named.txt", b"a cats\nb dogs\nc cats\n");
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "2", "--conditional",
                           "--train-labels", &labels, "--quiet"]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    }
}

#[test]
fn unknown_dataset_names_the_known_ones() {
    let dir = scratch("unknown");
    let o = gpu_vgae(&[
        "run",
        "--dataset",
        "coraa",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_fails(&o, &["coraa", "cora", "citeseer", "pubmed"]);
}

#[test]
fn missing_planetoid_files_are_listed_with_where_to_get_them() {
    let dir = scratch("missing");
    let o = gpu_vgae(&[
        "run",
        "--dataset",
        "cora",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_fails(
        &o,
        &[
            "ind.cora.allx",
            "ind.cora.tx",
            "ind.cora.graph",
            "ind.cora.test.index",
            dir.to_str().unwrap(),
            "kimiyoung/planetoid",
        ],
    );
}

#[test]
fn corrupt_pickles_are_errors_naming_the_file() {
    let real = common::planetoid_dir();
    type Corruption = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let cases: [(&str, Corruption); 4] = [
        ("empty", Box::new(|_| Vec::new())),
        ("truncated", Box::new(|b| b[..b.len() / 2].to_vec())),
        (
            "random bytes",
            Box::new(|b| (0..b.len()).map(|i| (i * 7919 % 251) as u8).collect()),
        ),
        ("a pickled list", Box::new(|_| b"\x80\x02]q\x00.".to_vec())),
    ];
    for (what, corrupt) in cases {
        let dir = scratch(&format!("pickle-{}", what.replace(' ', "-")));
        for entry in std::fs::read_dir(&real).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("ind.cora.") {
                let bytes = std::fs::read(&path).unwrap();
                let bytes = if name == "ind.cora.graph" {
                    corrupt(&bytes)
                } else {
                    bytes
                };
                write(&dir, &name, &bytes);
            }
        }
        let o = gpu_vgae(&[
            "run",
            "--dataset",
            "cora",
            "--data-dir",
            dir.to_str().unwrap(),
        ]);
        assert_fails(&o, &["ind.cora.graph"]);
    }
}

#[test]
fn bad_edge_lists_name_the_file_and_line() {
    let dir = scratch("edges");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("empty.txt", "", &["empty.txt", "no edges"]),
        ("words.txt", "0 1\n1 x2\n", &["words.txt", ":2"]),
        (
            "loops.txt",
            "# only self loops\n3 3\n4 4\n",
            &["loops.txt", "no edges"],
        ),
        ("columns.csv", "0,1\n1,2,3,4\n", &["columns.csv", ":2"]),
    ];
    for (name, text, needles) in cases {
        let path = write(&dir, name, text.as_bytes());
        assert_fails(&gpu_vgae(&["run", "--edges", &path]), needles);
    }
}

#[test]
fn bad_features_are_refused() {
    let dir = scratch("features");
    let edges = write(&dir, "edges.txt", b"0 1\n1 2\n2 3\n");
    // Row count that does not match the four nodes.
    let rows = write(&dir, "rows.npy", &npy_f64(3, 2, &[1.0; 6]));
    assert_fails(
        &gpu_vgae(&["run", "--edges", &edges, "--features", &rows]),
        &["rows.npy", "3"],
    );
    // NaN in the features.
    let mut values = vec![1.0; 8];
    values[5] = f64::NAN;
    let nan = write(&dir, "nan.npy", &npy_f64(4, 2, &values));
    assert_fails(
        &gpu_vgae(&["run", "--edges", &edges, "--features", &nan]),
        &["nan.npy"],
    );
    // Out-of-range id once the features fix the node count at 4.
    let far = write(&dir, "far.txt", b"0 1\n1 9\n");
    let ok = write(&dir, "ok.npy", &npy_f64(4, 2, &[1.0; 8]));
    assert_fails(
        &gpu_vgae(&["run", "--edges", &far, "--features", &ok]),
        &["far.txt", "9"],
    );
}

#[test]
fn an_unwritable_out_directory_fails_before_training() {
    let dir = scratch("unwritable");
    let file = write(&dir, "a-file", b"not a directory");
    let o = gpu_vgae(&["run", "--epochs", "1", "--out", &format!("{file}/results")]);
    assert_fails(&o, &["a-file"]);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = gpu_vgae(&["run", "--model", "transformer"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("transformer"));
    let o = gpu_vgae(&[
        "run",
        "--latent",
        "65",
        "--synthetic-nodes",
        "50",
        "--epochs",
        "1",
    ]);
    // Refused before any device is opened.
    assert_fails(&o, &["latent"]);
}

gpu_test! {
    /// `predict --top-k` equals the brute-force ranking computed from embeddings.npy
    /// (logits in column order, ties by (i, j)), excluding the graph's edges; bad input
    /// is refused.
    fn predict_top_k_equals_brute_force_from_the_embeddings() {
        common::gpu();
        let dir = scratch("predict");
        let out = dir.join("out");
        let o = gpu_vgae(&["run", "--synthetic-nodes", "150", "--epochs", "20", "--quiet",
                           "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let (edges, features) = (synthetic_edge_list(&dir, 150), synthetic_features(&dir, 150));
        let csv = dir.join("links.csv");
        let model = out.join("model.gvae");
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--edges", &edges,
                           "--features", &features, "--top-k", "100", "--out",
                           csv.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let got: Vec<(u32, u32)> = std::fs::read_to_string(&csv)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[1].parse().unwrap())
            })
            .collect();
        // Brute force from embeddings.npy.
        let bytes = std::fs::read(out.join("embeddings.npy")).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let mu: Vec<f32> = bytes[10 + header_len..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let known: std::collections::HashSet<(u32, u32)> = std::fs::read_to_string(&edges)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<u32> = l.split(' ').map(|v| v.parse().unwrap()).collect();
                (f[0].min(f[1]), f[0].max(f[1]))
            })
            .collect();
        let mut all = Vec::new();
        for i in 0..150u32 {
            for j in i + 1..150 {
                if !known.contains(&(i, j)) {
                    let mut dot = 0f32;
                    for k in 0..16 {
                        dot += mu[i as usize * 16 + k] * mu[j as usize * 16 + k];
                    }
                    all.push((dot, i, j));
                }
            }
        }
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let expected: Vec<(u32, u32)> = all[..100].iter().map(|&(_, i, j)| (i, j)).collect();
        assert_eq!(got, expected);
        // --pairs scores given pairs in file order, equal to σ of the brute-force logits.
        let pairs = write(&dir, "pairs.txt", b"# two pairs\n0 1\n5,9\n");
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--edges", &edges,
                           "--features", &features, "--pairs", &pairs]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert_eq!(lines[0], "source,target,score");
        for (line, (i, j)) in lines[1..].iter().zip([(0usize, 1usize), (5, 9)]) {
            let dot: f32 = (0..16).map(|k| mu[i * 16 + k] * mu[j * 16 + k]).sum();
            let score: f32 = line.rsplit(',').next().unwrap().parse().unwrap();
            assert!((score - 1.0 / (1.0 + (-dot).exp())).abs() < 1e-5, "{line}");
            assert!(line.starts_with(&format!("{i},{j},")));
        }
        let unknown = write(&dir, "unknown.txt", b"0 1\n3 999\n");
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--edges", &edges,
                           "--features", &features, "--pairs", &unknown]);
        assert_fails(&o, &["unknown.txt:2", "999"]);
        // K = 0 and a model for another graph's features are clear errors.
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--edges", &edges,
                           "--features", &features, "--top-k", "0"]);
        assert_fails(&o, &["top_k"]);
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--dataset", "cora",
                           "--top-k", "5"]);
        assert_fails(&o, &["500 features", "1433"]);
    }
}

gpu_test! {
    /// clusters.csv and embeddings.npy are all anyone needs to recompute the reported
    /// clustering: the metrics of clusters.csv against Cora's labels equal those in
    /// metrics.json, and the k-means objective of those clusters over embeddings.npy
    /// equals the reported inertia. (The metrics themselves are checked against
    /// scikit-learn's values in tests/cluster_metrics.rs.)
    fn clusters_and_embeddings_reproduce_the_reported_metrics() {
        use gpu_vgae::internal::cluster::{cluster_metrics, inertia};
        use gpu_vgae::internal::data::load_planetoid;
        use gpu_vgae::internal::data::arrays::read_npy;
        common::gpu();
        let out = scratch("cluster-reproduce").join("out");
        let o = gpu_vgae(&["run", "--dataset", "cora", "--epochs", "20", "--cluster", "--quiet",
                           "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        let reported = &metrics["clustering"];
        let csv = std::fs::read_to_string(out.join("clusters.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("node,cluster"));
        let graph = load_planetoid(&common::planetoid_dir(), "cora").unwrap();
        let labels = graph.labels.clone().unwrap();
        let mut clusters = vec![u32::MAX; labels.len()];
        for line in lines {
            let (node, cluster) = line.split_once(',').unwrap();
            clusters[node.parse::<usize>().unwrap()] = cluster.parse().unwrap();
        }
        assert!(clusters.iter().all(|&c| c != u32::MAX), "every node has a cluster");
        let m = cluster_metrics(&labels, &clusters).unwrap();
        let all = &reported["all_labelled"];
        for (name, value) in [("acc", m.acc), ("nmi", m.nmi), ("ari", m.ari), ("f1", m.f1)] {
            let stored = all[name].as_f64().unwrap();
            assert!((stored - value).abs() < 1e-12, "{name}: metrics.json {stored}, recomputed {value}");
        }
        let embeddings = read_npy(&out.join("embeddings.npy")).unwrap();
        let (n, dim) = embeddings.matrix_shape().unwrap();
        let points: Vec<f32> = embeddings.to_f64().unwrap().iter().map(|&x| x as f32).collect();
        let k = reported["k"].as_u64().unwrap() as usize;
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &c) in clusters.iter().enumerate() {
            counts[c as usize] += 1;
            for d in 0..dim {
                sums[c as usize * dim + d] += f64::from(points[i * dim + d]);
            }
        }
        let centroids: Vec<f32> = sums
            .iter()
            .enumerate()
            .map(|(j, &s)| (s / counts[j / dim].max(1) as f64) as f32)
            .collect();
        let recomputed = inertia(&points, n, dim, &centroids, k, &clusters).unwrap();
        let stored = reported["inertia"].as_f64().unwrap();
        assert!((recomputed - stored).abs() <= 1e-4 * stored, "inertia: metrics.json {stored}, recomputed {recomputed}");
    }
}
