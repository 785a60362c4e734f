//! Every kernel against its CPU twin (`gpu_vgae::cpu`) over awkward shapes: one node,
//! sizes that are not multiples of the workgroup (64), empty CSR rows, latent sizes that
//! are not multiples of 4, and Citeseer's real shapes.
//!
//! Tolerance rule: |gpu − cpu| ≤ atol + rtol·|cpu| (see `common::assert_close`). Short
//! sums use atol 1e-5, rtol 1e-4. Sums whose order differs between GPU and CPU or that
//! run over many terms (the decoder's N-term row sums, the KL rows, exp/log/cos that
//! differ by a few ulps between drivers) are widened, with the reason at each site.

mod common;

use common::{assert_close, gpu, random_csr, random_vec, rng};
use gpu_vgae::cpu;
use gpu_vgae::gpu::{Recording, StepParams};
use gpu_vgae::kernels::adam::{adam, AdamConfig};
use gpu_vgae::kernels::decoder_dense::decoder_dense;
use gpu_vgae::kernels::decoder_pairs::{decoder_pairs, PairRows};
use gpu_vgae::kernels::edge_score::{edge_score, flatten_pairs};
use gpu_vgae::kernels::matmul::matmul;
use gpu_vgae::kernels::matmul_tn::matmul_tn;
use gpu_vgae::kernels::reduce_sum::reduce_sum;
use gpu_vgae::kernels::relu::{relu, relu_backward};
use gpu_vgae::kernels::reparam::{reparam_backward, reparam_kl};
use gpu_vgae::kernels::spmm::spmm;
use gpu_vgae::{Csr, Error};
use rand::Rng;

const ATOL: f32 = 1e-5;
const RTOL: f32 = 1e-4;

fn run(gpu: &gpu_vgae::gpu::Gpu, dispatches: impl IntoIterator<Item = gpu_vgae::gpu::Dispatch>) {
    let mut recording = Recording::new("test");
    recording.extend(dispatches);
    gpu.run(&recording).unwrap();
}

#[test]
fn spmm_matches_cpu_on_awkward_shapes() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(1);
    // (rows, inner, cols, nnz, every k-th row empty)
    let shapes = [
        (1, 1, 1, 1, 0),
        (1, 5, 3, 0, 0),
        (2, 3, 5, 4, 2),
        (67, 45, 17, 300, 5),
        (130, 70, 32, 900, 7),
        (65, 65, 4, 0, 0),
        (200, 10, 2, 50, 3),
    ];
    for (rows, inner, cols, nnz, empty) in shapes {
        let a = random_csr(&mut r, rows, inner, nnz, empty);
        let b = random_vec(&mut r, inner * cols, 1.0);
        let expected = cpu::spmm(&a, &b, cols);
        let ga = gpu.upload_csr("a", &a).unwrap();
        let gb = gpu.upload_matrix("b", inner, cols, &b).unwrap();
        let out = gpu.alloc_matrix("out", rows, cols).unwrap();
        run(&gpu, [spmm(&gpu, &ga, &gb, &out).unwrap()]);
        let actual = gpu.read(out.data()).unwrap();
        assert_close(
            &actual,
            &expected,
            ATOL,
            RTOL,
            &format!("spmm {rows}x{inner}x{cols}"),
        );
    }
}

