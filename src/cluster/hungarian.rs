//! The Hungarian algorithm (Kuhn–Munkres with potentials, the shortest-augmenting-path
//! form): a minimum-cost one-to-one assignment on a rectangular cost matrix in
//! O(r²·c) for r ≤ c (the matrix is transposed first when it has more rows than columns).

use crate::error::{Error, Result};

/// Minimum-cost assignment of rows to columns, as scipy's `linear_sum_assignment`:
/// `cost` is `rows × cols`, row-major; every row is matched to a distinct column when
/// `rows ≤ cols`, every column to a distinct row otherwise, so exactly `min(rows, cols)`
/// pairs `(row, col)` come back, sorted by row. Their total cost is minimal.
///
/// To maximise (as for matching clusters to classes), pass negated values.
/// When several assignments reach the minimum, which one is returned is a property of
/// this implementation (it need not be scipy's).
///
/// Errors if `cost.len() != rows · cols` or a cost is not finite.
pub fn linear_sum_assignment(
    cost: &[f64],
    rows: usize,
    cols: usize,
) -> Result<Vec<(usize, usize)>> {
    if rows.checked_mul(cols) != Some(cost.len()) {
        return Err(Error::InvalidArgument {
            argument: "cost",
            message: format!(
                "linear_sum_assignment: {} costs for a {rows} × {cols} matrix",
                cost.len()
            ),
        });
    }
    if let Some(i) = cost.iter().position(|c| !c.is_finite()) {
        return Err(Error::InvalidArgument {
            argument: "cost",
            message: format!(
                "linear_sum_assignment: cost ({}, {}) is {}, costs must be finite",
                i / cols,
                i % cols,
                cost[i]
            ),
        });
    }
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    if rows <= cols {
        Ok(solve(|r, c| cost[r * cols + c], rows, cols)
            .into_iter()
            .enumerate()
            .collect())
    } else {
        // Transposed: the solver's rows are our columns.
        let col_to_row = solve(|c, r| cost[r * cols + c], cols, rows);
        let mut pairs: Vec<(usize, usize)> = col_to_row
            .into_iter()
            .enumerate()
            .map(|(c, r)| (r, c))
            .collect();
        pairs.sort_unstable();
        Ok(pairs)
    }
}

