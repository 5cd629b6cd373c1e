import numpy as np
import streamlit as st

from ae_core import preprocess, render
from ae_core.baselines import BASELINES
from ae_core.config import NOISE_TYPES
from ae_core.messages import of
from ae_core.registry import MODELS
from serve.budget import Busy
from ui import frame, lesson, panels, params, server, session, text, tutorial
from ui import playground_state as pg
from ui.i18n import N_, _, baseline_name, current, model_name, noise_label, sentences, tr, url_param

CANVAS_SIDE = 280  # the drawing canvas, in CSS pixels
# What a decode may hold, asked of the memory budget first: the canvas's RGBA at 4x pixel ratio and its float copies;
# an upload reduced to at most 1024 px, after its decoded pixels (up to 64 MB for 4096x4096 RGBA).
CANVAS_COST_MB = (preprocess.CANVAS_MAX_SCALE * CANVAS_SIDE) ** 2 * 12 / 2**20
UPLOAD_COST_MB = 96

frame.page(
    N_("Playground"),
    N_(
        "Draw, pick or upload a digit, add noise, and see what each autoencoder and each classical filter makes of "
        "the same noisy image, scored against the clean digit."
    ),
    sidebar_first=False,
    lesson_url=False,
)
if not lesson.active() and "tu_step" not in st.session_state:  # a visitor who has not opened the Tutorial yet
    tutorial.page_link(
        "views/tutorial.py",
        _("New to autoencoders? The Tutorial walks through the article ae-lab started from, step by step."),
        ":material/school:",
        url_param() or None,
    )

digits = server.test_set()
ss = st.session_state
for notice in pg.init(digits):
    st.toast(text.plain(tr(notice), 300), icon="⚠️")  # quotes the URL: plain text, never a link

models, origin, shas = session.models_or_errors()

with st.sidebar:
    if not (lesson.hidden("models") and lesson.hidden("baselines")):
        st.subheader(_("Show"))
    if "pg_models" not in ss:
        ss.pg_models = list(MODELS)
    if "pg_baselines" not in ss:
        ss.pg_baselines = ["median", "nl_means"]
    if not lesson.hidden("models"):
        st.multiselect(
            _("Models"), list(MODELS), format_func=model_name, key="pg_models", placeholder=_("Choose models")
        )
    if not lesson.hidden("baselines"):
        st.multiselect(
            _("Classical baselines"),
            list(BASELINES),
            format_func=baseline_name,
            key="pg_baselines",
            placeholder=_("Choose baselines"),
        )
    with st.expander(_("Weights in use")):
        missing = _("not available")
        for key in MODELS:
            st.markdown(f"**{model_name(key)}**: {text.plain(origin.get(key, missing))}")
    with st.expander(_("What the models are"), expanded=False):
        for s in MODELS.values():
            st.markdown(f"**{_(s.name)}**: {_(s.description)}")
        for b in BASELINES.values():
            st.markdown(f"**{_(b.name)}**: {_(b.description)}")
        st.markdown(
            _(
                "**PSNR** (peak signal-to-noise ratio, in dB): how close an output is to the clean digit, pixel by "
                "pixel; higher is better. **SSIM** (structural similarity, up to 1): how alike their strokes and "
                "shapes look. **BCE** (binary cross-entropy): the loss the networks are trained to lower."
            )
        )


def show_steps(steps: preprocess.Steps, where) -> None:
    with where.expander(_("Preprocessing steps (MNIST-style)"), expanded=True):
        for col, (title, png) in zip(st.columns(4), panels.step_pngs(steps), strict=True):
            col.image(png, caption=title, output_format="PNG", alt=_("Preprocessing step: {step}").format(step=title))
        if steps.inverted:
            st.caption(_("Dark ink on a light background was inverted."))


def decoded_upload(up) -> preprocess.Steps | str:
    """The upload's digit (or why there is none), decoded once per file and kept for this session: reruns reuse it."""
    kept = ss.get("pg_decoded")
    if kept is None or kept[0] != up.file_id:
        try:
            with server.admit(UPLOAD_COST_MB):
                result = preprocess.from_upload(up.getvalue())
        except Busy as e:
            server.busy_stop(e)  # not kept: the same file is decoded when the visitor tries again
        except (preprocess.ImageRejected, preprocess.EmptyImage) as e:
            result = of(e)  # kept in English with its template: shown in the reader's language
        ss.pg_decoded = kept = (up.file_id, result)  # one upload per session: the previous one is dropped
    return kept[1]


