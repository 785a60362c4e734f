//! `decoder_pairs` against `cpu::decoder_pairs`, with and without dense partials, with z
//! stored in f32 and in f16.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::{Gpu, GpuArray, GpuMatrix};
use gpu_vgae::internal::kernels::decoder_dense::{decoder_dense, DenseLayout, DensePartials};
use gpu_vgae::internal::kernels::decoder_pairs::{decoder_pairs, PairRows, CLASS_BIT};
use rand::Rng;

gpu_test! {
    fn decoder_pairs_matches_cpu_with_and_without_dense_partials() {
        let gpu = gpu();
        let mut r = rng(11);
        for (n, stride, latent) in [
            (1, 1, 1),
            (5, 3, 3),
            (67, 17, 17),
            (130, 16, 16),
            (40, 20, 6),
            (70, 64, 64),
            (90, 36, 18),
        ] {
            let z = random_vec(&mut r, n * stride, 0.7);
            let classes = [
                (r.random_range(0.0..2.0f32), r.random_range(-1.0..1.0f32)),
                (r.random_range(0.0..2.0f32), r.random_range(-1.0..1.0f32)),
            ];
            // Random pairs with isolated nodes (every 4th node has none) and self pairs.
            let mut pairs = Vec::new();
            for _ in 0..3 * n {
                let i = r.random_range(0..n) as u32;
                let j = if r.random_bool(0.1) { i } else { r.random_range(0..n) as u32 };
                if i % 4 == 3 || j % 4 == 3 {
                    continue;
                }
                // Two weight classes, as every objective has at most.
                let (wp, wn) = classes[usize::from(r.random_bool(0.4))];
                pairs.push((i, j, wp, wn));
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
                let layout = DenseLayout::new(n, gpu.profile(), Some(2));
                let partials = dense.then(|| DensePartials {
                    grad: gpu.alloc("grad_partial", layout.slots() * n * latent).unwrap(),
                    loss: gpu.alloc("loss_partial", layout.slots() * n).unwrap(),
                    layout,
                });
                if let Some(p) = &partials {
                    dispatches.push(decoder_dense(&gpu, &gz, latent, p).unwrap());
                }
                dispatches.extend(
                    decoder_pairs(&gpu, &gz, latent, &grows, partials.as_ref(), 0.37, &dz, &loss)
                        .unwrap(),
                );
                run(&gpu, dispatches);
                let host_partials = partials
                    .as_ref()
                    .map(|p| (gpu.read(&p.grad).unwrap(), gpu.read(&p.loss).unwrap(), p.layout.slots()));
                let (dz_cpu, loss_cpu) = cpu::decoder_pairs(
                    &z,
                    stride,
                    latent,
                    &rows,
                    host_partials.as_ref().map(|(g, l, s)| (g.as_slice(), l.as_slice(), *s)),
                    0.37,
                );
                let what = format!("n={n} L={latent} dense={dense}");
                let atol = ATOL * (n as f32).sqrt();
                let gpu_loss = gpu.read(&loss).unwrap();
                assert_close(&gpu.read(dz.data()).unwrap(), &dz_cpu, atol, RTOL, &format!("dz {what}"));
                assert_close(&gpu_loss, &loss_cpu, atol, RTOL, &format!("loss {what}"));
                if !dense {
                    for i in (3..n).step_by(4) {
                        assert_eq!(gpu_loss[i], 0.0, "isolated node {i} has loss");
                    }
                }
            }
        }
    }
}

/// Random weighted pairs over n nodes in two weight classes, with self pairs and
/// isolated nodes.
fn random_pairs(r: &mut rand::rngs::StdRng, n: usize) -> Vec<(u32, u32, f32, f32)> {
    let classes = [(1.3f32, -0.4f32), (0.2, 0.9)];
    let mut pairs = Vec::new();
    for _ in 0..3 * n {
        let i = r.random_range(0..n) as u32;
        let j = if r.random_bool(0.1) {
            i
        } else {
            r.random_range(0..n) as u32
        };
        if i % 4 != 3 && j % 4 != 3 {
            pairs.push((
                i,
                j,
                classes[usize::from(r.random_bool(0.4))].0,
                classes[0].1,
            ));
        }
    }
    pairs
}

