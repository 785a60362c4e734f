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
from typing import Any, Dict, Optional, Tuple

from . import datasets
from ._convert import as_numpy as _as_numpy
from ._estimator import GAE, VGAE, NotFittedError, load

__version__ = "0.1.0"
__all__ = ["VGAE", "GAE", "load", "from_pyg", "adapter", "datasets", "NotFittedError"]


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
