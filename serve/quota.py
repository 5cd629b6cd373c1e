"""A fair share for every browser: per-owner run caps, a run-size cap, and a server-wide bound on held weights.

The job manager asks this unit before it accepts a run and after every change to what it holds; the manager keeps
its lock while it asks, so everything here is plain functions over the manager's own tables (no locks, no threads).
A fresh browser id is free, so per-browser caps alone never bound the server: `held_bytes` and `max_owners` do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ae_core.messages import Message

if TYPE_CHECKING:  # only for annotations: quota never builds jobs
    from ae_core.config import TrainConfig

    from .job import Job


@dataclass(frozen=True)
class Limits:
    running_per_owner: int = 1  # one browser trains one run at a time, so it never holds both server slots
    queued_per_owner: int = 2  # room for "train all three models" from the Train page in one press
    max_run_images: int | None = None  # epochs x training images per run (students in classroom mode); None: no cap
    # A student's run may train at most this many times as long as the model's Tutorial recipe here (classroom mode),
    # both estimated from this machine's measured rates: a small batch size or fp32 makes the same images take many
    # times longer, which an image count cannot see, while the Tutorial recipe always fits, on any machine. None: no cap.
    max_run_vs_tutorial: float | None = 2.0
    held_bytes: int = 128 * 2**20  # server-wide: weights and previews of finished runs and uploads of all browsers
    max_owners: int = 10_000  # browsers remembered at once; a fresh id is free, so this bounds the tables


class JobRefused(RuntimeError):
    """A run the server will not take now (full, or this browser's share used); the message says what to do."""


class QuotaExceeded(JobRefused):
    """This browser already has its share of runs, or the run is larger than the class allows."""


def run_images(cfg: TrainConfig) -> int:
    """The size of a run: epochs x training images (what its time and the server's CPU grow with)."""
    return int(cfg.epochs) * int(cfg.train_size)


def admit(
    jobs: list[Job],
    owner: str,
    cfg: TrainConfig,
    limits: Limits,
    capped: bool,
    seconds: tuple[float, float] | None = None,
) -> None:
    """Raise QuotaExceeded if `owner` may not queue another run of this size. `capped`: the run-size caps apply
    (a student in classroom mode; never the teacher); `seconds`: (this run's, the model's Tutorial recipe's)
    estimated training time here."""
    mine = [j for j in jobs if j.owner == owner]
    running = sum(j.state == "running" for j in mine)
    queued = sum(j.state == "queued" for j in mine)
    if running + queued >= limits.running_per_owner + limits.queued_per_owner:
        raise QuotaExceeded(
            Message(
                "You already have {running} run(s) training and {queued} waiting, the most one browser may have "
                "({max_running} training, {max_queued} waiting) so that everyone gets a turn. "
                "Stop one, or start this when one has finished.",
                running=running,
                queued=queued,
                max_running=limits.running_per_owner,
                max_queued=limits.queued_per_owner,
            )
        )
    if capped and limits.max_run_images is not None and run_images(cfg) > limits.max_run_images:
        raise QuotaExceeded(
            Message(
                "This run is {epochs} epochs x {images:,} images = {total:,} images; in this class "
                "a student's run may have at most {cap:,}. Use fewer epochs or images (the Tutorial "
                "recipe and Quick presets fit), or ask your teacher to lift the cap.",
                epochs=cfg.epochs,
                images=cfg.train_size,
                total=run_images(cfg),
                cap=limits.max_run_images,
            )
        )
    factor = limits.max_run_vs_tutorial
    if capped and factor is not None and seconds is not None and seconds[0] > factor * seconds[1]:
        raise QuotaExceeded(
            Message(
                "This run would train for about {minutes:.0f} minutes on this server; in this class a student's run "
                "may take at most {cap:.0f} ({factor:g} times the Tutorial recipe here). A larger batch size, "
                "precision auto, fewer epochs or fewer images make it shorter.",
                minutes=max(1.0, seconds[0] / 60),
                cap=max(1.0, factor * seconds[1] / 60),
                factor=factor,
            )
        )


def may_start(job: Job, jobs: list[Job], limits: Limits) -> bool:
    """A queued job may take a free server slot when its owner has fewer than its share running."""
    return sum(j.owner == job.owner and j.state == "running" for j in jobs) < limits.running_per_owner


def _weights(job: Job) -> int:
    model = job.model
    return sum(p.numel() * p.element_size() for p in model.parameters()) if model is not None else 0


def _previews(job: Job) -> int:
    return sum(0 if a is None else a.nbytes for a in (job.preview_noisy, job.preview_out))


def nbytes(job: Job) -> int:
    """Memory a job holds: its weights plus its preview digits (its history and settings are a few KB)."""
    return _weights(job) + _previews(job)


def held(jobs: list[Job]) -> int:
    """Bytes held by all jobs, counting weights shared by several jobs (the same upload in two browsers) once."""
    models = {id(j.model): _weights(j) for j in jobs if j.model is not None}  # id() only within this sum
    return sum(models.values()) + sum(_previews(j) for j in jobs)


def to_evict(jobs: list[Job], last_seen: dict[str, float], limit: int) -> list[Job]:
    """Finished jobs to drop so that held(jobs) <= limit: those of the browsers idle longest first, then each
    browser's oldest. Running and queued jobs are never dropped (their owners are still there)."""
    total = held(jobs)
    if total <= limit:
        return []
    users: dict[int, int] = {}  # model -> jobs holding it: its weights are freed with the last one
    for j in jobs:
        if j.model is not None:
            users[id(j.model)] = users.get(id(j.model), 0) + 1
    done = sorted((j for j in jobs if not j.active), key=lambda j: (last_seen.get(j.owner, 0.0), j.finished or 0.0))
    drop = []
    for j in done:
        if total <= limit:
            break
        drop.append(j)
        total -= _previews(j)
        if j.model is not None:
            users[id(j.model)] -= 1
            total -= _weights(j) if users[id(j.model)] == 0 else 0
    return drop


def owners_to_forget(last_seen: dict[str, float], busy: set[str], limit: int) -> list[str]:
    """The idlest owners past `limit` remembered browsers (never one with a run training or waiting)."""
    if len(last_seen) <= limit:
        return []
    idle = sorted((t, o) for o, t in last_seen.items() if o not in busy)
    return [o for _, o in idle[: len(last_seen) - limit]]


def prune(
    jobs: list[Job], seen: dict[str, float], now: float, keep_finished: int, owner_ttl: float, limits: Limits
) -> tuple[list[Job], set[str], list[Job]]:
    """What the job manager drops: (finished runs past each browser's newest `keep_finished`, and all of a forgotten
    browser's; the browsers to forget: unseen for `owner_ttl`, or the idlest past `limits.max_owners`, never one with
    a run training or waiting; then the idlest browsers' finished runs past `limits.held_bytes`)."""
    busy = {j.owner for j in jobs if j.active}
    gone = {o for o, t in seen.items() if now - t > owner_ttl}
    gone |= set(owners_to_forget(seen, busy, limits.max_owners))
    by_owner: dict[str, list[Job]] = {}
    for j in jobs:
        if not j.active:
            by_owner.setdefault(j.owner, []).append(j)
    drop: list[Job] = []
    for owner, done in by_owner.items():
        done.sort(key=lambda j: j.finished or 0)
        drop += done if owner in gone or owner not in seen else done[: max(0, len(done) - keep_finished)]
    dropped = {id(j) for j in drop}
    evicted = to_evict([j for j in jobs if id(j) not in dropped], seen, limits.held_bytes)
    return drop, gone - busy, evicted


def eviction_notice(job: Job, limits: Limits) -> Message:
    """What a browser is told, on its next page, about its run dropped to free memory."""
    return Message(
        "{run} was removed from your run history to free memory for the class (the server keeps "
        "{mb:.0f} MB of runs for all browsers; the idlest go first). Download runs you want to keep.",
        run=job.label,
        mb=limits.held_bytes / 2**20,
    )
