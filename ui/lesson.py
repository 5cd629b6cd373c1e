"""Lesson links: a URL that opens ae-lab in a focused set-up, with some controls hidden at fixed values.

The lesson lives in this session's state (set from the URL on the session's first run, on any page) and in its
address bar, so a refresh keeps it. Nothing here is server-wide: a student in a lesson can only change their own
session, and a lesson session may not change the weights everyone uses (Save as default, Restore shipped).
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin

import streamlit as st

from ui import params
from ui.i18n import BCP47, N_, _, current

SOURCE_LABELS = {"mnist": N_("MNIST digit"), "draw": N_("Draw"), "upload": N_("Upload")}


def init() -> None:
    """Read the lesson from the URL once per session (silently: the playground shows the notices)."""
    ss = st.session_state
    if "lesson" in ss:
        return
    query = dict(st.query_params)
    if not params.is_lesson(query):
        ss.lesson = None
        return
    ss.lesson = params.lesson_values(query, [])


def active() -> bool:
    return bool(st.session_state.get("lesson"))


def hidden(control: str) -> bool:
    lesson = st.session_state.get("lesson")
    return bool(lesson) and control in lesson["hide"]


def sources() -> tuple[str, ...]:
    lesson = st.session_state.get("lesson")
    return tuple(lesson["sources"]) if lesson else params.SOURCES


_WIDGETS = {"show": "pg_models", "baselines": "pg_baselines", "residuals": "pg_residual", "feed_clean": "pg_feed_clean"}
# Where the session has no value yet: no model choice (None) leaves the page's default, all of them; an empty "show"
# would read back as "no model" and greet every student with a notice.
_OFF = {"show": None, "baselines": (), "residuals": False, "feed_clean": False}


def _now(fallback: dict) -> dict:
    """The playground's models, baselines and toggles as this session has them (fallback where it has none)."""
    ss = st.session_state
    return {name: ss.get(key, fallback[name]) for name, key in _WIDGETS.items()}


def query() -> dict[str, str]:
    """This lesson's parameters for the address bar, with the values the session has now (hidden ones never
    change); empty outside a lesson."""
    lesson = st.session_state.get("lesson")
    if not lesson:
        return {}
    return params.lesson_query(_now(lesson) | {"sources": lesson["sources"], "hide": lesson["hide"]})


def _base_url() -> str:
    try:
        return (st.context.url or "").split("?")[0]
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest) there is no URL: a relative link
        return ""


def link(share: dict[str, str], allowed: list[str], hide: list[str], start: str = "playground") -> str:
    """The lesson link for the playground's current settings (`share`: today's parameters). `start`: "playground",
    or a Tutorial step's name (ui/tutorial.SLUGS): the link opens the Tutorial there, with the same lesson."""
    from ui import tutorial

    if start in tutorial.SLUGS:
        q = params.lesson_query(
            _now(_OFF)
            | {
                "sources": tuple(s for s in params.SOURCES if s in allowed),
                "hide": tuple(h for h in params.HIDEABLE if h in hide),
            }
        )
        q |= {"lang": BCP47[current()], tutorial.PARAM: start}
        return f"{urljoin(_base_url(), 'tutorial')}?{urlencode(q, safe=',')}"
    q = dict(share)
    if q.get("source") not in allowed:
        q["source"] = allowed[0]
        if q["source"] != "mnist":
            q.pop("digit", None)
    q |= params.lesson_query(
        _now(_OFF)
        | {
            "sources": tuple(s for s in params.SOURCES if s in allowed),
            "hide": tuple(h for h in params.HIDEABLE if h in hide),
        }
    )
    q |= {"lang": BCP47[current()]}  # students open it in the teacher's language (the switch changes it)
    return f"{_base_url()}?{urlencode(q, safe=',')}"


def maker(
    share: dict[str, str], source: str
) -> None:  # pragma: no mutate block (layout: AppTests drive it; tests/mutation/scores.md)
    """The "Make a lesson link" panel: the playground as it is now, plus what students may change."""
    if active():
        return
    # Its content is drawn only while it is open: the panel sits in the playground's row, which reruns on every slider
    # move, and nine widgets nobody looks at would double that rerun's cost.
    from ui import tutorial

    with st.expander(_("Make a lesson link"), key="ll_open", on_change="rerun") as panel:
        if not panel.open:
            return
        st.caption(
            _(
                "Set the playground up as students should find it (digit, noise, models, baselines, toggles), then "
                "choose what they may change. Hidden controls keep the values you set."
            )
        )
        allowed = st.multiselect(
            _("Input sources students can use"),
            list(params.SOURCES),
            default=[source],
            format_func=lambda k: _(SOURCE_LABELS[k]),
            key="ll_sources",
            placeholder=_("Choose input sources"),
        )
        st.markdown("**" + _("Students can change") + "**")
        cols = st.columns(2)
        hide = [
            name
            for i, (name, label) in enumerate(params.HIDEABLE.items())
            if not cols[i % 2].checkbox(_(label), value=True, key=f"ll_can_{name}")
        ]
        if not allowed:
            st.warning(_("Choose at least one input source."))
            return
        start = st.selectbox(
            _("Students start at"),
            ["playground", *tutorial.SLUGS],
            format_func=lambda k: (
                _("the Playground as it is now")
                if k == "playground"
                else _("Tutorial, step {n}: {title}").format(
                    n=tutorial.SLUGS.index(k) + 1, title=_(tutorial.STEPS[tutorial.SLUGS.index(k)][1])
                )
            ),
            key="ll_start",
        )
        url = link(share, allowed, hide, start)
        st.code(url, language=None, wrap_lines=True)  # the copy button is in its corner
        st.link_button(_("Open the lesson in a new tab"), url)
