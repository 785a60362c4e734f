//! The graph data layer: the [`Graph`] the trainer consumes and the readers that build
//! it — the original Planetoid pickles ([`load_planetoid`], checked against their
//! `SHA256SUMS`), user edge lists as text or `.npy` ([`load_edge_list`]), node features
//! ([`read_features`]), labels ([`read_labels`]), node pairs to score ([`read_pairs`])
//! — feature scaling ([`normalize_features`]), and the array I/O layer ([`arrays`]:
//! `.npy` and `.npz`).
//!
//! One concern a file: [`input`] reads a file whole within a size budget; `text` is the
//! tokenizer every text reader shares (separators, quotes, comments, the text check);
//! [`edges`] loads edge lists (`edges_text` parses text ones in parallel, `ids` maps node
//! ids, `edge_dedup` normalises the pairs); [`features`], `matrix_market` and `table`
//! read features; [`feature_scaling`] scales them; [`labels`] and [`pairs`] read the
//! side files that name nodes.
//!
//! Every reader normalises edges the same way (undirected, `i < j`, unique, no self
//! loops) and reports what it removed in [`EdgeStats`]. Every bad input is an
//! [`Error`] naming the file (and line, where the format has lines); no size read from a
//! header is allocated before it is checked against the data actually present.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sparse::Csr;

pub mod arrays;
pub mod checksum;
mod edge_dedup;
pub mod edges;
mod edges_text;
pub mod feature_scaling;
pub mod features;
mod ids;
pub mod input;
pub mod labels;
mod matrix_market;
pub mod pairs;
pub mod pickle;
pub mod planetoid;
mod table;
mod text;
mod view;

pub use edges::{load_edge_list, EdgeListOptions, LoadPhase};
pub use feature_scaling::{normalize_features, FeatureNormalization};
pub use features::{read_features, FeatureLayout, Features, MissingFeatures};
pub use labels::{read_labels, NodeLabels};
pub use pairs::read_pairs;
pub use planetoid::{load_planetoid, PLANETOID_DATASETS};
pub use view::GraphView;

/// Environment variable naming the dataset directory (see [`data_dir`]).
pub const DATA_DIR_ENV: &str = "GPU_VGAE_DATA_DIR";

/// The Planetoid directory inside this repository, relative to the crate root or to a
/// working directory.
pub const PLANETOID_SUBDIR: &str = "datasets/planetoid";

/// What edge normalisation did to the input pairs.
///
/// `input_pairs == self_loops + duplicates + reverse_pairs + edges.len()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeStats {
    /// Pairs read, as given (a symmetric adjacency list gives every edge twice).
    pub input_pairs: usize,
    /// Pairs `(i, i)` dropped.
    pub self_loops: usize,
    /// Pairs `(i, j)` dropped because the same ordered pair came earlier.
    pub duplicates: usize,
    /// Pairs `(j, i)` merged into an edge `(i, j)` also given.
    pub reverse_pairs: usize,
}

impl fmt::Display for EdgeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}: {} and {} removed, {} merged",
            count(self.input_pairs, "input pair"),
            count(self.self_loops, "self loop"),
            count(self.duplicates, "duplicate pair"),
            count(self.reverse_pairs, "reverse pair"),
        )
    }
}

/// The original ids of a graph's nodes, when node `i` is not simply id `i`.
///
/// Edge lists produce them: integer ids without a node count are compacted in increasing
/// order ([`NodeIds::Integers`]), string ids in order of first appearance
/// ([`NodeIds::Strings`]). Labels and keyed features files name nodes by these ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeIds {
    /// Node `i` has integer id `ids[i]`; strictly increasing.
    Integers(Vec<i64>),
    /// Node `i` has string id `names[i]`; all distinct.
    Strings(Vec<String>),
}

