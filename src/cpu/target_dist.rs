//! Twin of `shaders/target_dist.wgsl`.

/// p (n × k): rows of q²/f normalised.
pub fn target_dist(q: &[f32], f: &[f32], k: usize) -> Vec<f32> {
    let n = q.len().checked_div(k).unwrap_or(0);
    let mut p = vec![0f32; n * k];
    for i in 0..n {
        let mut total = 0f32;
        for j in 0..k {
            let v = q[i * k + j];
            let w = v * v / f[j];
            p[i * k + j] = w;
            total += w;
        }
        for j in 0..k {
            p[i * k + j] /= total;
        }
    }
    p
}
