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
    gpu_vgae_env(args, &[])
}

fn gpu_vgae_env(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let out = binary(args, env).output().expect("the binary runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn binary(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gpu-vgae"));
    command.args(args).env_remove("GPU_VGAE_DATA_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs with an adapter name that matches none: a command that fails with a settings
/// or file error under it failed before any device was opened.
fn without_device(args: &[&str]) -> Outcome {
    gpu_vgae_env(
        args,
        &[("GPU_VGAE_ADAPTER", "no-such-adapter-gpu-vgae-test")],
    )
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
    // The set: these files and nothing else, each as manifest.json lists it; nothing
    // next to the directory (no lock, no staging directory).
    let manifest = gpu_vgae::internal::output_set::verify_output(&out).unwrap();
    let mut names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["embeddings.npy", "embeddings.svg", "metrics.json", "model.gvae", "training.svg"]
    );
    assert_eq!(manifest.command[1..3], ["run".to_string(), "--synthetic-nodes".to_string()]);
    assert_eq!(entries(&dir), ["results/"]);
    assert!(metrics["edge_stats"]["input_pairs"].as_u64().unwrap() >= 150);
    assert_eq!(metrics["history"].as_array().unwrap().len(), 1, "5 epochs, evaluated at the last");
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
    gpu_vgae::internal::output_set::verify_output(&again).unwrap();
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
    let dir = scratch("settings");
    let edges = write(&dir, "edges.txt", b"a b\nb c\nc d\nd a\na c\n");
    for (args, needles) in [
        (
            &["--clusters", "0", "--cluster"][..],
            &["clusters", "between 1 and the 60 nodes"][..],
        ),
        (&["--clusters", "0"], &["clusters"]),
        (
            &["--clusters", "61"],
            &["between 1 and the 60 nodes, got 61"],
        ),
        // Flags that the dense objective would ignore.
        (
            &["--sample-nodes", "0"],
            &["sample-nodes", "only to the subgraph objective"],
        ),
        (
            &["--sample-nodes", "1"],
            &["sample-nodes", "only to the subgraph objective"],
        ),
        (
            &["--alpha", "3", "--objective", "sampled"],
            &["alpha", "subgraph objective"],
        ),
        (
            &["--sample-nodes", "0", "--objective", "subgraph"],
            &["sample_nodes", "at least 2"],
        ),
        (
            &["--sample-nodes", "1", "--objective", "subgraph"],
            &["sample_nodes", "at least 2, got 1"],
        ),
        (&["--alpha=-1", "--objective", "subgraph"], &["alpha"]),
        (&["--alpha", "NaN", "--objective", "subgraph"], &["alpha"]),
        (&["--patience", "0"], &["patience"]),
        (&["--conditional", "--model", "gae"], &["conditional"]),
        (&["--latent", "65"], &["latent"]),
    ] {
        let mut all = vec!["run", "--synthetic-nodes", "60", "--epochs", "1"];
        all.extend_from_slice(args);
        assert_fails(&without_device(&all), needles);
    }
    // An edge list without labels: k must be given; the conditional prior needs labels.
    for (args, needles) in [
        (&["--cluster"][..], &["--clusters K"][..]),
        (
            &["--cluster", "--clusters", "9"],
            &["between 1 and the 4 nodes"],
        ),
        (&["--conditional"], &["training labels"]),
    ] {
        let mut all = vec!["run", "--edges", &edges, "--epochs", "1"];
        all.extend_from_slice(args);
        assert_fails(&without_device(&all), needles);
    }
    // Sizes are checked against the device's profile before anything is allocated.
    let o = gpu_vgae(&[
        "run",
        "--synthetic-nodes",
        "60",
        "--epochs",
        "1",
        "--hidden",
        "1000000000000",
    ]);
    assert_fails(&o, &["hidden width", "needs"]);
    // The device's own error, to show that the runs above stopped before it.
    let o = without_device(&["run", "--synthetic-nodes", "60", "--epochs", "1"]);
    assert_fails(&o, &["no-such-adapter-gpu-vgae-test"]);
}

