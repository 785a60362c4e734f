//! Node labels files: one `node_id label` line per node (comma, tab or whitespace
//! separated, `#`/`%` comments, an optional header line such as `node label`). The same
//! reader serves evaluation labels (`--labels`) and the few labels a conditional prior
//! trains with (`--train-labels`).

use std::collections::HashMap;
use std::path::Path;

use super::ids::IdIndex;
use super::input::read_text_file;
use super::text::{self, Field, Fields, Lines};
use super::{format_error, line_error, Graph};
use crate::error::Result;

/// Labels read for a graph's nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLabels {
    /// The class of every node (`graph.num_nodes` of them), `-1` where a node has none.
    pub labels: Vec<i32>,
    /// The class names when the file names its classes: class `c` is `class_names[c]`;
    /// `None` when every label is an integer.
    pub class_names: Option<Vec<String>>,
}

impl NodeLabels {
    /// Number of nodes that have a label.
    pub fn labelled(&self) -> usize {
        self.labels.iter().filter(|&&l| l >= 0).count()
    }
}

/// Header words of the id column and of the label column.
const ID_WORDS: [&[u8]; 6] = [b"id", b"node", b"node_id", b"name", b"vertex", b"nodes"];
const LABEL_WORDS: [&[u8]; 9] = [
    b"label",
    b"labels",
    b"class",
    b"class_name",
    b"y",
    b"target",
    b"category",
    b"community",
    b"group",
];

fn is_word(words: &[&[u8]], field: &[u8]) -> bool {
    words.iter().any(|w| w.eq_ignore_ascii_case(field))
}

