//! Reader for user edge lists, as text or as a `.npy` array.
//!
//! Text: one edge per line, `source target [weight]`, separated by commas, tabs or
//! whitespace (a line with a comma splits at commas, else one with a tab at tabs, else
//! at whitespace). Blank lines and lines starting with `#` or `%` are skipped. A first
//! line of column names is skipped too: one whose two ids are both header words
//! (`source,target`, `src dst`, `from to`, …), or are not integers while the next
//! line's are. A weight column is accepted (it must be a finite number) and ignored: the
//! auto-encoder reconstructs 0/1 edges.
//!
//! Binary: a `.npy` file (recognised by its magic bytes) holding an int32, int64,
//! uint32 or uint64 array of shape `(E, 2)` or `(2, E)`, C or Fortran order (a `(2, 2)`
//! array is read as `(E, 2)`). Its ids must lie in `0..2^32`.
//!
//! Node ids are integers or arbitrary strings (the first edge decides; text only):
//! - integer ids with a node count (from [`EdgeListOptions::num_nodes`] or the rows of
//!   a `.npy`/`.mtx` feature matrix) are used as indices directly and must lie in `0..N`;
//! - other integer ids are mapped to `0..n` in increasing order
//!   ([`NodeIds::Integers`]);
//! - string ids are mapped to `0..n` in order of first appearance
//!   ([`NodeIds::Strings`]).
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

use memchr::memchr;

use super::features::{read_positional, read_table, Format, Rows};
use super::labels::read_labels;
use super::ndarray::parse_npy_header;
use super::text::{self, FastMap, FastSet, Fields, Lines};
use super::{format_error, input_to_format, line_error, read_file, Graph, IdIndex, NodeIds};
use super::{FeatureLayout, MissingFeatures};
use crate::error::Result;

/// Optional inputs for [`load_edge_list`]. Build with `..Default::default()` so new
/// fields do not break callers.
#[derive(Clone, Default)]
pub struct EdgeListOptions<'a> {
    /// Node count: integer ids are then indices in `0..num_nodes`.
    pub num_nodes: Option<usize>,
    /// Node features (see [`read_features`](super::read_features) for the formats): a
    /// dense float32/float64 `.npy` matrix or a sparse Matrix Market `.mtx` file (row `i`
    /// = node `i`; their row count fixes the node count when `num_nodes` is not given),
    /// or a CSV/TSV/whitespace table keyed by the edge list's node ids.
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
    let bytes = read_file(path)?;
    clock.lap(LoadPhase::Read);
    let npy = bytes.starts_with(b"\x93NUMPY");
    let parsed = if npy {
        parse_npy_edges(&bytes, path)?
    } else {
        parse_text(&bytes, path, default_threads())?
    };
    drop(bytes);
    clock.lap(LoadPhase::Parse);

    let feature_input = match &options.features {
        Some(fp) => {
            let fb = read_file(fp)?;
            let format = Format::of(fp, &fb);
            Some((fp.as_path(), fb, format))
        }
        None => None,
    };
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
                (n, parts, None, Some(x))
            } else {
                let (ids, parts) = map_integer_ids(chunks, path)?;
                (ids.len(), parts, Some(NodeIds::Integers(ids)), None)
            }
        }
    };
    clock.lap(LoadPhase::MapIds);

    let mut notes = Vec::new();
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

/// Threads for parsing: the cores available, at most 8.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Where an id was read, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// 1-based line of a text file.
    Line(usize),
    /// 0-based edge of a `.npy` array.
    Edge(usize),
}

/// One chunk's integer id pairs, with its smallest and largest id and where each first
/// occurs.
struct IntChunk {
    pairs: IntPairs,
    lo: Option<(i64, Place)>,
    hi: Option<(i64, Place)>,
}

/// Ids that fit `u32` (the usual case, 8 bytes a pair), or any `i64`.
enum IntPairs {
    Narrow(Vec<(u32, u32)>),
    Wide(Vec<(i64, i64)>),
}

/// Builds an [`IntChunk`] one pair at a time, with a branch-light path for ids in
/// `0..2^32`.
struct IntChunkBuilder {
    narrow: Vec<(u32, u32)>,
    wide: Option<Vec<(i64, i64)>>,
    lo: (i64, Place),
    hi: (i64, Place),
}

impl IntChunkBuilder {
    fn new(capacity: usize) -> IntChunkBuilder {
        IntChunkBuilder {
            narrow: Vec::with_capacity(capacity),
            wide: None,
            lo: (i64::MAX, Place::Line(0)),
            hi: (i64::MIN, Place::Line(0)),
        }
    }

