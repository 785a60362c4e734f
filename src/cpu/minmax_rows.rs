//! Twin of `shaders/minmax_rows.wgsl`.

const RANGE_EPS: f32 = 1e-20;
const NORM_EPS: f32 = 1e-12;

/// (z, stats): each row of a (rows × cols) as (a − lo)/range scaled to unit length, and
/// (lo, range, length) per row: lo the minimum, range the maximum − lo + 1e-20, the
/// length floored at 1e-12.
pub fn minmax_rows(a: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = a.len() / cols.max(1);
    let mut z = vec![0f32; rows * cols];
    let mut stats = vec![0f32; rows * 3];
    for ((row, out), st) in a
        .chunks_exact(cols.max(1))
        .zip(z.chunks_exact_mut(cols.max(1)))
        .zip(stats.chunks_exact_mut(3))
    {
        let (mut lo, mut hi) = (row[0], row[0]);
        for &v in &row[1..] {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let range = hi - lo + RANGE_EPS;
        let mut squares = 0f32;
        for &v in row {
            let u = (v - lo) / range;
            squares += u * u;
        }
        let length = squares.sqrt().max(NORM_EPS);
        for (o, &v) in out.iter_mut().zip(row) {
            *o = (v - lo) / range / length;
        }
        st.copy_from_slice(&[lo, range, length]);
    }
    (z, stats)
}
