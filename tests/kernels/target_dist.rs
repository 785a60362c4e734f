//! `target_dist` against its CPU twin and the f64 formula.

use crate::common::{assert_close, gpu};
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::target_dist::target_dist;
use rand::Rng;

gpu_test! {
    fn target_dist_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = crate::common::rng(47);
        for (n, k) in [(1, 1), (7, 3), (3327, 6), (130, 64)] {
            // Rows of q are positive and sum to 1, as soft assignments do.
            let mut q: Vec<f32> = (0..n * k).map(|_| r.random_range(0.01f32..1.0)).collect();
            for i in 0..n {
                let s: f32 = q[i * k..(i + 1) * k].iter().sum();
                q[i * k..(i + 1) * k].iter_mut().for_each(|v| *v /= s);
            }
            let gq = gpu.upload_matrix("q", n, k, &q).unwrap();
            let f = gpu.alloc::<f32>("f", k).unwrap();
            let p = gpu.alloc_matrix("p", n, k).unwrap();
            let mut dispatches = column_sums(&gpu, gq.data(), n, k, &f);
            dispatches.push(target_dist(&gpu, &gq, &f, &p).unwrap());
            run(&gpu, [dispatches]);
            let host_f = cpu::column_sums(&q, n, k);
            let got = gpu.read(p.data()).unwrap();
            let what = format!("n {n} k {k}");
            assert_close(&got, &cpu::target_dist(&q, &host_f, k), ATOL, RTOL, &what);
            let fe: Vec<f64> = (0..k).map(|j| (0..n).map(|i| q[i * k + j] as f64).sum()).collect();
            for i in 0..n {
                let w: Vec<f64> = (0..k).map(|j| (q[i * k + j] as f64).powi(2) / fe[j]).collect();
                let s: f64 = w.iter().sum();
                for j in 0..k {
                    let e = w[j] / s;
                    assert!((got[i * k + j] as f64 - e).abs() < 1e-5 * (1.0 + e), "{what} ({i}, {j})");
                }
            }
        }
    }
}