def get_input(source: str, info) -> tuple[np.ndarray | None, str, str | None]:
    """(clean 28x28 digit or None, description, message when there is nothing to run)."""
    if source == "mnist":
        c1, c2, c3 = st.columns([1, 1.4, 0.8], vertical_alignment="bottom")
        c1.selectbox(_("Class"), range(10), key="pg_class")
        idx = server.class_indices(digits)[ss.pg_class]
        session.put("pg_pos", min(ss.pg_pos, len(idx) - 1))  # a typed position survives a run under way
        c2.number_input(_("Which one (0-{last})").format(last=len(idx) - 1), 0, len(idx) - 1, key="pg_pos")
        c3.button(_("Random digit"), on_click=pg.random_digit, width="stretch")
        i = int(idx[ss.pg_pos])
        st.session_state.pg_digit = i
        label = int(digits.labels[i])
        st.caption(
            _("Test digit #{i}, label **{label}**, from the {source}.").format(
                i=i, label=label, source=tr(digits.source)
            )
        )
        if not digits.full:
            st.info(tr(server.dataset_note()))
        info.image(
            render.gray_png(digits.images[i].numpy() / 255, 1),
            width=140,
            output_format="PNG",
            caption=_("the clean digit"),
            alt=_("The clean test digit #{i}, a handwritten {label}").format(i=i, label=label),
        )
        return digits.images[i].float().numpy() / 255, _("MNIST test #{i}").format(i=i), None
    if source == "draw":
        from streamlit_drawable_canvas import st_canvas  # only importable inside the Streamlit runtime

        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        st.caption(
            _(
                "Drawing needs a mouse, pen or finger. With the keyboard alone, pick an MNIST digit or upload an "
                "image instead: both are in Input above."
            )
        )
        width = c1.slider(_("Stroke width"), 5, 40, 20, key="pg_stroke")
        c2.button(_("Clear"), on_click=pg.clear_canvas, width="stretch")
        try:
            result = st_canvas(
                stroke_width=width,
                stroke_color="#FFFFFF",
                background_color="#000000",
                height=CANVAS_SIDE,
                width=CANVAS_SIDE,
                drawing_mode="freedraw",
                return_image_data=True,
                key=f"canvas-{ss.pg_canvas}",
            )
            # The component's value is whatever a client sends: its PNG bytes go through the bounded decode (the
            # size is checked from the header first), never the component's own unbounded Image.open.
            raw = result.image_bytes
        except (AttributeError, TypeError, ValueError, KeyError):  # a crafted state of another shape
            raw = b"not a PNG"
        try:
            with server.admit(CANVAS_COST_MB):
                steps = preprocess.from_canvas_png(raw, CANVAS_SIDE)
        except preprocess.EmptyImage:
            return None, "drawing", "✏️ " + _("Draw a digit on the black canvas.")
        except preprocess.ImageRejected as e:
            return None, "drawing", f"✏️ {tr(e)}"
        except Busy as e:
            server.busy_stop(e)
        show_steps(steps, info)
        return steps.digit, _("your drawing"), None
    up = st.file_uploader(
        _("PNG, JPEG, BMP, GIF or WebP, up to 5 MB"),
        type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
        key="pg_upload",
    )
    if up is None:
        return None, "upload", "⬆️ " + _("Upload an image of a digit.")
    steps = decoded_upload(up)
    if isinstance(steps, str):
        st.error(f"**{text.plain(up.name, 80)}**: {tr(steps)}")
        return None, "upload", None
    show_steps(steps, info)
    return steps.digit, up.name, None


@session.fragment
def playground() -> None:
    """The page's body. Picking another digit (or source, drawing, upload) reruns only this, never the sidebar."""
    # A fragment run is not a page run: bring back the values Streamlit dropped for widgets this part did not draw
    # last time (the MNIST picker while the source was Draw), as pg.init does for the page.
    session.keep(*pg.KEYS)
    source_col, info_col = st.columns([1.15, 1], gap="large")
    with source_col:
        allowed = lesson.sources()
        if ss.pg_source not in allowed:
            ss.pg_source = allowed[0]
        if len(allowed) > 1:
            source = st.radio(
                _("Input"),
                allowed,
                format_func=lambda k: _(lesson.SOURCE_LABELS[k]),
                horizontal=True,
                key="pg_source",
            )
        else:
            source = ss.pg_source
        clean, what, hint = get_input(source, info_col)
    noise_settings(clean, what, hint, source)


