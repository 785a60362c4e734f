//! `shaders/decoder_dense.wgsl`: the dense part of the decoder objective, tiled over
//! column splits, never storing N×N.

use super::{check, check_latent, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The dense decoder kernel.
pub static DECODER_DENSE: KernelDef = KernelDef {
    name: "decoder_dense",
    source: shader_source!("decoder_dense.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::write("grad_partial"),
        BindingDef::write("loss_partial"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        z_stride: u32,
        col_chunk: u32,
        splits: u32,
        groups_per_split: u32,
        _pad0: u32,
        _pad1: u32,
    }
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
/// (more splits only add partial sums to read back in `decoder_pairs`); at least 1,
/// at most 64 and at most n.
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

/// The dense pass over the first `latent` columns of `z` (row stride `z.cols()`), with
/// the columns cut into `partials.splits` chunks, into `partials`.
pub fn decoder_dense(
    gpu: &Gpu,
    z: &GpuMatrix,
    latent: usize,
    partials: &DensePartials,
) -> Result<Dispatch> {
    check_latent("decoder_dense", latent, z.cols())?;
    let n = z.rows();
    let splits = partials.splits;
    check(
        (1..=n.max(1)).contains(&splits)
            && partials.grad.len() == splits * n * latent
            && partials.loss.len() == splits * n,
        "decoder_dense",
        || {
            format!(
                "partials hold {} and {} values for {splits} splits of {n} x {latent}",
                partials.grad.len(),
                partials.loss.len()
            )
        },
    )?;
    let col_chunk = n.div_ceil(splits).max(1);
    // One pipeline per latent size, so the shader's loops over the latent have constant
    // trip counts, and rows per invocation to match (see the shader's header).
    let rows = rows_per_invocation(latent);
    let pipeline =
        gpu.pipeline_with(&DECODER_DENSE, &[("L", latent as f64), ("R", rows as f64)])?;
    // Whole workgroups per split, so that a workgroup's column range is uniform.
    let groups_per_split = n.div_ceil(pipeline.workgroup_size() as usize * rows);
    let params = Params {
        n: to_u32("decoder_dense nodes", n)?,
        latent: latent as u32,
        z_stride: to_u32("decoder_dense stride", z.cols())?,
        col_chunk: to_u32("decoder_dense chunk", col_chunk)?,
        splits: to_u32("decoder_dense splits", splits)?,
        groups_per_split: to_u32("decoder_dense workgroups", groups_per_split)?,
        _pad0: 0,
        _pad1: 0,
    };
    to_u32("decoder_dense elements", splits * n * latent.max(z.cols()))?;
    let grid = gpu.grid(
        (splits * groups_per_split) as u64 * pipeline.workgroup_size() as u64,
        pipeline.workgroup_size(),
    )?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(z),
            Bind::array(&partials.grad),
            Bind::array(&partials.loss),
        ],
        grid,
    )
}

/// n nodes, latent L, `splits` column splits: flops = 4·n²·L (2·L for the dot product
/// z_i·z_j, 2·L for the gradient accumulation σ(S)·z_j; the softplus and sigmoid are
/// not counted), as DESIGN.md §6; bytes = 4·n·L (z) + 4·splits·n·(L + 1) (partials).
pub fn work(n: usize, latent: usize, splits: usize) -> Work {
    let (n, l, s) = (n as f64, latent as f64, splits as f64);
    Work {
        flops: 4.0 * n * n * l,
        bytes: WORD * n * l + WORD * s * n * (l + 1.0),
    }
}
