import pandas as pd
import streamlit as st

from ae_core import device, precision, render
from ae_core.config import NOISE_TYPES, PRECISIONS
from ae_core.registry import MODELS
from serve.jobs import Job, JobRefused
from ui import charts, classroom, frame, jobs, session, text
from ui.i18n import N_, _, model_name, noise_label, tr

frame.page(
    N_("Train"),
    N_(
        "Retrain any of the three autoencoders with your own settings and watch it learn: live loss curves, "
        "validation digits after every epoch, and a history of your runs to compare, activate and save."
    ),
)

ss = st.session_state
keys = st.multiselect(
    _("Models"),
    list(MODELS),
    default=["conv_dae"],
    format_func=model_name,
    key="tr_models",
    placeholder=_("Choose models"),
)
base = MODELS[keys[0] if keys else "conv_dae"].recipe
if len(keys) > 1:
    st.caption(
        _("Defaults come from {model}'s tutorial recipe and apply to every selected model.").format(
            model=model_name(keys[0])
        )
    )

with st.form("train_form"):
    c = st.columns(4)
    epochs = c[0].number_input(_("Epochs"), 1, 500, base.epochs)
    lr = c[1].number_input(_("Learning rate"), 1e-5, 1.0, base.lr, format="%.5f", step=1e-4)
    batch = c[2].select_slider(_("Batch size"), [16, 32, 64, 128, 256, 512, 1024], base.batch_size)
    dev = c[3].selectbox(
        _("Device"), device.available(), format_func=lambda d: _("auto") if d == "auto" else d, key="tr_device"
    )
    c = st.columns(4)
    ntype = c[0].selectbox(_("Noise type"), NOISE_TYPES, NOISE_TYPES.index(base.noise_type), format_func=noise_label)
    factor = c[1].slider(_("Noise factor"), 0.0, 1.0, base.noise_factor, 0.05)
    size = c[2].number_input(_("Training images"), 256, 60_000, 10_000, step=1000)
    seed = c[3].number_input(_("Seed"), 0, 2**31 - 1, 0)
    c = st.columns(4)
    val = c[0].slider(_("Validation split"), 0.0, 0.3, 0.1, 0.05)
    schedules = {"constant": _("constant"), "onecycle": _("one-cycle"), "cosine": _("cosine")}
    schedule = c[1].selectbox(
        _("LR schedule"), list(schedules), format_func=schedules.get, help=_("The tutorial uses a constant rate.")
    )
    auto_here = precision.resolve("auto", device.resolve("auto"))
    prec = c[2].selectbox(
        _("Precision"),
        PRECISIONS,
        format_func=lambda p: _("auto ({here} here)").format(here=auto_here) if p == "auto" else p,
        help=_(
            "auto trains in bf16 where it was measured faster: on x86 CPUs with AVX512-BF16 or AMX and Apple GPUs "
            "on macOS 14+ (2-3x for the Conv DAE), and for the Conv DAE on NVIDIA GPUs from Ampere on (1.5x). "
            "Elsewhere it trains in fp32. Choose fp32 to force full precision."
        ),
    )
    submitted = st.form_submit_button(_("Start training"), type="primary", disabled=not keys)

if submitted:
    for key in keys:
        cfg = {
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch,
            "device": dev,
            "noise_type": ntype,
            "noise_factor": factor,
            "train_size": size,
            "seed": seed,
            "val_split": val,
            "schedule": schedule,
            "precision": prec,
        }
        try:
            job = jobs.start(key, cfg)
            if job.state != "failed":
                st.toast(
                    _("Started {run}: {estimate}.").format(
                        run=text.plain(tr(job.label)), estimate=jobs.estimate_text(key, job.config)
                    )
                )
        except JobRefused as e:
            st.error(tr(e))


def loss_frame(job: Job) -> pd.DataFrame:
    return pd.DataFrame(
        {_("train loss"): [h.train_loss for h in job.history], _("validation loss"): [h.val_loss for h in job.history]},
        index=pd.Index([h.epoch for h in job.history], name=_("epoch")),
    )


