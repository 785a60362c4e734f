"""The package and the command line are one engine: the same seed gives the same
embeddings bit for bit and the same test AUC/AP, and each reads the other's model file."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gpu_vgae

from conftest import run_cli

EPOCHS = "40"


@pytest.fixture(scope="module")
def cora_run(cli, tmp_path_factory):
    """`gpu-vgae run --dataset cora --seed 0 --epochs 40 --out DIR` and the same fit from
    Python."""
    out = tmp_path_factory.mktemp("cora_cli")
    run_cli(cli, "run", "--dataset", "cora", "--seed", "0", "--epochs", EPOCHS, "--out", str(out), "--quiet")
    edge_index, x, _ = gpu_vgae.datasets.planetoid("cora")
    model = gpu_vgae.VGAE(seed=0, epochs=int(EPOCHS)).fit(edge_index, x)
    return out, model, edge_index, x


def test_embeddings_equal_the_command_lines_bit_for_bit(cora_run):
    out, model, _, _ = cora_run
    expected = np.load(out / "embeddings.npy")
    assert model.embeddings_.dtype == np.float32
    assert model.embeddings_.shape == expected.shape == (2708, 16)
    assert np.array_equal(model.embeddings_.view(np.uint32), expected.view(np.uint32))


def test_report_equals_metrics_json(cora_run):
    out, model, _, _ = cora_run
    metrics = json.loads((out / "metrics.json").read_text())
    for part in ("val", "test"):
        assert model.report_[part] == metrics[part]
    assert model.report_["epochs_run"] == metrics["epochs_run"] == int(EPOCHS)
    assert model.report_["edge_counts"] == metrics["edge_counts"]
    # PyG's GAE.test on the split's test edges is the reported test AUC/AP.
    auc, ap = model.test(model.split_["test_pos"], model.split_["test_neg"])
    assert (auc, ap) == (metrics["test"]["auc"], metrics["test"]["ap"])


def test_the_command_lines_model_file_loads_in_python(cora_run):
    out, _, edge_index, x = cora_run
    expected = np.load(out / "embeddings.npy")
    loaded = gpu_vgae.load(out / "model.gvae")
    assert isinstance(loaded, gpu_vgae.VGAE) and loaded.variational
    assert loaded.latent == 16 and loaded.seed == 0
    assert np.array_equal(loaded.transform(edge_index, x), expected)
    attached = gpu_vgae.load(out / "model.gvae", edge_index, x)
    assert np.array_equal(attached.embeddings_, expected)


def test_pythons_model_file_embeds_with_the_command_line(cora_run, cli, tmp_path):
    _, model, _, _ = cora_run
    model.save(tmp_path / "model.gvae")
    run_cli(cli, "embed", "--model", str(tmp_path / "model.gvae"), "--dataset", "cora", "--out", str(tmp_path / "embedded"))
    assert np.array_equal(np.load(tmp_path / "embedded" / "embeddings.npy"), model.embeddings_)


def test_errors_carry_the_command_lines_message(cli, graph, tmp_path):
    edge_index, x, _ = graph
    shown = run_cli(cli, "run", "--latent", "65", "--epochs", "1", check=False)
    assert shown.returncode != 0
    with pytest.raises(ValueError) as raised:
        gpu_vgae.VGAE(latent=65, epochs=1).fit(edge_index, x)
    assert shown.stderr.strip() == f"error: {raised.value}"

    missing = tmp_path / "no-such-model.gvae"
    shown = run_cli(cli, "embed", "--model", str(missing), "--dataset", "cora", "--out", str(tmp_path / "o"), check=False)
    with pytest.raises(FileNotFoundError) as raised:
        gpu_vgae.load(missing)
    assert shown.stderr.strip() == f"error: {raised.value}"
