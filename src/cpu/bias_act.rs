//! Twin of `shaders/bias_act.wgsl`.

use crate::kernels::bias_act::{Activation, SELU_ALPHA, SELU_SCALE};

/// SELU's λ and α in f32, as the shader holds them.
const SCALE: f32 = SELU_SCALE as f32;
const ALPHA: f32 = SELU_ALPHA as f32;

/// act(v), as the shader computes it (tanh through exp(−2|v|), which cannot overflow).
pub fn activate(v: f32, activation: Activation) -> f32 {
    match activation {
        Activation::Identity => v,
        Activation::LeakyRelu { slope } => {
            if v > 0.0 {
                v
            } else {
                slope * v
            }
        }
        Activation::Tanh => {
            let e = (-2.0 * v.abs()).exp();
            let t = (1.0 - e) / (1.0 + e);
            if v >= 0.0 {
                t
            } else {
                -t
            }
        }
        Activation::Selu => {
            if v > 0.0 {
                SCALE * v
            } else {
                SCALE * ALPHA * (v.exp() - 1.0)
            }
        }
    }
}

/// act(x + bias) for x (rows × cols, row-major) and bias (cols) or none.
pub fn bias_act(x: &[f32], cols: usize, bias: Option<&[f32]>, activation: Activation) -> Vec<f32> {
    x.iter()
        .enumerate()
        .map(|(e, &v)| {
            let v = match bias {
                Some(b) => v + b[e % cols],
                None => v,
            };
            activate(v, activation)
        })
        .collect()
}
