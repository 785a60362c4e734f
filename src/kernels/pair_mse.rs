//! `shaders/pair_mse.wgsl`: the dense part of DFCN's 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â),
//! block of rows by block of rows, never storing N×N: the coefficient block and the loss
//! sums; `pair_mse_gradient` multiplies the block into the gradients and
//! `pair_mse_sparse` finishes them. Also home of [`ColumnSplits`], the layout the DFCN
//! N² row passes share.

use serde::Serialize;

use super::{check, flag, subgroup_choice, to_u32, Work, WORD};
use crate::error::{Error, Result};
use crate::gpu::windows::fits_binding;
use crate::gpu::{AdapterClass, AdapterProfile, Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, Pipeline};

/// The dense pair-MSE kernel.
pub static PAIR_MSE: KernelDef = KernelDef {
    name: "pair_mse",
    source: subgroup_source!(without, "pair_mse.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("za"),
        BindingDef::read("zb"),
        BindingDef::write("coefficients"),
        BindingDef::write("dense"),
    ],
};

/// [`PAIR_MSE`] with subgroup operations: its subgroup layout (`SG`), where the device
/// has them.
pub static PAIR_MSE_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "pair_mse.wgsl"),
    ..PAIR_MSE
};

kernel_params! {
    struct Params {
        n: u32,
        row0: u32,
        rows: u32,
        splits: u32,
        chunk_quads: u32,
        row_blocks: u32,
        half: u32,
        _pad0: u32,
    }
}

/// Widest za (the shader's `LA`).
pub const MAX_WIDTH_A: usize = 64;
/// Widest zb (the shader's `LB`).
pub const MAX_WIDTH_B: usize = 128;
/// Most column splits of the DFCN row passes (and of `pair_mse`'s loss sums).
pub const MAX_SPLITS: usize = 64;

/// How the DFCN N² row passes (`attention_forward`, `attention_backward`; `pair_mse`'s
/// [`PairMseBlocks`] take their splits from it) cut the columns: `splits` consecutive chunks of ⌈n / splits⌉ columns (the last ones
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

/// Most device bytes [`PairMseBlocks::new`] gives the coefficient blocks (C_a and C_b of
/// one block of rows): 32 MiB, Pubmed's 19,717 nodes in blocks of 192 rows.
pub const COEFFICIENT_BUDGET: usize = 32 << 20;

/// Rows of a block where the budget allows more: smaller blocks visit fewer ordered
/// pairs twice (the diagonal blocks) but take more dispatches; on llvmpipe 256 rows beat
/// 1,216 and 128 at Citeseer's size (benches/RESULTS.md).
pub const BLOCK_ROWS: usize = 256;

/// How `pair_mse` cuts the dense pair MSE: blocks of `rows` consecutive rows (the last
/// one shorter), each a pass of `pair_mse` (the block's coefficients against the columns
/// from its first row on: every unordered pair once), two of `pair_mse_gradient` (its
/// own rows' sums) and, but for the last block, two of `pair_mse_mirror` (the mirrored
/// sums of the rows past it), through one coefficient buffer of 2 × rows ×
/// [`padded_columns`]; and `splits` column splits of each block's loss sums (chunks of
/// [`PairMseBlocks::chunk_quads`] column quads), summed in split order by
/// `pair_mse_sparse`. Every gradient value is the same chain of sums in the same order
/// whatever the register blocking (the mirrored contributions of the earlier blocks in
/// block order, then the row's own), so the results depend on `rows` and `splits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PairMseBlocks {
    /// Rows per block, ≥ 1.
    pub rows: usize,
    /// Column splits of each block's loss sums, 1..=[`MAX_SPLITS`].
    pub splits: usize,
}

impl PairMseBlocks {
    /// Blocks of [`BLOCK_ROWS`] rows, fewer where [`COEFFICIENT_BUDGET`] allows fewer (a
    /// multiple of 64 where at least 64 fit), and as many splits as give a block the
    /// threads `layout` gives the whole graph (`layout.splits` · n).
    pub fn new(n: usize, layout: ColumnSplits) -> Self {
        let n = n.max(1);
        let fit = COEFFICIENT_BUDGET / (2 * 4 * padded_columns(n));
        let fit = if fit >= 64 { fit / 64 * 64 } else { fit.max(1) };
        let rows = fit.min(BLOCK_ROWS).min(n);
        let splits = (layout.splits * n).div_ceil(rows);
        PairMseBlocks {
            rows,
            splits: splits.clamp(1, MAX_SPLITS).min(n.div_ceil(4)),
        }
    }

    /// The blocks' row ranges over `n` rows, in order.
    pub fn blocks(&self, n: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let rows = self.rows.max(1);
        (0..n.div_ceil(rows)).map(move |b| b * rows..((b + 1) * rows).min(n))
    }

