//! Twin of `shaders/matmul_tn_partial.wgsl`.

use crate::kernels::matmul_tn_partial::{chunks, CHUNK_ROWS};

/// partial (chunks × k × n): per chunk of `CHUNK_ROWS` rows, aᵀ (k × m) · b (m × n),
/// each element summed over its chunk's rows in order.
pub fn matmul_tn_partial(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let chunks = chunks(m);
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
    partial
}
