//! `adam` against `cpu::adam` over several steps.

use crate::common::{assert_close, gpu, random_vec, rng};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::{Recording, StepParams};
use gpu_vgae::internal::kernels::adam::{adam, AdamConfig};

gpu_test! {
    fn adam_matches_cpu_over_several_steps() {
        let gpu = gpu();
        let mut r = rng(13);
        let config = AdamConfig::default();
        for len in [1, 65, 3703 * 32] {
            let mut param = random_vec(&mut r, len, 1.0);
            let (mut m, mut v) = (vec![0f32; len], vec![0f32; len]);
            let gparam = gpu.upload("param", &param).unwrap();
            let ggrad = gpu.alloc::<f32>("grad", len).unwrap();
            let gm = gpu.zeros::<f32>("m", len).unwrap();
            let gv = gpu.zeros::<f32>("v", len).unwrap();
            let step = gpu.step_buffer(StepParams::default());
            let mut recording = Recording::new("adam");
            recording.extend(adam(&gpu, &config, &gparam, &ggrad, &gm, &gv, &step).unwrap());
            for t in 1..=5 {
                let grad = random_vec(&mut r, len, 1.0);
                ggrad.write(&gpu, &grad).unwrap();
                step.write(&gpu, StepParams::for_epoch(t - 1));
                gpu.run(&recording).unwrap();
                cpu::adam(&config, t, &mut param, &grad, &mut m, &mut v);
            }
            assert_close(&gpu.read(&gparam).unwrap(), &param, 1e-5, 1e-4, &format!("adam len={len}"));
        }
    }
}
