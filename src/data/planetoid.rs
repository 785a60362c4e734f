//! Loader for the original Planetoid pickles (`ind.<name>.{allx,tx,ally,ty,graph,test.index}`)
//! with the standard processing of Kipf's `gcn/utils.py` and PyG's `read_planetoid_data`:
//!
//! 1. the test block (tx/ty) is padded with empty rows up to
//!    `min(test.index) ..= max(test.index)` (CiteSeer has 15 ids without a row);
//! 2. rows are stacked as `[allx; tx_padded]`, then
//!    `rows[test_index[k]] = rows[sorted(test_index)[k]]` moves each test row to its id;
//! 3. labels are the argmax of the one-hot rows, `-1` for an all-zero row;
//! 4. the adjacency dict becomes undirected, deduplicated edges without self loops.
//!
//! `ind.<name>.y` (the labelled training subset of the semi-supervised setting) gives
//! [`Graph::train_labels`]; `ind.<name>.x` is not needed.
//!
//! Every file is read once, checked against the directory's `SHA256SUMS` (when there is
//! one), and parsed from the same bytes.

use std::path::{Path, PathBuf};

use super::arrays::NdArray;
use super::checksum::{Checksums, Verified, SUMS_FILE};
use super::input::read_file;
use super::{format_error, input_to_format, pickle, FeatureLayout, Graph};
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// The Planetoid dataset names [`load_planetoid`] knows.
pub const PLANETOID_DATASETS: [&str; 3] = ["cora", "citeseer", "pubmed"];

/// Where the pickles come from.
const SOURCE: &str = "the `data/` folder of https://github.com/kimiyoung/planetoid";

/// File suffixes read, features first.
const FEATURE_FILES: [&str; 2] = ["allx", "tx"];
const GRAPH_FILES: [&str; 4] = ["ally", "ty", "graph", "test.index"];

