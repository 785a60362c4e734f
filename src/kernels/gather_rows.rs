//! `shaders/gather_rows.wgsl`: out = src[index] row by row (Z[S] for the subgraph
//! objective).

use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row gather kernel.
pub static GATHER_ROWS: KernelDef = KernelDef {
    name: "gather_rows",
    source: shader_source!("gather_rows.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("src"),
        BindingDef::read("index"),
        BindingDef::write("out"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        src_stride: u32,
        src_rows: u32,
    }
}

/// out (index.len() × out.cols()) = the rows `index` of `src`, first `out.cols()`
/// columns. Indices are not checked on the device (the shader clamps them): the
/// caller guarantees `index[r] < src.rows()`.
pub fn gather_rows(
    gpu: &Gpu,
    src: &GpuMatrix,
    index: &GpuArray<u32>,
    out: &GpuMatrix,
) -> Result<Dispatch> {
    check(
        out.rows() == index.len() && out.cols() <= src.cols() && src.rows() > 0,
        "gather_rows",
        || {
            format!(
                "{} indices into {} x {} for an output of {} x {}",
                index.len(),
                src.rows(),
                src.cols(),
                out.rows(),
                out.cols()
            )
        },
    )?;
    let params = Params {
        rows: to_u32("gather_rows rows", out.rows())?,
        cols: to_u32("gather_rows cols", out.cols())?,
        src_stride: to_u32("gather_rows stride", src.cols())?,
        src_rows: to_u32("gather_rows source rows", src.rows())?,
    };
    to_u32("gather_rows elements", out.rows() * out.cols())?;
    to_u32("gather_rows source elements", src.rows() * src.cols())?;
    let pipeline = gpu.pipeline(&GATHER_ROWS)?;
    let grid = gpu.grid((out.rows() * out.cols()) as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(src), Bind::array(index), Bind::matrix(out)],
        grid,
    )
}

/// rows × cols gathered: reads the index (rows) and the rows, writes the output;
/// flops = 0.
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 0.0,
        bytes: WORD * (rows + 2.0 * rows * cols),
    }
}
