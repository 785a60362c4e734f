"""The estimator on a small community graph: what fit sets, save/load/transform round
trips, scoring, top-k against a numpy brute force, clustering, callbacks, early stopping,
the user's own negatives, and every accepted input form."""

from __future__ import annotations

import numpy as np
import pytest

import gpu_vgae

from conftest import community_graph

EPOCHS = 60


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.fixture(scope="module")
def fitted(graph):
    edge_index, x, _ = graph
    return gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, x)


def test_fit_sets_the_fitted_attributes(fitted, graph):
    edge_index, x, _ = graph
    n = x.shape[0]
    assert fitted.embeddings_.shape == (n, 16) and fitted.embeddings_.dtype == np.float32
    assert np.isfinite(fitted.embeddings_).all()
    assert list(fitted.history_["epoch"]) == list(range(10, EPOCHS + 1, 10))
    assert np.isfinite(fitted.history_["loss"]).all() and np.isfinite(fitted.history_["val_auc"]).all()
    assert fitted.report_["epochs_run"] == EPOCHS
    assert 0.5 < fitted.report_["test"]["auc"] <= 1.0
    assert np.array_equal(fitted.node_ids_, np.arange(n))
    assert fitted.n_features_in_ == x.shape[1]
    split = fitted.split_
    e = edge_index.shape[1]
    assert [len(split[p]) for p in ("val_pos", "test_pos")] == [e // 20, e // 10]
    assert len(split["train"]) + len(split["val_pos"]) + len(split["test_pos"]) == e


def test_the_same_seed_gives_the_same_model_and_another_seed_another(fitted, graph):
    edge_index, x, _ = graph
    again = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, x)
    assert bits_equal(again.embeddings_, fitted.embeddings_)
    other = gpu_vgae.VGAE(epochs=EPOCHS, seed=2).fit(edge_index, x)
    assert not np.array_equal(other.embeddings_, fitted.embeddings_)


def test_save_load_transform_round_trip(fitted, graph, tmp_path):
    edge_index, x, _ = graph
    path = tmp_path / "model.gvae"
    fitted.save(path)
    loaded = gpu_vgae.load(str(path))
    assert type(loaded) is gpu_vgae.VGAE
    assert loaded.get_params() == {**fitted.get_params(), "epochs": 200}
    assert loaded.report_["test"] == fitted.report_["test"]
    assert bits_equal(loaded.transform(edge_index, x), fitted.embeddings_)
    assert bits_equal(fitted.transform(edge_index, x), fitted.embeddings_)
    assert bits_equal(fitted.transform(), fitted.embeddings_)
    attached = gpu_vgae.load(path, edge_index, x)
    assert bits_equal(attached.embeddings_, fitted.embeddings_)
    pairs = fitted.split_["test_pos"]
    assert bits_equal(attached.score(pairs), fitted.score(pairs))


def test_transform_embeds_a_new_graph(fitted):
    edge_index, x, _ = community_graph(nodes=100, seed=7)
    mu = fitted.transform(edge_index, x)
    assert mu.shape == (100, 16) and np.isfinite(mu).all()
    with pytest.raises(ValueError, match="the model takes 40 features per node"):
        fitted.transform(edge_index, x[:, :10])


def test_score_is_the_sigmoid_of_the_embeddings_products(fitted):
    mu = fitted.embeddings_.astype(np.float64)
    pairs = np.array([[0, 1], [5, 9], [17, 3], [4, 4]])
    expected = 1 / (1 + np.exp(-np.einsum("kl,kl->k", mu[pairs[:, 0]], mu[pairs[:, 1]])))
    scores = fitted.score(pairs)
    assert scores.dtype == np.float32 and scores.shape == (4,)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert bits_equal(fitted.score(pairs.T), scores)


def test_test_scores_with_the_training_edges_only(fitted):
    split = fitted.split_
    assert fitted.test(split["test_pos"], split["test_neg"]) == (
        fitted.report_["test"]["auc"],
        fitted.report_["test"]["ap"],
    )
    assert fitted.test(split["val_pos"].T, split["val_neg"].T) == (
        fitted.report_["val"]["auc"],
        fitted.report_["val"]["ap"],
    )


