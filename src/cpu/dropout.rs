//! Twin of `shaders/dropout.wgsl`.

use super::philox::philox4x32_10;
use crate::kernels::dropout::DropoutMask;

/// Whether element (row, col) is kept at `epoch` (its Philox uniform is at least p).
pub fn dropout_keeps(row: u32, col: u32, epoch: u32, p: f32, mask: DropoutMask) -> bool {
    let key = [mask.seed as u32, (mask.seed >> 32) as u32];
    let bits = philox4x32_10([row, col, epoch, mask.stream], key);
    let u = (bits[0] >> 8) as f32 * (1.0 / 16_777_216.0);
    u >= p
}

/// x (rows × cols) with the elements [`dropout_keeps`] drops set to 0 and the others
/// scaled by 1/(1 − p).
pub fn dropout(x: &[f32], cols: usize, p: f32, mask: DropoutMask, epoch: u32) -> Vec<f32> {
    let scale = 1.0 / (1.0 - p);
    x.iter()
        .enumerate()
        .map(|(e, &v)| {
            let (r, c) = ((e / cols) as u32, (e % cols) as u32);
            if dropout_keeps(r, c, epoch, p, mask) {
                v * scale
            } else {
                0.0
            }
        })
        .collect()
}
