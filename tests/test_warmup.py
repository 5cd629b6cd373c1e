"""The start-up warm-up (ui/warmup.py): it fills exactly the entries the pages read, with bit-identical values, and
it is skipped cleanly (and the replica still reported ready) without the full MNIST or without the shipped weights."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from ae_core.registry import MODELS
from serve.cache import ComputeCache
from tests.conftest import needs_mnist
from ui import jobs as jobs_ui

ROOT = Path(__file__).resolve().parent.parent


def same(a, b, where="") -> None:
    """Bit-identical: equal tensors and arrays (dtype, shape, every value), and the same structure around them."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif dataclasses.is_dataclass(a):
        same(vars(a), vars(b), where)
    elif isinstance(a, float):
        assert a == b or (a != a and b != b), where
    else:
        assert a == b, where


@needs_mnist
def test_warm_up_fills_the_entries_a_visitor_computes_with_the_same_values(monkeypatch):
    from ui import server, warmup

    # Its own sweep size and its own result caches: the server-wide one the other AppTests share stays as it is.
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "60")
    caches = []

    def fresh() -> None:
        caches.append(ComputeCache(512 * 2**20))
        monkeypatch.setattr(server, "results", lambda: caches[-1])

    fresh()
    jobs = warmup.plan()
    # The Scoreboard's first table is saved with the shipped weights (weights/results.safetensors): nothing to warm.
    assert [w for w, *_ in jobs][:3] == ["scoreboard curves", "scoreboard digits", "noise matrix"]
    assert len(jobs) == 3 + 2 * 3  # each model's latent map and code space

    for page in ("scoreboard", "inside", "explorer"):  # a visitor, with an empty cache and no warm-up
        at = AppTest.from_file(str(ROOT / "views" / f"{page}.py"), default_timeout=300).run()
        assert not at.exception, [e.value for e in at.exception]
    cache = server.results()
    visitor = {}
    for what, key, _ in jobs:
        found, value = cache.peek(key)
        assert found, f"the pages never asked for the warm-up's {what}: its key differs from theirs"
        visitor[key] = value

    fresh()
    done = warmup.run()
    assert done == [w for w, *_ in jobs] + ["training speeds"] and warmup.status()["status"] == "done"
    assert all(jobs_ui.speed_known(k, jobs_ui.preset_config(k, "quick")) for k in MODELS)  # the sidebar estimate
    cache = server.results()
    for what, key, _ in jobs:
        found, value = cache.peek(key)
        assert found, what
        same(value, visitor[key], what)


def warm_in_a_fresh_process(tmp_path, **env) -> tuple[str, str]:
    ready = tmp_path / "ready"
    code = "from ui import warmup; print(warmup.run(), warmup.status()['status'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "AE_LAB_READY_FILE": str(ready), "AE_LAB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1], ready.read_text().strip()


def test_warm_up_is_skipped_without_mnist_and_the_replica_is_still_ready(tmp_path):
    printed, ready = warm_in_a_fresh_process(tmp_path, MNIST_DIR=str(tmp_path / "no-mnist"))
    assert printed == "[] skipped" and ready == "skipped"


def test_warm_up_is_skipped_without_the_shipped_weights(tmp_path):
    (tmp_path / "weights").mkdir()
    printed, ready = warm_in_a_fresh_process(tmp_path, AE_LAB_WEIGHTS=str(tmp_path / "weights"))
    assert printed == "[] skipped" and ready == "skipped"


def test_warm_up_is_off_when_asked_and_starts_once(monkeypatch):
    import threading

    from ui import warmup

    monkeypatch.setenv("AE_LAB_WARMUP", "0")
    assert warmup.start() is None
    # On: any number of pages starting it at once (every page's setup calls start) run it once.
    monkeypatch.setenv("AE_LAB_WARMUP", "1")
    monkeypatch.setattr(warmup, "_state", {"thread": None, "status": "not started", "done": [], "seconds": None})
    runs, release = [], threading.Event()
    monkeypatch.setattr(warmup, "run", lambda: runs.append(1) or release.wait(10))
    threads = [threading.Thread(target=warmup.start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    first = warmup.start()
    release.set()
    first.join(10)
    assert warmup.start() is first and runs == [1]  # one thread, one run, and not again once it has finished


def test_the_warm_up_child_waits_at_each_step_while_paused():
    """_here(jobs, go): while go is clear (the server is busy) a job neither starts nor passes its next step."""
    import threading

    from ui import warmup

    go, steps = threading.Event(), []

    def compute(progress):
        steps.append("start")
        progress(0.5)  # a step: waits again while paused
        steps.append("step")
        return 42

    (what, key, value), _speeds = list(warmup._here([("job", ("k",), compute)], go))
    out = []
    t = threading.Thread(target=lambda: out.append(value()))
    t.start()
    t.join(0.5)
    assert t.is_alive() and steps == []  # paused before it started
    go.set()
    t.join(10)
    assert out == [42] and steps == ["start", "step"]


def test_the_governor_pauses_the_child_while_the_server_is_busy_and_resumes_it_when_quiet():
    import os
    import select
    import threading
    import time

    from ui import warmup

    r, w = os.pipe()

    class Child:  # what _govern uses of a Popen: its stdin
        stdin = os.fdopen(w, "wb")

    done = threading.Event()
    gov = threading.Thread(target=warmup._govern, args=(Child, done))
    gov.start()
    try:
        end = time.process_time() + 4 * warmup.GOVERN_S  # a busy server: this process at a whole core
        while time.process_time() < end:
            sum(i * i for i in range(10_000))
        assert select.select([r], [], [], 10)[0] and os.read(r, 1) == warmup.PAUSE
        assert select.select([r], [], [], 10)[0] and os.read(r, 1) == warmup.GO  # quiet: this thread only waits
    finally:
        done.set()
        gov.join(5)
        Child.stdin.close()
        os.close(r)


def test_the_governor_counts_the_row_workers_cpu_as_the_servers(monkeypatch):
    """A server whose comparisons run in its row worker is busy too, even when its own threads idle."""
    import os
    import select
    import threading
    import time

    from serve import rowworker
    from ui import warmup

    t0 = time.monotonic()
    monkeypatch.setattr(rowworker, "children_cpu_s", lambda: time.monotonic() - t0)  # a row worker at a whole core
    r, w = os.pipe()

    class Child:
        stdin = os.fdopen(w, "wb")

    done = threading.Event()
    gov = threading.Thread(target=warmup._govern, args=(Child, done))
    gov.start()
    try:
        assert select.select([r], [], [], 10)[0] and os.read(r, 1) == warmup.PAUSE
    finally:
        done.set()
        gov.join(5)
        Child.stdin.close()
        os.close(r)
