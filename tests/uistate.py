"""A stand-in for the few `st` attributes the page logic reads (session state, the URL, the login), so that logic can
be tested as plain functions, in milliseconds: mutation runs (`make mutate`) use these tests, not AppTests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


class State(dict):
    """st.session_state: a dict that also reads and writes as attributes."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __delattr__(self, key):
        del self[key]


class Context:
    def __init__(self, url):
        self._url = url

    @property
    def url(self):
        if isinstance(self._url, Exception):
            raise self._url
        return self._url


def fake_st(url: str | Exception | None = "http://class.example:8501/", query: dict | None = None):
    return SimpleNamespace(
        session_state=State(),
        query_params=dict(query or {}),
        context=Context(url),
        secrets={},
        user={},
    )


@pytest.fixture
def st_fake(monkeypatch):
    """One fake `st`, put in every ui module whose logic these tests call (and in ui.i18n, for the language)."""
    import ui.classroom
    import ui.i18n
    import ui.lesson
    import ui.playground_state
    import ui.session

    fake = fake_st()
    for module in (ui.i18n, ui.lesson, ui.classroom, ui.playground_state, ui.session):
        monkeypatch.setattr(module, "st", fake)
    return fake
