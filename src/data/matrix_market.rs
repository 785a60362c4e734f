//! Sparse feature matrices in Matrix Market coordinate format, as `scipy.io.mmwrite`
//! writes them (row `i` = node `i`).

use std::path::Path;

use super::features::Rows;
use super::text;
use super::{format_error, input_to_format, line_error};
use crate::error::Result;
use crate::sparse::Csr;

/// Reads a sparse Matrix Market file: `%%MatrixMarket matrix coordinate
/// real|integer|pattern general`, `%` comments, a `rows cols entries` line, then 1-based
/// `row col [value]` lines. Duplicate coordinates are summed, as scipy does.
///
/// The header's sizes are checked before anything is allocated from them: `rows` against
/// `rows_rule`, `entries` against the bytes after the header (an entry takes at least 4
/// bytes: `1 1\n`), and `cols` against the largest column used (more is allowed up to
/// 2^20 columns or the file's size in bytes).
pub(crate) fn read_matrix_market(bytes: &[u8], path: &Path, rows_rule: Rows) -> Result<Csr> {
    let text = text::check_text(bytes, path)?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let (_, banner) = lines
        .next()
        .ok_or_else(|| format_error(path, "empty file: expected a Matrix Market header".into()))?;
    let words: Vec<String> = banner
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let pattern = match words.as_slice() {
        ["%%matrixmarket", "matrix", "coordinate", field, "general"] => match *field {
            "real" | "integer" | "double" => false,
            "pattern" => true,
            other => {
                return Err(line_error(
                    path,
                    1,
                    format!("unsupported Matrix Market field `{other}`"),
                ))
            }
        },
        _ => {
            return Err(line_error(
                path,
                1,
                "expected `%%MatrixMarket matrix coordinate real general` (sparse features)".into(),
            ))
        }
    };
    let mut data = lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('%'));
    let (size_line, size) = data
        .next()
        .ok_or_else(|| format_error(path, "missing the `rows cols entries` line".into()))?;
    let bad_size = || {
        line_error(
            path,
            size_line,
            format!(
                "expected `rows cols entries`, found `{}`",
                text::show(size.as_bytes())
            ),
        )
    };
    let dims: Vec<u64> = size
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad_size())?;
    let &[rows, cols, entries] = dims.as_slice() else {
        return Err(bad_size());
    };
    if rows == 0 || cols == 0 || rows > u64::from(u32::MAX) || cols > u64::from(u32::MAX) {
        return Err(line_error(
            path,
            size_line,
            format!("a {rows} x {cols} feature matrix is not usable"),
        ));
    }
    let (rows, cols) = (rows as usize, cols as usize);
    if let Rows::Exact { n, origin } = rows_rule {
        if rows != n {
            return Err(line_error(
                path,
                size_line,
                format!(
                    "the header declares {rows} rows, but {origin}: a features file needs \
                     exactly one row per node"
                ),
            ));
        }
    }
    // Bytes after the size line bound the entries: each takes at least "1 1\n".
    let size_end = size.as_ptr() as usize - text.as_ptr() as usize + size.len();
    let room = (text.len() - size_end) as u64;
    let most = room / 4 + 1;
    if entries > most {
        return Err(line_error(
            path,
            size_line,
            format!(
                "the header declares {entries} entries, but the {room} bytes after it hold at \
                 most {most} (an entry takes at least 4 bytes)"
            ),
        ));
    }
    let mut triplets = Vec::with_capacity(entries as usize);
    let (mut max_row, mut max_col) = (0u32, 0u32);
    for (line, fields) in data {
        let at = |message: String| line_error(path, line, message);
        let mut f = fields.split_whitespace();
        let (r, c) = (f.next(), f.next());
        let v = if pattern { None } else { f.next() };
        let found = [r, c, v].iter().flatten().count() + f.count();
        let wanted = if pattern { 2 } else { 3 };
        let (Some(r), Some(c), true) = (r, c, found == wanted) else {
            return Err(at(format!("expected {wanted} fields, found {found}")));
        };
        let index = |field: &str, bound: usize, what: &str| -> Result<u32> {
            match field.parse::<usize>() {
                Ok(i) if (1..=bound).contains(&i) => Ok((i - 1) as u32),
                _ => Err(at(format!(
                    "{what} `{}` is not in 1..={bound}",
                    text::show(field.as_bytes())
                ))),
            }
        };
        let (r, c) = (index(r, rows, "row")?, index(c, cols, "column")?);
        let value = match v {
            None => 1.0,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if (x as f32).is_finite() => x as f32,
                _ => {
                    return Err(at(format!(
                        "value `{}` is not a finite number",
                        text::show(v.as_bytes())
                    )))
                }
            },
        };
        if triplets.len() as u64 == entries {
            return Err(at(format!(
                "more entries than the {entries} the header declares"
            )));
        }
        max_row = max_row.max(r);
        max_col = max_col.max(c);
        triplets.push((r, c, value));
    }
    if triplets.len() as u64 != entries {
        return Err(format_error(
            path,
            format!(
                "the header promises {entries} entries, the file has {}",
                triplets.len()
            ),
        ));
    }
    if let Rows::FromFile { max_edge_id } = rows_rule {
        let referenced = (max_edge_id.max(max_row) as usize) + 1;
        if rows > referenced {
            return Err(line_error(
                path,
                size_line,
                format!(
                    "the header declares {rows} rows, but the edge list's largest node id is \
                     {max_edge_id} and the entries use rows up to {}: a features file needs \
                     exactly one row per node, so at most {referenced} here (give the node \
                     count explicitly for nodes without edges or features)",
                    max_row as usize + 1
                ),
            ));
        }
    }
    // Unused trailing columns are allowed, within reason: no more than 2^20, or than
    // the file has bytes, beyond the ones the entries use.
    let used_cols = max_col as usize + 1;
    if cols > used_cols.max(bytes.len()).max(1 << 20) {
        return Err(line_error(
            path,
            size_line,
            format!(
                "the header declares {cols} columns, but the entries use columns up to \
                 {used_cols} and the file has only {} bytes",
                bytes.len()
            ),
        ));
    }
    Csr::from_triplets(rows, cols, &triplets).map_err(|e| input_to_format(path, e))
}
