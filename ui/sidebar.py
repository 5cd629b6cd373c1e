"""The sidebar's Retrain panel, shown on every page: start a run, watch it, stop it, choose the weights."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ae_core.jobs import JobRefused
from ae_core.registry import MODELS
from ui import jobs, session, text


def job_status(job) -> None:
    p = job.progress
    if job.state == "queued":
        st.info(f"{text.plain(job.label)}: waiting for a free training slot…")
    elif job.state == "running":
        frac = 0.0 if p is None else ((p.epoch - 1) + p.batch / p.batches) / p.epochs
        status = (
            "starting…"
            if p is None
            else (f"epoch {p.epoch}/{p.epochs} · {p.images_per_s:,.0f} img/s · ETA {jobs.fmt_seconds(p.eta_s)}")
        )
        st.progress(min(frac, 1.0), text=f"{text.plain(job.label)}: {status}")
        if len(job.loss_trace) > 1:
            st.line_chart(pd.DataFrame({"loss": job.loss_trace}), height=90, x_label="", y_label="")
        st.button("Stop", key=f"stop-{job.id}", on_click=jobs.manager().stop, args=(job.id, jobs.owner()))
    elif job.state == "failed":
        st.error(f"{text.plain(job.label)} failed: {text.plain(job.error, 400)}")
    else:
        last = job.history[-1] if job.history else None
        what = "finished" if job.state == "done" else f"stopped after {jobs.epochs_text(len(job.history))}"
        st.success(f"{text.plain(job.label)} {what}" + (f"; loss {last.train_loss:.4f}." if last else "."))
        if job.note:
            st.caption(text.plain(job.note, 400))


def watch() -> None:
    """Poll this browser's latest run; the fragment only polls while something is running."""
    ss = st.session_state
    runs = [j for j in jobs.my_runs() if not j.uploaded]  # trained here
    if not runs:
        return
    latest = runs[-1]
    if latest.active:
        jobs.manager().heartbeat(jobs.owner())
    job_status(latest)
    was_active, ss.rt_was_active = ss.get("rt_was_active", False), latest.active
    if was_active and not latest.active:
        st.rerun(scope="app")  # the manager made the new weights active: show them on the page at once


def retrain_panel() -> None:
    session.keep("rt_model", "rt_preset")
    with st.sidebar:
        st.divider()
        st.subheader("Retrain")
        key = st.selectbox("Model to retrain", list(MODELS), format_func=lambda k: MODELS[k].name, key="rt_model")
        preset = st.radio("Preset", list(jobs.PRESETS), format_func=jobs.PRESETS.get, key="rt_preset")
        session.remember("rt_model", "rt_preset")
        cfg = jobs.preset_config(key, preset)
        st.caption(
            f"{jobs.epochs_text(cfg.epochs)} on {cfg.train_size:,} images, lr {cfg.lr:g}, noise {cfg.noise_factor:g}: "
            f"{jobs.estimate_text(key, cfg)}."
        )
        if st.button("Start retraining", type="primary", key="rt_start"):
            try:
                jobs.start(key, cfg)
            except JobRefused as e:
                st.error(str(e))
        busy = any(j.active for j in jobs.my_runs())
        st.session_state.rt_was_active = busy
        st.fragment(watch, run_every=1.0 if busy else None)()
        for k, run in jobs.active_runs().items():
            use_run = st.toggle(
                f"{MODELS[k].name}: use run {text.plain(run.label)}",
                value=True,
                key=f"use-{k}-{run.id}",
                help="Off: go back to the saved default weights.",
            )
            if not use_run:
                jobs.deactivate(k)
                st.rerun()
    session.remember_browser()
