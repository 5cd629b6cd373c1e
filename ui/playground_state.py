"""The playground's per-session state: set up from the URL on a session's first run, and the buttons' callbacks."""

from __future__ import annotations

import hashlib
import secrets

import numpy as np
import streamlit as st

from ae_core import compare, store
from ae_core.compare import Comparison
from ae_core.data import Digits
from serve import rowworker
from ui import panels, params, server, session
from ui.i18n import current

KEYS = (
    "pg_source",
    "pg_class",
    "pg_pos",
    "pg_noise",
    "pg_factor",
    "pg_seed",
    "pg_residual",
    "pg_feed_clean",
    "pg_models",
    "pg_baselines",
    "pg_stroke",
)


def init(digits: Digits) -> list[str]:
    """Bring back this session's settings, or on its first run take them from the URL.
    Returns the notices for URL values that were invalid or clamped (shown once)."""
    ss = st.session_state
    session.keep(*KEYS)
    if "pg_source" not in ss:
        vals, ss.pg_notices = params.parse(dict(st.query_params), len(digits))
        ss.pg_source, ss.pg_noise, ss.pg_factor, ss.pg_seed = (
            vals["source"],
            vals["noise"],
            vals["factor"],
            vals["seed"],
        )
        ss.pg_class = int(digits.labels[vals["digit"]])
        ss.pg_pos = server.position_in_class(digits, vals["digit"])
        ss.pg_canvas = 0
        # A lesson link's starting set-up (None: not in the link, the widgets' own defaults apply).
        for key, name in (("pg_models", "show"), ("pg_residual", "residuals"), ("pg_feed_clean", "feed_clean")):
            if vals[name] is not None:
                ss[key] = list(vals[name]) if name == "show" else vals[name]
        if vals["baselines"] is not None:
            ss.pg_baselines = list(vals["baselines"])
        session.remember(*KEYS)
    return ss.pop("pg_notices", [])


def share_url_params(source: str) -> dict[str, str]:
    """What the address bar shows: only the shareable settings, never anything private to this browser."""
    ss = st.session_state
    return {"source": source, "noise": ss.pg_noise, "factor": f"{ss.pg_factor:g}", "seed": str(ss.pg_seed)} | (
        {"digit": str(ss.pg_digit)} if source == "mnist" and "pg_digit" in ss else {}
    )


def address_bar(source: str) -> dict[str, str]:
    """The playground's URL: today's parameters, plus the lesson's in a lesson (so a refresh keeps it)."""
    from ui import lesson
    from ui.i18n import url_param

    return share_url_params(source) | lesson.query() | url_param()


def fixed_text() -> str:
    """What a lesson link fixed and hides, in words ("" outside a lesson or when nothing is hidden)."""
    from ui import lesson
    from ui.i18n import _, baseline_name, listing, model_name, noise_label

    ss = st.session_state
    parts = []
    if lesson.hidden("noise_type") or lesson.hidden("factor"):
        parts.append(_("{noise} noise at {factor:g}").format(noise=noise_label(ss.pg_noise), factor=ss.pg_factor))
    if lesson.hidden("seed"):
        parts.append(_("noise seed {seed}").format(seed=ss.pg_seed))
    if lesson.hidden("models"):
        parts.append(_("models: {names}").format(names=listing(model_name(k) for k in ss.pg_models) or _("none")))
    if lesson.hidden("baselines"):
        names = listing(baseline_name(b) for b in ss.pg_baselines) or _("none")
        parts.append(_("baselines: {names}").format(names=names))
    if lesson.hidden("residuals"):
        parts.append(_("residuals on") if ss.get("pg_residual") else _("residuals off"))
    if lesson.hidden("feed_clean"):
        parts.append(_("clean input") if ss.get("pg_feed_clean") else _("noisy input"))
    return _("; ").join(parts)


def other_than(current: int, n: int) -> int:
    """A random value in range(n) that differs from current (when n > 1): the button must visibly change something."""
    pick = secrets.randbelow(max(1, n - 1))
    return pick + 1 if n > 1 and pick >= current else pick


def new_noise() -> None:
    ss = st.session_state
    ss.pg_seed = other_than(ss.pg_seed, 100_000)  # short seeds are easy to read out in class


def random_digit() -> None:
    ss = st.session_state
    ss.pg_pos = other_than(ss.pg_pos, len(server.class_indices(server.test_set())[ss.pg_class]))


def latest() -> dict:
    """The row as this session last drew it: {"cmp", "what", "lang"}. The download buttons' callables hold this dict
    and read it when someone clicks (they run outside the script, after any number of slider moves)."""
    return st.session_state.setdefault("pg_latest", {})


def clear_canvas() -> None:
    st.session_state.pg_canvas += 1


def comparison(
    clean: np.ndarray, models: dict, shas: dict[str, str | None], feed_clean: bool, show_residuals: bool
) -> tuple[Comparison, str]:
    """This session's comparison and its output row's HTML, from the server-wide cache.

    The key is content: the digit's pixels, every setting, and the sha256 of each model's weights (and the
    classifier's), as session.active_models gave them with the models. A class looking at the same digits with the same settings (the default digit, a shared link, a
    slider moved back and forth) gets the identical row without running the models again."""
    ss = st.session_state
    run = [k for k in ss.pg_models if k in models]
    clf = server.digit_classifier()
    key = (
        hashlib.sha256(np.ascontiguousarray(clean, np.float32).tobytes()).hexdigest(),
        ss.pg_noise,
        float(ss.pg_factor),
        int(ss.pg_seed),
        tuple((k, shas.get(k)) for k in run),
        tuple(ss.pg_baselines),
        bool(feed_clean),
        clf[0]["sha256"] if clf else None,
    )

    def compute() -> Comparison:
        noise, factor, seed, base = ss.pg_noise, ss.pg_factor, ss.pg_seed, ss.pg_baselines
        worker = server.row_worker()
        if worker is not None and all(shas.get(k) for k in run):  # it loads saved files by sha256, refuses others
            named = [(k, shas[k]) for k in run]
            req = rowworker.request(clean, noise, factor, seed, named, base, feed_clean, key[-1], store.WEIGHTS_DIR)
            try:
                return worker.run(req)
            except rowworker.Unavailable:
                pass  # starting, or weights that are not the saved files (this browser's run): compute here
        nets = {k: models[k] for k in run}
        return server.one_at_a_time(
            lambda: compare.compare(
                clean, noise, factor, seed, nets, base, feed_clean, classifier=clf[1] if clf else None
            )
        )

    def html(cmp: Comparison) -> str:
        return panels.row_html(cmp, show_residuals, feed_clean)

    if any(shas.get(k) is None for k in run):  # weights of unknown content: never cached
        cmp = compute()
        return cmp, html(cmp)
    # The comparison once for every language; its row's HTML (names, alt text) once per language and residual choice.
    cmp = server.rows().get(("cmp", *key), compute)
    return cmp, server.rows().get(("row", *key, bool(show_residuals), current()), lambda: html(cmp))
