//! Link-prediction training as in the paper: split the edges (DESIGN.md §4), train on
//! the training edges, watch validation AUC/AP, report test AUC/AP of the mean
//! embedding μ.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::gpu::{AdapterReport, Gpu};
use crate::metrics::{link_metrics, LinkMetrics};
use crate::model::{GaeModel, LossParts, ModelConfig, Objective, Weights};
use crate::split::{split_edges_with, EdgeSplit};

/// Training settings beyond the model's own.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct TrainOptions {
    /// The model and optimiser.
    pub model: ModelConfig,
    /// Epochs (200).
    pub epochs: u32,
    /// Validation metrics and loss every this many epochs (and after the last); 0 means
    /// only after the last.
    pub eval_every: u32,
    /// Seed of the edge split; `None` uses the model's seed.
    pub split_seed: Option<u64>,
    /// Fraction of edges held out for validation (0.05).
    pub val_fraction: f64,
    /// Fraction of edges held out for testing (0.10).
    pub test_fraction: f64,
    /// Early stopping: stop when the validation metric has not improved for this many
    /// epochs, and keep the weights of the best evaluation (`None`: train every epoch and
    /// keep the last weights). Validation runs every `eval_every` epochs.
    pub patience: Option<u32>,
    /// The validation metric early stopping watches (AUC).
    pub monitor: Monitor,
    /// The caller's own negatives for validation and test, replacing the drawn ones
    /// (`None`: drawn, as tkipf's split draws them). See
    /// [`EdgeSplit::use_negatives`](crate::split::EdgeSplit::use_negatives) for how they
    /// are divided and checked.
    #[serde(skip)]
    pub held_out_negatives: Option<Vec<(u32, u32)>>,
}

/// The validation metric that early stopping watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Monitor {
    /// ROC AUC.
    #[default]
    Auc,
    /// Average precision.
    Ap,
}

text_enum!(Monitor, "monitor", Monitor::Auc => "auc", Monitor::Ap => "ap");

impl Monitor {
    fn of(self, metrics: &LinkMetrics) -> f64 {
        match self {
            Monitor::Auc => metrics.auc,
            Monitor::Ap => metrics.ap,
        }
    }
}

impl TrainOptions {
    /// Checks every setting (the model's too); needs no device and no graph.
    pub fn validate(&self) -> Result<()> {
        if self.model.objective == Objective::Subgraph && self.model.sample_nodes < 2 {
            return Err(Error::InvalidConfig {
                setting: "sample_nodes",
                message: format!(
                    "the subgraph objective reconstructs the pairs among the nodes it draws \
                     each epoch: it needs at least 2, got {}",
                    self.model.sample_nodes
                ),
            });
        }
        self.model.validate()?;
        if self.epochs == 0 {
            return Err(Error::InvalidConfig {
                setting: "epochs",
                message: "at least one epoch is needed".into(),
            });
        }
        if self.patience.is_some() && self.eval_every == 0 {
            return Err(Error::InvalidConfig {
                setting: "patience",
                message: "early stopping watches validation metrics: eval_every must be at \
                          least 1"
                    .into(),
            });
        }
        if self.patience == Some(0) {
            return Err(Error::InvalidConfig {
                setting: "patience",
                message: "must be at least 1 epoch".into(),
            });
        }
        let valid = |f: f64| f.is_finite() && f >= 0.0;
        if !valid(self.val_fraction)
            || !valid(self.test_fraction)
            || self.val_fraction + self.test_fraction >= 1.0
        {
            return Err(Error::InvalidConfig {
                setting: "val_fraction/test_fraction",
                message: format!(
                    "held-out fractions must be >= 0 and sum to less than 1, got validation \
                     {} and test {}",
                    self.val_fraction, self.test_fraction
                ),
            });
        }
        Ok(())
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: ModelConfig::default(),
            epochs: 200,
            eval_every: 10,
            split_seed: None,
            val_fraction: 0.05,
            test_fraction: 0.10,
            patience: None,
            monitor: Monitor::Auc,
            held_out_negatives: None,
        }
    }
}

/// What the progress callback sees after an epoch.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    /// 1-based epoch just finished.
    pub epoch: u32,
    /// Total epochs.
    pub epochs: u32,
    /// Loss of this epoch's forward pass, on evaluation epochs.
    pub loss: Option<LossParts>,
    /// Validation metrics after this epoch's update, on evaluation epochs.
    pub val: Option<LinkMetrics>,
    /// Wall time since training started.
    pub elapsed: Duration,
}

