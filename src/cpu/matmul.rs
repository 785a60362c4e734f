//! Twin of `shaders/matmul.wgsl`.

/// out (m × n) = a (m × k) · op(b); op(b) = b (k × n) or bᵀ with b stored n × k.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, transpose_b: bool) -> Vec<f32> {
    matmul_masked(a, b, m, k, n, transpose_b, None)
}

/// [`matmul`], then out[i, j] = 0 wherever `mask[i, j]` (m × n) is not positive (the
/// shader's MASK: the rectifier's gradient).
pub fn matmul_masked(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    transpose_b: bool,
    mask: Option<&[f32]>,
) -> Vec<f32> {
    let (stride_k, stride_n) = if transpose_b { (1, k) } else { (n, 1) };
    let mut out = vec![0f32; m * n];
    for row in 0..m {
        for j in 0..n {
            let mut acc = 0f32;
            for kk in 0..k {
                acc += a[row * k + kk] * b[kk * stride_k + j * stride_n];
            }
            let keep = mask.is_none_or(|mask| mask[row * n + j] > 0.0);
            out[row * n + j] = if keep { acc } else { 0.0 };
        }
    }
    out
}
