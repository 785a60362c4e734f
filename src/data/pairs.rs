//! Files of node pairs to score (`predict --pairs FILE`): one pair per line, two node ids
//! as the graph's edge list names them, read with the edge list's tokenizer (comma, tab
//! or whitespace separated, CSV quotes, `#`/`%` comments, byte-order marks) and an
//! optional header line.

use std::path::Path;

use super::ids::IdIndex;
use super::input::read_text_file;
use super::text::{self, Field, Fields, Lines};
use super::{line_error, Graph};
use crate::error::Result;

/// Reads a pairs file as node indices of `graph`, in file order.
///
/// Ids are looked up with the graph's id map ([`Graph::node_ids`]; integers `0..N`
/// when it has none, compared as numbers). The first line is a header, and skipped,
/// when neither of its two fields is a node of the graph or reads as a number. Errors
/// name the file and line: a line of other than two fields, an id the graph lacks,
/// malformed quotes, text that is not UTF-8.
pub fn read_pairs(path: &Path, graph: &Graph) -> Result<Vec<(u32, u32)>> {
    let bytes = read_text_file(path)?;
    text::check_text(&bytes, path)?;
    let index = IdIndex::new(graph.num_nodes, graph.node_ids.as_ref());
    let mut pairs = Vec::new();
    for (k, (line, content)) in Lines::new(&bytes, 1).enumerate() {
        let at = |message: String| line_error(path, line, message);
        let fields: Vec<Field> = Fields::new(content)
            .collect::<std::result::Result<_, _>>()
            .map_err(at)?;
        let [a, b] = &fields[..] else {
            return Err(at(format!(
                "expected two node ids, found {} fields",
                fields.len()
            )));
        };
        let (found_a, found_b) = (index.find(a), index.find(b));
        let header = k == 0
            && found_a.is_none()
            && found_b.is_none()
            && !fields.iter().any(|f| text::looks_numeric(f));
        if header {
            continue;
        }
        let node = |field: &[u8], found: Option<u32>| {
            found.ok_or_else(|| {
                at(format!(
                    "node `{}` is not in the graph (ids are {})",
                    text::show(field),
                    index.describe()
                ))
            })
        };
        pairs.push((node(a, found_a)?, node(b, found_b)?));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::NodeIds;

    fn temp(name: &str, text: &[u8]) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("gpu-vgae-pairs-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn graph(ids: Option<NodeIds>, n: usize) -> Graph {
        let mut g = Graph::from_edges(n, &[(0, 1)], None).unwrap();
        g.node_ids = ids;
        g
    }

    /// The edge list's conventions: header, `%` and `#` comments, BOM, CRLF, quotes,
    /// any separator; integer ids compared as numbers.
    #[test]
    fn pairs_read_like_edge_lists() {
        let names = NodeIds::Strings(vec!["alice".into(), "bob".into(), "carol, jr".into()]);
        let g = graph(Some(names), 3);
        let p = temp(
            "names.csv",
            b"\xef\xbb\xbfsource,target\r\n% a comment\n# another\n\"alice\",\"bob\"\r\nbob,\"carol, jr\"\n\"carol, jr\",alice",
        );
        assert_eq!(read_pairs(&p, &g).unwrap(), vec![(0, 1), (1, 2), (2, 0)]);

        let g = graph(Some(NodeIds::Integers(vec![5, 10, 20])), 3);
        let p = temp("ints.tsv", b"src\tdst\n010\t5\n\"20\"\t10\n");
        assert_eq!(read_pairs(&p, &g).unwrap(), vec![(1, 0), (2, 1)]);

        let g = graph(None, 4);
        let p = temp("plain.txt", b"0 3\n2 1\n");
        assert_eq!(read_pairs(&p, &g).unwrap(), vec![(0, 3), (2, 1)]);
    }

    #[test]
    fn bad_pairs_name_the_file_and_line() {
        let g = graph(None, 4);
        let cases: [(&str, &[u8], &str); 6] = [
            (
                "unknown.txt",
                b"0 1\n0 9\n",
                ":2: node `9` is not in the graph",
            ),
            // A numeric first line is never a header.
            (
                "first.txt",
                b"7 9\n0 1\n",
                ":1: node `7` is not in the graph",
            ),
            (
                "three.txt",
                b"0 1 2\n",
                ":1: expected two node ids, found 3 fields",
            ),
            (
                "one.txt",
                b"a b\n0\n",
                ":2: expected two node ids, found 1 fields",
            ),
            (
                "quote.csv",
                b"0,\"1\n",
                ":1: field 2: the quoted field does not end",
            ),
            ("binary.txt", b"0 1\n\x00\x01", ":2: NUL byte"),
        ];
        for (name, text, needle) in cases {
            let p = temp(name, text);
            let e = read_pairs(&p, &g).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(needle), "{name}: {e}");
        }
    }
}
