//! The GPU runner of a schedule. [`DeviceTensors`] holds any schedule's tensors on the
//! device (one buffer per memory slot of its [`MemoryPlan`], the per-epoch step uniform)
//! and records its steps, each through its own [`ScheduleOp::record`] with a
//! [`GpuStepContext`]; [`GaeModel`] is the VGAE/GAE on it: one recording per phase,
//! built once. An epoch is one submission of the three; nothing is read back unless
//! asked for.

use std::borrow::Borrow;
use std::sync::Arc;

use super::inputs::{EpochData, EpochInputs, ModelSetup};
use super::schedule::{
    Accesses, Elem, MemoryPlan, PairsId, Phase, Role, Schedule, ScheduleOp, SparseId, TensorElem,
    TensorId, TensorSpec,
};
use super::vgae::{Handles, PriorHandles};
use super::{ModelConfig, Precision, Weights};
use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::gpu::{
    Dispatch, Gpu, GpuArray, GpuBuffer, GpuCsr, GpuMatrix, KernelTiming, Recording, StepBuffer,
    StepParams,
};
use crate::kernels::check_f16;
use crate::kernels::convert_rows::convert_rows;
use crate::kernels::decoder_pairs::PairRows;
use crate::kernels::edge_score::{edge_score, flatten_pairs};
use crate::sparse::Csr;

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
pub(crate) fn check_class_means(
    schedule: &Schedule,
    handles: &Handles,
    weights: &Weights,
) -> Result<()> {
    if handles.training.is_none() {
        return Ok(());
    }
    let expected = handles
        .prior()
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

/// A schedule's tensors on the device, whatever the model: one buffer per slot of its
/// [`MemoryPlan`] (every tensor a view of its slot's buffer), the per-epoch step
/// uniform, and the host's copy of each CSR input's row offsets (SpMM plans windows of
/// entries past one binding from them).
pub struct DeviceTensors {
    gpu: Gpu,
    schedule: Schedule,
    plan: MemoryPlan,
    /// The buffer of every tensor's slot, indexed by [`TensorId::index`].
    buffers: Vec<GpuBuffer>,
    step: StepBuffer,
    host_row_ptrs: Vec<Arc<[u32]>>,
}

impl DeviceTensors {
    /// Plans memory (tensors share buffers where their lifetimes allow, unless
    /// `share_memory` is false), checks every buffer against the device's limits before
    /// allocating any, allocates, uploads the CSR inputs `sparse` (in [`SparseId`]
    /// order) and zeroes the persistent tensors that are not inputs.
    pub fn new(
        gpu: &Gpu,
        schedule: Schedule,
        sparse: &[impl Borrow<Csr>],
        share_memory: bool,
    ) -> Result<Self> {
        if sparse.len() != schedule.sparse_inputs().len() {
            return Err(Error::InvalidArgument {
                argument: "sparse",
                message: format!(
                    "{} CSR matrices for a schedule of {} sparse inputs",
                    sparse.len(),
                    schedule.sparse_inputs().len()
                ),
            });
        }
        let plan = MemoryPlan::new(&schedule, share_memory);
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
        let device = DeviceTensors {
            gpu: gpu.clone(),
            host_row_ptrs: sparse
                .iter()
                .map(|csr| csr.borrow().row_ptr().into())
                .collect(),
            schedule,
            plan,
            buffers,
            step: gpu.step_buffer(StepParams::for_epoch(0)),
        };
        for (spec, csr) in device.schedule.sparse_inputs().iter().zip(sparse) {
            let csr = csr.borrow();
            device
                .array::<u32>(spec.row_ptr)?
                .write(gpu, csr.row_ptr())?;
            device
                .array::<u32>(spec.col_idx)?
                .write(gpu, csr.col_idx())?;
            device.array::<f32>(spec.values)?.write(gpu, csr.values())?;
        }
        for (index, spec) in device.schedule.tensors().iter().enumerate() {
            if matches!(spec.role, Role::State | Role::Output | Role::Parameter) {
                let id = TensorId::from_index(index);
                // Cleared on the device: no host vector of zeros, no staging.
                match spec.elem {
                    Elem::F32 => device.array::<f32>(id)?.clear(gpu)?,
                    Elem::U32 => device.array::<u32>(id)?.clear(gpu)?,
                    Elem::F16 => device.array::<half::f16>(id)?.clear(gpu)?,
                }
            }
        }
        Ok(device)
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Which buffer each tensor lives in.
    pub fn plan(&self) -> &MemoryPlan {
        &self.plan
    }

    /// The per-epoch uniform the steps read.
    pub fn step(&self) -> &StepBuffer {
        &self.step
    }

    /// A tensor as an array of `T`, which must hold its element type.
    pub fn array<T: TensorElem>(&self, id: TensorId) -> Result<GpuArray<T>> {
        let spec = self.typed::<T>(id)?;
        GpuArray::view(&self.buffers[id.index()], spec.len())
    }

    /// A tensor as a rows × cols matrix of `T`, which must hold its element type.
    pub fn matrix<T: TensorElem>(&self, id: TensorId) -> Result<GpuMatrix<T>> {
        let spec = self.typed::<T>(id)?;
        GpuMatrix::view(&self.buffers[id.index()], spec.rows, spec.cols)
    }

    /// The spec of `id`, or an error when its elements are not `T`'s (a view of an f16
    /// tensor as f32 would read two of its values as one).
    fn typed<T: TensorElem>(&self, id: TensorId) -> Result<&TensorSpec> {
        let spec = self.schedule.tensor(id);
        if spec.elem == T::ELEM {
            Ok(spec)
        } else {
            Err(Error::InvalidArgument {
                argument: "id",
                message: format!(
                    "{} holds {:?} values, not {:?}",
                    spec.name,
                    spec.elem,
                    T::ELEM
                ),
            })
        }
    }

    /// A CSR input, with its row offsets on the host.
    pub fn csr(&self, id: SparseId) -> Result<GpuCsr> {
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

    /// Writes a pair list: its offsets, and its entries into the front of the list's
    /// room (a per-epoch list may fill less than its capacity).
    pub fn write_pairs(&self, id: PairsId, rows: &PairRows) -> Result<()> {
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

    /// The dispatches of step `index`, from its op's [`ScheduleOp::record`].
    pub fn record(&self, index: usize) -> Result<Vec<Dispatch>> {
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
        let ctx = GpuStepContext {
            device: self,
            kernel: step.op.kernel().name,
            accesses: step.op.accesses(&self.schedule),
        };
        step.op.record(&ctx)
    }

    /// One recording of every step of `phase`, in order.
    pub fn record_phase(&self, phase: Phase) -> Result<Recording> {
        let mut recording = Recording::new(phase.label());
        for (index, _) in self.schedule.phase(phase) {
            recording.extend(self.record(index)?);
        }
        Ok(recording)
    }

    /// A recording of step `index` alone, labelled with its kernel (for benchmarks: the
    /// step's inputs hold whatever the last run left in their buffers).
    pub fn step_recording(&self, index: usize) -> Result<Recording> {
        let dispatches = self.record(index)?;
        let mut recording = Recording::new(self.schedule.steps()[index].op.kernel().name);
        recording.extend(dispatches);
        Ok(recording)
    }
}

/// What a step's [`ScheduleOp::record`] sees: the device's tensors, limited to those its
/// [`Accesses`] declare.
pub struct GpuStepContext<'a> {
    device: &'a DeviceTensors,
    kernel: &'static str,
    accesses: Accesses,
}

impl<'a> GpuStepContext<'a> {
    /// The device.
    pub fn gpu(&self) -> &'a Gpu {
        &self.device.gpu
    }

    /// The schedule.
    pub fn schedule(&self) -> &'a Schedule {
        &self.device.schedule
    }

    /// A tensor's spec.
    pub fn tensor(&self, id: TensorId) -> &'a TensorSpec {
        self.device.schedule.tensor(id)
    }

    /// The per-epoch uniform ([`StepParams`]).
    pub fn step(&self) -> &'a StepBuffer {
        &self.device.step
    }

    /// A declared tensor as an array of `T` (its element type).
    pub fn array<T: TensorElem>(&self, id: TensorId) -> Result<GpuArray<T>> {
        self.check(id)?;
        self.device.array(id)
    }

    /// A declared tensor as a matrix of `T` (its element type).
    pub fn matrix<T: TensorElem>(&self, id: TensorId) -> Result<GpuMatrix<T>> {
        self.check(id)?;
        self.device.matrix(id)
    }

    /// A CSR input whose three tensors the step declares.
    pub fn csr(&self, id: SparseId) -> Result<GpuCsr> {
        for tensor in self.device.schedule.sparse(id).tensors() {
            self.check(tensor)?;
        }
        self.device.csr(id)
    }

    fn check(&self, id: TensorId) -> Result<()> {
        if self.accesses.reads(id) || self.accesses.writes(id) {
            Ok(())
        } else {
            Err(undeclared(
                self.kernel,
                self.device.schedule.name(id),
                "binds",
            ))
        }
    }
}

