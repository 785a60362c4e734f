//! Twin of `shaders/reparam_kl.wgsl`.

use super::standard_normal;

/// The prior mean of node i, column k: the class mean of its training class, or 0.
pub(super) fn prior_mean(
    prior: Option<(&[u32], &[f32])>,
    i: usize,
    k: usize,
    latent: usize,
) -> f32 {
    match prior {
        Some((class_of, means)) if class_of[i] != u32::MAX => {
            means[class_of[i] as usize * latent + k]
        }
        _ => 0.0,
    }
}

/// (z, kl_rows) from ms = [μ | s] (n × 2L), ε keyed by (`seed`, `epoch`, row, column),
/// against the prior means of `prior` = (class of each node or u32::MAX, class means
/// classes × L), or 0 without one.
pub fn reparam_kl(
    ms: &[f32],
    n: usize,
    latent: usize,
    seed: u64,
    epoch: u32,
    prior: Option<(&[u32], &[f32])>,
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
            let d = mu - prior_mean(prior, i, k, latent);
            kl += 1.0 + 2.0 * s - d * d - sigma * sigma;
        }
        kl_rows[i] = kl;
    }
    (z, kl_rows)
}
