//! DFCN's schedule on a device or on the CPU twins, and the reference's training loop.

use serde::Serialize;
use std::ops::ControlFlow;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::schedule::{self, DfcnHandles, Stage, GAMMA_PARAM};
use super::{DfcnConfig, DfcnInputs, DfcnWeights};
use crate::cluster::{assign, cluster_metrics, kmeans, ClusterMetrics, KMeansConfig};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelTiming, Recording, StepParams};
use crate::kernels::adam::AdamConfig;
use crate::kernels::pair_mse::ColumnSplits;
use crate::model::schedule::{Phase, TensorId};
use crate::model::{DeviceTensors, HostTensors};
use crate::sparse::Csr;

/// Where the schedule runs.
enum Backend {
    Device {
        tensors: Box<DeviceTensors>,
        recordings: Vec<Recording>,
    },
    Host(Box<HostTensors>),
}

/// The four losses of one forward pass and their weighted sum (as the reference
/// reports them: means over all entries, KL with 'batchmean').
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DfcnLoss {
    /// MSE(X̂, X).
    pub features: f64,
    /// MSE(Ẑ, Â·X).
    pub propagated: f64,
    /// MSE(Â_enc + Â_dec, Â).
    pub adjacency: f64,
    /// KL(P ‖ (log q + log q1 + log q2)/3) per node.
    pub kl: f64,
    /// features + propagated + w·adjacency + λ·kl.
    pub total: f64,
}

/// DFCN's tensors on a GPU (or on the host, running every step's CPU twin).
pub struct DfcnModel {
    backend: Backend,
    handles: DfcnHandles,
    config: DfcnConfig,
    nodes: usize,
    features: usize,
    /// The schedule's rows: a mini-batch's in the AE stage, N otherwise.
    rows: usize,
    /// The AE stage's X (N × d), which each mini-batch's rows are gathered from.
    batch_source: Option<Vec<f32>>,
    a_hat_sq_sum: f64,
    epoch: u32,
}

impl DfcnModel {
    /// The model of `stage` on `gpu` with `weights` (the AE stage's batches may hold
    /// every row).
    pub fn new(
        gpu: &Gpu,
        config: &DfcnConfig,
        stage: Stage,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
    ) -> Result<Self> {
        Self::on_device(gpu, config, stage, inputs, weights, inputs.nodes)
    }

    /// The model of `stage` on the host (every step's CPU twin), with `splits` column
    /// splits (the AE stage's batches may hold every row).
    pub fn on_host(
        config: &DfcnConfig,
        stage: Stage,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
        splits: usize,
    ) -> Result<Self> {
        Self::on_host_rows(config, stage, inputs, weights, splits, inputs.nodes)
    }

    /// The AE stage on `gpu` (or on the CPU twins without one) for mini-batches of at
    /// most `batch_rows` rows: each step computes the batch's rows alone (the AE has no
    /// graph terms, so this is exactly the full pass with the other rows weighted 0).
    pub fn ae_batches(
        gpu: Option<&Gpu>,
        config: &DfcnConfig,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
        batch_rows: usize,
    ) -> Result<Self> {
        let rows = batch_rows.clamp(1, inputs.nodes.max(1));
        match gpu {
            Some(gpu) => Self::on_device(gpu, config, Stage::Ae, inputs, weights, rows),
            None => Self::on_host_rows(config, Stage::Ae, inputs, weights, 1, rows),
        }
    }

    /// The schedule's rows: `batch_rows` in the AE stage, every node otherwise.
    fn schedule_rows(stage: Stage, inputs: &DfcnInputs, batch_rows: usize) -> usize {
        if stage == Stage::Ae {
            batch_rows
        } else {
            inputs.nodes
        }
    }

    /// The graph's CSR inputs the schedule of `stage` declares.
    fn sparse_inputs(stage: Stage, inputs: &DfcnInputs) -> Vec<&Csr> {
        if stage == Stage::Ae {
            Vec::new()
        } else {
            vec![&inputs.a_hat, &inputs.a_hat_t, &inputs.a_sym]
        }
    }