def brute_force_top_k(mu, excluded, k, per_node):
    """Every candidate pair ranked by the f32 logit μ_i·μ_j (ties by pair), numpy."""
    n = mu.shape[0]
    logits = mu @ mu.T  # float32, as the kernel computes them (up to summation order)
    blocked = np.eye(n, dtype=bool)
    blocked[excluded[:, 0], excluded[:, 1]] = True
    blocked[excluded[:, 1], excluded[:, 0]] = True
    rows = []
    if per_node:
        for i in range(n):
            js = np.flatnonzero(~blocked[i])
            order = np.lexsort((js, -logits[i, js]))[:k]
            rows += [(i, j, logits[i, j]) for j in js[order]]
    else:
        i, j = np.nonzero(np.triu(~blocked, 1))
        order = np.lexsort((j, i, -logits[i, j]))[:k]
        rows = [(a, b, logits[a, b]) for a, b in zip(i[order], j[order])]
    return rows


@pytest.mark.parametrize("per_node", [False, True])
@pytest.mark.parametrize("known", ["all", "train"])
def test_top_k_equals_a_numpy_brute_force(fitted, graph, per_node, known):
    k = 7 if per_node else 300
    links, scores = fitted.top_k_links(k, per_node=per_node, known=known)
    assert links.shape == (2, len(scores)) and links.dtype == np.int64 and scores.dtype == np.float32
    if known == "all":
        mu, excluded = fitted.embeddings_, graph[0].T
    else:
        mu, excluded = fitted._training_embeddings(), fitted.split_["train"]
    expected = brute_force_top_k(mu, excluded, k, per_node)
    assert len(expected) == links.shape[1]
    got_logits = np.einsum("kl,kl->k", mu[links[0]].astype(np.float64), mu[links[1]].astype(np.float64))
    want_logits = np.array([logit for _, _, logit in expected], dtype=np.float64)
    # The same ranking: the same logit at every rank (to float32 rounding) and the same
    # pairs, except where two candidates tie within rounding.
    np.testing.assert_allclose(got_logits, want_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-want_logits)), rtol=1e-5, atol=1e-6)
    same = [(a, b) == (i, j) for a, b, (i, j, _) in zip(links[0], links[1], expected)]
    near_ties = np.abs(np.diff(want_logits)) < 1e-5
    mismatched = [r for r, ok in enumerate(same) if not ok]
    assert all(near_ties[max(r - 1, 0) : r + 1].any() for r in mismatched), mismatched
    excluded_set = {(min(a, b), max(a, b)) for a, b in excluded.tolist()}
    assert not any((min(a, b), max(a, b)) in excluded_set for a, b in links.T.tolist())


def test_cluster(fitted, graph):
    _, _, y = graph
    labels = fitted.cluster(y=y)
    assert labels.shape == y.shape and labels.dtype == np.int64
    assert set(labels.tolist()) <= set(range(4))
    report = fitted.cluster_report_
    assert report["k"] == 4 and 0 <= report["nmi"] <= 1 and report["acc"] > 0.25
    assert np.array_equal(fitted.cluster(4), labels), "seeded: the same clusters again"
    assert fitted.cluster(3, "kmeans").max() == 2


def test_callback_sees_every_epoch_and_can_stop_training(graph):
    edge_index, x, _ = graph
    seen = []
    model = gpu_vgae.GAE(epochs=12, eval_every=4).fit(edge_index, x, callback=seen.append)
    assert [e["epoch"] for e in seen] == list(range(1, 13))
    assert all(e["epochs"] == 12 for e in seen)
    assert [e["epoch"] for e in seen if "loss" in e] == [4, 8, 12]
    assert [e["loss"] for e in seen if "loss" in e] == list(model.history_["loss"])
    assert model.history_["kl"].tolist() == [0.0, 0.0, 0.0]

    class Enough(Exception):
        pass

    def stop_at_3(e):
        if e["epoch"] == 3:
            raise Enough("three is enough")

    fresh = gpu_vgae.VGAE(epochs=50)
    with pytest.raises(Enough, match="three is enough"):
        fresh.fit(edge_index, x, callback=stop_at_3)
    assert not hasattr(fresh, "embeddings_")
    with pytest.raises(gpu_vgae.NotFittedError):
        fresh.score([[0, 1]])


