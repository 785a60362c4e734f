//! `shaders/bias_act.wgsl`: out = act(x + bias), elementwise (DFCN's layers: Linear +
//! LeakyReLU, tanh before Â; NS4GC's SELU between GCN layers).

use serde::Serialize;

use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The bias-and-activation kernel.
pub static BIAS_ACT: KernelDef = KernelDef {
    name: "bias_act",
    source: shader_source!("bias_act.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("x"),
        BindingDef::read("bias"),
        BindingDef::write("out"),
    ],
};

kernel_params! {
    struct Params {
        len: u32,
        cols: u32,
        slope: f32,
        _pad0: u32,
    }
}

/// An elementwise activation (the shaders' `ACT`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Activation {
    /// act(v) = v.
    Identity,
    /// act(v) = v for v > 0, slope·v otherwise.
    LeakyRelu {
        /// Negative slope (DFCN: 0.2).
        slope: f32,
    },
    /// act(v) = tanh(v).
    Tanh,
    /// SELU (Klambauer et al. 2017, torch's `selu`): act(v) = λv for v > 0, λα(eᵛ − 1)
    /// otherwise, λ = [`SELU_SCALE`], α = [`SELU_ALPHA`] (NS4GC's encoder).
    Selu,
}

/// SELU's λ (torch's constant; the shaders and the twins round it to f32).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// SELU's α (torch's constant; rounded to f32 likewise).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

impl Activation {
    /// The shaders' `ACT` code.
    pub(crate) fn code(self) -> f64 {
        match self {
            Activation::Identity => 0.0,
            Activation::LeakyRelu { .. } => 1.0,
            Activation::Tanh => 2.0,
            Activation::Selu => 3.0,
        }
    }

    /// The negative slope (0 for the others).
    pub(crate) fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu { slope } => slope,
            _ => 0.0,
        }
    }

    /// Its name in step descriptions.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Activation::Identity => "id",
            Activation::LeakyRelu { .. } => "lrelu",
            Activation::Tanh => "tanh",
            Activation::Selu => "selu",
        }
    }
}

/// Consecutive elements one invocation of an elementwise DFCN kernel takes: 4 per vec4
/// of the profile's elementwise setting (few fat invocations on CPU adapters).
pub(crate) fn elements_per_invocation(gpu: &Gpu) -> u32 {
    gpu.profile().elementwise_vec4s.max(1) * 4
}

/// out = act(x + bias) for x and out (rows × cols) and bias (cols) or none. One
/// dispatch per window of whole rows where a matrix exceeds one storage binding.
pub fn bias_act(
    gpu: &Gpu,
    x: &GpuMatrix,
    bias: Option<&GpuArray<f32>>,
    activation: Activation,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (x.rows(), x.cols());
    check(out.rows() == rows && out.cols() == cols, "bias_act", "out", || {
        format!("output is {} x {}, x is {rows} x {cols}", out.rows(), out.cols())
    })?;
    if let Some(bias) = bias {
        check(bias.len() == cols, "bias_act", "bias", || {
            format!("bias has {} values for {cols} columns", bias.len())
        })?;
    }
    to_u32("bias_act elements", rows * cols)?;
    let epi = elements_per_invocation(gpu);
    let pipeline = gpu.pipeline_with(
        &BIAS_ACT,
        &[
            ("ACT", activation.code()),
            ("HAS_BIAS", flag(bias.is_some())),
            ("EPI", f64::from(epi)),
        ],
    )?;
    let row_bytes = cols as u64 * WORD_BYTES;
    row_windows(gpu, "bias_act", rows, &[row_bytes], 1)?
        .into_iter()
        .map(|window| {
            let len = window.len() * cols;
            let params = Params {
                len: to_u32("bias_act elements", len)?,
                cols: to_u32("bias_act cols", cols.max(1))?,
                slope: activation.slope(),
                _pad0: 0,
            };
            let grid = gpu.grid(len.div_ceil(epi as usize) as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(x, window.clone()),
                    // Not read without a bias: any read-only binding will do.
                    match bias {
                        Some(bias) => Bind::array(bias),
                        None => Bind::rows(x, window.clone()),
                    },
                    Bind::rows(out, window),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols elements: reads x (and the bias), writes out; flops = 0 (memory-bound).
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 0.0,
        bytes: WORD * (2.0 * rows * cols + cols),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `bias_act` in a schedule: out = act(x + bias).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BiasActStep {
    /// Pre-activation without the bias (rows × cols).
    pub x: TensorId,
    /// Bias (1 × cols), or none.
    pub bias: Option<TensorId>,
    /// The activation.
    pub activation: Activation,
    /// Result (rows × cols).
    pub out: TensorId,
}

impl ScheduleOp for BiasActStep {
    fn kernel(&self) -> &'static KernelDef {
        &BIAS_ACT
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.x].into_iter().chain(self.bias), [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let x = s.tensor(self.x);
        work(x.rows, x.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{}({}{}) → {} ({})",
            self.activation.name(),
            s.name(self.x),
            self.bias
                .map(|b| format!(" + {}", s.name(b)))
                .unwrap_or_default(),
            s.name(self.out),
            s.dims(self.x)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        bias_act(
            ctx.gpu(),
            &ctx.matrix(self.x)?,
            self.bias.map(|b| ctx.array(b)).transpose()?.as_ref(),
            self.activation,
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let cols = ctx.tensor(self.x).cols;
        let bias = self.bias.map(|b| ctx.f32(b)).transpose()?;
        let out = cpu::bias_act(ctx.f32(self.x)?, cols, bias, self.activation);
        ctx.set_f32(self.out, out)
    }
}
