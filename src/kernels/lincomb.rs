//! `shaders/lincomb.wgsl`: out = α·x + β·y (+ out), α optionally times a scalar tensor
//! (DFCN's fusion and the gradients several paths add into one tensor).

use serde::Serialize;

use super::bias_act::elements_per_invocation;
use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef};

/// The linear-combination kernel.
pub static LINCOMB: KernelDef = KernelDef {
    name: "lincomb",
    source: shader_source!("lincomb.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("x"),
        BindingDef::read("y"),
        BindingDef::read("scale"),
        BindingDef::write("out"),
    ],
};

kernel_params! {
    struct Params {
        len: u32,
        alpha: f32,
        beta: f32,
        _pad0: u32,
    }
}

/// The terms of a linear combination: out = alpha·(`scale[0]`)·x + beta·y (+ out).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Combination {
    /// α.
    pub alpha: f32,
    /// β (unused without y).
    pub beta: f32,
    /// Whether out's previous value is added.
    pub accumulate: bool,
}

/// out = alpha·s·x + beta·y (+ out when `accumulate`), s = `scale[0]` where given (else
/// 1); y optional. All arrays of one length. One dispatch per window of elements where
/// they exceed one storage binding.
pub fn lincomb(
    gpu: &Gpu,
    x: &GpuArray<f32>,
    y: Option<&GpuArray<f32>>,
    scale: Option<&GpuArray<f32>>,
    terms: Combination,
    out: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let len = x.len();
    check(
        out.len() == len && y.is_none_or(|y| y.len() == len),
        "lincomb",
        "out",
        || {
            format!(
                "lengths differ: x {len}, y {:?}, out {}",
                y.map(GpuArray::len),
                out.len()
            )
        },
    )?;
    if let Some(scale) = scale {
        check(!scale.is_empty(), "lincomb", "scale", || {
            "the scale tensor is empty".into()
        })?;
    }
    to_u32("lincomb elements", len)?;
    let epi = elements_per_invocation(gpu);
    let pipeline = gpu.pipeline_with(
        &LINCOMB,
        &[
            ("HAS_Y", flag(y.is_some())),
            ("SCALED", flag(scale.is_some())),
            ("ACCUMULATE", flag(terms.accumulate)),
            ("EPI", f64::from(epi)),
        ],
    )?;
    row_windows(gpu, "lincomb", len, &[WORD_BYTES; 3], 4)?
        .into_iter()
        .map(|window| {
            let params = Params {
                len: to_u32("lincomb elements", window.len())?,
                alpha: terms.alpha,
                beta: terms.beta,
                _pad0: 0,
            };
            let invocations = window.len().div_ceil(epi as usize);
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            // Unread bindings (no y, no scale) are given x: any read-only binding will do.
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(x, window.clone()),
                    Bind::elements(y.unwrap_or(x), window.clone()),
                    match scale {
                        Some(scale) => Bind::array(scale),
                        None => Bind::elements(x, window.clone()),
                    },
                    Bind::elements(out, window),
                ],
                grid,
            )
        })
        .collect()
}

/// `len` elements with `inputs` arrays read (x, y, out when accumulating): flops = 2 per
/// term and element.
pub fn work(len: usize, inputs: usize) -> Work {
    let (len, inputs) = (len as f64, inputs as f64);
    Work {
        flops: 2.0 * inputs * len,
        bytes: WORD * (inputs + 1.0) * len,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `lincomb` in a schedule: out = alpha·scale·x + beta·y (+ out). The tensors need only
/// the same number of elements (a 1 × N·L sum may be added to an N × L matrix).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LincombStep {
    /// First term.
    pub x: TensorId,
    /// Second term, or none.
    pub y: Option<TensorId>,
    /// A 1 × 1 tensor multiplying α (a trained scalar), or none.
    pub scale: Option<TensorId>,
    /// α, β and whether out is added to.
    pub terms: Combination,
    /// Result.
    pub out: TensorId,
}

impl ScheduleOp for LincombStep {
    fn kernel(&self) -> &'static KernelDef {
        &LINCOMB
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        let accumulated = self.terms.accumulate.then_some(self.out);
        Accesses::new(
            [self.x]
                .into_iter()
                .chain(self.y)
                .chain(self.scale)
                .chain(accumulated),
            [self.out],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let inputs = 1 + usize::from(self.y.is_some()) + usize::from(self.terms.accumulate);
        work(s.tensor(self.out).len(), inputs)
    }

    fn describe(&self, s: &Schedule) -> String {
        let scale = self
            .scale
            .map(|t| format!("·{}", s.name(t)))
            .unwrap_or_default();
        let y = self
            .y
            .map(|y| format!(" + {}·{}", self.terms.beta, s.name(y)))
            .unwrap_or_default();
        let op = if self.terms.accumulate { "+=" } else { "=" };
        format!(
            "{} {op} {}{scale}·{}{y} ({})",
            s.name(self.out),
            self.terms.alpha,
            s.name(self.x),
            s.dims(self.out)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        lincomb(
            ctx.gpu(),
            &ctx.array(self.x)?,
            self.y.map(|y| ctx.array(y)).transpose()?.as_ref(),
            self.scale.map(|t| ctx.array(t)).transpose()?.as_ref(),
            self.terms,
            &ctx.array(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let scale = self.scale.map(|t| ctx.f32(t)).transpose()?;
        let previous = match self.terms.accumulate {
            true => Some(ctx.f32(self.out)?.to_vec()),
            false => None,
        };
        let y = self.y.map(|y| ctx.f32(y)).transpose()?;
        let out = cpu::lincomb(
            ctx.f32(self.x)?,
            y,
            scale.map(|s| s[0]),
            self.terms.alpha,
            self.terms.beta,
            previous.as_deref(),
        );
        ctx.set_f32(self.out, out)
    }
}
