//! `spmm` against `cpu::spmm`.

use crate::common::{assert_close, every_layout, profile_name, random_csr, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::spmm::{spmm, spmm_with, Epilogue};
use gpu_vgae::Csr;

gpu_test! {
    fn spmm_matches_cpu_on_awkward_shapes() {
        for gpu in every_layout() {
            let mut r = rng(1);
            // (rows, inner, cols, nnz, every k-th row empty)
            let shapes = [
                (1, 1, 1, 1, 0),
                (1, 5, 3, 0, 0),
                (2, 3, 5, 4, 2),
                (67, 45, 17, 300, 5),
                (130, 70, 32, 900, 7),
                (65, 65, 4, 0, 0),
                (200, 10, 2, 50, 3),
                (90, 40, 36, 500, 4),
                // Rows longer than a subgroup (not multiples of it) and widths of
                // one to four column groups per lane, with a second run of lanes (132).
                (40, 300, 32, 3000, 3),
                (3, 50, 16, 100, 0),
                (17, 500, 64, 2000, 3),
                (33, 400, 128, 1500, 0),
                (21, 300, 132, 900, 4),
            ];
            for (rows, inner, cols, nnz, empty) in shapes {
                let a = random_csr(&mut r, rows, inner, nnz, empty);
                let b = random_vec(&mut r, inner * cols, 1.0);
                let expected = cpu::spmm(&a, &b, cols);
                let ga = gpu.upload_csr("a", &a).unwrap();
                let gb = gpu.upload_matrix("b", inner, cols, &b).unwrap();
                let out = gpu.alloc_matrix("out", rows, cols).unwrap();
                run(&gpu, [spmm(&gpu, &ga, &gb, &out).unwrap()]);
                let what = format!("spmm {rows}x{inner}x{cols} {}", profile_name(&gpu));
                assert_close(&gpu.read(out.data()).unwrap(), &expected, ATOL, RTOL, &what);
                // The rectifier fused in: the same sums, then max(·, 0) exactly as the twin.
                run(&gpu, [spmm_with(&gpu, &ga, &gb, Epilogue::Relu, &out).unwrap()]);
                let rectified = gpu.read(out.data()).unwrap();
                assert!(rectified.iter().all(|&x| x >= 0.0), "{what}: relu left a negative");
                let twin = cpu::spmm_relu(&a, &b, cols);
                assert_close(&rectified, &twin, ATOL, RTOL, &format!("{what} relu"));
            }
        }
    }
}

gpu_test! {
    fn spmm_at_citeseer_feature_shape_and_its_transpose() {
        for gpu in every_layout() {
            let mut r = rng(2);
            // X: 3327 × 3703 with 105,165 nonzeros (binary, as Citeseer), W0: 3703 × 32.
            let mut x = random_csr(&mut r, 3327, 3703, 105_165, 0);
            x = Csr::new(
                x.rows(),
                x.cols(),
                x.row_ptr().to_vec(),
                x.col_idx().to_vec(),
                vec![1.0; x.nnz()],
            )
            .unwrap();
            let w0 = random_vec(&mut r, 3703 * 32, 0.05);
            let expected = cpu::spmm(&x, &w0, 32);
            let gx = gpu.upload_csr("x", &x).unwrap();
            let gw = gpu.upload_matrix("w0", 3703, 32, &w0).unwrap();
            let p = gpu.alloc_matrix("p", 3327, 32).unwrap();
            run(&gpu, [spmm(&gpu, &gx, &gw, &p).unwrap()]);
            assert_close(&gpu.read(p.data()).unwrap(), &expected, ATOL, RTOL, "X·W0");

            // dW0 = Xᵀ · dP with Xᵀ as its own CSR (3703 × 3327).
            let xt = x.transpose();
            let dp = random_vec(&mut r, 3327 * 32, 1.0);
            let expected = cpu::spmm(&xt, &dp, 32);
            let gxt = gpu.upload_csr("xt", &xt).unwrap();
            let gdp = gpu.upload_matrix("dp", 3327, 32, &dp).unwrap();
            let dw = gpu.alloc_matrix("dw0", 3703, 32).unwrap();
            run(&gpu, [spmm(&gpu, &gxt, &gdp, &dw).unwrap()]);
            assert_close(&gpu.read(dw.data()).unwrap(), &expected, ATOL, RTOL, "Xᵀ·dP");
        }
    }
}
