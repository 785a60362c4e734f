//! The tasks behind the command line, as library calls: load a graph from a
//! [`GraphSource`], [`run`] (train → embed → cluster) and write the [`RunOutput`] as one
//! set; embed, rank links and score pairs with a [`SavedModel`]; cluster
//! [`Embeddings`]. `main.rs` parses flags into these option structs, calls and prints.
//!
//! Settings are checked before anything costly ([`RunOptions::check`] needs the graph
//! but no device); the callbacks can stop a run between epochs and between phases
//! ([`Error::Interrupted`]); nothing here prints.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cluster::SilhouetteOptions;
use crate::cluster::{
    cluster_metrics, kmeans_gpu, silhouette, ClusterMetrics, KMeans, KMeansConfig,
};
use crate::data::{
    data_dir, load_edge_list, load_planetoid, normalize_features, read_labels, EdgeListOptions,
    FeatureNormalization, Graph, GraphView, LoadPhase, MissingFeatures, NodeIds,
};
use crate::error::{Error, Result};
use crate::gpu::{AdapterProfile, Gpu};
use crate::memory::{
    available_memory, check_fits, current_rss_bytes, device_memory_is_host, estimate_run,
    MemoryEstimate, RunPlan, RunShape,
};
use crate::model::{GaeModel, Objective};
use crate::output_set::{Manifest, OutputDir, OutputSet, WriteOptions};
use crate::predict::{top_k_links_with, Exclusion, ScoredPair, TopKMode, TopKOptions};
use crate::saved::{edge_fingerprint, SavedModel, SplitSettings, TrainingGraph, TrainingMetrics};
use crate::sparse::Csr;
use crate::synthetic::{generate, SyntheticSpec};
use crate::train::{train, EpochReport, Progress, TrainOptions, TrainReport, Trained};

/// Where a graph comes from: a Planetoid dataset, an edge list (with features and
/// labels), or the embedded synthetic graph when neither is named.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GraphSource {
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
    /// The embedded synthetic graph, used when neither `dataset` nor `edges` is given.
    pub synthetic: SyntheticSpec,
}

impl Default for GraphSource {
    fn default() -> Self {
        GraphSource {
            dataset: None,
            data_dir: None,
            edges: None,
            features: None,
            missing_features: MissingFeatures::Error,
            labels: None,
            train_labels: None,
            synthetic: SyntheticSpec::default(),
        }
    }
}

impl GraphSource {
    /// A Planetoid dataset (`cora`, `citeseer`, `pubmed`).
    pub fn dataset(name: &str) -> Self {
        GraphSource {
            dataset: Some(name.into()),
            ..GraphSource::default()
        }
    }

    /// An edge list file.
    pub fn edges(path: &Path) -> Self {
        GraphSource {
            edges: Some(path.into()),
            ..GraphSource::default()
        }
    }

    /// Whether a dataset or an edge list is named (else the synthetic graph is used).
    pub fn is_named(&self) -> bool {
        self.dataset.is_some() || self.edges.is_some()
    }

    /// The shape of the graph this source generates, known before it is generated (for
    /// the memory estimate): `Some` for the synthetic graph only. `featureless` trains
    /// without its features.
    pub fn generated_shape(&self, featureless: bool) -> Option<RunShape> {
        if self.is_named() {
            return None;
        }
        let spec = &self.synthetic;
        let features = spec.features > 0 && !featureless;
        Some(RunShape {
            nodes: spec.nodes,
            edges: (spec.mean_degree * spec.nodes as f64 / 2.0).round() as usize,
            features: features.then_some((spec.features, spec.nodes * spec.features_per_node)),
            generated: true,
            train_labels: None,
        })
    }

    /// Loads the graph.
    pub fn load(&self) -> Result<Graph> {
        self.load_timed(&mut |_, _| {})
    }

    /// Loads the graph; `phase` hears of each loading phase and its time.
    pub fn load_timed(&self, phase: &mut dyn FnMut(&str, Duration)) -> Result<Graph> {
        let mut graph = if let Some(name) = &self.dataset {
            load_planetoid(&data_dir(self.data_dir.as_deref()), name)?
        } else if let Some(path) = &self.edges {
            let phases = std::cell::RefCell::new(Vec::new());
            let report =
                |p: LoadPhase, d: Duration| phases.borrow_mut().push((format!("{p:?}"), d));
            let options = EdgeListOptions {
                features: self.features.clone(),
                missing_features: self.missing_features,
                labels: self.labels.clone(),
                progress: Some(&report),
                ..EdgeListOptions::default()
            };
            let graph = load_edge_list(path, &options);
            for (name, took) in phases.into_inner() {
                phase(&name.to_lowercase(), took);
            }
            graph?
        } else {
            let start = Instant::now();
            let g = generate(&self.synthetic)?;
            phase("generate", start.elapsed());
            crate::memory::trace("generate", None);
            let features = (g.features.cols() > 0).then_some(g.features);
            // The generator's edges are sorted and unique: moved in, not copied or sorted.
            let mut graph =
                Graph::from_edge_vec(g.num_nodes, g.edges, features)?.with_labels(g.labels)?;
            graph.name = format!("synthetic-sbm-{}", g.num_nodes);
            graph
        };
        crate::memory::trace("graph", None);
        if let Some(path) = &self.train_labels {
            let labels = read_labels(path, &graph)?;
            graph.train_labels = Some(labels.labels);
        }
        Ok(graph)
    }
}

