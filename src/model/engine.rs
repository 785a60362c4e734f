//! The GPU runner of the schedule: [`GaeModel`] owns one buffer per memory slot (see
//! [`MemoryPlan`]), the per-epoch uniform and one recording per phase, built once from
//! the schedule. An epoch is one submission of the three; nothing is read back unless
//! asked for.

use std::sync::Arc;

use super::inputs::{EpochData, EpochInputs, ModelSetup};
use super::schedule::{
    MemoryPlan, Op, PairsId, Phase, PriorHandles, Role, Schedule, SparseId, TensorId,
};
use super::{ModelConfig, Weights};
use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::gpu::{
    Gpu, GpuArray, GpuBuffer, GpuCsr, GpuMatrix, KernelTiming, Recording, StepBuffer, StepParams,
};
use crate::kernels::adam::adam;
use crate::kernels::class_mean_grad::class_mean_grad;
use crate::kernels::decoder_dense::{decoder_dense, DensePartials};
use crate::kernels::decoder_pairs::{decoder_pairs, GpuPairRows, PairRows};
use crate::kernels::edge_score::{edge_score, flatten_pairs};
use crate::kernels::gather_rows::gather_rows;
use crate::kernels::matmul::matmul_masked;
use crate::kernels::matmul_tn_partial::matmul_tn_partial;
use crate::kernels::reduce_sum::reduce_sum;
use crate::kernels::reparam_backward::reparam_backward;
use crate::kernels::reparam_kl::{reparam_kl, ClassPrior};
use crate::kernels::scatter_rows::scatter_rows;
use crate::kernels::spmm::{spmm_with, Epilogue};

/// The loss of the last forward pass, split into its terms.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossParts {
    /// Reconstruction term L_rec.
    pub reconstruction: f64,
    /// −KL as added to the loss (0 for GAE).
    pub kl: f64,
    /// reconstruction + kl.
    pub total: f64,
}

/// Fails unless `weights` has class means exactly where the schedule has a prior, of its
/// shape (or none, for zeros). An encoder-only schedule ignores them (they shape only the
/// training loss).
pub(crate) fn check_class_means(schedule: &Schedule, weights: &Weights) -> Result<()> {
    if schedule.handles().training.is_none() {
        return Ok(());
    }
    let expected = schedule
        .handles()
        .training
        .as_ref()
        .and_then(|t| t.prior.as_ref())
        .map(|p| schedule.tensor(p.class_means).len());
    match (&weights.class_means, expected) {
        (None, _) => Ok(()),
        (Some(values), Some(len)) if values.len() == len => Ok(()),
        (Some(values), expected) => Err(Error::InvalidArgument {
            argument: "weights",
            message: format!(
                "weights: {} class-mean values, the model has {}",
                values.len(),
                expected.map_or("no class-conditional prior".to_string(), |l| l.to_string())
            ),
        }),
    }
}

/// Pairs to score repeatedly (validation and test sets), with their recording.
pub struct PairScorer {
    scores: GpuArray<f32>,
    recording: Recording,
}

impl PairScorer {
    /// The scoring dispatch alone (it reads μ as the last encoder run left it).
    pub fn recording(&self) -> &Recording {
        &self.recording
    }
}

/// A VGAE or GAE on one graph, resident on the GPU.
pub struct GaeModel {
    gpu: Gpu,
    config: ModelConfig,
    schedule: Schedule,
    plan: MemoryPlan,
    /// The buffer of every tensor's slot, indexed by [`TensorId::index`].
    buffers: Vec<GpuBuffer>,
    step: StepBuffer,
    recordings: Vec<(Phase, Recording)>,
    epoch_inputs: EpochInputs,
    /// The reconstruction loss factor of the epoch last prepared.
    loss_factor: f64,
    epoch: u32,
    /// The row offsets of each sparse input, on the host: SpMM plans windows of entries
    /// past one binding from them.
    host_row_ptrs: Vec<Arc<[u32]>>,
}

impl GaeModel {
    /// The model of `config` on `graph` (its edges are the training edges; features
    /// `None`: identity, the featureless model), with Glorot-initialised weights from
    /// `config.seed`.
    pub fn new(gpu: &Gpu, config: &ModelConfig, graph: GraphView<'_>) -> Result<GaeModel> {
        let setup = ModelSetup::new(config, graph, gpu.profile())?;
        let weights = Weights::glorot(config, graph.num_features());
        Self::from_setup(gpu, setup, &weights, true)
    }

