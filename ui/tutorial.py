"""The Tutorial page's steps, its place in the URL, and its hand-off to the Playground (views/tutorial.py draws them).

The steps follow the article ae-lab started from (../shared/seed/): part one, a 784-64-784 autoencoder; part two, a
convolutional denoising autoencoder. The step is in the address bar (?step=noise), so a learner who leaves comes
back to it, and a lesson link can start at one.
"""

from __future__ import annotations

import inspect as pyinspect
import numbers

import streamlit as st

from ae_core.messages import N_, Message

# (slug for the URL, title). The order is the article's.
STEPS = (
    ("data", N_("The data: a digit is 784 numbers")),
    ("network", N_("Part one: a 784-64-784 autoencoder")),
    ("training", N_("Training: the loss goes down")),
    ("codes", N_("Reconstructions and 64-unit codes")),
    ("hidden", N_("How big should the hidden layer be?")),
    ("noise", N_("Part two: noise in, clean digit out")),
    ("encoder", N_("The convolutional encoder")),
    ("decoder", N_("The decoder: upsample, then convolve")),
    ("results", N_("Results at the article's noise factor")),
    ("next", N_("Where to go next")),
)
SLUGS = tuple(s for s, _ in STEPS)
PARAM = "step"
# Each step's one control; kept across steps (ui/session.keep), since a widget that is not drawn loses its value.
KEYS = ("tu_digit", "tu_layer", "tu_epoch", "tu_start", "tu_size", "tu_factor", "tu_enc", "tu_dec", "tu_test")
ARTICLE_FACTOR = 0.5  # the article's noise_factor
FACTORS = tuple(round(0.05 * i, 2) for i in range(21))  # the noise step's choices, as the Playground's slider
MAX_TEST = 9999  # the last test digit's index


def parse_step(raw: object) -> tuple[int, Message | None]:
    """A step's index from the URL: its name (?step=noise) or its number (?step=6, 1-based); (0, notice) for anything
    else. No notice when the URL names no step."""
    if raw is None:
        return 0, None
    text = str(raw).strip().lower()[:40]
    if text in SLUGS:
        return SLUGS.index(text), None
    if text.isdigit() and 1 <= int(text) <= len(SLUGS):
        return int(text) - 1, None
    return 0, Message("Unknown tutorial step {value}; starting at the first.", value=repr(str(raw)[:20]))


def mapping(value: object) -> dict:
    """A sidecar's field as a dict, whatever the file held there (a list, a string, nothing)."""
    return value if isinstance(value, dict) else {}


def number(value: object) -> str:
    """A sidecar's number for a sentence ("?" when the file holds none)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "?"
    return f"{value:g}"


def source(obj) -> str:
    """The Python source the app runs for a class, function or method (ae_core's own code, never a copy)."""
    return pyinspect.getsource(obj)


def go(step) -> None:
    """The Previous/Next buttons' and the step list's callback: move to `step` (clamped). Anything but a whole number
    keeps the step: a crafted message, or the step list's old-language text, which Streamlit's frontend sent back as
    the list's value after a language switch on a loaded server (an uncaught TypeError here ended that run)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        return
    st.session_state.tu_step = min(max(int(step), 0), len(SLUGS) - 1)


def to_playground(index: int, factor: float | None) -> dict[str, str]:
    """Set the Playground up with test digit `index` (and Gaussian noise at `factor`, unless None) and return the
    query parameters to open it with. A session that has not opened the Playground yet gets them in its URL, which the
    Playground reads on its first run (with the lesson's starting set-up); one that has gets them in its state, as its
    own widgets would set them. A lesson's hidden controls keep the lesson's values."""
    from ui import lesson, server, session
    from ui import playground_state as pg
    from ui.i18n import url_param

    ss = st.session_state
    digits = server.test_set()
    index = min(max(int(index), 0), len(digits) - 1)
    pick = "mnist" in lesson.sources()
    noise = factor is not None and not (lesson.hidden("factor") or lesson.hidden("noise_type"))
    keep = lesson.query() | url_param()
    if "pg_source" not in ss and "_keep_pg_source" not in ss:
        q = {"source": "mnist", "digit": str(index)} if pick else {}
        if noise:
            q |= {"noise": "gaussian", "factor": f"{factor:g}"}
        return q | keep
    session.keep(*pg.KEYS)
    if pick:
        ss.pg_source = "mnist"
        ss.pg_class = int(digits.labels[index])
        ss.pg_pos = server.position_in_class(digits, index)
    if noise:
        ss.pg_noise, ss.pg_factor = "gaussian", float(factor)
    session.remember(*pg.KEYS)
    return keep


def page_link(page: str, label: str, icon: str, query: dict[str, str] | None = None, where=st) -> None:
    """st.page_link to another page of the app (with the session kept). A page run on its own (AppTest runs one file
    without app.py's navigation) has no other pages to go to: there the label is plain text."""
    from streamlit.errors import StreamlitAPIException

    try:
        where.page_link(page, label=label, icon=icon, query_params=query)
    except StreamlitAPIException:
        where.markdown(label)


def scaled(maps) -> list:
    """A layer's output (C, H, W) as C images in [0, 1], each scaled by its own range."""

    a = maps.float()
    lo, hi = a.amin((1, 2), keepdim=True), a.amax((1, 2), keepdim=True)
    return list(((a - lo) / (hi - lo).clamp_min(1e-8)).numpy())


def conv_steps(model, x) -> tuple[list, list]:
    """The Conv DAE's forward pass for x (1, 1, 28, 28), split at the code: ([(layer, output (C, H, W))] of the
    encoder, the same of the decoder). The code is the encoder's last step (4×4×32)."""
    from ae_core import inspect

    steps = [(layer, out[0]) for layer, out in inspect.trace(model, x) if len(layer.shape) == 3]
    cut = next(i for i, (layer, _) in enumerate(steps) if layer.shape == (32, 4, 4)) + 1
    return steps[:cut], steps[cut:]