#[test]
fn spmm_at_citeseer_feature_shape_and_its_transpose() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(2);
    // X: 3327 × 3703 with 105,165 nonzeros (binary, as Citeseer), W0: 3703 × 32.
    let mut x = random_csr(&mut r, 3327, 3703, 105_165, 0);
    x = Csr::new(
        x.rows(),
        x.cols(),
        x.row_ptr().to_vec(),
        x.col_idx().to_vec(),
        vec![1.0; x.nnz()],
    )
    .unwrap();
    let w0 = random_vec(&mut r, 3703 * 32, 0.05);
    let expected = cpu::spmm(&x, &w0, 32);
    let gx = gpu.upload_csr("x", &x).unwrap();
    let gw = gpu.upload_matrix("w0", 3703, 32, &w0).unwrap();
    let p = gpu.alloc_matrix("p", 3327, 32).unwrap();
    run(&gpu, [spmm(&gpu, &gx, &gw, &p).unwrap()]);
    assert_close(&gpu.read(p.data()).unwrap(), &expected, ATOL, RTOL, "X·W0");

    // dW0 = Xᵀ · dP with Xᵀ as its own CSR (3703 × 3327).
    let xt = x.transpose();
    let dp = random_vec(&mut r, 3327 * 32, 1.0);
    let expected = cpu::spmm(&xt, &dp, 32);
    let gxt = gpu.upload_csr("xt", &xt).unwrap();
    let gdp = gpu.upload_matrix("dp", 3327, 32, &dp).unwrap();
    let dw = gpu.alloc_matrix("dw0", 3703, 32).unwrap();
    run(&gpu, [spmm(&gpu, &gxt, &gdp, &dw).unwrap()]);
    assert_close(
        &gpu.read(dw.data()).unwrap(),
        &expected,
        ATOL,
        RTOL,
        "Xᵀ·dP",
    );
}

#[test]
fn matmul_matches_cpu_with_and_without_transpose() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(3);
    for (m, k, n) in [
        (1, 1, 1),
        (1, 32, 32),
        (67, 32, 32),
        (130, 17, 5),
        (3327, 32, 32),
        (5, 3, 7),
        (70, 8, 36),
        (9, 12, 132),
    ] {
        let a = random_vec(&mut r, m * k, 1.0);
        let b = random_vec(&mut r, k * n, 1.0);
        let bt = random_vec(&mut r, n * k, 1.0);
        let ga = gpu.upload_matrix("a", m, k, &a).unwrap();
        let gb = gpu.upload_matrix("b", k, n, &b).unwrap();
        let gbt = gpu.upload_matrix("bt", n, k, &bt).unwrap();
        let out = gpu.alloc_matrix("out", m, n).unwrap();
        let out_t = gpu.alloc_matrix("out_t", m, n).unwrap();
        run(
            &gpu,
            [
                matmul(&gpu, &ga, &gb, false, &out).unwrap(),
                matmul(&gpu, &ga, &gbt, true, &out_t).unwrap(),
            ],
        );
        let what = format!("{m}x{k}x{n}");
        assert_close(
            &gpu.read(out.data()).unwrap(),
            &cpu::matmul(&a, &b, m, k, n, false),
            ATOL,
            RTOL,
            &what,
        );
        assert_close(
            &gpu.read(out_t.data()).unwrap(),
            &cpu::matmul(&a, &bt, m, k, n, true),
            ATOL,
            RTOL,
            &what,
        );
    }
}

#[test]
fn matmul_tn_matches_cpu_across_chunk_boundaries() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(4);
    for (m, k, n) in [
        (1, 1, 1),
        (1, 32, 32),
        (255, 3, 5),
        (257, 32, 32),
        (3327, 32, 32),
        (20_000, 4, 6),
        (300, 8, 36),
        (600, 260, 8),
    ] {
        let a = random_vec(&mut r, m * k, 1.0);
        let b = random_vec(&mut r, m * n, 1.0);
        let ga = gpu.upload_matrix("a", m, k, &a).unwrap();
        let gb = gpu.upload_matrix("b", m, n, &b).unwrap();
        let out = gpu.alloc_matrix("out", k, n).unwrap();
        run(&gpu, matmul_tn(&gpu, &ga, &gb, &out).unwrap());
        // Same summation order as the twin; atol grows with the number of terms summed.
        let atol = ATOL * (m as f32).sqrt();
        assert_close(
            &gpu.read(out.data()).unwrap(),
            &cpu::matmul_tn(&a, &b, m, k, n),
            atol,
            RTOL,
            &format!("{m}x{k}x{n}"),
        );
    }
}

