"""The Scoreboard and Inside pages in a real browser: they render, and the charts follow the noise type."""

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_scoreboard_and_inside_pages(app_url, tmp_path):
    with browser.app_page(app_url, 1400) as page:
        page.get_by_role("link", name="Scoreboard").click()
        page.get_by_text("Test set at Gaussian 0.5").wait_for(timeout=120_000)
        charts = page.locator("[data-testid='stVegaLiteChart']")
        page.wait_for_function(
            "() => document.querySelectorAll(\"[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg\").length >= 4",
            timeout=180_000,
        )
        browser.settled(page, 180)
        page.mouse.move(0, 0)  # no tooltip over a chart
        before = charts.first.screenshot()
        page.screenshot(path=str(tmp_path / "scoreboard.png"), full_page=True)

        def noise(name: str) -> bytes:
            page.get_by_label("Noise type").click()
            page.get_by_role("option", name=name).click()
            page.get_by_text(f"Test set at {name} 0.5").wait_for(timeout=120_000)
            page.wait_for_function(
                "() => document.querySelectorAll(\"[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg\").length >= 4",
                timeout=60_000,
            )
            browser.settled(page, 180)
            page.mouse.move(0, 0)
            return charts.first.screenshot()

        # The robustness curve follows the noise type, and only it: masking draws another chart, and going back to
        # Gaussian draws the first one again, pixel for pixel (a spinner, a tooltip or a half-drawn chart would not).
        assert noise("Masking") != before
        assert noise("Gaussian") == before
        browser.assert_clean(page, app_url)

        page.get_by_role("link", name="Inside the models").click()
        page.get_by_role("heading", name="Inside the models").wait_for(timeout=60_000)
        for heading in ("Architecture", "Latent map", "Interpolation", "Stress tests"):
            page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        page.get_by_role("tab", name="Conv DAE").click()
        page.get_by_text("→ 4×4×32 →").wait_for(timeout=30_000)  # the tutorial's bottleneck, in the shape story
        page.screenshot(path=str(tmp_path / "inside.png"), full_page=True)
        browser.wait_idle(page)
        browser.assert_clean(page, app_url)
