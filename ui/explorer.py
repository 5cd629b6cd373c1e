"""The latent explorer's glue: code spaces from the server-wide cache, this session's place in the plane, callbacks.

Code spaces are keyed by the weights' content and the digit pool, never by session; the place (z1, z2), the walk's
end digits and the code sliders are this session's widget state."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import streamlit as st
import torch

from ae_core import explore
from ae_core.explore import CodeSpace
from ui import server

STEP = 0.05  # the PC sliders' step, in standard deviations


def spaces(models: dict, shas: dict) -> dict[str, CodeSpace]:
    """Each active model's code space over the sweep subset, computed once per weights for the whole server."""
    sub = server.subset()
    pool = sub.batch(slice(None))  # (N, 1, 28, 28)
    return {
        k: server.cached(
            ("space", server.weights_key({k: m}, shas), sub.source),
            lambda _p, m=m: explore.build(m, pool, sub.labels),
            "Mapping the code space…",
        )
        for k, m in models.items()
    }


def z_bounds(spaces: dict[str, CodeSpace]) -> tuple[float, float]:
    """The sliders' range: the pool's extent over every model's plane, rounded out to half a standard deviation."""
    lo = min(s.z_range()[0] for s in spaces.values())
    hi = max(s.z_range()[1] for s in spaces.values())
    return math.floor(lo * 2) / 2, math.ceil(hi * 2) / 2


def snap(v: float, lo: float, hi: float) -> float:
    return round(min(max(float(v), lo), hi) / STEP) * STEP


def init_place(spaces: dict[str, CodeSpace], models: dict, x: torch.Tensor, bounds: tuple[float, float]) -> None:
    """Start at the current digit's place in the Conv DAE's plane (or the first model's), once per session."""
    ss = st.session_state
    if "ex_z1" in ss and "ex_z2" in ss:
        return
    key = next((k for k in ("conv_dae", "dense_dae", "basic_ae") if k in spaces), None)
    z = spaces[key].z_of(explore.encode(models[key], x))[0] if key else torch.zeros(2)
    ss.ex_z1, ss.ex_z2 = snap(z[0], *bounds), snap(z[1], *bounds)


def on_pick(chart_key: str, bounds: tuple[float, float]) -> None:
    """A click on a map: move the PC sliders to the clicked place (the nearest point of the map's invisible grid)."""
    ss = st.session_state
    try:
        picked = ss[chart_key]["selection"]["pick"]
        z1, z2 = float(picked[0]["z1"]), float(picked[0]["z2"])
    except (KeyError, IndexError, TypeError, ValueError):
        return  # a cleared selection (double click) or an odd payload: stay where we are
    if math.isfinite(z1) and math.isfinite(z2):
        ss.ex_z1, ss.ex_z2 = snap(z1, *bounds), snap(z2, *bounds)


def grid_points(bounds: tuple[float, float], n: int = 25) -> list[dict]:
    """An invisible n×n lattice over the plane, so a click anywhere selects a place, not only a digit's."""
    v = np.linspace(bounds[0], bounds[1], n)
    return [{"z1": float(a), "z2": float(b)} for a in v for b in v]


def digit_key(x: torch.Tensor) -> str:
    """A short content key for the code sliders' widget keys: a new digit starts them afresh."""
    return hashlib.sha256(x.numpy().tobytes()).hexdigest()[:12]


def reset_sliders(prefix: str) -> None:
    ss = st.session_state
    for k in [k for k in ss if isinstance(k, str) and k.startswith(prefix)]:
        del ss[k]
