//! `minmax_rows` against its CPU twin, over awkward shapes, a constant row (range at its
//! floor, z = 0, the norm clamped), ties at the extremes, and windows of a small
//! binding.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::minmax_rows::minmax_rows;

/// (rows, cols): one element, widths that are not multiples of 4, more rows than a
/// workgroup, MAGI's Citeseer embedding.
pub(crate) const SHAPES: [(usize, usize); 6] =
    [(1, 1), (5, 3), (67, 17), (130, 64), (300, 512), (3327, 8)];

/// The shapes this wide refuse a 4 KiB binding.
pub(crate) const WIDE: usize = 512;

/// a with row 1 constant and row 2 holding its maximum and minimum twice, where those
/// rows exist.
pub(crate) fn inputs(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    let mut a = random_vec(&mut r, rows * cols, 1.0);
    if rows > 1 {
        a[cols..2 * cols].fill(0.25);
    }
    if rows > 2 && cols >= 4 {
        let row = &mut a[2 * cols..3 * cols];
        row[0] = 2.0;
        row[cols - 1] = 2.0;
        row[1] = -2.0;
        row[cols - 2] = -2.0;
    }
    a
}

gpu_test! {
    fn minmax_rows_matches_cpu() {
        let base = gpu();
        for small_binding in [false, true] {
            for (rows, cols) in SHAPES {
                let gpu = if small_binding { base.with_binding_limit(4096) } else { base.clone() };
                let a = inputs(rows, cols, 71);
                let ga = gpu.upload_matrix("a", rows, cols, &a).unwrap();
                let z = gpu.alloc_matrix("z", rows, cols).unwrap();
                let stats = gpu.alloc_matrix("stats", rows, 3).unwrap();
                let dispatches = minmax_rows(&gpu, &ga, &z, &stats);
                if small_binding && cols >= WIDE {
                    // The stats' 12-byte rows align only every 64 rows: no window fits.
                    assert!(matches!(dispatches, Err(gpu_vgae::Error::BufferTooLarge { .. })), "{dispatches:?}");
                    continue;
                }
                let dispatches = dispatches.unwrap();
                if small_binding && rows * cols * 4 > 4096 {
                    assert!(dispatches.len() > 1, "{rows}x{cols}: windows expected");
                }
                run(&gpu, [dispatches]);
                let (want_z, want_stats) = cpu::minmax_rows(&a, cols);
                let what = format!("minmax_rows {rows}x{cols} small={small_binding}");
                let got_z = gpu.read(z.data()).unwrap();
                assert_close(&got_z, &want_z, ATOL, RTOL, &what);
                assert_close(&gpu.read(stats.data()).unwrap(), &want_stats, ATOL, RTOL, &what);
                for (i, row) in got_z.chunks_exact(cols).enumerate() {
                    let length: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                    let constant = rows > 1 && i == 1 || cols == 1;
                    if constant {
                        assert!(row.iter().all(|&v| v == 0.0), "{what}: constant row {i} is zero");
                    } else {
                        assert!((length - 1.0).abs() < 1e-5, "{what}: row {i} has length {length}");
                        assert!(row.iter().all(|&v| v >= 0.0), "{what}: row {i} not negative");
                    }
                }
            }
        }
        let gpu = base;
        let a = gpu.alloc_matrix("a", 3, 4).unwrap();
        let z = gpu.alloc_matrix("z", 3, 4).unwrap();
        let stats = gpu.alloc_matrix("stats", 3, 2).unwrap();
        assert!(minmax_rows(&gpu, &a, &z, &stats).is_err(), "stats of 2 columns");
        let stats = gpu.alloc_matrix("stats", 3, 3).unwrap();
        let z = gpu.alloc_matrix("z", 3, 5).unwrap();
        assert!(minmax_rows(&gpu, &a, &z, &stats).is_err(), "z of 5 columns");
    }
}