    /// Like [`GaeModel::new`] with given weights (e.g. loaded from a file).
    pub fn with_weights(
        gpu: &Gpu,
        config: &ModelConfig,
        graph: GraphView<'_>,
        weights: &Weights,
    ) -> Result<GaeModel> {
        weights.check_fits(config, graph.num_features())?;
        let setup = ModelSetup::new(config, graph, gpu.profile())?;
        Self::from_setup(gpu, setup, weights, true)
    }

    /// The encoder alone on `graph` (every edge of it enters Â) with trained `weights`:
    /// what embedding a graph needs ([`GaeModel::embeddings`], scoring), without the
    /// training phases' memory. Training it is an error.
    pub fn encoder(
        gpu: &Gpu,
        config: &ModelConfig,
        graph: GraphView<'_>,
        weights: &Weights,
    ) -> Result<GaeModel> {
        weights.check_fits(config, graph.num_features())?;
        Self::from_setup(gpu, ModelSetup::encoder(config, graph)?, weights, true)
    }

    /// Builds the model from a prepared setup: plans memory (tensors share buffers
    /// where their lifetimes allow, unless `share_memory` is false), checks every buffer
    /// against the device's limits before allocating any, uploads the inputs and
    /// weights, and records the three phases.
    pub fn from_setup(
        gpu: &Gpu,
        setup: ModelSetup<'_>,
        weights: &Weights,
        share_memory: bool,
    ) -> Result<GaeModel> {
        let schedule = &setup.schedule;
        let handles = schedule.handles();
        weights.check_fits(&setup.config, schedule.tensor(handles.w0).rows)?;
        check_class_means(schedule, weights)?;
        let plan = MemoryPlan::new(schedule, share_memory);
        let slot_label = |slot: usize| {
            let names: Vec<&str> = schedule
                .tensors()
                .iter()
                .zip(&plan.slot_of)
                .filter(|(_, &s)| s == slot)
                .map(|(t, _)| t.name.as_str())
                .collect();
            format!("gpu_vgae.{}", names.join("+"))
        };
        // Kernels bind windows of buffers past one storage binding (gpu/windows.rs);
        // a buffer itself must fit the device.
        let limit = gpu.limits().max_buffer_size;
        if let Some(slot) = (0..plan.slot_bytes.len()).find(|&s| plan.slot_bytes[s] > limit) {
            return Err(Error::BufferTooLarge {
                label: slot_label(slot),
                bytes: plan.slot_bytes[slot],
                limit,
                limit_kind: "buffer",
            });
        }
        let slots: Vec<GpuBuffer> = (0..plan.slot_bytes.len())
            .map(|s| gpu.alloc_buffer(&slot_label(s), plan.slot_bytes[s]))
            .collect::<Result<_>>()?;
        let buffers: Vec<GpuBuffer> = plan.slot_of.iter().map(|&s| slots[s].clone()).collect();
        let mut model = GaeModel {
            gpu: gpu.clone(),
            config: setup.config.clone(),
            schedule: setup.schedule.clone(),
            plan,
            buffers,
            step: gpu.step_buffer(StepParams::for_epoch(0)),
            recordings: Vec::new(),
            epoch_inputs: EpochInputs::Static,
            loss_factor: 1.0,
            epoch: 0,
            host_row_ptrs: setup
                .sparse
                .iter()
                .map(|csr| csr.row_ptr().into())
                .collect(),
        };
        model.upload_inputs(&setup, weights)?;
        for phase in Phase::ALL {
            let mut recording = Recording::new(phase.label());
            for (_, step) in model.schedule.phase(phase) {
                recording.extend(model.dispatch(&step.op)?);
            }
            model.recordings.push((phase, recording));
        }
        model.epoch_inputs = setup.epoch_inputs;
        Ok(model)
    }

