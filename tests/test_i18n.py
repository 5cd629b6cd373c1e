"""The message catalogs and the language plumbing: complete catalogs, the same placeholders in every translation,
compiled files that match their sources, and ae_core's messages shown in the reader's language."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from ae_core import preprocess
from ae_core.messages import Message, of
from harness.a11y import english_left
from serve import quota
from tests.conftest import needs_mnist

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
PO = LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def catalog():
    with open(PO, "rb") as f:
        return read_po(f)


def extracted(tmp_path) -> set:
    """The msgids Babel extracts from the code now (what `make i18n` would put in messages.pot)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "Message",
         "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with open(pot, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_every_string_in_the_code_is_in_the_catalog_translated_and_not_fuzzy(tmp_path):
    cat = catalog()
    ids = {m.id for m in cat if m.id}
    missing = extracted(tmp_path) - ids
    assert not missing, f"not in {PO.name} (run `make i18n` and translate them): {sorted(missing, key=str)[:10]}"
    untranslated = [m.id for m in cat if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]
    assert not cat.fuzzy, "the catalog's header is marked fuzzy: gettext would skip it"


def test_every_translation_keeps_the_placeholders_of_its_source():
    for m in catalog():
        if not m.id:
            continue
        sources = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = sorted(PLACEHOLDER.findall(sources[-1]))
        for s in strings:
            assert sorted(PLACEHOLDER.findall(s)) == want, (m.id, s)
        for key in (k.strip("{}").split(":")[0] for k in want):
            assert key.isidentifier(), (m.id, key)  # str.format fills named fields only


