//! `shaders/attention_forward.wgsl`: per column split, the online-softmax statistics
//! (max, sum, weighted sum of rows) of softmax_row(Y Yᵀ) Y, never storing N×N;
//! `attention_combine` merges the splits.

use serde::Serialize;

use super::pair_mse::{check_bindings, rows_per_invocation, ColumnSplits, MAX_SPLITS};
use super::{check, flag, Work, WORD, MAX_LATENT};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The attention forward kernel.
pub static ATTENTION_FORWARD: KernelDef = KernelDef {
    name: "attention_forward",
    source: shader_source!("attention_forward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[BindingDef::read("y"), BindingDef::write("partial")],
};

kernel_params! {
    struct Params {
        n: u32,
        chunk: u32,
        splits: u32,
        groups: u32,
    }
}

/// The m of a split without columns (the shader's `LOWEST`).
pub const LOWEST: f32 = -3.4e38;

/// Checks y (n × L, 1 ≤ L ≤ [`MAX_LATENT`], n ≥ 1) for the attention kernels.
pub(crate) fn check_y(kernel: &str, y: &GpuMatrix) -> Result<()> {
    check(
        y.rows() > 0 && (1..=MAX_LATENT).contains(&y.cols()),
        kernel,
        "y",
        || {
            format!(
                "y is {} x {}: it needs at least one row and 1..={MAX_LATENT} columns",
                y.rows(),
                y.cols()
            )
        },
    )
}

/// The per-split statistics of softmax_row(y yᵀ) y into `partial` (splits × n ×
/// (2 + L): m, l, o per node).
pub fn attention_forward(
    gpu: &Gpu,
    y: &GpuMatrix,
    layout: ColumnSplits,
    partial: &GpuArray<f32>,
) -> Result<Dispatch> {
    check_y("attention_forward", y)?;
    let (n, l) = (y.rows(), y.cols());
    let splits = layout.splits;
    check(
        (1..=MAX_SPLITS).contains(&splits) && partial.len() == splits * n * (2 + l),
        "attention_forward",
        "partial",
        || format!("partial has {} values for {splits} splits of {n} x {}", partial.len(), 2 + l),
    )?;
    check_bindings(
        gpu,
        "attention_forward",
        &[("y", y.data().bytes()), ("partial", partial.bytes())],
    )?;
    let r = rows_per_invocation(gpu.profile(), 2 * l, 4);
    let pipeline = gpu.pipeline_with(
        &ATTENTION_FORWARD,
        &[
            ("L", l as f64),
            ("R", r as f64),
            ("ALIGNED", flag(l % 4 == 0)),
        ],
    )?;
    let launch = layout.launch(gpu, "attention_forward", &pipeline, n, r, partial.len())?;
    let params = Params {
        n: launch.n,
        chunk: launch.chunk,
        splits: launch.splits,
        groups: launch.groups,
    };
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(y), Bind::array(partial)],
        launch.grid,
    )
}

/// n² ordered pairs of width L: flops = 6·L per pair (dot, rescale, accumulate); bytes:
/// y and the partials.
pub fn work(n: usize, l: usize, splits: usize) -> Work {
    let (n, l, splits) = (n as f64, l as f64, splits as f64);
    Work {
        flops: 6.0 * n * n * l,
        bytes: WORD * (n * l + splits * n * (2.0 + l)),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `attention_forward` in a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionForwardStep {
    /// n × L (DFCN: Z_L).
    pub y: TensorId,
    /// The column splits.
    pub layout: ColumnSplits,
    /// splits × n·(2 + L).
    pub partial: TensorId,
}

impl ScheduleOp for AttentionForwardStep {
    fn kernel(&self) -> &'static KernelDef {
        &ATTENTION_FORWARD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.y], [self.partial])
    }

    fn work(&self, s: &Schedule) -> Work {
        let y = s.tensor(self.y);
        work(y.rows, y.cols, self.layout.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "softmax({y}·{y}ᵀ)·{y} statistics → {} ({}, {} splits)",
            s.name(self.partial),
            s.dims(self.y),
            self.layout.splits,
            y = s.name(self.y),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![attention_forward(
            ctx.gpu(),
            &ctx.matrix(self.y)?,
            self.layout,
            &ctx.array(self.partial)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let l = ctx.tensor(self.y).cols;
        let out = cpu::attention_forward(ctx.f32(self.y)?, l, self.layout);
        ctx.set_f32(self.partial, out)
    }
}