gpu_test! {
    fn clustering_and_the_conditional_prior_refuse_what_they_cannot_use() {
        common::gpu();
        let dir = scratch("cluster-errors");
        let edges = write(&dir, "edges.txt", b"a b\nb c\nc d\nd a\na c\n");
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
        assert_eq!(lines[0], "source,target,score,logit");
        for (line, (i, j)) in lines[1..].iter().zip([(0usize, 1usize), (5, 9)]) {
            // The logit as the kernels sum it: over the columns in order, in f32.
            let mut dot = 0f32;
            for k in 0..16 {
                dot += mu[i * 16 + k] * mu[j * 16 + k];
            }
            let fields: Vec<&str> = line.split(',').collect();
            let (score, logit): (f32, f32) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
            assert!((score - 1.0 / (1.0 + (-dot).exp())).abs() < 1e-5, "{line}");
            assert!((logit - dot).abs() <= 1e-6 * (1.0 + dot.abs()), "{line}: logit vs {dot}");
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

/// Names in `dir`, sorted, directories with a trailing `/`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let slash = if e.file_type().unwrap().is_dir() {
                "/"
            } else {
                ""
            };
            format!("{}{slash}", e.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    names
}

/// A model made by the library without training (Glorot weights), saved as
/// `dir/name`: `features` input columns (0: featureless on the graph's nodes), trained
/// "on" the edge list `edges`.
fn library_model(dir: &Path, name: &str, edges: &str, features: usize) -> String {
    use gpu_vgae::internal::saved::{
        edge_fingerprint, SplitSettings, TrainingGraph, TrainingMetrics,
    };
    let graph = gpu_vgae::load_edge_list(Path::new(edges), &Default::default()).unwrap();
    let config = gpu_vgae::ModelConfig::default();
    let width = if features == 0 {
        graph.num_nodes
    } else {
        features
    };
    let model = gpu_vgae::SavedModel::new(
        config.clone(),
        gpu_vgae::internal::model::Weights::glorot(&config, width),
        features == 0,
        gpu_vgae::FeatureNormalization::None,
        TrainingGraph {
            name: "training graph".into(),
            num_nodes: graph.num_nodes,
            num_edges: graph.num_edges(),
            edge_fingerprint: edge_fingerprint(graph.num_nodes, &graph.edges),
            node_ids: graph.node_ids.as_ref().map(|ids| ids.to_strings()),
        },
        SplitSettings {
            seed: 0,
            val_fraction: 0.05,
            test_fraction: 0.1,
        },
        TrainingMetrics {
            val: None,
            test: None,
            epochs_run: 0,
            best_epoch: 0,
            final_loss: gpu_vgae::internal::model::LossParts {
                reconstruction: 0.0,
                kl: 0.0,
                total: 0.0,
            },
        },
    );
    let path = dir.join(name);
    model.save(&path).unwrap();
    path.to_string_lossy().into_owned()
}

/// A dense float64 features file of `rows × cols`, row r = (r, r + 1, ...), except
/// that the rows in `twins` repeat row `twins[0]`.
fn features_npy(dir: &Path, name: &str, rows: usize, cols: usize, twins: &[usize]) -> String {
    let values: Vec<f64> = (0..rows)
        .flat_map(|r| {
            let r = if twins.contains(&r) { twins[0] } else { r };
            (0..cols).map(move |c| ((r * 7 + c * 3) % 11) as f64 * 0.1 + r as f64 * 0.01)
        })
        .collect();
    write(dir, name, &npy_f64(rows, cols, &values))
}

#[test]
fn model_files_are_checked_before_any_device_is_opened() {
    let dir = scratch("model-checks");
    let edges = write(&dir, "edges.txt", b"0 1\n1 2\n2 3\n3 0\n0 2\n");
    let features = features_npy(&dir, "x.npy", 4, 3, &[]);
    let target = dir.join("embedded");
    let target = target.to_str().unwrap();
    let model = library_model(&dir, "model.gvae", &edges, 3);
    let embed = |model: &str| {
        without_device(&[
            "embed",
            "--model",
            model,
            "--edges",
            &edges,
            "--features",
            &features,
            "--out",
            target,
        ])
    };
    // Intact, it gets as far as the device.
    assert_fails(&embed(&model), &["no-such-adapter-gpu-vgae-test"]);
    // A flipped bit in a weight: the checksum.
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0x04;
    assert_fails(
        &embed(&write(&dir, "flipped.gvae", &bytes)),
        &["flipped.gvae", "checksum"],
    );
    // Trailing bytes.
    let mut bytes = std::fs::read(&model).unwrap();
    bytes.extend_from_slice(b"\n");
    assert_fails(
        &embed(&write(&dir, "trailing.gvae", &bytes)),
        &["trailing.gvae", "checksum"],
    );
    // A model.gvae of another run in a set: the manifest tells.
    let set = dir.join("set");
    gpu_vgae::internal::output_set::OutputSet::begin(
        gpu_vgae::OutputDir::claim(&set).unwrap(),
        &Default::default(),
    )
    .and_then(|mut s| {
        s.write("model.gvae", &std::fs::read(&model).unwrap())?;
        s.commit()
    })
    .unwrap();
    let other = library_model(
        &dir,
        "other.gvae",
        &write(&dir, "e2.txt", b"a b\nb c\nc d\n"),
        3,
    );
    std::fs::copy(&other, set.join("model.gvae")).unwrap();
    assert_fails(
        &embed(set.join("model.gvae").to_str().unwrap()),
        &["manifest.json", "another run"],
    );
    // The directory holding the model is not replaced by embed's output.
    std::fs::copy(&model, set.join("model.gvae")).unwrap();
    let o = without_device(&[
        "embed",
        "--model",
        set.join("model.gvae").to_str().unwrap(),
        "--edges",
        &edges,
        "--features",
        &features,
        "--out",
        set.to_str().unwrap(),
    ]);
    assert_fails(&o, &["holds the model being read"]);
    assert!(set.join("model.gvae").exists());
    // --features for a featureless model would be ignored: refused.
    let featureless = library_model(&dir, "featureless.gvae", &edges, 0);
    assert_fails(
        &embed(&featureless),
        &["trained without features", "--features"],
    );
    assert!(!Path::new(target).exists(), "no output after an error");
    assert_eq!(
        entries(&dir).iter().filter(|n| n.starts_with('.')).count(),
        0
    );
}

#[test]
fn a_model_is_refused_on_a_graph_it_was_not_trained_on() {
    // (b) of the surviving bugs: the training graph's fingerprint is checked where the
    // model's split is reused, and a featureless model's node ids are checked.
    let dir = scratch("fingerprint");
    let trained_on = write(&dir, "a.txt", b"0 1\n1 2\n2 3\n3 0\n0 2\n");
    let same_count = write(&dir, "b.txt", b"0 1\n1 2\n2 3\n3 0\n1 3\n");
    let features = features_npy(&dir, "x.npy", 4, 3, &[]);
    let model = library_model(&dir, "model.gvae", &trained_on, 3);
    let o = without_device(&[
        "predict",
        "--model",
        &model,
        "--edges",
        &same_count,
        "--features",
        &features,
        "--top-k",
        "2",
        "--known",
        "train",
    ]);
    assert_fails(
        &o,
        &[
            "--known train needs the graph the model was trained on",
            "4 nodes",
        ],
    );
    // The training graph passes the check (and stops at the device).
    let o = without_device(&[
        "predict",
        "--model",
        &model,
        "--edges",
        &trained_on,
        "--features",
        &features,
        "--top-k",
        "2",
        "--known",
        "train",
    ]);
    assert_fails(&o, &["no-such-adapter-gpu-vgae-test"]);
    // A featureless model embeds only its own nodes: four other ids are refused, the
    // same four with other edges are embedded.
    let named = write(&dir, "named.txt", b"a b\nb c\nc d\nd a\na c\n");
    let featureless = library_model(&dir, "featureless.gvae", &named, 0);
    let renamed = write(&dir, "c.txt", b"w x\nx y\ny z\nz w\nw y\n");
    let rewired = write(&dir, "d.txt", b"a b\nb c\nc d\nd a\nb d\n");
    let o = without_device(&[
        "embed",
        "--model",
        &featureless,
        "--edges",
        &renamed,
        "--out",
        dir.join("e").to_str().unwrap(),
    ]);
    assert_fails(&o, &["trained without features", "node 0 is `a`", "`w`"]);
    let o = without_device(&[
        "embed",
        "--model",
        &featureless,
        "--edges",
        &rewired,
        "--out",
        dir.join("e").to_str().unwrap(),
    ]);
    assert_fails(&o, &["no-such-adapter-gpu-vgae-test"]);
}

#[test]
fn out_directories_that_are_not_gpu_vgae_sets_are_refused() {
    let dir = scratch("foreign");
    let out = dir.join("mine");
    std::fs::create_dir(&out).unwrap();
    write(&out, "thesis.tex", b"important");
    let o = without_device(&[
        "run",
        "--synthetic-nodes",
        "60",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_fails(&o, &["thesis.tex", "did not write"]);
    assert_eq!(entries(&out), ["thesis.tex"]);
    assert_eq!(entries(&dir), ["mine/"]);
}

gpu_test! {
    /// An earlier run's clusters.csv and node_ids.txt do not survive beside a new run
    /// that has none, and `embed` of a graph without ids leaves no node_ids.txt of
    /// another graph.
    fn stale_files_of_an_earlier_run_never_survive() {
        common::gpu();
        let dir = scratch("stale");
        let out = dir.join("out");
        let out_s = out.to_str().unwrap();
        let edges = write(&dir, "named.txt", b"a b\nb c\nc d\nd a\na c\ne a\ne b\n");
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "2", "--cluster", "--clusters",
                           "2", "--quiet", "--out", out_s]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        assert!(out.join("clusters.csv").exists() && out.join("node_ids.txt").exists());
        let o = gpu_vgae(&["run", "--synthetic-nodes", "80", "--epochs", "2", "--quiet",
                           "--out", out_s]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        gpu_vgae::internal::output_set::verify_output(&out).unwrap();
        assert!(!out.join("clusters.csv").exists() && !out.join("node_ids.txt").exists());
        // embed: a set with node_ids.txt of a named graph, replaced by one of a
        // Planetoid-style graph (no ids).
        let model = out.join("model.gvae");
        let embedded = dir.join("embedded");
        let o = gpu_vgae(&["run", "--edges", &edges, "--epochs", "1", "--quiet", "--out",
                           embedded.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        assert!(embedded.join("node_ids.txt").exists());
        let o = gpu_vgae(&["embed", "--model", model.to_str().unwrap(), "--edges",
                           &synthetic_edge_list(&dir, 80), "--features",
                           &synthetic_features(&dir, 80), "--out",
                           embedded.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let manifest = gpu_vgae::internal::output_set::verify_output(&embedded).unwrap();
        let names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["embeddings.npy"], "node ids 0..N-1 need no node_ids.txt");
        assert!(!embedded.join("node_ids.txt").exists());
        assert_eq!(entries(&dir).iter().filter(|n| n.starts_with('.')).count(), 0);
    }
}

/// Waits until `ready()` (polling), failing after `what` never happened.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn send_sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn finish(child: std::process::Child) -> Outcome {
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

gpu_test! {
    /// A second writer to a directory being written is refused with a clear error; the
    /// first, stopped by SIGTERM while training, leaves nothing behind (no lock, no
    /// staging directory, no set).
    fn a_second_writer_is_refused_and_sigterm_while_training_leaves_nothing() {
        common::gpu();
        let dir = scratch("lock");
        let out = dir.join("out");
        let out_s = out.to_str().unwrap();
        let first = binary(&["run", "--synthetic-nodes", "300", "--epochs", "1000000", "--quiet",
                             "--out", out_s], &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the first run's lock", || dir.join(".out.lock").exists());
        let o = gpu_vgae(&["run", "--synthetic-nodes", "60", "--epochs", "1", "--out", out_s]);
        assert_fails(&o, &["being written by another gpu-vgae", &first.id().to_string()]);
        send_sigterm(&first);
        let o = finish(first);
        assert_eq!(o.code, 130, "stderr: {}", o.stderr);
        assert!(o.stderr.contains("interrupted: training stopped after epoch"), "{}", o.stderr);
        assert!(entries(&dir).is_empty(), "left behind: {:?}", entries(&dir));
    }
}

gpu_test! {
    /// SIGTERM while a set is being written (between two of its files): the run stops,
    /// the previous set stays whole, no temporary file or directory is left.
    fn sigterm_while_writing_keeps_the_previous_set() {
        common::gpu();
        let dir = scratch("sigterm");
        let out = dir.join("out");
        let out_s = out.to_str().unwrap();
        let o = gpu_vgae(&["run", "--synthetic-nodes", "80", "--epochs", "2", "--quiet",
                           "--out", out_s]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let before = gpu_vgae::internal::output_set::verify_output(&out).unwrap();
        let second = binary(&["run", "--synthetic-nodes", "100", "--epochs", "2", "--quiet",
                              "--cluster", "--out", out_s],
                            &[("GPU_VGAE_TEST_WRITE_DELAY_MS", "500")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Its staging directory holds the model: the set is half written.
        wait_for("the staging directory", || {
            entries(&dir).iter().any(|n| {
                n.starts_with(".out.tmp-") && dir.join(n).join("model.gvae").exists()
            })
        });
        send_sigterm(&second);
        let o = finish(second);
        assert_eq!(o.code, 130, "stderr: {}", o.stderr);
        assert!(o.stderr.contains("interrupted: stopped while writing"), "{}", o.stderr);
        assert_eq!(gpu_vgae::internal::output_set::verify_output(&out).unwrap(), before);
        assert_eq!(entries(&dir), ["out/"]);
    }
}

gpu_test! {
    /// Disk full while writing a set (a tmpfs of 100 KiB in a private mount namespace):
    /// the run fails naming the error, the previous set stays whole, nothing else is
    /// left. Needs `unshare -rm` (util-linux, unprivileged user namespaces or root).
    fn disk_full_while_writing_keeps_the_previous_set() {
        common::gpu();
        let dir = scratch("disk-full");
        let mount = dir.join("mnt");
        let copy = dir.join("after");
        std::fs::create_dir(&mount).unwrap();
        let bin = env!("CARGO_BIN_EXE_gpu-vgae");
        let script = format!(
            "set -u; mount -t tmpfs -o size=100k tmpfs {m} || exit 99; \
             {bin} run --synthetic-nodes 60 --featureless --epochs 2 --quiet --out {m}/out \
               > {d}/first.log 2>&1 || exit 98; \
             {bin} run --synthetic-nodes 300 --epochs 2 --quiet --out {m}/out > {d}/second.log 2>&1; \
             echo $? > {d}/second.code; cp -a {m}/. {c}/",
            m = mount.display(),
            d = dir.display(),
            c = copy.display(),
        );
        std::fs::create_dir(&copy).unwrap();
        let status = Command::new("unshare")
            .args(["-rm", "sh", "-c", &script])
            .env_remove("GPU_VGAE_DATA_DIR")
            .status()
            .expect("this test needs `unshare` (util-linux) to mount a small tmpfs");
        assert_ne!(status.code(), Some(99), "mounting a tmpfs failed: needs root or user namespaces");
        assert_eq!(status.code(), Some(0), "the first run failed: {}",
                   std::fs::read_to_string(dir.join("first.log")).unwrap_or_default());
        let code = std::fs::read_to_string(dir.join("second.code")).unwrap();
        let log = std::fs::read_to_string(dir.join("second.log")).unwrap();
        assert_eq!(code.trim(), "1", "{log}");
        assert!(log.contains("No space left on device"), "{log}");
        assert!(!log.contains("panicked"), "{log}");
        let manifest = gpu_vgae::internal::output_set::verify_output(&copy.join("out")).unwrap();
        assert!(manifest.command.iter().any(|a| a == "--featureless"), "the first run's set");
        assert_eq!(entries(&copy), ["out/"]);
    }
}

gpu_test! {
    /// (a) of the surviving bugs: early stopping keeps the best epoch's weights. A run
    /// stopped early equals, bit for bit, a run of just its best epoch's length.
    fn early_stopping_keeps_the_weights_of_the_best_epoch() {
        common::gpu();
        let dir = scratch("best-weights");
        let (stopped, plain) = (dir.join("stopped"), dir.join("plain"));
        let o = gpu_vgae(&["run", "--synthetic-nodes", "200", "--epochs", "300", "--patience",
                           "3", "--lr", "0.05", "--quiet", "--out", stopped.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(stopped.join("metrics.json")).unwrap()).unwrap();
        let (best, run) = (metrics["best_epoch"].as_u64().unwrap(), metrics["epochs_run"].as_u64().unwrap());
        assert!(best + 3 <= run, "best {best}, run {run}: no later epoch to keep by mistake");
        // The history has every evaluated epoch (all of them with --patience).
        assert_eq!(metrics["history"].as_array().unwrap().len() as u64, run);
        let best_s = best.to_string();
        let o = gpu_vgae(&["run", "--synthetic-nodes", "200", "--epochs", &best_s, "--eval-every",
                           "1", "--lr", "0.05", "--quiet", "--out", plain.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let same = std::fs::read(stopped.join("embeddings.npy")).unwrap()
            == std::fs::read(plain.join("embeddings.npy")).unwrap();
        assert!(same, "the stopped run's embeddings are not those of its best epoch {best}");
        let load = |d: &Path| gpu_vgae::SavedModel::load(&d.join("model.gvae")).unwrap();
        assert!(load(&stopped).weights == load(&plain).weights, "weights differ");
    }
}

/// Parses an SVG as XML and returns the document's text.
fn svg_document(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

gpu_test! {
    /// training.svg has a loss line and validation AUC/AP lines with one vertex per
    /// evaluated epoch; embeddings.svg one point per node, coloured by class; both are
    /// well-formed XML. `predict --out` writes through devices and follows symlinks.
    fn pictures_show_every_evaluated_epoch_and_every_node() {
        common::gpu();
        let dir = scratch("svg");
        let out = dir.join("out");
        let o = gpu_vgae(&["run", "--synthetic-nodes", "150", "--epochs", "23", "--eval-every",
                           "5", "--quiet", "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let text = svg_document(&out.join("training.svg"));
        let doc = roxmltree::Document::parse(&text).unwrap();
        let lines: Vec<(String, usize)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .map(|n| {
                (n.attribute("data-name").unwrap().to_string(),
                 n.attribute("points").unwrap().split_whitespace().count())
            })
            .collect();
        // Epochs 5, 10, 15, 20 and the last, 23.
        assert_eq!(lines, [("loss".to_string(), 5), ("validation AUC".to_string(), 5),
                           ("validation AP".to_string(), 5)]);
        let text = svg_document(&out.join("embeddings.svg"));
        let doc = roxmltree::Document::parse(&text).unwrap();
        let points = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("class") == Some("point"))
            .count();
        assert_eq!(points, 150);
        // predict --out: /dev/null is written to, not replaced; a symlink is followed.
        let model = out.join("model.gvae");
        let (edges, features) = (synthetic_edge_list(&dir, 150), synthetic_features(&dir, 150));
        let predict = |target: &str| gpu_vgae(&["predict", "--model", model.to_str().unwrap(),
                                                "--edges", &edges, "--features", &features,
                                                "--top-k", "3", "--out", target]);
        let o = predict("/dev/null");
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        let real = dir.join("links.csv");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.join("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let o = predict(link.to_str().unwrap());
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap().lines().count(), 4);
    }
}

#[test]
fn the_embedding_picture_caps_its_points_with_a_seeded_sample() {
    use gpu_vgae::internal::run::embeddings_svg;
    let n = 6000;
    let e = gpu_vgae::Embeddings {
        rows: n,
        cols: 3,
        values: (0..n * 3).map(|i| ((i * 37) % 101) as f32 * 0.01).collect(),
    };
    let labels: Vec<i32> = (0..n as i32).map(|i| i % 4 - 1).collect();
    let svg = embeddings_svg("big", &e, Some(&labels), None, None).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let points = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("class") == Some("point"))
        .count();
    assert_eq!(points, gpu_vgae::internal::svg::MAX_SCATTER_POINTS);
    assert!(svg.contains("5000 of 6000 nodes, a seeded sample"));
    assert_eq!(
        svg,
        embeddings_svg("big", &e, Some(&labels), None, None).unwrap()
    );
    // Without classes or clusters there is nothing to colour by: no picture.
    assert!(embeddings_svg("big", &e, None, None, None).is_none());
}

gpu_test! {
    /// k above the number of distinct embeddings is said plainly (two nodes with the
    /// same features and neighbours have the same embedding).
    fn more_clusters_than_distinct_embeddings_are_refused_plainly() {
        common::gpu();
        let dir = scratch("distinct");
        // Nodes 0 and 1 share features and neighbours (2, 3) and come first in their
        // rows, so their embeddings are equal to the bit.
        let edges = write(&dir, "twins.txt", b"0 2\n0 3\n1 2\n1 3\n2 3\n3 4\n4 5\n2 5\n");
        let features = features_npy(&dir, "x.npy", 6, 3, &[0, 1]);
        let model = library_model(&dir, "model.gvae", &edges, 3);
        let o = gpu_vgae(&["cluster", "--model", &model, "--edges", &edges, "--features",
                           &features, "--clusters", "6"]);
        assert_fails(&o, &["k = 6 clusters", "only 5 distinct embeddings", "--clusters 5"]);
        let o = gpu_vgae(&["cluster", "--model", &model, "--edges", &edges, "--features",
                           &features, "--clusters", "5"]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    }
}

gpu_test! {
    /// score_links: the logit comes from the device, finite where σ has rounded to 1.
    fn pair_logits_stay_exact_past_the_sigmoids_saturation() {
        let gpu = common::gpu();
        // μ_0 · μ_1 = 3·4 + 4·3 = 24; μ_0 · μ_2 = −25; μ_0 · μ_0 = 25.
        let mu = [3.0, 4.0, 4.0, 3.0, -3.0, -4.0];
        let links = gpu_vgae::score_links(&gpu, &mu, 3, 2, &[(0, 1), (0, 2), (0, 0)]).unwrap();
        let got: Vec<(f32, f32)> = links.iter().map(|l| (l.logit, l.score)).collect();
        assert_eq!(got[0], (24.0, 1.0));
        assert_eq!(got[1].0, -25.0);
        assert!(got[1].1 > 0.0 && got[1].1 < 1e-10);
        assert_eq!(got[2], (25.0, 1.0));
        // The scores equal score_pairs' to the bit.
        let scores = gpu_vgae::score_pairs(&gpu, &mu, 3, 2, &[(0, 1), (0, 2), (0, 0)]).unwrap();
        assert_eq!(links.iter().map(|l| l.score).collect::<Vec<_>>(), scores);
    }
}

/// The values of a float16 or float32 `.npy` matrix (as f32) and its header.
fn read_npy_values(path: &Path) -> (String, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len])
        .unwrap()
        .to_string();
    let data = &bytes[10 + header_len..];
    let values = if header.contains("'<f2'") {
        data.chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    } else {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    (header, values)
}

gpu_test! {
    /// `--precision f16` trains and is saved in model.gvae; `--embeddings-dtype f16`
    /// writes `<f2` embeddings (the f32 ones rounded to nearest) that the manifest lists
    /// as written, `embed` writes the same file again with the same dtype, and
    /// `predict` ranks as the f16 model scores (by logits of μ rounded to f16).
    fn f16_precision_and_embeddings_round_trip() {
        common::gpu();
        let dir = scratch("f16");
        let out = dir.join("out");
        let o = gpu_vgae(&["run", "--synthetic-nodes", "150", "--epochs", "10", "--quiet",
                           "--precision", "f16", "--embeddings-dtype", "f16",
                           "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let model = out.join("model.gvae");
        let saved = gpu_vgae::internal::saved::SavedModel::load(&model).unwrap();
        assert_eq!(saved.header.config.precision, gpu_vgae::Precision::F16);
        let (header, mu) = read_npy_values(&out.join("embeddings.npy"));
        assert!(header.contains("'descr': '<f2'") && header.contains("'shape': (150, 16)"), "{header}");
        assert_eq!(mu.len(), 150 * 16);
        let manifest = gpu_vgae::internal::output_set::verify_output(&out).unwrap();
        let entry = manifest.files.iter().find(|f| f.name == "embeddings.npy").unwrap();
        assert_eq!(entry.bytes, std::fs::metadata(out.join("embeddings.npy")).unwrap().len());
        assert_eq!(entry.bytes as usize, 10 + header.len() + 150 * 16 * 2);
        let (edges, features) = (synthetic_edge_list(&dir, 150), synthetic_features(&dir, 150));
        // embed: f16 again gives the run's file; f32 gives the values it rounded.
        for (dtype, name) in [("f16", "again16"), ("f32", "again32")] {
            let o = gpu_vgae(&["embed", "--model", model.to_str().unwrap(), "--edges", &edges,
                               "--features", &features, "--embeddings-dtype", dtype,
                               "--out", dir.join(name).to_str().unwrap()]);
            assert_eq!(o.code, 0, "stderr: {}", o.stderr);
            gpu_vgae::internal::output_set::verify_output(&dir.join(name)).unwrap();
        }
        assert_eq!(
            std::fs::read(dir.join("again16").join("embeddings.npy")).unwrap(),
            std::fs::read(out.join("embeddings.npy")).unwrap()
        );
        let (header32, mu32) = read_npy_values(&dir.join("again32").join("embeddings.npy"));
        assert!(header32.contains("'<f4'"), "{header32}");
        let rounded: Vec<f32> = mu32.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect();
        assert_eq!(rounded, mu);
        // predict --top-k: the brute-force ranking of the f16 values' logits.
        let o = gpu_vgae(&["predict", "--model", model.to_str().unwrap(), "--edges", &edges,
                           "--features", &features, "--top-k", "50"]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let got: Vec<(u32, u32)> = o
            .stdout
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[1].parse().unwrap())
            })
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
        let expected: Vec<(u32, u32)> = all[..50].iter().map(|&(_, i, j)| (i, j)).collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn precision_and_embeddings_dtype_are_checked_before_a_device_is_opened() {
    let o = without_device(&["run", "--precision", "f64", "--epochs", "1"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("f32") && o.stderr.contains("f16"),
        "{}",
        o.stderr
    );
    // --embeddings-dtype without --out would write nothing.
    let o = without_device(&["run", "--embeddings-dtype", "f16", "--epochs", "1"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--out"), "{}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

/// `cluster` without a model trains and clusters; every setting it cannot use is refused
/// before any training and before a device is opened (the adapter name matches none).
#[test]
fn cluster_refuses_bad_settings_before_any_device() {
    let dir = scratch("cluster-fit-errors");
    let edges = write(&dir, "edges.txt", b"a b\nb c\nc d\nd a\na c\n");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--dataset", "cora", "--clusters", "0"],
            &["between 1 and the 2708 nodes, got 0"],
        ),
        (
            &["--dataset", "cora", "--clusters", "2709"],
            &["between 1 and the 2708 nodes, got 2709"],
        ),
        // No labels to take k from.
        (&["--edges", &edges], &["no labels", "--clusters K"]),
        // The filters need features.
        (
            &["--edges", &edges, "--clusters", "2"],
            &["ns4gc filters node features", "has none"],
        ),
        (
            &["--edges", &edges, "--clusters", "2", "--method", "agc"],
            &["agc filters node features"],
        ),
        (
            &["--dataset", "cora", "--method", "kmeans"],
            &[
                "unknown clustering method `kmeans`",
                "s2gc, agc, scgc, ns4gc, magi, vgae, gae, dfcn",
            ],
        ),
        (
            &["--edges", &edges, "--clusters", "2", "--method", "dfcn"],
            &["dfcn filters node features", "has none"],
        ),
        (
            &["--edges", &edges, "--clusters", "2", "--method", "ns4gc"],
            &["ns4gc filters node features", "has none"],
        ),
        // DFCN's N² terms over its pretraining and epochs exceed the budget.
        (
            &[
                "--dataset",
                "citeseer",
                "--method",
                "dfcn",
                "--epochs",
                "100000",
            ],
            &["node-pair evaluations of dfcn's N² terms on 3327 nodes"],
        ),
        (
            &["--dataset", "cora", "--pretrained", "w.npz"],
            &["--pretrained", "dfcn"],
        ),
        (
            &["--dataset", "cora", "--normalize-embeddings", "false"],
            &["always L2-normalises"],
        ),
        (
            &["--dataset", "cora", "--order", "0"],
            &["order must be at least 1"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = vec!["cluster"];
        all.extend_from_slice(args);
        let o = without_device(&all);
        assert_fails(&o, needles);
        assert!(
            !o.stderr.contains("no-such-adapter"),
            "{all:?} reached the device: {}",
            o.stderr
        );
    }
    // A method with N² terms on a graph too large for them: refused from its size alone.
    let mut big = String::new();
    for i in 0..30_000 {
        big.push_str(&format!("{i} {}\n", i + 1));
    }
    let big = write(&dir, "path.txt", big.as_bytes());
    let o = without_device(&[
        "cluster",
        "--edges",
        &big,
        "--clusters",
        "2",
        "--method",
        "vgae",
    ]);
    assert_fails(
        &o,
        &[
            "node-pair evaluations of vgae's N² terms on 30001 nodes",
            "--method ns4gc has no N² terms",
        ],
    );
    // The same settings that pass the checks reach the device.
    let o = without_device(&["cluster", "--dataset", "cora", "--quiet"]);
    assert_fails(&o, &["no-such-adapter-gpu-vgae-test"]);
    let o = without_device(&[
        "cluster",
        "--edges",
        &big,
        "--clusters",
        "2",
        "--method",
        "vgae",
        "--epochs",
        "100",
    ]);
    assert_fails(&o, &["no-such-adapter-gpu-vgae-test"]);
}

gpu_test! {
    /// `gpu-vgae cluster --dataset citeseer --seed 0 --out D` (the default method, no
    /// labels used): clusters.csv reproduces metrics.json's ACC/NMI/ARI/F1 with the
    /// library's metrics (checked against scikit-learn in tests/cluster_metrics.rs) to
    /// 1e-12, its inertia over embeddings.npy, and the set holds every file.
    fn cluster_citeseer_reproduces_its_metrics_from_its_files() {
        use gpu_vgae::internal::cluster::{cluster_metrics, inertia};
        use gpu_vgae::internal::data::arrays::read_npy;
        use gpu_vgae::internal::data::load_planetoid;
        common::gpu();
        let out = scratch("cluster-fit-citeseer").join("out");
        let o = gpu_vgae(&["cluster", "--dataset", "citeseer", "--seed", "0", "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        // The default method, ns4gc: both published settings, the lower index kept.
        assert!(o.stderr.contains("setting 2/2: Davies-Bouldin index"), "{}", o.stderr);
        assert!(o.stdout.contains("clustering (all labelled nodes, k = 6): ACC"), "{}", o.stdout);
        assert_eq!(
            entries(&out),
            ["clusters.csv", "embeddings.npy", "embeddings.svg", "manifest.json", "metrics.json"]
        );
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(metrics["method"], "ns4gc");
        assert_eq!(metrics["hyperparameters"]["ns4gc"]["candidates"].as_array().unwrap().len(), 2);
        assert!(metrics["timings"].as_array().unwrap().iter().any(|t| t["phase"] == "train"));
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
        let c = &metrics["clustering"];
        let m = cluster_metrics(&labels, &clusters).unwrap();
        assert_eq!(c["all_labelled"]["labelled"], 3312, "Citeseer's 15 unlabelled nodes are left out");
        for (name, value) in [("acc", m.acc), ("nmi", m.nmi), ("ari", m.ari), ("f1", m.f1)] {
            let stored = c["all_labelled"][name].as_f64().unwrap();
            assert!((stored - value).abs() < 1e-12, "{name}: metrics.json {stored}, recomputed {value}");
        }
        assert!(c["silhouette"].as_f64().is_some());
        let embeddings = read_npy(&out.join("embeddings.npy")).unwrap();
        let (n, dim) = embeddings.matrix_shape().unwrap();
        // ns4gc kept Citeseer's setting (one 256-wide layer) on seed 0.
        assert_eq!((n, dim), (3327, 256));
        let points: Vec<f32> = embeddings.to_f64().unwrap().iter().map(|&x| x as f32).collect();
        let k = c["k"].as_u64().unwrap() as usize;
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &cl) in clusters.iter().enumerate() {
            counts[cl as usize] += 1;
            for d in 0..dim {
                sums[cl as usize * dim + d] += f64::from(points[i * dim + d]);
            }
        }
        let centroids: Vec<f32> = sums
            .iter()
            .enumerate()
            .map(|(j, &s)| (s / counts[j / dim].max(1) as f64) as f32)
            .collect();
        let recomputed = inertia(&points, n, dim, &centroids, k, &clusters).unwrap();
        let stored = c["inertia"].as_f64().unwrap();
        assert!((recomputed - stored).abs() <= 1e-4 * stored, "inertia: metrics.json {stored}, recomputed {recomputed}");
    }
}

gpu_test! {
    /// `--ns4gc-setting citeseer` trains NS4GC's Citeseer setting alone: one candidate,
    /// one 256-wide layer, 50 epochs, chosen without a comparison.
    fn cluster_ns4gc_setting_trains_one_published_setting() {
        common::gpu();
        let dir = scratch("cluster-ns4gc-setting");
        let out = dir.join("out");
        let o = gpu_vgae(&[
            "cluster",
            "--edges",
            &synthetic_edge_list(&dir, 120),
            "--features",
            &synthetic_features(&dir, 120),
            "--clusters",
            "3",
            "--method",
            "ns4gc",
            "--ns4gc-setting",
            "citeseer",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        let candidates = metrics["hyperparameters"]["ns4gc"]["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 1, "{candidates:?}");
        assert_eq!(candidates[0]["hidden"], serde_json::json!([256]));
        assert_eq!(candidates[0]["epochs"], 50);
        let drop: Vec<f64> =
            candidates[0]["edge_drop"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!((drop[0] - 0.6).abs() < 1e-6 && (drop[1] - 0.8).abs() < 1e-6, "{drop:?}");
        assert_eq!(metrics["details"]["chosen_candidate"], 0);
        let bad = gpu_vgae(&["cluster", "--dataset", "cora", "--method", "ns4gc", "--ns4gc-setting", "pubmed"]);
        assert_ne!(bad.code, 0);
        assert!(bad.stderr.contains("pubmed"), "{}", bad.stderr);
    }
}

gpu_test! {
    /// `cluster --method ns4gc` with `--epochs` and `--dim` (the last layer's width of
    /// both candidate settings): embeddings.npy has that width and unit rows,
    /// metrics.json every setting of both candidates, and the kept candidate is the one
    /// with the lower Davies–Bouldin index, which clusters.csv over embeddings.npy
    /// reproduces.
    fn cluster_ns4gc_applies_epochs_and_dim_and_reports_every_setting() {
        use gpu_vgae::internal::cluster::davies_bouldin;
        use gpu_vgae::internal::data::arrays::read_npy;
        common::gpu();
        let dir = scratch("cluster-ns4gc");
        let out = dir.join("out");
        let o = gpu_vgae(&[
            "cluster",
            "--edges",
            &synthetic_edge_list(&dir, 150),
            "--features",
            &synthetic_features(&dir, 150),
            "--clusters",
            "3",
            "--method",
            "ns4gc",
            "--epochs",
            "5",
            "--dim",
            "8",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(metrics["method"], "ns4gc");
        let candidates = metrics["hyperparameters"]["ns4gc"]["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2, "{candidates:?}");
        assert_eq!(candidates[0]["hidden"], serde_json::json!([256, 8]));
        assert_eq!(candidates[1]["hidden"], serde_json::json!([8]));
        for h in candidates {
            assert_eq!(h["epochs"], 5);
            for key in [
                "lr", "weight_decay", "lambda", "gamma", "shift", "temperature", "edge_drop",
                "feature_mask", "samples", "row_normalize",
            ] {
                assert!(!h[key].is_null(), "{key} missing from {h}");
            }
        }
        let details = &metrics["details"];
        let tried: Vec<f64> = details["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["davies_bouldin"].as_f64().unwrap())
            .collect();
        let chosen = details["chosen_candidate"].as_u64().unwrap() as usize;
        assert_eq!(tried.len(), 2);
        assert!(tried.iter().all(|&d| tried[chosen] <= d), "kept {chosen} of {tried:?}");
        let csv = std::fs::read_to_string(out.join("clusters.csv")).unwrap();
        let clusters: Vec<u32> =
            csv.lines().skip(1).map(|l| l.split_once(',').unwrap().1.parse().unwrap()).collect();
        let embeddings = read_npy(&out.join("embeddings.npy")).unwrap();
        assert_eq!(embeddings.matrix_shape().unwrap(), (150, 8));
        for row in embeddings.to_f64().unwrap().chunks_exact(8) {
            let norm: f64 = row.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4, "unit rows: {norm}");
        }
        let points: Vec<f32> = embeddings.to_f64().unwrap().iter().map(|&x| x as f32).collect();
        // Both candidates are 8 wide: compared at their full width.
        assert_eq!(metrics["hyperparameters"]["ns4gc"]["compared_width"], 8);
        let recomputed = davies_bouldin(&points, 150, 8, &clusters).unwrap();
        let stored = details["candidates"][chosen]["davies_bouldin_full_width"].as_f64().unwrap();
        assert!(
            (recomputed - stored).abs() < 1e-9 && (stored - tried[chosen]).abs() < 1e-12,
            "Davies-Bouldin: metrics.json {stored} / {}, recomputed {recomputed}",
            tried[chosen]
        );
    }
}

gpu_test! {
    /// `cluster --method magi` with `--epochs`, `--dim` and `--magi-setting`:
    /// embeddings.npy has that width, unit rows and no negative entry (min-max scaled),
    /// metrics.json every setting of the trained candidate and the walks' positives, and
    /// its ACC is what clusters.csv gives against the labels.
    fn cluster_magi_applies_its_flags_and_reports_every_setting() {
        use gpu_vgae::internal::data::arrays::read_npy;
        common::gpu();
        let dir = scratch("cluster-magi");
        let out = dir.join("out");
        let o = gpu_vgae(&[
            "cluster",
            "--edges",
            &synthetic_edge_list(&dir, 150),
            "--features",
            &synthetic_features(&dir, 150),
            "--clusters",
            "3",
            "--method",
            "magi",
            "--magi-setting",
            "citeseer",
            "--epochs",
            "5",
            "--dim",
            "8",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "stderr: {}", o.stderr);
        assert!(o.stderr.contains("epoch    1/5: loss"), "{}", o.stderr);
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(metrics["method"], "magi");
        let candidates = metrics["hyperparameters"]["magi"]["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 1, "{candidates:?}");
        let h = &candidates[0];
        assert_eq!(h["hidden"], serde_json::json!([1024, 8]));
        assert_eq!((h["epochs"].as_u64(), h["walk_length"].as_u64()), (Some(5), Some(3)));
        assert!((h["dropout"].as_f64().unwrap() - 0.1).abs() < 1e-6, "{h}");
        for key in ["lr", "weight_decay", "temperature", "walks", "negatives", "negative_slope"] {
            assert!(!h[key].is_null(), "{key} missing from {h}");
        }
        let walks = &metrics["details"]["walks"][0];
        assert!(walks["anchors"].as_u64().unwrap() > 100, "{walks}");
        let embeddings = read_npy(&out.join("embeddings.npy")).unwrap();
        assert_eq!(embeddings.matrix_shape().unwrap(), (150, 8));
        for row in embeddings.to_f64().unwrap().chunks_exact(8) {
            let norm: f64 = row.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4 && row.iter().all(|&v| v >= 0.0), "{row:?}");
        }
        let bad = gpu_vgae(&["cluster", "--dataset", "cora", "--method", "magi", "--magi-setting", "pubmed"]);
        assert_ne!(bad.code, 0);
        assert!(bad.stderr.contains("pubmed"), "{}", bad.stderr);
    }
}