    /// Column quads per split of the block starting at row `row0`, for `n` columns: its
    /// columns are the quads from ⌊row0 / 4⌋ on.
    pub fn chunk_quads(&self, n: usize, row0: usize) -> usize {
        (n.div_ceil(4) - (row0 / 4).min(n.div_ceil(4)))
            .div_ceil(self.splits.max(1))
            .max(1)
    }

    /// The columns of split `s` of the block starting at row `row0`, for `n` columns
    /// (those < row0 of the first quad included: the kernel skips them).
    pub fn columns(&self, n: usize, row0: usize, s: usize) -> std::ops::Range<usize> {
        let chunk = 4 * self.chunk_quads(n, row0);
        let start = (4 * (row0 / 4) + s * chunk).min(n);
        start..(start + chunk).min(n)
    }

    /// Floats of the coefficient buffer: C_a and C_b, rows × [`padded_columns`] each.
    pub fn coefficients_len(&self, n: usize) -> usize {
        2 * self.rows * padded_columns(n)
    }

    /// Floats of the dense sums `pair_mse_sparse` reads: splits × n loss sums (split s,
    /// node i at s·n + i), then ga (n × la), then gb (n × lb).
    pub fn dense_len(&self, n: usize, la: usize, lb: usize) -> usize {
        self.splits * n + n * (la + lb)
    }
}

/// Columns of a coefficient row: `n` rounded up to a multiple of 4 (zeros past n), so
/// that its rows are whole vec4s.
pub fn padded_columns(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Fails unless za (n × la) and zb (n × lb) suit the pair MSE's kernels: n ≥ 1, the
/// widths within the shaders' bounds, `blocks` valid and `block` one of its ranges'
/// sizes within n, the coefficient and dense buffers of the sizes `blocks` gives.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_shapes(
    gpu: &Gpu,
    kernel: &str,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    blocks: PairMseBlocks,
    block: &std::ops::Range<usize>,
    coefficients: &GpuArray<f32>,
    dense: &GpuArray<f32>,
) -> Result<()> {
    let (n, la, lb) = (za.rows(), za.cols(), zb.cols());
    check(n > 0 && zb.rows() == n, kernel, "zb", || {
        format!("za has {n} rows, zb {} (both must have at least one)", zb.rows())
    })?;
    check(
        (1..=MAX_WIDTH_A).contains(&la) && (1..=MAX_WIDTH_B).contains(&lb),
        kernel,
        "za",
        || format!("widths {la} and {lb} must be 1..={MAX_WIDTH_A} and 1..={MAX_WIDTH_B}"),
    )?;
    check(
        blocks.rows >= 1 && (1..=MAX_SPLITS).contains(&blocks.splits),
        kernel,
        "blocks",
        || format!("{blocks:?}: rows must be at least 1, splits 1..={MAX_SPLITS}"),
    )?;
    check(
        block.start < block.end && block.end <= n && block.len() <= blocks.rows,
        kernel,
        "block",
        || format!("rows {block:?} of {n}, blocks of {}", blocks.rows),
    )?;
    check(
        coefficients.len() == blocks.coefficients_len(n),
        kernel,
        "coefficients",
        || {
            format!(
                "{} values, expected {}",
                coefficients.len(),
                blocks.coefficients_len(n)
            )
        },
    )?;
    check(dense.len() == blocks.dense_len(n, la, lb), kernel, "dense", || {
        format!(
            "{} values, expected {}",
            dense.len(),
            blocks.dense_len(n, la, lb)
        )
    })?;
    check_bindings(
        gpu,
        kernel,
        &[
            ("za", za.data().bytes()),
            ("zb", zb.data().bytes()),
            ("coefficients", coefficients.bytes()),
            ("dense", dense.bytes()),
        ],
    )
}

/// Rows and column quads per invocation of `pair_mse`: 4 × 2 on CPU adapters (each row
/// vec4 loaded serves 8 columns, each column vec4 4 rows; measured on llvmpipe against
/// 2 × 2, 4 × 1, 8 × 1 and 2 × 4, benches/RESULTS.md), 1 × 1 on GPUs.
fn blocking(profile: &AdapterProfile) -> (usize, usize) {
    match profile.class {
        AdapterClass::Gpu => (1, 1),
        _ => (4, 2),
    }
}

