//! Test support: the flat-array form of a dataset, used only to cross-check the
//! Planetoid pickle reader (the assembly lives here, not in the library; the arrays are
//! read by the library's array layer). Either a directory of raw little-endian `.bin`
//! files described by `manifest.json`, or an uncompressed `.npz` (a zip of `.npy` files,
//! as `np.savez` writes). Both hold the same arrays:
//!
//! | array | dtype | shape | |
//! |---|---|---|---|
//! | `edges` | int | `[E, 2]` | required; any direction, duplicates allowed |
//! | `x_indptr`, `x_indices`, `x_data`, `x_shape` | int, int, float, int | CSR parts | optional, all or none |
//! | `labels` | int | `[N]` | optional, `-1` = no label |
//!
//! The node count is `x_shape[0]`, else the length of `labels`, else the largest edge id
//! + 1. Other arrays (`num_classes`, `test_index`) are ignored.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use gpu_vgae::internal::data::arrays::{read_npz, DType, NdArray};
use gpu_vgae::internal::data::Graph;
use gpu_vgae::{Csr, Error, Result};

/// A format error of `path` without a line number.
fn format_error(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line: None,
        message,
    }
}

/// Rewraps an error about the input (an argument, the graph, a size) raised while
/// building from `path` as a format error of that file.
fn input_to_format(path: &Path, error: Error) -> Error {
    match error {
        Error::InvalidArgument { message, .. } | Error::InvalidGraph { message } => {
            format_error(path, message)
        }
        too_large @ Error::TooLarge { .. } => format_error(path, too_large.to_string()),
        other => other,
    }
}

/// `manifest.json` of a `.bin` dataset directory.
#[derive(Deserialize)]
struct Manifest {
    byte_order: String,
    layout: String,
    arrays: HashMap<String, ManifestArray>,
}

#[derive(Deserialize)]
struct ManifestArray {
    file: String,
    dtype: String,
    shape: Vec<usize>,
}

/// Loads a dataset directory holding `manifest.json` and raw `.bin` arrays, e.g.
/// `planetoid-npz/cora`. The graph is named after the directory.
pub fn load_flat_arrays(dir: &Path) -> Result<Graph> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|source| Error::Io {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: manifest_path.clone(),
        line: Some(e.line()),
        message: format!("invalid manifest: {e}"),
    })?;
    if manifest.byte_order != "little" || manifest.layout != "C" {
        return Err(format_error(
            &manifest_path,
            format!(
                "only little-endian C-order arrays are supported, manifest says {} / {}",
                manifest.byte_order, manifest.layout
            ),
        ));
    }
    let mut arrays = HashMap::new();
    for (name, entry) in manifest.arrays {
        // The manifest must not reach outside its directory.
        let plain = Path::new(&entry.file)
            .file_name()
            .is_some_and(|f| f == entry.file.as_str());
        if !plain || entry.file == ".." {
            return Err(format_error(
                &manifest_path,
                format!("array `{name}`: `{}` is not a plain file name", entry.file),
            ));
        }
        let dtype = DType::from_code(&entry.dtype).ok_or_else(|| {
            format_error(
                &manifest_path,
                format!(
                    "array `{name}`: unsupported dtype `{}` (supported: int32, int64, float32, float64)",
                    entry.dtype
                ),
            )
        })?;
        let path = dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let array = NdArray::from_bytes(dtype, b'<', entry.shape, false, &bytes)
            .map_err(|m| format_error(&path, m))?;
        arrays.insert(name, (array, path));
    }
    graph_from_arrays(&dir_name(dir), arrays, &manifest_path)
}

