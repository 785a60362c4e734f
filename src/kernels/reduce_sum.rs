//! `shaders/reduce_sum.wgsl`: hierarchical column sums.

use bytemuck::{Pod, Zeroable};

use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuArray, KernelDef};

/// The one-level column-sum kernel.
pub static REDUCE_SUM: KernelDef = KernelDef {
    name: "reduce_sum",
    source: shader_source!("reduce_sum.wgsl"),
    bindings: &[ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

/// Rows one invocation adds sequentially per level.
pub const GROUP_ROWS: usize = 64;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    group_rows: u32,
    groups: u32,
}

fn level(
    gpu: &Gpu,
    input: &GpuArray<f32>,
    rows: usize,
    cols: usize,
    out: &GpuArray<f32>,
) -> Result<Dispatch> {
    let groups = rows.div_ceil(GROUP_ROWS).max(1);
    let params = Params {
        rows: to_u32("reduce_sum rows", rows)?,
        cols: to_u32("reduce_sum cols", cols)?,
        group_rows: GROUP_ROWS as u32,
        groups: to_u32("reduce_sum groups", groups)?,
    };
    to_u32("reduce_sum elements", rows * cols)?;
    let pipeline = gpu.pipeline(&REDUCE_SUM)?;
    let grid = gpu.grid((groups * cols) as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::Buffer(input.buffer()), Bind::Buffer(out.buffer())],
        grid,
    )
}

/// Dispatches that write the column sums of `input` (rows × cols, row-major) into `out`
/// (cols elements): levels of [`GROUP_ROWS`]-row sums until one row remains. An input
/// with zero rows gives zeros.
pub fn reduce_sum(
    gpu: &Gpu,
    input: &GpuArray<f32>,
    rows: usize,
    cols: usize,
    out: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    check(input.len() == rows * cols, "reduce_sum", || {
        format!(
            "input has {} elements, expected {rows} x {cols}",
            input.len()
        )
    })?;
    check(out.len() == cols, "reduce_sum", || {
        format!("output has {} elements, expected {cols}", out.len())
    })?;
    let mut dispatches = Vec::new();
    let mut current = input.clone();
    let mut current_rows = rows;
    while current_rows > GROUP_ROWS {
        let groups = current_rows.div_ceil(GROUP_ROWS);
        let next = gpu.alloc::<f32>("gpu_vgae.reduce_sum.level", groups * cols)?;
        dispatches.push(level(gpu, &current, current_rows, cols, &next)?);
        current = next;
        current_rows = groups;
    }
    dispatches.push(level(gpu, &current, current_rows, cols, out)?);
    Ok(dispatches)
}
