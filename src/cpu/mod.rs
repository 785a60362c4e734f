//! CPU twins of the kernels, written loop for loop like their WGSL so that a GPU result
//! can be compared with them element by element. They are also the CPU baselines of the
//! benchmarks. Accumulation is in `f32` where the shader's is, so differences stay at
//! rounding level.

mod adam;
mod decoder;
mod epoch;
mod matmul;
mod philox;
mod reduce_sum;
mod relu;
mod reparam;
mod spmm;

pub use adam::adam;
pub use decoder::{decoder_dense, decoder_pairs, edge_score, sigmoid, softplus};
pub use epoch::CpuModel;
pub use matmul::{matmul, matmul_tn};
pub use philox::{philox4x32_10, standard_normal};
pub use reduce_sum::reduce_sum;
pub use relu::{relu, relu_backward};
pub use reparam::{reparam_backward, reparam_kl};
pub use spmm::spmm;
