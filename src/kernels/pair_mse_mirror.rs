//! `shaders/pair_mse_mirror.wgsl`: the third pass of the dense pair MSE — one block's
//! coefficients (from `pair_mse`), transposed, times the block's rows of za or zb, added
//! to the rows past the block of the dense gradient sums (the pairs (j, i) that the
//! symmetric coefficients let `pair_mse` skip).

use std::ops::Range;

use serde::Serialize;

use super::pair_mse::{check_shapes, PairMseBlocks};
use super::pair_mse_gradient::{offsets, Factor};
use super::{flag, subgroup_choice, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{AdapterClass, Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The mirrored coefficient-block product kernel.
pub static PAIR_MSE_MIRROR: KernelDef = KernelDef {
    name: "pair_mse_mirror",
    source: subgroup_source!(without, "pair_mse_mirror.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("coefficients"),
        BindingDef::read("z"),
        BindingDef::write("dense"),
    ],
};

/// [`PAIR_MSE_MIRROR`] with subgroup operations: its subgroup layout (`SG`), where the
/// device has them.
pub static PAIR_MSE_MIRROR_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "pair_mse_mirror.wgsl"),
    ..PAIR_MSE_MIRROR
};

kernel_params! {
    struct Params {
        n: u32,
        row0: u32,
        rows: u32,
        c_offset: u32,
        out_offset: u32,
        col_groups: u32,
        lanes: u32,
        quad_blocks: u32,
    }
}

/// Column groups per invocation for `col_groups` groups of 4 output columns: up to 4
/// on CPU adapters, spread evenly over as few lanes as that allows (each C vec4 loaded
/// serves 4 rows × 4·CPL columns), 1 on GPUs.
fn groups_per_invocation(gpu: &Gpu, col_groups: usize) -> usize {
    if gpu.profile().class == AdapterClass::Gpu {
        return 1;
    }
    let col_groups = col_groups.max(1);
    col_groups.div_ceil(col_groups.div_ceil(4))
}

/// Whether the block `block` of n rows has rows past it (a mirrored pass to run).
pub fn has_mirror(block: &Range<usize>, n: usize) -> bool {
    block.end < n
}

/// The mirrored gradient sums of the block `block` for `factor`: C_aᵀ · za[block] (or
/// C_bᵀ · zb[block]) added to the rows ≥ block.end of ga (gb) in `dense` (written for the
/// first block), from the coefficients `pair_mse` left for that block. Nothing to do
/// (no dispatch) for the last block: see [`has_mirror`].
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_mirror(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    factor: Factor,
    blocks: PairMseBlocks,
    block: Range<usize>,
    coefficients: &GpuArray<f32>,
    dense: &GpuArray<f32>,
) -> Result<Option<Dispatch>> {
    check_shapes(
        gpu,
        "pair_mse_mirror",
        za,
        zb,
        blocks,
        &block,
        coefficients,
        dense,
    )?;
    let (n, la) = (za.rows(), za.cols());
    if !has_mirror(&block, n) {
        return Ok(None);
    }
    let z = match factor {
        Factor::A => za,
        Factor::B => zb,
    };
    let l = z.cols();
    let col_groups = l.div_ceil(4);
    let aligned = l % 4 == 0;
    let (def, subgroup) =
        subgroup_choice(gpu, aligned, &PAIR_MSE_MIRROR, &PAIR_MSE_MIRROR_SUBGROUPS);
    let mut cpl = groups_per_invocation(gpu, col_groups);
    let mut constants = vec![
        ("L", l as f64),
        ("ALIGNED", flag(aligned)),
        ("SG", f64::from(subgroup)),
    ];
    if subgroup > 0 {
        // One workgroup is one subgroup, whose lanes share the CPL loads of z.
        cpl = cpl.min(subgroup as usize);
        constants.push(("WG", f64::from(subgroup)));
    }
    constants.push(("CPL", cpl as f64));
    let lanes = col_groups.div_ceil(cpl);
    let pipeline = gpu.pipeline_with(def, &constants)?;
    let wg = pipeline.workgroup_size() as usize;
    let out_quads = n.div_ceil(4) - block.end / 4;
    let quad_blocks = out_quads.div_ceil(wg);
    let (c_offset, out_offset) = offsets(blocks, factor, n, la);
    let params = Params {
        n: to_u32("pair_mse_mirror nodes", n)?,
        row0: to_u32("pair_mse_mirror first row", block.start)?,
        rows: to_u32("pair_mse_mirror rows", block.len())?,
        c_offset: to_u32("pair_mse_mirror coefficients", c_offset / 4)?,
        out_offset: to_u32("pair_mse_mirror dense", out_offset)?,
        col_groups: to_u32("pair_mse_mirror column groups", col_groups)?,
        lanes: to_u32("pair_mse_mirror lanes", lanes)?,
        quad_blocks: to_u32("pair_mse_mirror quad blocks", quad_blocks)?,
    };
    to_u32("pair_mse_mirror dense", dense.len())?;
    to_u32("pair_mse_mirror coefficients", coefficients.len())?;
    let grid = gpu.grid((lanes * quad_blocks * wg) as u64, wg as u32)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::array(coefficients), Bind::matrix(z), Bind::array(dense)],
        grid,
    )
    .map(Some)
}

