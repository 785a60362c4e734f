//! Twin of `shaders/decoder_dense.wgsl`.

use super::{dot, sigmoid, softplus};
use crate::kernels::decoder_dense::{DenseBlocks, DenseLayout, TILE};

/// (grad_partial: slots × n × latent, loss_partial: slots × n) of the dense pass over
/// `z` (n rows at `stride`) in `layout` (from [`DenseLayout::new`]).
pub fn decoder_dense(
    z: &[f32],
    n: usize,
    stride: usize,
    latent: usize,
    layout: DenseLayout,
) -> (Vec<f32>, Vec<f32>) {
    match layout {
        DenseLayout::Rows { splits } => rows(z, n, stride, latent, splits),
        DenseLayout::Tiles(blocks) => tiles(z, n, stride, latent, blocks),
    }
}

/// The row layout: node by node, split by split, columns in order.
fn rows(z: &[f32], n: usize, stride: usize, latent: usize, splits: usize) -> (Vec<f32>, Vec<f32>) {
    let chunk = n.div_ceil(splits).max(1);
    let mut grad = vec![0f32; splits * n * latent];
    let mut loss = vec![0f32; splits * n];
    for s in 0..splits {
        for i in 0..n {
            let (mut total, mut compensation) = (0f32, 0f32);
            let mut acc = vec![0f32; latent];
            for j in s * chunk..n.min((s + 1) * chunk) {
                let d = dot(z, stride, latent, i, j);
                let term = softplus(d) - compensation;
                let next = total + term;
                compensation = (next - total) - term;
                total = next;
                let g = sigmoid(d);
                for k in 0..latent {
                    acc[k] += g * z[j * stride + k];
                }
            }
            let row = s * n + i;
            grad[row * latent..(row + 1) * latent].copy_from_slice(&acc);
            loss[row] = total;
        }
    }
    (grad, loss)
}

/// The tile layout, workgroup by workgroup in the shader's order (the results do not
/// depend on it: every slot is written by one workgroup).
fn tiles(
    z: &[f32],
    n: usize,
    stride: usize,
    latent: usize,
    blocks: DenseBlocks,
) -> (Vec<f32>, Vec<f32>) {
    let (nb, b) = (blocks.blocks, blocks.block_rows);
    let slots = nb + 1;
    let mut grad = vec![0f32; slots * n * latent];
    let mut loss = vec![0f32; slots * n];
    let mut tile = vec![0f32; TILE * TILE];
    let pairs = (0..nb).flat_map(|bi| (bi + 1..nb).map(move |bj| (bi, bj)));
    for (bi, bj) in pairs.chain((0..nb).map(|k| (k, k))) {
        let diagonal = bi == bj;
        let (i_first, i_end) = (bi * b, n.min(bi * b + b));
        let (j_first, j_end) = (bj * b, n.min(bj * b + b));
        let (row_slot, col_slot) = (bj, if diagonal { nb } else { bi });
        if diagonal {
            // The first sub-tile of a diagonal block is nobody's column: zero slot B.
            for j in i_first..i_end.min(i_first + TILE) {
                grad[(nb * n + j) * latent..(nb * n + j + 1) * latent].fill(0.0);
                loss[nb * n + j] = 0.0;
            }
        }
        for i0 in (i_first..i_end).step_by(TILE) {
            let rows = TILE.min(i_end - i0);
            let mut acc = vec![vec![0f32; latent]; rows];
            let mut total = vec![0f32; rows];
            let mut compensation = vec![0f32; rows];
            let j_start = if diagonal { i0 } else { j_first };
            for j0 in (j_start..j_end).step_by(TILE) {
                let own = diagonal && j0 == i0;
                let weight = if own { 1.0 } else { 2.0 };
                let cols = TILE.min(j_end - j0);
                // Row pass.
                for jl in 0..cols {
                    let j = j0 + jl;
                    for il in 0..rows {
                        let d = dot(z, stride, latent, i0 + il, j);
                        let term = weight * softplus(d) - compensation[il];
                        let next = total[il] + term;
                        compensation[il] = (next - total[il]) - term;
                        total[il] = next;
                        let g = sigmoid(d);
                        for k in 0..latent {
                            acc[il][k] += g * z[j * stride + k];
                        }
                        tile[jl * TILE + il] = g;
                    }
                }
                if own {
                    continue;
                }
                // Column pass.
                for jl in 0..cols {
                    let j = j0 + jl;
                    let mut col = vec![0f32; latent];
                    for il in 0..rows {
                        let g = tile[jl * TILE + il];
                        for k in 0..latent {
                            col[k] += g * z[(i0 + il) * stride + k];
                        }
                    }
                    let row = col_slot * n + j;
                    if i0 == i_first {
                        loss[row] = 0.0;
                    } else {
                        for k in 0..latent {
                            col[k] += grad[row * latent + k];
                        }
                    }
                    grad[row * latent..(row + 1) * latent].copy_from_slice(&col);
                }
            }
            for il in 0..rows {
                let row = row_slot * n + i0 + il;
                grad[row * latent..(row + 1) * latent].copy_from_slice(&acc[il]);
                loss[row] = total[il];
            }
        }
    }
    (grad, loss)
}
