//! Twin of `shaders/class_mean_grad.wgsl`.

/// d[c, k] = −kl_scale · Σ_{i ∈ members(c)} (μ_ik − m_ck), μ the first `latent` columns
/// of `ms` rows at `stride`, members(c) = `class_nodes[class_ptr[c]..class_ptr[c + 1]]`.
pub fn class_mean_grad(
    ms: &[f32],
    stride: usize,
    class_ptr: &[u32],
    class_nodes: &[u32],
    class_means: &[f32],
    latent: usize,
    kl_scale: f32,
) -> Vec<f32> {
    let classes = class_ptr.len().saturating_sub(1);
    let mut out = vec![0f32; classes * latent];
    for c in 0..classes {
        for k in 0..latent {
            let m = class_means[c * latent + k];
            let mut acc = 0f32;
            for &i in &class_nodes[class_ptr[c] as usize..class_ptr[c + 1] as usize] {
                acc += ms[i as usize * stride + k] - m;
            }
            out[c * latent + k] = -kl_scale * acc;
        }
    }
    out
}
