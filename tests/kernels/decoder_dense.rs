//! `decoder_dense` against `cpu::decoder_dense` in both layouts (the CPU-adapter profile
//! takes rows, the GPU profile symmetric tiles), with z stored in f32 and in f16 (the
//! twin on z rounded to f16; the f16 kernel gives the f32 kernel's bits on the rounded
//! values), the slots' sums against an f64 reference of the full N² pass (small shapes,
//! and Citeseer's size), and run-to-run determinism.

use crate::common::{assert_close, gpu, gpu_profiles, random_vec, rng};
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::internal::kernels::decoder_dense::{
    decoder_dense, DenseBlocks, DenseLayout, DensePartials, TILE,
};
use gpu_vgae::Error;

/// Partial buffers for an n × latent pass in `layout`.
fn partials(gpu: &Gpu, n: usize, latent: usize, layout: DenseLayout) -> DensePartials {
    DensePartials {
        grad: gpu
            .alloc("grad_partial", layout.slots() * n * latent)
            .unwrap(),
        loss: gpu.alloc("loss_partial", layout.slots() * n).unwrap(),
        layout,
    }
}

/// Both layouts of n nodes with `parts` splits or blocks.
fn layouts(n: usize, parts: usize) -> [DenseLayout; 2] {
    [
        DenseLayout::Rows {
            splits: parts.clamp(1, n),
        },
        DenseLayout::Tiles(DenseBlocks::new(n, parts)),
    ]
}

/// Σ over the N² ordered pairs of softplus(z_i·z_j), and row i of σ(Z Zᵀ) Z, in f64.
fn exact(z: &[f32], n: usize, stride: usize, latent: usize, rows: &[usize]) -> (f64, Vec<f64>) {
    let dot = |i: usize, j: usize| {
        (0..latent)
            .map(|k| z[i * stride + k] as f64 * z[j * stride + k] as f64)
            .sum::<f64>()
    };
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut total = 0f64;
    for i in 0..n {
        for j in 0..n {
            total += softplus(dot(i, j));
        }
    }
    let mut grad = Vec::new();
    for &i in rows {
        for k in 0..latent {
            grad.push(
                (0..n)
                    .map(|j| sigmoid(dot(i, j)) * z[j * stride + k] as f64)
                    .sum(),
            );
        }
    }
    (total, grad)
}

/// Row `i` of the gradient: the sum of its slots, in f64.
fn slot_sum(grad: &[f32], n: usize, latent: usize, slots: usize, i: usize) -> Vec<f64> {
    (0..latent)
        .map(|k| {
            (0..slots)
                .map(|s| grad[(s * n + i) * latent + k] as f64)
                .sum()
        })
        .collect()
}

