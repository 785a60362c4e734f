//! `shaders/reparam_kl.wgsl` (with `shaders/shared/philox.wgsl`): the
//! reparameterization z = μ + ε·exp(s) and the KL term's per-node sums.

use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, StepBuffer};

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
/// `kl_rows[i] = Σ_k (1 + 2 s_ik − μ_ik² − exp(2 s_ik))`. `ms` is n × 2L = `[μ | s]`.
pub fn reparam_kl(
    gpu: &Gpu,
    ms: &GpuMatrix,
    seed: u64,
    step: &StepBuffer,
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
    let pipeline = gpu.pipeline(&REPARAM_KL)?;
    let grid = gpu.grid(ms.rows() as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(ms),
            Bind::matrix(z),
            Bind::array(kl_rows),
            Bind::Step(step),
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
