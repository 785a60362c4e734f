//! The tasks behind the command line, as library calls: load a graph the way the flags
//! describe it, write a training run's results, embed a graph with a saved model, and
//! cluster embeddings. `main.rs` parses arguments, calls these and prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::cluster::{
    cluster_metrics, kmeans_gpu, silhouette, ClusterMetrics, KMeansConfig, SilhouetteOptions,
};
use crate::data::{
    data_dir, load_edge_list, load_planetoid, read_labels, EdgeListOptions, FeatureNormalization,
    Graph, LoadPhase, MissingFeatures,
};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::GaeModel;
use crate::output::{prepare_dir, write_atomic, write_json, NpyWriter};
use crate::saved::{edge_fingerprint, SavedModel, SplitSettings, TrainingGraph, TrainingMetrics};
use crate::synthetic::{generate, SyntheticSpec};
use crate::train::{TrainReport, Trained};

/// Where a graph comes from and how it is prepared, as the flags of `run`, `embed`,
/// `predict` and `cluster` say.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GraphRequest {
    /// A Planetoid dataset by name.
    pub dataset: Option<String>,
    /// Where the Planetoid files are (see [`data_dir`]).
    pub data_dir: Option<PathBuf>,
    /// An edge list (text or .npy).
    pub edges: Option<PathBuf>,
    /// Features for the edge list.
    pub features: Option<PathBuf>,
    /// What a keyed features table means for nodes it lacks.
    pub missing_features: MissingFeatures,
    /// Evaluation labels for the edge list.
    pub labels: Option<PathBuf>,
    /// The labels training may use (the class-conditional prior's), replacing
    /// Planetoid's semi-supervised ones.
    pub train_labels: Option<PathBuf>,
    /// Feature scaling.
    pub normalization: FeatureNormalization,
    /// Drop the features (the featureless model, X = I).
    pub featureless: bool,
    /// The embedded synthetic graph, used when neither `dataset` nor `edges` is given.
    pub synthetic: SyntheticSpec,
}

impl Default for GraphRequest {
    fn default() -> Self {
        GraphRequest {
            dataset: None,
            data_dir: None,
            edges: None,
            features: None,
            missing_features: MissingFeatures::Error,
            labels: None,
            train_labels: None,
            normalization: FeatureNormalization::None,
            featureless: false,
            synthetic: SyntheticSpec::default(),
        }
    }
}

impl GraphRequest {
    /// Loads and prepares the graph; `phase` hears of each loading phase and its time.
    pub fn load(&self, phase: &dyn Fn(&str, Duration)) -> Result<Graph> {
        let report = |p: LoadPhase, d: Duration| phase(&format!("{p:?}").to_lowercase(), d);
        let mut graph = if let Some(name) = &self.dataset {
            load_planetoid(&data_dir(self.data_dir.as_deref()), name)?
        } else if let Some(path) = &self.edges {
            let options = EdgeListOptions {
                features: self.features.clone(),
                missing_features: self.missing_features,
                labels: self.labels.clone(),
                progress: Some(&report),
                ..EdgeListOptions::default()
            };
            load_edge_list(path, &options)?
        } else {
            let mut spec = self.synthetic.clone();
            if self.featureless {
                spec.features = 0;
            }
            let start = std::time::Instant::now();
            let g = generate(&spec)?;
            phase("generate", start.elapsed());
            let features = g.feature_matrix().cloned();
            let mut graph =
                Graph::from_edges(g.num_nodes, &g.edges, features)?.with_labels(g.labels)?;
            graph.name = format!("synthetic-sbm-{}", g.num_nodes);
            graph
        };
        if let Some(path) = &self.train_labels {
            let labels = read_labels(path, &graph)?;
            graph.train_labels = Some(labels.labels);
        }
        if self.featureless {
            graph.features = None;
        }
        graph.normalize_features(self.normalization)?;
        Ok(graph)
    }
}

