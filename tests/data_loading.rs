//! Loads the real Planetoid files (in the repository: `datasets/planetoid/`) and checks
//! the counts and their SHA-256 digests; edge lists (text, quoted CSV and `.npy`), keyed
//! and positional features (`.npy` of every numeric dtype), labels and feature scaling;
//! and that bad or hostile inputs (streams such as `/dev/zero`, directories, NUL bytes,
//! ids too large for any integer type, extra feature rows) give errors naming the file
//! and problem, quickly and without allocating from header sizes.
//!
//! Two tests cross-check the pickles against the flat-array copy of the same data in
//! `../shared/datasets/planetoid-npz` (not in the repository; read through the library's
//! array layer, assembled in `tests/common/arrays.rs`). They are `#[ignore]`d; run them where that directory
//! exists with
//! `cargo test --release --test data_loading -- --ignored npz` (they fail, never skip,
//! when it is missing). `edge_list_load_speed` (also ignored) times a 10M-edge load.

#[path = "common/arrays.rs"]
mod arrays;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrays::{load_flat_arrays, load_npz};
use gpu_vgae::internal::data::{
    load_edge_list, load_planetoid, normalize_features, pickle, read_features, read_labels,
    EdgeListOptions, FeatureLayout, FeatureNormalization, Graph, LoadPhase, MissingFeatures,
    NodeIds,
};
use gpu_vgae::Csr;
use rand::{Rng, SeedableRng};

/// The Planetoid pickles shipped in the repository.
fn planetoid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/planetoid")
}

/// The flat-array copy beside the checkout; the tests that need it are ignored by
/// default and fail (never skip) when run without it.
fn arrays_dir() -> PathBuf {
    // Beside the checkout, or beside the directory of worktrees it sits in.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates =
        [root.join(".."), root.join("../..")].map(|up| up.join("shared/datasets/planetoid-npz"));
    let Some(dir) = candidates.iter().find(|d| d.is_dir()) else {
        panic!(
            "{} is missing: this test cross-checks against the flat-array copy of Planetoid \
             that lives beside the checkout (shared/datasets/planetoid-npz)",
            candidates[0].display()
        );
    };
    dir.canonicalize().unwrap()
}

/// A fresh path under the temp dir, unique per process and call.
fn temp_path(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("gpu-vgae-test-{}-{n}-{name}", std::process::id()))
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = temp_path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A version-1 `.npy` file.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn isolated(g: &Graph) -> usize {
    g.degrees().iter().filter(|&&d| d == 0).count()
}

/// Asserts that `err` names `path` and says `problem`.
fn assert_names(err: gpu_vgae::Error, path: &Path, problem: &str) {
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name {}: {text}",
        path.display()
    );
    assert!(
        text.contains(problem),
        "error does not say `{problem}`: {text}"
    );
}

#[test]
fn cora_counts() {
    let dir = planetoid_dir();
    let g = load_planetoid(&dir, "cora").unwrap();
    let x = g.features.as_ref().unwrap();
    assert_eq!((g.num_nodes, g.num_edges()), (2708, 5278));
    assert_eq!((x.rows(), x.cols(), x.nnz()), (2708, 1433, 49216));
    assert_eq!(g.num_classes(), Some(7));
    assert!(g.labels.as_ref().unwrap().iter().all(|&l| l >= 0));
    assert_eq!(isolated(&g), 0);
    assert_eq!(g.edge_stats.input_pairs, 10858);
    assert_eq!(g.edge_stats.self_loops, 0);
    assert_eq!(g.edge_stats.reverse_pairs, 5278);
    assert_eq!(g.edges.first(), Some(&(0, 633)));
    assert!(g.notes.is_empty());
}

#[test]
fn citeseer_counts() {
    let dir = planetoid_dir();
    let g = load_planetoid(&dir, "CiteSeer").unwrap();
    let x = g.features.as_ref().unwrap();
    assert_eq!(g.name, "citeseer");
    assert_eq!((g.num_nodes, g.num_edges()), (3327, 4552));
    assert_eq!((x.rows(), x.cols(), x.nnz()), (3327, 3703, 105165));
    assert_eq!(g.num_classes(), Some(6));
    assert_eq!(isolated(&g), 48);
    assert_eq!(g.edge_stats.self_loops, 248);
    let labels = g.labels.as_ref().unwrap();
    let degrees = g.degrees();
    let padded: Vec<usize> = (0..g.num_nodes)
        .filter(|&i| x.row_range(i).is_empty())
        .collect();
    assert_eq!(padded.len(), 15);
    for &i in &padded {
        assert_eq!(labels[i], -1, "padded node {i} has a label");
        assert!(degrees[i] > 0, "padded node {i} is isolated");
    }
    assert_eq!(labels.iter().filter(|&&l| l == -1).count(), 15);
}

#[test]
fn pubmed_loads_graph_only_without_allx() {
    let dir = planetoid_dir();
    assert!(
        !dir.join("ind.pubmed.allx").exists(),
        "the repository's copy lacks ind.pubmed.allx (see datasets/planetoid/README.md)"
    );
    let g = load_planetoid(&dir, "pubmed").unwrap();
    assert_eq!((g.num_nodes, g.num_edges()), (19717, 44324));
    assert!(g.features.is_none());
    assert_eq!(g.num_classes(), Some(3));
    assert_eq!(isolated(&g), 0);
    assert_eq!(g.edge_stats.input_pairs, 88676);
    assert_eq!(g.edge_stats.self_loops, 6);
    assert!(
        g.notes.iter().any(|n| n.contains("ind.pubmed.allx")),
        "{:?}",
        g.notes
    );
}

#[test]
#[ignore = "needs ../shared/datasets/planetoid-npz (run with -- --ignored npz)"]
fn pickles_equal_flat_arrays_exactly_npz() {
    let (pickles, arrays) = (planetoid_dir(), arrays_dir());
    for (name, flat) in [
        ("cora", "cora"),
        ("citeseer", "citeseer"),
        ("pubmed", "pubmed_graphonly"),
    ] {
        if name == "pubmed" && pickles.join("ind.pubmed.allx").exists() {
            continue;
        }
        let from_pickle = load_planetoid(&pickles, name).unwrap();
        let from_bin = load_flat_arrays(&arrays.join(flat)).unwrap();
        let from_npz = load_npz(&arrays.join(format!("{flat}.npz"))).unwrap();
        for other in [&from_bin, &from_npz] {
            assert_eq!(other.name, flat);
            assert_eq!(from_pickle.num_nodes, other.num_nodes, "{name}");
            assert_eq!(from_pickle.edges, other.edges, "{name} edges");
            assert_eq!(from_pickle.labels, other.labels, "{name} labels");
            match (&from_pickle.features, &other.features) {
                (Some(a), Some(b)) => {
                    assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()), "{name} shape");
                    assert_eq!(a.row_ptr(), b.row_ptr(), "{name} indptr");
                    assert_eq!(a.col_idx(), b.col_idx(), "{name} indices");
                    assert_eq!(a.values(), b.values(), "{name} data");
                }
                (None, None) => {}
                _ => panic!("{name}: only one form has features"),
            }
            // The flat arrays are already clean.
            assert_eq!(other.edge_stats.input_pairs, other.num_edges());
        }
    }
}

