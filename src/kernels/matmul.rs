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
    lanes: u32,
    row_blocks: u32,
}

/// Register blocking (the shader's `R` rows × `CPL` column groups per invocation). On
/// CPU adapters every storage load is a costly per-lane sequence, so one invocation
/// covers several rows and up to 32 columns and every loaded vec4 serves several
/// outputs; measured on llvmpipe (benches/RESULTS.md), 4 rows × 4 groups for A·B and
/// 2 rows × 8 groups for A·Bᵀ at 32 columns. GPUs keep one row and one group per
/// invocation for the most parallelism.
fn blocking(gpu: &Gpu, col_groups: usize, transpose_b: bool) -> (usize, usize) {
    let cpu_adapter = gpu.report().device_type == format!("{:?}", wgpu::DeviceType::Cpu);
    let (rows, wanted) = match (cpu_adapter, transpose_b) {
        (false, _) => (1, 1),
        (true, false) => (4, 4),
        (true, true) => (2, 8),
    };
    if col_groups <= wanted {
        return (rows, col_groups.max(1));
    }
    // As few lanes as the cap allows, spread evenly (9 groups, at most 8 a lane: 2
    // lanes of 5).
    (rows, col_groups.div_ceil(col_groups.div_ceil(wanted)))
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
    let (rows, per_invocation) = blocking(gpu, col_groups, transpose_b);
    let lanes = col_groups.div_ceil(per_invocation);
    // Pipeline constants (see the shader's header): vec4-aligned rows, B's layout, and
    // the register blocking.
    let aligned = k.is_multiple_of(4) && n.is_multiple_of(4);
    let pipeline = gpu.pipeline_with(
        &MATMUL,
        &[
            ("ALIGNED", if aligned { 1.0 } else { 0.0 }),
            ("TRANSPOSE", if transpose_b { 1.0 } else { 0.0 }),
            ("CPL", per_invocation as f64),
            ("R", rows as f64),
        ],
    )?;
    let row_blocks = m.div_ceil(pipeline.workgroup_size as usize * rows);
    let params = Params {
        m: to_u32("matmul m", m)?,
        n: to_u32("matmul n", n)?,
        k: to_u32("matmul k", k)?,
        col_groups: to_u32("matmul column groups", col_groups)?,
        stride_k: to_u32("matmul stride", stride_k)?,
        stride_n: to_u32("matmul stride", stride_n)?,
        lanes: to_u32("matmul lanes", lanes)?,
        row_blocks: to_u32("matmul row blocks", row_blocks)?,
    };
    to_u32("matmul elements", m.max(k) * k.max(n))?;
    let workgroups = to_u32("matmul workgroups", lanes * row_blocks)?;
    let grid = gpu.grid(
        workgroups as u64 * pipeline.workgroup_size as u64,
        pipeline.workgroup_size,
    )?;
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
