//! Reader for user edge lists, as text or as a `.npy` array.
//!
//! Text: one edge per line, `source target [weight]`, separated by commas, tabs or
//! whitespace (a line with a comma splits at commas, else one with a tab at tabs, else
//! at whitespace), fields optionally quoted as in CSV (RFC 4180: pandas' `QUOTE_ALL`,
//! R's `write.csv`). Blank lines and lines starting with `#` or `%` are skipped, and so
//! is a byte-order mark. A first line of column names is skipped too: one with no
//! number in its two id fields that are both header words (`source,target`, `src dst`,
//! `from to`, …) or are followed by a line of integer ids; a first line with a number in
//! it is always data. A weight column is accepted (it must be a finite number) and
//! ignored: the auto-encoder reconstructs 0/1 edges. The last line needs no newline.
//! Text that is not UTF-8, or holds a NUL byte, is an error naming its line.
//!
//! Binary: a `.npy` file (recognised by its magic bytes) holding an integer array (any
//! of int8–int64, uint8–uint64, either byte order) of shape `(E, 2)` or `(2, E)`, C or
//! Fortran order (a `(2, 2)` array is read as `(E, 2)`). Its ids must lie in `0..2^32`.
//!
//! Node ids are integers or arbitrary strings (the first edge decides; text only):
//! - integer ids with a node count (from [`EdgeListOptions::num_nodes`] or the rows of
//!   a `.npy`/`.mtx` feature matrix) are used as indices directly and must lie in `0..N`;
//! - other integer ids are mapped to `0..n` in increasing order
//!   ([`NodeIds::Integers`]); an integer too large for 64 bits is an error;
//! - string ids are mapped to `0..n` in order of first appearance
//!   ([`NodeIds::Strings`]).
//!
//! Duplicate pairs, reversed pairs and self loops are removed and counted in
//! [`Graph::edge_stats`], which the graph's summary line shows.
//!
//! Input size: see [`super::input`] (a stream such as `/dev/zero` is read only up to a
//! budget).
//!
//! Speed: text is parsed in parallel, in one chunk per core split at line boundaries,
//! with no allocation per line (integer ids are parsed in place, string ids borrowed
//! from the file until the end); integer ids are mapped through a bitmap of the ids
//! present; the pairs are normalised by a parallel radix sort of packed 64-bit keys, in
//! place. A 10M-line file of integer ids (138 MB, 1M nodes) takes about 1.5 s of CPU and
//! about 1.1 s on an idle 2-core machine, with a peak RSS of 216 MB
//! (`edge_list_load_speed` in `tests/data_loading.rs`). String ids cost a hash-table
//! lookup each and are several times slower.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::arrays::npy::{npy_view, NPY_MAGIC};
use super::edges_text::{parse_text, Parsed, ParsedIds};
use super::features::{read_positional, Format, Rows};
use super::ids::{check_range, map_integer_ids, IdIndex, IntChunkBuilder, Place};
use super::input::read_text_file;
use super::labels::read_labels;
use super::table::read_table;
use super::{format_error, input_to_format, line_error, Graph, NodeIds};
use super::{FeatureLayout, MissingFeatures};
use crate::error::Result;
use crate::parallel;

/// Optional inputs for [`load_edge_list`]. Build with `..Default::default()` so new
/// fields do not break callers.
#[derive(Clone, Default)]
pub struct EdgeListOptions<'a> {
    /// Node count: integer ids are then indices in `0..num_nodes`.
    pub num_nodes: Option<usize>,
    /// Node features (see [`read_features`](super::read_features) for the formats): a
    /// dense `.npy` matrix of any numeric dtype or a sparse Matrix Market `.mtx` file (row
    /// `i` = node `i`; without `num_nodes` their row count fixes the node count, and
    /// trailing rows past the edge list's largest id that hold nothing are refused), or a
    /// CSV/TSV/whitespace table keyed by the edge list's node ids.
    pub features: Option<PathBuf>,
    /// What a keyed features table means when it lacks some nodes (ignored for `.npy`
    /// and `.mtx`, which have every row).
    pub missing_features: MissingFeatures,
    /// A labels file (see [`read_labels`]): lines `node_id label`,
    /// integer labels or class names; nodes not listed get `-1`.
    pub labels: Option<PathBuf>,
    /// Called after each phase of the load with how long it took (a CLI may print those
    /// over a second).
    pub progress: Option<&'a dyn Fn(LoadPhase, Duration)>,
}

