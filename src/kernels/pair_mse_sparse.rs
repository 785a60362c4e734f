//! `shaders/pair_mse_sparse.wgsl`: finishes `pair_mse`, `pair_mse_gradient` and
//! `pair_mse_mirror` — a node's loss splits in order, the correction over the target matrix's nonzeros
//! (through S = A + Aᵀ) and the scale κ.

use serde::Serialize;

use super::pair_mse::{check_bindings, PairMseBlocks, MAX_WIDTH_A, MAX_WIDTH_B};
use super::{check, flag, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, KernelDef};

/// The pair-MSE finishing kernel.
pub static PAIR_MSE_SPARSE: KernelDef = KernelDef {
    name: "pair_mse_sparse",
    source: shader_source!("pair_mse_sparse.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("za"),
        BindingDef::read("zb"),
        BindingDef::read("dense"),
        BindingDef::read("row_ptr"),
        BindingDef::read("col_idx"),
        BindingDef::read("values"),
        BindingDef::write("dza"),
        BindingDef::write("dzb"),
        BindingDef::write("loss_rows"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        splits: u32,
        kappa: f32,
        _pad0: u32,
    }
}

/// The outputs of [`pair_mse_sparse`].
pub struct PairMseOutputs<'a> {
    /// n × la: κ·(dense − correction) (added to with `accumulate`).
    pub dza: &'a GpuMatrix,
    /// n × lb: likewise.
    pub dzb: &'a GpuMatrix,
    /// n: D_i − Σ_j S_ij (a + b), D_i the row's share of Σ_ij (a + b)² (see the shader);
    /// only their sum is Σ_ij (a + b)² − Σ_ij S_ij (a + b).
    pub loss_rows: &'a GpuArray<f32>,
}

/// Finishes the pair MSE: `dense` from [`pair_mse`](super::pair_mse::pair_mse) and
/// [`pair_mse_gradient`](super::pair_mse_gradient::pair_mse_gradient) in `blocks`, `s`
/// = A + Aᵀ (n × n), κ = 2w / n² for w·mean((a + b − A)²).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_sparse(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    dense: &GpuArray<f32>,
    blocks: PairMseBlocks,
    s: &GpuCsr,
    kappa: f32,
    accumulate: bool,
    out: PairMseOutputs<'_>,
) -> Result<Dispatch> {
    let (n, la, lb) = (za.rows(), za.cols(), zb.cols());
    check(n > 0 && zb.rows() == n, "pair_mse_sparse", "zb", || {
        format!("za has {n} rows, zb {} (both must have at least one)", zb.rows())
    })?;
    check(
        (1..=MAX_WIDTH_A).contains(&la) && (1..=MAX_WIDTH_B).contains(&lb),
        "pair_mse_sparse",
        "za",
        || format!("widths {la} and {lb} must be 1..={MAX_WIDTH_A} and 1..={MAX_WIDTH_B}"),
    )?;
    check(
        dense.len() == blocks.dense_len(n, la, lb),
        "pair_mse_sparse",
        "dense",
        || format!("dense has {} values for {} splits", dense.len(), blocks.splits),
    )?;
    check(s.rows() == n && s.cols() == n, "pair_mse_sparse", "s", || {
        format!("S is {} x {}, expected {n} x {n}", s.rows(), s.cols())
    })?;
    check(
        out.dza.rows() == n
            && out.dza.cols() == la
            && out.dzb.rows() == n
            && out.dzb.cols() == lb
            && out.loss_rows.len() == n,
        "pair_mse_sparse",
        "out",
        || "outputs must be n x la, n x lb and n".into(),
    )?;
    check_bindings(
        gpu,
        "pair_mse_sparse",
        &[
            ("za", za.data().bytes()),
            ("zb", zb.data().bytes()),
            ("dense", dense.bytes()),
            ("col_idx", s.col_idx.bytes()),
            ("dzb", out.dzb.data().bytes()),
        ],
    )?;
    let pipeline = gpu.pipeline_with(
        &PAIR_MSE_SPARSE,
        &[
            ("LA", la as f64),
            ("LB", lb as f64),
            ("ALIGNED", flag(la % 4 == 0 && lb % 4 == 0)),
            ("ACCUMULATE", flag(accumulate)),
        ],
    )?;
    let params = Params {
        n: to_u32("pair_mse_sparse nodes", n)?,
        splits: to_u32("pair_mse_sparse splits", blocks.splits)?,
        kappa,
        _pad0: 0,
    };
    let grid = gpu.grid(n as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(za),
            Bind::matrix(zb),
            Bind::array(dense),
            Bind::array(&s.row_ptr),
            Bind::array(&s.col_idx),
            Bind::array(&s.values),
            Bind::matrix(out.dza),
            Bind::matrix(out.dzb),
            Bind::array(out.loss_rows),
        ],
        grid,
    )
}

