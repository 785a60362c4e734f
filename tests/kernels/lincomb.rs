//! `lincomb` against its CPU twin: every combination of the y term, the scalar tensor
//! and accumulation, both adapter profiles, awkward lengths.

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::lincomb::{lincomb, Combination};

gpu_test! {
    fn lincomb_matches_cpu_in_every_form() {
        let mut r = rng(43);
        for gpu in gpu_profiles() {
            for len in [1, 3, 64, 1001, 66_540] {
                let x = random_vec(&mut r, len, 2.0);
                let y = random_vec(&mut r, len, 2.0);
                let start = random_vec(&mut r, len, 2.0);
                let scale = [0.37f32];
                let (gx, gy) = (gpu.upload("x", &x).unwrap(), gpu.upload("y", &y).unwrap());
                let gs = gpu.upload("scale", &scale).unwrap();
                for with_y in [false, true] {
                    for scaled in [false, true] {
                        for accumulate in [false, true] {
                            let out = gpu.upload("out", &start).unwrap();
                            let terms = Combination { alpha: 0.5, beta: -1.25, accumulate };
                            run(&gpu, [lincomb(
                                &gpu,
                                &gx,
                                with_y.then_some(&gy),
                                scaled.then_some(&gs),
                                terms,
                                &out,
                            )
                            .unwrap()]);
                            let expected = cpu::lincomb(
                                &x,
                                with_y.then_some(y.as_slice()),
                                scaled.then_some(scale[0]),
                                0.5,
                                -1.25,
                                accumulate.then_some(start.as_slice()),
                            );
                            let what = format!(
                                "len {len} y={with_y} scaled={scaled} acc={accumulate} {}",
                                profile_name(&gpu)
                            );
                            assert_close(&gpu.read(&out).unwrap(), &expected, ATOL, RTOL, &what);
                        }
                    }
                }
            }
        }
        let gpu = crate::common::gpu();
        let x = gpu.alloc::<f32>("x", 4).unwrap();
        let out = gpu.alloc::<f32>("out", 5).unwrap();
        let terms = Combination { alpha: 1.0, beta: 0.0, accumulate: false };
        assert!(lincomb(&gpu, &x, None, None, terms, &out).is_err());
    }
}
