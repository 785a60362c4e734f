//! `reparam_kl` against `cpu::reparam_kl`, z written in f32 and in f16, and the quality
//! of its noise ε.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::StepParams;
use gpu_vgae::internal::kernels::reparam_kl::reparam_kl;

gpu_test! {
    fn reparam_kl_matches_cpu() {
        let gpu = gpu();
        let mut r = rng(7);
        for (n, latent) in [(1, 1), (1, 16), (67, 3), (130, 16), (3327, 16), (70, 17)] {
            let ms = random_vec(&mut r, n * 2 * latent, 1.0);
            let seed = 0x1234_5678_9abc_def0_u64 ^ n as u64;
            let epoch = 7;
            let step = gpu.step_buffer(StepParams::for_epoch(epoch));
            let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
            let z = gpu.alloc_matrix("z", n, latent).unwrap();
            let kl = gpu.alloc::<f32>("kl", n).unwrap();
            run(&gpu, [reparam_kl(&gpu, &gms, seed, &step, None, &z, &kl).unwrap()]);
            let (z_cpu, kl_cpu) = cpu::reparam_kl(&ms, n, latent, seed, epoch, None);
            let what = format!("n={n} L={latent}");
            // exp/log/cos may differ by a few ulps between the driver and Rust's libm.
            assert_close(&gpu.read(z.data()).unwrap(), &z_cpu, 1e-4, 1e-4, &format!("z {what}"));
            assert_close(&gpu.read(&kl).unwrap(), &kl_cpu, 1e-4, 1e-4, &format!("kl {what}"));
        }
    }
}

gpu_test! {
    fn reparam_kl_writes_z_in_f16_as_its_f32_form_rounded() {
        // The f16 form computes what the f32 form does and rounds each z to the nearest
        // f16 on the way out: its bits are the f32 form's z through `half`, and its KL
        // rows the f32 form's bits. Odd n·L leaves half a word at the end.
        let gpu = gpu();
        let mut r = rng(8);
        for (n, latent) in [(1, 1), (67, 3), (130, 16), (3327, 16), (70, 17)] {
            // Wide enough that some z land in f16's subnormals and some round at ties.
            let ms = random_vec(&mut r, n * 2 * latent, 2.0);
            let step = gpu.step_buffer(StepParams::for_epoch(3));
            let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
            let z32 = gpu.alloc_matrix("z32", n, latent).unwrap();
            let z16 = gpu.alloc_matrix_of::<half::f16>("z16", n, latent).unwrap();
            let (kl32, kl16) = (gpu.alloc::<f32>("kl32", n).unwrap(), gpu.alloc::<f32>("kl16", n).unwrap());
            run(&gpu, [
                reparam_kl(&gpu, &gms, 5, &step, None, &z32, &kl32).unwrap(),
                reparam_kl(&gpu, &gms, 5, &step, None, &z16, &kl16).unwrap(),
            ]);
            let what = format!("n={n} L={latent}");
            let rounded: Vec<u16> = cpu::round_f16(&gpu.read(z32.data()).unwrap())
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let got: Vec<u16> = gpu.read(z16.data()).unwrap().iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, rounded, "{what}: z16 is not z32 rounded");
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            assert_eq!(bits(gpu.read(&kl16).unwrap()), bits(gpu.read(&kl32).unwrap()), "{what}: kl");
        }
    }
}

/// ε read off the GPU: with μ = 0 and s = 0, z = ε exactly.
fn gpu_noise(
    gpu: &gpu_vgae::internal::gpu::Gpu,
    n: usize,
    latent: usize,
    seed: u64,
    epoch: u32,
) -> Vec<f32> {
    let step = gpu.step_buffer(StepParams::for_epoch(epoch));
    let gms = gpu
        .upload_matrix("ms", n, 2 * latent, &vec![0.0; n * 2 * latent])
        .unwrap();
    let z = gpu.alloc_matrix("z", n, latent).unwrap();
    let kl = gpu.alloc::<f32>("kl", n).unwrap();
    run(
        gpu,
        [reparam_kl(gpu, &gms, seed, &step, None, &z, &kl).unwrap()],
    );
    gpu.read(z.data()).unwrap()
}

gpu_test! {
    /// Known answers of the normal draw, computed once from the Box-Muller formula on
    /// Philox4x32-10 words that are themselves pinned to Random123's known-answer
    /// vectors (src/cpu/philox.rs): the GPU must draw exactly these (to a few ulps).
    fn reparam_kl_draws_the_known_normals() {
        let gpu = gpu();
        let z = gpu_noise(&gpu, 3, 2, 42, 0);
        let known = [
            cpu::standard_normal(0, 0, 0, 42),
            cpu::standard_normal(0, 1, 0, 42),
            cpu::standard_normal(1, 0, 0, 42),
            cpu::standard_normal(1, 1, 0, 42),
            cpu::standard_normal(2, 0, 0, 42),
            cpu::standard_normal(2, 1, 0, 42),
        ];
        assert_close(&z, &known, 1e-5, 1e-5, "ε vs its CPU twin");
        // The twin's values themselves, so that a change to the shared formula on both
        // sides is caught too (values printed once by the twin and written here).
        let pinned = [
            -0.970_189_8_f32,
            -1.635_977_9,
            -0.073_181_32,
            -1.684_253_7,
            -0.336_961_98,
            2.086_524_2,
        ];
        assert_close(&known, &pinned, 1e-6, 1e-6, "ε known answers");
    }
}

gpu_test! {
    /// ε has mean 0 and variance 1, and no correlation between neighbouring rows,
    /// columns or epochs (a generator keyed only by some of them would repeat draws).
    fn reparam_kl_noise_is_standard_and_uncorrelated_across_rows_columns_epochs() {
        let gpu = gpu();
        let (n, latent) = (4000, 16);
        let a = gpu_noise(&gpu, n, latent, 7, 3);
        let b = gpu_noise(&gpu, n, latent, 7, 4);
        let c = gpu_noise(&gpu, n, latent, 8, 3);
        let m = (n * latent) as f64;
        let mean = a.iter().map(|&x| x as f64).sum::<f64>() / m;
        let var = a.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / m;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
        let corr = |pairs: &mut dyn Iterator<Item = (f32, f32)>| {
            let (mut sxy, mut sxx, mut syy, mut count) = (0f64, 0f64, 0f64, 0f64);
            for (x, y) in pairs {
                sxy += x as f64 * y as f64;
                sxx += (x as f64).powi(2);
                syy += (y as f64).powi(2);
                count += 1.0;
            }
            assert!(count > 1000.0);
            sxy / (sxx * syy).sqrt()
        };
        // 64,000 pairs: the sample correlation of independent draws has σ ≈ 0.004.
        let rows = corr(&mut (0..(n - 1) * latent).map(|e| (a[e], a[e + latent])));
        let cols = corr(&mut (0..n * latent - 1).filter(|e| e % latent != latent - 1).map(|e| (a[e], a[e + 1])));
        let epochs = corr(&mut a.iter().copied().zip(b.iter().copied()));
        let seeds = corr(&mut a.iter().copied().zip(c.iter().copied()));
        for (what, r) in [("rows", rows), ("columns", cols), ("epochs", epochs), ("seeds", seeds)] {
            assert!(r.abs() < 0.02, "correlation across {what}: {r}");
        }
        assert_ne!(a, b, "different epochs must draw different noise");
    }
}
