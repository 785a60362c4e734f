//! `pair_softmax` against its CPU twin and against f64 (awkward widths, empty rows, one
//! node, many entries per row, logits of ±tens), the transposed copy at its slots, and
//! its refusals.

use crate::common::{assert_close, gpu, random_csr, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::pair_softmax::{pair_softmax, PairSoftmaxOut};
use rand::seq::SliceRandom;

/// (rows, y's rows, d, entries, every k-th row empty).
const SHAPES: [(usize, usize, usize, usize, usize); 6] = [
    (1, 1, 1, 1, 0),
    (1, 1, 3, 40, 0),
    (7, 5, 5, 30, 3),
    (67, 90, 7, 600, 4),
    (130, 130, 64, 2000, 0),
    (20, 300, 13, 2500, 0),
];

gpu_test! {
    fn pair_softmax_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = rng(61);
        for (rows, y_rows, d, entries, empty_every) in SHAPES {
            let pattern = random_csr(&mut r, rows, y_rows, entries, empty_every);
            let nnz = pattern.nnz();
            let mut slot: Vec<u32> = (0..nnz as u32).collect();
            slot.shuffle(&mut r);
            let gain: Vec<f32> = random_vec(&mut r, rows, 1.0).iter().map(|g| g.abs()).collect();
            let x = random_vec(&mut r, rows * d, 1.0);
            let y = random_vec(&mut r, y_rows * d, 1.0);
            // τ = 0.05 puts the logits at ±tens: the online max must keep exp finite.
            for temperature in [0.9f32, 0.3, 0.05] {
                let csr = gpu.upload_csr("pattern", &pattern).unwrap();
                let gslot = gpu.upload("slot", &slot).unwrap();
                let ggain = gpu.upload("gain", &gain).unwrap();
                let gx = gpu.upload_matrix("x", rows, d, &x).unwrap();
                let gy = gpu.upload_matrix("y", y_rows, d, &y).unwrap();
                let coef = gpu.alloc::<f32>("coef", nnz).unwrap();
                let coef_t = gpu.alloc::<f32>("coef_t", nnz).unwrap();
                let lse = gpu.alloc::<f32>("lse", rows).unwrap();
                let out = PairSoftmaxOut { coef: &coef, coef_t: &coef_t, slot: &gslot, lse: &lse };
                run(&gpu, [pair_softmax(&gpu, &csr, &ggain, &gx, &gy, temperature, out).unwrap()]);
                let (want_coef, want_t, want_lse) =
                    cpu::pair_softmax(&pattern, &slot, &gain, &x, &y, d, temperature);
                let what = format!("pair_softmax {rows}x{y_rows} d={d} τ={temperature}");
                let (got_coef, got_t, got_lse) = (
                    gpu.read(&coef).unwrap(),
                    gpu.read(&coef_t).unwrap(),
                    gpu.read(&lse).unwrap(),
                );
                // exp/log may differ by a few ulps between drivers; the dot products by
                // rounding, magnified by 1/τ.
                let rtol = 1e-4 * (1.0 + 1.0 / temperature);
                assert_close(&got_coef, &want_coef, 1e-6, rtol, &format!("{what} coef"));
                assert_close(&got_t, &want_t, 1e-6, rtol, &format!("{what} coef_t"));
                assert_close(&got_lse, &want_lse, 1e-5, rtol, &format!("{what} lse"));
                for (e, &s) in slot.iter().enumerate() {
                    assert_eq!(got_t[s as usize], got_coef[e], "{what}: entry {e} at slot {s}");
                }
                // f64 from the definition; each non-empty row's coefficients sum to gain.
                for i in 0..rows {
                    let range = pattern.row_range(i);
                    if range.is_empty() {
                        assert_eq!(got_lse[i], 0.0, "{what}: empty row {i}");
                        continue;
                    }
                    let s: Vec<f64> = range
                        .clone()
                        .map(|e| {
                            let j = pattern.col_idx()[e] as usize;
                            (0..d).map(|c| x[i * d + c] as f64 * y[j * d + c] as f64).sum::<f64>()
                                / temperature as f64
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let exact_lse = m + s.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                    let tol = 1e-4 * (1.0 + exact_lse.abs());
                    assert!((got_lse[i] as f64 - exact_lse).abs() < tol, "{what} row {i} lse {} vs {exact_lse}", got_lse[i]);
                    let mut total = 0.0;
                    for (k, e) in range.enumerate() {
                        let exact = gain[i] as f64 * (s[k] - exact_lse).exp();
                        assert!((got_coef[e] as f64 - exact).abs() < 1e-4 * (1.0 + 1.0 / temperature as f64) * (gain[i] as f64 + 1e-3), "{what} row {i} entry {e}");
                        total += got_coef[e] as f64;
                    }
                    assert!((total - gain[i] as f64).abs() < 1e-4, "{what} row {i}: Σ coef {total} vs gain {}", gain[i]);
                }
            }
        }
    }
}

gpu_test! {
    fn pair_softmax_refuses_mismatches_and_oversized_operands() {
        let gpu = gpu();
        let pattern = gpu_vgae::internal::sparse::Csr::from_triplets(3, 4, &[(0, 1, 1.0), (2, 3, 1.0)]).unwrap();
        let csr = gpu.upload_csr("pattern", &pattern).unwrap();
        let slot = gpu.upload("slot", &[1u32, 0]).unwrap();
        let gain = gpu.upload("gain", &[1f32, 1.0, 1.0]).unwrap();
        let x = gpu.alloc_matrix("x", 3, 5).unwrap();
        let y = gpu.alloc_matrix("y", 4, 5).unwrap();
        let coef = gpu.alloc::<f32>("coef", 2).unwrap();
        let coef_t = gpu.alloc::<f32>("coef_t", 2).unwrap();
        let lse = gpu.alloc::<f32>("lse", 3).unwrap();
        let out = || PairSoftmaxOut { coef: &coef, coef_t: &coef_t, slot: &slot, lse: &lse };
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &y, 0.5, out()).is_ok());
        let wrong_y = gpu.alloc_matrix("y", 3, 5).unwrap();
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &wrong_y, 0.5, out()).is_err());
        let wrong_x = gpu.alloc_matrix("x", 4, 5).unwrap();
        assert!(pair_softmax(&gpu, &csr, &gain, &wrong_x, &y, 0.5, out()).is_err());
        let short_gain = gpu.upload("gain", &[1f32]).unwrap();
        assert!(pair_softmax(&gpu, &csr, &short_gain, &x, &y, 0.5, out()).is_err());
        let short_slot = gpu.upload("slot", &[0u32]).unwrap();
        let bad = PairSoftmaxOut { slot: &short_slot, ..out() };
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &y, 0.5, bad).is_err());
        let short_lse = gpu.alloc::<f32>("lse", 2).unwrap();
        let bad = PairSoftmaxOut { lse: &short_lse, ..out() };
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &y, 0.5, bad).is_err());
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &y, 0.0, out()).is_err());
        assert!(pair_softmax(&gpu, &csr, &gain, &x, &y, f32::NAN, out()).is_err());
        // y (4 × 300 floats = 4,800 bytes) past a 4,096-byte binding limit.
        let small = gpu.with_binding_limit(4096);
        let big_y = small.alloc_matrix("y", 4, 300).unwrap();
        let x = small.alloc_matrix("x", 3, 300).unwrap();
        let csr = small.upload_csr("pattern", &pattern).unwrap();
        let refused = pair_softmax(&small, &csr, &gain, &x, &big_y, 0.5, out());
        assert!(
            matches!(refused, Err(gpu_vgae::Error::BufferTooLarge { .. })),
            "{refused:?}"
        );
    }
}
