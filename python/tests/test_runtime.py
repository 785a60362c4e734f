"""How fit behaves in a Python process: it releases the GIL while the device trains, and
Ctrl-C stops it between epochs with KeyboardInterrupt, leaving a working process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import gpu_vgae

HERE = Path(__file__).resolve().parent


def test_other_threads_run_while_fit_trains(graph):
    """A thread that needs the GIL every millisecond ticks while fit runs. With a switch
    interval longer than the fit, the interpreter never takes the GIL from a thread that
    holds it, so the ticker can only run if fit lets go of it."""
    edge_index, x, _ = graph
    gpu_vgae.VGAE(epochs=1).fit(edge_index, x)  # the device is open and its kernels built
    ticks = 0
    stop = threading.Event()

    def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)  # releases the GIL; waking up needs it back

    previous = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    thread = threading.Thread(target=ticker)
    try:
        thread.start()
        time.sleep(0.05)
        before = ticks
        model = gpu_vgae.VGAE(epochs=150, objective="dense").fit(edge_index, x)
        during = ticks - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    assert model.report_["epochs_run"] == 150
    assert during >= 20, f"the ticker ran {during} times while fit trained"


CHILD = """
import signal, sys, time
# A process started by a shell as a background job inherits SIGINT ignored, and
# Python then leaves it ignored: install the handler a terminal's Ctrl-C reaches.
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
sys.path.insert(0, {tests!r})
import gpu_vgae
from conftest import community_graph

edge_index, x, _ = community_graph()
seen = []
def progress(e):
    seen.append(e["epoch"])
    if e["epoch"] == 2:
        print("training", flush=True)
model = gpu_vgae.VGAE(epochs=1_000_000)
try:
    model.fit(edge_index, x, callback=progress if {with_callback} else None)
except KeyboardInterrupt as interrupt:
    print(f"KeyboardInterrupt: {{interrupt}}; epochs seen {{len(seen)}}", flush=True)
# The process goes on: the estimator was left unfitted and the engine still trains.
assert not hasattr(model, "embeddings_")
print("test AUC", gpu_vgae.VGAE(epochs=3).fit(edge_index, x).report_["test"]["auc"], flush=True)
"""


@pytest.mark.parametrize("with_callback", [False, True])
def test_ctrl_c_stops_training_between_epochs(with_callback):
    script = CHILD.format(tests=str(HERE), with_callback=with_callback)
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        if with_callback:
            assert child.stdout.readline().strip() == "training"
        else:
            # Without a callback nothing reports the epochs: wait until training has
            # surely begun (the device opens in well under this).
            time.sleep(8)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    match = re.search(r"KeyboardInterrupt: interrupted: training stopped after epoch (\d+) of 1000000", out)
    assert match, out + err
    stopped_after = int(match.group(1))
    assert stopped_after >= 1
    if with_callback:
        # Ctrl-C during an epoch stops training before the callback hears of it; during
        # the callback, the callback raises it.
        seen = int(re.search(r"epochs seen (\d+)", out).group(1))
        assert seen in (stopped_after - 1, stopped_after)
    assert "test AUC" in out
