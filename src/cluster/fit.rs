//! Clustering a graph's nodes in one call ([`fit`]): a method from the registry
//! ([`METHODS`]) turns the graph into node embeddings (and usually clusters them), then
//! k-means, the metrics against the labels where there are any, inertia and silhouette.
//! `gpu-vgae cluster --dataset NAME` is this call and [`ClusterFitOutput::write_to`].
//!
//! # Methods
//! Each is one entry of [`METHODS`]: its name, whether it needs node features, whether
//! it has N² terms (so that a graph too large for them is refused before training), and
//! the function that runs it. Without a method, [`BEST`] runs: the best label-free
//! method built so far.
//!
//! | name | what |
//! |---|---|
//! | `s2gc` | S²GC low-pass filter + randomised SVD + k-means, order by the intra-cluster rule ([`crate::filters`]) |
//! | `agc` | AGC's filter, the same pipeline |
//! | `scgc` | SCGC's objective trained on the filtered features, k-means on the embedding ([`crate::filters::scgc`]) |
//! | `ns4gc` (the default) | NS4GC (Liu et al. 2024): a GCN encoder trained on two augmented views (alignment, neighbour and sampled sparsity terms on Z₁Z₂ᵀ), k-means on its unit rows; its candidate settings compared by the Davies–Bouldin index ([`crate::filters::ns4gc`]) |
//! | `magi` | MAGI (Liu et al. 2024): a GCN encoder trained contrastively (positives: the nodes each node's random walks visit most; sampled negatives), k-means on its unit rows; its candidate settings compared by the Davies–Bouldin index ([`crate::filters::magi`]) |
//! | `vgae`, `gae` | train the auto-encoder (`gpu-vgae run`'s defaults), k-means on μ |
//! | `dfcn` | DFCN (Tu et al. 2021, [`crate::dfcn`]): PCA to 100 columns, pretraining (or `dfcn_weights`), 200 epochs, k-means on the last epoch's Z̃ |
//!
//! Every setting is checked before a device is opened ([`ClusterFitOptions::check`]).

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::{davies_bouldin, kmeans, kmeans_gpu, KMeans, KMeansConfig};
use crate::data::Graph;
use crate::dfcn::pca::pca_scores;
use crate::dfcn::{
    pretrain, train as dfcn_train, DfcnConfig, DfcnInputs, DfcnModel, DfcnWeights, PretrainConfig,
    Stage,
};
use crate::error::{Error, Result};
use crate::filters::magi::{magi_embed, MagiEpoch, MagiOptions};
use crate::filters::ns4gc::{ns4gc_embed, Ns4gcEpoch, Ns4gcOptions};
use crate::filters::scgc::{scgc_embed, ScgcEpoch, ScgcOptions};
use crate::filters::{
    filter_cluster, graph_features, l2_rows, FilterKind, FilterOptions, OrderStep,
};
use crate::gpu::Gpu;
use crate::model::Objective;
use crate::output_set::{Manifest, OutputDir, OutputSet, WriteOptions};
use crate::run::{
    clusters_csv, embeddings_svg, node_ids_text, run, to_json, ClusterOptions, ClusterReport,
    Embeddings, GraphSummary, RunEvent, RunOptions,
};
use crate::train::{EpochReport, Progress, TrainOptions};

/// One clustering method of the registry.
#[derive(Debug)]
#[non_exhaustive]
pub struct Method {
    /// Its name (`--method NAME`).
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Whether it reads node features (a graph without them is refused).
    pub needs_features: bool,
    /// Whether it has terms over all N² node pairs (each epoch), so that its cost is
    /// estimated and a graph too large for it refused before training.
    pub pair_terms: bool,
    /// Whether it always L2-normalises the rows it clusters (`normalize: false` is
    /// refused).
    pub always_normalized: bool,
    /// The method itself; `None` while it is not built yet (the name is reserved).
    run: Option<MethodFn>,
}

/// A method: the graph, the checked plan, progress → embeddings (and their clustering).
type MethodFn = fn(
    &Gpu,
    &Graph,
    &Plan<'_>,
    &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
) -> Result<MethodResult>;

/// The registry. Adding a method is one entry here.
pub static METHODS: &[Method] = &[
    Method {
        name: "s2gc",
        summary: "S²GC low-pass filter, top 16 singular vectors, k-means; order by the \
                  intra-cluster rule",
        needs_features: true,
        pair_terms: false,
        always_normalized: true,
        run: Some(run_filter),
    },
    Method {
        name: "agc",
        summary: "AGC's filter ½(I + T̃)ᵏ, the same pipeline",
        needs_features: true,
        pair_terms: false,
        always_normalized: true,
        run: Some(run_filter),
    },
    Method {
        name: "scgc",
        summary: "SCGC's objective (two linear views, ‖Z₁Z₂ᵀ − T‖², T the graph and the \
                  features' 10 nearest neighbours) trained on Ã²X, k-means on the embedding",
        needs_features: true,
        pair_terms: false,
        always_normalized: true,
        run: Some(run_scgc),
    },
    Method {
        name: "ns4gc",
        summary: "NS4GC (Liu et al. 2024): a GCN encoder on two augmented views trained so \
                  that Z₁Z₂ᵀ is high on the diagonal and the edges, low elsewhere (a \
                  sampled sigmoid term), k-means on its unit rows",
        needs_features: true,
        pair_terms: false,
        always_normalized: true,
        run: Some(run_ns4gc),
    },
    Method {
        name: "magi",
        summary: "MAGI (Liu et al., KDD 2024): a GCN encoder trained contrastively, each \
                  node's positives the nodes its random walks visit most, sampled \
                  negatives; k-means on its min-max scaled unit rows",
        needs_features: true,
        pair_terms: false,
        always_normalized: true,
        run: Some(run_magi),
    },
    Method {
        name: "vgae",
        summary: "VGAE trained as `gpu-vgae run` does, k-means on μ",
        needs_features: false,
        pair_terms: true,
        always_normalized: false,
        run: Some(run_autoencoder),
    },
    Method {
        name: "gae",
        summary: "GAE trained as `gpu-vgae run --model gae` does, k-means on μ",
        needs_features: false,
        pair_terms: true,
        always_normalized: false,
        run: Some(run_autoencoder),
    },
    Method {
        name: "dfcn",
        summary: "DFCN (Tu et al., AAAI 2021): PCA, pretrained AE + IGAE fused, trained \
                  with its four losses; k-means on the last epoch's Z̃",
        needs_features: true,
        pair_terms: true,
        always_normalized: false,
        run: Some(run_dfcn),
    },
];

