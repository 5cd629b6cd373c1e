"""One training run or uploaded set of weights of a browser: its settings, progress, results and state (no Streamlit)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ae_core.config import TrainConfig
from ae_core.train import EpochStats, Progress, TrainResult, run_meta

STATES = ("queued", "running", "done", "stopped", "failed")


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