/// The dense pass and the pair pass over `gz` (f32 or f16): (dz, loss rows, the dense
/// partials when `dense`).
#[allow(clippy::type_complexity)]
fn decode<T: gpu_vgae::internal::kernels::EmbeddingElem>(
    gpu: &Gpu,
    gz: &GpuMatrix<T>,
    latent: usize,
    rows: &PairRows,
    dense: bool,
) -> (Vec<f32>, Vec<f32>, Option<(Vec<f32>, Vec<f32>, usize)>) {
    let n = gz.rows();
    let grows = rows.upload(gpu, "pairs").unwrap();
    let dz = gpu.alloc_matrix("dz", n, latent).unwrap();
    let loss: GpuArray<f32> = gpu.alloc("loss", n).unwrap();
    let layout = DenseLayout::new(n, gpu.profile(), Some(2));
    let partials = dense.then(|| DensePartials {
        grad: gpu
            .alloc("grad_partial", layout.slots() * n * latent)
            .unwrap(),
        loss: gpu.alloc("loss_partial", layout.slots() * n).unwrap(),
        layout,
    });
    let mut dispatches = Vec::new();
    if let Some(p) = &partials {
        dispatches.push(decoder_dense(gpu, gz, latent, p).unwrap());
    }
    dispatches.extend(
        decoder_pairs(gpu, gz, latent, &grows, partials.as_ref(), 0.37, &dz, &loss).unwrap(),
    );
    run(gpu, dispatches);
    let host_partials = partials.as_ref().map(|p| {
        (
            gpu.read(&p.grad).unwrap(),
            gpu.read(&p.loss).unwrap(),
            p.layout.slots(),
        )
    });
    (
        gpu.read(dz.data()).unwrap(),
        gpu.read(&loss).unwrap(),
        host_partials,
    )
}

gpu_test! {
    fn decoder_pairs_reads_z_stored_in_f16_like_its_f32_form() {
        // The f16 kernel on z rounded to f16 against the twin on the rounded values, and
        // against the f32 kernel on them, bit for bit (storage changes what is read,
        // not the arithmetic).
        let mut r = rng(17);
        for (n, stride, latent) in [(1, 1, 1), (5, 3, 3), (67, 17, 17), (130, 16, 16), (90, 36, 18)] {
            let z = random_vec(&mut r, n * stride, 0.7);
            let z_half = cpu::through_f16(&z);
            let pairs = random_pairs(&mut r, n);
            for gpu in crate::common::gpu_profiles() {
                for (rows, dense) in [
                    (PairRows::from_pairs(n, &pairs).unwrap(), false),
                    (PairRows::from_directed(n, &pairs).unwrap(), true),
                ] {
                    let g16 = gpu.upload_matrix("z16", n, stride, &cpu::round_f16(&z)).unwrap();
                    let g32 = gpu.upload_matrix("z32", n, stride, &z_half).unwrap();
                    let (dz, loss, partials) = decode(&gpu, &g16, latent, &rows, dense);
                    let (dz_cpu, loss_cpu) = cpu::decoder_pairs(
                        &z_half,
                        stride,
                        latent,
                        &rows,
                        partials.as_ref().map(|(g, l, s)| (g.as_slice(), l.as_slice(), *s)),
                        0.37,
                    );
                    let what = format!("{:?} n={n} L={latent} dense={dense}", gpu.profile().class);
                    let atol = ATOL * (n as f32).sqrt();
                    assert_close(&dz, &dz_cpu, atol, RTOL, &format!("dz {what}"));
                    assert_close(&loss, &loss_cpu, atol, RTOL, &format!("loss {what}"));
                    let (dz32, loss32, _) = decode(&gpu, &g32, latent, &rows, dense);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&dz), bits(&dz32), "dz {what}: not the f32 kernel's bits");
                    assert_eq!(bits(&loss), bits(&loss32), "loss {what}: not the f32 kernel's bits");
                }
            }
        }
    }
}

#[test]
fn pair_rows_refuse_bad_pairs() {
    assert!(PairRows::from_pairs(3, &[(0, 5, 1.0, 0.0)]).is_err());
    assert!(PairRows::from_pairs(3, &[(0, 1, f32::NAN, 0.0)]).is_err());
    let rows = PairRows::from_pairs(3, &[(0, 2, 1.0, 0.5), (1, 0, 0.0, 1.0)]).unwrap();
    assert_eq!(rows.ptr, vec![0, 2, 3, 4]);
    // The first weights seen are class 0, the second class 1 (the column word's top
    // bit); each row is sorted by node, its classes moving along.
    assert_eq!(rows.class_weights, [1.0, 0.5, 0.0, 1.0]);
    assert_eq!(rows.col, vec![1 | CLASS_BIT, 2, CLASS_BIT, 0]);
    assert_eq!((rows.other(0), rows.weights(0)), (1, (0.0, 1.0)));
    assert_eq!((rows.other(1), rows.weights(1)), (2, (1.0, 0.5)));
    // Ties keep their input order.
    let entries = [(0, 1, 3.0, 0.0), (0, 0, 1.0, 0.0), (0, 1, 1.0, 0.0)];
    let rows = PairRows::from_directed(2, &entries).unwrap();
    assert_eq!(rows.col, vec![CLASS_BIT, 1, 1 | CLASS_BIT]);
    // A third pair of weights is refused.
    let third = PairRows::from_pairs(3, &[(0, 1, 1.0, 0.0), (0, 2, 0.0, 1.0), (1, 2, 0.5, 0.5)]);
    assert!(
        matches!(&third, Err(gpu_vgae::Error::InvalidArgument { argument: "pairs", message })
            if message.contains("third")),
        "{third:?}"
    );
}