/// k-means on the embeddings and the clustering metrics (DESIGN.md §8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// Clusters k; `None`: the number of classes of the labels.
    pub k: Option<usize>,
    /// Seed of k-means.
    pub seed: u64,
    /// L2-normalise each embedding row before k-means (DESIGN.md §10b): the clusters,
    /// inertia and silhouette are then those of the normalised rows.
    pub normalize: bool,
}

impl ClusterOptions {
    /// k clusters.
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = Some(k);
        self
    }

    /// The k to use for `num_nodes` nodes with these `labels`, checked: at least 1, at
    /// most the nodes; without labels it must be given.
    pub fn resolve_k(&self, num_nodes: usize, labels: Option<&[i32]>) -> Result<usize> {
        let classes = labels
            .and_then(|l| l.iter().copied().max())
            .filter(|&c| c >= 0);
        let k = match (self.k, classes) {
            (Some(k), _) => k,
            (None, Some(c)) => c as usize + 1,
            (None, None) => {
                return Err(Error::InvalidConfig {
                    setting: "clusters",
                    message: "the graph has no labels to take the number of clusters from; \
                              give it with --clusters K"
                        .into(),
                })
            }
        };
        if k == 0 || k > num_nodes {
            return Err(Error::InvalidConfig {
                setting: "clusters",
                message: format!("k must be between 1 and the {num_nodes} nodes, got {k}"),
            });
        }
        Ok(k)
    }
}

/// Settings of [`run`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOptions {
    /// Training.
    pub train: TrainOptions,
    /// Feature scaling applied to the graph's features before training (and recorded in
    /// the model, so that embedding another graph applies it too).
    pub feature_normalization: FeatureNormalization,
    /// Ignore the graph's features (identity input, the paper's "no features" rows).
    pub featureless: bool,
    /// Embed every node after training ([`RunOutput::embeddings`]); clustering implies it.
    pub embeddings: bool,
    /// Cluster the nodes after training.
    pub cluster: Option<ClusterOptions>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            train: TrainOptions::default(),
            feature_normalization: FeatureNormalization::None,
            featureless: false,
            embeddings: true,
            cluster: None,
        }
    }
}

impl RunShape {
    /// The shape of a run on `graph` (without its features if `featureless`).
    pub fn of(graph: &Graph, featureless: bool) -> RunShape {
        RunShape {
            nodes: graph.num_nodes,
            edges: graph.num_edges(),
            features: graph
                .features
                .as_ref()
                .filter(|_| !featureless)
                .map(|x| (x.cols(), x.nnz())),
            generated: false,
            train_labels: graph.train_labels.as_deref().and_then(|labels| {
                let classes = labels.iter().copied().max().filter(|&c| c >= 0)?;
                let labelled = labels.iter().filter(|&&l| l >= 0).count();
                Some((classes as usize + 1, labelled))
            }),
        }
    }
}

impl RunOptions {
    /// The memory a run with these options needs on a graph of `shape`, phase by phase
    /// (see [`crate::memory::estimate_run`]); its schedule planned for `profile`.
    pub fn memory_estimate(
        &self,
        shape: &RunShape,
        profile: &AdapterProfile,
    ) -> Result<MemoryEstimate> {
        estimate_run(shape, &self.plan(), profile)
    }

    /// Fails with [`Error::InsufficientMemory`] (the estimate, and what would fit) when
    /// `estimate` exceeds the host memory available now plus what the process already
    /// holds; device memory counts as host memory where `device_is_host` (a CPU
    /// adapter). Passes where the available memory is unknown.
    pub fn check_memory(
        &self,
        estimate: &MemoryEstimate,
        profile: &AdapterProfile,
        device_is_host: bool,
    ) -> Result<()> {
        let Some(available) = available_memory() else {
            return Ok(());
        };
        let held = current_rss_bytes().unwrap_or(0);
        check_fits(
            estimate,
            &self.plan(),
            profile,
            device_is_host,
            available,
            held,
        )
    }

