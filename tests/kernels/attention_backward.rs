//! `attention_backward` against its CPU twin (column splits, both profiles, awkward
//! widths) and, with the splits summed, against the gradient of
//! φ(Y) = Σ G ⊙ softmax_row(Y Yᵀ) Y in f64: a dense formula, itself checked against
//! central differences of φ on a small case.

use crate::attention_forward::exact_attention;
use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::{column_sums, run};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::attention_backward::attention_backward;
use gpu_vgae::internal::kernels::pair_mse::ColumnSplits;

/// ∂φ/∂Y in f64 from the dense matrices: S, dT = S ⊙ (G Yᵀ − d), dY = (dT + dTᵀ) Y + Sᵀ G.
fn exact_gradient(y: &[f32], g: &[f32], l: usize) -> Vec<f64> {
    let n = y.len() / l;
    let (zs, lse) = exact_attention(y, l);
    let dot = |a: &[f32], i: usize, b: &[f32], j: usize| {
        (0..l)
            .map(|c| a[i * l + c] as f64 * b[j * l + c] as f64)
            .sum::<f64>()
    };
    let s = |i: usize, j: usize| (dot(y, i, y, j) - lse[i]).exp();
    let d: Vec<f64> = (0..n)
        .map(|i| (0..l).map(|c| g[i * l + c] as f64 * zs[i * l + c]).sum())
        .collect();
    let dt = |i: usize, j: usize| s(i, j) * (dot(g, i, y, j) - d[i]);
    let mut out = vec![0f64; n * l];
    for i in 0..n {
        for j in 0..n {
            let c1 = dt(i, j) + dt(j, i);
            let sji = s(j, i);
            for c in 0..l {
                out[i * l + c] += c1 * y[j * l + c] as f64 + sji * g[j * l + c] as f64;
            }
        }
    }
    out
}

fn phi(y: &[f32], g: &[f32], l: usize) -> f64 {
    let (zs, _) = exact_attention(y, l);
    zs.iter().zip(g).map(|(z, &g)| z * g as f64).sum()
}

#[test]
fn the_dense_attention_gradient_is_the_derivative() {
    let mut r = rng(53);
    let (n, l) = (5, 3);
    let y = random_vec(&mut r, n * l, 1.0);
    let g = random_vec(&mut r, n * l, 1.0);
    let analytic = exact_gradient(&y, &g, l);
    let h = 1e-3f32;
    for e in 0..n * l {
        let (mut yp, mut ym) = (y.clone(), y.clone());
        yp[e] += h;
        ym[e] -= h;
        let fd = (phi(&yp, &g, l) - phi(&ym, &g, l)) / (2.0 * h as f64);
        assert!(
            (analytic[e] - fd).abs() < 1e-4 + 1e-3 * fd.abs(),
            "[{e}] {} vs {fd}",
            analytic[e]
        );
    }
    assert!(analytic.iter().any(|v| v.abs() > 0.1), "trivial gradient");
}

gpu_test! {
    fn attention_backward_matches_cpu_and_f64() {
        let mut r = rng(54);
        for (n, l) in [(1, 1), (7, 5), (67, 20), (400, 20)] {
            let y = random_vec(&mut r, n * l, 0.7);
            let g = random_vec(&mut r, n * l, 1.0);
            let (zs, lse) = exact_attention(&y, l);
            let zs32: Vec<f32> = zs.iter().map(|&v| v as f32).collect();
            let lse32: Vec<f32> = lse.iter().map(|&v| v as f32).collect();
            let d = cpu::row_dot(&g, &zs32, l);
            let exact: Vec<f32> = exact_gradient(&y, &g, l).iter().map(|&v| v as f32).collect();
            for splits in [1, 3, n.min(64)] {
                let layout = ColumnSplits { splits };
                let expected = cpu::attention_backward(&y, &g, &lse32, &d, l, layout);
                for gpu in gpu_profiles() {
                    let gy = gpu.upload_matrix("y", n, l, &y).unwrap();
                    let gg = gpu.upload_matrix("g", n, l, &g).unwrap();
                    let gl = gpu.upload("lse", &lse32).unwrap();
                    let gd = gpu.upload("d", &d).unwrap();
                    let partial = gpu.alloc::<f32>("partial", splits * n * l).unwrap();
                    let sum = gpu.alloc::<f32>("sum", n * l).unwrap();
                    let mut dispatches = vec![attention_backward(&gpu, &gy, &gg, &gl, &gd, layout, &partial).unwrap()];
                    dispatches.extend(column_sums(&gpu, &partial, splits, n * l, &sum));
                    run(&gpu, [dispatches]);
                    let what = format!("n {n} L {l} splits {splits} {}", profile_name(&gpu));
                    let widen = (n as f32).sqrt();
                    assert_close(&gpu.read(&partial).unwrap(), &expected, 1e-5 * widen, 1e-4, &what);
                    assert_close(&gpu.read(&sum).unwrap(), &exact, 1e-4 * widen, 1e-3, &format!("{what} vs f64"));
                }
            }
        }
    }
}