/// What a progress callback returns: `()` or [`ControlFlow::Continue`] to go on,
/// [`ControlFlow::Break`] to stop (the call then returns [`Error::Interrupted`]).
pub trait Progress {
    /// Whether the caller asked to stop.
    fn stop(&self) -> bool;
}

impl Progress for () {
    fn stop(&self) -> bool {
        false
    }
}

impl Progress for ControlFlow<()> {
    fn stop(&self) -> bool {
        self.is_break()
    }
}

/// One evaluated epoch, as [`TrainReport::history`] keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: u32,
    /// Its loss.
    pub loss: LossParts,
    /// Validation metrics after its update (`None` without validation edges).
    pub val: Option<LinkMetrics>,
}

/// Summary of a finished training run.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Settings used.
    pub options: TrainOptions,
    /// Nodes in the graph.
    pub num_nodes: usize,
    /// Training / validation / test positive edges.
    pub edge_counts: [usize; 3],
    /// Loss of the last epoch.
    pub final_loss: LossParts,
    /// Validation metrics of the kept weights.
    pub val: Option<LinkMetrics>,
    /// Test metrics of the kept weights.
    pub test: Option<LinkMetrics>,
    /// Epochs run (fewer than `options.epochs` when early stopping stopped training).
    pub epochs_run: u32,
    /// The epoch whose weights were kept: the best validation epoch with early stopping,
    /// else the last.
    pub best_epoch: u32,
    /// Whether early stopping ended training before `options.epochs`.
    pub stopped_early: bool,
    /// Seconds spent in training epochs (evaluation excluded).
    pub train_seconds: f64,
    /// Seconds spent evaluating.
    pub eval_seconds: f64,
    /// Seconds to build the model (uploads, pipelines, recordings).
    pub setup_seconds: f64,
    /// GPU dispatches per epoch.
    pub dispatches_per_epoch: usize,
    /// Bytes of device memory held by the buffer pool.
    pub device_bytes: u64,
    /// The adapter.
    pub adapter: AdapterReport,
    /// Whether the model was trained without features (the identity as input).
    pub featureless: bool,
    /// Every evaluated epoch (every `eval_every`-th and the last), in order.
    pub history: Vec<EpochRecord>,
    /// Remarks a user should see (e.g. a sample size reduced to what the graph has).
    pub notes: Vec<String>,
}

/// A trained model with its split and report.
pub struct Trained {
    /// The model, still on the device (embeddings, scores, weights).
    pub model: GaeModel,
    /// The edge split it was trained and evaluated on.
    pub split: EdgeSplit,
    /// The summary.
    pub report: TrainReport,
}

