//! `shaders/matmul_tn_partial.wgsl` + `reduce_sum`: out = Aᵀ · B reduced over rows.

use bytemuck::{Pod, Zeroable};

use super::reduce_sum::reduce_sum;
use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The per-chunk partial product kernel.
pub static MATMUL_TN_PARTIAL: KernelDef = KernelDef {
    name: "matmul_tn_partial",
    source: shader_source!("matmul_tn_partial.wgsl"),
    bindings: &[ReadOnly, ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

/// Rows of A and B one invocation reduces before the chunks are summed.
pub const CHUNK_ROWS: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    k: u32,
    n: u32,
    chunk_rows: u32,
    chunks: u32,
    col_groups: u32,
    _pad: [u32; 2],
}

/// out (k × n) = aᵀ · b for a (m × k) and b (m × n): partial products over chunks of
/// [`CHUNK_ROWS`] rows, then a hierarchical sum of the chunks.
pub fn matmul_tn(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    check(b.rows() == m, "matmul_tn", || {
        format!("A has {m} rows but B has {}", b.rows())
    })?;
    check(out.rows() == k && out.cols() == n, "matmul_tn", || {
        format!(
            "output is {} x {}, expected {k} x {n}",
            out.rows(),
            out.cols()
        )
    })?;
    let chunks = m.div_ceil(CHUNK_ROWS).max(1);
    let col_groups = n.div_ceil(4);
    let params = Params {
        m: to_u32("matmul_tn m", m)?,
        k: to_u32("matmul_tn k", k)?,
        n: to_u32("matmul_tn n", n)?,
        chunk_rows: CHUNK_ROWS as u32,
        chunks: to_u32("matmul_tn chunks", chunks)?,
        col_groups: to_u32("matmul_tn column groups", col_groups)?,
        _pad: [0; 2],
    };
    to_u32("matmul_tn elements", m * k.max(n))?;
    let partial = gpu.alloc::<f32>("gpu_vgae.matmul_tn.partial", chunks * k * n)?;
    let pipeline = gpu.pipeline(&MATMUL_TN_PARTIAL)?;
    let grid = gpu.grid((chunks * k * col_groups) as u64, pipeline.workgroup_size)?;
    let mut dispatches = vec![gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(a.data().buffer()),
            Bind::Buffer(b.data().buffer()),
            Bind::Buffer(partial.buffer()),
        ],
        grid,
    )?];
    dispatches.extend(reduce_sum(gpu, &partial, chunks, k * n, out.data())?);
    Ok(dispatches)
}