    fn plan(&self) -> RunPlan<'_> {
        RunPlan {
            train: &self.train,
            scaled_features: !self.featureless
                && self.feature_normalization != FeatureNormalization::None,
            embeddings: self.embeddings || self.cluster.is_some(),
        }
    }

    /// Checks every setting against `graph` (no device needed): the training settings,
    /// the conditional prior's labels, and k against the labels and the nodes.
    pub fn check(&self, graph: &Graph) -> Result<()> {
        self.train.validate()?;
        if self.train.model.conditional && graph.train_labels.is_none() {
            return Err(Error::InvalidConfig {
                setting: "conditional",
                message: "the class-conditional prior needs training labels: a Planetoid \
                          graph or --train-labels FILE"
                    .into(),
            });
        }
        if let Some(cluster) = &self.cluster {
            cluster.resolve_k(graph.num_nodes, graph.labels.as_deref())?;
        }
        Ok(())
    }
}

/// What [`run`]'s callback hears: the memory estimate before training, each epoch,
/// then each later phase as it ends.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// The run's memory estimate, checked against the available memory (before any
    /// large allocation), and whether the device's memory is host memory.
    Memory {
        /// The estimate.
        estimate: &'a MemoryEstimate,
        /// Whether the adapter's memory is the host's (a CPU adapter).
        device_is_host: bool,
    },
    /// An epoch ended.
    Epoch(&'a EpochReport),
    /// A phase (`"train"`, `"embed"`, `"cluster"`) ended after `took`.
    Phase {
        /// Its name.
        name: &'static str,
        /// How long it took.
        took: Duration,
    },
}

/// Node embeddings μ: `rows` nodes × `cols` latent columns, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// Nodes.
    pub rows: usize,
    /// Latent width.
    pub cols: usize,
    /// `rows × cols` values.
    pub values: Vec<f32>,
}

/// The graph a run was on, as its outputs need it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphSummary {
    /// Dataset or file name.
    pub name: String,
    /// Nodes.
    pub num_nodes: usize,
    /// Undirected edges.
    pub num_edges: usize,
    /// What loading removed from the input pairs.
    pub edge_stats: crate::data::EdgeStats,
    /// Original node ids, if the graph has them.
    pub node_ids: Option<NodeIds>,
    /// Evaluation labels.
    pub labels: Option<Vec<i32>>,
    /// Class names.
    pub class_names: Option<Vec<String>>,
}

impl GraphSummary {
    pub(crate) fn of(graph: &Graph) -> Self {
        GraphSummary {
            name: graph.name.clone(),
            num_nodes: graph.num_nodes,
            num_edges: graph.num_edges(),
            edge_stats: graph.edge_stats,
            node_ids: graph.node_ids.clone(),
            labels: graph.labels.clone(),
            class_names: graph.class_names.clone(),
        }
    }
}

/// Everything [`run`] produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The trained model.
    pub model: SavedModel,
    /// The training report (settings, metrics, per-epoch history, timings).
    pub report: TrainReport,
    /// μ of every node, the encoder over every edge of the graph.
    pub embeddings: Option<Embeddings>,
    /// The clustering, when asked for.
    pub clustering: Option<ClusterReport>,
    /// The graph it ran on.
    pub graph: GraphSummary,
}

/// What loading removed from the input edges, as metrics.json gives it.
#[derive(Clone, Copy, Debug, Serialize)]
struct EdgeCounts {
    input_pairs: usize,
    self_loops: usize,
    duplicates: usize,
    reverse_pairs: usize,
}

/// metrics.json of a run.
#[derive(Serialize)]
struct RunSummary<'a> {
    dataset: &'a str,
    num_edges: usize,
    edge_stats: EdgeCounts,
    #[serde(flatten)]
    report: &'a TrainReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    clustering: Option<&'a ClusterReport>,
}

impl RunOutput {
    /// metrics.json's content (the run's report as JSON).
    pub fn summary_json(&self) -> Result<String> {
        let s = &self.graph.edge_stats;
        let summary = RunSummary {
            dataset: &self.graph.name,
            num_edges: self.graph.num_edges,
            edge_stats: EdgeCounts {
                input_pairs: s.input_pairs,
                self_loops: s.self_loops,
                duplicates: s.duplicates,
                reverse_pairs: s.reverse_pairs,
            },
            report: &self.report,
            clustering: self.clustering.as_ref(),
        };
        to_json(&summary)
    }

    /// Writes the set into `dir`, replacing what was there as one unit (see
    /// [`OutputDir`]): model.gvae, embeddings.npy, node_ids.txt (original ids), metrics.json,
    /// clusters.csv, training.svg, embeddings.svg (when the nodes have classes or clusters)
    /// and manifest.json.
    pub fn write(&self, dir: &Path) -> Result<Manifest> {
        self.write_to(OutputDir::claim(dir)?, &WriteOptions::default())
    }

