//! Twin of `shaders/kmeans_update.wgsl`.

/// Per-chunk sums and counts: `chunks × k × (dim + 1)` with `chunks = ⌈n / chunk_rows⌉`
/// (at least 1); element (b, c, j < dim) is the sum of coordinate j over the points of
/// chunk b labelled c, added in point order in `f32`, and (b, c, dim) their number.
/// Labels at or above k count as k − 1, as the shader clamps them.
///
/// # Panics
/// If `points.len() != n·dim`, `labels.len() != n`, `dim = 0`, `k = 0` or
/// `chunk_rows = 0`.
pub fn kmeans_update(
    points: &[f32],
    n: usize,
    dim: usize,
    labels: &[u32],
    k: usize,
    chunk_rows: usize,
) -> Vec<f32> {
    assert_eq!(
        points.len(),
        n * dim,
        "kmeans_update: points is not n × dim"
    );
    assert_eq!(labels.len(), n, "kmeans_update: labels is not of length n");
    assert!(
        dim > 0 && k > 0 && chunk_rows > 0,
        "kmeans_update: empty shape"
    );
    let cols = dim + 1;
    let chunks = n.div_ceil(chunk_rows).max(1);
    let mut partial = vec![0f32; chunks * k * cols];
    for chunk in 0..chunks {
        for j in 0..cols {
            let base = chunk * k * cols + j;
            for i in chunk * chunk_rows..n.min((chunk + 1) * chunk_rows) {
                let c = (labels[i] as usize).min(k - 1);
                let v = if j == dim { 1.0 } else { points[i * dim + j] };
                partial[base + c * cols] += v;
            }
        }
    }
    partial
}
