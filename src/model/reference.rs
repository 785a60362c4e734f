//! The CPU runner of a schedule. [`HostTensors`] holds any schedule's tensors on the
//! host and runs its steps, each through its own [`ScheduleOp::run_cpu`] (its kernel's
//! twin) with a [`CpuStepContext`]; [`CpuModel`] is the VGAE/GAE on it. It is the
//! baseline of the end-to-end benchmark and the check of the GPU engine as a whole (the
//! same setup and seed give the same weights up to rounding), and it checks every
//! step's declared accesses as it runs.

use std::borrow::Cow;

use half::f16;

use super::engine::{check_class_means, undeclared};
use super::inputs::{EpochData, EpochInputs, ModelSetup};
use super::schedule::{
    Accesses, Elem, PairsId, Phase, Schedule, ScheduleOp, SparseId, TensorId, TensorSpec,
};
use super::vgae::Handles;
use super::{ModelConfig, Weights};
use crate::error::{Error, Result};
use crate::gpu::StepParams;
use crate::kernels::decoder_pairs::PairRows;
use crate::sparse::Csr;

/// One tensor's values on the host.
#[derive(Clone, Debug)]
enum HostValues {
    F32(Vec<f32>),
    U32(Vec<u32>),
    F16(Vec<f16>),
}

/// A schedule's tensors on the host, whatever the model: every tensor's values (zero
/// at first), except the CSR inputs and pair lists, which the twins take whole
/// ([`Csr`], [`PairRows`]); and the step uniform's values ([`StepParams`]).
pub struct HostTensors {
    schedule: Schedule,
    values: Vec<HostValues>,
    sparse: Vec<Csr>,
    pairs: Vec<Option<PairRows>>,
    step: StepParams,
}

impl HostTensors {
    /// The tensors of `schedule`, with its CSR inputs `sparse` (in [`SparseId`] order).
    pub fn new(schedule: Schedule, sparse: Vec<Csr>) -> Result<Self> {
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
        // The CSR inputs' and pair lists' own tensors stay empty: the structs hold them.
        let held: Vec<TensorId> = schedule
            .sparse_inputs()
            .iter()
            .flat_map(|s| s.tensors())
            .chain(schedule.pair_lists().iter().flat_map(|p| p.tensors()))
            .collect();
        let values = schedule
            .tensors()
            .iter()
            .enumerate()
            .map(|(index, t)| {
                let len = if held.contains(&TensorId::from_index(index)) {
                    0
                } else {
                    t.len()
                };
                match t.elem {
                    Elem::F32 => HostValues::F32(vec![0.0; len]),
                    Elem::U32 => HostValues::U32(vec![0; len]),
                    Elem::F16 => HostValues::F16(vec![f16::ZERO; len]),
                }
            })
            .collect();
        Ok(HostTensors {
            pairs: vec![None; schedule.pair_lists().len()],
            schedule,
            values,
            sparse,
            step: StepParams::for_epoch(0),
        })
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// An f32 tensor's values.
    pub fn f32(&self, id: TensorId) -> Result<&[f32]> {
        match &self.values[id.index()] {
            HostValues::F32(values) => Ok(values),
            _ => Err(self.wrong_elem(id, Elem::F32)),
        }
    }

    /// A u32 tensor's values.
    pub fn u32(&self, id: TensorId) -> Result<&[u32]> {
        match &self.values[id.index()] {
            HostValues::U32(values) => Ok(values),
            _ => Err(self.wrong_elem(id, Elem::U32)),
        }
    }

    /// An f16 tensor's values.
    pub fn f16(&self, id: TensorId) -> Result<&[f16]> {
        match &self.values[id.index()] {
            HostValues::F16(values) => Ok(values),
            _ => Err(self.wrong_elem(id, Elem::F16)),
        }
    }

    /// An f32 or f16 tensor's values as f32: an f16 tensor's widened (exactly), as the
    /// shaders read half-precision storage before computing in f32.
    pub fn widened(&self, id: TensorId) -> Result<Cow<'_, [f32]>> {
        match &self.values[id.index()] {
            HostValues::F32(values) => Ok(Cow::Borrowed(values)),
            HostValues::F16(values) => Ok(Cow::Owned(values.iter().map(|v| v.to_f32()).collect())),
            HostValues::U32(_) => Err(self.wrong_elem(id, Elem::F32)),
        }
    }

