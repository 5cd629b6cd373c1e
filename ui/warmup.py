"""Warm caches at start: what every visitor asks for with the shipped weights, computed once in the background.

A first visit to the Scoreboard, Inside or Explore computes results that are the same for every student and every
restart (the Scoreboard at its default settings, each model's latent map and code space). The warm-up computes them
in the background as soon as the server starts (ui/serve.py) or, under a plain `streamlit run`, when the first page
runs, into the same server-wide cache the pages read (ui/insight.py builds both's keys). A visitor who arrives
meanwhile computes what they ask for with the page's own progress bar, as without a warm-up; the first value in the
cache stays (both are bit-identical).

It computes one job at a time in a child process under the idle scheduling class (SCHED_IDLE), so students' slider
moves keep the server's cores and its GIL; the results come back over a pipe. While the server is busy with students
the child pauses at its next step (see BUSY), and it goes on when they are quiet. When it is done it writes
AE_LAB_READY_FILE (default: none), which a container's readiness probe can wait for (deploy/k8s). It is skipped,
with one log line, when the shipped weights or the full MNIST test set are missing, and AE_LAB_WARMUP=0 turns it off.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger("ae_lab.warmup")
_lock = threading.Lock()
_state = {"thread": None, "status": "not started", "done": [], "seconds": None}

DEFAULT_NOISE, DEFAULT_FACTOR, DEFAULT_BASELINES = "gaussian", 0.5, ("median",)  # the Scoreboard's first view

# The child pauses while this server is busy with students. Even at SCHED_IDLE it slowed them: on 2 cores it shares
# their caches and memory bandwidth (or a hyperthread's core), and 200 students on 2 replicas had p95 3.1 s with it
# running against 0.38 s without (bench/capacity.py). Busy: the server's threads and its row worker used more than
# BUSY of a core over the last GOVERN_S; it resumes below QUIET. One student's slider (~1% of a core) does not pause it.
GOVERN_S = 0.5  # how often the server's CPU use is read
BUSY, QUIET = 0.25, 0.10  # share of one core: pause above, resume below
PAUSE, GO = b"P", b"G"  # what the server writes to the child's stdin


def enabled() -> bool:
    return os.environ.get("AE_LAB_WARMUP", "1").strip().lower() not in ("0", "false", "no", "off")


def plan() -> list[tuple[str, tuple, object]]:
    """[(what, cache key, compute(progress))] for the shipped weights; [] when there is nothing to warm."""
    from ui import insight, server

    loaded, errors = server.default_models()
    digits = server.test_set()
    if errors or not loaded or not digits.full:
        return []
    models = {k: m for k, (_, m) in loaded.items()}
    shas = {k: sidecar["sha256"] for k, (sidecar, _) in loaded.items()}
    sub, clf, prec = server.subset(), server.digit_classifier(), server.curve_precision()
    base = list(DEFAULT_BASELINES)
    shipped = server.shipped_table(models, shas, DEFAULT_NOISE, DEFAULT_FACTOR, base, digits)
    jobs = (
        []
        if shipped is not None
        else [  # saved with the weights: the page reads it at once
            ("scoreboard table", *insight.table_job(models, shas, DEFAULT_NOISE, DEFAULT_FACTOR, base, digits)),
        ]
    )
    jobs += [
        ("scoreboard curves", *insight.sweep_job(models, shas, DEFAULT_NOISE, base, sub, clf, prec)),
        ("scoreboard digits", *insight.noisy_job(DEFAULT_NOISE, DEFAULT_FACTOR, digits)),
    ]
    rows = {k: (shas[k], models[k]) for k in ("dense_dae", "conv_dae") if k in models}  # matrix_rows, no runs
    jobs.append(("noise matrix", *insight.matrix_job(rows, DEFAULT_FACTOR, sub, prec)))
    for k, m in models.items():
        jobs.append((f"latent map {k}", *insight.pca_job(k, m, shas, sub)))
        jobs.append((f"code space {k}", *insight.space_job(k, m, shas, sub)))
    return jobs


def _speeds() -> dict:
    """This machine's speeds for the sidebar's estimate of each model's quick preset (its default)."""
    from ae_core.registry import MODELS
    from ui import jobs as ui_jobs

    for k in MODELS:
        ui_jobs.measure_speeds(k, ui_jobs.preset_config(k, "quick"))
    return ui_jobs.SPEEDS.snapshot()


def _here(jobs: list, go: threading.Event | None = None):
    """(what, key, value()) for every job computed in this process, then the speeds (key None). With `go`, each job
    and each of its steps first waits until go is set (the child's pause)."""

    def wait(*_) -> None:  # also each job's progress callback: a step waits there
        if go is not None:
            go.wait()

    def run(compute):
        wait()
        return compute(wait)

    for what, key, compute in jobs:
        yield what, key, functools.partial(run, compute)
    yield "training speeds", None, functools.partial(run, lambda _progress: _speeds())


def _listen() -> threading.Event:
    """The child's gate: cleared by PAUSE on stdin, set by GO; the child exits when stdin closes (the server is gone)."""
    import sys

    go = threading.Event()
    go.set()

    def listen() -> None:
        for byte in iter(lambda: sys.stdin.buffer.read(1), b""):
            if byte == PAUSE:
                go.clear()
            elif byte == GO:
                go.set()
        os._exit(0)

    threading.Thread(target=listen, name="ae-lab-warmup-gate", daemon=True).start()
    return go


def over_budget() -> bool:
    """The server and its children (this child among them) hold more than the part of the ceiling that admitted work
    may use (serve/budget.py)."""
    from ui import server

    b = server.budget()
    return b.in_use() > b.limit


