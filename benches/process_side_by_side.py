"""Whole processes side by side, alternating (issue 20, part 4): `gpu-vgae run` with the
sampled and the dense objective, PyG's VGAE (benches/pyg_autoencoder.py: its sampled
objective) and tkipf's dense VGAE in torch (benches/torch_dense_vgae.py).

    python benches/process_side_by_side.py [--dataset citeseer] [--rounds 3] [--epochs 200]
                                           [--threads 2] [--binary target/release/gpu-vgae]
                                           [--sides gpu-sampled pyg-sampled gpu-dense torch-dense]

Run it with the venv that has torch and torch_geometric (its python runs the two torch
sides). Each round runs every side once, as its own process, in an order that rotates from
round to round; seed = round index on every side. Per run: wall time from start to exit,
CPU time (user + system, all threads: llvmpipe's and OpenMP's), peak resident memory, the
epoch (each side's own measure of the training step, validation excluded), test AUC/AP,
and the 1-minute load average when it started. The machine is shared: compare sides within
a round, not across rounds.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def command(side, args, seed):
    if side.startswith("gpu-"):
        objective = side.split("-")[1]
        return [
            args.binary, "run", "--dataset", args.dataset, "--objective", objective,
            "--epochs", str(args.epochs), "--seed", str(seed), "--json", "--quiet",
        ] + args.gpu_args
    script = {"pyg-sampled": "pyg_autoencoder.py", "torch-dense": "torch_dense_vgae.py"}[side]
    return [
        sys.executable, os.path.join(HERE, script), "--dataset", args.dataset,
        "--epochs", str(args.epochs), "--seed", str(seed), "--threads", str(args.threads),
    ]


def parse(side, stdout):
    report = json.loads(stdout[stdout.index("{"):])
    if side.startswith("gpu-"):
        report = report.get("report", report)
        epochs = report["epochs_run"]
        return {
            "epoch_ms": 1e3 * report["train_seconds"] / epochs,
            "test_auc": report["test"]["auc"],
            "test_ap": report["test"]["ap"],
        }
    return {k: report[k] for k in ("epoch_ms", "test_auc", "test_ap")}


def run(side, args, seed):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(command(side, args, seed), capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "side": side,
        "seed": seed,
        "load": load,
        "wall_s": wall,
        "cpu_s": cpu,
        # RUSAGE_CHILDREN's maxrss is the largest child so far: exact for a run only when
        # it is the largest yet, so it is reported as an upper bound.
        "max_rss_mib_bound": after.ru_maxrss / 1024,
        **parse(side, done.stdout),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--binary", default=os.path.join(HERE, "..", "target", "release", "gpu-vgae"))
    parser.add_argument("--sides", nargs="+", default=["gpu-sampled", "pyg-sampled", "gpu-dense", "torch-dense"])
    parser.add_argument("--gpu-args", nargs="*", default=[], help="more arguments of gpu-vgae run")
    parser.add_argument("--json")
    args = parser.parse_args()

    results = []
    for round_ in range(args.rounds):
        k = round_ % len(args.sides)
        for side in args.sides[k:] + args.sides[:k]:
            r = run(side, args, round_)
            results.append(r)
            print(
                f"round {round_} {side:12} load {r['load']:5.1f}  wall {r['wall_s']:7.2f} s  "
                f"cpu {r['cpu_s']:7.2f} s  epoch {r['epoch_ms']:8.2f} ms  "
                f"AUC {r['test_auc']:.4f} AP {r['test_ap']:.4f}",
                flush=True,
            )
    by_side = {s: [r for r in results if r["side"] == s] for s in args.sides}
    print("\n| side | epoch ms per round | median | wall s per round | cpu s per round | test AUC / AP, round 0 |")
    print("|---|---|---|---|---|---|")
    def each(runs, key, digits):
        return " / ".join(f"{r[key]:.{digits}f}" for r in runs)

    for side, runs in by_side.items():
        median = statistics.median(r["epoch_ms"] for r in runs)
        print(
            f"| {side} | {each(runs, 'epoch_ms', 1)} | {median:.1f} | {each(runs, 'wall_s', 1)} "
            f"| {each(runs, 'cpu_s', 1)} | {runs[0]['test_auc']:.4f} / {runs[0]['test_ap']:.4f} |"
        )
    for ours, theirs in (("gpu-sampled", "pyg-sampled"), ("gpu-dense", "torch-dense")):
        if by_side.get(ours) and by_side.get(theirs):
            pairs = list(zip(by_side[ours], by_side[theirs]))
            for what in ("epoch_ms", "wall_s", "cpu_s"):
                ratios = [a[what] / b[what] for a, b in pairs]
                print(
                    f"{ours} / {theirs}, {what}: per round "
                    f"{' / '.join(f'{x:.3f}' for x in ratios)}, median {statistics.median(ratios):.3f}"
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
