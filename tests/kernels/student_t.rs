//! `student_t` against its CPU twin and the f64 formula (rows sum to 1).

use crate::common::{assert_close, gpu, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::student_t::student_t;

/// Student's t q (n × k) in f64.
pub(crate) fn exact_q(z: &[f32], c: &[f32], l: usize) -> Vec<f64> {
    let (n, k) = (z.len() / l, c.len() / l);
    let mut q = vec![0f64; n * k];
    for i in 0..n {
        for j in 0..k {
            let d: f64 = (0..l)
                .map(|t| (z[i * l + t] as f64 - c[j * l + t] as f64).powi(2))
                .sum();
            q[i * k + j] = 1.0 / (1.0 + d);
        }
        let s: f64 = q[i * k..(i + 1) * k].iter().sum();
        q[i * k..(i + 1) * k].iter_mut().for_each(|v| *v /= s);
    }
    q
}

gpu_test! {
    fn student_t_matches_cpu_and_f64() {
        let gpu = gpu();
        let mut r = rng(46);
        for (n, k, l) in [(1, 1, 1), (5, 2, 3), (67, 6, 20), (3327, 6, 20), (100, 64, 7)] {
            let z = random_vec(&mut r, n * l, 1.0);
            let c = random_vec(&mut r, k * l, 1.0);
            let gz = gpu.upload_matrix("z", n, l, &z).unwrap();
            let gc = gpu.upload_matrix("c", k, l, &c).unwrap();
            let q = gpu.alloc_matrix("q", n, k).unwrap();
            run(&gpu, [student_t(&gpu, &gz, &gc, &q).unwrap()]);
            let got = gpu.read(q.data()).unwrap();
            let what = format!("n {n} k {k} L {l}");
            assert_close(&got, &cpu::student_t(&z, &c, l), ATOL, RTOL, &what);
            let exact: Vec<f32> = exact_q(&z, &c, l).iter().map(|&v| v as f32).collect();
            assert_close(&got, &exact, 1e-6, 1e-5, &format!("{what} vs f64"));
        }
        let z = gpu.alloc_matrix("z", 3, 4).unwrap();
        let c = gpu.alloc_matrix("c", 2, 5).unwrap();
        let q = gpu.alloc_matrix("q", 3, 2).unwrap();
        assert!(student_t(&gpu, &z, &c, &q).is_err());
        let c = gpu.alloc_matrix("c", 65, 4).unwrap();
        let q = gpu.alloc_matrix("q", 3, 65).unwrap();
        assert!(student_t(&gpu, &z, &c, &q).is_err(), "more than 64 centres");
    }
}
