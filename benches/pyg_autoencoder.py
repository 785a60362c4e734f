"""PyTorch Geometric's VGAE as its `examples/autoencoder.py` trains it, one process per run,
for whole-process timing against `gpu-vgae run` (issue 20, part 4).

    python benches/pyg_autoencoder.py --dataset citeseer [--epochs 200] [--threads 2]
                                      [--seed 0] [--data-dir DATASETS/planetoid]

PyG's own pipeline, nothing of gpu_vgae: `Planetoid` (read from the original pickles in
--data-dir, linked into a PyG root under $TMPDIR; processed once, reused after),
`NormalizeFeatures`, `RandomLinkSplit(num_val=0.05, num_test=0.1)`, the VGAE (GCNConv(F, 32)
+ ReLU, GCNConv(32, 16) for μ and for log σ), `recon_loss` (one uniform negative per
training edge and epoch: gpu-vgae's `sampled` objective) + KL / N, Adam lr 0.01; validation
every 10 epochs and after the last (as gpu-vgae), then the test. The example validates
every epoch; this does not, so that both sides do the same work.

Prints one JSON object: the epoch (the training step alone), the time spent before the
first epoch (imports, reading and splitting the graph), test AUC/AP, versions.
"""

import argparse
import json
import os
import tempfile
import time

START = time.perf_counter()

NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}


def pyg_root(data_dir, name):
    """A PyG root whose raw/ links to the pickles (PyG would download them)."""
    root = os.path.join(tempfile.gettempdir(), f"pyg-planetoid-{os.getuid()}")
    raw = os.path.join(root, NAMES[name], "raw")
    os.makedirs(raw, exist_ok=True)
    for suffix in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"):
        file = f"ind.{name}.{suffix}"
        link = os.path.join(raw, file)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(data_dir, file)), link)
    return root


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="citeseer", choices=sorted(NAMES))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument(
        "--data-dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "planetoid"),
    )
    args = parser.parse_args()

    import torch
    import torch_geometric
    import torch_geometric.transforms as T
    from torch_geometric.datasets import Planetoid
    from torch_geometric.nn import GCNConv, VGAE

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    transform = T.Compose(
        [
            T.NormalizeFeatures(),
            T.RandomLinkSplit(
                num_val=0.05,
                num_test=0.1,
                is_undirected=True,
                split_labels=True,
                add_negative_train_samples=False,
            ),
        ]
    )
    dataset = Planetoid(pyg_root(args.data_dir, args.dataset), NAMES[args.dataset], transform=transform)
    train_data, val_data, test_data = dataset[0]

    class VariationalGCNEncoder(torch.nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels)
            self.conv_mu = GCNConv(2 * out_channels, out_channels)
            self.conv_logstd = GCNConv(2 * out_channels, out_channels)

        def forward(self, x, edge_index):
            x = self.conv1(x, edge_index).relu()
            return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)

    model = VGAE(VariationalGCNEncoder(dataset.num_features, 16))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    setup_s = time.perf_counter() - START

    def test(data):
        model.eval()
        with torch.no_grad():
            z = model.encode(data.x, data.edge_index)
            return model.test(z, data.pos_edge_label_index, data.neg_edge_label_index)

    step_s = 0.0
    eval_s = 0.0
    for epoch in range(1, args.epochs + 1):
        step_start = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        z = model.encode(train_data.x, train_data.edge_index)
        loss = model.recon_loss(z, train_data.pos_edge_label_index)
        loss = loss + (1 / train_data.num_nodes) * model.kl_loss()
        loss.backward()
        optimizer.step()
        step_s += time.perf_counter() - step_start
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            eval_start = time.perf_counter()
            test(val_data)
            eval_s += time.perf_counter() - eval_start
    auc, ap = test(test_data)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "seed": args.seed,
                "epochs": args.epochs,
                "epoch_ms": 1e3 * step_s / args.epochs,
                "train_s": step_s,
                "eval_s": eval_s,
                "setup_s": setup_s,
                "test_auc": float(auc),
                "test_ap": float(ap),
                "torch": torch.__version__,
                "torch_geometric": torch_geometric.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
