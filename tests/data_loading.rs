//! Loads the real Planetoid files (pickles and flat arrays) and checks the counts, that
//! both forms agree exactly, and that bad inputs give errors naming the file and problem.
//!
//! The data is not in the repository: tests needing it look for it with
//! `gpu_vgae::data::test_data_dir()` and skip with a note when it is absent (they fail
//! when `CI=true`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gpu_vgae::data::{
    load_edge_list, load_flat_arrays, load_npz, load_planetoid, pickle, test_data_dir,
    EdgeListOptions, Graph,
};
use rand::{Rng, SeedableRng};

/// `Some(dir)` if the data is there; otherwise skip (or fail on CI).
fn require(dir: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if dir.is_some() {
        return dir;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{what} is missing: set GPU_VGAE_DATA_DIR to the directory holding the Planetoid \
             pickles (ind.cora.x, ...; its sibling planetoid-npz/ holds the flat arrays)"
        );
    }
    eprintln!("note: {what} not found, skipping (set GPU_VGAE_DATA_DIR to run this test)");
    None
}

fn planetoid_dir() -> Option<PathBuf> {
    require(test_data_dir(), "the Planetoid pickle directory")
}

fn arrays_dir() -> Option<PathBuf> {
    let dir = test_data_dir()
        .and_then(|d| d.parent().map(|p| p.join("planetoid-npz")))
        .filter(|d| d.is_dir());
    require(dir, "the planetoid-npz directory")
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
    let Some(dir) = planetoid_dir() else { return };
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
    let Some(dir) = planetoid_dir() else { return };
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
    let Some(dir) = planetoid_dir() else { return };
    if dir.join("ind.pubmed.allx").exists() {
        eprintln!("note: ind.pubmed.allx is present, the graph-only path is not exercised");
        return;
    }
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
fn pickles_equal_flat_arrays_exactly() {
    let (Some(pickles), Some(arrays)) = (planetoid_dir(), arrays_dir()) else {
        return;
    };
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
    let Some(dir) = planetoid_dir() else { return };
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

    let Some(dir) = planetoid_dir() else { return };
    let y = std::fs::read(dir.join("ind.cora.y")).unwrap();
    let cut = temp_file("ind.cora.y", &y[..y.len() / 2]);
    assert_names(pickle::read(&cut).unwrap_err(), &cut, "truncated");
}

#[cfg(unix)]
#[test]
fn planetoid_missing_file_is_reported() {
    let Some(dir) = planetoid_dir() else { return };
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
fn corrupt_npz_is_reported() {
    let Some(arrays) = arrays_dir() else { return };
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
    let ids: Vec<&str> = g
        .node_ids
        .as_ref()
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
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
    assert_eq!(g.notes.len(), 1, "the weight column is noted");

    // Without a node count, sparse integer ids are compacted in increasing order.
    let sparse = temp_file("sparse.txt", b"100 7\n7 3000000000\n");
    let g = load_edge_list(&sparse, &EdgeListOptions::default()).unwrap();
    assert_eq!(
        g.node_ids,
        Some(vec!["7".into(), "100".into(), "3000000000".into()])
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

    let ints = temp_file("ints.npy", &npy("<i4", "(3, 1)", &[0; 12]));
    let options = EdgeListOptions {
        features: Some(ints.clone()),
        ..Default::default()
    };
    assert_names(
        load_edge_list(&edges, &options).unwrap_err(),
        &ints,
        "float32 or float64",
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
    use gpu_vgae::data::{load_edge_list, EdgeListOptions};
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
