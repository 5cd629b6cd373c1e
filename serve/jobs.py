"""Background training jobs: threads that run the engine, a server-wide cap, a queue, stop, and orphan clean-up.

Runs belong to an owner: the app passes the browser's id (a cookie), so a refresh or a reconnect finds the same
runs, and the orphan timeout counts from the last heartbeat of any tab of that browser. Each owner keeps its own
history (uploaded weights included) and its own choice of active runs. Everything here is guarded by one lock.
What one browser may hold or start, and the server-wide bound on held weights, are decided by serve/quota.py.

No Streamlit here: the app keeps one JobManager in st.cache_resource and polls it.
"""

from __future__ import annotations

import threading
import time

from ae_core.config import TrainConfig
from ae_core.data import Digits
from ae_core.messages import Message, of
from ae_core.registry import MODELS

from . import quota, runner
from .history import History
from .job import Job
from .quota import JobRefused, Limits
from .uploads import uploaded_job

__all__ = ["Job", "JobManager", "JobRefused", "Limits", "uploaded_job"]


class JobManager(History):
    def __init__(
        self,
        max_running: int = 2,
        max_queued: int = 4,
        orphan_timeout: float = 60.0,
        data: Digits | None = None,
        keep_finished: int = 20,
        owner_ttl: float = 6 * 3600.0,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(keep_finished, owner_ttl, limits)
        self.max_running, self.max_queued, self.orphan_timeout = max_running, max_queued, orphan_timeout
        self._data = data  # tests pass a small set; the app uses MNIST's 60k training images

    # --- what pages call -------------------------------------------------------------------------------------------
    def submit(
        self,
        key: str,
        cfg: TrainConfig | dict,
        owner: str,
        label: str = "",
        base_sha: str | None = None,
        capped: bool = False,
        seconds: tuple[float, float] | None = None,
    ) -> Job:
        """Queue a run. Invalid settings give a job that ends at once as failed, with the reason as its error.
        Raises JobRefused when this browser already has its share of runs, when `capped` (a student in classroom
        mode) and the run is larger or longer (`seconds`: its and its Tutorial recipe's, estimated here) than the limits allow, or when the server is
        full."""
        if key not in MODELS:
            raise ValueError(f"unknown model {key!r}")
        error = None
        if isinstance(cfg, dict):
            try:
                cfg = TrainConfig.from_dict(cfg)
            except (TypeError, ValueError) as e:
                cfg, error = MODELS[key].recipe, Message("Invalid settings: {reason}", reason=of(e))
        with self._lock:
            self._seen[owner] = time.monotonic()
            if not error:
                quota.admit(list(self._jobs.values()), owner, cfg, self.limits, capped, seconds)
            running = sum(j.state == "running" for j in self._jobs.values())
            queued = sum(j.state == "queued" for j in self._jobs.values())
            if running >= self.max_running and queued >= self.max_queued:
                raise JobRefused(
                    Message(
                        "The server is busy: {running} training jobs are running and {queued} are waiting. "
                        "Try again when one finishes.",
                        running=running,
                        queued=queued,
                    )
                )
            n = next(self._ids)
            job = Job(
                f"job{n}",
                key,
                cfg,
                owner,
                label or Message("#{n} {model}", n=n, model=Message(MODELS[key].name)),
                base_sha,
            )
            self._jobs[job.id] = job
            if error:
                self._finish(job, "failed", error)
            self._prune()
            self._schedule()
            return job

    def stop(self, job_id: str, owner: str | None = None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (owner is not None and job.owner != owner):
                return
            job.stop_event.set()
            if job.state == "queued":
                self._finish(job, "stopped")

    def wait(self, job_id: str, timeout: float = 60) -> Job:
        """Block until the job has ended and its thread has exited (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while self._jobs[job_id].state == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
        t = self._threads.get(job_id)
        if t is not None:
            t.join(max(0.0, deadline - time.monotonic()))
        return self._jobs[job_id]

    def live_threads(self) -> int:
        return sum(t.is_alive() for t in self._threads.values())

    def forget(self, owner: str) -> int:
        """Drop everything of this browser (a shared lab computer): stop its runs, forget its history and its
        choice of weights. Returns how many runs were dropped."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner]
            for j in mine:
                j.stop_event.set()
                if j.state == "queued":
                    self._finish(j, "stopped")
                del self._jobs[j.id]
            for table in (self._seen, self._active, self._notices):
                table.pop(owner, None)
            self._schedule()
            return len(mine)

    def set_limits(self, limits: Limits) -> None:
        """Change the caps for new runs (the teacher lifts or sets the run-size cap); running runs go on."""
        with self._lock:
            self.limits = limits

    # --- internals (called with the lock held unless noted) -----------------------------------------------------------
    def _orphaned(self, owner: str) -> bool:
        return time.monotonic() - self._seen.get(owner, 0) > self.orphan_timeout

    def _schedule(self) -> None:
        for job in sorted((j for j in self._jobs.values() if j.state == "queued"), key=lambda j: j.created):
            if self._orphaned(job.owner):
                self._finish(job, "stopped", Message("Stopped: the browser session that queued it went away."))
                continue
            if sum(j.state == "running" for j in self._jobs.values()) >= self.max_running:
                break
            if not quota.may_start(job, list(self._jobs.values()), self.limits):
                continue  # its browser already trains one: the next browser's run goes first
            job.state, job.started = "running", time.time()
            t = threading.Thread(target=self._run, args=(job,), name=f"ae-lab-{job.id}", daemon=True)
            self._threads[job.id] = t
            t.start()

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        job.state, job.finished = state, time.time()
        if error:
            job.error = error

    def _run(self, job: Job) -> None:  # in the job's own thread; touches only its own Job until it finishes
        try:
            state, error = runner.run_job(job, self._data, self._orphaned)
        except Exception as e:  # noqa: BLE001 - a job must never take the server down; the page shows the message
            state, error = "failed", Message("Training failed unexpectedly: {error}", error=f"{type(e).__name__}: {e}")
        with self._lock:
            self._finish(job, state, error)
            if state in ("done", "stopped") and job.model is not None and job.id in self._jobs:
                self._active.setdefault(job.owner, {})[job.key] = job.id  # used at once, in every tab
            self._schedule()