    #[inline]
    fn push(&mut self, a: i64, b: i64, place: Place) {
        let (small, large) = if a <= b { (a, b) } else { (b, a) };
        if small < self.lo.0 {
            self.lo = (small, place);
        }
        if large > self.hi.0 {
            self.hi = (large, place);
        }
        if self.wide.is_none() && small >= 0 && large <= i64::from(u32::MAX) {
            self.narrow.push((a as u32, b as u32));
        } else {
            self.push_wide(a, b);
        }
    }

    #[cold]
    fn push_wide(&mut self, a: i64, b: i64) {
        let narrow = &self.narrow;
        self.wide
            .get_or_insert_with(|| {
                narrow
                    .iter()
                    .map(|&(x, y)| (i64::from(x), i64::from(y)))
                    .collect()
            })
            .push((a, b));
    }

    fn finish(self) -> IntChunk {
        let empty = self.narrow.is_empty() && self.wide.is_none();
        IntChunk {
            pairs: match self.wide {
                Some(wide) => IntPairs::Wide(wide),
                None => IntPairs::Narrow(self.narrow),
            },
            lo: (!empty).then_some(self.lo),
            hi: (!empty).then_some(self.hi),
        }
    }
}

impl IntChunk {
    fn len(&self) -> usize {
        match &self.pairs {
            IntPairs::Narrow(p) => p.len(),
            IntPairs::Wide(p) => p.len(),
        }
    }
}

/// What parsing produced, before ids become node indices.
struct Parsed {
    ids: ParsedIds,
    /// Some line had a weight column.
    weighted: bool,
    /// Line of the first data line (after any header); 0 for `.npy`.
    first_line: usize,
}

enum ParsedIds {
    Integers(Vec<IntChunk>),
    /// Already mapped in order of first appearance.
    Strings {
        parts: Vec<Vec<(u32, u32)>>,
        names: NodeIds,
    },
}

/// Below this many bytes the text is parsed on one thread.
const PARALLEL_BYTES: usize = 1 << 20;

/// Parses a text edge list on up to `threads` threads.
fn parse_text(bytes: &[u8], path: &Path, threads: usize) -> Result<Parsed> {
    parse_text_chunks(bytes, path, threads, PARALLEL_BYTES)
}

/// [`parse_text`] with the single-thread threshold as a parameter (tests split tiny
/// inputs).
fn parse_text_chunks(
    bytes: &[u8],
    path: &Path,
    threads: usize,
    parallel_bytes: usize,
) -> Result<Parsed> {
    let mut lines = Lines::new(bytes, 1);
    let Some((first_line, first)) = lines.next() else {
        return Err(format_error(
            path,
            "no edges: the file has no data lines".into(),
        ));
    };
    let after_first = lines.offset();
    let line_after_first = lines.next_line_number();
    let second = lines.next();
    let (region_start, region_line, data) = if is_header(first, second.map(|s| s.1)) {
        if let Err(e) = std::str::from_utf8(&bytes[..after_first]) {
            return Err(utf8_error(&bytes[..after_first], e, 1, path));
        }
        (after_first, line_after_first, second)
    } else {
        (0, 1, Some((first_line, first)))
    };
    let Some((data_line, data)) = data else {
        return Err(format_error(
            path,
            "no edges: the file has only a header".into(),
        ));
    };
    let mut fields = Fields::new(data);
    let integers = fields
        .by_ref()
        .take(2)
        .all(|f| text::parse_i64(f).is_some());
    let region = &bytes[region_start..];

    // Chunks end just after a newline, so no line is split.
    let threads = if region.len() < parallel_bytes {
        1
    } else {
        threads.max(1)
    };
    let mut starts = vec![0usize];
    for k in 1..threads {
        let at = (k * region.len() / threads).max(starts[k - 1]);
        let end = memchr(b'\n', &region[at..]).map_or(region.len(), |i| at + i + 1);
        starts.push(end);
    }
    starts.push(region.len());
    let chunks: Vec<&[u8]> = starts.windows(2).map(|w| &region[w[0]..w[1]]).collect();
    let outputs: Vec<ChunkOut> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks[1..]
            .iter()
            .map(|&chunk| s.spawn(move || parse_chunk(chunk, integers)))
            .collect();
        let mut outputs = vec![parse_chunk(chunks[0], integers)];
        outputs.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        outputs
    });

    // Absolute line numbers: each chunk starts where the previous one's lines end.
    let mut base = region_line;
    let mut weighted = false;
    let mut int_chunks = Vec::new();
    let mut string_chunks = Vec::new();
    for (out, chunk) in outputs.into_iter().zip(&chunks) {
        let absolute = |rel: usize| base + rel - 1;
        if let Some((rel, problem)) = out.error {
            return Err(match problem {
                Problem::Message(message) => line_error(path, absolute(rel), message),
                Problem::Utf8(e) => utf8_error(chunk, e, base, path),
            });
        }
        weighted |= out.weighted;
        match out.ids {
            ChunkIds::Ints(mut c) => {
                let fix = |p: Place| match p {
                    Place::Line(l) => Place::Line(absolute(l)),
                    other => other,
                };
                c.lo = c.lo.map(|(v, p)| (v, fix(p)));
                c.hi = c.hi.map(|(v, p)| (v, fix(p)));
                int_chunks.push(c);
            }
            ChunkIds::Strings(s) => string_chunks.push(s),
        }
        base += out.lines;
    }
    let ids = if integers {
        ParsedIds::Integers(int_chunks)
    } else {
        merge_strings(string_chunks, path)?
    };
    Ok(Parsed {
        ids,
        weighted,
        first_line: data_line,
    })
}

