//! `shaders/target_dist.wgsl`: DEC's target distribution p from soft assignments q and
//! their column sums (DFCN's P, recomputed each epoch, no gradient).

use serde::Serialize;

use super::pair_mse::check_bindings;
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The target-distribution kernel.
pub static TARGET_DIST: KernelDef = KernelDef {
    name: "target_dist",
    source: shader_source!("target_dist.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("q"),
        BindingDef::read("f"),
        BindingDef::write("p"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        k: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// p (n × k) = rows of q²/f normalised, f (k) the column sums of q (n × k).
pub fn target_dist(gpu: &Gpu, q: &GpuMatrix, f: &GpuArray<f32>, p: &GpuMatrix) -> Result<Dispatch> {
    let (n, k) = (q.rows(), q.cols());
    check(
        f.len() == k && p.rows() == n && p.cols() == k && k > 0,
        "target_dist",
        "p",
        || format!("q is {n} x {k}: f needs {k} values and p the shape of q"),
    )?;
    check_bindings(gpu, "target_dist", &[("q", q.data().bytes())])?;
    let pipeline = gpu.pipeline(&TARGET_DIST)?;
    let params = Params {
        n: to_u32("target_dist points", n)?,
        k: to_u32("target_dist centres", k)?,
        _pad0: 0,
        _pad1: 0,
    };
    to_u32("target_dist elements", n * k)?;
    let grid = gpu.grid(n as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(q), Bind::array(f), Bind::matrix(p)],
        grid,
    )
}

/// n × k: flops = 4 per element; bytes: q, f, p.
pub fn work(n: usize, k: usize) -> Work {
    let (n, k) = (n as f64, k as f64);
    Work {
        flops: 4.0 * n * k,
        bytes: WORD * (2.0 * n * k + k),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `target_dist` in a schedule: p from q and its column sums f.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetDistStep {
    /// n × k.
    pub q: TensorId,
    /// 1 × k, the column sums of q.
    pub f: TensorId,
    /// n × k.
    pub p: TensorId,
}

impl ScheduleOp for TargetDistStep {
    fn kernel(&self) -> &'static KernelDef {
        &TARGET_DIST
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.q, self.f], [self.p])
    }

    fn work(&self, s: &Schedule) -> Work {
        let q = s.tensor(self.q);
        work(q.rows, q.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{q}²/{f} normalised → {} ({})",
            s.name(self.p),
            s.dims(self.q),
            q = s.name(self.q),
            f = s.name(self.f),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![target_dist(
            ctx.gpu(),
            &ctx.matrix(self.q)?,
            &ctx.array(self.f)?,
            &ctx.matrix(self.p)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let k = ctx.tensor(self.q).cols;
        let out = cpu::target_dist(ctx.f32(self.q)?, ctx.f32(self.f)?, k);
        ctx.set_f32(self.p, out)
    }
}
