//! `student_t_grad` against its CPU twin (overwriting and accumulating) and against
//! central differences of −scale·Σ p log q(z, c) in f64.

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::student_t::exact_q;
use crate::{column_sums, run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::student_t_grad::{student_t_grad, StudentTGradOutputs};
use rand::Rng;

/// −scale·Σ p log q for the given z and centres, in f64.
fn objective(z: &[f32], c: &[f32], p: &[f32], l: usize, scale: f64) -> f64 {
    let q = exact_q(z, c, l);
    -scale
        * q.iter()
            .zip(p)
            .map(|(&q, &p)| p as f64 * q.ln())
            .sum::<f64>()
}

gpu_test! {
    fn student_t_grad_matches_cpu_and_central_differences() {
        let gpu = gpu();
        let mut r = rng(48);
        for (n, k, l) in [(1, 1, 1), (6, 3, 5), (67, 6, 20), (500, 4, 8)] {
            let z = random_vec(&mut r, n * l, 1.0);
            let c = random_vec(&mut r, k * l, 1.0);
            let q = cpu::student_t(&z, &c, l);
            let mut p: Vec<f32> = (0..n * k).map(|_| r.random_range(0.0f32..1.0)).collect();
            p[0] = 0.0; // a zero target: no loss term, and no log of zero
            for i in 0..n {
                let s: f32 = p[i * k..(i + 1) * k].iter().sum::<f32>().max(1e-3);
                p[i * k..(i + 1) * k].iter_mut().for_each(|v| *v /= s);
            }
            let scale = 10.0 / (3.0 * n as f32);
            let gz = gpu.upload_matrix("z", n, l, &z).unwrap();
            let gc = gpu.upload_matrix("c", k, l, &c).unwrap();
            let gq = gpu.upload_matrix("q", n, k, &q).unwrap();
            let gp = gpu.upload_matrix("p", n, k, &p).unwrap();
            let start_dz = random_vec(&mut r, n * l, 1.0);
            let start_dc = random_vec(&mut r, n * k * l, 1.0);
            let start_loss = random_vec(&mut r, n, 1.0);
            for accumulate in [false, true] {
                let dz = gpu.upload_matrix("dz", n, l, &start_dz).unwrap();
                let dc = gpu.upload_matrix("dc", n, k * l, &start_dc).unwrap();
                let loss = gpu.upload("loss", &start_loss).unwrap();
                let dc_sum = gpu.alloc::<f32>("dc_sum", k * l).unwrap();
                let mut dispatches = vec![student_t_grad(
                    &gpu, &gz, &gc, &gq, &gp, scale, accumulate,
                    StudentTGradOutputs { dz: &dz, dc_rows: &dc, loss_rows: &loss },
                ).unwrap()];
                dispatches.extend(column_sums(&gpu, dc.data(), n, k * l, &dc_sum));
                run(&gpu, [dispatches]);
                let previous = accumulate.then(|| cpu::StudentTGrad {
                    dz: start_dz.clone(),
                    dc_rows: start_dc.clone(),
                    loss_rows: start_loss.clone(),
                });
                let expected = cpu::student_t_grad(&z, &c, &q, &p, l, scale, previous);
                let what = format!("n {n} k {k} L {l} acc={accumulate}");
                let got_dz = gpu.read(dz.data()).unwrap();
                assert_close(&got_dz, &expected.dz, ATOL, RTOL, &what);
                assert_close(&gpu.read(dc.data()).unwrap(), &expected.dc_rows, ATOL, RTOL, &what);
                assert_close(&gpu.read(&loss).unwrap(), &expected.loss_rows, ATOL, 1e-3, &what);
                if accumulate || n > 100 {
                    continue;
                }
                // Central differences of the objective in f64 (q recomputed from z, c).
                let got_dc = gpu.read(&dc_sum).unwrap();
                let h = 1e-3f32;
                let mut biggest = 0f64;
                for (which, len) in [(0, n * l), (1, k * l)] {
                    for e in 0..len {
                        let (mut zp, mut cp) = (z.clone(), c.clone());
                        let (mut zm, mut cm) = (z.clone(), c.clone());
                        if which == 0 { zp[e] += h; zm[e] -= h; } else { cp[e] += h; cm[e] -= h; }
                        let fd = (objective(&zp, &cp, &p, l, scale as f64)
                            - objective(&zm, &cm, &p, l, scale as f64))
                            / (2.0 * h as f64);
                        let analytic = if which == 0 { got_dz[e] } else { got_dc[e] } as f64;
                        biggest = biggest.max(fd.abs());
                        assert!(
                            (analytic - fd).abs() <= 2e-4 + 2e-2 * fd.abs(),
                            "{what}: {} [{e}] = {analytic}, central difference {fd}",
                            if which == 0 { "dz" } else { "dc" }
                        );
                    }
                }
                if n > 1 {
                    assert!(biggest > 1e-3, "{what}: trivially small gradients ({biggest})");
                }
            }
        }
    }
}
