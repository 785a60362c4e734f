//! The top left singular vectors of a matrix given only as products (randomised SVD,
//! Halko, Martinsson & Tropp 2011, Algorithm 4.4 with the power iterations
//! re-orthonormalised as scikit-learn's `randomized_svd` does with `'QR'`).
//!
//! The matrix A (m × n) is an [`Operator`]: A·B and Aᵀ·B of thin matrices (n × l and
//! m × l) computed on the GPU; everything of width l = r + oversamples (the QR of the
//! thin products, the l × l eigenproblem) is done here in `f64`, where it costs
//! O((m + n)·l²). So a filtered feature matrix can be a sum of a sparse and a dense
//! term that is never formed (see the filters module).

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};

/// A matrix known through its products with thin matrices (row-major host arrays).
pub trait Operator {
    /// Rows m.
    fn rows(&self) -> usize;
    /// Columns n.
    fn cols(&self) -> usize;
    /// A · b for b of `cols × l`: `rows × l`.
    fn mul(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>>;
    /// Aᵀ · b for b of `rows × l`: `cols × l`.
    fn mul_t(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>>;
}

/// Settings of [`top_left_singular_vectors`] (scikit-learn's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SvdSettings {
    /// Singular vectors kept, r.
    pub components: usize,
    /// Extra columns of the random test matrix (sklearn's `n_oversamples`).
    pub oversamples: usize,
    /// Power iterations (sklearn's `n_iter`; 7 is its choice for r < 0.1·min(m, n)).
    pub power_iterations: usize,
}

impl Default for SvdSettings {
    fn default() -> Self {
        SvdSettings {
            components: 16,
            oversamples: 10,
            power_iterations: 7,
        }
    }
}

/// The top `r` left singular vectors U (m × r, row-major, columns by decreasing
/// singular value) and the singular values, of the operator `a`, with a Gaussian test
/// matrix drawn from `seed`. r is `settings.components` capped at min(m, n).
pub fn top_left_singular_vectors(
    a: &mut dyn Operator,
    settings: &SvdSettings,
    seed: u64,
) -> Result<(Vec<f32>, Vec<f64>, usize)> {
    let (m, n) = (a.rows(), a.cols());
    let r = settings.components.min(m).min(n);
    if r == 0 {
        return Err(Error::InvalidArgument {
            argument: "components",
            message: format!("randomised SVD of a {m} x {n} matrix into {r} components"),
        });
    }
    let l = (r + settings.oversamples).min(m).min(n);
    let mut rng = StdRng::seed_from_u64(seed);
    let omega: Vec<f32> = (0..n * l)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            v as f32
        })
        .collect();
    let mut q = orthonormal_columns(a.mul(&omega, l)?, m, l);
    for _ in 0..settings.power_iterations {
        let back = orthonormal_columns(a.mul_t(&to_f32(&q), l)?, n, l);
        q = orthonormal_columns(a.mul(&to_f32(&back), l)?, m, l);
    }
    // B = Qᵀ A (l × n) is the transpose of Aᵀ Q; B Bᵀ = (AᵀQ)ᵀ(AᵀQ) gives U_B and Σ².
    let at_q = a.mul_t(&to_f32(&q), l)?;
    let mut gram = vec![0f64; l * l];
    for row in at_q.chunks_exact(l) {
        for i in 0..l {
            for j in 0..l {
                gram[i * l + j] += row[i] * row[j];
            }
        }
    }
    let (values, vectors) = symmetric_eigen(&gram, l);
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]).then(i.cmp(&j)));
    let mut u = vec![0f32; m * r];
    for (row, q_row) in q.chunks_exact(l).enumerate() {
        for (c, &e) in order.iter().take(r).enumerate() {
            let mut s = 0f64;
            for t in 0..l {
                s += q_row[t] * vectors[t * l + e];
            }
            u[row * r + c] = s as f32;
        }
    }
    let singular = order
        .iter()
        .take(r)
        .map(|&e| values[e].max(0.0).sqrt())
        .collect();
    Ok((u, singular, r))
}

fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// An orthonormal basis of the columns of `y` (rows × cols, row-major): modified
/// Gram–Schmidt applied twice ("twice is enough"), in `f64`. A column that is (within
/// rounding) in the span of the earlier ones becomes zero. Worked on a column-major
/// copy, so that each dot product and update walks contiguous memory (Pubmed's
/// 19,717-row products: 26 columns strided by 26 doubles missed the cache); every sum
/// runs over the rows in the same order as on the row-major matrix.
pub(crate) fn orthonormal_columns(y: Vec<f64>, rows: usize, cols: usize) -> Vec<f64> {
    let scale: f64 = y
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let mut columns = vec![0f64; rows * cols];
    for (r, row) in y.chunks_exact(cols.max(1)).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            columns[j * rows + r] = v;
        }
    }
    for j in 0..cols {
        let (done, rest) = columns.split_at_mut(j * rows);
        let column = &mut rest[..rows];
        let before = norm(column);
        for _pass in 0..2 {
            for earlier in done.chunks_exact(rows.max(1)) {
                let dot = earlier
                    .iter()
                    .zip(column.iter())
                    .fold(0f64, |s, (a, b)| s + a * b);
                for (v, &e) in column.iter_mut().zip(earlier) {
                    *v -= dot * e;
                }
            }
        }
        let after = norm(column);
        // Dependent: what is left is rounding noise of the earlier columns.
        let keep = after > 1e-10 * before.max(1e-300) && after > 1e-14 * scale;
        for v in column.iter_mut() {
            *v = if keep { *v / after } else { 0.0 };
        }
    }
    let mut out = y;
    for (r, row) in out.chunks_exact_mut(cols.max(1)).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = columns[j * rows + r];
        }
    }
    out
}

