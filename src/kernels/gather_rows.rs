//! `shaders/gather_rows.wgsl`: `out = src[index]` row by row (`Z[S]` for the subgraph
//! objective).

use super::{check, flag, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row gather kernel.
pub static GATHER_ROWS: KernelDef = KernelDef {
    name: "gather_rows",
    source: shader_source!("gather_rows.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("src"),
        BindingDef::read("index"),
        BindingDef::write("out"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        src_stride: u32,
        src_rows: u32,
        src_lo: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// out (index.len() × out.cols()) = the rows `index` of `src`, first `out.cols()`
/// columns. Indices are not checked on the device (the shader clamps them): the
/// caller guarantees `index[r] < src.rows()`. Where src exceeds one binding, one
/// dispatch per window of its rows, each copying the rows that fall in it.
pub fn gather_rows(
    gpu: &Gpu,
    src: &GpuMatrix,
    index: &GpuArray<u32>,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    check(
        out.rows() == index.len() && out.cols() <= src.cols() && src.rows() > 0,
        "gather_rows",
        "out",
        || {
            format!(
                "{} indices into {} x {} for an output of {} x {}",
                index.len(),
                src.rows(),
                src.cols(),
                out.rows(),
                out.cols()
            )
        },
    )?;
    to_u32("gather_rows elements", out.rows() * out.cols())?;
    to_u32("gather_rows source elements", src.rows() * src.cols())?;
    let src_row_bytes = src.cols() as u64 * WORD_BYTES;
    let windows = row_windows(gpu, "gather_rows source", src.rows(), &[src_row_bytes], 1)?;
    let pipeline = gpu.pipeline_with(&GATHER_ROWS, &[("WINDOWED", flag(windows.len() > 1))])?;
    let grid = gpu.grid((out.rows() * out.cols()) as u64, pipeline.workgroup_size())?;
    windows
        .into_iter()
        .map(|window| {
            let params = Params {
                rows: to_u32("gather_rows rows", out.rows())?,
                cols: to_u32("gather_rows cols", out.cols())?,
                src_stride: to_u32("gather_rows stride", src.cols())?,
                src_rows: to_u32("gather_rows source rows", window.len())?,
                src_lo: to_u32("gather_rows source rows", window.start)?,
                _pad0: 0,
                _pad1: 0,
                _pad2: 0,
            };
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(src, window),
                    Bind::array(index),
                    Bind::matrix(out),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols gathered: reads the index (rows) and the rows, writes the output;
/// flops = 0.
pub fn work(rows: usize, cols: usize) -> Work {
    let (rows, cols) = (rows as f64, cols as f64);
    Work {
        flops: 0.0,
        bytes: WORD * (rows + 2.0 * rows * cols),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `gather_rows` in a schedule: `out = src[index]` (the subgraph's rows of Z).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GatherRowsStep {
    /// Rows to gather from (its first `out` columns).
    pub src: TensorId,
    /// Row indices (u32, the epoch's sample).
    pub index: TensorId,
    /// Gathered rows.
    pub out: TensorId,
}

impl ScheduleOp for GatherRowsStep {
    fn kernel(&self) -> &'static KernelDef {
        &GATHER_ROWS
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.src, self.index], [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let out = s.tensor(self.out);
        work(out.rows, out.cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {} ({})",
            s.name(self.src),
            s.name(self.out),
            s.dims(self.out)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        gather_rows(
            ctx.gpu(),
            &ctx.matrix(self.src)?,
            &ctx.array(self.index)?,
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (stride, cols) = (ctx.tensor(self.src).cols, ctx.tensor(self.out).cols);
        let out = cpu::gather_rows(ctx.f32(self.src)?, stride, cols, ctx.u32(self.index)?);
        ctx.set_f32(self.out, out)
    }
}
