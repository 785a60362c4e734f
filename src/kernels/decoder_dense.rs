//! `shaders/decoder_dense.wgsl`: the dense part of the decoder objective, tiled over
//! column splits, never storing N×N.

use bytemuck::{Pod, Zeroable};

use super::{check_latent, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The dense decoder kernel.
pub static DECODER_DENSE: KernelDef = KernelDef {
    name: "decoder_dense",
    source: shader_source!("decoder_dense.wgsl"),
    bindings: &[ReadOnly, ReadWrite, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    latent: u32,
    z_stride: u32,
    col_chunk: u32,
    splits: u32,
    groups_per_split: u32,
    _pad: [u32; 2],
}

/// Per-split partial sums of the dense decoder pass: `grad` is splits × n × latent
/// (Σ_j σ(z_i·z_j) z_j over each split's columns), `loss` is splits × n
/// (Σ_j softplus(z_i·z_j)).
#[derive(Clone)]
pub struct DensePartials {
    /// splits × n × latent.
    pub grad: GpuArray<f32>,
    /// splits × n.
    pub loss: GpuArray<f32>,
    /// Number of column splits.
    pub splits: usize,
}

/// Column splits that give a device about `target_invocations` threads for `n` rows
/// (more splits only add partial sums to read back in `decoder_pairs`).
pub fn splits_for(n: usize, target_invocations: usize) -> usize {
    target_invocations
        .div_ceil(n.max(1))
        .clamp(1, 64)
        .min(n.max(1))
}

/// Rows of z one invocation of the dense pass handles (the shader's `R`): enough to
/// reuse every loaded z_j several times, few enough that R·L accumulators do not spill
/// heavily. Measured on llvmpipe (benches/RESULTS.md): 4 rows at L = 16, 2 at L = 32,
/// 1 at L = 64.
fn rows_per_invocation(latent: usize) -> usize {
    match latent.div_ceil(4) * 4 {
        0..=16 => 4,
        17..=32 => 2,
        _ => 1,
    }
}

/// Allocates the partial buffers and prepares the dense pass over the first `latent`
/// columns of `z` (row stride `z.cols()`), with the columns cut into `splits` chunks.
pub fn decoder_dense(
    gpu: &Gpu,
    z: &GpuMatrix,
    latent: usize,
    splits: usize,
) -> Result<(Dispatch, DensePartials)> {
    check_latent("decoder_dense", latent, z.cols())?;
    let n = z.rows();
    let splits = splits.clamp(1, n.max(1));
    let col_chunk = n.div_ceil(splits).max(1);
    // One pipeline per latent size, so the shader's loops over the latent have constant
    // trip counts, and rows per invocation to match (see the shader's header).
    let rows = rows_per_invocation(latent);
    let pipeline =
        gpu.pipeline_with(&DECODER_DENSE, &[("L", latent as f64), ("R", rows as f64)])?;
    // Whole workgroups per split, so that a workgroup's column range is uniform.
    let groups_per_split = n.div_ceil(pipeline.workgroup_size as usize * rows);
    let params = Params {
        n: to_u32("decoder_dense nodes", n)?,
        latent: latent as u32,
        z_stride: to_u32("decoder_dense stride", z.cols())?,
        col_chunk: to_u32("decoder_dense chunk", col_chunk)?,
        splits: to_u32("decoder_dense splits", splits)?,
        groups_per_split: to_u32("decoder_dense workgroups", groups_per_split)?,
        _pad: [0; 2],
    };
    to_u32("decoder_dense elements", splits * n * latent.max(z.cols()))?;
    let partials = DensePartials {
        grad: gpu.alloc("gpu_vgae.decoder_dense.grad_partial", splits * n * latent)?,
        loss: gpu.alloc("gpu_vgae.decoder_dense.loss_partial", splits * n)?,
        splits,
    };
    let grid = gpu.grid(
        (splits * groups_per_split) as u64 * pipeline.workgroup_size as u64,
        pipeline.workgroup_size,
    )?;
    let dispatch = gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(z.data().buffer()),
            Bind::Buffer(partials.grad.buffer()),
            Bind::Buffer(partials.loss.buffer()),
        ],
        grid,
    )?;
    Ok((dispatch, partials))
}
