#!/usr/bin/env bash
# Node clustering on Citeseer and Cora (DESIGN.md §8, issue "Node clustering"): for GAE,
# VGAE and VGAE with the class-conditional prior, 200 dense epochs, seeds 0-4, k-means on
# the embeddings with the clustering metrics, and the link-prediction metrics of the same
# runs. One JSON report per run under $OUT, then a markdown table of means ± std.
#
#   bash benches/cluster_table.sh [OUT_DIR]
# Environment: GPU_VGAE_BIN (default target/release/gpu-vgae), SEEDS (default "0 1 2 3 4").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/cluster-table}
bin=${GPU_VGAE_BIN:-target/release/gpu-vgae}
seeds=${SEEDS:-0 1 2 3 4}
mkdir -p "$out"
[ -x "$bin" ] || cargo build --release

for dataset in citeseer cora; do
  for variant in gae vgae conditional; do
    case $variant in
      gae) args=(--model gae) ;;
      vgae) args=(--model vgae) ;;
      conditional) args=(--model vgae --conditional) ;;
    esac
    for seed in $seeds; do
      file="$out/$dataset-$variant-seed$seed.json"
      [ -s "$file" ] && continue
      echo "== gpu-vgae run --dataset $dataset ${args[*]} --cluster --seed $seed" >&2
      "$bin" run --dataset "$dataset" "${args[@]}" --cluster --json --seed "$seed" > "$file.tmp"
      mv "$file.tmp" "$file"
    done
  done
done

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys, collections
rows = collections.defaultdict(list)
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    rows[f.name.rsplit("-seed", 1)[0]].append(json.loads(f.read_text()))
def ms(xs):
    xs = [100 * x for x in xs]
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.2f} ± {sd:.2f}"
print("| run | seeds | ACC | NMI | ARI | F1 | ACC, unseen labels | test AUC | test AP |")
print("|---|---|---|---|---|---|---|---|---|")
for name, rs in rows.items():
    c = [r["clustering"]["all_labelled"] for r in rs]
    unseen = [r["clustering"].get("unseen_labels") for r in rs]
    unseen_acc = ms([u["acc"] for u in unseen]) if all(unseen) else "-"
    print(f"| {name} | {len(rs)} | {ms([x['acc'] for x in c])} | {ms([x['nmi'] for x in c])} | "
          f"{ms([x['ari'] for x in c])} | {ms([x['f1'] for x in c])} | {unseen_acc} | "
          f"{ms([r['test']['auc'] for r in rs])} | {ms([r['test']['ap'] for r in rs])} |")
print()
a = rs[0]["adapter"]
print(f"adapter: {a['name']} ({a['driver_info']})")
PY