    fn on_device(
        gpu: &Gpu,
        config: &DfcnConfig,
        stage: Stage,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
        batch_rows: usize,
    ) -> Result<Self> {
        let rows = Self::schedule_rows(stage, inputs, batch_rows);
        let layout = ColumnSplits::new(rows, gpu.profile(), None);
        let (sched, handles) = schedule::training(
            config,
            stage,
            rows,
            inputs.features,
            inputs.a_hat.nnz(),
            layout,
        );
        let tensors = DeviceTensors::new(gpu, sched, &Self::sparse_inputs(stage, inputs), true)?;
        let recordings = Phase::ALL
            .iter()
            .map(|&p| tensors.record_phase(p))
            .collect::<Result<_>>()?;
        Self::finish(
            Backend::Device {
                tensors: Box::new(tensors),
                recordings,
            },
            handles,
            config,
            inputs,
            weights,
            rows,
        )
    }

    fn on_host_rows(
        config: &DfcnConfig,
        stage: Stage,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
        splits: usize,
        batch_rows: usize,
    ) -> Result<Self> {
        let rows = Self::schedule_rows(stage, inputs, batch_rows);
        let layout = ColumnSplits {
            splits: splits.clamp(1, rows),
        };
        let (sched, handles) = schedule::training(
            config,
            stage,
            rows,
            inputs.features,
            inputs.a_hat.nnz(),
            layout,
        );
        let sparse = Self::sparse_inputs(stage, inputs)
            .into_iter()
            .cloned()
            .collect();
        let host = HostTensors::new(sched, sparse)?;
        Self::finish(
            Backend::Host(Box::new(host)),
            handles,
            config,
            inputs,
            weights,
            rows,
        )
    }

    fn finish(
        backend: Backend,
        handles: DfcnHandles,
        config: &DfcnConfig,
        inputs: &DfcnInputs,
        weights: &DfcnWeights,
        rows: usize,
    ) -> Result<Self> {
        let batches = handles.stage == Stage::Ae;
        let mut model = DfcnModel {
            backend,
            handles,
            config: config.clone(),
            nodes: inputs.nodes,
            features: inputs.features,
            rows,
            batch_source: batches.then(|| inputs.x.clone()),
            a_hat_sq_sum: inputs.a_hat_sq_sum,
            epoch: 0,
        };
        // The AE stage starts on X's first rows, every weight 0 until a batch is set.
        model.write(model.handles.x, &inputs.x[..rows * inputs.features])?;
        model.set_weights(weights)?;
        Ok(model)
    }

    /// The schedule's handles.
    pub fn handles(&self) -> &DfcnHandles {
        &self.handles
    }

    /// The schedule.
    pub fn schedule(&self) -> &crate::model::schedule::Schedule {
        match &self.backend {
            Backend::Device { tensors, .. } => tensors.schedule(),
            Backend::Host(host) => host.schedule(),
        }
    }

    /// Device bytes of the schedule's buffers (None on the host).
    pub fn device_bytes(&self) -> Option<u64> {
        match &self.backend {
            Backend::Device { tensors, .. } => Some(tensors.plan().total_bytes()),
            Backend::Host(_) => None,
        }
    }

