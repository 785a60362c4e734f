//! `gpu_vgae._native`: the native half of the `gpu_vgae` Python package. It converts
//! numpy arrays to the library's types and back and calls the library's public API (the
//! crate root) — nothing else. The Python layer (`python/gpu_vgae/`) shapes the inputs
//! (edge_index layouts, dtypes, scipy matrices) and holds the estimator.
//!
//! - Arrays come in as read-only numpy views (no copy on the Python side when dtype and
//!   layout already fit) and results go out as numpy arrays that own the library's
//!   vectors (no copy).
//! - Device work runs with the GIL released (`Python::detach`); training takes it back
//!   briefly after every epoch to check for Ctrl-C and call the user's callback.
//! - Every library error becomes the Python exception its [`ErrorKind`] names, with the
//!   library's message.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::{
    PyFileNotFoundError, PyFloatingPointError, PyKeyboardInterrupt, PyMemoryError, PyOSError,
    PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use gpu_vgae::{cluster_embeddings, cluster_fit, cluster_metrics, data_dir, link_metrics, load_planetoid, score_pairs, top_k_links, train, ClusterFitOptions, Csr, EpochReport, Error, ErrorKind, FeatureNormalization, GaeModel, Gpu, GpuOptions, Graph, ModelKind, Monitor, Objective, SavedModel, TopKMode, TrainOptions, Trained};
use gpu_vgae::internal::predict::Exclusion;
use gpu_vgae::internal::data::FeatureLayout;
use gpu_vgae::internal::data::GraphView;

type Result<T, E = Error> = std::result::Result<T, E>;

/// The Python exception of a library error, with the library's message.
fn py_error(error: Error) -> PyErr {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::Input => PyValueError::new_err(message),
        ErrorKind::Size => PyMemoryError::new_err(message),
        ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        ErrorKind::Io => PyOSError::new_err(message),
        ErrorKind::Diverged => PyFloatingPointError::new_err(message),
        ErrorKind::Interrupted => PyKeyboardInterrupt::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}

trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(py_error)
    }
}

/// One device per adapter request for the whole process, opened on first use: opening
/// one and compiling its kernels costs far more than a small fit.
static DEVICES: Mutex<Vec<(Option<String>, Gpu)>> = Mutex::new(Vec::new());

fn device(adapter: Option<&str>) -> Result<Gpu> {
    let mut devices = DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, gpu)) = devices.iter().find(|(a, _)| a.as_deref() == adapter) {
        return Ok(gpu.clone());
    }
    let mut options = GpuOptions::from_env();
    if let Some(name) = adapter {
        options.adapter_name = Some(name.to_string());
    }
    let gpu = Gpu::new(&options)?;
    devices.push((adapter.map(str::to_string), gpu.clone()));
    Ok(gpu)
}

/// Node pairs from an (E, 2) int64 array (any strides: a transposed (2, E) array is read
/// in place). `argument` names it in errors.
fn pairs(array: &PyReadonlyArray2<'_, i64>, argument: &'static str) -> Result<Vec<(u32, u32)>> {
    let view = array.as_array();
    if view.ncols() != 2 {
        return Err(Error::InvalidArgument {
            argument,
            message: format!(
                "expected node pairs of shape (E, 2), got {:?}",
                view.shape()
            ),
        });
    }
    let id = |k: usize, value: i64| {
        u32::try_from(value).map_err(|_| Error::InvalidArgument {
            argument,
            message: format!(
                "pair {k} has node id {value}; ids must be between 0 and {}",
                u32::MAX
            ),
        })
    };
    view.rows()
        .into_iter()
        .enumerate()
        .map(|(k, row)| Ok((id(k, row[0])?, id(k, row[1])?)))
        .collect()
}

/// Ranked links as numpy arrays: sources, targets, probabilities.
type Links<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f32>>,
);

