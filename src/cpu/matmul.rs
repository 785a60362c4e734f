//! Twin of `shaders/matmul.wgsl`.

/// out (m × n) = a (m × k) · op(b); op(b) = b (k × n) or bᵀ with b stored n × k.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, transpose_b: bool) -> Vec<f32> {
    let (stride_k, stride_n) = if transpose_b { (1, k) } else { (n, 1) };
    let mut out = vec![0f32; m * n];
    for row in 0..m {
        for j in 0..n {
            let mut acc = 0f32;
            for kk in 0..k {
                acc += a[row * k + kk] * b[kk * stride_k + j * stride_n];
            }
            out[row * n + j] = acc;
        }
    }
    out
}