    fn upload_inputs(&self, setup: &ModelSetup<'_>, weights: &Weights) -> Result<()> {
        let schedule = &self.schedule;
        for (index, spec) in schedule.sparse_inputs().iter().enumerate() {
            let csr = &setup.sparse[index];
            self.array::<u32>(spec.row_ptr)?
                .write(&self.gpu, csr.row_ptr())?;
            self.array::<u32>(spec.col_idx)?
                .write(&self.gpu, csr.col_idx())?;
            self.array::<f32>(spec.values)?
                .write(&self.gpu, csr.values())?;
        }
        if let (Some(labels), Ok(training)) = (&setup.label_pairs, schedule.training()) {
            self.write_pairs(training.pairs, labels)?;
        }
        for (index, spec) in schedule.tensors().iter().enumerate() {
            if matches!(spec.role, Role::State | Role::Output | Role::Parameter) {
                let zeros = vec![0f32; spec.len()];
                self.array::<f32>(TensorId::from_index(index))?
                    .write(&self.gpu, &zeros)?;
            }
        }
        if let (Some(p), Some(data)) = (self.prior_handles(), &setup.prior) {
            self.array::<u32>(p.class_of)?
                .write(&self.gpu, &data.class_of)?;
            self.array::<u32>(p.class_ptr)?
                .write(&self.gpu, &data.class_ptr)?;
            self.array::<u32>(p.class_nodes)?
                .write(&self.gpu, &data.class_nodes)?;
        }
        self.write_weights(weights)
    }

    /// Writes W0, W1 and, where the model has them, the class means (zero when
    /// `weights` has none).
    fn write_weights(&self, weights: &Weights) -> Result<()> {
        let handles = self.schedule.handles();
        self.array::<f32>(handles.w0)?
            .write(&self.gpu, &weights.w0)?;
        self.array::<f32>(handles.w1)?
            .write(&self.gpu, &weights.w1)?;
        if let Some(p) = self.prior_handles() {
            let means = self.array::<f32>(p.class_means)?;
            match &weights.class_means {
                Some(values) => means.write(&self.gpu, values)?,
                None => means.write(&self.gpu, &vec![0.0; means.len()])?,
            }
        }
        Ok(())
    }

    /// Writes a pair list: its offsets, and its entries into the front of the list's
    /// room (a per-epoch list may fill less than its capacity).
    fn write_pairs(&self, id: PairsId, rows: &PairRows) -> Result<()> {
        let spec = self.schedule.pairs(id);
        if rows.len() > spec.entries || rows.num_nodes != spec.nodes {
            return Err(Error::InvalidArgument {
                argument: "rows",
                message: format!(
                    "{}: {} entries over {} nodes, the schedule has room for {} over {}",
                    spec.name,
                    rows.len(),
                    rows.num_nodes,
                    spec.entries,
                    spec.nodes
                ),
            });
        }
        self.array::<u32>(spec.ptr)?.write(&self.gpu, &rows.ptr)?;
        let col = GpuArray::<u32>::view(&self.buffers[spec.col.index()], rows.len())?;
        col.write(&self.gpu, &rows.col)?;
        self.array::<f32>(spec.weight)?
            .write(&self.gpu, &rows.class_weights)
    }

    fn array<T: bytemuck::Pod>(&self, id: TensorId) -> Result<GpuArray<T>> {
        GpuArray::view(&self.buffers[id.index()], self.schedule.tensor(id).len())
    }

    fn matrix(&self, id: TensorId) -> Result<GpuMatrix> {
        let spec = self.schedule.tensor(id);
        GpuMatrix::view(&self.buffers[id.index()], spec.rows, spec.cols)
    }

    fn csr(&self, id: SparseId) -> Result<GpuCsr> {
        let spec = self.schedule.sparse(id);
        GpuCsr::from_parts(
            spec.rows,
            spec.cols,
            self.array(spec.row_ptr)?,
            self.array(spec.col_idx)?,
            self.array(spec.values)?,
        )?
        .with_host_row_ptr(Arc::clone(&self.host_row_ptrs[id.index()]))
    }

    /// The class-conditional prior's tensors, where the model trains with one.
    fn prior_handles(&self) -> Option<&PriorHandles> {
        self.schedule.handles().training.as_ref()?.prior.as_ref()
    }

    fn class_prior(&self, prior: Option<(TensorId, TensorId)>) -> Result<Option<ClassPrior>> {
        prior
            .map(|(class_of, class_means)| {
                Ok(ClassPrior {
                    class_of: self.array(class_of)?,
                    class_means: self.matrix(class_means)?,
                })
            })
            .transpose()
    }

    fn pair_rows(&self, id: PairsId) -> Result<GpuPairRows> {
        let spec = self.schedule.pairs(id);
        Ok(GpuPairRows {
            ptr: self.array(spec.ptr)?,
            col: self.array(spec.col)?,
            class_weights: self.array(spec.weight)?,
            num_nodes: spec.nodes,
        })
    }

