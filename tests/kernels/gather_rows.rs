//! `gather_rows` against `cpu::gather_rows`.

use crate::common::{gpu, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::gather_rows::gather_rows;
use rand::Rng;

gpu_test! {
    fn gather_rows_matches_cpu_with_repeats_and_strides() {
        let gpu = gpu();
        let mut r = rng(21);
        // (source rows, stride, columns taken, gathered rows)
        for (src_rows, stride, cols, rows) in [
            (1, 1, 1, 1),
            (5, 32, 16, 3),
            (67, 17, 17, 67),
            (130, 34, 17, 65),
            (1000, 16, 16, 129),
        ] {
            let src = random_vec(&mut r, src_rows * stride, 1.0);
            let index: Vec<u32> = (0..rows).map(|_| r.random_range(0..src_rows) as u32).collect();
            let gsrc = gpu.upload_matrix("src", src_rows, stride, &src).unwrap();
            let gindex = gpu.upload("index", &index).unwrap();
            let out = gpu.alloc_matrix("out", rows, cols).unwrap();
            run(&gpu, [gather_rows(&gpu, &gsrc, &gindex, &out).unwrap()]);
            assert_eq!(
                gpu.read(out.data()).unwrap(),
                cpu::gather_rows(&src, stride, cols, &index),
                "{src_rows}x{stride} → {rows}x{cols}"
            );
        }
        let src = gpu.alloc_matrix("src", 3, 4).unwrap();
        let index = gpu.upload("index", &[0u32, 1]).unwrap();
        let wide = gpu.alloc_matrix("out", 2, 5).unwrap();
        assert!(gather_rows(&gpu, &src, &index, &wide).is_err());
    }
}
