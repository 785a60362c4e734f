//! `shaders/mse_grad.wgsl`: grad = scale·w·(a − b) (+ grad) and per-row Σ(a − b)², the
//! mean squared error's backward and loss (DFCN's MSE(X̂, X), MSE(Ẑ, ÂX)).

use serde::Serialize;

use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The squared-error kernel.
pub static MSE_GRAD: KernelDef = KernelDef {
    name: "mse_grad",
    source: shader_source!("mse_grad.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("a"),
        BindingDef::read("b"),
        BindingDef::read("weights"),
        BindingDef::write("grad"),
        BindingDef::write("loss_rows"),
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

/// grad = scale·w_i·(a − b) (+ grad when `accumulate`) and `loss_rows[i]` =
/// w_i·Σ_c (a − b)², w = `weights` (rows) or 1, for a, b, grad (rows × cols). One
/// dispatch per window of rows where a matrix exceeds one storage binding.
#[allow(clippy::too_many_arguments)]
pub fn mse_grad(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    weights: Option<&GpuArray<f32>>,
    scale: f32,
    accumulate: bool,
    grad: &GpuMatrix,
    loss_rows: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (a.rows(), a.cols());
    let same = |m: &GpuMatrix| m.rows() == rows && m.cols() == cols;
    check(same(b) && same(grad), "mse_grad", "b", || {
        format!(
            "shapes differ: a {rows} x {cols}, b {} x {}, grad {} x {}",
            b.rows(),
            b.cols(),
            grad.rows(),
            grad.cols()
        )
    })?;
    check(
        loss_rows.len() == rows && weights.is_none_or(|w| w.len() == rows),
        "mse_grad",
        "loss_rows",
        || format!("per-row arrays must have {rows} values"),
    )?;
    to_u32("mse_grad elements", rows * cols)?;
    let pipeline = gpu.pipeline_with(
        &MSE_GRAD,
        &[
            ("ROW_WEIGHTS", flag(weights.is_some())),
            ("ACCUMULATE", flag(accumulate)),
        ],
    )?;
    let row_bytes = cols as u64 * WORD_BYTES;
    row_windows(gpu, "mse_grad", rows, &[row_bytes, WORD_BYTES], 1)?
        .into_iter()
        .map(|window| {
            let params = Params {
                rows: to_u32("mse_grad rows", window.len())?,
                cols: to_u32("mse_grad cols", cols)?,
                scale,
                _pad0: 0,
            };
            let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
            let per_row = window.clone();
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(a, window.clone()),
                    Bind::rows(b, window.clone()),
                    // Not read without weights: any read-only binding will do.
                    match weights {
                        Some(w) => Bind::elements(w, per_row.clone()),
                        None => Bind::rows(a, window.clone()),
                    },
                    Bind::rows(grad, window),
                    Bind::elements(loss_rows, per_row),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols: flops = 4 per element (difference, square-add, scale); bytes: a, b and
/// grad (twice when accumulating), the per-row arrays.
pub fn work(rows: usize, cols: usize, accumulate: bool) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    let grad_passes = if accumulate { 2.0 } else { 1.0 };
    Work {
        flops: 4.0 * rows * cols,
        bytes: WORD * ((2.0 + grad_passes) * rows * cols + 2.0 * rows),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `mse_grad` in a schedule: grad (+)= scale·w·(a − b), loss_rows = w·Σ_c (a − b)².
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MseGradStep {
    /// Prediction (rows × cols).
    pub a: TensorId,
    /// Target (rows × cols).
    pub b: TensorId,
    /// Per-row weights (rows), or none.
    pub weights: Option<TensorId>,
    /// Gradient scale (2 / (rows·cols) for a mean, times the loss's weight).
    pub scale: f32,
    /// Whether grad's previous value is added.
    pub accumulate: bool,
    /// Gradient with respect to a.
    pub grad: TensorId,
    /// Per-row squared errors (rows × 1).
    pub loss_rows: TensorId,
}

impl ScheduleOp for MseGradStep {
    fn kernel(&self) -> &'static KernelDef {
        &MSE_GRAD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        let accumulated = self.accumulate.then_some(self.grad);
        Accesses::new(
            [self.a, self.b]
                .into_iter()
                .chain(self.weights)
                .chain(accumulated),
            [self.grad, self.loss_rows],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let a = s.tensor(self.a);
        work(a.rows, a.cols, self.accumulate)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} {} {}·({} − {}), Σ² → {} ({})",
            s.name(self.grad),
            if self.accumulate { "+=" } else { "=" },
            self.scale,
            s.name(self.a),
            s.name(self.b),
            s.name(self.loss_rows),
            s.dims(self.a)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        mse_grad(
            ctx.gpu(),
            &ctx.matrix(self.a)?,
            &ctx.matrix(self.b)?,
            self.weights.map(|w| ctx.array(w)).transpose()?.as_ref(),
            self.scale,
            self.accumulate,
            &ctx.matrix(self.grad)?,
            &ctx.array(self.loss_rows)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let cols = ctx.tensor(self.a).cols;
        let previous = match self.accumulate {
            true => Some(ctx.f32(self.grad)?.to_vec()),
            false => None,
        };
        let weights = self.weights.map(|w| ctx.f32(w)).transpose()?;
        let (grad, loss) = cpu::mse_grad(
            ctx.f32(self.a)?,
            ctx.f32(self.b)?,
            cols,
            weights,
            self.scale,
            previous.as_deref(),
        );
        ctx.set_f32(self.grad, grad)?;
        ctx.set_f32(self.loss_rows, loss)
    }
}