impl NodeIds {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        match self {
            NodeIds::Integers(ids) => ids.len(),
            NodeIds::Strings(names) => names.len(),
        }
    }

    /// `true` when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id of node `i` as text, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Cow<'_, str>> {
        match self {
            NodeIds::Integers(ids) => ids.get(i).map(|id| Cow::Owned(id.to_string())),
            NodeIds::Strings(names) => names.get(i).map(|n| Cow::Borrowed(n.as_str())),
        }
    }

    /// Every id as text, in node order.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Every id as an owned string, in node order.
    pub fn to_strings(&self) -> Vec<String> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// The ids in node order joined by `separator` (as `[String]::join`), e.g. for a
    /// `node_ids.txt` with one id per line.
    pub fn join(&self, separator: &str) -> String {
        use std::fmt::Write;
        match self {
            NodeIds::Strings(names) => names.join(separator),
            NodeIds::Integers(ids) => {
                let mut out = String::with_capacity(ids.len() * 8);
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    // Writing to a String cannot fail.
                    let _ = write!(out, "{id}");
                }
                out
            }
        }
    }

    /// The node whose id is `id`. Integer ids are compared as numbers (`"007"` finds
    /// 7) by binary search; string ids by a linear scan (the readers build a hash index
    /// instead when they look up many).
    pub fn position(&self, id: &str) -> Option<usize> {
        match self {
            NodeIds::Integers(ids) => {
                let id = text::parse_i64(id.as_bytes())?;
                ids.binary_search(&id).ok()
            }
            NodeIds::Strings(names) => names.iter().position(|n| n == id),
        }
    }
}

/// An undirected graph with optional node features and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Dataset name (file stem for edge lists).
    pub name: String,
    /// Number of nodes; ids are `0..num_nodes`.
    pub num_nodes: usize,
    /// Undirected edges `(i, j)`, `i < j`, unique, sorted.
    pub edges: Vec<(u32, u32)>,
    /// `num_nodes × F` feature matrix, if the source has features.
    pub features: Option<Csr>,
    /// Whether the features came from a dense or a sparse format (what
    /// [`FeatureNormalization::Standard`] needs to know); [`FeatureLayout::Sparse`] when
    /// there are none.
    pub feature_layout: FeatureLayout,
    /// Class of every node, `-1` where a node has none.
    pub labels: Option<Vec<i32>>,
    /// Name of every class when the labels file named them (class `c` is
    /// `class_names[c]`); `None` for integer labels.
    pub class_names: Option<Vec<String>>,
    /// The labels training may use (the class-conditional prior's): Planetoid's
    /// semi-supervised `y` nodes, or a `--train-labels` file; −1 elsewhere. Evaluation
    /// labels stay in [`Graph::labels`].
    pub train_labels: Option<Vec<i32>>,
    /// Original id of every node (edge lists), so outputs can be labelled; `None` when
    /// node `i` is simply id `i`.
    pub node_ids: Option<NodeIds>,
    /// What normalisation removed from the input pairs (self loops, duplicates, reversed
    /// pairs): counted by every reader, and shown by the graph's `Display` summary when
    /// anything was removed or merged.
    pub edge_stats: EdgeStats,
    /// Remarks a user should see (e.g. features that could not be loaded).
    pub notes: Vec<String>,
}

impl Graph {
    /// Builds a graph from `(i, j)` pairs in any direction, with duplicates and self loops
    /// allowed (they are removed and counted in [`Graph::edge_stats`]).
    ///
    /// Errors if `num_nodes` is 0 or above `u32::MAX`, an id is `>= num_nodes`, the
    /// feature matrix does not have `num_nodes` rows, or no edge is left. Feature values
    /// are finite by [`Csr`]'s own invariant, so NaN cannot get in. The name starts as
    /// `"graph"`, the feature layout as [`FeatureLayout::Sparse`].
    ///
    /// Normalisation sorts packed 64-bit keys on two threads: about a second for 10M
    /// pairs.
    pub fn from_edges(
        num_nodes: usize,
        edges: &[(u32, u32)],
        features: Option<Csr>,
    ) -> Result<Graph> {
        Graph::from_edge_vec(num_nodes, edges.to_vec(), features)
    }

