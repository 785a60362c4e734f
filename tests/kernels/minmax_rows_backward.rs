//! `minmax_rows_backward` against its CPU twin (the shapes, constant row, ties and
//! windows of `minmax_rows`), and against finite differences of `minmax_rows`.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::minmax_rows::{inputs, SHAPES, WIDE};
use crate::{run, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::minmax_rows_backward::minmax_rows_backward;

gpu_test! {
    fn minmax_rows_backward_matches_cpu() {
        let base = gpu();
        for small_binding in [false, true] {
            for (rows, cols) in SHAPES {
                let gpu = if small_binding { base.with_binding_limit(4096) } else { base.clone() };
                let a = inputs(rows, cols, 73);
                let (z, stats) = cpu::minmax_rows(&a, cols);
                let mut r = rng(74);
                // Small, so that the constant row's g / 1e-12 / 1e-20 stays finite.
                let g: Vec<f32> = random_vec(&mut r, rows * cols, 1.0).iter().map(|v| v * 1e-20).collect();
                let upload = |name: &str, m: &[f32], c: usize| gpu.upload_matrix(name, rows, c, m).unwrap();
                let (ga, gz, gs, gg) = (upload("a", &a, cols), upload("z", &z, cols), upload("stats", &stats, 3), upload("g", &g, cols));
                let da = gpu.alloc_matrix("da", rows, cols).unwrap();
                let dispatches = minmax_rows_backward(&gpu, &ga, &gz, &gs, &gg, &da);
                if small_binding && cols >= WIDE {
                    assert!(matches!(dispatches, Err(gpu_vgae::Error::BufferTooLarge { .. })), "{dispatches:?}");
                    continue;
                }
                run(&gpu, [dispatches.unwrap()]);
                let want = cpu::minmax_rows_backward(&a, &z, &stats, &g, cols);
                let what = format!("minmax_rows_backward {rows}x{cols} small={small_binding}");
                let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
                assert_close(&gpu.read(da.data()).unwrap(), &want, 1e-5 * scale, RTOL, &what);
            }
        }
        let gpu = base;
        let m = |c: usize| gpu.alloc_matrix("m", 3, c).unwrap();
        let (a, z, stats, g) = (m(4), m(4), m(3), m(4));
        assert!(minmax_rows_backward(&gpu, &a, &z, &stats, &g, &m(5)).is_err(), "da of 5 columns");
        assert!(minmax_rows_backward(&gpu, &a, &z, &stats, &m(2), &m(4)).is_err(), "g of 2 columns");
    }
}

#[test]
fn minmax_rows_backward_is_the_jacobian_of_the_forward() {
    // da·δ = g·(z(a + δ) − z(a)) / |δ| for a small δ, per column, in f64 from the
    // twins' formulas, on rows whose extremes are unique (so the forward is smooth
    // there), including the extremes' own columns.
    let cols = 9;
    let mut r = rng(75);
    for trial in 0..4 {
        let a = random_vec(&mut r, cols, 1.0);
        let g = random_vec(&mut r, cols, 1.0);
        let (z, stats) = cpu::minmax_rows(&a, cols);
        let da = cpu::minmax_rows_backward(&a, &z, &stats, &g, cols);
        let eps = 1e-3f32;
        for c in 0..cols {
            let (mut plus, mut minus) = (a.clone(), a.clone());
            plus[c] += eps;
            minus[c] -= eps;
            let (zp, _) = cpu::minmax_rows(&plus, cols);
            let (zm, _) = cpu::minmax_rows(&minus, cols);
            let numeric: f64 = (0..cols)
                .map(|k| f64::from(g[k]) * f64::from(zp[k] - zm[k]) / (2.0 * f64::from(eps)))
                .sum();
            assert!(
                (numeric - f64::from(da[c])).abs() < 5e-3 * (1.0 + numeric.abs()),
                "trial {trial} column {c}: {numeric} vs {}",
                da[c]
            );
        }
    }
}
