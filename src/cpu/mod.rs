//! CPU twins of the kernels, one file per shader with the same name
//! (`shaders/spmm.wgsl` → `src/cpu/spmm.rs`), written loop for loop like their WGSL so
//! that a GPU result can be compared with them element by element. Accumulation is in
//! `f32` where the shader's is, so differences stay at rounding level. The CPU
//! reference of a whole epoch ([`crate::model::CpuModel`]) runs the schedule with them.

mod act_backward;
mod adam;
mod attention_backward;
mod attention_combine;
mod attention_forward;
mod bias_act;
mod class_mean_grad;
mod convert_rows;
mod decoder_dense;
mod decoder_pairs;
mod dropout;
mod edge_score;
mod gather_rows;
mod kmeans_assign;
mod kmeans_distances;
mod kmeans_update;
mod lincomb;
mod matmul;
mod matmul_tn_partial;
mod minmax_rows;
mod minmax_rows_backward;
mod mse_grad;
mod normalize_rows;
mod normalize_rows_backward;
mod pair_mse;
mod pair_mse_gradient;
mod pair_mse_mirror;
mod pair_mse_sparse;
mod pair_sigmoid;
mod pair_softmax;
mod philox;
mod reduce_sum;
mod reparam_backward;
mod reparam_kl;
mod row_dot;
mod scatter_rows;
mod spmm;
mod student_t;
mod student_t_grad;
mod target_dist;
mod topk_rows;

pub use act_backward::act_backward;
pub use adam::adam;
pub use attention_backward::attention_backward;
pub use attention_combine::attention_combine;
pub use attention_forward::attention_forward;
pub use bias_act::{activate, bias_act};
pub use class_mean_grad::class_mean_grad;
pub use convert_rows::{convert_rows, round_f16, through_f16};
pub use decoder_dense::decoder_dense;
pub use decoder_pairs::decoder_pairs;
pub use dropout::{dropout, dropout_keeps};
pub use edge_score::{edge_logit, edge_score};
pub use gather_rows::gather_rows;
pub use kmeans_assign::{kmeans_assign, sq_dist};
pub use kmeans_distances::kmeans_distances;
pub use kmeans_update::kmeans_update;
pub use lincomb::lincomb;
pub use matmul::{matmul, matmul_masked};
pub use matmul_tn_partial::matmul_tn_partial;
pub use minmax_rows::minmax_rows;
pub use minmax_rows_backward::minmax_rows_backward;
pub use mse_grad::mse_grad;
pub use normalize_rows::normalize_rows;
pub use normalize_rows_backward::normalize_rows_backward;
pub use pair_mse::{pair_mse, pair_mse_dense, sigmoid_and_slope};
pub use pair_mse_gradient::pair_mse_gradient;
pub use pair_mse_mirror::pair_mse_mirror;
pub use pair_mse_sparse::pair_mse_sparse;
pub use pair_sigmoid::{pair_sigmoid, stable_sigmoid};
pub use pair_softmax::pair_softmax;
pub use philox::{philox4x32_10, standard_normal};
pub use reduce_sum::reduce_sum;
pub use reparam_backward::reparam_backward;
pub use reparam_kl::reparam_kl;
pub use row_dot::row_dot;
pub use scatter_rows::scatter_rows;
pub use spmm::{spmm, spmm_relu};
pub use student_t::student_t;
pub use student_t_grad::{student_t_grad, StudentTGrad};
pub use target_dist::target_dist;
pub use topk_rows::{link_logit, topk_rows};

/// log(1 + exp(x)), stable for large |x| (the shaders' formula).
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + (1.0 + (-x.abs()).exp()).ln()
}

/// 1 / (1 + exp(−x)), stable for large |x| (the shaders' formula).
pub fn sigmoid(x: f32) -> f32 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// z_i · z_j over the first `latent` columns of rows at `stride`, summed in column
/// order as the shaders do.
fn dot(z: &[f32], stride: usize, latent: usize, i: usize, j: usize) -> f32 {
    let mut acc = 0f32;
    for k in 0..latent {
        acc += z[i * stride + k] * z[j * stride + k];
    }
    acc
}

/// All levels of `reduce_sum` chained: the column sums of `input` (rows × cols), as the
/// schedule's chain of `reduce_sum` dispatches computes them.
pub fn column_sums(input: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut current = input.to_vec();
    for level_rows in crate::kernels::reduce_sum::levels(rows) {
        current = reduce_sum(&current, level_rows, cols);
    }
    current
}