/// What `run --out` writes, besides the files' names.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary<'a> {
    /// Dataset or file name.
    pub dataset: &'a str,
    /// Undirected edges of the input graph.
    pub num_edges: usize,
    /// The training report (settings, metrics, timings, adapter).
    #[serde(flatten)]
    pub report: &'a TrainReport,
    /// Node clustering of the embeddings, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clustering: Option<&'a ClusterReport>,
}

/// The model file of a training run on `graph` (featureless when the graph has no
/// features).
pub fn saved_model(
    graph: &Graph,
    trained: &Trained,
    normalization: FeatureNormalization,
) -> Result<SavedModel> {
    trained.saved_model(graph, normalization)
}

impl Trained {
    /// The model file of this training run on `graph` (featureless when the graph has no
    /// features), whose features were scaled by `normalization`.
    pub fn saved_model(
        &self,
        graph: &Graph,
        normalization: FeatureNormalization,
    ) -> Result<SavedModel> {
        let report = &self.report;
        let options = &report.options;
        Ok(SavedModel::new(
            options.model.clone(),
            self.model.weights()?,
            graph.features.is_none(),
            normalization.to_string(),
            TrainingGraph {
                name: graph.name.clone(),
                num_nodes: graph.num_nodes,
                num_edges: graph.num_edges(),
                edge_fingerprint: edge_fingerprint(graph.num_nodes, &graph.edges),
                node_ids: graph.node_ids.as_ref().map(|ids| ids.to_strings()),
            },
            SplitSettings {
                seed: options.split_seed.unwrap_or(options.model.seed),
                val_fraction: options.val_fraction,
                test_fraction: options.test_fraction,
            },
            TrainingMetrics {
                val: report.val,
                test: report.test,
                epochs_run: report.epochs_run,
                best_epoch: report.best_epoch,
                final_loss: report.final_loss,
            },
        ))
    }
}

/// μ of every node of `graph` (all of its edges in Â) with the saved model's weights:
/// N × latent, row-major.
pub fn embed(gpu: &Gpu, saved: &SavedModel, graph: &Graph, source: &str) -> Result<Vec<f32>> {
    let view = if saved.header.featureless {
        graph.view().without_features()
    } else {
        graph.view()
    };
    saved.check_graph(&view, source)?;
    let model = GaeModel::encoder(gpu, &saved.header.config, view, &saved.weights)?;
    model.embeddings()
}

/// Writes `embeddings.npy` (N × latent float32, streamed in row chunks) and, when the
/// graph has original ids, `node_ids.txt` (one per line, row order) into `dir`.
pub fn write_embeddings(
    dir: &Path,
    graph: &Graph,
    embeddings: &[f32],
    latent: usize,
) -> Result<()> {
    let rows = graph.num_nodes;
    let mut writer = NpyWriter::new(&dir.join("embeddings.npy"), rows, latent)?;
    for chunk in embeddings.chunks(latent * 65_536) {
        writer.write_rows(chunk)?;
    }
    writer.finish()?;
    if let Some(ids) = &graph.node_ids {
        write_atomic(
            &dir.join("node_ids.txt"),
            (ids.join("\n") + "\n").as_bytes(),
        )?;
    }
    Ok(())
}

/// Prepares `dir` for results (created, checked writable) before any work is done.
pub fn prepare_output(dir: &Path) -> Result<()> {
    prepare_dir(dir)
}

/// Writes `value` as `dir/name` (pretty JSON, atomically).
pub fn write_report<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<()> {
    write_json(&dir.join(name), value)
}

/// k-means on the embeddings and the clustering metrics (DESIGN.md §8).
#[derive(Clone, Debug, Serialize)]
pub struct ClusterReport {
    /// Clusters k.
    pub k: usize,
    /// The cluster of every node.
    #[serde(skip)]
    pub assignment: Vec<u32>,
    /// Sum of squared distances to the assigned centroids.
    pub inertia: f64,
    /// Lloyd iterations of the best run.
    pub iterations: usize,
    /// ACC, NMI, ARI and F1 over every labelled node.
    pub all_labelled: Option<ClusterMetrics>,
    /// The same over the labelled nodes whose labels were not used in training (the
    /// class-conditional prior's training labels excluded).
    pub unseen_labels: Option<ClusterMetrics>,
    /// The silhouette score (Euclidean; on a seeded sample of 10,000 nodes above that).
    pub silhouette: Option<f64>,
}

