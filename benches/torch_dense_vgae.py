"""tkipf/gae's VGAE (the paper's dense objective) in PyTorch, one process per run, for
whole-process timing against `gpu-vgae run` (issue 20, part 4).

    python benches/torch_dense_vgae.py --dataset citeseer [--epochs 200] [--threads 2]
                                       [--seed 0] [--data-dir DATASETS/planetoid]

What tkipf's `train.py --model gcn_vae` computes, written in torch: the graph and features
read by PyG's `Planetoid` (from the original pickles, as benches/pyg_autoencoder.py does),
raw binary features as a sparse matrix (tkipf does not normalise them), tkipf's split
proportions (5 % validation and 10 % test edges, one negative per held-out edge: PyG's
`RandomLinkSplit`), Â = D^-1/2 (A + I) D^-1/2 of the training edges, the encoder
relu(Â X W0) → μ = Â H W1, log σ = Â H W2 (hidden 32, latent 16, Glorot weights), Z = μ +
ε·σ, and the loss over all N² pairs as optimizer.py has it:

    norm · mean(weighted BCE(Z Zᵀ, A + I, pos_weight)) − (0.5 / N) · mean_i Σ_k (1 + 2 log σ
    − μ² − σ²)

with N × N logits and labels held dense, as tkipf's TensorFlow graph holds them; Adam lr
0.01; validation every 10 epochs and after the last (as gpu-vgae); then the test on μ.

Prints one JSON object: the epoch (the training step alone), the time before the first
epoch, test AUC/AP, versions.
"""

import argparse
import json
import os
import time

START = time.perf_counter()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="citeseer", choices=["cora", "citeseer", "pubmed"])
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
    import torch.nn.functional as F
    import torch_geometric.transforms as T
    from sklearn.metrics import average_precision_score, roc_auc_score
    from torch_geometric.datasets import Planetoid

    from pyg_autoencoder import NAMES, pyg_root

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    split = T.RandomLinkSplit(
        num_val=0.05, num_test=0.1, is_undirected=True, split_labels=True, add_negative_train_samples=False
    )
    train_data, val_data, test_data = split(Planetoid(pyg_root(args.data_dir, args.dataset), NAMES[args.dataset])[0])
    n = train_data.num_nodes

    # Â of the training edges (both directions) with self loops, sparse.
    loops = torch.arange(n).repeat(2, 1)
    index = torch.cat([train_data.edge_index, loops], dim=1)
    degree = torch.zeros(n).index_add_(0, index[0], torch.ones(index.shape[1]))
    values = degree[index[0]].rsqrt() * degree[index[1]].rsqrt()
    adj_norm = torch.sparse_coo_tensor(index, values, (n, n)).coalesce()
    # Labels A + I, dense N × N as tkipf feeds them.
    labels = torch.sparse_coo_tensor(index, torch.ones(index.shape[1]), (n, n)).to_dense()
    edges = labels.sum()
    pos_weight = (n * n - edges) / edges
    norm = n * n / ((n * n - edges) * 2)
    features = train_data.x.to_sparse()

    def glorot(fan_in, fan_out):
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        return torch.nn.Parameter(torch.rand(fan_in, fan_out) * 2 * limit - limit)

    w0 = glorot(features.shape[1], 32)
    w1, w2 = glorot(32, 16), glorot(32, 16)
    optimizer = torch.optim.Adam([w0, w1, w2], lr=0.01)

    def encode():
        hidden = torch.sparse.mm(adj_norm, torch.sparse.mm(features, w0)).relu()
        ah = torch.sparse.mm(adj_norm, hidden)
        return ah @ w1, ah @ w2

    def scores(data):
        with torch.no_grad():
            mu, _ = encode()
            pos, neg = data.pos_edge_label_index, data.neg_edge_label_index
            s = torch.cat([(mu[pos[0]] * mu[pos[1]]).sum(1), (mu[neg[0]] * mu[neg[1]]).sum(1)]).sigmoid()
            y = torch.cat([torch.ones(pos.shape[1]), torch.zeros(neg.shape[1])])
            return roc_auc_score(y, s), average_precision_score(y, s)

    setup_s = time.perf_counter() - START
    step_s = eval_s = 0.0
    for epoch in range(1, args.epochs + 1):
        step_start = time.perf_counter()
        optimizer.zero_grad()
        mu, log_std = encode()
        z = mu + torch.randn_like(mu) * log_std.exp()
        logits = z @ z.t()
        cost = norm * F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)
        kl = (0.5 / n) * (1 + 2 * log_std - mu.pow(2) - log_std.exp().pow(2)).sum(1).mean()
        (cost - kl).backward()
        optimizer.step()
        step_s += time.perf_counter() - step_start
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            eval_start = time.perf_counter()
            scores(val_data)
            eval_s += time.perf_counter() - eval_start
    auc, ap = scores(test_data)
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
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
