//! Twin of `shaders/attention_combine.wgsl`.

use crate::kernels::pair_mse::ColumnSplits;

/// (zs, lse, z_tilde) from attention_forward's partials, splits in order.
pub fn attention_combine(
    partial: &[f32],
    layout: ColumnSplits,
    y: &[f32],
    l: usize,
    gamma: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = y.len().checked_div(l).unwrap_or(0);
    let width = 2 + l;
    let mut zs = vec![0f32; n * l];
    let mut lse = vec![0f32; n];
    let mut z_tilde = vec![0f32; n * l];
    for i in 0..n {
        let mut top = partial[i * width];
        for s in 1..layout.splits {
            top = top.max(partial[(s * n + i) * width]);
        }
        let mut sum = 0f32;
        for s in 0..layout.splits {
            let base = (s * n + i) * width;
            sum += partial[base + 1] * (partial[base] - top).exp();
        }
        for c in 0..l {
            let mut o = 0f32;
            for s in 0..layout.splits {
                let base = (s * n + i) * width;
                o += partial[base + 2 + c] * (partial[base] - top).exp();
            }
            let e = i * l + c;
            let v = o / sum;
            zs[e] = v;
            z_tilde[e] = gamma * v + y[e];
        }
        lse[i] = top + sum.ln();
    }
    (zs, lse, z_tilde)
}
