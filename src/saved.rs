//! A trained model as one self-describing file (`model.gvae`): a JSON header (format
//! version, model config, feature width and scaling, the training graph's node ids and
//! fingerprint, the split settings, the training metrics, the tensor table) followed by
//! the weights as little-endian f32.
//!
//! ```text
//! bytes 0..8    magic "GPUVGAE\0"
//! bytes 8..12   format version, u32 LE (2)
//! bytes 12..20  header length H, u64 LE
//! bytes 20..    header: UTF-8 JSON (ModelHeader), H bytes, then zero padding to a
//!               multiple of 4
//! then          the tensors, f32 LE, one after another in the order of the header's
//!               table (w0, w1, class_means)
//! last 32 bytes SHA-256 of every byte before them (version 2)
//! ```
//!
//! Loading checks the checksum first, then every length against the file's size
//! before allocating: the file must end exactly where its checksum does (no trailing
//! bytes), the tensors must be the known ones, laid out one after another, every value
//! finite, every setting known (an unknown `feature_normalization` or header field is an
//! error, not a default). Version 1 files (the same layout without the checksum) are
//! still read, with the same checks but the checksum's.
//!
//! A model inside an output set (`run --out DIR`) is also checked against the set's
//! `manifest.json`, so that a model.gvae of another run is not taken for this one's.

use std::path::Path;

use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::data::FeatureNormalization;
use crate::error::{Error, Result};
use crate::metrics::LinkMetrics;
use crate::model::{LossParts, ModelConfig, Weights};
use crate::output::write_atomic;

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"GPUVGAE\0";
/// The format this version writes (it also reads version 1, which has no checksum).
pub const FORMAT_VERSION: u32 = 2;
/// Bytes before the header.
const PREAMBLE: usize = 20;
/// Bytes of the SHA-256 trailer.
const CHECKSUM: usize = 32;
/// The tensors a model file may hold, in the order they are written.
const TENSORS: [&str; 3] = ["w0", "w1", "class_means"];

/// The graph a model was trained on, to recognise it again and to name its nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingGraph {
    /// Dataset or file name.
    pub name: String,
    /// Nodes.
    pub num_nodes: usize,
    /// Undirected edges (all of them, before the split).
    pub num_edges: usize,
    /// [`edge_fingerprint`] of the edges.
    pub edge_fingerprint: String,
    /// Original node ids (edge lists), `None` when node i is id i.
    pub node_ids: Option<Vec<String>>,
}

/// How the edges were split for training and evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSettings {
    /// Seed of the split.
    pub seed: u64,
    /// Fraction of edges held out for validation.
    pub val_fraction: f64,
    /// Fraction of edges held out for testing.
    pub test_fraction: f64,
}

/// What training reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingMetrics {
    /// Validation AUC/AP of the kept weights.
    pub val: Option<LinkMetrics>,
    /// Test AUC/AP of the kept weights.
    pub test: Option<LinkMetrics>,
    /// Epochs run.
    pub epochs_run: u32,
    /// The epoch whose weights were kept (the best validation epoch with early stopping,
    /// else the last).
    pub best_epoch: u32,
    /// Loss of the last epoch.
    pub final_loss: LossParts,
}

/// One tensor's place in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorEntry {
    name: String,
    rows: usize,
    cols: usize,
    /// Offset in floats from the start of the tensor data.
    offset: usize,
}

/// Everything but the tensors' values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHeader {
    /// Always `"gpu-vgae model"`.
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The model's configuration.
    pub config: ModelConfig,
    /// Input feature width F (N of the training graph when featureless).
    pub num_features: usize,
    /// Whether the model was trained without features (identity input): it then embeds
    /// only graphs with the training graph's node set.
    pub featureless: bool,
    /// The feature scaling applied before training (`none`, `row`, `standard`); embedding
    /// another graph applies the same scaling to its features. Checked on load: see
    /// [`SavedModel::feature_normalization`].
    pub feature_normalization: String,
    /// The training graph.
    pub training_graph: TrainingGraph,
    /// The split.
    pub split: SplitSettings,
    /// The training metrics.
    pub metrics: TrainingMetrics,
    tensors: Vec<TensorEntry>,
}

/// A trained model: its header and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    /// Config, graph, split and metrics.
    pub header: ModelHeader,
    /// The weights.
    pub weights: Weights,
}