fn utf8_error(chunk: &[u8], e: std::str::Utf8Error, base: usize, path: &Path) -> crate::Error {
    let line = base
        + chunk[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
    line_error(path, line, "not valid UTF-8 text".into())
}

/// A first line is column names if its ids are known header words, or are not integers
/// while the next line's are.
fn is_header(first: &[u8], next: Option<&[u8]>) -> bool {
    const WORDS: [&[u8]; 14] = [
        b"source", b"target", b"src", b"dst", b"from", b"to", b"node1", b"node2", b"u", b"v",
        b"head", b"tail", b"id1", b"id2",
    ];
    let is_word = |f: &[u8]| WORDS.iter().any(|w| w.eq_ignore_ascii_case(f));
    let is_int = |f: &[u8]| text::parse_i64(f).is_some();
    let mut two = Fields::new(first).take(2);
    let (a, b) = (two.next(), two.next());
    let named = matches!((a, b), (Some(a), Some(b)) if is_word(a) && is_word(b));
    let not_ids = ![a, b].into_iter().flatten().all(is_int);
    let next_ids = next.is_some_and(|line| {
        let mut two = Fields::new(line).take(2);
        matches!((two.next(), two.next()), (Some(a), Some(b)) if is_int(a) && is_int(b))
    });
    named || (not_ids && next_ids)
}

/// What went wrong in a chunk, at a line relative to the chunk.
enum Problem {
    Message(String),
    Utf8(std::str::Utf8Error),
}

struct ChunkOut<'t> {
    /// Lines the chunk spans (it ends with a newline unless it is the last).
    lines: usize,
    /// The first problem and its chunk-relative line.
    error: Option<(usize, Problem)>,
    weighted: bool,
    ids: ChunkIds<'t>,
}

enum ChunkIds<'t> {
    Ints(IntChunk),
    Strings(StringChunk<'t>),
}

/// String ids of one chunk, numbered in the chunk's order of first appearance.
struct StringChunk<'t> {
    pairs: Vec<(u32, u32)>,
    names: Vec<&'t [u8]>,
    map: FastMap<&'t [u8], u32>,
}

/// The two ids of a data line and whether it has a weight, or what is wrong with it.
#[inline]
fn edge_fields(content: &[u8]) -> std::result::Result<(&[u8], &[u8], bool), String> {
    let mut got: [&[u8]; 3] = [&[], &[], &[]];
    let mut n = 0;
    for field in Fields::new(content) {
        if field.is_empty() {
            return Err(format!("field {} is empty", n + 1));
        }
        if n < 3 {
            got[n] = field;
        }
        n += 1;
    }
    match n {
        2 => Ok((got[0], got[1], false)),
        3 => match text::parse_f64(got[2]) {
            Some(w) if w.is_finite() => Ok((got[0], got[1], true)),
            _ => Err(format!(
                "the third field `{}` is not a number (expected a weight)",
                text::show(got[2])
            )),
        },
        n => Err(format!(
            "expected 2 fields (source target) or 3 (source target weight), found {n}"
        )),
    }
}

/// Parses one chunk of data lines; line numbers in the result are chunk-relative.
fn parse_chunk(chunk: &[u8], integers: bool) -> ChunkOut<'_> {
    // Invalid UTF-8 is reported at its line, unless a problem comes before it.
    let utf8 = std::str::from_utf8(chunk).err().map(|e| {
        let line = 1 + chunk[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        (line, e)
    });
    let mut out = if integers {
        parse_int_chunk(chunk, utf8.map_or(usize::MAX, |(line, _)| line))
    } else {
        parse_string_chunk(chunk, utf8.map_or(usize::MAX, |(line, _)| line))
    };
    if let Some((line, e)) = utf8 {
        if out.error.as_ref().is_none_or(|(at, _)| *at >= line) {
            out.error = Some((line, Problem::Utf8(e)));
        }
    }
    out
}

/// Space that may surround ids on the fast path (not tab: it decides the separator).
#[inline]
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | 0x0b | 0x0c)
}

