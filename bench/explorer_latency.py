"""The latent explorer's move latency against the playground's noise slider, in one run on one server.

Median time from a key press on the explorer's "PC 1" slider until all three decoded digits have changed, and from
a key press on the playground's "Noise factor" slider until all six output images have changed (noisy, three
models, two baselines), in headless Chromium. Prints both and their ratio (target: within 1.3x).
Usage: python bench/explorer_latency.py [--n 25]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from harness import browser  # noqa: E402

EXPLORER_IMGS = ".ae-ex-row img.ae-ex-dec"  # each model's decoded digit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=25)
    a = ap.parse_args()
    with browser.streamlit_server() as url, sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(url)
        page.get_by_role("heading", name="Playground").wait_for(timeout=90_000)
        page.wait_for_function("n => document.querySelectorAll('.ae-panel > img').length >= n", arg=6, timeout=90_000)
        browser.wait_idle(page, 120)
        playground = browser.slider_latency(page, "Noise factor", browser.OUTPUT_IMGS, 6, a.n)
        page.get_by_role("link", name="Explore the code space").click()
        page.get_by_role("heading", name="The plane").wait_for(timeout=120_000)
        page.wait_for_function("s => document.querySelectorAll(s).length === 3", arg=EXPLORER_IMGS, timeout=120_000)
        browser.wait_idle(page, 120)
        explorer = browser.slider_latency(page, "PC 1 (σ)", EXPLORER_IMGS, 3, a.n)
        b.close()
    res = browser.latency_ratio(("explorer", explorer), ("playground", playground)) | {
        "n": a.n,
        "target_ratio": 1.3,
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
