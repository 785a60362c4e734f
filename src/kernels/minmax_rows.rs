//! `shaders/minmax_rows.wgsl`: each row min-max scaled to [0, 1], then scaled to unit
//! length, with (lo, range, norm) per row kept for the backward pass (MAGI's
//! embedding, `src/filters/magi.rs`).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The min-max-then-unit-length kernel.
pub static MINMAX_ROWS: KernelDef = KernelDef {
    name: "minmax_rows",
    source: shader_source!("minmax_rows.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("a"),
        BindingDef::write("z"),
        BindingDef::write("stats"),
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

/// Columns of the per-row statistics: lo, range, norm.
pub const STATS: usize = 3;

/// z (rows × cols) = each row of a as (a − lo)/range scaled to unit length, lo its
/// minimum, range its maximum − lo + 1e-20, the length floored at 1e-12; stats
/// (rows × 3) = (lo, range, length). One dispatch per window of rows where the
/// matrices exceed one binding.
pub fn minmax_rows(
    gpu: &Gpu,
    a: &GpuMatrix,
    z: &GpuMatrix,
    stats: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (a.rows(), a.cols());
    check_shapes("minmax_rows", a, z, stats)?;
    windows(gpu, "minmax_rows", rows, cols, |window| {
        let pipeline = gpu.pipeline(&MINMAX_ROWS)?;
        let params = Params {
            rows: to_u32("minmax_rows rows", window.len())?,
            cols: to_u32("minmax_rows cols", cols)?,
            _pad0: 0,
            _pad1: 0,
        };
        let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
        gpu.dispatch(
            &pipeline,
            &params,
            &[
                Bind::rows(a, window.clone()),
                Bind::rows(z, window.clone()),
                Bind::rows(stats, window),
            ],
            grid,
        )
    })
}

/// z must be a's shape and stats rows × 3, with at least one column.
pub(crate) fn check_shapes(
    kernel: &str,
    a: &GpuMatrix,
    z: &GpuMatrix,
    stats: &GpuMatrix,
) -> Result<()> {
    let (rows, cols) = (a.rows(), a.cols());
    check(cols > 0, kernel, "a", || "a has no columns".into())?;
    check(z.rows() == rows && z.cols() == cols, kernel, "z", || {
        format!("z is {} x {}, a is {rows} x {cols}", z.rows(), z.cols())
    })?;
    check(
        stats.rows() == rows && stats.cols() == STATS,
        kernel,
        "stats",
        || format!("stats is {} x {}, expected {rows} x {STATS}", stats.rows(), stats.cols()),
    )?;
    to_u32("minmax_rows elements", rows * cols).map(|_| ())
}

/// One dispatch per window of whole rows of the rows × cols matrices and the rows × 3
/// statistics, each window starting at an offset every binding accepts.
pub(crate) fn windows(
    gpu: &Gpu,
    kernel: &str,
    rows: usize,
    cols: usize,
    dispatch: impl Fn(std::ops::Range<usize>) -> Result<Dispatch>,
) -> Result<Vec<Dispatch>> {
    let row_bytes = [cols as u64 * WORD_BYTES, STATS as u64 * WORD_BYTES];
    row_windows(gpu, kernel, rows, &row_bytes, 1)?
        .into_iter()
        .filter(|window| !window.is_empty())
        .map(dispatch)
        .collect()
}

/// rows × cols: reads a three times, writes z and the statistics; flops = 7 per
/// element (compare twice, subtract and divide twice, square-add).
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 7.0 * rows * cols,
        bytes: WORD * (4.0 * rows * cols + 3.0 * rows),
    }
}
