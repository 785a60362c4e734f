//! Twin of `shaders/pair_mse.wgsl`, and the whole dense pass of the pair MSE.

use std::ops::Range;

use super::{pair_mse_gradient, pair_mse_mirror};
use crate::kernels::pair_mse::{padded_columns, PairMseBlocks};
use crate::kernels::pair_mse_gradient::Factor;
use crate::kernels::pair_mse_mirror::has_mirror;

/// σ(x) and σ(x)(1 − σ(x)) as the shaders compute them (one exp(−|x|)).
pub fn sigmoid_and_slope(x: f32) -> (f32, f32) {
    let e = (-x.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let s = if x >= 0.0 { inv } else { e * inv };
    (s, e * inv * inv)
}

/// Row i of `z` (width `w`) dotted with row j, in column order.
pub(crate) fn row_dot(z: &[f32], w: usize, i: usize, j: usize) -> f32 {
    let mut acc = 0f32;
    for c in 0..w {
        acc += z[i * w + c] * z[j * w + c];
    }
    acc
}

/// `pair_mse` over the rows `block` of za (n × la) and zb (n × lb): their rows of C_a
/// and C_b against the columns ≥ block.start in `coefficients` (see [`PairMseBlocks`];
/// zero left of block.start in its quad and in the padding columns; the quads before
/// untouched) and, per split, their Kahan-compensated Σ_j w_j (a + b)² (w_j = 1 in the
/// diagonal block, 2 past it) over the split's columns in `dense`.
#[allow(clippy::too_many_arguments)]
pub fn pair_mse(
    za: &[f32],
    zb: &[f32],
    la: usize,
    lb: usize,
    blocks: PairMseBlocks,
    block: Range<usize>,
    coefficients: &mut [f32],
    dense: &mut [f32],
) {
    let n = za.len().checked_div(la).unwrap_or(0);
    let np = padded_columns(n);
    let half = blocks.coefficients_len(n) / 2;
    let first_column = 4 * (block.start / 4);
    for (local, i) in block.clone().enumerate() {
        let row = local * np;
        coefficients[row + first_column..row + np].fill(0.0);
        coefficients[half + row + first_column..half + row + np].fill(0.0);
        for split in 0..blocks.splits {
            let (mut loss, mut comp) = (0f32, 0f32);
            for j in blocks.columns(n, block.start, split) {
                if j < block.start {
                    continue;
                }
                let (a, a_slope) = sigmoid_and_slope(row_dot(za, la, i, j));
                let (b, b_slope) = sigmoid_and_slope(row_dot(zb, lb, i, j));
                let sum = a + b;
                coefficients[row + j] = sum * a_slope;
                coefficients[half + row + j] = sum * b_slope;
                let weight = if j < block.end { 1.0 } else { 2.0 };
                let term = weight * (sum * sum) - comp;
                let next = loss + term;
                comp = (next - loss) - term;
                loss = next;
            }
            dense[split * n + i] = loss;
        }
    }
}

/// The whole dense pass, block by block (`pair_mse`, then `pair_mse_gradient` and, but
/// for the last block, `pair_mse_mirror` for ga and gb): the dense sums
/// `pair_mse_sparse` reads.
pub fn pair_mse_dense(
    za: &[f32],
    zb: &[f32],
    la: usize,
    lb: usize,
    blocks: PairMseBlocks,
) -> Vec<f32> {
    let n = za.len().checked_div(la).unwrap_or(0);
    let mut coefficients = vec![0f32; blocks.coefficients_len(n)];
    let mut dense = vec![0f32; blocks.dense_len(n, la, lb)];
    for block in blocks.blocks(n) {
        pair_mse(
            za,
            zb,
            la,
            lb,
            blocks,
            block.clone(),
            &mut coefficients,
            &mut dense,
        );
        for factor in [Factor::A, Factor::B] {
            pair_mse_gradient(
                za,
                zb,
                la,
                lb,
                factor,
                blocks,
                block.clone(),
                &coefficients,
                &mut dense,
            );
            if has_mirror(&block, n) {
                pair_mse_mirror(
                    za,
                    zb,
                    la,
                    lb,
                    factor,
                    blocks,
                    block.clone(),
                    &coefficients,
                    &mut dense,
                );
            }
        }
    }
    dense
}
