//! `shaders/spmm.wgsl`: out = A · B with A in CSR (Â·H, X·W0, Xᵀ·dP).

use std::ops::Range;

use super::{check, flag, subgroup_choice, to_u32, Work, WORD, WORD_BYTES};
use crate::error::{Error, Result};
use crate::gpu::windows::{alignment_step, fits_binding, pass_flags, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuCsr, GpuMatrix, KernelDef};

/// The CSR SpMM kernel.
pub static SPMM: KernelDef = KernelDef {
    name: "spmm",
    source: subgroup_source!(without, "spmm.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("row_ptr"),
        BindingDef::read("col_idx"),
        BindingDef::read("values"),
        BindingDef::read("b"),
        BindingDef::write("out"),
    ],
};

/// [`SPMM`] with subgroup operations: its subgroup layout (`SG`), where the device has
/// them.
pub static SPMM_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "spmm.wgsl"),
    ..SPMM
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        col_groups: u32,
        lanes: u32,
        row_base: u32,
        b_lo: u32,
        b_hi: u32,
        flags: u32,
        entry_base: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// What the kernel stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// A · B.
    Plain,
    /// max(A · B, 0): the first layer's rectifier fused in.
    Relu,
}

/// out (rows × cols) = a (rows × inner, CSR) · b (inner × cols).
///
/// Where b or out exceeds one storage binding ([`Gpu::binding_limit`]), one dispatch
/// per window of out's rows and of b's rows (gpu/windows.rs), each window of b adding
/// its entries to out: bit for bit the single-dispatch result when each row's columns
/// are sorted (every CSR the model builds). a's entries past one binding are split with
/// the rows (which needs [`GpuCsr::host_row_ptr`]); its row offsets are bound whole.
pub fn spmm(gpu: &Gpu, a: &GpuCsr, b: &GpuMatrix, out: &GpuMatrix) -> Result<Vec<Dispatch>> {
    spmm_with(gpu, a, b, Epilogue::Plain, out)
}

/// [`spmm`] with the stored value chosen by `epilogue` (`Relu`: out = max(A · B, 0)).
pub fn spmm_with(
    gpu: &Gpu,
    a: &GpuCsr,
    b: &GpuMatrix,
    epilogue: Epilogue,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    check(a.cols() == b.rows(), "spmm", "b", || {
        format!("A has {} columns but B has {} rows", a.cols(), b.rows())
    })?;
    check(
        out.rows() == a.rows() && out.cols() == b.cols(),
        "spmm",
        "out",
        || {
            format!(
                "output is {} x {}, expected {} x {}",
                out.rows(),
                out.cols(),
                a.rows(),
                b.cols()
            )
        },
    )?;
    let col_groups = b.cols().div_ceil(4);
    let aligned = b.cols().is_multiple_of(4);
    let (def, subgroup) = subgroup_choice(gpu, aligned, &SPMM, &SPMM_SUBGROUPS);
    // Without subgroups, column groups per invocation (the shader's CPL): each
    // invocation walks its row's nonzeros once for all of them; `lanes` invocations a
    // row. With them, one group per lane and `lanes` workgroups across the columns.
    let per_invocation = gpu.profile().spmm_column_groups.min(col_groups).max(1);
    let lanes = match subgroup {
        0 => col_groups.div_ceil(per_invocation),
        size => col_groups.div_ceil(size as usize).max(1),
    };
    let rows_per_workgroup = gpu.profile().spmm_rows_per_workgroup.max(1);
    to_u32("spmm B elements", b.rows() * b.cols())?;
    to_u32("spmm invocations", a.rows() * lanes * (subgroup as usize).max(1))?;
    let row_bytes = b.cols() as u64 * WORD_BYTES;
    let out_windows = csr_row_windows(gpu, a, row_bytes)?;
    let b_windows = row_windows(gpu, "spmm B", b.rows(), &[row_bytes], 1)?;
    let windowed = b_windows.len() > 1;
    let mut constants = vec![
        ("ALIGNED", flag(aligned)),
        ("CPL", per_invocation as f64),
        ("WINDOWED", flag(windowed)),
        ("RELU", flag(epilogue == Epilogue::Relu)),
        ("SG", f64::from(subgroup)),
    ];
    if subgroup > 0 {
        constants.extend([
            ("WG", f64::from(subgroup)),
            ("RPW", rows_per_workgroup as f64),
        ]);
    }
    let pipeline = gpu.pipeline_with(def, &constants)?;
    let mut dispatches = Vec::with_capacity(out_windows.len() * b_windows.len());
    for (rows, entries) in &out_windows {
        for (pass, b_rows) in b_windows.iter().enumerate() {
            let params = Params {
                rows: to_u32("spmm rows", rows.len())?,
                cols: to_u32("spmm cols", b.cols())?,
                col_groups: to_u32("spmm column groups", col_groups)?,
                lanes: to_u32("spmm lanes", lanes)?,
                row_base: to_u32("spmm rows", rows.start)?,
                b_lo: to_u32("spmm B rows", b_rows.start)?,
                b_hi: to_u32("spmm B rows", b_rows.end)?,
                flags: pass_flags(pass, b_windows.len()),
                entry_base: to_u32("spmm entries", entries.start)?,
                _pad0: 0,
                _pad1: 0,
                _pad2: 0,
            };
            let invocations = match subgroup {
                0 => rows.len() * lanes,
                size => rows.len().div_ceil(rows_per_workgroup) * lanes * size as usize,
            };
            let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
            dispatches.push(gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::array(&a.row_ptr),
                    Bind::elements(&a.col_idx, entries.clone()),
                    Bind::elements(&a.values, entries.clone()),
                    Bind::rows(b, b_rows.clone()),
                    Bind::rows(out, rows.clone()),
                ],
                grid,
            )?);
        }
    }
    Ok(dispatches)
}

