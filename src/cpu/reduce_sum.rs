//! Twin of `shaders/reduce_sum.wgsl`, all levels.

use crate::kernels::reduce_sum::GROUP_ROWS;

/// Column sums of `input` (rows × cols) by levels of [`GROUP_ROWS`]-row sums.
pub fn reduce_sum(input: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut current = input.to_vec();
    let mut current_rows = rows;
    loop {
        let groups = current_rows.div_ceil(GROUP_ROWS).max(1);
        let mut next = vec![0f32; groups * cols];
        for g in 0..groups {
            for c in 0..cols {
                let mut acc = 0f32;
                for r in g * GROUP_ROWS..current_rows.min((g + 1) * GROUP_ROWS) {
                    acc += current[r * cols + c];
                }
                next[g * cols + c] = acc;
            }
        }
        if current_rows <= GROUP_ROWS {
            return next;
        }
        current = next;
        current_rows = groups;
    }
}