def _end_for_memory(child) -> bool:
    """End the warm-up's child to give its memory back (the budget's reclaimer); True if it was still running."""
    if child.poll() is not None:
        return False
    log.warning("Warm-up stopped: the server and its children are at their memory budget.")
    _state["stopped_for_memory"] = True
    child.kill()
    child.wait(10)
    return True


def _govern(child, done: threading.Event) -> None:
    """Pause the child while this server is busy, resume it when quiet (see BUSY); end it when the server is at its
    memory budget (a paused child would keep holding its memory)."""
    from serve.rowworker import children_cpu_s

    def cpu() -> float:  # this server's threads and its row worker (its comparisons)
        return time.process_time() + children_cpu_s()

    paused, last = False, cpu()
    while not done.wait(GOVERN_S):
        if over_budget():  # the warm-up is never worth the replica: its child goes, pages compute on demand
            _end_for_memory(child)
            return
        now = cpu()
        use, last = (now - last) / GOVERN_S, now  # cores' worth of this process's CPU over the last GOVERN_S
        want = use >= QUIET if paused else use > BUSY
        if want != paused:
            try:
                child.stdin.write(PAUSE if want else GO)
                child.stdin.flush()
            except (OSError, ValueError):  # the child has finished (its pipe broken or closed)
                return
            paused = want


def _child() -> None:
    """`python -m ui.warmup`: the warm-up's work, in a process of its own at the lowest CPU priority, so the server's
    threads come first and this Python never holds the server's GIL (in a thread it slowed students' slider moves
    2.3x). Writes pickled (what, key, value) for each planned job to stdout, then None."""
    import pickle

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to the log, never into the results stream
    try:  # run only on a core nobody else wants (Linux); else at the lowest priority
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)
    go = _listen()
    for what, key, value in _here(plan(), go):
        pickle.dump((what, key, value()), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pickle.dump(None, out)
    out.close()


def _next(child):
    """The child's next (what, key, value), or None at its end, also when it was ended for memory."""
    import pickle

    try:
        return pickle.load(child.stdout)
    except EOFError:
        if _state.get("stopped_for_memory"):
            return None
        raise


def _computed(jobs: list):
    """(what, key, value()) for every job: from a low-priority child process, or in this thread if none can start
    (AE_LAB_WARMUP_PROCESS=0, or a platform without one). Keys are content, so the child's are the parent's."""
    import subprocess
    import sys

    if os.environ.get("AE_LAB_WARMUP_PROCESS", "1") != "0":
        try:
            root = Path(__file__).resolve().parent.parent
            child = subprocess.Popen(
                [sys.executable, "-m", "ui.warmup"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        except OSError as e:
            log.warning("Warm-up runs in a thread: no child process (%s).", e)
        else:
            done = threading.Event()
            threading.Thread(target=_govern, args=(child, done), name="ae-lab-warmup-governor", daemon=True).start()
            from ui import server

            unregister = server.budget().reclaimer(lambda: _end_for_memory(child))
            try:
                while (msg := _next(child)) is not None:  # our own child's output: trusted
                    what, key, value = msg
                    yield what, key, lambda v=value: v
            finally:
                unregister()
                done.set()
                child.stdout.close()
                child.stdin.close()
                child.wait(30)
            return
    yield from _here(jobs)


def run() -> list[str]:
    """Compute every planned result into the server-wide cache (in this thread); returns what was computed."""
    from ui import server

    t0 = time.perf_counter()
    _state["done"] = []
    jobs = plan()
    if not jobs:
        _state["status"] = "skipped"
        log.warning("Warm-up skipped: the shipped weights or the full MNIST test set are missing.")
        _ready()
        return []
    cache = server.results()
    from ui import jobs as ui_jobs

    for what, key, value in _computed(jobs):
        if key is None:  # this machine's speeds, measured where the rest was
            ui_jobs.SPEEDS.update(value())
        else:
            cache.get(key, lambda v=value: v())  # a visitor who got there first keeps theirs (the same value)
        _state["done"].append(what)
    _state["seconds"] = round(time.perf_counter() - t0, 1)
    _state["status"] = "stopped" if _state.get("stopped_for_memory") else "done"
    log.info("Warm-up done in %.1f s: %s.", _state["seconds"], ", ".join(_state["done"]))
    _ready()
    return list(_state["done"])


def _ready() -> None:
    """Tell a readiness probe that this replica may take students (warm, or with nothing to warm)."""
    ready = os.environ.get("AE_LAB_READY_FILE", "").strip()
    if ready:
        Path(ready).write_text(f"{_state['status']}\n")


def _guarded() -> None:
    try:
        run()
    except Exception:  # noqa: BLE001 - a failed warm-up only means colder caches; the pages compute on demand
        _state["status"] = "failed"
        log.exception("Warm-up failed; pages will compute their results on first visit.")
        _ready()


def start() -> threading.Thread | None:
    """Start the warm-up thread once per process (no-op when it runs or ran). Turned off (AE_LAB_WARMUP=0), it only
    writes the ready file: the replica has nothing to warm, and a readiness probe must not wait for it forever."""
    if not enabled():
        with _lock:
            if _state["status"] == "not started":
                _state["status"] = "skipped"
                log.info("Warm-up turned off (AE_LAB_WARMUP=0).")
                _ready()
        return None
    with _lock:
        if _state["thread"] is None:
            _state["status"] = "running"
            _state["thread"] = threading.Thread(target=_guarded, name="ae-lab-warmup", daemon=True)
            _state["thread"].start()
        return _state["thread"]


def status() -> dict:
    return {k: v for k, v in _state.items() if k != "thread"}


if __name__ == "__main__":
    _child()