    /// Epochs trained.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    fn write(&mut self, id: TensorId, values: &[f32]) -> Result<()> {
        match &mut self.backend {
            Backend::Device { tensors, .. } => {
                tensors.array::<f32>(id)?.write(tensors.gpu(), values)
            }
            Backend::Host(host) => host.write_f32(id, values.to_vec()),
        }
    }

    fn read(&self, id: TensorId) -> Result<Vec<f32>> {
        match &self.backend {
            Backend::Device { tensors, .. } => tensors.gpu().read(&tensors.array::<f32>(id)?),
            Backend::Host(host) => Ok(host.f32(id)?.to_vec()),
        }
    }

    fn run(&mut self, phases: &[Phase], epoch: u32) -> Result<()> {
        let step = StepParams::for_epoch(epoch);
        match &mut self.backend {
            Backend::Device {
                tensors,
                recordings,
            } => {
                tensors.step().write(tensors.gpu(), step);
                let chosen: Vec<&Recording> = Phase::ALL
                    .iter()
                    .zip(recordings.iter())
                    .filter(|(p, _)| phases.contains(p))
                    .map(|(_, r)| r)
                    .collect();
                tensors.gpu().submit_all(&chosen)?;
                tensors.gpu().wait()
            }
            Backend::Host(host) => {
                host.set_step(step);
                host.run_phases(phases)
            }
        }
    }

    /// Writes every trained tensor (and resets nothing else).
    pub fn set_weights(&mut self, weights: &DfcnWeights) -> Result<()> {
        let specs = super::param_specs(&self.config, self.features);
        if weights.specs != specs {
            return Err(Error::InvalidArgument {
                argument: "weights",
                message: format!(
                    "the weights' tensors do not match this model's ({} tensors for {} input columns)",
                    specs.len(),
                    self.features
                ),
            });
        }
        for (i, values) in weights.values.iter().enumerate() {
            self.write(self.handles.params[i], values)?;
        }
        Ok(())
    }

    /// Sets the cluster centres (K × L, row-major).
    pub fn set_centers(&mut self, centers: &[f32]) -> Result<()> {
        self.write(self.handles.params[schedule::CENTERS_PARAM], centers)
    }

    /// The trained tensors' current values.
    pub fn weights(&self) -> Result<DfcnWeights> {
        self.read_set(&self.handles.params.clone())
    }

    /// The gradients of the most recent backward pass, laid out as the weights.
    pub fn gradients(&self) -> Result<DfcnWeights> {
        self.read_set(&self.handles.grads.clone())
    }

    fn read_set(&self, ids: &[TensorId]) -> Result<DfcnWeights> {
        Ok(DfcnWeights {
            specs: super::param_specs(&self.config, self.features),
            values: ids.iter().map(|&id| self.read(id)).collect::<Result<_>>()?,
        })
    }

    /// The forward pass alone at the current weights (Z̃ and q; no loss).
    pub fn forward(&mut self) -> Result<()> {
        self.run(&[Phase::Encode], self.epoch)
    }

    /// Forward and backward passes at the current weights, without updating them.
    pub fn forward_backward(&mut self) -> Result<()> {
        self.run(&[Phase::Encode, Phase::LossAndGrads], self.epoch)
    }

    /// The target distribution P of the most recent forward pass (N × K).
    pub fn target(&self) -> Result<Vec<f32>> {
        self.read(self.handles.p.ok_or_else(|| self.not_in_stage("target"))?)
    }

    /// Forward and backward passes with P replaced by `p` between them: the gradient of
    /// the loss at a fixed target, which finite differences can check (P carries no
    /// gradient, so a perturbed forward pass must not move it).
    pub fn forward_backward_with_target(&mut self, p: &[f32]) -> Result<()> {
        let id = self.handles.p.ok_or_else(|| self.not_in_stage("target"))?;
        self.run(&[Phase::Encode], self.epoch)?;
        self.write(id, p)?;
        self.run(&[Phase::LossAndGrads], self.epoch)
    }

    /// One epoch: forward, backward, Adam.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.run(&Phase::ALL, self.epoch)?;
        self.epoch += 1;
        Ok(())
    }

    /// One epoch (forward, backward, Adam) with every dispatch timed by GPU timestamps
    /// (see [`Gpu::run_timed`]); `Ok(None)` on the host or where the device has no
    /// timestamp queries (nothing runs then).
    pub fn train_epoch_timed(&mut self) -> Result<Option<Vec<KernelTiming>>> {
        let Backend::Device {
            tensors,
            recordings,
        } = &mut self.backend
        else {
            return Ok(None);
        };
        if !tensors.gpu().timestamps_supported() {
            return Ok(None);
        }
        tensors
            .step()
            .write(tensors.gpu(), StepParams::for_epoch(self.epoch));
        let mut timings = Vec::new();
        for recording in recordings.iter() {
            timings.extend(tensors.gpu().run_timed(recording)?.unwrap_or_default());
        }
        self.epoch += 1;
        Ok(Some(timings))
    }

    /// Z̃ of the most recent forward pass (N × L).
    pub fn z_tilde(&self) -> Result<Vec<f32>> {
        self.read(self.handles.z_tilde.ok_or_else(|| self.not_in_stage("Z̃"))?)
    }

    fn not_in_stage(&self, what: &str) -> Error {
        Error::InvalidArgument {
            argument: "model",
            message: format!("the {:?} stage has no {what}", self.handles.stage),
        }
    }

    /// The AE stage's next mini-batch (distinct rows, at most the schedule's): the
    /// following passes compute these rows of X alone, gathered into the schedule's first
    /// rows with weight 1/B; the padding rows after them (X's other rows, in order) weigh
    /// 0, so a model whose batches may hold every row runs the full pass over a row
    /// permutation of X.
    pub fn set_batch(&mut self, rows: &[usize]) -> Result<()> {
        let (Some(weights_id), Some(source)) =
            (self.handles.batch_weights, self.batch_source.as_ref())
        else {
            return Err(self.not_in_stage("mini-batches"));
        };
        let bad = |message: String| Error::InvalidArgument {
            argument: "rows",
            message,
        };
        if rows.len() > self.rows {
            return Err(bad(format!(
                "{} rows in a batch of at most {}",
                rows.len(),
                self.rows
            )));
        }
        let mut in_batch = vec![false; self.nodes];
        for &r in rows {
            if r >= self.nodes {
                return Err(bad(format!("row {r} of a {}-row batch source", self.nodes)));
            }
            if std::mem::replace(&mut in_batch[r], true) {
                return Err(bad(format!("row {r} twice in one batch")));
            }
        }
        let padding = (0..self.nodes).filter(|&r| !in_batch[r]);
        let order: Vec<usize> = rows
            .iter()
            .copied()
            .chain(padding)
            .take(self.rows)
            .collect();
        let d = self.features;
        let mut x = Vec::with_capacity(self.rows * d);
        for &r in &order {
            x.extend_from_slice(&source[r * d..(r + 1) * d]);
        }
        let mut weights = vec![0f32; self.rows];
        weights[..rows.len()].fill(1.0 / rows.len().max(1) as f32);
        self.write(self.handles.x, &x)?;
        self.write(weights_id, &weights)
    }

    /// The losses of the most recent forward and backward pass.
    pub fn loss(&self) -> Result<DfcnLoss> {
        let s = self.handles.loss_sums;
        let sum = |id: Option<TensorId>| -> Result<f64> {
            Ok(match id {
                Some(id) => f64::from(self.read(id)?[0]),
                None => 0.0,
            })
        };
        let (n, d) = (self.nodes as f64, self.features as f64);
        // The AE stage's rows carry the batch's 1/B already.
        let rows = if self.handles.stage == Stage::Ae {
            1.0
        } else {
            n
        };
        let features = sum(s.features)? / (rows * d);
        let propagated = sum(s.propagated)? / (n * d);
        let adjacency = match s.adjacency {
            Some(_) => (sum(s.adjacency)? + self.a_hat_sq_sum) / (n * n),
            None => 0.0,
        };
        let kl = sum(s.kl)? / (3.0 * n);
        let total = features
            + propagated
            + f64::from(self.config.adjacency_weight) * adjacency
            + f64::from(self.config.kl_weight) * kl;
        if !total.is_finite() {
            return Err(Error::Diverged {
                epoch: self.epoch,
                reconstruction: features + propagated + adjacency,
                kl,
            });
        }
        Ok(DfcnLoss {
            features,
            propagated,
            adjacency,
            kl,
            total,
        })
    }

    /// γ, the self-correlation's weight.
    pub fn gamma(&self) -> Result<f32> {
        Ok(self.read(self.handles.params[GAMMA_PARAM])?[0])
    }
}

