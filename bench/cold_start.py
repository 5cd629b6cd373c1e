"""Cold start: seconds from spawning `streamlit run app.py` to the playground's full output row in headless Chromium.

Spawns a fresh server (nothing cached, nothing imported), opens the app as soon as /_stcore/health answers, and
stops the clock when all seven images of the output row (clean, noisy, three models, two baselines) are drawn.
Prints one JSON line per run and the median against the 4-s target of issue 21. Usage:
python bench/cold_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import browser  # noqa: E402

TARGET_S = 4.0


def once() -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)  # the browser starts before the clock: it is not the server's cold start
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        with browser.streamlit_server(env={"AE_LAB_WARMUP": "0"}) as url:
            healthy = time.perf_counter() - t0
            page.goto(url)
            page.wait_for_function(
                f"() => [...document.querySelectorAll('{browser.OUTPUT_IMGS}')].filter(i => i.complete).length >= 7",
                timeout=120_000,
                polling=50,
            )
            drawn = time.perf_counter() - t0
        b.close()
    return {"health_s": round(healthy, 2), "first_row_s": round(drawn, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    runs = [once() for _ in range(ap.parse_args().runs)]
    for r in runs:
        print(json.dumps(r))
    median = statistics.median(r["first_row_s"] for r in runs)
    print(json.dumps({"median_first_row_s": median, "target_s": TARGET_S, "met": median <= TARGET_S}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
