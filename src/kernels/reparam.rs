//! `shaders/reparam_kl.wgsl` and `shaders/reparam_backward.wgsl` (with the shared
//! `shaders/shared/philox.wgsl`): reparameterization, KL sums and their gradients.

use bytemuck::{Pod, Zeroable};

use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, StepBuffer};

/// Forward: z = μ + ε·exp(s) and the KL term's per-node sums.
pub static REPARAM_KL: KernelDef = KernelDef {
    name: "reparam_kl",
    source: concat!(
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("reparam_kl.wgsl")
    ),
    bindings: &[ReadOnly, ReadWrite, ReadWrite, Uniform],
    workgroup_size: DEFAULT_WORKGROUP,
};

/// Backward: [dμ | ds] from dz, the regenerated ε and the KL gradients.
pub static REPARAM_BACKWARD: KernelDef = KernelDef {
    name: "reparam_backward",
    source: concat!(
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("reparam_backward.wgsl")
    ),
    bindings: &[ReadOnly, ReadOnly, ReadWrite, Uniform],
    workgroup_size: DEFAULT_WORKGROUP,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ForwardParams {
    n: u32,
    latent: u32,
    seed_lo: u32,
    seed_hi: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BackwardParams {
    n: u32,
    latent: u32,
    seed_lo: u32,
    seed_hi: u32,
    kl_scale: f32,
    _pad: [u32; 3],
}

fn check_ms(kernel: &str, ms: &GpuMatrix, latent_matrix: &GpuMatrix) -> Result<usize> {
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
    let params = ForwardParams {
        n: to_u32("reparam_kl nodes", ms.rows())?,
        latent: to_u32("reparam_kl latent", latent)?,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
    };
    to_u32("reparam_kl elements", ms.rows() * ms.cols())?;
    let pipeline = gpu.pipeline(&REPARAM_KL)?;
    let grid = gpu.grid(ms.rows() as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(ms.data().buffer()),
            Bind::Buffer(z.data().buffer()),
            Bind::Buffer(kl_rows.buffer()),
            Bind::Step(step),
        ],
        grid,
    )
}

/// d_ms (n × 2L) = [dz + kl_scale·μ | dz·ε·exp(s) + kl_scale·(exp(2s) − 1)], with ε
/// regenerated exactly as [`reparam_kl`] drew it for the same seed and epoch.
pub fn reparam_backward(
    gpu: &Gpu,
    ms: &GpuMatrix,
    dz: &GpuMatrix,
    seed: u64,
    kl_scale: f32,
    step: &StepBuffer,
    d_ms: &GpuMatrix,
) -> Result<Dispatch> {
    let latent = check_ms("reparam_backward", ms, dz)?;
    check(
        d_ms.rows() == ms.rows() && d_ms.cols() == ms.cols(),
        "reparam_backward",
        || {
            format!(
                "d_ms is {} x {}, expected like ms",
                d_ms.rows(),
                d_ms.cols()
            )
        },
    )?;
    let params = BackwardParams {
        n: to_u32("reparam_backward nodes", ms.rows())?,
        latent: to_u32("reparam_backward latent", latent)?,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        kl_scale,
        _pad: [0; 3],
    };
    to_u32("reparam_backward elements", ms.rows() * ms.cols())?;
    let pipeline = gpu.pipeline(&REPARAM_BACKWARD)?;
    let grid = gpu.grid((ms.rows() * latent) as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(ms.data().buffer()),
            Bind::Buffer(dz.data().buffer()),
            Bind::Buffer(d_ms.data().buffer()),
            Bind::Step(step),
        ],
        grid,
    )
}
