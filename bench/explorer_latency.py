"""The latent explorer's move latency against the playground's noise slider, in one run on one server.

Median time from a key press on the explorer's "PC 1" slider until all three decoded digits have changed, and from
a key press on the playground's "Noise factor" slider until all six output images have changed (noisy, three
models, two baselines), in headless Chromium. Prints both and their ratio (target: within 1.3x).
Usage: python bench/explorer_latency.py [--n 25]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from harness import browser  # noqa: E402

CHANGED = """([before, n, sel]) => {
  const imgs = [...document.querySelectorAll(sel)].slice(-n);
  return imgs.length === n && imgs.every((e, i) => e.getAttribute('src') !== before[i] && e.complete && e.naturalWidth > 0);
}"""
EXPLORER_IMGS = ".ae-ex-row img.ae-ex-dec"  # each model's decoded digit
PAUSE = 0.3  # seconds between moves, as a person pauses; the same for both pages


def measure(page, slider: str, sel: str, n_outputs: int, n: int) -> list[float]:
    """Seconds from each key press on `slider` until the last n_outputs images under `sel` have all changed."""
    browser.wait_idle(page, 120)
    handle = page.get_by_role("slider", name=slider)
    times = []
    for i in range(n + 3):  # the first presses warm caches
        before = page.eval_on_selector_all(sel, "els => els.map(e => e.getAttribute('src'))")[-n_outputs:]
        handle.focus()
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(CHANGED, arg=[before, n_outputs, sel], timeout=30_000, polling="raf")
        if i >= 3:
            times.append(time.perf_counter() - t0)
        browser.wait_idle(page)
        time.sleep(PAUSE)
    return times


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
        playground = measure(page, "Noise factor", browser.OUTPUT_IMGS, 6, a.n)
        page.get_by_role("link", name="Explore the code space").click()
        page.get_by_role("heading", name="The plane").wait_for(timeout=120_000)
        explorer = measure(page, "PC 1 (σ)", EXPLORER_IMGS, 3, a.n)
        b.close()
    res = {
        "explorer_median_ms": round(statistics.median(explorer) * 1000, 1),
        "playground_median_ms": round(statistics.median(playground) * 1000, 1),
        "ratio": round(statistics.median(explorer) / statistics.median(playground), 2),
        "explorer_p90_ms": round(sorted(explorer)[int(0.9 * len(explorer))] * 1000, 1),
        "playground_p90_ms": round(sorted(playground)[int(0.9 * len(playground))] * 1000, 1),
        "n": a.n,
        "target_ratio": 1.3,
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
