//! `shaders/pair_mse.wgsl`: the dense part of DFCN's 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â)
//! and its gradients, per column split, never storing N×N; `pair_mse_sparse` finishes
//! it. Also home of [`ColumnSplits`], the layout the DFCN N² kernels share.

use serde::Serialize;

use super::{check, flag, to_u32, Work, WORD};
use crate::error::{Error, Result};
use crate::gpu::windows::fits_binding;
use crate::gpu::{AdapterClass, AdapterProfile, Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, Pipeline};

/// The dense pair-MSE kernel.
pub static PAIR_MSE: KernelDef = KernelDef {
    name: "pair_mse",
    source: shader_source!("pair_mse.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("za"),
        BindingDef::read("zb"),
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

/// Widest za (the shader's `LA`).
pub const MAX_WIDTH_A: usize = 64;
/// Widest zb (the shader's `LB`).
pub const MAX_WIDTH_B: usize = 128;
/// Most column splits of the DFCN row passes.
pub const MAX_SPLITS: usize = 64;

/// How the DFCN N² row passes (`pair_mse`, `attention_forward`, `attention_backward`)
/// cut the columns: `splits` consecutive chunks of ⌈n / splits⌉ columns (the last ones
/// shorter or empty), one partial result per (split, node), summed in split order by
/// the pass that finishes them. Every node's sum over one chunk runs in column order
/// whatever the register blocking, so the results depend on `splits` alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnSplits {
    /// Number of splits, 1..=[`MAX_SPLITS`].
    pub splits: usize,
}

impl ColumnSplits {
    /// `parts` splits when given, else as many as make about the profile's
    /// `dense_target_invocations` threads at one row per thread (more only add partial
    /// sums); at most [`MAX_SPLITS`] and `n`.
    pub fn new(n: usize, profile: &AdapterProfile, parts: Option<usize>) -> Self {
        let wanted =
            parts.unwrap_or_else(|| profile.dense_target_invocations.div_ceil(n.max(1)));
        ColumnSplits {
            splits: wanted.clamp(1, MAX_SPLITS).min(n.max(1)),
        }
    }

    /// Columns per split for `n` columns.
    pub fn chunk(&self, n: usize) -> usize {
        n.div_ceil(self.splits.max(1)).max(1)
    }

    /// The columns of split `s` for `n` columns.
    pub fn columns(&self, n: usize, s: usize) -> std::ops::Range<usize> {
        let chunk = self.chunk(n);
        let start = (s * chunk).min(n);
        start..(start + chunk).min(n)
    }

    /// The launch of `kernel`'s pass over `n` rows, `rows` of them an invocation of
    /// `pipeline`, one workgroup row block per split, into a partial of `partial_len`
    /// floats (indexed in 32 bits like the rest).
    pub(crate) fn launch(
        &self,
        gpu: &Gpu,
        kernel: &str,
        pipeline: &Pipeline,
        n: usize,
        rows: usize,
        partial_len: usize,
    ) -> Result<SplitLaunch> {
        let wg = pipeline.workgroup_size();
        let groups = n.div_ceil(wg as usize * rows);
        let name = |what: &str| format!("{kernel} {what}");
        let (n32, chunk) = (to_u32(&name("nodes"), n)?, to_u32(&name("chunk"), self.chunk(n))?);
        let splits = to_u32(&name("splits"), self.splits)?;
        let groups32 = to_u32(&name("groups"), groups)?;
        to_u32(&name("partial"), partial_len)?;
        Ok(SplitLaunch {
            n: n32,
            chunk,
            splits,
            groups: groups32,
            grid: gpu.grid((self.splits * groups) as u64 * u64::from(wg), wg)?,
        })
    }
}

/// A DFCN row pass's launch over column splits: the fields of its uniform (every row
/// pass has the same four) and its grid.
pub(crate) struct SplitLaunch {
    pub n: u32,
    pub chunk: u32,
    pub splits: u32,
    pub groups: u32,
    pub grid: [u32; 3],
}

/// Rows per invocation of a DFCN row pass whose rows carry `floats` values of state
/// (inputs and accumulators): several on CPU adapters, so that every column load serves
/// them, while the state stays small; one on GPUs.
pub(crate) fn rows_per_invocation(profile: &AdapterProfile, floats: usize, max: usize) -> usize {
    if profile.class == AdapterClass::Gpu {
        return 1;
    }
    match floats {
        0..=64 => 4,
        65..=160 => 2,
        _ => 1,
    }
    .min(max)
}

/// Fails with [`Error::BufferTooLarge`] unless every array of a kernel that binds its
/// operands whole fits one storage binding.
pub(crate) fn check_bindings(gpu: &Gpu, kernel: &str, arrays: &[(&str, u64)]) -> Result<()> {
    for &(name, bytes) in arrays {
        if !fits_binding(gpu, bytes) {
            return Err(Error::BufferTooLarge {
                label: format!("gpu_vgae.{kernel}.{name}"),
                bytes,
                limit: gpu.binding_limit(),
                limit_kind: "storage binding",
            });
        }
    }
    Ok(())
}

/// Floats per (split, node) of the partial: the loss, then ga (la), then gb (lb).
pub fn partial_width(la: usize, lb: usize) -> usize {
    1 + la + lb
}

/// The dense pass of the pair MSE over za (n × la) and zb (n × lb) into `partial`
/// (splits × n × (1 + la + lb)).
pub fn pair_mse(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    layout: ColumnSplits,
    partial: &GpuArray<f32>,
) -> Result<Dispatch> {
    let (n, la, lb) = (za.rows(), za.cols(), zb.cols());
    check(n > 0 && zb.rows() == n, "pair_mse", "zb", || {
        format!("za has {n} rows, zb {} (both must have at least one)", zb.rows())
    })?;
    check(
        (1..=MAX_WIDTH_A).contains(&la) && (1..=MAX_WIDTH_B).contains(&lb),
        "pair_mse",
        "za",
        || format!("widths {la} and {lb} must be 1..={MAX_WIDTH_A} and 1..={MAX_WIDTH_B}"),
    )?;
    let splits = layout.splits;
    check(
        (1..=MAX_SPLITS).contains(&splits)
            && partial.len() == splits * n * partial_width(la, lb),
        "pair_mse",
        "partial",
        || {
            format!(
                "partial has {} values for {splits} splits of {n} x {}",
                partial.len(),
                partial_width(la, lb)
            )
        },
    )?;
    check_bindings(
        gpu,
        "pair_mse",
        &[
            ("za", za.data().bytes()),
            ("zb", zb.data().bytes()),
            ("partial", partial.bytes()),
        ],
    )?;
    let r = rows_per_invocation(gpu.profile(), 2 * (la + lb), 2);
    let pipeline = gpu.pipeline_with(
        &PAIR_MSE,
        &[
            ("LA", la as f64),
            ("LB", lb as f64),
            ("R", r as f64),
            ("ALIGNED", flag(la % 4 == 0 && lb % 4 == 0)),
        ],
    )?;
    let launch = layout.launch(gpu, "pair_mse", &pipeline, n, r, partial.len())?;
    let params = Params {
        n: launch.n,
        chunk: launch.chunk,
        splits: launch.splits,
        groups: launch.groups,
    };
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(za), Bind::matrix(zb), Bind::array(partial)],
        launch.grid,
    )
}

