//! `shaders/matmul.wgsl`: out = A · B or A · Bᵀ, dense.

use bytemuck::{Pod, Zeroable};

use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The dense product kernel.
pub static MATMUL: KernelDef = KernelDef {
    name: "matmul",
    source: shader_source!("matmul.wgsl"),
    bindings: &[ReadOnly, ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    col_groups: u32,
    stride_k: u32,
    stride_n: u32,
    _pad: [u32; 2],
}

/// out = a · b (`transpose_b = false`, b is k × n) or a · bᵀ (`transpose_b = true`,
/// b is n × k); a is m × k, out is m × n.
pub fn matmul(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    transpose_b: bool,
    out: &GpuMatrix,
) -> Result<Dispatch> {
    let (m, k) = (a.rows(), a.cols());
    let (b_k, n) = if transpose_b {
        (b.cols(), b.rows())
    } else {
        (b.rows(), b.cols())
    };
    check(b_k == k, "matmul", || {
        format!("A is {m} x {k} but op(B) is {b_k} x {n}")
    })?;
    check(out.rows() == m && out.cols() == n, "matmul", || {
        format!(
            "output is {} x {}, expected {m} x {n}",
            out.rows(),
            out.cols()
        )
    })?;
    let (stride_k, stride_n) = if transpose_b { (1, k) } else { (n, 1) };
    let col_groups = n.div_ceil(4);
    let params = Params {
        m: to_u32("matmul m", m)?,
        n: to_u32("matmul n", n)?,
        k: to_u32("matmul k", k)?,
        col_groups: to_u32("matmul column groups", col_groups)?,
        stride_k: to_u32("matmul stride", stride_k)?,
        stride_n: to_u32("matmul stride", stride_n)?,
        _pad: [0; 2],
    };
    to_u32("matmul elements", m.max(k) * k.max(n))?;
    let pipeline = gpu.pipeline(&MATMUL)?;
    let grid = gpu.grid((m * col_groups) as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(a.data().buffer()),
            Bind::Buffer(b.data().buffer()),
            Bind::Buffer(out.data().buffer()),
        ],
        grid,
    )
}