#[test]
fn mutated_real_pickles_never_panic() {
    let dir = planetoid_dir();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2016);
    for file in [
        "ind.cora.y",
        "ind.cora.x",
        "ind.citeseer.graph",
        "ind.pubmed.ty",
    ] {
        let path = dir.join(file);
        let original = std::fs::read(&path).unwrap();
        assert!(
            pickle::parse(&original, &path).is_ok(),
            "{file} itself must parse"
        );
        for case in 0..200 {
            let mut bytes = original.clone();
            match case % 4 {
                // Truncation anywhere.
                0 => bytes.truncate(rng.random_range(0..bytes.len())),
                // A few random bytes overwritten, mostly in the opcode-dense head.
                1 => {
                    for _ in 0..rng.random_range(1..5) {
                        let at = rng.random_range(0..bytes.len().min(2000));
                        bytes[at] = rng.random();
                    }
                }
                // A random byte inserted or removed: shifts every later field.
                2 => {
                    let at = rng.random_range(0..bytes.len());
                    if rng.random_bool(0.5) {
                        bytes.insert(at, rng.random());
                    } else {
                        bytes.remove(at);
                    }
                }
                // Pure noise after a valid protocol header.
                _ => {
                    bytes = b"\x80\x02".to_vec();
                    bytes.extend((0..rng.random_range(0..512)).map(|_| rng.random::<u8>()));
                }
            }
            let result = std::panic::catch_unwind(|| pickle::parse(&bytes, &path).map(|_| ()));
            match result {
                Ok(Err(e)) => assert!(e.to_string().contains(file), "{e}"),
                Ok(Ok(())) => {}
                Err(_) => panic!("{file}: panic on mutation case {case}"),
            }
        }
    }
}

#[test]
fn bad_pickles_name_the_file_and_problem() {
    let empty = temp_file("empty.pkl", b"");
    assert_names(pickle::read(&empty).unwrap_err(), &empty, "empty");

    let list = temp_file("list.pkl", b"\x80\x02]q\x00.");
    assert_names(pickle::read(&list).unwrap_err(), &list, "holds a list");

    let noise: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8).collect();
    let random = temp_file("random.pkl", &noise);
    assert_names(pickle::read(&random).unwrap_err(), &random, "pickle byte 0");

    // A valid array pickle where a CSR matrix is expected.
    let array = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01K\x01\x85cnumpy\ndtype\nU\x02i4K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x04\x07\x00\x00\x00tb.";
    let array_path = temp_file("array.pkl", array);
    assert_eq!(pickle::read_array(&array_path).unwrap().shape, vec![1usize]);
    assert_names(
        pickle::read_csr(&array_path).unwrap_err(),
        &array_path,
        "expected a pickle of a scipy CSR matrix, found a numpy array",
    );

    let dir = planetoid_dir();
    let y = std::fs::read(dir.join("ind.cora.y")).unwrap();
    let cut = temp_file("ind.cora.y", &y[..y.len() / 2]);
    assert_names(pickle::read(&cut).unwrap_err(), &cut, "truncated");
}

#[cfg(unix)]
#[test]
fn planetoid_missing_file_is_reported() {
    let dir = planetoid_dir();
    let partial = temp_path("planetoid-partial");
    std::fs::create_dir_all(&partial).unwrap();
    for suffix in ["tx", "ally", "ty", "graph", "test.index"] {
        let name = format!("ind.cora.{suffix}");
        std::os::unix::fs::symlink(dir.join(&name), partial.join(&name)).unwrap();
    }
    let err = load_planetoid(&partial, "cora").unwrap_err().to_string();
    assert!(err.contains("missing ind.cora.allx ("), "{err}");
    assert!(err.contains("ind.cora.test.index") && err.contains("kimiyoung/planetoid"));
    assert!(err.contains(&partial.display().to_string()), "{err}");
    std::fs::remove_dir_all(&partial).unwrap();
}

#[test]
#[ignore = "needs ../shared/datasets/planetoid-npz (run with -- --ignored npz)"]
fn corrupt_npz_is_reported() {
    let arrays = arrays_dir();
    let bytes = std::fs::read(arrays.join("cora.npz")).unwrap();
    let cut = temp_file("cut.npz", &bytes[..bytes.len() / 3]);
    assert_names(load_npz(&cut).unwrap_err(), &cut, "truncated");
    let mut flipped = bytes.clone();
    flipped[300] ^= 0x40;
    let flipped_path = temp_file("flipped.npz", &flipped);
    assert_names(
        load_npz(&flipped_path).unwrap_err(),
        &flipped_path,
        "CRC-32",
    );
}

