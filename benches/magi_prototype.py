"""MAGI prototype (pure torch, CPU; benches/ACCURACY.md "magi"): the method written
from its paper and reference code in a page of torch, run on our Planetoid arrays
before it was built on the engine (src/filters/magi.rs). `--neg 0` is the reference's
exact N x N softmax, `--neg M` the engine's M sampled negatives a node.

  python benches/magi_prototype.py --dataset citeseer --seed 0 [--neg 100] [--dropout 0.1]

Needs numpy, scipy, scikit-learn and torch; `--npz DIR` holds NAME.npz (default
../shared/datasets/planetoid-npz). Prints ACC / NMI / ARI / F1 over the labelled nodes
for spectral clustering of Z Z^T (the reference's evaluation) and for k-means."""
import sys, time, argparse
import numpy as np, scipy.sparse as sp, torch, torch.nn.functional as F
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.metrics import normalized_mutual_info_score as nmi_s, adjusted_rand_score as ari_s, f1_score
from scipy.optimize import linear_sum_assignment

p = argparse.ArgumentParser()
p.add_argument('--dataset', default='citeseer'); p.add_argument('--npz', default='../shared/datasets/planetoid-npz'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--hidden', default='1024,512'); p.add_argument('--wt', type=int, default=100)
p.add_argument('--wl', type=int, default=3); p.add_argument('--tau', type=float, default=0.9)
p.add_argument('--lr', type=float, default=1e-4); p.add_argument('--wd', type=float, default=5e-4)
p.add_argument('--epochs', type=int, default=400); p.add_argument('--ns', type=float, default=0.5)
p.add_argument('--dropout', type=float, default=0.1); p.add_argument('--neg', type=int, default=0); p.add_argument('--save', default='')
a = p.parse_args()
torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)
d = np.load(f'{a.npz}/{a.dataset}.npz')
N, Fd = d['x_shape']; X = sp.csr_matrix((d['x_data'], d['x_indices'], d['x_indptr']), shape=(N, Fd))
y = d['labels']; k = int(d['num_classes'][0]); e = d['edges']
A = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(N, N)); A = ((A + A.T) > 0).astype(np.float64)
As = (A + sp.eye(N)).tocsr()  # walks on A + I (PyG add_remaining_self_loops)
# random walks: wt walks of length wl from each node, count visits (excluding start)
indptr, ind = As.indptr, As.indices; deg = np.diff(indptr)
rows, cols = [], []
start = np.tile(np.arange(N), a.wt); cur = start.copy(); visits = []
for _ in range(a.wl):
    off = (rng.random(len(cur)) * deg[cur]).astype(np.int64)
    cur = ind[indptr[cur] + off]; visits.append(cur.copy())
V = np.concatenate(visits); S = np.tile(start, a.wl)
C = sp.coo_matrix((np.ones(len(V)), (S, V)), shape=(N, N)).tocsr(); C.sum_duplicates()
C.setdiag(0); C.eliminate_zeros()
# positives: visit count >= the row's mean count over visited nodes
C = C.tocoo(); rs = np.bincount(C.row, C.data, N); rc = np.bincount(C.row, minlength=N)
mean = rs / np.maximum(rc, 1); keep = C.data - mean[C.row] > -1e-10
pr, pc = C.row[keep], C.col[keep]
print(f'positives {len(pr)} ({len(pr)/N:.1f}/node), anchors {len(np.unique(pr))}', file=sys.stderr)
# GCN normalisation
dh = np.asarray(As.sum(1)).ravel() ** -0.5
Ahat = sp.diags(dh) @ As @ sp.diags(dh)
def tsp(m):
    m = m.tocoo(); return torch.sparse_coo_tensor(np.vstack([m.row, m.col]), m.data.astype(np.float32), m.shape).coalesce()