/// The first pass of the pair MSE over za (n × la) and zb (n × lb) for the rows `block`
/// (one of `blocks.blocks(n)`): their coefficients against the columns ≥ block.start
/// into `coefficients` and their loss sums into `dense` (see [`PairMseBlocks`]).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    blocks: PairMseBlocks,
    block: std::ops::Range<usize>,
    coefficients: &GpuArray<f32>,
    dense: &GpuArray<f32>,
) -> Result<Dispatch> {
    check_shapes(gpu, "pair_mse", za, zb, blocks, &block, coefficients, dense)?;
    let (n, la, lb) = (za.rows(), za.cols(), zb.cols());
    let aligned = la % 4 == 0 && lb % 4 == 0;
    let (def, subgroup) = subgroup_choice(gpu, aligned, &PAIR_MSE, &PAIR_MSE_SUBGROUPS);
    let (r, mut cpl) = blocking(gpu.profile());
    let mut constants = vec![
        ("LA", la as f64),
        ("LB", lb as f64),
        ("R", r as f64),
        ("ALIGNED", flag(aligned)),
        ("SG", f64::from(subgroup)),
    ];
    if subgroup > 0 {
        // One workgroup is one subgroup, whose lanes share the 4·CPL column loads.
        cpl = cpl.min(subgroup as usize / 4);
        constants.push(("WG", f64::from(subgroup)));
    }
    constants.push(("CPL", cpl as f64));
    let pipeline = gpu.pipeline_with(def, &constants)?;
    let wg = pipeline.workgroup_size() as usize;
    let row_blocks = block.len().div_ceil(wg * r);
    to_u32("pair_mse dense", dense.len())?;
    to_u32("pair_mse coefficients", coefficients.len())?;
    let params = Params {
        n: to_u32("pair_mse nodes", n)?,
        row0: to_u32("pair_mse first row", block.start)?,
        rows: to_u32("pair_mse rows", block.len())?,
        splits: to_u32("pair_mse splits", blocks.splits)?,
        chunk_quads: to_u32("pair_mse chunk", blocks.chunk_quads(n, block.start))?,
        row_blocks: to_u32("pair_mse row blocks", row_blocks)?,
        half: to_u32("pair_mse half", blocks.coefficients_len(n) / 8)?,
        _pad0: 0,
    };
    let grid = gpu.grid((blocks.splits * row_blocks * wg) as u64, wg as u32)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(za),
            Bind::matrix(zb),
            Bind::array(coefficients),
            Bind::array(dense),
        ],
        grid,
    )
}

/// `rows` rows against `cols` columns of widths la and lb (n nodes): flops = 2·(la + lb)
/// per pair (the two Gram sums) plus ~20 for the sigmoids and coefficients; bytes: za
/// and zb, the coefficients written, the loss sums.
pub fn work(rows: usize, cols: usize, n: usize, la: usize, lb: usize, splits: usize) -> Work {
    let (rows, cols, n) = (rows as f64, cols as f64, n as f64);
    let (w, splits) = ((la + lb) as f64, splits as f64);
    Work {
        flops: rows * cols * (2.0 * w + 20.0),
        bytes: WORD * (n * w + 2.0 * rows * cols + splits * rows),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `pair_mse` in a schedule: one block's coefficients and loss sums.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairMseStep {
    /// n × la (DFCN: Z_G).
    pub za: TensorId,
    /// n × lb (DFCN: Ẑ).
    pub zb: TensorId,
    /// The blocks and splits.
    pub blocks: PairMseBlocks,
    /// This block's first row.
    pub row0: usize,
    /// This block's rows.
    pub rows: usize,
    /// [`PairMseBlocks::coefficients_len`] floats.
    pub coefficients: TensorId,
    /// [`PairMseBlocks::dense_len`] floats (the loss sums of the block's rows written).
    pub dense: TensorId,
}

impl ScheduleOp for PairMseStep {
    fn kernel(&self) -> &'static KernelDef {
        &PAIR_MSE
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        // It writes its block's part of both (the rest keeps the earlier blocks').
        Accesses::new([self.za, self.zb], [self.coefficients, self.dense])
    }

    fn work(&self, s: &Schedule) -> Work {
        let (za, zb) = (s.tensor(self.za), s.tensor(self.zb));
        let cols = za.rows - self.row0;
        work(self.rows, cols, za.rows, za.cols, zb.cols, self.blocks.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "rows {}..{}, columns from {0}: (σ({a}_i·{a}_j) + σ({b}_i·{b}_j)) σ'(·) → {}, Σ_j w_j (·)² → {} ({} · {}, {} splits)",
            self.row0,
            self.row0 + self.rows,
            s.name(self.coefficients),
            s.name(self.dense),
            s.dims(self.za),
            s.dims(self.zb),
            self.blocks.splits,
            a = s.name(self.za),
            b = s.name(self.zb),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![pair_mse(
            ctx.gpu(),
            &ctx.matrix(self.za)?,
            &ctx.matrix(self.zb)?,
            self.blocks,
            self.row0..self.row0 + self.rows,
            &ctx.array(self.coefficients)?,
            &ctx.array(self.dense)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (la, lb) = (ctx.tensor(self.za).cols, ctx.tensor(self.zb).cols);
        let mut coefficients = ctx.take_written_f32(self.coefficients)?;
        let mut dense = ctx.take_written_f32(self.dense)?;
        cpu::pair_mse(
            ctx.f32(self.za)?,
            ctx.f32(self.zb)?,
            la,
            lb,
            self.blocks,
            self.row0..self.row0 + self.rows,
            &mut coefficients,
            &mut dense,
        );
        ctx.set_f32(self.coefficients, coefficients)?;
        ctx.set_f32(self.dense, dense)
    }
}
