//! Twin of `shaders/decoder_dense.wgsl`.

use super::{dot, sigmoid, softplus};

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
