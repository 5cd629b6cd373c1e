"""Cached, server-wide results for the Scoreboard and Inside pages, keyed by which weights are active."""

from __future__ import annotations

import contextlib
import os
import threading

import streamlit as st

from ae_core import classifier, store
from ae_core.data import Digits
from ui import state

SUBSET = int(
    os.environ.get("AE_LAB_SWEEP_DIGITS", 1000)
)  # digits for the curves and the noise matrix; the table uses all


@st.cache_resource(show_spinner=False)
def _store() -> tuple[dict, threading.Lock]:
    return {}, threading.Lock()


def cached(key: tuple, compute, label: str):
    """Compute once per key for the whole server, with a progress bar the first time."""
    results, lock = _store()
    if key in results:
        return results[key]
    bar = st.progress(0.0, text=label)
    with lock:
        if key not in results:
            # Bulk scoring is rare and one at a time (this lock): let it use every core, then go back to the
            # app's one thread per request.
            with all_cores():
                results[key] = compute(lambda frac, text=label: bar.progress(min(frac, 1.0), text=text))
            if len(results) > 64:
                results.pop(next(iter(results)))
    bar.empty()
    return results[key]


@contextlib.contextmanager
def all_cores():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def weights_id(models: dict) -> tuple:
    """A hashable identity of the active weights: saved default sha256, or the session run's id."""
    active = st.session_state.get("active_runs", {})
    defaults, _ = state.default_models()  # read the sidecars once, not once per model
    return tuple(
        (k, active[k]["id"] if k in active else defaults[k][0]["sha256"] if k in defaults else "missing")
        for k in models
    )


@st.cache_resource(show_spinner=False)
def subset() -> Digits:
    """A fixed, class-balanced subset of the test set for sweeps."""
    import torch

    d = state.test_set()
    if len(d) <= SUBSET:
        return d
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(d), generator=g)[:SUBSET].sort().values
    return Digits(d.images[idx], d.labels[idx], f"{SUBSET:,} digits of the {d.source}", full=False)


@st.cache_resource(show_spinner=False)
def digit_classifier():
    """The shipped digit classifier, or None if its weights are missing or refused."""
    try:
        return store.load(classifier.KEY, store.WEIGHTS_DIR, expect_key=classifier.KEY)
    except store.WeightsError:
        return None
