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
    lanes: u32,
}

/// Column groups (of 4) per invocation, the shader's `CPL`: on CPU adapters every
/// storage load is expensive, so one invocation covers 4 groups and loads each
/// nonzero's column id and value once for all of them (llvmpipe, benches/RESULTS.md);
/// GPUs keep one group per invocation for the most parallelism.
fn groups_per_invocation(gpu: &Gpu, col_groups: usize) -> usize {
    let cpu_adapter = gpu.report().device_type == format!("{:?}", wgpu::DeviceType::Cpu);
    let wanted = if cpu_adapter { 4 } else { 1 };
    wanted.min(col_groups).max(1)
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
    let per_invocation = groups_per_invocation(gpu, col_groups);
    let lanes = col_groups.div_ceil(per_invocation);
    let params = Params {
        rows: to_u32("spmm rows", a.rows())?,
        cols: to_u32("spmm cols", b.cols())?,
        col_groups: to_u32("spmm column groups", col_groups)?,
        lanes: to_u32("spmm lanes", lanes)?,
    };
    to_u32("spmm B elements", b.rows() * b.cols())?;
    to_u32("spmm invocations", a.rows() * lanes)?;
    // Pipeline constants (see the shader's header): whether rows of B are vec4-aligned,
    // and column groups per invocation.
    let aligned = if b.cols().is_multiple_of(4) { 1.0 } else { 0.0 };
    let pipeline = gpu.pipeline_with(
        &SPMM,
        &[("ALIGNED", aligned), ("CPL", per_invocation as f64)],
    )?;
    let grid = gpu.grid((a.rows() * lanes) as u64, pipeline.workgroup_size)?;
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
