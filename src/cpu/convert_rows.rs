//! Twin of `shaders/convert_rows.wgsl`: the copy of the rows' first columns, and the
//! rounding to f16 its f16 form applies (shared/store_f16.wgsl's `to_zelem`).

use half::f16;

/// The first `cols` columns of `rows` rows at `stride` of `src`, row-major.
pub fn convert_rows(src: &[f32], rows: usize, stride: usize, cols: usize) -> Vec<f32> {
    (0..rows)
        .flat_map(|i| src[i * stride..i * stride + cols].iter().copied())
        .collect()
}

/// Every value rounded to the nearest f16, ties to even (±inf from 65520 up in
/// magnitude, NaN kept): what the f16 kernels store.
pub fn round_f16(values: &[f32]) -> Vec<f16> {
    values.iter().map(|&v| f16::from_f32(v)).collect()
}

/// Every value rounded to f16 and widened back to f32: what an f16 kernel reads where
/// its f32 form reads `values` (the products and sums are then the f32 form's).
pub fn through_f16(values: &[f32]) -> Vec<f32> {
    values.iter().map(|&v| f16::from_f32(v).to_f32()).collect()
}
