//! `shaders/pair_mse_gradient.wgsl`: the second pass of the dense pair MSE — one block's
//! coefficients (from `pair_mse`) times za or zb, added to the block's rows of the dense
//! gradient sums that `pair_mse_sparse` finishes.

use std::ops::Range;

use serde::Serialize;

use super::pair_mse::{check_shapes, PairMseBlocks};
use super::{flag, subgroup_choice, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{AdapterClass, Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The coefficient-block product kernel.
pub static PAIR_MSE_GRADIENT: KernelDef = KernelDef {
    name: "pair_mse_gradient",
    source: subgroup_source!(without, "pair_mse_gradient.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("coefficients"),
        BindingDef::read("z"),
        BindingDef::write("dense"),
    ],
};

/// [`PAIR_MSE_GRADIENT`] with subgroup operations: its subgroup layout (`SG`), where the
/// device has them.
pub static PAIR_MSE_GRADIENT_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "pair_mse_gradient.wgsl"),
    ..PAIR_MSE_GRADIENT
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
        row_blocks: u32,
    }
}

/// Which of the two products: C_a · za into ga, or C_b · zb into gb.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Factor {
    /// ga = C_a · za.
    A,
    /// gb = C_b · zb.
    B,
}

/// Where factor `factor`'s coefficients start in the coefficient buffer and its
/// gradient in the dense sums (floats), for n nodes and za's width la.
pub fn offsets(blocks: PairMseBlocks, factor: Factor, n: usize, la: usize) -> (usize, usize) {
    let grads = blocks.splits * n;
    match factor {
        Factor::A => (0, grads),
        Factor::B => (blocks.coefficients_len(n) / 2, grads + n * la),
    }
}

/// Rows and column groups per invocation for `col_groups` groups of 4 output columns:
/// matmul's A·B blocking on CPU adapters (4 rows, 2 groups: each C vec4 serves 8
/// outputs, each z vec4 4 rows), 1 × 1 on GPUs.
fn blocking(gpu: &Gpu, col_groups: usize) -> (usize, usize) {
    if gpu.profile().class == AdapterClass::Gpu {
        return (1, 1);
    }
    let profile = gpu.profile().matmul;
    (profile.rows, profile.column_groups.clamp(1, 8).min(col_groups))
}

/// The gradient sums of the rows `block` for `factor`: C_a · za (or C_b · zb) over the
/// columns ≥ block.start, from the coefficients `pair_mse` left for that block, added to
/// the block's rows of ga (gb) in `dense` (written for the first block).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_gradient(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    factor: Factor,
    blocks: PairMseBlocks,
    block: Range<usize>,
    coefficients: &GpuArray<f32>,
    dense: &GpuArray<f32>,
) -> Result<Dispatch> {
    check_shapes(
        gpu,
        "pair_mse_gradient",
        za,
        zb,
        blocks,
        &block,
        coefficients,
        dense,
    )?;
    let (n, la) = (za.rows(), za.cols());
    let z = match factor {
        Factor::A => za,
        Factor::B => zb,
    };
    let l = z.cols();
    let col_groups = l.div_ceil(4);
    let aligned = l % 4 == 0;
    let (def, subgroup) =
        subgroup_choice(gpu, aligned, &PAIR_MSE_GRADIENT, &PAIR_MSE_GRADIENT_SUBGROUPS);
    let (r, mut cpl) = blocking(gpu, col_groups);
    let mut constants = vec![
        ("L", l as f64),
        ("R", r as f64),
        ("ALIGNED", flag(aligned)),
        ("SG", f64::from(subgroup)),
    ];
    if subgroup > 0 {
        // One workgroup is one subgroup, whose lanes share the 4·CPL loads of z.
        cpl = cpl.min(subgroup as usize / 4);
        constants.push(("WG", f64::from(subgroup)));
    }
    constants.push(("CPL", cpl as f64));
    let lanes = col_groups.div_ceil(cpl);
    let pipeline = gpu.pipeline_with(def, &constants)?;
    let wg = pipeline.workgroup_size() as usize;
    let row_blocks = block.len().div_ceil(wg * r);
    let (c_offset, out_offset) = offsets(blocks, factor, n, la);
    let params = Params {
        n: to_u32("pair_mse_gradient nodes", n)?,
        row0: to_u32("pair_mse_gradient first row", block.start)?,
        rows: to_u32("pair_mse_gradient rows", block.len())?,
        c_offset: to_u32("pair_mse_gradient coefficients", c_offset / 4)?,
        out_offset: to_u32("pair_mse_gradient dense", out_offset)?,
        col_groups: to_u32("pair_mse_gradient column groups", col_groups)?,
        lanes: to_u32("pair_mse_gradient lanes", lanes)?,
        row_blocks: to_u32("pair_mse_gradient row blocks", row_blocks)?,
    };
    to_u32("pair_mse_gradient dense", dense.len())?;
    to_u32("pair_mse_gradient coefficients", coefficients.len())?;
    let grid = gpu.grid((lanes * row_blocks * wg) as u64, wg as u32)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::array(coefficients), Bind::matrix(z), Bind::array(dense)],
        grid,
    )
}

/// `rows` rows of coefficients (`cols` columns) times z (cols × l): flops = 2·rows·cols·l;
/// bytes: the coefficients, z's rows, the gradient rows read and written.
pub fn work(rows: usize, cols: usize, l: usize) -> Work {
    let (rows, cols, l) = (rows as f64, cols as f64, l as f64);
    Work {
        flops: 2.0 * rows * cols * l,
        bytes: WORD * (rows * cols + cols * l + 2.0 * rows * l),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `pair_mse_gradient` in a schedule: one block's ga or gb.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairMseGradientStep {
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
    /// The dense sums (the block's rows of ga or gb added to).
    pub dense: TensorId,
}

impl PairMseGradientStep {
    fn z(&self) -> TensorId {
        match self.factor {
            Factor::A => self.za,
            Factor::B => self.zb,
        }
    }
}

impl ScheduleOp for PairMseGradientStep {
    fn kernel(&self) -> &'static KernelDef {
        &PAIR_MSE_GRADIENT
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        // za's width places gb in the dense sums; the block's rows are added to.
        Accesses::new(
            [self.za, self.zb, self.coefficients, self.dense],
            [self.dense],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z());
        work(self.rows, z.rows - self.row0, z.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "rows {}..{}: {}[{:?}] · {} (columns from {0}) → + {} ({} splits)",
            self.row0,
            self.row0 + self.rows,
            s.name(self.coefficients),
            self.factor,
            s.name(self.z()),
            s.name(self.dense),
            self.blocks.splits,
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![pair_mse_gradient(
            ctx.gpu(),
            &ctx.matrix(self.za)?,
            &ctx.matrix(self.zb)?,
            self.factor,
            self.blocks,
            self.row0..self.row0 + self.rows,
            &ctx.array(self.coefficients)?,
            &ctx.array(self.dense)?,
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (la, lb) = (ctx.tensor(self.za).cols, ctx.tensor(self.zb).cols);
        let mut dense = ctx.take_f32(self.dense)?;
        cpu::pair_mse_gradient(
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
