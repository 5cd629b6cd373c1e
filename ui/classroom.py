"""Classroom mode: changes that everyone sees (Save as default, Restore shipped) are reserved for the teacher.

Set AE_LAB_CLASSROOM=1 and AE_LAB_TEACHER_KEY=<a secret> on the server. A teacher types the key once per session in
the Train page's Teacher panel. Students still train, activate runs for themselves and download weights. With
classroom mode on and no key set, nobody can change the defaults from the app (the CLI still can).
"""

from __future__ import annotations

import hmac
import os

import streamlit as st


def enabled() -> bool:
    return os.environ.get("AE_LAB_CLASSROOM", "0").strip().lower() in ("1", "true", "yes", "on")


def _key() -> str:
    return os.environ.get("AE_LAB_TEACHER_KEY", "")


def check_key(typed: str) -> bool:
    """Constant-time comparison, so the key cannot be guessed one character at a time."""
    key = _key()
    return bool(key) and hmac.compare_digest(typed.encode(), key.encode())


def may_change_defaults() -> bool:
    """True outside classroom mode, and for a session that gave the teacher key; never in a lesson link."""
    from ui import lesson

    if lesson.active():
        return False
    return not enabled() or bool(st.session_state.get("teacher"))


def why_not() -> str:
    from ui import lesson

    if lesson.active():
        return "This is a lesson link: the weights everyone uses cannot be changed from it."
    if not _key():
        return "Classroom mode: the defaults are read-only in the app (the server has no teacher key)."
    return "Classroom mode: only the teacher can change the weights everyone uses. Your runs stay yours."


def teacher_panel() -> None:
    """A small form for the teacher key, shown only in classroom mode."""
    if not enabled() or st.session_state.get("teacher") or not _key():
        return
    with st.expander("Teacher"), st.form("teacher_form", border=False):
        typed = st.text_input("Teacher key", type="password", key="teacher_typed")
        if st.form_submit_button("Unlock"):
            if check_key(typed):
                st.session_state.teacher = True
                st.rerun()
            st.error("That is not the teacher key.")
