"""A fresh offline machine without MNIST: the app still starts, explains how to get the dataset, and runs on the
bundled sample of real test digits."""

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_offline_without_dataset_uses_the_bundled_sample(tmp_path):
    env = {"MNIST_DIR": str(tmp_path / "no-mnist-here"), "AE_LAB_OFFLINE": "1"}
    with browser.streamlit_server(env=env) as url, browser.app_page(url) as page:
        page.wait_for_function(f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=60_000)
        text = page.inner_text("[data-testid='stMain']")
        assert "bundled sample (1,000 MNIST test digits)" in text
        assert "Set MNIST_DIR" in text  # how to provide the full dataset
        assert "Test digit #0, label 7, from the bundled sample" in text
        browser.wait_idle(page)
        browser.assert_clean(page, url)
