//! `bias_act` against its CPU twin (every activation, with and without a bias, both
//! adapter profiles, awkward shapes) and against f64 formulas.

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::bias_act::{bias_act, Activation};

const ACTIVATIONS: [Activation; 4] = [
    Activation::Identity,
    Activation::LeakyRelu { slope: 0.2 },
    Activation::Tanh,
    Activation::Selu,
];

/// SELU's λ and α in f64 (torch's constants).
const SCALE: f64 = 1.0507009873554805;
const ALPHA: f64 = 1.6732632423543772;

gpu_test! {
    fn bias_act_matches_cpu_and_f64() {
        let mut r = rng(41);
        for gpu in gpu_profiles() {
            for (rows, cols) in [(1, 1), (3, 5), (67, 20), (130, 128), (513, 3)] {
                // Large magnitudes: tanh must neither overflow nor lose its sign.
                let x = random_vec(&mut r, rows * cols, 40.0);
                let b = random_vec(&mut r, cols, 1.0);
                let gx = gpu.upload_matrix("x", rows, cols, &x).unwrap();
                let gb = gpu.upload("b", &b).unwrap();
                let out = gpu.alloc_matrix("out", rows, cols).unwrap();
                for act in ACTIVATIONS {
                    for bias in [None, Some(&gb)] {
                        run(&gpu, [bias_act(&gpu, &gx, bias, act, &out).unwrap()]);
                        let got = gpu.read(out.data()).unwrap();
                        let host_bias = bias.map(|_| b.as_slice());
                        let what = format!("{act:?} bias={} {rows}x{cols} {}", bias.is_some(), profile_name(&gpu));
                        assert_close(&got, &cpu::bias_act(&x, cols, host_bias, act), ATOL, RTOL, &what);
                        let exact: Vec<f32> = x
                            .iter()
                            .enumerate()
                            .map(|(e, &v)| {
                                let v = v as f64 + host_bias.map_or(0.0, |b| b[e % cols] as f64);
                                (match act {
                                    Activation::Identity => v,
                                    Activation::LeakyRelu { slope } => if v > 0.0 { v } else { slope as f64 * v },
                                    Activation::Tanh => v.tanh(),
                                    Activation::Selu => if v > 0.0 { SCALE * v } else { SCALE * ALPHA * v.exp_m1() },
                                }) as f32
                            })
                            .collect();
                        assert_close(&got, &exact, 1e-5, 1e-5, &format!("{what} vs f64"));
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn bias_act_refuses_mismatched_shapes() {
        let gpu = crate::common::gpu();
        let x = gpu.alloc_matrix("x", 3, 4).unwrap();
        let out = gpu.alloc_matrix("out", 3, 5).unwrap();
        assert!(bias_act(&gpu, &x, None, Activation::Tanh, &out).is_err());
        let b = gpu.alloc::<f32>("b", 3).unwrap();
        let out = gpu.alloc_matrix("out", 3, 4).unwrap();
        assert!(bias_act(&gpu, &x, Some(&b), Activation::Tanh, &out).is_err());
    }
}
