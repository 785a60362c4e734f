//! `shaders/adam.wgsl`: the fused Adam update of one weight tensor.

use serde::{Deserialize, Serialize};

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef, StepBuffer};

/// The Adam kernel.
pub static ADAM: KernelDef = KernelDef {
    name: "adam",
    source: concat!(
        shader_source!("shared/step.wgsl"),
        shader_source!("adam.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::write("param"),
        BindingDef::read("grad"),
        BindingDef::write("m"),
        BindingDef::write("v"),
        BindingDef::uniform("step"),
    ],
};

/// Adam's hyper-parameters (defaults as DESIGN.md §1: lr 0.01, β 0.9/0.999, ε 1e-8).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator guard.
    pub eps: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

kernel_params! {
    struct Params {
        len: u32,
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// One Adam step on `param` with gradient `grad` and moments `m`, `v`; the step count
/// is read from `step` (`adam_step`, starting at 1). One dispatch per window of
/// elements where the arrays exceed one binding.
pub fn adam(
    gpu: &Gpu,
    config: &AdamConfig,
    param: &GpuArray<f32>,
    grad: &GpuArray<f32>,
    m: &GpuArray<f32>,
    v: &GpuArray<f32>,
    step: &StepBuffer,
) -> Result<Vec<Dispatch>> {
    let len = param.len();
    check(
        grad.len() == len && m.len() == len && v.len() == len,
        "adam",
        "grad",
        || {
            format!(
                "lengths differ: param {len}, grad {}, m {}, v {}",
                grad.len(),
                m.len(),
                v.len()
            )
        },
    )?;
    // Vec4s per invocation (the shader's VPI): one on GPUs, more on CPU adapters.
    let per_invocation = gpu.profile().elementwise_vec4s.max(1);
    let pipeline = gpu.pipeline_with(&ADAM, &[("VPI", f64::from(per_invocation))])?;
    // Windows of whole vec4s (granularity 4), so every window's vec4s line up.
    row_windows(gpu, "adam", len, &[WORD_BYTES; 4], 4)?
        .into_iter()
        .map(|window| {
            let params = Params {
                len: to_u32("adam length", window.len())?,
                lr: config.lr,
                beta1: config.beta1,
                beta2: config.beta2,
                eps: config.eps,
                _pad0: 0,
                _pad1: 0,
                _pad2: 0,
            };
            let invocations = window.len().div_ceil(4).div_ceil(per_invocation as usize);
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(param, window.clone()),
                    Bind::elements(grad, window.clone()),
                    Bind::elements(m, window.clone()),
                    Bind::elements(v, window),
                    Bind::Step(step),
                ],
                grid,
            )
        })
        .collect()
}

/// `len` parameters: reads param, grad, m, v and writes param, m, v; flops = 0.
pub fn work(len: usize) -> Work {
    Work {
        flops: 0.0,
        bytes: 7.0 * WORD * len as f64,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `adam` in a schedule: one step on a weight tensor, its count from the step uniform.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdamStep {
    /// The weights.
    pub param: TensorId,
    /// Their gradient.
    pub grad: TensorId,
    /// First moment.
    pub m: TensorId,
    /// Second moment.
    pub v: TensorId,
    /// The hyper-parameters.
    pub config: AdamConfig,
}

impl ScheduleOp for AdamStep {
    fn kernel(&self) -> &'static KernelDef {
        &ADAM
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new(
            [self.param, self.grad, self.m, self.v],
            [self.param, self.m, self.v],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        work(s.tensor(self.param).len())
    }

    fn describe(&self, s: &Schedule) -> String {
        format!("{} ({})", s.name(self.param), s.dims(self.param))
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        adam(
            ctx.gpu(),
            &self.config,
            &ctx.array(self.param)?,
            &ctx.array(self.grad)?,
            &ctx.array(self.m)?,
            &ctx.array(self.v)?,
            ctx.step(),
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let mut param = ctx.take_f32(self.param)?;
        let mut m = ctx.take_f32(self.m)?;
        let mut v = ctx.take_f32(self.v)?;
        let t = ctx.step().adam_step;
        cpu::adam(&self.config, t, &mut param, ctx.f32(self.grad)?, &mut m, &mut v);
        ctx.set_f32(self.param, param)?;
        ctx.set_f32(self.m, m)?;
        ctx.set_f32(self.v, v)
    }
}
