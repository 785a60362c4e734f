//! `shaders/spmm.wgsl`: out = A · B with A in CSR.

use bytemuck::{Pod, Zeroable};

use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuCsr, GpuMatrix, KernelDef};

/// The CSR SpMM kernel.
pub static SPMM: KernelDef = KernelDef {
    name: "spmm",
    source: shader_source!("spmm.wgsl"),
    bindings: &[ReadOnly, ReadOnly, ReadOnly, ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    col_groups: u32,
    _pad: u32,
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
    let params = Params {
        rows: to_u32("spmm rows", a.rows())?,
        cols: to_u32("spmm cols", b.cols())?,
        col_groups: to_u32("spmm column groups", col_groups)?,
        _pad: 0,
    };
    to_u32("spmm B elements", b.rows() * b.cols())?;
    to_u32("spmm invocations", a.rows() * col_groups)?;
    let pipeline = gpu.pipeline(&SPMM)?;
    let grid = gpu.grid((a.rows() * col_groups) as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(a.row_ptr.buffer()),
            Bind::Buffer(a.col_idx.buffer()),
            Bind::Buffer(a.values.buffer()),
            Bind::Buffer(b.data().buffer()),
            Bind::Buffer(out.data().buffer()),
        ],
        grid,
    )
}
