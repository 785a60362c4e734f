//! `pair_mse` against its CPU twin over awkward shapes (one node, widths that are not
//! multiples of 4, DFCN's 20 and 100), column splits (1, several, one per node) and both
//! adapter profiles; the same partials whatever the profile's register blocking.

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::pair_mse::{pair_mse, partial_width, ColumnSplits};

gpu_test! {
    fn pair_mse_matches_cpu_in_every_layout() {
        let mut r = rng(49);
        for (n, la, lb) in [(1, 1, 1), (7, 5, 3), (67, 20, 100), (300, 3, 128), (1000, 20, 100)] {
            let za = random_vec(&mut r, n * la, 0.6);
            let zb = random_vec(&mut r, n * lb, 0.3);
            for splits in [1, 3, n.min(64)] {
                let layout = ColumnSplits { splits };
                let expected = cpu::pair_mse(&za, &zb, la, lb, layout);
                let mut results = Vec::new();
                for gpu in gpu_profiles() {
                    let gza = gpu.upload_matrix("za", n, la, &za).unwrap();
                    let gzb = gpu.upload_matrix("zb", n, lb, &zb).unwrap();
                    let partial = gpu.alloc::<f32>("partial", splits * n * partial_width(la, lb)).unwrap();
                    run(&gpu, [pair_mse(&gpu, &gza, &gzb, layout, &partial).unwrap()]);
                    let got = gpu.read(&partial).unwrap();
                    // Sums of up to n/splits terms of O(1): widened by √terms.
                    let terms = n.div_ceil(splits) as f32;
                    let what = format!("n {n} la {la} lb {lb} splits {splits} {}", profile_name(&gpu));
                    assert_close(&got, &expected, 1e-5 * terms.sqrt(), 1e-4, &what);
                    results.push(got);
                }
                // Each row's sum runs in column order whatever the blocking: the profiles
                // agree to rounding (the driver may fuse a multiply-add differently).
                assert_close(&results[0], &results[1], 1e-5 * (n as f32).sqrt(), 1e-4, "profiles");
            }
        }
        let gpu = crate::common::gpu();
        let za = gpu.alloc_matrix("za", 3, 65).unwrap();
        let zb = gpu.alloc_matrix("zb", 3, 4).unwrap();
        let partial = gpu.alloc::<f32>("partial", 3 * partial_width(65, 4)).unwrap();
        assert!(pair_mse(&gpu, &za, &zb, ColumnSplits { splits: 1 }, &partial).is_err(), "la > 64");
    }
}