/// u32 entries of a CSR index array.
fn indices(array: &PyReadonlyArray1<'_, i64>, argument: &'static str) -> Result<Vec<u32>> {
    array
        .as_array()
        .iter()
        .map(|&v| {
            u32::try_from(v).map_err(|_| Error::InvalidArgument {
                argument,
                message: format!("CSR matrix: entry {v} is not between 0 and {}", u32::MAX),
            })
        })
        .collect()
}

/// Node features as the Python layer hands them over: a dense float32 C-contiguous
/// matrix, or scipy's CSR arrays (indptr, indices, data, rows, cols).
type CsrParts<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f32>,
    usize,
    usize,
);

fn features(
    dense: Option<PyReadonlyArray2<'_, f32>>,
    csr: Option<CsrParts<'_>>,
) -> Result<Option<(Csr, FeatureLayout)>> {
    if let Some(x) = dense {
        let (rows, cols) = (x.shape()[0], x.shape()[1]);
        let values = x.as_slice().map_err(|_| Error::InvalidArgument {
            argument: "x",
            message: "a dense feature matrix must be C-contiguous".into(),
        })?;
        return Ok(Some((
            Csr::from_dense(rows, cols, values)?,
            FeatureLayout::Dense,
        )));
    }
    if let Some((indptr, col, data, rows, cols)) = csr {
        let matrix = Csr::new(
            rows,
            cols,
            indices(&indptr, "indptr")?,
            indices(&col, "indices")?,
            data.as_slice()
                .map_err(|_| Error::InvalidArgument {
                    argument: "data",
                    message: "CSR matrix: values must be contiguous".into(),
                })?
                .to_vec(),
        )?;
        return Ok(Some((matrix, FeatureLayout::Sparse)));
    }
    Ok(None)
}

/// The graph of an (E, 2) edge array: `num_nodes`, else the feature rows, else the
/// largest id + 1. Features scaled as `scaling` says.
fn graph(
    edges: &PyReadonlyArray2<'_, i64>,
    num_nodes: Option<usize>,
    x: Option<(Csr, FeatureLayout)>,
    scaling: FeatureNormalization,
) -> Result<Graph> {
    let pairs = pairs(edges, "edge_index")?;
    let n = num_nodes
        .or(x.as_ref().map(|(m, _)| m.rows()))
        .unwrap_or_else(|| {
            pairs
                .iter()
                .map(|&(a, b)| a.max(b) as usize + 1)
                .max()
                .unwrap_or(0)
        });
    let (matrix, layout) = match x {
        Some((m, layout)) => (Some(m), layout),
        None => (None, FeatureLayout::Sparse),
    };
    let mut graph = Graph::from_edges(n, &pairs, matrix)?;
    graph.feature_layout = layout;
    graph.normalize_features(scaling)?;
    Ok(graph)
}

fn matrix<'py>(
    py: Python<'py>,
    rows: usize,
    cols: usize,
    values: Vec<f32>,
) -> Bound<'py, PyArray2<f32>> {
    Array2::from_shape_vec((rows, cols), values)
        .expect("the library returns rows × cols values")
        .into_pyarray(py)
}

fn pair_array<'py>(py: Python<'py>, pairs: &[(u32, u32)]) -> Bound<'py, PyArray2<i64>> {
    let flat = pairs
        .iter()
        .flat_map(|&(a, b)| [i64::from(a), i64::from(b)])
        .collect();
    Array2::from_shape_vec((pairs.len(), 2), flat)
        .expect("two ids per pair")
        .into_pyarray(py)
}

/// μ of every node of `graph` with the model's weights: the encoder over all of its
/// edges (as `gpu-vgae embed` and the `embeddings.npy` of `run --out` compute it), or
/// over `edges` only.
fn embed(
    gpu: &Gpu,
    saved: &SavedModel,
    graph: &Graph,
    edges: Option<&[(u32, u32)]>,
) -> Result<Vec<f32>> {
    saved.check_graph(graph, "the graph")?;
    let features = if saved.header.featureless {
        None
    } else {
        graph.features.as_ref()
    };
    let view = GraphView::new(graph.num_nodes, edges.unwrap_or(&graph.edges), features)?;
    let encoder = GaeModel::encoder(gpu, &saved.header.config, view, &saved.weights)?;
    encoder.embeddings()
}