#[test]
fn reduce_sum_matches_cpu_at_every_level_count() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(5);
    for (rows, cols) in [
        (0, 1),
        (1, 1),
        (64, 1),
        (65, 1),
        (4097, 1),
        (300_001, 1),
        (13, 1024),
        (3, 5),
    ] {
        let input = random_vec(&mut r, rows * cols, 1.0);
        let ginput = gpu.upload("input", &input).unwrap();
        let out = gpu.alloc::<f32>("out", cols).unwrap();
        run(&gpu, reduce_sum(&gpu, &ginput, rows, cols, &out).unwrap());
        let expected = cpu::reduce_sum(&input, rows, cols);
        assert_close(
            &gpu.read(&out).unwrap(),
            &expected,
            ATOL,
            RTOL,
            &format!("reduce {rows}x{cols}"),
        );
        // And against an f64 sum, to show the tree keeps the error small.
        for c in 0..cols {
            let exact: f64 = (0..rows).map(|i| input[i * cols + c] as f64).sum();
            assert!(
                (expected[c] as f64 - exact).abs() < 1e-3,
                "tree sum {} vs exact {exact}",
                expected[c]
            );
        }
    }
}

#[test]
fn relu_and_its_gradient_match_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(6);
    for len in [1, 63, 65, 10_000] {
        let mut pre = random_vec(&mut r, len, 1.0);
        pre[0] = 0.0; // the mask is strict: Q = 0 passes no gradient
        let grad_out = random_vec(&mut r, len, 1.0);
        let gpre = gpu.upload("pre", &pre).unwrap();
        let ggrad = gpu.upload("grad_out", &grad_out).unwrap();
        let out = gpu.alloc::<f32>("h", len).unwrap();
        let grad_in = gpu.alloc::<f32>("grad_in", len).unwrap();
        run(
            &gpu,
            [
                relu(&gpu, &gpre, &out).unwrap(),
                relu_backward(&gpu, &gpre, &ggrad, &grad_in).unwrap(),
            ],
        );
        assert_eq!(gpu.read(&out).unwrap(), cpu::relu(&pre));
        assert_eq!(
            gpu.read(&grad_in).unwrap(),
            cpu::relu_backward(&pre, &grad_out)
        );
    }
}

#[test]
fn reparam_forward_and_backward_match_cpu_and_share_epsilon() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(7);
    for (n, latent) in [(1, 1), (1, 16), (67, 3), (130, 16), (3327, 16), (70, 17)] {
        let ms = random_vec(&mut r, n * 2 * latent, 1.0);
        let dz = random_vec(&mut r, n * latent, 1.0);
        let seed = 0x1234_5678_9abc_def0_u64 ^ n as u64;
        let epoch = 7;
        let step = gpu.step_buffer(StepParams {
            epoch,
            adam_step: 1,
            ..Default::default()
        });
        let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
        let gdz = gpu.upload_matrix("dz", n, latent, &dz).unwrap();
        let z = gpu.alloc_matrix("z", n, latent).unwrap();
        let kl = gpu.alloc::<f32>("kl", n).unwrap();
        let d_ms = gpu.alloc_matrix("d_ms", n, 2 * latent).unwrap();
        let kl_scale = 1.0 / (n * n) as f32;
        run(
            &gpu,
            [
                reparam_kl(&gpu, &gms, seed, &step, &z, &kl).unwrap(),
                reparam_backward(&gpu, &gms, &gdz, seed, kl_scale, &step, &d_ms).unwrap(),
            ],
        );
        let (z_cpu, kl_cpu) = cpu::reparam_kl(&ms, n, latent, seed, epoch);
        let what = format!("n={n} L={latent}");
        // exp/log/cos may differ by a few ulps between the driver and Rust's libm.
        assert_close(
            &gpu.read(z.data()).unwrap(),
            &z_cpu,
            1e-4,
            1e-4,
            &format!("z {what}"),
        );
        assert_close(
            &gpu.read(&kl).unwrap(),
            &kl_cpu,
            1e-4,
            1e-4,
            &format!("kl {what}"),
        );
        let d_cpu = cpu::reparam_backward(&ms, &dz, n, latent, seed, epoch, kl_scale);
        assert_close(
            &gpu.read(d_ms.data()).unwrap(),
            &d_cpu,
            1e-4,
            1e-4,
            &format!("d_ms {what}"),
        );
    }
}

