"""PyTorch Geometric's VGAE, for timing side by side with `gpu-vgae run` (issue 11).

The model is PyG's `examples/autoencoder.py` VGAE (GCN encoder: a hidden layer with
ReLU, then μ and log σ layers; `recon_loss` with one uniform negative per positive;
KL scaled by 1/N) on a graph without features, written so that it computes what
`gpu-vgae run --featureless --objective sampled` computes: X = I, so the first layer is
Â·W0 with W0 an N × hidden parameter (no N × N identity is built).

    python benches/pyg_vgae.py EDGES.npy [--epochs 3] [--threads 2] [--generate N E]

EDGES.npy: int64 (E, 2), undirected, each edge once. With --generate N E, writes a
uniform random graph of N nodes and E distinct edges there first (the graph both sides
then read). Prints one JSON object: epoch times, the peak resident memory, versions.
"""

import argparse
import json
import resource
import time

import numpy as np


def generate(path, nodes, edges, seed=0):
    rng = np.random.default_rng(seed)
    keys = np.empty(0, dtype=np.int64)
    while keys.size < edges:
        a = rng.integers(0, nodes, size=int(1.1 * edges), dtype=np.int64)
        b = rng.integers(0, nodes, size=a.size, dtype=np.int64)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        keys = np.unique(np.concatenate([keys, lo[keep] * nodes + hi[keep]]))
    keys = rng.permutation(keys)[:edges]
    np.save(path, np.stack([keys // nodes, keys % nodes], axis=1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("edges")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--generate", type=int, nargs=2, metavar=("NODES", "EDGES"))
    args = parser.parse_args()
    if args.generate:
        generate(args.edges, *args.generate)

    import torch
    from torch_geometric.nn import GCNConv, VGAE

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    edges = np.load(args.edges)
    nodes = int(edges.max()) + 1
    # The split gpu-vgae makes: 85 % of the edges train (tkipf's 5 % / 10 % held out).
    perm = np.random.default_rng(0).permutation(len(edges))
    train = torch.from_numpy(edges[perm[: int(0.85 * len(edges))]].T.copy())
    train_both = torch.cat([train, train.flip(0)], dim=1)

    class NoWeight(torch.nn.Identity):
        def reset_parameters(self):
            pass

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # X = I: the first layer's X·W0 is W0 itself.
            self.w0 = torch.nn.Parameter(torch.empty(nodes, args.hidden))
            torch.nn.init.xavier_uniform_(self.w0)
            self.conv1 = GCNConv(args.hidden, args.hidden, cached=True, bias=False)
            self.conv1.lin = NoWeight()  # Â·W0, no second weight
            self.conv_mu = GCNConv(args.hidden, args.latent, cached=True, bias=False)
            self.conv_logstd = GCNConv(args.hidden, args.latent, cached=True, bias=False)

        def forward(self, edge_index):
            h = self.conv1(self.w0, edge_index).relu()
            return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)

    model = VGAE(Encoder())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        z = model.encode(train_both)
        loss = model.recon_loss(z, train) + model.kl_loss() / nodes
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "nodes": nodes,
        "edges": int(len(edges)),
        "train_edges": int(train.shape[1]),
        "epoch_seconds": times,
        "final_loss": float(loss),
        "peak_rss_bytes": peak,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_geometric": __import__("torch_geometric").__version__,
    }))


if __name__ == "__main__":
    main()
