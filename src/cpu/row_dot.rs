//! Twin of `shaders/row_dot.wgsl`.

/// `out[i]` = Σ_c x[i, c]·y[i, c] in column order, for x, y (rows × cols).
pub fn row_dot(x: &[f32], y: &[f32], cols: usize) -> Vec<f32> {
    let rows = x.len().checked_div(cols).unwrap_or(0);
    (0..rows)
        .map(|i| {
            let mut acc = 0f32;
            for c in 0..cols {
                acc += x[i * cols + c] * y[i * cols + c];
            }
            acc
        })
        .collect()
}
