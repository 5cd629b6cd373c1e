"""Streamlit glue for training jobs: start, list, activate and download this browser's runs.

The job registry itself is server-wide (ui/server.manager); every call here passes this browser's id, so a session
only ever sees, stops or activates its own browser's runs.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile

from ae_core import store
from ae_core.config import TrainConfig
from ae_core.device import resolve
from ae_core.messages import Message
from ae_core.registry import MODELS
from ae_core.train import estimate_seconds, measure_rate, measure_scoring_rate, resolved_precision
from serve.budget import RUN_COST_MB
from serve.jobs import Job, JobManager, JobRefused
from ui import classroom, server, session, text
from ui.i18n import N_, _, model_name, ngettext, noise_label, tr

PRESETS = {"quick": N_("Quick (1 epoch, 10k images)"), "tutorial": N_("Tutorial recipe (all 60k images)")}
# A run's state, as the run history and the Train page show it.
STATES = {
    "queued": N_("waiting"),
    "running": N_("training"),
    "done": N_("finished"),
    "stopped": N_("stopped"),
    "failed": N_("failed"),
}


def manager() -> JobManager:
    return server.manager()


def owner() -> str:
    return session.browser_id()


def preset_config(key: str, preset: str) -> TrainConfig:
    recipe = MODELS[key].recipe
    if preset == "quick":
        return recipe.replace(epochs=1, train_size=10_000, val_split=0.1)
    return recipe.replace(train_size=60_000, val_split=0.0)


class Speeds:
    """This machine's measured training and scoring speeds, server-wide. Each is measured once, in a thread of its
    own: a page never waits for it (on a fresh server it took the first page's run 1.3 s, with torch on every core
    while the browser was still drawing). Until it is in, the estimate says so."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the two collections below
        self._done: dict[tuple, float] = {}  # bounded: one entry per model, batch size, device and precision
        self._started: set[tuple] = set()

    def get(self, args: tuple, measure) -> float | None:
        """The speed for args, or None while it is being measured (the first call starts it)."""
        with self._lock:
            if args in self._done:
                return self._done[args]
            if args in self._started:
                return None
            self._started.add(args)
        threading.Thread(target=self._measure, args=(args, measure), name="ae-lab-speed", daemon=True).start()
        return None

    def wait(self, args: tuple, measure) -> float:
        """The speed for args, measured in this thread if nobody has (the warm-up and the CLI-like callers)."""
        with self._lock:
            if args in self._done:
                return self._done[args]
        value = measure(*args)
        with self._lock:
            self._done[args] = value
        return value

    def snapshot(self) -> dict[tuple, float]:
        with self._lock:
            return dict(self._done)

    def update(self, measured: dict[tuple, float]) -> None:
        """Speeds measured elsewhere (the warm-up's process); one measured here already stays."""
        with self._lock:
            for args, value in measured.items():
                self._done.setdefault(args, value)

    def _measure(self, args: tuple, measure) -> None:
        try:
            value = measure(*args)
        except Exception:  # noqa: BLE001 - a failed measurement is retried by the next page that asks
            with self._lock:
                self._started.discard(args)
            return
        with self._lock:
            self._done[args] = value


SPEEDS = Speeds()


def _measure(kind: str, *args) -> float:
    """Speeds.get/wait's measurement for ("train", key, batch size, device, precision) or ("score", key)."""
    if kind == "train":
        key, batch_size, device, prec = args
        return measure_rate(key, TrainConfig(batch_size=batch_size, device=device, precision=prec))
    return measure_scoring_rate(*args)


def _train_args(key: str, cfg: TrainConfig) -> tuple:
    return ("train", key, cfg.batch_size, cfg.device, cfg.precision)


def rate(key: str, batch_size: int, device: str, precision: str) -> float | None:
    """Training images/s here, or None while it is being measured."""
    return SPEEDS.get(("train", key, batch_size, device, precision), _measure)


def scoring_rate(key: str) -> float | None:
    return SPEEDS.get(("score", key), _measure)


def measure_speeds(key: str, cfg: TrainConfig) -> None:
    """Measure in this thread what estimate_text needs for cfg (the warm-up does it before students come)."""
    SPEEDS.wait(_train_args(key, cfg), _measure)
    SPEEDS.wait(("score", key), _measure)


def speed_known(key: str, cfg: TrainConfig) -> bool:
    return rate(key, cfg.batch_size, cfg.device, cfg.precision) is not None and scoring_rate(key) is not None


def estimate_text(key: str, cfg: TrainConfig) -> str:
    """About how long a run of cfg takes here, in words; says so while the speed is still being measured."""
    try:
        train_rate = rate(key, cfg.batch_size, cfg.device, cfg.precision)
        score_rate = scoring_rate(key)
        if train_rate is None or score_rate is None:
            return _("measuring this machine's speed…")
        secs = estimate_seconds(cfg, train_rate, len(server.test_set()), score_rate)
    except ValueError as e:
        return tr(e)
    # not "about 0 s"
    return _("under a second here") if secs < 0.5 else _("about {time} here").format(time=fmt_seconds(secs))


def epochs_text(n: int) -> str:
    return ngettext("{n} epoch", "{n} epochs", n).format(n=n)


def fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    if s >= 3600:
        return _("{h} h {min:02d} min").format(h=s // 3600, min=s % 3600 // 60)
    if s >= 60:
        return _("{min} min {s:02d} s").format(min=s // 60, s=s % 60)
    return _("{s} s").format(s=s)


def state_text(job: Job) -> str:
    return _(STATES.get(job.state, job.state))


def start(key: str, cfg: TrainConfig | dict) -> Job:
    """Submit a run for this browser; JobRefused (serve.budget.Busy among them) with the reason when it cannot start.
    The memory budget is asked at submit: the run's memory then counts in what the server holds."""
    if not classroom.may_spend():
        raise JobRefused(Message(classroom.NEEDS_CODE))
    sidecar = server.sidecar_of(key)
    capped = classroom.run_size_capped()
    seconds = None
    if capped:  # (this run, the model's Tutorial recipe on the same device), both estimated from measured rates
        mine = run_seconds(key, cfg)
        device = cfg.device if isinstance(cfg, TrainConfig) else str(cfg.get("device", "auto"))
        tutorial = run_seconds(key, preset_config(key, "tutorial").replace(device=device))
        seconds = (mine, tutorial) if mine is not None and tutorial is not None else None
    with server.admit(RUN_COST_MB):
        return manager().submit(
            key, cfg, owner(), base_sha=sidecar["sha256"] if sidecar else None, capped=capped, seconds=seconds
        )


def run_seconds(key: str, cfg: TrainConfig | dict) -> float | None:
    """A run's estimated training time here, for the run-time cap: the measured rate at the tutorial's batch of 128
    (one measurement per model and precision, whatever batch sizes are asked), slower in proportion for a smaller
    batch (a step's fixed cost is shared by fewer images), never faster for a larger one. None for invalid settings
    (such a run fails at once with the reason)."""
    try:
        c = cfg if isinstance(cfg, TrainConfig) else TrainConfig.from_dict(cfg)
        measured = SPEEDS.wait(("train", key, 128, c.device, c.precision), _measure)
    except (TypeError, ValueError):
        return None
    return estimate_seconds(c, measured * min(1.0, c.batch_size / 128))


def my_runs() -> list[Job]:
    """This browser's runs, oldest first: its training jobs and any uploaded weights, across refreshes and tabs."""
    return manager().jobs_for(owner())


def activate(job: Job) -> None:
    manager().activate(owner(), job.id)


def deactivate(key: str) -> None:
    manager().deactivate(owner(), key)


def active_runs() -> dict[str, Job]:
    return manager().active_for(owner())


def weights_zip(job: Job) -> bytes:
    blob, sidecar = store.to_bytes(job.key, job.model, job.meta() | {"name": job.key})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(sidecar["tensor_file"], blob)
        z.writestr(f"{job.key}.json", json.dumps(sidecar, indent=2, default=str))
    return buf.getvalue()


def save_as_default(job: Job) -> tuple[bool, str]:
    """Make a run the default weights for everyone: (saved?, message). Refused in classroom mode for students."""
    if not classroom.may_change_defaults():  # checked at the action too, not only by the disabled button
        return False, classroom.why_not()
    name = model_name(job.key)
    try:
        store.save(job.key, job.model, job.meta(), store.WEIGHTS_DIR, expect_sha=job.base_sha)
    except store.WeightsError as e:
        return False, _("Not saved: {reason}").format(reason=tr(e))
    except OSError as e:
        return False, _("Not saved: the disk refused the write ({error}). The previous weights are unchanged.").format(
            error=e.strerror
        )
    return True, _("Saved {run} as the default {model} weights. The previous ones are kept as a backup.").format(
        run=text.plain(tr(job.label)), model=name
    )


def restore_shipped(key: str) -> tuple[bool, str]:
    if not classroom.may_change_defaults():
        return False, classroom.why_not()
    try:
        store.restore(key, "shipped", store.WEIGHTS_DIR)
    except store.WeightsError as e:
        return False, tr(e)
    return True, _("Restored the shipped {model} weights; the replaced ones are the backup now.").format(
        model=model_name(key)
    )


def precision_of(job: Job) -> str:
    """fp32 or bf16: what the run used, or (while it is queued) what its "auto" will pick on this server."""
    if job.result is not None:
        return job.result.precision
    try:
        return resolved_precision(job.key, job.config, resolve(job.config.device))
    except ValueError:  # a device this server lacks: the run will fail with that message
        return job.config.precision


def history_rows(runs: list[Job]) -> list[dict]:
    """The Train page's run history table, one row per run."""
    rows = []
    for j in runs:
        h = j.history[-1] if j.history else None
        tm = j.test_metrics or {}
        rows.append(
            {
                _("run"): tr(j.label),
                _("model"): model_name(j.key),
                _("state"): state_text(j),
                _("epochs"): f"{len(j.history)}/{j.config.epochs}",
                "lr": j.config.lr,
                _("batch"): j.config.batch_size,
                _("noise"): f"{noise_label(j.config.noise_type)} {j.config.noise_factor:g}",
                _("images"): j.config.train_size,
                _("seed"): j.config.seed,
                _("precision"): precision_of(j),
                _("val loss"): None if h is None else h.val_loss,
                _("test PSNR"): tm.get("psnr"),
                _("test SSIM"): tm.get("ssim"),
                _("time (s)"): None if h is None else round(sum(x.seconds for x in j.history), 1),
            }
        )
    return rows
