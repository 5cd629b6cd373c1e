"""Streamlit glue for training jobs: the server-wide manager, this session's id, runs and active weights."""

from __future__ import annotations

import io
import json
import os
import zipfile

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ae_core import store
from ae_core.config import TrainConfig
from ae_core.jobs import Job, JobManager
from ae_core.registry import MODELS
from ae_core.train import estimate_seconds, measure_rate
from ui import state

PRESETS = {"quick": "Quick (1 epoch, 10k images)", "tutorial": "Tutorial recipe (all 60k images)"}


@st.cache_resource(show_spinner=False)
def manager() -> JobManager:
    return JobManager(
        max_running=int(os.environ.get("AE_LAB_MAX_JOBS", 2)),
        max_queued=int(os.environ.get("AE_LAB_MAX_QUEUED", 4)),
        orphan_timeout=float(os.environ.get("AE_LAB_ORPHAN_TIMEOUT", 60)),
    )


def owner() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "bare"


def preset_config(key: str, preset: str) -> TrainConfig:
    recipe = MODELS[key].recipe
    if preset == "quick":
        return recipe.replace(epochs=1, train_size=10_000, val_split=0.1)
    return recipe.replace(train_size=60_000, val_split=0.0)


@st.cache_data(show_spinner="Measuring this machine's training speed…", max_entries=64)
def rate(key: str, batch_size: int, device: str, precision: str) -> float:
    return measure_rate(key, TrainConfig(batch_size=batch_size, device=device, precision=precision))


def estimate_text(key: str, cfg: TrainConfig) -> str:
    try:
        secs = estimate_seconds(cfg, rate(key, cfg.batch_size, cfg.device, cfg.precision)) + 5  # + the test-set scoring
    except ValueError as e:
        return str(e)
    return f"about {fmt_seconds(secs)} here"


def fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    return (
        f"{s // 3600} h {s % 3600 // 60:02d} min"
        if s >= 3600
        else f"{s // 60} min {s % 60:02d} s"
        if s >= 60
        else f"{s} s"
    )


def start(key: str, cfg: TrainConfig | dict) -> Job:
    sidecar = state.sidecar_of(key)
    job = manager().submit(key, cfg, owner(), base_sha=sidecar["sha256"] if sidecar else None)
    st.session_state.setdefault("runs", [])
    st.session_state.runs.append(job.id)
    return job


def my_runs() -> list[Job]:
    """This session's runs, oldest first: its training jobs and any uploaded weights."""
    mgr, me = manager(), owner()
    jobs = [j for j in (mgr.get(i, me) for i in st.session_state.get("runs", [])) if j is not None]
    return jobs + list(st.session_state.get("uploaded_runs", {}).values())


def activate(job: Job) -> None:
    st.session_state.setdefault("active_runs", {})[job.key] = {"id": job.id, "label": job.label, "model": job.model}


def deactivate(key: str) -> None:
    st.session_state.get("active_runs", {}).pop(key, None)


def weights_zip(job: Job) -> bytes:
    blob, sidecar = store.to_bytes(job.key, job.model, job.meta() | {"name": job.key})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(sidecar["tensor_file"], blob)
        z.writestr(f"{job.key}.json", json.dumps(sidecar, indent=2, default=str))
    return buf.getvalue()


def auto_activate_finished() -> bool:
    """Make each newly finished run the session's active weights for its model, once. True if any changed."""
    seen = st.session_state.setdefault("activated_jobs", set())
    changed = False
    for job in my_runs():
        if job.id not in seen and not job.active and job.model is not None and job.id.startswith("job"):
            seen.add(job.id)
            activate(job)
            changed = True
    return changed
