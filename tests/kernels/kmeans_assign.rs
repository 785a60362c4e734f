//! `kmeans_assign` against `cpu::kmeans_assign`: labels, distances and the change count
//! over awkward shapes (one point, one centroid, k = N, dimensions 1 to 64, N not a
//! multiple of the workgroup's points), exact ties, point slices, and bad shapes.

use crate::common::{assert_close, assert_invalid_argument, gpu_profiles, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::{Gpu, GpuMatrix};
use gpu_vgae::internal::kernels::kmeans_assign::{kmeans_assign, Assignment};
use rand::rngs::StdRng;
use rand::Rng;

/// Values on a grid of halves in [−2, 2]: every difference, square and partial sum of up
/// to 64 of them is exact in `f32` (with or without fused multiply-adds), so distances
/// are exact on both sides and equal distances (ties) are common.
fn grid(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| rng.random_range(-4i32..=4) as f32 * 0.5)
        .collect()
}

/// The GPU's (labels, min_sq, changed) for points and centroids, the labels starting
/// at `previous`.
fn gpu_assign(
    gpu: &Gpu,
    points: &[f32],
    n: usize,
    dim: usize,
    centroids: &[f32],
    k: usize,
    previous: &[u32],
) -> (Vec<u32>, Vec<f32>, u32) {
    let gp = gpu.upload_matrix("points", n, dim, points).unwrap();
    let gc = gpu.upload_matrix("centroids", k, dim, centroids).unwrap();
    let out = Assignment::new(gpu, n).unwrap();
    out.labels.write(gpu, previous).unwrap();
    run(gpu, [kmeans_assign(gpu, &gp, 0, &gc, &out).unwrap()]);
    (
        gpu.read(&out.labels).unwrap(),
        gpu.read(&out.min_sq).unwrap(),
        gpu.read(&out.changed).unwrap()[0],
    )
}

const SHAPES: [(usize, usize, usize); 14] = [
    // (n, dim, k)
    (1, 1, 1),
    (1, 3, 1),
    (1, 16, 5),
    (7, 3, 7),
    (9, 17, 9),
    (63, 1, 2),
    (65, 16, 6),
    (257, 4, 1),
    (300, 17, 12),
    (130, 33, 3),
    (200, 64, 6),
    (129, 64, 129),
    (1000, 16, 6),
    (1031, 5, 40),
];

gpu_test! {
    fn kmeans_assign_matches_cpu_exactly_on_grid_values_with_ties() {
        for gpu in gpu_profiles() {
            let mut r = rng(51);
            for (n, dim, k) in SHAPES {
                let points = grid(&mut r, n * dim);
                let centroids = grid(&mut r, k * dim);
                let previous: Vec<u32> = (0..n).map(|i| (i % (k + 1)) as u32).collect();
                let mut labels = previous.clone();
                let mut min_sq = vec![0f32; n];
                let changed =
                    cpu::kmeans_assign(&points, n, dim, &centroids, k, &mut labels, &mut min_sq);
                let got = gpu_assign(&gpu, &points, n, dim, &centroids, k, &previous);
                let what = format!("n={n} dim={dim} k={k} {:?}", gpu.profile().class);
                assert_eq!(got.0, labels, "labels {what}");
                assert_eq!(got.1, min_sq, "distances {what}");
                assert_eq!(got.2, changed, "changed {what}");
            }
        }
    }
}