#[test]
fn reparam_backward_regenerates_the_forward_epsilon_exactly() {
    let Some(gpu) = gpu() else { return };
    let (n, latent) = (100, 16);
    let mut r = rng(8);
    // s = 0 makes exp(s) = 1 exactly, so z − μ is ε and (dz = 1, kl_scale = 0) makes
    // ds = ε: both passes must produce the same bits.
    let mut ms = random_vec(&mut r, n * 2 * latent, 1.0);
    for i in 0..n {
        for k in 0..latent {
            ms[i * 2 * latent + latent + k] = 0.0;
            ms[i * 2 * latent + k] = 0.0;
        }
    }
    let step = gpu.step_buffer(StepParams {
        epoch: 3,
        adam_step: 1,
        ..Default::default()
    });
    let gms = gpu.upload_matrix("ms", n, 2 * latent, &ms).unwrap();
    let gdz = gpu
        .upload_matrix("dz", n, latent, &vec![1.0; n * latent])
        .unwrap();
    let z = gpu.alloc_matrix("z", n, latent).unwrap();
    let kl = gpu.alloc::<f32>("kl", n).unwrap();
    let d_ms = gpu.alloc_matrix("d_ms", n, 2 * latent).unwrap();
    run(
        &gpu,
        [
            reparam_kl(&gpu, &gms, 99, &step, &z, &kl).unwrap(),
            reparam_backward(&gpu, &gms, &gdz, 99, 0.0, &step, &d_ms).unwrap(),
        ],
    );
    let z = gpu.read(z.data()).unwrap();
    let d = gpu.read(d_ms.data()).unwrap();
    for i in 0..n {
        for k in 0..latent {
            assert_eq!(
                z[i * latent + k].to_bits(),
                d[i * 2 * latent + latent + k].to_bits()
            );
        }
    }
    // A different epoch draws different noise.
    step_changes_noise(&gpu, &gms, &z);
}

fn step_changes_noise(gpu: &gpu_vgae::gpu::Gpu, gms: &gpu_vgae::gpu::GpuMatrix, z_epoch3: &[f32]) {
    let step = gpu.step_buffer(StepParams {
        epoch: 4,
        adam_step: 1,
        ..Default::default()
    });
    let z = gpu.alloc_matrix("z", gms.rows(), gms.cols() / 2).unwrap();
    let kl = gpu.alloc::<f32>("kl", gms.rows()).unwrap();
    run(gpu, [reparam_kl(gpu, gms, 99, &step, &z, &kl).unwrap()]);
    let z4 = gpu.read(z.data()).unwrap();
    let same = z4.iter().zip(z_epoch3).filter(|(a, b)| a == b).count();
    assert!(
        same < z4.len() / 100,
        "{same} of {} draws repeat across epochs",
        z4.len()
    );
}

#[test]
fn decoder_dense_matches_cpu_for_splits_strides_and_latents() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(9);
    // (n, stride, latent, splits)
    for (n, stride, latent, splits) in [
        (1, 1, 1, 1),
        (1, 32, 16, 4),
        (67, 3, 3, 1),
        (130, 34, 17, 3),
        (200, 16, 16, 7),
        (64, 64, 64, 2),
    ] {
        let z = random_vec(&mut r, n * stride, 0.7);
        let gz = gpu.upload_matrix("z", n, stride, &z).unwrap();
        let (dispatch, partials) = decoder_dense(&gpu, &gz, latent, splits).unwrap();
        run(&gpu, [dispatch]);
        let (grad, loss) = cpu::decoder_dense(&z, n, stride, latent, partials.splits);
        let what = format!("n={n} stride={stride} L={latent} splits={splits}");
        // Row sums over up to n terms, in the same order: widen atol with n.
        let atol = ATOL * (n as f32).sqrt();
        assert_close(
            &gpu.read(&partials.grad).unwrap(),
            &grad,
            atol,
            RTOL,
            &format!("grad {what}"),
        );
        assert_close(
            &gpu.read(&partials.loss).unwrap(),
            &loss,
            atol,
            RTOL,
            &format!("loss {what}"),
        );
    }
}

