//! Twin of `shaders/relu_backward.wgsl`.

/// `grad_out · 1[pre > 0]` elementwise.
pub fn relu_backward(pre: &[f32], grad_out: &[f32]) -> Vec<f32> {
    pre.iter()
        .zip(grad_out)
        .map(|(&q, &g)| if q > 0.0 { g } else { 0.0 })
        .collect()
}
