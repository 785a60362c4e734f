//! Twin of `shaders/gather_rows.wgsl`.

/// The rows `index` of `src` (rows at `stride`), first `cols` columns each.
pub fn gather_rows(src: &[f32], stride: usize, cols: usize, index: &[u32]) -> Vec<f32> {
    let mut out = vec![0f32; index.len() * cols];
    for (r, &row) in index.iter().enumerate() {
        for c in 0..cols {
            out[r * cols + c] = src[row as usize * stride + c];
        }
    }
    out
}
