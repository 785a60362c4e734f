//! One Rust wrapper per `shaders/*.wgsl`. Each wrapper checks shapes, fetches the cached
//! pipeline and returns a prepared [`Dispatch`](crate::gpu::Dispatch) (or a short list of
//! them) for a [`Recording`](crate::gpu::Recording). Every kernel has a CPU twin of the
//! same name in [`crate::cpu`].

pub mod adam;
pub mod decoder_dense;
pub mod decoder_pairs;
pub mod edge_score;
pub mod matmul;
pub mod matmul_tn;
pub mod reduce_sum;
pub mod relu;
pub mod reparam;
pub mod spmm;

use crate::error::{Error, Result};
use crate::gpu::KernelDef;

/// The source of a shader in `shaders/`.
macro_rules! shader_source {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $file))
    };
}
pub(crate) use shader_source;

/// Default workgroup size of every kernel (`override WG` in each shader).
pub const DEFAULT_WORKGROUP: u32 = 64;

/// Largest latent dimension the decoder kernels hold in registers.
pub const MAX_LATENT: usize = 64;

/// Every kernel the engine runs, for validation tests and pipeline warm-up.
pub fn all_kernels() -> [&'static KernelDef; 12] {
    [
        &spmm::SPMM,
        &matmul::MATMUL,
        &matmul_tn::MATMUL_TN_PARTIAL,
        &reduce_sum::REDUCE_SUM,
        &relu::RELU,
        &relu::RELU_BACKWARD,
        &reparam::REPARAM_KL,
        &reparam::REPARAM_BACKWARD,
        &decoder_dense::DECODER_DENSE,
        &decoder_pairs::DECODER_PAIRS,
        &edge_score::EDGE_SCORE,
        &adam::ADAM,
    ]
}

/// Converts a size to the `u32` the shaders index with, or says which size is too large.
pub(crate) fn to_u32(what: &str, value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::InvalidInput(format!(
            "{what} = {value} exceeds the kernels' 32-bit indexing"
        ))
    })
}

/// Fails unless `cond`, with a message naming the kernel.
pub(crate) fn check(cond: bool, kernel: &str, message: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!("{kernel}: {}", message())))
    }
}

/// Checks that `latent` columns fit the decoder kernels and the matrix holding them.
pub(crate) fn check_latent(kernel: &str, latent: usize, cols: usize) -> Result<()> {
    check((1..=MAX_LATENT).contains(&latent), kernel, || {
        format!("latent dimension {latent} must be between 1 and {MAX_LATENT}")
    })?;
    check(latent <= cols, kernel, || {
        format!("latent dimension {latent} exceeds the {cols} columns of z")
    })
}
