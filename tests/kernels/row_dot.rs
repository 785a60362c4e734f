//! `row_dot` against its CPU twin and f64 sums.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::row_dot::row_dot;

gpu_test! {
    fn row_dot_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = rng(45);
        for (rows, cols) in [(1, 1), (3, 7), (65, 20), (3327, 20)] {
            let x = random_vec(&mut r, rows * cols, 1.0);
            let y = random_vec(&mut r, rows * cols, 1.0);
            let gx = gpu.upload_matrix("x", rows, cols, &x).unwrap();
            let gy = gpu.upload_matrix("y", rows, cols, &y).unwrap();
            let out = gpu.alloc::<f32>("out", rows).unwrap();
            run(&gpu, [row_dot(&gpu, &gx, &gy, &out).unwrap()]);
            let got = gpu.read(&out).unwrap();
            assert_close(&got, &cpu::row_dot(&x, &y, cols), ATOL, RTOL, &format!("{rows}x{cols}"));
            let exact: Vec<f32> = (0..rows)
                .map(|i| (0..cols).map(|c| x[i * cols + c] as f64 * y[i * cols + c] as f64).sum::<f64>() as f32)
                .collect();
            assert_close(&got, &exact, 1e-5, 1e-5, &format!("{rows}x{cols} vs f64"));
        }
        let x = gpu.alloc_matrix("x", 2, 3).unwrap();
        let out = gpu.alloc::<f32>("out", 3).unwrap();
        assert!(row_dot(&gpu, &x, &x, &out).is_err());
    }
}
