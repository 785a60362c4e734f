//! `shaders/student_t_grad.wgsl`: the gradient of one Student's t term of DFCN's KL loss
//! with respect to the points and (per point) the centres, and its per-row loss.

use serde::Serialize;

use super::pair_mse::check_bindings;
use super::student_t::check_shapes;
use super::{check, flag, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The Student's t gradient kernel.
pub static STUDENT_T_GRAD: KernelDef = KernelDef {
    name: "student_t_grad",
    source: shader_source!("student_t_grad.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::read("centers"),
        BindingDef::read("q"),
        BindingDef::read("p"),
        BindingDef::write("dz"),
        BindingDef::write("dc_rows"),
        BindingDef::write("loss_rows"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        k: u32,
        scale: f32,
    }
}

/// The outputs of [`student_t_grad`].
pub struct StudentTGradOutputs<'a> {
    /// n × L.
    pub dz: &'a GpuMatrix,
    /// n × k·L: each point's share of the centres' gradient.
    pub dc_rows: &'a GpuMatrix,
    /// n: Σ_j p_ij (log p_ij − log q_ij).
    pub loss_rows: &'a GpuArray<f32>,
}

/// The gradient of −scale·Σ p log q for z (n × L), centres (k × L), q and p (n × k),
/// written (or, with `accumulate`, added) to the outputs.
#[allow(clippy::too_many_arguments)]
pub fn student_t_grad(
    gpu: &Gpu,
    z: &GpuMatrix,
    centers: &GpuMatrix,
    q: &GpuMatrix,
    p: &GpuMatrix,
    scale: f32,
    accumulate: bool,
    out: StudentTGradOutputs<'_>,
) -> Result<Dispatch> {
    check_shapes("student_t_grad", z, centers, q)?;
    check_shapes("student_t_grad", z, centers, p)?;
    let (n, l, k) = (z.rows(), z.cols(), centers.rows());
    check(
        out.dz.rows() == n
            && out.dz.cols() == l
            && out.dc_rows.rows() == n
            && out.dc_rows.cols() == k * l
            && out.loss_rows.len() == n,
        "student_t_grad",
        "out",
        || format!("outputs must be {n} x {l}, {n} x {} and {n}", k * l),
    )?;
    check_bindings(
        gpu,
        "student_t_grad",
        &[("z", z.data().bytes()), ("dc_rows", out.dc_rows.data().bytes())],
    )?;
    let pipeline = gpu.pipeline_with(&STUDENT_T_GRAD, &[("ACCUMULATE", flag(accumulate))])?;
    let params = Params {
        n: to_u32("student_t_grad points", n)?,
        latent: to_u32("student_t_grad width", l)?,
        k: to_u32("student_t_grad centres", k)?,
        scale,
    };
    to_u32("student_t_grad elements", n * k * l)?;
    let grid = gpu.grid(n as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(z),
            Bind::matrix(centers),
            Bind::matrix(q),
            Bind::matrix(p),
            Bind::matrix(out.dz),
            Bind::matrix(out.dc_rows),
            Bind::array(out.loss_rows),
        ],
        grid,
    )
}

/// n points, k centres, width L: flops = 7·n·k·L; bytes: z, q, p, the outputs.
pub fn work(n: usize, k: usize, l: usize) -> Work {
    let (n, k, l) = (n as f64, k as f64, l as f64);
    Work {
        flops: 7.0 * n * k * l,
        bytes: WORD * (2.0 * n * l + 2.0 * n * k + n * k * l + n),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `student_t_grad` in a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudentTGradStep {
    /// n × L.
    pub z: TensorId,
    /// k × L.
    pub centers: TensorId,
    /// n × k.
    pub q: TensorId,
    /// n × k.
    pub p: TensorId,
    /// The loss weight (DFCN: 10 / (3n)).
    pub scale: f32,
    /// Whether the outputs are added to.
    pub accumulate: bool,
    /// n × L.
    pub dz: TensorId,
    /// n × k·L.
    pub dc_rows: TensorId,
    /// n × 1.
    pub loss_rows: TensorId,
}

impl ScheduleOp for StudentTGradStep {
    fn kernel(&self) -> &'static KernelDef {
        &STUDENT_T_GRAD
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        let accumulated = if self.accumulate {
            vec![self.dz, self.dc_rows, self.loss_rows]
        } else {
            vec![]
        };
        Accesses::new(
            [self.z, self.centers, self.q, self.p]
                .into_iter()
                .chain(accumulated),
            [self.dz, self.dc_rows, self.loss_rows],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z);
        work(z.rows, s.tensor(self.centers).rows, z.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "−{}·Σ {}·log {}: {} {} ({} · {})",
            self.scale,
            s.name(self.p),
            s.name(self.q),
            if self.accumulate { "+=" } else { "=" },
            s.name(self.dz),
            s.dims(self.z),
            s.dims(self.centers)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![student_t_grad(
            ctx.gpu(),
            &ctx.matrix(self.z)?,
            &ctx.matrix(self.centers)?,
            &ctx.matrix(self.q)?,
            &ctx.matrix(self.p)?,
            self.scale,
            self.accumulate,
            StudentTGradOutputs {
                dz: &ctx.matrix(self.dz)?,
                dc_rows: &ctx.matrix(self.dc_rows)?,
                loss_rows: &ctx.array(self.loss_rows)?,
            },
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let l = ctx.tensor(self.z).cols;
        let previous = match self.accumulate {
            true => Some(cpu::StudentTGrad {
                dz: ctx.f32(self.dz)?.to_vec(),
                dc_rows: ctx.f32(self.dc_rows)?.to_vec(),
                loss_rows: ctx.f32(self.loss_rows)?.to_vec(),
            }),
            false => None,
        };
        let out = cpu::student_t_grad(
            ctx.f32(self.z)?,
            ctx.f32(self.centers)?,
            ctx.f32(self.q)?,
            ctx.f32(self.p)?,
            l,
            self.scale,
            previous,
        );
        ctx.set_f32(self.dz, out.dz)?;
        ctx.set_f32(self.dc_rows, out.dc_rows)?;
        ctx.set_f32(self.loss_rows, out.loss_rows)
    }
}
