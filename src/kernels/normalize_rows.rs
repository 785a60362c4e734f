//! `shaders/normalize_rows.wgsl`: z = (h + b) / max(‖h + b‖, 1e-12) row by row, and the
//! norms (the trained clustering method's views, `src/filters/scgc.rs`).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::{alignment_step, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row normalisation kernel.
pub static NORMALIZE_ROWS: KernelDef = KernelDef {
    name: "normalize_rows",
    source: shader_source!("normalize_rows.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("h"),
        BindingDef::read("bias"),
        BindingDef::write("z"),
        BindingDef::write("norm"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// z (rows × cols) = the rows of h + bias scaled to unit length; norm (rows) = their
/// lengths before scaling, at least 1e-12. One dispatch per window of rows where the
/// matrices exceed one binding.
pub fn normalize_rows(
    gpu: &Gpu,
    h: &GpuMatrix,
    bias: &GpuArray<f32>,
    z: &GpuMatrix,
    norm: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (h.rows(), h.cols());
    check(bias.len() == cols, "normalize_rows", "bias", || {
        format!("bias has {} elements for {cols} columns", bias.len())
    })?;
    check(
        z.rows() == rows && z.cols() == cols,
        "normalize_rows",
        "z",
        || format!("z is {} x {}, h is {rows} x {cols}", z.rows(), z.cols()),
    )?;
    check(norm.len() == rows, "normalize_rows", "norm", || {
        format!("norm has {} elements for {rows} rows", norm.len())
    })?;
    to_u32("normalize_rows elements", rows * cols)?;
    row_dispatches(gpu, "normalize_rows", rows, cols, |window| {
        let pipeline = gpu.pipeline(&NORMALIZE_ROWS)?;
        let params = Params {
            rows: to_u32("normalize_rows rows", window.len())?,
            cols: to_u32("normalize_rows cols", cols)?,
            _pad0: 0,
            _pad1: 0,
        };
        let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
        gpu.dispatch(
            &pipeline,
            &params,
            &[
                Bind::rows(h, window.clone()),
                Bind::array(bias),
                Bind::rows(z, window.clone()),
                Bind::elements(norm, window),
            ],
            grid,
        )
    })
}

/// One dispatch per window of whole rows of `rows × cols` matrices and a per-row array,
/// each window starting at an offset every binding accepts.
pub(crate) fn row_dispatches(
    gpu: &Gpu,
    kernel: &str,
    rows: usize,
    cols: usize,
    dispatch: impl Fn(std::ops::Range<usize>) -> Result<Dispatch>,
) -> Result<Vec<Dispatch>> {
    let row_bytes = cols as u64 * WORD_BYTES;
    let granularity = alignment_step(gpu, row_bytes).max(alignment_step(gpu, WORD_BYTES));
    row_windows(gpu, kernel, rows, &[row_bytes], granularity)?
        .into_iter()
        .filter(|window| !window.is_empty())
        .map(dispatch)
        .collect()
}

/// rows × cols: reads h (twice) and the bias, writes z and the norms; flops = 5 per
/// element (add twice, square-add, divide).
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 5.0 * rows * cols,
        bytes: WORD * (2.0 * rows * cols + cols + rows),
    }
}
