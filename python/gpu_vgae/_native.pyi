"""Type hints of the native module (python/src/lib.rs). Private: use the gpu_vgae
package's estimators."""

from os import PathLike
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Pairs = npt.NDArray[np.int64]  # (E, 2), any strides
_Dense = npt.NDArray[np.float32]  # (N, F), C-contiguous
_Csr = Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32], int, int]
_Path = Union[str, PathLike[str]]

class Model:
    def header_json(self) -> str: ...
    def embed(
        self,
        edges: Optional[_Pairs] = None,
        num_nodes: Optional[int] = None,
        dense: Optional[_Dense] = None,
        csr: Optional[_Csr] = None,
    ) -> npt.NDArray[np.float32]: ...
    def embed_training_edges(self) -> npt.NDArray[np.float32]: ...
    def top_k(
        self, mu: npt.NDArray[np.float32], k: int, per_node: bool, known: str
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
    def with_graph(
        self,
        edges: _Pairs,
        num_nodes: Optional[int] = None,
        dense: Optional[_Dense] = None,
        csr: Optional[_Csr] = None,
    ) -> "Model": ...
    def save(self, path: _Path) -> None: ...

def fit(
    edges: _Pairs,
    num_nodes: Optional[int],
    dense: Optional[_Dense],
    csr: Optional[_Csr],
    settings: Dict[str, Any],
    negatives: Optional[_Pairs],
    callback: Optional[Callable[[Dict[str, Any]], Any]],
    adapter: Optional[str],
) -> Tuple[Model, npt.NDArray[np.float32], str, Dict[str, _Pairs]]: ...
def load(path: _Path, adapter: Optional[str] = None) -> Model: ...
def cluster_graph(
    edges: _Pairs,
    num_nodes: Optional[int],
    dense: Optional[_Dense],
    csr: Optional[_Csr],
    labels: Optional[npt.NDArray[np.int64]],
    k: Optional[int],
    method: Optional[str],
    seed: int,
    adapter: Optional[str],
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], str]: ...
def score(mu: npt.NDArray[np.float32], pairs: _Pairs, adapter: Optional[str] = None) -> npt.NDArray[np.float32]: ...
def link_auc_ap(pos: npt.NDArray[np.float32], neg: npt.NDArray[np.float32]) -> Tuple[float, float]: ...
def kmeans(
    mu: npt.NDArray[np.float32], k: int, seed: int, adapter: Optional[str] = None
) -> Tuple[npt.NDArray[np.int64], float, int]: ...
def clustering_scores(labels: npt.NDArray[np.int64], clusters: npt.NDArray[np.int64]) -> Dict[str, float]: ...
def planetoid(name: str, dir: Optional[_Path] = None) -> Tuple[_Pairs, _Csr, npt.NDArray[np.int64]]: ...
def default_data_dir() -> str: ...
def adapter_json(adapter: Optional[str] = None) -> str: ...