impl std::fmt::Debug for EdgeListOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeListOptions")
            .field("num_nodes", &self.num_nodes)
            .field("features", &self.features)
            .field("missing_features", &self.missing_features)
            .field("labels", &self.labels)
            .field("progress", &self.progress.map(|_| "callback"))
            .finish()
    }
}

/// The phases of [`load_edge_list`], reported to [`EdgeListOptions::progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadPhase {
    /// Reading the edge file into memory.
    Read,
    /// Parsing it into id pairs (in parallel).
    Parse,
    /// Mapping ids to node indices (or checking them against the node count), reading
    /// `.npy`/`.mtx` features on the way when they fix the node count.
    MapIds,
    /// Reading a keyed features table.
    Features,
    /// Orienting, sorting and deduplicating the edges.
    Normalise,
    /// Reading the labels file.
    Labels,
}

impl std::fmt::Display for LoadPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadPhase::Read => "reading the edge file",
            LoadPhase::Parse => "parsing edges",
            LoadPhase::MapIds => "mapping node ids",
            LoadPhase::Features => "reading features",
            LoadPhase::Normalise => "sorting and deduplicating edges",
            LoadPhase::Labels => "reading labels",
        })
    }
}

/// Loads an edge list (text or `.npy`, see the module docs), with optional features
/// and labels.
///
/// Errors ([`crate::Error::Format`] naming the file, and the line for text) for: no
/// edges, lines of other than 2 or 3 fields, empty fields, a non-numeric id after an
/// integer first edge, a weight that is not a finite number, ids outside `0..N` when
/// the node count is fixed, string ids with a node count or positional features, a
/// `.npy` of another dtype or shape, or with negative ids or ids beyond `u32`; and for
/// whatever the features and labels readers refuse.
pub fn load_edge_list(path: &Path, options: &EdgeListOptions) -> Result<Graph> {
    let mut clock = Clock::new(options.progress);
    let bytes = read_text_file(path)?;
    clock.lap(LoadPhase::Read);
    let npy = bytes.starts_with(NPY_MAGIC);
    let parsed = if npy {
        parse_npy_edges(&bytes, path)?
    } else {
        parse_text(&bytes, path, parallel::threads())?
    };
    drop(bytes);
    clock.lap(LoadPhase::Parse);

    let feature_input = match &options.features {
        Some(fp) => {
            let fb = read_text_file(fp)?;
            let format = Format::of(fp, &fb);
            Some((fp.as_path(), fb, format))
        }
        None => None,
    };
    let mut notes = Vec::new();
    let positional = feature_input
        .as_ref()
        .filter(|(_, _, format)| *format != Format::Table);
    let (num_nodes, parts, node_ids, mut features) = match parsed.ids {
        ParsedIds::Strings { parts, names } => {
            if options.num_nodes.is_some() || positional.is_some() {
                return Err(line_error(
                    path,
                    parsed.first_line,
                    "a node count or a .npy/.mtx feature matrix needs integer node ids \
                     0..N-1 (row i of the features is node i), this file uses string ids"
                        .into(),
                ));
            }
            (names.len(), parts, Some(names), None)
        }
        ParsedIds::Integers(chunks) => {
            if let Some(n) = options.num_nodes {
                let origin = format!("the graph has {n} nodes");
                let parts = check_range(chunks, n, &origin, path)?;
                let x = match positional {
                    Some((fp, fb, format)) => Some(read_positional(
                        fb,
                        fp,
                        *format,
                        Rows::Exact { n, origin: &origin },
                    )?),
                    None => None,
                };
                (n, parts, None, x)
            } else if let Some((fp, fb, format)) = positional {
                let max_edge_id = chunks
                    .iter()
                    .filter_map(|c| c.hi)
                    .map(|(v, _)| v.clamp(0, i64::from(u32::MAX)) as u32)
                    .max()
                    .unwrap_or(0);
                let x = read_positional(fb, fp, *format, Rows::FromFile { max_edge_id })?;
                let n = x.rows();
                let origin = format!(
                    "the features file {} has {n} rows, one per node",
                    fp.display()
                );
                let parts = check_range(chunks, n, &origin, path)?;
                let past = n.saturating_sub(max_edge_id as usize + 1);
                if past > 0 {
                    notes.push(format!(
                        "{past} feature rows of {} past the edge list's largest node id \
                         ({max_edge_id}) became isolated nodes",
                        fp.display()
                    ));
                }
                (n, parts, None, Some(x))
            } else {
                let (ids, parts) = map_integer_ids(chunks, path)?;
                (ids.len(), parts, Some(NodeIds::Integers(ids)), None)
            }
        }
    };
    clock.lap(LoadPhase::MapIds);

    if let Some((fp, fb, Format::Table)) = &feature_input {
        let index = IdIndex::new(num_nodes, node_ids.as_ref());
        let (x, table_notes) = read_table(fb, fp, &index, options.missing_features)?;
        features = Some(x);
        notes.extend(table_notes);
        clock.lap(LoadPhase::Features);
    }
    let layout = match &feature_input {
        Some((_, _, format)) => format.layout(),
        None => FeatureLayout::Sparse,
    };
    drop(feature_input);

    let pairs: usize = parts.iter().map(Vec::len).sum();
    if parts.iter().all(|p| p.iter().all(|(a, b)| a == b)) {
        return Err(format_error(
            path,
            format!(
                "no edges left after removing self loops (all {pairs} {} are self loops)",
                if npy { "edges" } else { "lines" }
            ),
        ));
    }
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_default();
    all.reserve_exact(pairs - all.len());
    for part in parts {
        all.extend_from_slice(&part);
    }
    let mut graph =
        Graph::from_edge_vec(num_nodes, all, features).map_err(|e| input_to_format(path, e))?;
    clock.lap(LoadPhase::Normalise);
    graph.node_ids = node_ids;
    graph.feature_layout = layout;
    graph.name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if parsed.weighted {
        graph
            .notes
            .push("the weight column was ignored: edges are unweighted".into());
    }
    graph.notes.extend(notes);
    if let Some(labels_path) = &options.labels {
        let labels = read_labels(labels_path, &graph)?;
        graph = graph
            .with_labels(labels.labels)
            .map_err(|e| input_to_format(labels_path, e))?;
        graph.class_names = labels.class_names;
        clock.lap(LoadPhase::Labels);
    }
    Ok(graph)
}