gpu_test! {
    fn kmeans_assign_matches_cpu_on_random_values() {
        for gpu in gpu_profiles() {
            let mut r = rng(52);
            for (n, dim, k) in SHAPES {
                let points = random_vec(&mut r, n * dim, 3.0);
                let centroids = random_vec(&mut r, k * dim, 3.0);
                let (labels, min_sq) = gpu_vgae::internal::cluster::assign(&points, n, dim, &centroids, k).unwrap();
                let got = gpu_assign(&gpu, &points, n, dim, &centroids, k, &vec![u32::MAX; n]);
                let what = format!("n={n} dim={dim} k={k} {:?}", gpu.profile().class);
                // Sums of dim squares: the driver may fuse multiply-adds, so distances
                // agree to rounding (rtol widened by √dim).
                let rtol = RTOL * (dim as f32).sqrt();
                assert_close(&got.1, &min_sq, ATOL, rtol, &format!("distances {what}"));
                assert_eq!(got.2 as usize, n, "changed {what}");
                for i in 0..n {
                    if got.0[i] != labels[i] {
                        // Only a near-tie may flip: both centroids within rounding.
                        let x = &points[i * dim..(i + 1) * dim];
                        let d = |c: u32| {
                            cpu::sq_dist(x, &centroids[c as usize * dim..(c as usize + 1) * dim])
                        };
                        let (a, b) = (d(got.0[i]), d(labels[i]));
                        assert!(
                            (a - b).abs() <= ATOL + rtol * b,
                            "{what}: point {i} labelled {} (d = {a}) on the GPU, {} (d = {b}) \
                             on the CPU",
                            got.0[i],
                            labels[i]
                        );
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn kmeans_assign_breaks_ties_to_the_lowest_index() {
        for gpu in gpu_profiles() {
            // Point 0 is at distance 1 from centroids 1, 2 and 3 (4 from centroid 0);
            // point 1 is equally far (0) from the identical centroids 4 and 5... of which
            // 4 is first.
            let centroids = [2.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 5.0, 5.0, 5.0, 5.0];
            let got = gpu_assign(&gpu, &[0.0, 0.0, 5.0, 5.0], 2, 2, &centroids, 6, &[7, 4]);
            assert_eq!(got, (vec![1, 4], vec![1.0, 0.0], 1));
            // All centroids equal: every point goes to the first.
            let got = gpu_assign(&gpu, &[1.0, 2.0, 3.0], 3, 1, &[5.0; 4], 4, &[0, 0, 0]);
            assert_eq!(got.0, vec![0, 0, 0]);
            assert_eq!(got.2, 0);
        }
    }
}

gpu_test! {
    fn kmeans_assign_counts_changes_and_slices_index_globally() {
        for gpu in gpu_profiles() {
            let mut r = rng(53);
            let (n, dim, k) = (1000, 16, 6);
            let points = grid(&mut r, n * dim);
            let c1 = grid(&mut r, k * dim);
            let c2 = grid(&mut r, k * dim);
            // Two slices of 300 and 700 points into one set of outputs.
            let slices: Vec<GpuMatrix> = [(0, 300), (300, 1000)]
                .iter()
                .map(|&(a, b)| {
                    gpu.upload_matrix("slice", b - a, dim, &points[a * dim..b * dim])
                        .unwrap()
                })
                .collect();
            let out = Assignment::new(&gpu, n).unwrap();
            let mut labels = vec![u32::MAX; n];
            let mut min_sq = vec![0f32; n];
            for (round, centroids) in [&c1, &c1, &c2].into_iter().enumerate() {
                let gc = gpu.upload_matrix("centroids", k, dim, centroids).unwrap();
                out.changed.write(&gpu, &[0]).unwrap();
                run(
                    &gpu,
                    [
                        kmeans_assign(&gpu, &slices[0], 0, &gc, &out).unwrap(),
                        kmeans_assign(&gpu, &slices[1], 300, &gc, &out).unwrap(),
                    ],
                );
                let changed =
                    cpu::kmeans_assign(&points, n, dim, centroids, k, &mut labels, &mut min_sq);
                let what = format!("round {round} {:?}", gpu.profile().class);
                assert_eq!(gpu.read(&out.labels).unwrap(), labels, "{what}");
                assert_eq!(gpu.read(&out.min_sq).unwrap(), min_sq, "{what}");
                assert_eq!(gpu.read(&out.changed).unwrap()[0], changed, "{what}");
                match round {
                    0 => assert_eq!(changed as usize, n),
                    1 => assert_eq!(changed, 0),
                    _ => assert!(changed > 0),
                }
            }
        }
    }
}

gpu_test! {
    fn kmeans_assign_refuses_bad_shapes() {
        let gpu = crate::common::gpu();
        let p = gpu.upload_matrix("p", 4, 2, &[0.0; 8]).unwrap();
        let c = gpu.upload_matrix("c", 2, 2, &[0.0; 4]).unwrap();
        let c3 = gpu.upload_matrix("c3", 2, 3, &[0.0; 6]).unwrap();
        let wide = gpu.upload_matrix("wide", 1, 65, &[0.0; 65]).unwrap();
        let out = Assignment::new(&gpu, 4).unwrap();
        let bad = assert_invalid_argument;
        bad(kmeans_assign(&gpu, &p, 0, &c3, &out), "centroids");
        bad(kmeans_assign(&gpu, &wide, 0, &wide, &out), "points");
        bad(kmeans_assign(&gpu, &p, 1, &c, &out), "out");
        let none = gpu.upload_matrix("none", 0, 2, &[]).unwrap();
        bad(kmeans_assign(&gpu, &p, 0, &none, &out), "centroids");
        assert!(kmeans_assign(&gpu, &p, 0, &c, &out).is_ok());
    }
}
