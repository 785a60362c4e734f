//! `dropout` against its CPU twin over awkward shapes, epochs, streams and windows of a
//! small binding; the kept fraction, the scale, p = 0, and its refusals.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::StepParams;
use gpu_vgae::internal::kernels::dropout::{dropout, DropoutMask};

/// (rows, cols): one element, widths that are not multiples of 4, more elements than a
/// workgroup, MAGI's Citeseer hidden layer.
const SHAPES: [(usize, usize); 5] = [(1, 1), (5, 3), (67, 17), (130, 64), (3327, 1024)];

gpu_test! {
    fn dropout_matches_cpu() {
        let base = gpu();
        let mut r = rng(81);
        for small_binding in [false, true] {
            for (rows, cols) in SHAPES {
                let gpu = if small_binding { base.with_binding_limit(4096) } else { base.clone() };
                let x = random_vec(&mut r, rows * cols, 1.0);
                let gx = gpu.upload_matrix("x", rows, cols, &x).unwrap();
                let out = gpu.alloc_matrix("out", rows, cols).unwrap();
                for (p, epoch, stream) in [(0.1f32, 0u32, 1u32), (0.5, 7, 1), (0.5, 7, 2), (0.0, 3, 0)] {
                    let mask = DropoutMask { seed: 0x1234_5678_9abc, stream };
                    let step = gpu.step_buffer(StepParams::for_epoch(epoch));
                    let dispatches = dropout(&gpu, &gx, p, mask, &step, &out).unwrap();
                    if small_binding && rows * cols * 4 > 4096 {
                        assert!(dispatches.len() > 1, "{rows}x{cols}: windows expected");
                    }
                    run(&gpu, [dispatches]);
                    let got = gpu.read(out.data()).unwrap();
                    let want = cpu::dropout(&x, cols, p, mask, epoch);
                    let what = format!("dropout {rows}x{cols} p={p} epoch={epoch} stream={stream} small={small_binding}");
                    assert_close(&got, &want, ATOL, RTOL, &what);
                    // Exactly the twin's mask (zeros where it drops), the rest scaled.
                    for (e, (&g, &v)) in got.iter().zip(&x).enumerate() {
                        let kept = cpu::dropout_keeps((e / cols) as u32, (e % cols) as u32, epoch, p, mask);
                        assert_eq!(g == 0.0, !kept || v == 0.0, "{what}: element {e}");
                    }
                    if rows * cols >= 8192 {
                        let kept = got.iter().filter(|&&g| g != 0.0).count() as f64 / got.len() as f64;
                        assert!((kept - (1.0 - p as f64)).abs() < 0.01, "{what}: kept {kept}");
                    }
                    if p == 0.0 {
                        assert_eq!(got, x, "{what}: p = 0 is the identity");
                    }
                }
            }
        }
        let gpu = base;
        let x = gpu.alloc_matrix("x", 3, 4).unwrap();
        let step = gpu.step_buffer(StepParams::for_epoch(0));
        let mask = DropoutMask { seed: 1, stream: 0 };
        assert!(dropout(&gpu, &x, 1.0, mask, &step, &x.clone()).is_err(), "p = 1");
        assert!(dropout(&gpu, &x, -0.1, mask, &step, &x.clone()).is_err(), "p < 0");
        let wrong = gpu.alloc_matrix("out", 3, 5).unwrap();
        assert!(dropout(&gpu, &x, 0.1, mask, &step, &wrong).is_err(), "out of 5 columns");
    }
}

#[test]
fn the_mask_differs_by_epoch_and_stream_and_repeats_otherwise() {
    let mask = DropoutMask { seed: 5, stream: 1 };
    let draw = |epoch, stream| -> Vec<bool> {
        (0..4096)
            .map(|e| cpu::dropout_keeps(e / 64, e % 64, epoch, 0.5, DropoutMask { stream, ..mask }))
            .collect()
    };
    assert_eq!(draw(3, 1), draw(3, 1));
    assert_ne!(draw(3, 1), draw(4, 1));
    assert_ne!(draw(3, 1), draw(3, 2));
}
