//! Twin of `shaders/act_backward.wgsl`.

use crate::kernels::bias_act::{Activation, SELU_ALPHA, SELU_SCALE};

/// SELU's λ and α in f32, as the shader holds them.
const SCALE: f32 = SELU_SCALE as f32;
const ALPHA: f32 = SELU_ALPHA as f32;

/// dy ⊙ act'(y) from the activation's output y.
pub fn act_backward(dy: &[f32], y: &[f32], activation: Activation) -> Vec<f32> {
    dy.iter()
        .zip(y)
        .map(|(&g, &v)| {
            let d = match activation {
                Activation::Identity => 1.0,
                Activation::LeakyRelu { slope } => {
                    if v > 0.0 {
                        1.0
                    } else {
                        slope
                    }
                }
                Activation::Tanh => 1.0 - v * v,
                Activation::Selu => {
                    if v > 0.0 {
                        SCALE
                    } else {
                        v + SCALE * ALPHA
                    }
                }
            };
            g * d
        })
        .collect()
}
