//! Twin of `shaders/adam.wgsl`.

use crate::kernels::adam::AdamConfig;

/// One Adam step (step count `t ≥ 1`) on `param`, updating the moments in place.
pub fn adam(
    config: &AdamConfig,
    t: u32,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let t = t.max(1) as f32;
    for i in 0..param.len() {
        let g = grad[i];
        m[i] = config.beta1 * m[i] + (1.0 - config.beta1) * g;
        v[i] = config.beta2 * v[i] + (1.0 - config.beta2) * g * g;
        let m_hat = m[i] / (1.0 - config.beta1.powf(t));
        let v_hat = v[i] / (1.0 - config.beta2.powf(t));
        param[i] -= config.lr * m_hat / (v_hat.sqrt() + config.eps);
    }
}
