//! `shaders/attention_backward.wgsl`: the backward of softmax_row(Y Yᵀ) Y per column
//! split, S recomputed from the forward's log-sum-exp (no N×N buffer); `reduce_sum`
//! adds the splits.

use serde::Serialize;

use super::attention_forward::check_y;
use super::pair_mse::{check_bindings, rows_per_invocation, ColumnSplits, MAX_SPLITS};
use super::{check, flag, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The attention backward kernel.
pub static ATTENTION_BACKWARD: KernelDef = KernelDef {
    name: "attention_backward",
    source: shader_source!("attention_backward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("y"),
        BindingDef::read("g"),
        BindingDef::read("lse"),
        BindingDef::read("d"),
        BindingDef::write("partial"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        chunk: u32,
        splits: u32,
        groups: u32,
    }
}

/// Per split, Σ_j (dT_ij + dT_ji) y_j + S_ji g_j into `partial` (splits × n × L),
/// for y (n × L), the output gradient g (n × L), d_i = g_i · zs_i and the forward's lse.
pub fn attention_backward(
    gpu: &Gpu,
    y: &GpuMatrix,
    g: &GpuMatrix,
    lse: &GpuArray<f32>,
    d: &GpuArray<f32>,
    layout: ColumnSplits,
    partial: &GpuArray<f32>,
) -> Result<Dispatch> {
    check_y("attention_backward", y)?;
    let (n, l) = (y.rows(), y.cols());
    check(
        g.rows() == n && g.cols() == l && lse.len() == n && d.len() == n,
        "attention_backward",
        "g",
        || format!("g must be {n} x {l}, lse and d {n} values"),
    )?;
    let splits = layout.splits;
    check(
        (1..=MAX_SPLITS).contains(&splits) && partial.len() == splits * n * l,
        "attention_backward",
        "partial",
        || format!("partial has {} values for {splits} splits of {n} x {l}", partial.len()),
    )?;
    check_bindings(
        gpu,
        "attention_backward",
        &[
            ("y", y.data().bytes()),
            ("g", g.data().bytes()),
            ("partial", partial.bytes()),
        ],
    )?;
    let r = rows_per_invocation(gpu.profile(), 3 * l, 4);
    let pipeline = gpu.pipeline_with(
        &ATTENTION_BACKWARD,
        &[
            ("L", l as f64),
            ("R", r as f64),
            ("ALIGNED", flag(l % 4 == 0)),
        ],
    )?;
    let launch = layout.launch(gpu, "attention_backward", &pipeline, n, r, partial.len())?;
    let params = Params {
        n: launch.n,
        chunk: launch.chunk,
        splits: launch.splits,
        groups: launch.groups,
    };
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(y),
            Bind::matrix(g),
            Bind::array(lse),
            Bind::array(d),
            Bind::array(partial),
        ],
        launch.grid,
    )
}

/// n² ordered pairs of width L: flops = 10·L per pair (three dots, two accumulations);
/// bytes: y, g, lse, d, the partials.
pub fn work(n: usize, l: usize, splits: usize) -> Work {
    let (n, l, splits) = (n as f64, l as f64, splits as f64);
    Work {
        flops: 10.0 * n * n * l,
        bytes: WORD * (2.0 * n * l + 2.0 * n + splits * n * l),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `attention_backward` in a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionBackwardStep {
    /// n × L (Z_L).
    pub y: TensorId,
    /// n × L (dZ̃: the output gradient up to γ).
    pub g: TensorId,
    /// n × 1, the forward's log-sum-exp.
    pub lse: TensorId,
    /// n × 1, g_i · zs_i.
    pub d: TensorId,
    /// The column splits.
    pub layout: ColumnSplits,
    /// splits × n·L.
    pub partial: TensorId,
}

impl ScheduleOp for AttentionBackwardStep {
    fn kernel(&self) -> &'static KernelDef {
        &ATTENTION_BACKWARD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.y, self.g, self.lse, self.d], [self.partial])
    }

    fn work(&self, s: &Schedule) -> Work {
        let y = s.tensor(self.y);
        work(y.rows, y.cols, self.layout.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "softmax({y}·{y}ᵀ)·{y} backward of {} → {} ({}, {} splits)",
            s.name(self.g),
            s.name(self.partial),
            s.dims(self.y),
            self.layout.splits,
            y = s.name(self.y),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![attention_backward(
            ctx.gpu(),
            &ctx.matrix(self.y)?,
            &ctx.matrix(self.g)?,
            &ctx.array(self.lse)?,
            &ctx.array(self.d)?,
            self.layout,
            &ctx.array(self.partial)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let l = ctx.tensor(self.y).cols;
        let out = cpu::attention_backward(
            ctx.f32(self.y)?,
            ctx.f32(self.g)?,
            ctx.f32(self.lse)?,
            ctx.f32(self.d)?,
            l,
            self.layout,
        );
        ctx.set_f32(self.partial, out)
    }
}
