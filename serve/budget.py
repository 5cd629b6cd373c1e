"""One replica's memory ceiling, and the admission of costly work under it (no Streamlit here).

The ceiling is AE_LAB_MEMORY_MB when set, else the container's cgroup limit (v2 `memory.max`, v1
`memory.limit_in_bytes`), else the machine's RAM. What counts is the server and its child processes together (the
row worker, the warm-up child): their resident memory, read with psutil.

The rules, each number stated once here and quoted by the README's threat model:
- **Admission** (`Budget.admit`): a costly step (a canvas or upload decode, a new test-set computation, a training
  run, a weights upload) states its cost first. It runs only while memory in use + what admitted steps reserved +
  its cost stays under SAFE_FRACTION of the ceiling; otherwise it is refused at once with a "busy, try again" message,
  and nothing already held is touched. Before refusing, it asks the reclaimers (the warm-up's child) to give their
  memory back: visitors come first. The rest of the ceiling is the margin for what is never admitted (page runs,
  slider rows, Python's own growth).
- **At once** (`heavy`): at most HEAVY_AT_ONCE test-set computations run at a time per process; another waits up to
  HEAVY_WAIT_S for a turn, then is refused the same way. Sweeps over the 1,000 sweep digits (Inside's code maps, the
  explorer's code spaces) are light: they ask the memory budget only, so they never queue behind a test set.
- **Shares** (`share_mb`): the results cache, the playground rows and the held runs are sized from the ceiling, not
  added on top of it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ae_core.messages import Message

from .quota import JobRefused

SAFE_FRACTION = 0.80  # admitted work keeps the server and its children under this part of the ceiling
HEAVY_AT_ONCE = 2  # test-set computations (Scoreboard, Inside, Explore) running at once per process
HEAVY_WAIT_S = 120.0  # how long one waits for a turn (its progress bar showing) before it is refused
HEAVY_COST_MB = 400  # what one such computation may hold while it runs (10,000 digits through every model)
LIGHT_COST_MB = 100  # a sweep over the sweep digits (1,000 by default): no turn needed, only the memory budget
RUN_COST_MB = 300  # a training run: its training set, model, optimizer state and the final test-set scoring
SHARES = {"results": 0.15, "rows": 0.04, "runs": 0.04}  # of the ceiling: the results cache, playground rows, held runs
SAMPLE_S = 0.25  # memory in use is read at most this often (psutil over the process tree: about 1 ms)

BUSY = Message("The server is busy with other work right now. Nothing of yours was lost: try again in a minute.")


class Busy(JobRefused):
    """The step was refused: the server is at its memory or concurrency budget. Its message is BUSY (for the user);
    `why` is for the log."""

    def __init__(self, why: str) -> None:
        super().__init__(BUSY)
        self.why = why


def cgroup_limit_bytes(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The memory limit of this process's cgroup (v2, then v1), or None when there is none."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 1 << 60:  # v1 reports "no limit" as a huge number, v2 as "max"
            return int(raw)
    return None


def ceiling_bytes() -> int:
    """AE_LAB_MEMORY_MB, else the cgroup limit, else the machine's RAM."""
    import psutil

    env = os.environ.get("AE_LAB_MEMORY_MB", "").strip()
    if env:
        return int(float(env) * 2**20)
    return cgroup_limit_bytes() or psutil.virtual_memory().total


def tree_rss_bytes(pid: int | None = None) -> int:
    """Resident memory of a process and all its descendants (the server, its row worker, its warm-up child)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a child that ended meanwhile
            continue
    return total


def share_mb(name: str, ceiling: int, asked_mb: float | None = None) -> float:
    """A cache's size in MB: its share of the ceiling, or what the operator asked for if that is smaller."""
    share = SHARES[name] * ceiling / 2**20
    return min(share, asked_mb) if asked_mb is not None else share


class Budget:
    """Admission under the ceiling, for the whole process; thread-safe. `used` and `clock` are for tests."""

    def __init__(
        self,
        ceiling: int | None = None,
        used: Callable[[], int] = tree_rss_bytes,
        heavy_at_once: int = HEAVY_AT_ONCE,
        heavy_wait_s: float = HEAVY_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = ceiling if ceiling is not None else ceiling_bytes()
        self.limit = int(self.ceiling * SAFE_FRACTION)
        self._used, self._clock = used, clock
        self._lock = threading.Lock()
        self._reserved = 0  # bytes admitted steps may still take
        self._sample = (-1e9, 0)  # (when, bytes) of the last reading of memory in use
        self._heavy = threading.BoundedSemaphore(heavy_at_once)
        self.heavy_wait_s = heavy_wait_s
        self.refused = 0  # steps refused so far (for the log and the soak test)
        self._reclaimers: list[Callable[[], bool]] = []  # what gives memory back for a visitor's step

    def in_use(self) -> int:
        """Memory in use now (read at most every SAMPLE_S) plus what admitted steps reserved."""
        with self._lock:
            return self._in_use()

    def _in_use(self) -> int:  # with the lock held
        now = self._clock()
        when, value = self._sample
        if now - when >= SAMPLE_S:
            value = self._used()
            self._sample = (now, value)
        return value + self._reserved

    def reclaimer(self, free: Callable[[], bool]) -> Callable[[], None]:
        """Register `free`, which gives memory back when a visitor's step would not fit (True: it did), such as the
        warm-up's child: visitors come first. Returns the function that unregisters it."""
        with self._lock:
            self._reclaimers.append(free)

        def unregister() -> None:
            with self._lock:
                if free in self._reclaimers:
                    self._reclaimers.remove(free)

        return unregister

    def _reclaim(self) -> bool:
        """Ask every reclaimer to give memory back (outside the lock); True when one did (memory is then read again)."""
        with self._lock:
            reclaimers = list(self._reclaimers)
        freed = any([free() for free in reclaimers])  # every one is asked: a list, not a short-circuit
        if freed:
            with self._lock:
                self._sample = (-1e9, 0)  # read memory afresh at the next check
        return freed

    def _reserve(self, cost_bytes: int) -> bool:
        with self._lock:
            if self._in_use() + cost_bytes > self.limit:
                return False
            self._reserved += cost_bytes
            return True

    @contextmanager
    def admit(self, cost_bytes: int, heavy: bool = False) -> Iterator[None]:
        """Run the body with `cost_bytes` reserved; Busy, before anything runs, when it does not fit even after the
        reclaimers gave back what they hold."""
        if heavy and not self._heavy.acquire(timeout=self.heavy_wait_s):
            self._refuse()
        try:
            if not self._reserve(cost_bytes) and not (self._reclaim() and self._reserve(cost_bytes)):
                with self._lock:
                    self.refused += 1
                raise Busy(f"{cost_bytes >> 20} MB more would pass {self.limit >> 20} MB")
            try:
                yield
            finally:
                with self._lock:
                    self._reserved -= cost_bytes
        finally:
            if heavy:
                self._heavy.release()

    def _refuse(self) -> None:
        with self._lock:
            self.refused += 1
        raise Busy("no turn for a heavy computation")
