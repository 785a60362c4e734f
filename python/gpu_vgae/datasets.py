"""The graphs that ship with gpu-vgae: Planetoid's Cora, CiteSeer and PubMed (the
original pickles in the repository's ``datasets/planetoid``, checked against their
SHA-256 sums when read)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _native

#: The dataset names :func:`planetoid` reads.
PLANETOID = ("cora", "citeseer", "pubmed")


def data_dir(explicit: Optional[Union[str, "os.PathLike[str]"]] = None) -> Path:
    """Where :func:`planetoid` reads the files: ``explicit``, else
    ``$GPU_VGAE_DATA_DIR``, else the repository the package was built from
    (``datasets/planetoid`` beside ``python/``)."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get("GPU_VGAE_DATA_DIR"):
        return Path(os.environ["GPU_VGAE_DATA_DIR"])
    beside = Path(__file__).resolve().parents[2] / "datasets" / "planetoid"
    if beside.is_dir():
        return beside
    return Path(_native.default_data_dir())


def planetoid(
    name: str,
    *,
    data_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    sparse: bool = False,
) -> Tuple[np.ndarray, Any, np.ndarray]:
    """``(edge_index, x, y)`` of a Planetoid graph, as PyG's ``Planetoid`` holds them.

    - ``edge_index``: (2, 2E) int64, every undirected edge in both directions;
    - ``x``: (N, F) float32 features, dense (a ``scipy.sparse.csr_matrix`` with
      ``sparse=True``), unscaled (the pickles' binary word vectors);
    - ``y``: (N,) int64 classes, −1 for the few CiteSeer nodes without one.

    ``gpu_vgae.VGAE().fit(edge_index, x)`` then trains on the graph
    ``gpu-vgae run --dataset NAME`` trains on."""
    edges, (indptr, indices, values, rows, cols), y = _native.planetoid(
        str(name), os.fspath(globals()["data_dir"](data_dir))
    )
    edge_index = np.concatenate([edges.T, edges[:, ::-1].T], axis=1)
    if sparse:
        import scipy.sparse

        x: Any = scipy.sparse.csr_matrix((values, indices, indptr), shape=(rows, cols))
    else:
        x = np.zeros((rows, cols), dtype=np.float32)
        row_of = np.repeat(np.arange(rows), np.diff(indptr))
        x[row_of, indices] = values
    return edge_index, x, y
