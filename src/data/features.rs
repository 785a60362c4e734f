//! Node features: the readers for `.npy`, Matrix Market and keyed text tables, and
//! feature scaling ([`normalize_features`]).
//!
//! Formats, by file name (then by content when the extension says nothing):
//! - `.npy` (or content starting with the numpy magic): a dense float32/float64 `N × F`
//!   matrix, row `i` = node `i` ([`FeatureLayout::Dense`]);
//! - `.mtx` (or content starting with `%%MatrixMarket`): a sparse Matrix Market
//!   coordinate matrix as `scipy.io.mmwrite` writes it, row `i` = node `i`
//!   ([`FeatureLayout::Sparse`]);
//! - anything else: a text table keyed by node id ([`FeatureLayout::Dense`]): comma,
//!   tab or whitespace separated (the edge list's rule), `#`/`%` comments, an optional
//!   header line. The id column is the one the header names `id`, `node`, `node_id` or
//!   `name` (any case), else the first; every other column is numeric. Ids are the edge
//!   list's ids, with its mapping.
//!
//! Sizes in headers are checked against the data before anything is allocated from
//! them: a `.npy` shape must match the bytes present (overflow-checked); a Matrix Market
//! file must declare as many rows as the graph has nodes and no more entries than its
//! bytes can hold.

use std::path::Path;

use super::ndarray::{parse_npy_header, DType, NdArray};
use super::text::{self, Fields, Lines};
use super::{format_error, input_to_format, line_error, read_file, Graph, IdIndex};
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Whether a feature matrix came from a dense or a sparse format; decides how
/// [`FeatureNormalization::Standard`] scales it. Decided by the source format, not by
/// the density of the values: `.npy` and keyed text tables are dense, Planetoid pickles
/// and Matrix Market files sparse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FeatureLayout {
    /// Stored sparse (zeros are structural): scaling keeps zeros zero.
    #[default]
    Sparse,
    /// Stored dense (every value given): scaling may centre.
    Dense,
}

/// What to do with graph nodes that a keyed features table has no row for (the CLI's
/// `--missing-features error|zero`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingFeatures {
    /// An error listing a few of them and their count.
    #[default]
    Error,
    /// They get all-zero rows (noted in [`Graph::notes`]).
    Zero,
}

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
    MissingFeatures,
    "missing_features",
    MissingFeatures::Error => "error",
    MissingFeatures::Zero => "zero" | "zeros",
);
text_enum!(
    FeatureNormalization,
    "normalize_features",
    FeatureNormalization::None => "none",
    FeatureNormalization::Row => "row",
    FeatureNormalization::Standard => "standard",
);

/// A feature matrix read for a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// `num_nodes × F`, row `i` for node `i`.
    pub matrix: Csr,
    /// Dense or sparse source format.
    pub layout: FeatureLayout,
    /// Remarks for the user (e.g. how many nodes got zero rows).
    pub notes: Vec<String>,
}

/// Reads node features for `graph` from `path` (format by file name, see the module
/// docs): `.npy` and `.mtx` rows are nodes `0..N` and must number exactly
/// `graph.num_nodes`; a keyed table's ids are looked up with the graph's id map
/// ([`Graph::node_ids`]), and graph nodes without a row are an error or zero rows as
/// `missing` says. Ids in the table that the graph lacks, duplicate ids and values that
/// are not finite float32 numbers are errors naming the file, line and column.
pub fn read_features(path: &Path, graph: &Graph, missing: MissingFeatures) -> Result<Features> {
    let bytes = read_file(path)?;
    let n = graph.num_nodes;
    let origin = format!("the graph has {n} nodes");
    match Format::of(path, &bytes) {
        Format::Table => {
            let index = IdIndex::new(n, graph.node_ids.as_ref());
            let (matrix, notes) = read_table(&bytes, path, &index, missing)?;
            Ok(Features {
                matrix,
                layout: FeatureLayout::Dense,
                notes,
            })
        }
        format => Ok(Features {
            layout: format.layout(),
            matrix: read_positional(&bytes, path, format, Rows::Exact { n, origin: &origin })?,
            notes: Vec::new(),
        }),
    }
}

/// The three feature formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Npy,
    MatrixMarket,
    Table,
}

impl Format {
    /// By extension (`.npy`, `.mtx`), else by the first bytes, else a table.
    pub(crate) fn of(path: &Path, bytes: &[u8]) -> Format {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("npy") => Format::Npy,
            Some("mtx") => Format::MatrixMarket,
            _ if bytes.starts_with(b"\x93NUMPY") => Format::Npy,
            _ if bytes.len() >= 14 && bytes[..14].eq_ignore_ascii_case(b"%%MatrixMarket") => {
                Format::MatrixMarket
            }
            _ => Format::Table,
        }
    }

    pub(crate) fn layout(self) -> FeatureLayout {
        match self {
            Format::MatrixMarket => FeatureLayout::Sparse,
            Format::Npy | Format::Table => FeatureLayout::Dense,
        }
    }
}

