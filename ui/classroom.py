"""Classroom mode: changes that everyone sees (Save as default, Restore shipped, the class's run-size cap) are
reserved for the teacher.

Set AE_LAB_CLASSROOM=1 on the server (every shipped container, compose, Kubernetes and Spaces set-up does) and give
the teacher a credential:
- a key in AE_LAB_TEACHER_KEY, or in a file named by AE_LAB_TEACHER_KEY_FILE (Docker and Kubernetes secrets), of at
  least 16 characters and not guessable (serve/throttle.key_problem). Another key is refused when the server starts,
  with one log line, and the defaults stay read-only. Attempts are checked at a server-wide rate and slowed per
  browser (serve/throttle.py), and wrong ones are logged without the typed text;
- and/or, where Streamlit's OIDC login (st.login, an [auth] section in secrets.toml) is configured, the logged-in
  users whose e-mail is listed in AE_LAB_TEACHER_EMAILS (comma-separated).
With classroom mode on and no usable credential, nobody can change the defaults from the app (the CLI still can).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from pathlib import Path

import streamlit as st

from serve.throttle import KeyThrottle, ServerBusy, key_problem
from ui.i18n import N_, _, gap

log = logging.getLogger("ae_lab.classroom")
_logged: set[str] = set()  # start-up problems are logged once per process, not on every rerun
_log_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("AE_LAB_CLASSROOM", "0").strip().lower() in ("1", "true", "yes", "on")


def _log_once(level: int, message: str) -> None:
    with _log_lock:
        if message in _logged:
            return
        _logged.add(message)
    log.log(level, message)


def _secret(name: str, unreadable=str) -> str:
    """The value of the file named by `name`_FILE (Docker and Kubernetes secrets), else of `name`; `unreadable` when
    that file cannot be read (a callable: logged once, then called)."""
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            _log_once(logging.ERROR, f"{name}_FILE could not be read ({type(e).__name__}).")
            return unreadable()
    return os.environ.get(name, "").strip()


def _raw_key() -> str:
    return _secret("AE_LAB_TEACHER_KEY")  # unreadable: "", no teacher key


def _key() -> str:
    """The teacher key, or "" when there is none or it is not safe (too short or guessable: then logged once)."""
    key = _raw_key()
    problem = _problem(key) if key else None
    if problem:
        _log_once(
            logging.ERROR,
            f"Teacher key refused: {problem}. Classroom mode stays read-only. "
            "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'",
        )
        return ""
    return key


_problems: dict[str, str | None] = {}  # sha256 of a key -> its problem: zxcvbn runs once per key, not per rerun


def _problem(key: str) -> str | None:
    digest = hashlib.sha256(key.encode()).hexdigest()
    if digest not in _problems:
        _problems[digest] = key_problem(key)
    return _problems[digest]


def teacher_emails() -> frozenset[str]:
    raw = os.environ.get("AE_LAB_TEACHER_EMAILS", "")
    return frozenset(e.strip().lower() for e in raw.split(",") if "@" in e)


def oidc_configured() -> bool:
    """Streamlit's built-in login is set up (an [auth] section in secrets.toml) and teachers are listed."""
    if not teacher_emails():
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: no login configured
        return False


def _logged_in_email() -> str | None:
    try:
        user = st.user
        if not user.get("is_logged_in") or user.get("email_verified") is not True:  # an unverified claim is anyone's
            return None
        email = user.get("email")
    except Exception:  # noqa: BLE001 - no login configured, or outside a browser session
        return None
    return email.strip().lower() if isinstance(email, str) else None


def startup_check() -> None:
    """Log, once per process, why classroom mode is read-only (called on every page run; cheap after the first)."""
    if _key() or not enabled():  # _key() logs a key that is too short
        return
    if not oidc_configured() and not _raw_key():  # a refused key already has its own line
        _log_once(
            logging.WARNING,
            "Classroom mode is on without a usable teacher credential: the shared weights are read-only in the app.",
        )


def is_teacher() -> bool:
    """This session unlocked with the key, or its logged-in user is a listed teacher."""
    if st.session_state.get("teacher"):
        return True
    email = _logged_in_email() if oidc_configured() else None
    return email is not None and email in teacher_emails()


def may_change_defaults() -> bool:
    """True outside classroom mode, and for a teacher; never in a lesson link."""
    from ui import lesson

    if lesson.active():
        return False
    return not enabled() or is_teacher()


def run_size_capped() -> bool:
    """A student's runs have the class's size cap: classroom mode, and not the teacher."""
    return enabled() and not is_teacher()


def why_not() -> str:
    from ui import lesson

    if lesson.active():
        return _("This is a lesson link: the weights everyone uses cannot be changed from it.")
    if not _key() and not oidc_configured():
        return _("Classroom mode: the defaults are read-only in the app (the server has no teacher credential).")
    return _("Classroom mode: only the teacher can change the weights everyone uses. Your runs stay yours.")


@st.cache_resource(show_spinner=False)
def throttle() -> KeyThrottle:
    """One per process: every session's wrong attempts, by browser."""
    return KeyThrottle()