/// One epoch of [`train`]: the losses of its forward pass and, where evaluated, the
/// k-means clustering of its Z̃ against the labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// The losses.
    pub loss: DfcnLoss,
    /// ACC/NMI/ARI/F1 of k-means on this epoch's Z̃, where evaluated with labels.
    pub metrics: Option<ClusterMetrics>,
}

/// What [`train`] returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DfcnRun {
    /// k-means on the starting Z̃ (the centres' initialisation) against the labels.
    pub initial: Option<ClusterMetrics>,
    /// Every epoch.
    pub epochs: Vec<EpochRecord>,
    /// k-means clusters of the last epoch's Z̃.
    pub clusters: Vec<u32>,
    /// The last epoch's Z̃ (N × L).
    pub embeddings: Vec<f32>,
}

/// The reference's loop: centres from k-means on Z̃ at the starting weights, then
/// `config.epochs` epochs of forward, P from this forward's q, losses, backward, Adam; the
/// clusters are k-means on the last epoch's Z̃ (computed before its update, as the
/// reference evaluates). With `labels` (−1 = none), every `eval_every` epochs (and the
/// last) are scored; `progress` sees each record.
pub fn train(
    model: &mut DfcnModel,
    labels: Option<&[i32]>,
    eval_every: usize,
    progress: impl FnMut(&EpochRecord) -> ControlFlow<()>,
) -> Result<DfcnRun> {
    train_from(model, None, labels, eval_every, progress)
}

