//! `shaders/relu.wgsl`: H1 = relu(Q), elementwise.

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, KernelDef};

/// The rectifier kernel.
pub static RELU: KernelDef = KernelDef {
    name: "relu",
    source: shader_source!("relu.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[BindingDef::read("input"), BindingDef::write("out")],
};

kernel_params! {
    struct Params {
        len: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

impl Params {
    pub(crate) fn of_len(what: &str, len: usize) -> Result<Params> {
        Ok(Params {
            len: to_u32(what, len)?,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        })
    }
}

/// out = max(input, 0), elementwise; one dispatch per window of elements where the
/// arrays exceed one binding.
pub fn relu(gpu: &Gpu, input: &GpuArray<f32>, out: &GpuArray<f32>) -> Result<Vec<Dispatch>> {
    check(input.len() == out.len(), "relu", || {
        format!("input has {} elements, output {}", input.len(), out.len())
    })?;
    let pipeline = gpu.pipeline(&RELU)?;
    row_windows(gpu, "relu", input.len(), &[WORD_BYTES, WORD_BYTES], 1)?
        .into_iter()
        .map(|window| {
            let params = Params::of_len("relu length", window.len())?;
            let grid = gpu.grid(window.len() as u64, pipeline.workgroup_size())?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::elements(input, window.clone()),
                    Bind::elements(out, window),
                ],
                grid,
            )
        })
        .collect()
}

/// `len` elements, one read and one write each; flops = 0 (rated in GB/s).
pub fn work(len: usize) -> Work {
    Work {
        flops: 0.0,
        bytes: 2.0 * WORD * len as f64,
    }
}
