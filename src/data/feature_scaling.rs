//! Feature scaling after loading: [`normalize_features`] (the CLI's
//! `--normalize-features none|row|standard`).

use super::features::FeatureLayout;
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Feature scaling applied after loading (the CLI's `--normalize-features
/// none|row|standard`); see [`normalize_features`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FeatureNormalization {
    /// Features as read.
    #[default]
    None,
    /// Every row divided by the sum of its absolute values: for the usual non-negative
    /// features this is the row sum, as PyG's `NormalizeFeatures` and Kipf's
    /// `preprocess_features` do. All-zero rows stay zero.
    Row,
    /// Every column scaled to unit (population) variance; dense features are also
    /// centred to zero mean, sparse ones are not, so their zeros stay zero.
    Standard,
}

text_enum!(
    FeatureNormalization,
    "normalize_features",
    FeatureNormalization::None => "none",
    FeatureNormalization::Row => "row",
    FeatureNormalization::Standard => "standard",
);

/// Scales a feature matrix as `how` says:
///
/// - [`FeatureNormalization::None`]: a copy;
/// - [`FeatureNormalization::Row`]: row `i` divided by `Σ_j |x_ij|` (the row sum for
///   non-negative features, as PyG's `NormalizeFeatures`); all-zero rows stay zero;
///   every result lies in `[-1, 1]`;
/// - [`FeatureNormalization::Standard`]: per column, the mean `m` and the population
///   standard deviation `s` over all `N` rows (zeros included); [`FeatureLayout::Dense`]
///   features become `(x - m) / s` (the result is stored dense), [`FeatureLayout::Sparse`]
///   ones `x / s` without centring, so their zeros stay zero. A column of zero variance
///   (constant, or within rounding of it, as scikit-learn judges it) becomes all zeros
///   when dense and is left as it is when sparse.
///
/// Results are always finite. Errors only if the dense result would have more than
/// 2^32 nonzeros.
pub fn normalize_features(
    x: &Csr,
    how: FeatureNormalization,
    layout: FeatureLayout,
) -> Result<Csr> {
    match how {
        FeatureNormalization::None => Ok(x.clone()),
        FeatureNormalization::Row => {
            let mut values = x.values().to_vec();
            for r in 0..x.rows() {
                let range = x.row_range(r);
                let sum: f64 = values[range.clone()]
                    .iter()
                    .map(|v| f64::from(v.abs()))
                    .sum();
                if sum > 0.0 {
                    for v in &mut values[range] {
                        *v = (f64::from(*v) / sum) as f32;
                    }
                }
            }
            x.with_values(values)
        }
        FeatureNormalization::Standard => {
            let x = canonical(x)?;
            let stats = column_stats(&x);
            match layout {
                FeatureLayout::Sparse => {
                    let values = x
                        .col_idx()
                        .iter()
                        .zip(x.values())
                        .map(|(&c, &v)| match stats[c as usize].std {
                            Some(s) => (f64::from(v) / s) as f32,
                            None => v,
                        })
                        .collect();
                    x.with_values(values)
                }
                FeatureLayout::Dense => standardize_dense(&x, &stats),
            }
        }
    }
}

/// `x` with sorted, unique columns in every row (duplicates summed), so column
/// statistics see each matrix element once.
fn canonical(x: &Csr) -> Result<Csr> {
    let clean = (0..x.rows()).all(|r| x.col_idx()[x.row_range(r)].windows(2).all(|w| w[0] < w[1]));
    if clean {
        return Ok(x.clone());
    }
    let mut triplets = Vec::with_capacity(x.nnz());
    for r in 0..x.rows() {
        for k in x.row_range(r) {
            triplets.push((r as u32, x.col_idx()[k], x.values()[k]));
        }
    }
    Csr::from_triplets(x.rows(), x.cols(), &triplets)
}

/// Mean and scale of one column.
#[derive(Clone, Copy, Debug)]
struct ColumnStats {
    mean: f64,
    /// The standard deviation, `None` for a column of zero variance.
    std: Option<f64>,
}

