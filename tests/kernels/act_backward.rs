//! `act_backward` against its CPU twin and the activations' derivatives in f64 (every
//! activation, both adapter profiles, awkward lengths).

use crate::common::{assert_close, gpu_profiles, profile_name, random_vec, rng};
use crate::{run, ATOL, RTOL};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::kernels::act_backward::act_backward;
use gpu_vgae::internal::kernels::bias_act::Activation;

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
    fn act_backward_matches_cpu_and_the_derivative() {
        let mut r = rng(42);
        for gpu in gpu_profiles() {
            for len in [1, 5, 67, 1000, 4099] {
                let pre = random_vec(&mut r, len, 3.0);
                let dy = random_vec(&mut r, len, 1.0);
                let gdy = gpu.upload("dy", &dy).unwrap();
                let dx = gpu.alloc::<f32>("dx", len).unwrap();
                for act in ACTIVATIONS {
                    let y = cpu::bias_act(&pre, 1, None, act);
                    let gy = gpu.upload("y", &y).unwrap();
                    run(&gpu, [act_backward(&gpu, &gdy, &gy, act, &dx).unwrap()]);
                    let got = gpu.read(&dx).unwrap();
                    let what = format!("{act:?} {len} {}", profile_name(&gpu));
                    assert_close(&got, &cpu::act_backward(&dy, &y, act), ATOL, RTOL, &what);
                    // The derivative at the pre-activation, in f64.
                    let exact: Vec<f32> = pre
                        .iter()
                        .zip(&dy)
                        .map(|(&v, &g)| {
                            let v = v as f64;
                            let d = match act {
                                Activation::Identity => 1.0,
                                Activation::LeakyRelu { slope } => if v > 0.0 { 1.0 } else { slope as f64 },
                                Activation::Tanh => 1.0 - v.tanh().powi(2),
                                Activation::Selu => if v > 0.0 { SCALE } else { SCALE * ALPHA * v.exp() },
                            };
                            (g as f64 * d) as f32
                        })
                        .collect();
                    assert_close(&got, &exact, 1e-5, 1e-4, &format!("{what} vs f64"));
                }
            }
        }
    }
}
