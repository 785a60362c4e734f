//! Twin of `shaders/kmeans_distances.wgsl`.

use super::sq_dist;

/// The squared distance of each of the `n` points (`n × dim`, row-major) to each of the
/// `m` centres (`m × dim`): `m × n`, row c for centre c, summed as [`sq_dist`] does.
///
/// # Panics
/// If `points.len() != n·dim` or `centres.len() != m·dim`.
pub fn kmeans_distances(
    points: &[f32],
    n: usize,
    dim: usize,
    centres: &[f32],
    m: usize,
) -> Vec<f32> {
    assert_eq!(
        points.len(),
        n * dim,
        "kmeans_distances: points is not n × dim"
    );
    assert_eq!(
        centres.len(),
        m * dim,
        "kmeans_distances: centres is not m × dim"
    );
    let mut out = vec![0f32; m * n];
    for c in 0..m {
        let centre = &centres[c * dim..(c + 1) * dim];
        for i in 0..n {
            out[c * n + i] = sq_dist(&points[i * dim..(i + 1) * dim], centre);
        }
    }
    out
}
