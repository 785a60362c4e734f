//! `normalize_rows_backward` against its CPU twin (shapes, the clamped row and windows
//! as for `normalize_rows`), and against finite differences of `normalize_rows`.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::normalize_rows::{inputs, SHAPES};
use crate::{run, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::normalize_rows_backward::normalize_rows_backward;

gpu_test! {
    fn normalize_rows_backward_matches_cpu() {
        let base = gpu();
        for small_binding in [false, true] {
            for (rows, cols) in SHAPES {
                let gpu = if small_binding { base.with_binding_limit(4096) } else { base.clone() };
                let (h, bias) = inputs(rows, cols, 43);
                let (z, norm) = cpu::normalize_rows(&h, &bias, cols);
                let mut r = rng(44);
                let y = random_vec(&mut r, rows * cols, 1.0);
                let q = random_vec(&mut r, rows * cols, 1.0);
                // A small scale, as 2/N², so that the clamped row's g / 1e-12 stays finite.
                let scale = 1e-6;
                let gz = gpu.upload_matrix("z", rows, cols, &z).unwrap();
                let gn = gpu.upload("norm", &norm).unwrap();
                let gy = gpu.upload_matrix("y", rows, cols, &y).unwrap();
                let gq = gpu.upload_matrix("q", rows, cols, &q).unwrap();
                let dh = gpu.alloc_matrix("dh", rows, cols).unwrap();
                run(&gpu, [normalize_rows_backward(&gpu, &gz, &gn, &gy, &gq, scale, &dh).unwrap()]);
                let want = cpu::normalize_rows_backward(&z, &norm, &y, &q, scale, cols);
                let what = format!("normalize_rows_backward {rows}x{cols} small={small_binding}");
                // The clamped row is ~1e6 in size: rtol covers it.
                assert_close(&gpu.read(dh.data()).unwrap(), &want, 1e-7, RTOL, &what);
            }
        }
    }
}

#[test]
fn normalize_rows_backward_is_the_jacobian_of_the_forward() {
    // dh·δ = g·(z(h + δ) − z(h)) / |δ| for a small δ, on one row, in f64 from the
    // twins' formulas: the backward is the forward's derivative, not only its twin.
    let cols = 7;
    let (h, bias) = inputs(1, cols, 45);
    let mut r = rng(46);
    let y = random_vec(&mut r, cols, 1.0);
    let q = vec![0f32; cols];
    let (z, norm) = cpu::normalize_rows(&h, &bias, cols);
    let dh = cpu::normalize_rows_backward(&z, &norm, &y, &q, 1.0, cols);
    let eps = 1e-3f32;
    for c in 0..cols {
        let (mut plus, mut minus) = (h.clone(), h.clone());
        plus[c] += eps;
        minus[c] -= eps;
        let (zp, _) = cpu::normalize_rows(&plus, &bias, cols);
        let (zm, _) = cpu::normalize_rows(&minus, &bias, cols);
        let numeric: f64 = (0..cols)
            .map(|k| f64::from(y[k]) * f64::from(zp[k] - zm[k]) / (2.0 * f64::from(eps)))
            .sum();
        assert!(
            (numeric - f64::from(dh[c])).abs() < 2e-3,
            "column {c}: {numeric} vs {}",
            dh[c]
        );
    }
}
