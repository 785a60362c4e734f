"""Clustering a graph in one call: ``gpu_vgae.cluster`` and ``gpu-vgae cluster``, their
reported metrics recomputed with scikit-learn from what they hand back or write
(clusters.csv). Without scikit-learn those checks are skipped and say so."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import gpu_vgae

from conftest import run_cli

TOLERANCE = 1e-6


def sklearn_scores(y: np.ndarray, clusters: np.ndarray) -> dict:
    """ACC (Hungarian), NMI, ARI and macro-F1 over the labelled nodes, as DESIGN.md §8
    defines them, from scikit-learn and scipy."""
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is not installed")
    optimize = pytest.importorskip("scipy.optimize", reason="scipy is not installed")
    keep = y >= 0
    y, c = y[keep], clusters[keep]
    classes, clusters_ = np.unique(y), np.unique(c)
    table = np.zeros((clusters_.size, classes.size), dtype=np.int64)
    np.add.at(table, (np.searchsorted(clusters_, c), np.searchsorted(classes, y)), 1)
    rows, cols = optimize.linear_sum_assignment(-table)
    mapping = {clusters_[r]: classes[k] for r, k in zip(rows, cols)}
    mapped = np.array([mapping.get(v, -1) for v in c])
    return {
        "acc": float(np.mean(mapped == y)),
        "nmi": metrics.normalized_mutual_info_score(y, c, average_method="arithmetic"),
        "ari": metrics.adjusted_rand_score(y, c),
        "f1": metrics.f1_score(y, mapped, labels=classes, average="macro"),
    }


def assert_scores(reported: dict, expected: dict) -> None:
    for name, value in expected.items():
        assert abs(reported[name] - value) <= TOLERANCE, (name, reported[name], value)


def test_cluster_function_reports_what_its_labels_score(graph):
    edge_index, x, y = graph
    result = gpu_vgae.cluster(edge_index, x, y=y, seed=0, method="s2gc")
    assert result.labels.dtype == np.int64 and result.labels.shape == (x.shape[0],)
    assert result.embeddings.dtype == np.float32 and result.embeddings.shape == (x.shape[0], 16)
    report = result.report
    assert report["method"] == "s2gc" and report["hyperparameters"]["k"] == 4
    assert report["details"]["order"] >= 1
    assert report["clustering"]["silhouette"] is not None
    ours = report["clustering"]["all_labelled"]
    assert ours["acc"] > 0.8, ours
    assert_scores(ours, sklearn_scores(y, result.labels))


def test_cluster_function_runs_ns4gc_by_default(graph):
    edge_index, x, y = graph
    result = gpu_vgae.cluster(edge_index, x, y=y, seed=0)
    report = result.report
    assert report["method"] == "ns4gc"
    candidates = report["details"]["candidates"]
    assert len(candidates) == 2
    assert report["details"]["chosen_candidate"] == min(
        range(2), key=lambda i: candidates[i]["davies_bouldin"]
    )
    assert np.allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-4)
    assert_scores(report["clustering"]["all_labelled"], sklearn_scores(y, result.labels))


def test_cluster_function_refuses_bad_settings(graph):
    edge_index, x, y = graph
    with pytest.raises(ValueError, match="between 1 and"):
        gpu_vgae.cluster(edge_index, x, k=0)
    with pytest.raises(ValueError, match="--clusters|number of clusters"):
        gpu_vgae.cluster(edge_index, x)
    with pytest.raises(ValueError, match="has none"):
        gpu_vgae.cluster(edge_index, None, k=3)
    with pytest.raises(ValueError, match="unknown clustering method"):
        gpu_vgae.cluster(edge_index, x, k=3, method="spectral")


def test_cluster_citeseer_csv_reproduces_metrics_json_with_sklearn(cli, tmp_path):
    """`gpu-vgae cluster --dataset citeseer --seed 0 --out D`: ACC/NMI/ARI/F1 recomputed
    by scikit-learn from clusters.csv and the Planetoid labels equal metrics.json's."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    out = tmp_path / "citeseer"
    run_cli(cli, "cluster", "--dataset", "citeseer", "--seed", "0", "--out", str(out), "--quiet")
    metrics = json.loads((out / "metrics.json").read_text())
    _, _, y = gpu_vgae.datasets.planetoid("citeseer")
    with open(out / "clusters.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    clusters = np.full(y.shape[0], -1, dtype=np.int64)
    for row in rows:
        clusters[int(row["node"])] = int(row["cluster"])
    assert (clusters >= 0).all()
    reported = metrics["clustering"]["all_labelled"]
    assert reported["labelled"] == int((y >= 0).sum()) == 3312
    assert_scores(reported, sklearn_scores(y, clusters))
