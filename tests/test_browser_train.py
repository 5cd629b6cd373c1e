"""Retraining in a real browser: start from the sidebar, watch it, switch pages, stop, and use the new weights."""

import re

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sidebar_text(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def epoch_in_sidebar(page) -> int:
    m = re.search(r"epoch (\d+)/(\d+)", sidebar_text(page))
    return int(m.group(1)) if m else 0


def test_sidebar_retrain_switch_pages_stop_and_use(app_url, tmp_path):
    with browser.app_page(app_url, 1300) as page:
        page.wait_for_function(f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=60_000)
        dense_before = page.locator(".ae-panel[data-key='dense_dae'] > img").get_attribute("src")

        sb = page.locator("[data-testid='stSidebar']")
        sb.get_by_label("Model to retrain").click()
        page.get_by_role("option", name="Dense DAE").click()
        sb.get_by_text("Tutorial recipe (all 60k images)").click()
        page.wait_for_function("() => document.body.innerText.includes('30 epochs on 60,000 images')", timeout=30_000)
        sb.get_by_role("button", name="Start retraining").click()

        # The progress bar advances and the loss sparkline appears.
        page.wait_for_function(
            "() => /epoch \\d+\\/30/.test(document.querySelector(\"[data-testid='stSidebar']\").innerText)",
            timeout=60_000,
        )
        first = epoch_in_sidebar(page)
        sb.locator("[data-testid='stProgress']").wait_for(timeout=10_000)
        sb.locator("[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']").first.wait_for(
            timeout=30_000
        )
        page.wait_for_function(
            f"() => {{ const m = document.querySelector(\"[data-testid='stSidebar']\").innerText.match(/epoch (\\d+)\\/30/); return m && +m[1] >= {first + 1}; }}",
            timeout=60_000,
        )

        # Switch to the Train page while it runs: the job is still running there.
        page.get_by_role("link", name="Train").click()
        page.get_by_role("heading", name="Train", exact=True).wait_for(timeout=30_000)
        page.get_by_text(re.compile(r"#\d+ Dense DAE · training")).wait_for(timeout=30_000)
        page.wait_for_function("() => document.body.innerText.includes('images/s')", timeout=30_000)
        page.screenshot(path=str(tmp_path / "train-running.png"), full_page=True)

        # Back to the playground, then stop once at least two epochs are complete.
        page.get_by_role("link", name="Playground").click()
        page.get_by_role("heading", name="Playground").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => { const m = document.querySelector(\"[data-testid='stSidebar']\").innerText.match(/epoch (\\d+)\\/30/); return m && +m[1] >= 3; }",
            timeout=120_000,
        )
        sb.get_by_role("button", name="Stop").click()
        page.wait_for_function(
            "() => /stopped after \\d+ epoch/.test(document.querySelector(\"[data-testid='stSidebar']\").innerText)",
            timeout=30_000,
        )
        assert int(re.search(r"stopped after (\d+) epoch", sidebar_text(page)).group(1)) >= 2

        # The playground now uses the run's weights for Dense DAE.
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='stSidebar']\").innerText.includes('Dense DAE: use run')",
            timeout=30_000,
        )
        page.wait_for_function(
            "([sel, before]) => { const e = document.querySelector(sel); return e && e.getAttribute('src') !== before; }",
            arg=[".ae-panel[data-key='dense_dae'] > img", dense_before],
            timeout=30_000,
        )
        sb.get_by_text("Weights in use").click()
        page.wait_for_function(
            "() => /Dense DAE: run #\\d+ Dense DAE/.test(document.querySelector(\"[data-testid='stSidebar']\").innerText)",
            timeout=10_000,
        )
        page.screenshot(path=str(tmp_path / "after-stop.png"), full_page=True)
        browser.assert_clean(page, app_url)
