//! Twin of `shaders/pair_sigmoid.wgsl`.

use crate::kernels::pair_sigmoid::PairSigmoid;
use crate::sparse::Csr;

/// σ(u) as the shader computes it (exp of a non-positive argument only).
pub fn stable_sigmoid(u: f32) -> f32 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// (value, coef) per entry e = (i, j) of `pattern` (its values the weights w_e):
/// value = w·σ(u), coef = gain·w·σ(u)(1 − σ(u))/temperature, u = (x_i·y_j − shift)/
/// temperature; x and y row-major with `cols` columns.
pub fn pair_sigmoid(
    pattern: &Csr,
    x: &[f32],
    y: &[f32],
    cols: usize,
    shape: PairSigmoid,
) -> (Vec<f32>, Vec<f32>) {
    let mut value = vec![0f32; pattern.nnz()];
    let mut coef = vec![0f32; pattern.nnz()];
    for row in 0..pattern.rows() {
        let xi = &x[row * cols..(row + 1) * cols];
        for e in pattern.row_range(row) {
            let j = pattern.col_idx()[e] as usize;
            let yj = &y[j * cols..(j + 1) * cols];
            let mut dot = 0f32;
            for c in 0..cols {
                dot += xi[c] * yj[c];
            }
            let s = stable_sigmoid((dot - shape.shift) / shape.temperature);
            let w = pattern.values()[e];
            value[e] = w * s;
            coef[e] = shape.gain * w * s * (1.0 - s) / shape.temperature;
        }
    }
    (value, coef)
}
