//! Twins of `shaders/matmul.wgsl` and `shaders/matmul_tn_partial.wgsl` + `reduce_sum`.

use crate::kernels::matmul_tn::CHUNK_ROWS;

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

/// out (k × n) = aᵀ (k × m) · b (m × n), summed per chunk of rows and then across
/// chunks, as the GPU does.
pub fn matmul_tn(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let chunks = m.div_ceil(CHUNK_ROWS).max(1);
    let mut partial = vec![0f32; chunks * k * n];
    for chunk in 0..chunks {
        let rows = chunk * CHUNK_ROWS..m.min((chunk + 1) * CHUNK_ROWS);
        for i in 0..k {
            for j in 0..n {
                let mut acc = 0f32;
                for r in rows.clone() {
                    acc += a[r * k + i] * b[r * n + j];
                }
                partial[(chunk * k + i) * n + j] = acc;
            }
        }
    }
    super::reduce_sum(&partial, chunks, k * n)
}
