//! Twin of `shaders/pair_mse.wgsl`.

use crate::kernels::pair_mse::{partial_width, ColumnSplits};

/// σ(x) and σ(x)(1 − σ(x)) as the shaders compute them (one exp(−|x|)).
pub fn sigmoid_and_slope(x: f32) -> (f32, f32) {
    let e = (-x.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let s = if x >= 0.0 { inv } else { e * inv };
    (s, e * inv * inv)
}

/// Row i of `z` (width `w`) dotted with row j, in column order.
pub(crate) fn row_dot(z: &[f32], w: usize, i: usize, j: usize) -> f32 {
    let mut acc = 0f32;
    for c in 0..w {
        acc += z[i * w + c] * z[j * w + c];
    }
    acc
}

/// The partials (splits × n × (1 + la + lb)) of the dense pair-MSE pass over za
/// (n × la) and zb (n × lb): per (split, node) the Kahan-compensated Σ_j (a + b)², then
/// Σ_j (a + b) a (1 − a) za_j and Σ_j (a + b) b (1 − b) zb_j over the split's columns.
pub fn pair_mse(za: &[f32], zb: &[f32], la: usize, lb: usize, layout: ColumnSplits) -> Vec<f32> {
    let n = za.len().checked_div(la).unwrap_or(0);
    let width = partial_width(la, lb);
    let mut partial = vec![0f32; layout.splits * n * width];
    for split in 0..layout.splits {
        for i in 0..n {
            let (mut loss, mut comp) = (0f32, 0f32);
            let mut ga = vec![0f32; la];
            let mut gb = vec![0f32; lb];
            for j in layout.columns(n, split) {
                let (a, a_slope) = sigmoid_and_slope(row_dot(za, la, i, j));
                let (b, b_slope) = sigmoid_and_slope(row_dot(zb, lb, i, j));
                let sum = a + b;
                let term = sum * sum - comp;
                let next = loss + term;
                comp = (next - loss) - term;
                loss = next;
                let (ca, cb) = (sum * a_slope, sum * b_slope);
                for c in 0..la {
                    ga[c] += ca * za[j * la + c];
                }
                for c in 0..lb {
                    gb[c] += cb * zb[j * lb + c];
                }
            }
            let base = (split * n + i) * width;
            partial[base] = loss;
            partial[base + 1..base + 1 + la].copy_from_slice(&ga);
            partial[base + 1 + la..base + width].copy_from_slice(&gb);
        }
    }
    partial
}
