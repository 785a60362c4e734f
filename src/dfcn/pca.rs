//! The reference's input reduction: PCA of the features to `components` columns, the
//! scores U·S of the centred matrix (no whitening), by randomised SVD as scikit-learn's
//! `PCA(svd_solver='auto')` computes it at these sizes (10 oversamples, 7 power
//! iterations), on the host in f64. The centring never densifies X: products with
//! X − 1μᵀ are products with sparse X corrected by μ.
//!
//! Signs follow scikit-learn 0.21 (the reference's version, which the shipped weights
//! saw): each column is flipped so that its entry of largest magnitude is positive
//! (`svd_flip(u_based_decision=True)`; scikit-learn ≥ 1.5 flips by the components
//! instead and negates about a third of the columns).

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::filters::svd::jacobi_sweep;
use crate::sparse::Csr;

/// Oversampling of the randomised range finder.
const OVERSAMPLES: usize = 10;
/// Power iterations.
const POWER_ITERATIONS: usize = 7;

/// The first `components` principal-component scores of the rows of `x` (N × F), N ×
/// `components` row-major f32, columns by decreasing singular value.
pub fn pca_scores(x: &Csr, components: usize, seed: u64) -> Result<Vec<f32>> {
    let (n, f) = (x.rows(), x.cols());
    if components == 0 || components > n.min(f) {
        return Err(Error::InvalidArgument {
            argument: "components",
            message: format!(
                "{components} principal components of a {n} × {f} matrix (at most {})",
                n.min(f)
            ),
        });
    }
    let p = (components + OVERSAMPLES).min(n.min(f));
    let mean = column_means(x);
    let mut rng = StdRng::seed_from_u64(seed);
    // Ω (F × p) as p columns; Y = Xc·Ω.
    let omega: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..f).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    let mut q: Vec<Vec<f64>> = omega.iter().map(|w| times(x, &mean, w)).collect();
    orthonormalise(&mut q);
    for _ in 0..POWER_ITERATIONS {
        let mut back: Vec<Vec<f64>> = q.iter().map(|v| times_t(x, &mean, v)).collect();
        orthonormalise(&mut back);
        q = back.iter().map(|w| times(x, &mean, w)).collect();
        orthonormalise(&mut q);
    }
    // B = Qᵀ·Xc (p × F, as p rows); eigenvectors of B·Bᵀ give B's left singular vectors.
    let b: Vec<Vec<f64>> = q.iter().map(|v| times_t(x, &mean, v)).collect();
    let mut gram = vec![0f64; p * p];
    for i in 0..p {
        for j in 0..=i {
            let v = dot(&b[i], &b[j]);
            gram[i * p + j] = v;
            gram[j * p + i] = v;
        }
    }
    let (values, vectors) = jacobi_eigen(gram, p);
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut scores = vec![0f32; n * components];
    for (c, &e) in order.iter().take(components).enumerate() {
        let sigma = values[e].max(0.0).sqrt();
        // u = Q·v_e, then the sign with the largest |u_i| positive.
        let mut u = vec![0f64; n];
        for (k, qk) in q.iter().enumerate() {
            let w = vectors[k * p + e];
            for (ui, &qi) in u.iter_mut().zip(qk) {
                *ui += w * qi;
            }
        }
        let top = u
            .iter()
            .copied()
            .fold(0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        let sign = if top < 0.0 { -1.0 } else { 1.0 };
        for (i, ui) in u.iter().enumerate() {
            scores[i * components + c] = (sign * ui * sigma) as f32;
        }
    }
    Ok(scores)
}

fn column_means(x: &Csr) -> Vec<f64> {
    let mut mean = vec![0f64; x.cols()];
    for (&c, &v) in x.col_idx().iter().zip(x.values()) {
        mean[c as usize] += f64::from(v);
    }
    let n = x.rows().max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}

