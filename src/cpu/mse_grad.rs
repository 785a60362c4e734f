//! Twin of `shaders/mse_grad.wgsl`.

/// (grad, loss_rows): grad = scale·w_i·(a − b) (+ previous), `loss_rows[i]` =
/// w_i·Σ_c (a − b)² in column order, for a, b (rows × cols), w = `weights` or 1.
pub fn mse_grad(
    a: &[f32],
    b: &[f32],
    cols: usize,
    weights: Option<&[f32]>,
    scale: f32,
    previous: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let rows = a.len().checked_div(cols).unwrap_or(0);
    let mut grad = vec![0f32; a.len()];
    let mut loss_rows = vec![0f32; rows];
    for i in 0..rows {
        let w = weights.map_or(1.0, |w| w[i]);
        let g = scale * w;
        let mut loss = 0f32;
        for c in 0..cols {
            let e = i * cols + c;
            let d = a[e] - b[e];
            loss += d * d;
            let mut v = g * d;
            if let Some(previous) = previous {
                v += previous[e];
            }
            grad[e] = v;
        }
        loss_rows[i] = w * loss;
    }
    (grad, loss_rows)
}
