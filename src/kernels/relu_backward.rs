//! `shaders/relu_backward.wgsl`: dQ = dH1 ∘ 1[Q > 0], elementwise.

use super::relu::Params;
use super::{check, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef};

/// The rectifier's gradient kernel (same parameters as `relu`).
pub static RELU_BACKWARD: KernelDef = KernelDef {
    name: "relu_backward",
    source: shader_source!("relu_backward.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("pre"),
        BindingDef::read("grad_out"),
        BindingDef::write("grad_in"),
    ],
};

/// `grad_in = grad_out · 1[pre > 0]`, elementwise; one dispatch per window of
/// elements where the arrays exceed one binding.
pub fn relu_backward(
    gpu: &Gpu,
    pre: &GpuArray<f32>,
    grad_out: &GpuArray<f32>,
    grad_in: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
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
    let pipeline = gpu.pipeline(&RELU_BACKWARD)?;
    let row_bytes = [WORD_BYTES; 3];
    row_windows(gpu, "relu_backward", pre.len(), &row_bytes, 1)?
        .into_iter()
        .map(|window| {
            let params = Params::of_len("relu_backward length", window.len())?;
            let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(pre, window.clone()),
                    Bind::elements(grad_out, window.clone()),
                    Bind::elements(grad_in, window),
                ],
                grid,
            )
        })
        .collect()
}

/// `len` elements, two reads and one write each; flops = 0 (rated in GB/s).
pub fn work(len: usize) -> Work {
    Work {
        flops: 0.0,
        bytes: 3.0 * WORD * len as f64,
    }
}