/// A trained model: its file's contents, and for a model trained in this process the
/// graph it was trained on and the training edges of its split.
#[pyclass(module = "gpu_vgae._native", frozen)]
struct Model {
    saved: SavedModel,
    graph: Option<Graph>,
    train_edges: Option<Vec<(u32, u32)>>,
    adapter: Option<String>,
}

impl Model {
    fn scaling(&self) -> FeatureNormalization {
        self.saved
            .header
            .feature_normalization
            .parse()
            .unwrap_or(FeatureNormalization::None)
    }

    fn fit_graph(&self) -> Result<&Graph> {
        self.graph.as_ref().ok_or_else(|| Error::InvalidArgument {
            argument: "edge_index",
            message: "a model loaded from a file holds no graph: pass the graph to embed".into(),
        })
    }
}

#[pymethods]
impl Model {
    /// The model file's header (settings, training graph, split, metrics) as JSON.
    fn header_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.saved.header)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// μ (N × latent) of the graph the model was fit on (`edges` None), or of a new graph.
    #[pyo3(signature = (edges=None, num_nodes=None, dense=None, csr=None))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        edges: Option<PyReadonlyArray2<'py, i64>>,
        num_nodes: Option<usize>,
        dense: Option<PyReadonlyArray2<'py, f32>>,
        csr: Option<CsrParts<'py>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let new_graph = match &edges {
            Some(e) => Some(graph(e, num_nodes, features(dense, csr).py()?, self.scaling()).py()?),
            None => None,
        };
        let graph = match &new_graph {
            Some(g) => g,
            None => self.fit_graph().py()?,
        };
        let latent = self.saved.header.config.latent;
        let values = py
            .detach(|| embed(&device(self.adapter.as_deref())?, &self.saved, graph, None))
            .py()?;
        Ok(matrix(py, graph.num_nodes, latent, values))
    }

    /// μ of the fit graph with only the training edges of the split in Â (held-out edges
    /// hidden), as training evaluated it.
    fn embed_training_edges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let graph = self.fit_graph().py()?;
        let train_edges = self.train_edges.as_deref().unwrap_or(&graph.edges);
        let values = py
            .detach(|| {
                let gpu = device(self.adapter.as_deref())?;
                embed(&gpu, &self.saved, graph, Some(train_edges))
            })
            .py()?;
        Ok(matrix(
            py,
            graph.num_nodes,
            self.saved.header.config.latent,
            values,
        ))
    }

    /// The K most likely links among the pairs that are not `known` edges of the fit
    /// graph (`"all"` its edges, `"train"` the split's training edges), ranked by μ:
    /// (sources, targets, probabilities).
    fn top_k<'py>(
        &self,
        py: Python<'py>,
        mu: PyReadonlyArray2<'py, f32>,
        k: usize,
        per_node: bool,
        known: &str,
    ) -> PyResult<Links<'py>> {
        let graph = self.fit_graph().py()?;
        let excluded = match known.to_ascii_lowercase().as_str() {
            "all" => &graph.edges,
            "train" => self.train_edges.as_ref().ok_or_else(|| {
                py_error(Error::InvalidConfig {
                    setting: "known",
                    message: "`train` needs the split of a model fit in this process; a \
                              loaded model knows only its graph's edges"
                        .into(),
                })
            })?,
            other => {
                return Err(py_error(Error::InvalidConfig {
                    setting: "known",
                    message: format!("unknown value `{other}`; expected one of: all, train"),
                }))
            }
        };
        let (n, latent) = (mu.shape()[0], mu.shape()[1]);
        let values = mu.as_slice()?;
        let mode = if per_node {
            TopKMode::PerNode
        } else {
            TopKMode::Global
        };
        let links = py
            .detach(|| {
                let exclude = Exclusion::new(n, excluded)?;
                let gpu = device(self.adapter.as_deref())?;
                top_k_links(&gpu, values, n, latent, &exclude, k, mode)
            })
            .py()?;
        let sources = links
            .iter()
            .map(|l| i64::from(l.source))
            .collect::<Vec<_>>();
        let targets = links
            .iter()
            .map(|l| i64::from(l.target))
            .collect::<Vec<_>>();
        let scores = links.iter().map(|l| l.score).collect::<Vec<_>>();
        Ok((
            sources.into_pyarray(py),
            targets.into_pyarray(py),
            scores.into_pyarray(py),
        ))
    }

    /// The same model attached to a graph (checked against the model: feature width,
    /// or node count when featureless).
    #[pyo3(signature = (edges, num_nodes=None, dense=None, csr=None))]
    fn with_graph<'py>(
        &self,
        edges: PyReadonlyArray2<'py, i64>,
        num_nodes: Option<usize>,
        dense: Option<PyReadonlyArray2<'py, f32>>,
        csr: Option<CsrParts<'py>>,
    ) -> PyResult<Model> {
        let graph = graph(
            &edges,
            num_nodes,
            features(dense, csr).py()?,
            self.scaling(),
        )
        .py()?;
        self.saved.check_graph(&graph, "the graph").py()?;
        Ok(Model {
            saved: self.saved.clone(),
            graph: Some(graph),
            train_edges: None,
            adapter: self.adapter.clone(),
        })
    }

    /// Writes the model file (`model.gvae`, the format `gpu-vgae run --out` writes).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.saved.save(&path)).py()
    }
}

