//! Twin of `shaders/attention_backward.wgsl`.

use crate::kernels::pair_mse::ColumnSplits;

/// The partials (splits × n × L) of the attention backward: per (split, node i),
/// Σ_j (S_ij (g_i·y_j − d_i) + S_ji (y_i·g_j − d_j)) y_j + S_ji g_j over the split's
/// columns, the three dots summed together column by column as the shader does.
pub fn attention_backward(
    y: &[f32],
    g: &[f32],
    lse: &[f32],
    d: &[f32],
    l: usize,
    layout: ColumnSplits,
) -> Vec<f32> {
    let n = y.len().checked_div(l).unwrap_or(0);
    let mut partial = vec![0f32; layout.splits * n * l];
    for split in 0..layout.splits {
        for i in 0..n {
            let mut acc = vec![0f32; l];
            for j in layout.columns(n, split) {
                let (mut t, mut gy, mut yg) = (0f32, 0f32, 0f32);
                for c in 0..l {
                    t += y[i * l + c] * y[j * l + c];
                    gy += g[i * l + c] * y[j * l + c];
                    yg += y[i * l + c] * g[j * l + c];
                }
                let s_ij = (t - lse[i]).exp();
                let s_ji = (t - lse[j]).exp();
                let coef = s_ij * (gy - d[i]) + s_ji * (yg - d[j]);
                for c in 0..l {
                    acc[c] += coef * y[j * l + c] + s_ji * g[j * l + c];
                }
            }
            partial[(split * n + i) * l..(split * n + i + 1) * l].copy_from_slice(&acc);
        }
    }
    partial
}
