//! k-means on the GPU (`cluster::kmeans_gpu`, `cluster::cluster_embeddings`) against the
//! CPU k-means (`cluster::kmeans`) for the same seed: identical labels, iterations and
//! chosen run, inertia within 1e-5 relative on well-separated blobs (where f32 rounding
//! of a distance cannot flip an assignment or a k-means++ draw), the whole result equal
//! on grid data (where every distance is exact); degenerate shapes (N = 1, k = 1, k = N,
//! empty clusters re-seeded), runs cut short by max_iter, more k-means++ candidates than
//! one batch, points split across storage bindings, determinism, and refused input.

#[macro_use]
mod common;

use common::{assert_invalid_argument, gpu, gpu_profiles, rng};
use gpu_vgae::internal::cluster::{cluster_embeddings, kmeans, kmeans_gpu, KMeans, KMeansConfig};
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::Error;
use rand::Rng;

/// `n` points of dimension `dim` around `k` centres uniform in [−20, 20]^dim, each
/// within ±1 of its centre per coordinate (point i around centre i mod k).
fn blobs(seed: u64, n: usize, dim: usize, k: usize) -> Vec<f32> {
    let mut r = rng(seed);
    let centres: Vec<f32> = (0..k * dim).map(|_| r.random_range(-20.0..20.0)).collect();
    (0..n)
        .flat_map(|i| {
            let c = i % k;
            (0..dim)
                .map(|j| centres[c * dim + j] + r.random_range(-1.0f32..1.0))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Values on a grid of quarters in [−4, 4]: every distance is exact in f32 on both
/// sides, so the GPU result must equal the CPU's in every field.
fn grid(seed: u64, len: usize) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len)
        .map(|_| r.random_range(-16i32..=16) as f32 * 0.25)
        .collect()
}

/// Same labels, iterations, convergence and best run; inertia per run within 1e-5
/// relative (distances may differ in the last bit where the driver fuses a multiply
/// and an add); centroids (means of the same labels, from bit-identical sums) equal.
fn assert_same(gpu_result: &KMeans, cpu_result: &KMeans, what: &str) {
    assert_eq!(gpu_result.labels, cpu_result.labels, "{what}: labels");
    assert_eq!(
        gpu_result.centroids, cpu_result.centroids,
        "{what}: centroids"
    );
    assert_eq!(
        (gpu_result.k, gpu_result.dim, gpu_result.best_run),
        (cpu_result.k, cpu_result.dim, cpu_result.best_run),
        "{what}: k, dim, best run"
    );
    assert_eq!(gpu_result.runs.len(), cpu_result.runs.len(), "{what}");
    for (r, (g, c)) in gpu_result.runs.iter().zip(&cpu_result.runs).enumerate() {
        assert_eq!(
            (g.n_iter, g.converged),
            (c.n_iter, c.converged),
            "{what}: run {r}"
        );
        assert!(
            (g.inertia - c.inertia).abs() <= 1e-5 * c.inertia.abs(),
            "{what}: run {r} inertia {} vs {}",
            g.inertia,
            c.inertia
        );
    }
    assert_eq!(
        gpu_result.inertia,
        gpu_result.runs[gpu_result.best_run].inertia
    );
}

gpu_test! {
    fn kmeans_gpu_equals_cpu_on_separated_blobs() {
        let gpu = gpu();
        // (n, dim, k): several chunks of the update, N not a multiple of a workgroup's
        // points, dimensions 1 to 64 (every register blocking of kmeans_assign).
        for (n, dim, k) in [
            (2000, 1, 2),
            (1000, 3, 4),
            (517, 16, 6),
            (777, 17, 5),
            (300, 33, 7),
            (300, 64, 3),
            (3000, 16, 12),
        ] {
            let x = blobs(n as u64 + dim as u64, n, dim, k);
            for seed in [0, 7] {
                let config = KMeansConfig::new(k).with_seed(seed);
                let g = kmeans_gpu(&gpu, &x, n, dim, &config).unwrap();
                let c = kmeans(&x, n, dim, &config).unwrap();
                assert_same(&g, &c, &format!("blobs n={n} dim={dim} k={k} seed={seed}"));
                assert!(g.converged);
            }
        }
    }
}

gpu_test! {
    fn kmeans_gpu_equals_cpu_exactly_on_grid_data() {
        // Overlapping grid data: many Lloyd iterations, distances exact, so the whole
        // result is equal (inertia included), under both profiles (kmeans_update by
        // columns; by rows, with the sums in registers for k ≤ 8 and dim ≤ 16).
        for gpu in gpu_profiles() {
            for (n, dim, k) in [(400, 2, 5), (1000, 16, 6), (300, 5, 40), (500, 33, 3)] {
                let x = grid(n as u64, n * dim);
                let config = KMeansConfig::new(k).with_seed(3);
                let g = kmeans_gpu(&gpu, &x, n, dim, &config).unwrap();
                let what = format!("grid n={n} dim={dim} k={k} {:?}", gpu.profile().class);
                assert_eq!(g, kmeans(&x, n, dim, &config).unwrap(), "{what}");
                assert!(g.runs.iter().any(|r| r.n_iter > 3), "too easy: {:?}", g.runs);
            }
        }
    }
}

gpu_test! {
    fn kmeans_gpu_handles_degenerate_shapes_as_the_cpu_does() {
        let gpu = gpu();
        let same = |x: &[f32], n: usize, dim: usize, config: &KMeansConfig, what: &str| {
            let g = kmeans_gpu(&gpu, x, n, dim, config).unwrap();
            assert_eq!(g, kmeans(x, n, dim, config).unwrap(), "{what}");
            g
        };
        // One point.
        let g = same(&[1.5, -2.0], 1, 2, &KMeansConfig::new(1), "N = 1");
        assert_eq!((g.labels, g.centroids, g.inertia), (vec![0], vec![1.5, -2.0], 0.0));
        // k = 1: the mean, one iteration to assign and one to confirm.
        let x = grid(11, 70 * 3);
        let g = same(&x, 70, 3, &KMeansConfig::new(1), "k = 1");
        assert_eq!((g.labels, g.n_iter), (vec![0; 70], 2));
        // k = N with distinct points: every point its own cluster, inertia 0.
        let x: Vec<f32> = (0..9).map(|i| i as f32 * 1.5).collect();
        let g = same(&x, 9, 1, &KMeansConfig::new(9), "k = N");
        assert_eq!(g.inertia, 0.0);
        // All points equal, k = 2: k-means++ draws the same point twice, one cluster
        // starts empty and is re-seeded.
        same(&[3.0; 5], 5, 1, &KMeansConfig::new(2), "all equal");
        // 600 points at 3 positions, k = 5: several empty clusters re-seeded per run.
        let x: Vec<f32> = (0..600).flat_map(|i| [(i % 3) as f32 * 4.0, 1.0]).collect();
        let g = same(&x, 600, 2, &KMeansConfig::new(5), "duplicates");
        assert_eq!(g.inertia, 0.0);
    }
}

gpu_test! {
    fn kmeans_gpu_follows_the_cpu_when_cut_short_or_with_many_candidates() {
        let gpu = gpu();
        let x = grid(12, 800 * 4);
        for max_iter in [1, 2, 5] {
            let mut config = KMeansConfig::new(7).with_seed(1);
            config.max_iter = max_iter;
            let g = kmeans_gpu(&gpu, &x, 800, 4, &config).unwrap();
            assert_eq!(g, kmeans(&x, 800, 4, &config).unwrap(), "max_iter {max_iter}");
            assert!(!g.converged && g.n_iter == max_iter);
        }
        // 11 and 20 candidates per centre: more than one batch of the device's k-means++.
        for trials in [1, 11, 20] {
            let mut config = KMeansConfig::new(6).with_seed(2);
            config.n_local_trials = Some(trials);
            config.n_init = 3;
            let g = kmeans_gpu(&gpu, &x, 800, 4, &config).unwrap();
            assert_eq!(g, kmeans(&x, 800, 4, &config).unwrap(), "{trials} trials");
        }
    }
}

gpu_test! {
    fn kmeans_gpu_is_deterministic_run_to_run() {
        let gpu = gpu();
        let (n, dim, k) = (5000, 16, 6);
        let x = blobs(99, n, dim, k);
        let config = KMeansConfig::new(k).with_seed(5);
        let a = kmeans_gpu(&gpu, &x, n, dim, &config).unwrap();
        let b = kmeans_gpu(&gpu, &x, n, dim, &config).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, cluster_embeddings(&gpu, &x, n, dim, k, 5).unwrap());
    }
}