    /// Sets an f32 tensor's values (all of them).
    pub fn write_f32(&mut self, id: TensorId, values: Vec<f32>) -> Result<()> {
        self.check_len(id, values.len())?;
        match &mut self.values[id.index()] {
            HostValues::F32(slot) => *slot = values,
            _ => return Err(self.wrong_elem(id, Elem::F32)),
        }
        Ok(())
    }

    /// Sets an f16 tensor's values (all of them).
    pub fn write_f16(&mut self, id: TensorId, values: Vec<f16>) -> Result<()> {
        self.check_len(id, values.len())?;
        match &mut self.values[id.index()] {
            HostValues::F16(slot) => *slot = values,
            _ => return Err(self.wrong_elem(id, Elem::F16)),
        }
        Ok(())
    }

    /// Sets a u32 tensor's values (all of them).
    pub fn write_u32(&mut self, id: TensorId, values: Vec<u32>) -> Result<()> {
        self.check_len(id, values.len())?;
        match &mut self.values[id.index()] {
            HostValues::U32(slot) => *slot = values,
            _ => return Err(self.wrong_elem(id, Elem::U32)),
        }
        Ok(())
    }

    /// Sets a pair list (at most as many entries as the schedule has room for).
    pub fn write_pairs(&mut self, id: PairsId, rows: PairRows) -> Result<()> {
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
        self.pairs[id.index()] = Some(rows);
        Ok(())
    }

    /// Sets the step uniform's values (the epoch, Adam's step, the decoder scale).
    pub fn set_step(&mut self, step: StepParams) {
        self.step = step;
    }

    /// Runs step `index` with its op's [`ScheduleOp::run_cpu`].
    pub fn run_step(&mut self, index: usize) -> Result<()> {
        let op = match self.schedule.steps().get(index) {
            Some(step) => step.op.clone(),
            None => {
                return Err(Error::InvalidArgument {
                    argument: "index",
                    message: format!(
                        "the schedule has {} steps, not {}",
                        self.schedule.steps().len(),
                        index + 1
                    ),
                })
            }
        };
        let accesses = op.accesses(&self.schedule);
        let mut ctx = CpuStepContext {
            host: self,
            kernel: op.kernel().name,
            accesses,
        };
        op.run_cpu(&mut ctx)
    }

    /// Runs the steps of `phases`, in the schedule's order.
    pub fn run_phases(&mut self, phases: &[Phase]) -> Result<()> {
        for index in 0..self.schedule.steps().len() {
            if phases.contains(&self.schedule.steps()[index].phase) {
                self.run_step(index)?;
            }
        }
        Ok(())
    }

    fn check_len(&self, id: TensorId, len: usize) -> Result<()> {
        let spec = self.schedule.tensor(id);
        if len == spec.len() {
            Ok(())
        } else {
            Err(Error::InvalidArgument {
                argument: "values",
                message: format!(
                    "{} values for {}, a {} x {} tensor",
                    len, spec.name, spec.rows, spec.cols
                ),
            })
        }
    }

    fn wrong_elem(&self, id: TensorId, asked: Elem) -> Error {
        let spec = self.schedule.tensor(id);
        Error::InvalidArgument {
            argument: "id",
            message: format!("{} holds {:?} values, not {asked:?}", spec.name, spec.elem),
        }
    }
}

/// What a step's [`ScheduleOp::run_cpu`] sees: the host's tensors, limited to those its
/// [`Accesses`] declare (reads for reading, writes for writing).
pub struct CpuStepContext<'a> {
    host: &'a mut HostTensors,
    kernel: &'static str,
    accesses: Accesses,
}

