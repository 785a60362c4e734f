"""PyTorch Geometric's VGAE and gpu_vgae.VGAE side by side, in one Python process, on the
same arrays and the same edge split (issue 19).

    python benches/pyg_side_by_side.py [--datasets cora citeseer] [--runs 3] [--epochs 200]
                                       [--threads 2] [--json OUT.json]

Needs a venv with torch, torch_geometric, scikit-learn (PyG's `test` uses it) and gpu_vgae
(`pip install ./python`).

For each dataset (Planetoid, from gpu_vgae.datasets — the arrays both sides get):
- gpu_vgae, objective "sampled": one fresh uniform negative per training edge and epoch,
  which is what PyG's `VGAE.recon_loss` computes;
- PyG: its `examples/autoencoder.py` VGAE (GCNConv(F, 32) + ReLU, GCNConv(32, 16) for μ
  and for log σ, recon_loss + KL / N, Adam lr 0.01), trained on gpu_vgae's split (the
  training edges as the encoder's graph and positives), validated every 10 epochs like
  gpu_vgae, and tested on the same held-out edges and negatives;
- gpu_vgae, objective "dense" (the paper's loss over all N² pairs): PyG's VGAE has no
  equivalent, so it stands alone.

Runs alternate between the sides (the machine is shared: only ratios mean anything).
Each run times the epochs (the training step alone: gpu_vgae's callback timestamps,
PyG's step around loss.backward/optimizer.step) and the whole fit (model construction,
every epoch, validation, test, and for gpu_vgae the final embedding of every node).
"""

import argparse
import json
import platform
import statistics
import time

import numpy as np


def gpu_vgae_run(gpu_vgae, edge_index, x, objective, epochs, seed):
    stamps = []
    start = time.perf_counter()
    model = gpu_vgae.VGAE(objective=objective, epochs=epochs, seed=seed).fit(
        edge_index, x, callback=lambda e: stamps.append(e["elapsed"])
    )
    fit_s = time.perf_counter() - start
    report = model.report_
    return {
        "fit_s": fit_s,
        # Training epochs only (the report excludes validation).
        "epoch_ms": 1000 * report["train_seconds"] / report["epochs_run"],
        "test_auc": report["test"]["auc"],
        "test_ap": report["test"]["ap"],
        "split": model.split_,
    }


def pyg_run(torch, split, x_np, epochs, seed, eval_every=10):
    from torch_geometric.nn import GCNConv, VGAE

    class VariationalGCNEncoder(torch.nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels)
            self.conv_mu = GCNConv(2 * out_channels, out_channels)
            self.conv_logstd = GCNConv(2 * out_channels, out_channels)

        def forward(self, x, edge_index):
            x = self.conv1(x, edge_index).relu()
            return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)

    start = time.perf_counter()
    torch.manual_seed(seed)
    x = torch.from_numpy(x_np)
    train = torch.from_numpy(np.ascontiguousarray(split["train"].T))
    edge_index = torch.cat([train, train.flip(0)], dim=1)
    as_index = lambda pairs: torch.from_numpy(np.ascontiguousarray(pairs.T))
    val_pos, val_neg = as_index(split["val_pos"]), as_index(split["val_neg"])
    test_pos, test_neg = as_index(split["test_pos"]), as_index(split["test_neg"])
    model = VGAE(VariationalGCNEncoder(x.shape[1], 16))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    step_s = 0.0
    for epoch in range(1, epochs + 1):
        step_start = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        z = model.encode(x, edge_index)
        loss = model.recon_loss(z, train) + (1 / x.shape[0]) * model.kl_loss()
        loss.backward()
        optimizer.step()
        step_s += time.perf_counter() - step_start
        if epoch % eval_every == 0 or epoch == epochs:
            model.eval()
            with torch.no_grad():
                z = model.encode(x, edge_index)
                model.test(z, val_pos, val_neg)
    model.eval()
    with torch.no_grad():
        z = model.encode(x, edge_index)
        auc, ap = model.test(z, test_pos, test_neg)
    return {
        "fit_s": time.perf_counter() - start,
        "epoch_ms": 1000 * step_s / epochs,
        "test_auc": float(auc),
        "test_ap": float(ap),
    }


def summary(runs):
    keys = ("fit_s", "epoch_ms", "test_auc", "test_ap")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {
        f"{k}_all": [round(r[k], 4) for r in runs] for k in ("fit_s", "epoch_ms")
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()

    import torch
    import torch_geometric
    import gpu_vgae

    torch.set_num_threads(args.threads)
    results = {
        "versions": {
            "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__,
            "gpu_vgae": gpu_vgae.__version__,
            "python": platform.python_version(),
        },
        "adapter": gpu_vgae.adapter()["name"],
        "torch_threads": args.threads,
        "epochs": args.epochs,
        "datasets": {},
    }
    for name in args.datasets:
        edge_index, x, _ = gpu_vgae.datasets.planetoid(name)
        # Warm-up: open the device and build the kernels once (a process does it once).
        gpu_vgae.VGAE(objective="sampled", epochs=1).fit(edge_index, x)
        runs = {"gpu_vgae sampled": [], "pyg sampled": [], "gpu_vgae dense": []}
        for run in range(args.runs):
            sides = list(runs)
            if run % 2:
                sides.reverse()
            split = None
            for side in sides:
                seed = run
                if side == "pyg sampled":
                    if split is None:  # the split gpu_vgae makes for this seed
                        split = gpu_vgae_run(gpu_vgae, edge_index, x, "sampled", 1, seed)["split"]
                    result = pyg_run(torch, split, x, args.epochs, seed)
                else:
                    result = gpu_vgae_run(gpu_vgae, edge_index, x, side.split()[1], args.epochs, seed)
                    split = result.pop("split")
                runs[side].append(result)
                print(
                    f"{name} run {run + 1} {side:17} fit {result['fit_s']:7.2f} s  "
                    f"epoch {result['epoch_ms']:8.2f} ms  test AUC {result['test_auc']:.4f} "
                    f"AP {result['test_ap']:.4f}",
                    flush=True,
                )
        table = {side: summary(r) for side, r in runs.items()}
        pyg, ours = table["pyg sampled"], table["gpu_vgae sampled"]
        table["pyg / gpu_vgae, sampled"] = {
            "fit": pyg["fit_s"] / ours["fit_s"],
            "epoch": pyg["epoch_ms"] / ours["epoch_ms"],
        }
        results["datasets"][name] = table
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