    /// The dispatches of one step: one, or one per window where a tensor exceeds a
    /// storage binding (gpu/windows.rs).
    fn dispatch(&self, op: &Op) -> Result<Vec<crate::gpu::Dispatch>> {
        let gpu = &self.gpu;
        let seed = self.config.seed;
        match *op {
            Op::Spmm { a, b, relu, out } => spmm_with(
                gpu,
                &self.csr(a)?,
                &self.matrix(b)?,
                if relu {
                    Epilogue::Relu
                } else {
                    Epilogue::Plain
                },
                &self.matrix(out)?,
            ),
            Op::Matmul {
                a,
                b,
                transpose_b,
                mask,
                out,
            } => matmul_masked(
                gpu,
                &self.matrix(a)?,
                &self.matrix(b)?,
                transpose_b,
                mask.map(|m| self.matrix(m)).transpose()?.as_ref(),
                &self.matrix(out)?,
            ),
            Op::MatmulTnPartial { a, b, partial } => matmul_tn_partial(
                gpu,
                &self.matrix(a)?,
                &self.matrix(b)?,
                &self.array(partial)?,
            ),
            Op::ReduceSum { input, out } => {
                let spec = self.schedule.tensor(input);
                reduce_sum(
                    gpu,
                    &self.array(input)?,
                    spec.rows,
                    spec.cols,
                    &self.array(out)?,
                )
            }
            Op::ReparamKl {
                ms,
                prior,
                z,
                kl_rows,
            } => reparam_kl(
                gpu,
                &self.matrix(ms)?,
                seed,
                &self.step,
                self.class_prior(prior)?.as_ref(),
                &self.matrix(z)?,
                &self.array(kl_rows)?,
            ),
            Op::ReparamBackward {
                ms,
                dz,
                kl_scale,
                prior,
                d_ms,
            } => reparam_backward(
                gpu,
                &self.matrix(ms)?,
                &self.matrix(dz)?,
                seed,
                kl_scale,
                &self.step,
                self.class_prior(prior)?.as_ref(),
                &self.matrix(d_ms)?,
            ),
            Op::ClassMeanGrad {
                ms,
                class_ptr,
                class_nodes,
                class_means,
                kl_scale,
                out,
            } => class_mean_grad(
                gpu,
                &self.matrix(ms)?,
                &self.array(class_ptr)?,
                &self.array(class_nodes)?,
                &self.matrix(class_means)?,
                kl_scale,
                &self.matrix(out)?,
            ),
            Op::DecoderDense {
                z,
                latent,
                layout,
                grad_partial,
                loss_partial,
            } => decoder_dense(
                gpu,
                &self.matrix(z)?,
                latent,
                &DensePartials {
                    grad: self.array(grad_partial)?,
                    loss: self.array(loss_partial)?,
                    layout,
                },
            )
            .map(|d| vec![d]),
            Op::DecoderPairs {
                z,
                latent,
                pairs,
                dense,
                grad_scale,
                dz,
                loss_rows,
            } => {
                let partials = match dense {
                    Some((grad, loss, layout)) => Some(DensePartials {
                        grad: self.array(grad)?,
                        loss: self.array(loss)?,
                        layout,
                    }),
                    None => None,
                };
                decoder_pairs(
                    gpu,
                    &self.matrix(z)?,
                    latent,
                    &self.pair_rows(pairs)?,
                    partials.as_ref(),
                    grad_scale,
                    &self.matrix(dz)?,
                    &self.array(loss_rows)?,
                )
            }
            Op::GatherRows { src, index, out } => gather_rows(
                gpu,
                &self.matrix(src)?,
                &self.array(index)?,
                &self.matrix(out)?,
            ),
            Op::ScatterRows { src, position, out } => scatter_rows(
                gpu,
                &self.matrix(src)?,
                &self.array(position)?,
                &self.step,
                &self.matrix(out)?,
            ),
            Op::Adam { param, grad, m, v } => adam(
                gpu,
                &self.config.adam,
                &self.array(param)?,
                &self.array(grad)?,
                &self.array(m)?,
                &self.array(v)?,
                &self.step,
            ),
        }
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The epoch's schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Which buffer each tensor lives in.
    pub fn memory_plan(&self) -> &MemoryPlan {
        &self.plan
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.schedule.tensor(self.schedule.handles().ms).rows
    }

    /// Nodes the subgraph objective draws per epoch (None for the other objectives).
    pub fn subgraph_sample_size(&self) -> Option<usize> {
        let (nodes, _) = self.schedule.handles().training.as_ref()?.sample?;
        Some(self.schedule.tensor(nodes).len())
    }

    /// Epochs trained so far.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Dispatches in one training epoch (forward, backward, optimizer).
    pub fn dispatches_per_epoch(&self) -> usize {
        // More than the schedule's steps where a tensor exceeds one storage binding.
        self.recordings
            .iter()
            .map(|(_, recording)| recording.dispatches().len())
            .sum()
    }

    fn recording(&self, phase: Phase) -> &Recording {
        let (_, recording) = self
            .recordings
            .iter()
            .find(|(p, _)| *p == phase)
            .expect("every phase is recorded");
        recording
    }

    /// A recording of step `index` of the schedule alone (for benchmarks: the step's
    /// inputs hold whatever the last epoch left in their buffers).
    pub fn step_recording(&self, index: usize) -> Result<Recording> {
        let step = self
            .schedule
            .steps()
            .get(index)
            .ok_or_else(|| Error::InvalidArgument {
                argument: "index",
                message: format!(
                    "the schedule has {} steps, not {}",
                    self.schedule.steps().len(),
                    index + 1
                ),
            })?;
        let mut recording = Recording::new(Schedule::kernel(&step.op));
        recording.extend(self.dispatch(&step.op)?);
        Ok(recording)
    }

    /// One epoch: forward, backward and Adam in one submission (fresh ε and, for the
    /// sampled objective, fresh negatives). Does not wait for the GPU.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.prepare_step(self.epoch)?;
        self.gpu.submit_all(&[
            self.recording(Phase::Encode),
            self.recording(Phase::LossAndGrads),
            self.recording(Phase::Optimize),
        ])?;
        self.epoch += 1;
        Ok(())
    }