/// `rows` rows of coefficients against `cols` later columns, times the block's rows of
/// z (width l): flops = 2·rows·cols·l; bytes: the coefficients, z's rows, the gradient
/// rows read and written.
pub fn work(rows: usize, cols: usize, l: usize) -> Work {
    let (rows, cols, l) = (rows as f64, cols as f64, l as f64);
    Work {
        flops: 2.0 * rows * cols * l,
        bytes: WORD * (rows * cols + rows * l + 2.0 * cols * l),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `pair_mse_mirror` in a schedule: one block's mirrored contributions to ga or gb
/// (the schedule leaves it out for the last block).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairMseMirrorStep {
    /// n × la (DFCN: Z_G).
    pub za: TensorId,
    /// n × lb (DFCN: Ẑ).
    pub zb: TensorId,
    /// Which product.
    pub factor: Factor,
    /// The blocks and splits.
    pub blocks: PairMseBlocks,
    /// This block's first row.
    pub row0: usize,
    /// This block's rows.
    pub rows: usize,
    /// `pair_mse`'s coefficients of this block.
    pub coefficients: TensorId,
    /// The dense sums (the rows past the block of ga or gb added to).
    pub dense: TensorId,
}

impl PairMseMirrorStep {
    fn z(&self) -> TensorId {
        match self.factor {
            Factor::A => self.za,
            Factor::B => self.zb,
        }
    }
}

impl ScheduleOp for PairMseMirrorStep {
    fn kernel(&self) -> &'static KernelDef {
        &PAIR_MSE_MIRROR
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        // za's width places gb in the dense sums; the rows past the block are added to.
        Accesses::new(
            [self.za, self.zb, self.coefficients, self.dense],
            [self.dense],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z());
        work(self.rows, z.rows - self.row0 - self.rows, z.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "rows {}..{}: {}[{:?}]ᵀ · {}[rows] → + {} (rows from {1})",
            self.row0,
            self.row0 + self.rows,
            s.name(self.coefficients),
            self.factor,
            s.name(self.z()),
            s.name(self.dense),
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(pair_mse_mirror(
            ctx.gpu(),
            &ctx.matrix(self.za)?,
            &ctx.matrix(self.zb)?,
            self.factor,
            self.blocks,
            self.row0..self.row0 + self.rows,
            &ctx.array(self.coefficients)?,
            &ctx.array(self.dense)?,
        )?
        .into_iter()
        .collect())
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (la, lb) = (ctx.tensor(self.za).cols, ctx.tensor(self.zb).cols);
        let mut dense = ctx.take_f32(self.dense)?;
        cpu::pair_mse_mirror(
            ctx.f32(self.za)?,
            ctx.f32(self.zb)?,
            la,
            lb,
            self.factor,
            self.blocks,
            self.row0..self.row0 + self.rows,
            ctx.f32(self.coefficients)?,
            &mut dense,
        );
        ctx.set_f32(self.dense, dense)
    }
}
