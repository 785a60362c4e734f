//! `shaders/act_backward.wgsl`: dx = dy ⊙ act'(y) from the activation's output y (the
//! backward of `bias_act`).

use serde::Serialize;

use super::bias_act::{elements_per_invocation, Activation};
use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef};

/// The activation-gradient kernel.
pub static ACT_BACKWARD: KernelDef = KernelDef {
    name: "act_backward",
    source: shader_source!("act_backward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("dy"),
        BindingDef::read("y"),
        BindingDef::write("dx"),
    ],
};

kernel_params! {
    struct Params {
        len: u32,
        slope: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// dx = dy ⊙ act'(y), all three of one length, y the activation's output. One dispatch
/// per window of elements where the arrays exceed one storage binding.
pub fn act_backward(
    gpu: &Gpu,
    dy: &GpuArray<f32>,
    y: &GpuArray<f32>,
    activation: Activation,
    dx: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let len = dy.len();
    check(y.len() == len && dx.len() == len, "act_backward", "y", || {
        format!("lengths differ: dy {len}, y {}, dx {}", y.len(), dx.len())
    })?;
    to_u32("act_backward elements", len)?;
    let epi = elements_per_invocation(gpu);
    let pipeline = gpu.pipeline_with(
        &ACT_BACKWARD,
        &[("ACT", activation.code()), ("EPI", f64::from(epi))],
    )?;
    row_windows(gpu, "act_backward", len, &[WORD_BYTES; 3], 4)?
        .into_iter()
        .map(|window| {
            let params = Params {
                len: to_u32("act_backward elements", window.len())?,
                slope: activation.slope(),
                _pad0: 0,
                _pad1: 0,
            };
            let invocations = window.len().div_ceil(epi as usize);
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(dy, window.clone()),
                    Bind::elements(y, window.clone()),
                    Bind::elements(dx, window),
                ],
                grid,
            )
        })
        .collect()
}

/// `len` elements: reads dy and y, writes dx; flops = 0 (memory-bound).
pub fn work(len: usize) -> Work {
    Work {
        flops: 0.0,
        bytes: 3.0 * WORD * len as f64,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `act_backward` in a schedule: dx = dy ⊙ act'(y).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActBackwardStep {
    /// Gradient with respect to the activation's output.
    pub dy: TensorId,
    /// The activation's output.
    pub y: TensorId,
    /// The activation.
    pub activation: Activation,
    /// Gradient with respect to its input.
    pub dx: TensorId,
}

impl ScheduleOp for ActBackwardStep {
    fn kernel(&self) -> &'static KernelDef {
        &ACT_BACKWARD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.dy, self.y], [self.dx])
    }

    fn work(&self, s: &Schedule) -> Work {
        work(s.tensor(self.dy).len())
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} ∘ {}'({}) → {} ({})",
            s.name(self.dy),
            self.activation.name(),
            s.name(self.y),
            s.name(self.dx),
            s.dims(self.dy)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        act_backward(
            ctx.gpu(),
            &ctx.array(self.dy)?,
            &ctx.array(self.y)?,
            self.activation,
            &ctx.array(self.dx)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let out = cpu::act_backward(ctx.f32(self.dy)?, ctx.f32(self.y)?, self.activation);
        ctx.set_f32(self.dx, out)
    }
}
