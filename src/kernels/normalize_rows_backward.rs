//! `shaders/normalize_rows_backward.wgsl`: dh = the gradient through `normalize_rows`
//! of g = scale·(y − q) (the trained clustering method's backward pass,
//! `src/filters/scgc.rs`).

use super::normalize_rows::row_dispatches;
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The backward kernel of the row normalisation.
pub static NORMALIZE_ROWS_BACKWARD: KernelDef = KernelDef {
    name: "normalize_rows_backward",
    source: shader_source!("normalize_rows_backward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::read("norm"),
        BindingDef::read("y"),
        BindingDef::read("q"),
        BindingDef::write("dh"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        scale: f32,
        _pad0: u32,
    }
}

/// dh (rows × cols) = (g − z (z·g)) / norm per row, g = scale·(y − q) (g / 1e-12 where
/// the norm was clamped); z and norm are `normalize_rows`' outputs. One dispatch per
/// window of rows where the matrices exceed one binding.
#[allow(clippy::too_many_arguments)]
pub fn normalize_rows_backward(
    gpu: &Gpu,
    z: &GpuMatrix,
    norm: &GpuArray<f32>,
    y: &GpuMatrix,
    q: &GpuMatrix,
    scale: f32,
    dh: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (z.rows(), z.cols());
    for (name, m) in [("y", y), ("q", q), ("dh", dh)] {
        check(
            m.rows() == rows && m.cols() == cols,
            "normalize_rows_backward",
            name,
            || format!("{name} is {} x {}, z is {rows} x {cols}", m.rows(), m.cols()),
        )?;
    }
    check(norm.len() == rows, "normalize_rows_backward", "norm", || {
        format!("norm has {} elements for {rows} rows", norm.len())
    })?;
    to_u32("normalize_rows_backward elements", rows * cols)?;
    row_dispatches(gpu, "normalize_rows_backward", rows, cols, |window| {
        let pipeline = gpu.pipeline(&NORMALIZE_ROWS_BACKWARD)?;
        let params = Params {
            rows: to_u32("normalize_rows_backward rows", window.len())?,
            cols: to_u32("normalize_rows_backward cols", cols)?,
            scale,
            _pad0: 0,
        };
        let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
        gpu.dispatch(
            &pipeline,
            &params,
            &[
                Bind::rows(z, window.clone()),
                Bind::elements(norm, window.clone()),
                Bind::rows(y, window.clone()),
                Bind::rows(q, window.clone()),
                Bind::rows(dh, window),
            ],
            grid,
        )
    })
}

/// rows × cols: reads z, y and q (y and q twice), the norms, writes dh; flops = 9 per
/// element.
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 9.0 * rows * cols,
        bytes: WORD * (6.0 * rows * cols + rows),
    }
}
