"""Shareable URL state for the playground: parse, validate and clamp query parameters (no Streamlit here).

Today's parameters (source, digit, noise, factor, seed) are in every playground URL. A lesson link adds what a
teacher fixed: which models and baselines show, the residual and clean-input toggles, the input sources on offer,
and which controls are hidden (`hide`). Unknown or bad values are dropped with a notice, like the others."""

from __future__ import annotations

import math

from ae_core.baselines import BASELINES
from ae_core.config import NOISE_TYPES
from ae_core.messages import N_, Message
from ae_core.registry import MODELS

SOURCES = ("mnist", "draw", "upload")
DEFAULTS = {"source": "mnist", "digit": 0, "noise": "gaussian", "factor": 0.5, "seed": 0}
MAX_SEED = 2**31 - 1
# Controls a lesson link can hide, in the order the "Make a lesson link" panel lists them.
HIDEABLE = {
    "noise_type": N_("Noise type"),
    "factor": N_("Noise factor"),
    "seed": N_("Noise seed and New noise"),
    "models": N_("Which models show"),
    "baselines": N_("Which classical baselines show"),
    "residuals": N_("Show residuals"),
    "feed_clean": N_("Feed the clean digit"),
    "retrain": N_("The sidebar's Retrain panel and the Train page"),
}
LESSON = ("show", "baselines", "residuals", "feed_clean", "sources", "hide")  # the parameters lesson links add
LANG = "lang"  # the reader's language (ui/i18n reads it on every page); any link may carry it
LANG_CODES = {"en": "en", "zh": "zh_CN"}  # a code's primary subtag -> its catalog (every Chinese reads zh_CN)


def lang_code(raw: object) -> str | None:
    """The catalog for a language code from a URL, a switch or a browser ('zh', 'zh-CN', 'zh_Hans', 'ZH-cn',
    'en-GB', ...), or None when it names none of them."""
    if not isinstance(raw, str) or len(raw) > 35:
        return None
    return LANG_CODES.get(raw.strip().replace("_", "-").split("-")[0].lower())


_BOOL = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


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
            notices.append(Message("Unknown source {value}; showing an MNIST digit.", value=repr(query["source"][:20])))
    if "noise" in query:
        if query["noise"] in NOISE_TYPES:
            out["noise"] = query["noise"]
        else:
            notices.append(Message("Unknown noise type {value}; using Gaussian.", value=repr(query["noise"][:20])))
    for name, kind, lo, hi in (
        ("digit", int, 0, n_digits - 1),
        ("factor", float, 0.0, 1.0),
        ("seed", int, 0, MAX_SEED),
    ):
        if name not in query:
            continue
        v = _num(query[name], kind)
        if v is None:
            bad = {"name": name, "value": repr(query[name][:20]), "default": DEFAULTS[name]}
            notices.append(
                Message("{name}={value} is not a valid whole number; using {default}.", **bad)
                if kind is int
                else Message("{name}={value} is not a valid number; using {default}.", **bad)
            )
            continue
        clamped = min(max(v, lo), hi)
        if clamped != v:
            notices.append(
                Message("{name}={value} is out of range; clamped to {clamped}.", name=name, value=v, clamped=clamped)
            )
        out[name] = clamped
    out["factor"] = round(round(out["factor"] / 0.05) * 0.05, 2)  # the slider's step
    out |= lesson_values(query, notices)
    if out["source"] not in out["sources"]:
        out["source"] = out["sources"][0]  # a lesson offers only its sources
    if LANG in query and lang_code(query[LANG]) is None:
        notices.append(
            Message("Unknown language {value}; using English or your browser's.", value=repr(query[LANG][:20]))
        )
    unknown = sorted(set(query) - set(DEFAULTS) - set(LESSON) - {LANG})
    if unknown:
        notices.append(
            Message("Ignored unknown URL parameters: {names}.", names=", ".join(u[:20] for u in unknown[:5]))
        )
    return out, notices


def _items(raw: str, allowed, notice: str, notices: list[str]) -> tuple[str, ...] | None:
    """A comma-separated list kept in `allowed`'s order; unknown items are dropped with `notice` ({listed})."""
    items = [i.strip() for i in raw.split(",") if i.strip()]
    if items == ["none"]:
        return ()
    bad = [i for i in items if i not in allowed]
    if bad:
        listed = ", ".join(repr(b[:20])[:40] for b in bad[:5])  # repr escapes can make 20 characters long
        notices.append(Message(notice, listed=listed))
    return tuple(a for a in allowed if a in items)


def lesson_values(query: dict[str, str], notices: list[str]) -> dict:
    """The lesson parameters (params.LESSON): None where the link does not set them (the page's defaults apply)."""
    out: dict = {"show": None, "baselines": None, "residuals": None, "feed_clean": None, "sources": SOURCES}
    out["hide"] = ()
    if "show" in query:
        show = _items(query["show"], tuple(MODELS), N_("Ignored unknown models in the link: {listed}."), notices)
        out["show"] = show or None  # a lesson without any model would show nothing: keep the default
        if not show:
            notices.append(Message("The link shows no model; showing all three."))
    if "baselines" in query:
        out["baselines"] = _items(
            query["baselines"], tuple(BASELINES), N_("Ignored unknown baselines in the link: {listed}."), notices
        )
    for name in ("residuals", "feed_clean"):
        if name in query:
            v = _BOOL.get(query[name].strip().lower())
            if v is None:
                notices.append(
                    Message("{name}={value} is not on/off; using off.", name=name, value=repr(query[name][:20]))
                )
            out[name] = bool(v)
    if "sources" in query:
        sources = _items(query["sources"], SOURCES, N_("Ignored unknown input sources in the link: {listed}."), notices)
        if not sources:
            notices.append(Message("The link offers no input source; offering all three."))
        out["sources"] = sources or SOURCES
    if "hide" in query:
        out["hide"] = (
            _items(
                query["hide"], tuple(HIDEABLE), N_("Ignored unknown controls to hide in the link: {listed}."), notices
            )
            or ()
        )
    return out


def is_lesson(query: dict[str, str]) -> bool:
    """A link with any lesson parameter: its set-up is kept in the address bar, so a refresh keeps the lesson."""
    return any(k in query for k in LESSON)


def lesson_query(vals: dict) -> dict[str, str]:
    """The lesson parameters of a link, from values shaped like parse()'s output (None: not set)."""
    q = {}
    if vals.get("show") is not None:
        q["show"] = ",".join(vals["show"])
    if vals.get("baselines") is not None:
        q["baselines"] = ",".join(vals["baselines"]) or "none"
    for name in ("residuals", "feed_clean"):
        if vals.get(name) is not None:
            q[name] = "1" if vals[name] else "0"
    if tuple(vals.get("sources") or SOURCES) != SOURCES:
        q["sources"] = ",".join(vals["sources"])
    if vals.get("hide"):
        q["hide"] = ",".join(vals["hide"])
    return q
