//! Twin of `shaders/pair_mse_mirror.wgsl`.

use std::ops::Range;

use crate::kernels::pair_mse::{padded_columns, PairMseBlocks};
use crate::kernels::pair_mse_gradient::{offsets, Factor};

/// `pair_mse_mirror`: the rows j ≥ block.end of ga (or gb) plus Σ_{i in block} C_a[i, j]
/// za_i (C_b, zb), summed over i in order, in `dense` (written for the first block).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_mirror(
    za: &[f32],
    zb: &[f32],
    la: usize,
    lb: usize,
    factor: Factor,
    blocks: PairMseBlocks,
    block: Range<usize>,
    coefficients: &[f32],
    dense: &mut [f32],
) {
    let n = za.len().checked_div(la).unwrap_or(0);
    let np = padded_columns(n);
    let (z, l) = match factor {
        Factor::A => (za, la),
        Factor::B => (zb, lb),
    };
    let (c_offset, out_offset) = offsets(blocks, factor, n, la);
    let mut acc = vec![0f32; l];
    for j in block.end..n {
        acc.fill(0.0);
        for (local, i) in block.clone().enumerate() {
            let cij = coefficients[c_offset + local * np + j];
            for (a, &zi) in acc.iter_mut().zip(&z[i * l..(i + 1) * l]) {
                *a += cij * zi;
            }
        }
        let out = &mut dense[out_offset + j * l..out_offset + (j + 1) * l];
        for (o, &a) in out.iter_mut().zip(&acc) {
            let earlier = if block.start > 0 { *o } else { 0.0 };
            *o = earlier + a;
        }
    }
}