/// The solver proper for `n ≤ m`: the column matched to each of the `n` rows.
///
/// Rows are added one at a time; each addition grows a shortest-path tree over the columns
/// in reduced costs `a(i, j) − u(i) − v(j)` (Dijkstra without a heap, O(n·m) per row) until
/// it reaches a free column, then flips the path. Indices are 1-based inside, 0 being the
/// virtual root row/column.
fn solve(a: impl Fn(usize, usize) -> f64, n: usize, m: usize) -> Vec<usize> {
    debug_assert!(n <= m);
    let mut u = vec![0f64; n + 1];
    let mut v = vec![0f64; m + 1];
    // p[j]: the row matched to column j (0 = free); way[j]: previous column on the path.
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut minv = vec![0f64; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        minv.fill(f64::INFINITY);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            // Finite costs make every minv finite after the first scan, so some unused
            // column is always found while one is free (n ≤ m).
            debug_assert!(j1 != 0);
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path back to the root.
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
    row_to_col
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn total(cost: &[f64], cols: usize, pairs: &[(usize, usize)]) -> f64 {
        pairs.iter().map(|&(r, c)| cost[r * cols + c]).sum()
    }

    /// The minimum over every injective map from the smaller side to the larger.
    fn brute_force(cost: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(
            at: usize,
            n: usize,
            m: usize,
            used: &mut Vec<bool>,
            c: &dyn Fn(usize, usize) -> f64,
        ) -> f64 {
            if at == n {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..m {
                if !used[j] {
                    used[j] = true;
                    best = best.min(c(at, j) + go(at + 1, n, m, used, c));
                    used[j] = false;
                }
            }
            best
        }
        if rows <= cols {
            go(0, rows, cols, &mut vec![false; cols], &|r, c| {
                cost[r * cols + c]
            })
        } else {
            go(0, cols, rows, &mut vec![false; rows], &|c, r| {
                cost[r * cols + c]
            })
        }
    }

    fn check_valid(pairs: &[(usize, usize)], rows: usize, cols: usize) {
        assert_eq!(pairs.len(), rows.min(cols));
        let mut seen_r = vec![false; rows];
        let mut seen_c = vec![false; cols];
        for (i, &(r, c)) in pairs.iter().enumerate() {
            assert!(r < rows && c < cols);
            assert!(!seen_r[r] && !seen_c[c], "{pairs:?} is not one-to-one");
            seen_r[r] = true;
            seen_c[c] = true;
            if i > 0 {
                assert!(pairs[i - 1].0 < r, "pairs not sorted by row: {pairs:?}");
            }
        }
    }

    #[test]
    fn matches_brute_force_on_random_rectangles() {
        let mut rng = StdRng::seed_from_u64(17);
        for trial in 0..400 {
            let rows = rng.random_range(1..=6);
            let cols = rng.random_range(1..=6);
            // Small integer costs half the time, so that ties are common.
            let cost: Vec<f64> = (0..rows * cols)
                .map(|_| {
                    if trial % 2 == 0 {
                        rng.random_range(-3..=3) as f64
                    } else {
                        rng.random_range(-100.0..100.0)
                    }
                })
                .collect();
            let pairs = linear_sum_assignment(&cost, rows, cols).unwrap();
            check_valid(&pairs, rows, cols);
            let want = brute_force(&cost, rows, cols);
            let got = total(&cost, cols, &pairs);
            assert!(
                (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
                "{rows}×{cols} {cost:?}: got {got}, want {want}"
            );
        }
    }

    #[test]
    fn scipy_example() {
        // scipy.optimize.linear_sum_assignment docs: [[4, 1, 3], [2, 0, 5], [3, 2, 2]]
        // → rows [0, 1, 2], cols [1, 0, 2], cost 5.
        let cost = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        assert_eq!(
            linear_sum_assignment(&cost, 3, 3).unwrap(),
            vec![(0, 1), (1, 0), (2, 2)]
        );
        // Its transpose with a fourth, expensive row: rows 0..3 → the same matching.
        let tall = [4.0, 2.0, 3.0, 1.0, 0.0, 2.0, 3.0, 5.0, 2.0, 9.0, 9.0, 9.0];
        assert_eq!(
            linear_sum_assignment(&tall, 4, 3).unwrap(),
            vec![(0, 1), (1, 0), (2, 2)]
        );
    }

    #[test]
    fn degenerate_shapes_and_bad_input() {
        assert!(linear_sum_assignment(&[], 0, 5).unwrap().is_empty());
        assert!(linear_sum_assignment(&[], 3, 0).unwrap().is_empty());
        assert_eq!(linear_sum_assignment(&[7.0], 1, 1).unwrap(), vec![(0, 0)]);
        assert_eq!(
            linear_sum_assignment(&[3.0, 1.0, 2.0], 1, 3).unwrap(),
            vec![(0, 1)]
        );
        assert_eq!(
            linear_sum_assignment(&[3.0, 1.0, 2.0], 3, 1).unwrap(),
            vec![(1, 0)]
        );
        assert!(matches!(
            linear_sum_assignment(&[1.0, 2.0, 3.0], 2, 2),
            Err(Error::InvalidArgument {
                argument: "cost",
                ..
            })
        ));
        assert!(matches!(
            linear_sum_assignment(&[1.0, f64::NAN, 3.0, 4.0], 2, 2),
            Err(Error::InvalidArgument {
                argument: "cost",
                ..
            })
        ));
        assert!(matches!(
            linear_sum_assignment(&[1.0, f64::INFINITY], 1, 2),
            Err(Error::InvalidArgument {
                argument: "cost",
                ..
            })
        ));
    }
}
