"""Per-browser and per-session state: who this browser is, which weights it uses, widget values across pages.

Server-wide objects live in ui/server.py; nothing here is shared between browsers.
- The browser id is a random token in a cookie. Runs belong to it, so a refresh or a reconnect (a new WebSocket
  session) finds them again. It never appears in a URL, so a shared playground link carries no access to runs.
- Widget values and the current digit are per session (st.session_state).
"""

from __future__ import annotations

import functools
import re
import secrets

import numpy as np
import streamlit as st

from ae_core import store
from serve.budget import Busy
from ui import server, text
from ui.i18n import _, tr

COOKIE = "ae_lab_browser"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")  # exactly what token_urlsafe(24) makes: anything else is ignored
COOKIE_DAYS = 30


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest, bare mode) there are no cookies
        return None
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def browser_id() -> str:
    """This browser's id: from its cookie, or new (and sent to the browser by remember_browser)."""
    ss = st.session_state
    if "browser_id" not in ss:
        ss.browser_id = _cookie() or secrets.token_urlsafe(24)
    return ss.browser_id


def remember_browser() -> None:
    """Store the id in a cookie until the browser sends it back, so the next tab or refresh finds the same runs.
    Called once per full run, in the sidebar (an empty element there takes no visible space). It also tells the job
    manager the browser is here (its idle time decides whose runs go first when memory is short), shows what was
    dropped meanwhile, and offers "Forget this browser"."""
    bid = browser_id()
    manager = server.manager()
    manager.heartbeat(bid)
    for note in manager.notices(bid):
        st.sidebar.warning(text.plain(tr(note), 400))  # it names the run, whose label may come from a file
    forget_panel()
    if _cookie() == bid:
        return
    js = (
        f"document.cookie = '{COOKIE}={bid}; path=/; max-age={COOKIE_DAYS * 86400}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');"
    )
    st.sidebar.html(f"<script>{js}</script>", unsafe_allow_javascript=True)


def fragment(fn, run_every: float | None = None):
    """st.fragment that also tells the job manager this browser is here: a student who only moves sliders (fragment
    reruns, never a full page run) is active, and never loses their runs to browsers that have been idle longer."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        server.manager().heartbeat(browser_id())
        return fn(*args, **kwargs)

    return st.fragment(run, run_every=run_every)


def forget_browser() -> None:
    """Button callback: drop this browser's runs and settings and start afresh under a new id (a shared computer)."""
    ss = st.session_state
    server.manager().forget(browser_id())
    lang = ss.get("lang")
    for k in list(ss.keys()):
        del ss[k]
    if lang:
        ss.lang = lang  # the reader's language is not a setting to forget
    ss.browser_id = secrets.token_urlsafe(24)  # the cookie is rewritten with it on this run
    ss.forgotten = True
    ss.sign_out = _logged_in()  # a teacher's login (st.login) is this browser's too; st.logout cannot run in a callback


def _logged_in() -> bool:
    try:
        return bool(st.user.get("is_logged_in"))
    except Exception:  # noqa: BLE001 - no login configured, or outside a browser session
        return False


def forget_panel() -> None:
    if st.session_state.pop("sign_out", False):
        st.logout()  # ends this browser's login too, then reruns
    with st.sidebar.expander(_("This browser")):
        if st.session_state.get("forgotten"):
            st.success(_("Forgotten: this browser starts afresh, with none of the earlier runs or settings."))
        st.caption(
            _(
                "Your runs and choices belong to this browser (a cookie). On a shared computer, forget them when you "
                "leave, so that the next person starts afresh."
            )
        )
        st.button(_("Forget this browser"), key="forget_browser", on_click=forget_browser)


def current_digit(digits) -> np.ndarray:
    """The playground's current clean digit (28, 28) in [0, 1], or test #0, with a caption saying which."""
    current = st.session_state.get("pg_current")
    if current is None:
        st.caption(_("Your digit: MNIST test #0 (pick, draw or upload one on the Playground to use it here)."))
        return digits.images[0].float().numpy() / 255
    st.caption(_("Your digit: the one currently on the Playground."))
    return current