/// k-means on the GPU (k-means++, Lloyd, best of 10 restarts, seeded) on `embeddings`
/// (n × dim) with k = `clusters`, or the number of classes of `labels`; the metrics
/// against `labels` (−1: unlabelled, left out), also without the nodes of
/// `train_labels`; the silhouette when there are no labels.
pub fn cluster(
    gpu: &Gpu,
    embeddings: &[f32],
    dim: usize,
    labels: Option<&[i32]>,
    train_labels: Option<&[i32]>,
    clusters: Option<usize>,
    seed: u64,
) -> Result<ClusterReport> {
    let n = embeddings.len() / dim.max(1);
    let classes = labels
        .and_then(|l| l.iter().copied().max())
        .filter(|&c| c >= 0);
    let k = match (clusters, classes) {
        (Some(k), _) => k,
        (None, Some(c)) => c as usize + 1,
        (None, None) => {
            return Err(Error::InvalidConfig {
                setting: "clusters",
                message: "the graph has no labels to take the number of clusters from; give \
                          it with --clusters K"
                    .into(),
            })
        }
    };
    if k == 0 || k > n {
        return Err(Error::InvalidConfig {
            setting: "clusters",
            message: format!("k must be between 1 and the {n} nodes, got {k}"),
        });
    }
    let result = kmeans_gpu(
        gpu,
        embeddings,
        n,
        dim,
        &KMeansConfig::new(k).with_seed(seed),
    )?;
    let all_labelled = match labels {
        Some(l) if l.iter().any(|&c| c >= 0) => Some(cluster_metrics(l, &result.labels)?),
        _ => None,
    };
    let unseen_labels = match (labels, train_labels) {
        (Some(l), Some(t)) if t.iter().any(|&c| c >= 0) => {
            let unseen: Vec<i32> = l
                .iter()
                .zip(t)
                .map(|(&label, &train)| if train >= 0 { -1 } else { label })
                .collect();
            Some(cluster_metrics(&unseen, &result.labels)?)
        }
        _ => None,
    };
    let silhouette = if all_labelled.is_none() && k >= 2 {
        let options = if n > 10_000 {
            SilhouetteOptions::sampled(10_000, seed)
        } else {
            SilhouetteOptions::default()
        };
        Some(silhouette(embeddings, n, dim, &result.labels, &options)?)
    } else {
        None
    };
    Ok(ClusterReport {
        k,
        inertia: result.inertia,
        iterations: result.n_iter,
        assignment: result.labels,
        all_labelled,
        unseen_labels,
        silhouette,
    })
}

/// Writes `clusters.csv` (`node,cluster`, original node ids) into `dir`.
pub fn write_clusters(dir: &Path, graph: &Graph, report: &ClusterReport) -> Result<()> {
    let mut csv = String::from("node,cluster\n");
    for (i, cluster) in report.assignment.iter().enumerate() {
        let id = graph
            .node_ids
            .as_ref()
            .and_then(|ids| ids.get(i))
            .map_or_else(|| i.to_string(), |id| id.into_owned());
        csv.push_str(&format!("{},{cluster}\n", csv_field(&id)));
    }
    write_atomic(&dir.join("clusters.csv"), csv.as_bytes())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

/// Which graph `predict` treats as known: every edge of the input, or the training
/// edges of the split the model was trained with (the held-out edges become
/// candidates, and how many of them the top K recovers is reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownEdges {
    /// Every edge of the input graph.
    All,
    /// The training edges of the model's split (the graph must be the training graph).
    Train,
}

text_enum!(KnownEdges, "known", KnownEdges::All => "all", KnownEdges::Train => "train");

