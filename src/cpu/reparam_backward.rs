//! Twin of `shaders/reparam_backward.wgsl`.

use super::reparam_kl::prior_mean;
use super::standard_normal;

/// d_ms = [dz + kl_scale·(μ − p) | dz·ε·exp(s) + kl_scale·(exp(2s) − 1)], p the prior
/// mean of `prior` (see `reparam_kl`), 0 without one.
#[allow(clippy::too_many_arguments)]
pub fn reparam_backward(
    ms: &[f32],
    dz: &[f32],
    n: usize,
    latent: usize,
    seed: u64,
    epoch: u32,
    kl_scale: f32,
    prior: Option<(&[u32], &[f32])>,
) -> Vec<f32> {
    let mut d_ms = vec![0f32; n * 2 * latent];
    for i in 0..n {
        for k in 0..latent {
            let mu = ms[i * 2 * latent + k];
            let s = ms[i * 2 * latent + latent + k];
            let sigma = s.exp();
            let eps = standard_normal(i as u32, k as u32, epoch, seed);
            let g = dz[i * latent + k];
            d_ms[i * 2 * latent + k] = g + kl_scale * (mu - prior_mean(prior, i, k, latent));
            d_ms[i * 2 * latent + latent + k] = g * eps * sigma + kl_scale * (sigma * sigma - 1.0);
        }
    }
    d_ms
}