/// The fast path for the common line `[blank] digits sep digits [blank] \n`, where
/// `sep` is blanks with at most one comma or tab: any such line splits into exactly
/// these two fields under the general rule. Returns the two ids and where the next line
/// starts, or `None` to leave the line to the general path.
#[inline]
fn fast_int_line(bytes: &[u8], mut i: usize) -> Option<(i64, i64, usize)> {
    let n = bytes.len();
    let digits = |i: &mut usize| -> Option<i64> {
        let start = *i;
        let mut value: i64 = 0;
        while *i < n {
            let d = bytes[*i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            value = value * 10 + i64::from(d);
            *i += 1;
            if *i - start > 18 {
                return None;
            }
        }
        (*i > start).then_some(value)
    };
    while i < n && is_blank(bytes[i]) {
        i += 1;
    }
    let a = digits(&mut i)?;
    let sep_start = i;
    let mut special = false;
    while i < n {
        match bytes[i] {
            b if is_blank(b) => i += 1,
            b',' | b'\t' if !special => {
                special = true;
                i += 1;
            }
            _ => break,
        }
    }
    if i == sep_start {
        return None;
    }
    let b = digits(&mut i)?;
    while i < n && is_blank(bytes[i]) {
        i += 1;
    }
    if i == n {
        Some((a, b, n))
    } else if bytes[i] == b'\n' {
        Some((a, b, i + 1))
    } else {
        None
    }
}

/// The next line of `chunk` from `pos`: its trimmed content and where the next starts.
#[inline]
fn general_line(chunk: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = &chunk[pos..];
    let end = memchr(b'\n', rest).unwrap_or(rest.len());
    (
        text::trim(text::strip_bom(&rest[..end])),
        pos + (end + 1).min(rest.len()),
    )
}

fn is_comment(content: &[u8]) -> bool {
    content.is_empty() || content[0] == b'#' || content[0] == b'%'
}

/// Integer ids: the fast path for plain lines, the general rule for the rest. Lines at
/// or after `stop_line` (invalid UTF-8) are not parsed.
fn parse_int_chunk(chunk: &[u8], stop_line: usize) -> ChunkOut<'_> {
    let mut ids = IntChunkBuilder::new(chunk.len() / 10);
    let mut weighted = false;
    let (mut pos, mut line) = (0, 0);
    let fail = |line: usize, message: String, ids: IntChunkBuilder| ChunkOut {
        lines: line,
        error: Some((line, Problem::Message(message))),
        weighted: false,
        ids: ChunkIds::Ints(ids.finish()),
    };
    while pos < chunk.len() {
        line += 1;
        if line >= stop_line {
            break;
        }
        if let Some((a, b, next)) = fast_int_line(chunk, pos) {
            ids.push(a, b, Place::Line(line));
            pos = next;
            continue;
        }
        let (content, next) = general_line(chunk, pos);
        pos = next;
        if is_comment(content) {
            continue;
        }
        let (a, b, weight) = match edge_fields(content) {
            Ok(fields) => fields,
            Err(message) => return fail(line, message, ids),
        };
        weighted |= weight;
        let (Some(x), Some(y)) = (text::parse_i64(a), text::parse_i64(b)) else {
            let bad = if text::parse_i64(a).is_none() { a } else { b };
            let message = format!(
                "non-numeric node id `{}`: the first edge uses integer ids, so all must be \
                 integers",
                text::show(bad)
            );
            return fail(line, message, ids);
        };
        ids.push(x, y, Place::Line(line));
    }
    ChunkOut {
        lines: line,
        error: None,
        weighted,
        ids: ChunkIds::Ints(ids.finish()),
    }
}

/// String ids, numbered in the chunk's order of first appearance.
fn parse_string_chunk(chunk: &[u8], stop_line: usize) -> ChunkOut<'_> {
    let mut s = StringChunk {
        pairs: Vec::with_capacity(chunk.len() / 16),
        names: Vec::new(),
        map: FastMap::default(),
    };
    let mut weighted = false;
    let mut error = None;
    let (mut pos, mut line) = (0, 0);
    while pos < chunk.len() {
        line += 1;
        if line >= stop_line {
            break;
        }
        let (content, next) = general_line(chunk, pos);
        pos = next;
        if is_comment(content) {
            continue;
        }
        let (a, b, weight) = match edge_fields(content) {
            Ok(fields) => fields,
            Err(message) => {
                error = Some((line, Problem::Message(message)));
                break;
            }
        };
        weighted |= weight;
        let mut index = |field| -> Option<u32> {
            if let Some(&k) = s.map.get(field) {
                return Some(k);
            }
            let k = u32::try_from(s.names.len()).ok()?;
            s.names.push(field);
            s.map.insert(field, k);
            Some(k)
        };
        let (Some(x), Some(y)) = (index(a), index(b)) else {
            error = Some((
                line,
                Problem::Message("more than 2^32 distinct node ids".into()),
            ));
            break;
        };
        s.pairs.push((x, y));
    }
    ChunkOut {
        lines: line,
        error,
        weighted,
        ids: ChunkIds::Strings(s),
    }
}