    /// [`Graph::from_edges`] taking the pairs by value: they are normalised in place
    /// (plus one scratch buffer of the same size for the sort), or kept as they are when
    /// they already are (`i < j`, strictly increasing).
    pub(crate) fn from_edge_vec(
        num_nodes: usize,
        pairs: Vec<(u32, u32)>,
        features: Option<Csr>,
    ) -> Result<Graph> {
        if num_nodes == 0 {
            return Err(Error::InvalidGraph {
                message: format!("a graph needs between 1 and {} nodes, got 0", u32::MAX),
            });
        }
        if num_nodes > u32::MAX as usize {
            return Err(Error::TooLarge {
                what: "the node count of a graph".into(),
                size: num_nodes as u64,
                limit: u64::from(u32::MAX),
            });
        }
        if let Some(k) = pairs
            .iter()
            .position(|&(a, b)| a.max(b) as usize >= num_nodes)
        {
            let (a, b) = pairs[k];
            return Err(Error::InvalidGraph {
                message: format!("edge {k} ({a}, {b}) has a node id outside 0..{num_nodes}"),
            });
        }
        if let Some(x) = &features {
            if x.rows() != num_nodes {
                return Err(Error::InvalidArgument {
                    argument: "features",
                    message: format!(
                        "the feature matrix has {} rows but the graph has {num_nodes} nodes",
                        x.rows()
                    ),
                });
            }
        }
        // Pairs that are already normalised (the synthetic generator's, a sorted edge
        // list) stay where they are: no scratch copy for the sort.
        let (edges, edge_stats) = if edge_dedup::is_normalised(&pairs) {
            let stats = EdgeStats {
                input_pairs: pairs.len(),
                ..EdgeStats::default()
            };
            (pairs, stats)
        } else {
            edge_dedup::normalise(num_nodes, pairs)
        };
        if edges.is_empty() {
            return Err(Error::InvalidGraph {
                message: format!("the graph has no edges ({edge_stats})"),
            });
        }
        Ok(Graph {
            name: "graph".into(),
            num_nodes,
            edges,
            features,
            feature_layout: FeatureLayout::Sparse,
            labels: None,
            class_names: None,
            train_labels: None,
            node_ids: None,
            edge_stats,
            notes: Vec::new(),
        })
    }

    /// Attaches node labels: one per node, each `>= -1` (`-1` = no label).
    pub fn with_labels(mut self, labels: Vec<i32>) -> Result<Graph> {
        if labels.len() != self.num_nodes {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!("{} labels for {} nodes", labels.len(), self.num_nodes),
            });
        }
        if let Some(k) = labels.iter().position(|&l| l < -1) {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!("node {k} has label {}, labels must be >= -1", labels[k]),
            });
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// The graph as the model takes it (validated when the graph was built), with its
    /// training labels where it has them.
    pub fn view(&self) -> GraphView<'_> {
        let view = GraphView::trusted(self.num_nodes, &self.edges, self.features.as_ref());
        match &self.train_labels {
            Some(labels) => view.with_trusted_train_labels(labels),
            None => view,
        }
    }

    /// Scales the features in place as `how` says, dense or sparse according to
    /// [`Graph::feature_layout`] (see [`normalize_features`]); nothing happens without
    /// features or with [`FeatureNormalization::None`].
    pub fn normalize_features(&mut self, how: FeatureNormalization) -> Result<()> {
        if let Some(x) = &self.features {
            self.features = Some(normalize_features(x, how, self.feature_layout)?);
        }
        Ok(())
    }

    /// Number of undirected edges.
    pub fn num_edges(&self) -> usize {
        self.edges.len()
    }

    /// Number of feature columns, if there are features.
    pub fn num_features(&self) -> Option<usize> {
        self.features.as_ref().map(Csr::cols)
    }

    /// Number of classes: the length of [`Graph::class_names`] when classes are named,
    /// else `max(label) + 1`, if there are labels and at least one node has one.
    pub fn num_classes(&self) -> Option<usize> {
        if let Some(names) = &self.class_names {
            return Some(names.len());
        }
        let max = self.labels.as_ref()?.iter().copied().max()?;
        usize::try_from(max).ok().map(|m| m + 1)
    }

    /// Degree of every node in the undirected graph.
    pub fn degrees(&self) -> Vec<u32> {
        let mut degree = vec![0u32; self.num_nodes];
        for &(a, b) in &self.edges {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        degree
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} nodes, {} undirected edges",
            self.name,
            self.num_nodes,
            self.num_edges()
        )?;
        match &self.features {
            Some(x) => write!(f, ", {} features ({} nonzeros)", x.cols(), x.nnz())?,
            None => write!(f, ", no features")?,
        }
        if let Some(classes) = self.num_classes() {
            write!(f, ", {classes} classes")?;
        }
        if self.edge_stats.input_pairs != self.num_edges() {
            write!(f, " (from {})", self.edge_stats)?;
        }
        Ok(())
    }
}

