//! `attention_forward` against its CPU twin (column splits, both profiles, awkward
//! widths), and with `attention_combine` against softmax_row(Y Yᵀ) Y in f64, including
//! rows whose scores are large (the online max keeps exp in range).

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::attention_combine::{attention_combine, AttentionOutputs};
use gpu_vgae::internal::kernels::attention_forward::attention_forward;
use gpu_vgae::internal::kernels::pair_mse::ColumnSplits;

/// softmax_row(Y Yᵀ) Y and the log-sum-exp per row, in f64.
pub(crate) fn exact_attention(y: &[f32], l: usize) -> (Vec<f64>, Vec<f64>) {
    let n = y.len() / l;
    let mut zs = vec![0f64; n * l];
    let mut lse = vec![0f64; n];
    for i in 0..n {
        let t: Vec<f64> = (0..n)
            .map(|j| {
                (0..l)
                    .map(|c| y[i * l + c] as f64 * y[j * l + c] as f64)
                    .sum()
            })
            .collect();
        let m = t.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = t.iter().map(|v| (v - m).exp()).sum();
        lse[i] = m + s.ln();
        for j in 0..n {
            let w = (t[j] - lse[i]).exp();
            for c in 0..l {
                zs[i * l + c] += w * y[j * l + c] as f64;
            }
        }
    }
    (zs, lse)
}

gpu_test! {
    fn attention_forward_matches_cpu_and_f64() {
        let mut r = rng(51);
        for (n, l, scale) in [(1, 1, 1.0), (7, 5, 1.0), (67, 20, 0.5), (300, 20, 3.0), (1000, 16, 1.0)] {
            let y = random_vec(&mut r, n * l, scale);
            let (zs_exact, lse_exact) = exact_attention(&y, l);
            let gamma = [0.25f32];
            for splits in [1, 3, n.min(64)] {
                let layout = ColumnSplits { splits };
                let expected = cpu::attention_forward(&y, l, layout);
                let (ezs, e_lse, ezt) = cpu::attention_combine(&expected, layout, &y, l, gamma[0]);
                for gpu in gpu_profiles() {
                    let gy = gpu.upload_matrix("y", n, l, &y).unwrap();
                    let partial = gpu.alloc::<f32>("partial", splits * n * (2 + l)).unwrap();
                    let gg = gpu.upload("gamma", &gamma).unwrap();
                    let zs = gpu.alloc_matrix("zs", n, l).unwrap();
                    let lse = gpu.alloc::<f32>("lse", n).unwrap();
                    let zt = gpu.alloc_matrix("zt", n, l).unwrap();
                    run(&gpu, [
                        attention_forward(&gpu, &gy, layout, &partial).unwrap(),
                        attention_combine(&gpu, &partial, layout, &gy, &gg,
                            AttentionOutputs { zs: &zs, lse: &lse, z_tilde: &zt }).unwrap(),
                    ]);
                    let what = format!("n {n} L {l} splits {splits} {}", profile_name(&gpu));
                    let widen = (n as f32).sqrt();
                    assert_close(&gpu.read(&partial).unwrap(), &expected, 1e-5 * widen, 1e-4, &what);
                    let got_zs = gpu.read(zs.data()).unwrap();
                    assert_close(&got_zs, &ezs, 1e-5, 1e-4, &what);
                    assert_close(&gpu.read(&lse).unwrap(), &e_lse, 1e-5, 1e-5, &what);
                    assert_close(&gpu.read(zt.data()).unwrap(), &ezt, 1e-5, 1e-4, &what);
                    let exact: Vec<f32> = zs_exact.iter().map(|&v| v as f32).collect();
                    assert_close(&got_zs, &exact, 1e-5 * scale, 1e-4, &format!("{what} vs f64"));
                    let exact: Vec<f32> = lse_exact.iter().map(|&v| v as f32).collect();
                    assert_close(&gpu.read(&lse).unwrap(), &exact, 1e-5, 1e-5, &format!("{what} lse vs f64"));
                }
            }
        }
    }
}