impl CpuStepContext<'_> {
    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.host.schedule
    }

    /// A tensor's spec.
    pub fn tensor(&self, id: TensorId) -> &TensorSpec {
        self.host.schedule.tensor(id)
    }

    /// The step uniform's values.
    pub fn step(&self) -> StepParams {
        self.host.step
    }

    /// A read f32 tensor.
    pub fn f32(&self, id: TensorId) -> Result<&[f32]> {
        self.check_read(id)?;
        self.host.f32(id)
    }

    /// A read u32 tensor.
    pub fn u32(&self, id: TensorId) -> Result<&[u32]> {
        self.check_read(id)?;
        self.host.u32(id)
    }

    /// A read f32 or f16 tensor as f32 (see [`HostTensors::widened`]).
    pub fn widened(&self, id: TensorId) -> Result<Cow<'_, [f32]>> {
        self.check_read(id)?;
        self.host.widened(id)
    }

    /// A read CSR input.
    pub fn csr(&self, id: SparseId) -> Result<&Csr> {
        for tensor in self.host.schedule.sparse(id).tensors() {
            self.check_read(tensor)?;
        }
        Ok(&self.host.sparse[id.index()])
    }

    /// A read pair list; an error before the host has set it.
    pub fn pair_rows(&self, id: PairsId) -> Result<&PairRows> {
        let spec = self.host.schedule.pairs(id);
        for tensor in spec.tensors() {
            self.check_read(tensor)?;
        }
        self.host.pairs[id.index()]
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument {
                argument: "pairs",
                message: format!("{} is read before the host has set it", spec.name),
            })
    }

    /// Moves an f32 tensor's values out to update them in place (the step must read and
    /// write it); [`CpuStepContext::set_f32`] puts them back.
    pub fn take_f32(&mut self, id: TensorId) -> Result<Vec<f32>> {
        self.check_read(id)?;
        self.check_write(id)?;
        match &mut self.host.values[id.index()] {
            HostValues::F32(values) => Ok(std::mem::take(values)),
            _ => Err(self.host.wrong_elem(id, Elem::F32)),
        }
    }

    /// Moves a written f32 tensor's values out for a step that writes only part of it
    /// (one block of rows: the rest keeps what earlier steps wrote) without reading it;
    /// [`CpuStepContext::set_f32`] puts them back.
    pub fn take_written_f32(&mut self, id: TensorId) -> Result<Vec<f32>> {
        self.check_write(id)?;
        match &mut self.host.values[id.index()] {
            HostValues::F32(values) => Ok(std::mem::take(values)),
            _ => Err(self.host.wrong_elem(id, Elem::F32)),
        }
    }

    /// Sets a written f32 tensor (all of its values).
    pub fn set_f32(&mut self, id: TensorId, values: Vec<f32>) -> Result<()> {
        self.check_write(id)?;
        self.host.write_f32(id, values)
    }

    /// Sets a written f16 tensor (all of its values).
    pub fn set_f16(&mut self, id: TensorId, values: Vec<f16>) -> Result<()> {
        self.check_write(id)?;
        self.host.write_f16(id, values)
    }

    fn check_read(&self, id: TensorId) -> Result<()> {
        if self.accesses.reads(id) {
            Ok(())
        } else {
            Err(undeclared(
                self.kernel,
                self.host.schedule.name(id),
                "reads",
            ))
        }
    }

    fn check_write(&self, id: TensorId) -> Result<()> {
        if self.accesses.writes(id) {
            Ok(())
        } else {
            Err(undeclared(
                self.kernel,
                self.host.schedule.name(id),
                "writes",
            ))
        }
    }
}

/// A VGAE/GAE trained on the CPU by the kernel twins (single-threaded, f32).
pub struct CpuModel {
    config: ModelConfig,
    handles: Handles,
    host: HostTensors,
    epoch_inputs: EpochInputs,
    epoch: u32,
}

