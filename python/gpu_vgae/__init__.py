"""gpu_vgae: variational and plain graph auto-encoders (Kipf & Welling 2016) trained on
the GPU through wgpu and hand-written WGSL kernels — the engine of the ``gpu-vgae``
command line, as a scikit-learn style estimator with PyTorch Geometric's names.

>>> import gpu_vgae
>>> edge_index, x, y = gpu_vgae.datasets.planetoid("cora")
>>> model = gpu_vgae.VGAE(seed=0).fit(edge_index, x)      # doctest: +SKIP
>>> model.report_["test"]                                   # doctest: +SKIP
{'auc': 0.91..., 'ap': 0.92...}

Inputs: ``edge_index`` as (2, E) or (E, 2) integers (numpy, lists, torch tensors,
anything with ``__array__`` or ``.numpy()``), features dense or scipy.sparse. Outputs:
float32 numpy arrays. Errors: ValueError (bad input), MemoryError (sizes),
FileNotFoundError / OSError (files), RuntimeError (the device), FloatingPointError
(training diverged), KeyboardInterrupt (Ctrl-C, between epochs), each with the
library's message.
"""

from __future__ import annotations

import json
from typing import Any, Dict, NamedTuple, Optional, Tuple

import numpy as np

from . import _convert, datasets
from ._convert import as_numpy as _as_numpy
from ._estimator import GAE, VGAE, NotFittedError, load

__version__ = "0.1.0"
__all__ = [
    "VGAE",
    "GAE",
    "load",
    "cluster",
    "Clustering",
    "from_pyg",
    "adapter",
    "datasets",
    "NotFittedError",
]


class Clustering(NamedTuple):
    """What :func:`cluster` returns."""

    labels: np.ndarray
    """The cluster of every node, int64 (N,)."""
    embeddings: np.ndarray
    """The embeddings that were clustered, float32 (N, d)."""
    report: Dict[str, Any]
    """``metrics.json`` of ``gpu-vgae cluster``: the method and every setting, ACC /
    NMI / ARI / F1 against ``y`` (when given), inertia, silhouette, timings."""


def cluster(
    edge_index: Any,
    x: Any = None,
    k: Optional[int] = None,
    method: Optional[str] = None,
    seed: int = 0,
    *,
    y: Any = None,
    num_nodes: Optional[int] = None,
    adapter: Optional[str] = None,
) -> Clustering:
    """Clusters the nodes of a graph, as ``gpu-vgae cluster`` does: ``method`` is the
    best label-free method when ``None`` (``"ns4gc"``: a GCN encoder trained on two
    augmented views under NS4GC's two published settings, the one whose k-means
    partition has the lower Davies–Bouldin index kept), or ``"s2gc"`` (a low-pass
    filter of the features, their top singular vectors, k-means, the filter's order
    chosen without labels), ``"agc"``, ``"scgc"``, ``"magi"``, ``"vgae"``, ``"gae"``, ``"dfcn"``. ``k``: the number of clusters,
    default the number of classes of ``y`` (int, −1 for unlabelled nodes; used only for
    the report's metrics, never by the methods). Returns ``Clustering(labels, embeddings, report)``."""
    from . import _native

    edges = _convert.pairs(edge_index, "edge_index")
    dense, csr = _convert.features(x)
    labels = None if y is None else _as_numpy(y).astype(np.int64, copy=False).ravel()
    n = _convert.count(num_nodes, "num_nodes", optional=True)
    kk = _convert.count(k, "k", optional=True)
    clusters, embeddings, report = _native.cluster_graph(
        edges, n, dense, csr, labels, kk, method, _convert.count(seed, "seed"), adapter
    )
    return Clustering(clusters, embeddings, json.loads(report))


def from_pyg(data: Any) -> Tuple[Any, Optional[Any], Optional[Any]]:
    """``(edge_index, x, y)`` of a PyTorch Geometric ``Data`` object as numpy arrays
    (``x`` and ``y`` ``None`` where the graph has none), ready for ``VGAE().fit``.

    Pass ``num_nodes=data.num_nodes`` to ``fit`` for a featureless graph whose last
    nodes have no edge."""
    x = getattr(data, "x", None)
    y = getattr(data, "y", None)
    return (
        _as_numpy(data.edge_index),
        None if x is None else _as_numpy(x),
        None if y is None else _as_numpy(y),
    )


def adapter(name: Optional[str] = None) -> Dict[str, Any]:
    """The GPU adapter the engine runs on (opened if it is not yet): name, backend,
    device type, driver and limits. ``name``: as the estimators' ``adapter``."""
    from . import _native

    return json.loads(_native.adapter_json(name))
