//! `edge_score` against `cpu::edge_score` and σ(z_a·z_b) in f64, with z stored in f32 and
//! in f16.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::edge_score::{edge_logits, edge_score, flatten_pairs};
use rand::Rng;

gpu_test! {
    fn edge_score_matches_cpu_and_the_sigmoid_of_the_dot_product() {
        let gpu = gpu();
        let mut r = rng(12);
        for (n, stride, latent, count) in [
            (1, 1, 1, 1),
            (10, 32, 16, 100),
            (67, 5, 5, 65),
            (3327, 32, 16, 1000),
        ] {
            let z = random_vec(&mut r, n * stride, 1.0);
            let pairs: Vec<(u32, u32)> = (0..count)
                .map(|_| (r.random_range(0..n) as u32, r.random_range(0..n) as u32))
                .collect();
            let gz = gpu.upload_matrix("z", n, stride, &z).unwrap();
            let gpairs = gpu.upload("pairs", &flatten_pairs(&pairs, n).unwrap()).unwrap();
            let scores = gpu.alloc::<f32>("scores", count).unwrap();
            run(&gpu, [edge_score(&gpu, &gz, latent, &gpairs, &scores).unwrap()]);
            let got = gpu.read(&scores).unwrap();
            assert_close(&got, &cpu::edge_score(&z, stride, latent, &pairs), ATOL, RTOL, "scores");
            let exact: Vec<f32> = pairs
                .iter()
                .map(|&(a, b)| {
                    let dot: f64 = (0..latent)
                        .map(|k| z[a as usize * stride + k] as f64 * z[b as usize * stride + k] as f64)
                        .sum();
                    (1.0 / (1.0 + (-dot).exp())) as f32
                })
                .collect();
            assert_close(&got, &exact, 1e-6, 1e-5, "scores vs f64 sigmoid");
            // The logits, summed as the scores are: the twin's sums (bit for bit where
            // the device does not fuse multiply-adds, as lavapipe does not).
            let logits = gpu.alloc::<f32>("logits", count).unwrap();
            run(&gpu, [edge_logits(&gpu, &gz, latent, &gpairs, &logits).unwrap()]);
            let got = gpu.read(&logits).unwrap();
            assert_close(&got, &cpu::edge_logit(&z, stride, latent, &pairs), ATOL, RTOL, "logits");
        }
        assert!(flatten_pairs(&[(0, 3)], 3).is_err());
    }
}

gpu_test! {
    fn edge_score_reads_z_stored_in_f16() {
        // Scores and logits of z rounded to f16 against the twin on the rounded values,
        // and the f32 kernel's bits on them; strides that are not multiples of 4 and
        // odd counts of f16 values.
        let gpu = gpu();
        let mut r = rng(13);
        for (n, stride, latent, count) in [(1, 1, 1, 1), (67, 5, 5, 65), (3327, 32, 16, 1000), (33, 7, 3, 100)] {
            let z = random_vec(&mut r, n * stride, 1.5);
            let z_half = cpu::through_f16(&z);
            let pairs: Vec<(u32, u32)> = (0..count)
                .map(|_| (r.random_range(0..n) as u32, r.random_range(0..n) as u32))
                .collect();
            let g16 = gpu.upload_matrix("z16", n, stride, &cpu::round_f16(&z)).unwrap();
            let g32 = gpu.upload_matrix("z32", n, stride, &z_half).unwrap();
            let gpairs = gpu.upload("pairs", &flatten_pairs(&pairs, n).unwrap()).unwrap();
            let outs: Vec<_> = (0..4).map(|_| gpu.alloc::<f32>("out", count).unwrap()).collect();
            let mut dispatches = edge_score(&gpu, &g16, latent, &gpairs, &outs[0]).unwrap();
            dispatches.extend(edge_logits(&gpu, &g16, latent, &gpairs, &outs[1]).unwrap());
            dispatches.extend(edge_score(&gpu, &g32, latent, &gpairs, &outs[2]).unwrap());
            dispatches.extend(edge_logits(&gpu, &g32, latent, &gpairs, &outs[3]).unwrap());
            run(&gpu, [dispatches]);
            let got: Vec<Vec<f32>> = outs.iter().map(|o| gpu.read(o).unwrap()).collect();
            let what = format!("n={n} stride={stride} L={latent}");
            assert_close(&got[0], &cpu::edge_score(&z_half, stride, latent, &pairs), ATOL, RTOL, &what);
            assert_close(&got[1], &cpu::edge_logit(&z_half, stride, latent, &pairs), ATOL, RTOL, &what);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got[0]), bits(&got[2]), "{what}: scores differ from the f32 kernel's");
            assert_eq!(bits(&got[1]), bits(&got[3]), "{what}: logits differ from the f32 kernel's");
        }
    }
}