@session.fragment
def noise_settings(clean, what: str, hint: str | None, source: str) -> None:
    """The noise settings that change now and then: a change reruns this part, the row under it included."""
    c = st.columns([1, 0.8, 0.6, 1.2], vertical_alignment="bottom")
    if not lesson.hidden("noise_type"):
        noise = ss.get("pg_noise")
        index = NOISE_TYPES.index(noise) if noise in NOISE_TYPES else 0  # the session's, as for the slider below
        c[0].selectbox(_("Noise type"), NOISE_TYPES, index=index, format_func=noise_label, key="pg_noise")
    if not lesson.hidden("seed"):
        c[1].number_input(_("Noise seed"), 0, params.MAX_SEED, int(ss.get("pg_seed", 0)), step=1, key="pg_seed")
        c[2].button(_("New noise"), on_click=pg.new_noise, width="stretch")
    with c[3]:
        if not lesson.hidden("residuals"):
            st.toggle(_("Show residuals"), key="pg_residual", help=_("What each model removed (red) or added (blue)."))
        if not lesson.hidden("feed_clean"):
            st.toggle(
                _("Feed the clean digit"),
                key="pg_feed_clean",
                help=_("Plain reconstruction: the tutorial's first experiment."),
            )
    fixed = pg.fixed_text()
    if fixed:
        st.caption(_("Set for this lesson: {fixed}.").format(fixed=fixed))
    ss.pg_current = clean  # the Inside page shows this digit too
    session.remember(*pg.KEYS)
    latest = pg.latest()  # what the row shows now; the row's own reruns keep it up to date
    outputs(clean, what, hint, source)
    if clean is None:
        return
    d1, d2, _spare = st.columns([1, 1, 3])
    # Callables defer the work until someone actually downloads, and read the row as it is at that moment.
    d1.download_button(
        _("Download row (PNG)"),
        lambda: panels.download_png(latest["cmp"], latest["lang"]),
        "ae-lab-comparison.png",
        "image/png",
        on_click="ignore",
    )
    d2.download_button(
        _("Download scores (JSON)"),
        lambda: panels.download_json(latest["cmp"], latest["what"]),
        "ae-lab-scores.json",
        "application/json",
        on_click="ignore",
    )


@session.fragment
def outputs(clean, what: str, hint: str | None, source: str) -> None:
    """The noise slider and the output row: a slider move reruns only this, so it draws as little as it can (one
    widget, one HTML block; the lesson-link panel only while it is open)."""
    if not lesson.hidden("factor"):
        # The session's value is also the widget's default: if the browser drops the slider's own state (nested
        # fragments under load did), it comes back at the student's factor, not at 0 (the bare slider's default).
        st.slider(
            _("Noise factor"),
            0.0,
            1.0,
            value=float(ss.get("pg_factor", params.DEFAULTS["factor"])),
            step=0.05,
            key="pg_factor",
        )
    st.query_params.from_dict(pg.address_bar(source))
    session.remember("pg_factor")
    if clean is None:
        if hint:
            st.info(hint)
    else:
        feed_clean = bool(ss.get("pg_feed_clean"))
        cmp, row = pg.comparison(clean, models, shas, feed_clean, bool(ss.get("pg_residual")))
        pg.latest().update(cmp=cmp, what=what, lang=current())
        note = sentences(
            (
                _("Input: {what}. Every model gets the identical clean 28×28 tensor;")
                if feed_clean
                else _("Input: {what}. Every model gets the identical noisy 28×28 tensor;")
            ).format(what=text.printable(what, 80)),
            _(
                'PSNR and SSIM are against the clean digit; the best is marked "best" and ★; "reads as" is a digit '
                "classifier's verdict. Residuals: red = removed, blue = added."
            ),
        )
        st.html(row + panels.note_html(note))
    lesson.maker(pg.share_url_params(source), source)  # a drawing lesson starts with an empty canvas


playground()
frame.retrain_sidebar()