/// A device on the same adapter whose storage bindings hold at most `bytes`.
fn small_binding_gpu(bytes: u64) -> Gpu {
    let shared = gpu();
    let name = shared.report().name.clone();
    pollster::block_on(async {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::all(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .enumerate_adapters(wgpu::Backends::all())
            .await
            .into_iter()
            .find(|a| a.get_info().name == name)
            .expect("the shared device's adapter");
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpu_vgae.test.small_bindings"),
                required_limits: wgpu::Limits {
                    max_storage_buffer_binding_size: bytes,
                    max_storage_buffers_per_shader_stage: 9,
                    ..wgpu::Limits::downlevel_defaults()
                },
                ..Default::default()
            })
            .await
            .unwrap();
        Gpu::from_device(device, queue, &adapter.get_info()).unwrap()
    })
}

gpu_test! {
    fn kmeans_gpu_splits_points_larger_than_one_binding() {
        // 20 000 × 16 points are 1.28 MB: six slices of 256 KiB bindings.
        let small = small_binding_gpu(256 << 10);
        assert_eq!(small.limits().max_storage_buffer_binding_size, 256 << 10);
        let (n, dim, k) = (20_000, 16, 6);
        let x = grid(13, n * dim);
        let mut config = KMeansConfig::new(k).with_seed(4);
        config.n_init = 2;
        let g = kmeans_gpu(&small, &x, n, dim, &config).unwrap();
        assert_eq!(g, kmeans(&x, n, dim, &config).unwrap());
        assert_eq!(g, kmeans_gpu(&gpu(), &x, n, dim, &config).unwrap());
    }
}