/// What the user's callback receives after each epoch.
fn epoch_dict<'py>(py: Python<'py>, e: &EpochReport) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("epoch", e.epoch)?;
    dict.set_item("epochs", e.epochs)?;
    dict.set_item("elapsed", e.elapsed.as_secs_f64())?;
    if let Some(loss) = e.loss {
        dict.set_item("loss", loss.total)?;
        dict.set_item("reconstruction", loss.reconstruction)?;
        dict.set_item("kl", loss.kl)?;
    }
    if let Some(val) = e.val {
        dict.set_item("val_auc", val.auc)?;
        dict.set_item("val_ap", val.ap)?;
    }
    Ok(dict)
}

/// The settings of one fit, as the estimator's parameters name them.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Settings {
    model: String,
    objective: String,
    hidden: usize,
    latent: usize,
    epochs: u32,
    lr: f64,
    seed: u64,
    eval_every: u32,
    val_ratio: f64,
    test_ratio: f64,
    patience: Option<u32>,
    monitor: String,
    sample_nodes: usize,
    alpha: f64,
    normalize_features: String,
}

impl Settings {
    fn options(&self) -> Result<TrainOptions> {
        let mut options = TrainOptions::default();
        options.model.kind = self.model.parse::<ModelKind>()?;
        options.model.objective = self.objective.parse::<Objective>()?;
        options.model.hidden = self.hidden;
        options.model.latent = self.latent;
        options.model.adam.lr = self.lr as f32;
        options.model.seed = self.seed;
        options.model.sample_nodes = self.sample_nodes;
        options.model.alpha = self.alpha;
        options.epochs = self.epochs;
        options.eval_every = self.eval_every;
        options.val_fraction = self.val_ratio;
        options.test_fraction = self.test_ratio;
        options.patience = self.patience;
        options.monitor = self.monitor.parse::<Monitor>()?;
        options.validate()?;
        Ok(options)
    }
}

/// What `fit` hands back: the model, μ, the report (JSON) and the split.
type Fitted<'py> = (Model, Bound<'py, PyArray2<f32>>, String, Bound<'py, PyDict>);

