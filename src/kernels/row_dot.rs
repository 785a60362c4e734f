//! `shaders/row_dot.wgsl`: `out[i]` = x_i · y_i (DFCN's attention backward: d_i =
//! dZ̃_i · zs_i, summed to ∂L/∂γ).

use serde::Serialize;

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row-wise dot product kernel.
pub static ROW_DOT: KernelDef = KernelDef {
    name: "row_dot",
    source: shader_source!("row_dot.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("x"),
        BindingDef::read("y"),
        BindingDef::write("out"),
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

/// `out[i]` = Σ_c x[i, c]·y[i, c] for x, y (rows × cols). One dispatch per window of rows
/// where a matrix exceeds one storage binding.
pub fn row_dot(gpu: &Gpu, x: &GpuMatrix, y: &GpuMatrix, out: &GpuArray<f32>) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (x.rows(), x.cols());
    check(
        y.rows() == rows && y.cols() == cols && out.len() == rows,
        "row_dot",
        "y",
        || {
            format!(
                "x is {rows} x {cols}, y {} x {}, out {}",
                y.rows(),
                y.cols(),
                out.len()
            )
        },
    )?;
    to_u32("row_dot elements", rows * cols)?;
    let pipeline = gpu.pipeline(&ROW_DOT)?;
    let row_bytes = cols as u64 * WORD_BYTES;
    row_windows(gpu, "row_dot", rows, &[row_bytes, WORD_BYTES], 1)?
        .into_iter()
        .map(|window| {
            let params = Params {
                rows: to_u32("row_dot rows", window.len())?,
                cols: to_u32("row_dot cols", cols)?,
                _pad0: 0,
                _pad1: 0,
            };
            let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(x, window.clone()),
                    Bind::rows(y, window.clone()),
                    Bind::elements(out, window),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols: flops = 2 per element; bytes: x, y, out.
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 2.0 * rows * cols,
        bytes: WORD * (2.0 * rows * cols + rows),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `row_dot` in a schedule: `out[i]` = x_i · y_i.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowDotStep {
    /// rows × cols.
    pub x: TensorId,
    /// rows × cols.
    pub y: TensorId,
    /// rows × 1.
    pub out: TensorId,
}

impl ScheduleOp for RowDotStep {
    fn kernel(&self) -> &'static KernelDef {
        &ROW_DOT
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.x, self.y], [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let x = s.tensor(self.x);
        work(x.rows, x.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{}_i · {}_i → {} ({})",
            s.name(self.x),
            s.name(self.y),
            s.name(self.out),
            s.dims(self.x)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        row_dot(
            ctx.gpu(),
            &ctx.matrix(self.x)?,
            &ctx.matrix(self.y)?,
            &ctx.array(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let cols = ctx.tensor(self.x).cols;
        let out = cpu::row_dot(ctx.f32(self.x)?, ctx.f32(self.y)?, cols);
        ctx.set_f32(self.out, out)
    }
}
