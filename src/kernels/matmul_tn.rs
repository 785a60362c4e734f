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
    lanes: u32,
    i_blocks: u32,
}

/// The partial kernel's layout (see its header): on CPU adapters, where every storage
/// load is a costly per-lane sequence, when k and n are multiples of 4, a workgroup
/// owns one chunk and one run of up to 4 column groups, each invocation 4 consecutive
/// i, so every load of B is a broadcast serving 4 rows and every vec4 of A serves 4
/// groups (llvmpipe, benches/RESULTS.md: 4 groups beat 2 and 8 at 32 columns); the
/// workgroup is then k / 4 rounded up to 8 invocations, at most 64. GPUs, and other
/// shapes, keep one invocation per (chunk, i, column group).
/// Returns (blocked, column groups per invocation, workgroup size).
fn layout(gpu: &Gpu, k: usize, n: usize) -> (bool, usize, usize) {
    let cpu_adapter = gpu.report().device_type == format!("{:?}", wgpu::DeviceType::Cpu);
    let col_groups = n.div_ceil(4);
    if !cpu_adapter || k == 0 || !k.is_multiple_of(4) || !n.is_multiple_of(4) {
        return (false, 1, DEFAULT_WORKGROUP as usize);
    }
    let wanted = 4;
    let per_invocation = if col_groups <= wanted {
        col_groups.max(1)
    } else {
        col_groups.div_ceil(col_groups.div_ceil(wanted))
    };
    (
        true,
        per_invocation,
        (k.div_ceil(4).max(1).div_ceil(8) * 8).min(64),
    )
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
    let (blocked, per_invocation, wg) = layout(gpu, k, n);
    let lanes = col_groups.div_ceil(per_invocation);
    let i_blocks = k.div_ceil(4).div_ceil(wg);
    let pipeline = gpu.pipeline_with(
        &MATMUL_TN_PARTIAL,
        &[
            ("WG", wg as f64),
            ("ALIGNED", if n.is_multiple_of(4) { 1.0 } else { 0.0 }),
            ("CPL", per_invocation as f64),
            ("BLOCKED", if blocked { 1.0 } else { 0.0 }),
        ],
    )?;
    let params = Params {
        m: to_u32("matmul_tn m", m)?,
        k: to_u32("matmul_tn k", k)?,
        n: to_u32("matmul_tn n", n)?,
        chunk_rows: CHUNK_ROWS as u32,
        chunks: to_u32("matmul_tn chunks", chunks)?,
        col_groups: to_u32("matmul_tn column groups", col_groups)?,
        lanes: to_u32("matmul_tn lanes", lanes)?,
        i_blocks: to_u32("matmul_tn row blocks", i_blocks)?,
    };
    to_u32("matmul_tn elements", m * k.max(n))?;
    let partial = gpu.alloc::<f32>("gpu_vgae.matmul_tn.partial", chunks * k * n)?;
    let invocations = if blocked {
        chunks * i_blocks * lanes * wg
    } else {
        chunks * k * lanes
    };
    to_u32("matmul_tn invocations", invocations)?;
    let grid = gpu.grid(invocations as u64, pipeline.workgroup_size)?;
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
