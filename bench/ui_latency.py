"""Median time from a noise-slider key press until every output image has changed, in headless Chromium.

Measures the playground and, in the same run, a floor app (one slider, five numpy images), and prints both and
their ratio. Usage: python bench/ui_latency.py [--n 25]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from harness import browser  # noqa: E402

PAUSE = 0.3  # seconds between key presses (--pause); 0 measures back-to-back presses


def measure(url: str, n_outputs: int, n: int, heading: str, sel: str) -> list[float]:
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1500, "height": 1200})
        page.goto(url)
        page.get_by_role("heading", name=heading).wait_for(timeout=90_000)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[sel, n_outputs], timeout=90_000
        )
        browser.wait_idle(page)
        times = browser.slider_latency(page, "Noise factor", sel, n_outputs, n, PAUSE)  # the same for both apps
        b.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--pause", type=float, default=0.3, help="seconds between presses (0: back-to-back)")
    a = ap.parse_args()
    global PAUSE
    PAUSE = a.pause
    root = Path(__file__).resolve().parent.parent
    with browser.streamlit_server(root / "bench" / "floor_app.py") as url:
        floor = measure(url, 5, a.n, "Floor", "[data-testid='stMain'] [data-testid='stImage'] img")
    with browser.streamlit_server(root / "app.py") as url:
        ours = measure(url, 6, a.n, "Playground", browser.OUTPUT_IMGS)  # noisy, 3 models, 2 baselines
    res = browser.latency_ratio(("playground", ours), ("floor", floor)) | {
        "n": a.n,
        "pause_s": a.pause,
        "target_ratio": 1.5,
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
