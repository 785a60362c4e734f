//! `shaders/attention_combine.wgsl`: merges `attention_forward`'s splits into
//! Z_S = softmax_row(Y Yᵀ) Y and its log-sum-exp, and DFCN's Z̃ = γ·Z_S + Y.

use serde::Serialize;

use super::attention_forward::check_y;
use super::pair_mse::{check_bindings, ColumnSplits};
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The attention combining kernel.
pub static ATTENTION_COMBINE: KernelDef = KernelDef {
    name: "attention_combine",
    source: shader_source!("attention_combine.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("partial"),
        BindingDef::read("y"),
        BindingDef::read("gamma"),
        BindingDef::write("zs"),
        BindingDef::write("lse"),
        BindingDef::write("z_tilde"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        splits: u32,
        _pad0: u32,
    }
}

/// The outputs of [`attention_combine`].
pub struct AttentionOutputs<'a> {
    /// Z_S (n × L).
    pub zs: &'a GpuMatrix,
    /// log-sum-exp per row (n).
    pub lse: &'a GpuArray<f32>,
    /// γ·Z_S + Y (n × L).
    pub z_tilde: &'a GpuMatrix,
}

/// Merges `partial` (attention_forward's, in `layout`) for y (n × L); gamma has one
/// value.
pub fn attention_combine(
    gpu: &Gpu,
    partial: &GpuArray<f32>,
    layout: ColumnSplits,
    y: &GpuMatrix,
    gamma: &GpuArray<f32>,
    out: AttentionOutputs<'_>,
) -> Result<Dispatch> {
    check_y("attention_combine", y)?;
    let (n, l) = (y.rows(), y.cols());
    check(
        partial.len() == layout.splits * n * (2 + l),
        "attention_combine",
        "partial",
        || format!("partial has {} values for {} splits", partial.len(), layout.splits),
    )?;
    check(gamma.len() == 1, "attention_combine", "gamma", || {
        format!("gamma has {} values, expected 1", gamma.len())
    })?;
    let fits = |m: &GpuMatrix| m.rows() == n && m.cols() == l;
    check(
        fits(out.zs) && fits(out.z_tilde) && out.lse.len() == n,
        "attention_combine",
        "out",
        || format!("outputs must be {n} x {l}, {n} and {n} x {l}"),
    )?;
    check_bindings(
        gpu,
        "attention_combine",
        &[("partial", partial.bytes()), ("y", y.data().bytes())],
    )?;
    let pipeline = gpu.pipeline(&ATTENTION_COMBINE)?;
    let params = Params {
        n: to_u32("attention_combine nodes", n)?,
        latent: to_u32("attention_combine width", l)?,
        splits: to_u32("attention_combine splits", layout.splits)?,
        _pad0: 0,
    };
    let grid = gpu.grid(n as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::array(partial),
            Bind::matrix(y),
            Bind::array(gamma),
            Bind::matrix(out.zs),
            Bind::array(out.lse),
            Bind::matrix(out.z_tilde),
        ],
        grid,
    )
}

/// n rows of width L over `splits` splits: flops ≈ 2 per partial value; bytes: the
/// partials, y, the outputs.
pub fn work(n: usize, l: usize, splits: usize) -> Work {
    let (n, l, splits) = (n as f64, l as f64, splits as f64);
    Work {
        flops: 2.0 * splits * n * (2.0 + l),
        bytes: WORD * (splits * n * (2.0 + l) + 3.0 * n * l + n),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `attention_combine` in a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionCombineStep {
    /// attention_forward's partials.
    pub partial: TensorId,
    /// Their layout.
    pub layout: ColumnSplits,
    /// n × L (Z_L).
    pub y: TensorId,
    /// 1 × 1 (γ).
    pub gamma: TensorId,
    /// n × L.
    pub zs: TensorId,
    /// n × 1.
    pub lse: TensorId,
    /// n × L.
    pub z_tilde: TensorId,
}

impl ScheduleOp for AttentionCombineStep {
    fn kernel(&self) -> &'static KernelDef {
        &ATTENTION_COMBINE
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new(
            [self.partial, self.y, self.gamma],
            [self.zs, self.lse, self.z_tilde],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let y = s.tensor(self.y);
        work(y.rows, y.cols, self.layout.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {}, {}; {} = {}·{} + {} ({})",
            s.name(self.partial),
            s.name(self.zs),
            s.name(self.lse),
            s.name(self.z_tilde),
            s.name(self.gamma),
            s.name(self.zs),
            s.name(self.y),
            s.dims(self.y)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![attention_combine(
            ctx.gpu(),
            &ctx.array(self.partial)?,
            self.layout,
            &ctx.matrix(self.y)?,
            &ctx.array(self.gamma)?,
            AttentionOutputs {
                zs: &ctx.matrix(self.zs)?,
                lse: &ctx.array(self.lse)?,
                z_tilde: &ctx.matrix(self.z_tilde)?,
            },
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let l = ctx.tensor(self.y).cols;
        let (zs, lse, z_tilde) = cpu::attention_combine(
            ctx.f32(self.partial)?,
            self.layout,
            ctx.f32(self.y)?,
            l,
            ctx.f32(self.gamma)?[0],
        );
        ctx.set_f32(self.zs, zs)?;
        ctx.set_f32(self.lse, lse)?;
        ctx.set_f32(self.z_tilde, z_tilde)
    }
}