#[test]
fn edge_list_with_string_ids_header_and_labels() {
    let edges = temp_file(
        "people.csv",
        b"# who knows whom\nsource,target\nalice,bob\nbob,carol\ncarol,alice\nbob,alice\ndave,dave\nerin,alice\n",
    );
    let labels = temp_file("people.labels", b"node label\nalice 1\ncarol 0\n");
    let options = EdgeListOptions {
        labels: Some(labels),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    let ids = g.node_ids.as_ref().unwrap().to_strings();
    assert_eq!(ids, ["alice", "bob", "carol", "dave", "erin"]);
    assert_eq!(g.edges, vec![(0, 1), (0, 2), (0, 4), (1, 2)]);
    assert_eq!(g.edge_stats.self_loops, 1);
    assert_eq!(g.edge_stats.reverse_pairs, 1);
    assert_eq!(g.labels, Some(vec![1, -1, 0, -1, -1]));
    assert_eq!(g.name, edges.file_stem().unwrap().to_string_lossy());
}

#[test]
fn edge_list_with_integer_ids_and_features() {
    let edges = temp_file("g.tsv", b"% comment\n0\t1\n1\t2\t0.5\n2\t0\n");
    let features = temp_file(
        "x.npy",
        &npy(
            "<f4",
            "(4, 2)",
            &f32_bytes(&[1., 0., 0., 2., 0., 0., 3., 4.]),
        ),
    );
    let options = EdgeListOptions {
        features: Some(features),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(g.num_nodes, 4);
    assert_eq!(isolated(&g), 1);
    assert_eq!(g.features.as_ref().unwrap().nnz(), 4);
    assert!(g.node_ids.is_none());
    assert_eq!(g.notes.len(), 2, "{:?}", g.notes);
    assert!(g.notes[0].contains("weight column"), "{:?}", g.notes);
    assert!(
        g.notes[1].contains("1 feature rows of") && g.notes[1].contains("became isolated nodes"),
        "{:?}",
        g.notes
    );

    // Without a node count, sparse integer ids are compacted in increasing order.
    let sparse = temp_file("sparse.txt", b"100 7\n7 3000000000\n");
    let g = load_edge_list(&sparse, &EdgeListOptions::default()).unwrap();
    assert_eq!(
        g.node_ids,
        Some(NodeIds::Integers(vec![7, 100, 3_000_000_000]))
    );
    assert_eq!(g.edges, vec![(0, 1), (0, 2)]);
}

#[test]
fn bad_edge_lists_name_the_file_and_line() {
    let options = EdgeListOptions {
        num_nodes: Some(3),
        ..Default::default()
    };
    let out_of_range = temp_file("range.txt", b"0 1\n1 5\n");
    let path_line = |p: &Path, line: usize| format!("{}:{line}:", p.display());
    let err = load_edge_list(&out_of_range, &options).unwrap_err();
    assert_names(
        err,
        &out_of_range,
        &format!("{} node id 5 is out of range", path_line(&out_of_range, 2)),
    );

    let non_numeric = temp_file("nonnum.txt", b"0 1\n1 x\n");
    let err = load_edge_list(&non_numeric, &EdgeListOptions::default()).unwrap_err();
    assert_names(
        err,
        &non_numeric,
        &format!("{} non-numeric node id `x`", path_line(&non_numeric, 2)),
    );

    let empty_field = temp_file("emptyfield.csv", b"0,1\n1,,2\n");
    let err = load_edge_list(&empty_field, &EdgeListOptions::default()).unwrap_err();
    assert_names(
        err,
        &empty_field,
        &format!("{} field 2 is empty", path_line(&empty_field, 2)),
    );

    let columns = temp_file("columns.txt", b"0 1\n1 2 3 4\n");
    let err = load_edge_list(&columns, &EdgeListOptions::default()).unwrap_err();
    assert_names(
        err,
        &columns,
        &format!("{} expected 2 fields", path_line(&columns, 2)),
    );

    let no_edges = temp_file("none.txt", b"# nothing here\n\n");
    let err = load_edge_list(&no_edges, &EdgeListOptions::default()).unwrap_err();
    assert_names(err, &no_edges, "no edges");

    let loops = temp_file("loops.txt", b"1 1\n2 2\n");
    let err = load_edge_list(&loops, &EdgeListOptions::default()).unwrap_err();
    assert_names(err, &loops, "no edges left after removing self loops");

    let missing = temp_path("does-not-exist.txt");
    assert_names(
        load_edge_list(&missing, &EdgeListOptions::default()).unwrap_err(),
        &missing,
        "No such file",
    );
}

#[test]
fn bad_features_name_the_file() {
    let edges = temp_file("feat-edges.txt", b"0 1\n1 2\n");
    let rows4 = temp_file(
        "rows4.npy",
        &npy("<f4", "(4, 1)", &f32_bytes(&[1., 2., 3., 4.])),
    );
    let options = EdgeListOptions {
        num_nodes: Some(5),
        features: Some(rows4.clone()),
        ..Default::default()
    };
    let err = load_edge_list(&edges, &options).unwrap_err();
    assert_names(err, &rows4, "has 4 rows but the graph has 5 nodes");

    let nan = temp_file(
        "nan.npy",
        &npy("<f4", "(3, 1)", &f32_bytes(&[1., f32::NAN, 3.])),
    );
    let options = EdgeListOptions {
        features: Some(nan.clone()),
        ..Default::default()
    };
    let err = load_edge_list(&edges, &options).unwrap_err();
    assert_names(err, &nan, "feature value NaN at row 1, column 0");

    let complex = temp_file("complex.npy", &npy("<c8", "(3, 1)", &[0; 24]));
    let options = EdgeListOptions {
        features: Some(complex.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&edges, &options).unwrap_err(),
        &complex,
        "unsupported .npy dtype '<c8'",
    );
    let vector = temp_file("vector.npy", &npy("<f4", "(3,)", &f32_bytes(&[1., 2., 3.])));
    let options = EdgeListOptions {
        features: Some(vector.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&edges, &options).unwrap_err(),
        &vector,
        "features must be a 2-D numeric matrix",
    );

    let strings = temp_file("strings.txt", b"a b\n");
    let options = EdgeListOptions {
        features: Some(rows4.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&strings, &options).unwrap_err(),
        &strings,
        "integer node ids",
    );
}

#[test]
fn sparse_matrix_market_features_load_and_bad_ones_are_named() {
    use gpu_vgae::internal::data::{load_edge_list, EdgeListOptions};
    let dir = std::env::temp_dir().join(format!("gpu-vgae-mtx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let edges = dir.join("edges.txt");
    std::fs::write(&edges, "0 1\n1 2\n2 3\n").unwrap();
    let good = dir.join("x.mtx");
    std::fs::write(
        &good,
        "%%MatrixMarket matrix coordinate real general\n% written by scipy\n4 3 4\n1 1 1.0\n2 3 0.5\n4 2 2\n4 2 1\n",
    )
    .unwrap();
    let options = EdgeListOptions {
        features: Some(good),
        ..Default::default()
    };
    let graph = load_edge_list(&edges, &options).unwrap();
    let x = graph.features.unwrap();
    assert_eq!((x.rows(), x.cols(), x.nnz()), (4, 3, 3));
    assert_eq!(
        x.to_dense(),
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0]
    );

    let cases = [
        (
            "banner.mtx",
            "%%MatrixMarket matrix array real general\n4 3\n",
            ":1",
        ),
        (
            "range.mtx",
            "%%MatrixMarket matrix coordinate real general\n4 3 1\n5 1 1.0\n",
            ":3: row `5`",
        ),
        (
            "nan.mtx",
            "%%MatrixMarket matrix coordinate real general\n4 3 1\n1 1 nan\n",
            ":3: value `nan`",
        ),
        (
            "count.mtx",
            "%%MatrixMarket matrix coordinate pattern general\n4 3 2\n1 1\n",
            "promises 2 entries",
        ),
        (
            "rows.mtx",
            "%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 1\n",
            "rows.mtx",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let options = EdgeListOptions {
            features: Some(path),
            ..Default::default()
        };
        let message = load_edge_list(&edges, &options).unwrap_err().to_string();
        assert!(
            message.contains(name) && message.contains(needle),
            "{name}: {message}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A copy of the cora files (and SHA256SUMS) in a fresh directory.
fn cora_copy(name: &str) -> PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(planetoid_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.starts_with("ind.cora.") || file == "SHA256SUMS" {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
    dir
}

#[test]
fn planetoid_files_are_checked_against_sha256sums() {
    // The repository's files match their digests: no note.
    for name in ["cora", "citeseer", "pubmed"] {
        let g = load_planetoid(&planetoid_dir(), name).unwrap();
        assert!(
            g.notes.iter().all(|n| !n.contains("verified")),
            "{name}: {:?}",
            g.notes
        );
    }

    // One flipped byte: the error names the file and both digests.
    let dir = cora_copy("sha-flip");
    let graph_file = dir.join("ind.cora.graph");
    let mut bytes = std::fs::read(&graph_file).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&graph_file, &bytes).unwrap();
    let expected = "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d";
    let err = load_planetoid(&dir, "cora").unwrap_err();
    let text = err.to_string();
    assert_names(err, &graph_file, "SHA-256 mismatch");
    assert!(text.contains(expected), "{text}");
    let actual = text.split("the file has ").nth(1).unwrap();
    assert!(
        actual.len() > 64 && actual[..64].bytes().all(|b| b.is_ascii_hexdigit()),
        "{text}"
    );
    assert_ne!(&actual[..64], expected);

    // Without SHA256SUMS the files load, and the notes say they were not verified.
    std::fs::write(
        &graph_file,
        std::fs::read(planetoid_dir().join("ind.cora.graph")).unwrap(),
    )
    .unwrap();
    std::fs::remove_file(dir.join("SHA256SUMS")).unwrap();
    let g = load_planetoid(&dir, "cora").unwrap();
    assert_eq!(g.num_edges(), 5278);
    assert!(
        g.notes.iter().any(|n| n.contains("no SHA256SUMS")),
        "{:?}",
        g.notes
    );

    // A SHA256SUMS that does not list a file read: loaded, and noted.
    let sums = std::fs::read_to_string(planetoid_dir().join("SHA256SUMS")).unwrap();
    let without_tx: String = sums
        .lines()
        .filter(|l| !l.ends_with("ind.cora.tx"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("SHA256SUMS"), without_tx).unwrap();
    let g = load_planetoid(&dir, "cora").unwrap();
    assert!(
        g.notes
            .iter()
            .any(|n| n.contains("not verified") && n.contains("ind.cora.tx")),
        "{:?}",
        g.notes
    );

    // A malformed SHA256SUMS is an error naming it and the line.
    std::fs::write(dir.join("SHA256SUMS"), "not a digest\n").unwrap();
    let err = load_planetoid(&dir, "cora").unwrap_err();
    assert_names(
        err,
        &dir.join("SHA256SUMS"),
        &format!("{}:1: expected", dir.join("SHA256SUMS").display()),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Collects the progress callback's phases.
#[test]
fn edge_list_reports_its_phases() {
    let edges = temp_file("phases.txt", b"a b\nb c\n");
    let labels = temp_file("phases.labels", b"a x\n");
    let seen = RefCell::new(Vec::new());
    let report = |phase: LoadPhase, took: Duration| {
        assert!(took < Duration::from_secs(60));
        seen.borrow_mut().push(phase);
    };
    let options = EdgeListOptions {
        labels: Some(labels),
        progress: Some(&report),
        ..Default::default()
    };
    load_edge_list(&edges, &options).unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            LoadPhase::Read,
            LoadPhase::Parse,
            LoadPhase::MapIds,
            LoadPhase::Normalise,
            LoadPhase::Labels
        ]
    );
}

#[test]
fn keyed_csv_features_follow_the_edge_list_ids() {
    let edges = temp_file(
        "keyed-edges.csv",
        b"source,target\nbob,alice\nalice,carol\n",
    );
    // Rows in another order than the ids appear; header names the id column.
    let features = temp_file(
        "keyed.csv",
        b"# features\nf1,name,f2\n0.5,carol,1\n1.5,alice,0\n-2,bob,3e2\n",
    );
    let options = EdgeListOptions {
        features: Some(features.clone()),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(
        g.node_ids.as_ref().unwrap().to_strings(),
        ["bob", "alice", "carol"]
    );
    let x = g.features.as_ref().unwrap();
    assert_eq!((x.rows(), x.cols()), (3, 2));
    assert_eq!(x.to_dense(), [-2.0, 300.0, 1.5, 0.0, 0.5, 1.0]);
    assert_eq!(g.feature_layout, FeatureLayout::Dense);

    // Integer ids, compacted without a node count; a TSV without header; "007" is 7.
    let edges = temp_file("keyed-int.txt", b"7 100\n100 3\n");
    let features = temp_file("keyed-int.tsv", b"100\t1\n007\t2\n3\t3\n");
    let options = EdgeListOptions {
        features: Some(features),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(g.node_ids, Some(NodeIds::Integers(vec![3, 7, 100])));
    assert_eq!(g.features.unwrap().to_dense(), [3.0, 2.0, 1.0]);

    // With a node count: ids are indices, isolated nodes need rows too (or zeros).
    let edges = temp_file("keyed-n.txt", b"0 1\n");
    let features = temp_file("keyed-n.txt.feat", b"node x y\n1 1 1\n0 2 2\n");
    let options = EdgeListOptions {
        num_nodes: Some(4),
        features: Some(features.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&edges, &options).unwrap_err(),
        &features,
        "2 of the graph's 4 nodes have no feature row: 2, 3",
    );
    let options = EdgeListOptions {
        missing_features: MissingFeatures::Zero,
        ..options
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(
        g.features.as_ref().unwrap().to_dense(),
        [2., 2., 1., 1., 0., 0., 0., 0.]
    );
    assert!(
        g.notes
            .iter()
            .any(|n| n.contains("2 of 4 nodes have no row")),
        "{:?}",
        g.notes
    );

    // The public reader works on any graph, e.g. a Planetoid one (ids 0..N).
    let cora = load_planetoid(&planetoid_dir(), "cora").unwrap();
    let some = temp_file("cora-extra.csv", b"id,a\n0,1\n2707,2\n");
    let f = read_features(&some, &cora, MissingFeatures::Zero).unwrap();
    assert_eq!(
        (f.matrix.rows(), f.matrix.cols(), f.matrix.nnz()),
        (2708, 1, 2)
    );
    assert_eq!(f.layout, FeatureLayout::Dense);
    assert!(read_features(&some, &cora, MissingFeatures::Error).is_err());
}

#[test]
fn bad_keyed_features_name_file_line_and_column() {
    let edges = temp_file("badkeyed-edges.txt", b"a b\nb c\n");
    let cases: [(&str, &[u8], &str); 8] = [
        (
            "unknown.csv",
            b"id,x\na,1\nb,2\nc,3\nzed,4\n",
            ":5: node `zed` is not in the graph",
        ),
        (
            "dup.csv",
            b"id,x\na,1\nb,2\na,3\nc,3\n",
            ":4: node `a` has a second feature row (the first is on line 2)",
        ),
        (
            "nan.csv",
            b"id,x,y\na,1,2\nb,nan,2\nc,1,1\n",
            ":3: column 2 (`x`): `nan` is not a finite number",
        ),
        (
            "inf.tsv",
            b"a\t1\nb\t2\nc\t-inf\n",
            ":3: column 2: `-inf` is not a finite number",
        ),
        (
            "big.csv",
            b"id,x\na,1\nb,1e39\nc,1\n",
            ":3: column 2 (`x`): `1e39` is not a finite number",
        ),
        (
            "word.csv",
            b"id,x\na,1\nb,one\nc,1\n",
            ":3: column 2 (`x`): `one` is not a finite number",
        ),
        (
            "short.csv",
            b"id,x,y\na,1,2\nb,2\nc,1,1\n",
            ":3: expected 3 fields (a node id and 2 values), found 2",
        ),
        (
            "missing.csv",
            b"id,x\na,1\n",
            "2 of the graph's 3 nodes have no feature row: b, c",
        ),
    ];
    for (name, text, needle) in cases {
        let path = temp_file(name, text);
        let options = EdgeListOptions {
            features: Some(path.clone()),
            ..Default::default()
        };
        assert_names(load_edge_list(&edges, &options).unwrap_err(), &path, needle);
    }
}

#[test]
fn labels_may_be_class_names_and_serve_training_labels() {
    let edges = temp_file("named.txt", b"1 2\n2 3\n3 4\n");
    let labels = temp_file(
        "named.labels",
        b"node,label\n3,theory\n1,ml\n4,theory\n2,\n",
    );
    let options = EdgeListOptions {
        labels: Some(labels),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(g.labels, Some(vec![1, -1, 0, 0]));
    assert_eq!(g.class_names, Some(vec!["theory".into(), "ml".into()]));
    assert_eq!(g.num_classes(), Some(2));

    // Training labels through the same reader keep the graph's class numbers.
    let train = temp_file("train.labels", b"2 ml\n4 vision\n");
    let t = read_labels(&train, &g).unwrap();
    assert_eq!(t.labels, vec![-1, 1, -1, 2]);
    assert_eq!(
        t.class_names,
        Some(vec!["theory".into(), "ml".into(), "vision".into()])
    );
    assert_eq!(t.labelled(), 2);

    // Unknown ids name the file and line.
    let bad = temp_file("bad.labels", b"1 ml\n\n9 ml\n");
    assert_names(
        read_labels(&bad, &g).unwrap_err(),
        &bad,
        ":3: node `9` is not in the graph",
    );

    // On a Planetoid graph ids are 0..N-1 and integer labels stay integers.
    let cora = load_planetoid(&planetoid_dir(), "cora").unwrap();
    let train = temp_file("cora-train.labels", b"0 3\n2707 6\n5 -1\n");
    let t = read_labels(&train, &cora).unwrap();
    assert_eq!((t.labels[0], t.labels[2707], t.labels[5]), (3, 6, -1));
    assert_eq!(t.class_names, None);
    let outside = temp_file("cora-out.labels", b"0 3\n2708 1\n");
    assert_names(
        read_labels(&outside, &cora).unwrap_err(),
        &outside,
        ":2: node `2708` is not in the graph (ids are integers 0..2708)",
    );
}

#[test]
fn feature_normalisation_on_loaded_graphs() {
    // Planetoid features are sparse: row sums become 1, standard keeps the zeros.
    let mut g = load_planetoid(&planetoid_dir(), "cora").unwrap();
    assert_eq!(g.feature_layout, FeatureLayout::Sparse);
    let raw = g.features.clone().unwrap();
    g.normalize_features(FeatureNormalization::Row).unwrap();
    let x = g.features.as_ref().unwrap();
    for r in 0..x.rows() {
        let sum: f32 = x.values()[x.row_range(r)].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {r} sums to {sum}");
    }
    let standard =
        normalize_features(&raw, FeatureNormalization::Standard, g.feature_layout).unwrap();
    assert_eq!(standard.nnz(), raw.nnz());
    assert_eq!(standard.col_idx(), raw.col_idx());

    // Dense .npy features are centred: every column ends with mean 0, variance 1.
    let edges = temp_file("norm-edges.txt", b"0 1\n1 2\n");
    let features = temp_file(
        "norm.npy",
        &npy("<f4", "(3, 2)", &f32_bytes(&[1., 0., 2., 5., 3., 0.])),
    );
    let options = EdgeListOptions {
        features: Some(features),
        ..Default::default()
    };
    let mut g = load_edge_list(&edges, &options).unwrap();
    assert_eq!(g.feature_layout, FeatureLayout::Dense);
    g.normalize_features(FeatureNormalization::Standard)
        .unwrap();
    let d = g.features.unwrap().to_dense();
    for c in 0..2 {
        let col: Vec<f32> = (0..3).map(|r| d[r * 2 + c]).collect();
        let mean = col.iter().sum::<f32>() / 3.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 3.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5, "{col:?}");
    }
    // Column 0 is [1, 2, 3]: (x - 2) / sqrt(2/3).
    let s = (2.0f32 / 3.0).sqrt();
    assert!((d[0] + 1.0 / s).abs() < 1e-6 && d[2].abs() < 1e-7 && (d[4] - 1.0 / s).abs() < 1e-6);
}

/// `.npy` edge arrays: both shapes, both orders, four dtypes, big-endian.
#[test]
fn npy_edge_arrays_load() {
    fn npy_full(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }
    // Edges (0,1), (1,2), (2,0), (3,3), (1,0).
    let edge_rows: [[u64; 2]; 5] = [[0, 1], [1, 2], [2, 0], [3, 3], [1, 0]];
    let expected = vec![(0, 1), (0, 2), (1, 2)];
    // Storage order of the elements for (E, 2) or (2, E), C or Fortran.
    let layout = |transpose: bool, fortran: bool| -> Vec<u64> {
        let (rows, cols) = if transpose { (2, 5) } else { (5, 2) };
        let at = |r: usize, c: usize| {
            if transpose {
                edge_rows[c][r]
            } else {
                edge_rows[r][c]
            }
        };
        let mut out = Vec::new();
        if fortran {
            for c in 0..cols {
                for r in 0..rows {
                    out.push(at(r, c));
                }
            }
        } else {
            for r in 0..rows {
                for c in 0..cols {
                    out.push(at(r, c));
                }
            }
        }
        out
    };
    for (descr, size) in [
        ("<i4", 4),
        ("<i8", 8),
        ("<u4", 4),
        ("<u8", 8),
        (">i8", 8),
        (">u4", 4),
    ] {
        for transpose in [false, true] {
            for fortran in [false, true] {
                let values = layout(transpose, fortran);
                let data: Vec<u8> = values
                    .iter()
                    .flat_map(|&v| {
                        let le = v.to_le_bytes();
                        let mut w = le[..size].to_vec();
                        if descr.starts_with('>') {
                            w.reverse();
                        }
                        w
                    })
                    .collect();
                let shape = if transpose { "(2, 5)" } else { "(5, 2)" };
                let path = temp_file("edges.npy", &npy_full(descr, fortran, shape, &data));
                let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
                let what = format!("{descr} {shape} fortran={fortran}");
                assert_eq!(g.edges, expected, "{what}");
                assert_eq!(
                    g.node_ids,
                    Some(NodeIds::Integers(vec![0, 1, 2, 3])),
                    "{what}"
                );
                assert_eq!(g.edge_stats.self_loops, 1);
                assert_eq!(g.edge_stats.reverse_pairs, 1);
            }
        }
    }
    // With a node count the ids are indices, and out-of-range ones name the edge.
    let data: Vec<u8> = [0i32, 1, 1, 7]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let path = temp_file("range.npy", &npy("<i4", "(2, 2)", &data));
    let options = EdgeListOptions {
        num_nodes: Some(5),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&path, &options).unwrap_err(),
        &path,
        "edge 1: node id 7 is out of range: the graph has 5 nodes",
    );
}

#[test]
fn bad_npy_edge_arrays_are_named() {
    let i64s = |v: &[i64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let u64s = |v: &[u64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "float.npy",
            npy("<f4", "(1, 2)", &f32_bytes(&[0., 1.])),
            "edges must be an integer array (int8 to int64, uint8 to uint64), found float32",
        ),
        (
            "strings.npy",
            npy("<U3", "(1, 2)", &[0; 24]),
            "unsupported .npy dtype '<U3'",
        ),
        (
            "shape.npy",
            npy("<i8", "(3, 3)", &i64s(&[0; 9])),
            "shape (E, 2) or (2, E), found [3, 3]",
        ),
        ("rank.npy", npy("<i8", "(4,)", &i64s(&[0; 4])), "found [4]"),
        (
            "negative.npy",
            npy("<i8", "(2, 2)", &i64s(&[0, 1, -3, 1])),
            "edge 1: node id -3 is negative",
        ),
        (
            "wide.npy",
            npy("<u8", "(1, 2)", &u64s(&[0, 1 << 32])),
            "edge 0: node id 4294967296 does not fit in 32 bits",
        ),
        (
            "wide-signed.npy",
            npy("<i8", "(1, 2)", &i64s(&[5_000_000_000, 1])),
            "does not fit in 32 bits",
        ),
        (
            "short.npy",
            npy("<i8", "(3, 2)", &i64s(&[0; 5])),
            "needs 48 bytes of data, found 40",
        ),
        ("empty.npy", npy("<i4", "(0, 2)", &[]), "no edges"),
        (
            "loops.npy",
            npy("<i4", "(1, 2)", &[1, 0, 0, 0, 1, 0, 0, 0]),
            "no edges left after removing self loops",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = temp_file(name, &bytes);
        assert_names(
            load_edge_list(&path, &EdgeListOptions::default()).unwrap_err(),
            &path,
            needle,
        );
    }
}

/// Headers that declare far more than the file holds are refused at once, before any
/// allocation of that size.
#[test]
fn huge_header_sizes_are_refused_quickly() {
    let quick = |what: &str, started: Instant| {
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    };
    let edges = temp_file("huge-edges.txt", b"0 1\n1 2\n2 3\n");
    let mtx_cases: [(&str, &str, Option<usize>, &str); 5] = [
        (
            "rows-fixed.mtx",
            "%%MatrixMarket matrix coordinate real general\n4000000000 3 1\n1 1 1.0\n",
            Some(4),
            ":2: the header declares 4000000000 rows, but the graph has 4 nodes",
        ),
        (
            "rows.mtx",
            "%%MatrixMarket matrix coordinate real general\n4000000000 3 1\n2 1 1.0\n",
            None,
            ":2: the header declares 4000000000 rows, but the edge list's largest node id is 3 \
             and the entries use rows up to 2",
        ),
        (
            "entries.mtx",
            "%%MatrixMarket matrix coordinate real general\n4 3 1000000000000\n1 1 1.0\n",
            None,
            ":2: the header declares 1000000000000 entries, but the 9 bytes after it hold at most 3",
        ),
        (
            "cols.mtx",
            "%%MatrixMarket matrix coordinate pattern general\n4 4000000000 1\n1 1\n",
            None,
            ":2: the header declares 4000000000 columns, but the entries use columns up to 1",
        ),
        (
            "too-many.mtx",
            "%%MatrixMarket matrix coordinate pattern general\n4 3 99999999999999999999999\n1 1\n",
            None,
            ":2: expected `rows cols entries`",
        ),
    ];
    for (name, text, num_nodes, needle) in mtx_cases {
        let path = temp_file(name, text.as_bytes());
        let options = EdgeListOptions {
            num_nodes,
            features: Some(path.clone()),
            ..Default::default()
        };
        let started = Instant::now();
        let err = load_edge_list(&edges, &options).unwrap_err();
        quick(name, started);
        assert_names(err, &path, needle);
    }

    // .npy features: a shape of 4e9 x 1000 float32 with 4 bytes of data; an
    // overflowing shape.
    let npy_cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "huge.npy",
            npy("<f4", "(4000000000, 1000)", &[0; 4]),
            "needs 16000000000000 bytes of data, found 4",
        ),
        (
            "overflow.npy",
            npy("<f8", "(4000000000000, 4000000000000)", &[0; 8]),
            "overflows",
        ),
    ];
    for (name, bytes, needle) in &npy_cases {
        let path = temp_file(name, bytes);
        let options = EdgeListOptions {
            features: Some(path.clone()),
            ..Default::default()
        };
        let started = Instant::now();
        let err = load_edge_list(&edges, &options).unwrap_err();
        quick(name, started);
        assert_names(err, &path, needle);
    }
    // The same discipline for .npy edge arrays.
    let path = temp_file("huge-edges.npy", &npy("<i8", "(4000000000, 2)", &[0; 16]));
    let started = Instant::now();
    let err = load_edge_list(&path, &EdgeListOptions::default()).unwrap_err();
    quick("huge-edges.npy", started);
    assert_names(err, &path, "needs 64000000000 bytes of data, found 16");

    // Pickles: a byte string claiming 4 GiB, an array claiming 2^31 x 2^31 elements.
    let pkl = temp_file("huge.pkl", b"\x80\x02B\xff\xff\xff\xffabc");
    let started = Instant::now();
    let err = pickle::read(&pkl).unwrap_err();
    quick("huge.pkl", started);
    assert_names(err, &pkl, "truncated: needs 4294967295 more bytes, 3 left");
    let mut array = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01J\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x86cnumpy\ndtype\nU\x02i4K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x04".to_vec();
    array.extend_from_slice(b"\x07\x00\x00\x00tb.");
    let pkl = temp_file("huge-array.pkl", &array);
    let started = Instant::now();
    let err = pickle::read(&pkl).unwrap_err();
    quick("huge-array.pkl", started);
    assert_names(
        err,
        &pkl,
        "bad ndarray: int32 array of shape [2147483647, 2147483647] needs",
    );
}

/// Writes `lines` edges between `nodes` integer ids (a test-support generator), with a
/// comment and a header line on top; with `prefix`, ids are strings (`n123`).
fn write_edge_list(path: &Path, lines: usize, nodes: u32, seed: u64, prefix: &str) {
    use std::io::Write;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "# {lines} random edges\nsrc\tdst").unwrap();
    for _ in 0..lines {
        let a = rng.random_range(0..nodes);
        let b = rng.random_range(0..nodes);
        writeln!(out, "{prefix}{a}\t{prefix}{b}").unwrap();
    }
    out.flush().unwrap();
}

/// A multi-megabyte edge list goes through the parallel parser and the packed
/// normalisation; the result must equal a plain reference computed here.
#[test]
fn large_edge_list_matches_a_plain_reference() {
    let path = temp_path("large.tsv");
    write_edge_list(&path, 300_000, 40_000, 11, "");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut pairs: Vec<(u32, u32)> = text
        .lines()
        .skip(2)
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    let mut ids: Vec<u32> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    ids.sort_unstable();
    ids.dedup();
    let rank = |id: u32| ids.binary_search(&id).unwrap() as u32;
    let loops = pairs.iter().filter(|(a, b)| a == b).count();
    pairs.retain(|(a, b)| a != b);
    let mut edges: Vec<(u32, u32)> = pairs
        .iter()
        .map(|&(a, b)| (rank(a).min(rank(b)), rank(a).max(rank(b))))
        .collect();
    edges.sort_unstable();
    edges.dedup();

    let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
    assert_eq!(g.num_nodes, ids.len());
    assert_eq!(g.edges, edges);
    assert_eq!(g.edge_stats.input_pairs, 300_000);
    assert_eq!(g.edge_stats.self_loops, loops);
    assert_eq!(
        g.node_ids,
        Some(NodeIds::Integers(
            ids.iter().map(|&i| i64::from(i)).collect()
        ))
    );

    // With the node count the ids are used directly.
    let options = EdgeListOptions {
        num_nodes: Some(40_000),
        ..Default::default()
    };
    let direct = load_edge_list(&path, &options).unwrap();
    assert_eq!(direct.num_nodes, 40_000);
    assert_eq!(direct.num_edges(), g.num_edges());
    assert!(direct.node_ids.is_none());
    std::fs::remove_file(&path).unwrap();
}

/// CPU time (user + system, seconds) this process has used, from /proc/self/stat.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime is the 14th field
    // overall, stime the 15th, in clock ticks (100 a second on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Peak resident memory of this process so far (kB), from /proc/self/status.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Times a 10M-line edge list (1M nodes, integer ids). Ignored by default (it writes
/// ~140 MB); run alone for a clean peak-RSS figure:
/// `cargo test --release --test data_loading -- --ignored --exact edge_list_load_speed --nocapture`
/// (`GPU_VGAE_BENCH_EDGES=N` for another size, `GPU_VGAE_BENCH_STRINGS=1` for string ids).
#[test]
#[ignore = "benchmark: writes a 140 MB file; run explicitly"]
fn edge_list_load_speed() {
    let lines = std::env::var("GPU_VGAE_BENCH_EDGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000usize);
    // GPU_VGAE_BENCH_STRINGS=1 writes string ids (n123) instead.
    let prefix = match std::env::var("GPU_VGAE_BENCH_STRINGS").as_deref() {
        Ok("1") => "n",
        _ => "",
    };
    let path = temp_path("speed.tsv");
    write_edge_list(&path, lines, 1_000_000, 5, prefix);
    let before = peak_rss_kb();
    let phases = RefCell::new(Vec::new());
    let report = |phase: LoadPhase, took: Duration| phases.borrow_mut().push((phase, took));
    let options = EdgeListOptions {
        progress: Some(&report),
        ..Default::default()
    };
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let g = load_edge_list(&path, &options).unwrap();
    let took = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let bytes = std::fs::metadata(&path).unwrap().len();
    std::fs::remove_file(&path).unwrap();
    println!(
        "{lines} lines ({:.0} MB): {:.2} s ({:.2?} s of CPU), {:.2} M edges/s; {} nodes, {} edges; peak RSS {:?} kB (before: {:?} kB)",
        bytes as f64 / 1e6,
        took,
        cpu,
        lines as f64 / took / 1e6,
        g.num_nodes,
        g.num_edges(),
        peak_rss_kb(),
        before
    );
    for (phase, d) in phases.borrow().iter() {
        println!("  {phase}: {:.3} s", d.as_secs_f64());
    }
    assert!(g.num_nodes > 990_000);
}

#[test]
fn csr_from_features_is_finite_after_all_normalisations() {
    // Keyed features with extreme values, every normalisation.
    let edges = temp_file("extreme-edges.txt", b"0 1\n1 2\n");
    let features = temp_file(
        "extreme.csv",
        b"id,a,b,c\n0,3e38,1e-40,7\n1,-3e38,0,7\n2,3e38,1e-40,7.000001\n",
    );
    let options = EdgeListOptions {
        features: Some(features),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    for how in [
        FeatureNormalization::None,
        FeatureNormalization::Row,
        FeatureNormalization::Standard,
    ] {
        for layout in [FeatureLayout::Dense, FeatureLayout::Sparse] {
            let x: Csr = normalize_features(g.features.as_ref().unwrap(), how, layout).unwrap();
            assert!(x.values().iter().all(|v| v.is_finite()), "{how} {layout:?}");
        }
    }
}

/// pandas' `QUOTE_ALL` and R's `write.csv` write every field quoted, the header too: the
/// graph must be the one the unquoted file gives (50 nodes and 100 edges here, not a
/// header edge and ids with quotes in them).
#[test]
fn quoted_csv_edge_lists_read_like_plain_ones() {
    // A path through all 50 nodes, then random pairs up to 100 edges.
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut set: std::collections::BTreeSet<(u32, u32)> = (0..49u32).map(|i| (i, i + 1)).collect();
    while set.len() < 100 {
        let (a, b) = (rng.random_range(0..50u32), rng.random_range(0..50u32));
        if a < b {
            set.insert((a, b));
        }
    }
    let pairs: Vec<(u32, u32)> = set.into_iter().collect();
    let write = |name: &str, header: &str, line: &dyn Fn(u32, u32) -> String| {
        let mut text = format!("{header}\n");
        for &(a, b) in &pairs {
            text.push_str(&line(a, b));
            text.push('\n');
        }
        temp_file(name, text.as_bytes())
    };
    let plain = write("plain.csv", "source,target", &|a, b| format!("n{a},n{b}"));
    let pandas = write("pandas.csv", "\"source\",\"target\"", &|a, b| {
        format!("\"n{a}\",\"n{b}\"")
    });
    let r = write("r.csv", "\"from\",\"to\"", &|a, b| {
        format!("\"n{a}\",\"n{b}\"")
    });
    let tsv = write("quoted.tsv", "\"src\"\t\"dst\"", &|a, b| {
        format!("\"n{a}\"\t\"n{b}\"")
    });
    let spaced = write("spaced.txt", "\"from\" \"to\"", &|a, b| {
        format!("\"n{a}\" \"n{b}\"")
    });
    let expected = load_edge_list(&plain, &EdgeListOptions::default()).unwrap();
    assert_eq!((expected.num_nodes, expected.num_edges()), (50, 100));
    for path in [&pandas, &r, &tsv, &spaced] {
        let g = load_edge_list(path, &EdgeListOptions::default()).unwrap();
        assert_eq!(
            (g.num_nodes, g.num_edges()),
            (50, 100),
            "{}",
            path.display()
        );
        assert_eq!(g.edges, expected.edges, "{}", path.display());
        assert_eq!(g.node_ids, expected.node_ids, "{}", path.display());
    }
    // Quoted integer ids are integers.
    let ints = write("ints.csv", "\"source\",\"target\"", &|a, b| {
        format!("\"{a}\",\"{b}\"")
    });
    let g = load_edge_list(&ints, &EdgeListOptions::default()).unwrap();
    assert_eq!((g.num_nodes, g.num_edges()), (50, 100));
    assert!(matches!(g.node_ids, Some(NodeIds::Integers(_))));

    // Doubled quotes and separators inside quotes are text.
    let odd = temp_file(
        "odd.csv",
        b"\"a, \"\"the\"\" one\",b\nb,\"c\"\n\"a, \"\"the\"\" one\",c\n",
    );
    let g = load_edge_list(&odd, &EdgeListOptions::default()).unwrap();
    assert_eq!(
        g.node_ids.as_ref().unwrap().to_strings(),
        ["a, \"the\" one", "b", "c"]
    );
    assert_eq!(g.num_edges(), 3);
    // Malformed quoting names the file, line and field.
    let bad = temp_file("bad-quotes.csv", b"a,b\n\"b,c\n");
    assert_names(
        load_edge_list(&bad, &EdgeListOptions::default()).unwrap_err(),
        &bad,
        ":2: field 1: the quoted field does not end on its line",
    );
    let bad = temp_file("after-quote.csv", b"a,b\n\"b\"x,c\n");
    assert_names(
        load_edge_list(&bad, &EdgeListOptions::default()).unwrap_err(),
        &bad,
        ":2: field 1: `x,c` follows the closing quote",
    );
}

/// A first line is a header only if it holds no number: an id too large for 64 bits there
/// is an error naming the line, not a line silently dropped as column names.
#[test]
fn ids_too_large_are_errors_never_headers() {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "big-first.txt",
            b"18446744073709551616 1\n0 1\n1 2\n",
            ":1: node id `18446744073709551616` is too large",
        ),
        (
            "big-first.csv",
            b"\"1\",\"99999999999999999999\"\n0,1\n",
            ":1: node id `99999999999999999999` is too large",
        ),
        (
            "big-header.txt",
            b"source target\n-9223372036854775809 1\n",
            ":2: node id `-9223372036854775809` is too large",
        ),
        (
            "big-later.txt",
            b"0 1\n1 2\n2 18446744073709551616\n",
            ":3: node id `18446744073709551616` is too large",
        ),
    ];
    for (name, text, needle) in cases {
        let path = temp_file(name, text);
        assert_names(
            load_edge_list(&path, &EdgeListOptions::default()).unwrap_err(),
            &path,
            needle,
        );
    }
    // The largest ids that fit are ids.
    let path = temp_file("i64.txt", b"9223372036854775807 -9223372036854775808\n");
    let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
    assert_eq!(
        g.node_ids,
        Some(NodeIds::Integers(vec![i64::MIN, i64::MAX]))
    );
}

/// Self loops, duplicates and reversed pairs are counted in `Graph::edge_stats` and shown
/// in the graph's summary line (which the command line prints).
#[test]
fn removed_pairs_are_counted_and_shown() {
    let path = temp_file("dups.txt", b"0 1\n1 0\n0 1\n0 1\n2 2\n1 2\n3 3\n2 3\n");
    let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
    let s = g.edge_stats;
    assert_eq!(
        (s.input_pairs, s.self_loops, s.duplicates, s.reverse_pairs),
        (8, 2, 2, 1)
    );
    assert_eq!(g.num_edges(), 3);
    let summary = g.to_string();
    assert!(
        summary.ends_with(
            "(from 8 input pairs: 2 self loops and 2 duplicate pairs removed, 1 reverse pair merged)"
        ),
        "{summary}"
    );
    // A clean list shows nothing extra.
    let clean = temp_file("clean.txt", b"0 1\n1 2\n");
    let g = load_edge_list(&clean, &EdgeListOptions::default()).unwrap();
    assert!(!g.to_string().contains("input pairs"), "{g}");
}

/// `.npy` features with rows past the edge list's last node that hold nothing would
/// silently become isolated nodes: refused, as Matrix Market files with unused rows are.
/// Rows that do hold features there become isolated nodes, with a note.
#[test]
fn npy_features_with_extra_rows_are_refused() {
    let edges = temp_file("extra-edges.txt", b"0 1\n1 2\n3 4\n");
    let mut values = vec![1.0f32; 5 * 2];
    values.extend([0.0f32; 3 * 2]);
    let padded = temp_file("padded.npy", &npy("<f4", "(8, 2)", &f32_bytes(&values)));
    let options = EdgeListOptions {
        features: Some(padded.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&edges, &options).unwrap_err(),
        &padded,
        "has 8 rows, but the edge list's largest node id is 4 and rows past 5 hold only zeros",
    );
    // The same file with the node count given is fine.
    let options = EdgeListOptions {
        num_nodes: Some(8),
        features: Some(padded),
        ..Default::default()
    };
    assert_eq!(load_edge_list(&edges, &options).unwrap().num_nodes, 8);
    // Integer and float16 features load too (row 6 holds a value: 7 nodes, 2 isolated).
    let mut ints = vec![1u8; 5 * 2];
    ints.extend([0, 0, 0, 9]);
    let path = temp_file("ints.npy", &npy("|u1", "(7, 2)", &ints));
    let options = EdgeListOptions {
        features: Some(path),
        ..Default::default()
    };
    let g = load_edge_list(&edges, &options).unwrap();
    assert_eq!((g.num_nodes, isolated(&g)), (7, 2));
    assert_eq!(g.features.as_ref().unwrap().values().last(), Some(&9.0));
    assert!(
        g.notes
            .iter()
            .any(|n| n.contains("2 feature rows") && n.contains("isolated")),
        "{:?}",
        g.notes
    );
    let halves: Vec<u8> = [1.0f32, 0.5, -2.0, 0.25, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        .iter()
        .flat_map(|&v| half_bits(v).to_le_bytes())
        .collect();
    let path = temp_file("halves.npy", &npy("<f2", "(5, 2)", &halves));
    let options = EdgeListOptions {
        features: Some(path),
        ..Default::default()
    };
    let x = load_edge_list(&edges, &options).unwrap().features.unwrap();
    assert_eq!(&x.to_dense()[..4], &[1.0, 0.5, -2.0, 0.25]);
}

/// IEEE half-precision bits of `v` (exact for the small dyadic values used here).
fn half_bits(v: f32) -> u16 {
    if v == 0.0 {
        return 0;
    }
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mantissa = ((bits >> 13) & 0x3ff) as u16;
    sign | ((exp as u16) << 10) | mantissa
}

/// The last line of a file without a final newline is an edge like any other, on the
/// one-thread path and the parallel one, for integer, string and quoted ids.
#[test]
fn the_last_line_needs_no_newline() {
    for (name, text, last) in [
        ("ints.txt", "0 1\n1 2\n2 3", (2, 3)),
        ("crlf.csv", "0,1\r\n1,2\r\n7,3", (3, 4)),
        ("strings.tsv", "a\tb\nb\tc\nc\tz", (2, 3)),
        (
            "quoted.csv",
            "\"a\",\"b\"\n\"b\",\"c\"\n\"c\",\"z\"",
            (2, 3),
        ),
        ("header.csv", "source,target\n0,1\n5,2", (2, 3)),
    ] {
        let path = temp_file(name, text.as_bytes());
        let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
        assert_eq!(
            g.edge_stats.input_pairs,
            text.lines().count() - name.starts_with("header") as usize,
            "{name}"
        );
        assert!(
            g.edges.contains(&last),
            "{name}: the last line is lost: {:?}",
            g.edges
        );
    }
    // Large enough for several parsing threads; the last line has no newline.
    let mut text = String::new();
    for i in 0..300_000u32 {
        text.push_str(&format!("{i} {}\n", i + 1));
    }
    text.push_str("7 999999");
    let path = temp_file("big-no-newline.txt", text.as_bytes());
    let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
    assert_eq!(g.edge_stats.input_pairs, 300_001);
    let ids = g.node_ids.as_ref().unwrap();
    assert_eq!(ids.get(g.num_nodes - 1).unwrap(), "999999");
}

/// Inputs that are not files of text: a stream of NUL bytes (`/dev/zero` would otherwise
/// be read without end), random bytes, a directory, UTF-16 text, invalid UTF-8, one
/// endless line. Each is a prompt error naming the file (and line), never a panic.
#[test]
fn hostile_inputs_are_prompt_errors() {
    let quick = |what: &str, started: Instant| {
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "{what} took {took:?}");
    };
    #[cfg(unix)]
    {
        let zero = Path::new("/dev/zero");
        let started = Instant::now();
        let err = load_edge_list(zero, &EdgeListOptions::default()).unwrap_err();
        quick("/dev/zero", started);
        assert_names(err, zero, "/dev/zero:1: NUL byte: this is not a text file");
        let random = Path::new("/dev/urandom");
        let started = Instant::now();
        let err = load_edge_list(random, &EdgeListOptions::default()).unwrap_err();
        quick("/dev/urandom", started);
        let text = err.to_string();
        assert!(
            text.starts_with("/dev/urandom:")
                && (text.contains("NUL byte") || text.contains("not valid UTF-8")),
            "{text}"
        );
        // As a features file and a labels file too.
        let edges = temp_file("hostile-edges.txt", b"0 1\n1 2\n");
        let options = EdgeListOptions {
            features: Some(zero.to_path_buf()),
            ..Default::default()
        };
        assert_names(
            load_edge_list(&edges, &options).unwrap_err(),
            zero,
            "NUL byte",
        );
        let options = EdgeListOptions {
            labels: Some(zero.to_path_buf()),
            ..Default::default()
        };
        assert_names(
            load_edge_list(&edges, &options).unwrap_err(),
            zero,
            "NUL byte",
        );
    }
    let dir = temp_path("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    assert_names(
        load_edge_list(&dir, &EdgeListOptions::default()).unwrap_err(),
        &dir,
        "is a directory, not a file",
    );
    let utf16: Vec<u8> = "0 1\n1 2\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let path = temp_file("utf16.txt", &utf16);
    assert_names(
        load_edge_list(&path, &EdgeListOptions::default()).unwrap_err(),
        &path,
        ":1: NUL byte",
    );
    let path = temp_file("latin1.txt", b"a b\nb caf\xe9\n");
    assert_names(
        load_edge_list(&path, &EdgeListOptions::default()).unwrap_err(),
        &path,
        ":2: not valid UTF-8 text",
    );
    let path = temp_file("nul-late.txt", b"0 1\n1 2\n2\x003\n");
    assert_names(
        load_edge_list(&path, &EdgeListOptions::default()).unwrap_err(),
        &path,
        ":3: NUL byte",
    );
    let endless = "7".repeat(20 << 20);
    let path = temp_file("endless.txt", endless.as_bytes());
    let started = Instant::now();
    let err = load_edge_list(&path, &EdgeListOptions::default()).unwrap_err();
    quick("endless line", started);
    let text = err.to_string();
    assert!(
        text.len() < 400,
        "the message quotes the whole line: {} bytes",
        text.len()
    );
    assert!(text.contains(":1: expected 2 fields"), "{text}");
    std::fs::remove_file(&path).unwrap();
}

/// Edge lists, features and labels in `.npz`-free `.npy` form written by the library's
/// own writer read back through the loaders (the array layer is one module).
#[test]
fn npy_written_by_the_library_loads() {
    use gpu_vgae::internal::data::arrays::{write_npy, ArrayData, NdArray};
    let edges = NdArray::new(vec![3, 2], ArrayData::I16(vec![0, 1, 1, 2, 2, 0])).unwrap();
    let path = temp_path("edges16.npy");
    write_npy(&path, &edges).unwrap();
    let g = load_edge_list(&path, &EdgeListOptions::default()).unwrap();
    assert_eq!(g.edges, vec![(0, 1), (0, 2), (1, 2)]);
    let flags = NdArray::new(vec![3, 1], ArrayData::Bool(vec![true, false, true])).unwrap();
    let fpath = temp_path("flags.npy");
    write_npy(&fpath, &flags).unwrap();
    let options = EdgeListOptions {
        features: Some(fpath),
        ..Default::default()
    };
    let x = load_edge_list(&path, &options).unwrap().features.unwrap();
    assert_eq!(x.to_dense(), [1.0, 0.0, 1.0]);
}