impl CpuModel {
    /// The model of `setup` with `weights` on the CPU.
    pub fn from_setup(setup: ModelSetup<'_>, weights: &Weights) -> Result<CpuModel> {
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
        let sparse = sparse.into_iter().map(|c| c.into_owned()).collect();
        let mut host = HostTensors::new(schedule, sparse)?;
        host.write_f32(handles.w0, weights.w0.clone())?;
        host.write_f32(handles.w1, weights.w1.clone())?;
        if let (Some(p), Some(means)) = (handles.prior(), &weights.class_means) {
            host.write_f32(p.class_means, means.clone())?;
        }
        if let (Some(p), Some(data)) = (handles.prior(), prior) {
            host.write_u32(p.class_of, data.class_of)?;
            host.write_u32(p.class_ptr, data.class_ptr)?;
            host.write_u32(p.class_nodes, data.class_nodes)?;
        }
        if let (Some(labels), Ok(training)) = (label_pairs, handles.training()) {
            host.write_pairs(training.pairs, labels)?;
        }
        Ok(CpuModel {
            config,
            handles,
            host,
            epoch_inputs,
            epoch: 0,
        })
    }

    /// The current weights.
    pub fn weights(&self) -> Weights {
        let handles = &self.handles;
        let values = |id: TensorId| self.host.f32(id).map(<[f32]>::to_vec).unwrap_or_default();
        Weights {
            kind: self.config.kind,
            num_features: self.schedule().tensor(handles.w0).rows,
            hidden: self.config.hidden,
            latent: self.config.latent,
            w0: values(handles.w0),
            w1: values(handles.w1),
            class_means: handles.prior().map(|p| values(p.class_means)),
        }
    }

    /// The epoch's schedule.
    pub fn schedule(&self) -> &Schedule {
        self.host.schedule()
    }

    /// Prepares epoch `epoch`: the step uniform's values and what the objective draws.
    pub fn prepare_step(&mut self, epoch: u32) -> Result<()> {
        self.epoch = epoch;
        let EpochData {
            pairs,
            sample,
            decoder_scale,
            ..
        } = self.epoch_inputs.for_epoch(epoch)?;
        self.host.set_step(StepParams {
            decoder_scale,
            ..StepParams::for_epoch(epoch)
        });
        if pairs.is_none() && sample.is_none() {
            return Ok(());
        }
        let training = self.handles.training()?;
        if let Some(rows) = pairs {
            self.host.write_pairs(training.pairs, rows)?;
        }
        if let (Some((nodes, position)), Some((nodes_id, position_id))) = (sample, training.sample)
        {
            self.host.write_u32(nodes_id, nodes)?;
            self.host.write_u32(position_id, position)?;
        }
        Ok(())
    }

    /// One epoch: forward, backward and Adam, in the schedule's order.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.prepare_step(self.epoch)?;
        self.host.run_phases(&Phase::ALL)?;
        self.epoch += 1;
        Ok(())
    }

    /// Runs the encoder and returns μ (N × L).
    pub fn embeddings(&mut self) -> Result<Vec<f32>> {
        self.host.run_phases(&[Phase::Encode])?;
        let ms = self.handles.ms;
        let c = self.schedule().tensor(ms).cols;
        Ok(self
            .host
            .f32(ms)?
            .chunks_exact(c)
            .flat_map(|row| row[..self.config.latent].iter().copied())
            .collect())
    }

    /// Runs step `index` of the schedule on the current values (for benchmarks and for
    /// composing phases).
    pub fn run_step(&mut self, index: usize) -> Result<()> {
        self.host.run_step(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::tests::small_model;

    #[test]
    fn a_step_that_touches_an_undeclared_tensor_is_refused() {
        let (schedule, a, [w, _, h, _]) = small_model();
        let op = schedule.steps()[0].op.clone();
        let mut host = HostTensors::new(schedule, vec![a]).unwrap();
        host.run_step(0).unwrap();
        let all = op.accesses(&host.schedule);
        for (reads, writes, what) in [
            (
                all.reads.iter().copied().filter(|&t| t != w).collect(),
                all.writes.clone(),
                "w",
            ),
            (all.reads.clone(), vec![], "h"),
        ] {
            let mut ctx = CpuStepContext {
                host: &mut host,
                kernel: "spmm",
                accesses: Accesses { reads, writes },
            };
            let err = op.run_cpu(&mut ctx).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument { argument: "step", message }
                    if message.contains(&format!(" {what},"))),
                "{err}"
            );
        }
        assert!(host.u32(h).is_err(), "h holds f32 values");
    }
}
