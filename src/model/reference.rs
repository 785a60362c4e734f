//! The CPU runner of the schedule: [`CpuModel`] runs every step with its kernel's CPU
//! twin on host vectors, in the schedule's order. It is the baseline of the
//! end-to-end benchmark and the check of the GPU engine as a whole (the same setup and
//! seed give the same weights up to rounding).

use super::inputs::{EpochData, EpochInputs, ModelSetup, PriorData};
use super::schedule::{Op, Phase, Schedule, TensorId};
use super::{ModelConfig, Weights};
use crate::cpu;
use crate::error::Result;
use crate::kernels::decoder_pairs::PairRows;
use crate::sparse::Csr;

/// A VGAE/GAE trained on the CPU by the kernel twins (single-threaded, f32).
pub struct CpuModel {
    config: ModelConfig,
    schedule: Schedule,
    sparse: Vec<Csr>,
    epoch_inputs: EpochInputs,
    prior: Option<PriorData>,
    /// Every f32 tensor's values, indexed by [`TensorId::index`] (index tensors stay
    /// empty: the CSR and pair structs and `sample` hold them).
    values: Vec<Vec<f32>>,
    pairs: Option<PairRows>,
    /// The subgraph objective's sample of this epoch (nodes, positions).
    sample: Option<(Vec<u32>, Vec<u32>)>,
    decoder_scale: f32,
    epoch: u32,
}

impl CpuModel {
    /// The model of `setup` with `weights` on the CPU.
    pub fn from_setup(setup: ModelSetup<'_>, weights: &Weights) -> Result<CpuModel> {
        let schedule = setup.schedule.clone();
        let handles = schedule.handles();
        weights.check_fits(&setup.config, schedule.tensor(handles.w0).rows)?;
        let mut values: Vec<Vec<f32>> = schedule
            .tensors()
            .iter()
            .map(|t| vec![0.0; t.len()])
            .collect();
        super::engine::check_class_means(&schedule, weights)?;
        values[handles.w0.index()] = weights.w0.clone();
        values[handles.w1.index()] = weights.w1.clone();
        let prior = handles.training.as_ref().and_then(|t| t.prior.as_ref());
        if let (Some(p), Some(means)) = (prior, &weights.class_means) {
            values[p.class_means.index()] = means.clone();
        }
        let sparse = setup.sparse.iter().map(|c| c.as_ref().clone()).collect();
        Ok(CpuModel {
            config: setup.config,
            schedule,
            sparse,
            epoch_inputs: setup.epoch_inputs,
            prior: setup.prior,
            values,
            pairs: setup.label_pairs,
            sample: None,
            decoder_scale: 1.0,
            epoch: 0,
        })
    }

    /// The current weights.
    pub fn weights(&self) -> Weights {
        let handles = self.schedule.handles();
        Weights {
            kind: self.config.kind,
            num_features: self.schedule.tensor(handles.w0).rows,
            hidden: self.config.hidden,
            latent: self.config.latent,
            w0: self.values[handles.w0.index()].clone(),
            w1: self.values[handles.w1.index()].clone(),
            class_means: handles
                .training
                .as_ref()
                .and_then(|t| t.prior.as_ref())
                .map(|p| self.values[p.class_means.index()].clone()),
        }
    }

    /// The values of a tensor after the last step that wrote it.
    pub fn tensor(&self, id: TensorId) -> &[f32] {
        &self.values[id.index()]
    }

    /// The epoch's schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Prepares epoch `epoch`: draws what the objective samples.
    pub fn prepare_step(&mut self, epoch: u32) -> Result<()> {
        self.epoch = epoch;
        let EpochData {
            pairs,
            sample,
            decoder_scale,
            ..
        } = self.epoch_inputs.for_epoch(epoch)?;
        if pairs.is_some() {
            self.pairs = pairs;
        }
        self.sample = sample;
        self.decoder_scale = decoder_scale;
        Ok(())
    }

