//! `relu` against `cpu::relu`.

use crate::common::{gpu, random_vec, rng};
use crate::run;
use gpu_vgae::cpu;
use gpu_vgae::kernels::relu::relu;

gpu_test! {
    fn relu_matches_cpu() {
        let gpu = gpu();
        let mut r = rng(6);
        for len in [1, 63, 65, 10_000] {
            let mut pre = random_vec(&mut r, len, 1.0);
            pre[0] = 0.0;
            let gpre = gpu.upload("pre", &pre).unwrap();
            let out = gpu.alloc::<f32>("h", len).unwrap();
            run(&gpu, [relu(&gpu, &gpre, &out).unwrap()]);
            assert_eq!(gpu.read(&out).unwrap(), cpu::relu(&pre));
        }
    }
}