impl SavedModel {
    /// A model to save.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: ModelConfig,
        weights: Weights,
        featureless: bool,
        feature_normalization: FeatureNormalization,
        training_graph: TrainingGraph,
        split: SplitSettings,
        metrics: TrainingMetrics,
    ) -> Self {
        SavedModel {
            header: ModelHeader {
                format: "gpu-vgae model".into(),
                version: FORMAT_VERSION,
                config,
                num_features: weights.num_features,
                featureless,
                feature_normalization: feature_normalization.to_string(),
                training_graph,
                split,
                metrics,
                tensors: Vec::new(),
            },
            weights,
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let w = &self.weights;
        let mut parts: Vec<(&str, usize, usize, &[f32])> = vec![
            ("w0", w.num_features, w.hidden, &w.w0),
            ("w1", w.hidden, w.head_cols(), &w.w1),
        ];
        if let Some(means) = &w.class_means {
            parts.push((
                "class_means",
                means.len() / w.latent.max(1),
                w.latent,
                means,
            ));
        }
        let mut header = self.header.clone();
        let mut offset = 0;
        header.tensors = parts
            .iter()
            .map(|&(name, rows, cols, values)| {
                let entry = TensorEntry {
                    name: name.into(),
                    rows,
                    cols,
                    offset,
                };
                offset += values.len();
                entry
            })
            .collect();
        let json = serde_json::to_vec(&header).map_err(|e| Error::Io {
            path: "model header".into(),
            source: e.into(),
        })?;
        let padded = json.len().next_multiple_of(4);
        let mut bytes = Vec::with_capacity(PREAMBLE + padded + 4 * offset + CHECKSUM);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&json);
        bytes.resize(PREAMBLE + padded, 0);
        for (_, _, _, values) in parts {
            for v in values {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum);
        Ok(bytes)
    }

    /// The feature scaling the model was trained with (checked when the file was read).
    pub fn feature_normalization(&self) -> FeatureNormalization {
        self.header
            .feature_normalization
            .parse()
            .unwrap_or(FeatureNormalization::None)
    }

    /// Writes the model to `path` (atomically: a temporary name, then a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a model written by [`SavedModel::save`]. A model inside an output set must
    /// be the file its `manifest.json` lists.
    pub fn load(path: &Path) -> Result<SavedModel> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let model = Self::from_bytes(&bytes, path)?;
        crate::output_set::check_against_manifest(path)?;
        Ok(model)
    }

    /// Parses a model file's bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<SavedModel> {
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        if bytes.len() < PREAMBLE || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a gpu-vgae model file (it does not start with GPUVGAE); models are \
                 written by `gpu-vgae run --out DIR` as DIR/model.gvae"
                    .into(),
            ));
        }
        let word =
            |at: usize| -> [u8; 4] { [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]] };
        let version = u32::from_le_bytes(word(8));
        let body = match version {
            1 => bytes,
            FORMAT_VERSION => {
                let Some(split) = bytes.len().checked_sub(CHECKSUM).filter(|&s| s >= PREAMBLE)
                else {
                    return Err(bad("the file is too short for its checksum".into()));
                };
                let (body, stored) = bytes.split_at(split);
                if Sha256::digest(body).as_slice() != stored {
                    return Err(bad(
                        "the checksum does not match: the file is damaged or was changed \
                         after it was written"
                            .into(),
                    ));
                }
                body
            }
            _ => {
                return Err(bad(format!(
                    "model format version {version}; this gpu-vgae reads versions 1 and \
                     {FORMAT_VERSION}"
                )))
            }
        };
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&body[12..20]);
        let header_len = u64::from_le_bytes(len_bytes);
        let available = (body.len() - PREAMBLE) as u64;
        if header_len > available {
            return Err(bad(format!(
                "the header claims {header_len} bytes but only {available} follow"
            )));
        }
        let header_len = header_len as usize;
        let header: ModelHeader = serde_json::from_slice(&body[PREAMBLE..PREAMBLE + header_len])
            .map_err(|e| bad(format!("malformed header: {e}")))?;
        if header
            .feature_normalization
            .parse::<FeatureNormalization>()
            .is_err()
        {
            return Err(bad(format!(
                "unknown feature_normalization `{}`; expected one of: {}",
                header.feature_normalization,
                FeatureNormalization::NAMES.join(", ")
            )));
        }
        let data_start = PREAMBLE + header_len.next_multiple_of(4);
        if data_start > body.len() {
            return Err(bad(
                "the header's padding lies beyond the end of the file".into()
            ));
        }
        let floats = (body.len() - data_start) / 4;
        // The known tensors, each once, one after another from float 0.
        let mut expected_offset = 0usize;
        for (k, entry) in header.tensors.iter().enumerate() {
            if !TENSORS.contains(&entry.name.as_str())
                || header.tensors[..k].iter().any(|t| t.name == entry.name)
            {
                return Err(bad(format!(
                    "unknown or repeated tensor `{}`; a model holds {}",
                    entry.name,
                    TENSORS.join(", ")
                )));
            }
            if entry.offset != expected_offset {
                return Err(bad(format!(
                    "tensor {} starts at float {}, not right after the one before it \
                     (float {expected_offset})",
                    entry.name, entry.offset
                )));
            }
            expected_offset = entry
                .rows
                .checked_mul(entry.cols)
                .and_then(|len| expected_offset.checked_add(len))
                .filter(|&end| end <= floats)
                .ok_or_else(|| {
                    bad(format!(
                        "tensor {} ({} x {} at float {}) lies beyond the file's {floats} \
                         floats of data",
                        entry.name, entry.rows, entry.cols, entry.offset
                    ))
                })?;
        }
        let data_len = body.len() - data_start;
        if data_len != 4 * expected_offset {
            return Err(bad(format!(
                "{} bytes follow the tensors; a model file ends with its last tensor{}",
                data_len - 4 * expected_offset,
                if version == 1 {
                    ""
                } else {
                    " and its checksum"
                }
            )));
        }
        let read = |name: &str| -> Option<(usize, usize, Vec<f32>)> {
            let entry = header.tensors.iter().find(|t| t.name == name)?;
            let start = data_start + 4 * entry.offset;
            let values: Vec<f32> = body[start..start + 4 * entry.rows * entry.cols]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Some((entry.rows, entry.cols, values))
        };
        let missing = |name: &str| bad(format!("the file has no tensor {name}"));
        let (f, h, w0) = read("w0").ok_or_else(|| missing("w0"))?;
        let (_, _, w1) = read("w1").ok_or_else(|| missing("w1"))?;
        let class_means = read("class_means").map(|(_, _, v)| v);
        let config = &header.config;
        let weights = Weights {
            kind: config.kind,
            num_features: f,
            hidden: h,
            latent: config.latent,
            w0,
            w1,
            class_means,
        };
        config
            .validate()
            .and_then(|()| weights.check_fits(config, header.num_features))
            .map_err(|e| bad(format!("inconsistent model: {e}")))?;
        Ok(SavedModel { header, weights })
    }

    /// Checks that `graph` can be embedded by this model: the feature width must match;
    /// a featureless model (its input is the identity: one weight row per training node)
    /// embeds only its own node set, so the node count must match and, where both
    /// graphs name their nodes, the ids too (edges may differ: an updated graph of the
    /// same nodes is embedded). `source` names the graph in the error.
    pub fn check_graph(&self, graph: &crate::data::Graph, source: &str) -> Result<()> {
        let header = &self.header;
        let refuse = |message: String| Err(Error::InvalidGraph { message });
        if header.featureless {
            if graph.num_nodes != header.num_features {
                return refuse(format!(
                    "the model was trained without features on {} nodes (its input is the \
                     identity), so it embeds only a graph of those {} nodes; {source} has {}",
                    header.num_features, header.num_features, graph.num_nodes
                ));
            }
            if let (Some(trained), Some(ids)) = (&header.training_graph.node_ids, &graph.node_ids) {
                if let Some(i) = (0..graph.num_nodes)
                    .find(|&i| trained.get(i).map(String::as_str) != ids.get(i).as_deref())
                {
                    return refuse(format!(
                        "the model was trained without features on {}: its node {i} is `{}`, \
                         but {source}'s node {i} is `{}`; a featureless model embeds only its \
                         own nodes, in their order",
                        header.training_graph.name,
                        trained.get(i).map_or("", String::as_str),
                        ids.get(i).unwrap_or_default()
                    ));
                }
            }
        } else if graph.num_features() != Some(header.num_features) {
            return refuse(format!(
                "the model takes {} features per node; {source} has {}",
                header.num_features,
                graph
                    .num_features()
                    .map_or("none".to_string(), |f| f.to_string())
            ));
        }
        Ok(())
    }

    /// Checks that `graph` is the graph the model was trained on (its node count and
    /// edge fingerprint), as tasks that reuse the model's split need.
    pub fn check_training_graph(&self, graph: &crate::data::Graph, what: &str) -> Result<()> {
        let trained_on = &self.header.training_graph;
        if graph.num_nodes != trained_on.num_nodes
            || edge_fingerprint(graph.num_nodes, &graph.edges) != trained_on.edge_fingerprint
        {
            return Err(Error::InvalidGraph {
                message: format!(
                    "{what} needs the graph the model was trained on ({}, {} nodes, {} \
                     edges); this one ({} nodes, {} edges) differs",
                    trained_on.name,
                    trained_on.num_nodes,
                    trained_on.num_edges,
                    graph.num_nodes,
                    graph.num_edges()
                ),
            });
        }
        Ok(())
    }
}