/// Loads an uncompressed `.npz` file (as written by `np.savez`). The graph is named after
/// the file stem.
pub fn load_npz(path: &Path) -> Result<Graph> {
    let arrays = read_npz(path)?
        .into_iter()
        .map(|(name, array)| (name, (array, path.to_path_buf())))
        .collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    graph_from_arrays(&stem, arrays, path)
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Named arrays, each with the file it came from (for error messages).
type Arrays = HashMap<String, (NdArray, std::path::PathBuf)>;

/// Assembles a [`Graph`] from the arrays listed in the module docs.
fn graph_from_arrays(name: &str, mut arrays: Arrays, source: &Path) -> Result<Graph> {
    let (edges, edges_path) = arrays
        .remove("edges")
        .ok_or_else(|| format_error(source, "no `edges` array".into()))?;
    let edge_ids = match (edges.matrix_shape(), edges.to_i64()) {
        (Some((_, 2)), Some(ids)) => ids,
        _ => {
            return Err(format_error(
                &edges_path,
                format!(
                    "`edges` must be an integer array of shape [E, 2], found {} {:?}",
                    edges.dtype().name(),
                    edges.shape
                ),
            ))
        }
    };
    let edge_count = edges.shape[0];
    let mut pairs = Vec::with_capacity(edge_count);
    for e in 0..edge_count {
        let (a, b) = (
            edge_ids[edges.matrix_offset(e, 0)],
            edge_ids[edges.matrix_offset(e, 1)],
        );
        match (u32::try_from(a), u32::try_from(b)) {
            (Ok(a), Ok(b)) => pairs.push((a, b)),
            _ => {
                return Err(format_error(
                    &edges_path,
                    format!("edge {e} ({a}, {b}) has an id outside 0..2^32"),
                ))
            }
        }
    }

    let features = take_features(&mut arrays, source)?;
    let labels = match arrays.remove("labels") {
        Some((array, path)) => {
            let values = match (array.shape.len(), array.to_i64()) {
                (1, Some(values)) => values,
                _ => {
                    return Err(format_error(
                        &path,
                        format!(
                            "`labels` must be a 1-D integer array, found {} {:?}",
                            array.dtype().name(),
                            array.shape
                        ),
                    ))
                }
            };
            let labels = values
                .into_iter()
                .map(|l| i32::try_from(l).ok())
                .collect::<Option<Vec<i32>>>()
                .ok_or_else(|| format_error(&path, "a label does not fit in int32".into()))?;
            Some((labels, path))
        }
        None => None,
    };

    let num_nodes = match (&features, &labels) {
        (Some((x, _)), _) => x.rows(),
        (None, Some((l, _))) => l.len(),
        (None, None) => pairs
            .iter()
            .map(|&(a, b)| a.max(b) as usize + 1)
            .max()
            .unwrap_or(0),
    };
    let features = features.map(|(x, _)| x);
    let mut graph = Graph::from_edges(num_nodes, &pairs, features)
        .map_err(|e| input_to_format(&edges_path, e))?;
    if let Some((labels, path)) = labels {
        graph = graph
            .with_labels(labels)
            .map_err(|e| input_to_format(&path, e))?;
    }
    graph.name = name.to_owned();
    Ok(graph)
}

/// The CSR feature matrix from `x_indptr`, `x_indices`, `x_data`, `x_shape`, if present.
fn take_features(arrays: &mut Arrays, source: &Path) -> Result<Option<(Csr, std::path::PathBuf)>> {
    let parts = ["x_indptr", "x_indices", "x_data", "x_shape"].map(|k| arrays.remove(k));
    let [Some(indptr), Some(indices), Some(data), Some(shape)] = parts else {
        if parts.iter().any(Option::is_some) {
            return Err(format_error(
                source,
                "features need all of x_indptr, x_indices, x_data and x_shape".into(),
            ));
        }
        return Ok(None);
    };
    let index = |(array, path): &(NdArray, std::path::PathBuf), what: &str| -> Result<Vec<u32>> {
        array
            .to_i64()
            .filter(|_| array.shape.len() == 1)
            .ok_or_else(|| format_error(path, format!("`{what}` must be a 1-D integer array")))?
            .into_iter()
            .map(|v| u32::try_from(v).ok())
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| format_error(path, format!("`{what}` holds a value outside 0..2^32")))
    };
    let row_ptr = index(&indptr, "x_indptr")?;
    let col_idx = index(&indices, "x_indices")?;
    let dims = index(&shape, "x_shape")?;
    let [rows, cols] = dims[..] else {
        return Err(format_error(
            &shape.1,
            "`x_shape` must hold 2 values".into(),
        ));
    };
    let values: Vec<f32> = match data.0.to_f64() {
        Some(v) if data.0.shape.len() == 1 => v.into_iter().map(|x| x as f32).collect(),
        _ => {
            return Err(format_error(
                &data.1,
                "`x_data` must be a 1-D float array".into(),
            ))
        }
    };
    let x = Csr::new(rows as usize, cols as usize, row_ptr, col_idx, values)
        .map_err(|e| input_to_format(&data.1, e))?;
    Ok(Some((x, data.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_cannot_reach_outside_its_directory() {
        let dir = std::env::temp_dir().join(format!("gpu-vgae-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = r#"{"byte_order": "little", "layout": "C", "arrays":
            {"edges": {"file": "../edges.bin", "dtype": "int32", "shape": [1, 2]}}}"#;
        std::fs::write(dir.join("manifest.json"), manifest).unwrap();
        let err = load_flat_arrays(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("manifest.json") && err.contains("not a plain file name"),
            "{err}"
        );
    }

    #[test]
    fn features_need_all_four_arrays() {
        let edges = NdArray::from_bytes(
            DType::I32,
            b'<',
            vec![1, 2],
            false,
            &[0, 0, 0, 0, 1, 0, 0, 0],
        )
        .unwrap();
        let shape = NdArray::from_bytes(DType::I64, b'<', vec![2], false, &[0; 16]).unwrap();
        let source = Path::new("x.npz");
        let mut arrays = Arrays::new();
        arrays.insert("edges".into(), (edges.clone(), source.into()));
        let g = graph_from_arrays("g", arrays.clone(), source).unwrap();
        assert_eq!((g.num_nodes, g.edges.clone()), (2, vec![(0, 1)]));
        arrays.insert("x_shape".into(), (shape, source.into()));
        let err = graph_from_arrays("g", arrays, source)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.npz") && err.contains("all of x_indptr"),
            "{err}"
        );
    }
}
