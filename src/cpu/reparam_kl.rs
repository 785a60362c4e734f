//! Twin of `shaders/reparam_kl.wgsl`.

use super::standard_normal;

/// (z, kl_rows) from ms = [μ | s] (n × 2L), ε keyed by (`seed`, `epoch`, row, column).
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
