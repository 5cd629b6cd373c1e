"""The playground's per-session state: set up from the URL on a session's first run, and the buttons' callbacks."""

from __future__ import annotations

import secrets

import streamlit as st

from ae_core.data import Digits
from ui import params, server, session

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
        session.remember(*KEYS)
    return ss.pop("pg_notices", [])


def share_url_params(source: str) -> dict[str, str]:
    """What the address bar shows: only the shareable settings, never anything private to this browser."""
    ss = st.session_state
    return {"source": source, "noise": ss.pg_noise, "factor": f"{ss.pg_factor:g}", "seed": str(ss.pg_seed)} | (
        {"digit": str(ss.pg_digit)} if source == "mnist" and "pg_digit" in ss else {}
    )


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


def clear_canvas() -> None:
    st.session_state.pg_canvas += 1
