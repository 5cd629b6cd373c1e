"""What every page shares: page config, CSS, and the sidebar's Retrain panel.

Each page calls setup() first and retrain_sidebar() once, so a page works the same whether Streamlit runs it through
app.py's st.navigation or directly (the pages/ folder mode that AppTest and a server's very first run use).
"""

from __future__ import annotations

import streamlit as st


def setup() -> None:
    from ui import classroom, lesson

    st.set_page_config(page_title="ae-lab", page_icon="✏️", layout="wide")
    classroom.startup_check()  # a refused teacher key is logged on the first page anyone opens, whichever it is
    # 28x28 images are sent as they are and upscaled by the browser without blurring.
    st.html("<style>[data-testid='stImage'] img {image-rendering: pixelated;}</style>")
    lesson.init()


def retrain_sidebar() -> None:
    """The sidebar's Retrain panel (unless a lesson link hides it); call it once per page, after the page's own
    sidebar controls."""
    from ui import lesson, session
    from ui.sidebar import retrain_panel

    if lesson.hidden("retrain"):
        session.remember_browser()  # what the panel would have done besides training
        return
    retrain_panel()


def page(title: str, intro: str, sidebar_first: bool = True, lesson_url: bool = True) -> None:
    """Every page opens the same way: config, title, one sentence on what it shows, and (for pages without sidebar
    controls of their own) the Retrain panel. In a lesson, other pages keep the lesson's parameters in the URL (the
    playground, lesson_url=False, writes its own)."""
    from ui import lesson

    setup()
    if lesson_url and lesson.active() and st.query_params.to_dict() != lesson.query():
        st.query_params.from_dict(lesson.query())  # another page of a lesson: a refresh here keeps the lesson
    st.title(title)
    st.write(intro)
    if sidebar_first:
        retrain_sidebar()