def test_early_stopping(graph):
    edge_index, x, _ = graph
    model = gpu_vgae.VGAE(epochs=300, lr=0.05, seed=3).fit(edge_index, x, patience=5)
    report = model.report_
    assert report["stopped_early"] and report["epochs_run"] < 300
    assert report["epochs_run"] - report["best_epoch"] == 5
    assert list(model.history_["epoch"]) == list(range(1, report["epochs_run"] + 1))


def test_own_negatives_replace_the_drawn_ones(fitted, graph):
    edge_index, x, _ = graph
    split = fitted.split_
    drawn = np.concatenate([split["val_neg"], split["test_neg"]])
    same = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, x, neg_edge_index=drawn.T)
    assert same.report_["test"] == fitted.report_["test"]
    assert bits_equal(same.embeddings_, fitted.embeddings_)

    # Hard negatives: pairs within one community that are not edges.
    _, _, y = graph
    edges = {tuple(p) for p in edge_index.T.tolist()}
    hard = [(i, j) for i in range(len(y)) for j in range(i + 1, len(y)) if y[i] == y[j] and (i, j) not in edges]
    hard = np.array(hard[: len(drawn)])
    model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, x, neg_edge_index=hard)
    assert np.array_equal(np.concatenate([model.split_["val_neg"], model.split_["test_neg"]]), hard)
    assert model.test(model.split_["test_pos"], model.split_["test_neg"]) == (
        model.report_["test"]["auc"],
        model.report_["test"]["ap"],
    )
    assert model.report_["test"]["auc"] < fitted.report_["test"]["auc"], "hard negatives are harder"
    assert any("given negatives" in note for note in model.report_["notes"])
    with pytest.raises(ValueError, match=r"invalid negatives: pair 0 .* is an edge of the graph"):
        gpu_vgae.VGAE(epochs=2).fit(edge_index, x, neg_edge_index=edge_index[:, :4])


def test_every_input_form_gives_the_same_model(fitted, graph):
    edge_index, x, _ = graph
    forms = [
        (edge_index.T, x),  # (E, 2)
        (edge_index.tolist(), x.tolist()),  # lists
        (edge_index.astype(np.int32), x.astype(np.float64)),  # other dtypes
        (np.concatenate([edge_index, edge_index[::-1]], axis=1), np.asfortranarray(x)),  # both directions
    ]
    for e, features in forms:
        model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(e, features)
        assert bits_equal(model.embeddings_, fitted.embeddings_)


def test_scipy_sparse_features(fitted, graph):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    edge_index, x, _ = graph
    for matrix in (scipy_sparse.csr_matrix(x), scipy_sparse.coo_matrix(x), scipy_sparse.csc_matrix(x)):
        model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, matrix)
        assert bits_equal(model.embeddings_, fitted.embeddings_)
    # Unsorted columns with a duplicate entry: canonicalised on a copy, never in place.
    coo = scipy_sparse.coo_matrix(x)
    split = coo.data.copy()
    split[0] = x[coo.row[0], coo.col[0]] / 2
    doubled = scipy_sparse.csr_matrix(
        (np.concatenate([split, split[:1]]), (np.concatenate([coo.row, coo.row[:1]]), np.concatenate([coo.col, coo.col[:1]]))),
        shape=x.shape,
    )
    model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(edge_index, doubled)
    assert bits_equal(model.embeddings_, fitted.embeddings_)


def test_torch_tensors(fitted, graph):
    torch = pytest.importorskip("torch")
    edge_index, x, _ = graph
    model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(torch.from_numpy(edge_index), torch.from_numpy(x))
    assert bits_equal(model.embeddings_, fitted.embeddings_)
    scores = fitted.score(torch.tensor([[0, 1], [2, 3]]))
    assert bits_equal(scores, fitted.score(np.array([[0, 1], [2, 3]])))


