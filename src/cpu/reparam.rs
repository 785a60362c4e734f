//! Twins of `shaders/reparam_kl.wgsl` and `shaders/reparam_backward.wgsl`.

use super::standard_normal;

/// (z, kl_rows) from ms = [μ | s] (n × 2L).
pub fn reparam_kl(
    ms: &[f32],
    n: usize,
    latent: usize,
    seed: u64,
    epoch: u32,
) -> (Vec<f32>, Vec<f32>) {
    let mut z = vec![0f32; n * latent];
    let mut kl_rows = vec![0f32; n];
    for i in 0..n {
        let mut kl = 0f32;
        for k in 0..latent {
            let mu = ms[i * 2 * latent + k];
            let s = ms[i * 2 * latent + latent + k];
            let sigma = s.exp();
            let eps = standard_normal(i as u32, k as u32, epoch, seed);
            z[i * latent + k] = mu + eps * sigma;
            kl += 1.0 + 2.0 * s - mu * mu - sigma * sigma;
        }
        kl_rows[i] = kl;
    }
    (z, kl_rows)
}

/// d_ms = [dz + kl_scale·μ | dz·ε·exp(s) + kl_scale·(exp(2s) − 1)].
pub fn reparam_backward(
    ms: &[f32],
    dz: &[f32],
    n: usize,
    latent: usize,
    seed: u64,
    epoch: u32,
    kl_scale: f32,
) -> Vec<f32> {
    let mut d_ms = vec![0f32; n * 2 * latent];
    for i in 0..n {
        for k in 0..latent {
            let mu = ms[i * 2 * latent + k];
            let s = ms[i * 2 * latent + latent + k];
            let sigma = s.exp();
            let eps = standard_normal(i as u32, k as u32, epoch, seed);
            let g = dz[i * latent + k];
            d_ms[i * 2 * latent + k] = g + kl_scale * mu;
            d_ms[i * 2 * latent + latent + k] = g * eps * sigma + kl_scale * (sigma * sigma - 1.0);
        }
    }
    d_ms
}
