//! Twin of `shaders/minmax_rows_backward.wgsl`.

const NORM_EPS: f32 = 1e-12;

/// da: the gradient with respect to a (rows × cols) of a loss whose gradient with
/// respect to z = minmax_rows(a) is g, from minmax_rows' z and stats (rows × 3); the
/// minimum's and maximum's shares go to the first column holding them.
pub fn minmax_rows_backward(
    a: &[f32],
    z: &[f32],
    stats: &[f32],
    g: &[f32],
    cols: usize,
) -> Vec<f32> {
    let mut da = vec![0f32; a.len()];
    for (row, st) in stats.chunks_exact(3).enumerate() {
        let base = row * cols;
        let (lo, range, length) = (st[0], st[1], st[2]);
        let (a, z, g) = (
            &a[base..base + cols],
            &z[base..base + cols],
            &g[base..base + cols],
        );
        let out = &mut da[base..base + cols];
        let mut along = 0f32;
        let (mut lo_at, mut hi_at) = (0, 0);
        for c in 0..cols {
            along += z[c] * g[c];
            if a[c] < a[lo_at] {
                lo_at = c;
            }
            if a[c] > a[hi_at] {
                hi_at = c;
            }
        }
        let (mut s, mut t) = (0f32, 0f32);
        for c in 0..cols {
            let du = if length <= NORM_EPS {
                g[c] / NORM_EPS
            } else {
                (g[c] - z[c] * along) / length
            };
            let d = du / range;
            s += d * (a[c] - lo) / range;
            t += d;
            out[c] = d;
        }
        out[hi_at] -= s;
        out[lo_at] += s - t;
    }
    da
}