def test_from_pyg(fitted, graph):
    pytest.importorskip("torch_geometric")
    import torch
    from torch_geometric.data import Data

    edge_index, x, y = graph
    data = Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(edge_index), y=torch.from_numpy(y))
    e, features, labels = gpu_vgae.from_pyg(data)
    assert np.array_equal(labels, y)
    model = gpu_vgae.VGAE(epochs=EPOCHS, seed=1).fit(e, features)
    assert bits_equal(model.embeddings_, fitted.embeddings_)


def test_featureless_model(graph):
    edge_index, _, _ = graph
    model = gpu_vgae.VGAE(epochs=20).fit(edge_index, num_nodes=250)
    assert model.embeddings_.shape == (250, 16) and model.n_features_in_ is None
    assert bits_equal(model.transform(edge_index, num_nodes=250), model.embeddings_)
    with pytest.raises(ValueError, match="trained without features on 250 nodes"):
        model.transform(edge_index)


def test_planetoid():
    edge_index, x, y = gpu_vgae.datasets.planetoid("Cora")
    assert edge_index.shape == (2, 10556) and edge_index.dtype == np.int64
    assert x.shape == (2708, 1433) and x.dtype == np.float32 and set(np.unique(x)) == {0.0, 1.0}
    assert y.shape == (2708,) and y.min() == 0 and y.max() == 6
    forward = {tuple(p) for p in edge_index.T.tolist()}
    assert all((b, a) in forward for a, b in forward), "both directions, as PyG"


def test_planetoid_sparse():
    pytest.importorskip("scipy.sparse")
    _, dense, _ = gpu_vgae.datasets.planetoid("citeseer")
    _, sparse, _ = gpu_vgae.datasets.planetoid("citeseer", sparse=True)
    assert sparse.format == "csr" and np.array_equal(sparse.toarray(), dense)


def test_gae_and_the_parameter_protocol():
    model = gpu_vgae.GAE(hidden=8, objective="sampled")
    assert model.variational is False and gpu_vgae.VGAE().variational is True
    assert repr(model) == "GAE(hidden=8, objective='sampled')"
    assert model.get_params()["hidden"] == 8
    assert model.set_params(latent=4).latent == 4
    with pytest.raises(ValueError, match="invalid setting `width`"):
        model.set_params(width=3)
    assert gpu_vgae.adapter()["name"]


def test_a_split_of_your_own(graph):
    """PyG's workflow: split with RandomLinkSplit (here: by hand), fit on the training
    edges with nothing held out, test on your own held-out edges."""
    edge_index, x, _ = graph
    rng = np.random.default_rng(0)
    order = rng.permutation(edge_index.shape[1])
    test_pos, train = edge_index[:, order[:70]], edge_index[:, order[70:]]
    edges = {tuple(p) for p in edge_index.T.tolist()}
    test_neg = []
    while len(test_neg) < 70:
        a, b = sorted(rng.integers(0, 240, 2).tolist())
        if a != b and (a, b) not in edges:
            test_neg.append((a, b))
    model = gpu_vgae.VGAE(epochs=EPOCHS).fit(train, x, val_ratio=0, test_ratio=0)
    assert model.report_["test"] is None and model.report_["val"] is None
    assert np.isnan(model.history_["val_auc"]).all()
    assert len(model.split_["train"]) == train.shape[1] and len(model.split_["test_pos"]) == 0
    auc, ap = model.test(test_pos, np.array(test_neg))
    assert 0.6 < auc <= 1 and 0.6 < ap <= 1
    # Nothing was held out, so test scores with embeddings_ itself.
    pos_scores = model.score(test_pos)
    assert bits_equal(pos_scores, gpu_vgae._native.score(model._training_embeddings(), test_pos.T.copy()))
    assert bits_equal(model._training_embeddings(), model.embeddings_)
