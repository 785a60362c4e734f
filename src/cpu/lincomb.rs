//! Twin of `shaders/lincomb.wgsl`.

/// alpha·s·x + beta·y (+ previous), s = `scale` or 1, y optional; in the shader's order
/// of operations.
pub fn lincomb(
    x: &[f32],
    y: Option<&[f32]>,
    scale: Option<f32>,
    alpha: f32,
    beta: f32,
    previous: Option<&[f32]>,
) -> Vec<f32> {
    let alpha = match scale {
        Some(s) => alpha * s,
        None => alpha,
    };
    (0..x.len())
        .map(|e| {
            let mut v = alpha * x[e];
            if let Some(y) = y {
                v += beta * y[e];
            }
            if let Some(previous) = previous {
                v += previous[e];
            }
            v
        })
        .collect()
}
