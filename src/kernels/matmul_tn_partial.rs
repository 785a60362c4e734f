//! `shaders/matmul_tn_partial.wgsl`: the chunk partials of out = Aᵀ · B, reduced over
//! the long dimension (d[Wμ|Wσ] = H1ᵀ·dY); `reduce_sum` adds the chunks.

use super::{check, flag, subgroup_choice, to_u32, Work, WORD, WORD_BYTES};
use crate::error::{Error, Result};
use crate::gpu::windows::{alignment_step, fits_binding, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The per-chunk partial product kernel.
pub static MATMUL_TN_PARTIAL: KernelDef = KernelDef {
    name: "matmul_tn_partial",
    source: subgroup_source!(without, "matmul_tn_partial.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("a"),
        BindingDef::read("b"),
        BindingDef::write("partial"),
    ],
};

/// [`MATMUL_TN_PARTIAL`] with subgroup operations: the blocked layout's subgroup form
/// (`SG`), where the device has them.
pub static MATMUL_TN_PARTIAL_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "matmul_tn_partial.wgsl"),
    ..MATMUL_TN_PARTIAL
};

/// Rows of A and B one invocation reduces before the chunks are summed.
pub const CHUNK_ROWS: usize = 256;

kernel_params! {
    struct Params {
        m: u32,
        k: u32,
        n: u32,
        chunk_rows: u32,
        chunks: u32,
        col_groups: u32,
        lanes: u32,
        i_blocks: u32,
    }
}

/// Row chunks of an `m`-row reduction: the rows of the partial output.
pub fn chunks(m: usize) -> usize {
    m.div_ceil(CHUNK_ROWS).max(1)
}

/// The kernel's layout (see its header): where the profile asks for it and k and n are
/// multiples of 4, a workgroup owns one chunk and a run of column groups, each
/// invocation 4 consecutive i, so every load of B is a broadcast serving 4 rows and
/// every vec4 of A serves the run's groups; the workgroup is then k / 4 rounded up to
/// 8 invocations, at most 64. Otherwise one invocation per (chunk, i, column group).
/// Returns (blocked, column groups per invocation, workgroup size).
fn layout(gpu: &Gpu, k: usize, n: usize) -> (bool, usize, usize) {
    let col_groups = n.div_ceil(4);
    let wg = gpu.profile().workgroup_size as usize;
    match gpu.profile().matmul_tn_blocked {
        Some(wanted) if k > 0 && k.is_multiple_of(4) && n.is_multiple_of(4) => {
            let per_invocation = if col_groups <= wanted {
                col_groups.max(1)
            } else {
                col_groups.div_ceil(col_groups.div_ceil(wanted))
            };
            (
                true,
                per_invocation,
                (k.div_ceil(4).max(1).div_ceil(8) * 8).min(64),
            )
        }
        _ => (false, 1, wg),
    }
}