/// n² ordered pairs of widths la and lb: flops = 4·(la + lb) per pair (two dots, two
/// accumulations); bytes: za and zb, the partials.
pub fn work(n: usize, la: usize, lb: usize, splits: usize) -> Work {
    let (n, la, lb, splits) = (n as f64, la as f64, lb as f64, splits as f64);
    Work {
        flops: 4.0 * n * n * (la + lb),
        bytes: WORD * (n * (la + lb) + splits * n * (1.0 + la + lb)),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `pair_mse` in a schedule: the dense partials of the pair MSE of za and zb.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairMseStep {
    /// n × la (DFCN: Z_G).
    pub za: TensorId,
    /// n × lb (DFCN: Ẑ).
    pub zb: TensorId,
    /// The column splits.
    pub layout: ColumnSplits,
    /// splits × n·(1 + la + lb).
    pub partial: TensorId,
}

impl ScheduleOp for PairMseStep {
    fn kernel(&self) -> &'static KernelDef {
        &PAIR_MSE
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.za, self.zb], [self.partial])
    }

    fn work(&self, s: &Schedule) -> Work {
        let (za, zb) = (s.tensor(self.za), s.tensor(self.zb));
        work(za.rows, za.cols, zb.cols, self.layout.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "Σ_j (σ({a}_i·{a}_j) + σ({b}_i·{b}_j))² and gradients → {} ({} · {}, {} splits)",
            s.name(self.partial),
            s.dims(self.za),
            s.dims(self.zb),
            self.layout.splits,
            a = s.name(self.za),
            b = s.name(self.zb),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![pair_mse(
            ctx.gpu(),
            &ctx.matrix(self.za)?,
            &ctx.matrix(self.zb)?,
            self.layout,
            &ctx.array(self.partial)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (la, lb) = (ctx.tensor(self.za).cols, ctx.tensor(self.zb).cols);
        let out = cpu::pair_mse(
            ctx.f32(self.za)?,
            ctx.f32(self.zb)?,
            la,
            lb,
            self.layout,
        );
        ctx.set_f32(self.partial, out)
    }
}