gpu_test! {
    fn cluster_embeddings_refuses_bad_k_and_input() {
        let gpu = gpu();
        let x = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        for k in [0, 4] {
            match cluster_embeddings(&gpu, &x, 3, 2, k, 0) {
                Err(Error::InvalidConfig { setting: "k", message }) => {
                    assert!(message.contains(&format!("k = {k}")), "{message}")
                }
                other => panic!("k = {k}: {other:?}"),
            }
        }
        let err = cluster_embeddings(&gpu, &x, 3, 2, 4, 0).unwrap_err().to_string();
        assert!(err.contains("k = 4 clusters for only 3 points"), "{err}");
        let bad = assert_invalid_argument;
        bad(cluster_embeddings(&gpu, &x, 4, 2, 1, 0), "points");
        bad(cluster_embeddings(&gpu, &[0.0, f32::NAN], 1, 2, 1, 0), "points");
        bad(cluster_embeddings(&gpu, &[], 0, 2, 1, 0), "n");
        bad(cluster_embeddings(&gpu, &vec![0.0; 2 * 65], 2, 65, 1, 0), "dim");
        let mut config = KMeansConfig::new(2);
        config.n_init = 0;
        assert!(matches!(
            kmeans_gpu(&gpu, &x, 3, 2, &config),
            Err(Error::InvalidConfig { setting: "n_init", .. })
        ));
    }
}
