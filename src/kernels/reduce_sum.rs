//! `shaders/reduce_sum.wgsl`: one level of a hierarchical column sum. A sum over many
//! rows is a chain of levels ([`levels`]), each a dispatch, so no accumulator ever sees
//! more than [`GROUP_ROWS`] terms.

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::{alignment_step, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef};

/// The one-level column-sum kernel.
pub static REDUCE_SUM: KernelDef = KernelDef {
    name: "reduce_sum",
    source: shader_source!("reduce_sum.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[BindingDef::read("input"), BindingDef::write("out")],
};

/// Rows one invocation adds sequentially per level.
pub const GROUP_ROWS: usize = 64;

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        group_rows: u32,
        groups: u32,
    }
}

/// The row counts of the levels that sum `rows` rows down to one: each level's input
/// rows, in order. A level of r rows outputs ⌈r / GROUP_ROWS⌉ rows; the last level
/// outputs one (an input of zero rows gives one row of zeros).
pub fn levels(rows: usize) -> Vec<usize> {
    let mut out = vec![rows];
    let mut current = rows;
    while current > GROUP_ROWS {
        current = current.div_ceil(GROUP_ROWS);
        out.push(current);
    }
    out
}

/// out (⌈rows / GROUP_ROWS⌉ × cols, at least one row) = sums of each group of
/// [`GROUP_ROWS`] rows of `input` (rows × cols, row-major).
pub fn reduce_sum(
    gpu: &Gpu,
    input: &GpuArray<f32>,
    rows: usize,
    cols: usize,
    out: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let groups = rows.div_ceil(GROUP_ROWS).max(1);
    check(input.len() == rows * cols, "reduce_sum", "input", || {
        format!(
            "input has {} elements, expected {rows} x {cols}",
            input.len()
        )
    })?;
    check(out.len() == groups * cols, "reduce_sum", "out", || {
        format!(
            "output has {} elements, expected {groups} x {cols}",
            out.len()
        )
    })?;
    to_u32("reduce_sum elements", rows * cols)?;
    let pipeline = gpu.pipeline(&REDUCE_SUM)?;
    // Groups are independent: past one binding, each window of whole groups (of input
    // rows, and of the output rows they produce) is a dispatch of its own.
    let row_bytes = cols as u64 * WORD_BYTES;
    let granularity = GROUP_ROWS * alignment_step(gpu, row_bytes);
    row_windows(gpu, "reduce_sum", rows, &[row_bytes], granularity)?
        .into_iter()
        .map(|window| {
            let rows = window.len();
            let groups = rows.div_ceil(GROUP_ROWS).max(1);
            let first_group = window.start / GROUP_ROWS;
            let params = Params {
                rows: to_u32("reduce_sum rows", rows)?,
                cols: to_u32("reduce_sum cols", cols)?,
                group_rows: GROUP_ROWS as u32,
                groups: to_u32("reduce_sum groups", groups)?,
            };
            let grid = gpu.grid((groups * cols) as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(input, window.start * cols..window.end * cols),
                    Bind::elements(out, first_group * cols..(first_group + groups) * cols),
                ],
                grid,
            )
        })
        .collect()
}

/// The chain of levels ([`levels`]) that sums the rows of `input` (rows × cols) into
/// `out` (cols), intermediate levels in pooled scratch arrays that the dispatches keep
/// alive. The device twin of [`cpu::column_sums`](crate::cpu::column_sums).
pub fn column_sums(
    gpu: &Gpu,
    input: &GpuArray<f32>,
    rows: usize,
    cols: usize,
    out: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    check(out.len() == cols, "reduce_sum", "out", || {
        format!("output has {} elements, expected {cols}", out.len())
    })?;
    let levels = levels(rows);
    let mut dispatches = Vec::with_capacity(levels.len());
    let mut current = input.clone();
    for (level, &level_rows) in levels.iter().enumerate() {
        let next = if level + 1 == levels.len() {
            out.clone()
        } else {
            gpu.alloc::<f32>(
                "gpu_vgae.reduce_sum.level",
                level_rows.div_ceil(GROUP_ROWS) * cols,
            )?
        };
        dispatches.extend(reduce_sum(gpu, &current, level_rows, cols, &next)?);
        current = next;
    }
    Ok(dispatches)
}

/// One level over rows × cols. flops = rows·cols (adds); bytes = 4·rows·cols +
/// 4·groups·cols.
pub fn work(rows: usize, cols: usize) -> Work {
    let groups = rows.div_ceil(GROUP_ROWS).max(1) as f64;
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: rows * cols,
        bytes: WORD * rows * cols + WORD * groups * cols,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `reduce_sum` in a schedule: one level of column sums (input rows × cols →
/// ⌈rows/64⌉ × cols); [`Builder::column_sums`](crate::model::schedule::Builder::column_sums)
/// chains the levels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReduceSumStep {
    /// rows × cols.
    pub input: TensorId,
    /// Output rows × cols.
    pub out: TensorId,
}

impl ScheduleOp for ReduceSumStep {
    fn kernel(&self) -> &'static KernelDef {
        &REDUCE_SUM
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.input], [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let input = s.tensor(self.input);
        work(input.rows, input.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {} ({})",
            s.name(self.input),
            s.name(self.out),
            s.dims(self.input)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let input = ctx.tensor(self.input);
        reduce_sum(
            ctx.gpu(),
            &ctx.array(self.input)?,
            input.rows,
            input.cols,
            &ctx.array(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (rows, cols) = (ctx.tensor(self.input).rows, ctx.tensor(self.input).cols);
        let out = cpu::reduce_sum(ctx.f32(self.input)?, rows, cols);
        ctx.set_f32(self.out, out)
    }
}