def put(key: str, value) -> None:
    """Give a widget this value, only where it holds another one. Any assignment, even of the value it already has,
    makes Streamlit send the value back with the run and the browser overwrite the widget with it: key presses made
    while the run was on (a learner pressing the arrow up five times on a loaded server) were lost."""
    ss = st.session_state
    if key not in ss or ss[key] != value or type(ss[key]) is not type(value):
        ss[key] = value


def keep(*keys: str) -> None:
    """Bring back widget values that Streamlit dropped because the widget was not drawn in the last run
    (another page, or another input source), so settings survive page switches."""
    ss = st.session_state
    for k in keys:
        if k not in ss and f"_keep_{k}" in ss:
            ss[k] = ss[f"_keep_{k}"]


def remember(*keys: str) -> None:
    ss = st.session_state
    for k in keys:
        if k in ss:
            ss[f"_keep_{k}"] = ss[k]


def active_models() -> tuple[dict, dict[str, str], dict[str, str], dict[str, str]]:
    """({key: model}, {key: where the weights come from}, errors, {key: sha256 of the weights}) for this browser: the
    saved defaults, replaced by any of its own runs that it activated. The sha256 comes with the weights (the
    sidecar's for a default, the run's own for a run), so nothing is hashed again, and it always names the very
    model returned beside it."""
    loaded, errors = server.default_models()
    models = {k: m for k, (_, m) in loaded.items()}
    origin = {k: _("saved default") for k in loaded}
    shas = {k: sidecar["sha256"] for k, (sidecar, _) in loaded.items()}
    for key, job in server.manager().active_for(browser_id()).items():
        if job.model is not None:
            models[key], origin[key], shas[key] = job.model, _("run {run}").format(run=tr(job.label)), job.sha256
            errors.pop(key, None)
    return models, origin, errors, shas


def models_or_errors() -> tuple[dict, dict[str, str], dict[str, str]]:
    """active_models() for a page, showing any refused weights as errors (the page goes on with the others)."""
    models, origin, errors, shas = active_models()
    for msg in errors.values():
        st.error(tr(msg))
    return models, origin, shas


def add_uploaded_weights(blob: bytes, sidecar: bytes, filename: str):
    """Validate uploaded weights and add them to this browser's runs, once per content.
    Returns (job, added now?); raises store.WeightsError with the reason. Like a run, an upload remembers the default
    weights it arrived over: Save as default refuses it if someone else saved meanwhile, instead of silently
    replacing their save."""
    from serve.jobs import uploaded_job

    job = uploaded_job(blob, sidecar, filename)
    job.base_sha = (server.sidecar_of(job.key) or {}).get("sha256")
    return server.manager().add_upload(browser_id(), job)


UPLOAD_WEIGHTS_FACTOR = 4  # validating uploaded weights holds the bytes, the parsed tensors and a loaded model


def upload_panel(files: list) -> None:
    """The Train page's weight upload: one .safetensors and its .json sidecar."""
    tensors = [f for f in files if f.name.endswith(".safetensors")]
    sidecars = [f for f in files if f.name.endswith(".json")]
    if len(files) != 2 or len(tensors) != 1 or len(sidecars) != 1:  # a value sent with more files reads none
        st.warning(_("Upload exactly one .safetensors file and one .json sidecar."))
        return
    from ui import classroom

    if not classroom.may_spend():
        st.info(_(classroom.NEEDS_CODE))
        return
    try:
        blob, side = tensors[0].getvalue(), sidecars[0].getvalue()
        with server.admit(UPLOAD_WEIGHTS_FACTOR * (len(blob) + len(side)) / 2**20):
            job, added = add_uploaded_weights(blob, side, tensors[0].name)
    except store.WeightsError as e:
        st.error(_("Refused: {reason}").format(reason=text.plain(tr(e), 400)))  # the reason may quote the file
        return
    except Busy as e:
        server.busy_stop(e)
    if added:
        st.success(
            _("Loaded {run}. It is in the run history: pick it there and press Use these weights.").format(
                run=text.plain(job.label)
            )
        )
    else:
        st.info(
            _("{run} is in your run history (the same weights are never added twice).").format(
                run=text.plain(job.label)
            )
        )