/// n nodes, `nnz` entries of S, widths la and lb: flops = the loss splits' sums plus
/// 4·(la + lb) per entry; bytes: dense sums, S, za and zb, outputs.
pub fn work(n: usize, nnz: usize, la: usize, lb: usize, splits: usize) -> Work {
    let (n, nnz, w, splits) = (n as f64, nnz as f64, (la + lb) as f64, splits as f64);
    Work {
        flops: splits * n + 4.0 * nnz * w,
        bytes: WORD * (n * (splits + w) + (n + 1.0) + 2.0 * nnz + 2.0 * n * w + n),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, SparseId, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `pair_mse_sparse` in a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairMseSparseStep {
    /// n × la.
    pub za: TensorId,
    /// n × lb.
    pub zb: TensorId,
    /// The dense sums of pair_mse and pair_mse_gradient.
    pub dense: TensorId,
    /// Their layout.
    pub blocks: PairMseBlocks,
    /// S = A + Aᵀ.
    pub s: SparseId,
    /// κ = 2w / n².
    pub kappa: f32,
    /// Whether dza and dzb are added to.
    pub accumulate: bool,
    /// n × la.
    pub dza: TensorId,
    /// n × lb.
    pub dzb: TensorId,
    /// n × 1.
    pub loss_rows: TensorId,
}

impl ScheduleOp for PairMseSparseStep {
    fn kernel(&self) -> &'static KernelDef {
        &PAIR_MSE_SPARSE
    }

    fn accesses(&self, s: &Schedule) -> Accesses {
        let accumulated = if self.accumulate {
            vec![self.dza, self.dzb]
        } else {
            vec![]
        };
        Accesses::new(
            [self.za, self.zb, self.dense]
                .into_iter()
                .chain(s.sparse(self.s).tensors())
                .chain(accumulated),
            [self.dza, self.dzb, self.loss_rows],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let (za, zb) = (s.tensor(self.za), s.tensor(self.zb));
        work(za.rows, s.sparse(self.s).nnz, za.cols, zb.cols, self.blocks.splits)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} + {} correction → {}, {}, {} (κ = {:e})",
            s.name(self.dense),
            s.sparse(self.s).name,
            s.name(self.dza),
            s.name(self.dzb),
            s.name(self.loss_rows),
            self.kappa
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        Ok(vec![pair_mse_sparse(
            ctx.gpu(),
            &ctx.matrix(self.za)?,
            &ctx.matrix(self.zb)?,
            &ctx.array(self.dense)?,
            self.blocks,
            &ctx.csr(self.s)?,
            self.kappa,
            self.accumulate,
            PairMseOutputs {
                dza: &ctx.matrix(self.dza)?,
                dzb: &ctx.matrix(self.dzb)?,
                loss_rows: &ctx.array(self.loss_rows)?,
            },
        )?])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (la, lb) = (ctx.tensor(self.za).cols, ctx.tensor(self.zb).cols);
        let previous = match self.accumulate {
            true => Some((ctx.f32(self.dza)?.to_vec(), ctx.f32(self.dzb)?.to_vec())),
            false => None,
        };
        let (dza, dzb, loss) = cpu::pair_mse_sparse(
            ctx.f32(self.za)?,
            ctx.f32(self.zb)?,
            la,
            lb,
            ctx.f32(self.dense)?,
            self.blocks,
            ctx.csr(self.s)?,
            self.kappa,
            previous.as_ref().map(|(a, b)| (a.as_slice(), b.as_slice())),
        );
        ctx.set_f32(self.dza, dza)?;
        ctx.set_f32(self.dzb, dzb)?;
        ctx.set_f32(self.loss_rows, loss)
    }
}
