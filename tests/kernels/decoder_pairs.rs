//! `decoder_pairs` against `cpu::decoder_pairs`, with and without dense partials.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
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