    /// [`write`](Self::write) into a directory claimed earlier (before training, so a
    /// second writer is refused at once).
    pub fn write_to(&self, out: OutputDir, options: &WriteOptions) -> Result<Manifest> {
        let mut set = OutputSet::begin(out, options)?;
        set.write("model.gvae", &self.model.to_bytes()?)?;
        if let Some(e) = &self.embeddings {
            set.write_npy("embeddings.npy", e.rows, e.cols, &e.values)?;
        }
        if let Some(ids) = &self.graph.node_ids {
            set.write("node_ids.txt", node_ids_text(ids).as_bytes())?;
        }
        if let Some(c) = &self.clustering {
            set.write(
                "clusters.csv",
                clusters_csv(self.graph.node_ids.as_ref(), c).as_bytes(),
            )?;
        }
        set.write("metrics.json", self.summary_json()?.as_bytes())?;
        set.write(
            "training.svg",
            training_curves_svg(&self.graph.name, &self.report).as_bytes(),
        )?;
        if let Some(e) = &self.embeddings {
            if let Some(svg) = embeddings_svg(
                &self.graph.name,
                e,
                self.graph.labels.as_deref(),
                self.graph.class_names.as_deref(),
                self.clustering.as_ref(),
            ) {
                set.write("embeddings.svg", svg.as_bytes())?;
            }
        }
        set.commit()
    }
}

/// Trains on `graph` (train → embed → cluster, as [`RunOptions`] says), checking every
/// setting first ([`RunOptions::check`]). `progress` hears every epoch and the end of
/// each phase; returning `ControlFlow::Break` stops the run with [`Error::Interrupted`].
pub fn run<P: Progress>(
    gpu: &Gpu,
    graph: &Graph,
    options: &RunOptions,
    mut progress: impl FnMut(RunEvent<'_>) -> P,
) -> Result<RunOutput> {
    options.check(graph)?;
    let device_is_host = device_memory_is_host(&gpu.report().device_type);
    let estimate =
        options.memory_estimate(&RunShape::of(graph, options.featureless), gpu.profile())?;
    trace_estimate(&estimate, device_is_host);
    if progress(RunEvent::Memory {
        estimate: &estimate,
        device_is_host,
    })
    .stop()
    {
        return Err(Error::Interrupted {
            message: "stopped before training".into(),
        });
    }
    options.check_memory(&estimate, gpu.profile(), device_is_host)?;
    let features = model_features(graph, options.featureless, options.feature_normalization)?;
    let view = model_view(graph, features.as_deref());
    let start = Instant::now();
    let mut trained = train(gpu, view, &options.train, |e| progress(RunEvent::Epoch(e)))?;
    // Memory at a million nodes: the split goes before the weights are read back beside
    // the training model; the training model's buffers go before the encoder's are made,
    // and the pool gives their memory back rather than keeping it for other sizes.
    let split = &mut trained.split;
    for list in [
        &mut split.train,
        &mut split.val_pos,
        &mut split.val_neg,
        &mut split.test_pos,
        &mut split.test_neg,
    ] {
        drop(std::mem::take(list));
    }
    let model = trained.saved_model(graph, options.feature_normalization)?;
    crate::memory::trace("weights read", Some(gpu.pool_bytes()));
    let report = trained.report;
    drop(trained.model);
    gpu.trim_pool();
    crate::memory::trace("training model freed", Some(gpu.pool_bytes()));
    let mut phase = |name: &'static str, took: Duration| -> Result<()> {
        if progress(RunEvent::Phase { name, took }).stop() {
            return Err(Error::Interrupted {
                message: format!("stopped after the {name} phase"),
            });
        }
        Ok(())
    };
    phase("train", start.elapsed())?;
    let embeddings = if options.embeddings || options.cluster.is_some() {
        let start = Instant::now();
        let embeddings = encode(gpu, &model, view)?;
        crate::memory::trace("embed", Some(gpu.pool_bytes()));
        phase("embed", start.elapsed())?;
        Some(embeddings)
    } else {
        None
    };
    let clustering = match (&options.cluster, &embeddings) {
        (Some(cluster), Some(mu)) => {
            let start = Instant::now();
            let train_labels = options
                .train
                .model
                .conditional
                .then_some(graph.train_labels.as_deref())
                .flatten();
            let report = mu.cluster(gpu, graph.labels.as_deref(), train_labels, cluster)?;
            phase("cluster", start.elapsed())?;
            Some(report)
        }
        _ => None,
    };
    Ok(RunOutput {
        model,
        report,
        embeddings,
        clustering,
        graph: GraphSummary::of(graph),
    })
}

/// With `GPU_VGAE_TRACE_MEMORY` set, prints the estimate phase by phase.
pub fn trace_estimate(estimate: &MemoryEstimate, device_is_host: bool) {
    if crate::memory::trace_enabled() {
        eprint!(
            "memory estimate by phase:\n{}",
            estimate.table(device_is_host)
        );
    }
}

