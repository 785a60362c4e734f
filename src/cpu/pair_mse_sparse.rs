//! Twin of `shaders/pair_mse_sparse.wgsl`.

use super::pair_mse::{row_dot, sigmoid_and_slope};
use crate::kernels::pair_mse::PairMseBlocks;
use crate::sparse::Csr;

/// (dza, dzb, loss_rows): the dense sums of `pair_mse` and `pair_mse_gradient` (their
/// loss splits summed in order), doubled, the correction over S = A + Aᵀ subtracted,
/// times κ (plus `previous` when given).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_sparse(
    za: &[f32],
    zb: &[f32],
    la: usize,
    lb: usize,
    dense: &[f32],
    blocks: PairMseBlocks,
    s: &Csr,
    kappa: f32,
    previous: Option<(&[f32], &[f32])>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = za.len().checked_div(la).unwrap_or(0);
    let grads = blocks.splits * n;
    let mut dza = vec![0f32; n * la];
    let mut dzb = vec![0f32; n * lb];
    let mut loss_rows = vec![0f32; n];
    for i in 0..n {
        let mut loss = 0f32;
        for split in 0..blocks.splits {
            loss += dense[split * n + i];
        }
        let mut ga = dense[grads + i * la..grads + (i + 1) * la].to_vec();
        let gb_row = grads + n * la + i * lb;
        let mut gb = dense[gb_row..gb_row + lb].to_vec();
        ga.iter_mut().for_each(|g| *g *= 2.0);
        gb.iter_mut().for_each(|g| *g *= 2.0);
        for e in s.row_range(i) {
            let j = s.col_idx()[e] as usize;
            let v = s.values()[e];
            let (a, a_slope) = sigmoid_and_slope(row_dot(za, la, i, j));
            let (b, b_slope) = sigmoid_and_slope(row_dot(zb, lb, i, j));
            loss -= v * (a + b);
            for c in 0..la {
                ga[c] -= (v * a_slope) * za[j * la + c];
            }
            for c in 0..lb {
                gb[c] -= (v * b_slope) * zb[j * lb + c];
            }
        }
        for c in 0..la {
            let prev = previous.map_or(0.0, |(p, _)| p[i * la + c]);
            dza[i * la + c] = kappa * ga[c] + prev;
        }
        for c in 0..lb {
            let prev = previous.map_or(0.0, |(_, p)| p[i * lb + c]);
            dzb[i * lb + c] = kappa * gb[c] + prev;
        }
        loss_rows[i] = loss;
    }
    (dza, dzb, loss_rows)
}
