//! Twin of `shaders/normalize_rows_backward.wgsl`.

const EPS: f32 = 1e-12;

/// dh = (g − z (z·g)) / norm per row,
/// g = scale·(y − q); g / 1e-12 where the norm was clamped.
pub fn normalize_rows_backward(
    z: &[f32],
    norm: &[f32],
    y: &[f32],
    q: &[f32],
    scale: f32,
    cols: usize,
) -> Vec<f32> {
    let mut dh = vec![0f32; z.len()];
    for (row, &length) in norm.iter().enumerate() {
        let base = row * cols;
        if length <= EPS {
            for c in 0..cols {
                dh[base + c] = scale * (y[base + c] - q[base + c]) / EPS;
            }
            continue;
        }
        let mut along = 0f32;
        for c in 0..cols {
            along += z[base + c] * scale * (y[base + c] - q[base + c]);
        }
        for c in 0..cols {
            let g = scale * (y[base + c] - q[base + c]);
            dh[base + c] = (g - z[base + c] * along) / length;
        }
    }
    dh
}
