//! `reparam_backward` against `cpu::reparam_backward`, and its ε against the forward's.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::StepParams;
use gpu_vgae::internal::kernels::reparam_backward::reparam_backward;
use gpu_vgae::internal::kernels::reparam_kl::reparam_kl;

gpu_test! {
    fn reparam_backward_matches_cpu() {
        let gpu = gpu();
        let mut r = rng(7);
        for (n, latent) in [(1, 1), (1, 16), (67, 3), (130, 16), (3327, 16), (70, 17)] {
            let ms = random_vec(&mut r, n * 2 * latent, 1.0);
            let dz = random_vec(&mut r, n * latent, 1.0);
            let seed = 0x1234_5678_9abc_def0_u64 ^ n as u64;
            let epoch = 7;
            let step = gpu.step_buffer(StepParams::for_epoch(epoch));
            let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
            let gdz = gpu.upload_matrix("dz", n, latent, &dz).unwrap();
            let d_ms = gpu.alloc_matrix("d_ms", n, 2 * latent).unwrap();
            let kl_scale = 1.0 / (n * n) as f32;
            run(&gpu, [reparam_backward(&gpu, &gms, &gdz, seed, kl_scale, &step, None, &d_ms).unwrap()]);
            let d_cpu = cpu::reparam_backward(&ms, &dz, n, latent, seed, epoch, kl_scale, None);
            // exp/log/cos may differ by a few ulps between the driver and Rust's libm.
            assert_close(
                &gpu.read(d_ms.data()).unwrap(),
                &d_cpu,
                1e-4,
                1e-4,
                &format!("d_ms n={n} L={latent}"),
            );
        }
    }
}

gpu_test! {
    fn reparam_backward_regenerates_the_forward_epsilon_exactly() {
        let gpu = gpu();
        let (n, latent) = (100, 16);
        // μ = s = 0 makes exp(s) = 1 exactly, so z = ε and (dz = 1, kl_scale = 0) makes
        // ds = ε: both passes must produce the same bits.
        let ms = vec![0.0; n * 2 * latent];
        let step = gpu.step_buffer(StepParams::for_epoch(3));
        let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
        let gdz = gpu.upload_matrix("dz", n, latent, &vec![1.0; n * latent]).unwrap();
        let z = gpu.alloc_matrix("z", n, latent).unwrap();
        let kl = gpu.alloc::<f32>("kl", n).unwrap();
        let d_ms = gpu.alloc_matrix("d_ms", n, 2 * latent).unwrap();
        run(
            &gpu,
            [
                reparam_kl(&gpu, &gms, 99, &step, None, &z, &kl).unwrap(),
                reparam_backward(&gpu, &gms, &gdz, 99, 0.0, &step, None, &d_ms).unwrap(),
            ],
        );
        let z = gpu.read(z.data()).unwrap();
        let d = gpu.read(d_ms.data()).unwrap();
        for i in 0..n {
            for k in 0..latent {
                assert_eq!(z[i * latent + k].to_bits(), d[i * 2 * latent + latent + k].to_bits());
            }
        }
    }
}