/// Per-column mean and population standard deviation over all rows, zeros included
/// (two passes, so the variance does not cancel).
fn column_stats(x: &Csr) -> Vec<ColumnStats> {
    let n = x.rows() as f64;
    let cols = x.cols();
    let mut count = vec![0usize; cols];
    let mut sum = vec![0f64; cols];
    let mut min = vec![f64::INFINITY; cols];
    let mut max = vec![f64::NEG_INFINITY; cols];
    for (&c, &v) in x.col_idx().iter().zip(x.values()) {
        let (c, v) = (c as usize, f64::from(v));
        count[c] += 1;
        sum[c] += v;
        min[c] = min[c].min(v);
        max[c] = max[c].max(v);
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut squares = vec![0f64; cols];
    for (&c, &v) in x.col_idx().iter().zip(x.values()) {
        let d = f64::from(v) - mean[c as usize];
        squares[c as usize] += d * d;
    }
    (0..cols)
        .map(|c| {
            let implicit_zeros = x.rows() - count[c];
            if implicit_zeros > 0 {
                min[c] = min[c].min(0.0);
                max[c] = max[c].max(0.0);
            }
            let m = mean[c];
            let var = (squares[c] + implicit_zeros as f64 * m * m) / n;
            let std = var.sqrt();
            let eps = f64::EPSILON;
            let largest = min[c].abs().max(max[c].abs());
            // Constant, within rounding of constant (scikit-learn's bound), or so small
            // that dividing by it would leave the float32 range.
            let constant = min[c] >= max[c]
                || var <= n * eps * var + (n * m.abs() * eps).powi(2)
                || std <= eps * largest;
            ColumnStats {
                mean: m,
                std: (!constant).then_some(std),
            }
        })
        .collect()
}

/// `(x - mean) / std` for every element, stored dense (exact zeros dropped).
fn standardize_dense(x: &Csr, stats: &[ColumnStats]) -> Result<Csr> {
    let (rows, cols) = (x.rows(), x.cols());
    let total = rows.checked_mul(cols).filter(|&t| t <= u32::MAX as usize);
    if total.is_none() {
        return Err(Error::TooLarge {
            what: format!("the value count of {rows} x {cols} standardised dense features"),
            size: (rows as u64).saturating_mul(cols as u64),
            limit: u64::from(u32::MAX),
        });
    }
    let scaled = |c: usize, v: f64| -> f32 {
        match stats[c].std {
            Some(s) => ((v - stats[c].mean) / s) as f32,
            None => 0.0,
        }
    };
    let zero_row: Vec<f32> = (0..cols).map(|c| scaled(c, 0.0)).collect();
    let mut row = zero_row.clone();
    let mut row_ptr = Vec::with_capacity(rows + 1);
    let mut col_idx = Vec::new();
    let mut values = Vec::new();
    row_ptr.push(0u32);
    for r in 0..rows {
        row.copy_from_slice(&zero_row);
        for k in x.row_range(r) {
            let c = x.col_idx()[k] as usize;
            row[c] = scaled(c, f64::from(x.values()[k]));
        }
        for (c, &v) in row.iter().enumerate() {
            if v != 0.0 {
                col_idx.push(c as u32);
                values.push(v);
            }
        }
        row_ptr.push(col_idx.len() as u32);
    }
    Csr::new(rows, cols, row_ptr, col_idx, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MissingFeatures;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-6, "[{i}]: {x} vs {y}\n{a:?}\n{b:?}");
        }
    }

    /// Columns: [1, 1, 3, 3] (mean 2, std 1), [0, 0, 0, 4] (mean 1, std √3),
    /// [5, 5, 5, 5] (constant), [0, 0, 0, 0] (empty).
    fn matrix() -> Csr {
        #[rustfmt::skip]
        let dense = [
            1., 0., 5., 0.,
            1., 0., 5., 0.,
            3., 0., 5., 0.,
            3., 4., 5., 0.,
        ];
        Csr::from_dense(4, 4, &dense).unwrap()
    }

    #[test]
    fn row_normalisation_divides_by_the_absolute_sum() {
        let x = Csr::from_dense(3, 2, &[1., 3., 0., 0., 2., -2.]).unwrap();
        let y = normalize_features(&x, FeatureNormalization::Row, FeatureLayout::Sparse).unwrap();
        close(&y.to_dense(), &[0.25, 0.75, 0., 0., 0.5, -0.5]);
        assert_eq!(y.nnz(), 4, "the zero row stays empty");
    }

    #[test]
    fn standard_dense_centres_and_scales() {
        let y = normalize_features(
            &matrix(),
            FeatureNormalization::Standard,
            FeatureLayout::Dense,
        )
        .unwrap();
        let s = 1.0 / 3f32.sqrt();
        #[rustfmt::skip]
        let expected = [
            -1., -s, 0., 0.,
            -1., -s, 0., 0.,
            1., -s, 0., 0.,
            1., 3. * s, 0., 0.,
        ];
        close(&y.to_dense(), &expected);
        // The constant and the empty column hold no entries.
        assert!(y.col_idx().iter().all(|&c| c < 2));
    }

    #[test]
    fn standard_sparse_scales_without_centring() {
        let x = matrix();
        let y =
            normalize_features(&x, FeatureNormalization::Standard, FeatureLayout::Sparse).unwrap();
        let s = 4.0 / 3f32.sqrt();
        #[rustfmt::skip]
        let expected = [
            1., 0., 5., 0.,
            1., 0., 5., 0.,
            3., 0., 5., 0.,
            3., s, 5., 0.,
        ];
        close(&y.to_dense(), &expected);
        assert_eq!(y.nnz(), x.nnz(), "sparsity is kept");
    }

    #[test]
    fn normalisation_stays_finite_on_extreme_values() {
        let big = f32::MAX;
        let tiny = f32::MIN_POSITIVE * 1e-3; // subnormal
        #[rustfmt::skip]
        let dense = [
            big, tiny, 1.0,
            -big, 0.0, 1.0 + f32::EPSILON,
            big, tiny, 1.0,
        ];
        let x = Csr::from_dense(3, 3, &dense).unwrap();
        for how in [FeatureNormalization::Row, FeatureNormalization::Standard] {
            for layout in [FeatureLayout::Dense, FeatureLayout::Sparse] {
                let y = normalize_features(&x, how, layout).unwrap();
                assert!(y.values().iter().all(|v| v.is_finite()), "{how} {layout:?}");
            }
        }
    }

    #[test]
    fn duplicate_entries_are_summed_before_statistics() {
        // Row 0 holds column 0 twice (1 + 1): the column is [2, 0] — mean 1, std 1.
        let x = Csr::new(2, 1, vec![0, 2, 2], vec![0, 0], vec![1.0, 1.0]).unwrap();
        let y =
            normalize_features(&x, FeatureNormalization::Standard, FeatureLayout::Dense).unwrap();
        close(&y.to_dense(), &[1.0, -1.0]);
    }

    #[test]
    fn option_names_parse() {
        assert_eq!(
            "Row".parse::<FeatureNormalization>().unwrap(),
            FeatureNormalization::Row
        );
        assert_eq!(
            "zero".parse::<MissingFeatures>().unwrap(),
            MissingFeatures::Zero
        );
        assert!("l2".parse::<FeatureNormalization>().is_err());
        assert_eq!(FeatureNormalization::Standard.to_string(), "standard");
    }
}
