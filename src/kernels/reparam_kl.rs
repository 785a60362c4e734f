//! `shaders/reparam_kl.wgsl` (with `shaders/shared/philox.wgsl`): the
//! reparameterization z = μ + ε·exp(s) and the KL term's per-node sums, against N(0, I)
//! or the class-conditional prior.

use super::{check, flag, to_u32, Work, WORD};
use crate::error::Result;
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
/// reparameterization kernels (the prior's arrays, or `ms` in their place when there is
/// none, which the shader then does not read) and the CONDITIONAL constant.
pub(crate) fn prior_bindings<'a>(
    kernel: &str,
    prior: Option<&'a ClassPrior>,
    ms: &'a GpuMatrix,
    latent: usize,
) -> Result<([Bind<'a>; 2], f64)> {
    match prior {
        Some(p) => {
            check(
                p.class_of.len() == ms.rows() && p.class_means.cols() == latent,
                kernel,
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
            Ok((
                [Bind::array(&p.class_of), Bind::matrix(&p.class_means)],
                flag(true),
            ))
        }
        None => Ok(([Bind::matrix(ms), Bind::matrix(ms)], flag(false))),
    }
}

/// Forward: z = μ + ε·exp(s) and the KL term's per-node sums.
pub static REPARAM_KL: KernelDef = KernelDef {
    name: "reparam_kl",
    source: concat!(
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

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        seed_lo: u32,
        seed_hi: u32,
    }
}

/// Checks that `ms` is n × 2L = [μ | s] for the n × L matrix `latent_matrix`; returns L.
pub(crate) fn check_ms(kernel: &str, ms: &GpuMatrix, latent_matrix: &GpuMatrix) -> Result<usize> {
    let latent = latent_matrix.cols();
    check(
        ms.cols() == 2 * latent && ms.rows() == latent_matrix.rows(),
        kernel,
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
    check(latent >= 1, kernel, || "latent dimension is 0".into())?;
    Ok(latent)
}

/// z (n × L) = μ + ε·exp(s) with ε keyed by (`seed`, the step's epoch, row, column);
/// `kl_rows[i] = Σ_k (1 + 2 s_ik − (μ_ik − p_ik)² − exp(2 s_ik))` with the prior mean p
/// of `prior` (0 without one). `ms` is n × 2L = `[μ | s]`.
pub fn reparam_kl(
    gpu: &Gpu,
    ms: &GpuMatrix,
    seed: u64,
    step: &StepBuffer,
    prior: Option<&ClassPrior>,
    z: &GpuMatrix,
    kl_rows: &GpuArray<f32>,
) -> Result<Dispatch> {
    let latent = check_ms("reparam_kl", ms, z)?;
    check(kl_rows.len() == ms.rows(), "reparam_kl", || {
        format!(
            "kl_rows has {} elements for {} nodes",
            kl_rows.len(),
            ms.rows()
        )
    })?;
    let params = Params {
        n: to_u32("reparam_kl nodes", ms.rows())?,
        latent: to_u32("reparam_kl latent", latent)?,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
    };
    to_u32("reparam_kl elements", ms.rows() * ms.cols())?;
    let ([class_of, class_means], conditional) =
        prior_bindings("reparam_kl", prior, ms, latent)?;
    let pipeline = gpu.pipeline_with(&REPARAM_KL, &[("CONDITIONAL", conditional)])?;
    let grid = gpu.grid(ms.rows() as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(ms),
            Bind::matrix(z),
            Bind::array(kl_rows),
            Bind::Step(step),
            class_of,
            class_means,
        ],
        grid,
    )
}

/// n × latent: reads [μ | s] (2·n·L), writes z (n·L) and kl_rows (n); flops = 0 (exp
/// and the Philox integer rounds dominate; rated in GB/s).
pub fn work(n: usize, latent: usize) -> Work {
    let (n, l) = (n as f64, latent as f64);
    Work {
        flops: 0.0,
        bytes: WORD * (2.0 * n * l + n * l + n),
    }
}
