//! Twin of `shaders/scatter_rows.wgsl`.

/// Row i of the result (position.len() rows × cols) is `scale · src[position[i]]` where
/// `position[i]` is a row of `src` (src_rows × cols), else zeros.
pub fn scatter_rows(src: &[f32], cols: usize, position: &[u32], scale: f32) -> Vec<f32> {
    let src_rows = src.len() / cols.max(1);
    let mut out = vec![0f32; position.len() * cols];
    for (i, &r) in position.iter().enumerate() {
        if (r as usize) < src_rows {
            for c in 0..cols {
                out[i * cols + c] = scale * src[r as usize * cols + c];
            }
        }
    }
    out
}
