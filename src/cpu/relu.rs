//! Twin of `shaders/relu.wgsl`.

/// max(x, 0) elementwise.
pub fn relu(input: &[f32]) -> Vec<f32> {
    input.iter().map(|&x| x.max(0.0)).collect()
}
