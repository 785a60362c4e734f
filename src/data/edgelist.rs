//! Reader for user edge lists: one edge per line, `source target [weight]`, separated by
//! commas, tabs or whitespace. Blank lines and lines starting with `#` or `%` are
//! skipped. A first line of column names is skipped too: one whose two ids are both
//! header words (`source,target`, `src dst`, `from to`, …), or are not integers while
//! the next line's are.
//!
//! Node ids are integers or arbitrary strings:
//! - integer ids with a node count (from [`EdgeListOptions::num_nodes`] or the feature
//!   matrix's rows) are used as indices directly and must lie in `0..N`;
//! - other integer ids are mapped to `0..n` in increasing order;
//! - string ids are mapped to `0..n` in order of first appearance.
//!
//! A weight column is accepted and ignored (the auto-encoder reconstructs 0/1 edges).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ndarray::read_npy;
use super::{format_error, input_to_format, Graph};
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Optional inputs for [`load_edge_list`].
#[derive(Clone, Debug, Default)]
pub struct EdgeListOptions {
    /// Node count: integer ids are then indices in `0..num_nodes`.
    pub num_nodes: Option<usize>,
    /// Node features, one row per node (row `i` = node id `i`): a dense float32/float64
    /// `.npy` matrix, or a sparse Matrix Market `.mtx` file (coordinate format, as
    /// `scipy.io.mmwrite` writes it).
    pub features: Option<PathBuf>,
    /// A labels file: lines `node_id label`, label an integer `>= -1`; nodes not listed
    /// get `-1`.
    pub labels: Option<PathBuf>,
}

/// One data line: its 1-based number and its fields.
struct Record<'t> {
    line: usize,
    fields: Vec<&'t str>,
}

/// How ids become node indices.
enum Ids<'t> {
    /// Integer ids are indices in `0..n`.
    /// The node count and where it came from, for error messages.
    Direct(usize, String),
    /// Integer ids, mapped in increasing order.
    Integers(Vec<i64>),
    /// String ids, mapped in order of first appearance.
    Strings(HashMap<&'t str, u32>, Vec<&'t str>),
}

