#!/usr/bin/env bash
# Label-free clustering (issue 18 part 4, DESIGN.md §10c protocol): Cora, Citeseer and
# Pubmed (which we have without features) × {VGAE + k-means on μ (raw and rows
# L2-normalised), S²GC filter + k-means, scgc, ns4gc} × seeds 0-9, every hyperparameter the
# method's default (the same on every graph; the filter's order by its intra-cluster
# rule), the last epoch, k = the number of classes. One JSON summary per run under $OUT
# with the whole process's wall time beside it, then a markdown table of means ± std.
#
#   bash benches/cluster_labelfree.sh [OUT_DIR]
# Environment: GPU_VGAE_BIN (default target/release/gpu-vgae), PYTHON (with numpy, for
# the Pubmed export; default python3), SEEDS (default 0-9),
# DATASETS (default "citeseer cora pubmed"), METHODS (default "ns4gc scgc s2gc vgae"; vgae
# also writes vgae_l2, the same model's μ clustered with rows L2-normalised).
#
# Pubmed has no features here: the filter and scgc get the identity (one-hot node ids)
# as an .mtx features file beside its edges and labels, exported from the Planetoid npz
# of $NPZ_DIR; VGAE trains on it with the subgraph objective (5000 nodes an epoch, as in
# "Pubmed without features" above), because 10 dense runs take two hours here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/cluster-labelfree}
bin=${GPU_VGAE_BIN:-target/release/gpu-vgae}
seeds=${SEEDS:-0 1 2 3 4 5 6 7 8 9}
datasets=${DATASETS:-citeseer cora pubmed}
methods=${METHODS:-ns4gc scgc s2gc vgae}
npz=${NPZ_DIR:-/work/shared/datasets/planetoid-npz}
mkdir -p "$out"
[ -x "$bin" ] || cargo build --release

if [[ " $datasets " == *" pubmed "* && ! -s "$out/pubmed-input/identity.mtx" ]]; then
  mkdir -p "$out/pubmed-input"
  "${PYTHON:-python3}" - "$npz/pubmed_graphonly.npz" "$out/pubmed-input" <<'PY'
import sys, numpy as np
z = np.load(sys.argv[1]); d = sys.argv[2]; n = len(z["labels"])
np.save(f"{d}/edges.npy", z["edges"].astype(np.int64))
with open(f"{d}/labels.txt", "w") as f:
    f.writelines(f"{i} {l}\n" for i, l in enumerate(z["labels"]))
with open(f"{d}/identity.mtx", "w") as f:
    f.write(f"%%MatrixMarket matrix coordinate real general\n{n} {n} {n}\n")
    f.writelines(f"{i} {i} 1\n" for i in range(1, n + 1))
PY
fi

timed() { # timed FILE CMD...: CMD's stdout (JSON) into FILE with "wall_seconds" added
  local file=$1; shift
  echo "== $*" >&2
  local start end
  start=$(date +%s.%N)
  "$@" > "$file.tmp"
  end=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); r['wall_seconds']=float(sys.argv[3])-float(sys.argv[2]); json.dump(r,open(sys.argv[1],'w'))" "$file.tmp" "$start" "$end"
  mv "$file.tmp" "$file"
}

for dataset in $datasets; do
  if [ "$dataset" = pubmed ]; then
    graph=(--edges "$out/pubmed-input/edges.npy" --labels "$out/pubmed-input/labels.txt"
           --features "$out/pubmed-input/identity.mtx")
    vgae=(--dataset pubmed --objective subgraph)
  else
    graph=(--dataset "$dataset"); vgae=(--dataset "$dataset")
  fi
  for method in $methods; do
    for seed in $seeds; do
      file="$out/$dataset-$method-seed$seed.json"
      [ -s "$file" ] && continue
      if [ "$method" = vgae ]; then
        # Trained once (`run`: 200 epochs, k-means on raw μ, model saved), then the same
        # model's μ clustered with rows L2-normalised (`cluster --model`).
        model="$out/$dataset-vgae-seed$seed-model"
        timed "$file" "$bin" run "${vgae[@]}" --cluster --eval-every 0 --json --seed "$seed" \
          --out "$model"
        timed "$out/$dataset-vgae_l2-seed$seed.json" "$bin" cluster --model "$model/model.gvae" \
          --dataset "$dataset" --normalize-embeddings true --json --seed "$seed"
      else
        timed "$file" "$bin" cluster "${graph[@]}" --method "$method" --json --seed "$seed"
      fi
    done
  done
done

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys, collections
rows = collections.defaultdict(list)
for f in sorted(pathlib.Path(sys.argv[1]).glob("*-seed*.json")):
    rows[f.name.rsplit("-seed", 1)[0]].append(json.loads(f.read_text()))
def ms(xs, scale=100):
    xs = [scale * x for x in xs]
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.2f} ± {sd:.2f}"
print("| run | seeds | ACC | NMI | ARI | F1 | wall s / run |")
print("|---|---|---|---|---|---|---|")
for name, rs in rows.items():
    c = [r.get("clustering", r)["all_labelled"] for r in rs]
    print(f"| {name} | {len(rs)} | {ms([x['acc'] for x in c])} | {ms([x['nmi'] for x in c])} | "
          f"{ms([x['ari'] for x in c])} | {ms([x['f1'] for x in c])} | "
          f"{ms([r['wall_seconds'] for r in rs], 1)} |")
PY
