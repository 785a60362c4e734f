//! `normalize_rows` against its CPU twin, over awkward shapes, a row clamped at the
//! norm's floor, and windows of a small binding.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::normalize_rows::normalize_rows;

/// (rows, cols): one element, widths that are not multiples of 4, more rows than a
/// workgroup, Citeseer's views.
pub(crate) const SHAPES: [(usize, usize); 5] = [(1, 1), (5, 3), (67, 17), (130, 64), (3327, 64)];

/// h with row 1 equal to −bias (its norm is clamped) where there is a row 1.
pub(crate) fn inputs(rows: usize, cols: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut r = rng(seed);
    let mut h = random_vec(&mut r, rows * cols, 1.0);
    let bias = random_vec(&mut r, cols, 0.5);
    if rows > 1 {
        for c in 0..cols {
            h[cols + c] = -bias[c];
        }
    }
    (h, bias)
}

gpu_test! {
    fn normalize_rows_matches_cpu() {
        let base = gpu();
        for small_binding in [false, true] {
            for (rows, cols) in SHAPES {
                // 4 KiB bindings: the larger shapes run as several windows of rows.
                let gpu = if small_binding { base.with_binding_limit(4096) } else { base.clone() };
                let (h, bias) = inputs(rows, cols, 41);
                let gh = gpu.upload_matrix("h", rows, cols, &h).unwrap();
                let gb = gpu.upload("bias", &bias).unwrap();
                let z = gpu.alloc_matrix("z", rows, cols).unwrap();
                let norm = gpu.alloc::<f32>("norm", rows).unwrap();
                let dispatches = normalize_rows(&gpu, &gh, &gb, &z, &norm).unwrap();
                if small_binding && rows * cols * 4 > 4096 {
                    assert!(dispatches.len() > 1, "{rows}x{cols}: windows expected");
                }
                run(&gpu, [dispatches]);
                let (want_z, want_norm) = cpu::normalize_rows(&h, &bias, cols);
                let what = format!("normalize_rows {rows}x{cols} small={small_binding}");
                assert_close(&gpu.read(z.data()).unwrap(), &want_z, ATOL, RTOL, &what);
                assert_close(&gpu.read(&norm).unwrap(), &want_norm, ATOL, RTOL, &what);
                if rows > 1 {
                    assert_eq!(want_norm[1], 1e-12, "row 1 is clamped");
                }
            }
        }
        let gpu = base;
        let h = gpu.alloc_matrix("h", 3, 4).unwrap();
        let bias = gpu.alloc::<f32>("bias", 3).unwrap();
        let z = gpu.alloc_matrix("z", 3, 4).unwrap();
        let norm = gpu.alloc::<f32>("norm", 3).unwrap();
        assert!(normalize_rows(&gpu, &h, &bias, &z, &norm).is_err(), "bias of 3 for 4 columns");
    }
}
