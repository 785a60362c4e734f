//! Twin of `shaders/decoder_pairs.wgsl`.

use super::{dot, sigmoid, softplus};
use crate::kernels::decoder_pairs::PairRows;

/// (dz: n × latent, loss_rows: n) of the pair pass over `z` (rows at `stride`), adding
/// `dense` partials `(grad, loss, slots)` (slots per node, slot-major) when given.
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
            let j = pairs.other(p) as usize;
            let (w_pos, w_neg) = pairs.weights(p);
            let d = dot(z, stride, latent, i, j);
            loss += w_pos * softplus(-d) + w_neg * softplus(d);
            let sig = sigmoid(d);
            let coef = w_pos * (sig - 1.0) + w_neg * sig;
            for k in 0..latent {
                acc[k] += coef * z[j * stride + k];
            }
        }
        if let Some((grad, dense_loss, slots)) = dense {
            for s in 0..slots {
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
