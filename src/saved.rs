//! A trained model as one self-describing file (`model.gvae`): a JSON header (format
//! version, model config, feature width and scaling, the training graph's node ids and
//! fingerprint, the split settings, the training metrics, the tensor table) followed by
//! the weights as little-endian f32.
//!
//! ```text
//! bytes 0..8    magic "GPUVGAE\0"
//! bytes 8..12   format version, u32 LE
//! bytes 12..20  header length H, u64 LE
//! bytes 20..    header: UTF-8 JSON (ModelHeader), H bytes, then zero padding to a
//!               multiple of 4
//! then          the tensors, f32 LE, at the float offsets the header's table gives
//! ```
//!
//! Loading checks every length against the file's size before allocating, and every
//! value for finiteness.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::metrics::LinkMetrics;
use crate::model::{LossParts, ModelConfig, Weights};
use crate::output::write_atomic;

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"GPUVGAE\0";
/// The format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the header.
const PREAMBLE: usize = 20;

/// The graph a model was trained on, to recognise it again and to name its nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
struct TensorEntry {
    name: String,
    rows: usize,
    cols: usize,
    /// Offset in floats from the start of the tensor data.
    offset: usize,
}

/// Everything but the tensors' values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// another graph applies the same scaling to its features.
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
        feature_normalization: impl Into<String>,
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
                feature_normalization: feature_normalization.into(),
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
        let mut bytes = Vec::with_capacity(PREAMBLE + padded + 4 * offset);
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
        Ok(bytes)
    }

    /// Writes the model to `path` (atomically: a temporary name, then a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a model written by [`SavedModel::save`].
    pub fn load(path: &Path) -> Result<SavedModel> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
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
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "model format version {version}; this gpu-vgae reads version {FORMAT_VERSION}"
            )));
        }
        let header_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let available = (bytes.len() - PREAMBLE) as u64;
        if header_len > available {
            return Err(bad(format!(
                "the header claims {header_len} bytes but only {available} follow"
            )));
        }
        let header_len = header_len as usize;
        let header: ModelHeader = serde_json::from_slice(&bytes[PREAMBLE..PREAMBLE + header_len])
            .map_err(|e| bad(format!("malformed header: {e}")))?;
        let data_start = PREAMBLE + header_len.next_multiple_of(4);
        let floats = bytes.len().saturating_sub(data_start) / 4;
        let read = |name: &str| -> Result<Option<(usize, usize, Vec<f32>)>> {
            let Some(entry) = header.tensors.iter().find(|t| t.name == name) else {
                return Ok(None);
            };
            let len = entry
                .rows
                .checked_mul(entry.cols)
                .filter(|&len| {
                    entry
                        .offset
                        .checked_add(len)
                        .is_some_and(|end| end <= floats)
                })
                .ok_or_else(|| {
                    bad(format!(
                        "tensor {name} ({} x {} at float {}) lies beyond the file's {floats} \
                         floats of data",
                        entry.rows, entry.cols, entry.offset
                    ))
                })?;
            let start = data_start + 4 * entry.offset;
            let values: Vec<f32> = bytes[start..start + 4 * len]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            Ok(Some((entry.rows, entry.cols, values)))
        };
        let missing = |name: &str| bad(format!("the file has no tensor {name}"));
        let (f, h, w0) = read("w0")?.ok_or_else(|| missing("w0"))?;
        let (_, _, w1) = read("w1")?.ok_or_else(|| missing("w1"))?;
        let class_means = read("class_means")?.map(|(_, _, v)| v);
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

    /// Checks that `graph` can be embedded by this model: the feature width (or, for a
    /// featureless model, the node count) must match. `source` names the graph in the
    /// error.
    pub fn check_graph(&self, graph: &GraphView<'_>, source: &str) -> Result<()> {
        let header = &self.header;
        if header.featureless {
            if graph.features().is_some() || graph.num_nodes() != header.num_features {
                return Err(Error::InvalidGraph {
                    message: format!(
                        "the model was trained without features on {} nodes (its input is the \
                         identity), so it embeds only a featureless graph with those {} \
                         nodes; {source} has {} nodes{}",
                        header.num_features,
                        header.num_features,
                        graph.num_nodes(),
                        if graph.features().is_some() {
                            " and features"
                        } else {
                            ""
                        }
                    ),
                });
            }
        } else if graph.features().map(crate::Csr::cols) != Some(header.num_features) {
            return Err(Error::InvalidGraph {
                message: format!(
                    "the model takes {} features per node; {source} has {}",
                    header.num_features,
                    graph
                        .features()
                        .map_or("none".to_string(), |x| x.cols().to_string())
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
            "row",
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
        let mut v = bytes.clone();
        v[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&v).contains("header claims"));
        // Truncated tensor data: refused, not read out of bounds.
        assert!(err(&bytes[..bytes.len() - 4]).contains("beyond"));
        // A NaN weight.
        let mut v = bytes.clone();
        let n = v.len();
        v[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(err(&v).contains("not finite"));
        // Every truncation is an error, never a panic.
        for cut in (0..bytes.len()).step_by(7) {
            assert!(SavedModel::from_bytes(&bytes[..cut], path).is_err());
        }
    }

    #[test]
    fn fingerprints_tell_graphs_apart() {
        let a = edge_fingerprint(4, &[(0, 1), (1, 2)]);
        assert_eq!(a, edge_fingerprint(4, &[(0, 1), (1, 2)]));
        assert_ne!(a, edge_fingerprint(4, &[(0, 1), (1, 3)]));
        assert_ne!(a, edge_fingerprint(5, &[(0, 1), (1, 2)]));
    }
}