/// partial (chunks × k × n) = per chunk of [`CHUNK_ROWS`] rows, aᵀ · b for a (m × k)
/// and b (m × n); the chunks are then summed by `reduce_sum` (rows = chunks,
/// cols = k·n).
pub fn matmul_tn_partial(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    partial: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    check(b.rows() == m, "matmul_tn_partial", "b", || {
        format!("A has {m} rows but B has {}", b.rows())
    })?;
    let chunks = chunks(m);
    check(partial.len() == chunks * k * n, "matmul_tn_partial", "partial", || {
        format!(
            "partial has {} elements, expected {chunks} x {k} x {n}",
            partial.len()
        )
    })?;
    let col_groups = n.div_ceil(4);
    let (blocked, per_invocation, wg) = layout(gpu, k, n);
    // The blocked layout's subgroup form: a workgroup of one subgroup.
    let (def, subgroup) = subgroup_choice(gpu, blocked, &MATMUL_TN_PARTIAL, &MATMUL_TN_PARTIAL_SUBGROUPS);
    let wg = if subgroup > 0 { subgroup as usize } else { wg };
    let lanes = col_groups.div_ceil(per_invocation);
    let i_blocks = k.div_ceil(4).div_ceil(wg);
    let pipeline = gpu.pipeline_with(
        def,
        &[
            ("WG", wg as f64),
            ("ALIGNED", flag(n.is_multiple_of(4))),
            ("CPL", per_invocation as f64),
            ("BLOCKED", flag(blocked)),
            ("SG", f64::from(subgroup)),
        ],
    )?;
    // Chunks are independent: past one binding, each window of whole chunks (of A's
    // and B's rows, and of the partial rows they produce) is a dispatch of its own,
    // with the same sums in the same order.
    let partial_bytes = (k * n) as u64 * WORD_BYTES;
    let row_bytes = [k as u64 * WORD_BYTES, n as u64 * WORD_BYTES];
    let granularity = CHUNK_ROWS * alignment_step(gpu, partial_bytes);
    let windows = row_windows(gpu, "matmul_tn_partial", m, &row_bytes, granularity)?;
    windows
        .into_iter()
        .map(|window| {
            let m = window.len();
            let first_chunk = window.start / CHUNK_ROWS;
            let chunks = self::chunks(m);
            let chunk_range = first_chunk * k * n..(first_chunk + chunks) * k * n;
            if !fits_binding(gpu, chunk_range.len() as u64 * WORD_BYTES) {
                return Err(Error::BufferTooLarge {
                    label: "gpu_vgae.matmul_tn_partial.partial".into(),
                    bytes: chunks as u64 * partial_bytes,
                    limit: gpu.binding_limit(),
                    limit_kind: "storage binding",
                });
            }
            let params = Params {
                m: to_u32("matmul_tn m", m)?,
                k: to_u32("matmul_tn k", k)?,
                n: to_u32("matmul_tn n", n)?,
                chunk_rows: CHUNK_ROWS as u32,
                chunks: to_u32("matmul_tn chunks", chunks)?,
                col_groups: to_u32("matmul_tn column groups", col_groups)?,
                lanes: to_u32("matmul_tn lanes", lanes)?,
                i_blocks: to_u32("matmul_tn row blocks", i_blocks)?,
            };
            to_u32("matmul_tn elements", m * k.max(n))?;
            let invocations = if blocked {
                chunks * i_blocks * lanes * wg
            } else {
                chunks * k * lanes
            };
            to_u32("matmul_tn invocations", invocations)?;
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(a, window.clone()),
                    Bind::rows(b, window),
                    Bind::elements(partial, chunk_range),
                ],
                grid,
            )
        })
        .collect()
}

/// partial (chunks × k × n) of Aᵀ (k × m) · B (m × n). flops = 2·m·k·n;
/// bytes = 4·(m·k + m·n) + 4·chunks·k·n.
pub fn work(m: usize, k: usize, n: usize) -> Work {
    let (c, m, k, n) = (chunks(m) as f64, m as f64, k as f64, n as f64);
    Work {
        flops: 2.0 * m * k * n,
        bytes: WORD * (m * k + m * n) + WORD * c * k * n,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `matmul_tn_partial` in a schedule: chunk partials of Aᵀ · B.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatmulTnPartialStep {
    /// m × k.
    pub a: TensorId,
    /// m × n.
    pub b: TensorId,
    /// chunks × (k·n).
    pub partial: TensorId,
}

impl ScheduleOp for MatmulTnPartialStep {
    fn kernel(&self) -> &'static KernelDef {
        &MATMUL_TN_PARTIAL
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.a, self.b], [self.partial])
    }

    fn work(&self, s: &Schedule) -> Work {
        let a = s.tensor(self.a);
        work(a.rows, a.cols, s.tensor(self.b).cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{}ᵀ·{} → {} ({}ᵀ · {})",
            s.name(self.a),
            s.name(self.b),
            s.name(self.partial),
            s.dims(self.a),
            s.dims(self.b)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        matmul_tn_partial(
            ctx.gpu(),
            &ctx.matrix(self.a)?,
            &ctx.matrix(self.b)?,
            &ctx.array(self.partial)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (m, k) = (ctx.tensor(self.a).rows, ctx.tensor(self.a).cols);
        let n = ctx.tensor(self.b).cols;
        let partial = cpu::matmul_tn_partial(ctx.f32(self.a)?, ctx.f32(self.b)?, m, k, n);
        ctx.set_f32(self.partial, partial)
    }
}
