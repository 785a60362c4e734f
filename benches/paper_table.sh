#!/usr/bin/env bash
# Reproduces the link-prediction table of DESIGN.md §5 (and the sampled-objective and
# Pubmed rows of issue 3): runs `gpu-vgae run --json` for every configuration and seed,
# one JSON report per run under $OUT, then prints a markdown table of means.
#
#   bash benches/paper_table.sh [OUT_DIR]
# Environment: GPU_VGAE_BIN (default target/release/gpu-vgae), GPU_VGAE_DATA_DIR
# (default datasets/planetoid), SEEDS (default "0 1 2 3 4": the VGAE rows;
# the GAE and featureless rows use the first three, the Pubmed rows the first).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/paper-table}
bin=${GPU_VGAE_BIN:-target/release/gpu-vgae}
data=${GPU_VGAE_DATA_DIR:-datasets/planetoid}
seeds=${SEEDS:-0 1 2 3 4}
mkdir -p "$out"
[ -x "$bin" ] || cargo build --release

run() { # name dataset args...
  local name=$1 dataset=$2; shift 2
  for seed in $seeds; do
    local file="$out/$name-seed$seed.json"
    [ -s "$file" ] && continue
    echo "== $name seed $seed: gpu-vgae run --dataset $dataset $* --seed $seed" >&2
    "$bin" run --dataset "$dataset" --data-dir "$data" --json --seed "$seed" "$@" > "$file.tmp"
    mv "$file.tmp" "$file"
  done
}

run vgae-citeseer citeseer --model vgae
run vgae-cora cora --model vgae
run vgae-citeseer-sampled citeseer --model vgae --objective sampled
run vgae-cora-sampled cora --model vgae --objective sampled
all_seeds=$seeds
seeds=$(echo "$all_seeds" | cut -d' ' -f1-3)
run gae-citeseer citeseer --model gae
run gae-cora cora --model gae
run vgae-citeseer-featureless citeseer --model vgae --featureless
run vgae-cora-featureless cora --model vgae --featureless
seeds=$(echo "$all_seeds" | cut -d' ' -f1)
run vgae-pubmed-sampled pubmed --model vgae --objective sampled
run vgae-pubmed-dense-3epochs pubmed --model vgae --epochs 3 --eval-every 1

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys, collections
rows = collections.defaultdict(list)
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.loads(f.read_text())
    rows[f.name.rsplit("-seed", 1)[0]].append(r)
print("| run | seeds | test AUC | test AP | ms/epoch | device MiB |")
print("|---|---|---|---|---|---|")
for name, rs in rows.items():
    auc = [r["test"]["auc"] for r in rs]
    ap = [r["test"]["ap"] for r in rs]
    ms = [1e3 * r["train_seconds"] / r["epochs_run"] for r in rs]
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    print(f"| {name} | {len(rs)} | {statistics.mean(auc):.4f} ± {sd(auc):.4f} | "
          f"{statistics.mean(ap):.4f} ± {sd(ap):.4f} | {statistics.median(ms):.0f} | "
          f"{rs[0]['device_bytes'] / 2**20:.1f} |")
print()
print(f"adapter: {rs[0]['adapter']['name']} ({rs[0]['adapter']['driver_info']})")
PY
