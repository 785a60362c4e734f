//! `shaders/relu.wgsl` and `shaders/relu_backward.wgsl`.

use bytemuck::{Pod, Zeroable};

use super::{check, shader_source, to_u32, DEFAULT_WORKGROUP};
use crate::error::Result;
use crate::gpu::{Bind, BindingKind::*, Dispatch, Gpu, GpuArray, KernelDef};

/// The rectifier kernel.
pub static RELU: KernelDef = KernelDef {
    name: "relu",
    source: shader_source!("relu.wgsl"),
    bindings: &[ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

/// The rectifier's gradient kernel.
pub static RELU_BACKWARD: KernelDef = KernelDef {
    name: "relu_backward",
    source: shader_source!("relu_backward.wgsl"),
    bindings: &[ReadOnly, ReadOnly, ReadWrite],
    workgroup_size: DEFAULT_WORKGROUP,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    len: u32,
    _pad: [u32; 3],
}

/// out = max(input, 0), elementwise.
pub fn relu(gpu: &Gpu, input: &GpuArray<f32>, out: &GpuArray<f32>) -> Result<Dispatch> {
    check(input.len() == out.len(), "relu", || {
        format!("input has {} elements, output {}", input.len(), out.len())
    })?;
    let params = Params {
        len: to_u32("relu length", input.len())?,
        _pad: [0; 3],
    };
    let pipeline = gpu.pipeline(&RELU)?;
    let grid = gpu.grid(input.len() as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::Buffer(input.buffer()), Bind::Buffer(out.buffer())],
        grid,
    )
}

/// `grad_in = grad_out · 1[pre > 0]`, elementwise.
pub fn relu_backward(
    gpu: &Gpu,
    pre: &GpuArray<f32>,
    grad_out: &GpuArray<f32>,
    grad_in: &GpuArray<f32>,
) -> Result<Dispatch> {
    check(
        pre.len() == grad_out.len() && pre.len() == grad_in.len(),
        "relu_backward",
        || {
            format!(
                "lengths differ: pre {}, grad_out {}, grad_in {}",
                pre.len(),
                grad_out.len(),
                grad_in.len()
            )
        },
    )?;
    let params = Params {
        len: to_u32("relu_backward length", pre.len())?,
        _pad: [0; 3],
    };
    let pipeline = gpu.pipeline(&RELU_BACKWARD)?;
    let grid = gpu.grid(pre.len() as u64, pipeline.workgroup_size)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::Buffer(pre.buffer()),
            Bind::Buffer(grad_out.buffer()),
            Bind::Buffer(grad_in.buffer()),
        ],
        grid,
    )
}
