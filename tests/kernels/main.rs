//! Every kernel against its CPU twin (`gpu_vgae::internal::cpu`), one module per kernel named
//! like its shader, over awkward shapes: one node, sizes that are not multiples of the
//! workgroup (64), empty CSR rows, latent sizes that are not multiples of 4, and
//! Citeseer's real shapes; under both adapter profiles where the layout depends on it.
//!
//! Tolerance rule: |gpu − cpu| ≤ atol + rtol·|cpu| (see `common::assert_close`). Short
//! sums use atol 1e-5, rtol 1e-4. Sums that run over many terms (the decoder's N-term
//! row sums, matmul_tn's chunks) are widened by √terms, and exp/log/cos, which may
//! differ by a few ulps between drivers, by 1e-4; each site says why.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

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
mod device_errors;
mod dropout;
mod edge_score;
mod gather_rows;
mod kmeans_assign;
mod kmeans_distances;
mod kmeans_update;
mod limits;
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

use gpu_vgae::internal::gpu::{Dispatch, Gpu, Recording};

const ATOL: f32 = 1e-5;
const RTOL: f32 = 1e-4;

/// What a kernel wrapper returns: one dispatch, or one per window of a tensor larger
/// than a storage binding.
trait Dispatches {
    fn into_dispatches(self) -> Vec<Dispatch>;
}

impl Dispatches for Dispatch {
    fn into_dispatches(self) -> Vec<Dispatch> {
        vec![self]
    }
}

impl Dispatches for Vec<Dispatch> {
    fn into_dispatches(self) -> Vec<Dispatch> {
        self
    }
}

/// Runs the kernels' dispatches in order as one recording and waits.
fn run<D: Dispatches>(gpu: &Gpu, kernels: impl IntoIterator<Item = D>) {
    let mut recording = Recording::new("test");
    for kernel in kernels {
        recording.extend(kernel.into_dispatches());
    }
    gpu.run(&recording).unwrap();
}

/// Dispatches that sum the rows of `input` (rows × cols) into `out` (cols): the chain
/// of `reduce_sum` levels the schedule builds.
fn column_sums(
    gpu: &Gpu,
    input: &gpu_vgae::internal::gpu::GpuArray<f32>,
    rows: usize,
    cols: usize,
    out: &gpu_vgae::internal::gpu::GpuArray<f32>,
) -> Vec<Dispatch> {
    use gpu_vgae::internal::kernels::reduce_sum::{levels, reduce_sum, GROUP_ROWS};
    let levels = levels(rows);
    let mut dispatches = Vec::new();
    let mut current = input.clone();
    for (level, &level_rows) in levels.iter().enumerate() {
        let next = if level + 1 == levels.len() {
            out.clone()
        } else {
            gpu.alloc::<f32>("level", level_rows.div_ceil(GROUP_ROWS) * cols)
                .unwrap()
        };
        dispatches.extend(reduce_sum(gpu, &current, level_rows, cols, &next).unwrap());
        current = next;
    }
    dispatches
}
