//! `pair_mse_sparse` against its CPU twin, and the whole pair MSE (`pair_mse` and
//! `pair_mse_gradient` block by block, then `pair_mse_sparse`) against the dense f64 formula: w·mean((σ(za zaᵀ) + σ(zb zbᵀ) − A)²)
//! and its gradients, on a row-normalised (not symmetric) A with an isolated node.

use crate::common::{assert_close, gpu, gpu_profiles, profile_name, random_vec, rng};
use crate::pair_mse::dense_pass;
use crate::{column_sums, run};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::pair_mse::PairMseBlocks;
use gpu_vgae::internal::kernels::pair_mse_sparse::{pair_mse_sparse, PairMseOutputs};
use gpu_vgae::Csr;
use rand::Rng;

/// D⁻¹(A + I) of a random symmetric graph on n nodes (node n − 1 isolated), and S = Â + Âᵀ.
fn row_normalised(n: usize, edges: usize, r: &mut rand::rngs::StdRng) -> (Csr, Csr) {
    let mut triplets: Vec<(u32, u32, f32)> = (0..n as u32).map(|i| (i, i, 1.0)).collect();
    for _ in 0..edges {
        let (i, j) = (
            r.random_range(0..n.max(2) - 1) as u32,
            r.random_range(0..n.max(2) - 1) as u32,
        );
        if i != j && (i as usize) < n && (j as usize) < n {
            triplets.push((i, j, 1.0));
            triplets.push((j, i, 1.0));
        }
    }
    let binary = Csr::from_triplets(n, n, &triplets).unwrap();
    let ones: Vec<f32> = vec![1.0; binary.nnz()];
    let binary = binary.with_values(ones).unwrap();
    let mut values = Vec::new();
    for i in 0..n {
        let deg = binary.row_range(i).len() as f32;
        values.extend(binary.row_range(i).map(|_| 1.0 / deg));
    }
    let a = binary.with_values(values).unwrap();
    let t = a.transpose();
    let mut sum: Vec<(u32, u32, f32)> = Vec::new();
    for m in [&a, &t] {
        for i in 0..n {
            for e in m.row_range(i) {
                sum.push((i as u32, m.col_idx()[e], m.values()[e]));
            }
        }
    }
    (a.clone(), Csr::from_triplets(n, n, &sum).unwrap())
}

