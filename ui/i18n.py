"""The reader's language: English or 简体中文, from gettext catalogs in locales/ (managed with Babel: README, "Languages").

The language is per session: a `lang` URL parameter, else the sidebar's switch, else the browser's own language
(st.context.locale), else English. Catalogs are loaded once per process and only read afterwards, so every session
shares them. Text is marked for extraction with _() (translated now), N_() (a constant translated where it is shown)
and ngettext() (plural forms); ae_core's messages carry their template (ae_core.messages.Message) and go through tr().
"""

from __future__ import annotations

import gettext
import json
import threading
from pathlib import Path

import streamlit as st

from ae_core.messages import N_, Message

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # catalog code -> the language's own name
DEFAULT = "en"
BCP47 = {"en": "en", "zh_CN": "zh-CN"}  # what the URL's lang= and <html lang> carry
_lock = threading.Lock()
_catalogs: dict[str, gettext.NullTranslations] = {}

__all__ = ["N_", "_", "ngettext", "tr", "current", "normalize", "init", "switcher", "url_param"]


def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English: the source text itself), loaded once per process."""
    found = _catalogs.get(lang)  # every string of every run comes here: no lock once loaded
    if found is not None:
        return found
    with _lock:
        if lang not in _catalogs:
            _catalogs[lang] = gettext.translation(DOMAIN, LOCALES, languages=[lang], fallback=True)
        return _catalogs[lang]


def normalize(raw: object) -> str | None:
    """A language code from a URL, a switch or a browser as one of LANGUAGES, or None (ui/params.lang_code)."""
    from ui.params import lang_code

    return lang_code(raw)


def current() -> str:
    """This session's language (English outside a session)."""
    try:
        lang = st.session_state.get("lang")
    except Exception:  # noqa: BLE001 - no script run (a CLI or a test calling the UI's helpers directly)
        return DEFAULT
    return lang if lang in LANGUAGES else DEFAULT


def _(text: str) -> str:
    return catalog(current()).gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(current()).ngettext(singular, plural, n)


def tr(msg: object) -> str:
    """ae_core's text in the reader's language: a Message (or an exception holding one) is looked up by its
    template; N_-marked constants by their text; anything else (a file name, a user's label) stays as it is."""
    if isinstance(msg, BaseException):
        msg = msg.args[0] if msg.args else str(msg)
    if isinstance(msg, Message):
        values = {k: tr(v) if isinstance(v, Message) else v for k, v in msg.values.items()}
        try:
            return _(msg.template).format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation must never hide the message
            return str(msg)
    return str(msg)


def url_param() -> dict[str, str]:
    """{"lang": code} when this session chose its language (by URL or switch): links it makes carry the choice."""
    ss = st.session_state
    return {"lang": BCP47[current()]} if ss.get("lang_chosen") else {}


def init() -> None:
    """Set this session's language on every run: the URL's lang= wins (a shared link's language), then an earlier
    choice, then the browser's language."""
    ss = st.session_state
    raw = st.query_params.get("lang")
    chosen = normalize(raw) if raw is not None else None
    if chosen:
        ss.lang, ss.lang_chosen = chosen, True
    elif "lang" not in ss:
        try:
            locale = st.context.locale
        except Exception:  # noqa: BLE001 - outside a browser session (AppTest) there is no locale
            locale = None
        ss.lang = normalize(locale) or DEFAULT


# Keyed choice widgets whose options are shown through the catalog. Streamlit's frontend sends a choice back as the
# text it displayed; after a language switch that text is the old language's and would no longer match an option
# (a selectbox would even pass it on as its value). Writing each value back in the switch's callback makes this run
# use the value itself, and the browser then shows it in the new language.
TRANSLATED_CHOICES = (
    "pg_source",
    "pg_noise",
    "pg_models",
    "pg_baselines",
    "rt_model",
    "rt_preset",
    "sb_noise",
    "sb_baselines",
    "sb_bw",
    "in_lm_noise",
    "in_shape",
    "ex_unit_model",
    "tr_models",
    "tr_pick",
    "tr_overlay",
    "ll_sources",
    "ll_start",
    "tu_pick",
    "tu_layer",
)


def _switched() -> None:
    ss = st.session_state
    ss.lang, ss.lang_chosen = ss.lang_pick, True
    for key in TRANSLATED_CHOICES:
        if key in ss:
            value = ss[key]
            ss[key] = list(value) if isinstance(value, list | tuple) else value
    st.query_params["lang"] = BCP47[ss.lang]  # a refresh or a copied address keeps it