/// (X − 1μᵀ)·w for w of length F.
fn times(x: &Csr, mean: &[f64], w: &[f64]) -> Vec<f64> {
    let shift = dot(mean, w);
    (0..x.rows())
        .map(|i| {
            x.row_range(i)
                .map(|e| f64::from(x.values()[e]) * w[x.col_idx()[e] as usize])
                .sum::<f64>()
                - shift
        })
        .collect()
}

/// (X − 1μᵀ)ᵀ·v for v of length N.
fn times_t(x: &Csr, mean: &[f64], v: &[f64]) -> Vec<f64> {
    let mut out = vec![0f64; x.cols()];
    for (i, &vi) in v.iter().enumerate() {
        for e in x.row_range(i) {
            out[x.col_idx()[e] as usize] += f64::from(x.values()[e]) * vi;
        }
    }
    let total: f64 = v.iter().sum();
    for (o, m) in out.iter_mut().zip(mean) {
        *o -= m * total;
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram–Schmidt, twice (re-orthogonalisation keeps it orthonormal to rounding);
/// a column that vanishes stays zero.
fn orthonormalise(columns: &mut [Vec<f64>]) {
    for _ in 0..2 {
        for i in 0..columns.len() {
            let (done, rest) = columns.split_at_mut(i);
            let col = &mut rest[0];
            for prev in done.iter() {
                let r = dot(prev, col);
                col.iter_mut().zip(prev).for_each(|(c, p)| *c -= r * p);
            }
            let norm = dot(col, col).sqrt();
            if norm > 0.0 {
                col.iter_mut().for_each(|c| *c /= norm);
            }
        }
    }
}

/// Eigenvalues and eigenvectors (columns of a p × p row-major matrix) of the symmetric
/// matrix `a`, by cyclic Jacobi rotations (`filters::svd::jacobi_sweep`) until the
/// off-diagonal norm is below 1e-15 of the whole norm.
fn jacobi_eigen(mut a: Vec<f64>, p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * p + j].powi(2))
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale {
            break;
        }
        jacobi_sweep(&mut a, &mut v, p);
    }
    ((0..p).map(|i| a[i * p + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a matrix of exact rank 3 plus the mean, the scores reproduce the centred matrix
    /// (Σ of squares), come by decreasing variance, are uncorrelated, and the largest
    /// entry of each column is positive.
    #[test]
    fn scores_span_the_centred_matrix_with_the_u_based_signs() {
        let (n, f) = (40, 12);
        let mut dense = vec![0f32; n * f];
        for i in 0..n {
            for j in 0..f {
                let (a, b, c) = (i as f32 / 7.0, (i % 5) as f32, ((i * 3) % 11) as f32);
                dense[i * f + j] = 1.0 + a * (j as f32 * 0.3).sin() + 0.5 * b * (j % 3) as f32
                    - 0.2 * c * (j % 2) as f32;
            }
        }
        let x = Csr::from_dense(n, f, &dense).unwrap();
        let scores = pca_scores(&x, 4, 1).unwrap();
        let mean: Vec<f32> = (0..f)
            .map(|j| (0..n).map(|i| dense[i * f + j]).sum::<f32>() / n as f32)
            .collect();
        let total: f64 = (0..n * f)
            .map(|e| f64::from(dense[e] - mean[e % f]).powi(2))
            .sum();
        let col = |c: usize| -> Vec<f64> { (0..n).map(|i| f64::from(scores[i * 4 + c])).collect() };
        let var: Vec<f64> = (0..4).map(|c| dot(&col(c), &col(c))).collect();
        assert!(
            (var.iter().sum::<f64>() - total).abs() < 1e-3 * total,
            "{var:?} vs {total}"
        );
        assert!(var[0] >= var[1] && var[1] >= var[2] && var[3] < 1e-6 * total);
        for a in 0..3 {
            for b in a + 1..3 {
                assert!(dot(&col(a), &col(b)).abs() < 1e-4 * total);
            }
            let top = col(a)
                .into_iter()
                .fold(0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            assert!(top > 0.0);
        }
        assert!(pca_scores(&x, 13, 1).is_err());
    }
}