gpu_test! {
    fn pair_mse_sparse_matches_cpu_and_the_dense_f64_formula() {
        let mut r = rng(50);
        for (n, la, lb, edges) in [(2, 1, 1, 1), (9, 5, 3, 12), (67, 20, 100, 150), (400, 20, 100, 900)] {
            let (a, s) = row_normalised(n, edges, &mut r);
            let za = random_vec(&mut r, n * la, 0.6);
            let zb = random_vec(&mut r, n * lb, 0.3);
            let w = 0.1f64;
            let kappa = (2.0 * w / (n * n) as f64) as f32;
            // The dense f64 reference: E_ij = a + b − A, loss = Σ E², grads.
            let dense_a = a.to_dense();
            let dot = |z: &[f32], l: usize, i: usize, j: usize| {
                (0..l).map(|c| z[i * l + c] as f64 * z[j * l + c] as f64).sum::<f64>()
            };
            let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
            let mut loss = 0f64;
            let mut ga = vec![0f64; n * la];
            let mut gb = vec![0f64; n * lb];
            for i in 0..n {
                for j in 0..n {
                    let (sa, sb) = (sig(dot(&za, la, i, j)), sig(dot(&zb, lb, i, j)));
                    let e = sa + sb - dense_a[i * n + j] as f64;
                    loss += e * e;
                    // ∂/∂(z_i·z_j) of w·E²/n², reaching z_i through both factors.
                    let fa = 2.0 * w / (n * n) as f64 * e * sa * (1.0 - sa);
                    let fb = 2.0 * w / (n * n) as f64 * e * sb * (1.0 - sb);
                    for c in 0..la {
                        ga[i * la + c] += fa * za[j * la + c] as f64;
                        ga[j * la + c] += fa * za[i * la + c] as f64;
                    }
                    for c in 0..lb {
                        gb[i * lb + c] += fb * zb[j * lb + c] as f64;
                        gb[j * lb + c] += fb * zb[i * lb + c] as f64;
                    }
                }
            }
            let sum_a2: f64 = a.values().iter().map(|&v| (v as f64).powi(2)).sum();
            for gpu in gpu_profiles() {
                for (rows, splits) in [(n, 1), (n.div_ceil(2), 4)] {
                    let blocks = PairMseBlocks { rows, splits };
                    let gza = gpu.upload_matrix("za", n, la, &za).unwrap();
                    let gzb = gpu.upload_matrix("zb", n, lb, &zb).unwrap();
                    let dense = gpu.alloc::<f32>("dense", blocks.dense_len(n, la, lb)).unwrap();
                    let gs = gpu.upload_csr("s", &s).unwrap();
                    let start_a = random_vec(&mut r, n * la, 1.0);
                    let start_b = random_vec(&mut r, n * lb, 1.0);
                    for accumulate in [false, true] {
                        let dza = gpu.upload_matrix("dza", n, la, &start_a).unwrap();
                        let dzb = gpu.upload_matrix("dzb", n, lb, &start_b).unwrap();
                        let rows = gpu.alloc::<f32>("loss_rows", n).unwrap();
                        let total = gpu.alloc::<f32>("loss", 1).unwrap();
                        let mut dispatches = dense_pass(&gpu, &gza, &gzb, blocks, &dense);
                        dispatches.push(
                            pair_mse_sparse(&gpu, &gza, &gzb, &dense, blocks, &gs, kappa, accumulate,
                                PairMseOutputs { dza: &dza, dzb: &dzb, loss_rows: &rows }).unwrap(),
                        );
                        dispatches.extend(column_sums(&gpu, &rows, n, 1, &total));
                        run(&gpu, [dispatches]);
                        let host_dense = cpu::pair_mse_dense(&za, &zb, la, lb, blocks);
                        let previous = accumulate.then_some((start_a.as_slice(), start_b.as_slice()));
                        let (ea, eb, el) = cpu::pair_mse_sparse(&za, &zb, la, lb, &host_dense, blocks, &s, kappa, previous);
                        let what = format!("n {n} la {la} lb {lb} {blocks:?} acc={accumulate} {}", profile_name(&gpu));
                        let (got_a, got_b) = (gpu.read(dza.data()).unwrap(), gpu.read(dzb.data()).unwrap());
                        let widen = (n as f32).sqrt();
                        assert_close(&got_a, &ea, 1e-6 * widen, 1e-4, &what);
                        assert_close(&got_b, &eb, 1e-6 * widen, 1e-4, &what);
                        assert_close(&gpu.read(&rows).unwrap(), &el, 1e-5 * widen, 1e-4, &what);
                        if accumulate {
                            continue;
                        }
                        let got_loss = gpu.read(&total).unwrap()[0] as f64 + sum_a2;
                        assert!((got_loss - loss).abs() <= 1e-5 * loss.max(1.0), "{what}: loss {got_loss} vs f64 {loss}");
                        let exact_a: Vec<f32> = ga.iter().map(|&v| v as f32).collect();
                        let exact_b: Vec<f32> = gb.iter().map(|&v| v as f32).collect();
                        let scale_a = ga.iter().fold(0f64, |m, v| m.max(v.abs())) as f32;
                        let scale_b = gb.iter().fold(0f64, |m, v| m.max(v.abs())) as f32;
                        assert!(scale_a > 0.0 && scale_b > 0.0, "{what}: trivial gradients");
                        assert_close(&got_a, &exact_a, 1e-4 * scale_a, 1e-3, &format!("{what} dza vs f64"));
                        assert_close(&got_b, &exact_b, 1e-4 * scale_b, 1e-3, &format!("{what} dzb vs f64"));
                    }
                }
            }
        }
        let gpu = gpu();
        let za = gpu.alloc_matrix("za", 3, 4).unwrap();
        let blocks = PairMseBlocks { rows: 3, splits: 1 };
        let dense = gpu.alloc::<f32>("dense", blocks.dense_len(3, 4, 4)).unwrap();
        let s = gpu.upload_csr("s", &Csr::identity(4)).unwrap();
        let dz = gpu.alloc_matrix("dz", 3, 4).unwrap();
        let rows = gpu.alloc::<f32>("rows", 3).unwrap();
        let out = PairMseOutputs { dza: &dz, dzb: &dz, loss_rows: &rows };
        assert!(pair_mse_sparse(&gpu, &za, &za, &dense, blocks, &s, 1.0, false, out).is_err(), "S of the wrong size");
    }
}