/// The features a model reads: none (featureless), the graph's, or the graph's scaled.
fn model_features(
    graph: &Graph,
    featureless: bool,
    scaling: FeatureNormalization,
) -> Result<Option<Cow<'_, Csr>>> {
    Ok(match (&graph.features, featureless, scaling) {
        (None, _, _) | (_, true, _) => None,
        (Some(x), false, FeatureNormalization::None) => Some(Cow::Borrowed(x)),
        (Some(x), false, how) => Some(Cow::Owned(normalize_features(
            x,
            how,
            graph.feature_layout,
        )?)),
    })
}

/// The graph with these features (and its training labels).
fn model_view<'a>(graph: &'a Graph, features: Option<&'a Csr>) -> GraphView<'a> {
    let view = GraphView::trusted(graph.num_nodes, &graph.edges, features);
    match &graph.train_labels {
        Some(labels) => view.with_trusted_train_labels(labels),
        None => view,
    }
}

/// μ of every node of `view` with the model's weights.
fn encode(gpu: &Gpu, model: &SavedModel, view: GraphView<'_>) -> Result<Embeddings> {
    let config = &model.header.config;
    let encoder = GaeModel::encoder(gpu, config, view, &model.weights)?;
    Ok(Embeddings {
        rows: view.num_nodes(),
        cols: config.latent,
        values: encoder.embeddings()?,
    })
}

impl Trained {
    /// The model file of this training run on `graph`, whose features were scaled by
    /// `normalization`.
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
            report.featureless,
            normalization,
            TrainingGraph {
                name: graph.name.clone(),
                num_nodes: graph.num_nodes,
                num_edges: graph.num_edges(),
                edge_fingerprint: edge_fingerprint(graph.num_nodes, &graph.edges),
                node_ids: graph.node_ids.as_ref().map(NodeIds::to_strings),
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

/// Which graph [`SavedModel::predict_links`] treats as known: every edge of the input,
/// or the training edges of the split the model was trained with (the held-out edges
/// become candidates, and how many of them the top K recovers is reported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KnownEdges {
    /// Every edge of the input graph.
    #[default]
    All,
    /// The training edges of the model's split (the graph must be the training graph).
    Train,
}

text_enum!(KnownEdges, "known", KnownEdges::All => "all", KnownEdges::Train => "train");

/// Settings of [`SavedModel::predict_links`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PredictOptions {
    /// K: links overall, or per node.
    pub k: usize,
    /// Global or per node.
    pub mode: TopKMode,
    /// Which edges are known (not candidates).
    pub known: KnownEdges,
    /// Feature scaling; `None`: the model's.
    pub feature_normalization: Option<FeatureNormalization>,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            k: 100,
            mode: TopKMode::Global,
            known: KnownEdges::All,
            feature_normalization: None,
        }
    }
}

impl PredictOptions {
    /// The K best links in `mode`.
    pub fn new(k: usize, mode: TopKMode) -> Self {
        PredictOptions {
            k,
            mode,
            ..PredictOptions::default()
        }
    }

    /// Checks the settings (no device needed).
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::InvalidConfig {
                setting: "top_k",
                message: "the number of links to return must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// How many held-out test edges the top K recovered ([`KnownEdges::Train`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Recall {
    /// Held-out test edges among the links.
    pub found: usize,
    /// Held-out test edges.
    pub held_out: usize,
    /// Candidate pairs the links were drawn from.
    pub candidates: u64,
}

/// Ranked or scored links.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The links: best first (globally), per node in node order, or in the order asked.
    pub links: Vec<ScoredPair>,
    /// With [`KnownEdges::Train`], how many held-out test edges they recover.
    pub recall: Option<Recall>,
}

impl Prediction {
    /// The links as CSV `source,target,score,logit` with the graph's original node ids.
    pub fn to_csv(&self, graph: &Graph) -> String {
        let id = |i: u32| match &graph.node_ids {
            Some(ids) => ids
                .get(i as usize)
                .map_or_else(String::new, |s| csv_field(&s)),
            None => i.to_string(),
        };
        let mut csv = String::from("source,target,score,logit\n");
        for l in &self.links {
            csv.push_str(&format!(
                "{},{},{},{}\n",
                id(l.source),
                id(l.target),
                l.score,
                l.logit
            ));
        }
        csv
    }
}

impl SavedModel {
    /// μ of every node of `graph` (all of its edges in Â) with this model, the features
    /// scaled as the model was trained (or by `scaling`). Refuses a graph the model
    /// cannot embed ([`SavedModel::check_graph`]).
    pub fn embed(
        &self,
        gpu: &Gpu,
        graph: &Graph,
        scaling: Option<FeatureNormalization>,
    ) -> Result<Embeddings> {
        self.check_graph(graph, &graph.name)?;
        let scaling = scaling.unwrap_or_else(|| self.feature_normalization());
        let features = model_features(graph, self.header.featureless, scaling)?;
        encode(gpu, self, model_view(graph, features.as_deref()))
    }

