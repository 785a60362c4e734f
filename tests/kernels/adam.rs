//! `adam` against `cpu::adam` over several steps.

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::{Recording, StepParams};
use gpu_vgae::internal::kernels::adam::{adam, AdamConfig};

gpu_test! {
    fn adam_matches_cpu_over_several_steps() {
        let config = AdamConfig::default();
        // Lengths around the vec4s (1, 3, 5: only the element-wise tail; 130: tail of
        // 2) and around a CPU invocation's 32 vec4s (128, 129, 4·32·64 + 5), W0 at
        // Citeseer's shape.
        for len in [1, 3, 5, 65, 128, 129, 130, 4 * 32 * 64 + 5, 3703 * 32] {
            let mut layouts = Vec::new();
            for gpu in gpu_profiles() {
                let mut r = rng(13);
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
                let what = format!("adam len={len} {}", profile_name(&gpu));
                let got = gpu.read_many(&[&gparam, &gm, &gv]).unwrap();
                assert_close(&got[0], &param, 1e-5, 1e-4, &what);
                assert_close(&got[1], &m, 1e-6, 1e-5, &format!("{what} m"));
                assert_close(&got[2], &v, 1e-6, 1e-5, &format!("{what} v"));
                layouts.push(got);
            }
            // Every element takes the same expressions in every layout (vec4s or not,
            // one or 32 per invocation, the tail): the same bits.
            assert!(
                layouts.windows(2).all(|w| w[0] == w[1]),
                "adam len={len}: the layouts disagree"
            );
        }
    }
}
