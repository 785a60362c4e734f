//! `shaders/reparam_kl.wgsl` (with `shaders/shared/philox.wgsl`): the
//! reparameterization z = μ + ε·exp(s) and the KL term's per-node sums, against N(0, I)
//! or the class-conditional prior.

use std::ops::Range;

use super::{
    check, elem_bytes, flag, store_choice, to_u32, EmbeddingElem, Work, WORD, WORD_BYTES,
};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, StepBuffer};

/// The class-conditional prior's inputs (DESIGN.md §9): every node's training class
/// (`u32::MAX` for none) and the learnable class means (classes × L).
#[derive(Clone)]
pub struct ClassPrior {
    /// n entries.
    pub class_of: GpuArray<u32>,
    /// classes × latent.
    pub class_means: GpuMatrix,
}

/// Checks a prior against n nodes and latent L; the bindings 5 and 6 of the two
/// reparameterization kernels for the nodes `window` (the prior's arrays, or `ms` in
/// their place when there is none, which the shader then does not read).
pub(crate) fn prior_bindings<'a>(
    kernel: &str,
    prior: Option<&'a ClassPrior>,
    ms: &'a GpuMatrix,
    latent: usize,
    window: Range<usize>,
) -> Result<[Bind<'a>; 2]> {
    match prior {
        Some(p) => {
            check(
                p.class_of.len() == ms.rows() && p.class_means.cols() == latent,
                kernel,
                "prior",
                || {
                    format!(
                        "the prior has {} classes for {} nodes and {} x {} means, expected \
                         {} nodes and {latent} columns",
                        p.class_of.len(),
                        ms.rows(),
                        p.class_means.rows(),
                        p.class_means.cols(),
                        ms.rows()
                    )
                },
            )?;
            Ok([
                Bind::elements(&p.class_of, window),
                Bind::matrix(&p.class_means),
            ])
        }
        // Never read: any binding that fits will do.
        None => Ok([Bind::rows(ms, window.clone()), Bind::rows(ms, window)]),
    }
}

/// Forward: z = μ + ε·exp(s) and the KL term's per-node sums.
pub static REPARAM_KL: KernelDef = KernelDef {
    name: "reparam_kl",
    source: store_source!(
        f32,
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("reparam_kl.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("ms"),
        BindingDef::write("z"),
        BindingDef::write("kl_rows"),
        BindingDef::uniform("step"),
        BindingDef::read("class_of"),
        BindingDef::read("class_means"),
    ],
};

/// [`REPARAM_KL`] writing z in f16 (rounded to nearest even), for devices with
/// `SHADER_F16`.
pub static REPARAM_KL_F16: KernelDef = KernelDef {
    source: store_source!(
        f16,
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("reparam_kl.wgsl")
    ),
    ..REPARAM_KL
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        seed_lo: u32,
        seed_hi: u32,
        row_base: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Checks that `ms` is n × 2L = [μ | s] for the n × L matrix `latent_matrix`; returns L.
pub(crate) fn check_ms<T: bytemuck::Pod>(
    kernel: &str,
    ms: &GpuMatrix,
    latent_matrix: &GpuMatrix<T>,
) -> Result<usize> {
    let latent = latent_matrix.cols();
    check(
        ms.cols() == 2 * latent && ms.rows() == latent_matrix.rows(),
        kernel,
        "ms",
        || {
            format!(
                "[μ | s] is {} x {}, expected {} x {}",
                ms.rows(),
                ms.cols(),
                latent_matrix.rows(),
                2 * latent
            )
        },
    )?;
    check(latent >= 1, kernel, "ms", || "latent dimension is 0".into())?;
    Ok(latent)
}

/// z (n × L; f32, or f16 rounded to nearest even) = μ + ε·exp(s) with ε keyed by
/// (`seed`, the step's epoch, row, column);
/// `kl_rows[i] = Σ_k (1 + 2 s_ik − (μ_ik − p_ik)² − exp(2 s_ik))` with the prior mean p
/// of `prior` (0 without one). `ms` is n × 2L = `[μ | s]`.
pub fn reparam_kl<T: EmbeddingElem>(
    gpu: &Gpu,
    ms: &GpuMatrix,
    seed: u64,
    step: &StepBuffer,
    prior: Option<&ClassPrior>,
    z: &GpuMatrix<T>,
    kl_rows: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let latent = check_ms("reparam_kl", ms, z)?;
    check(kl_rows.len() == ms.rows(), "reparam_kl", "kl_rows", || {
        format!(
            "kl_rows has {} elements for {} nodes",
            kl_rows.len(),
            ms.rows()
        )
    })?;
    to_u32("reparam_kl elements", ms.rows() * ms.cols())?;
    let conditional = flag(prior.is_some());
    let def = store_choice::<T>(gpu, &REPARAM_KL, &REPARAM_KL_F16)?;
    let pipeline = gpu.pipeline_with(def, &[("CONDITIONAL", conditional)])?;
    node_windows(gpu, "reparam_kl", ms.rows(), latent, elem_bytes::<T>())?
        .into_iter()
        .map(|window| {
            let params = Params {
                n: to_u32("reparam_kl nodes", window.len())?,
                latent: to_u32("reparam_kl latent", latent)?,
                seed_lo: seed as u32,
                seed_hi: (seed >> 32) as u32,
                row_base: to_u32("reparam_kl nodes", window.start)?,
                _pad0: 0,
                _pad1: 0,
                _pad2: 0,
            };
            let [class_of, class_means] =
                prior_bindings("reparam_kl", prior, ms, latent, window.clone())?;
            let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(ms, window.clone()),
                    Bind::rows(z, window.clone()),
                    Bind::elements(kl_rows, window),
                    Bind::Step(step),
                    class_of,
                    class_means,
                ],
                grid,
            )
        })
        .collect()
}