fn norm(column: &[f64]) -> f64 {
    column.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Eigenvalues and eigenvectors (columns of the returned n × n row-major matrix) of a
/// symmetric matrix, by cyclic Jacobi rotations until the off-diagonal part is
/// negligible.
pub(crate) fn symmetric_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off <= 1e-30 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        jacobi_sweep(&mut a, &mut v, n);
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// One cyclic sweep of Jacobi rotations over every pair p < q of the symmetric n × n
/// matrix `a` (row-major), zeroing a_pq in turn and accumulating the rotations in `v`.
pub(crate) fn jacobi_sweep(a: &mut [f64], v: &mut [f64], n: usize) {
    for p in 0..n {
        for q in p + 1..n {
            let apq = a[p * n + q];
            if apq == 0.0 {
                continue;
            }
            let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            for k in 0..n {
                let (akp, akq) = (a[k * n + p], a[k * n + q]);
                a[k * n + p] = c * akp - s * akq;
                a[k * n + q] = s * akp + c * akq;
            }
            for k in 0..n {
                let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                a[p * n + k] = c * apk - s * aqk;
                a[q * n + k] = s * apk + c * aqk;
            }
            for k in 0..n {
                let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                v[k * n + p] = c * vkp - s * vkq;
                v[k * n + q] = s * vkp + c * vkq;
            }
        }
    }
}

/// A dense host matrix as an [`Operator`] (the reference the tests compare with).
pub struct HostDense {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row-major values.
    pub values: Vec<f32>,
}

impl Operator for HostDense {
    fn rows(&self) -> usize {
        self.rows
    }

    fn cols(&self) -> usize {
        self.cols
    }

    fn mul(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        let mut out = vec![0f64; self.rows * l];
        for i in 0..self.rows {
            for k in 0..self.cols {
                let a = f64::from(self.values[i * self.cols + k]);
                if a != 0.0 {
                    for j in 0..l {
                        out[i * l + j] += a * f64::from(b[k * l + j]);
                    }
                }
            }
        }
        Ok(out)
    }

    fn mul_t(&mut self, b: &[f32], l: usize) -> Result<Vec<f64>> {
        let mut out = vec![0f64; self.cols * l];
        for i in 0..self.rows {
            for k in 0..self.cols {
                let a = f64::from(self.values[i * self.cols + k]);
                if a != 0.0 {
                    for j in 0..l {
                        out[k * l + j] += a * f64::from(b[i * l + j]);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let m = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let (values, v) = symmetric_eigen(&m, 3);
        for e in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|k| m[i * 3 + k] * v[k * 3 + e]).sum();
                assert!((av - values[e] * v[i * 3 + e]).abs() < 1e-10);
            }
        }
        let trace: f64 = values.iter().sum();
        assert!((trace - 8.0).abs() < 1e-10);
    }

    #[test]
    fn dependent_columns_become_zero() {
        // Column 1 = 2 × column 0.
        let y = vec![1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0];
        let q = orthonormal_columns(y, 3, 3);
        assert!((0..3).all(|r| q[r * 3 + 1] == 0.0));
        let dot: f64 = (0..3).map(|r| q[r * 3] * q[r * 3 + 2]).sum();
        assert!(dot.abs() < 1e-12);
    }

    /// A matrix with known singular values: U diag(s) Vᵀ from orthonormal U, V.
    #[test]
    fn recovers_the_leading_singular_subspace() {
        let (m, n, rank) = (60, 40, 6);
        let mut rng = StdRng::seed_from_u64(3);
        let mut gauss = |len: usize| -> Vec<f64> {
            (0..len).map(|_| StandardNormal.sample(&mut rng)).collect()
        };
        let u = orthonormal_columns(gauss(m * rank), m, rank);
        let v = orthonormal_columns(gauss(n * rank), n, rank);
        let s = [10.0, 8.0, 6.0, 4.0, 0.5, 0.1];
        let mut values = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                values[i * n + j] = (0..rank)
                    .map(|t| u[i * rank + t] * s[t] * v[j * rank + t])
                    .sum::<f64>() as f32;
            }
        }
        let mut a = HostDense {
            rows: m,
            cols: n,
            values,
        };
        let settings = SvdSettings {
            components: 4,
            ..SvdSettings::default()
        };
        let (top, singular, r) = top_left_singular_vectors(&mut a, &settings, 0).unwrap();
        assert_eq!(r, 4);
        for (got, want) in singular.iter().zip(s) {
            assert!((got - want).abs() < 1e-4 * want, "{singular:?}");
        }
        // Each found vector is ± the true one.
        for c in 0..4 {
            let dot: f64 = (0..m)
                .map(|i| f64::from(top[i * 4 + c]) * u[i * rank + c])
                .sum();
            assert!((dot.abs() - 1.0).abs() < 1e-4, "column {c}: {dot}");
        }
    }
}
