//! Twin of `shaders/kmeans_assign.wgsl`.

/// Squared Euclidean distance accumulated in `f32` in column order:
/// `acc += (a[j] − b[j])²` for j = 0, 1, …, dim − 1 (no fused multiply-add), as the
/// shader sums it.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in a.iter().zip(b) {
        let d = x - y;
        acc += d * d;
    }
    acc
}

/// For each of the `n` points (`n × dim`, row-major), its nearest of the `k` centroids
/// (`k × dim`; ties to the lowest index) into `labels` and the squared distance to it
/// into `min_sq`. `labels` holds the previous labels on entry; returns how many changed.
///
/// # Panics
/// If `points.len() != n·dim`, `centroids.len() != k·dim`, `labels` or `min_sq` is not of
/// length n, or `k = 0` while `n > 0`.
pub fn kmeans_assign(
    points: &[f32],
    n: usize,
    dim: usize,
    centroids: &[f32],
    k: usize,
    labels: &mut [u32],
    min_sq: &mut [f32],
) -> u32 {
    assert_eq!(
        points.len(),
        n * dim,
        "kmeans_assign: points is not n × dim"
    );
    assert_eq!(
        centroids.len(),
        k * dim,
        "kmeans_assign: centroids is not k × dim"
    );
    assert!(
        labels.len() == n && min_sq.len() == n,
        "kmeans_assign: outputs are not of length n"
    );
    assert!(k > 0 || n == 0, "kmeans_assign: no centroids");
    let mut changed = 0;
    for i in 0..n {
        let x = &points[i * dim..(i + 1) * dim];
        let mut best = 0u32;
        let mut best_d = 0f32;
        for c in 0..k {
            let d = sq_dist(x, &centroids[c * dim..(c + 1) * dim]);
            // Centroid 0 starts the scan; later ones win only when strictly closer.
            if c == 0 || d < best_d {
                best_d = d;
                best = c as u32;
            }
        }
        changed += u32::from(labels[i] != best);
        labels[i] = best;
        min_sq[i] = best_d;
    }
    changed
}
