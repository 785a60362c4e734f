//! `pair_mse_mirror` on its own against its CPU twin: random coefficient blocks, random
//! earlier sums in the output (added to for a block after the first, overwritten for the
//! first; the block's rows and those before it untouched), blocks ending inside a quad,
//! widths that are not multiples of 4, every layout; no dispatch for the last block.

use crate::common::{assert_close, every_layout, profile_name, random_vec, rng};
use crate::pair_mse_gradient::random_coefficients;
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::pair_mse::PairMseBlocks;
use gpu_vgae::internal::kernels::pair_mse_gradient::Factor;
use gpu_vgae::internal::kernels::pair_mse_mirror::pair_mse_mirror;

gpu_test! {
    fn pair_mse_mirror_matches_cpu_in_every_layout() {
        let mut r = rng(52);
        for (n, la, lb, rows) in [(1, 1, 1, 1), (5, 4, 3, 2), (67, 20, 100, 30), (130, 7, 128, 64), (300, 20, 100, 128)] {
            let za = random_vec(&mut r, n * la, 0.6);
            let zb = random_vec(&mut r, n * lb, 0.3);
            let blocks = PairMseBlocks { rows, splits: 2 };
            let coefficients = random_coefficients(&mut r, blocks, n);
            let earlier = random_vec(&mut r, blocks.dense_len(n, la, lb), 1.0);
            for block in blocks.blocks(n) {
                for factor in [Factor::A, Factor::B] {
                    let mut expected = earlier.clone();
                    cpu::pair_mse_mirror(&za, &zb, la, lb, factor, blocks, block.clone(), &coefficients, &mut expected);
                    for gpu in every_layout() {
                        let gza = gpu.upload_matrix("za", n, la, &za).unwrap();
                        let gzb = gpu.upload_matrix("zb", n, lb, &zb).unwrap();
                        let gc = gpu.upload("coefficients", &coefficients).unwrap();
                        let dense = gpu.upload("dense", &earlier).unwrap();
                        let dispatch = pair_mse_mirror(&gpu, &gza, &gzb, factor, blocks, block.clone(), &gc, &dense).unwrap();
                        assert_eq!(dispatch.is_some(), block.end < n, "a dispatch but for the last block");
                        run(&gpu, [dispatch.into_iter().collect::<Vec<_>>()]);
                        let what = format!("n {n} la {la} lb {lb} rows {block:?} {factor:?} {}", profile_name(&gpu));
                        assert_close(&gpu.read(&dense).unwrap(), &expected, 1e-5 * (n as f32).sqrt(), 1e-4, &what);
                    }
                }
            }
        }
    }
}
