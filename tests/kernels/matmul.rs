//! `matmul` against `cpu::matmul`.

use crate::common::{assert_close, every_layout, profile_name, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::matmul::{matmul, matmul_masked};

gpu_test! {
    fn matmul_matches_cpu_with_and_without_transpose() {
        for gpu in every_layout() {
            let mut r = rng(3);
            for (m, k, n) in [
                (1, 1, 1),
                (1, 32, 32),
                (67, 32, 32),
                (130, 17, 5),
                (3327, 32, 32),
                (5, 3, 7),
                (70, 8, 36),
                (9, 12, 132),
            ] {
                let a = random_vec(&mut r, m * k, 1.0);
                let b = random_vec(&mut r, k * n, 1.0);
                let bt = random_vec(&mut r, n * k, 1.0);
                let ga = gpu.upload_matrix("a", m, k, &a).unwrap();
                let gb = gpu.upload_matrix("b", k, n, &b).unwrap();
                let gbt = gpu.upload_matrix("bt", n, k, &bt).unwrap();
                let out = gpu.alloc_matrix("out", m, n).unwrap();
                let out_t = gpu.alloc_matrix("out_t", m, n).unwrap();
                run(
                    &gpu,
                    [
                        matmul(&gpu, &ga, &gb, false, &out).unwrap(),
                        matmul(&gpu, &ga, &gbt, true, &out_t).unwrap(),
                    ],
                );
                let what = format!("{m}x{k}x{n} {}", profile_name(&gpu));
                assert_close(
                    &gpu.read(out.data()).unwrap(),
                    &cpu::matmul(&a, &b, m, k, n, false),
                    ATOL,
                    RTOL,
                    &what,
                );
                assert_close(
                    &gpu.read(out_t.data()).unwrap(),
                    &cpu::matmul(&a, &bt, m, k, n, true),
                    ATOL,
                    RTOL,
                    &format!("{what} transposed"),
                );
                // The rectifier's gradient fused in: zero wherever the mask is ≤ 0 (about
                // half of it, exact zeros included), the product elsewhere.
                let mut mask = random_vec(&mut r, m * n, 1.0);
                mask[0] = 0.0;
                let gmask = gpu.upload_matrix("mask", m, n, &mask).unwrap();
                for transpose in [false, true] {
                    let gpu_b = if transpose { &gbt } else { &gb };
                    run(&gpu, [matmul_masked(&gpu, &ga, gpu_b, transpose, Some(&gmask), &out).unwrap()]);
                    let got = gpu.read(out.data()).unwrap();
                    let host_b = if transpose { &bt } else { &b };
                    let twin = cpu::matmul_masked(&a, host_b, m, k, n, transpose, Some(&mask));
                    assert!(
                        got.iter().zip(&mask).all(|(&g, &q)| q > 0.0 || g == 0.0),
                        "{what} masked: a value survived a non-positive mask"
                    );
                    assert_close(&got, &twin, ATOL, RTOL, &format!("{what} masked t={transpose}"));
                }
            }
        }
    }
}
