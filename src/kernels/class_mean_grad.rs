//! `shaders/class_mean_grad.wgsl`: the gradient of the class-conditional prior's −KL
//! term with respect to the class means (DESIGN.md §9).

use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::{pass_flags, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The class-mean gradient kernel.
pub static CLASS_MEAN_GRAD: KernelDef = KernelDef {
    name: "class_mean_grad",
    source: shader_source!("class_mean_grad.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("ms"),
        BindingDef::read("class_ptr"),
        BindingDef::read("class_nodes"),
        BindingDef::read("class_means"),
        BindingDef::write("d_class_means"),
    ],
};

kernel_params! {
    struct Params {
        classes: u32,
        latent: u32,
        ms_stride: u32,
        kl_scale: f32,
        ms_lo: u32,
        ms_hi: u32,
        flags: u32,
        _pad0: u32,
    }
}


/// d_class_means[c, k] = −kl_scale · Σ_{i ∈ members(c)} (μ_ik − m_ck), μ the first
/// `class_means.cols()` columns of `ms`, members(c) = `class_nodes[class_ptr[c] ..
/// class_ptr[c + 1]]` (node ids below `ms.rows()`, ascending within a class, checked by
/// the caller). Where ms exceeds one binding, one dispatch per window of its rows, in
/// order, the sums carried over: the single dispatch's bits.
pub fn class_mean_grad(
    gpu: &Gpu,
    ms: &GpuMatrix,
    class_ptr: &GpuArray<u32>,
    class_nodes: &GpuArray<u32>,
    class_means: &GpuMatrix,
    kl_scale: f32,
    d_class_means: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (classes, latent) = (class_means.rows(), class_means.cols());
    check(
        class_ptr.len() == classes + 1
            && d_class_means.rows() == classes
            && d_class_means.cols() == latent
            && latent <= ms.cols(),
        "class_mean_grad",
        "d_class_means",
        || {
            format!(
                "{} class offsets, means {classes} x {latent}, gradient {} x {}, ms {} x {}",
                class_ptr.len(),
                d_class_means.rows(),
                d_class_means.cols(),
                ms.rows(),
                ms.cols()
            )
        },
    )?;
    to_u32("class_mean_grad elements", ms.rows() * ms.cols())?;
    let row_bytes = ms.cols() as u64 * WORD_BYTES;
    let windows = row_windows(gpu, "class_mean_grad [μ | s]", ms.rows(), &[row_bytes], 1)?;
    let pipeline =
        gpu.pipeline_with(&CLASS_MEAN_GRAD, &[("WINDOWED", flag(windows.len() > 1))])?;
    let grid = gpu.grid((classes * latent) as u64, pipeline.workgroup_size())?;
    let passes = windows.len();
    windows
        .into_iter()
        .enumerate()
        .map(|(w, rows)| {
            let params = Params {
                classes: to_u32("class_mean_grad classes", classes)?,
                latent: to_u32("class_mean_grad latent", latent)?,
                ms_stride: to_u32("class_mean_grad stride", ms.cols())?,
                kl_scale,
                ms_lo: to_u32("class_mean_grad rows", rows.start)?,
                ms_hi: to_u32("class_mean_grad rows", rows.end)?,
                flags: pass_flags(w, passes),
                _pad0: 0,
            };
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(ms, rows),
                    Bind::array(class_ptr),
                    Bind::array(class_nodes),
                    Bind::matrix(class_means),
                    Bind::matrix(d_class_means),
                ],
                grid,
            )
        })
        .collect()
}

/// `members` labelled nodes over `classes` classes at latent L: flops = 2·members·L
/// (a subtraction and an addition each); bytes = the members' μ rows and ids, the
/// offsets, the means and their gradient.
pub fn work(members: usize, classes: usize, latent: usize) -> Work {
    let (m, c, l) = (members as f64, classes as f64, latent as f64);
    Work {
        flops: 2.0 * m * l,
        bytes: WORD * (m * l + m + c + 1.0 + 2.0 * c * l),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `class_mean_grad` in a schedule: the gradient of −KL with respect to the class
/// means.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassMeanGradStep {
    /// [μ | s], n × 2L.
    pub ms: TensorId,
    /// classes + 1 offsets into `class_nodes` (u32).
    pub class_ptr: TensorId,
    /// The nodes of each class (u32).
    pub class_nodes: TensorId,
    /// classes × L.
    pub class_means: TensorId,
    /// Scale of the KL gradients (1/N²).
    pub kl_scale: f32,
    /// classes × L.
    pub out: TensorId,
}

impl ScheduleOp for ClassMeanGradStep {
    fn kernel(&self) -> &'static KernelDef {
        &CLASS_MEAN_GRAD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new(
            [self.ms, self.class_ptr, self.class_nodes, self.class_means],
            [self.out],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let out = s.tensor(self.out);
        work(s.tensor(self.class_nodes).len(), out.rows, out.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} over {} labelled nodes ({})",
            s.name(self.out),
            s.tensor(self.class_nodes).len(),
            s.dims(self.out)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        class_mean_grad(
            ctx.gpu(),
            &ctx.matrix(self.ms)?,
            &ctx.array(self.class_ptr)?,
            &ctx.array(self.class_nodes)?,
            &ctx.matrix(self.class_means)?,
            self.kl_scale,
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let stride = ctx.tensor(self.ms).cols;
        let latent = ctx.tensor(self.class_means).cols;
        let out = cpu::class_mean_grad(
            ctx.f32(self.ms)?,
            stride,
            ctx.u32(self.class_ptr)?,
            ctx.u32(self.class_nodes)?,
            ctx.f32(self.class_means)?,
            latent,
            self.kl_scale,
        );
        ctx.set_f32(self.out, out)
    }
}