    /// One epoch: forward, backward and Adam, in the schedule's order.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.prepare_step(self.epoch)?;
        self.run_phases(&Phase::ALL);
        self.epoch += 1;
        Ok(())
    }

    /// Runs the encoder and returns μ (N × L).
    pub fn embeddings(&mut self) -> Vec<f32> {
        self.run_phases(&[Phase::Encode]);
        let ms = self.schedule.handles().ms;
        let c = self.schedule.tensor(ms).cols;
        self.values[ms.index()]
            .chunks_exact(c)
            .flat_map(|row| row[..self.config.latent].iter().copied())
            .collect()
    }

    fn run_phases(&mut self, phases: &[Phase]) {
        for index in 0..self.schedule.steps().len() {
            if phases.contains(&self.schedule.steps()[index].phase) {
                self.run_step(index);
            }
        }
    }

    /// The prior's (class of each node, class means) for a step that reads them.
    fn prior_of(&self, prior: Option<(TensorId, TensorId)>) -> Option<(&[u32], &[f32])> {
        let (_, means) = prior?;
        let data = self.prior.as_ref()?;
        Some((
            data.class_of.as_slice(),
            self.values[means.index()].as_slice(),
        ))
    }

    /// Runs step `index` of the schedule on the current values (for benchmarks and for
    /// composing phases).
    pub fn run_step(&mut self, index: usize) {
        let op = self.schedule.steps()[index].op.clone();
        let (seed, epoch) = (self.config.seed, self.epoch);
        let shape = |s: &Schedule, id: TensorId| {
            let t = s.tensor(id);
            (t.rows, t.cols)
        };
        let v = &self.values;
        let s = &self.schedule;
        let outputs: Vec<(TensorId, Vec<f32>)> = match op {
            Op::Spmm { a, b, relu, out } => {
                let cols = shape(s, b).1;
                let product = if relu { cpu::spmm_relu } else { cpu::spmm };
                vec![(out, product(&self.sparse[a.index()], &v[b.index()], cols))]
            }
            Op::Matmul {
                a,
                b,
                transpose_b,
                mask,
                out,
            } => {
                let ((m, k), n) = (shape(s, a), shape(s, out).1);
                let mask = mask.map(|m| v[m.index()].as_slice());
                vec![(
                    out,
                    cpu::matmul_masked(&v[a.index()], &v[b.index()], m, k, n, transpose_b, mask),
                )]
            }
            Op::MatmulTnPartial { a, b, partial } => {
                let ((m, k), n) = (shape(s, a), shape(s, b).1);
                vec![(
                    partial,
                    cpu::matmul_tn_partial(&v[a.index()], &v[b.index()], m, k, n),
                )]
            }
            Op::ReduceSum { input, out } => {
                let (rows, cols) = shape(s, input);
                vec![(out, cpu::reduce_sum(&v[input.index()], rows, cols))]
            }
            Op::ReparamKl {
                ms,
                prior,
                z,
                kl_rows,
            } => {
                let (n, l) = shape(s, z);
                let prior = self.prior_of(prior);
                let (zv, kl) = cpu::reparam_kl(&v[ms.index()], n, l, seed, epoch, prior);
                vec![(z, zv), (kl_rows, kl)]
            }
            Op::ClassMeanGrad {
                ms,
                class_means,
                kl_scale,
                out,
                ..
            } => {
                let data = self.prior.as_ref().expect("the schedule has a prior");
                let (stride, latent) = (shape(s, ms).1, shape(s, class_means).1);
                vec![(
                    out,
                    cpu::class_mean_grad(
                        &v[ms.index()],
                        stride,
                        &data.class_ptr,
                        &data.class_nodes,
                        &v[class_means.index()],
                        latent,
                        kl_scale,
                    ),
                )]
            }
            Op::ReparamBackward {
                ms,
                dz,
                kl_scale,
                prior,
                d_ms,
            } => {
                let (n, l) = shape(s, dz);
                let prior = self.prior_of(prior);
                vec![(
                    d_ms,
                    cpu::reparam_backward(
                        &v[ms.index()],
                        &v[dz.index()],
                        n,
                        l,
                        seed,
                        epoch,
                        kl_scale,
                        prior,
                    ),
                )]
            }
            Op::DecoderDense {
                z,
                latent,
                layout,
                grad_partial,
                loss_partial,
            } => {
                let (n, stride) = shape(s, z);
                let (grad, loss) = cpu::decoder_dense(&v[z.index()], n, stride, latent, layout);
                vec![(grad_partial, grad), (loss_partial, loss)]
            }
            Op::DecoderPairs {
                z,
                latent,
                dense,
                grad_scale,
                dz,
                loss_rows,
                ..
            } => {
                let stride = shape(s, z).1;
                let pairs = self
                    .pairs
                    .as_ref()
                    .expect("the pair list is set before an epoch runs");
                let dense = dense.map(|(g, l, layout)| {
                    (
                        v[g.index()].as_slice(),
                        v[l.index()].as_slice(),
                        layout.slots(),
                    )
                });
                let (dzv, loss) =
                    cpu::decoder_pairs(&v[z.index()], stride, latent, pairs, dense, grad_scale);
                vec![(dz, dzv), (loss_rows, loss)]
            }
            Op::GatherRows { src, out, .. } => {
                let (stride, cols) = (shape(s, src).1, shape(s, out).1);
                let (nodes, _) = self
                    .sample
                    .as_ref()
                    .expect("the sample is drawn before an epoch");
                vec![(out, cpu::gather_rows(&v[src.index()], stride, cols, nodes))]
            }
            Op::ScatterRows { src, out, .. } => {
                let cols = shape(s, src).1;
                let (_, position) = self
                    .sample
                    .as_ref()
                    .expect("the sample is drawn before an epoch");
                vec![(
                    out,
                    cpu::scatter_rows(&v[src.index()], cols, position, self.decoder_scale),
                )]
            }
            Op::Adam {
                param,
                grad,
                m,
                v: second,
            } => {
                let mut p = std::mem::take(&mut self.values[param.index()]);
                let mut first = std::mem::take(&mut self.values[m.index()]);
                let mut sec = std::mem::take(&mut self.values[second.index()]);
                cpu::adam(
                    &self.config.adam,
                    epoch + 1,
                    &mut p,
                    &self.values[grad.index()],
                    &mut first,
                    &mut sec,
                );
                vec![(param, p), (m, first), (second, sec)]
            }
        };
        for (id, values) in outputs {
            self.values[id.index()] = values;
        }
    }
}
