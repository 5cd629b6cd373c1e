"""Background training jobs: threads that run the engine, a server-wide cap, a queue, stop, and orphan clean-up.

Runs belong to an owner: the app passes the browser's id (a cookie), so a refresh or a reconnect finds the same
runs, and the orphan timeout counts from the last heartbeat of any tab of that browser. Each owner keeps its own
history (uploaded weights included) and its own choice of active runs. Everything here is guarded by one lock.
What one browser may hold or start, and the server-wide bound on held weights, are decided by serve/quota.py.

No Streamlit here: the app keeps one JobManager in st.cache_resource and polls it.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ae_core import noise
from ae_core.config import TrainConfig
from ae_core.data import DatasetUnavailable, Digits, load_mnist, load_sample, test_digits, to_float
from ae_core.evaluate import evaluate
from ae_core.infer import run
from ae_core.messages import N_, Message, of
from ae_core.registry import MODELS
from ae_core.store import content_sha
from ae_core.train import EpochStats, Progress, TrainingDiverged, TrainResult, run_meta, split, train

from . import quota
from .quota import JobRefused, Limits

STATES = ("queued", "running", "done", "stopped", "failed")
PREVIEW_N = 8  # validation digits shown noisy -> output after each epoch


__all__ = ["Job", "JobManager", "JobRefused", "Limits", "uploaded_job"]


@dataclass
class Job:
    id: str
    key: str
    config: TrainConfig
    owner: str  # the browser that started or uploaded it
    label: str
    base_sha: str | None = None  # the default weights' sha256 when the job began: saves over a newer file are refused
    state: str = "queued"
    phase: str = ""  # while running: "training" or "scoring on the test set"
    progress: Progress | None = None
    loss_trace: list[float] = field(default_factory=list)  # running loss at each progress report
    history: list[EpochStats] = field(default_factory=list)
    preview_noisy: np.ndarray | None = None  # (8, 28, 28)
    preview_out: np.ndarray | None = None  # (8, 28, 28), refreshed after each epoch
    result: TrainResult | None = None
    test_metrics: dict | None = None
    error: str | None = None
    note: str = ""  # e.g. trained on the bundled sample
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    sha256: str | None = None  # the weights' content hash, once there are weights (uploads are added once per hash)
    uploaded: bool = False

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def model(self):
        r = self.result
        return r.model if r is not None and not (r.stopped and r.epochs_done == 0) else None

    def meta(self) -> dict:
        m = run_meta(self.result, "in-app") if self.result else {}
        return m | {"label": self.label, "test_metrics": self.test_metrics, "note": self.note}


class JobManager:
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
        self.max_running, self.max_queued, self.orphan_timeout = max_running, max_queued, orphan_timeout
        self.keep_finished = keep_finished  # finished runs kept per owner, not per server
        self.owner_ttl = owner_ttl  # an owner unseen this long loses its finished runs (bounds memory)
        self._data = data  # tests pass a small set; the app uses MNIST's 60k training images
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._seen: dict[str, float] = {}  # owner -> last heartbeat
        self._active: dict[str, dict[str, str]] = {}  # owner -> model key -> the job id in use
        self._ids = itertools.count(1)
        self.limits = limits or Limits()  # per-browser caps and the server-wide bound (serve/quota.py)
        self._notices: dict[str, list[str]] = {}  # owner -> messages about runs dropped to free memory

    # --- what pages call -------------------------------------------------------------------------------------------
    def submit(
        self,
        key: str,
        cfg: TrainConfig | dict,
        owner: str,
        label: str = "",
        base_sha: str | None = None,
        capped: bool = False,
        seconds: float | None = None,
    ) -> Job:
        """Queue a run. Invalid settings give a job that ends at once as failed, with the reason as its error.
        Raises JobRefused when this browser already has its share of runs, when `capped` (a student in classroom
        mode) and the run is larger or longer (`seconds`, estimated here) than the limits allow, or when the server is
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

    def stop(self, job_id: str, owner: str | None = None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (owner is not None and job.owner != owner):
                return
            job.stop_event.set()
            if job.state == "queued":
                self._finish(job, "stopped")

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

    def notices(self, owner: str) -> list[str]:
        """Messages for this browser about its runs dropped to free memory, each given once."""
        with self._lock:
            return self._notices.pop(owner, [])

    def set_limits(self, limits: Limits) -> None:
        """Change the caps for new runs (the teacher lifts or sets the run-size cap); running runs go on."""
        with self._lock:
            self.limits = limits

    def held_bytes(self) -> int:
        """Bytes of weights and previews held for all browsers (bounded by limits.held_bytes)."""
        with self._lock:
            return quota.held(list(self._jobs.values()))

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

    def _prune(self) -> None:
        """Per owner: keep its newest `keep_finished` finished runs; forget owners unseen for `owner_ttl` (and the
        idlest past `limits.max_owners`); then drop the idlest browsers' finished runs past `limits.held_bytes`."""
        now = time.monotonic()
        busy = {j.owner for j in self._jobs.values() if j.active}
        gone = {o for o, t in self._seen.items() if now - t > self.owner_ttl}
        gone |= set(quota.owners_to_forget(self._seen, busy, self.limits.max_owners))
        by_owner: dict[str, list[Job]] = {}
        for j in self._jobs.values():
            if not j.active:
                by_owner.setdefault(j.owner, []).append(j)
        for owner, done in by_owner.items():
            done.sort(key=lambda j: j.finished or 0)
            drop = done if owner in gone or owner not in self._seen else done[: max(0, len(done) - self.keep_finished)]
            for j in drop:
                del self._jobs[j.id]
        for owner in gone - busy:
            for table in (self._seen, self._active, self._notices):
                table.pop(owner, None)
        for j in quota.to_evict(list(self._jobs.values()), self._seen, self.limits.held_bytes):
            del self._jobs[j.id]
            notes = self._notices.setdefault(j.owner, [])
            if len(notes) < 20:  # bounded: older messages say the same
                notes.append(
                    Message(
                        "{run} was removed from your run history to free memory for the class (the server keeps "
                        "{mb:.0f} MB of runs for all browsers; the idlest go first). Download runs you want to keep.",
                        run=j.label,
                        mb=self.limits.held_bytes / 2**20,
                    )
                )
        for job_id in [i for i, t in self._threads.items() if not t.is_alive()]:
            del self._threads[job_id]

    def _training_data(self, job: Job) -> Digits:
        if self._data is not None:
            return self._data
        try:
            return load_mnist(train=True)
        except DatasetUnavailable:
            job.note = Message(
                "MNIST's training set is not available offline, so this run trained on the bundled sample of 1,000 "
                "test digits."
            )
            return load_sample()

    def _run(self, job: Job) -> None:  # in the job's own thread; touches only its own Job
        try:
            data = self._training_data(job)
            _, va = split(len(data), job.config)
            idx = va[:PREVIEW_N] if len(va) >= PREVIEW_N else torch.arange(PREVIEW_N)
            clean = to_float(data.images[idx])
            noisy = noise.apply(job.config.noise_type, clean, job.config.noise_factor, 99)
            job.preview_noisy = noisy[:, 0].numpy()

            def on_progress(p: Progress) -> None:
                job.progress = p
                job.loss_trace = [*job.loss_trace[-499:], p.loss]
                if self._orphaned(job.owner):
                    job.note = Message("Stopped: its browser session went away.")
                    job.stop_event.set()

            def on_epoch(stats: EpochStats, model) -> None:
                job.history = [*job.history, stats]
                dev = next(model.parameters()).device
                job.preview_out = run(model, noisy.to(dev))[0][:, 0].float().cpu().numpy()

            job.phase = N_("training")
            res = train(job.key, job.config, data=data, on_progress=on_progress, on_epoch=on_epoch, stop=job.stop_event)
            job.result = res
            if res.model is not None:
                job.sha256 = content_sha(job.key, res.model)  # what its results are cached under
            if res.epochs_done:
                job.phase = N_("scoring on the test set")
                ev = evaluate(
                    {job.key: res.model},
                    job.config.noise_type,
                    job.config.noise_factor,
                    seed=0,
                    digits=test_digits() if self._data is None else self._data,
                )
                job.test_metrics = {"noise": ev.to_json()["noise"], "n": ev.n, **ev.summary()[job.key]}
            with self._lock:
                self._finish(job, "stopped" if res.stopped else "done")
                if job.model is not None and job.id in self._jobs:  # used at once, in every tab (unless forgotten)
                    self._active.setdefault(job.owner, {})[job.key] = job.id
        except (TrainingDiverged, ValueError, DatasetUnavailable) as e:
            with self._lock:
                self._finish(job, "failed", of(e))
        except Exception as e:  # noqa: BLE001 - a job must never take the server down; the page shows the message
            error = f"{type(e).__name__}: {e}"
            with self._lock:
                self._finish(job, "failed", Message("Training failed unexpectedly: {error}", error=error))
        finally:
            with self._lock:
                self._schedule()


def uploaded_job(blob: bytes, sidecar: bytes, filename: str) -> Job:
    """A finished Job for uploaded weights, validated by the store; raises WeightsError with the reason.

    Everything the sidecar says beyond what the store checks is only trusted when it has the right shape: a config
    that is not a valid TrainConfig falls back to the model's recipe, and test metrics keep only finite numbers."""
    import math

    from ae_core.store import WeightsError, from_bytes

    meta, model = from_bytes(blob, sidecar)
    key = meta["model_key"]
    if key not in MODELS:
        raise WeightsError(Message("{key} weights are not one of the three autoencoders.", key=repr(key)))
    raw_cfg = meta.get("config")
    try:
        cfg = TrainConfig.from_dict(raw_cfg) if isinstance(raw_cfg, dict) else MODELS[key].recipe
    except (TypeError, ValueError, OverflowError):
        cfg = MODELS[key].recipe
    label = "upload " + "".join(c if c.isalnum() or c in " ._-" else "_" for c in str(filename)[:40])
    job = Job("", key, cfg, owner="", label=label, state="done", uploaded=True)  # a file's name, never markup
    ran = meta.get("precision", cfg.precision)  # what the run used, when the sidecar says
    ran = ran if ran in ("fp32", "bf16") else cfg.precision
    job.result = TrainResult(key, cfg, model, dataset=str(meta.get("dataset", ""))[:200], precision=ran)
    tm = meta.get("test_metrics")
    if isinstance(tm, dict):
        job.test_metrics = {
            k: float(v)
            for k, v in tm.items()
            if k in ("bce", "mse", "psnr", "ssim") and isinstance(v, int | float) and math.isfinite(v)
        }
    job.sha256 = content_sha(key, model)
    return job