/// Reads a labels file for `graph`: lines `node_id label`, node ids as the graph's id
/// map has them ([`Graph::node_ids`]: the edge list's ids with its mapping, or integers
/// `0..N`). Nodes the file does not list get `-1`, and so do labels `-1` or empty (a
/// line with the id alone, or an empty second field).
///
/// Labels are integers when every label in the file is one (each `>= -1`, kept as
/// given). Otherwise they are class names, numbered `0..C-1` in order of first
/// appearance; if the graph already has class names ([`Graph::class_names`], e.g. from
/// its evaluation labels) those keep their numbers and new names follow, so training and
/// evaluation labels agree.
///
/// A first line whose id is not a node of the graph is a header when its first field is
/// a word like `node` or `id`, or its second one like `label` or `class`. Unknown node
/// ids, a node listed twice with different labels, and lines of more than two fields
/// are errors naming the file and line.
pub fn read_labels(path: &Path, graph: &Graph) -> Result<NodeLabels> {
    let bytes = read_text_file(path)?;
    text::check_text(&bytes, path)?;
    let index = IdIndex::new(graph.num_nodes, graph.node_ids.as_ref());
    // (node, label text; None = unlabelled, line).
    let mut records: Vec<(u32, Option<Field>, usize)> = Vec::new();
    let mut record_of = vec![0usize; graph.num_nodes];
    for (k, (line, content)) in Lines::new(&bytes, 1).enumerate() {
        let at = |message: String| line_error(path, line, message);
        let fields: Vec<Field> = Fields::new(content)
            .collect::<std::result::Result<_, _>>()
            .map_err(at)?;
        if fields.len() > 2 {
            return Err(at(format!(
                "expected 2 fields (node_id label), found {}",
                fields.len()
            )));
        }
        let mut fields = fields.into_iter();
        let id = fields.next().unwrap_or_default();
        let label = fields.next();
        let id: &[u8] = &id;
        let node = index.find(id);
        if k == 0
            && node.is_none()
            && (is_word(&ID_WORDS, id) || label.as_ref().is_some_and(|l| is_word(&LABEL_WORDS, l)))
        {
            continue;
        }
        if id.is_empty() {
            return Err(at("the node id is empty".into()));
        }
        let Some(node) = node else {
            return Err(at(format!(
                "node `{}` is not in the graph (ids are {})",
                text::show(id),
                index.describe()
            )));
        };
        let label = label.filter(|l| !l.is_empty() && &**l != b"-1");
        // 1 + the index of the node's record, 0 if none yet.
        let seen = record_of[node as usize];
        if seen != 0 {
            let (_, before, before_line) = &records[seen - 1];
            if *before != label {
                return Err(at(format!(
                    "node `{}` already has a different label on line {before_line}",
                    text::show(id)
                )));
            }
            continue;
        }
        records.push((node, label, line));
        record_of[node as usize] = records.len();
    }
    let mut labels = vec![-1i32; graph.num_nodes];
    let integers = records
        .iter()
        .all(|r| r.1.as_ref().is_none_or(|l| text::parse_i64(l).is_some()));
    if integers {
        for (node, label, line) in &records {
            let (node, line) = (*node, *line);
            let Some(label) = label else { continue };
            match text::parse_i64(label).and_then(|l| i32::try_from(l).ok()) {
                Some(l) if l >= -1 => labels[node as usize] = l,
                _ => {
                    return Err(line_error(
                        path,
                        line,
                        format!(
                            "label `{}` is not an integer in -1..2^31 (or, with class \
                             names, every label would have to be a name)",
                            text::show(label)
                        ),
                    ))
                }
            }
        }
        return Ok(NodeLabels {
            labels,
            class_names: None,
        });
    }
    let mut names: Vec<String> = graph.class_names.clone().unwrap_or_default();
    let mut number: HashMap<String, i32> = names
        .iter()
        .enumerate()
        .map(|(c, n)| (n.clone(), c as i32))
        .collect();
    for (node, label, _) in &records {
        let node = *node;
        let Some(label) = label else { continue };
        let name = String::from_utf8_lossy(label);
        let class = match number.get(name.as_ref()) {
            Some(&c) => c,
            None => {
                let c = i32::try_from(names.len())
                    .map_err(|_| format_error(path, "more than 2^31 classes".into()))?;
                number.insert(name.clone().into_owned(), c);
                names.push(name.into_owned());
                c
            }
        };
        labels[node as usize] = class;
    }
    Ok(NodeLabels {
        labels,
        class_names: Some(names),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::NodeIds;

    fn graph(ids: Option<NodeIds>, n: usize) -> Graph {
        let mut g = Graph::from_edges(n, &[(0, 1)], None).unwrap();
        g.node_ids = ids;
        g
    }

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("gpu-vgae-labels-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn class_names_are_numbered_in_order_of_first_appearance() {
        let g = graph(
            Some(NodeIds::Strings(vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "d".into(),
            ])),
            4,
        );
        let p = temp("names.tsv", "node\tclass\nc\tdog\na\tcat\nb\t-1\nd\tdog\n");
        let l = read_labels(&p, &g).unwrap();
        assert_eq!(l.labels, vec![1, -1, 0, 0]);
        assert_eq!(l.class_names, Some(vec!["dog".into(), "cat".into()]));
        assert_eq!(l.labelled(), 3);

        // Known names keep their numbers; a new one is appended.
        let mut g2 = g.clone();
        g2.class_names = Some(vec!["cat".into(), "dog".into()]);
        let p = temp("train.csv", "a,bird\nc,dog\nb,\n");
        let l = read_labels(&p, &g2).unwrap();
        assert_eq!(l.labels, vec![2, -1, 1, -1]);
        assert_eq!(
            l.class_names,
            Some(vec!["cat".into(), "dog".into(), "bird".into()])
        );
    }

    #[test]
    fn integer_labels_stay_integers_and_ids_match_numerically() {
        let g = graph(Some(NodeIds::Integers(vec![5, 10, 20])), 3);
        let p = temp("ints.txt", "# comment\n010 3\n20 -1\n5\n");
        let l = read_labels(&p, &g).unwrap();
        assert_eq!(l.labels, vec![-1, 3, -1]);
        assert_eq!(l.class_names, None);
    }

    #[test]
    fn bad_labels_name_the_file_and_line() {
        let g = graph(None, 3);
        let cases = [
            (
                "unknown.txt",
                "0 1\n7 2\n",
                ":2: node `7` is not in the graph",
            ),
            ("neg.txt", "0 1\n1 -2\n", ":2: label `-2` is not an integer"),
            ("fields.txt", "0 1 2\n", ":1: expected 2 fields"),
            (
                "dup.txt",
                "0 1\n1 1\n0 2\n",
                ":3: node `0` already has a different label on line 1",
            ),
        ];
        for (name, text, needle) in cases {
            let p = temp(name, text);
            let e = read_labels(&p, &g).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(needle), "{name}: {e}");
        }
        // The same label twice is fine.
        let p = temp("same.txt", "0 1\n0 1\n");
        assert_eq!(read_labels(&p, &g).unwrap().labels, vec![1, -1, -1]);
    }
}