def live(job: Job) -> None:
    phase = job.phase if job.state == "running" and job.phase not in ("", "training") else ""
    st.markdown(f"**{text.plain(tr(job.label))}** · {jobs.state_text(job)}" + (f" ({_(phase)})" if phase else ""))
    p = job.progress
    if job.state == "running" and p is not None:
        frac = ((p.epoch - 1) + p.batch / p.batches) / p.epochs
        st.progress(
            min(frac, 1.0),
            text=_(
                "epoch {epoch}/{epochs}, batch {batch}/{batches} · {rate:,.0f} images/s · ETA {eta} · loss {loss:.4f}"
            ).format(
                epoch=p.epoch,
                epochs=p.epochs,
                batch=p.batch,
                batches=p.batches,
                rate=p.images_per_s,
                eta=jobs.fmt_seconds(p.eta_s),
                loss=p.loss,
            ),
        )
    left, right = st.columns([1, 1])
    with left:
        if len(job.history) >= 2:
            charts.lines(
                loss_frame(job), _("epoch"), "BCE", 220, _("Line chart: training and validation loss after each epoch")
            )
            charts.numbers(loss_frame(job), _("the loss curves"), hide_index=False)
        elif job.loss_trace:
            trace = pd.DataFrame({_("running train loss"): job.loss_trace})
            charts.lines(
                trace, _("progress report"), "BCE", 220, _("Line chart: the training loss at each progress report")
            )
            charts.numbers(trace, _("the loss curve"), hide_index=False)
    with right:
        if job.preview_out is not None:
            strip = render.grid(list(job.preview_noisy) + list(job.preview_out), nrow=8, scale=1)
            st.image(
                strip,
                width="stretch",
                output_format="PNG",
                caption=_("8 validation digits: noisy (top) → output after epoch {n} (bottom)").format(
                    n=len(job.history)
                ),
                alt=_("8 noisy validation digits and the model's output for each after epoch {n}").format(
                    n=len(job.history)
                ),
            )
    if job.active:
        st.button(_("Stop"), key=f"tr-stop-{job.id}", on_click=jobs.manager().stop, args=(job.id, jobs.owner()))
    if job.error:
        st.error(text.plain(tr(job.error), 400))
    if job.note:
        st.caption(text.plain(tr(job.note), 400))


def live_runs() -> None:
    active = [j for j in jobs.my_runs() if j.active]
    if active:
        jobs.manager().heartbeat(jobs.owner())
    for job in active:
        with st.container(border=True):
            live(job)
    if not active and ss.get("tr_was_active"):
        ss.tr_was_active = False
        st.rerun(scope="app")  # refresh the history below
    ss.tr_was_active = bool(active)


with st.expander(_("Upload weights (a .safetensors file and its .json sidecar)")):
    files = st.file_uploader(_("Both files"), type=["safetensors", "json"], accept_multiple_files=True, key="tr_upload")
    if files:
        session.upload_panel(files)

runs = jobs.my_runs()
session.fragment(live_runs, run_every=1.0 if any(j.active for j in runs) else None)()

st.subheader(_("Run history"))
if not runs:
    st.caption(_("No runs yet. Start one above or from the sidebar's Retrain panel."))
else:
    rows = jobs.history_rows(runs)
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            _("test PSNR"): st.column_config.NumberColumn(format="%.2f dB"),
            _("test SSIM"): st.column_config.NumberColumn(format="%.3f"),
            _("val loss"): st.column_config.NumberColumn(format="%.4f"),
        },
    )
    finished = [j for j in runs if j.model is not None]
    if finished:
        by_id = {j.id: j for j in finished}
        pick = st.selectbox(
            _("Run"), list(by_id), format_func=lambda i: tr(by_id[i].label), index=len(by_id) - 1, key="tr_pick"
        )
        job = by_id[pick]
        b = st.columns(4)
        if b[0].button(
            _("Use these weights"), key="tr_activate", help=_("Use these weights in your playground and pages.")
        ):
            jobs.activate(job)
            st.toast(
                _("{model} now uses {run} for you.").format(model=model_name(job.key), run=text.plain(tr(job.label)))
            )
        b[1].download_button(
            _("Download weights (.zip)"),
            lambda: jobs.weights_zip(job),
            f"{job.key}-{job.id}.zip",
            "application/zip",
            on_click="ignore",
            key="tr_download",
        )
        shared_ok = classroom.may_change_defaults()
        if b[2].button(
            _("Save as default"),
            key="tr_save",
            help=_("Replaces weights/ for everyone; the previous file is kept as a backup.")
            if shared_ok
            else classroom.why_not(),
            disabled=not shared_ok,
        ):
            ok, msg = jobs.save_as_default(job)
            (st.success if ok else st.error)(msg)
        if b[3].button(
            _("Restore shipped {model}").format(model=model_name(job.key)),
            key="tr_restore",
            help=None if shared_ok else classroom.why_not(),
            disabled=not shared_ok,
        ):
            ok, msg = jobs.restore_shipped(job.key)
            (st.success if ok else st.error)(msg)
        overlay = st.multiselect(
            _("Overlay validation-loss curves"),
            list(by_id),
            format_func=lambda i: tr(by_id[i].label),
            key="tr_overlay",
            placeholder=_("Choose runs"),
        )
        if overlay:
            curves = pd.DataFrame(
                {
                    tr(by_id[i].label): pd.Series(
                        {h.epoch: (h.val_loss if h.val_loss is not None else h.train_loss) for h in by_id[i].history}
                    )
                    for i in overlay
                }
            )
            curves.index.name = _("epoch")
            charts.lines(
                curves,
                _("epoch"),
                _("BCE (validation, or train if none)"),
                260,
                _("Line chart: the chosen runs' validation loss after each epoch"),
            )
            charts.numbers(curves, _("the overlaid curves"), hide_index=False)

classroom.teacher_panel()
