"""Playground comparisons with saved weights in a child process, off the web server's GIL.

A comparison is about a hundred small torch and scipy calls. Each lets go of the GIL and must win it back from the
web server's own threads (a hundred sessions' reruns), so in the server a comparison's wall time and CPU grow with
the class, and one process served at most about 45 moves a second however many cores were free. In a child of its
own the same code runs undisturbed; the server thread only waits on a pipe, without the GIL.

The child loads weights by (key, sha256) from the weights folder and refuses any other content, so it computes
exactly what the server would with the same models (the same code, the same torch threads: bit-identical, which
tests/test_rowworker.py checks). Weights that are not saved files (a browser's own runs and uploads) stay in the
server. One request at a time; if the child dies or hangs it is replaced, and the caller computes in-process.

    python -m serve.rowworker     the child: pickled requests on stdin, pickled answers on the original stdout
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

log = logging.getLogger("ae_lab.rowworker")

MAX_MODELS = 16  # (key, sha256) pairs a child keeps loaded: three models and the classifier, and a few publishes
TIMEOUT_S = 30.0  # a comparison takes milliseconds; a child silent this long is replaced
READY = b"R"  # the child's first byte: imports done, requests welcome
RETRY_S = 60.0  # a child that died before saying ready is not started again sooner (no process storm)


_workers: weakref.WeakSet = weakref.WeakSet()  # this process's RowWorkers, for children_cpu_s


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's live row-worker children, read with psutil: the
    server's own work, which the warm-up's governor counts with the server's."""
    import psutil

    total = 0.0
    for w in list(_workers):
        child = w._child
        if child is not None:
            try:
                t = psutil.Process(child.pid).cpu_times()
            except psutil.Error:
                continue  # exited meanwhile
            total += t.user + t.system
    return total


class Unavailable(RuntimeError):
    """The child could not answer (not started, died, or refused the weights): compute in-process instead."""


def request(clean, noise_type: str, factor: float, seed: int, models, baselines, feed_clean: bool, clf, folder):
    """A request's fields as one picklable tuple. models: ((key, sha256), ...); clf: the classifier's sha256 or None."""
    import numpy as np

    return (
        np.ascontiguousarray(clean, np.float32).reshape(28, 28),
        str(noise_type),
        float(factor),
        int(seed),
        tuple((str(k), str(s)) for k, s in models),
        tuple(str(b) for b in baselines),
        bool(feed_clean),
        None if clf is None else str(clf),
        str(folder),
    )


# --- the child ---------------------------------------------------------------------------------------------------


def _loader():
    from ae_core import store

    loaded: dict[tuple[str, str], object] = {}

    def model(key: str, sha: str, folder: str):
        found = loaded.get((key, sha))
        if found is None:
            # Not the saved file (a browser's own run) or a default that changed since the server read it: the
            # server computes. The sidecar is read first, so such a request costs no tensor load.
            if (store.read_sidecar(key, Path(folder)) or {}).get("sha256") != sha:
                raise LookupError(f"{key}: the saved weights are not the ones asked for")
            sidecar, found = store.load(key, Path(folder), expect_key=key)
            if sidecar.get("sha256") != sha:  # replaced in between
                raise LookupError(f"{key}: the saved weights are not the ones asked for")
            if len(loaded) >= MAX_MODELS:
                loaded.clear()
            loaded[(key, sha)] = found
        return found

    return model


def compute(req: tuple, model) -> object:
    """The Comparison for one request, with models from model(key, sha, folder)."""
    from ae_core import compare
    from ae_core.classifier import KEY as CLF

    clean, noise_type, factor, seed, models, baselines, feed_clean, clf, folder = req
    nets = {k: model(k, s, folder) for k, s in models}
    classifier = model(CLF, clf, folder) if clf is not None else None
    return compare.compare(clean, noise_type, factor, seed, nets, list(baselines), feed_clean, classifier=classifier)


