"""The playground in a real browser: draw with the mouse, slide the noise, upload a bad file."""

import json
from pathlib import Path

import pytest
from PIL import Image

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(app_url):
    with browser.app_page(app_url) as pg:
        yield pg


def scores_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def test_draw_slide_and_bad_upload(page, app_url, tmp_path):
    page.wait_for_function(
        f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7",
        timeout=60_000,
    )
    browser.assert_clean(page, app_url)

    # Draw a 7 with mouse strokes.
    page.get_by_text("Draw", exact=True).click()
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=30_000)
    canvas = page.locator("canvas").last
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + 70, y0 + 60)
    page.mouse.down()
    for x, y in [(120, 60), (180, 60), (210, 62), (170, 140), (140, 200), (125, 235)]:
        page.mouse.move(x0 + x, y0 + y, steps=8)
    page.mouse.up()
    page.get_by_text("Preprocessing steps").wait_for(timeout=30_000)
    page.wait_for_function(
        f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7",
        timeout=30_000,
    )
    browser.wait_idle(page)
    text = scores_text(page)
    for name in ("Basic AE", "Dense DAE", "Conv DAE", "Median 3×3", "Non-local means"):
        assert name in text
    assert text.count("PSNR") >= 6 and text.count("SSIM") >= 6 and "★" in text
    page.screenshot(path=str(tmp_path / "drawn.png"), full_page=True)
    browser.assert_clean(page, app_url)

    # Move the noise slider with the keyboard: every output must change.
    before = browser.output_srcs(page)
    slider = page.get_by_role("slider", name="Noise factor")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "([before, sel]) => { const now = [...document.querySelectorAll(sel)].map(e => e.getAttribute('src'));"
        " return now.length === before.length && now.slice(-6).every((s, i) => s !== before[before.length - 6 + i]); }",
        arg=[before, browser.OUTPUT_IMGS],
        timeout=30_000,
    )
    assert "factor=0.45" in page.url

    # The downloads sit outside the row that a slider move reruns: they must still give the row as it is now.
    browser.wait_idle(page)
    with page.expect_download() as got:
        page.get_by_role("button", name="Download scores (JSON)").click()
    scores = json.loads(Path(got.value.path()).read_text())
    assert scores["settings"]["factor"] == 0.45 and scores["input"] == "your drawing"
    shown = page.locator("[data-key='conv_dae'] .ae-score").inner_text()
    assert f"PSNR {scores['scores']['conv_dae']['psnr']:.2f} dB" in shown
    with page.expect_download() as got:
        page.get_by_role("button", name="Download row (PNG)").click()
    assert Image.open(got.value.path()).size[0] > 7 * 28

    # Upload a PDF disguised as a PNG.
    page.get_by_text("Upload", exact=True).click()
    bad = tmp_path / "digit.png"
    bad.write_bytes(b"%PDF-1.4 not an image")
    page.locator("input[type=file]").set_input_files(str(bad))
    page.get_by_text("is not a PNG, JPEG, BMP, GIF or WebP image").wait_for(timeout=30_000)
    browser.wait_idle(page)
    browser.assert_clean(page, app_url)