/// The error of a step that touches a tensor its accesses do not declare (the memory
/// plan could have given that tensor's buffer to another).
pub(crate) fn undeclared(kernel: &str, tensor: &str, verb: &str) -> Error {
    Error::InvalidArgument {
        argument: "step",
        message: format!("a {kernel} step {verb} {tensor}, which its accesses do not declare"),
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
    config: ModelConfig,
    handles: Handles,
    device: DeviceTensors,
    recordings: Vec<(Phase, Recording)>,
    epoch_inputs: EpochInputs,
    /// The reconstruction loss factor of the epoch last prepared.
    loss_factor: f64,
    epoch: u32,
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

    /// Builds the model from a prepared setup: the schedule's tensors on the device (see
    /// [`DeviceTensors::new`]), the inputs and weights uploaded, and the three phases
    /// recorded.
    pub fn from_setup(
        gpu: &Gpu,
        setup: ModelSetup<'_>,
        weights: &Weights,
        share_memory: bool,
    ) -> Result<GaeModel> {
        let ModelSetup {
            config,
            schedule,
            handles,
            sparse,
            label_pairs,
            epoch_inputs,
            prior,
        } = setup;
        weights.check_fits(&config, schedule.tensor(handles.w0).rows)?;
        check_class_means(&schedule, &handles, weights)?;
        // Before anything is allocated: the training phases of an f16 model need f16 in
        // shaders (an encoder alone embeds in f32 on any device).
        if config.precision == Precision::F16 && handles.training.is_some() {
            check_f16(gpu)?;
        }
        let device = DeviceTensors::new(gpu, schedule, &sparse, share_memory)?;
        // The host's copies go as soon as they are on the device (Â alone is 8 bytes per
        // entry: gigabytes at 10⁸ edges).
        drop(sparse);
        if let (Some(labels), Ok(training)) = (&label_pairs, handles.training()) {
            device.write_pairs(training.pairs, labels)?;
        }
        drop(label_pairs);
        if let (Some(p), Some(data)) = (handles.prior(), &prior) {
            device
                .array::<u32>(p.class_of)?
                .write(gpu, &data.class_of)?;
            device
                .array::<u32>(p.class_ptr)?
                .write(gpu, &data.class_ptr)?;
            device
                .array::<u32>(p.class_nodes)?
                .write(gpu, &data.class_nodes)?;
        }
        let recordings = Phase::ALL
            .into_iter()
            .map(|phase| Ok((phase, device.record_phase(phase)?)))
            .collect::<Result<_>>()?;
        let model = GaeModel {
            config,
            handles,
            device,
            recordings,
            epoch_inputs,
            loss_factor: 1.0,
            epoch: 0,
        };
        model.write_weights(weights)?;
        Ok(model)
    }

    /// Writes W0, W1 and, where the model has them, the class means (zero when
    /// `weights` has none).
    fn write_weights(&self, weights: &Weights) -> Result<()> {
        let gpu = self.gpu();
        self.array::<f32>(self.handles.w0)?
            .write(gpu, &weights.w0)?;
        self.array::<f32>(self.handles.w1)?
            .write(gpu, &weights.w1)?;
        if let Some(p) = self.prior_handles() {
            let means = self.array::<f32>(p.class_means)?;
            match &weights.class_means {
                Some(values) => means.write(gpu, values)?,
                None => means.clear(gpu)?,
            }
        }
        Ok(())
    }

    fn array<T: TensorElem>(&self, id: TensorId) -> Result<GpuArray<T>> {
        self.device.array(id)
    }

    /// The class-conditional prior's tensors, where the model trains with one.
    fn prior_handles(&self) -> Option<&PriorHandles> {
        self.handles.prior()
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The epoch's schedule.
    pub fn schedule(&self) -> &Schedule {
        self.device.schedule()
    }

    /// The tensors the host reads and writes.
    pub fn handles(&self) -> &Handles {
        &self.handles
    }

    /// Which buffer each tensor lives in.
    pub fn memory_plan(&self) -> &MemoryPlan {
        self.device.plan()
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.schedule().tensor(self.handles.ms).rows
    }

    /// Nodes the subgraph objective draws per epoch (None for the other objectives).
    pub fn subgraph_sample_size(&self) -> Option<usize> {
        let (nodes, _) = self.handles.training.as_ref()?.sample?;
        Some(self.schedule().tensor(nodes).len())
    }

    /// Epochs trained so far.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        self.device.gpu()
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
        self.device.step_recording(index)
    }

    /// One epoch: forward, backward and Adam in one submission (fresh ε and, for the
    /// sampled objective, fresh negatives). Does not wait for the GPU.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.prepare_step(self.epoch)?;
        self.gpu().submit_all(&[
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
            match self.gpu().run_timed(self.recording(phase))? {
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
        self.gpu().submit_all(&[
            self.recording(Phase::Encode),
            self.recording(Phase::LossAndGrads),
        ])?;
        self.gpu().wait()
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
        self.device.step().write(
            self.gpu(),
            StepParams {
                decoder_scale,
                ..StepParams::for_epoch(epoch)
            },
        );
        let training = self.handles.training()?;
        if let Some(rows) = pairs {
            self.device.write_pairs(training.pairs, &rows)?;
        }
        if let (Some((nodes, position)), Some((nodes_id, position_id))) = (sample, training.sample)
        {
            self.array::<u32>(nodes_id)?.write(self.gpu(), &nodes)?;
            self.array::<u32>(position_id)?
                .write(self.gpu(), &position)?;
        }
        self.loss_factor = loss_factor;
        Ok(())
    }

    /// The loss of the most recent forward pass (reads two scalars back; waits).
    /// A loss that is not finite is [`Error::Diverged`].
    pub fn loss(&self) -> Result<LossParts> {
        let training = self.handles.training()?;
        let loss_sum = self.array::<f32>(training.loss_sum)?;
        let mut arrays = vec![&loss_sum];
        let kl_sum = match training.kl_sum {
            Some(id) => Some(self.array::<f32>(id)?),
            None => None,
        };
        if let Some(kl) = &kl_sum {
            arrays.push(kl);
        }
        let sums = self.gpu().read_many(&arrays)?;
        let rows_sum = f64::from(sums[0][0]);
        let kl_rows_sum = sums.get(1).map_or(0.0, |s| f64::from(s[0]));
        let scale = training.loss_scale;
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
        let training = self.handles.training()?;
        let means = training.prior.as_ref().map(|p| p.d_class_means);
        self.read_weights(training.dw0, training.dw1, means)
    }

    /// The current weights, read back from the device.
    pub fn weights(&self) -> Result<Weights> {
        let handles = &self.handles;
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
            .gpu()
            .read_many(&arrays.iter().collect::<Vec<_>>())?
            .into_iter();
        let handles = &self.handles;
        Ok(Weights {
            kind: self.config.kind,
            num_features: self.schedule().tensor(handles.w0).rows,
            hidden: self.config.hidden,
            latent: self.config.latent,
            w0: out.next().unwrap_or_default(),
            w1: out.next().unwrap_or_default(),
            class_means: out.next(),
        })
    }

    /// Overwrites the weights and restarts Adam's moments.
    pub fn set_weights(&mut self, weights: &Weights) -> Result<()> {
        let handles = &self.handles;
        weights.check_fits(&self.config, self.schedule().tensor(handles.w0).rows)?;
        check_class_means(self.schedule(), &self.handles, weights)?;
        self.write_weights(weights)?;
        let Some(training) = &handles.training else {
            return Ok(());
        };
        let prior_moments = training.prior.iter().flat_map(|p| p.moments);
        for moment in training.moments.iter().copied().chain(prior_moments) {
            let array = self.array::<f32>(moment)?;
            array.clear(self.gpu())?;
        }
        Ok(())
    }

    /// The node embeddings μ (N × L, row-major) at the current weights.
    pub fn embeddings(&self) -> Result<Vec<f32>> {
        self.gpu().run(self.recording(Phase::Encode))?;
        let ms = self.device.matrix(self.handles.ms)?;
        let values = self.gpu().read(ms.data())?;
        let (l, c) = (self.config.latent, ms.cols());
        Ok(values
            .chunks_exact(c)
            .flat_map(|row| row[..l].iter().copied())
            .collect())
    }

    /// Prepares repeated scoring of `pairs` (see [`GaeModel::score`]). Under
    /// [`Precision::F16`] the scores read μ converted to f16 (a copy of its own, made
    /// by the recording before it scores).
    pub fn pair_scorer(&self, pairs: &[(u32, u32)]) -> Result<PairScorer> {
        let gpu = self.gpu();
        let flat = flatten_pairs(pairs, self.num_nodes())?;
        let ids = gpu.upload("gpu_vgae.score_pairs", &flat)?;
        let scores = gpu.alloc::<f32>("gpu_vgae.scores", pairs.len())?;
        let mut recording = Recording::new("edge_score");
        if !pairs.is_empty() {
            let ms = self.device.matrix::<f32>(self.handles.ms)?;
            let latent = self.config.latent;
            match self.config.precision {
                Precision::F32 => recording.extend(edge_score(gpu, &ms, latent, &ids, &scores)?),
                Precision::F16 => {
                    let mu =
                        gpu.alloc_matrix_of::<half::f16>("gpu_vgae.mu_f16", ms.rows(), latent)?;
                    recording.extend(convert_rows(gpu, &ms, &mu)?);
                    recording.extend(edge_score(gpu, &mu, latent, &ids, &scores)?);
                }
            }
        }
        Ok(PairScorer { scores, recording })
    }

    /// sigmoid(μ_a · μ_b) for the scorer's pairs at the current weights.
    pub fn score(&self, scorer: &PairScorer) -> Result<Vec<f32>> {
        self.gpu()
            .submit_all(&[self.recording(Phase::Encode), &scorer.recording])?;
        self.gpu().read(&scorer.scores)
    }

    /// sigmoid(μ_a · μ_b) for arbitrary pairs at the current weights.
    pub fn score_pairs(&self, pairs: &[(u32, u32)]) -> Result<Vec<f32>> {
        self.score(&self.pair_scorer(pairs)?)
    }
}