def _key(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


def test_the_compiled_catalog_matches_its_source():
    with open(PO.with_suffix(".mo"), "rb") as f:
        mo = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    po = {_key(m.id): _key(m.string) for m in catalog() if m.id}
    assert mo == po, "messages.mo is stale: run `make i18n`"


def test_chinese_plural_forms_and_header():
    cat = catalog()
    assert cat.num_plurals == 1 and cat.plural_expr == "0"
    from ui import i18n

    zh = i18n.catalog("zh_CN")
    assert zh.ngettext("{n} epoch", "{n} epochs", 1) == zh.ngettext("{n} epoch", "{n} epochs", 7) == "{n} 轮"
    en = i18n.catalog("en")
    assert en.ngettext("{n} epoch", "{n} epochs", 1) == "{n} epoch"
    assert en.ngettext("{n} epoch", "{n} epochs", 2) == "{n} epochs"


@pytest.mark.parametrize(
    ("raw", "lang"),
    [
        ("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh_CN", "zh_CN"), ("ZH-cn", "zh_CN"), ("zh-Hans-CN", "zh_CN"),
        ("zh-TW", "zh_CN"), ("en", "en"), ("en-GB", "en"), ("EN_us", "en"), (" en ", "en"),
        ("fr", None), ("", None), ("x" * 40, None), ("<script>", None), (None, None), (3, None),
    ],
)  # fmt: skip
def test_language_codes_from_urls_switches_and_browsers(raw, lang):
    from ui import i18n

    assert i18n.normalize(raw) == lang


def test_ae_core_messages_keep_their_english_and_are_shown_in_chinese():
    from ui import i18n

    with pytest.raises(preprocess.ImageRejected) as e:
        preprocess.from_upload(b"")
    assert str(e.value) == "The file is empty." and isinstance(of(e.value), Message)
    msg = Message("{model}: the saved weights were refused ({reason})", model=Message("Conv DAE"), reason="x.json")
    assert msg == "Conv DAE: the saved weights were refused (x.json)"  # the CLI and the logs keep English
    zh = i18n.catalog("zh_CN")
    assert zh.gettext(msg.template).format(model=zh.gettext("Conv DAE"), reason="x.json") == (
        "卷积降噪自编码器：保存的权重被拒绝（x.json）"
    )
    assert i18n.tr(msg) == str(msg)  # outside a session: English
    assert i18n.tr("a file name.png") == "a file name.png"  # text that is not a Message is never looked up
    import copy
    import pickle

    for clone in (copy.deepcopy(msg), pickle.loads(pickle.dumps(msg))):
        assert clone == msg and clone.template == msg.template and clone.values["model"].template == "Conv DAE"


def test_quota_message_is_the_same_english_as_before_and_a_message():
    from ae_core.config import TrainConfig
    from serve.jobs import Limits

    limits = Limits(max_run_images=1000)
    with pytest.raises(quota.QuotaExceeded) as e:
        quota.admit([], "a", TrainConfig(epochs=2, train_size=1000), limits, capped=True)
    assert str(e.value).startswith("This run is 2 epochs x 1,000 images = 2,000 images; in this class")
    assert of(e.value).values["cap"] == 1000


def page_text(at) -> list[str]:
    """Every text an AppTest run shows: titles, headings, paragraphs, captions, alerts, labels, buttons and options."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        out += [e.value for e in at.get(kind)]
    for kind in ("button", "selectbox", "multiselect", "radio", "slider", "select_slider", "number_input", "toggle",
                 "checkbox", "text_input", "expander", "tabs"):  # fmt: skip
        for w in at.get(kind):
            out.append(getattr(w, "label", "") or "")
            out += [str(o) for o in getattr(w, "options", []) or []]
    return out


PAGES = ["playground", "train", "scoreboard", "inside", "explorer"]


@needs_mnist
@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_chinese_has_no_untranslated_english_and_english_stays_english(page, monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")
    zh = AppTest.from_file(str(ROOT / "views" / f"{page}.py"), default_timeout=300)
    zh.query_params["lang"] = "zh-CN"
    zh.run()
    assert not zh.exception, [e.value for e in zh.exception]
    texts = page_text(zh)
    assert len(texts) > 10
    assert not english_left(texts), sorted(set(english_left(texts)))
    en = AppTest.from_file(str(ROOT / "views" / f"{page}.py"), default_timeout=300).run()
    assert not en.exception
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in page_text(en) if "简体中文" not in t)
    assert en.title[0].value != zh.title[0].value


def test_the_switch_changes_the_language_and_the_address_carries_it():
    at = AppTest.from_file(str(ROOT / "views" / "playground.py"), default_timeout=120).run()
    assert at.title[0].value == "Playground" and "lang" not in at.query_params  # chosen by nobody: not in links
    at.selectbox(key="lang_pick").set_value("zh_CN").run()
    assert at.title[0].value == "实验台"
    assert at.query_params["lang"] == "zh-CN"
    assert at.radio(key="pg_source").options == ["MNIST 数字", "手写", "上传"]
    # (Switching back is in the browser test: AppTest keeps a radio's old formatted value after its options change.)


def test_a_bad_lang_parameter_is_named_in_a_notice_and_the_page_stays_english():
    at = AppTest.from_file(str(ROOT / "views" / "playground.py"), default_timeout=120)
    at.query_params["lang"] = "<b>xx</b>"
    at.run()
    assert not at.exception and at.title[0].value == "Playground"
    assert any("Unknown language" in t.value and "xx" in t.value for t in at.toast)


def test_a_lesson_link_carries_the_teachers_language():
    at = AppTest.from_file(str(ROOT / "views" / "playground.py"), default_timeout=120)
    at.query_params["lang"] = "zh"
    at.session_state["ll_open"] = True  # the lesson-link panel, open
    at.run()
    link = next(c.value for c in at.code if "?" in c.value)
    assert "lang=zh-CN" in link
    student = AppTest.from_file(str(ROOT / "views" / "playground.py"), default_timeout=120)
    for k, v in [p.split("=") for p in link.split("?")[1].split("&")]:
        student.query_params[k] = v
    student.run()
    assert student.title[0].value == "实验台"


def test_the_teachers_panel_in_chinese(monkeypatch):
    """Classroom mode's Teacher expander, its key form and the refusals that name it, in Chinese."""
    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", "a-key-of-the-teachers-" + "Xq7wPz2Lm9")  # not guessable: accepted
    at = AppTest.from_file(str(ROOT / "views" / "train.py"), default_timeout=120)
    at.query_params["lang"] = "zh-CN"
    at.run()
    assert not at.exception
    assert [e.label for e in at.expander if e.label == "教师"], [e.label for e in at.expander]
    assert at.text_input(key="teacher_typed").label == "教师密钥"
    assert [b.label for b in at.button if b.label == "解锁"]
    # (No click here: AppTest formats a selectbox's value in the test's own thread, outside the session, so in
    # Chinese it cannot send the Train form's choices back. The browser tests click in Chinese.)
    texts = page_text(at)
    assert not english_left(texts), sorted(set(english_left(texts)))