/// Loads an edge list (see the module docs), with optional features and labels.
pub fn load_edge_list(path: &Path, options: &EdgeListOptions) -> Result<Graph> {
    let bytes = read(path)?;
    let text = utf8(&bytes, path)?;
    let mut records = records(text, path)?;
    match records.first() {
        None => {
            return Err(format_error(
                path,
                "no edges: the file has no data lines".into(),
            ))
        }
        Some(first) if is_header(first, records.get(1)) => {
            records.remove(0);
        }
        Some(_) => {}
    }
    let Some(first) = records.first() else {
        return Err(format_error(
            path,
            "no edges: the file has only a header".into(),
        ));
    };
    for r in &records {
        check_fields(r, path)?;
    }
    let integer_ids = first.fields[..2].iter().all(|f| f.parse::<i64>().is_ok());
    let features = match &options.features {
        Some(features_path) => Some(read_features(features_path)?),
        None => None,
    };
    let fixed = match (options.num_nodes, &features) {
        (Some(n), Some(x)) if x.rows() != n => {
            return Err(format_error(
                options.features.as_deref().unwrap_or(path),
                format!("has {} rows but the graph has {n} nodes", x.rows()),
            ))
        }
        (Some(n), _) => Some(n),
        (None, Some(x)) => Some(x.rows()),
        (None, None) => None,
    };

    let mut ids = match (integer_ids, fixed) {
        (true, Some(n)) => Ids::Direct(
            n,
            match (&options.features, options.num_nodes) {
                (Some(features_path), None) => format!(
                    "the features file {} has {n} rows, one per node",
                    features_path.display()
                ),
                _ => format!("the graph has {n} nodes"),
            },
        ),
        (true, None) => Ids::Integers(Vec::new()),
        (false, None) => Ids::Strings(HashMap::new(), Vec::new()),
        (false, Some(_)) => {
            return Err(Error::Format {
                path: path.to_path_buf(),
                line: Some(first.line),
                message: "a node count or feature matrix needs integer node ids 0..N-1 \
                          (row i of the features is node i), this file uses string ids"
                    .into(),
            })
        }
    };
    // Collect the id set first, then look every id up.
    match &mut ids {
        Ids::Direct(..) => {}
        Ids::Integers(sorted) => {
            for r in &records {
                for field in &r.fields[..2] {
                    sorted.push(parse_int_id(field, r.line, path)?);
                }
            }
            sorted.sort_unstable();
            sorted.dedup();
        }
        Ids::Strings(map, order) => {
            for r in &records {
                for &field in &r.fields[..2] {
                    if !map.contains_key(field) {
                        let k = u32::try_from(order.len()).map_err(|_| {
                            format_error(path, "more than 2^32 distinct node ids".into())
                        })?;
                        map.insert(field, k);
                        order.push(field);
                    }
                }
            }
        }
    }
    let mut pairs = Vec::with_capacity(records.len());
    for r in &records {
        let a = lookup(&ids, r.fields[0], r.line, path)?;
        let b = lookup(&ids, r.fields[1], r.line, path)?;
        pairs.push((a, b));
    }
    let (num_nodes, node_ids) = match &ids {
        Ids::Direct(n, _) => (*n, None),
        Ids::Integers(sorted) => (
            sorted.len(),
            Some(sorted.iter().map(i64::to_string).collect()),
        ),
        Ids::Strings(_, order) => (
            order.len(),
            Some(order.iter().map(|s| s.to_string()).collect()),
        ),
    };
    if pairs.iter().all(|(a, b)| a == b) {
        return Err(format_error(
            path,
            format!(
                "no edges left after removing self loops (all {} lines are self loops)",
                pairs.len()
            ),
        ));
    }
    let mut graph =
        Graph::from_edges(num_nodes, &pairs, features).map_err(|e| input_to_format(path, e))?;
    graph.node_ids = node_ids;
    graph.name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if records.iter().any(|r| r.fields.len() == 3) {
        graph
            .notes
            .push("the weight column was ignored: edges are unweighted".into());
    }
    if let Some(labels_path) = &options.labels {
        let labels = read_labels(labels_path, &ids, num_nodes)?;
        graph = graph
            .with_labels(labels)
            .map_err(|e| input_to_format(labels_path, e))?;
    }
    Ok(graph)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn utf8<'b>(bytes: &'b [u8], path: &Path) -> Result<&'b str> {
    std::str::from_utf8(bytes).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        line: Some(
            bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
        ),
        message: "not valid UTF-8 text".into(),
    })
}

/// Splits the data lines into fields, skipping blanks and comments.
fn records<'t>(text: &'t str, path: &Path) -> Result<Vec<Record<'t>>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        let fields: Vec<&str> = if line.contains(',') {
            line.split(',').map(str::trim).collect()
        } else if line.contains('\t') {
            line.split('\t').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        if let Some(k) = fields.iter().position(|f| f.is_empty()) {
            return Err(Error::Format {
                path: path.to_path_buf(),
                line: Some(n + 1),
                message: format!("field {} is empty", k + 1),
            });
        }
        out.push(Record {
            line: n + 1,
            fields,
        });
    }
    Ok(out)
}

/// A first line is column names if its ids are known header words, or are not integers
/// while the next line's are.
fn is_header(first: &Record, next: Option<&Record>) -> bool {
    const WORDS: [&str; 14] = [
        "source", "target", "src", "dst", "from", "to", "node1", "node2", "u", "v", "head", "tail",
        "id1", "id2",
    ];
    let ids = |r: &Record| -> Vec<String> {
        r.fields
            .iter()
            .take(2)
            .map(|f| f.to_ascii_lowercase())
            .collect()
    };
    let is_int = |f: &str| f.parse::<i64>().is_ok();
    let named = ids(first).len() == 2 && ids(first).iter().all(|f| WORDS.contains(&f.as_str()));
    let not_ids = !first.fields.iter().take(2).all(|f| is_int(f));
    let next_ids =
        next.is_some_and(|r| r.fields.len() >= 2 && r.fields[..2].iter().all(|f| is_int(f)));
    named || (not_ids && next_ids)
}

