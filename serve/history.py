"""Every browser's runs: their history, the runs each browser uses, and what a server keeps of them (no Streamlit).

The tables behind the job manager (serve/jobs.py), guarded by one lock: runs by id, when each browser was last here,
which run each browser uses per model, and its notices. What may be kept is decided by serve/quota.py; the job
manager adds scheduling and the training threads on top.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time

from . import quota
from .job import STATES, Job
from .quota import Limits


class History:
    def __init__(self, keep_finished: int = 20, owner_ttl: float = 6 * 3600.0, limits: Limits | None = None) -> None:
        self.keep_finished = keep_finished  # finished runs kept per owner, not per server
        self.owner_ttl = owner_ttl  # an owner unseen this long loses its finished runs (bounds memory)
        self.limits = limits or Limits()  # per-browser caps and the server-wide bound (serve/quota.py)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}  # job id -> its training thread (the manager starts them)
        self._seen: dict[str, float] = {}  # owner -> last heartbeat
        self._active: dict[str, dict[str, str]] = {}  # owner -> model key -> the job id in use
        self._notices: dict[str, list[str]] = {}  # owner -> messages about runs dropped to free memory
        self._ids = itertools.count(1)

    def add_upload(self, owner: str, job: Job) -> tuple[Job, bool]:
        """Add finished, uploaded weights to an owner's history: (the job, True), or (the one already there with the
        same content, False). The manager gives it a server-wide id."""
        with self._lock:
            self._seen[owner] = time.monotonic()
            for j in self._jobs.values():
                if j.owner == owner and j.uploaded and j.sha256 == job.sha256:
                    return j, False
            twin = next((j for j in self._jobs.values() if j.sha256 == job.sha256 and j.model is not None), None)
            if twin is not None and job.result is not None:  # the same weights elsewhere: hold them once (read-only)
                job.result = dataclasses.replace(job.result, model=twin.model)
            job.id, job.owner, job.state = f"upload{next(self._ids)}", owner, "done"
            job.finished = time.time()
            self._jobs[job.id] = job
            self._prune()
            return job, True

    def activate(self, owner: str, job_id: str) -> None:
        """Use this finished run's weights for its model in every tab of the owner's browser."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.owner == owner and job.model is not None:
                self._active.setdefault(owner, {})[job.key] = job_id

    def deactivate(self, owner: str, key: str) -> None:
        with self._lock:
            self._active.get(owner, {}).pop(key, None)

    def active_for(self, owner: str) -> dict[str, Job]:
        """{model key: the owner's run in use for it}."""
        with self._lock:
            chosen = self._active.get(owner, {})
            return {k: self._jobs[i] for k, i in chosen.items() if i in self._jobs}

    def heartbeat(self, owner: str) -> None:
        with self._lock:
            self._seen[owner] = time.monotonic()

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and (owner is None or job.owner == owner) else None

    def jobs_for(self, owner: str) -> list[Job]:
        """The owner's runs, oldest first."""
        with self._lock:
            self._prune()
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created)

    def owners(self) -> int:
        """Owners the manager still remembers (for tests and the README's memory figures)."""
        with self._lock:
            return len(self._seen.keys() | {j.owner for j in self._jobs.values()})

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {s: sum(j.state == s for j in self._jobs.values()) for s in STATES}

    def notices(self, owner: str) -> list[str]:
        """Messages for this browser about its runs dropped to free memory, each given once."""
        with self._lock:
            return self._notices.pop(owner, [])

    def held_bytes(self) -> int:
        """Bytes of weights and previews held for all browsers (bounded by limits.held_bytes)."""
        with self._lock:
            return quota.held(list(self._jobs.values()))

    def _prune(self) -> None:
        """Apply quota.prune: old finished runs, forgotten browsers, and runs evicted for memory (with a notice)."""
        drop, gone, evicted = quota.prune(
            list(self._jobs.values()), self._seen, time.monotonic(), self.keep_finished, self.owner_ttl, self.limits
        )
        for j in drop + evicted:
            del self._jobs[j.id]
        for owner in gone:
            for table in (self._seen, self._active, self._notices):
                table.pop(owner, None)
        for j in evicted:
            notes = self._notices.setdefault(j.owner, [])
            if len(notes) < 20:  # bounded: older messages say the same
                notes.append(quota.eviction_notice(j, self.limits))
        for job_id in [i for i, t in self._threads.items() if not t.is_alive()]:
            del self._threads[job_id]
