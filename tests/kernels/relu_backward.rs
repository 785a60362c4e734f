//! `relu_backward` against `cpu::relu_backward`.

use crate::common::{gpu, random_vec, rng};
use crate::run;
use gpu_vgae::cpu;
use gpu_vgae::kernels::relu_backward::relu_backward;

gpu_test! {
    fn relu_backward_matches_cpu_and_masks_zero() {
        let gpu = gpu();
        let mut r = rng(7);
        for len in [1, 63, 65, 10_000] {
            let mut pre = random_vec(&mut r, len, 1.0);
            pre[0] = 0.0; // the mask is strict: Q = 0 passes no gradient
            let grad_out = random_vec(&mut r, len, 1.0);
            let gpre = gpu.upload("pre", &pre).unwrap();
            let ggrad = gpu.upload("grad_out", &grad_out).unwrap();
            let grad_in = gpu.alloc::<f32>("grad_in", len).unwrap();
            run(&gpu, [relu_backward(&gpu, &gpre, &ggrad, &grad_in).unwrap()]);
            let got = gpu.read(&grad_in).unwrap();
            assert_eq!(got, cpu::relu_backward(&pre, &grad_out));
            assert_eq!(got[0], 0.0);
        }
    }
}
