"""One training job's work, in its own thread: the engine, the previews after each epoch, the final test-set score.

No Streamlit and no lock here: it touches only its own Job, and the job manager (serve/jobs.py) records the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from ae_core import noise
from ae_core.data import DatasetUnavailable, Digits, load_mnist, load_sample, test_digits, to_float
from ae_core.evaluate import evaluate
from ae_core.infer import run
from ae_core.messages import N_, Message, of
from ae_core.store import content_sha
from ae_core.train import EpochStats, Progress, TrainingDiverged, split, train

if TYPE_CHECKING:
    from .job import Job

PREVIEW_N = 8  # validation digits shown noisy -> output after each epoch


def training_data(job: Job, data: Digits | None) -> Digits:
    """The set to train on: the manager's (tests pass a small one), else MNIST's 60k, else the bundled sample."""
    if data is not None:
        return data
    try:
        return load_mnist(train=True)
    except DatasetUnavailable:
        job.note = Message(
            "MNIST's training set is not available offline, so this run trained on the bundled sample of 1,000 "
            "test digits."
        )
        return load_sample()


def run_job(job: Job, data: Digits | None, orphaned: Callable[[str], bool]) -> tuple[str, Message | None]:
    """Train and score `job`; (its end state, the error for a failed one). `orphaned(owner)`: its browser went away."""
    override = data
    try:
        data = training_data(job, override)
        _, va = split(len(data), job.config)
        idx = va[:PREVIEW_N] if len(va) >= PREVIEW_N else torch.arange(PREVIEW_N)
        clean = to_float(data.images[idx])  # (8, 1, 28, 28)
        noisy = noise.apply(job.config.noise_type, clean, job.config.noise_factor, 99)
        job.preview_noisy = noisy[:, 0].numpy()

        def on_progress(p: Progress) -> None:
            job.progress = p
            job.loss_trace = [*job.loss_trace[-499:], p.loss]
            if orphaned(job.owner):
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
                digits=test_digits() if override is None else override,
            )
            job.test_metrics = {"noise": ev.to_json()["noise"], "n": ev.n, **ev.summary()[job.key]}
        return ("stopped" if res.stopped else "done"), None
    except (TrainingDiverged, ValueError, DatasetUnavailable) as e:
        return "failed", of(e)
