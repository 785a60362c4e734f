//! `matmul_tn_partial` against `cpu::matmul_tn_partial`, and with the `reduce_sum`
//! chain against an f64 Aᵀ·B.

use crate::common::{assert_close, every_layout, profile_name, random_vec, rng};
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};

gpu_test! {
    fn matmul_tn_partial_matches_cpu_across_chunk_boundaries() {
        for gpu in every_layout() {
            let mut r = rng(4);
            for (m, k, n) in [
                (1, 1, 1),
                (1, 32, 32),
                (255, 3, 5),
                (257, 32, 32),
                (3327, 32, 32),
                (20_000, 4, 6),
                (300, 8, 36),
                (600, 260, 8),
                // Chunks shorter than a subgroup's rows, whole or last.
                (3, 8, 16),
                (263, 16, 36),
            ] {
                let a = random_vec(&mut r, m * k, 1.0);
                let b = random_vec(&mut r, m * n, 1.0);
                let ga = gpu.upload_matrix("a", m, k, &a).unwrap();
                let gb = gpu.upload_matrix("b", m, n, &b).unwrap();
                let c = chunks(m);
                let partial = gpu.alloc::<f32>("partial", c * k * n).unwrap();
                let out = gpu.alloc::<f32>("out", k * n).unwrap();
                let mut dispatches = matmul_tn_partial(&gpu, &ga, &gb, &partial).unwrap();
                dispatches.extend(column_sums(&gpu, &partial, c, k * n, &out));
                run(&gpu, dispatches);
                let what = format!("{m}x{k}x{n} {}", profile_name(&gpu));
                // Chunks of up to 256 terms summed in the same order as the twin.
                let atol = ATOL * 16.0;
                assert_close(
                    &gpu.read(&partial).unwrap(),
                    &cpu::matmul_tn_partial(&a, &b, m, k, n),
                    atol,
                    RTOL,
                    &format!("partial {what}"),
                );
                // The reduced product against f64: error grows with √m.
                let got = gpu.read(&out).unwrap();
                for i in 0..k {
                    for j in 0..n {
                        let exact: f64 =
                            (0..m).map(|row| a[row * k + i] as f64 * b[row * n + j] as f64).sum();
                        let g = got[i * n + j] as f64;
                        assert!(
                            (g - exact).abs() <= 1e-5 * (m as f64).sqrt() + 1e-4 * exact.abs(),
                            "{what} [{i},{j}]: {g} vs f64 {exact}"
                        );
                    }
                }
            }
        }
    }
}
