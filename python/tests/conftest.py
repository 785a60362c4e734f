"""Fixtures of the gpu_vgae tests: a small community graph, the repository, and the
command line built from it (to compare the package against)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def community_graph(nodes: int = 240, communities: int = 4, degree: float = 6.0, features: int = 40, seed: int = 0):
    """A stochastic block model: (edge_index (2, E) with each edge once, x (N, F) float32
    with community-correlated binary features, y (N,) the communities)."""
    rng = np.random.default_rng(seed)
    y = np.arange(nodes) % communities
    pairs = set()
    target = int(nodes * degree / 2)
    while len(pairs) < target:
        a, b = rng.integers(0, nodes, 2)
        same = y[a] == y[b]
        if a != b and (same or rng.random() < 0.1):
            pairs.add((min(a, b), max(a, b)))
    edges = np.array(sorted(pairs), dtype=np.int64).T
    x = (rng.random((nodes, features)) < 0.05).astype(np.float32)
    per = features // communities
    for c in range(communities):
        rows = np.flatnonzero(y == c)
        x[rows, c * per : (c + 1) * per] += (rng.random((rows.size, per)) < 0.4).astype(np.float32)
    return edges, np.minimum(x, 1.0), y


@pytest.fixture(scope="session")
def graph():
    return community_graph()


@pytest.fixture(scope="session")
def cli() -> List[str]:
    """The command that runs `gpu-vgae`: $GPU_VGAE_BIN, the repository's release build,
    or `cargo run --release` in the repository."""
    explicit = os.environ.get("GPU_VGAE_BIN")
    if explicit:
        return [explicit]
    built = REPO / "target" / "release" / "gpu-vgae"
    if built.exists():
        return [str(built)]
    if shutil.which("cargo") and (REPO / "Cargo.toml").exists():
        return ["cargo", "run", "--quiet", "--release", "--manifest-path", str(REPO / "Cargo.toml"), "--"]
    pytest.skip("no gpu-vgae command line: set GPU_VGAE_BIN or build the repository")


def run_cli(cli: List[str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*cli, *args], capture_output=True, text=True, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"gpu-vgae {' '.join(args)} failed:\n{result.stderr}")
    return result
