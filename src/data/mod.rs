//! The graph data layer: the [`Graph`] the trainer consumes and the readers that build
//! it — the original Planetoid pickles ([`load_planetoid`]), their flat-array conversion
//! ([`load_flat_arrays`], [`load_npz`]) and user edge lists ([`load_edge_list`]).
//!
//! Every reader normalises edges the same way (undirected, `i < j`, unique, no self
//! loops) and reports what it removed in [`EdgeStats`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sparse::Csr;

pub mod arrays;
pub mod edgelist;
pub mod ndarray;
pub mod pickle;
pub mod planetoid;
mod view;

pub use arrays::{load_flat_arrays, load_npz};
pub use edgelist::{load_edge_list, EdgeListOptions};
pub use planetoid::{load_planetoid, PLANETOID_DATASETS};
pub use view::GraphView;

/// Environment variable naming the dataset directory (see [`data_dir`]).
pub const DATA_DIR_ENV: &str = "GPU_VGAE_DATA_DIR";

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
        write!(
            f,
            "{} input pairs: {} self loops and {} duplicate pairs removed, {} reverse pairs merged",
            self.input_pairs, self.self_loops, self.duplicates, self.reverse_pairs
        )
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
    /// Class of every node, `-1` where a node has none.
    pub labels: Option<Vec<i32>>,
    /// Original id of every node (edge lists), so outputs can be labelled; `None` when
    /// node `i` is simply id `i`.
    pub node_ids: Option<Vec<String>>,
    /// What normalisation removed from the input edges.
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
    /// `"graph"`.
    pub fn from_edges(
        num_nodes: usize,
        edges: &[(u32, u32)],
        features: Option<Csr>,
    ) -> Result<Graph> {
        if num_nodes == 0 || num_nodes > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "a graph needs between 1 and {} nodes, got {num_nodes}",
                u32::MAX
            )));
        }
        if let Some(k) = edges
            .iter()
            .position(|&(a, b)| a.max(b) as usize >= num_nodes)
        {
            let (a, b) = edges[k];
            return Err(Error::InvalidInput(format!(
                "edge {k} ({a}, {b}) has a node id outside 0..{num_nodes}"
            )));
        }
        if let Some(x) = &features {
            if x.rows() != num_nodes {
                return Err(Error::InvalidInput(format!(
                    "the feature matrix has {} rows but the graph has {num_nodes} nodes",
                    x.rows()
                )));
            }
        }
        let (edges, edge_stats) = normalise(edges);
        if edges.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the graph has no edges ({edge_stats})"
            )));
        }
        Ok(Graph {
            name: "graph".into(),
            num_nodes,
            edges,
            features,
            labels: None,
            node_ids: None,
            edge_stats,
            notes: Vec::new(),
        })
    }

    /// Attaches node labels: one per node, each `>= -1` (`-1` = no label).
    pub fn with_labels(mut self, labels: Vec<i32>) -> Result<Graph> {
        if labels.len() != self.num_nodes {
            return Err(Error::InvalidInput(format!(
                "{} labels for {} nodes",
                labels.len(),
                self.num_nodes
            )));
        }
        if let Some(k) = labels.iter().position(|&l| l < -1) {
            return Err(Error::InvalidInput(format!(
                "node {k} has label {}, labels must be >= -1",
                labels[k]
            )));
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// The graph as the model takes it (validated when the graph was built).
    pub fn view(&self) -> GraphView<'_> {
        GraphView::trusted(self.num_nodes, &self.edges, self.features.as_ref())
    }

    /// Number of undirected edges.
    pub fn num_edges(&self) -> usize {
        self.edges.len()
    }

    /// Number of feature columns, if there are features.
    pub fn num_features(&self) -> Option<usize> {
        self.features.as_ref().map(Csr::cols)
    }

    /// `max(label) + 1`, if there are labels and at least one node has one.
    pub fn num_classes(&self) -> Option<usize> {
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
        Ok(())
    }
}

/// Sorts, orients (`i < j`) and deduplicates pairs, counting what it drops.
fn normalise(pairs: &[(u32, u32)]) -> (Vec<(u32, u32)>, EdgeStats) {
    let mut ordered: Vec<(u32, u32)> = pairs.iter().copied().filter(|(a, b)| a != b).collect();
    let self_loops = pairs.len() - ordered.len();
    ordered.sort_unstable();
    ordered.dedup();
    let duplicates = pairs.len() - self_loops - ordered.len();
    let mut edges: Vec<(u32, u32)> = ordered.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
    edges.sort_unstable();
    edges.dedup();
    let stats = EdgeStats {
        input_pairs: pairs.len(),
        self_loops,
        duplicates,
        reverse_pairs: ordered.len() - edges.len(),
    };
    (edges, stats)
}

/// The dataset directory: `explicit` if given, else `$GPU_VGAE_DATA_DIR`, else
/// `./datasets`.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("datasets"),
    }
}

/// The Planetoid pickle directory for tests: `$GPU_VGAE_DATA_DIR` if set, else
/// `../shared/datasets/planetoid` next to this crate; `None` if that is not a directory.
pub fn test_data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // Canonical, so error messages show a clean path.
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/datasets/planetoid")
            .canonicalize()
            .ok()?,
    };
    dir.is_dir().then_some(dir)
}

/// A format error of `path` without a line number.
fn format_error(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line: None,
        message,
    }
}

/// Rewraps an invalid-input error raised while building from `path` as a format error
/// of that file.
fn input_to_format(path: &Path, error: Error) -> Error {
    match error {
        Error::InvalidInput(message) => format_error(path, message),
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
            "graph: 4 nodes, 3 undirected edges, no features"
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
    fn data_dir_prefers_explicit_path() {
        assert_eq!(data_dir(Some(Path::new("/x"))), PathBuf::from("/x"));
    }
}