fn check_fields(r: &Record, path: &Path) -> Result<()> {
    let fail = |message: String| Error::Format {
        path: path.to_path_buf(),
        line: Some(r.line),
        message,
    };
    match r.fields.len() {
        2 => Ok(()),
        3 => match r.fields[2].parse::<f64>() {
            Ok(w) if w.is_finite() => Ok(()),
            _ => Err(fail(format!(
                "the third field `{}` is not a number (expected a weight)",
                r.fields[2]
            ))),
        },
        n => Err(fail(format!(
            "expected 2 fields (source target) or 3 (source target weight), found {n}"
        ))),
    }
}

fn parse_int_id(field: &str, line: usize, path: &Path) -> Result<i64> {
    field.parse::<i64>().map_err(|_| Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message: format!(
            "non-numeric node id `{field}`: the first edge uses integer ids, so all must be integers"
        ),
    })
}

/// The node index of id `field` (found on `line` of `path`).
fn lookup(ids: &Ids, field: &str, line: usize, path: &Path) -> Result<u32> {
    let fail = |message: String| Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    };
    match ids {
        Ids::Direct(n, origin) => {
            let id = parse_int_id(field, line, path)?;
            match u32::try_from(id) {
                Ok(i) if (i as usize) < *n => Ok(i),
                _ => Err(fail(format!(
                    "node id {id} is out of range: {origin}, so ids must be below {n}"
                ))),
            }
        }
        Ids::Integers(sorted) => {
            let id = parse_int_id(field, line, path)?;
            let k = sorted
                .binary_search(&id)
                .map_err(|_| fail(format!("node id {id} does not appear in the edge list")))?;
            u32::try_from(k).map_err(|_| fail("more than 2^32 distinct node ids".into()))
        }
        Ids::Strings(map, _) => map
            .get(field)
            .copied()
            .ok_or_else(|| fail(format!("node `{field}` does not appear in the edge list"))),
    }
}

/// Reads a dense float feature matrix from `.npy`, rejecting non-finite values.
fn read_features(path: &Path) -> Result<Csr> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mtx"))
    {
        return read_matrix_market(path);
    }
    let array = read_npy(path)?;
    // At least one column, so that the row count is bounded by the data actually read.
    let (Some((rows, cols @ 1..)), Some(values)) = (array.matrix_shape(), array.to_f64()) else {
        return Err(format_error(
            path,
            format!(
                "features must be a 2-D float32 or float64 matrix with at least one column, \
                 found {} of shape {:?}",
                array.dtype().name(),
                array.shape
            ),
        ));
    };
    let mut triplets = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let v = values[array.matrix_offset(r, c)];
            let narrowed = v as f32;
            if !narrowed.is_finite() {
                return Err(format_error(
                    path,
                    format!("feature value {v} at row {r}, column {c} is not a finite float32"),
                ));
            }
            if narrowed != 0.0 {
                triplets.push((r as u32, c as u32, narrowed));
            }
        }
    }
    Csr::from_triplets(rows, cols, &triplets).map_err(|e| input_to_format(path, e))
}

