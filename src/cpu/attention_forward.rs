//! Twin of `shaders/attention_forward.wgsl`.

use super::pair_mse::row_dot;
use crate::kernels::attention_forward::LOWEST;
use crate::kernels::pair_mse::ColumnSplits;

/// The partials (splits × n × (2 + L)): per (split, node) the online softmax's m, l
/// and o over the split's columns, updated column by column as the shader does.
pub fn attention_forward(y: &[f32], l: usize, layout: ColumnSplits) -> Vec<f32> {
    let n = y.len().checked_div(l).unwrap_or(0);
    let width = 2 + l;
    let mut partial = vec![0f32; layout.splits * n * width];
    for split in 0..layout.splits {
        for i in 0..n {
            let (mut m, mut sum) = (LOWEST, 0f32);
            let mut o = vec![0f32; l];
            for j in layout.columns(n, split) {
                let t = row_dot(y, l, i, j);
                let top = m.max(t);
                let old = (m - top).exp();
                let new = (t - top).exp();
                sum = sum * old + new;
                for c in 0..l {
                    o[c] = o[c] * old + new * y[j * l + c];
                }
                m = top;
            }
            let base = (split * n + i) * width;
            partial[base] = m;
            partial[base + 1] = sum;
            partial[base + 2..base + width].copy_from_slice(&o);
        }
    }
    partial
}