/// [`train`], starting from the given centres (K × L, row-major; e.g. another
/// implementation's k-means on the same Z̃) instead of k-means on the starting Z̃; the
/// initial score is then that of each node's nearest given centre. `None` is [`train`].
///
/// Errors (`Error::InvalidArgument`) if `centers` is not K × L.
pub fn train_from(
    model: &mut DfcnModel,
    centers: Option<&[f32]>,
    labels: Option<&[i32]>,
    eval_every: usize,
    mut progress: impl FnMut(&EpochRecord) -> ControlFlow<()>,
) -> Result<DfcnRun> {
    if model.handles.stage != Stage::Dfcn {
        return Err(model.not_in_stage("KL term to train with"));
    }
    let config = model.config.clone();
    let (n, l) = (model.nodes, config.latent);
    let mut kmeans_config = KMeansConfig::new(config.clusters).with_seed(config.seed);
    kmeans_config.n_init = config.kmeans_init;
    let score = |clusters: &[u32]| -> Result<Option<ClusterMetrics>> {
        labels.map(|y| cluster_metrics(y, clusters)).transpose()
    };
    model.forward()?;
    let mut embeddings = model.z_tilde()?;
    let start_clusters = match centers {
        Some(given) => {
            let k = config.clusters;
            if given.len() != k * l {
                return Err(Error::InvalidArgument {
                    argument: "centers",
                    message: format!("{} values, not {k} × {l} centres", given.len()),
                });
            }
            model.set_centers(given)?;
            assign(&embeddings, n, l, given, k)?.0
        }
        None => {
            let start = kmeans(&embeddings, n, l, &kmeans_config)?;
            model.set_centers(&start.centroids)?;
            start.labels
        }
    };
    let initial = score(&start_clusters)?;
    let mut epochs = Vec::new();
    let mut clusters = start_clusters;
    for epoch in 1..=config.epochs {
        model.train_epoch()?;
        let loss = model.loss()?;
        let last = epoch == config.epochs;
        let evaluate = last || (labels.is_some() && eval_every > 0 && epoch % eval_every == 0);
        let mut metrics = None;
        if evaluate {
            embeddings = model.z_tilde()?;
            let run = kmeans(
                &embeddings,
                n,
                l,
                &kmeans_config.clone().with_seed(config.seed + epoch as u64),
            )?;
            metrics = score(&run.labels)?;
            clusters = run.labels;
        }
        let record = EpochRecord {
            epoch,
            loss,
            metrics,
        };
        let stop = progress(&record).is_break();
        epochs.push(record);
        if stop {
            return Err(Error::Interrupted {
                message: format!("DFCN stopped at epoch {epoch} of {}", config.epochs),
            });
        }
    }
    Ok(DfcnRun {
        initial,
        epochs,
        clusters,
        embeddings,
    })
}

