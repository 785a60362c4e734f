#!/usr/bin/env bash
# --precision f16 against f32 (issue 20, part 4): test AUC/AP and the training epoch of
# Cora and Citeseer (dense objective) and Pubmed (sampled, and subgraph n = 5000), seeds
# 0-2, 200 epochs, the two precisions alternating (f32 first for even seeds, f16 first
# for odd ones) so that both see the same load. One JSON report per run under $OUT (with
# the 1-minute load average beside it), then markdown tables: per run and seed, and per
# case the mean AUC/AP, the largest |ΔAUC| between precisions over the seeds and the
# median ratio of the paired epochs.
#
#   bash benches/precision_table.sh [OUT_DIR]
# Environment: GPU_VGAE_BIN (default target/release/gpu-vgae), GPU_VGAE_DATA_DIR
# (default datasets/planetoid), SEEDS (default "0 1 2"), CASES (default all four:
# "cora-dense citeseer-dense pubmed-sampled pubmed-subgraph").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/precision-table}
bin=${GPU_VGAE_BIN:-target/release/gpu-vgae}
data=${GPU_VGAE_DATA_DIR:-datasets/planetoid}
seeds=${SEEDS:-0 1 2}
cases=${CASES:-cora-dense citeseer-dense pubmed-sampled pubmed-subgraph}
mkdir -p "$out"
[ -x "$bin" ] || cargo build --release

args_of() { # case -> gpu-vgae run arguments
  case $1 in
    cora-dense) echo "--dataset cora --objective dense" ;;
    citeseer-dense) echo "--dataset citeseer --objective dense" ;;
    pubmed-sampled) echo "--dataset pubmed --objective sampled" ;;
    pubmed-subgraph) echo "--dataset pubmed --objective subgraph --sample-nodes 5000" ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}

for case in $cases; do
  for seed in $seeds; do
    order="f32 f16"
    [ $((seed % 2)) -eq 1 ] && order="f16 f32"
    for precision in $order; do
      file="$out/$case-$precision-seed$seed.json"
      [ -s "$file" ] && continue
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "== $case $precision seed $seed (load $load)" >&2
      # shellcheck disable=SC2046
      "$bin" run $(args_of "$case") --data-dir "$data" --precision "$precision" \
        --seed "$seed" --json --quiet > "$file.tmp"
      echo "$load" > "$file.load"
      mv "$file.tmp" "$file"
    done
  done
done

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys, collections
out = pathlib.Path(sys.argv[1])
runs = collections.defaultdict(dict)  # (case, seed) -> precision -> report
for f in sorted(out.glob("*.json")):
    case, precision, seed = f.stem.rsplit("-", 2)
    report = json.loads(f.read_text())
    report["load"] = float((f.parent / (f.name + ".load")).read_text())
    runs[(case, int(seed.removeprefix("seed")))][precision] = report
epoch_ms = lambda r: 1e3 * r["train_seconds"] / r["epochs_run"]
print("| case | seed | f32 AUC / AP | f16 AUC / AP | ΔAUC (f16 − f32) | f32 ms/epoch | f16 ms/epoch | f16 / f32 | load |")
print("|---|---|---|---|---|---|---|---|---|")
for (case, seed), p in sorted(runs.items()):
    if not {"f32", "f16"} <= p.keys():
        continue
    a, b = p["f32"], p["f16"]
    print(f"| {case} | {seed} | {a['test']['auc']:.4f} / {a['test']['ap']:.4f} | "
          f"{b['test']['auc']:.4f} / {b['test']['ap']:.4f} | {b['test']['auc'] - a['test']['auc']:+.4f} | "
          f"{epoch_ms(a):.1f} | {epoch_ms(b):.1f} | {epoch_ms(b) / epoch_ms(a):.2f} | "
          f"{a['load']:.1f}, {b['load']:.1f} |")
print()
print("| case | seeds | f32 AUC / AP (mean) | f16 AUC / AP (mean) | max \\|ΔAUC\\| | f16 / f32 epoch (median of pairs) |")
print("|---|---|---|---|---|---|")
cases = sorted({c for c, _ in runs})
for case in cases:
    pairs = [p for (c, _), p in sorted(runs.items()) if c == case and {"f32", "f16"} <= p.keys()]
    if not pairs:
        continue
    mean = lambda prec, k: statistics.mean(p[prec]["test"][k] for p in pairs)
    delta = max(abs(p["f16"]["test"]["auc"] - p["f32"]["test"]["auc"]) for p in pairs)
    ratio = statistics.median(epoch_ms(p["f16"]) / epoch_ms(p["f32"]) for p in pairs)
    print(f"| {case} | {len(pairs)} | {mean('f32', 'auc'):.4f} / {mean('f32', 'ap'):.4f} | "
          f"{mean('f16', 'auc'):.4f} / {mean('f16', 'ap'):.4f} | {delta:.4f} | {ratio:.2f} |")
a = next(iter(runs.values()))["f32"]["adapter"]
print(f"\nadapter: {a['name']} ({a['driver_info']})")
PY
