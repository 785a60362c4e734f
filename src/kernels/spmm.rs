//! `shaders/spmm.wgsl`: out = A · B with A in CSR (Â·H, X·W0, Xᵀ·dP).

use super::{check, flag, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuCsr, GpuMatrix, KernelDef};

/// The CSR SpMM kernel.
pub static SPMM: KernelDef = KernelDef {
    name: "spmm",
    source: shader_source!("spmm.wgsl"),
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

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        col_groups: u32,
        lanes: u32,
    }
}

/// out (rows × cols) = a (rows × inner, CSR) · b (inner × cols).
pub fn spmm(gpu: &Gpu, a: &GpuCsr, b: &GpuMatrix, out: &GpuMatrix) -> Result<Dispatch> {
    check(a.cols() == b.rows(), "spmm", || {
        format!("A has {} columns but B has {} rows", a.cols(), b.rows())
    })?;
    check(
        out.rows() == a.rows() && out.cols() == b.cols(),
        "spmm",
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
    // Column groups per invocation (the shader's CPL): each invocation walks its row's
    // nonzeros once for all of them.
    let per_invocation = gpu.profile().spmm_column_groups.min(col_groups).max(1);
    let lanes = col_groups.div_ceil(per_invocation);
    let params = Params {
        rows: to_u32("spmm rows", a.rows())?,
        cols: to_u32("spmm cols", b.cols())?,
        col_groups: to_u32("spmm column groups", col_groups)?,
        lanes: to_u32("spmm lanes", lanes)?,
    };
    to_u32("spmm B elements", b.rows() * b.cols())?;
    to_u32("spmm invocations", a.rows() * lanes)?;
    let pipeline = gpu.pipeline_with(
        &SPMM,
        &[
            ("ALIGNED", flag(b.cols().is_multiple_of(4))),
            ("CPL", per_invocation as f64),
        ],
    )?;
    let grid = gpu.grid((a.rows() * lanes) as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::array(&a.row_ptr),
            Bind::array(&a.col_idx),
            Bind::array(&a.values),
            Bind::matrix(b),
            Bind::matrix(out),
        ],
        grid,
    )
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
