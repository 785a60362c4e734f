"""What a fit from Python costs beyond the same run from the command line (issue 19's
target: at most 5 % more wall time).

    python benches/python_overhead.py [--dataset citeseer] [--runs 5] [--bin target/release/gpu-vgae]

Alternates, in fresh processes, `gpu-vgae run --dataset D --seed 0` and a Python process
that imports gpu_vgae, loads the same dataset and fits `VGAE(seed=0)` on it — whole-process
wall time, start to exit, both sides (Python's start-up and imports included). Run it with
the venv's python (the one gpu_vgae is installed in). Prints each pair, the medians and
their ratio, and checks that both report the same test AUC/AP.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PYTHON_FIT = """
import json, gpu_vgae
edge_index, x, _ = gpu_vgae.datasets.planetoid({dataset!r})
model = gpu_vgae.VGAE(seed=0).fit(edge_index, x)
print(json.dumps(model.report_["test"]))
"""


def timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{done.stderr}")
    return took, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "gpu-vgae"))
    args = parser.parse_args()
    cli = [args.bin, "run", "--dataset", args.dataset, "--seed", "0", "--json"]
    python = [sys.executable, "-c", PYTHON_FIT.format(dataset=args.dataset)]
    cli_times, python_times = [], []
    for run in range(args.runs):
        # Alternate which side goes first, so a slow spell of the shared machine lands on
        # both.
        order = [("cli", cli), ("python", python)]
        if run % 2:
            order.reverse()
        for side, command in order:
            took, out = timed(command)
            if side == "cli":
                cli_times.append(took)
                cli_test = json.loads(out)["test"]
            else:
                python_times.append(took)
                python_test = json.loads(out)
            print(f"run {run + 1} {side:6} {took:7.2f} s", flush=True)
        if cli_test != python_test:
            sys.exit(f"different test metrics: cli {cli_test}, python {python_test}")
    cli_median, python_median = statistics.median(cli_times), statistics.median(python_times)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "runs": args.runs,
                "cli_s": [round(t, 2) for t in cli_times],
                "python_s": [round(t, 2) for t in python_times],
                "cli_median_s": round(cli_median, 2),
                "python_median_s": round(python_median, 2),
                "python_over_cli": round(python_median / cli_median, 4),
                "test": cli_test,
            }
        )
    )


if __name__ == "__main__":
    main()
