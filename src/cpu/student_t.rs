//! Twin of `shaders/student_t.wgsl`.

/// 1 / (1 + ‖z_i − c_j‖²), the squared distance summed in column order.
pub(crate) fn kernel_value(z: &[f32], centers: &[f32], l: usize, i: usize, j: usize) -> f32 {
    let mut dist = 0f32;
    for c in 0..l {
        let diff = z[i * l + c] - centers[j * l + c];
        dist += diff * diff;
    }
    1.0 / (1.0 + dist)
}

/// q (n × k): Student's t assignment of z (n × L) to centers (k × L), rows normalised.
pub fn student_t(z: &[f32], centers: &[f32], l: usize) -> Vec<f32> {
    let n = z.len().checked_div(l).unwrap_or(0);
    let k = centers.len().checked_div(l).unwrap_or(0);
    let mut q = vec![0f32; n * k];
    for i in 0..n {
        let mut total = 0f32;
        for j in 0..k {
            let num = kernel_value(z, centers, l, i, j);
            q[i * k + j] = num;
            total += num;
        }
        for j in 0..k {
            q[i * k + j] /= total;
        }
    }
    q
}