/// Reads a sparse Matrix Market file: `%%MatrixMarket matrix coordinate
/// real|integer|pattern general`, `%` comments, a `rows cols entries` line, then 1-based
/// `row col [value]` lines. Duplicate coordinates are summed, as scipy does.
fn read_matrix_market(path: &Path) -> Result<Csr> {
    let bytes = read(path)?;
    let text = utf8(&bytes, path)?;
    let at = |line: usize, message: String| Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let (_, banner) = lines
        .next()
        .ok_or_else(|| format_error(path, "empty file: expected a Matrix Market header".into()))?;
    let banner_words: Vec<String> = banner
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let pattern = match banner_words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["%%matrixmarket", "matrix", "coordinate", field, "general"] => match *field {
            "real" | "integer" | "double" => false,
            "pattern" => true,
            other => return Err(at(1, format!("unsupported Matrix Market field `{other}`"))),
        },
        _ => {
            return Err(at(
                1,
                "expected `%%MatrixMarket matrix coordinate real general` (sparse features)".into(),
            ))
        }
    };
    let mut data = lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('%'));
    let (size_line, size) = data
        .next()
        .ok_or_else(|| format_error(path, "missing the `rows cols entries` line".into()))?;
    let dims: Vec<usize> = size
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            at(
                size_line,
                format!("expected `rows cols entries`, found `{size}`"),
            )
        })?;
    let &[rows, cols, entries] = dims.as_slice() else {
        return Err(at(
            size_line,
            format!("expected `rows cols entries`, found `{size}`"),
        ));
    };
    if rows == 0 || cols == 0 || rows > u32::MAX as usize || cols > u32::MAX as usize {
        return Err(at(
            size_line,
            format!("a {rows} x {cols} feature matrix is not usable"),
        ));
    }
    // Capacity bounded by the file's size, not by the (untrusted) entry count.
    let mut triplets = Vec::with_capacity(entries.min(text.len() / 4));
    for (line, fields) in data {
        let f: Vec<&str> = fields.split_whitespace().collect();
        let wanted = if pattern { 2 } else { 3 };
        if f.len() != wanted {
            return Err(at(
                line,
                format!("expected {wanted} fields, found {}", f.len()),
            ));
        }
        let index = |field: &str, bound: usize, what: &str| -> Result<u32> {
            match field.parse::<usize>() {
                Ok(i) if (1..=bound).contains(&i) => Ok((i - 1) as u32),
                _ => Err(at(line, format!("{what} `{field}` is not in 1..={bound}"))),
            }
        };
        let (r, c) = (index(f[0], rows, "row")?, index(f[1], cols, "column")?);
        let value = if pattern {
            1.0
        } else {
            match f[2].parse::<f64>() {
                Ok(v) if (v as f32).is_finite() => v as f32,
                _ => return Err(at(line, format!("value `{}` is not a finite number", f[2]))),
            }
        };
        triplets.push((r, c, value));
    }
    if triplets.len() != entries {
        return Err(format_error(
            path,
            format!(
                "the header promises {entries} entries, the file has {}",
                triplets.len()
            ),
        ));
    }
    Csr::from_triplets(rows, cols, &triplets).map_err(|e| input_to_format(path, e))
}

/// Reads `node_id label` lines; unlisted nodes get -1.
fn read_labels(path: &Path, ids: &Ids, num_nodes: usize) -> Result<Vec<i32>> {
    let bytes = read(path)?;
    let text = utf8(&bytes, path)?;
    let mut records = records(text, path)?;
    if records
        .first()
        .is_some_and(|r| r.fields.len() == 2 && r.fields[1].parse::<i32>().is_err())
    {
        records.remove(0);
    }
    let mut labels = vec![-1; num_nodes];
    for r in &records {
        let fail = |message: String| Error::Format {
            path: path.to_path_buf(),
            line: Some(r.line),
            message,
        };
        let [id, label] = r.fields[..] else {
            return Err(fail(format!(
                "expected 2 fields (node_id label), found {}",
                r.fields.len()
            )));
        };
        let label = match label.parse::<i32>() {
            Ok(l) if l >= -1 => l,
            _ => return Err(fail(format!("label `{label}` is not an integer >= -1"))),
        };
        let node = lookup(ids, id, r.line, path)?;
        labels[node as usize] = label;
    }
    Ok(labels)
}
