//! `shaders/student_t.wgsl`: Student's t soft assignment q (one degree of freedom) of
//! points to centres (DFCN's q, q1, q2).

use serde::Serialize;

use super::pair_mse::check_bindings;
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The soft-assignment kernel.
pub static STUDENT_T: KernelDef = KernelDef {
    name: "student_t",
    source: shader_source!("student_t.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::read("centers"),
        BindingDef::write("q"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        k: u32,
        _pad0: u32,
    }
}

/// Most centres of the Student's t kernels (the gradient's per-row array).
pub const MAX_CENTERS: usize = 64;

/// Checks points (n × L) against centres (k × L, 1 ≤ k ≤ [`MAX_CENTERS`]) and a per-point
/// k-wide matrix.
pub(crate) fn check_shapes(kernel: &str, z: &GpuMatrix, centers: &GpuMatrix, q: &GpuMatrix) -> Result<()> {
    let (n, l, k) = (z.rows(), z.cols(), centers.rows());
    check(
        centers.cols() == l && (1..=MAX_CENTERS).contains(&k),
        kernel,
        "centers",
        || format!("centres are {k} x {}, expected 1..={MAX_CENTERS} x {l}", centers.cols()),
    )?;
    check(q.rows() == n && q.cols() == k, kernel, "q", || {
        format!("q is {} x {}, expected {n} x {k}", q.rows(), q.cols())
    })
}

/// q (n × k) = Student's t assignment of z (n × L) to centers (k × L).
pub fn student_t(gpu: &Gpu, z: &GpuMatrix, centers: &GpuMatrix, q: &GpuMatrix) -> Result<Dispatch> {
    check_shapes("student_t", z, centers, q)?;
    check_bindings(
        gpu,
        "student_t",
        &[("z", z.data().bytes()), ("q", q.data().bytes())],
    )?;
    let pipeline = gpu.pipeline(&STUDENT_T)?;
    let params = Params {
        n: to_u32("student_t points", z.rows())?,
        latent: to_u32("student_t width", z.cols())?,
        k: to_u32("student_t centres", centers.rows())?,
        _pad0: 0,
    };
    to_u32("student_t elements", z.rows() * z.cols().max(centers.rows()))?;
    let grid = gpu.grid(z.rows() as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(z), Bind::matrix(centers), Bind::matrix(q)],
        grid,
    )
}

/// n points, k centres, width L: flops = 3·n·k·L; bytes: z, the centres, q.
pub fn work(n: usize, k: usize, l: usize) -> Work {
    let (n, k, l) = (n as f64, k as f64, l as f64);
    Work {
        flops: 3.0 * n * k * l,
        bytes: WORD * (n * l + k * l + n * k),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `student_t` in a schedule: q = Student's t assignment of z to the centres.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudentTStep {
    /// n × L.
    pub z: TensorId,
    /// k × L.
    pub centers: TensorId,
    /// n × k.
    pub q: TensorId,
}

impl ScheduleOp for StudentTStep {
    fn kernel(&self) -> &'static KernelDef {
        &STUDENT_T
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.z, self.centers], [self.q])
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z);
        work(z.rows, s.tensor(self.centers).rows, z.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "t({}, {}) → {} ({} · {})",
            s.name(self.z),
            s.name(self.centers),
            s.name(self.q),
            s.dims(self.z),
            s.dims(self.centers)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![student_t(
            ctx.gpu(),
            &ctx.matrix(self.z)?,
            &ctx.matrix(self.centers)?,
            &ctx.matrix(self.q)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let l = ctx.tensor(self.z).cols;
        let out = cpu::student_t(ctx.f32(self.z)?, ctx.f32(self.centers)?, l);
        ctx.set_f32(self.q, out)
    }
}