/// The method that runs when none is named: the best label-free one built so far.
pub const BEST: &str = "ns4gc";

/// The registry entry named `name` (any case).
pub fn method(name: &str) -> Result<&'static Method> {
    let wanted = name.to_ascii_lowercase();
    METHODS
        .iter()
        .find(|m| m.name == wanted)
        .ok_or_else(|| Error::InvalidConfig {
            setting: "method",
            message: format!(
                "unknown clustering method `{name}`; expected one of: {}",
                method_names().join(", ")
            ),
        })
}

/// The names of [`METHODS`].
pub fn method_names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// Settings of [`fit`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterFitOptions {
    /// The method's name; `None`: [`BEST`].
    pub method: Option<String>,
    /// Clusters k; `None`: the number of classes of the graph's labels.
    pub k: Option<usize>,
    /// Seed of everything random (SVD test matrix, k-means, training).
    pub seed: u64,
    /// L2-normalise the embedding rows before k-means; `None`: the method's default
    /// (the filters always do; the auto-encoders as [`ClusterOptions`]' default).
    pub normalize: Option<bool>,
    /// The filter methods' settings (the kind is taken from the method's name).
    pub filter: FilterOptions,
    /// The auto-encoders' training (the kind is taken from the method's name, the seed
    /// from `seed`).
    pub train: TrainOptions,
    /// The `scgc` method's settings.
    pub scgc: ScgcOptions,
    /// The `ns4gc` method's candidate settings (at least one): each is trained and
    /// clustered, and the one whose k-means partition has the lowest Davies–Bouldin
    /// index is kept. Default: [`Ns4gcOptions::published_settings`].
    pub ns4gc: Vec<Ns4gcOptions>,
    /// The `magi` method's candidate settings (at least one), selected as `ns4gc`'s.
    /// Default: [`MagiOptions::published_settings`].
    pub magi: Vec<MagiOptions>,
    /// The most node-pair evaluations (N² × epochs) a method with N² terms may do: a
    /// graph above it is refused before training. 10¹¹ by default, Pubmed's 200 dense
    /// epochs (7.8·10¹⁰) fit; on lavapipe that is about a quarter of an hour.
    pub max_pair_evaluations: u64,
    /// DFCN's pretrained weights (an `.npz` in the layout of [`crate::dfcn::DfcnWeights`]);
    /// `None`: DFCN pretrains first (AE, IGAE, joint: 160 epochs).
    pub dfcn_weights: Option<std::path::PathBuf>,
}

impl Default for ClusterFitOptions {
    fn default() -> Self {
        ClusterFitOptions {
            method: None,
            k: None,
            seed: 0,
            normalize: None,
            filter: FilterOptions::default(),
            train: TrainOptions::default(),
            scgc: ScgcOptions::default(),
            ns4gc: Ns4gcOptions::published_settings(),
            magi: MagiOptions::published_settings(),
            max_pair_evaluations: 100_000_000_000,
            dfcn_weights: None,
        }
    }
}

/// The checked settings of one fit.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The method.
    pub method: &'static Method,
    /// Clusters.
    pub k: usize,
    /// Whether rows are L2-normalised before k-means.
    pub normalize: bool,
    /// The options.
    pub options: &'a ClusterFitOptions,
}

