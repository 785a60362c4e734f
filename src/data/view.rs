//! [`GraphView`]: a borrowed, validated graph — what the model and the trainer take.

use crate::error::{Error, Result};
use crate::sparse::Csr;

/// A graph as the model sees it: a node count, undirected edges stored once as
/// `(i, j)` with `i < j < num_nodes`, unique, and optional features (`None`: the
/// featureless model, X = I). Every constructor validates (or derives from a validated
/// graph), so nothing downstream checks the edges again.
#[derive(Clone, Copy, Debug)]
pub struct GraphView<'a> {
    num_nodes: usize,
    edges: &'a [(u32, u32)],
    features: Option<&'a Csr>,
    train_labels: Option<&'a [i32]>,
}

impl<'a> GraphView<'a> {
    /// Checks and wraps borrowed parts: `num_nodes` in 1..=2³², every edge `(i, j)` with
    /// `i < j < num_nodes`, no edge twice, features with `num_nodes` rows.
    pub fn new(
        num_nodes: usize,
        edges: &'a [(u32, u32)],
        features: Option<&'a Csr>,
    ) -> Result<Self> {
        if num_nodes == 0 {
            return Err(Error::InvalidGraph {
                message: "a graph needs between 1 and 2^32 nodes, got 0".into(),
            });
        }
        if num_nodes > 1 << 32 {
            return Err(Error::TooLarge {
                what: "the node count of a graph".into(),
                size: num_nodes as u64,
                limit: 1 << 32,
            });
        }
        for (k, &(i, j)) in edges.iter().enumerate() {
            if i >= j || j as usize >= num_nodes {
                return Err(Error::InvalidGraph {
                    message: format!(
                        "edge {k} ({i}, {j}) is not a pair i < j of nodes below {num_nodes}"
                    ),
                });
            }
        }
        let mut keys: Vec<u64> = edges
            .iter()
            .map(|&(i, j)| (u64::from(i) << 32) | u64::from(j))
            .collect();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::InvalidGraph {
                message: format!("edge ({}, {}) appears twice", w[0] >> 32, w[0] as u32),
            });
        }
        if let Some(x) = features {
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
        Ok(GraphView {
            num_nodes,
            edges,
            features,
            train_labels: None,
        })
    }

    /// A view of parts already validated (by [`crate::data::Graph`]).
    pub(crate) fn trusted(
        num_nodes: usize,
        edges: &'a [(u32, u32)],
        features: Option<&'a Csr>,
    ) -> Self {
        GraphView {
            num_nodes,
            edges,
            features,
            train_labels: None,
        }
    }

    /// The same graph with the class labels that training may use (the
    /// class-conditional prior's, DESIGN.md §9): one per node, −1 for nodes whose label
    /// must not be used. Evaluation labels never belong here.
    pub fn with_train_labels(self, labels: &'a [i32]) -> Result<Self> {
        if labels.len() != self.num_nodes {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!(
                    "{} training labels for {} nodes",
                    labels.len(),
                    self.num_nodes
                ),
            });
        }
        if let Some(k) = labels.iter().position(|&l| l < -1) {
            return Err(Error::InvalidArgument {
                argument: "labels",
                message: format!(
                    "node {k} has training label {}; labels are classes >= 0, or -1 for none",
                    labels[k]
                ),
            });
        }
        Ok(GraphView {
            train_labels: Some(labels),
            ..self
        })
    }

    /// Training labels validated by [`crate::data::Graph`].
    pub(crate) fn with_trusted_train_labels(self, labels: &'a [i32]) -> Self {
        GraphView {
            train_labels: Some(labels),
            ..self
        }
    }

    /// The training labels, if given (−1: none).
    pub fn train_labels(&self) -> Option<&'a [i32]> {
        self.train_labels
    }

    /// The same nodes and features with a subset of the edges (the split's training
    /// edges, which are some of this view's edges, so they need no check).
    pub(crate) fn with_edges(self, edges: &'a [(u32, u32)]) -> Self {
        GraphView { edges, ..self }
    }

    /// The same graph without features (the featureless model).
    pub fn without_features(self) -> Self {
        GraphView {
            features: None,
            ..self
        }
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// The undirected edges, `i < j`, unique.
    pub fn edges(&self) -> &'a [(u32, u32)] {
        self.edges
    }

    /// The features, `None` for the identity.
    pub fn features(&self) -> Option<&'a Csr> {
        self.features
    }

    /// Feature columns: F, or N for the identity.
    pub fn num_features(&self) -> usize {
        self.features.map_or(self.num_nodes, Csr::cols)
    }

    /// Nonzeros of the feature matrix: N for the identity.
    pub fn feature_nnz(&self) -> usize {
        self.features.map_or(self.num_nodes, Csr::nnz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_every_edge_once() {
        assert!(GraphView::new(3, &[(0, 1), (1, 2)], None).is_ok());
        assert!(GraphView::new(0, &[], None).is_err());
        let msg = |r: Result<GraphView<'_>>| r.unwrap_err().to_string();
        assert!(msg(GraphView::new(3, &[(1, 0)], None)).contains("i < j"));
        assert!(msg(GraphView::new(3, &[(1, 1)], None)).contains("i < j"));
        assert!(msg(GraphView::new(3, &[(0, 3)], None)).contains("below 3"));
        assert!(msg(GraphView::new(3, &[(0, 1), (1, 2), (0, 1)], None)).contains("twice"));
        let x = Csr::identity(2);
        assert!(msg(GraphView::new(3, &[(0, 1)], Some(&x))).contains("2 rows"));
    }
}
