//! Host-side compressed sparse row (CSR) matrices: the adjacency Â, the node features X
//! and their transpose Xᵀ, the decoder's label pattern. Built and checked on the host,
//! uploaded once.

use crate::error::{Error, Result};

/// A sparse `rows × cols` matrix in CSR form with `f32` values.
///
/// Invariants (checked by [`Csr::new`]): `row_ptr.len() == rows + 1`, `row_ptr[0] == 0`,
/// `row_ptr` non-decreasing, `row_ptr[rows] == col_idx.len() == values.len()`, every
/// column id `< cols`, every value finite. Column ids within a row need not be sorted.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    rows: usize,
    cols: usize,
    row_ptr: Vec<u32>,
    col_idx: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    /// Builds a CSR matrix, checking every invariant listed on the type.
    pub fn new(
        rows: usize,
        cols: usize,
        row_ptr: Vec<u32>,
        col_idx: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self> {
        let bad = |argument, why: String| {
            Err(Error::InvalidArgument {
                argument,
                message: format!("CSR matrix: {why}"),
            })
        };
        if row_ptr.len() != rows + 1 {
            return bad(
                "row_ptr",
                format!(
                    "row_ptr has {} entries, expected rows + 1 = {}",
                    row_ptr.len(),
                    rows + 1
                ),
            );
        }
        if row_ptr[0] != 0 {
            return bad(
                "row_ptr",
                format!("row_ptr[0] is {}, expected 0", row_ptr[0]),
            );
        }
        if let Some(r) = row_ptr.windows(2).position(|w| w[0] > w[1]) {
            return bad("row_ptr", format!("row_ptr decreases at row {r}"));
        }
        let nnz = row_ptr[rows] as usize;
        if col_idx.len() != nnz || values.len() != nnz {
            return bad(
                if col_idx.len() != nnz {
                    "col_idx"
                } else {
                    "values"
                },
                format!(
                    "row_ptr ends at {nnz} but there are {} column ids and {} values",
                    col_idx.len(),
                    values.len()
                ),
            );
        }
        if let Some(k) = col_idx.iter().position(|&c| c as usize >= cols) {
            return bad(
                "col_idx",
                format!(
                    "entry {k} has column {} out of range for {cols} columns",
                    col_idx[k]
                ),
            );
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return bad(
                "values",
                format!("entry {k} has non-finite value {}", values[k]),
            );
        }
        Ok(Csr {
            rows,
            cols,
            row_ptr,
            col_idx,
            values,
        })
    }

    /// Builds a CSR matrix from `(row, col, value)` triplets. Duplicate coordinates are
    /// summed; each row's columns come out sorted.
    pub fn from_triplets(rows: usize, cols: usize, triplets: &[(u32, u32, f32)]) -> Result<Self> {
        let mut sorted: Vec<(u32, u32, f32)> = Vec::with_capacity(triplets.len());
        for &(r, c, v) in triplets {
            if r as usize >= rows || c as usize >= cols {
                return Err(Error::InvalidArgument {
                    argument: "triplets",
                    message: format!(
                        "CSR matrix: entry ({r}, {c}) is outside a {rows} x {cols} matrix"
                    ),
                });
            }
            sorted.push((r, c, v));
        }
        sorted.sort_by_key(|&(r, c, _)| (r, c));
        let mut row_ptr = vec![0u32; rows + 1];
        let mut col_idx: Vec<u32> = Vec::with_capacity(sorted.len());
        let mut values: Vec<f32> = Vec::with_capacity(sorted.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in sorted {
            if last == Some((r, c)) {
                *values.last_mut().expect("a previous entry exists") += v;
                continue;
            }
            last = Some((r, c));
            row_ptr[r as usize + 1] += 1;
            col_idx.push(c);
            values.push(v);
        }
        for r in 0..rows {
            row_ptr[r + 1] += row_ptr[r];
        }
        Csr::new(rows, cols, row_ptr, col_idx, values)
    }

    /// The same sparsity pattern with new values, one per stored entry (in storage
    /// order); checked like [`Csr::new`] (same count, every value finite).
    pub fn with_values(&self, values: Vec<f32>) -> Result<Self> {
        if values.len() != self.nnz() {
            return Err(Error::InvalidArgument {
                argument: "values",
                message: format!(
                    "CSR matrix: {} new values for {} entries",
                    values.len(),
                    self.nnz()
                ),
            });
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                argument: "values",
                message: format!("CSR matrix: entry {k} has non-finite value {}", values[k]),
            });
        }
        Ok(Csr {
            rows: self.rows,
            cols: self.cols,
            row_ptr: self.row_ptr.clone(),
            col_idx: self.col_idx.clone(),
            values,
        })
    }

    /// The `n × n` identity: the feature matrix of a featureless graph, kept sparse.
    pub fn identity(n: usize) -> Self {
        Csr {
            rows: n,
            cols: n,
            row_ptr: (0..=n as u32).collect(),
            col_idx: (0..n as u32).collect(),
            values: vec![1.0; n],
        }
    }

    /// Builds a CSR matrix from a dense row-major `rows × cols` slice, keeping nonzeros.
    pub fn from_dense(rows: usize, cols: usize, dense: &[f32]) -> Result<Self> {
        if dense.len() != rows * cols {
            return Err(Error::InvalidArgument {
                argument: "dense",
                message: format!(
                    "dense matrix has {} values, expected {rows} x {cols}",
                    dense.len()
                ),
            });
        }
        let mut triplets = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let v = dense[r * cols + c];
                if v != 0.0 {
                    triplets.push((r as u32, c as u32, v));
                }
            }
        }
        Csr::from_triplets(rows, cols, &triplets)
    }

    /// The transpose, with sorted columns in every row (built once, e.g. Xᵀ for dW0 = Xᵀ dP).
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0u32; self.cols + 1];
        for &c in &self.col_idx {
            counts[c as usize + 1] += 1;
        }
        for c in 0..self.cols {
            counts[c + 1] += counts[c];
        }
        let row_ptr = counts.clone();
        let mut next = counts;
        let mut col_idx = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.rows {
            for k in self.row_range(r) {
                let c = self.col_idx[k] as usize;
                let dst = next[c] as usize;
                col_idx[dst] = r as u32;
                values[dst] = self.values[k];
                next[c] += 1;
            }
        }
        Csr {
            rows: self.cols,
            cols: self.rows,
            row_ptr,
            col_idx,
            values,
        }
    }

    /// Expands to a dense row-major matrix (for tests and CPU references on small shapes).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0f32; self.rows * self.cols];
        for r in 0..self.rows {
            for k in self.row_range(r) {
                dense[r * self.cols + self.col_idx[k] as usize] += self.values[k];
            }
        }
        dense
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }

    /// Row pointer, `rows + 1` entries.
    pub fn row_ptr(&self) -> &[u32] {
        &self.row_ptr
    }

    /// Column id of every stored entry.
    pub fn col_idx(&self) -> &[u32] {
        &self.col_idx
    }

    /// Value of every stored entry.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The entry positions of row `r`.
    pub fn row_range(&self, r: usize) -> std::ops::Range<usize> {
        self.row_ptr[r] as usize..self.row_ptr[r + 1] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplets_sum_duplicates_and_sort_columns() {
        let m = Csr::from_triplets(3, 4, &[(2, 1, 1.0), (0, 3, 2.0), (0, 1, 1.0), (0, 3, 0.5)])
            .unwrap();
        assert_eq!(m.row_ptr(), &[0, 2, 2, 3]);
        assert_eq!(m.col_idx(), &[1, 3, 1]);
        assert_eq!(m.values(), &[1.0, 2.5, 1.0]);
    }

    #[test]
    fn transpose_matches_dense_transpose() {
        let m = Csr::from_triplets(3, 4, &[(2, 1, 1.0), (0, 3, 2.0), (0, 1, 3.0)]).unwrap();
        let t = m.transpose();
        let (d, dt) = (m.to_dense(), t.to_dense());
        for r in 0..3 {
            for c in 0..4 {
                assert_eq!(d[r * 4 + c], dt[c * 3 + r]);
            }
        }
    }

    #[test]
    fn invalid_csr_is_an_error() {
        let bad = |r: Result<Csr>, argument: &str| match r {
            Err(Error::InvalidArgument { argument: a, .. }) => assert_eq!(a, argument),
            other => panic!("expected an invalid {argument}, got {other:?}"),
        };
        bad(Csr::new(2, 2, vec![0, 1], vec![0], vec![1.0]), "row_ptr");
        bad(Csr::new(1, 2, vec![0, 1], vec![2], vec![1.0]), "col_idx");
        bad(
            Csr::new(1, 2, vec![0, 1], vec![0], vec![f32::NAN]),
            "values",
        );
        bad(Csr::new(2, 2, vec![0, 1, 0], vec![0], vec![1.0]), "row_ptr");
        bad(Csr::from_triplets(1, 1, &[(0, 1, 1.0)]), "triplets");
        let m = Csr::identity(2);
        bad(m.with_values(vec![1.0]), "values");
        bad(m.with_values(vec![1.0, f32::INFINITY]), "values");
        assert_eq!(
            m.with_values(vec![2.0, 3.0]).unwrap().to_dense(),
            [2., 0., 0., 3.]
        );
    }
}