/// A fingerprint of an edge list (hex of a 64-bit hash of the sorted pairs), to tell
/// whether a graph is the one a model was trained on.
pub fn edge_fingerprint(num_nodes: usize, edges: &[(u32, u32)]) -> String {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ num_nodes as u64;
    for &(i, j) in edges {
        let key = (u64::from(i) << 32) | u64::from(j);
        h = (h ^ key).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelKind;

    fn model() -> SavedModel {
        let config = ModelConfig {
            hidden: 3,
            latent: 2,
            ..ModelConfig::default()
        };
        let mut weights = Weights::glorot(&config, 5);
        weights.class_means = Some(vec![0.5, -0.25, 1.0, 2.0]);
        SavedModel::new(
            config,
            weights,
            false,
            FeatureNormalization::Row,
            TrainingGraph {
                name: "tiny".into(),
                num_nodes: 4,
                num_edges: 3,
                edge_fingerprint: edge_fingerprint(4, &[(0, 1), (1, 2), (2, 3)]),
                node_ids: Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            },
            SplitSettings {
                seed: 7,
                val_fraction: 0.05,
                test_fraction: 0.1,
            },
            TrainingMetrics {
                val: None,
                test: Some(LinkMetrics { auc: 0.9, ap: 0.8 }),
                epochs_run: 12,
                best_epoch: 10,
                final_loss: LossParts {
                    reconstruction: 1.0,
                    kl: 0.5,
                    total: 1.5,
                },
            },
        )
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let m = model();
        let bytes = m.to_bytes().unwrap();
        let back = SavedModel::from_bytes(&bytes, Path::new("m.gvae")).unwrap();
        assert_eq!(back.weights, m.weights);
        assert_eq!(back.header.config, m.header.config);
        assert_eq!(back.header.training_graph, m.header.training_graph);
        assert_eq!(back.header.metrics, m.header.metrics);
        assert_eq!(back.weights.kind, ModelKind::Vgae);
    }

    /// The bytes with their checksum recomputed, as a writer that means it would.
    fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes.truncate(bytes.len() - CHECKSUM);
        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum);
        bytes
    }

    /// The version 1 layout of the same model: no checksum.
    fn version_1(bytes: &[u8]) -> Vec<u8> {
        let mut v = bytes[..bytes.len() - CHECKSUM].to_vec();
        v[8..12].copy_from_slice(&1u32.to_le_bytes());
        v
    }

    /// The bytes with the header replaced by `edit(header)`, resealed.
    fn with_header(bytes: &[u8], edit: impl Fn(String) -> String) -> Vec<u8> {
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        let header = String::from_utf8(bytes[PREAMBLE..PREAMBLE + len].to_vec()).unwrap();
        let new = edit(header);
        assert_eq!(new.len(), len, "edits keep the header's length");
        let mut v = bytes.to_vec();
        v[PREAMBLE..PREAMBLE + len].copy_from_slice(new.as_bytes());
        resealed(v)
    }

    #[test]
    fn corrupt_files_are_format_errors_naming_the_file() {
        let bytes = model().to_bytes().unwrap();
        let path = Path::new("dir/m.gvae");
        let err = |b: &[u8]| SavedModel::from_bytes(b, path).unwrap_err().to_string();
        assert!(err(b"").contains("not a gpu-vgae model"));
        assert!(err(b"{\"weights\": []}").contains("dir/m.gvae"));
        let mut v = bytes.clone();
        v[8] = 9;
        assert!(err(&v).contains("version 9"));
        // One flipped bit anywhere (here in a weight) fails the checksum.
        let mut v = bytes.clone();
        let n = v.len();
        v[n - CHECKSUM - 5] ^= 0x10;
        assert!(err(&v).contains("checksum does not match"), "{}", err(&v));
        // Trailing bytes, resealed or not.
        let mut v = bytes.clone();
        v.extend_from_slice(&[0; 8]);
        assert!(err(&v).contains("checksum"));
        let mut v = bytes[..bytes.len() - CHECKSUM].to_vec();
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&[0; CHECKSUM]);
        assert!(err(&resealed(v)).contains("8 bytes follow the tensors"));
        // Structure errors behind a valid checksum.
        let mut v = bytes.clone();
        v[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&resealed(v)).contains("header claims"));
        let v = bytes[..bytes.len() - CHECKSUM - 4].to_vec();
        assert!(err(&resealed([v, vec![0; CHECKSUM]].concat())).contains("beyond"));
        // A NaN weight.
        let mut v = bytes.clone();
        v[n - CHECKSUM - 4..n - CHECKSUM].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(err(&resealed(v)).contains("not finite"));
        // Unknown values are refused, not taken for a default.
        let v = with_header(&bytes, |h| h.replace("\"row\"", "\"raw\""));
        assert!(
            err(&v).contains("unknown feature_normalization `raw`"),
            "{}",
            err(&v)
        );
        let v = with_header(&bytes, |h| h.replace("\"class_means\"", "\"class_meanz\""));
        assert!(err(&v).contains("class_meanz"), "{}", err(&v));
        let v = with_header(&bytes, |h| h.replace("\"seed\":7", "\"sead\":7"));
        assert!(err(&v).contains("malformed header"), "{}", err(&v));
        // Every truncation is an error, never a panic.
        for cut in (0..bytes.len()).step_by(7) {
            assert!(SavedModel::from_bytes(&bytes[..cut], path).is_err());
        }
    }

    #[test]
    fn the_precision_is_saved_and_files_without_it_read_as_f32() {
        let mut m = model();
        m.header.config.precision = crate::model::Precision::F16;
        let bytes = m.to_bytes().unwrap();
        let back = SavedModel::from_bytes(&bytes, Path::new("m.gvae")).unwrap();
        assert_eq!(back.header.config.precision, crate::model::Precision::F16);
        // A file written before the setting existed: no `precision` in its config.
        let field = r#","precision":"f16""#;
        let old = with_header(&bytes, |h| {
            assert_eq!(h.matches(field).count(), 1, "{h}");
            h.replace(field, &" ".repeat(field.len()))
        });
        let back = SavedModel::from_bytes(&old, Path::new("m.gvae")).unwrap();
        assert_eq!(back.header.config.precision, crate::model::Precision::F32);
        // An unknown precision is an error naming the file.
        let unknown = with_header(&bytes, |h| h.replace(field, r#","precision":"f64""#));
        let err = SavedModel::from_bytes(&unknown, Path::new("m.gvae")).unwrap_err();
        assert!(err.to_string().contains("m.gvae"), "{err}");
    }

    #[test]
    fn version_1_files_are_still_read_with_the_same_checks() {
        let m = model();
        let v1 = version_1(&m.to_bytes().unwrap());
        let back = SavedModel::from_bytes(&v1, Path::new("m.gvae")).unwrap();
        assert_eq!(back.weights, m.weights);
        assert_eq!(back.feature_normalization(), FeatureNormalization::Row);
        let mut trailing = v1.clone();
        trailing.push(0);
        let err = SavedModel::from_bytes(&trailing, Path::new("m.gvae")).unwrap_err();
        assert!(err.to_string().contains("follow the tensors"), "{err}");
    }

    #[test]
    fn fingerprints_tell_graphs_apart() {
        let a = edge_fingerprint(4, &[(0, 1), (1, 2)]);
        assert_eq!(a, edge_fingerprint(4, &[(0, 1), (1, 2)]));
        assert_ne!(a, edge_fingerprint(4, &[(0, 1), (1, 3)]));
        assert_ne!(a, edge_fingerprint(5, &[(0, 1), (1, 2)]));
    }
}