def unlock(typed: str, browser: str) -> bool:
    """Check a typed key for this browser: in the server's turn, slowed after wrong attempts, each wrong one logged
    without its text. ServerBusy when the server's queue of attempts is full (nothing was checked)."""
    key = _key()
    right, failures = throttle().attempt(
        browser, lambda: bool(key) and hmac.compare_digest(typed.encode()[:1024], key.encode())
    )
    if not right:
        tag = hashlib.sha256(browser.encode()).hexdigest()[:8]  # the log never holds the id, a browser's credential
        log.warning("Teacher key: wrong attempt %d from browser %s.", failures, tag)
    return right


def class_code() -> str:
    """AE_LAB_CLASS_CODE (or the file AE_LAB_CLASS_CODE_FILE names): "" means costly work is open to every visitor.
    An unreadable file gives a code nobody knows: costly work stays closed rather than open."""
    return _secret("AE_LAB_CLASS_CODE", lambda: secrets.token_urlsafe(32))


NEEDS_CODE = N_(
    "Training, uploading weights and computing new results need this class's code: enter it under Class code in the "
    "sidebar. Everything already computed stays open to you."
)


def may_spend() -> bool:
    """May this session start costly work (training, weights uploads, new test-set computations)? Always, unless the
    server asks for a class code; then once this session entered it, or for the teacher."""
    return not class_code() or bool(st.session_state.get("class_ok")) or is_teacher()


@st.cache_resource(show_spinner=False)
def code_throttle() -> KeyThrottle:
    """The class code's own attempts: its guessing never slows the teacher key's turns."""
    return KeyThrottle()


def class_code_panel() -> None:  # pragma: no mutate block (layout: AppTests drive it; tests/mutation/scores.md)
    """The sidebar's Class code form, while this session has not entered it."""
    code = class_code()
    if not code or may_spend():
        return
    from ui import session

    def check(typed: str) -> bool:
        attempt = lambda: hmac.compare_digest(typed.encode()[:1024], code.encode())  # noqa: E731
        return code_throttle().attempt(session.browser_id(), attempt)[0]

    with st.sidebar.expander(_("Class code"), expanded=False):
        _secret_form(
            "class_code_form",
            _("Class code"),
            "class_typed",
            _("Enter"),
            check,
            "class_ok",
            _("That is not the class code. Each wrong attempt makes the next answer slower."),
        )


def _secret_form(
    form: str, label: str, key: str, button: str, check, flag: str, wrong: str
) -> None:  # pragma: no mutate block (layout: AppTests drive it; tests/mutation/scores.md)
    """A password field and its button: check(typed) in the server's turn; right sets session_state[flag] and reruns,
    wrong says `wrong`, and a full queue of attempts says so without checking."""
    with st.form(form, border=False):
        typed = st.text_input(label, type="password", key=key)
        if st.form_submit_button(button):
            try:
                right = check(str(typed))
            except ServerBusy:
                st.warning(_("Many key attempts are waiting on this server. Try again in a minute."))
                return
            if right:
                st.session_state[flag] = True
                st.rerun()
            st.error(wrong)


def teacher_panel() -> None:  # pragma: no mutate block (layout: AppTests drive it; tests/mutation/scores.md)
    """The Teacher expander (classroom mode only): the key form, the login button, and the class's run-size cap."""
    if not enabled():
        return
    from ui import server, session

    with st.expander(_("Teacher"), expanded=is_teacher()):
        if is_teacher():
            _cap_controls(server.manager())
            if st.session_state.get("teacher") and st.button(_("Leave teacher mode"), key="teacher_leave"):
                st.session_state.teacher = False
                st.rerun()
            return
        if oidc_configured():
            email = _logged_in_email()
            if email is None:
                st.button(_("Log in as the teacher"), key="teacher_login", on_click=st.login)
            else:
                st.caption(_("You are logged in, but not as one of this class's teachers."))
                st.button(_("Log out"), key="teacher_logout", on_click=st.logout)
        if not _key():
            if not oidc_configured():
                st.caption(why_not())
            return
        _secret_form(
            "teacher_form",
            _("Teacher key"),
            "teacher_typed",
            _("Unlock"),
            lambda typed: unlock(typed, session.browser_id()),
            "teacher",
            _("That is not the teacher key. Each wrong attempt makes the next answer slower."),
        )


def _cap_controls(manager) -> None:  # pragma: no mutate block (layout: AppTests drive it; tests/mutation/scores.md)
    import dataclasses

    cap = manager.limits.max_run_images
    st.caption(
        (
            _("Students' runs may have at most {cap:,} images (epochs × training images).").format(cap=cap)
            if cap is not None
            else _("Students' runs may have any size (the cap is lifted).")
        )
        + gap()
        + _("This applies to this server process until it restarts.")
    )
    c1, c2 = st.columns(2)
    new = c1.number_input(_("Cap (epochs × images)"), 10_000, 30_000_000, cap or 2_000_000, step=100_000, key="t_cap")
    if c1.button(_("Set the cap"), key="teacher_set_cap"):
        manager.set_limits(dataclasses.replace(manager.limits, max_run_images=int(new)))
        st.rerun()
    if c2.button(_("Lift the cap"), key="teacher_lift_cap", disabled=cap is None):
        manager.set_limits(dataclasses.replace(manager.limits, max_run_images=None))
        st.rerun()
