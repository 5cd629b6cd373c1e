"""bench/load.py's measuring works against the real app: every kind of action runs and is timed in the page."""

import asyncio

import pytest

from bench.load import run_load
from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_one_session_slides_switches_and_draws():
    with browser.streamlit_server(env={"AE_LAB_THREADS": "1"}) as url:
        r = asyncio.run(run_load(url, 1, 12))
    assert r["errors"] == 0 and r["stuck"] == 0, r
    assert r["actions"] >= 11 and r["slider_moves"] >= 5  # the 11th action is the first drawing
    for key in ("p50_ms", "p95_ms", "driver_p50_ms", "digit_switch_p50_ms", "draw_p50_ms"):
        assert r[key] is not None and r[key] > 0, (key, r)
    assert r["p50_ms"] <= r["p95_ms"]