/// Splits the graph's edges, trains on the training part and evaluates on the held-out
/// parts. Without features (`graph.features()` is `None`) the model is featureless
/// (identity). `progress` is called after every epoch; returning
/// [`ControlFlow::Break`] stops training with [`Error::Interrupted`]. With
/// `options.patience`, training stops once the validation metric has not improved for
/// that many epochs, and the best evaluation's weights are kept (and evaluated on the
/// test set).
pub fn train<P: Progress>(
    gpu: &Gpu,
    graph: GraphView<'_>,
    options: &TrainOptions,
    mut progress: impl FnMut(&EpochReport) -> P,
) -> Result<Trained> {
    options.validate()?;
    let num_nodes = graph.num_nodes();
    let seed = options.split_seed.unwrap_or(options.model.seed);
    let mut split = split_edges_with(
        num_nodes,
        graph.edges(),
        options.val_fraction,
        options.test_fraction,
        seed,
    )?;
    crate::memory::trace("split", None);
    let mut notes = Vec::new();
    if let Some(negatives) = &options.held_out_negatives {
        split.use_negatives(graph.edges(), negatives)?;
        notes.push(format!(
            "validation and test use the {} given negatives ({} and {}) instead of drawn ones",
            negatives.len(),
            split.val_neg.len(),
            split.test_neg.len()
        ));
    }
    let setup_start = Instant::now();
    let mut model = GaeModel::new(gpu, &options.model, graph.with_edges(&split.train))?;
    if let Some(sample) = model.subgraph_sample_size() {
        if sample < options.model.sample_nodes {
            notes.push(format!(
                "the subgraph objective draws {sample} nodes per epoch: only {sample} nodes \
                 can be drawn (sample_nodes {} asked for more{})",
                options.model.sample_nodes,
                if options.model.alpha > 0.0 {
                    "; with alpha > 0 nodes without a training edge are never drawn"
                } else {
                    ""
                }
            ));
        }
    }
    let val_pairs = [split.val_pos.as_slice(), split.val_neg.as_slice()].concat();
    let test_pairs = [split.test_pos.as_slice(), split.test_neg.as_slice()].concat();
    let val_scorer = model.pair_scorer(&val_pairs)?;
    let test_scorer = model.pair_scorer(&test_pairs)?;
    // On the device now; the split keeps its own lists.
    drop((val_pairs, test_pairs));
    let setup_seconds = setup_start.elapsed().as_secs_f64();
    crate::memory::trace("model", Some(gpu.pool_bytes()));

    let evaluate = |model: &GaeModel, scorer, positives: usize| -> Result<Option<LinkMetrics>> {
        if positives == 0 {
            return Ok(None);
        }
        let scores = model.score(scorer)?;
        let (pos, neg) = scores.split_at(positives);
        Ok(Some(link_metrics(pos, neg)?))
    };

    let start = Instant::now();
    let mut eval_time = Duration::ZERO;
    let mut final_loss = LossParts {
        reconstruction: f64::NAN,
        kl: f64::NAN,
        total: f64::NAN,
    };
    // Early stopping: the best validation score, its epoch and weights.
    let mut best: Option<(f64, u32, Weights)> = None;
    let mut epochs_run = 0;
    let mut stopped_early = false;
    let mut history = Vec::new();
    for epoch in 1..=options.epochs {
        model.train_epoch()?;
        epochs_run = epoch;
        if epoch == 1 && crate::memory::trace_enabled() {
            // Every buffer has been touched once the first epoch has run.
            gpu.wait()?;
            crate::memory::trace("epoch 1", Some(gpu.pool_bytes()));
        }
        let is_eval =
            epoch == options.epochs || (options.eval_every > 0 && epoch % options.eval_every == 0);
        let (mut loss, mut val) = (None, None);
        if is_eval {
            let parts = model.loss()?;
            let eval_start = Instant::now();
            val = evaluate(&model, &val_scorer, split.val_pos.len())?;
            if let (Some(patience), Some(metrics)) = (options.patience, &val) {
                let score = options.monitor.of(metrics);
                if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
                    best = Some((score, epoch, model.weights()?));
                }
                let best_epoch = best.as_ref().map_or(epoch, |(_, e, _)| *e);
                stopped_early = epoch - best_epoch >= patience && epoch < options.epochs;
            }
            eval_time += eval_start.elapsed();
            final_loss = parts;
            loss = Some(parts);
            history.push(EpochRecord {
                epoch,
                loss: parts,
                val,
            });
        }
        let asked = progress(&EpochReport {
            epoch,
            epochs: options.epochs,
            loss,
            val,
            elapsed: start.elapsed(),
        });
        if asked.stop() {
            return Err(Error::Interrupted {
                message: format!("training stopped after epoch {epoch} of {}", options.epochs),
            });
        }
        if stopped_early {
            break;
        }
    }
    gpu.wait()?;
    let train_seconds = (start.elapsed() - eval_time).as_secs_f64();
    let best_epoch = match best {
        Some((_, epoch, weights)) => {
            model.set_weights(&weights)?;
            epoch
        }
        None => epochs_run,
    };
    let eval_start = Instant::now();
    let val = evaluate(&model, &val_scorer, split.val_pos.len())?;
    let test = evaluate(&model, &test_scorer, split.test_pos.len())?;
    let eval_seconds = (eval_time + eval_start.elapsed()).as_secs_f64();
    crate::memory::trace("evaluation", Some(gpu.pool_bytes()));
    let report = TrainReport {
        options: options.clone(),
        num_nodes,
        edge_counts: [split.train.len(), split.val_pos.len(), split.test_pos.len()],
        final_loss,
        val,
        test,
        epochs_run,
        best_epoch,
        stopped_early,
        train_seconds,
        eval_seconds,
        setup_seconds,
        dispatches_per_epoch: model.dispatches_per_epoch(),
        device_bytes: gpu.pool_bytes(),
        adapter: gpu.report().clone(),
        featureless: graph.features().is_none(),
        history,
        notes,
    };
    Ok(Trained {
        model,
        split,
        report,
    })
}
