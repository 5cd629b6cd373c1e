"""Shareable URL state for the playground: parse, validate and clamp query parameters (no Streamlit here)."""

from __future__ import annotations

import math

from ae_core.config import NOISE_TYPES

SOURCES = ("mnist", "draw", "upload")
DEFAULTS = {"source": "mnist", "digit": 0, "noise": "gaussian", "factor": 0.5, "seed": 0}
MAX_SEED = 2**31 - 1


def _num(raw: str, kind: type) -> float | int | None:
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    return int(v) if kind is int and v.is_integer() else (v if kind is float else None)


def parse(query: dict[str, str], n_digits: int) -> tuple[dict, list[str]]:
    """Values for every known parameter, and a notice for each one that was invalid or clamped."""
    out, notices = dict(DEFAULTS), []
    if "source" in query:
        if query["source"] in SOURCES:
            out["source"] = query["source"]
        else:
            notices.append(f"Unknown source {query['source'][:20]!r}; showing an MNIST digit.")
    if "noise" in query:
        if query["noise"] in NOISE_TYPES:
            out["noise"] = query["noise"]
        else:
            notices.append(f"Unknown noise type {query['noise'][:20]!r}; using Gaussian.")
    for name, kind, lo, hi in (
        ("digit", int, 0, n_digits - 1),
        ("factor", float, 0.0, 1.0),
        ("seed", int, 0, MAX_SEED),
    ):
        if name not in query:
            continue
        v = _num(query[name], kind)
        if v is None:
            notices.append(
                f"{name}={query[name][:20]!r} is not a valid {'whole ' if kind is int else ''}number; using {DEFAULTS[name]}."
            )
            continue
        clamped = min(max(v, lo), hi)
        if clamped != v:
            notices.append(f"{name}={v} is out of range; clamped to {clamped}.")
        out[name] = clamped
    out["factor"] = round(round(out["factor"] / 0.05) * 0.05, 2)  # the slider's step
    unknown = sorted(set(query) - set(DEFAULTS))
    if unknown:
        notices.append(f"Ignored unknown URL parameters: {', '.join(u[:20] for u in unknown[:5])}.")
    return out, notices