    /// Runs one training epoch with every dispatch timed by GPU timestamps (see
    /// [`Gpu::run_timed`]); `Ok(None)` where the device has no timestamp queries.
    pub fn train_epoch_timed(&mut self) -> Result<Option<Vec<KernelTiming>>> {
        self.prepare_step(self.epoch)?;
        let mut timings = Vec::new();
        for phase in Phase::ALL {
            match self.gpu.run_timed(self.recording(phase))? {
                Some(t) => timings.extend(t),
                None => return Ok(None),
            }
        }
        self.epoch += 1;
        Ok(Some(timings))
    }

    /// Forward and backward at the current weights with the noise and negatives of
    /// `epoch`, without updating the weights; waits. Read the results with
    /// [`GaeModel::loss`] and [`GaeModel::gradients`].
    pub fn forward_backward(&mut self, epoch: u32) -> Result<()> {
        self.prepare_step(epoch)?;
        self.gpu.submit_all(&[
            self.recording(Phase::Encode),
            self.recording(Phase::LossAndGrads),
        ])?;
        self.gpu.wait()
    }

    /// Writes the epoch's uniform and what the objective draws for it (the sampled
    /// pairs, the subgraph's sample and labels).
    pub fn prepare_step(&mut self, epoch: u32) -> Result<()> {
        let EpochData {
            pairs,
            sample,
            decoder_scale,
            loss_factor,
        } = self.epoch_inputs.for_epoch(epoch)?;
        self.step.write(
            &self.gpu,
            StepParams {
                decoder_scale,
                ..StepParams::for_epoch(epoch)
            },
        );
        let training = self.schedule.training()?;
        if let Some(rows) = pairs {
            self.write_pairs(training.pairs, &rows)?;
        }
        if let (Some((nodes, position)), Some((nodes_id, position_id))) = (sample, training.sample)
        {
            self.array::<u32>(nodes_id)?.write(&self.gpu, &nodes)?;
            self.array::<u32>(position_id)?
                .write(&self.gpu, &position)?;
        }
        self.loss_factor = loss_factor;
        Ok(())
    }

    /// The loss of the most recent forward pass (reads two scalars back; waits).
    /// A loss that is not finite is [`Error::Diverged`].
    pub fn loss(&self) -> Result<LossParts> {
        let training = self.schedule.training()?;
        let loss_sum = self.array::<f32>(training.loss_sum)?;
        let mut arrays = vec![&loss_sum];
        let kl_sum = match training.kl_sum {
            Some(id) => Some(self.array::<f32>(id)?),
            None => None,
        };
        if let Some(kl) = &kl_sum {
            arrays.push(kl);
        }
        let sums = self.gpu.read_many(&arrays)?;
        let rows_sum = f64::from(sums[0][0]);
        let kl_rows_sum = sums.get(1).map_or(0.0, |s| f64::from(s[0]));
        let scale = self.schedule.loss_scale();
        let reconstruction = scale.reconstruction * self.loss_factor * rows_sum;
        let kl = scale.kl * kl_rows_sum;
        if !reconstruction.is_finite() || !kl.is_finite() {
            return Err(Error::Diverged {
                epoch: self.epoch,
                reconstruction,
                kl,
            });
        }
        Ok(LossParts {
            reconstruction,
            kl,
            total: reconstruction + kl,
        })
    }