impl ClusterFitOptions {
    /// The method these settings name.
    pub fn method(&self) -> Result<&'static Method> {
        method(self.method.as_deref().unwrap_or(BEST))
    }

    /// Checks every setting against `graph` (no device needed): the method exists and is
    /// built, k is between 1 and N (given when there are no labels), the features a method
    /// needs are there, a method with N² terms fits its budget, and the method's own
    /// settings.
    pub fn check<'a>(&'a self, graph: &Graph) -> Result<Plan<'a>> {
        let method = self.method()?;
        let Some(_) = method.run else {
            return Err(Error::InvalidConfig {
                setting: "method",
                message: format!(
                    "the clustering method `{}` is not built yet; built: {}",
                    method.name,
                    METHODS
                        .iter()
                        .filter(|m| m.run.is_some())
                        .map(|m| m.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        let k = ClusterOptions {
            k: self.k,
            ..ClusterOptions::default()
        }
        .resolve_k(graph.num_nodes, graph.labels.as_deref())?;
        if method.needs_features {
            graph_features(graph, method.name)?;
        }
        if self.dfcn_weights.is_some() && method.name != "dfcn" {
            return Err(Error::InvalidConfig {
                setting: "pretrained",
                message: format!(
                    "--pretrained gives DFCN's weights; the method is {} (add --method dfcn)",
                    method.name
                ),
            });
        }
        self.filter.validate()?;
        self.scgc.validate()?;
        if self.ns4gc.is_empty() {
            return Err(Error::InvalidConfig {
                setting: "ns4gc",
                message: "ns4gc needs at least one candidate setting".into(),
            });
        }
        for candidate in &self.ns4gc {
            candidate.validate()?;
        }
        if self.magi.is_empty() {
            return Err(Error::InvalidConfig {
                setting: "magi",
                message: "magi needs at least one candidate setting".into(),
            });
        }
        for candidate in &self.magi {
            candidate.validate()?;
        }
        let normalize = match method.always_normalized {
            true => {
                if self.normalize == Some(false) {
                    return Err(Error::InvalidConfig {
                        setting: "normalize",
                        message: format!(
                            "{} always L2-normalises its singular vectors' rows (the \
                             published pipeline)",
                            method.name
                        ),
                    });
                }
                true
            }
            false => self
                .normalize
                .unwrap_or(ClusterOptions::default().normalize),
        };
        if method.pair_terms {
            let train = self.autoencoder_training(method);
            train.validate()?;
            let n = graph.num_nodes as u64;
            let pairs = match train.model.objective {
                _ if method.name == "dfcn" => Some(n * n),
                Objective::Dense => Some(n * n),
                Objective::Subgraph => {
                    let m = train.model.sample_nodes.min(graph.num_nodes) as u64;
                    Some(m * m)
                }
                Objective::Sampled => None,
            };
            if let Some(per_epoch) = pairs {
                // DFCN's pretraining adds its IGAE and joint epochs (the AE's have none).
                let pretraining = match (method.name, &self.dfcn_weights) {
                    ("dfcn", None) => {
                        let p = PretrainConfig::default();
                        (p.igae_epochs + p.joint_epochs) as u32
                    }
                    _ => 0,
                };
                let epochs = train.epochs + pretraining;
                let total = per_epoch.saturating_mul(u64::from(epochs));
                if total > self.max_pair_evaluations {
                    return Err(Error::TooLarge {
                        what: format!(
                            "the node-pair evaluations of {}'s N² terms on {} nodes \
                             ({epochs} epochs × {per_epoch} pairs; --method {BEST} has no N² terms)",
                            method.name, graph.num_nodes
                        ),
                        size: total,
                        limit: self.max_pair_evaluations,
                    });
                }
            }
        }
        Ok(Plan {
            method,
            k,
            normalize,
            options: self,
        })
    }

    /// The training settings of an auto-encoder method.
    fn autoencoder_training(&self, method: &Method) -> TrainOptions {
        let mut train = self.train.clone();
        if let Ok(kind) = method.name.parse() {
            train.model.kind = kind;
        }
        train.model.seed = self.seed;
        train
    }
}

/// What [`fit`]'s callback hears.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum FitEvent<'a> {
    /// A training epoch ended (auto-encoder methods).
    Epoch(&'a EpochReport),
    /// A filter order was tried (filter methods).
    Order(&'a OrderStep),
    /// A training epoch of `scgc` ended.
    ScgcEpoch(&'a ScgcEpoch),
    /// A training epoch of `ns4gc` ended.
    Ns4gcEpoch(&'a Ns4gcEpoch),
    /// A training epoch of `magi` ended.
    MagiEpoch(&'a MagiEpoch),
    /// A candidate setting of `ns4gc` or `magi` was trained and clustered.
    Candidate {
        /// Its index among the candidates.
        index: usize,
        /// Of how many.
        of: usize,
        /// The Davies–Bouldin index of its partition at the compared width.
        davies_bouldin: f64,
        /// The compared width.
        width: usize,
    },
    /// An epoch of `dfcn` ended: of its pretraining stages (`Ae`, `Igae`, `Joint`) or of
    /// its training (`Dfcn`).
    DfcnEpoch {
        /// The stage.
        stage: Stage,
        /// The epoch within the stage, from 1.
        epoch: usize,
    },
    /// A phase ended after `took`.
    Phase {
        /// Its name.
        name: &'static str,
        /// How long it took.
        took: Duration,
    },
}

/// What a method hands back.
struct MethodResult {
    /// The embeddings k-means clusters (normalised already where the method does).
    embeddings: Embeddings,
    /// Their clustering, when the method made it.
    kmeans: Option<KMeans>,
    /// The method's settings, every one.
    hyperparameters: Value,
    /// What the method found (the chosen order and its search, training metrics).
    details: Value,
    /// Seconds per phase.
    phases: Vec<(&'static str, f64)>,
}

/// A phase and its time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseTime {
    /// The phase.
    pub phase: String,
    /// Seconds.
    pub seconds: f64,
}

/// Everything [`fit`] produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterFitOutput {
    /// The method that ran.
    pub method: &'static str,
    /// The embeddings that were clustered.
    pub embeddings: Embeddings,
    /// The clustering, its metrics, inertia and silhouette.
    pub clustering: ClusterReport,
    /// The method's settings (every one), k and the seed.
    pub hyperparameters: Value,
    /// What the method found.
    pub details: Value,
    /// Seconds per phase.
    pub timings: Vec<PhaseTime>,
    /// The graph.
    pub graph: GraphSummary,
    /// The adapter it ran on.
    pub adapter: String,
}

/// Clusters `graph`'s nodes as `options` say (see the module docs), after checking
/// every setting ([`ClusterFitOptions::check`]). `progress` hears epochs, filter orders
/// and phases; returning `ControlFlow::Break` stops with [`Error::Interrupted`].
pub fn fit<P: Progress>(
    gpu: &Gpu,
    graph: &Graph,
    options: &ClusterFitOptions,
    mut progress: impl FnMut(FitEvent<'_>) -> P,
) -> Result<ClusterFitOutput> {
    let plan = options.check(graph)?;
    let mut hear = |e: FitEvent<'_>| {
        if progress(e).stop() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let run_method = plan.method.run.ok_or_else(|| Error::InvalidConfig {
        setting: "method",
        message: format!("`{}` is not built yet", plan.method.name),
    })?;
    let result = run_method(gpu, graph, &plan, &mut hear)?;
    let mut timings: Vec<PhaseTime> = result
        .phases
        .iter()
        .map(|&(phase, seconds)| PhaseTime {
            phase: phase.into(),
            seconds,
        })
        .collect();
    let start = Instant::now();
    let e = &result.embeddings;
    let kmeans = match result.kmeans {
        Some(k) => k,
        None => {
            let start = Instant::now();
            let k = cluster_rows(gpu, e, plan.k, options.seed)?;
            phase(&mut hear, "kmeans", start.elapsed())?;
            timings.push(PhaseTime {
                phase: "kmeans".into(),
                seconds: start.elapsed().as_secs_f64(),
            });
            k
        }
    };
    let metrics_start = Instant::now();
    let clustering =
        ClusterReport::from_kmeans(e, kmeans, graph.labels.as_deref(), None, options.seed, true)?;
    timings.push(PhaseTime {
        phase: "metrics".into(),
        seconds: metrics_start.elapsed().as_secs_f64(),
    });
    phase(&mut hear, "metrics", start.elapsed())?;
    let mut hyperparameters = json!({
        "method": plan.method.name,
        "k": plan.k,
        "seed": options.seed,
        "normalize": plan.normalize,
        "kmeans": {"init": "k-means++", "n_init": 10, "max_iter": 300,
                   "stop": "no assignment changes"},
    });
    if let (Value::Object(all), Value::Object(own)) = (&mut hyperparameters, result.hyperparameters)
    {
        all.extend(own);
    }
    Ok(ClusterFitOutput {
        method: plan.method.name,
        embeddings: result.embeddings,
        clustering,
        hyperparameters,
        details: result.details,
        timings,
        graph: GraphSummary::of(graph),
        adapter: gpu.report().name.clone(),
    })
}

/// k-means (k-means++, 10 restarts, seeded) on the rows of `e`, as [`fit`] clusters.
fn cluster_rows(gpu: &Gpu, e: &Embeddings, k: usize, seed: u64) -> Result<KMeans> {
    let config = KMeansConfig::new(k).with_seed(seed);
    // The GPU kernels hold a point in registers (at most 64 columns); wider embeddings
    // (scgc's) cluster on the host, the same algorithm and seeds.
    if e.cols <= crate::kernels::MAX_LATENT {
        kmeans_gpu(gpu, &e.values, e.rows, e.cols, &config)
    } else {
        kmeans(&e.values, e.rows, e.cols, &config)
    }
}

fn phase(
    hear: &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
    name: &'static str,
    took: Duration,
) -> Result<()> {
    if hear(FitEvent::Phase { name, took }).is_break() {
        return Err(Error::Interrupted {
            message: format!("stopped after the {name} phase"),
        });
    }
    Ok(())
}

/// `s2gc` and `agc`: [`filter_cluster`].
fn run_filter(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
) -> Result<MethodResult> {
    let mut filter = plan.options.filter.clone();
    filter.kind = plan.method.name.parse::<FilterKind>()?;
    let start = Instant::now();
    let outcome = filter_cluster(
        gpu,
        graph,
        plan.k,
        plan.options.seed,
        &filter,
        &mut |step| hear(FitEvent::Order(step)),
    )?;
    let took = start.elapsed();
    phase(hear, "filter", took)?;
    let mut settings = json!({
        "filter": filter.kind,
        "order": filter.order.map_or(Value::from("chosen by the intra-cluster rule"), Value::from),
        "max_order": filter.max_order,
        "order_rule": "the K before the first K whose mean intra-cluster squared distance \
                       is not lower than K-1's",
        "svd": {"method": "randomised (Halko et al.), Gaussian test matrix",
                "components": filter.svd.components,
                "oversamples": filter.svd.oversamples,
                "power_iterations": filter.svd.power_iterations},
        "rows": "L2-normalised",
    });
    if filter.kind == FilterKind::S2gc {
        settings["alpha"] = json!(filter.alpha);
        settings["self_loops"] = json!(filter.self_loops);
        settings["operator"] = json!(if filter.self_loops {
            "D~^-1/2 (A + I) D~^-1/2"
        } else {
            "D^-1/2 A D^-1/2"
        });
    } else {
        settings["operator"] = json!("1/2 (I + D~^-1/2 (A + I) D~^-1/2)");
    }
    let details = json!({
        "order": outcome.order,
        "orders_tried": outcome.history,
    });
    Ok(MethodResult {
        embeddings: Embeddings {
            rows: graph.num_nodes,
            cols: outcome.dim,
            values: outcome.embeddings,
        },
        kmeans: Some(outcome.kmeans),
        hyperparameters: json!({ "filter": settings }),
        details,
        phases: vec![("filter", took.as_secs_f64())],
    })
}

/// `scgc`: [`scgc_embed`]; k-means follows in [`fit`].
fn run_scgc(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
) -> Result<MethodResult> {
    let o = &plan.options.scgc;
    let start = Instant::now();
    let outcome = scgc_embed(gpu, graph, plan.options.seed, o, &mut |epoch| {
        hear(FitEvent::ScgcEpoch(epoch))
    })?;
    let took = start.elapsed();
    phase(hear, "train", took)?;
    let hyperparameters = json!({ "scgc": {
        "filter": "A~^t X, A~ = D~^-1/2 (A + I) D~^-1/2",
        "order": o.order,
        "encoders": "two linear layers (views), rows L2-normalised",
        "dim": o.dim,
        "loss": "||Z1 Z2^T - T||_F^2 / N^2",
        "target": if o.neighbours > 0 { "min(A + K, 1) + I, K: each node's nearest neighbours by cosine of its row of U S (top singular triplets of A~^t X), symmetrised" } else { "A + I" },
        "neighbours": o.neighbours,
        "neighbour_components": o.neighbour_components,
        "optimizer": "Adam",
        "lr": o.lr,
        "epochs": o.epochs,
        "epoch_clustered": "the last",
        "init": "U(-1/sqrt(F), 1/sqrt(F)) for W and b, seeded",
        "embedding": "mean of the two views' rows, L2-normalised",
    }});
    Ok(MethodResult {
        embeddings: Embeddings {
            rows: graph.num_nodes,
            cols: outcome.dim,
            values: outcome.embeddings,
        },
        kmeans: None,
        hyperparameters,
        details: json!({ "final_loss": outcome.final_loss }),
        phases: vec![("train", took.as_secs_f64())],
    })
}

/// A trained candidate setting: its embedding and final loss.
struct Trained {
    embeddings: Embeddings,
    final_loss: f64,
}

/// The candidate [`select_candidate`] kept, and what it tried.
struct Selection {
    chosen: usize,
    embeddings: Embeddings,
    kmeans: KMeans,
    tried: Vec<Value>,
    phases: Vec<(&'static str, f64)>,
    width: usize,
}

/// The hearing callback of a method.
type Hear<'h> = dyn FnMut(FitEvent<'_>) -> ControlFlow<()> + 'h;

/// Each of `dims.len()` candidate settings trained by `train` and clustered; the one
/// whose partition has the lowest Davies–Bouldin index is kept (the first on a tie), an
/// unsupervised rule as AGE's (DESIGN.md §10b).
fn select_candidate(
    gpu: &Gpu,
    plan: &Plan<'_>,
    hear: &mut Hear<'_>,
    dims: &[usize],
    train: &mut dyn FnMut(usize, &mut Hear<'_>) -> Result<Trained>,
) -> Result<Selection> {
    let seed = plan.options.seed;
    // The index grows with the dimension for partitions of the same quality (distances
    // concentrate), so the candidates are compared at a common width: each embedding's
    // top principal components, as many as the narrowest candidate has columns.
    let width = dims.iter().copied().min().unwrap_or(1);
    let mut best: Option<(usize, f64, Embeddings, KMeans)> = None;
    let mut tried = Vec::new();
    let mut phases = Vec::new();
    for index in 0..dims.len() {
        let start = Instant::now();
        let Trained {
            embeddings,
            final_loss,
        } = train(index, hear)?;
        let took = start.elapsed();
        phase(hear, "train", took)?;
        let start = Instant::now();
        let clustering = cluster_rows(gpu, &embeddings, plan.k, seed)?;
        // A partition with one cluster (all rows equal) has no index: it ranks last.
        let full_width = davies_bouldin(
            &embeddings.values,
            embeddings.rows,
            embeddings.cols,
            &clustering.labels,
        )
        .unwrap_or(f64::INFINITY);
        let index_value = if embeddings.cols <= width {
            full_width // a rotation of its own columns: the same index
        } else {
            let scores =
                principal_scores(&embeddings.values, embeddings.rows, embeddings.cols, width);
            davies_bouldin(&scores, embeddings.rows, width, &clustering.labels)
                .unwrap_or(f64::INFINITY)
        };
        phase(hear, "kmeans", start.elapsed())?;
        phases.push(("train", took.as_secs_f64()));
        phases.push(("kmeans", start.elapsed().as_secs_f64()));
        if hear(FitEvent::Candidate {
            index,
            of: dims.len(),
            davies_bouldin: index_value,
            width,
        })
        .is_break()
        {
            return Err(Error::Interrupted {
                message: format!("stopped after {}'s candidate {index}", plan.method.name),
            });
        }
        tried.push(json!({
            "candidate": index,
            "davies_bouldin": index_value,
            "davies_bouldin_full_width": full_width,
            "final_loss": final_loss,
            "inertia": clustering.inertia,
            "train_seconds": took.as_secs_f64(),
        }));
        if best.as_ref().is_none_or(|b| index_value < b.1) {
            best = Some((index, index_value, embeddings, clustering));
        }
    }
    let (chosen, _, embeddings, kmeans) = best.ok_or_else(|| Error::InvalidConfig {
        setting: plan.method.name,
        message: format!("{} needs at least one candidate setting", plan.method.name),
    })?;
    Ok(Selection {
        chosen,
        embeddings,
        kmeans,
        tried,
        phases,
        width,
    })
}

/// How [`select_candidate`] chooses, for metrics.json.
const SELECTION_RULE: &str = "each candidate trained and clustered (k-means as below); kept: \
                              the lowest Davies-Bouldin index of its partition \
                              (scikit-learn's davies_bouldin_score) computed on the \
                              embedding's top `compared_width` principal components, the \
                              first on a tie";

/// `ns4gc`: each candidate setting trained by [`ns4gc_embed`], one kept by
/// [`select_candidate`].
fn run_ns4gc(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut Hear<'_>,
) -> Result<MethodResult> {
    let candidates = &plan.options.ns4gc;
    let dims: Vec<usize> = candidates.iter().map(Ns4gcOptions::dim).collect();
    let selection = select_candidate(gpu, plan, hear, &dims, &mut |index, hear| {
        let o = &candidates[index];
        let outcome = ns4gc_embed(gpu, graph, plan.options.seed, o, &mut |epoch| {
            hear(FitEvent::Ns4gcEpoch(epoch))
        })?;
        Ok(Trained {
            embeddings: Embeddings {
                rows: graph.num_nodes,
                cols: outcome.dim,
                values: outcome.embeddings,
            },
            final_loss: outcome.final_loss,
        })
    })?;
    let settings: Vec<Value> = candidates.iter().map(ns4gc_settings).collect();
    let hyperparameters = json!({ "ns4gc": {
        "candidates": settings,
        "selection": SELECTION_RULE,
        "compared_width": selection.width,
        "default_candidates": "NS4GC's published settings for Cora and for Citeseer (its params.txt)",
    }});
    Ok(MethodResult {
        embeddings: selection.embeddings,
        kmeans: Some(selection.kmeans),
        hyperparameters,
        details: json!({ "chosen_candidate": selection.chosen, "candidates": selection.tried }),
        phases: selection.phases,
    })
}

/// `magi`: each candidate setting trained by [`magi_embed`], one kept by
/// [`select_candidate`].
fn run_magi(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut Hear<'_>,
) -> Result<MethodResult> {
    let candidates = &plan.options.magi;
    let dims: Vec<usize> = candidates.iter().map(MagiOptions::dim).collect();
    let mut walks = Vec::new();
    let selection = select_candidate(gpu, plan, hear, &dims, &mut |index, hear| {
        let o = &candidates[index];
        let outcome = magi_embed(gpu, graph, plan.options.seed, o, &mut |epoch| {
            hear(FitEvent::MagiEpoch(epoch))
        })?;
        walks.push(json!({"anchors": outcome.anchors, "positives": outcome.positives}));
        Ok(Trained {
            embeddings: Embeddings {
                rows: graph.num_nodes,
                cols: outcome.dim,
                values: outcome.embeddings,
            },
            final_loss: outcome.final_loss,
        })
    })?;
    let settings: Vec<Value> = candidates.iter().map(magi_settings).collect();
    let hyperparameters = json!({ "magi": {
        "candidates": settings,
        "selection": SELECTION_RULE,
        "compared_width": selection.width,
        "default_candidates": "MAGI's published settings for Cora and for Citeseer (its README)",
    }});
    Ok(MethodResult {
        embeddings: selection.embeddings,
        kmeans: Some(selection.kmeans),
        hyperparameters,
        details: json!({
            "chosen_candidate": selection.chosen,
            "candidates": selection.tried,
            "walks": walks,
        }),
        phases: selection.phases,
    })
}

/// Every setting of one `magi` candidate, for metrics.json.
fn magi_settings(o: &MagiOptions) -> Value {
    json!({
        "encoder": "GCN: H' = LeakyReLU(A~ (H W) + b) after every layer, A~ = D~^-1/2 (A + I) D~^-1/2; rows min-max scaled, then L2-normalised",
        "hidden": o.hidden,
        "negative_slope": o.negative_slope,
        "features": "as loaded",
        "dropout": o.dropout,
        "dropout_sites": "each layer's input while training (the features' non-zeros, then the hidden activations), inverted (kept values scaled by 1/(1 - dropout)); none for the embedding",
        "positives": "per node `walks` uniform random walks of `walk_length` steps on A + I; the nodes j != i visited at least the mean count over the node's visited nodes",
        "walks": o.walks,
        "walk_length": o.walk_length,
        "loss": "(1/|anchors|) sum_anchors [tau log sum_{j != i} exp(z_i.z_j / tau) - mean_{j in P_i} z_i.z_j]",
        "temperature": o.temperature,
        "partition": "sampled: per node and epoch `negatives` nodes j != i uniform with replacement, sum estimated as (N - 1)/negatives times the samples' sum",
        "negatives": o.negatives,
        "optimizer": "Adam, L2 weight decay on every parameter",
        "lr": o.lr,
        "weight_decay": o.weight_decay,
        "epochs": o.epochs,
        "epoch_clustered": "the last",
        "init": "W Glorot uniform, b = 0, seeded",
        "embedding": "the encoder's min-max scaled, L2-normalised rows",
    })
}

/// The scores of `values` (rows × cols, row-major) on its top `r` principal components
/// (centred; the covariance's eigenvectors by Jacobi rotations, in `f64`), rows × r.
/// Signs are arbitrary: for distances between rows only the subspace matters.
fn principal_scores(values: &[f32], rows: usize, cols: usize, r: usize) -> Vec<f32> {
    let mut mean = vec![0f64; cols];
    for row in values.chunks_exact(cols) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    for m in &mut mean {
        *m /= rows.max(1) as f64;
    }
    let mut covariance = vec![0f64; cols * cols];
    let mut centred = vec![0f64; cols];
    for row in values.chunks_exact(cols) {
        for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = f64::from(v) - m;
        }
        for a in 0..cols {
            let ca = centred[a];
            for (cov, &cb) in covariance[a * cols..(a + 1) * cols]
                .iter_mut()
                .zip(&centred)
            {
                *cov += ca * cb;
            }
        }
    }
    let (eigenvalues, vectors) = crate::filters::svd::symmetric_eigen(&covariance, cols);
    let mut order: Vec<usize> = (0..cols).collect();
    order.sort_by(|&a, &b| eigenvalues[b].total_cmp(&eigenvalues[a]));
    let top = &order[..r.min(cols)];
    let mut scores = Vec::with_capacity(rows * top.len());
    for row in values.chunks_exact(cols) {
        for (c, (&v, m)) in centred.iter_mut().zip(row.iter().zip(&mean)) {
            *c = f64::from(v) - m;
        }
        for &t in top {
            let projection: f64 = (0..cols).map(|a| centred[a] * vectors[a * cols + t]).sum();
            scores.push(projection as f32);
        }
    }
    scores
}

/// Every setting of one `ns4gc` candidate, for metrics.json.
fn ns4gc_settings(o: &Ns4gcOptions) -> Value {
    json!({
        "encoder": "GCN shared by both views: H' = A_v (H W) + b, SELU between layers, rows L2-normalised",
        "hidden": o.hidden,
        "features": if o.row_normalize { "rows divided by their absolute sums" } else { "as loaded" },
        "row_normalize": o.row_normalize,
        "views": "per epoch: each undirected edge dropped with edge_drop[v] (A_v = D~^-1/2 (A_v + I) D~^-1/2), each feature column masked with feature_mask[v]",
        "edge_drop": o.edge_drop,
        "feature_mask": o.feature_mask,
        "loss": "-(1/N) sum_i z1_i.z2_i - lambda (1/|E|) sum_E z1_i.z2_j + gamma mean_M sigmoid((z1_i.z2_j - shift)/temperature)",
        "lambda": o.lambda,
        "gamma": o.gamma,
        "shift": o.shift,
        "temperature": o.temperature,
        "sparsity_term": "sampled: per node and epoch `samples` uniform pairs with replacement, weight N/(samples |M|) on pairs of M; independent draws for Z1's and Z2's gradients",
        "samples": o.samples,
        "optimizer": "Adam, L2 weight decay on every parameter",
        "lr": o.lr,
        "weight_decay": o.weight_decay,
        "epochs": o.epochs,
        "epoch_clustered": "the last",
        "init": "W Glorot uniform, b = 0, seeded",
        "embedding": "the encoder on the full graph (no drop, no mask), rows L2-normalised",
    })
}

/// `dfcn`: PCA of the features, pretraining (or the given weights), DFCN's epochs
/// ([`crate::dfcn`]); the last epoch's Z̃ (L2-normalised if asked) is what is clustered.
fn run_dfcn(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
) -> Result<MethodResult> {
    let x = graph_features(graph, plan.method.name)?;
    let seed = plan.options.seed;
    let mut phases = Vec::new();
    let start = Instant::now();
    let components = DFCN_COMPONENTS.min(graph.num_nodes).min(x.cols());
    let inputs = DfcnInputs::new(
        graph.num_nodes,
        &graph.edges,
        pca_scores(x, components, seed)?,
    )?;
    phase(hear, "pca", start.elapsed())?;
    phases.push(("pca", start.elapsed().as_secs_f64()));
    let mut config = DfcnConfig::new(plan.k);
    config.epochs = plan.options.train.epochs as usize;
    config.seed = seed;
    let recipe = PretrainConfig::default();
    let start = Instant::now();
    let weights = match &plan.options.dfcn_weights {
        Some(path) => DfcnWeights::from_npz(path, &config, inputs.features)?,
        None => pretrain(
            Some(gpu),
            &config,
            &recipe,
            &inputs,
            seed,
            |stage, epoch, _| hear(FitEvent::DfcnEpoch { stage, epoch }),
        )?,
    };
    let weights_phase = match plan.options.dfcn_weights {
        Some(_) => "load weights",
        None => "pretrain",
    };
    phase(hear, weights_phase, start.elapsed())?;
    phases.push((weights_phase, start.elapsed().as_secs_f64()));
    let start = Instant::now();
    let mut model = DfcnModel::new(gpu, &config, Stage::Dfcn, &inputs, &weights)?;
    let run = dfcn_train(&mut model, None, 0, |record| {
        hear(FitEvent::DfcnEpoch {
            stage: Stage::Dfcn,
            epoch: record.epoch,
        })
    })?;
    phase(hear, "train", start.elapsed())?;
    phases.push(("train", start.elapsed().as_secs_f64()));
    let mut values = run.embeddings;
    if plan.normalize {
        values = l2_rows(values, config.latent);
    }
    let last = run.epochs.last().map(|r| r.loss);
    Ok(MethodResult {
        embeddings: Embeddings {
            rows: graph.num_nodes,
            cols: config.latent,
            values,
        },
        kmeans: None,
        hyperparameters: json!({ "dfcn": {
            "pca_components": components,
            "pca": "randomised SVD (10 oversamples, 7 power iterations), scikit-learn 0.21 signs",
            "config": config,
            "pretraining": match &plan.options.dfcn_weights {
                Some(path) => json!({"weights": path.display().to_string()}),
                None => json!(recipe),
            },
            "fusion_a": "constant (the reference on CUDA)",
        }}),
        details: json!({
            "final_loss": last,
            "gamma": model.gamma()?,
        }),
        phases,
    })
}

/// DFCN's input columns (the reference's PCA).
const DFCN_COMPONENTS: usize = 100;

/// `vgae` and `gae`: [`run`] (train, embed), μ L2-normalised if asked.
fn run_autoencoder(
    gpu: &Gpu,
    graph: &Graph,
    plan: &Plan<'_>,
    hear: &mut dyn FnMut(FitEvent<'_>) -> ControlFlow<()>,
) -> Result<MethodResult> {
    let mut options = RunOptions::default();
    options.train = plan.options.autoencoder_training(plan.method);
    options.embeddings = true;
    let mut phases = Vec::new();
    let output = run(gpu, graph, &options, |event| match event {
        // The run checks its memory estimate itself; a fit has no use for the figures.
        RunEvent::Memory { .. } => ControlFlow::Continue(()),
        RunEvent::Epoch(e) => hear(FitEvent::Epoch(e)),
        RunEvent::Phase { name, took } => {
            phases.push((name, took.as_secs_f64()));
            hear(FitEvent::Phase { name, took })
        }
    })?;
    let mu = output.embeddings.ok_or_else(|| Error::InvalidArgument {
        argument: "embeddings",
        message: "training produced no embeddings".into(),
    })?;
    let embeddings = if plan.normalize {
        Embeddings {
            values: l2_rows(mu.values, mu.cols),
            ..mu
        }
    } else {
        mu
    };
    let t = &options.train;
    let hyperparameters = json!({ "autoencoder": {
        "model": t.model.kind.to_string(),
        "objective": t.model.objective.to_string(),
        "epochs": t.epochs,
        "lr": t.model.adam.lr,
        "hidden": t.model.hidden,
        "latent": t.model.latent,
        "val_fraction": t.val_fraction,
        "test_fraction": t.test_fraction,
        "features": if graph.features.is_some() { "the graph's, unscaled" } else { "none (identity)" },
        "embedding": "mu over every edge",
    }});
    let details = json!({
        "final_loss": output.report.final_loss.total,
        "val": output.report.val,
        "test": output.report.test,
    });
    Ok(MethodResult {
        embeddings,
        kmeans: None,
        hyperparameters,
        details,
        phases,
    })
}

/// metrics.json of a fit.
#[derive(Serialize)]
struct FitSummary<'a> {
    dataset: &'a str,
    num_nodes: usize,
    num_edges: usize,
    method: &'a str,
    hyperparameters: &'a Value,
    clustering: &'a ClusterReport,
    details: &'a Value,
    timings: &'a [PhaseTime],
    adapter: &'a str,
}

impl ClusterFitOutput {
    /// metrics.json's content.
    pub fn summary_json(&self) -> Result<String> {
        to_json(&FitSummary {
            dataset: &self.graph.name,
            num_nodes: self.graph.num_nodes,
            num_edges: self.graph.num_edges,
            method: self.method,
            hyperparameters: &self.hyperparameters,
            clustering: &self.clustering,
            details: &self.details,
            timings: &self.timings,
            adapter: &self.adapter,
        })
    }

    /// Writes clusters.csv, embeddings.npy, node_ids.txt (original ids), metrics.json,
    /// embeddings.svg and manifest.json into `dir` as one set (see [`OutputDir`]).
    pub fn write(&self, dir: &Path) -> Result<Manifest> {
        self.write_to(OutputDir::claim(dir)?, &WriteOptions::default())
    }

    /// [`write`](Self::write) into a directory claimed earlier.
    pub fn write_to(&self, out: OutputDir, options: &WriteOptions) -> Result<Manifest> {
        let mut set = OutputSet::begin(out, options)?;
        let e = &self.embeddings;
        set.write(
            "clusters.csv",
            clusters_csv(self.graph.node_ids.as_ref(), &self.clustering).as_bytes(),
        )?;
        set.write_npy("embeddings.npy", e.rows, e.cols, &e.values)?;
        if let Some(ids) = &self.graph.node_ids {
            set.write("node_ids.txt", node_ids_text(ids).as_bytes())?;
        }
        set.write("metrics.json", self.summary_json()?.as_bytes())?;
        if let Some(svg) = embeddings_svg(
            &format!("{} ({})", self.graph.name, self.method),
            e,
            self.graph.labels.as_deref(),
            self.graph.class_names.as_deref(),
            Some(&self.clustering),
        ) {
            set.write("embeddings.svg", svg.as_bytes())?;
        }
        set.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(features: bool, labels: bool) -> Graph {
        let x = features.then(|| crate::sparse::Csr::identity(4));
        let g = Graph::from_edges(4, &[(0, 1), (1, 2), (2, 3)], x).unwrap();
        if labels {
            g.with_labels(vec![0, 0, 1, 1]).unwrap()
        } else {
            g
        }
    }

    fn options(method: &str) -> ClusterFitOptions {
        ClusterFitOptions {
            method: Some(method.into()),
            ..ClusterFitOptions::default()
        }
    }

    #[test]
    fn every_name_resolves_and_the_best_is_built() {
        for m in METHODS {
            assert_eq!(method(&m.name.to_uppercase()).unwrap().name, m.name);
        }
        assert!(method(BEST).unwrap().run.is_some());
        let err = method("kmeans").unwrap_err().to_string();
        assert!(
            err.contains("s2gc, agc, scgc, ns4gc, magi, vgae, gae, dfcn"),
            "{err}"
        );
    }

    #[test]
    fn scgc_settings_are_checked_before_any_device() {
        let g = graph(true, true);
        let scgc = |edit: fn(&mut ScgcOptions)| {
            let mut o = ClusterFitOptions {
                method: Some("scgc".into()),
                ..ClusterFitOptions::default()
            };
            edit(&mut o.scgc);
            o
        };
        let plan_options = scgc(|_| {});
        let plan = plan_options.check(&g).unwrap();
        assert_eq!((plan.method.name, plan.normalize), ("scgc", true));
        for (edit, setting) in [
            (
                (|o: &mut ScgcOptions| o.dim = 0) as fn(&mut ScgcOptions),
                "dim",
            ),
            (|o| o.dim = 5000, "dim"),
            (|o| o.order = 0, "order"),
            (|o| o.epochs = 0, "epochs"),
            (|o| o.lr = f32::NAN, "lr"),
            (|o| o.neighbour_components = 65, "neighbour_components"),
        ] {
            match scgc(edit).check(&g) {
                Err(Error::InvalidConfig { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{setting}: {other:?}"),
            }
        }
        let err = scgc(|_| {})
            .check(&graph(false, true))
            .unwrap_err()
            .to_string();
        assert!(err.contains("scgc filters node features"), "{err}");
    }

    #[test]
    fn davies_bouldin_on_the_top_principal_components() {
        // numpy: the rows' top 2 principal components (SVD of the centred matrix), then
        // sklearn 1.9.1's davies_bouldin_score: 1.115563383534529 (all 4 columns:
        // 1.1680846761635728).
        let points: Vec<f32> = (0..12)
            .flat_map(|i| {
                let x = i as f64;
                [
                    x.sin(),
                    (2.0 * x).cos(),
                    (i % 3) as f64,
                    ((i * i) % 5) as f64 * 0.1,
                ]
                .map(|v| v as f32)
            })
            .collect();
        let labels: Vec<u32> = (0..12).map(|i| i % 3).collect();
        let scores = principal_scores(&points, 12, 4, 2);
        let got = davies_bouldin(&scores, 12, 2, &labels).unwrap();
        assert!((got - 1.115563383534529).abs() < 1e-6, "{got}");
        // All components: a rotation, the index of the points themselves.
        let all = principal_scores(&points, 12, 4, 4);
        let rotated = davies_bouldin(&all, 12, 4, &labels).unwrap();
        assert!((rotated - 1.1680846761635728).abs() < 1e-6, "{rotated}");
    }

    #[test]
    fn ns4gc_candidates_are_checked_before_any_device() {
        let g = graph(true, true);
        let with = |candidates: Vec<Ns4gcOptions>| ClusterFitOptions {
            method: Some("ns4gc".into()),
            ns4gc: candidates,
            ..ClusterFitOptions::default()
        };
        assert_eq!(ClusterFitOptions::default().ns4gc.len(), 2);
        assert!(with(Ns4gcOptions::published_settings()).check(&g).is_ok());
        match with(Vec::new()).check(&g) {
            Err(Error::InvalidConfig { setting, .. }) => assert_eq!(setting, "ns4gc"),
            other => panic!("no candidates: {other:?}"),
        }
        // A bad second candidate is refused though the first is fine.
        let mut bad = Ns4gcOptions::published_settings();
        bad[1].epochs = 0;
        match with(bad).check(&g) {
            Err(Error::InvalidConfig { setting, .. }) => assert_eq!(setting, "epochs"),
            other => panic!("epochs 0: {other:?}"),
        }
    }

    #[test]
    fn settings_are_checked_against_the_graph() {
        let g = graph(true, true);
        let defaults = ClusterFitOptions::default();
        let plan = defaults.check(&g).unwrap();
        assert_eq!(
            (plan.method.name, plan.k, plan.normalize),
            ("ns4gc", 2, true)
        );
        let zero = ClusterFitOptions {
            k: Some(0),
            ..ClusterFitOptions::default()
        };
        assert!(zero.check(&g).is_err());
        let many = ClusterFitOptions {
            k: Some(5),
            ..ClusterFitOptions::default()
        };
        assert!(many
            .check(&g)
            .unwrap_err()
            .to_string()
            .contains("between 1 and the 4 nodes"));
        let unlabelled = graph(true, false);
        let err = ClusterFitOptions::default()
            .check(&unlabelled)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--clusters"), "{err}");
        let featureless = graph(false, true);
        let err = ClusterFitOptions::default()
            .check(&featureless)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("has none"), "{err}");
        assert!(options("vgae").check(&featureless).is_ok());
        assert!(options("dfcn").check(&g).is_ok());
        let err = options("dfcn")
            .check(&featureless)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("has none"), "{err}");
        let raw = ClusterFitOptions {
            normalize: Some(false),
            ..ClusterFitOptions::default()
        };
        assert!(raw.check(&g).is_err());
    }

    #[test]
    fn pair_terms_beyond_the_budget_are_refused() {
        let g = graph(true, true);
        let mut o = options("vgae");
        o.max_pair_evaluations = 16 * 200 - 1;
        match o.check(&g) {
            Err(Error::TooLarge { size, limit, .. }) => assert_eq!((size, limit), (3200, 3199)),
            other => panic!("{:?}", other.err()),
        }
        o.max_pair_evaluations = 3200;
        assert!(o.check(&g).is_ok());
        // DFCN: its 200 epochs and, without pretrained weights, the IGAE's and joint
        // pretraining epochs (30 + 100).
        let mut d = options("dfcn");
        d.max_pair_evaluations = 16 * 330 - 1;
        assert!(matches!(
            d.check(&g),
            Err(Error::TooLarge { size: 5280, .. })
        ));
        d.dfcn_weights = Some("w.npz".into());
        assert!(d.check(&g).is_ok());
        let mut wrong = options("s2gc");
        wrong.dfcn_weights = Some("w.npz".into());
        assert!(wrong.check(&g).is_err());
        // The filters have no N² terms.
        let f = ClusterFitOptions {
            max_pair_evaluations: 0,
            ..ClusterFitOptions::default()
        };
        assert!(f.check(&g).is_ok());
    }
}