/// Trains on a graph: returns the model, μ of every node (the encoder over every edge),
/// the training report (JSON: the fields of `metrics.json`, every evaluated epoch among
/// them) and the split.
#[pyfunction]
#[pyo3(signature = (edges, num_nodes, dense, csr, settings, negatives, callback, adapter))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    edges: PyReadonlyArray2<'py, i64>,
    num_nodes: Option<usize>,
    dense: Option<PyReadonlyArray2<'py, f32>>,
    csr: Option<CsrParts<'py>>,
    settings: Settings,
    negatives: Option<PyReadonlyArray2<'py, i64>>,
    callback: Option<Py<PyAny>>,
    adapter: Option<String>,
) -> PyResult<Fitted<'py>> {
    let mut options = settings.options().py()?;
    let scaling = settings
        .normalize_features
        .parse::<FeatureNormalization>()
        .py()?;
    if let Some(negatives) = &negatives {
        options.held_out_negatives = Some(pairs(negatives, "neg_edge_index").py()?);
    }
    let graph = graph(&edges, num_nodes, features(dense, csr).py()?, scaling).py()?;
    // Ctrl-C or the callback's exception, raised once training has stopped.
    let mut stopped: Option<PyErr> = None;
    let outcome = py.detach(|| {
        let gpu = device(adapter.as_deref())?;
        let trained = train(&gpu, graph.view(), &options, |e: &EpochReport| {
            Python::attach(|py| {
                let heard = py.check_signals().and_then(|()| match &callback {
                    Some(f) => f.call1(py, (epoch_dict(py, e)?,)).map(drop),
                    None => Ok(()),
                });
                match heard {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(err) => {
                        stopped = Some(err);
                        ControlFlow::Break(())
                    }
                }
            })
        })?;
        let saved = trained.saved_model(&graph, scaling)?;
        let Trained {
            model,
            split,
            report,
        } = trained;
        // The training model's buffers go before the encoder's are made.
        drop(model);
        let mu = embed(&gpu, &saved, &graph, None)?;
        let report = serde_json::to_string(&report).map_err(|e| Error::Io {
            path: "training report".into(),
            source: e.into(),
        })?;
        Ok((saved, split, mu, report))
    });
    let (saved, split, mu, report) = match (outcome, stopped) {
        (Ok(done), _) => done,
        // Ctrl-C: KeyboardInterrupt with the library's message (which epoch it stopped
        // after); anything the callback raised, as it was raised.
        (Err(e @ Error::Interrupted { .. }), Some(err))
            if err.is_instance_of::<PyKeyboardInterrupt>(py) =>
        {
            return Err(py_error(e))
        }
        (Err(Error::Interrupted { .. }), Some(err)) => return Err(err),
        (Err(e), _) => return Err(py_error(e)),
    };
    let split_dict = PyDict::new(py);
    split_dict.set_item("train", pair_array(py, &split.train))?;
    split_dict.set_item("val_pos", pair_array(py, &split.val_pos))?;
    split_dict.set_item("val_neg", pair_array(py, &split.val_neg))?;
    split_dict.set_item("test_pos", pair_array(py, &split.test_pos))?;
    split_dict.set_item("test_neg", pair_array(py, &split.test_neg))?;
    let embeddings = matrix(py, graph.num_nodes, settings.latent, mu);
    let model = Model {
        saved,
        graph: Some(graph),
        train_edges: Some(split.train),
        adapter,
    };
    Ok((model, embeddings, report, split_dict))
}

/// Reads a model file written by `Model.save` or `gpu-vgae run --out`.
#[pyfunction]
#[pyo3(signature = (path, adapter=None))]
fn load(py: Python<'_>, path: PathBuf, adapter: Option<String>) -> PyResult<Model> {
    let saved = py.detach(|| SavedModel::load(&path)).py()?;
    Ok(Model {
        saved,
        graph: None,
        train_edges: None,
        adapter,
    })
}

/// σ(μ_a · μ_b) of each pair, on the device.
#[pyfunction]
#[pyo3(signature = (mu, pairs, adapter=None))]
fn score<'py>(
    py: Python<'py>,
    mu: PyReadonlyArray2<'py, f32>,
    pairs: PyReadonlyArray2<'py, i64>,
    adapter: Option<String>,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let pairs = self::pairs(&pairs, "pairs").py()?;
    let (n, latent) = (mu.shape()[0], mu.shape()[1]);
    let values = mu.as_slice()?;
    let scores = py
        .detach(|| score_pairs(&device(adapter.as_deref())?, values, n, latent, &pairs))
        .py()?;
    Ok(scores.into_pyarray(py))
}