gpu_test! {
    fn decoder_dense_matches_cpu_for_layouts_strides_and_latents() {
        let mut r = rng(9);
        // (n, stride, latent, parts): one node; a partial sub-tile; exactly one, and one
        // more than one sub-tile; blocks of several sub-tiles with a short last block;
        // latents and strides that are not multiples of 4; more parts than sub-tiles.
        for (n, stride, latent, parts) in [
            (1, 1, 1, 1),
            (1, 32, 16, 3),
            (31, 16, 16, 1),
            (32, 16, 16, 2),
            (33, 16, 16, 2),
            (67, 3, 3, 1),
            (130, 34, 17, 3),
            (200, 16, 16, 7),
            (250, 16, 16, 2),
            (64, 64, 64, 2),
            (300, 32, 32, 5),
            (97, 20, 18, 64),
        ] {
            let z = random_vec(&mut r, n * stride, 0.7);
            let z_half = cpu::through_f16(&z);
            for gpu in gpu_profiles() {
                let layout = DenseLayout::new(n, gpu.profile(), Some(parts));
                let mut by_f32_on_rounded = None;
                for (stored, input) in [("f32", &z), ("f32 of rounded z", &z_half), ("f16", &z_half)] {
                    let (grad, loss) = cpu::decoder_dense(input, n, stride, latent, layout);
                    let p = partials(&gpu, n, latent, layout);
                    let dispatch = if stored == "f16" {
                        let gz = gpu.upload_matrix("z", n, stride, &cpu::round_f16(&z)).unwrap();
                        decoder_dense(&gpu, &gz, latent, &p).unwrap()
                    } else {
                        let gz = gpu.upload_matrix("z", n, stride, input).unwrap();
                        decoder_dense(&gpu, &gz, latent, &p).unwrap()
                    };
                    run(&gpu, [dispatch]);
                    let what = format!("{stored}: n={n} stride={stride} L={latent} {layout:?}");
                    // Row sums over up to n terms, in the same order: widen atol with n.
                    let atol = ATOL * (n as f32).sqrt();
                    let got = (gpu.read(&p.grad).unwrap(), gpu.read(&p.loss).unwrap());
                    assert_close(&got.0, &grad, atol, RTOL, &format!("grad {what}"));
                    assert_close(&got.1, &loss, atol, RTOL, &format!("loss {what}"));
                    // f16 storage changes what is read, not the arithmetic: the f32 kernel's
                    // bits on the same (rounded) values.
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    match by_f32_on_rounded.take() {
                        None if stored != "f32" => by_f32_on_rounded = Some((bits(&got.0), bits(&got.1))),
                        Some(f32_bits) => assert!(f32_bits == (bits(&got.0), bits(&got.1)), "{what}: not the f32 kernel's bits"),
                        None => {}
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn decoder_dense_slots_add_up_to_the_full_pass() {
        // The tiles visit every unordered pair once, yet must give the sum over all
        // ordered pairs, the diagonal once, and every row's full gradient: checked on
        // the twin (which the test above ties to the GPU) against f64 for several
        // shapes, in both layouts.
        let mut r = rng(12);
        for (n, stride, latent, parts) in [(1, 4, 4, 1), (45, 5, 5, 1), (150, 16, 16, 3), (161, 8, 7, 5)] {
            let z = random_vec(&mut r, n * stride, 0.7);
            let rows: Vec<usize> = (0..n).collect();
            let (total, exact_grad) = exact(&z, n, stride, latent, &rows);
            for layout in layouts(n, parts) {
            let (grad, loss) = cpu::decoder_dense(&z, n, stride, latent, layout);
            let sum: f64 = loss.iter().map(|&v| v as f64).sum();
            assert!(
                (sum - total).abs() <= 1e-5 * total,
                "{layout:?}: loss {sum} vs f64 {total}"
            );
            for i in 0..n {
                let got = slot_sum(&grad, n, latent, layout.slots(), i);
                for k in 0..latent {
                    let e = exact_grad[i * latent + k];
                    assert!(
                        (got[k] - e).abs() < 1e-4 + 1e-5 * e.abs(),
                        "{layout:?}: grad[{i},{k}] {} vs {e}",
                        got[k]
                    );
                }
            }
            }
        }
    }
}

gpu_test! {
    fn decoder_dense_at_citeseer_size_agrees_with_an_f64_reference() {
        let (n, latent) = (3327, 16);
        let mut r = rng(10);
        let z = random_vec(&mut r, n * latent, 0.5);
        let rows = [0, 1, 31, 32, 63, 64, 1000, 3326];
        let (exact_total, exact_grad) = exact(&z, n, latent, latent, &rows);
        for gpu in gpu_profiles() {
            let layout = DenseLayout::new(n, gpu.profile(), None);
            let gz = gpu.upload_matrix("z", n, latent, &z).unwrap();
            let p = partials(&gpu, n, latent, layout);
            let total = gpu.alloc::<f32>("total", 1).unwrap();
            let mut dispatches = vec![decoder_dense(&gpu, &gz, latent, &p).unwrap()];
            dispatches.extend(column_sums(&gpu, &p.loss, layout.slots() * n, 1, &total));
            run(&gpu, dispatches);
            let grad = gpu.read(&p.grad).unwrap();
            let total = gpu.read(&total).unwrap()[0] as f64;
            // N² = 11M terms: the tree of Kahan row sums keeps the relative error near
            // 1e-6.
            assert!(
                (total - exact_total).abs() / exact_total < 1e-5,
                "{layout:?}: loss {total} vs f64 {exact_total}"
            );
            for (r, &i) in rows.iter().enumerate() {
                let got = slot_sum(&grad, n, latent, layout.slots(), i);
                for k in 0..latent {
                    let exact = exact_grad[r * latent + k];
                    assert!(
                        (got[k] - exact).abs() < 1e-3 + 1e-4 * exact.abs(),
                        "{layout:?}: grad[{i},{k}] {} vs {exact}",
                        got[k]
                    );
                }
            }
        }
    }
}

gpu_test! {
    fn decoder_dense_is_deterministic() {
        // No atomics: every slot has one writer, so two runs agree to the bit.
        let (n, latent) = (700, 16);
        let z = random_vec(&mut rng(13), n * latent, 0.6);
        for gpu in gpu_profiles() {
            let layout = DenseLayout::new(n, gpu.profile(), Some(6));
            let gz = gpu.upload_matrix("z", n, latent, &z).unwrap();
            let read = || {
                let p = partials(&gpu, n, latent, layout);
                run(&gpu, [decoder_dense(&gpu, &gz, latent, &p).unwrap()]);
                (gpu.read(&p.grad).unwrap(), gpu.read(&p.loss).unwrap())
            };
            let (first, second) = (read(), read());
            assert!(first.0.iter().zip(&second.0).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(first.1.iter().zip(&second.1).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}

#[test]
fn dense_blocks_are_whole_sub_tiles_and_never_empty() {
    for n in [1, 2, 31, 32, 33, 100, 3327, 19_717, 1_000_000] {
        for wanted in [1, 2, 3, 7, 8, 32, 100] {
            let b = DenseBlocks::new(n, wanted);
            assert_eq!(b.block_rows % TILE, 0, "{n} {wanted}");
            assert!(
                (1..=wanted.max(1)).contains(&b.blocks),
                "{n} {wanted}: {b:?}"
            );
            assert!((b.blocks - 1) * b.block_rows < n && b.blocks * b.block_rows >= n);
            assert_eq!(
                DenseBlocks::new(n, b.blocks),
                b,
                "normalised layouts are fixed points"
            );
        }
    }
}

#[test]
fn dense_layouts_keep_their_partial_sums_within_a_few_times_n_by_l() {
    use gpu_vgae::internal::gpu::AdapterProfile;
    use gpu_vgae::internal::kernels::decoder_dense::PARTIAL_ROWS;
    for n in [1, 100, 3327, 19_717, 100_000, 1_000_000] {
        for profile in [AdapterProfile::cpu(), AdapterProfile::gpu()] {
            let layout = DenseLayout::new(n, &profile, None);
            let rows = layout.slots() * n;
            let bound = match layout {
                DenseLayout::Rows { .. } => profile.dense_target_invocations + n,
                DenseLayout::Tiles(_) => (8 * n).max(PARTIAL_ROWS),
            };
            assert!(
                rows <= bound,
                "n={n} {layout:?}: {rows} partial rows > {bound}"
            );
        }
    }
}

gpu_test! {
    fn decoder_dense_refuses_bad_latents_and_partials() {
        let gpu = gpu();
        let z = gpu.alloc_matrix("z", 3, 80).unwrap();
        let rows = DenseLayout::Rows { splits: 1 };
        let p = partials(&gpu, 3, 65, rows);
        let refused = |r: gpu_vgae::Result<_>, argument: &str, says: &str| {
            assert!(
                matches!(&r, Err(Error::InvalidArgument { argument: a, message })
                    if *a == argument && message.contains(says)),
                "{r:?}"
            )
        };
        refused(decoder_dense(&gpu, &z, 65, &p), "latent", "latent");
        let p = partials(&gpu, 3, 16, rows);
        let short = DensePartials { grad: gpu.alloc("short", 3).unwrap(), ..p.clone() };
        refused(decoder_dense(&gpu, &z, 16, &short), "partials", "partials");
        for layout in [
            DenseLayout::Rows { splits: 4 },
            DenseLayout::Tiles(DenseBlocks { blocks: 2, block_rows: 2 }),
        ] {
            let bad = DensePartials { layout, ..p.clone() };
            refused(decoder_dense(&gpu, &z, 16, &bad), "partials", "not a layout");
        }
    }
}
