//! `shaders/dropout.wgsl` (with `shaders/shared/philox.wgsl`): inverted dropout whose
//! mask is regenerated from (seed, stream, epoch) rather than stored, so the backward
//! pass is the same kernel on the gradient (MAGI's encoder, `src/filters/magi.rs`).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef, StepBuffer};

/// The dropout kernel.
pub static DROPOUT: KernelDef = KernelDef {
    name: "dropout",
    source: concat!(
        shader_source!("shared/philox.wgsl"),
        shader_source!("shared/step.wgsl"),
        shader_source!("dropout.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("x"),
        BindingDef::write("out"),
        BindingDef::uniform("step"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        p: f32,
        scale: f32,
        seed_lo: u32,
        seed_hi: u32,
        stream: u32,
        row_base: u32,
    }
}

/// Which mask: the seed and a stream that tells one dropout site from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropoutMask {
    /// The run's seed.
    pub seed: u64,
    /// The site (MAGI: the layer whose input is dropped).
    pub stream: u32,
}

/// out = x with each element kept with probability 1 − p and scaled by 1/(1 − p), the
/// others 0; element (r, c) is kept when the Philox draw for (r, c, the step buffer's
/// epoch, `mask.stream`) under `mask.seed` is at least p. 0 ≤ p < 1. One dispatch per
/// window of rows where the matrices exceed one binding.
pub fn dropout(
    gpu: &Gpu,
    x: &GpuMatrix,
    p: f32,
    mask: DropoutMask,
    step: &StepBuffer,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (x.rows(), x.cols());
    check(out.rows() == rows && out.cols() == cols, "dropout", "out", || {
        format!("out is {} x {}, x is {rows} x {cols}", out.rows(), out.cols())
    })?;
    check((0.0..1.0).contains(&p), "dropout", "p", || {
        format!("the drop probability must be in [0, 1), got {p}")
    })?;
    to_u32("dropout elements", rows * cols)?;
    let row_bytes = cols as u64 * WORD_BYTES;
    row_windows(gpu, "dropout", rows, &[row_bytes], 1)?
        .into_iter()
        .filter(|window| !window.is_empty())
        .map(|window| {
            let pipeline = gpu.pipeline(&DROPOUT)?;
            let params = Params {
                rows: to_u32("dropout rows", window.len())?,
                cols: to_u32("dropout cols", cols)?,
                p,
                scale: 1.0 / (1.0 - p),
                seed_lo: mask.seed as u32,
                seed_hi: (mask.seed >> 32) as u32,
                stream: mask.stream,
                row_base: to_u32("dropout rows", window.start)?,
            };
            let grid = gpu.grid((window.len() * cols) as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(x, window.clone()),
                    Bind::rows(out, window),
                    Bind::Step(step),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols: one Philox draw (10 rounds of two 32-bit products) and a multiply per
/// element; reads x, writes out.
pub fn work(rows: usize, cols: usize) -> Work {
    let elements = (rows * cols) as f64;
    Work {
        flops: 60.0 * elements,
        bytes: WORD * 2.0 * elements,
    }
}
