"""Median time from a noise-slider key press until every output image has changed, in headless Chromium.

Measures the playground and, in the same run, two floors, and prints each and the playground's ratio to it:
- "floor": a page of one slider and five images (st.image, bench/floor_app.py);
- "fragment floor": a fragment of one slider and one HTML block of five inline PNGs (bench/floor_fragment.py), the
  way the playground draws its row.
Two kinds of move:
- "sweep": 20 presses to the right from 0.0 on a digit nobody has looked at, so every move is to a new value and the
  server runs the models, the classifier, the metrics and the baselines (nothing is cached);
- "revisit": --n presses alternating between two values, so the server answers from its cache.
Usage: python bench/ui_latency.py [--n 25] [--pause 0.3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from harness import browser  # noqa: E402

SWEEP = 20  # presses from 0.0 to 1.0 in steps of 0.05


def measure(url: str, n_outputs: int, n: int, heading: str, sel: str, pause: float, sweep: bool) -> list[float]:
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1500, "height": 1200})
        page.goto(url)
        page.get_by_role("heading", name=heading).wait_for(timeout=90_000)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[sel, n_outputs], timeout=90_000
        )
        browser.wait_idle(page)
        times = browser.slider_latency(page, "Noise factor", sel, n_outputs, n, pause, sweep)  # same for both apps
        b.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=25, help="timed presses of the revisit pattern")
    ap.add_argument("--pause", type=float, default=0.3, help="seconds between presses (0: back-to-back)")
    a = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    floor_sel = "[data-testid='stMain'] [data-testid='stImage'] img"
    digits = random.Random().sample(range(1000), 2)  # in the bundled sample too: digits nobody opened yet
    res: dict = {"n_revisit": a.n, "n_sweep": SWEEP, "pause_s": a.pause, "target_ratio": 1.3}
    with (
        browser.streamlit_server(root / "bench" / "floor_app.py") as floor_url,
        browser.streamlit_server(root / "bench" / "floor_fragment.py") as fragment_url,
        browser.streamlit_server(root / "app.py", env={"AE_LAB_WARMUP": "0"}) as app_url,
    ):
        for kind, sweep, n in (("sweep", True, SWEEP), ("revisit", False, a.n)):
            floor = measure(floor_url, 5, n, "Floor", floor_sel, a.pause, sweep)
            fragment = measure(fragment_url, 5, n, "Floor", "[data-testid='stHtml'] img", a.pause, sweep)
            query = f"/?digit={digits[sweep]}&factor={0 if sweep else 0.5}"
            ours = measure(app_url + query, 6, n, "Playground", browser.OUTPUT_IMGS, a.pause, sweep)  # noisy + 5
            res[kind] = browser.latency_ratio(("playground", ours), ("floor", floor))
            vs = browser.latency_ratio(("playground", ours), ("fragment_floor", fragment))
            res[kind] |= {"fragment_floor_median_ms": vs["fragment_floor_median_ms"], "fragment_ratio": vs["ratio"]}
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
