"""Bad input raises the Python exception its kind calls for, with the library's message:
ValueError for input, FileNotFoundError / OSError for files, NotFittedError before fit."""

from __future__ import annotations

import numpy as np
import pytest

import gpu_vgae


@pytest.fixture(scope="module")
def small(graph):
    edge_index, x, _ = graph
    return gpu_vgae.VGAE(epochs=5).fit(edge_index, x)


@pytest.mark.parametrize(
    "edge_index, message",
    [
        (np.arange(10), r"invalid edge_index: expected node pairs of shape \(2, E\) or \(E, 2\), got \(10,\)"),
        (np.zeros((3, 5), dtype=np.int64), r"invalid edge_index: expected node pairs of shape"),
        (np.array([[0.5, 1.0], [1.0, 2.0]]), r"invalid edge_index: node ids must be integers, got dtype float64"),
        (np.array([[0, 1, 2], [1, -1, 0]]), r"invalid edge_index: pair 1 has node id -1; ids must be between 0 and 4294967295"),
        (np.array([[0, 1], [2, 2**40]]), r"invalid edge_index: pair 1 has node id 1099511627776"),
        (np.array([[0, 1], [2, 1]]).T * 0, r"invalid graph: the graph has no edges"),
    ],
)
def test_bad_edge_index(edge_index, message):
    with pytest.raises(ValueError, match=message):
        gpu_vgae.VGAE(epochs=1).fit(edge_index)


def test_node_ids_past_the_features(graph):
    edge_index, x, _ = graph
    with pytest.raises(ValueError, match=r"invalid graph: edge \d+ \(\d+, 240\) has a node id outside 0..240"):
        gpu_vgae.VGAE(epochs=1).fit(np.concatenate([edge_index, [[0], [240]]], axis=1), x)


@pytest.mark.parametrize(
    "make_x, message",
    [
        (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), r"invalid values: CSR matrix: entry \d+ has non-finite value NaN|non-finite"),
        (lambda x: x[:, 0], r"invalid x: expected a \(N, F\) feature matrix, got shape \(240,\)"),
        (lambda x: x.astype(str), r"invalid x: features must be numbers"),
    ],
)
def test_bad_features(graph, make_x, message):
    edge_index, x, _ = graph
    with pytest.raises(ValueError, match=message):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, make_x(x))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"latent": 65}, r"invalid setting `latent`: the latent width must be between 1 and 64, got 65"),
        ({"latent": -1}, r"invalid setting `latent`: must be at least 0, got -1"),
        ({"hidden": 2.5}, r"invalid setting `hidden`: expected an integer, got 2.5"),
        ({"objective": "magic"}, r"invalid setting `objective`: unknown value `magic`; expected one of: dense, sampled, subgraph"),
        ({"lr": 0}, r"invalid setting `lr`: the learning rate must be a positive number, got 0"),
        ({"epochs": 0}, r"invalid setting `epochs`: at least one epoch is needed"),
        ({"monitor": "loss"}, r"invalid setting `monitor`: unknown value `loss`; expected one of: auc, ap"),
        ({"normalize_features": "l2"}, r"invalid setting `normalize_features`|unknown value `l2`"),
    ],
)
def test_bad_settings(graph, params, message):
    edge_index, x, _ = graph
    with pytest.raises(ValueError, match=message):
        gpu_vgae.VGAE(**params).fit(edge_index, x)


def test_bad_fit_arguments(graph):
    edge_index, x, _ = graph
    with pytest.raises(ValueError, match=r"invalid graph: edge \d+ \(\d+, 239\) has a node id outside 0..239"):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, x[:-1])
    with pytest.raises(ValueError, match=r"invalid features: the feature matrix has 239 rows but the graph has 240 nodes"):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, x[:-1], num_nodes=240)
    with pytest.raises(ValueError, match="held-out fractions must be >= 0 and sum to less than 1"):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, x, val_ratio=0.5, test_ratio=0.5)
    with pytest.raises(ValueError, match=r"invalid setting `patience`: must be at least 1 epoch"):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, x, patience=0)
    with pytest.raises(ValueError, match=r"invalid negatives: pair 0 \(3, 3\) is not a pair of two distinct nodes"):
        gpu_vgae.VGAE(epochs=1).fit(edge_index, x, neg_edge_index=[[3, 3], [0, 239], [1, 200]])


def test_bad_calls_on_a_fitted_model(small):
    with pytest.raises(ValueError, match="invalid setting `top_k`|at least 1"):
        small.top_k_links(0)
    with pytest.raises(ValueError, match="invalid setting `known`: unknown value `some`; expected one of: all, train"):
        small.top_k_links(3, known="some")
    with pytest.raises(ValueError, match=r"invalid setting `k`"):
        small.cluster(0)
    with pytest.raises(ValueError, match=r"invalid setting `k`"):
        small.cluster(10_000)
    with pytest.raises(ValueError, match=r"invalid setting `k`: give the number of clusters"):
        small.cluster()
    with pytest.raises(ValueError, match=r"invalid setting `method`: unknown value `dbscan`"):
        small.cluster(3, "dbscan")
    with pytest.raises(ValueError, match=r"invalid pairs: pair 0 has node id -2"):
        small.score([[-2, 1]])
    with pytest.raises(ValueError, match=r"invalid pairs"):
        small.score([[0, 240]])
    with pytest.raises(ValueError, match=r"invalid edge_index: transform\(x=...\) needs the graph's edges too"):
        small.transform(x=np.zeros((3, 40)))


def test_not_fitted():
    model = gpu_vgae.VGAE()
    for call in (lambda: model.score([[0, 1]]), lambda: model.transform(), lambda: model.save("m.gvae"),
                 lambda: model.top_k_links(3), lambda: model.cluster(2)):
        with pytest.raises(gpu_vgae.NotFittedError, match="not fitted yet"):
            call()


def test_files(small, tmp_path):
    missing = tmp_path / "missing.gvae"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        gpu_vgae.load(missing)
    junk = tmp_path / "junk.gvae"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a gpu-vgae model file"):
        gpu_vgae.load(junk)
    with pytest.raises(OSError):
        small.save(tmp_path / "no-such-dir" / "model.gvae")
    loaded = gpu_vgae.load(_saved(small, tmp_path))
    with pytest.raises(gpu_vgae.NotFittedError, match="loaded without a graph"):
        loaded.score([[0, 1]])
    with pytest.raises(ValueError, match="invalid setting `known`: `train` needs the split"):
        gpu_vgae.load(_saved(small, tmp_path), *_graph_of(small)).top_k_links(3, known="train")


def _saved(model, tmp_path):
    path = tmp_path / "model.gvae"
    model.save(path)
    return path


def _graph_of(model):
    split = model.split_
    edges = np.concatenate([split["train"], split["val_pos"], split["test_pos"]])
    return edges, np.zeros((model.embeddings_.shape[0], model.n_features_in_), dtype=np.float32)


def test_datasets(tmp_path):
    with pytest.raises(ValueError, match="cora, citeseer, pubmed|unknown"):
        gpu_vgae.datasets.planetoid("imagenet")
    with pytest.raises(FileNotFoundError):
        gpu_vgae.datasets.planetoid("cora", data_dir=tmp_path)