/// Windows of A's rows (and of out's) with the range of entries each needs: one window
/// over everything where A's entries and out fit one binding; otherwise windows of whole
/// rows, planned from the host's copy of the row offsets, whose entries (from an aligned
/// start) and output rows each fit.
fn csr_row_windows(gpu: &Gpu, a: &GpuCsr, out_row_bytes: u64) -> Result<Vec<(Range<usize>, Range<usize>)>> {
    let nnz = a.nnz();
    if fits_binding(gpu, nnz as u64 * WORD_BYTES) {
        return Ok(row_windows(gpu, "spmm output", a.rows(), &[out_row_bytes], 1)?
            .into_iter()
            .map(|rows| (rows, 0..nnz))
            .collect());
    }
    let Some(row_ptr) = a.host_row_ptr() else {
        return Err(Error::BufferTooLarge {
            label: "gpu_vgae.spmm.col_idx (a CSR matrix without host row offsets)".into(),
            bytes: nnz as u64 * WORD_BYTES,
            limit: gpu.binding_limit(),
            limit_kind: "storage binding",
        });
    };
    let limit = gpu.binding_limit() / 16 * 16;
    let entry_step = alignment_step(gpu, WORD_BYTES);
    let row_step = alignment_step(gpu, out_row_bytes);
    let fits = |rows: &Range<usize>, first: usize| {
        (row_ptr[rows.end] as usize - first) as u64 * WORD_BYTES <= limit
            && rows.len() as u64 * out_row_bytes <= limit
    };
    let mut windows = Vec::new();
    let mut start = 0;
    while start < a.rows() {
        let first = row_ptr[start] as usize / entry_step * entry_step;
        let mut end = (start + row_step).min(a.rows());
        if !fits(&(start..end), first) {
            return Err(Error::BufferTooLarge {
                label: format!("gpu_vgae.spmm rows {start}..{end} (one aligned block of rows)"),
                bytes: (row_ptr[end] as usize - first) as u64 * WORD_BYTES,
                limit: gpu.binding_limit(),
                limit_kind: "storage binding",
            });
        }
        while end < a.rows() && fits(&(start..(end + row_step).min(a.rows())), first) {
            end = (end + row_step).min(a.rows());
        }
        windows.push((start..end, first..row_ptr[end] as usize));
        start = end;
    }
    if windows.is_empty() {
        windows.push((0..0, 0..0));
    }
    Ok(windows)
}

/// out (rows × cols) = A (rows × inner, nnz entries) · B (inner × cols).
/// flops = 2·nnz·cols; bytes = 4·(rows + 1) row_ptr + 8·nnz (col_idx, values)
/// + 4·inner·cols (B) + 4·rows·cols (out).
pub fn work(rows: usize, inner: usize, nnz: usize, cols: usize) -> Work {
    let (rows, inner, nnz, cols) = (rows as f64, inner as f64, nnz as f64, cols as f64);
    Work {
        flops: 2.0 * nnz * cols,
        bytes: WORD * (rows + 1.0) + 2.0 * WORD * nnz + WORD * inner * cols + WORD * rows * cols,
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, SparseId, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `spmm` in a schedule: out = A · B, or max(A · B, 0) with `relu`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpmmStep {
    /// Sparse left operand.
    pub a: SparseId,
    /// Dense right operand.
    pub b: TensorId,
    /// Whether the rectifier is fused in (the first layer's H1).
    pub relu: bool,
    /// Result.
    pub out: TensorId,
}

impl SpmmStep {
    /// out = A · B, without the rectifier.
    pub fn plain(a: SparseId, b: TensorId, out: TensorId) -> Self {
        SpmmStep {
            a,
            b,
            relu: false,
            out,
        }
    }
}

impl ScheduleOp for SpmmStep {
    fn kernel(&self) -> &'static KernelDef {
        &SPMM
    }

    fn accesses(&self, schedule: &Schedule) -> Accesses {
        let a = schedule.sparse(self.a).tensors();
        Accesses::new(a.into_iter().chain([self.b]), [self.out])
    }

    fn work(&self, schedule: &Schedule) -> Work {
        let a = schedule.sparse(self.a);
        work(a.rows, a.cols, a.nnz, schedule.tensor(self.b).cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        let a = s.sparse(self.a);
        let (open, close) = if self.relu { ("relu(", ")") } else { ("", "") };
        format!(
            "{open}{}·{}{close} → {} ({}x{} nnz={} · {})",
            a.name,
            s.name(self.b),
            s.name(self.out),
            a.rows,
            a.cols,
            a.nnz,
            s.dims(self.b)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let epilogue = if self.relu {
            Epilogue::Relu
        } else {
            Epilogue::Plain
        };
        spmm_with(
            ctx.gpu(),
            &ctx.csr(self.a)?,
            &ctx.matrix(self.b)?,
            epilogue,
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let product = if self.relu { cpu::spmm_relu } else { cpu::spmm };
        let cols = ctx.tensor(self.b).cols;
        let out = product(ctx.csr(self.a)?, ctx.f32(self.b)?, cols);
        ctx.set_f32(self.out, out)
    }
}