/// ROC AUC and average precision of positive against negative scores (scikit-learn's
/// definitions).
#[pyfunction]
fn link_auc_ap(
    pos: PyReadonlyArray1<'_, f32>,
    neg: PyReadonlyArray1<'_, f32>,
) -> PyResult<(f64, f64)> {
    let metrics = link_metrics(pos.as_slice()?, neg.as_slice()?).py()?;
    Ok((metrics.auc, metrics.ap))
}

/// k-means of the rows of `mu` on the device (k-means++, 10 restarts, seeded): the
/// cluster of every row, the inertia and the Lloyd iterations of the best run.
#[pyfunction]
#[pyo3(signature = (mu, k, seed, adapter=None))]
fn kmeans<'py>(
    py: Python<'py>,
    mu: PyReadonlyArray2<'py, f32>,
    k: usize,
    seed: u64,
    adapter: Option<String>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, f64, usize)> {
    let (n, dim) = (mu.shape()[0], mu.shape()[1]);
    let values = mu.as_slice()?;
    let result = py
        .detach(|| cluster_embeddings(&device(adapter.as_deref())?, values, n, dim, k, seed))
        .py()?;
    let labels: Vec<i64> = result.labels.iter().map(|&c| i64::from(c)).collect();
    Ok((labels.into_pyarray(py), result.inertia, result.n_iter))
}

/// Clusters a graph's nodes with a method of the library's registry
/// (`gpu_vgae::cluster_fit`): the cluster of every node, the embeddings that were
/// clustered and the report (JSON: metrics.json of `gpu-vgae cluster`).
#[pyfunction]
#[pyo3(signature = (edges, num_nodes, dense, csr, labels, k, method, seed, adapter))]
#[allow(clippy::too_many_arguments)]
fn cluster_graph<'py>(
    py: Python<'py>,
    edges: PyReadonlyArray2<'py, i64>,
    num_nodes: Option<usize>,
    dense: Option<PyReadonlyArray2<'py, f32>>,
    csr: Option<CsrParts<'py>>,
    labels: Option<PyReadonlyArray1<'py, i64>>,
    k: Option<usize>,
    method: Option<String>,
    seed: u64,
    adapter: Option<String>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray2<f32>>, String)> {
    let mut graph = graph(
        &edges,
        num_nodes,
        features(dense, csr).py()?,
        FeatureNormalization::None,
    )
    .py()?;
    if let Some(labels) = labels {
        let labels: Vec<i32> = labels
            .as_array()
            .iter()
            .map(|&v| {
                i32::try_from(v).map_err(|_| Error::InvalidArgument {
                    argument: "y",
                    message: format!("label {v} is outside the 32-bit range"),
                })
            })
            .collect::<Result<_>>()
            .py()?;
        graph = graph.with_labels(labels).py()?;
    }
    let mut options = ClusterFitOptions::default();
    options.method = method;
    options.k = k;
    options.seed = seed;
    options.check(&graph).py()?;
    let mut interrupted: Option<PyErr> = None;
    let outcome = py.detach(|| {
        let gpu = device(adapter.as_deref())?;
        cluster_fit(&gpu, &graph, &options, |_| {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => ControlFlow::Continue(()),
                Err(err) => {
                    interrupted = Some(err);
                    ControlFlow::Break(())
                }
            })
        })
    });
    let output = match (outcome, interrupted) {
        (Ok(output), _) => output,
        (Err(e @ Error::Interrupted { .. }), Some(_)) => return Err(py_error(e)),
        (Err(e), _) => return Err(py_error(e)),
    };
    let report = output.summary_json().py()?;
    let clusters: Vec<i64> = output
        .clustering
        .assignment
        .iter()
        .map(|&c| i64::from(c))
        .collect();
    let e = output.embeddings;
    Ok((
        clusters.into_pyarray(py),
        matrix(py, e.rows, e.cols, e.values),
        report,
    ))
}