/// How many rows a positional (`.npy`, `.mtx`) feature matrix must have.
pub(crate) enum Rows<'a> {
    /// Exactly `n` (the graph's node count); `origin` says where `n` came from.
    Exact { n: usize, origin: &'a str },
    /// The file decides the node count, but a Matrix Market header may not declare rows
    /// that nothing refers to: at most `max(largest edge id, largest entry row) + 1`.
    FromFile { max_edge_id: u32 },
}

/// Reads a `.npy` or Matrix Market feature matrix.
pub(crate) fn read_positional(
    bytes: &[u8],
    path: &Path,
    format: Format,
    rows: Rows,
) -> Result<Csr> {
    match format {
        Format::Npy => read_npy_features(bytes, path, rows),
        _ => read_matrix_market(bytes, path, rows),
    }
}

/// A dense float32/float64 `.npy` matrix, rejecting non-finite values.
fn read_npy_features(bytes: &[u8], path: &Path, rows: Rows) -> Result<Csr> {
    let header = parse_npy_header(bytes).map_err(|m| format_error(path, m))?;
    let dtype = DType::from_code(&header.code).filter(|d| matches!(d, DType::F32 | DType::F64));
    // At least one column, so that the row count is bounded by the data actually read.
    let (Some(dtype), &[num_rows, cols]) = (dtype, header.shape.as_slice()) else {
        return Err(format_error(
            path,
            format!(
                "features must be a 2-D float32 or float64 matrix with at least one column, \
                 found '{}' of shape {:?}",
                header.code, header.shape
            ),
        ));
    };
    if cols == 0 {
        return Err(format_error(
            path,
            format!(
                "features must be a 2-D float32 or float64 matrix with at least one column, \
                 found '{}' of shape {:?}",
                header.code, header.shape
            ),
        ));
    }
    if let Rows::Exact { n, .. } = rows {
        if num_rows != n {
            return Err(format_error(
                path,
                format!("has {num_rows} rows but the graph has {n} nodes"),
            ));
        }
    }
    let data = &bytes[header.data_offset..];
    header
        .check_data_len(dtype.size(), data.len())
        .map_err(|m| format_error(path, m))?;
    if num_rows > u32::MAX as usize || cols > u32::MAX as usize {
        return Err(format_error(
            path,
            format!("a {num_rows} x {cols} feature matrix is too large"),
        ));
    }
    let array = NdArray::from_bytes(
        dtype,
        header.byte_order,
        header.shape.clone(),
        header.fortran_order,
        data,
    )
    .map_err(|m| format_error(path, m))?;
    let value = |k: usize| -> f64 {
        match &array.data {
            super::ndarray::ArrayData::F32(v) => f64::from(v[k]),
            super::ndarray::ArrayData::F64(v) => v[k],
            _ => 0.0,
        }
    };
    let mut row_ptr = Vec::with_capacity(num_rows + 1);
    let mut col_idx = Vec::new();
    let mut values = Vec::new();
    row_ptr.push(0u32);
    for r in 0..num_rows {
        for c in 0..cols {
            let v = value(array.matrix_offset(r, c));
            let narrowed = v as f32;
            if !narrowed.is_finite() {
                return Err(format_error(
                    path,
                    format!("feature value {v} at row {r}, column {c} is not a finite float32"),
                ));
            }
            if narrowed != 0.0 {
                col_idx.push(c as u32);
                values.push(narrowed);
            }
        }
        row_ptr.push(nnz_u32(col_idx.len(), path)?);
    }
    Csr::new(num_rows, cols, row_ptr, col_idx, values).map_err(|e| input_to_format(path, e))
}

fn nnz_u32(nnz: usize, path: &Path) -> Result<u32> {
    u32::try_from(nnz)
        .map_err(|_| format_error(path, "more than 2^32 nonzero feature values".into()))
}

/// Reads a sparse Matrix Market file: `%%MatrixMarket matrix coordinate
/// real|integer|pattern general`, `%` comments, a `rows cols entries` line, then 1-based
/// `row col [value]` lines. Duplicate coordinates are summed, as scipy does.
///
/// The header's sizes are checked before anything is allocated from them: `rows` against
/// `rows_rule`, `entries` against the bytes after the header (an entry takes at least 4
/// bytes: `1 1\n`), and `cols` against the largest column used (more is allowed up to
/// 2^20 columns or the file's size in bytes).
fn read_matrix_market(bytes: &[u8], path: &Path, rows_rule: Rows) -> Result<Csr> {
    let text = utf8(bytes, path)?;
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

fn utf8<'b>(bytes: &'b [u8], path: &Path) -> Result<&'b str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        line_error(path, line, "not valid UTF-8 text".into())
    })
}