/// The directory of the Planetoid files for `--dataset NAME`, the first of:
///
/// 1. `explicit` (the CLI's `--data-dir`), whether or not it exists;
/// 2. the environment variable `GPU_VGAE_DATA_DIR` ([`DATA_DIR_ENV`]), if set and not
///    empty, whether or not it exists;
/// 3. `datasets/planetoid` in this crate's source tree (its path baked in at build time,
///    so `cargo run` from a fresh clone finds the files the repository ships), if it is
///    a directory;
/// 4. `datasets/planetoid` under the current directory, if it is a directory;
/// 5. `datasets/planetoid` next to the running binary or under one of the binary's
///    three parent directories (e.g. from `target/release/`), if it is a directory.
///
/// When none of 3–5 exists the path of 3 is returned, so the loader's error names where
/// the files were expected.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(PLANETOID_SUBDIR);
    let mut candidates = vec![crate_dir.clone(), PathBuf::from(PLANETOID_SUBDIR)];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        candidates.extend(
            exe_dir
                .ancestors()
                .take(4)
                .map(|d| d.join(PLANETOID_SUBDIR)),
        );
    }
    candidates
        .into_iter()
        .find(|d| d.is_dir())
        .unwrap_or(crate_dir)
}

/// A format error of `path` without a line number.
fn format_error(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line: None,
        message,
    }
}

/// A format error of `path` at 1-based `line`.
fn line_error(path: &Path, line: usize, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    }
}

/// Rewraps an error about the input (an argument, the graph, a size) raised while
/// building from `path` as a format error of that file.
fn input_to_format(path: &Path, error: Error) -> Error {
    match error {
        Error::InvalidArgument { message, .. } | Error::InvalidGraph { message } => {
            format_error(path, message)
        }
        too_large @ Error::TooLarge { .. } => format_error(path, too_large.to_string()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_edges_normalises_and_counts() {
        let pairs = [(1, 0), (0, 1), (0, 1), (2, 2), (3, 1), (1, 2)];
        let g = Graph::from_edges(4, &pairs, None).unwrap();
        assert_eq!(g.edges, vec![(0, 1), (1, 2), (1, 3)]);
        assert_eq!(
            g.edge_stats,
            EdgeStats {
                input_pairs: 6,
                self_loops: 1,
                duplicates: 1,
                reverse_pairs: 1
            }
        );
        assert_eq!(g.degrees(), vec![1, 3, 1, 1]);
        assert_eq!(
            g.to_string(),
            "graph: 4 nodes, 3 undirected edges, no features (from 6 input pairs: 1 self \
             loop and 1 duplicate pair removed, 1 reverse pair merged)"
        );
    }

    #[test]
    fn from_edges_validates() {
        let msg = |r: Result<Graph>| r.unwrap_err().to_string();
        assert!(msg(Graph::from_edges(2, &[(0, 2)], None)).contains("outside 0..2"));
        assert!(msg(Graph::from_edges(2, &[(1, 1)], None)).contains("no edges"));
        assert!(msg(Graph::from_edges(0, &[], None)).contains("nodes"));
        let x = Csr::identity(3);
        assert!(msg(Graph::from_edges(2, &[(0, 1)], Some(x))).contains("3 rows"));
        let g = Graph::from_edges(2, &[(0, 1)], None).unwrap();
        assert!(g.clone().with_labels(vec![0]).is_err());
        assert!(g.clone().with_labels(vec![0, -2]).is_err());
        assert_eq!(g.with_labels(vec![1, -1]).unwrap().num_classes(), Some(2));
    }

    #[test]
    fn node_ids_look_up_and_join() {
        let ints = NodeIds::Integers(vec![-4, 7, 3_000_000_000]);
        assert_eq!(ints.position("007"), Some(1));
        assert_eq!(ints.position("+3000000000"), Some(2));
        assert_eq!(ints.position("8"), None);
        assert_eq!(ints.join("\n"), "-4\n7\n3000000000");
        let names = NodeIds::Strings(vec!["b".into(), "a".into()]);
        assert_eq!(names.position("a"), Some(1));
        assert_eq!(names.to_strings(), vec!["b", "a"]);
        assert_eq!(names.get(2), None);
    }

    #[test]
    fn data_dir_prefers_explicit_path() {
        assert_eq!(data_dir(Some(Path::new("/x"))), PathBuf::from("/x"));
    }

    /// Without an explicit directory or the variable, the repository's own copy wins
    /// (tests run from the crate, whose datasets/planetoid exists).
    #[test]
    fn data_dir_falls_back_to_the_repository_copy() {
        if std::env::var_os(DATA_DIR_ENV).is_some_and(|d| !d.is_empty()) {
            // The variable rightly wins; check that instead.
            let var = PathBuf::from(std::env::var_os(DATA_DIR_ENV).unwrap());
            assert_eq!(data_dir(None), var);
            return;
        }
        let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join(PLANETOID_SUBDIR);
        assert_eq!(data_dir(None), expected);
        assert!(expected.join("ind.cora.graph").is_file());
    }
}
