//! Twin of `shaders/edge_score.wgsl`.

use super::{dot, sigmoid};

/// sigmoid(z_a · z_b) for each pair, over the first `latent` columns of rows at
/// `stride`.
pub fn edge_score(z: &[f32], stride: usize, latent: usize, pairs: &[(u32, u32)]) -> Vec<f32> {
    pairs
        .iter()
        .map(|&(a, b)| sigmoid(dot(z, stride, latent, a as usize, b as usize)))
        .collect()
}

/// z_a · z_b for each pair (the kernel with `LOGITS`), summed as [`edge_score`] sums.
pub fn edge_logit(z: &[f32], stride: usize, latent: usize, pairs: &[(u32, u32)]) -> Vec<f32> {
    pairs
        .iter()
        .map(|&(a, b)| dot(z, stride, latent, a as usize, b as usize))
        .collect()
}
