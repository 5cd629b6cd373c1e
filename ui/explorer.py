"""The latent explorer's glue: code spaces from the server-wide cache, this session's place in the plane, callbacks.

Code spaces are keyed by the weights' content and the digit pool, never by session; the place (z1, z2), the walk's
end digits and the code sliders are this session's widget state."""

from __future__ import annotations

import hashlib
import html
import math

import numpy as np
import streamlit as st
import torch

from ae_core import explore
from ae_core.explore import CodeSpace
from ui import server
from ui.i18n import _
from ui.panels import img_tag

STEP = 0.05  # the PC sliders' step, in standard deviations


def spaces(models: dict, shas: dict) -> dict[str, CodeSpace]:
    """Each active model's code space over the sweep subset, computed once per weights for the whole server."""
    from ui import insight

    sub = server.subset()
    return {
        k: server.cached(*insight.space_job(k, m, shas, sub), _("Mapping the code space…"), heavy=False)
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


MAP_POINTS = 1000  # digits drawn on each map


def maps_spec(spaces_by_name: dict[str, CodeSpace], bounds: tuple[float, float]) -> dict:
    """The maps as one Vega-Lite view: one plot per model, side by side.

    The digits and an invisible click grid carry their own data; the marker layers take the view's data, so a move
    sends only a one-row marker and the browser updates the drawn maps in place instead of rebuilding three charts.
    One "pick" selection spans the three grids: a click on any map selects a place. Written as a plain dict rather
    than through Altair, whose conversion switches process-wide data transformers (Streamlit's own charts do too).
    """
    axis = {"scale": {"domain": list(bounds)}, "type": "quantitative"}
    pc = _("PC {n} (σ)")
    enc = {"x": {"field": "z1", "title": pc.format(n=1), **axis}, "y": {"field": "z2", "title": pc.format(n=2), **axis}}
    datasets = {"grid": grid_points(bounds)}
    plots, views = [], []
    # A concatenated view cannot take the container's width: size the plots so all of them, their axes and the
    # legend below fit a laptop's main column (about 820 px beside the sidebar at 1280 px), up to 320 px each.
    side = min(320, 580 // max(len(spaces_by_name), 1))
    for i, (name, space) in enumerate(spaces_by_name.items()):
        n = min(len(space.points), MAP_POINTS)
        z = (space.points[:n] / space.std).tolist()
        datasets[f"digits{i}"] = [
            {"z1": a, "z2": b, "digit": str(int(c))} for (a, b), c in zip(z, space.labels[:n], strict=True)
        ]
        views.append(f"grid{i}")
        dots = {"type": "circle", "size": 12, "opacity": 0.5, "aria": False}
        plots.append(
            {
                "title": name,
                "width": side,
                "height": side,
                "layer": [
                    {
                        "data": {"name": f"digits{i}"},
                        "mark": dots,
                        "encoding": {**enc, "color": {"field": "digit", "type": "nominal", "title": _("class")}},
                    },
                    {
                        "name": f"grid{i}",
                        "data": {"name": "grid"},
                        "mark": {"type": "point", "opacity": 0, "aria": False},
                        "encoding": enc,
                    },
                    {
                        "mark": {
                            "type": "point",
                            "size": 220,
                            "filled": True,
                            "color": "white",
                            "stroke": "black",
                            "aria": False,
                        },
                        "encoding": enc,
                    },
                ],
            }
        )
    select = {"type": "point", "fields": ["z1", "z2"], "nearest": True, "on": "click", "clear": "dblclick"}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "hconcat": plots,
        "params": [{"name": "pick", "select": select, "views": views}],
        # The legend below takes no width; aria off: the maps' text alternative is the page's (alt=), not Vega's
        # per-mark labels in English.
        "config": {"legend": {"orient": "bottom", "direction": "horizontal"}, "aria": False},
        "datasets": datasets,
    }


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


CSS = """<style>
.ae-ex-row {display: grid; grid-template-columns: repeat(var(--n), 1fr); gap: 1rem;}
.ae-ex-col img {width: 100%; image-rendering: pixelated; display: block;}
.ae-ex-col .ae-ex-dec {border-radius: 4px;}
.ae-ex-col .ae-ex-name {text-align: center; font-weight: 600; margin: .3rem 0 .1rem;}
.ae-ex-col .ae-ex-cap {font-size: .85rem; margin-top: .2rem;}
</style>"""


def row_html(cols: list[dict]) -> str:
    """The three models side by side: {name, decoded (PNG), alt (its text alternative), reads (text), near (PNG),
    near_labels}."""
    parts = []
    for c in cols:
        parts.append(
            '<div class="ae-ex-col">'
            + img_tag(c["decoded"], c["alt"], "ae-ex-dec")
            + f'<div class="ae-ex-name">{html.escape(c["name"])}</div>'
            + f'<div class="ae-ex-reads">{html.escape(c["reads"])}</div>'
            + img_tag(c["near"], _("The 5 nearest test digits: {labels}").format(labels=c["near_labels"]), "ae-ex-near")
            + '<div class="ae-ex-cap">'
            + html.escape(_("nearest test digits in code space: {labels}").format(labels=c["near_labels"]))
            + "</div>"
            + "</div>"
        )
    return f'{CSS}<div class="ae-ex-row" style="--n: {len(cols)}">{"".join(parts)}</div>'
