//! Feature tables keyed by node id: comma, tab or whitespace separated text (the edge
//! list's tokenizer, quotes included), `#`/`%` comments, an optional header line. The id
//! column is the one the header names `id`, `node`, `node_id` or `name` (any case), else
//! the first; every other column is numeric. Ids are the edge list's ids, with its
//! mapping ([`IdIndex`]).

use std::path::Path;

use super::features::{nnz_u32, MissingFeatures};
use super::ids::IdIndex;
use super::text::{self, Field, Fields, Lines};
use super::{format_error, input_to_format, line_error};
use crate::error::Result;
use crate::sparse::Csr;

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
    text::check_text(bytes, path)?;
    let n = index.num_nodes;
    let mut lines = Lines::new(bytes, 1).peekable();
    let Some(&(first_line, first)) = lines.peek() else {
        return Err(format_error(
            path,
            "no feature rows: the file has no data lines".into(),
        ));
    };
    let head: Vec<Field> = Fields::new(first)
        .collect::<std::result::Result<_, _>>()
        .map_err(|message| line_error(path, first_line, message))?;
    let header = head.iter().any(|f| is_id_word(f))
        || head.first().is_some_and(|f| f.is_empty())
        || head.iter().skip(1).any(|f| text::parse_f64(f).is_none());
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
            format!(" (`{}`)", text::show(&head[c]))
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
            let field = field.map_err(at)?;
            count += 1;
            if c >= width {
                continue;
            }
            if c == id_col {
                if field.is_empty() {
                    return Err(at(format!("column {}: the node id is empty", c + 1)));
                }
                let Some(k) = index.find(&field) else {
                    return Err(at(format!(
                        "node `{}` is not in the graph (ids are {})",
                        text::show(&field),
                        index.describe()
                    )));
                };
                if row_of[k as usize] != NONE {
                    return Err(at(format!(
                        "node `{}` has a second feature row (the first is on line {})",
                        text::show(&field),
                        row_lines[row_of[k as usize]]
                    )));
                }
                node = Some(k as usize);
                continue;
            }
            match text::parse_f64(&field) {
                Some(v) if (v as f32).is_finite() => values.push(v as f32),
                _ => {
                    return Err(at(format!(
                        "column {}{}: `{}` is not a finite number",
                        c + 1,
                        column_name(c),
                        text::show(&field)
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
