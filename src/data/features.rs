//! Node features: [`read_features`] and the positional readers behind it. Formats, by
//! file name (then by content when the extension says nothing):
//! - `.npy` (or content starting with the numpy magic): a dense `N × F` matrix of any
//!   numeric dtype (bool, integers, float16/32/64), row `i` = node `i`
//!   ([`FeatureLayout::Dense`]);
//! - `.mtx` (or content starting with `%%MatrixMarket`): a sparse Matrix Market
//!   coordinate matrix as `scipy.io.mmwrite` writes it, row `i` = node `i`
//!   ([`FeatureLayout::Sparse`]; reader in `matrix_market`);
//! - anything else: a text table keyed by node id ([`FeatureLayout::Dense`]; reader in
//!   `table`).
//!
//! Sizes in headers are checked against the data before anything is allocated from
//! them: a `.npy` shape must match the bytes present (overflow-checked); a Matrix Market
//! file must declare as many rows as the graph has nodes and no more entries than its
//! bytes can hold. Without a node count, a positional matrix may not have rows past the
//! edge list's last node that nothing refers to (all-zero rows, or a Matrix Market
//! header's unused rows): such a file is refused rather than silently padded with
//! isolated nodes, and rows that do hold features there become isolated nodes with a
//! note saying how many.

use std::path::Path;

use super::arrays::npy::{npy_view, NPY_MAGIC};
use super::ids::IdIndex;
use super::input::read_text_file;
use super::matrix_market::read_matrix_market;
use super::table::read_table;
use super::{format_error, input_to_format, Graph};
use crate::error::Result;
use crate::sparse::Csr;

/// Whether a feature matrix came from a dense or a sparse format; decides how
/// [`FeatureNormalization::Standard`](super::FeatureNormalization::Standard) scales it.
/// Decided by the source format, not by the density of the values: `.npy` and keyed text
/// tables are dense, Planetoid pickles and Matrix Market files sparse.
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

text_enum!(
    MissingFeatures,
    "missing_features",
    MissingFeatures::Error => "error",
    MissingFeatures::Zero => "zero" | "zeros",
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
    let bytes = read_text_file(path)?;
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
            _ if bytes.starts_with(NPY_MAGIC) => Format::Npy,
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
    /// The file decides the node count, but may not have rows that nothing refers to: at
    /// most `max(largest edge id, last row holding a value) + 1`.
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

/// A dense `.npy` matrix of any numeric dtype (booleans as 0 and 1), rejecting values
/// that are not finite float32 numbers; with [`Rows::FromFile`], trailing rows past the
/// edge list's nodes that hold only zeros are refused (see the module docs).
fn read_npy_features(bytes: &[u8], path: &Path, rows: Rows) -> Result<Csr> {
    let array = npy_view(bytes).map_err(|m| format_error(path, m))?;
    let (num_rows, cols) = match array.shape()[..] {
        // At least one column, so that the row count is bounded by the data actually read.
        [num_rows, cols] if cols > 0 => (num_rows, cols),
        _ => {
            return Err(format_error(
                path,
                format!(
                    "features must be a 2-D numeric matrix with at least one column, found \
                     {} of shape {:?}",
                    array.dtype().name(),
                    array.shape()
                ),
            ))
        }
    };
    if let Rows::Exact { n, .. } = rows {
        if num_rows != n {
            return Err(format_error(
                path,
                format!("has {num_rows} rows but the graph has {n} nodes"),
            ));
        }
    }
    if num_rows > u32::MAX as usize || cols > u32::MAX as usize {
        return Err(format_error(
            path,
            format!("a {num_rows} x {cols} feature matrix is too large"),
        ));
    }
    let mut row_ptr = Vec::with_capacity(num_rows + 1);
    let mut col_idx = Vec::new();
    let mut values = Vec::new();
    let mut last_row_with_values = None;
    row_ptr.push(0u32);
    for r in 0..num_rows {
        for c in 0..cols {
            let v = array.float(array.matrix_offset(num_rows, cols, r, c));
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
                last_row_with_values = Some(r);
            }
        }
        row_ptr.push(nnz_u32(col_idx.len(), path)?);
    }
    if let Rows::FromFile { max_edge_id } = rows {
        let referenced = (max_edge_id as usize).max(last_row_with_values.unwrap_or(0)) + 1;
        if num_rows > referenced {
            return Err(format_error(
                path,
                format!(
                    "has {num_rows} rows, but the edge list's largest node id is \
                     {max_edge_id} and rows past {referenced} hold only zeros: a features \
                     file needs exactly one row per node, so at most {referenced} here (give \
                     the node count explicitly for nodes without edges or features)"
                ),
            ));
        }
    }
    Csr::new(num_rows, cols, row_ptr, col_idx, values).map_err(|e| input_to_format(path, e))
}

pub(crate) fn nnz_u32(nnz: usize, path: &Path) -> Result<u32> {
    u32::try_from(nnz)
        .map_err(|_| format_error(path, "more than 2^32 nonzero feature values".into()))
}
