//! `pair_mse` and the whole dense pass of the pair MSE (`pair_mse`, `pair_mse_gradient`
//! and `pair_mse_mirror`, block by block of rows) against their CPU twins over awkward shapes (one node, fewer nodes than a vec4,
//! widths that are not multiples of 4, DFCN's 20 and 100), blocks (one row, a block
//! size that does not divide n, one block), loss splits (1, several, one per quad) and
//! every layout (subgroup, CPU, GPU); the same sums whatever the blocks and the register
//! blocking.

use crate::common::{assert_close, every_layout, profile_name, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::{Dispatch, Gpu, GpuArray, GpuMatrix};
use gpu_vgae::internal::kernels::pair_mse::{
    padded_columns, pair_mse, ColumnSplits, PairMseBlocks, BLOCK_ROWS, COEFFICIENT_BUDGET,
    MAX_SPLITS,
};
use gpu_vgae::internal::kernels::pair_mse_gradient::{pair_mse_gradient, Factor};
use gpu_vgae::internal::kernels::pair_mse_mirror::pair_mse_mirror;

/// The dispatches of the whole dense pass over za and zb in `blocks`, into `dense`.
pub(crate) fn dense_pass(
    gpu: &Gpu,
    za: &GpuMatrix,
    zb: &GpuMatrix,
    blocks: PairMseBlocks,
    dense: &GpuArray<f32>,
) -> Vec<Dispatch> {
    let n = za.rows();
    let coefficients = gpu
        .alloc::<f32>("coefficients", blocks.coefficients_len(n))
        .unwrap();
    let mut dispatches = Vec::new();
    for block in blocks.blocks(n) {
        dispatches
            .push(pair_mse(gpu, za, zb, blocks, block.clone(), &coefficients, dense).unwrap());
        for factor in [Factor::A, Factor::B] {
            dispatches.push(
                pair_mse_gradient(
                    gpu,
                    za,
                    zb,
                    factor,
                    blocks,
                    block.clone(),
                    &coefficients,
                    dense,
                )
                .unwrap(),
            );
            dispatches.extend(
                pair_mse_mirror(
                    gpu,
                    za,
                    zb,
                    factor,
                    blocks,
                    block.clone(),
                    &coefficients,
                    dense,
                )
                .unwrap(),
            );
        }
    }
    dispatches
}

gpu_test! {
    fn pair_mse_matches_cpu_in_every_layout() {
        let mut r = rng(49);
        for (n, la, lb) in [(1, 1, 1), (3, 4, 4), (7, 5, 3), (67, 20, 100), (130, 3, 128), (300, 20, 100)] {
            let za = random_vec(&mut r, n * la, 0.6);
            let zb = random_vec(&mut r, n * lb, 0.3);
            let one_block = cpu::pair_mse_dense(&za, &zb, la, lb, PairMseBlocks { rows: n, splits: 1 });
            let small = if n < 100 { 1 } else { 7 };
            for (rows, splits) in [(n, 1), (small, 3), (64.min(n), n.div_ceil(4).min(MAX_SPLITS)), (n.div_ceil(3), 2)] {
                let blocks = PairMseBlocks { rows, splits };
                let expected = cpu::pair_mse_dense(&za, &zb, la, lb, blocks);
                // The blocks visit each unordered pair once (mirrored sums, doubled loss
                // terms past the diagonal block): the same gradients and total loss as
                // one block visiting every ordered pair, to rounding.
                let what = format!("n {n} la {la} lb {lb} {blocks:?} against one block");
                let (grads, one_grads) = (splits * n, n);
                assert_close(&expected[grads..], &one_block[one_grads..], 1e-5 * (n as f32).sqrt(), 1e-4, &what);
                let total = |d: &[f32], s: usize| d[..s * n].iter().map(|&v| v as f64).sum::<f64>();
                let (got, want) = (total(&expected, splits), total(&one_block, 1));
                assert!((got - want).abs() <= 1e-5 * want.max(1.0), "{what}: loss {got} vs {want}");
                let mut results = Vec::new();
                for gpu in every_layout() {
                    let gza = gpu.upload_matrix("za", n, la, &za).unwrap();
                    let gzb = gpu.upload_matrix("zb", n, lb, &zb).unwrap();
                    let dense = gpu.alloc::<f32>("dense", blocks.dense_len(n, la, lb)).unwrap();
                    run(&gpu, [dense_pass(&gpu, &gza, &gzb, blocks, &dense)]);
                    let got = gpu.read(&dense).unwrap();
                    // Sums of up to n terms of O(1): widened by √n.
                    let what = format!("n {n} la {la} lb {lb} {blocks:?} {}", profile_name(&gpu));
                    assert_close(&got, &expected, 1e-5 * (n as f32).sqrt(), 1e-4, &what);
                    results.push(got);
                }
                // Each sum runs in column order whatever the blocking: the layouts agree
                // to rounding (the driver may fuse a multiply-add differently).
                for other in &results[1..] {
                    assert_close(&results[0], other, 1e-5 * (n as f32).sqrt(), 1e-4, "layouts");
                }
            }
        }
        let gpu = crate::common::gpu();
        let za = gpu.alloc_matrix("za", 3, 65).unwrap();
        let zb = gpu.alloc_matrix("zb", 3, 4).unwrap();
        let blocks = PairMseBlocks { rows: 3, splits: 1 };
        let coefficients = gpu.alloc::<f32>("coefficients", blocks.coefficients_len(3)).unwrap();
        let dense = gpu.alloc::<f32>("dense", blocks.dense_len(3, 65, 4)).unwrap();
        assert!(pair_mse(&gpu, &za, &zb, blocks, 0..3, &coefficients, &dense).is_err(), "la > 64");
        let za = gpu.alloc_matrix("za", 3, 4).unwrap();
        let dense = gpu.alloc::<f32>("dense", blocks.dense_len(3, 4, 4)).unwrap();
        assert!(pair_mse(&gpu, &za, &zb, blocks, 0..4, &coefficients, &dense).is_err(), "rows past n");
        assert!(pair_mse(&gpu, &za, &zb, PairMseBlocks { rows: 2, splits: 1 }, 0..3, &coefficients, &dense).is_err(), "block larger than the blocks");
        assert!(pair_mse_gradient(&gpu, &za, &zb, Factor::B, blocks, 0..3, &dense, &dense).is_err(), "coefficients of the wrong size");
    }
}

#[test]
fn pair_mse_blocks_fit_the_budget_and_cover_every_row() {
    for n in [1, 3, 64, 3327, 19717, 200_000] {
        let blocks = PairMseBlocks::new(n, ColumnSplits { splits: 5 });
        assert!(blocks.rows >= 1 && blocks.rows <= n, "n {n}: {blocks:?}");
        assert!(
            (1..=MAX_SPLITS).contains(&blocks.splits),
            "n {n}: {blocks:?}"
        );
        let bytes = 4 * blocks.coefficients_len(n);
        assert!(
            bytes <= COEFFICIENT_BUDGET.max(8 * padded_columns(n)),
            "n {n}: {bytes} bytes"
        );
        let ranges: Vec<_> = blocks.blocks(n).collect();
        assert_eq!(ranges.first().map(|r| r.start), Some(0), "n {n}");
        assert_eq!(ranges.last().map(|r| r.end), Some(n), "n {n}");
        assert!(
            ranges.windows(2).all(|w| w[0].end == w[1].start),
            "n {n}: contiguous"
        );
        assert!(
            ranges
                .iter()
                .all(|r| !r.is_empty() && r.len() <= blocks.rows),
            "n {n}"
        );
        for block in &ranges {
            let first = 4 * (block.start / 4);
            let mut next = first;
            for s in 0..blocks.splits {
                let columns = blocks.columns(n, block.start, s);
                assert!(
                    columns.is_empty() || columns.start == next,
                    "n {n} {block:?}: split {s} {columns:?}"
                );
                next = next.max(columns.end);
            }
            assert_eq!(
                next, n,
                "n {n} {block:?}: the splits cover the columns from the block's quad"
            );
        }
    }
    assert_eq!(
        PairMseBlocks::new(3327, ColumnSplits { splits: 5 }).rows,
        BLOCK_ROWS
    );
    assert_eq!(
        PairMseBlocks::new(19717, ColumnSplits { splits: 1 }).rows,
        192
    );
}
