"""ui/lesson's logic as plain functions: a lesson read from the URL once, what it hides, and the links it makes
(the maker panel itself is layout, driven in tests/test_app_*.py and the browser tests)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.uistate import Context
from ui import lesson, params


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def test_no_lesson_in_the_url(st_fake):
    st_fake.query_params.update({"digit": "3", "factor": "0.2"})
    lesson.init()
    assert st_fake.session_state.lesson is None
    assert not lesson.active() and not lesson.hidden("seed")
    assert lesson.sources() == params.SOURCES
    assert lesson.query() == {}


def test_a_lesson_is_read_once(st_fake):
    st_fake.query_params.update({"hide": "seed,bogus", "sources": "draw,upload", "show": "conv_dae"})
    lesson.init()
    got = st_fake.session_state.lesson
    assert got["hide"] == ("seed",) and got["sources"] == ("draw", "upload") and got["show"] == ("conv_dae",)
    assert lesson.active() and lesson.hidden("seed") and not lesson.hidden("factor")
    assert lesson.sources() == ("draw", "upload") and isinstance(lesson.sources(), tuple)
    st_fake.query_params.clear()  # the page changed its address bar: the lesson stays this session's
    st_fake.query_params["hide"] = "factor"
    lesson.init()
    assert st_fake.session_state.lesson is got


def test_a_session_outside_a_lesson_stays_outside(st_fake):
    st_fake.session_state.lesson = None
    st_fake.query_params["hide"] = "seed"
    lesson.init()
    assert st_fake.session_state.lesson is None and not lesson.active()


def test_the_address_bar_keeps_the_lesson_with_todays_choices(st_fake):
    st_fake.query_params.update({"hide": "models", "baselines": "tv", "residuals": "on", "sources": "upload"})
    lesson.init()
    assert lesson.query() == {"baselines": "tv", "residuals": "1", "sources": "upload", "hide": "models"}
    ss = st_fake.session_state
    ss.pg_models, ss.pg_baselines, ss.pg_residual, ss.pg_feed_clean = ["basic_ae"], [], False, True
    assert lesson.query() == {
        "show": "basic_ae",
        "baselines": "none",
        "residuals": "0",
        "feed_clean": "1",
        "sources": "upload",
        "hide": "models",
    }


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://h:8501/app?x=1&y=2", "http://h:8501/app"),
        ("https://class.example/", "https://class.example/"),
        (None, ""),
        ("", ""),
        (RuntimeError("no session"), ""),
    ],
)
def test_base_url(st_fake, url, base):
    st_fake.context = Context(url)
    assert lesson._base_url() == base


def test_a_playground_link(st_fake):
    st_fake.context = Context("https://class.example/?digit=9")
    share = {"source": "mnist", "digit": "7", "noise": "masking", "factor": "0.3", "seed": "5"}
    url = lesson.link(share, ["mnist", "draw"], ["seed", "bogus", "factor"])
    assert url.startswith("https://class.example/?")
    q = query_of(url)
    assert q == share | {
        "baselines": "none",
        "residuals": "0",
        "feed_clean": "0",
        "sources": "mnist,draw",
        "hide": "factor,seed",  # known ones only, in the panel's order
        "lang": "en",
    }
    assert "sources=mnist,draw" in url  # commas are kept readable
    again, notices = params.parse(q, 10_000)
    assert notices == [] and again["show"] is None  # a session that never chose models: the page's default, all


def test_a_link_uses_the_sessions_settings_and_language(st_fake):
    ss = st_fake.session_state
    ss.pg_models, ss.pg_baselines, ss.pg_residual, ss.pg_feed_clean = ["conv_dae"], ["median"], True, False
    ss.lang = "zh_CN"
    q = query_of(lesson.link({"source": "mnist", "digit": "1"}, list(params.SOURCES), []))
    assert q == {
        "source": "mnist",
        "digit": "1",
        "show": "conv_dae",
        "baselines": "median",
        "residuals": "1",
        "feed_clean": "0",
        "lang": "zh-CN",
    }


def test_a_link_starts_at_a_source_students_may_use(st_fake):
    share = {"source": "mnist", "digit": "7", "factor": "0.5"}
    q = query_of(lesson.link(share, ["upload", "draw"], []))
    assert q["source"] == "upload" and "digit" not in q and q["sources"] == "draw,upload"
    q = query_of(lesson.link(share, ["draw", "mnist"], []))
    assert q["source"] == "mnist" and q["digit"] == "7"  # allowed: kept as it is
    q = query_of(lesson.link({"source": "upload"}, ["draw"], []))
    assert q["source"] == "draw" and "digit" not in q  # a share with no digit at all
    q = query_of(lesson.link({"source": "draw", "digit": "7"}, ["mnist"], []))
    assert q["source"] == "mnist" and q["digit"] == "7"  # the first allowed is MNIST: its digit stays
    assert share == {"source": "mnist", "digit": "7", "factor": "0.5"}  # the caller's dict is not changed


def test_a_tutorial_link(st_fake):
    from ui import tutorial

    st_fake.context = Context("https://class.example/apps/ae/playground?digit=3")
    st_fake.session_state.lang = "zh_CN"
    url = lesson.link({"source": "mnist", "digit": "3"}, ["draw"], ["retrain", "factor"], start=tutorial.SLUGS[5])
    assert url.startswith("https://class.example/apps/ae/tutorial?")
    assert "hide=factor,retrain" in url  # commas are kept readable here too
    assert query_of(url) == {
        "baselines": "none",
        "residuals": "0",
        "feed_clean": "0",
        "sources": "draw",
        "hide": "factor,retrain",
        "lang": "zh-CN",
        "step": tutorial.SLUGS[5],
    }


def test_the_default_start_is_the_playground(st_fake):
    url = lesson.link({"source": "mnist"}, ["mnist"], [])
    assert url.startswith("http://class.example:8501/?") and "step" not in query_of(url)


def test_an_unknown_start_opens_the_playground(st_fake):
    url = lesson.link({"source": "mnist"}, ["mnist"], [], start="nowhere")
    assert url.startswith("http://class.example:8501/?") and "step" not in query_of(url)
