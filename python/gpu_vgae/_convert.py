"""Input conversion: whatever a user holds (numpy, lists, torch tensors, anything with
``__array__`` or ``.numpy()``, scipy.sparse) into the arrays the native module reads.

Nothing is copied when the dtype and layout already fit: a (2, E) int64 array reaches the
native module as a transposed view, a C-contiguous float32 feature matrix as itself.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np

#: CSR arrays as the native module takes them: indptr, indices, data, rows, cols.
CsrParts = Tuple[np.ndarray, np.ndarray, np.ndarray, int, int]


def as_numpy(obj: Any) -> np.ndarray:
    """A numpy view of ``obj``: torch tensors through ``.detach().cpu().numpy()``
    (no copy for CPU tensors), anything else through ``np.asarray``."""
    if isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        return obj.detach().cpu().numpy()
    if not hasattr(obj, "__array__") and hasattr(obj, "numpy"):
        return np.asarray(obj.numpy())
    return np.asarray(obj)


def invalid(argument: str, message: str) -> ValueError:
    """A ValueError worded as the library words its ``InvalidArgument`` errors."""
    return ValueError(f"invalid {argument}: {message}")


def pairs(obj: Any, argument: str = "edge_index") -> np.ndarray:
    """Node pairs as an (E, 2) int64 array (a view where possible).

    Accepts (2, E), PyG's layout, and (E, 2); a (2, 2) array is read as (2, E).
    """
    a = as_numpy(obj)
    if a.dtype == np.bool_ or a.dtype.kind not in "iu":
        if a.size == 0 and a.dtype.kind == "f":
            a = a.astype(np.int64)
        else:
            raise invalid(argument, f"node ids must be integers, got dtype {a.dtype}")
    if a.ndim != 2 or 2 not in a.shape:
        raise invalid(argument, f"expected node pairs of shape (2, E) or (E, 2), got {a.shape}")
    if a.shape[0] == 2:
        a = a.T
    if a.dtype != np.int64:
        if a.dtype == np.uint64 and a.size and int(a.max()) > np.iinfo(np.int64).max:
            raise invalid(argument, f"node id {int(a.max())} is too large")
        a = a.astype(np.int64)
    return a


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy.sparse matrix or array (duck-typed: scipy is optional)."""
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def features(x: Any) -> Tuple[Optional[np.ndarray], Optional[CsrParts]]:
    """(dense, csr): a C-contiguous float32 (N, F) matrix, or scipy's CSR arrays in
    canonical form (sorted, no duplicates), or neither for ``x=None``."""
    if x is None:
        return None, None
    if is_sparse(x):
        m = x.tocsr()
        if m is x:
            m = m.copy()  # canonicalising below must not change the caller's matrix
        m.sum_duplicates()  # also sorts every row's columns
        rows, cols = m.shape
        return None, (
            m.indptr.astype(np.int64, copy=False),
            m.indices.astype(np.int64, copy=False),
            np.ascontiguousarray(m.data, dtype=np.float32),
            int(rows),
            int(cols),
        )
    a = as_numpy(x)
    if a.ndim != 2:
        raise invalid("x", f"expected a (N, F) feature matrix, got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise invalid("x", f"features must be numbers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32), None


def embeddings(mu: Any) -> np.ndarray:
    """A C-contiguous float32 (N, L) matrix."""
    a = as_numpy(mu)
    if a.ndim != 2:
        raise invalid("embeddings", f"expected an (N, L) matrix, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


def count(value: Any, setting: str, optional: bool = False) -> Optional[int]:
    """A non-negative int setting (the library checks its range), or a ValueError worded
    as the library words ``InvalidConfig``."""
    if value is None and optional:
        return None
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(
            f"invalid setting `{setting}`: expected an integer, got {value!r}"
        ) from None
    if n < 0:
        raise ValueError(f"invalid setting `{setting}`: must be at least 0, got {n}")
    return n


def number(value: Any, setting: str) -> float:
    """A float setting, or a ValueError worded as ``InvalidConfig``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"invalid setting `{setting}`: expected a number, got {value!r}"
        ) from None
