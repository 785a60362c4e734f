//! Twin of `shaders/student_t_grad.wgsl`.

use super::student_t::kernel_value;

/// The outputs of [`student_t_grad`].
#[derive(Clone, Debug, PartialEq)]
pub struct StudentTGrad {
    /// n × L.
    pub dz: Vec<f32>,
    /// n × k × L.
    pub dc_rows: Vec<f32>,
    /// n.
    pub loss_rows: Vec<f32>,
}

/// The gradient of −scale·Σ p log q (q the Student's t assignment of z to the centres)
/// and the per-row Σ p (log p − log q), added to `previous` when given.
pub fn student_t_grad(
    z: &[f32],
    centers: &[f32],
    q: &[f32],
    p: &[f32],
    l: usize,
    scale: f32,
    previous: Option<StudentTGrad>,
) -> StudentTGrad {
    let n = z.len().checked_div(l).unwrap_or(0);
    let k = centers.len().checked_div(l).unwrap_or(0);
    let accumulate = previous.is_some();
    let mut out = previous.unwrap_or_else(|| StudentTGrad {
        dz: vec![0.0; n * l],
        dc_rows: vec![0.0; n * k * l],
        loss_rows: vec![0.0; n],
    });
    for i in 0..n {
        let mut p_sum = 0f32;
        for j in 0..k {
            p_sum += p[i * k + j];
        }
        let mut g = vec![0f32; k];
        let mut loss = 0f32;
        for j in 0..k {
            let num = kernel_value(z, centers, l, i, j);
            let (pij, qij) = (p[i * k + j], q[i * k + j]);
            g[j] = scale * (pij - qij * p_sum) * num;
            if pij > 0.0 {
                loss += pij * (pij.ln() - qij.ln());
            }
        }
        for c in 0..l {
            let zc = z[i * l + c];
            let mut acc = 0f32;
            for j in 0..k {
                let diff = zc - centers[j * l + c];
                acc += 2.0 * g[j] * diff;
                let e = (i * k + j) * l + c;
                let dc = -2.0 * g[j] * diff;
                out.dc_rows[e] = if accumulate { dc + out.dc_rows[e] } else { dc };
            }
            let e = i * l + c;
            out.dz[e] = if accumulate { acc + out.dz[e] } else { acc };
        }
        out.loss_rows[i] = if accumulate {
            loss + out.loss_rows[i]
        } else {
            loss
        };
    }
    out
}
