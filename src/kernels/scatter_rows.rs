//! `shaders/scatter_rows.wgsl`: `out[i] = scale · src[position[i]]` or 0 (dZ from the
//! subgraph decoder's gradient).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef, StepBuffer};

/// The scaled row scatter kernel.
pub static SCATTER_ROWS: KernelDef = KernelDef {
    name: "scatter_rows",
    source: concat!(
        shader_source!("shared/step.wgsl"),
        shader_source!("scatter_rows.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("src"),
        BindingDef::read("position"),
        BindingDef::write("out"),
        BindingDef::uniform("step"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        src_rows: u32,
        _pad0: u32,
    }
}

/// out (position.len() × src.cols()): row i is `step.decoder_scale · src[position[i]]`
/// where `position[i] < src.rows()`, else zeros. Rows of out are independent: past one
/// binding, one dispatch per window of them (and of `position`).
pub fn scatter_rows(
    gpu: &Gpu,
    src: &GpuMatrix,
    position: &GpuArray<u32>,
    step: &StepBuffer,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    check(
        out.rows() == position.len() && out.cols() == src.cols(),
        "scatter_rows",
        "out",
        || {
            format!(
                "{} positions and {} x {} rows for an output of {} x {}",
                position.len(),
                src.rows(),
                src.cols(),
                out.rows(),
                out.cols()
            )
        },
    )?;
    to_u32("scatter_rows elements", out.rows() * out.cols())?;
    let pipeline = gpu.pipeline(&SCATTER_ROWS)?;
    let row_bytes = [out.cols() as u64 * WORD_BYTES, WORD_BYTES];
    row_windows(gpu, "scatter_rows", out.rows(), &row_bytes, 1)?
        .into_iter()
        .map(|window| {
            let params = Params {
                rows: to_u32("scatter_rows rows", window.len())?,
                cols: to_u32("scatter_rows cols", out.cols())?,
                src_rows: to_u32("scatter_rows source rows", src.rows())?,
                _pad0: 0,
            };
            let grid = gpu.grid(
                (window.len() * out.cols()) as u64,
                pipeline.workgroup_size(),
            )?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::matrix(src),
                    Bind::elements(position, window.clone()),
                    Bind::rows(out, window),
                    Bind::Step(step),
                ],
                grid,
            )
        })
        .collect()
}

/// rows × cols written from src_rows × cols: reads the positions and the source rows,
/// writes every output element; flops = src_rows·cols (the scale).
pub fn work(rows: usize, cols: usize, src_rows: usize) -> Work {
    let (rows, cols, src_rows) = (rows as f64, cols as f64, src_rows as f64);
    Work {
        flops: src_rows * cols,
        bytes: WORD * (rows + src_rows * cols + rows * cols),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `scatter_rows` in a schedule: `out[i] = decoder_scale · src[position[i]]`, zero for
/// unsampled i (the step uniform's `decoder_scale`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScatterRowsStep {
    /// Rows of the sample.
    pub src: TensorId,
    /// Every node's row in the sample or u32::MAX (u32, the epoch's sample).
    pub position: TensorId,
    /// Every node's row.
    pub out: TensorId,
}

impl ScheduleOp for ScatterRowsStep {
    fn kernel(&self) -> &'static KernelDef {
        &SCATTER_ROWS
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.src, self.position], [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let out = s.tensor(self.out);
        work(out.rows, out.cols, s.tensor(self.src).rows)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} → {} ({} → {})",
            s.name(self.src),
            s.name(self.out),
            s.dims(self.src),
            s.dims(self.out)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        scatter_rows(
            ctx.gpu(),
            &ctx.matrix(self.src)?,
            &ctx.array(self.position)?,
            ctx.step(),
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let cols = ctx.tensor(self.src).cols;
        let scale = ctx.step().decoder_scale;
        let out = cpu::scatter_rows(ctx.f32(self.src)?, cols, ctx.u32(self.position)?, scale);
        ctx.set_f32(self.out, out)
    }
}