/// Loads Planetoid dataset `name` (`cora`, `citeseer` or `pubmed`, any case) from the
/// pickles in `dir` (for the CLI's `--dataset NAME`, `dir` is
/// [`data_dir`](super::data_dir)`(--data-dir)`; the repository ships the files in
/// `datasets/planetoid/`).
///
/// If `dir` holds a `SHA256SUMS` file, every file read is checked against it before it
/// is parsed, and a file whose digest differs is an [`Error::Format`] naming it, with
/// the expected and the actual digest. Without `SHA256SUMS` the files load unverified,
/// and [`Graph::notes`] says so; a file that `SHA256SUMS` does not list is noted too.
///
/// If `ind.pubmed.allx` is absent (public copies of the repository lack it), PubMed
/// loads without features and says so in [`Graph::notes`]. Any other missing file is an
/// error naming every expected file, `dir`, and where to download them. The features
/// are sparse ([`FeatureLayout::Sparse`]).
pub fn load_planetoid(dir: &Path, name: &str) -> Result<Graph> {
    let name = name.to_ascii_lowercase();
    if !PLANETOID_DATASETS.contains(&name.as_str()) {
        return Err(Error::InvalidArgument {
            argument: "name",
            message: format!(
                "unknown Planetoid dataset `{name}`; known: {}",
                PLANETOID_DATASETS.join(", ")
            ),
        });
    }
    let file = |suffix: &str| dir.join(format!("ind.{name}.{suffix}"));
    let with_features = name != "pubmed" || file("allx").exists();
    let needed: Vec<&str> = if with_features {
        FEATURE_FILES.iter().chain(&GRAPH_FILES).copied().collect()
    } else {
        GRAPH_FILES.to_vec()
    };
    let missing: Vec<String> = needed
        .iter()
        .filter(|s| !file(s).is_file())
        .map(|s| format!("ind.{name}.{s}"))
        .collect();
    if !missing.is_empty() {
        let expected: Vec<String> = FEATURE_FILES
            .iter()
            .chain(&GRAPH_FILES)
            .map(|s| format!("ind.{name}.{s}"))
            .collect();
        let where_ = if dir.is_dir() {
            "in this directory"
        } else {
            "(the directory does not exist)"
        };
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "Planetoid dataset `{name}` is incomplete {where_}: missing {} (it reads {}). \
                     Download them from {SOURCE} and pass their directory with --data-dir or \
                     the GPU_VGAE_DATA_DIR environment variable",
                    missing.join(", "),
                    expected.join(", ")
                ),
            ),
        });
    }

    let mut files = CheckedFiles::new(dir)?;
    let test_index_path = file("test.index");
    let test_index = read_test_index(&files.read(&test_index_path)?, &test_index_path)?;
    let ally_path = file("ally");
    let ty_path = file("ty");
    let ally = OneHot::parse(&files.read(&ally_path)?, &ally_path)?;
    let ty = OneHot::parse(&files.read(&ty_path)?, &ty_path)?;
    let (train_rows, test_rows) = (ally.rows, ty.rows);
    if ty.classes != ally.classes {
        return Err(format_error(
            &ty_path,
            format!(
                "has {} classes, ind.{name}.ally has {}",
                ty.classes, ally.classes
            ),
        ));
    }
    if test_rows != test_index.len() {
        return Err(format_error(
            &ty_path,
            format!(
                "has {test_rows} rows but ind.{name}.test.index lists {} ids",
                test_index.len()
            ),
        ));
    }
    let rows = arrange_rows(train_rows, &test_index, &test_index_path)?;
    let num_nodes = rows.len();

    let features = if with_features {
        let allx_path = file("allx");
        let tx_path = file("tx");
        let allx = pickle::parse_csr(&files.read(&allx_path)?, &allx_path)?;
        let tx = pickle::parse_csr(&files.read(&tx_path)?, &tx_path)?;
        if allx.rows() != train_rows || tx.rows() != test_rows || tx.cols() != allx.cols() {
            return Err(format_error(
                &tx_path,
                format!(
                    "feature blocks do not fit: allx is {}x{}, tx is {}x{}, labels have \
                     {train_rows} and {test_rows} rows",
                    allx.rows(),
                    allx.cols(),
                    tx.rows(),
                    tx.cols()
                ),
            ));
        }
        Some(stack_features(&rows, &allx, &tx).map_err(|e| input_to_format(&tx_path, e))?)
    } else {
        None
    };
    let labels: Vec<i32> = rows
        .iter()
        .map(|row| match *row {
            Row::Train(i) => ally.argmax(i),
            Row::Test(k) => ty.argmax(k),
            Row::Empty => -1,
        })
        .collect();

    let graph_path = file("graph");
    let adjacency = pickle::parse_adjacency(&files.read(&graph_path)?, &graph_path)?;
    let node_id = |v: i64| {
        u32::try_from(v)
            .ok()
            .filter(|&id| (id as usize) < num_nodes)
            .ok_or_else(|| {
                format_error(
                    &graph_path,
                    format!("node id {v} is outside 0..{num_nodes}"),
                )
            })
    };
    let mut pairs = Vec::new();
    for (&node, neighbours) in &adjacency {
        let a = node_id(node)?;
        for &other in neighbours {
            pairs.push((a, node_id(other)?));
        }
    }
    let mut graph = Graph::from_edges(num_nodes, &pairs, features)
        .map_err(|e| input_to_format(&graph_path, e))?
        .with_labels(labels)
        .map_err(|e| input_to_format(&ally_path, e))?;
    graph.name = name.clone();
    graph.feature_layout = FeatureLayout::Sparse;
    // The semi-supervised training labels: the y rows, which are the first rows of ally
    // (Kipf's idx_train = range(len(y))). Only these may train a class-conditional prior.
    let y_path = file("y");
    if y_path.is_file() {
        let y = OneHot::parse(&files.read(&y_path)?, &y_path)?;
        if y.rows > train_rows || y.classes != ally.classes {
            return Err(format_error(
                &y_path,
                format!(
                    "has {} rows of {} classes; ind.{name}.ally has {train_rows} of {}",
                    y.rows, y.classes, ally.classes
                ),
            ));
        }
        let labels = graph.labels.as_deref().unwrap_or_default();
        let train: Vec<i32> = (0..num_nodes)
            .map(|i| if i < y.rows { labels[i] } else { -1 })
            .collect();
        if let Some(i) = (0..y.rows).find(|&i| y.argmax(i) != labels[i]) {
            return Err(format_error(
                &y_path,
                format!("row {i} disagrees with ind.{name}.ally"),
            ));
        }
        graph.train_labels = Some(train);
    }
    graph.notes.extend(files.notes());
    if !with_features {
        graph.notes.push(format!(
            "features not loaded: {} is missing (public copies of the Planetoid repository \
             lack it), so only the graph and labels are available",
            file("allx").display()
        ));
    }
    Ok(graph)
}

