//! `convert_rows` against `cpu::convert_rows` and `cpu::round_f16` (the `half` crate's
//! f32 → f16 conversion): the f32 form copies bit for bit, the f16 form rounds every
//! value to the nearest f16, ties to even, bit for bit, including the ties between
//! every pair of adjacent f16 values, subnormals and the overflow threshold.

use crate::common::{gpu, gpu_profiles, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::internal::kernels::convert_rows::convert_rows;
use half::f16;
use rand::Rng;

/// `values` as one row through the f16 kernel.
fn round_on_device(gpu: &Gpu, values: &[f32]) -> Vec<f16> {
    let src = gpu.upload_matrix("src", 1, values.len(), values).unwrap();
    let out = gpu.alloc_matrix_of::<f16>("out", 1, values.len()).unwrap();
    run(gpu, [convert_rows(gpu, &src, &out).unwrap()]);
    gpu.read(out.data()).unwrap()
}

/// Asserts bit-equal f16 values (any NaN matches any NaN: the device's conversion keeps
/// NaN a NaN, which payload is its choice).
fn assert_same_f16(got: &[f16], want: &[f16], inputs: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (e, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{what}[{e}]: {:e} ({:#010x}) became {g:e} ({:#06x}), the twin says {w:e} ({:#06x})",
            inputs[e],
            inputs[e].to_bits(),
            g.to_bits(),
            w.to_bits()
        );
    }
}

gpu_test! {
    fn convert_rows_rounds_to_nearest_even_like_the_twin() {
        let gpu = gpu();
        // Every finite f16 value, and for each pair of neighbours the f32 tie between
        // them and the f32 values one ulp either side of it.
        let mut values = Vec::new();
        for bits in 0..=0x7bffu16 {
            for sign in [0u16, 0x8000] {
                let low = f16::from_bits(bits | sign).to_f32();
                let high = f16::from_bits((bits + 1) | sign).to_f32();
                let tie = 0.5 * (low + high);
                values.extend([low, tie, tie.next_down(), tie.next_up()]);
            }
        }
        // Around the overflow threshold 65520 (the tie past 65504), beyond it, below the
        // smallest subnormal and its half, and the non-finite ones.
        values.extend([
            65504.0,
            65519.996,
            65520.0,
            65520.004,
            1e6,
            f32::MAX,
            2f32.powi(-25),
            2f32.powi(-25).next_up(),
            2f32.powi(-26),
            f32::MIN_POSITIVE,
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        let want = cpu::round_f16(&values);
        assert_same_f16(&round_on_device(&gpu, &values), &want, &values, "awkward values");
        // Random magnitudes over f16's whole range.
        let mut r = rng(16);
        let random: Vec<f32> = (0..100_000)
            .map(|_| r.random_range(-1.0f32..1.0) * 2f32.powi(r.random_range(-30..17)))
            .collect();
        let want = cpu::round_f16(&random);
        assert_same_f16(&round_on_device(&gpu, &random), &want, &random, "random values");
    }
}

gpu_test! {
    fn convert_rows_copies_and_rounds_the_first_columns_of_every_row() {
        let mut r = rng(61);
        // (rows, stride, cols): one value; odd counts of f16 values (half a word at the
        // end); μ out of Citeseer's [μ | s]; more rows than one workgroup's share.
        for (rows, stride, cols) in [(1, 1, 1), (1, 3, 1), (67, 5, 5), (67, 8, 3), (3327, 32, 16), (1000, 3, 2)] {
            let src = random_vec(&mut r, rows * stride, 4.0);
            let copied = cpu::convert_rows(&src, rows, stride, cols);
            for gpu in gpu_profiles() {
                let gsrc = gpu.upload_matrix("src", rows, stride, &src).unwrap();
                let out32 = gpu.alloc_matrix("out32", rows, cols).unwrap();
                let out16 = gpu.alloc_matrix_of::<f16>("out16", rows, cols).unwrap();
                run(&gpu, [
                    convert_rows(&gpu, &gsrc, &out32).unwrap(),
                    convert_rows(&gpu, &gsrc, &out16).unwrap(),
                ]);
                let what = format!("{:?} rows={rows} stride={stride} cols={cols}", gpu.profile().class);
                let got32 = gpu.read(out32.data()).unwrap();
                assert!(
                    got32.iter().map(|v| v.to_bits()).eq(copied.iter().map(|v| v.to_bits())),
                    "{what}: f32 copy"
                );
                let got16 = gpu.read(out16.data()).unwrap();
                assert_same_f16(&got16, &cpu::round_f16(&copied), &copied, &what);
            }
        }
    }
}

gpu_test! {
    fn convert_rows_refuses_a_shape_that_does_not_fit() {
        let gpu = gpu();
        let src = gpu.alloc_matrix("src", 4, 3).unwrap();
        for (rows, cols) in [(4, 4), (3, 3), (4, 0)] {
            let out = gpu.alloc_matrix_of::<f16>("out", rows, cols).unwrap();
            crate::common::assert_invalid_argument(convert_rows(&gpu, &src, &out), "out");
        }
    }
}
