//! `kmeans_update` (and its `reduce_sum` totals) against `cpu::kmeans_update` +
//! `cpu::column_sums`, bit for bit, and against f64 sums; over awkward shapes (one
//! point, one cluster, k = N, dimensions 1 to 64, chunks of 1 point, a last chunk
//! shorter than the others, several reduce levels), under both profiles (by columns;
//! by rows, with the sums in registers for k ≤ 8 and dim ≤ 16), point slices, and bad
//! shapes.

use crate::common::{assert_invalid_argument, gpu_profiles, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::internal::kernels::kmeans_update::{kmeans_update, totals, UpdateLayout};
use gpu_vgae::internal::kernels::reduce_sum::{levels, GROUP_ROWS};
use rand::Rng;

/// The GPU's (partial sums, totals) for one slice holding every point.
fn gpu_update(
    gpu: &Gpu,
    points: &[f32],
    labels: &[u32],
    layout: &UpdateLayout,
) -> (Vec<f32>, Vec<f32>) {
    let gp = gpu
        .upload_matrix("points", layout.n, layout.dim, points)
        .unwrap();
    let gl = gpu.upload("labels", labels).unwrap();
    let partial = gpu.alloc::<f32>("partial", layout.partial_len()).unwrap();
    let out = gpu.alloc::<f32>("totals", layout.totals_len()).unwrap();
    let mut dispatches = vec![kmeans_update(gpu, &gp, 0, &gl, layout, &partial).unwrap()];
    dispatches.extend(totals(gpu, layout, &partial, &out).unwrap());
    run(gpu, dispatches);
    (gpu.read(&partial).unwrap(), gpu.read(&out).unwrap())
}

gpu_test! {
    fn kmeans_update_matches_cpu_bit_for_bit_and_f64_within_the_sum_bound() {
        for gpu in gpu_profiles() {
            let mut r = rng(61);
            // (n, dim, k, points per chunk; 0 = the default layout)
            for (n, dim, k, chunk_rows) in [
                (1, 1, 1, 0),
                (1, 3, 1, 1),
                (7, 3, 7, 2),
                (9, 17, 9, 1),
                (65, 16, 4, 8),
                (300, 16, 6, 0),
                (1000, 64, 3, 7),
                (2000, 5, 8, 100),
                (4097, 1, 9, 3),
                (5000, 16, 6, 0),
                (20_000, 33, 12, 0),
                (70_001, 16, 6, 1),
            ] {
                let mut layout = UpdateLayout::new(n, k, dim);
                if chunk_rows > 0 {
                    layout = layout.with_chunk_rows(chunk_rows);
                }
                let points = random_vec(&mut r, n * dim, 4.0);
                let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..k as u32)).collect();
                let (partial, sums) = gpu_update(&gpu, &points, &labels, &layout);
                let what = format!(
                    "n={n} dim={dim} k={k} chunk={} {:?}",
                    layout.chunk_rows,
                    gpu.profile().class
                );
                // The same additions in the same order: equal bit for bit (kmeans_gpu
                // relies on it to reproduce the CPU's centroids).
                let want = cpu::kmeans_update(&points, n, dim, &labels, k, layout.chunk_rows);
                assert_eq!(partial, want, "partial sums {what}");
                let want_totals = cpu::column_sums(&want, layout.chunks(), layout.totals_len());
                assert_eq!(sums, want_totals, "totals {what}");
                // Against f64: each total is a sum of at most chunk_rows sequential terms
                // per chunk, then GROUP_ROWS per reduce level, so its error is at most
                // (chunk_rows + GROUP_ROWS·levels)·2⁻²⁴·Σ|x| to first order (the bound of
                // recursive summation); doubled (2⁻²³ = f32::EPSILON) to cover the
                // second-order terms.
                let path = layout.chunk_rows + GROUP_ROWS * levels(layout.chunks()).len();
                let eps = path as f64 * f64::from(f32::EPSILON);
                for c in 0..k {
                    let members: Vec<usize> = (0..n).filter(|&i| labels[i] as usize == c).collect();
                    assert_eq!(sums[c * (dim + 1) + dim], members.len() as f32, "count {c} {what}");
                    for j in 0..dim {
                        let exact: f64 = members.iter().map(|&i| points[i * dim + j] as f64).sum();
                        let mass: f64 =
                            members.iter().map(|&i| (points[i * dim + j] as f64).abs()).sum();
                        let got = sums[c * (dim + 1) + j] as f64;
                        assert!(
                            (got - exact).abs() <= eps * mass + 1e-30,
                            "{what}: cluster {c} column {j}: {got} vs exact {exact} (bound {})",
                            eps * mass
                        );
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn kmeans_update_slices_reproduce_the_whole_array() {
        for gpu in gpu_profiles() {
            let mut r = rng(62);
            let (n, dim, k) = (2000, 5, 4);
            let layout = UpdateLayout::new(n, k, dim).with_chunk_rows(64);
            let points = random_vec(&mut r, n * dim, 2.0);
            // Out-of-range labels count as the last cluster, as the twin says.
            let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..k as u32 + 2)).collect();
            let gl = gpu.upload("labels", &labels).unwrap();
            let partial = gpu.alloc::<f32>("partial", layout.partial_len()).unwrap();
            let mut dispatches = Vec::new();
            for (a, b) in [(0, 640), (640, 1920), (1920, 2000)] {
                let slice = gpu.upload_matrix("slice", b - a, dim, &points[a * dim..b * dim]).unwrap();
                dispatches.push(kmeans_update(&gpu, &slice, a, &gl, &layout, &partial).unwrap());
            }
            run(&gpu, dispatches);
            assert_eq!(
                gpu.read(&partial).unwrap(),
                cpu::kmeans_update(&points, n, dim, &labels, k, 64),
                "{:?}",
                gpu.profile().class
            );
        }
    }
}

gpu_test! {
    fn kmeans_update_refuses_bad_shapes() {
        let gpu = crate::common::gpu();
        let layout = UpdateLayout::new(10, 3, 2).with_chunk_rows(4);
        let p = gpu.upload_matrix("p", 10, 2, &[0.0; 20]).unwrap();
        let p3 = gpu.upload_matrix("p3", 10, 3, &[0.0; 30]).unwrap();
        let half = gpu.upload_matrix("half", 5, 2, &[0.0; 10]).unwrap();
        let labels = gpu.upload("labels", &[0u32; 10]).unwrap();
        let short = gpu.upload("short", &[0u32; 9]).unwrap();
        let partial = gpu.alloc::<f32>("partial", layout.partial_len()).unwrap();
        let small = gpu.alloc::<f32>("small", layout.partial_len() - 1).unwrap();
        let bad = assert_invalid_argument;
        bad(kmeans_update(&gpu, &p3, 0, &labels, &layout, &partial), "points");
        bad(kmeans_update(&gpu, &p, 0, &short, &layout, &partial), "labels");
        bad(kmeans_update(&gpu, &p, 0, &labels, &layout, &small), "partial");
        // A slice must start a chunk and stay within the n points.
        bad(kmeans_update(&gpu, &half, 2, &labels, &layout, &partial), "first");
        bad(kmeans_update(&gpu, &half, 8, &labels, &layout, &partial), "first");
        assert!(kmeans_update(&gpu, &half, 4, &labels, &layout, &partial).is_ok());
        let wrong = gpu.alloc::<f32>("wrong", 4).unwrap();
        assert_invalid_argument(totals(&gpu, &layout, &partial, &wrong), "totals");
    }
}