/// Times the phases of a load for [`EdgeListOptions::progress`].
struct Clock<'a> {
    progress: Option<&'a dyn Fn(LoadPhase, Duration)>,
    last: Instant,
}

impl<'a> Clock<'a> {
    fn new(progress: Option<&'a dyn Fn(LoadPhase, Duration)>) -> Clock<'a> {
        Clock {
            progress,
            last: Instant::now(),
        }
    }

    fn lap(&mut self, phase: LoadPhase) {
        if let Some(report) = self.progress {
            report(phase, self.last.elapsed());
        }
        self.last = Instant::now();
    }
}

/// Reads a `.npy` edge array (see the module docs).
fn parse_npy_edges(bytes: &[u8], path: &Path) -> Result<Parsed> {
    let array = npy_view(bytes).map_err(|m| format_error(path, m))?;
    if !array.dtype().is_integer() {
        return Err(format_error(
            path,
            format!(
                "edges must be an integer array (int8 to int64, uint8 to uint64), found {}",
                array.dtype().name()
            ),
        ));
    }
    // (rows, cols) and whether edges run along the rows.
    let (rows, cols, edges_are_rows) = match array.shape()[..] {
        [e, 2] => (e, 2, true),
        [2, e] => (2, e, false),
        _ => {
            return Err(format_error(
                path,
                format!(
                    "edges must have shape (E, 2) or (2, E), found {:?}",
                    array.shape()
                ),
            ))
        }
    };
    let num_edges = if edges_are_rows { rows } else { cols };
    if num_edges == 0 {
        return Err(format_error(path, "no edges: the array is empty".into()));
    }
    let mut chunk = IntChunkBuilder::new(num_edges);
    for e in 0..num_edges {
        let (ka, kb) = if edges_are_rows {
            (
                array.matrix_offset(rows, cols, e, 0),
                array.matrix_offset(rows, cols, e, 1),
            )
        } else {
            (
                array.matrix_offset(rows, cols, 0, e),
                array.matrix_offset(rows, cols, 1, e),
            )
        };
        let mut ids = [0i64; 2];
        for (id, k) in ids.iter_mut().zip([ka, kb]) {
            // Integer dtypes always give a value; the default is never used.
            let v = array.integer(k).unwrap_or(-1);
            if v < 0 {
                return Err(format_error(
                    path,
                    format!("edge {e}: node id {v} is negative"),
                ));
            }
            if v > i128::from(u32::MAX) {
                return Err(format_error(
                    path,
                    format!(
                        "edge {e}: node id {v} does not fit in 32 bits (ids must be below 2^32)"
                    ),
                ));
            }
            *id = v as i64;
        }
        chunk.push(ids[0], ids[1], Place::Edge(e));
    }
    Ok(Parsed {
        ids: ParsedIds::Integers(vec![chunk.finish()]),
        weighted: false,
        first_line: 0,
    })
}