#[test]
fn decoder_dense_at_citeseer_size_agrees_with_an_f64_reference() {
    let Some(gpu) = gpu() else { return };
    let (n, latent) = (3327, 16);
    let mut r = rng(10);
    let z = random_vec(&mut r, n * latent, 0.5);
    let gz = gpu.upload_matrix("z", n, latent, &z).unwrap();
    let (dispatch, partials) = decoder_dense(&gpu, &gz, latent, 2).unwrap();
    let total = gpu.alloc::<f32>("total", 1).unwrap();
    let mut dispatches = vec![dispatch];
    dispatches.extend(reduce_sum(&gpu, &partials.loss, partials.splits * n, 1, &total).unwrap());
    run(&gpu, dispatches);
    let grad = gpu.read(&partials.grad).unwrap();
    let total = gpu.read(&total).unwrap()[0] as f64;
    // f64 reference on a sample of rows, and the full N² loss in f64.
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

#[test]
fn decoder_pairs_matches_cpu_with_and_without_dense_partials() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng(11);
    for (n, stride, latent) in [
        (1, 1, 1),
        (5, 3, 3),
        (67, 17, 17),
        (130, 16, 16),
        (40, 20, 6),
        (70, 64, 64),
    ] {
        let z = random_vec(&mut r, n * stride, 0.7);
        // Random pairs with isolated nodes (every 4th node has none) and self pairs.
        let mut pairs = Vec::new();
        for _ in 0..3 * n {
            let i = r.random_range(0..n) as u32;
            let j = if r.random_bool(0.1) {
                i
            } else {
                r.random_range(0..n) as u32
            };
            if i % 4 == 3 || j % 4 == 3 {
                continue;
            }
            pairs.push((
                i,
                j,
                r.random_range(0.0..2.0f32),
                r.random_range(-1.0..1.0f32),
            ));
        }
        let gz = gpu.upload_matrix("z", n, stride, &z).unwrap();
        for (rows, dense) in [
            (PairRows::from_pairs(n, &pairs).unwrap(), false),
            (PairRows::from_directed(n, &pairs).unwrap(), true),
        ] {
            let grows = rows.upload(&gpu, "pairs").unwrap();
            let dz = gpu.alloc_matrix("dz", n, latent).unwrap();
            let loss = gpu.alloc::<f32>("loss", n).unwrap();
            let mut dispatches = Vec::new();
            let partials = if dense {
                let (d, p) = decoder_dense(&gpu, &gz, latent, 2).unwrap();
                dispatches.push(d);
                Some(p)
            } else {
                None
            };
            dispatches.push(
                decoder_pairs(
                    &gpu,
                    &gz,
                    latent,
                    &grows,
                    partials.as_ref(),
                    0.37,
                    &dz,
                    &loss,
                )
                .unwrap(),
            );
            run(&gpu, dispatches);
            let host_partials = partials.as_ref().map(|p| {
                (
                    gpu.read(&p.grad).unwrap(),
                    gpu.read(&p.loss).unwrap(),
                    p.splits,
                )
            });
            let (dz_cpu, loss_cpu) = cpu::decoder_pairs(
                &z,
                stride,
                latent,
                &rows,
                host_partials
                    .as_ref()
                    .map(|(g, l, s)| (g.as_slice(), l.as_slice(), *s)),
                0.37,
            );
            let what = format!("n={n} L={latent} dense={dense}");
            let atol = ATOL * (n as f32).sqrt();
            assert_close(
                &gpu.read(dz.data()).unwrap(),
                &dz_cpu,
                atol,
                RTOL,
                &format!("dz {what}"),
            );
            assert_close(
                &gpu.read(&loss).unwrap(),
                &loss_cpu,
                atol,
                RTOL,
                &format!("loss {what}"),
            );
            for i in (3..n).step_by(4) {
                if !dense {
                    assert_eq!(
                        gpu.read(&loss).unwrap()[i],
                        0.0,
                        "isolated node {i} has loss"
                    );
                }
            }
        }
    }
}