    /// The K most likely missing links of `graph` (DESIGN.md §7).
    pub fn predict_links(
        &self,
        gpu: &Gpu,
        graph: &Graph,
        options: &PredictOptions,
    ) -> Result<Prediction> {
        options.validate()?;
        let (edges, test_pos) = match options.known {
            KnownEdges::All => (Cow::Borrowed(&graph.edges), None),
            KnownEdges::Train => {
                self.check_training_graph(graph, "--known train")?;
                let s = self.header.split;
                let split = crate::split::split_edges_with(
                    graph.num_nodes,
                    &graph.edges,
                    s.val_fraction,
                    s.test_fraction,
                    s.seed,
                )?;
                (Cow::Owned(split.train), Some(split.test_pos))
            }
        };
        self.check_graph(graph, &graph.name)?;
        let scaling = options
            .feature_normalization
            .unwrap_or_else(|| self.feature_normalization());
        let features = model_features(graph, self.header.featureless, scaling)?;
        let view = model_view(graph, features.as_deref()).with_edges(&edges);
        let mu = encode(gpu, self, view)?;
        let exclude = Exclusion::new(graph.num_nodes, &edges)?;
        // Ranked as the model scores: μ in its precision.
        let search =
            TopKOptions::new(options.k, options.mode).with_precision(self.header.config.precision);
        let links = top_k_links_with(gpu, &mu.values, mu.rows, mu.cols, &exclude, &search)?.links;
        let recall = test_pos.map(|test| {
            let held: std::collections::HashSet<(u32, u32)> = test.iter().copied().collect();
            let found = links
                .iter()
                .filter(|l| held.contains(&(l.source.min(l.target), l.source.max(l.target))))
                .count();
            let n = graph.num_nodes as u64;
            Recall {
                found,
                held_out: test.len(),
                candidates: n * n.saturating_sub(1) / 2 - edges.len() as u64,
            }
        });
        Ok(Prediction { links, recall })
    }

    /// σ(μ_a · μ_b) and the logit μ_a · μ_b of the given pairs of `graph`'s nodes, both
    /// from the device (see [`crate::predict::score_links`]).
    pub fn score_links(
        &self,
        gpu: &Gpu,
        graph: &Graph,
        pairs: &[(u32, u32)],
        scaling: Option<FeatureNormalization>,
    ) -> Result<Prediction> {
        let mu = self.embed(gpu, graph, scaling)?;
        let precision = self.header.config.precision;
        let links =
            crate::predict::score_links_as(gpu, &mu.values, mu.rows, mu.cols, pairs, precision)?;
        Ok(Prediction {
            links,
            recall: None,
        })
    }
}

/// k-means on the embeddings and the clustering metrics (DESIGN.md §8).
#[derive(Clone, Debug, Serialize)]
pub struct ClusterReport {
    /// Clusters k.
    pub k: usize,
    /// Whether the embedding rows were L2-normalised before k-means.
    pub normalized: bool,
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

impl Embeddings {
    /// Rows that differ (as the values k-means compares: −0 equals 0).
    pub fn distinct_rows(&self) -> usize {
        let cols = self.cols.max(1);
        let bits: Vec<u32> = self
            .values
            .iter()
            .map(|&v| if v == 0.0 { 0 } else { v.to_bits() })
            .collect();
        let rows: rustc_hash::FxHashSet<&[u32]> = bits.chunks_exact(cols).collect();
        rows.len()
    }

    /// k-means on the GPU (k-means++, Lloyd, best of 10 restarts, seeded) with k from
    /// `options` or the classes of `labels`; the metrics against `labels` (−1:
    /// unlabelled, left out), also without the nodes of `train_labels`; the silhouette
    /// when there are no labels. k above the number of distinct embeddings is refused:
    /// nodes with one embedding cannot be told apart.
    pub fn cluster(
        &self,
        gpu: &Gpu,
        labels: Option<&[i32]>,
        train_labels: Option<&[i32]>,
        options: &ClusterOptions,
    ) -> Result<ClusterReport> {
        let (n, dim) = (self.rows, self.cols);
        if self.values.len() != n * dim {
            return Err(Error::InvalidArgument {
                argument: "embeddings",
                message: format!("{} values for {n} rows of {dim}", self.values.len()),
            });
        }
        for (what, l) in [("labels", labels), ("train_labels", train_labels)] {
            if l.is_some_and(|l| l.len() != n) {
                return Err(Error::InvalidArgument {
                    argument: what,
                    message: format!("{} for {n} nodes", l.map_or(0, <[i32]>::len)),
                });
            }
        }
        let k = options.resolve_k(n, labels)?;
        let normalized;
        let points = if options.normalize {
            normalized = Embeddings {
                values: crate::filters::l2_rows(self.values.clone(), dim),
                ..self.clone()
            };
            &normalized
        } else {
            self
        };
        let distinct = points.distinct_rows();
        if k > distinct {
            return Err(Error::InvalidConfig {
                setting: "clusters",
                message: format!(
                    "k = {k} clusters, but the {n} nodes have only {distinct} distinct \
                     embeddings ({} nodes share theirs with another node), so at most \
                     {distinct} clusters can be told apart; use --clusters {distinct} or fewer",
                    n - distinct
                ),
            });
        }
        let result = kmeans_gpu(
            gpu,
            &points.values,
            n,
            dim,
            &KMeansConfig::new(k).with_seed(options.seed),
        )?;
        let mut report =
            ClusterReport::from_kmeans(points, result, labels, train_labels, options.seed, false)?;
        report.normalized = options.normalize;
        Ok(report)
    }