def _child() -> None:  # pragma: no mutate block (runs only in the child process; tests/test_rowworker.py drives it)
    out = os.fdopen(os.dup(1), "wb")  # answers go to the pipe; stray prints from libraries go to stderr instead
    os.dup2(2, 1)
    from scipy import ndimage  # noqa: F401 - everything a comparison imports, before saying ready
    from skimage.restoration import denoise_nl_means  # noqa: F401

    from ae_core import compare  # noqa: F401
    from ae_core.device import configure_threads

    configure_threads()  # AE_LAB_THREADS: the server's own thread count (RowWorker._start)
    inp = sys.stdin.buffer
    model = _loader()
    out.write(READY)
    out.flush()
    while True:
        try:
            req = pickle.load(inp)  # our parent's requests: trusted
        except EOFError:
            return
        try:
            answer = ("ok", compute(req, model))
        except Exception as e:  # noqa: BLE001 - any failure is the parent's cue to compute it itself
            answer = ("error", f"{type(e).__name__}: {e}")
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


# --- the server's side -------------------------------------------------------------------------------------------


class RowWorker:
    """The server's handle on its child: run(req) -> Comparison, one request at a time, or Unavailable. The child
    starts at once; until it has loaded torch and said so, run() raises Unavailable without waiting."""

    def __init__(self, cwd: Path | None = None, command: list[str] | None = None) -> None:
        self._cwd = cwd or Path(__file__).resolve().parent.parent
        self._command = command or [sys.executable, "-m", "serve.rowworker"]
        self._lock = threading.Lock()  # one request on the pipe at a time; waiting here does not hold the GIL
        self._child: subprocess.Popen | None = None
        self._ready = False
        self._retry_at = 0.0  # time.monotonic() before which no new child starts
        self.started = 0  # children started, for tests and logs
        with self._lock:
            self._start()
        _workers.add(self)

    def _start(self) -> None:
        import torch

        env = os.environ | {"AE_LAB_THREADS": str(torch.get_num_threads())}  # the server's torch threads: same bits
        self._child = subprocess.Popen(
            self._command,
            cwd=self._cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._ready = False
        self.started += 1

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for f in (child.stdin, child.stdout):
                f.close()

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self._child.stdout], [], [], timeout)[0])

    def ready(self) -> bool:
        """Has the child loaded and said so? (Starts a new one if it died.)"""
        with self._lock:
            return self._check()

    def _check(self) -> bool:
        if self._child is not None and self._child.poll() is not None:  # it died
            self._stop()
            if not self._ready:  # before it ever loaded: something is wrong here, try again later
                self._retry_at = time.monotonic() + RETRY_S
        if self._child is None:
            if time.monotonic() < self._retry_at:
                return False
            self._start()
        if not self._ready and self._readable(0):
            if self._child.stdout.read(1) != READY:  # it died while loading
                self._stop()
                self._retry_at = time.monotonic() + RETRY_S
                return False
            self._ready = True
        return self._ready

    def run(self, req: tuple):
        with self._lock:
            try:
                ready = self._check()
            except OSError as e:  # no new process could start (limits): the server computes, and tries again later
                log.warning("row worker cannot start (%s)", e)
                raise Unavailable(type(e).__name__) from None
            if not ready:
                raise Unavailable("starting")
            child = self._child
            try:
                pickle.dump(req, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                child.stdin.flush()
                if not self._readable(TIMEOUT_S):
                    raise TimeoutError
                status, value = pickle.load(child.stdout)  # our own child's answer: trusted
            except (OSError, EOFError, pickle.UnpicklingError) as e:  # TimeoutError is an OSError
                log.warning("row worker failed (%s); starting a new one", type(e).__name__)
                self._stop()  # the next request starts a new one
                raise Unavailable(type(e).__name__) from None
        if status != "ok":
            raise Unavailable(value)
        return value

    def close(self) -> None:
        with self._lock:
            self._stop()


if __name__ == "__main__":
    _child()