    /// Gradients of the loss with respect to every trained tensor from the most recent
    /// backward pass, laid out as the weights they belong to (dW0 in `w0`, dW1 in `w1`,
    /// the class means' gradient in `class_means`).
    pub fn gradients(&self) -> Result<Weights> {
        let training = self.schedule.training()?;
        let means = training.prior.as_ref().map(|p| p.d_class_means);
        self.read_weights(training.dw0, training.dw1, means)
    }

    /// The current weights, read back from the device.
    pub fn weights(&self) -> Result<Weights> {
        let handles = self.schedule.handles();
        let means = self.prior_handles().map(|p| p.class_means);
        self.read_weights(handles.w0, handles.w1, means)
    }

    /// Reads three tensors laid out as W0, W1 and the class means into a [`Weights`].
    fn read_weights(
        &self,
        w0: TensorId,
        w1: TensorId,
        class_means: Option<TensorId>,
    ) -> Result<Weights> {
        let mut arrays = vec![self.array::<f32>(w0)?, self.array(w1)?];
        if let Some(means) = class_means {
            arrays.push(self.array(means)?);
        }
        let mut out = self
            .gpu
            .read_many(&arrays.iter().collect::<Vec<_>>())?
            .into_iter();
        let handles = self.schedule.handles();
        Ok(Weights {
            kind: self.config.kind,
            num_features: self.schedule.tensor(handles.w0).rows,
            hidden: self.config.hidden,
            latent: self.config.latent,
            w0: out.next().unwrap_or_default(),
            w1: out.next().unwrap_or_default(),
            class_means: out.next(),
        })
    }

    /// Overwrites the weights and restarts Adam's moments.
    pub fn set_weights(&mut self, weights: &Weights) -> Result<()> {
        let handles = self.schedule.handles();
        weights.check_fits(&self.config, self.schedule.tensor(handles.w0).rows)?;
        check_class_means(&self.schedule, weights)?;
        self.write_weights(weights)?;
        let Some(training) = &handles.training else {
            return Ok(());
        };
        let prior_moments = training.prior.iter().flat_map(|p| p.moments);
        for moment in training.moments.iter().copied().chain(prior_moments) {
            let array = self.array::<f32>(moment)?;
            array.write(&self.gpu, &vec![0.0; array.len()])?;
        }
        Ok(())
    }

    /// The node embeddings μ (N × L, row-major) at the current weights.
    pub fn embeddings(&self) -> Result<Vec<f32>> {
        self.gpu.run(self.recording(Phase::Encode))?;
        let ms = self.matrix(self.schedule.handles().ms)?;
        let values = self.gpu.read(ms.data())?;
        let (l, c) = (self.config.latent, ms.cols());
        Ok(values
            .chunks_exact(c)
            .flat_map(|row| row[..l].iter().copied())
            .collect())
    }

    /// Prepares repeated scoring of `pairs` (see [`GaeModel::score`]).
    pub fn pair_scorer(&self, pairs: &[(u32, u32)]) -> Result<PairScorer> {
        let flat = flatten_pairs(pairs, self.num_nodes())?;
        let ids = self.gpu.upload("gpu_vgae.score_pairs", &flat)?;
        let scores = self.gpu.alloc::<f32>("gpu_vgae.scores", pairs.len())?;
        let mut recording = Recording::new("edge_score");
        if !pairs.is_empty() {
            recording.extend(edge_score(
                &self.gpu,
                &self.matrix(self.schedule.handles().ms)?,
                self.config.latent,
                &ids,
                &scores,
            )?);
        }
        Ok(PairScorer { scores, recording })
    }

    /// sigmoid(μ_a · μ_b) for the scorer's pairs at the current weights.
    pub fn score(&self, scorer: &PairScorer) -> Result<Vec<f32>> {
        self.gpu
            .submit_all(&[self.recording(Phase::Encode), &scorer.recording])?;
        self.gpu.read(&scorer.scores)
    }

    /// sigmoid(μ_a · μ_b) for arbitrary pairs at the current weights.
    pub fn score_pairs(&self, pairs: &[(u32, u32)]) -> Result<Vec<f32>> {
        self.score(&self.pair_scorer(pairs)?)
    }
}