/// The reference's pretraining recipe (research notes: the later-published
/// pretrain.py): the AE alone on shuffled mini-batches, the IGAE alone, then the fused
/// network without the KL term, each stage with a fresh Adam at [`lr`](Self::lr).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PretrainConfig {
    /// AE epochs.
    pub ae_epochs: usize,
    /// Rows per AE mini-batch.
    pub ae_batch: usize,
    /// IGAE epochs (full batch).
    pub igae_epochs: usize,
    /// Joint epochs (full batch).
    pub joint_epochs: usize,
    /// Adam's learning rate in every stage. 1e-3, the later-published recipe's AE and
    /// IGAE rate: from it five Citeseer seeds end DFCN at 68.7-70.2 ACC; at DFCN's own
    /// 1e-4 they spanned 47.1-70.5 (benches/ACCURACY.md, "Own pretraining over five
    /// seeds").
    pub lr: f32,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            ae_epochs: 30,
            ae_batch: 256,
            igae_epochs: 30,
            joint_epochs: 100,
            lr: 1e-3,
        }
    }
}

/// The error a progress callback's `Break` turns into during pretraining.
fn pretraining_stopped(stage: Stage, epoch: usize) -> Error {
    Error::Interrupted {
        message: format!("DFCN pretraining stopped at epoch {epoch} of its {stage:?} stage"),
    }
}

/// Pretrains from a fresh initialisation ([`DfcnWeights::init`] with `seed`) on `gpu`
/// (or on the CPU twins without one); `progress` hears every stage epoch's last loss.
pub fn pretrain(
    gpu: Option<&Gpu>,
    config: &DfcnConfig,
    recipe: &PretrainConfig,
    inputs: &DfcnInputs,
    seed: u64,
    mut progress: impl FnMut(Stage, usize, &DfcnLoss) -> ControlFlow<()>,
) -> Result<DfcnWeights> {
    let config = &DfcnConfig {
        adam: AdamConfig {
            lr: recipe.lr,
            ..config.adam
        },
        ..config.clone()
    };
    let make = |stage: Stage, weights: &DfcnWeights| match gpu {
        Some(gpu) => DfcnModel::new(gpu, config, stage, inputs, weights),
        None => DfcnModel::on_host(config, stage, inputs, weights, 1),
    };
    let mut weights = DfcnWeights::init(config, inputs.features, seed);
    let mut model = DfcnModel::ae_batches(gpu, config, inputs, &weights, recipe.ae_batch)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..inputs.nodes).collect();
    for epoch in 1..=recipe.ae_epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(recipe.ae_batch.clamp(1, inputs.nodes.max(1))) {
            model.set_batch(batch)?;
            model.train_epoch()?;
        }
        if progress(Stage::Ae, epoch, &model.loss()?).is_break() {
            return Err(pretraining_stopped(Stage::Ae, epoch));
        }
    }
    weights = model.weights()?;
    for (stage, epochs) in [
        (Stage::Igae, recipe.igae_epochs),
        (Stage::Joint, recipe.joint_epochs),
    ] {
        let mut model = make(stage, &weights)?;
        for epoch in 1..=epochs {
            model.train_epoch()?;
            if progress(stage, epoch, &model.loss()?).is_break() {
                return Err(pretraining_stopped(stage, epoch));
            }
        }
        weights = model.weights()?;
    }
    Ok(weights)
}