/// Reads dataset files, checking each against `SHA256SUMS` and remembering what could
/// not be checked.
struct CheckedFiles {
    dir: PathBuf,
    sums: Option<Checksums>,
    unlisted: Vec<String>,
}

impl CheckedFiles {
    fn new(dir: &Path) -> Result<CheckedFiles> {
        Ok(CheckedFiles {
            dir: dir.to_path_buf(),
            sums: Checksums::load(dir)?,
            unlisted: Vec::new(),
        })
    }

    /// The bytes of `path`, verified.
    fn read(&mut self, path: &Path) -> Result<Vec<u8>> {
        let bytes = read_file(path)?;
        if let Some(sums) = &self.sums {
            if sums.verify(path, &bytes)? == Verified::NotListed {
                self.unlisted.push(
                    path.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into(),
                );
            }
        }
        Ok(bytes)
    }

    /// Notes on files read without a digest to check.
    fn notes(&self) -> Vec<String> {
        match &self.sums {
            None => vec![format!(
                "{} has no {SUMS_FILE}: the dataset files were not verified",
                self.dir.display()
            )],
            Some(_) if !self.unlisted.is_empty() => vec![format!(
                "not verified ({SUMS_FILE} in {} does not list them): {}",
                self.dir.display(),
                self.unlisted.join(", ")
            )],
            Some(_) => Vec::new(),
        }
    }
}

/// Where a processed node's row comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Row {
    /// Row of allx/ally.
    Train(usize),
    /// Row of tx/ty.
    Test(usize),
    /// A padding row: no features, no label.
    Empty,
}

/// Replays the padding and reordering on row provenances instead of matrices.
fn arrange_rows(train_rows: usize, test_index: &[usize], path: &Path) -> Result<Vec<Row>> {
    let mut sorted = test_index.to_vec();
    sorted.sort_unstable();
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Err(format_error(path, "lists no test ids".into()));
    };
    // The padded block is allocated, so a stray huge id must not size it: real files
    // pad by a few rows (CiteSeer: 1015 for 1000 ids).
    let span = max - min + 1;
    if span > 16 * sorted.len() {
        return Err(format_error(
            path,
            format!(
                "test ids span {min}..={max}, far more than the {} ids listed",
                sorted.len()
            ),
        ));
    }
    let mut padded = vec![Row::Empty; span];
    for (k, &id) in sorted.iter().enumerate() {
        padded[id - min] = Row::Test(k);
    }
    let stacked: Vec<Row> = (0..train_rows).map(Row::Train).chain(padded).collect();
    let mut rows = stacked.clone();
    for (&to, &from) in test_index.iter().zip(&sorted) {
        let (Some(slot), Some(&source)) = (rows.get_mut(to), stacked.get(from)) else {
            return Err(format_error(
                path,
                format!(
                    "test id {} is outside the {} stacked rows",
                    to.max(from),
                    stacked.len()
                ),
            ));
        };
        *slot = source;
    }
    Ok(rows)
}

