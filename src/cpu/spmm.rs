//! Twin of `shaders/spmm.wgsl`.

use crate::sparse::Csr;

/// out (rows × cols) = a · b for b (a.cols() × cols), row-major.
pub fn spmm(a: &Csr, b: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; a.rows() * cols];
    for row in 0..a.rows() {
        for c in 0..cols {
            let mut acc = 0f32;
            for k in a.row_range(row) {
                acc += a.values()[k] * b[a.col_idx()[k] as usize * cols + c];
            }
            out[row * cols + c] = acc;
        }
    }
    out
}

/// max(a · b, 0) elementwise (the shader's RELU epilogue).
pub fn spmm_relu(a: &Csr, b: &[f32], cols: usize) -> Vec<f32> {
    let mut out = spmm(a, b, cols);
    for x in &mut out {
        *x = x.max(0.0);
    }
    out
}
