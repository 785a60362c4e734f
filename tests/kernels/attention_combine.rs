//! `attention_combine` against its CPU twin on partials with empty splits (more splits
//! than nodes leave some without columns: m = LOWEST, l = 0) and a negative γ.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::attention_combine::{attention_combine, AttentionOutputs};
use gpu_vgae::internal::kernels::attention_forward::LOWEST;
use gpu_vgae::internal::kernels::pair_mse::ColumnSplits;

gpu_test! {
    fn attention_combine_matches_cpu_with_empty_splits() {
        let gpu = gpu();
        let mut r = rng(52);
        for (n, l) in [(1, 1), (3, 7), (65, 20)] {
            let splits = n + 2;
            let layout = ColumnSplits { splits };
            let y = random_vec(&mut r, n * l, 1.0);
            let width = 2 + l;
            let mut partial = random_vec(&mut r, splits * n * width, 1.0);
            for s in 0..splits {
                for i in 0..n {
                    let base = (s * n + i) * width;
                    if s >= n {
                        // A split past the last column: as attention_forward leaves it.
                        partial[base] = LOWEST;
                        partial[base + 1] = 0.0;
                        partial[base + 2..base + width].iter_mut().for_each(|v| *v = 0.0);
                    } else {
                        partial[base + 1] = partial[base + 1].abs() + 0.5;
                    }
                }
            }
            let gamma = [-0.7f32];
            let gp = gpu.upload("partial", &partial).unwrap();
            let gy = gpu.upload_matrix("y", n, l, &y).unwrap();
            let gg = gpu.upload("gamma", &gamma).unwrap();
            let zs = gpu.alloc_matrix("zs", n, l).unwrap();
            let lse = gpu.alloc::<f32>("lse", n).unwrap();
            let zt = gpu.alloc_matrix("zt", n, l).unwrap();
            run(&gpu, [attention_combine(&gpu, &gp, layout, &gy, &gg,
                AttentionOutputs { zs: &zs, lse: &lse, z_tilde: &zt }).unwrap()]);
            let (ezs, e_lse, ezt) = cpu::attention_combine(&partial, layout, &y, l, gamma[0]);
            let what = format!("n {n} L {l}");
            assert_close(&gpu.read(zs.data()).unwrap(), &ezs, ATOL, RTOL, &what);
            assert_close(&gpu.read(&lse).unwrap(), &e_lse, ATOL, RTOL, &what);
            assert_close(&gpu.read(zt.data()).unwrap(), &ezt, ATOL, RTOL, &what);
            assert!(gpu.read(&lse).unwrap().iter().all(|v| v.is_finite()));
        }
    }
}
