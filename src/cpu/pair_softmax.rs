//! Twin of `shaders/pair_softmax.wgsl`.

use crate::sparse::Csr;

/// (coef, coef_t, lse): per row i of `pattern` (values unused) with entries e = (i, j),
/// s_e = x_i·y_j/temperature, lse_i = log Σ_e exp(s_e) (0 for an empty row),
/// coef_e = gain_i·exp(s_e − lse_i) and coef_t[slot[e]] = coef_e; x and y row-major
/// with `cols` columns. The shader's online max and sum, in the same order.
pub fn pair_softmax(
    pattern: &Csr,
    slot: &[u32],
    gain: &[f32],
    x: &[f32],
    y: &[f32],
    cols: usize,
    temperature: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv_temperature = 1.0 / temperature;
    let mut coef = vec![0f32; pattern.nnz()];
    let mut coef_t = vec![0f32; pattern.nnz()];
    let mut lse = vec![0f32; pattern.rows()];
    for row in 0..pattern.rows() {
        let range = pattern.row_range(row);
        if range.is_empty() {
            continue;
        }
        let xi = &x[row * cols..(row + 1) * cols];
        let (mut m, mut l) = (-3.4e38f32, 0f32);
        for e in range.clone() {
            let j = pattern.col_idx()[e] as usize;
            let yj = &y[j * cols..(j + 1) * cols];
            let mut dot = 0f32;
            for c in 0..cols {
                dot += xi[c] * yj[c];
            }
            let s = dot * inv_temperature;
            coef[e] = s;
            let m_new = m.max(s);
            l = l * (m - m_new).exp() + (s - m_new).exp();
            m = m_new;
        }
        let log_sum = m + l.ln();
        lse[row] = log_sum;
        for e in range {
            let c = gain[row] * (coef[e] - log_sum).exp();
            coef[e] = c;
            coef_t[slot[e] as usize] = c;
        }
    }
    (coef, coef_t, lse)
}
