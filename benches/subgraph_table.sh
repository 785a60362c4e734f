#!/usr/bin/env bash
# The subgraph objective (FastGAE, DESIGN.md §2c) on Pubmed without features against the
# dense objective: test AUC/AP over seeds 0-2 at 200 epochs for n = 5000 and n = 1000
# sampled nodes (α = 2), VGAE and GAE, and the time of an epoch (training only,
# --eval-every 0) beside a short dense run's. One JSON report per run under $OUT, then a
# markdown table of means ± std.
#
#   bash benches/subgraph_table.sh [OUT_DIR]
# Environment: GPU_VGAE_BIN (default target/release/gpu-vgae), GPU_VGAE_DATA_DIR
# (default datasets/planetoid), SEEDS (default "0 1 2"), DENSE_EPOCHS (default 200; the
# dense rows' epochs: fewer for the timing alone).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/subgraph-table}
bin=${GPU_VGAE_BIN:-target/release/gpu-vgae}
data=${GPU_VGAE_DATA_DIR:-datasets/planetoid}
seeds=${SEEDS:-0 1 2}
dense_epochs=${DENSE_EPOCHS:-200}
mkdir -p "$out"
[ -x "$bin" ] || cargo build --release

run() { # name args...
  local name=$1; shift
  for seed in $seeds; do
    local file="$out/$name-seed$seed.json"
    [ -s "$file" ] && continue
    echo "== $name seed $seed: gpu-vgae run --dataset pubmed $* --seed $seed" >&2
    "$bin" run --dataset pubmed --data-dir "$data" --json --quiet --eval-every 0 \
      --seed "$seed" "$@" > "$file.tmp"
    mv "$file.tmp" "$file"
  done
}

run vgae-subgraph-5000 --model vgae --objective subgraph --sample-nodes 5000 --alpha 2
run gae-subgraph-5000 --model gae --objective subgraph --sample-nodes 5000 --alpha 2
run vgae-subgraph-1000 --model vgae --objective subgraph --sample-nodes 1000 --alpha 2
seeds=$(echo "$seeds" | cut -d' ' -f1)
run vgae-dense --model vgae --objective dense --epochs "$dense_epochs"

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys, collections
rows = collections.defaultdict(list)
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    rows[f.name.rsplit("-seed", 1)[0]].append(json.loads(f.read_text()))
def ms(xs, scale=100, digits=2):
    xs = [scale * x for x in xs]
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.{digits}f} ± {sd:.{digits}f}"
epoch = {name: statistics.median(r["train_seconds"] / r["epochs_run"] for r in rs)
         for name, rs in rows.items()}
dense = epoch.get("vgae-dense")
print("| run | seeds | epochs | test AUC | test AP | s / epoch (median) | vs dense epoch |")
print("|---|---|---|---|---|---|---|")
for name, rs in rows.items():
    speed = f"{dense / epoch[name]:.1f}×" if dense else "-"
    print(f"| {name} | {len(rs)} | {rs[0]['epochs_run']} | {ms([r['test']['auc'] for r in rs])} | "
          f"{ms([r['test']['ap'] for r in rs])} | {epoch[name]:.3f} | {speed} |")
print()
a = rs[0]["adapter"]
print(f"adapter: {a['name']} ({a['driver_info']})")
PY