/// ACC, NMI, ARI and macro-F1 of a clustering against labels (−1: unlabelled).
#[pyfunction]
fn clustering_scores<'py>(
    py: Python<'py>,
    labels: PyReadonlyArray1<'py, i64>,
    clusters: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let label = |v: i64| {
        i32::try_from(v).map_err(|_| Error::InvalidArgument {
            argument: "labels",
            message: format!("label {v} is outside the 32-bit range"),
        })
    };
    let cluster = |v: i64| {
        u32::try_from(v).map_err(|_| Error::InvalidArgument {
            argument: "clusters",
            message: format!("cluster {v} is not between 0 and {}", u32::MAX),
        })
    };
    let labels: Vec<i32> = labels
        .as_array()
        .iter()
        .map(|&v| label(v))
        .collect::<Result<_>>()
        .py()?;
    let clusters: Vec<u32> = clusters
        .as_array()
        .iter()
        .map(|&v| cluster(v))
        .collect::<Result<_>>()
        .py()?;
    let m = cluster_metrics(&labels, &clusters).py()?;
    let dict = PyDict::new(py);
    dict.set_item("acc", m.acc)?;
    dict.set_item("nmi", m.nmi)?;
    dict.set_item("ari", m.ari)?;
    dict.set_item("f1", m.f1)?;
    dict.set_item("labelled", m.labelled)?;
    Ok(dict)
}

/// A CSR matrix as numpy arrays: indptr, indices, data, rows, cols.
type CsrArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f32>>,
    usize,
    usize,
);

/// One class per node (−1: none).
type Labels<'py> = Bound<'py, PyArray1<i64>>;

/// A Planetoid dataset from `dir` (default: the library's data directory): its edges
/// (E, 2) with i < j, its features as CSR arrays (indptr, indices, data, rows, cols) and
/// its labels (−1: none).
#[pyfunction]
#[pyo3(signature = (name, dir=None))]
fn planetoid<'py>(
    py: Python<'py>,
    name: &str,
    dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyArray2<i64>>, CsrArrays<'py>, Labels<'py>)> {
    let graph = py
        .detach(|| load_planetoid(&data_dir(dir.as_deref()), name))
        .py()?;
    let x = graph
        .features
        .as_ref()
        .ok_or_else(|| PyRuntimeError::new_err(format!("the {name} files hold no features")))?;
    let widen = |v: &[u32]| v.iter().map(|&i| i64::from(i)).collect::<Vec<_>>();
    let csr = (
        widen(x.row_ptr()).into_pyarray(py),
        widen(x.col_idx()).into_pyarray(py),
        x.values().to_vec().into_pyarray(py),
        x.rows(),
        x.cols(),
    );
    let labels: Vec<i64> = match &graph.labels {
        Some(l) => l.iter().map(|&c| i64::from(c)).collect(),
        None => vec![-1; graph.num_nodes],
    };
    Ok((pair_array(py, &graph.edges), csr, labels.into_pyarray(py)))
}

/// Where the Planetoid files are looked for (`GPU_VGAE_DATA_DIR`, else the repository's
/// `datasets/planetoid`).
#[pyfunction]
fn default_data_dir() -> PathBuf {
    data_dir(None)
}

/// The adapter the device runs on (name, backend, type, driver, limits) as JSON.
#[pyfunction]
#[pyo3(signature = (adapter=None))]
fn adapter_json(py: Python<'_>, adapter: Option<String>) -> PyResult<String> {
    let gpu = py.detach(|| device(adapter.as_deref())).py()?;
    serde_json::to_string(gpu.report()).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(link_auc_ap, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans, m)?)?;
    m.add_function(wrap_pyfunction!(clustering_scores, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_graph, m)?)?;
    m.add_function(wrap_pyfunction!(planetoid, m)?)?;
    m.add_function(wrap_pyfunction!(default_data_dir, m)?)?;
    m.add_function(wrap_pyfunction!(adapter_json, m)?)?;
    Ok(())
}
