//! `shaders/minmax_rows_backward.wgsl`: the gradient through `minmax_rows` (MAGI's
//! embedding, `src/filters/magi.rs`).

use super::minmax_rows::{check_shapes, windows};
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The min-max-then-unit-length backward kernel.
pub static MINMAX_ROWS_BACKWARD: KernelDef = KernelDef {
    name: "minmax_rows_backward",
    source: shader_source!("minmax_rows_backward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("a"),
        BindingDef::read("z"),
        BindingDef::read("stats"),
        BindingDef::read("g"),
        BindingDef::write("da"),
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

/// da (rows × cols) = the gradient with respect to a of a loss whose gradient with
/// respect to z = minmax_rows(a) is g, from minmax_rows' z and stats; the minimum's
/// and maximum's shares go to the first column holding them. One dispatch per window
/// of rows where the matrices exceed one binding.
pub fn minmax_rows_backward(
    gpu: &Gpu,
    a: &GpuMatrix,
    z: &GpuMatrix,
    stats: &GpuMatrix,
    g: &GpuMatrix,
    da: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (a.rows(), a.cols());
    check_shapes("minmax_rows_backward", a, z, stats)?;
    for (name, m) in [("g", g), ("da", da)] {
        check(
            m.rows() == rows && m.cols() == cols,
            "minmax_rows_backward",
            name,
            || format!("{name} is {} x {}, a is {rows} x {cols}", m.rows(), m.cols()),
        )?;
    }
    windows(gpu, "minmax_rows_backward", rows, cols, |window| {
        let pipeline = gpu.pipeline(&MINMAX_ROWS_BACKWARD)?;
        let params = Params {
            rows: to_u32("minmax_rows_backward rows", window.len())?,
            cols: to_u32("minmax_rows_backward cols", cols)?,
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
                Bind::rows(stats, window.clone()),
                Bind::rows(g, window.clone()),
                Bind::rows(da, window),
            ],
            grid,
        )
    })
}

/// rows × cols: reads a and z twice and g twice, writes da; flops = 10 per element.
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 10.0 * rows * cols,
        bytes: WORD * (7.0 * rows * cols + 3.0 * rows),
    }
}
