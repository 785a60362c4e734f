//! `shaders/reparam_backward.wgsl` (with `shaders/shared/philox.wgsl`): the gradients
//! through the reparameterization and the KL term, [dμ | ds].

use super::reparam_kl::{check_ms, node_windows, prior_bindings, ClassPrior};
use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef, StepBuffer};

/// Backward: [dμ | ds] from dz, the regenerated ε and the KL gradients.
pub static REPARAM_BACKWARD: KernelDef = KernelDef {
    name: "reparam_backward",
    source: concat!(
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("reparam_backward.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("ms"),
        BindingDef::read("dz"),
        BindingDef::write("d_ms"),
        BindingDef::uniform("step"),
        BindingDef::read("class_of"),
        BindingDef::read("class_means"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        seed_lo: u32,
        seed_hi: u32,
        kl_scale: f32,
        row_base: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// d_ms (n × 2L) = [dz + kl_scale·(μ − p) | dz·ε·exp(s) + kl_scale·(exp(2s) − 1)], with
/// ε regenerated exactly as `reparam_kl` drew it for the same seed and epoch, and p the
/// prior mean of `prior` (0 without one).
#[allow(clippy::too_many_arguments)]
pub fn reparam_backward(
    gpu: &Gpu,
    ms: &GpuMatrix,
    dz: &GpuMatrix,
    seed: u64,
    kl_scale: f32,
    step: &StepBuffer,
    prior: Option<&ClassPrior>,
    d_ms: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let latent = check_ms("reparam_backward", ms, dz)?;
    check(
        d_ms.rows() == ms.rows() && d_ms.cols() == ms.cols(),
        "reparam_backward",
        "d_ms",
        || {
            format!(
                "d_ms is {} x {}, expected like ms",
                d_ms.rows(),
                d_ms.cols()
            )
        },
    )?;
    to_u32("reparam_backward elements", ms.rows() * ms.cols())?;
    let conditional = flag(prior.is_some());
    let pipeline = gpu.pipeline_with(&REPARAM_BACKWARD, &[("CONDITIONAL", conditional)])?;
    node_windows(gpu, "reparam_backward", ms.rows(), latent, WORD_BYTES)?
        .into_iter()
        .map(|window| {
            let params = Params {
                n: to_u32("reparam_backward nodes", window.len())?,
                latent: to_u32("reparam_backward latent", latent)?,
                seed_lo: seed as u32,
                seed_hi: (seed >> 32) as u32,
                kl_scale,
                row_base: to_u32("reparam_backward nodes", window.start)?,
                _pad1: 0,
                _pad2: 0,
            };
            let [class_of, class_means] =
                prior_bindings("reparam_backward", prior, ms, latent, window.clone())?;
            let grid = gpu.grid((window.len() * latent) as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(ms, window.clone()),
                    Bind::rows(dz, window.clone()),
                    Bind::rows(d_ms, window),
                    Bind::Step(step),
                    class_of,
                    class_means,
                ],
                grid,
            )
        })
        .collect()
}

/// n × latent: reads [μ | s] and dz (3·n·L), writes d_ms (2·n·L); flops = 0.
pub fn work(n: usize, latent: usize) -> Work {
    let (n, l) = (n as f64, latent as f64);
    Work {
        flops: 0.0,
        bytes: WORD * 5.0 * n * l,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use super::reparam_kl::{device_prior, host_prior, PriorTensors};
use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `reparam_backward` in a schedule: [dμ | ds] from dz and the KL gradients, the noise
/// of `reparam_kl` regenerated from the same seed and epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReparamBackwardStep {
    /// n × 2L.
    pub ms: TensorId,
    /// n × L.
    pub dz: TensorId,
    /// Scale of the KL gradients (1/N²).
    pub kl_scale: f32,
    /// The class-conditional prior: (class of each node, class means).
    pub prior: PriorTensors,
    /// Seeds the noise (as the forward step's).
    pub seed: u64,
    /// n × 2L.
    pub d_ms: TensorId,
}

impl ScheduleOp for ReparamBackwardStep {
    fn kernel(&self) -> &'static KernelDef {
        &REPARAM_BACKWARD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        let prior = self.prior.into_iter().flat_map(|(c, m)| [c, m]);
        Accesses::new([self.ms, self.dz].into_iter().chain(prior), [self.d_ms])
    }

    fn work(&self, s: &Schedule) -> Work {
        let dz = s.tensor(self.dz);
        work(dz.rows, dz.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {} ({})",
            s.name(self.dz),
            s.name(self.d_ms),
            s.dims(self.dz)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        reparam_backward(
            ctx.gpu(),
            &ctx.matrix(self.ms)?,
            &ctx.matrix(self.dz)?,
            self.seed,
            self.kl_scale,
            ctx.step(),
            device_prior(ctx, self.prior)?.as_ref(),
            &ctx.matrix(self.d_ms)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (n, l) = (ctx.tensor(self.dz).rows, ctx.tensor(self.dz).cols);
        let epoch = ctx.step().epoch;
        let d_ms = cpu::reparam_backward(
            ctx.f32(self.ms)?,
            ctx.f32(self.dz)?,
            n,
            l,
            self.seed,
            epoch,
            self.kl_scale,
            host_prior(ctx, self.prior)?,
        );
        ctx.set_f32(self.d_ms, d_ms)
    }
}