/// Header names of the id column.
const ID_WORDS: [&[u8]; 4] = [b"id", b"node", b"node_id", b"name"];

fn is_id_word(field: &[u8]) -> bool {
    ID_WORDS.iter().any(|w| w.eq_ignore_ascii_case(field))
}

/// Reads a text table of features keyed by node id (see the module docs).
pub(crate) fn read_table(
    bytes: &[u8],
    path: &Path,
    index: &IdIndex,
    missing: MissingFeatures,
) -> Result<(Csr, Vec<String>)> {
    utf8(bytes, path)?;
    let n = index.num_nodes;
    let mut lines = Lines::new(bytes, 1).peekable();
    let Some(&(first_line, first)) = lines.peek() else {
        return Err(format_error(
            path,
            "no feature rows: the file has no data lines".into(),
        ));
    };
    let head: Vec<&[u8]> = Fields::new(first).collect();
    let header = head.iter().any(|f| is_id_word(f))
        || head.first().is_some_and(|f| f.is_empty())
        || head[1..].iter().any(|f| text::parse_f64(f).is_none());
    let id_col = if header {
        lines.next();
        head.iter().position(|f| is_id_word(f)).unwrap_or(0)
    } else {
        0
    };
    let width = head.len();
    if width < 2 {
        return Err(line_error(
            path,
            first_line,
            "expected a node id column and at least one numeric column".into(),
        ));
    }
    let column_name = |c: usize| -> String {
        if header {
            format!(" (`{}`)", text::show(head[c]))
        } else {
            String::new()
        }
    };
    let cols = width - 1;
    const NONE: usize = usize::MAX;
    let mut row_of = vec![NONE; n];
    let mut row_lines: Vec<usize> = Vec::new();
    let mut values: Vec<f32> = Vec::new();
    for (line, content) in lines {
        let at = |message: String| line_error(path, line, message);
        let mut node = None;
        let mut count = 0;
        for (c, field) in Fields::new(content).enumerate() {
            count += 1;
            if c >= width {
                continue;
            }
            if c == id_col {
                if field.is_empty() {
                    return Err(at(format!("column {}: the node id is empty", c + 1)));
                }
                let Some(k) = index.find(field) else {
                    return Err(at(format!(
                        "node `{}` is not in the graph (ids are {})",
                        text::show(field),
                        index.describe()
                    )));
                };
                if row_of[k as usize] != NONE {
                    return Err(at(format!(
                        "node `{}` has a second feature row (the first is on line {})",
                        text::show(field),
                        row_lines[row_of[k as usize]]
                    )));
                }
                node = Some(k as usize);
                continue;
            }
            match text::parse_f64(field) {
                Some(v) if (v as f32).is_finite() => values.push(v as f32),
                _ => {
                    return Err(at(format!(
                        "column {}{}: `{}` is not a finite number",
                        c + 1,
                        column_name(c),
                        text::show(field)
                    )))
                }
            }
        }
        if count != width {
            return Err(at(format!(
                "expected {width} fields (a node id and {cols} values), found {count}"
            )));
        }
        let Some(node) = node else {
            return Err(at("no node id".into()));
        };
        row_of[node] = row_lines.len();
        row_lines.push(line);
    }
    let absent: Vec<usize> = (0..n).filter(|&i| row_of[i] == NONE).collect();
    let mut notes = Vec::new();
    if !absent.is_empty() {
        let shown: Vec<String> = absent.iter().take(5).map(|&i| index.name(i)).collect();
        let list = format!(
            "{}{}",
            shown.join(", "),
            if absent.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
        match missing {
            MissingFeatures::Error => {
                return Err(format_error(
                    path,
                    format!(
                        "{} of the graph's {n} nodes have no feature row: {list} (give them \
                         rows, or zero rows with --missing-features zero)",
                        absent.len()
                    ),
                ))
            }
            MissingFeatures::Zero => notes.push(format!(
                "{} of {n} nodes have no row in {} and got zero features: {list}",
                absent.len(),
                path.display()
            )),
        }
    }
    let mut row_ptr = Vec::with_capacity(n + 1);
    let mut col_idx = Vec::new();
    let mut nonzero = Vec::new();
    row_ptr.push(0u32);
    for &row in &row_of {
        if row != NONE {
            for (c, &v) in values[row * cols..(row + 1) * cols].iter().enumerate() {
                if v != 0.0 {
                    col_idx.push(c as u32);
                    nonzero.push(v);
                }
            }
        }
        row_ptr.push(nnz_u32(col_idx.len(), path)?);
    }
    let x = Csr::new(n, cols, row_ptr, col_idx, nonzero).map_err(|e| input_to_format(path, e))?;
    Ok((x, notes))
}

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