/// Numbers the chunks' string ids globally in order of first appearance: chunk 0's in
/// its order, then each later chunk's new ones in its order.
fn merge_strings(chunks: Vec<StringChunk>, path: &Path) -> Result<ParsedIds> {
    let mut chunks = chunks.into_iter();
    let Some(first) = chunks.next() else {
        return Err(format_error(path, "no edges".into()));
    };
    let mut map = first.map;
    let mut names = first.names;
    let mut parts = vec![first.pairs];
    for chunk in chunks {
        let mut translate = Vec::with_capacity(chunk.names.len());
        for name in chunk.names {
            let next = u32::try_from(names.len())
                .map_err(|_| format_error(path, "more than 2^32 distinct node ids".into()))?;
            let k = *map.entry(name).or_insert_with(|| {
                names.push(name);
                next
            });
            translate.push(k);
        }
        let mut pairs = chunk.pairs;
        for p in &mut pairs {
            *p = (translate[p.0 as usize], translate[p.1 as usize]);
        }
        parts.push(pairs);
    }
    let names = names
        .into_iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Ok(ParsedIds::Strings {
        parts,
        names: NodeIds::Strings(names),
    })
}

/// Id pairs chunk by chunk, as node indices.
type Parts = Vec<Vec<(u32, u32)>>;

/// Checks that every id lies in `0..n` (reporting the first chunk's offending id that
/// comes first) and returns the pairs.
fn check_range(chunks: Vec<IntChunk>, n: usize, origin: &str, path: &Path) -> Result<Parts> {
    let mut parts = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let low = chunk.lo.filter(|&(v, _)| v < 0);
        let high = chunk.hi.filter(|&(v, _)| v >= n as i64);
        let worst = match (low, high) {
            (Some(l), Some(h)) => Some(if l.1 <= h.1 { l } else { h }),
            (l, h) => l.or(h),
        };
        if let Some((id, place)) = worst {
            let message =
                format!("node id {id} is out of range: {origin}, so ids must be below {n}");
            return Err(match place {
                Place::Line(line) => line_error(path, line, message),
                Place::Edge(e) => format_error(path, format!("edge {e}: {message}")),
            });
        }
        match chunk.pairs {
            IntPairs::Narrow(pairs) => parts.push(pairs),
            // Unreachable after the check above, but never panic on input.
            IntPairs::Wide(_) => {
                return Err(format_error(path, "node ids outside 0..2^32".into()));
            }
        }
    }
    Ok(parts)
}