At = tsp(Ahat); Xt = tsp(X)
hid = list(map(int, a.hidden.split(',')))
dims = [Fd] + hid
Ws = [torch.nn.Linear(dims[i], dims[i+1]) for i in range(len(hid))]
for W in Ws: torch.nn.init.xavier_uniform_(W.weight); torch.nn.init.zeros_(W.bias)
params = [q for W in Ws for q in W.parameters()]
opt = torch.optim.Adam(params, lr=a.lr, weight_decay=a.wd)
prt = torch.tensor(pr); pct = torch.tensor(pc)
cnt = torch.bincount(prt, minlength=N).float(); has = cnt > 0
def forward(train=True):
    h = Xt
    for i, W in enumerate(Ws):
        if i == 0:
            if train and a.dropout > 0:
                hd = Xt.to_dense(); hd = F.dropout(hd, a.dropout); h = torch.sparse.mm(At, hd @ W.weight.T) + W.bias
            else:
                h = torch.sparse.mm(At, torch.sparse.mm(Xt, W.weight.T)) + W.bias
        else:
            h = F.dropout(h, a.dropout, training=train)
            h = torch.sparse.mm(At, h @ W.weight.T) + W.bias
        h = F.leaky_relu(h, a.ns)
    zmax = h.max(1, keepdim=True)[0]; zmin = h.min(1, keepdim=True)[0]
    h = (h - zmin) / (zmax - zmin + 1e-20)
    return F.normalize(h, dim=1)
t0 = time.time()
for ep in range(a.epochs):
    opt.zero_grad(); z = forward(True)
    if a.neg == 0:
        dot = z @ z.T / a.tau
        dot = dot - dot.max(1, keepdim=True)[0].detach()
        ex = torch.exp(dot); ex = ex - torch.diag(torch.diag(ex))
        logp = dot - torch.log(ex.sum(1, keepdim=True))
        lp = torch.zeros(N).index_add_(0, prt, logp[prt, pct])
        loss = (-(lp[has] / cnt[has]) * a.tau).mean()
    else:
        ri = torch.arange(N).repeat_interleave(a.neg)
        rj = torch.randint(0, N - 1, (N * a.neg,)); rj = rj + (rj >= ri).long()
        sn = (z[ri] * z[rj]).sum(1) / a.tau
        ssum = torch.zeros(N).index_add_(0, ri, torch.exp(sn)) * ((N - 1) / a.neg)
        lse = torch.log(ssum)
        sp_ = (z[prt] * z[pct]).sum(1) / a.tau
        pos = torch.zeros(N).index_add_(0, prt, sp_)
        loss = ((lse[has] - pos[has] / cnt[has]) * a.tau).mean()
    loss.backward(); opt.step()
    if ep % 100 == 0: print(ep, float(loss), f'{time.time()-t0:.0f}s', file=sys.stderr)
with torch.no_grad(): z = forward(False).numpy().astype(np.float64)
if a.save: np.save(a.save, z)
def acc_f1(yt, yp):
    m = np.zeros((k, k));
    for t, q in zip(yt, yp): m[q, t] += 1
    r, c = linear_sum_assignment(-m); mp = dict(zip(r, c)); yq = np.array([mp[q] for q in yp])
    return (yq == yt).mean(), f1_score(yt, yq, average='macro')
lab = y >= 0
def report(name, pred):
    acc, f1 = acc_f1(y[lab], pred[lab])
    print(f'{a.dataset} seed {a.seed} {name}: ACC {acc*100:.2f} NMI {nmi_s(y[lab], pred[lab])*100:.2f} ARI {ari_s(y[lab], pred[lab])*100:.2f} F1 {f1*100:.2f}', flush=True)
sc = SpectralClustering(n_clusters=k, affinity='precomputed', random_state=0).fit_predict(z @ z.T)
report('spectral', sc)
km = KMeans(k, n_init=10, random_state=a.seed).fit_predict(z); report('kmeans', km)
print(f'time {time.time()-t0:.0f}s', file=sys.stderr)