    /// Writes `embeddings.npy` and, when the graph has original ids, `node_ids.txt` as
    /// one set into `dir` (see [`OutputDir`]).
    pub fn write(&self, dir: &Path, graph: &Graph) -> Result<Manifest> {
        self.write_to(OutputDir::claim(dir)?, graph, &WriteOptions::default())
    }

    /// [`write`](Self::write) into a directory claimed earlier.
    pub fn write_to(
        &self,
        out: OutputDir,
        graph: &Graph,
        options: &WriteOptions,
    ) -> Result<Manifest> {
        let mut set = OutputSet::begin(out, options)?;
        set.write_npy("embeddings.npy", self.rows, self.cols, &self.values)?;
        if let Some(ids) = &graph.node_ids {
            set.write("node_ids.txt", node_ids_text(ids).as_bytes())?;
        }
        set.commit()
    }
}

impl ClusterReport {
    /// The report of the clustering `result` of `points`: the metrics against `labels`
    /// (−1: unlabelled, left out), also without the nodes of `train_labels`; the
    /// silhouette (Euclidean, on a seeded sample of 10,000 nodes above that) always, or
    /// only without labels.
    pub fn from_kmeans(
        points: &Embeddings,
        result: KMeans,
        labels: Option<&[i32]>,
        train_labels: Option<&[i32]>,
        seed: u64,
        always_silhouette: bool,
    ) -> Result<ClusterReport> {
        let (n, dim, k) = (points.rows, points.cols, result.k);
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
        let used = result
            .labels
            .iter()
            .collect::<rustc_hash::FxHashSet<_>>()
            .len();
        let silhouette = if (always_silhouette || all_labelled.is_none()) && used >= 2 && used < n {
            let options = if n > 10_000 {
                SilhouetteOptions::sampled(10_000, seed)
            } else {
                SilhouetteOptions::default()
            };
            Some(silhouette(
                &points.values,
                n,
                dim,
                &result.labels,
                &options,
            )?)
        } else {
            None
        };
        Ok(ClusterReport {
            k,
            normalized: false,
            inertia: result.inertia,
            iterations: result.n_iter,
            assignment: result.labels,
            all_labelled,
            unseen_labels,
            silhouette,
        })
    }

    /// Writes `clusters.csv`, `metrics.json` (this report) and `embeddings.svg` as one
    /// set into a claimed directory.
    pub fn write_to(
        &self,
        out: OutputDir,
        graph: &Graph,
        embeddings: &Embeddings,
        options: &WriteOptions,
    ) -> Result<Manifest> {
        let mut set = OutputSet::begin(out, options)?;
        set.write(
            "clusters.csv",
            clusters_csv(graph.node_ids.as_ref(), self).as_bytes(),
        )?;
        set.write("metrics.json", to_json(self)?.as_bytes())?;
        if let Some(svg) = embeddings_svg(
            &graph.name,
            embeddings,
            graph.labels.as_deref(),
            graph.class_names.as_deref(),
            Some(self),
        ) {
            set.write("embeddings.svg", svg.as_bytes())?;
        }
        set.commit()
    }
}

/// `value` as pretty JSON with a final newline.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| Error::Io {
            path: "<json>".into(),
            source: e.into(),
        })
}

pub(crate) fn node_ids_text(ids: &NodeIds) -> String {
    ids.join("\n") + "\n"
}

