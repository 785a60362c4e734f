//! `pair_sigmoid` against its CPU twin and against f64 (awkward widths, empty rows, one
//! node, many entries per row, repeated columns, large |u| on both sides), and its
//! refusals.

use crate::common::{assert_close, gpu, random_csr, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::pair_sigmoid::{pair_sigmoid, PairSigmoid};
use gpu_vgae::internal::sparse::Csr;

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
    fn pair_sigmoid_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = rng(51);
        for (rows, y_rows, d, entries, empty_every) in SHAPES {
            // Repeats are kept (the samples are drawn with replacement): the pattern is
            // built by hand, each row's columns sorted, not summed.
            let base = random_csr(&mut r, rows, y_rows, entries, empty_every);
            let pattern = with_repeats(&base);
            let x = random_vec(&mut r, rows * d, 1.0);
            let y = random_vec(&mut r, y_rows * d, 1.0);
            // τ small enough that u reaches ±tens (σ saturates on both sides).
            for shape in [
                PairSigmoid { shift: 0.6, temperature: 0.1, gain: 1.0 },
                PairSigmoid { shift: -0.3, temperature: 0.01, gain: 2.5 },
                PairSigmoid { shift: 0.0, temperature: 3.0, gain: 0.5 },
            ] {
                let csr = gpu.upload_csr("pattern", &pattern).unwrap();
                let gx = gpu.upload_matrix("x", rows, d, &x).unwrap();
                let gy = gpu.upload_matrix("y", y_rows, d, &y).unwrap();
                let value = gpu.alloc::<f32>("value", pattern.nnz()).unwrap();
                let coef = gpu.alloc::<f32>("coef", pattern.nnz()).unwrap();
                run(&gpu, [pair_sigmoid(&gpu, &csr, &gx, &gy, shape, &value, &coef).unwrap()]);
                let (want_value, want_coef) = cpu::pair_sigmoid(&pattern, &x, &y, d, shape);
                let what = format!("pair_sigmoid {rows}x{y_rows} d={d} {shape:?}");
                let got_value = gpu.read(&value).unwrap();
                let got_coef = gpu.read(&coef).unwrap();
                // exp may differ by a few ulps between drivers; the dot products by
                // rounding, magnified by 1/τ.
                let rtol = 1e-4 * (1.0 + 1.0 / shape.temperature).max(1.0);
                assert_close(&got_value, &want_value, 1e-5, rtol, &format!("{what} value"));
                assert_close(&got_coef, &want_coef, 1e-5 / shape.temperature, rtol, &format!("{what} coef"));
                // f64 from the definition.
                let (mut exact_value, mut exact_coef) = (Vec::new(), Vec::new());
                for i in 0..rows {
                    for e in pattern.row_range(i) {
                        let j = pattern.col_idx()[e] as usize;
                        let dot: f64 = (0..d).map(|c| x[i * d + c] as f64 * y[j * d + c] as f64).sum();
                        let u = (dot - shape.shift as f64) / shape.temperature as f64;
                        let s = 1.0 / (1.0 + (-u).exp());
                        let w = pattern.values()[e] as f64;
                        exact_value.push((w * s) as f32);
                        exact_coef.push((shape.gain as f64 * w * s * (1.0 - s) / shape.temperature as f64) as f32);
                    }
                }
                assert_close(&got_value, &exact_value, 1e-4, 1e-3, &format!("{what} value vs f64"));
                assert_close(&got_coef, &exact_coef, 1e-3 / shape.temperature, 1e-2, &format!("{what} coef vs f64"));
            }
        }
    }
}

/// `base`'s pattern with each row's first entry repeated once more (same column, its
/// own weight), columns still sorted within the row.
fn with_repeats(base: &Csr) -> Csr {
    let (mut row_ptr, mut col_idx, mut values) = (vec![0u32], Vec::new(), Vec::new());
    for i in 0..base.rows() {
        for (k, e) in base.row_range(i).enumerate() {
            col_idx.push(base.col_idx()[e]);
            values.push(base.values()[e]);
            if k == 0 {
                col_idx.push(base.col_idx()[e]);
                values.push(0.5);
            }
        }
        row_ptr.push(col_idx.len() as u32);
    }
    Csr::new(base.rows(), base.cols(), row_ptr, col_idx, values).unwrap()
}

gpu_test! {
    fn pair_sigmoid_refuses_mismatches_and_oversized_operands() {
        let gpu = gpu();
        let pattern = Csr::from_triplets(3, 4, &[(0, 1, 1.0), (2, 3, 1.0)]).unwrap();
        let csr = gpu.upload_csr("pattern", &pattern).unwrap();
        let shape = PairSigmoid { shift: 0.5, temperature: 0.1, gain: 1.0 };
        let x = gpu.alloc_matrix("x", 3, 5).unwrap();
        let y = gpu.alloc_matrix("y", 4, 5).unwrap();
        let out = gpu.alloc::<f32>("value", 2).unwrap();
        let coef = gpu.alloc::<f32>("coef", 2).unwrap();
        assert!(pair_sigmoid(&gpu, &csr, &x, &y, shape, &out, &coef).is_ok());
        let wrong_y = gpu.alloc_matrix("y", 3, 5).unwrap();
        assert!(pair_sigmoid(&gpu, &csr, &x, &wrong_y, shape, &out, &coef).is_err());
        let wrong_x = gpu.alloc_matrix("x", 4, 5).unwrap();
        assert!(pair_sigmoid(&gpu, &csr, &wrong_x, &y, shape, &out, &coef).is_err());
        let short = gpu.alloc::<f32>("value", 1).unwrap();
        assert!(pair_sigmoid(&gpu, &csr, &x, &y, shape, &short, &coef).is_err());
        let cold = PairSigmoid { temperature: 0.0, ..shape };
        assert!(pair_sigmoid(&gpu, &csr, &x, &y, cold, &out, &coef).is_err());
        // y (4 × 300 floats = 4,800 bytes) past a 4,096-byte binding limit, x (3,600
        // bytes) within it.
        let small = gpu.with_binding_limit(4096);
        let big_y = small.alloc_matrix("y", 4, 300).unwrap();
        let x = small.alloc_matrix("x", 3, 300).unwrap();
        let csr = small.upload_csr("pattern", &pattern).unwrap();
        let out = small.alloc::<f32>("value", 2).unwrap();
        let coef = small.alloc::<f32>("coef", 2).unwrap();
        let refused = pair_sigmoid(&small, &csr, &x, &big_y, shape, &out, &coef);
        assert!(
            matches!(refused, Err(gpu_vgae::Error::BufferTooLarge { .. })),
            "{:?}",
            refused.err()
        );
    }
}
