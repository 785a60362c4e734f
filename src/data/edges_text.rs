//! The text edge-list parser: the header rule, the split into chunks at line
//! boundaries parsed in parallel (one per core), a fast path for plain integer lines and
//! the general rule (the shared tokenizer, quotes included) for every other line. Line
//! numbers in errors are absolute whatever the chunking.

use std::borrow::Cow;
use std::path::Path;

use memchr::memchr;

use super::ids::{merge_strings, IntChunk, IntChunkBuilder, Place, StringChunk};
use super::text::{self, Field, Fields, Lines};
use super::{format_error, line_error, NodeIds};
use crate::error::Result;
use crate::parallel::map_parts;

/// What parsing produced, before ids become node indices.
pub(super) struct Parsed {
    pub(super) ids: ParsedIds,
    /// Some line had a weight column.
    pub(super) weighted: bool,
    /// Line of the first data line (after any header); 0 for `.npy`.
    pub(super) first_line: usize,
}

pub(super) enum ParsedIds {
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
pub(super) fn parse_text(bytes: &[u8], path: &Path, threads: usize) -> Result<Parsed> {
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
        if let Some((at, nul)) = text::first_non_text(&bytes[..after_first]) {
            return Err(text::not_text(path, text::line_of(bytes, at), nul));
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
    // The first edge decides: integer ids, or strings. An integer too large for 64 bits
    // is an error here, not a string id.
    let mut two = Fields::new(data).take(2);
    let integers = match (two.next(), two.next()) {
        (Some(Ok(a)), Some(Ok(b))) => {
            for field in [&a, &b] {
                if text::is_integer_text(field) && text::parse_i64(field).is_none() {
                    return Err(line_error(path, data_line, too_large_id(field)));
                }
            }
            text::parse_i64(&a).is_some() && text::parse_i64(&b).is_some()
        }
        _ => false,
    };
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
    let outputs: Vec<ChunkOut> = map_parts(chunks, |chunk| parse_chunk(chunk, integers));

    // Absolute line numbers: each chunk starts where the previous one's lines end.
    let mut base = region_line;
    let mut weighted = false;
    let mut int_chunks = Vec::new();
    let mut string_chunks = Vec::new();
    for out in outputs {
        let absolute = |rel: usize| base + rel - 1;
        if let Some((rel, problem)) = out.error {
            return Err(match problem {
                Problem::Message(message) => line_error(path, absolute(rel), message),
                Problem::NotText { nul } => text::not_text(path, absolute(rel), nul),
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
        let (parts, names) = merge_strings(string_chunks, path)?;
        ParsedIds::Strings { parts, names }
    };
    Ok(Parsed {
        ids,
        weighted,
        first_line: data_line,
    })
}

/// A first line is column names if neither of its ids reads as a number and they are
/// known header words (`source,target`, `src dst`, `from to`, ...) or the next line's
/// ids are integers. Fields are compared unquoted, so `"source","target"` is a header
/// too; a first line with a number in it (even one too large for any id type) is data.
fn is_header(first: &[u8], next: Option<&[u8]>) -> bool {
    const WORDS: [&[u8]; 14] = [
        b"source", b"target", b"src", b"dst", b"from", b"to", b"node1", b"node2", b"u", b"v",
        b"head", b"tail", b"id1", b"id2",
    ];
    let is_word = |f: &[u8]| WORDS.iter().any(|w| w.eq_ignore_ascii_case(f));
    let is_int = |f: &[u8]| text::parse_i64(f).is_some();
    // The first two fields, or `None` if the quoting is malformed.
    fn two(line: &[u8]) -> Option<Vec<Field<'_>>> {
        Fields::new(line)
            .take(2)
            .collect::<std::result::Result<_, _>>()
            .ok()
    }
    let Some(names) = two(first) else {
        return false;
    };
    if names.iter().any(|f| text::looks_numeric(f)) {
        return false;
    }
    let named = names.len() == 2 && names.iter().all(|f| is_word(f));
    let next_ids = next
        .and_then(two)
        .is_some_and(|ids| ids.len() == 2 && ids.iter().all(|f| is_int(f)));
    named || (!names.is_empty() && next_ids)
}

/// The message for an integer id too large for 64 bits.
fn too_large_id(field: &[u8]) -> String {
    format!(
        "node id `{}` is too large: integer ids must lie in -2^63..2^63",
        text::show(field)
    )
}

/// What went wrong in a chunk, at a line relative to the chunk.
enum Problem {
    Message(String),
    /// Invalid UTF-8, or a NUL byte.
    NotText {
        nul: bool,
    },
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

/// The two ids of a data line and whether it has a weight, or what is wrong with it.
#[inline]
fn edge_fields(content: &[u8]) -> std::result::Result<(Field<'_>, Field<'_>, bool), String> {
    let mut got: [Field; 3] = [Cow::Borrowed(&[]), Cow::Borrowed(&[]), Cow::Borrowed(&[])];
    let mut n = 0;
    for field in Fields::new(content) {
        let field = field?;
        if field.is_empty() {
            return Err(format!("field {} is empty", n + 1));
        }
        if n < 3 {
            got[n] = field;
        }
        n += 1;
    }
    let [a, b, weight] = got;
    match n {
        2 => Ok((a, b, false)),
        3 => match text::parse_f64(&weight) {
            Some(w) if w.is_finite() => Ok((a, b, true)),
            _ => Err(format!(
                "the third field `{}` is not a number (expected a weight)",
                text::show(&weight)
            )),
        },
        n => Err(format!(
            "expected 2 fields (source target) or 3 (source target weight), found {n}"
        )),
    }
}

/// Parses one chunk of data lines; line numbers in the result are chunk-relative.
fn parse_chunk(chunk: &[u8], integers: bool) -> ChunkOut<'_> {
    // Invalid UTF-8 or a NUL byte is reported at its line, unless a problem comes first.
    let not_text = text::first_non_text(chunk).map(|(at, nul)| (text::line_of(chunk, at), nul));
    let stop_line = not_text.map_or(usize::MAX, |(line, _)| line);
    let mut out = if integers {
        parse_int_chunk(chunk, stop_line)
    } else {
        parse_string_chunk(chunk, stop_line)
    };
    if let Some((line, nul)) = not_text {
        if out.error.as_ref().is_none_or(|(at, _)| *at >= line) {
            out.error = Some((line, Problem::NotText { nul }));
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
        let (Some(x), Some(y)) = (text::parse_i64(&a), text::parse_i64(&b)) else {
            let bad = if text::parse_i64(&a).is_none() { a } else { b };
            let message = if text::is_integer_text(&bad) {
                too_large_id(&bad)
            } else {
                format!(
                    "non-numeric node id `{}`: the first edge uses integer ids, so all must \
                     be integers",
                    text::show(&bad)
                )
            };
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
fn parse_string_chunk<'t>(chunk: &'t [u8], stop_line: usize) -> ChunkOut<'t> {
    let mut s = StringChunk::with_capacity(chunk.len() / 16);
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
        let (Some(x), Some(y)) = (s.intern(a), s.intern(b)) else {
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

#[cfg(test)]
mod tests {
    use super::super::ids::IntPairs;
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
                    // (name, as written): names with a quote in them are written either
                    // quoted with the quote doubled or bare; any id may be quoted.
                    let id = |rng: &mut rand::rngs::StdRng| {
                        let k: u32 = rng.random_range(0..50);
                        let name = match (strings, k % 7) {
                            (false, _) => k.to_string(),
                            (true, 0) => format!("q\"{k}"),
                            (true, _) => format!("n{k}"),
                        };
                        let written = match (name.contains('"'), rng.random_range(0..3)) {
                            (true, 0) => name.clone(),
                            (true, _) => format!("\"{}\"", name.replace('"', "\"\"")),
                            (false, 0) => format!("\"{name}\""),
                            (false, _) => name.clone(),
                        };
                        (name, written)
                    };
                    let ((a, a_text), (b, b_text)) = (id(&mut rng), id(&mut rng));
                    let sep = [",", "\t", " ", " , "][rng.random_range(0..4)];
                    text.push_str(&a_text);
                    text.push_str(sep);
                    text.push_str(&b_text);
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
            "\"1\",\"2\"",
            "\"1\" \"2\"",
            "\"1\"\t2",
            "\"1,2\",3",
            "\"1\"x,2",
            "\"1,2",
        ];
        for line in lines {
            let text = format!("{line}\n");
            let got = parse_int_chunk(text.as_bytes(), usize::MAX);
            let content = text::trim(text::strip_bom(line.as_bytes()));
            let expected: std::result::Result<Option<(i64, i64)>, String> = if is_comment(content) {
                Ok(None)
            } else {
                edge_fields(content).and_then(|(a, b, _)| {
                    match (text::parse_i64(&a), text::parse_i64(&b)) {
                        (Some(x), Some(y)) => Ok(Some((x, y))),
                        (x, _) => {
                            let bad = if x.is_none() { a } else { b };
                            Err(if text::is_integer_text(&bad) {
                                "node id".into()
                            } else {
                                "non-numeric".into()
                            })
                        }
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
                        Problem::NotText { .. } => "not text".into(),
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
}
