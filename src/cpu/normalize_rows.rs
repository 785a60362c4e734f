//! Twin of `shaders/normalize_rows.wgsl`.

const EPS: f32 = 1e-12;

/// (z, norm): the rows of h (rows × cols) plus `bias` scaled to unit length, and their
/// lengths before scaling, at least 1e-12.
pub fn normalize_rows(h: &[f32], bias: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = h.len() / cols.max(1);
    let mut z = vec![0f32; rows * cols];
    let mut norm = vec![0f32; rows];
    for ((row, out), length_out) in h
        .chunks_exact(cols.max(1))
        .zip(z.chunks_exact_mut(cols.max(1)))
        .zip(norm.iter_mut())
    {
        let mut squares = 0f32;
        for (&v, &b) in row.iter().zip(bias) {
            let s = v + b;
            squares += s * s;
        }
        let length = squares.sqrt().max(EPS);
        for ((o, &v), &b) in out.iter_mut().zip(row).zip(bias) {
            *o = (v + b) / length;
        }
        *length_out = length;
    }
    (z, norm)
}
