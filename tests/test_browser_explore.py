"""The latent explorer and lesson links in a real browser."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DECODED = ".ae-ex-row img.ae-ex-dec"


def decoded(page) -> list[str]:
    """The src of the three large decoded digits."""
    return page.eval_on_selector_all(DECODED, "els => els.map(e => e.getAttribute('src'))")


def wait_decoded(page, timeout: float = 120) -> list[str]:
    """The first visit builds three code spaces, so the heading can be up long before the digits are drawn."""
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length === 3", arg=DECODED, timeout=timeout * 1000, polling=200
    )
    browser.wait_idle(page, timeout)
    return decoded(page)


def wait_changed(page, before: list[str], timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = decoded(page)
        if len(now) == len(before) and all(a != b for a, b in zip(now, before, strict=True)):
            return now
        time.sleep(0.1)
    raise AssertionError(f"the decoded digits did not all change: {before} -> {decoded(page)}")


def settle(page) -> None:
    """Key presses queue reruns: wait until the last has finished, not only the first."""
    browser.settled(page, quiet_ms=400)


def test_moving_through_the_plane_redraws_all_three_models(app_url, tmp_path):
    with browser.app_page(app_url, 1400) as page:
        page.get_by_role("link", name="Explore the code space").click()
        page.get_by_role("heading", name="The plane").wait_for(timeout=120_000)
        first = wait_decoded(page)
        assert len(first) == 3

        slider = page.get_by_role("slider", name="PC 1 (σ)")
        slider.focus()
        for _ in range(10):  # half a standard deviation to the right
            page.keyboard.press("ArrowRight")
        moved = wait_changed(page, first)
        settle(page)
        moved = decoded(page)
        page.get_by_role("slider", name="PC 2 (σ)").focus()
        for _ in range(20):
            page.keyboard.press("ArrowLeft")
        wait_changed(page, moved)
        settle(page)
        moved = decoded(page)

        # A click on the Conv DAE's map (the last of the three) jumps there: the sliders and digits follow.
        pc1 = page.locator(".st-key-ex_z1 [data-testid='stSliderThumbValue']")
        before_pc1 = pc1.inner_text()
        chart = page.locator("[data-testid='stVegaLiteChart']").first
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        # The view ends with the Conv DAE's plot (the legend is below): 25 px in from the right is its right part.
        page.mouse.click(box["x"] + box["width"] - 25, box["y"] + box["height"] * 0.3)
        wait_changed(page, moved)
        browser.wait_idle(page)
        assert float(pc1.inner_text()) > float(before_pc1) + 1  # PC 1 jumped to the right of the plane
        browser.assert_clean(page, app_url)
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)


def test_a_lesson_link_made_in_the_app_opens_only_the_chosen_controls(app_url, tmp_path):
    from playwright.sync_api import expect

    with browser.app_page(app_url, 1400) as page:
        page.goto(f"{app_url}/?source=draw&factor=0.3")
        page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        settle(page)
        page.get_by_text("Make a lesson link").click()
        # The panel draws its content on the rerun its opening asks for: on a saturated machine that took over 30 s.
        expect(page.get_by_role("checkbox", name="Noise type")).to_be_visible(timeout=120_000)
        for label in ("Noise type", "Noise factor", "The sidebar's Retrain panel and the Train page"):
            box = page.get_by_role("checkbox", name=label)
            for _ in range(5):  # a click that lands while the last tick's rerun redraws the panel can be lost
                if not box.is_checked():
                    break
                box.click(force=True)
                settle(page)
        code = page.locator("[data-testid='stCode'] code").last
        code.get_by_text("hide=noise_type,factor,retrain").wait_for(timeout=30_000)  # the last tick's rerun is in
        link = code.inner_text().strip()
        q = parse_qs(urlsplit(link).query)
        assert q["hide"] == ["noise_type,factor,retrain"] and q["sources"] == ["draw"] and q["factor"] == ["0.3"]

        page.goto(link)
        page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        browser.wait_idle(page, 120)
        page.get_by_text("Set for this lesson: Gaussian noise at 0.3").wait_for(timeout=30_000)
        # Wait for what the lesson still shows before counting what it hides: the page draws in several deltas.
        expect(page.get_by_role("spinbutton", name="Noise seed")).to_have_count(1, timeout=30_000)
        page.locator("canvas").first.wait_for(timeout=30_000)  # the drawing canvas
        browser.wait_idle(page)
        assert page.get_by_role("slider", name="Noise factor").count() == 0
        assert page.get_by_text("Noise type", exact=True).count() == 0
        assert page.get_by_role("heading", name="Retrain").count() == 0
        assert page.get_by_role("link", name="Train", exact=True).count() == 0
        assert page.get_by_role("radiogroup").count() == 0  # one input source: no choice
        assert page.get_by_role("spinbutton", name="Noise seed").count() == 1  # still the students' to change
        assert page.get_by_text("Make a lesson link").count() == 0
        browser.assert_clean(page, app_url)
        page.screenshot(path=str(tmp_path / "lesson.png"), full_page=False)
        # A refresh keeps the lesson.
        page.reload()
        page.get_by_text("Set for this lesson: Gaussian noise at 0.3").wait_for(timeout=60_000)
