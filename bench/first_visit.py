"""The first visit on a fresh server with the warm-up off: how soon the shipped results are on screen in Chromium.

Each round starts fresh servers (empty caches, AE_LAB_WARMUP=0) and times, from page.goto (once the server answers
its health check) to the first paint of what a visitor came for:
  - bare: bench/floor_app.py, one slider and five images (the floor any Streamlit page pays on a fresh server);
  - tutorial: /tutorial?step=results until its table shows the Dense and Conv DAEs' test-set PSNR;
  - scoreboard: /scoreboard until its table of every denoiser is drawn.
Each ae-lab page on a server started as the container starts it (`python -m ui.serve`, which loads torch, the data
and the weights before it answers: "serve") and by a plain `streamlit run app.py` ("run", whose first page loads
them). Both read the numbers saved with the weights (weights/results.safetensors): neither scores 10,000 digits.
Prints one JSON line: each median and its ratio to the bare page (target: under 2 s).
Usage: python bench/first_visit.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import browser  # noqa: E402

TARGET_S = 2.0
TABLE = "() => document.querySelectorAll(\"[data-testid='stDataFrame'] canvas, [data-testid='stDataFrame'] table\").length >= 1"


def timed(url: str, path: str, ready) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"{url}/{path}")
        ready(page)
        seconds = time.perf_counter() - t0
        assert not page.locator("[data-testid=stException]").count()
        b.close()
    return seconds


def bare(page) -> None:
    page.get_by_role("heading", name="Floor").wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stImage] img').length >= 5")


def tutorial(expect: list[str]):
    def ready(page) -> None:
        table = page.locator("[data-testid=stMain] [data-testid=stTable]")
        for text in expect:
            table.get_by_text(text).wait_for(timeout=120_000)

    return ready


def scoreboard(page) -> None:
    page.get_by_text("Test set at Gaussian 0.5").wait_for(timeout=120_000)
    page.wait_for_function(TABLE, timeout=120_000)


def main() -> int:
    from ae_core import results, store
    from ae_core.data import test_digits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    saved = results.load(store.WEIGHTS_DIR, test_digits())
    if saved is None:
        print(json.dumps({"error": "weights/results.safetensors is missing: run python -m ae_core.results"}))
        return 1
    s = saved[1].summary()
    expect = [f"{s[k]['psnr']:.2f}" for k in ("dense_dae", "conv_dae")]
    env = {"AE_LAB_WARMUP": "0"}
    times: dict[str, list[float]] = {
        k: [] for k in ("bare", "tutorial_serve", "scoreboard_serve", "tutorial_run", "scoreboard_run")
    }
    for _ in range(a.rounds):
        with browser.streamlit_server(ROOT / "bench" / "floor_app.py", env=env) as url:
            times["bare"].append(timed(url, "", bare))
        for serve, how in ((True, "serve"), (False, "run")):
            with browser.streamlit_server(env=env, serve=serve) as url:
                times[f"tutorial_{how}"].append(timed(url, "tutorial?step=results", tutorial(expect)))
            with browser.streamlit_server(env=env, serve=serve) as url:
                times[f"scoreboard_{how}"].append(timed(url, "scoreboard", scoreboard))
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "rounds": a.rounds,
        **{f"{k}_median_s": round(v, 2) for k, v in med.items()},
        **{f"{k}_all_s": [round(x, 2) for x in v] for k, v in times.items()},
        **{f"{k}_vs_bare": round(v / med["bare"], 2) for k, v in med.items() if k != "bare"},
        "target_s": TARGET_S,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
