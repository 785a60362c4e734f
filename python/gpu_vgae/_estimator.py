"""The estimators: :class:`VGAE`, :class:`GAE` and :func:`load`."""

from __future__ import annotations

import inspect
import json
import os
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _convert, _native

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any
"""numpy arrays, nested lists, torch tensors, anything with ``__array__`` or ``.numpy()``."""


class NotFittedError(ValueError, AttributeError):
    """The estimator has no embeddings yet: call ``fit`` (or load a model with a graph).

    A ValueError and an AttributeError, as scikit-learn's ``NotFittedError`` is."""


class VGAE:
    """A variational graph auto-encoder (Kipf & Welling 2016), trained on the GPU.

    The same engine and the same numbers as ``gpu-vgae run``: with the same settings and
    seed, :meth:`fit` gives bit for bit the embeddings the command line writes to
    ``embeddings.npy`` and the test AUC/AP it prints.

    Parameters
    ----------
    hidden, latent:
        Widths of the GCN layers (32 and 16, the paper's; latent at most 64).
    objective:
        ``"dense"``: the paper's weighted cross-entropy over all N² node pairs;
        ``"sampled"``: PyG's negative sampling (one fresh negative per edge and epoch);
        ``"subgraph"``: FastGAE's degree-sampled subgraph of ``sample_nodes`` nodes.
    epochs, lr, seed:
        Adam for ``epochs`` epochs at learning rate ``lr``; ``seed`` fixes the weights'
        initialisation, every random draw and the edge split.
    variational:
        ``False`` is the plain GAE (no KL term); :class:`GAE` sets it.
    adapter:
        Part of the name of the GPU adapter to use (default: ``$GPU_VGAE_ADAPTER``, else
        the most capable one; on a machine without a GPU, Mesa's lavapipe).
    eval_every:
        Loss and validation metrics every this many epochs (default 10, or 1 with
        ``patience``): what ``history_`` records.
    monitor:
        ``"auc"`` or ``"ap"``: the validation metric early stopping watches.
    sample_nodes, alpha:
        The subgraph objective's nodes per epoch and degree exponent.
    normalize_features:
        ``"none"``, ``"row"`` (each row divided by its sum, PyG's ``NormalizeFeatures``) or
        ``"standard"``; recorded in the model so that :meth:`transform` scales a new
        graph's features the same way.

    Attributes (set by :meth:`fit`)
    -------------------------------
    embeddings_ : numpy.ndarray
        μ of every node, (N, latent) float32: the encoder over **every** edge of the
        graph after training (held-out edges are hidden only while training and
        evaluating), as ``embeddings.npy``.
    history_ : dict of numpy arrays
        Every evaluated epoch: ``epoch``, ``loss``, ``reconstruction``, ``kl``,
        ``val_auc``, ``val_ap`` (NaN without validation edges).
    report_ : dict
        What ``metrics.json`` holds: ``report_["test"]["auc"]``, ``["val"]``,
        ``epochs_run``, ``best_epoch``, timings, the adapter, ``notes``.
    split_ : dict of numpy arrays
        The edge split, (k, 2) int64 pairs each: ``train``, ``val_pos``, ``val_neg``,
        ``test_pos``, ``test_neg``.
    node_ids_ : numpy.ndarray
        The id of every row of ``embeddings_`` (``arange(N)`` for graphs given as
        arrays; a model of the command line's keeps its edge list's ids).
    """

    _variational_default = True

    def __init__(
        self,
        *,
        hidden: int = 32,
        latent: int = 16,
        objective: str = "dense",
        epochs: int = 200,
        lr: float = 0.01,
        seed: int = 0,
        variational: Optional[bool] = None,
        adapter: Optional[str] = None,
        eval_every: Optional[int] = None,
        monitor: str = "auc",
        sample_nodes: int = 5000,
        alpha: float = 2.0,
        normalize_features: str = "none",
    ) -> None:
        self.hidden = hidden
        self.latent = latent
        self.objective = objective
        self.epochs = epochs
        self.lr = lr
        self.seed = seed
        self.variational = self._variational_default if variational is None else variational
        self.adapter = adapter
        self.eval_every = eval_every
        self.monitor = monitor
        self.sample_nodes = sample_nodes
        self.alpha = alpha
        self.normalize_features = normalize_features
        self._model: Optional[Any] = None
        self._training_mu: Optional[np.ndarray] = None

    # -- scikit-learn's parameter protocol --------------------------------------------

    @classmethod
    def _param_names(cls) -> Tuple[str, ...]:
        signature = inspect.signature(VGAE.__init__)
        return tuple(p for p in signature.parameters if p != "self")

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "VGAE":
        """Sets constructor parameters, as scikit-learn's ``set_params``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(
                    f"invalid setting `{name}`: {type(self).__name__} has no such "
                    f"parameter; expected one of: {', '.join(self._param_names())}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(VGAE.__init__).parameters.items()
        }
        defaults["variational"] = self._variational_default
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if value != defaults.get(name)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- training ---------------------------------------------------------------------

    def _settings(
        self, val_ratio: float, test_ratio: float, patience: Optional[int]
    ) -> Dict[str, Any]:
        patience = _convert.count(patience, "patience", optional=True)
        eval_every = _convert.count(self.eval_every, "eval_every", optional=True)
        if eval_every is None:
            eval_every = 1 if patience is not None else 10
        return {
            "model": "vgae" if self.variational else "gae",
            "objective": str(self.objective),
            "hidden": _convert.count(self.hidden, "hidden"),
            "latent": _convert.count(self.latent, "latent"),
            "epochs": _convert.count(self.epochs, "epochs"),
            "lr": _convert.number(self.lr, "lr"),
            "seed": _convert.count(self.seed, "seed"),
            "eval_every": eval_every,
            "val_ratio": _convert.number(val_ratio, "val_ratio"),
            "test_ratio": _convert.number(test_ratio, "test_ratio"),
            "patience": patience,
            "monitor": str(self.monitor),
            "sample_nodes": _convert.count(self.sample_nodes, "sample_nodes"),
            "alpha": _convert.number(self.alpha, "alpha"),
            "normalize_features": str(self.normalize_features),
        }

    def fit(
        self,
        edge_index: ArrayLike,
        x: Optional[ArrayLike] = None,
        *,
        val_ratio: float = 0.05,
        test_ratio: float = 0.1,
        neg_edge_index: Optional[ArrayLike] = None,
        patience: Optional[int] = None,
        callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
        num_nodes: Optional[int] = None,
    ) -> "VGAE":
        """Splits the edges, trains on the training part, evaluates on the held-out parts
        and embeds every node. Returns ``self``.

        Parameters
        ----------
        edge_index:
            The graph's edges, (2, E) as PyG holds them or (E, 2), integer node ids from
            0; either direction, repeats and self loops are merged or dropped (the graph
            is undirected).
        x:
            Node features (N, F): a dense array (numpy, torch, ...) or a scipy.sparse
            matrix. ``None`` trains the featureless model (the identity as input).
        val_ratio, test_ratio:
            Fractions of the edges held out for validation and test (tkipf's split:
            0.05 and 0.1). Set both to 0 to train on every edge.
        neg_edge_index:
            Your own negatives for validation and test, replacing the drawn ones: pairs
            that are not edges of the graph, (2, M) or (M, 2). In the given order the
            first ⌊M·V/(V+T)⌋ validate and the rest test (V, T: the held-out edge counts),
            so put the validation negatives first. ``report_`` and ``split_`` then score
            and list exactly these.
        patience:
            Early stopping: stop when the validation metric (``monitor``) has not improved
            for this many epochs and keep the best weights.
        callback:
            Called after every epoch with a dict (``epoch``, ``epochs``, ``elapsed``, and
            on evaluated epochs ``loss``, ``reconstruction``, ``kl``, ``val_auc``,
            ``val_ap``). To stop training, raise: the exception leaves ``fit``.
        num_nodes:
            The node count, when isolated nodes lie past the largest id and there are
            no features (default: the rows of ``x``, else the largest id + 1).

        The GIL is released while the device trains; Ctrl-C stops training after the
        current epoch with KeyboardInterrupt (the estimator is left as it was).
        """
        edges = _convert.pairs(edge_index)
        dense, csr = _convert.features(x)
        negatives = (
            None if neg_edge_index is None else _convert.pairs(neg_edge_index, "neg_edge_index")
        )
        settings = self._settings(val_ratio, test_ratio, patience)
        n = _convert.count(num_nodes, "num_nodes", optional=True)
        model, mu, report, split = _native.fit(
            edges, n, dense, csr, settings, negatives, callback, self.adapter
        )
        self._model = model
        self._training_mu = None
        self.embeddings_ = mu
        self.report_ = json.loads(report)
        self.history_ = _history(self.report_["history"])
        self.split_ = split
        self.node_ids_ = np.arange(mu.shape[0])
        self.n_features_in_ = None if x is None else self._header()["num_features"]
        return self

    def fit_transform(self, edge_index: ArrayLike, x: Optional[ArrayLike] = None, **fit_params: Any) -> np.ndarray:
        """``fit(edge_index, x, **fit_params).embeddings_``."""
        return self.fit(edge_index, x, **fit_params).embeddings_

    # -- using what was trained -------------------------------------------------------

    def _native_model(self) -> Any:
        if self._model is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(edge_index, x) "
                "or gpu_vgae.load(path)"
            )
        return self._model

    def _embeddings(self) -> np.ndarray:
        self._native_model()
        mu = getattr(self, "embeddings_", None)
        if mu is None:
            raise NotFittedError(
                "this model was loaded without a graph: load it with "
                "gpu_vgae.load(path, edge_index, x) to score, rank or cluster that graph's "
                "nodes, or call transform(edge_index, x) for embeddings"
            )
        return mu

    def _header(self) -> Dict[str, Any]:
        return json.loads(self._native_model().header_json())

    def transform(
        self,
        edge_index: Optional[ArrayLike] = None,
        x: Optional[ArrayLike] = None,
        *,
        num_nodes: Optional[int] = None,
    ) -> np.ndarray:
        """μ (N, latent) float32 of a graph: without arguments, of the graph the model
        was fit on (a copy of ``embeddings_``); else of a new graph (inductive: any
        graph whose features have the training features' width, scaled as they were).
        A featureless model embeds only graphs with its training graph's node count."""
        if edge_index is None:
            if x is not None:
                raise _convert.invalid("edge_index", "transform(x=...) needs the graph's edges too")
            return self._embeddings().copy()
        edges = _convert.pairs(edge_index)
        dense, csr = _convert.features(x)
        n = _convert.count(num_nodes, "num_nodes", optional=True)
        return self._native_model().embed(edges, n, dense, csr)

    def score(self, pairs: ArrayLike) -> np.ndarray:
        """Link probabilities σ(μ_a · μ_b) of node pairs ((2, K) or (K, 2)) with
        ``embeddings_``, as ``gpu-vgae predict --pairs`` scores them: float32 (K,)."""
        mu = self._embeddings()
        return _native.score(mu, _convert.pairs(pairs, "pairs"), self.adapter)

    def _training_embeddings(self) -> np.ndarray:
        """μ with only the split's training edges in the encoder, computed once."""
        if self._training_mu is None:
            self._training_mu = self._native_model().embed_training_edges()
        return self._training_mu

    def test(self, pos_edge_index: ArrayLike, neg_edge_index: ArrayLike) -> Tuple[float, float]:
        """(ROC AUC, average precision) of positive against negative pairs, as PyG's
        ``GAE.test`` reports them (scikit-learn's definitions).

        Pairs are scored with μ of the training edges only (the held-out edges hidden,
        as PyG encodes ``train_pos_edge_index``), so
        ``test(split_["test_pos"], split_["test_neg"])`` is ``report_["test"]``. With
        ``val_ratio=test_ratio=0`` that μ is ``embeddings_``."""
        self._embeddings()
        mu = self._training_embeddings()
        pos = _native.score(mu, _convert.pairs(pos_edge_index, "pos_edge_index"), self.adapter)
        neg = _native.score(mu, _convert.pairs(neg_edge_index, "neg_edge_index"), self.adapter)
        return _native.link_auc_ap(pos, neg)

    def top_k_links(
        self, k: int, per_node: bool = False, known: str = "all"
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most likely missing links, exactly (equal to ranking every pair by
        μ_i·μ_j, ties by (i, j)), on the device tile by tile in O(N·L + k) memory.

        ``known="all"``: candidates are the pairs that are not edges of the graph, ranked
        by ``embeddings_``; ``"train"``: the pairs that are not training edges of the
        split, ranked by μ of the training edges (how many held-out test edges it
        recovers measures the model). ``per_node``: the best ``k`` partners of every node
        in node order, instead of the best ``k`` pairs (i < j) of the graph.

        Returns ``(edge_index, scores)``: (2, K) int64 pairs, best first, and their
        probabilities σ(μ_i·μ_j), float32 (K,)."""
        self._embeddings()
        k = _convert.count(k, "k")
        mu = self._training_embeddings() if str(known).lower() == "train" else self.embeddings_
        sources, targets, scores = self._native_model().top_k(mu, k, bool(per_node), str(known))
        return np.stack([sources, targets]), scores

    def cluster(
        self,
        k: Optional[int] = None,
        method: Optional[str] = None,
        *,
        y: Optional[ArrayLike] = None,
        seed: Optional[int] = None,
    ) -> np.ndarray:
        """Clusters the nodes by ``embeddings_``: the cluster of every node, int64 (N,).

        ``method``: ``"kmeans"`` (the default: k-means++, Lloyd, the best of 10 restarts,
        on the device, seeded by ``seed``, default the model's). ``k``: the number of
        clusters, default the number of classes of the labels ``y`` (int, −1 for
        unlabelled nodes). With ``y``, ``cluster_report_`` also holds ACC (Hungarian
        matching), NMI, ARI and macro-F1 against it."""
        mu = self._embeddings()
        name = "kmeans" if method is None else str(method).lower()
        if name != "kmeans":
            raise ValueError(f"invalid setting `method`: unknown value `{method}`; expected one of: kmeans")
        labels = None if y is None else _convert.as_numpy(y).astype(np.int64, copy=False).ravel()
        if k is None:
            if labels is None or labels.size == 0 or labels.max() < 0:
                raise ValueError(
                    "invalid setting `k`: give the number of clusters, or labels y to take it from"
                )
            k = int(labels.max()) + 1
        k = _convert.count(k, "k")
        seed = self.seed if seed is None else seed
        clusters, inertia, iterations = _native.kmeans(mu, k, _convert.count(seed, "seed"), self.adapter)
        report: Dict[str, Any] = {"k": k, "inertia": inertia, "iterations": iterations}
        if labels is not None:
            report.update(_native.clustering_scores(labels, clusters))
        self.cluster_report_ = report
        return clusters

    # -- files ------------------------------------------------------------------------

    def save(self, path: PathLike) -> None:
        """Writes the model file (``model.gvae``, the format of ``gpu-vgae run --out``:
        ``gpu-vgae embed/predict/cluster --model`` and :func:`load` read it)."""
        self._native_model().save(os.fspath(path))


def _history(epochs: Any) -> Dict[str, np.ndarray]:
    """The report's evaluated epochs as columns (NaN where an epoch has no validation)."""
    nan = float("nan")
    val = [e["val"] or {"auc": nan, "ap": nan} for e in epochs]
    return {
        "epoch": np.array([e["epoch"] for e in epochs], dtype=np.int64),
        "loss": np.array([e["loss"]["total"] for e in epochs]),
        "reconstruction": np.array([e["loss"]["reconstruction"] for e in epochs]),
        "kl": np.array([e["loss"]["kl"] for e in epochs]),
        "val_auc": np.array([v["auc"] for v in val]),
        "val_ap": np.array([v["ap"] for v in val]),
    }


class GAE(VGAE):
    """The plain graph auto-encoder: :class:`VGAE` without the variational part (Z = μ,
    no KL term). Same parameters and methods."""

    _variational_default = False


def load(
    path: PathLike,
    edge_index: Optional[ArrayLike] = None,
    x: Optional[ArrayLike] = None,
    *,
    num_nodes: Optional[int] = None,
    adapter: Optional[str] = None,
) -> VGAE:
    """Reads a model file (written by :meth:`VGAE.save` or ``gpu-vgae run --out DIR`` as
    ``DIR/model.gvae``) as a :class:`VGAE` or :class:`GAE`.

    With a graph (``edge_index``, ``x``), the model is attached to it: ``embeddings_`` is
    its μ (what ``gpu-vgae embed`` writes) and ``score``, ``test``, ``top_k_links`` and
    ``cluster`` work on it. Without one, ``transform(edge_index, x)`` embeds any graph.
    ``report_`` holds the metrics the file recorded."""
    model = _native.load(os.fspath(path), adapter)
    header = json.loads(model.header_json())
    config = header["config"]
    cls = VGAE if config["kind"] == "vgae" else GAE
    estimator = cls(
        hidden=config["hidden"],
        latent=config["latent"],
        objective=config["objective"],
        lr=config["adam"]["lr"],
        seed=config["seed"],
        adapter=adapter,
        sample_nodes=config["sample_nodes"],
        alpha=config["alpha"],
        normalize_features=header["feature_normalization"],
    )
    if edge_index is not None:
        dense, csr = _convert.features(x)
        n = _convert.count(num_nodes, "num_nodes", optional=True)
        model = model.with_graph(_convert.pairs(edge_index), n, dense, csr)
        estimator.embeddings_ = model.embed()
    estimator._model = model
    metrics = header["metrics"]
    estimator.report_ = {key: metrics[key] for key in ("val", "test", "epochs_run", "best_epoch", "final_loss")}
    graph = header["training_graph"]
    ids = graph.get("node_ids")
    if edge_index is not None:
        estimator.node_ids_ = np.arange(estimator.embeddings_.shape[0])
    elif ids is not None:
        estimator.node_ids_ = np.array(ids)
    else:
        estimator.node_ids_ = np.arange(graph["num_nodes"])
    estimator.n_features_in_ = None if header["featureless"] else header["num_features"]
    return estimator