#[test]
fn edge_score_matches_cpu() {
    let Some(gpu) = gpu() else { return };
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
        let gpairs = gpu
            .upload("pairs", &flatten_pairs(&pairs, n).unwrap())
            .unwrap();
        let scores = gpu.alloc::<f32>("scores", count).unwrap();
        run(
            &gpu,
            [edge_score(&gpu, &gz, latent, &gpairs, &scores).unwrap()],
        );
        assert_close(
            &gpu.read(&scores).unwrap(),
            &cpu::edge_score(&z, stride, latent, &pairs),
            ATOL,
            RTOL,
            "scores",
        );
    }
}

#[test]
fn adam_matches_cpu_over_several_steps() {
    let Some(gpu) = gpu() else { return };
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
        let dispatch = adam(&gpu, &config, &gparam, &ggrad, &gm, &gv, &step).unwrap();
        let mut recording = Recording::new("adam");
        recording.push(dispatch);
        for t in 1..=5 {
            let grad = random_vec(&mut r, len, 1.0);
            ggrad.write(&gpu, &grad).unwrap();
            step.write(
                &gpu,
                StepParams {
                    epoch: t,
                    adam_step: t,
                    ..Default::default()
                },
            );
            gpu.run(&recording).unwrap();
            cpu::adam(&config, t, &mut param, &grad, &mut m, &mut v);
        }
        assert_close(
            &gpu.read(&gparam).unwrap(),
            &param,
            1e-5,
            1e-4,
            &format!("adam len={len}"),
        );
    }
}

#[test]
fn bad_shapes_are_typed_errors_not_panics() {
    let Some(gpu) = gpu() else { return };
    let a = gpu.upload_csr("a", &Csr::identity(3)).unwrap();
    let b = gpu.alloc_matrix("b", 4, 2).unwrap();
    let out = gpu.alloc_matrix("out", 3, 2).unwrap();
    assert!(matches!(spmm(&gpu, &a, &b, &out), Err(Error::InvalidInput(m)) if m.contains("spmm")));
    let z = gpu.alloc_matrix("z", 3, 80).unwrap();
    assert!(
        matches!(decoder_dense(&gpu, &z, 65, 1), Err(Error::InvalidInput(m)) if m.contains("latent"))
    );
    assert!(flatten_pairs(&[(0, 3)], 3).is_err());
    assert!(PairRows::from_pairs(3, &[(0, 5, 1.0, 0.0)]).is_err());
    assert!(PairRows::from_pairs(3, &[(0, 1, f32::NAN, 0.0)]).is_err());
}

#[test]
fn a_buffer_beyond_the_binding_limit_is_refused() {
    let Some(gpu) = gpu() else { return };
    let limit = gpu
        .limits()
        .max_storage_buffer_binding_size
        .min(gpu.limits().max_buffer_size);
    let len = (limit / 4 + 1) as usize;
    match gpu.alloc::<f32>("too_big", len) {
        Err(Error::BufferTooLarge {
            label,
            bytes,
            limit: l,
        }) => {
            assert_eq!(label, "too_big");
            assert!(bytes > l);
        }
        other => panic!("expected BufferTooLarge, got {:?}", other.map(|a| a.len())),
    }
}

#[test]
fn a_broken_shader_is_a_compile_error_naming_the_kernel() {
    let Some(gpu) = gpu() else { return };
    static BROKEN: gpu_vgae::gpu::KernelDef = gpu_vgae::gpu::KernelDef {
        name: "broken",
        source: "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }",
        bindings: &[],
        workgroup_size: 1,
    };
    match gpu.pipeline(&BROKEN) {
        Err(Error::ShaderCompile { kernel, message }) => {
            assert_eq!(kernel, "broken");
            assert!(!message.is_empty());
        }
        other => panic!("expected ShaderCompile, got {other:?}"),
    }
    // The device stays usable afterwards.
    let x = gpu.upload("x", &[1.0f32, -2.0]).unwrap();
    let y = gpu.alloc::<f32>("y", 2).unwrap();
    run(&gpu, [relu(&gpu, &x, &y).unwrap()]);
    assert_eq!(gpu.read(&y).unwrap(), vec![1.0, 0.0]);
}
