//! `kmeans_distances` against `cpu::kmeans_distances` (and against `kmeans_assign`'s
//! distances, which k-means++ relies on being the same numbers): one point, one centre,
//! dimensions 1 to 64, N not a multiple of the workgroup's points, point slices, and bad
//! shapes.

use crate::common::{assert_close, assert_invalid_argument, gpu_profiles, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::kmeans_assign::{kmeans_assign, Assignment};
use gpu_vgae::internal::kernels::kmeans_distances::kmeans_distances;
use rand::Rng;

gpu_test! {
    fn kmeans_distances_match_cpu_and_the_assignment_step() {
        for gpu in gpu_profiles() {
            let mut r = rng(71);
            // (n, dim, m)
            for (n, dim, m) in [
                (1, 1, 1),
                (1, 3, 2),
                (7, 16, 7),
                (65, 17, 3),
                (257, 1, 8),
                (300, 33, 4),
                (130, 64, 3),
                (1031, 16, 3),
            ] {
                let what = format!("n={n} dim={dim} m={m} {:?}", gpu.profile().class);
                // Grid values (halves in [−2, 2]): exact distances on both sides.
                let points: Vec<f32> =
                    (0..n * dim).map(|_| r.random_range(-4i32..=4) as f32 * 0.5).collect();
                let idx: Vec<usize> = (0..m).map(|_| r.random_range(0..n)).collect();
                let centres: Vec<f32> = idx
                    .iter()
                    .flat_map(|&i| points[i * dim..(i + 1) * dim].to_vec())
                    .collect();
                let gp = gpu.upload_matrix("points", n, dim, &points).unwrap();
                let gc = gpu.upload_matrix("centres", m, dim, &centres).unwrap();
                let out = gpu.alloc::<f32>("out", m * n).unwrap();
                run(&gpu, [kmeans_distances(&gpu, &gp, 0, &gc, n, &out).unwrap()]);
                let got = gpu.read(&out).unwrap();
                assert_eq!(got, cpu::kmeans_distances(&points, n, dim, &centres, m), "{what}");
                // Each row equals the assignment step's distances to that one centre.
                for c in 0..m {
                    let one = gpu.upload_matrix("one", 1, dim, &centres[c * dim..(c + 1) * dim]).unwrap();
                    let a = Assignment::new(&gpu, n).unwrap();
                    run(&gpu, [kmeans_assign(&gpu, &gp, 0, &one, &a).unwrap()]);
                    assert_eq!(gpu.read(&a.min_sq).unwrap(), got[c * n..(c + 1) * n], "{what}");
                }
                // Random values: equal to rounding (fused multiply-adds), rtol ∝ √dim.
                let points = random_vec(&mut r, n * dim, 3.0);
                let centres = random_vec(&mut r, m * dim, 3.0);
                let gp = gpu.upload_matrix("points", n, dim, &points).unwrap();
                let gc = gpu.upload_matrix("centres", m, dim, &centres).unwrap();
                run(&gpu, [kmeans_distances(&gpu, &gp, 0, &gc, n, &out).unwrap()]);
                assert_close(
                    &gpu.read(&out).unwrap(),
                    &cpu::kmeans_distances(&points, n, dim, &centres, m),
                    ATOL,
                    RTOL * (dim as f32).sqrt(),
                    &what,
                );
            }
        }
    }
}

gpu_test! {
    fn kmeans_distances_slices_index_globally() {
        for gpu in gpu_profiles() {
            let mut r = rng(72);
            let (n, dim, m) = (700, 5, 3);
            let points: Vec<f32> =
                (0..n * dim).map(|_| r.random_range(-4i32..=4) as f32 * 0.5).collect();
            let centres = points[..m * dim].to_vec();
            let gc = gpu.upload_matrix("centres", m, dim, &centres).unwrap();
            let out = gpu.alloc::<f32>("out", m * n).unwrap();
            let mut dispatches = Vec::new();
            let slices: Vec<_> = [(0, 256), (256, 699), (699, 700)]
                .iter()
                .map(|&(a, b)| (a, gpu.upload_matrix("slice", b - a, dim, &points[a * dim..b * dim]).unwrap()))
                .collect();
            for (first, slice) in &slices {
                dispatches.push(kmeans_distances(&gpu, slice, *first, &gc, n, &out).unwrap());
            }
            run(&gpu, dispatches);
            assert_eq!(
                gpu.read(&out).unwrap(),
                cpu::kmeans_distances(&points, n, dim, &centres, m),
                "{:?}",
                gpu.profile().class
            );
        }
    }
}

gpu_test! {
    fn kmeans_distances_refuse_bad_shapes() {
        let gpu = crate::common::gpu();
        let p = gpu.upload_matrix("p", 4, 2, &[0.0; 8]).unwrap();
        let c = gpu.upload_matrix("c", 2, 2, &[0.0; 4]).unwrap();
        let c3 = gpu.upload_matrix("c3", 2, 3, &[0.0; 6]).unwrap();
        let wide = gpu.upload_matrix("wide", 1, 65, &[0.0; 65]).unwrap();
        let none = gpu.upload_matrix("none", 0, 2, &[]).unwrap();
        let out = gpu.alloc::<f32>("out", 8).unwrap();
        let bad = assert_invalid_argument;
        bad(kmeans_distances(&gpu, &p, 0, &c3, 4, &out), "centres");
        bad(kmeans_distances(&gpu, &wide, 0, &wide, 1, &out), "points");
        bad(kmeans_distances(&gpu, &p, 0, &none, 4, &out), "centres");
        bad(kmeans_distances(&gpu, &p, 1, &c, 4, &out), "out");
        bad(kmeans_distances(&gpu, &p, 0, &c, 5, &out), "out");
        assert!(kmeans_distances(&gpu, &p, 0, &c, 4, &out).is_ok());
    }
}
