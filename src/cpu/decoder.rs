//! Twins of `shaders/decoder_dense.wgsl`, `shaders/decoder_pairs.wgsl` and
//! `shaders/edge_score.wgsl`.

use crate::kernels::decoder_pairs::PairRows;

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

fn dot(z: &[f32], stride: usize, latent: usize, i: usize, j: usize) -> f32 {
    let mut acc = 0f32;
    for k in 0..latent {
        acc += z[i * stride + k] * z[j * stride + k];
    }
    acc
}

/// Per-split (grad_partial: splits × n × latent, loss_partial: splits × n) of the dense
/// pass over `z` (n rows at `stride`), columns cut into `splits` chunks.
pub fn decoder_dense(
    z: &[f32],
    n: usize,
    stride: usize,
    latent: usize,
    splits: usize,
) -> (Vec<f32>, Vec<f32>) {
    let splits = splits.clamp(1, n.max(1));
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

/// (dz: n × latent, loss_rows: n) of the pair pass, adding `dense` partials
/// `(grad, loss, splits)` when given.
pub fn decoder_pairs(
    z: &[f32],
    stride: usize,
    latent: usize,
    pairs: &PairRows,
    dense: Option<(&[f32], &[f32], usize)>,
    grad_scale: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = pairs.num_nodes;
    let mut dz = vec![0f32; n * latent];
    let mut loss_rows = vec![0f32; n];
    for i in 0..n {
        let mut acc = vec![0f32; latent];
        let mut loss = 0f32;
        for p in pairs.ptr[i] as usize..pairs.ptr[i + 1] as usize {
            let j = pairs.col[p] as usize;
            let (w_pos, w_neg) = (pairs.weight[2 * p], pairs.weight[2 * p + 1]);
            let d = dot(z, stride, latent, i, j);
            loss += w_pos * softplus(-d) + w_neg * softplus(d);
            let sig = sigmoid(d);
            let coef = w_pos * (sig - 1.0) + w_neg * sig;
            for k in 0..latent {
                acc[k] += coef * z[j * stride + k];
            }
        }
        if let Some((grad, dense_loss, splits)) = dense {
            for s in 0..splits {
                let row = s * n + i;
                for k in 0..latent {
                    acc[k] += grad[row * latent + k];
                }
                loss += dense_loss[row];
            }
        }
        for k in 0..latent {
            dz[i * latent + k] = grad_scale * acc[k];
        }
        loss_rows[i] = loss;
    }
    (dz, loss_rows)
}

/// sigmoid(z_a · z_b) for each pair.
pub fn edge_score(z: &[f32], stride: usize, latent: usize, pairs: &[(u32, u32)]) -> Vec<f32> {
    pairs
        .iter()
        .map(|&(a, b)| sigmoid(dot(z, stride, latent, a as usize, b as usize)))
        .collect()
}