/// Builds the processed feature matrix, columns sorted within each row.
fn stack_features(rows: &[Row], allx: &Csr, tx: &Csr) -> Result<Csr> {
    let mut row_ptr = Vec::with_capacity(rows.len() + 1);
    let mut col_idx = Vec::with_capacity(allx.nnz() + tx.nnz());
    let mut values = Vec::with_capacity(allx.nnz() + tx.nnz());
    row_ptr.push(0u32);
    let mut entries: Vec<(u32, f32)> = Vec::new();
    for row in rows {
        entries.clear();
        let (matrix, r) = match *row {
            Row::Train(i) => (allx, i),
            Row::Test(k) => (tx, k),
            Row::Empty => {
                row_ptr.push(col_idx.len() as u32);
                continue;
            }
        };
        let range = matrix.row_range(r);
        entries.extend(
            matrix.col_idx()[range.clone()]
                .iter()
                .copied()
                .zip(matrix.values()[range].iter().copied()),
        );
        entries.sort_by_key(|&(c, _)| c);
        col_idx.extend(entries.iter().map(|&(c, _)| c));
        values.extend(entries.iter().map(|&(_, v)| v));
        let end = u32::try_from(col_idx.len()).map_err(|_| Error::TooLarge {
            what: "the feature entry count".into(),
            size: col_idx.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        row_ptr.push(end);
    }
    Csr::new(rows.len(), allx.cols(), row_ptr, col_idx, values)
}

/// A one-hot label matrix (`ind.<name>.ally` / `ty`).
struct OneHot {
    rows: usize,
    classes: usize,
    array: NdArray,
    values: Vec<i64>,
}

impl OneHot {
    fn parse(bytes: &[u8], path: &Path) -> Result<OneHot> {
        let array = pickle::parse_array(bytes, path)?;
        // At least one class, so that the row count is bounded by the data actually read.
        match (array.matrix_shape(), array.to_i64()) {
            (Some((rows, classes @ 1..)), Some(values)) => Ok(OneHot {
                rows,
                classes,
                array,
                values,
            }),
            _ => Err(format_error(
                path,
                format!(
                    "expected a 2-D integer one-hot label matrix, found a {} array of shape {:?}",
                    array.dtype().name(),
                    array.shape
                ),
            )),
        }
    }

    /// Index of the first maximum of row `r`, or -1 if the row has no positive entry.
    fn argmax(&self, r: usize) -> i32 {
        let mut best: Option<(usize, i64)> = None;
        for c in 0..self.classes {
            let v = self.values[self.array.matrix_offset(r, c)];
            if v > 0 && best.is_none_or(|(_, b)| v > b) {
                best = Some((c, v));
            }
        }
        best.map_or(-1, |(c, _)| c as i32)
    }
}

/// Parses `ind.<name>.test.index` (read from `path`): one node id per line.
fn read_test_index(bytes: &[u8], path: &Path) -> Result<Vec<usize>> {
    let text = String::from_utf8_lossy(bytes);
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.parse::<u32>() {
            Ok(id) => ids.push(id as usize),
            Err(_) => {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    line: Some(n + 1),
                    message: format!("expected a node id (integer in 0..2^32), found `{line}`"),
                })
            }
        }
    }
    if ids.is_empty() {
        return Err(format_error(path, "lists no test ids".into()));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::arrays::ArrayData;

    #[test]
    fn rows_follow_the_kipf_reordering_with_padding() {
        // 2 train rows; test ids 5, 2, 4 (3 has no row): padded block covers 2..=5.
        let rows = arrange_rows(2, &[5, 2, 4], Path::new("t")).unwrap();
        use Row::*;
        assert_eq!(
            rows,
            vec![Train(0), Train(1), Test(1), Empty, Test(2), Test(0)]
        );
    }

    #[test]
    fn argmax_marks_all_zero_rows_unlabelled() {
        let array = NdArray {
            shape: vec![2, 3],
            fortran_order: true,
            data: ArrayData::I32(vec![0, 0, 0, 0, 1, 0]),
        };
        let values = array.to_i64().unwrap();
        let one_hot = OneHot {
            rows: 2,
            classes: 3,
            array,
            values,
        };
        assert_eq!(one_hot.argmax(0), 2);
        assert_eq!(one_hot.argmax(1), -1);
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let e = load_planetoid(Path::new("."), "reddit")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cora, citeseer, pubmed"), "{e}");
    }

    #[test]
    fn missing_files_are_all_named() {
        let dir = Path::new("/nonexistent-gpu-vgae-dir");
        let e = load_planetoid(dir, "cora").unwrap_err().to_string();
        for f in ["allx", "tx", "ally", "ty", "graph", "test.index"] {
            assert!(e.contains(&format!("ind.cora.{f}")), "{e}");
        }
        assert!(e.contains("kimiyoung/planetoid") && e.contains("/nonexistent-gpu-vgae-dir"));
    }
}