def switcher() -> None:
    """The sidebar's language switch, and the page's <html lang> for screen readers and fonts."""
    from ui import session  # it imports this module

    session.put("lang_pick", current())
    st.sidebar.selectbox(
        ":material/translate: " + _("Language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key="lang_pick",
        on_change=_switched,
    )
    lang = current()
    script = f"document.documentElement.lang = {json.dumps(BCP47[lang])};"
    script += _STREAMLIT_TEXT_JS % json.dumps(_streamlit_text() if lang != DEFAULT else None, ensure_ascii=False)
    st.sidebar.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


# Streamlit's own words: the file uploader's button and size line, the skip link, and the accessible names of its
# built-in buttons and regions (a screen reader speaks them). Streamlit has no parameters for them, so in another
# language the page rewrites them in place, again whenever Streamlit redraws them, and puts them back for English.
_BUILT_IN = (
    N_("Skip to main content"),
    N_("Sidebar"),
    N_("App pages"),
    N_("Collapse sidebar"),
    N_("Expand sidebar"),
    N_("Open"),
    N_("Close"),
    N_("Link to heading"),
    N_("Increment"),
    N_("Decrement"),
    N_("Selected values"),
    N_("Clear all"),
    N_("Fullscreen"),
    N_("Close fullscreen"),
    N_("Show/hide columns"),
    N_("Search"),
    N_("Download as CSV"),
    N_("Copy to clipboard"),
    N_("file upload"),
    N_("Delete"),
    N_("Help"),
    N_("translate icon"),
    N_("add icon"),
    N_("Add files"),
    N_("progress"),
    N_("Show password text"),
    N_("Hide password text"),
    N_("Press Enter to submit form"),
    N_("Press Enter to apply"),
)
# Labels that start with a fixed word: a multiselect chip's "Remove <option>", a help icon's "Help for <label>", a
# chart's "Show data: <alt>", a Vega title's "Title text '<title>'".
_PREFIXED = (
    N_("Remove"),
    N_("Help for"),
    N_("Show data:"),
    N_("Title text"),
    N_("Fullscreen:"),
    N_("Download as PNG:"),
    N_("Copy Vega-Lite spec:"),
)


def _streamlit_text() -> dict:
    return {
        "upload": _("Upload"),
        "limit": _("Up to 5 MB per file"),
        "labels": {en: _(en) for en in _BUILT_IN},
        "prefixes": {en: _(en) for en in _PREFIXED},
    }


_STREAMLIT_TEXT_JS = """
(() => {
  const T = %s;
  // This run's script owns the page's words from now on: a redraw still queued by an earlier one (another
  // language's) does nothing. Without it, a queued Chinese redraw put the Chinese labels back after the switch to
  // English had restored them (seen on a loaded machine).
  const gen = window.aeLabGen = (window.aeLabGen || 0) + 1;
  const changed = window.aeLabNodes || (window.aeLabNodes = new Set());
  if (window.aeLabText) window.aeLabText.disconnect();
  // What Streamlit wrote is the original, unless the text is still the translation this script put there: Streamlit
  // redraws (a new image's alt, a new label) replace it, and the saved original is then stale.
  const orig = n => ('aeOrig' in n && n.nodeValue === n.aeSet) ? n.aeOrig : n.nodeValue;
  const origLabel = el => ('aeOrigLabel' in el.dataset && el.getAttribute('aria-label') === el.dataset.aeSetLabel)
    ? el.dataset.aeOrigLabel : el.getAttribute('aria-label');
  if (!T) {  // English: Streamlit's own words again, where they are still this script's translation
    changed.forEach(n => { n.nodeValue = orig(n); delete n.aeOrig; delete n.aeSet; });
    changed.clear();
    document.querySelectorAll('[data-ae-orig-label]').forEach(el => {
      el.setAttribute('aria-label', origLabel(el));
      delete el.dataset.aeOrigLabel; delete el.dataset.aeSetLabel;
    });
    return;
  }
  const set = (n, text) => {
    if (n.nodeValue === text) return;
    n.aeOrig = orig(n);
    n.aeSet = text;
    n.nodeValue = text;
    changed.add(n);
  };
  const put = (el, text) => el && [...el.childNodes].filter(n => n.nodeType === 3).forEach((n, i) => set(n, i ? '' : text));
  const label = el => {
    const now = el.getAttribute('aria-label');
    const o = origLabel(el);
    let want = T.labels[o];
    for (const [en, tr] of Object.entries(T.prefixes)) if (!want && o.startsWith(en + ' ')) want = tr + ' ' + o.slice(en.length + 1);
    if (want && now !== want) { el.dataset.aeOrigLabel = o; el.dataset.aeSetLabel = want; el.setAttribute('aria-label', want); }
  };
  let pending = false;
  const fix = () => {
    pending = false;
    if (window.aeLabGen !== gen) return;
    document.querySelectorAll('[data-testid=stFileUploaderDropzone]').forEach(z => {
      put(z.querySelector('button [data-testid=stMarkdownContainer] p'), T.upload);
      put(z.querySelector('[data-testid=stFileUploaderDropzoneInstructions] span'), T.limit);
    });
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const key = orig(n);
      if (key && T.labels[key.trim()]) set(n, T.labels[key.trim()]);  // screen-reader text, the skip link
    }
    document.querySelectorAll('[aria-label]').forEach(label);
  };
  const soon = () => { if (!pending) { pending = true; requestAnimationFrame(fix); } };
  window.aeLabText = new MutationObserver(soon);
  window.aeLabText.observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['aria-label']});
  fix();
})();"""


def model_name(key: str) -> str:
    from ae_core.registry import ALL

    return _(ALL[key].name)


def baseline_name(key: str) -> str:
    from ae_core.baselines import BASELINES

    return _(BASELINES[key].name)


def noise_label(key: str) -> str:
    from ae_core.noise import LABELS

    return _(LABELS[key])


def gap() -> str:
    """What goes between two sentences: a space in English, nothing in Chinese (its full stops carry the gap)."""
    return "" if current().startswith("zh") else " "


def sentences(*parts: str) -> str:
    """Sentences side by side, empty ones left out."""
    return gap().join(p for p in parts if p)


def listing(items) -> str:
    """Items of a list in a sentence: "a, b, c" in English, "a、b、c" in Chinese."""
    return _(", ").join(items)