/// Windows of nodes for the reparameterization kernels: rows of [μ | s] (2L floats),
/// of z or dz (L values of `z_bytes`), and one word per node (kl_rows, class_of).
pub(crate) fn node_windows(
    gpu: &Gpu,
    kernel: &str,
    nodes: usize,
    latent: usize,
    z_bytes: u64,
) -> Result<Vec<Range<usize>>> {
    let latent = latent as u64;
    row_windows(
        gpu,
        kernel,
        nodes,
        &[2 * latent * WORD_BYTES, latent * z_bytes, WORD_BYTES],
        1,
    )
}

/// n × latent: reads [μ | s] (2·n·L floats), writes z (n·L values of `z_bytes`) and
/// kl_rows (n); flops = 0 (exp and the Philox integer rounds dominate; rated in GB/s).
pub fn work(n: usize, latent: usize, z_bytes: u64) -> Work {
    let (n, l) = (n as f64, latent as f64);
    Work {
        flops: 0.0,
        bytes: WORD * (2.0 * n * l + n) + z_bytes as f64 * n * l,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use half::f16;

use crate::cpu;
use crate::model::schedule::{Accesses, Elem, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// The class-conditional prior's tensors in a step: (class of each node, class means).
pub type PriorTensors = Option<(TensorId, TensorId)>;

/// `reparam_kl` in a schedule: z and the KL rows from [μ | s], the epoch's noise keyed
/// by `seed` and the step uniform's epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReparamKlStep {
    /// n × 2L.
    pub ms: TensorId,
    /// The class-conditional prior.
    pub prior: PriorTensors,
    /// Seeds the noise.
    pub seed: u64,
    /// n × L, f32 or f16.
    pub z: TensorId,
    /// n × 1.
    pub kl_rows: TensorId,
}

/// The prior's tensors on the device, for the two reparameterization steps.
pub(crate) fn device_prior(
    ctx: &GpuStepContext<'_>,
    prior: PriorTensors,
) -> Result<Option<ClassPrior>> {
    prior
        .map(|(class_of, class_means)| {
            Ok(ClassPrior {
                class_of: ctx.array(class_of)?,
                class_means: ctx.matrix(class_means)?,
            })
        })
        .transpose()
}

/// The prior's tensors on the host, for the two reparameterization steps.
pub(crate) fn host_prior<'c>(
    ctx: &'c CpuStepContext<'_>,
    prior: PriorTensors,
) -> Result<Option<(&'c [u32], &'c [f32])>> {
    prior
        .map(|(class_of, class_means)| Ok((ctx.u32(class_of)?, ctx.f32(class_means)?)))
        .transpose()
}

impl ScheduleOp for ReparamKlStep {
    fn kernel(&self) -> &'static KernelDef {
        &REPARAM_KL
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        let prior = self.prior.into_iter().flat_map(|(c, m)| [c, m]);
        Accesses::new([self.ms].into_iter().chain(prior), [self.z, self.kl_rows])
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z);
        work(z.rows, z.cols, z.elem.size())
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {} ({})",
            s.name(self.ms),
            s.name(self.z),
            s.dims(self.z)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let (gpu, ms, step) = (ctx.gpu(), ctx.matrix(self.ms)?, ctx.step());
        let prior = device_prior(ctx, self.prior)?;
        let kl_rows = ctx.array(self.kl_rows)?;
        match ctx.tensor(self.z).elem {
            Elem::F16 => {
                let z = ctx.matrix::<f16>(self.z)?;
                reparam_kl(gpu, &ms, self.seed, step, prior.as_ref(), &z, &kl_rows)
            }
            _ => {
                let z = ctx.matrix::<f32>(self.z)?;
                reparam_kl(gpu, &ms, self.seed, step, prior.as_ref(), &z, &kl_rows)
            }
        }
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (n, l) = (ctx.tensor(self.z).rows, ctx.tensor(self.z).cols);
        let epoch = ctx.step().epoch;
        let (z, kl_rows) = cpu::reparam_kl(
            ctx.f32(self.ms)?,
            n,
            l,
            self.seed,
            epoch,
            host_prior(ctx, self.prior)?,
        );
        match ctx.tensor(self.z).elem {
            Elem::F16 => ctx.set_f16(self.z, cpu::round_f16(&z))?,
            _ => ctx.set_f32(self.z, z)?,
        }
        ctx.set_f32(self.kl_rows, kl_rows)
    }
}
