//! `reduce_sum` (one level, and chained) against `cpu::reduce_sum` and f64 sums.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::reduce_sum::{levels, reduce_sum, GROUP_ROWS};

gpu_test! {
    fn reduce_sum_one_level_matches_cpu() {
        let gpu = gpu();
        let mut r = rng(5);
        for (rows, cols) in [(0, 1), (1, 1), (64, 1), (65, 3), (4097, 1), (13, 1024)] {
            let input = random_vec(&mut r, rows * cols, 1.0);
            let ginput = gpu.upload("input", &input).unwrap();
            let groups = rows.div_ceil(GROUP_ROWS).max(1);
            let out = gpu.alloc::<f32>("out", groups * cols).unwrap();
            run(&gpu, [reduce_sum(&gpu, &ginput, rows, cols, &out).unwrap()]);
            assert_close(
                &gpu.read(&out).unwrap(),
                &cpu::reduce_sum(&input, rows, cols),
                ATOL,
                RTOL,
                &format!("level {rows}x{cols}"),
            );
        }
    }
}

gpu_test! {
    fn reduce_sum_chains_match_f64_sums_at_every_level_count() {
        let gpu = gpu();
        let mut r = rng(6);
        for (rows, cols) in [(0, 1), (1, 1), (64, 1), (65, 1), (4097, 1), (300_001, 1), (3, 5)] {
            let input = random_vec(&mut r, rows * cols, 1.0);
            let ginput = gpu.upload("input", &input).unwrap();
            let out = gpu.alloc::<f32>("out", cols).unwrap();
            run(&gpu, column_sums(&gpu, &ginput, rows, cols, &out));
            let got = gpu.read(&out).unwrap();
            assert_close(
                &got,
                &cpu::column_sums(&input, rows, cols),
                ATOL,
                RTOL,
                &format!("chain {rows}x{cols}"),
            );
            // The GPU's tree keeps the error small against the exact sum.
            for c in 0..cols {
                let exact: f64 = (0..rows).map(|i| input[i * cols + c] as f64).sum();
                assert!(
                    (got[c] as f64 - exact).abs() < 1e-3,
                    "{rows}x{cols}: GPU tree sum {} vs exact {exact}",
                    got[c]
                );
            }
        }
        assert_eq!(levels(64), vec![64]);
        assert_eq!(levels(65), vec![65, 2]);
        assert_eq!(levels(300_001), vec![300_001, 4688, 74, 2]);
    }
}
