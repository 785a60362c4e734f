//! Twin of `shaders/pair_mse_gradient.wgsl`.

use std::ops::Range;

use crate::kernels::pair_mse::{padded_columns, PairMseBlocks};
use crate::kernels::pair_mse_gradient::{offsets, Factor};

/// `pair_mse_gradient`: the rows `block` of ga (or gb) plus C_a · za (C_b · zb) over the
/// columns from the quad of block.start on, each summed over j in order, in `dense`
/// (the first block's rows written).
#[allow(clippy::too_many_arguments)]
pub fn pair_mse_gradient(
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
    let first_column = 4 * (block.start / 4);
    let mut acc = vec![0f32; l];
    for (local, i) in block.clone().enumerate() {
        let row = c_offset + local * np;
        acc.fill(0.0);
        for j in first_column..n {
            let cij = coefficients[row + j];
            for (a, &zj) in acc.iter_mut().zip(&z[j * l..(j + 1) * l]) {
                *a += cij * zj;
            }
        }
        let out = &mut dense[out_offset + i * l..out_offset + (i + 1) * l];
        for (o, &a) in out.iter_mut().zip(&acc) {
            let earlier = if block.start > 0 { *o } else { 0.0 };
            *o = earlier + a;
        }
    }
}
