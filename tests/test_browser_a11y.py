"""Every page for every student, in a real browser: axe-core's WCAG 2.x A/AA rules in English and 简体中文, light and
dark, in the states the issue names; a Chinese UI with no English left; and the whole app by keyboard alone."""

import json

import pytest
from playwright.sync_api import expect, sync_playwright

from harness import a11y, browser
from tests import images
from tests.conftest import needs_mnist

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_mnist]


def is_dark(rgb: str) -> bool:
    return sum(int(v) for v in rgb[rgb.index("(") + 1 : -1].split(",")[:3]) < 150


def settle(page) -> None:
    page.locator("h1").first.wait_for(timeout=120_000)
    browser.settled(page)  # idle, then no DOM change for 250 ms: the last delta is laid out


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


def start_long_run(page) -> None:
    """A run that is still training (the Tutorial preset: minutes), with its progress bar and live loss charts."""
    page.locator(".st-key-rt_preset [role=radiogroup] label").nth(1).click()
    settle(page)
    page.locator(".st-key-rt_start button").click()
    page.locator("[data-testid=stSidebar] [data-testid=stVegaLiteChart]").wait_for(timeout=120_000)  # the loss trace


def stop_run(page) -> None:
    page.locator("[class*='st-key-stop-'] button").first.click()
    page.locator("[class*='st-key-stop-']").first.wait_for(state="detached", timeout=60_000)


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
        states = [
            ("playground", "", None),
            ("playground with residuals", "", lambda: page.locator(".st-key-pg_residual label").click()),
            ("playground with an upload", "", lambda: upload(page, tmp_path)),
            ("train with a finished run", "train", None),
            ("train while a run trains", "train", lambda: start_long_run(page)),
            ("scoreboard after scoring", "scoreboard", None),
            ("inside", "inside", None),
            ("explore after a walk", "explorer", lambda: walk(page)),
        ]
        for lang in ("en", "zh-CN"):
            for name, path, act in states:
                page.emulate_media(color_scheme="light")
                go(page, app_url, path, lang)
                if act:
                    act()
                    settle(page)
                # The same state in both themes: the app follows the system's scheme as it changes (theme "auto").
                for scheme in ("light", "dark"):
                    page.emulate_media(color_scheme=scheme)
                    settle(page)
                    where = f"{name} ({lang}, {scheme})"
                    bg = page.evaluate(
                        "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
                    )
                    assert is_dark(bg) == (scheme == "dark"), (where, bg)  # the theme really is the one named
                    assert browser.page_lang(page, lang) == lang, where
                    v = a11y.violations(page)
                    if v:
                        found[where] = a11y.summary(v)
                    if lang != "en":
                        left = a11y.english_left(a11y.page_text(page))
                        if left:
                            english[where] = sorted(set(left))
                if name == "train while a run trains":
                    stop_run(page)
                browser.assert_clean(page, app_url)
        assert not errors, errors
        b.close()
    assert not found, "\n\n".join(f"{k}:\n{v}" for k, v in found.items())
    assert not english, json.dumps(english, ensure_ascii=False)


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!(document.activeElement && document.activeElement.closest(s))", selector)


def tab_to(page, selector: str, limit: int = 200) -> None:
    """Press Tab (only Tab) until the focus is inside `selector`."""
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_alone_picks_a_digit_moves_the_noise_retrains_and_reaches_every_page(app_url):
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url)
        settle(page)
        main = page.locator("[data-testid=stMain]")

        # Pick a digit: the class box, typed and confirmed with Enter, then the next one of that class.
        tab_to(page, ".st-key-pg_class")
        page.keyboard.type("3")
        page.keyboard.press("Enter")
        settle(page)
        expect(main).to_contain_text("label 3", timeout=30_000)
        tab_to(page, ".st-key-pg_pos input")
        page.keyboard.press("ArrowUp")  # a number input steps with the arrow keys
        settle(page)
        expect(page.locator(".st-key-pg_pos input")).to_have_value("1", timeout=30_000)

        # Change the noise: the slider moves with the arrow keys, and the output row follows.
        before = browser.output_srcs(page)
        tab_to(page, ".st-key-pg_factor input")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        settle(page)
        expect(page.get_by_role("slider", name="Noise factor")).to_have_value("0.6")
        assert browser.output_srcs(page)[1:] != before[1:]  # the noisy input and every output changed

        # Start and stop a retrain from the sidebar: the long preset (arrow keys in the radio group), Start, Stop.
        tab_to(page, ".st-key-rt_preset input")
        page.keyboard.press("ArrowDown")
        settle(page)
        tab_to(page, ".st-key-rt_start button")
        page.keyboard.press("Enter")
        stop = page.locator("[class*='st-key-stop-'] button")
        stop.wait_for(timeout=60_000)
        tab_to(page, "[class*='st-key-stop-'] button")
        page.keyboard.press("Enter")
        expect(page.locator("[data-testid=stSidebar]")).to_contain_text("stopped after", timeout=60_000)

        # Every page, through the sidebar's links.
        for path, title in (
            ("train", "Train"),
            ("scoreboard", "Scoreboard"),
            ("inside", "Inside the models"),
            ("explorer", "Explore the code space"),
            ("", "Playground"),
        ):
            tab_to(page, f"[data-testid=stSidebarNav] a[href='{app_url}/{path}']")
            page.keyboard.press("Enter")
            expect(page.locator("h1").first).to_have_text(title, timeout=120_000)
            settle(page)
        browser.assert_clean(page, app_url)
        assert not errors, errors
        b.close()


def test_the_language_switch_keeps_the_settings_and_the_address_carries_the_language(app_url):
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
        page.goto(app_url)
        settle(page)
        expect(page.locator("h1").first).to_have_text("实验台")  # the browser's language, with no lang= at all
        slider = page.locator(".st-key-pg_factor input")
        slider.focus()
        page.keyboard.press("ArrowLeft")
        settle(page)
        expect(slider).to_have_value("0.45")
        for lang, title, code in (("English", "Playground", "en"), ("简体中文", "实验台", "zh-CN")):
            page.locator(".st-key-lang_pick input").click()
            page.get_by_role("option", name=lang).click()
            expect(page.locator("h1").first).to_have_text(title, timeout=60_000)
            settle(page)
            assert f"lang={code}" in page.url
            assert browser.page_lang(page, code) == code
            expect(page.locator(".st-key-pg_factor input")).to_have_value("0.45")  # the reader's settings stay
            noise = page.locator(".ae-panel").nth(1).locator(".ae-name")
            expect(noise).to_have_text("Noisy" if code == "en" else "加噪")
        page.goto(page.url)  # a refresh keeps the chosen language
        settle(page)
        expect(page.locator("h1").first).to_have_text("实验台")
        # Another page's choices survive a switch too: the Scoreboard's noise type, picked in Chinese.
        page.locator("[data-testid=stSidebarNav] a[href$='/scoreboard']").click()
        settle(page)
        page.locator(".st-key-sb_noise input").click()
        page.get_by_role("option", name="椒盐").click()
        settle(page)
        page.locator(".st-key-lang_pick input").click()
        page.get_by_role("option", name="English").click()
        expect(page.get_by_role("heading", name="Test set at Salt & pepper 0.5")).to_be_visible(timeout=120_000)
        settle(page)
        browser.assert_clean(page, app_url)
        b.close()
