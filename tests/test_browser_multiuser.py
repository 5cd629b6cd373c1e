"""Two browsers on one server: one student's Inside page never breaks another's playground, and a refresh in the
middle of a retrain finds the same run still training."""

import json
import re
import time

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDEBAR = '[data-testid="stSidebar"]'


def sidebar_text(page) -> str:
    return page.locator(SIDEBAR).inner_text()


def test_inside_reruns_never_break_another_students_playground(app_url, tmp_path):
    url = app_url
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        a_page = b.new_context(viewport={"width": 1400, "height": 1200}).new_page()  # student A
        b_page = b.new_context(viewport={"width": 1400, "height": 1200}).new_page()  # student B
        a_page.goto(f"{url}/inside")
        a_page.get_by_role("heading", name="Architecture").wait_for(timeout=120_000)
        browser.wait_idle(a_page, 120)
        b_page.goto(url)
        b_page.wait_for_function(
            f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=120_000
        )
        toggle = a_page.get_by_text("Add Gaussian 0.5 noise first")
        slider = b_page.get_by_role("slider", name="Noise factor")
        # Until both have done enough (8 Inside reruns, 24 slider moves between them), or 60 s at most.
        moves, toggles, deadline = 0, 0, time.monotonic() + 60
        while time.monotonic() < deadline and (moves < 24 or toggles < 8):
            toggle.click()  # A's Inside page reruns: architecture tables and feature maps of the shared models
            toggles += 1
            for _ in range(3):
                before = browser.output_srcs(b_page)
                slider.focus()
                b_page.keyboard.press("ArrowLeft" if moves % 8 < 4 else "ArrowRight")
                b_page.wait_for_function(  # the outputs changed, or an error box appeared instead
                    "([sel, before, err]) => { const s = [...document.querySelectorAll(sel)].map(e => e.src);"
                    " return document.querySelector(err) || (s.length >= 7 && s.join() !== before.join()); }",
                    arg=[browser.OUTPUT_IMGS, before, browser.ERROR_BOX],
                    timeout=60_000,
                )
                moves += 1
                assert b_page.locator(browser.ERROR_BOX).count() == 0, f"error box on B after {moves} moves"
            assert a_page.locator(browser.ERROR_BOX).count() == 0, f"error box on A after {toggles} toggles"
        browser.wait_idle(a_page, 120)
        b_page.screenshot(path=str(tmp_path / "b-playground.png"), full_page=True)
        assert a_page.locator(browser.ERROR_BOX).count() == 0 and b_page.locator(browser.ERROR_BOX).count() == 0
        b.close()
    assert moves >= 20 and toggles >= 5


def test_a_refresh_in_the_middle_of_a_retrain_shows_the_same_run_training(app_url, tmp_path):
    url = app_url
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_context(viewport={"width": 1400, "height": 1200}).new_page()
        page.goto(url)
        page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        sb = page.locator(SIDEBAR)
        sb.get_by_label("Model to retrain").click()
        page.get_by_role("option", name="Conv DAE").click()  # minutes per epoch here: it is still running later
        sb.get_by_text("Tutorial recipe (all 60k images)").click()
        page.wait_for_function("() => document.body.innerText.includes('10 epochs on 60,000 images')", timeout=30_000)
        sb.get_by_role("button", name="Start retraining").click()
        running = re.compile(r"(#\d+ Conv DAE): epoch \d+/10")
        page.wait_for_function(f"() => /epoch \\d+\\/10/.test(document.querySelector('{SIDEBAR}').innerText)")
        label = running.search(sidebar_text(page)).group(1)
        assert "ae_lab_browser" not in page.url  # the shareable address carries no private token

        page.reload()  # F5
        page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        page.wait_for_function(
            f"() => /{re.escape(label)}: epoch \\d+\\/10/.test(document.querySelector('{SIDEBAR}').innerText)",
            timeout=60_000,
        )
        bar = f"{SIDEBAR} [data-testid='stProgress'] [role='progressbar']"
        first = int(page.locator(bar).get_attribute("aria-valuenow"))
        page.screenshot(path=str(tmp_path / "after-reload.png"), full_page=True)
        # The same run goes on: its progress bar advances after the reload.
        page.wait_for_function(
            f"() => {{ const b = document.querySelector({json.dumps(bar)});"
            f" return b && +b.getAttribute('aria-valuenow') > {first}; }}",
            timeout=120_000,
        )
        page.get_by_role("link", name="Train").click()
        page.get_by_text(re.compile(re.escape(label) + r" · training")).wait_for(timeout=30_000)

        # Another browser on the same server sees none of it.
        other = b.new_context().new_page()
        other.goto(url)
        other.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        browser.wait_idle(other, 60)
        assert "Conv DAE: epoch" not in other.locator(SIDEBAR).inner_text()

        page.get_by_role("button", name="Stop").first.click()
        page.get_by_text(re.compile(re.escape(label) + r" · (stopped|done)|stopped after")).first.wait_for(
            timeout=60_000
        )
        b.close()
