//! `decoder_dense` against `cpu::decoder_dense`, and at Citeseer's size against an f64
//! reference of the full N² loss and gradient.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::cpu;
use gpu_vgae::kernels::decoder_dense::{decoder_dense, DensePartials};
use gpu_vgae::Error;

/// Partial buffers for `splits` splits of an n × latent pass.
fn partials(gpu: &gpu_vgae::gpu::Gpu, n: usize, latent: usize, splits: usize) -> DensePartials {
    DensePartials {
        grad: gpu.alloc("grad_partial", splits * n * latent).unwrap(),
        loss: gpu.alloc("loss_partial", splits * n).unwrap(),
        splits,
    }
}

gpu_test! {
    fn decoder_dense_matches_cpu_for_splits_strides_and_latents() {
        let gpu = gpu();
        let mut r = rng(9);
        // (n, stride, latent, splits)
        for (n, stride, latent, splits) in [
            (1, 1, 1, 1),
            (1, 32, 16, 1),
            (67, 3, 3, 1),
            (130, 34, 17, 3),
            (200, 16, 16, 7),
            (64, 64, 64, 2),
            (300, 32, 32, 5),
        ] {
            let z = random_vec(&mut r, n * stride, 0.7);
            let gz = gpu.upload_matrix("z", n, stride, &z).unwrap();
            let p = partials(&gpu, n, latent, splits);
            run(&gpu, [decoder_dense(&gpu, &gz, latent, &p).unwrap()]);
            let (grad, loss) = cpu::decoder_dense(&z, n, stride, latent, splits);
            let what = format!("n={n} stride={stride} L={latent} splits={splits}");
            // Row sums over up to n terms, in the same order: widen atol with n.
            let atol = ATOL * (n as f32).sqrt();
            assert_close(&gpu.read(&p.grad).unwrap(), &grad, atol, RTOL, &format!("grad {what}"));
            assert_close(&gpu.read(&p.loss).unwrap(), &loss, atol, RTOL, &format!("loss {what}"));
        }
    }
}

gpu_test! {
    fn decoder_dense_at_citeseer_size_agrees_with_an_f64_reference() {
        let gpu = gpu();
        let (n, latent) = (3327, 16);
        let mut r = rng(10);
        let z = random_vec(&mut r, n * latent, 0.5);
        let gz = gpu.upload_matrix("z", n, latent, &z).unwrap();
        let p = partials(&gpu, n, latent, 2);
        let total = gpu.alloc::<f32>("total", 1).unwrap();
        let mut dispatches = vec![decoder_dense(&gpu, &gz, latent, &p).unwrap()];
        dispatches.extend(column_sums(&gpu, &p.loss, 2 * n, 1, &total));
        run(&gpu, dispatches);
        let grad = gpu.read(&p.grad).unwrap();
        let total = gpu.read(&total).unwrap()[0] as f64;
        let dot = |i: usize, j: usize| {
            (0..latent)
                .map(|k| z[i * latent + k] as f64 * z[j * latent + k] as f64)
                .sum::<f64>()
        };
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut exact_total = 0f64;
        for i in 0..n {
            for j in 0..n {
                exact_total += softplus(dot(i, j));
            }
        }
        // N² = 11M terms: the tree of Kahan row sums keeps the relative error near 1e-6.
        assert!(
            (total - exact_total).abs() / exact_total < 1e-5,
            "loss {total} vs f64 {exact_total}"
        );
        for i in [0, 1, 63, 64, 1000, 3326] {
            for k in 0..latent {
                let exact: f64 = (0..n)
                    .map(|j| sigmoid(dot(i, j)) * z[j * latent + k] as f64)
                    .sum();
                let got = grad[i * latent + k] as f64 + grad[(n + i) * latent + k] as f64;
                assert!(
                    (got - exact).abs() < 1e-3 + 1e-4 * exact.abs(),
                    "grad[{i},{k}] {got} vs {exact}"
                );
            }
        }
    }
}

gpu_test! {
    fn decoder_dense_refuses_bad_latents_and_partials() {
        let gpu = gpu();
        let z = gpu.alloc_matrix("z", 3, 80).unwrap();
        let p = partials(&gpu, 3, 65, 1);
        assert!(
            matches!(decoder_dense(&gpu, &z, 65, &p), Err(Error::InvalidInput(m)) if m.contains("latent"))
        );
        let p = partials(&gpu, 3, 16, 2);
        let short = DensePartials { splits: 3, ..p };
        assert!(
            matches!(decoder_dense(&gpu, &z, 16, &short), Err(Error::InvalidInput(m)) if m.contains("partials"))
        );
    }
}
