"""What every page shares: page config, CSS, and the sidebar's Retrain panel.

Each page calls setup() first and retrain_sidebar() once, so a page works the same whether Streamlit runs it through
app.py's st.navigation or directly (AppTest runs a page file on its own). The folder is views/, not pages/: Streamlit
lists a pages/ folder's files as pages of their own ("app", "inside"...) on a fresh server's first visit.
"""

from __future__ import annotations

import streamlit as st

# 28x28 images are sent as they are and upscaled by the browser without blurring.
_CSS = "<style>[data-testid='stImage'] img {image-rendering: pixelated;}</style>"
# Colours Streamlit gets wrong for WCAG 2.2 AA (4.5:1), as (selector, light theme, dark theme):
# - the dark theme's primary colour is light (its slider values and links are text on a dark page), so text drawn on it
#   (primary buttons, the chips of a multiselect) must be dark, not Streamlit's fixed white: 8.3:1 instead of 2.3:1;
# - code blocks (the Tutorial shows the app's own source): Streamlit's syntax colours are 3-4:1 on its code background;
#   these keep token kinds apart at 6:1 or more in each theme.
_CODE = "[data-testid=stCode] .token."
_COLOURS = (
    (
        "[data-testid^='stBaseButton-primary'], [data-testid^='stBaseButton-primary'] p, [data-tag], [data-tag] span",
        "#ffffff",  # Streamlit's own white: the light theme's primary colour is dark
        "#0e1117",
    ),
    (f"{_CODE}keyword, {_CODE}function, {_CODE}builtin", "#0b57a4", "#8cc4ff"),
    (f"{_CODE}string", "#1f6f43", "#8ee4af"),
    (f"{_CODE}comment", "#55585f", "#b4b8c2"),
    (f"{_CODE}number, {_CODE}boolean", "#8a3b00", "#ffb77a"),
)


def _rules(colour) -> str:
    """One CSS rule per row of _COLOURS, its colour `colour(light, dark)`."""
    return " ".join(f"{selector} {{color: {colour(light, dark)} !important;}}" for selector, light, dark in _COLOURS)


_LIGHT = _rules(lambda light, dark: light)
_DARK = _rules(lambda light, dark: dark)
# By the theme the page shows now: CSS light-dark() follows the app's own color-scheme, so a system switch to dark while
# the page is open (before any rerun tells the server) gets the dark colours too. Browsers without light-dark() ignore
# these rules and keep the fallback's, chosen from the theme the server was told.
_AUTO = _rules(lambda light, dark: f"light-dark({light}, {dark})")


def _theme_css() -> str:
    return _theme_fallback().replace("</style>", _AUTO + "</style>")


def _theme_fallback() -> str:
    try:
        kind = st.context.theme.type
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest)
        kind = None
    if kind == "dark":
        return f"<style>{_DARK}</style>"
    if kind is None:  # not reported yet: follow the system setting, as the theme itself does
        return f"<style>{_LIGHT}@media (prefers-color-scheme: dark) {{{_DARK}}}</style>"
    return f"<style>{_LIGHT}</style>"


def setup(switch: bool = True) -> None:
    """Page config, language and lesson; `switch`: draw the sidebar's language switch (app.py, which runs before the
    page in the same run, leaves it to the page)."""
    from ui import classroom, i18n, lesson, panels, warmup

    st.set_page_config(page_title="ae-lab", page_icon="✏️", layout="wide")
    warmup.start()  # once per process (ui/serve.py starts it before anyone comes); a no-op afterwards
    classroom.startup_check()  # a refused teacher key is logged on the first page anyone opens, whichever it is
    i18n.init()
    st.html(_CSS + panels.CSS + _theme_css())  # the output row's CSS too: once per page, not with every row
    if switch:
        i18n.switcher()
    lesson.init()


def retrain_sidebar() -> None:
    """The sidebar's Retrain panel (unless a lesson link hides it); call it once per page, after the page's own
    sidebar controls."""
    from ui import classroom, lesson, session
    from ui.sidebar import retrain_panel

    classroom.class_code_panel()
    if lesson.hidden("retrain"):
        session.remember_browser()  # what the panel would have done besides training
        return
    retrain_panel()


def page(title: str, intro: str, sidebar_first: bool = True, lesson_url: bool = True) -> None:
    """Every page opens the same way: config, title, one sentence on what it shows, and (for pages without sidebar
    controls of their own) the Retrain panel. In a lesson, other pages keep the lesson's parameters in the URL (the
    playground, lesson_url=False, writes its own). `title` and `intro` are N_()-marked: translated here, once the
    session's language is known."""
    from ui import lesson
    from ui.i18n import _, url_param

    setup()

    want = lesson.query() | url_param()
    if lesson_url and lesson.active() and st.query_params.to_dict() != want:
        st.query_params.from_dict(want)  # another page of a lesson: a refresh here keeps the lesson (and language)
    st.title(_(title))
    st.write(_(intro))
    if sidebar_first:
        retrain_sidebar()
