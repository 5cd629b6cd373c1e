"""Uploaded weights as a finished run of their browser (no Streamlit here): validated by the store, and whatever the
sidecar says beyond that trusted only when it has the right shape."""

from __future__ import annotations

from ae_core.config import TrainConfig
from ae_core.messages import Message
from ae_core.registry import MODELS
from ae_core.store import content_sha
from ae_core.train import TrainResult

from .job import Job


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
