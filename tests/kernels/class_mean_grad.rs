//! `class_mean_grad` against `cpu::class_mean_grad` and an f64 sum, and the conditional
//! variants of the reparameterization kernels against their twins.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::StepParams;
use gpu_vgae::internal::kernels::class_mean_grad::class_mean_grad;
use gpu_vgae::internal::kernels::reparam_backward::reparam_backward;
use gpu_vgae::internal::kernels::reparam_kl::{reparam_kl, ClassPrior};
use gpu_vgae::internal::model::inputs::PriorData;
use rand::Rng;

/// Random training labels: classes 0..classes for about a third of the nodes.
fn labels(r: &mut rand::rngs::StdRng, n: usize, classes: usize) -> Vec<i32> {
    let mut labels: Vec<i32> = (0..n)
        .map(|_| {
            if r.random_bool(0.35) {
                r.random_range(0..classes) as i32
            } else {
                -1
            }
        })
        .collect();
    labels[0] = classes as i32 - 1; // every run has the last class
    labels
}

gpu_test! {
    fn class_mean_grad_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = rng(31);
        for (n, latent, classes) in [(1, 1, 1), (5, 3, 2), (67, 16, 6), (300, 17, 3), (1000, 64, 7)] {
            let prior = PriorData::from_labels(&labels(&mut r, n, classes)).unwrap();
            let c = prior.classes();
            let ms = random_vec(&mut r, n * 2 * latent, 1.0);
            let means = random_vec(&mut r, c * latent, 0.5);
            let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
            let ptr = gpu.upload("class_ptr", &prior.class_ptr).unwrap();
            let nodes = gpu.upload("class_nodes", &prior.class_nodes).unwrap();
            let gmeans = gpu.upload_matrix("means", c, latent, &means).unwrap();
            let out = gpu.alloc_matrix("dm", c, latent).unwrap();
            let scale = 0.25;
            run(&gpu, [class_mean_grad(&gpu, &gms, &ptr, &nodes, &gmeans, scale, &out).unwrap()]);
            let got = gpu.read(out.data()).unwrap();
            let twin = cpu::class_mean_grad(
                &ms, 2 * latent, &prior.class_ptr, &prior.class_nodes, &means, latent, scale,
            );
            assert_close(&got, &twin, 1e-5, 1e-4, &format!("n={n} L={latent} C={c}"));
            // −scale · Σ (μ − m) per class in f64, from the labels directly.
            for class in 0..c {
                for k in 0..latent {
                    let exact: f64 = (0..n)
                        .filter(|&i| prior.class_of[i] == class as u32)
                        .map(|i| ms[i * 2 * latent + k] as f64 - means[class * latent + k] as f64)
                        .sum::<f64>()
                        * -(scale as f64);
                    let g = got[class * latent + k] as f64;
                    assert!((g - exact).abs() < 1e-4 + 1e-4 * exact.abs(), "[{class},{k}] {g} vs {exact}");
                }
            }
        }
    }
}

gpu_test! {
    fn class_mean_grad_conditional_reparameterization_matches_cpu() {
        let gpu = gpu();
        let mut r = rng(32);
        for (n, latent, classes) in [(1, 1, 1), (67, 3, 4), (130, 16, 6), (70, 17, 2)] {
            let prior = PriorData::from_labels(&labels(&mut r, n, classes)).unwrap();
            let c = prior.classes();
            let ms = random_vec(&mut r, n * 2 * latent, 1.0);
            let dz = random_vec(&mut r, n * latent, 1.0);
            let means = random_vec(&mut r, c * latent, 0.8);
            let step = gpu.step_buffer(StepParams::for_epoch(4));
            let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
            let gdz = gpu.upload_matrix("dz", n, latent, &dz).unwrap();
            let gprior = ClassPrior {
                class_of: gpu.upload("class_of", &prior.class_of).unwrap(),
                class_means: gpu.upload_matrix("means", c, latent, &means).unwrap(),
            };
            let z = gpu.alloc_matrix("z", n, latent).unwrap();
            let kl = gpu.alloc::<f32>("kl", n).unwrap();
            let d_ms = gpu.alloc_matrix("d_ms", n, 2 * latent).unwrap();
            run(
                &gpu,
                [
                    reparam_kl(&gpu, &gms, 5, &step, Some(&gprior), &z, &kl).unwrap(),
                    reparam_backward(&gpu, &gms, &gdz, 5, 0.5, &step, Some(&gprior), &d_ms)
                        .unwrap(),
                ],
            );
            let host_prior = Some((prior.class_of.as_slice(), means.as_slice()));
            let (z_cpu, kl_cpu) = cpu::reparam_kl(&ms, n, latent, 5, 4, host_prior);
            let d_cpu = cpu::reparam_backward(&ms, &dz, n, latent, 5, 4, 0.5, host_prior);
            let what = format!("n={n} L={latent} C={c}");
            // exp/log/cos may differ by a few ulps between the driver and Rust's libm.
            assert_close(&gpu.read(z.data()).unwrap(), &z_cpu, 1e-4, 1e-4, &format!("z {what}"));
            assert_close(&gpu.read(&kl).unwrap(), &kl_cpu, 1e-4, 1e-4, &format!("kl {what}"));
            assert_close(&gpu.read(d_ms.data()).unwrap(), &d_cpu, 1e-4, 1e-4, &format!("d_ms {what}"));
            // The prior moves the KL rows of labelled nodes only.
            let (_, kl_plain) = cpu::reparam_kl(&ms, n, latent, 5, 4, None);
            for i in 0..n {
                let labelled = prior.class_of[i] != u32::MAX;
                assert_eq!(kl_cpu[i] != kl_plain[i], labelled, "node {i}");
            }
        }
    }
}
