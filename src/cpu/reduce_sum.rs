//! Twin of `shaders/reduce_sum.wgsl` (one level).

use crate::kernels::reduce_sum::GROUP_ROWS;

/// Sums of each group of `GROUP_ROWS` rows of `input` (rows × cols): ⌈rows /
/// GROUP_ROWS⌉ × cols, at least one row.
pub fn reduce_sum(input: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let groups = rows.div_ceil(GROUP_ROWS).max(1);
    let mut out = vec![0f32; groups * cols];
    for g in 0..groups {
        for c in 0..cols {
            let mut acc = 0f32;
            for r in g * GROUP_ROWS..rows.min((g + 1) * GROUP_ROWS) {
                acc += input[r * cols + c];
            }
            out[g * cols + c] = acc;
        }
    }
    out
}
