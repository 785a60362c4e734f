//! `mse_grad` against its CPU twin and an f64 loss (with and without row weights and
//! accumulation, both adapter profiles, awkward shapes).

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::mse_grad::mse_grad;

gpu_test! {
    fn mse_grad_matches_cpu_and_f64() {
        let mut r = rng(44);
        for gpu in gpu_profiles() {
            for (rows, cols) in [(1, 1), (5, 3), (67, 100), (300, 20)] {
                let a = random_vec(&mut r, rows * cols, 2.0);
                let b = random_vec(&mut r, rows * cols, 2.0);
                let start = random_vec(&mut r, rows * cols, 1.0);
                let w: Vec<f32> = (0..rows).map(|i| if i % 3 == 2 { 0.0 } else { 1.5 }).collect();
                let ga = gpu.upload_matrix("a", rows, cols, &a).unwrap();
                let gb = gpu.upload_matrix("b", rows, cols, &b).unwrap();
                let gw = gpu.upload("w", &w).unwrap();
                let scale = 2.0 / (rows * cols) as f32;
                for weighted in [false, true] {
                    for accumulate in [false, true] {
                        let grad = gpu.upload_matrix("grad", rows, cols, &start).unwrap();
                        let loss = gpu.alloc::<f32>("loss", rows).unwrap();
                        let weights = weighted.then_some(&gw);
                        run(&gpu, [mse_grad(&gpu, &ga, &gb, weights, scale, accumulate, &grad, &loss).unwrap()]);
                        let (eg, el) = cpu::mse_grad(
                            &a,
                            &b,
                            cols,
                            weighted.then_some(w.as_slice()),
                            scale,
                            accumulate.then_some(start.as_slice()),
                        );
                        let what = format!("{rows}x{cols} w={weighted} acc={accumulate} {}", profile_name(&gpu));
                        assert_close(&gpu.read(grad.data()).unwrap(), &eg, ATOL, RTOL, &what);
                        let got = gpu.read(&loss).unwrap();
                        assert_close(&got, &el, ATOL, RTOL, &what);
                        for i in 0..rows {
                            let wi = if weighted { w[i] as f64 } else { 1.0 };
                            let exact: f64 = (0..cols)
                                .map(|c| (a[i * cols + c] as f64 - b[i * cols + c] as f64).powi(2))
                                .sum::<f64>()
                                * wi;
                            assert!((got[i] as f64 - exact).abs() <= 1e-4 * (1.0 + exact), "{what} row {i}");
                        }
                    }
                }
            }
        }
    }
}