/// `clusters.csv`: `node,cluster` with original node ids.
pub(crate) fn clusters_csv(ids: Option<&NodeIds>, report: &ClusterReport) -> String {
    let mut csv = String::from("node,cluster\n");
    for (i, cluster) in report.assignment.iter().enumerate() {
        let id = ids
            .and_then(|ids| ids.get(i))
            .map_or_else(|| i.to_string(), |id| id.into_owned());
        csv.push_str(&format!("{},{cluster}\n", csv_field(&id)));
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// training.svg: the loss and the validation AUC/AP of every evaluated epoch.
pub fn training_curves_svg(name: &str, report: &TrainReport) -> String {
    use crate::svg::{line_chart, Panel, Series};
    let epochs = |f: &dyn Fn(&crate::train::EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        report
            .history
            .iter()
            .filter_map(|r| f(r).map(|y| (f64::from(r.epoch), y)))
            .collect()
    };
    let mut panels = vec![Panel {
        series: vec![Series {
            name: "loss".into(),
            points: epochs(&|r| Some(r.loss.total)),
        }],
        x_label: "epoch".into(),
        y_label: "training loss".into(),
        log_x: false,
        log_y: false,
    }];
    if report.history.iter().any(|r| r.val.is_some()) {
        panels.push(Panel {
            series: vec![
                Series {
                    name: "validation AUC".into(),
                    points: epochs(&|r| r.val.map(|m| m.auc)),
                },
                Series {
                    name: "validation AP".into(),
                    points: epochs(&|r| r.val.map(|m| m.ap)),
                },
            ],
            x_label: "epoch".into(),
            y_label: "validation metric".into(),
            log_x: false,
            log_y: false,
        });
    }
    let objective = report.options.model.objective;
    let kind = report.options.model.kind;
    line_chart(
        &format!(
            "{kind} on {name} ({objective} objective{}): training curves",
            if objective == Objective::Subgraph {
                ", sampled subgraphs"
            } else {
                ""
            }
        ),
        &panels,
    )
}

/// embeddings.svg: the embeddings projected to 2-D (PCA, on the host), coloured by
/// class where the nodes have labels, else by cluster; `None` when there is neither. At
/// most [`crate::svg::MAX_SCATTER_POINTS`] nodes are drawn (a seeded sample above that;
/// the title says so).
pub fn embeddings_svg(
    name: &str,
    embeddings: &Embeddings,
    labels: Option<&[i32]>,
    class_names: Option<&[String]>,
    clustering: Option<&ClusterReport>,
) -> Option<String> {
    use crate::svg::{pca_2d, sample_indices, scatter, MAX_SCATTER_POINTS};
    let (groups, names, by): (Vec<i32>, Vec<String>, &str) =
        match (labels.filter(|l| l.iter().any(|&c| c >= 0)), clustering) {
            (Some(l), _) => {
                let classes = l.iter().copied().max().unwrap_or(-1).max(-1) + 1;
                let names = (0..classes as usize)
                    .map(|c| {
                        class_names
                            .and_then(|n| n.get(c).cloned())
                            .unwrap_or_else(|| format!("class {c}"))
                    })
                    .collect();
                (l.to_vec(), names, "class")
            }
            (None, Some(c)) => (
                c.assignment.iter().map(|&a| a as i32).collect(),
                (0..c.k).map(|c| format!("cluster {c}")).collect(),
                "cluster",
            ),
            (None, None) => return None,
        };
    let (n, dim) = (embeddings.rows, embeddings.cols);
    let chosen = sample_indices(n, MAX_SCATTER_POINTS, 0);
    let mut rows = Vec::with_capacity(chosen.len() * dim);
    for &i in &chosen {
        rows.extend_from_slice(embeddings.values.get(i * dim..(i + 1) * dim)?);
    }
    let points = pca_2d(&rows, chosen.len(), dim);
    let groups: Vec<i32> = chosen
        .iter()
        .map(|&i| groups.get(i).copied().unwrap_or(-1))
        .collect();
    let shown = if chosen.len() < n {
        format!("{} of {n} nodes, a seeded sample", chosen.len())
    } else {
        format!("{n} nodes")
    };
    Some(scatter(
        &format!("embeddings of {name}, PCA to 2-D, coloured by {by} ({shown})"),
        &points,
        &groups,
        &names,
    ))
}

/// Reads a pairs file (see [`crate::data::read_pairs`], the data layer's reader).
pub use crate::data::read_pairs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn k_is_checked_against_labels_and_nodes() {
        let none = ClusterOptions::default();
        assert_eq!(none.resolve_k(5, Some(&[0, 1, 2, -1, 1])).unwrap(), 3);
        assert!(none
            .resolve_k(5, None)
            .unwrap_err()
            .to_string()
            .contains("--clusters"));
        let zero = ClusterOptions::default().with_k(0);
        assert!(zero.resolve_k(5, None).is_err());
        let many = ClusterOptions::default().with_k(6);
        let err = many.resolve_k(5, None).unwrap_err().to_string();
        assert!(err.contains("between 1 and the 5 nodes"), "{err}");
    }

    #[test]
    fn distinct_rows_treat_negative_zero_as_zero() {
        let e = Embeddings {
            rows: 4,
            cols: 2,
            values: vec![0.0, 1.0, -0.0, 1.0, 1.0, 1.0, 0.0, 2.0],
        };
        assert_eq!(e.distinct_rows(), 3);
    }
}