/// The K most likely missing links and, with [`KnownEdges::Train`], how many held-out
/// test edges they recover.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// The links, best first (globally), or per node in node order.
    pub links: Vec<crate::predict::ScoredPair>,
    /// (held-out test edges among the links, held-out test edges, candidate pairs).
    pub recall: Option<(usize, usize, u64)>,
}

/// Ranks the candidate links of `graph` with a saved model (DESIGN.md §7).
pub fn predict_links(
    gpu: &Gpu,
    saved: &SavedModel,
    graph: &Graph,
    known: KnownEdges,
    k: usize,
    mode: crate::predict::TopKMode,
) -> Result<Prediction> {
    use crate::predict::{top_k_links, Exclusion};
    let (edges, test_pos) = match known {
        KnownEdges::All => (graph.edges.clone(), None),
        KnownEdges::Train => {
            let trained_on = &saved.header.training_graph;
            if edge_fingerprint(graph.num_nodes, &graph.edges) != trained_on.edge_fingerprint {
                return Err(Error::InvalidGraph {
                    message: format!(
                        "--known train needs the graph the model was trained on ({}, {} \
                         nodes, {} edges); this one differs",
                        trained_on.name, trained_on.num_nodes, trained_on.num_edges
                    ),
                });
            }
            let s = saved.header.split;
            let split = crate::split::split_edges_with(
                graph.num_nodes,
                &graph.edges,
                s.val_fraction,
                s.test_fraction,
                s.seed,
            )?;
            (split.train, Some(split.test_pos))
        }
    };
    let mut known_graph = graph.clone();
    known_graph.edges = edges;
    let embeddings = embed(gpu, saved, &known_graph, &graph.name)?;
    let exclude = Exclusion::new(graph.num_nodes, &known_graph.edges)?;
    let latent = saved.header.config.latent;
    let links = top_k_links(gpu, &embeddings, graph.num_nodes, latent, &exclude, k, mode)?;
    let recall = test_pos.map(|test| {
        let held: std::collections::HashSet<(u32, u32)> = test.iter().copied().collect();
        let found = links
            .iter()
            .filter(|l| held.contains(&(l.source.min(l.target), l.source.max(l.target))))
            .count();
        let n = graph.num_nodes as u64;
        let candidates = n * n.saturating_sub(1) / 2 - known_graph.edges.len() as u64;
        (found, test.len(), candidates)
    });
    Ok(Prediction { links, recall })
}

/// The links as CSV `source,target,score` with the graph's original node ids.
pub fn links_csv(graph: &Graph, links: &[crate::predict::ScoredPair]) -> String {
    let id = |i: u32| {
        graph
            .node_ids
            .as_ref()
            .and_then(|ids| ids.get(i as usize))
            .map_or_else(|| i.to_string(), |s| csv_field(&s))
    };
    let mut csv = String::from("source,target,score\n");
    for l in links {
        csv.push_str(&format!("{},{},{}\n", id(l.source), id(l.target), l.score));
    }
    csv
}

/// Reads a pairs file (one pair per line, two node ids separated by a comma, tab or
/// spaces; `#` comments; ids as in the graph's edge list) as node indices.
pub fn read_pairs(path: &Path, graph: &Graph) -> Result<Vec<(u32, u32)>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: String| Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    };
    let index = |id: &str, line: usize| -> Result<u32> {
        let found = match &graph.node_ids {
            Some(ids) => ids.position(id),
            None => id.parse::<usize>().ok().filter(|&i| i < graph.num_nodes),
        };
        found
            .map(|i| i as u32)
            .ok_or_else(|| bad(line, format!("node `{id}` is not in the graph")))
    };
    let mut pairs = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line_no = k + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.len() != 2 {
            return Err(bad(
                line_no,
                format!("expected two node ids, found {}", fields.len()),
            ));
        }
        pairs.push((index(fields[0], line_no)?, index(fields[1], line_no)?));
    }
    Ok(pairs)
}