/// Maps integer ids to `0..n` in increasing order; returns the sorted distinct ids and
/// the remapped pairs.
///
/// Ids that fit `u32` and are not much sparser than the edges (largest id below twice
/// the id count plus 2^20) use a rank table indexed by id; others a sort and a hash map.
fn map_integer_ids(chunks: Vec<IntChunk>, path: &Path) -> Result<(Vec<i64>, Parts)> {
    let total: usize = chunks.iter().map(|c| 2 * c.len()).sum();
    let narrow = chunks
        .iter()
        .all(|c| matches!(c.pairs, IntPairs::Narrow(_)));
    let mut parts: Vec<Vec<(u32, u32)>> = Vec::with_capacity(chunks.len());
    let too_many = || format_error(path, "more than 2^32 distinct node ids".into());
    if narrow {
        let max = chunks
            .iter()
            .filter_map(|c| c.hi)
            .map(|(v, _)| v as usize)
            .max()
            .unwrap_or(0);
        parts.extend(chunks.into_iter().map(|c| match c.pairs {
            IntPairs::Narrow(p) => p,
            IntPairs::Wide(_) => Vec::new(),
        }));
        if max < total + (1 << 20) {
            // Bitmap of the ids present (each chunk marks its own, in parallel), then
            // the rank of an id is the number of set bits below it.
            let words = max / 64 + 1;
            let maps: Vec<Vec<u64>> = std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .iter()
                    .map(|part| {
                        s.spawn(move || {
                            let mut bits = vec![0u64; words];
                            for &(a, b) in part {
                                bits[a as usize >> 6] |= 1 << (a & 63);
                                bits[b as usize >> 6] |= 1 << (b & 63);
                            }
                            bits
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let mut maps = maps.into_iter();
            let mut bits = maps.next().unwrap_or_else(|| vec![0; words]);
            for other in maps {
                for (w, o) in bits.iter_mut().zip(other) {
                    *w |= o;
                }
            }
            let mut before = Vec::with_capacity(words);
            let mut ids = Vec::new();
            for (k, &word) in bits.iter().enumerate() {
                before.push(u32::try_from(ids.len()).map_err(|_| too_many())?);
                let mut w = word;
                while w != 0 {
                    ids.push((k * 64) as i64 + i64::from(w.trailing_zeros()));
                    w &= w - 1;
                }
            }
            if ids.len() > u32::MAX as usize {
                return Err(too_many());
            }
            let (bits, before) = (&bits, &before);
            let rank = move |id: u32| -> u32 {
                let (word, bit) = (id as usize >> 6, id & 63);
                before[word] + (bits[word] & ((1u64 << bit) - 1)).count_ones()
            };
            std::thread::scope(|s| {
                for part in &mut parts {
                    s.spawn(move || {
                        for p in part.iter_mut() {
                            *p = (rank(p.0), rank(p.1));
                        }
                    });
                }
            });
            return Ok((ids, parts));
        }
        let mut distinct: FastSet<u32> = FastSet::default();
        for part in &parts {
            for &(a, b) in part {
                distinct.insert(a);
                distinct.insert(b);
            }
        }
        let mut sorted: Vec<u32> = distinct.into_iter().collect();
        sorted.sort_unstable();
        let rank: FastMap<u32, u32> = sorted
            .iter()
            .enumerate()
            .map(|(k, &id)| (id, k as u32))
            .collect();
        if sorted.len() > u32::MAX as usize {
            return Err(too_many());
        }
        for part in &mut parts {
            for p in part.iter_mut() {
                *p = (rank[&p.0], rank[&p.1]);
            }
        }
        return Ok((sorted.into_iter().map(i64::from).collect(), parts));
    }
    let wide = |c: &IntChunk| -> Vec<(i64, i64)> {
        match &c.pairs {
            IntPairs::Narrow(p) => p
                .iter()
                .map(|&(a, b)| (i64::from(a), i64::from(b)))
                .collect(),
            IntPairs::Wide(p) => p.clone(),
        }
    };
    let mut distinct: FastSet<i64> = FastSet::default();
    let chunks: Vec<Vec<(i64, i64)>> = chunks.iter().map(wide).collect();
    for c in &chunks {
        for &(a, b) in c {
            distinct.insert(a);
            distinct.insert(b);
        }
    }
    let mut sorted: Vec<i64> = distinct.into_iter().collect();
    sorted.sort_unstable();
    if sorted.len() > u32::MAX as usize {
        return Err(too_many());
    }
    let rank: FastMap<i64, u32> = sorted
        .iter()
        .enumerate()
        .map(|(k, &id)| (id, k as u32))
        .collect();
    for c in chunks {
        parts.push(c.iter().map(|(a, b)| (rank[a], rank[b])).collect());
    }
    Ok((sorted, parts))
}

/// Reads a `.npy` edge array (see the module docs).
fn parse_npy_edges(bytes: &[u8], path: &Path) -> Result<Parsed> {
    let header = parse_npy_header(bytes).map_err(|m| format_error(path, m))?;
    let (size, signed) = match header.code.as_str() {
        "i4" => (4, true),
        "i8" => (8, true),
        "u4" => (4, false),
        "u8" => (8, false),
        other => {
            return Err(format_error(
                path,
                format!(
                    "edges must be an int32, int64, uint32 or uint64 array, found dtype '{other}'"
                ),
            ))
        }
    };
    let little = match header.byte_order {
        b'<' | b'=' => true,
        b'>' => false,
        other => {
            return Err(format_error(
                path,
                format!(
                    "byte order {:?} is not valid for '{}'",
                    char::from(other),
                    header.code
                ),
            ))
        }
    };
    // (rows, cols) and whether edges run along the rows.
    let (rows, cols, edges_are_rows) = match header.shape[..] {
        [e, 2] => (e, 2, true),
        [2, e] => (2, e, false),
        _ => {
            return Err(format_error(
                path,
                format!(
                    "edges must have shape (E, 2) or (2, E), found {:?}",
                    header.shape
                ),
            ))
        }
    };
    let data = &bytes[header.data_offset..];
    header
        .check_data_len(size, data.len())
        .map_err(|m| format_error(path, m))?;
    let num_edges = if edges_are_rows { rows } else { cols };
    if num_edges == 0 {
        return Err(format_error(path, "no edges: the array is empty".into()));
    }
    let element = |k: usize| -> i128 {
        let raw = &data[k * size..(k + 1) * size];
        let mut word = [0u8; 8];
        if little {
            word[..size].copy_from_slice(raw);
        } else {
            for (i, &b) in raw.iter().rev().enumerate() {
                word[i] = b;
            }
        }
        let unsigned = u64::from_le_bytes(word);
        match (signed, size) {
            (true, 4) => i128::from(unsigned as u32 as i32),
            (true, _) => i128::from(unsigned as i64),
            (false, _) => i128::from(unsigned),
        }
    };
    let offset = |r: usize, c: usize| {
        if header.fortran_order {
            c * rows + r
        } else {
            r * cols + c
        }
    };
    let mut chunk = IntChunkBuilder::new(num_edges);
    for e in 0..num_edges {
        let (ka, kb) = if edges_are_rows {
            (offset(e, 0), offset(e, 1))
        } else {
            (offset(0, e), offset(1, e))
        };
        let (a, b) = (element(ka), element(kb));
        for v in [a, b] {
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
        }
        chunk.push(a as i64, b as i64, Place::Edge(e));
    }
    Ok(Parsed {
        ids: ParsedIds::Integers(vec![chunk.finish()]),
        weighted: false,
        first_line: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The pairs a parse produced, as original ids (so chunkings can be compared).
    fn flat(parsed: &Parsed) -> Vec<(String, String)> {
        match &parsed.ids {
            ParsedIds::Integers(chunks) => chunks
                .iter()
                .flat_map(|c| match &c.pairs {
                    IntPairs::Narrow(p) => p
                        .iter()
                        .map(|&(a, b)| (a.to_string(), b.to_string()))
                        .collect::<Vec<_>>(),
                    IntPairs::Wide(p) => p
                        .iter()
                        .map(|&(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                })
                .collect(),
            ParsedIds::Strings { parts, names } => parts
                .iter()
                .flatten()
                .map(|&(a, b)| {
                    let name = |k: u32| names.get(k as usize).unwrap().into_owned();
                    (name(a), name(b))
                })
                .collect(),
        }
    }

    /// A random edge list with comments, blank lines, CRLF endings, weights and a
    /// header, and its pairs.
    fn random_text(seed: u64, strings: bool) -> (String, Vec<(String, String)>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut text = String::from("# generated\nsource,target\n");
        let mut pairs = Vec::new();
        for _ in 0..rng.random_range(1..400) {
            match rng.random_range(0..10) {
                0 => text.push_str("% comment, with a comma\n"),
                1 => text.push_str("\n  \r\n"),
                _ => {
                    let id = |rng: &mut rand::rngs::StdRng| {
                        let k: u32 = rng.random_range(0..50);
                        if strings {
                            format!("n{k}")
                        } else {
                            k.to_string()
                        }
                    };
                    let (a, b) = (id(&mut rng), id(&mut rng));
                    let sep = [",", "\t", " ", " , "][rng.random_range(0..4)];
                    text.push_str(&a);
                    text.push_str(sep);
                    text.push_str(&b);
                    if rng.random_bool(0.2) {
                        text.push_str(sep);
                        text.push_str("0.5");
                    }
                    text.push_str(if rng.random_bool(0.3) { "\r\n" } else { "\n" });
                    pairs.push((a, b));
                }
            }
        }
        (text, pairs)
    }

    #[test]
    fn every_chunking_parses_the_same() {
        for seed in 0..40 {
            for strings in [false, true] {
                let (text, pairs) = random_text(seed, strings);
                let one = parse_text_chunks(text.as_bytes(), Path::new("t"), 1, 0).unwrap();
                assert_eq!(flat(&one), pairs, "seed {seed}");
                for threads in 2..6 {
                    let many =
                        parse_text_chunks(text.as_bytes(), Path::new("t"), threads, 0).unwrap();
                    assert_eq!(flat(&many), pairs, "seed {seed}, {threads} threads");
                    if let (
                        ParsedIds::Strings { names: a, .. },
                        ParsedIds::Strings { names: b, .. },
                    ) = (&one.ids, &many.ids)
                    {
                        assert_eq!(a, b, "first-appearance order, seed {seed}");
                    }
                }
            }
        }
    }

    /// The fast path must agree with the general rule on every line it accepts, and
    /// leave the others to it: compare whole-chunk results with the general rule applied
    /// line by line.
    #[test]
    fn fast_path_agrees_with_the_general_rule() {
        let lines = [
            "1 2",
            "1\t2",
            "1,2",
            " 1 , 2 ",
            "1 ,\t2",
            "1\t\t2",
            "1 2\t",
            "\t1 2",
            "1,\t2",
            "1,,2",
            "1 2 3",
            "1 2 x",
            "+1 2",
            "1 -2",
            "007 8\r",
            "1\r2",
            "1\x0b2",
            "12a 3",
            "99999999999999999999 1",
            "123456789012345678 1",
            "1234567890123456789 1",
            "4294967296 0",
            "1 2,",
            ",1 2",
            "1 2 ,",
            "\u{feff}1 2",
            "# 1 2",
            "  % x",
            "1",
            "1\t2\t3",
            "1\t2\tw",
        ];
        for line in lines {
            let text = format!("{line}\n");
            let got = parse_int_chunk(text.as_bytes(), usize::MAX);
            let content = text::trim(text::strip_bom(line.as_bytes()));
            let expected: std::result::Result<Option<(i64, i64)>, String> = if is_comment(content) {
                Ok(None)
            } else {
                edge_fields(content).and_then(|(a, b, _)| {
                    match (text::parse_i64(a), text::parse_i64(b)) {
                        (Some(x), Some(y)) => Ok(Some((x, y))),
                        _ => Err("non-numeric".into()),
                    }
                })
            };
            let ChunkIds::Ints(chunk) = got.ids else {
                panic!("integer chunk expected")
            };
            let pairs: Vec<(i64, i64)> = match &chunk.pairs {
                IntPairs::Narrow(p) => p.iter().map(|&(a, b)| (a.into(), b.into())).collect(),
                IntPairs::Wide(p) => p.clone(),
            };
            match (expected, got.error) {
                (Ok(Some(pair)), None) => assert_eq!(pairs, vec![pair], "{line:?}"),
                (Ok(None), None) => assert!(pairs.is_empty(), "{line:?}"),
                (Err(e), Some((1, Problem::Message(m)))) => {
                    assert!(
                        m.starts_with(e.split(' ').next().unwrap()),
                        "{line:?}: {m} vs {e}"
                    )
                }
                (e, g) => panic!(
                    "{line:?}: expected {e:?}, got error {:?}",
                    g.map(|(l, p)| match p {
                        Problem::Message(m) => format!("{l}: {m}"),
                        Problem::Utf8(_) => "utf8".into(),
                    })
                ),
            }
        }
    }

    #[test]
    fn errors_carry_absolute_lines_whatever_the_chunking() {
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!("{i} {}\n", i + 1));
            if i % 7 == 0 {
                text.push_str("# c\n");
            }
        }
        let line = text.lines().count() + 1;
        text.push_str("3 x\n");
        for i in 0..200 {
            text.push_str(&format!("{i} {}\n", i + 2));
        }
        for threads in 1..6 {
            let e = match parse_text_chunks(text.as_bytes(), Path::new("t"), threads, 0) {
                Ok(_) => panic!("parsed"),
                Err(e) => e.to_string(),
            };
            assert!(
                e.starts_with(&format!("t:{line}: non-numeric node id `x`")),
                "{threads}: {e}"
            );
        }
        let mut bad = text.clone().into_bytes();
        let at = bad.len() - 5;
        bad[at] = 0xff;
        let last = text.lines().count();
        for threads in 1..6 {
            let e = match parse_text_chunks(&bad, Path::new("t"), threads, 0) {
                Ok(_) => panic!("parsed"),
                Err(e) => e.to_string(),
            };
            // The first error wins: the non-numeric id comes before the bad byte.
            assert!(e.contains(&format!(":{line}: non-numeric")), "{e}");
        }
        // Alone, the bad byte is reported at its line.
        let mut only_bad = text.replace("3 x\n", "").into_bytes();
        let at = only_bad.len() - 5;
        only_bad[at] = 0xff;
        for threads in 1..6 {
            let e = match parse_text_chunks(&only_bad, Path::new("t"), threads, 0) {
                Ok(_) => panic!("parsed"),
                Err(e) => e.to_string(),
            };
            assert_eq!(
                e,
                format!("t:{}: not valid UTF-8 text", last - 1),
                "{threads}"
            );
        }
    }

    #[test]
    fn utf8_errors_name_the_line() {
        let mut text = b"0 1\n1 2\n".to_vec();
        text.extend_from_slice(b"2 \xff\n");
        for threads in 1..4 {
            let e = match parse_text_chunks(&text, Path::new("t"), threads, 0) {
                Ok(_) => panic!("parsed"),
                Err(e) => e.to_string(),
            };
            assert_eq!(e, "t:3: not valid UTF-8 text", "{threads}");
        }
    }

    #[test]
    fn sparse_and_wide_ids_map_in_increasing_order() {
        let ids: [i64; 5] = [-5, 0, 3_000_000_000, 1 << 40, 17];
        let mut wide = IntChunkBuilder::new(0);
        wide.push(ids[0], ids[1], Place::Line(1));
        wide.push(ids[2], ids[3], Place::Line(2));
        let mut narrow = IntChunkBuilder::new(0);
        narrow.push(ids[4], 0, Place::Line(3));
        let chunks = vec![wide.finish(), narrow.finish()];
        let (sorted, parts) = map_integer_ids(chunks, Path::new("t")).unwrap();
        assert_eq!(sorted, vec![-5, 0, 17, 3_000_000_000, 1 << 40]);
        assert_eq!(parts, vec![vec![(0, 1), (3, 4)], vec![(2, 1)]]);

        // u32 ids too sparse for the rank table.
        let mut sparse = IntChunkBuilder::new(0);
        sparse.push(4_000_000_000, 7, Place::Line(1));
        sparse.push(7, 2_000_000_000, Place::Line(2));
        let (sorted, parts) = map_integer_ids(vec![sparse.finish()], Path::new("t")).unwrap();
        assert_eq!(sorted, vec![7, 2_000_000_000, 4_000_000_000]);
        assert_eq!(parts, vec![vec![(2, 0), (0, 1)]]);
    }
}
