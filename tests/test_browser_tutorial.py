"""The Tutorial in a real browser, as a learner walks it: in English and 简体中文, every step's one action by keyboard
changes its figure, the numbers shown are ae_core's, axe-core finds no WCAG 2.2 A/AA violation in light or dark, no
English is left in Chinese, and the last step hands its digit to the Playground."""

import json
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from ae_core import codesize, results, store
from ae_core.data import load_mnist
from harness import a11y, browser
from tests.conftest import needs_mnist
from ui import tutorial as tut

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_mnist]

FIGURES = "[data-testid=stMain] [data-testid=stImage] img"
TITLES = {
    "en": [t for _, t in tut.STEPS],
    "zh-CN": ["数据：一个数字就是 784 个数", None, None, None, "隐层应该多大？", None, "卷积编码器", None, None, None],
}


def settle(page) -> None:
    page.locator("h1").first.wait_for(timeout=120_000)
    browser.settled(page)  # idle, then no DOM change for 250 ms (the language script has rewritten the last redraw)


def srcs(page) -> list[str]:
    return page.eval_on_selector_all(FIGURES, "els => els.map(e => e.getAttribute('src'))")


def main_text(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def key(page, widget: str, press: str, n: int = 1) -> None:
    """Focus a step's control by its key and press an arrow key n times, as a keyboard user does."""
    target = page.locator(f".st-key-{widget} [role=slider], .st-key-{widget} input").first
    target.focus()
    for _ in range(n):
        page.keyboard.press(press)
    if target.get_attribute("type") == "number":
        page.keyboard.press("Enter")
    settle(page)


def at(page, slug: str, timeout: float = 180) -> bool:
    """The address shows the step (its run may start after settle() saw a quiet page: wait for it)."""
    return bool(browser.until(lambda: re.search(rf"[?&]step={slug}(&|$)", page.url), timeout))


def press_next(page) -> None:
    """Next, by keyboard: the focus goes to the button and Enter presses it. The address can follow more than 60 s
    later under stress-ng (a second Enter after 30 s then went through too, and the walk skipped a step): the loop
    waits for it with at()."""
    page.locator(".st-key-tu_next button").press("Enter")
    settle(page)


def act(page, slug: str) -> None:
    """The step's one thing to do."""
    if slug == "data":
        key(page, "tu_digit", "ArrowUp", 2)
    elif slug == "network":
        page.locator(".st-key-tu_layer [role=radiogroup] label").nth(1).click()
        settle(page)
    elif slug == "training":
        key(page, "tu_epoch", "Home")
    elif slug == "codes":
        key(page, "tu_start", "ArrowUp", 3)
    elif slug == "hidden":
        key(page, "tu_size", "ArrowLeft", 3)
    elif slug == "noise":
        key(page, "tu_factor", "ArrowRight", 4)
    elif slug == "encoder":
        key(page, "tu_enc", "End")
    elif slug == "decoder":
        key(page, "tu_dec", "End")
    elif slug == "results":
        key(page, "tu_test", "ArrowUp", 5)


def check(page, where: str, lang: str, found: dict, english: dict) -> None:
    assert browser.page_lang(page, lang) == lang, where
    v = a11y.violations(page)
    if v:
        found[where] = a11y.summary(v)
    if lang != "en":
        left = a11y.english_left(a11y.page_text(page))
        if left:
            english[where] = sorted(set(left))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_learner_walks_every_step_by_keyboard(app_url, lang):
    found, english = {}, {}
    test = load_mnist(train=False)
    saved = results.load(store.WEIGHTS_DIR, test)[1].summary()
    sizes = codesize.load(store.WEIGHTS_DIR).scores
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100}, color_scheme="light")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{app_url}/tutorial?lang={lang}")
        settle(page)
        for i, slug in enumerate(tut.SLUGS):
            where = f"{slug} ({lang}, light)"
            # The step's address (the Next press's rerun may start after settle() saw a quiet page: wait for it).
            assert at(page, slug), (where, page.url)
            heading = page.locator("[data-testid=stMain] h2").first
            if TITLES[lang][i]:
                expect(heading).to_have_text(TITLES[lang][i])
            check(page, where, lang, found, english)
            before, text = srcs(page), main_text(page)
            if slug == "next":
                break
            act(page, slug)
            if slug == "training":
                assert browser.until(lambda text=text: main_text(page) != text), where  # the marked epoch's sentence
            else:
                after = browser.until(lambda before=before: (a := srcs(page)) != before and all(a) and a)
                assert after, where  # the figure answered
            # The answer has begun to arrive: let its run end before reading the page or pressing Next (a button
            # redrawn under the focus loses it, and the Enter with it).
            settle(page)
            if slug == "data":
                assert "#2" in main_text(page)
            if slug == "hidden":
                assert f"{sizes[8]['psnr']:.2f} dB" in main_text(page), where  # 64 -> 8 units, its saved score
            if slug == "results":
                for row in ("dense_dae", "conv_dae", "noisy_input"):
                    assert f"{saved[row]['psnr']:.2f}" in main_text(page), (where, row)
            press_next(page)
        # The last step hands its digit (the results step's #7: 2 + 5) and noise (0.7) to the Playground.
        page.locator(".st-key-tu_to_playground button").click()
        page.locator(".st-key-pg_pos").wait_for(timeout=120_000)
        settle(page)
        assert "#7" in main_text(page) and "digit=7" in page.url and "factor=0.7" in page.url, page.url
        browser.assert_clean(page, app_url)
        assert not errors, errors
        b.close()
    assert not found, "\n\n".join(f"{k}:\n{v}" for k, v in found.items())
    assert not english, json.dumps(english, ensure_ascii=False)


def test_every_step_passes_axe_in_the_dark_theme_in_both_languages(app_url):
    found, english = {}, {}
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100}, color_scheme="dark")
        for lang in ("en", "zh-CN"):
            for slug in tut.SLUGS:
                page.goto(f"{app_url}/tutorial?lang={lang}&step={slug}")
                settle(page)
                check(page, f"{slug} ({lang}, dark)", lang, found, english)
        browser.assert_clean(page, app_url)
        b.close()
    assert not found, "\n\n".join(f"{k}:\n{v}" for k, v in found.items())
    assert not english, json.dumps(english, ensure_ascii=False)
