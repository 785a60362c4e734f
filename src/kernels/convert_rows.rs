//! `shaders/convert_rows.wgsl`: the first columns of an f32 matrix's rows in the
//! embeddings' storage type — a copy in f32, rounded to the nearest f16 (ties to even)
//! in f16: the f16 copy of Z or μ the decoders, the pair scores and the top-k search
//! read under [`Precision::F16`](crate::model::Precision::F16).

use super::{check, elem_bytes, store_choice, to_u32, EmbeddingElem, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The conversion kernel (f32 storage: a strided copy).
pub static CONVERT_ROWS: KernelDef = KernelDef {
    name: "convert_rows",
    source: store_source!(f32, shader_source!("convert_rows.wgsl")),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[BindingDef::read("src"), BindingDef::write("out")],
};

/// [`CONVERT_ROWS`] writing f16, for devices with `SHADER_F16`.
pub static CONVERT_ROWS_F16: KernelDef = KernelDef {
    source: store_source!(f16, shader_source!("convert_rows.wgsl")),
    ..CONVERT_ROWS
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        src_stride: u32,
        per_invocation: u32,
    }
}

/// `out` (rows × cols) = the first `out.cols()` columns of `src`'s rows, as `T`: f32
/// copied, f16 rounded to nearest even. One dispatch per window of rows where either
/// matrix exceeds a storage binding.
pub fn convert_rows<T: EmbeddingElem>(
    gpu: &Gpu,
    src: &GpuMatrix,
    out: &GpuMatrix<T>,
) -> Result<Vec<Dispatch>> {
    let (rows, cols) = (out.rows(), out.cols());
    check(
        src.rows() == rows && (1..=src.cols()).contains(&cols),
        "convert_rows",
        "out",
        || {
            format!(
                "out is {rows} x {cols}; src is {} x {}, so out needs {} rows and 1 to {} \
                 columns",
                src.rows(),
                src.cols(),
                src.rows(),
                src.cols()
            )
        },
    )?;
    to_u32("convert_rows elements", rows * src.cols())?;
    let def = store_choice::<T>(gpu, &CONVERT_ROWS, &CONVERT_ROWS_F16)?;
    let pipeline = gpu.pipeline(def)?;
    let per_invocation = 4 * gpu.profile().elementwise_vec4s.max(1);
    let windows = row_windows(
        gpu,
        "convert_rows",
        rows,
        &[src.cols() as u64 * WORD_BYTES, cols as u64 * elem_bytes::<T>()],
        1,
    )?;
    windows
        .into_iter()
        .map(|window| {
            let params = Params {
                rows: to_u32("convert_rows rows", window.len())?,
                cols: cols as u32,
                src_stride: to_u32("convert_rows stride", src.cols())?,
                per_invocation,
            };
            let invocations = (window.len() * cols).div_ceil(per_invocation as usize);
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[Bind::rows(src, window.clone()), Bind::rows(out, window)],
                grid,
            )
        })
        .collect()
}

/// rows × cols values of `out_bytes` each: flops = 0; bytes = 4·rows·cols (read) +
/// out_bytes·rows·cols (written).
pub fn work(rows: usize, cols: usize, out_bytes: u64) -> Work {
    let values = (rows * cols) as f64;
    Work {
        flops: 0.0,
        bytes: WORD * values + out_bytes as f64 * values,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use half::f16;
use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Elem, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `convert_rows` in a schedule: `out` (f32 or f16) from the first columns of `src`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvertRowsStep {
    /// f32, rows × at least out's columns.
    pub src: TensorId,
    /// rows × cols, f32 or f16.
    pub out: TensorId,
}

impl ScheduleOp for ConvertRowsStep {
    fn kernel(&self) -> &'static KernelDef {
        &CONVERT_ROWS
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.src], [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let out = s.tensor(self.out);
        work(out.rows, out.cols, out.elem.size())
    }

    fn describe(&self, s: &Schedule) -> String {
        let out = s.tensor(self.out);
        format!(
            "{} → {} ({} {:?})",
            s.name(self.src),
            out.name,
            s.dims(self.out),
            out.elem
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let src = ctx.matrix(self.src)?;
        match ctx.tensor(self.out).elem {
            Elem::F16 => convert_rows(ctx.gpu(), &src, &ctx.matrix::<f16>(self.out)?),
            _ => convert_rows(ctx.gpu(), &src, &ctx.matrix::<f32>(self.out)?),
        }
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (rows, stride) = (ctx.tensor(self.src).rows, ctx.tensor(self.src).cols);
        let out = ctx.tensor(self.out);
        let (cols, elem) = (out.cols, out.elem);
        let copied = cpu::convert_rows(ctx.f32(self.src)?, rows, stride, cols);
        match elem {
            Elem::F16 => ctx.set_f16(self.out, cpu::round_f16(&copied)),
            _ => ctx.set_f32(self.out, copied),
        }
    }
}
