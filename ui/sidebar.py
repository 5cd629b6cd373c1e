"""The sidebar's Retrain panel, shown on every page: start a run, watch it, stop it, choose the weights."""

from __future__ import annotations

import streamlit as st

from ae_core.registry import MODELS
from serve.jobs import JobRefused
from ui import jobs, session, text
from ui.i18n import _, model_name, tr


def job_status(job) -> None:
    p = job.progress
    if job.state == "queued":
        st.info(_("{run}: waiting for a free training slot…").format(run=text.plain(tr(job.label))))
    elif job.state == "running":
        frac = 0.0 if p is None else ((p.epoch - 1) + p.batch / p.batches) / p.epochs
        status = (
            _("starting…")
            if p is None
            else _("epoch {epoch}/{epochs} · {rate:,.0f} img/s · ETA {eta}").format(
                epoch=p.epoch, epochs=p.epochs, rate=p.images_per_s, eta=jobs.fmt_seconds(p.eta_s)
            )
        )
        st.progress(min(frac, 1.0), text=f"{text.plain(tr(job.label))}: {status}")
        if len(job.loss_trace) > 1:
            import pandas as pd  # here: every page draws this panel, and pandas with Altair costs a first page 0.6 s

            from ui import charts

            charts.lines(
                pd.DataFrame({_("loss"): job.loss_trace}),
                "",
                "",
                90,
                _("Line chart: the training loss at each progress report"),
            )
            st.caption(
                _("Training loss (BCE): {first:.4f} at the first report, {last:.4f} now.").format(
                    first=job.loss_trace[0], last=job.loss_trace[-1]
                )
            )  # the chart's facts in words
        st.button(_("Stop"), key=f"stop-{job.id}", on_click=jobs.manager().stop, args=(job.id, jobs.owner()))
    elif job.state == "failed":
        st.error(_("{run} failed: {error}").format(run=text.plain(tr(job.label)), error=text.plain(tr(job.error), 400)))
    else:
        last = job.history[-1] if job.history else None
        run = text.plain(tr(job.label))
        if job.state == "done":
            what = _("{run} finished").format(run=run)
        else:
            what = _("{run} stopped after {epochs}").format(run=run, epochs=jobs.epochs_text(len(job.history)))
        st.success(what + (_("; loss {loss:.4f}.").format(loss=last.train_loss) if last else _(".")))
        if job.note:
            st.caption(text.plain(tr(job.note), 400))


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


def preset_caption(key: str, cfg, pending: bool) -> None:
    """What the preset trains and about how long it takes here. While this machine's speed is being measured (in
    the background, a few seconds after a server starts) it polls, and once the speed is in it reruns the page, which
    draws it without polling."""
    st.caption(
        _("{epochs} on {images:,} images, lr {lr:g}, noise {noise:g}: {estimate}.").format(
            epochs=jobs.epochs_text(cfg.epochs),
            images=cfg.train_size,
            lr=cfg.lr,
            noise=cfg.noise_factor,
            estimate=jobs.estimate_text(key, cfg),
        )
    )
    if pending and jobs.speed_known(key, cfg):
        st.rerun(scope="app")


def retrain_panel() -> None:
    session.keep("rt_model", "rt_preset")
    with st.sidebar:
        st.subheader(_("Retrain"), divider="gray")
        key = st.selectbox(_("Model to retrain"), list(MODELS), format_func=model_name, key="rt_model")
        preset = st.radio(_("Preset"), list(jobs.PRESETS), format_func=lambda k: _(jobs.PRESETS[k]), key="rt_preset")
        session.remember("rt_model", "rt_preset")
        cfg = jobs.preset_config(key, preset)
        pending = not jobs.speed_known(key, cfg)
        session.fragment(preset_caption, run_every=1.0 if pending else None)(key, cfg, pending)
        if st.button(_("Start retraining"), type="primary", key="rt_start"):
            try:
                jobs.start(key, cfg)
            except JobRefused as e:
                st.error(tr(e))
        busy = any(j.active for j in jobs.my_runs())
        st.session_state.rt_was_active = busy
        session.fragment(watch, run_every=1.0 if busy else None)()
        for k, run in jobs.active_runs().items():
            use_run = st.toggle(
                _("{model}: use run {run}").format(model=model_name(k), run=text.plain(tr(run.label))),
                value=True,
                key=f"use-{k}-{run.id}",
                help=_("Off: go back to the saved default weights."),
            )
            if not use_run:
                jobs.deactivate(k)
                st.rerun()
    session.remember_browser()
