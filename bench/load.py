"""Classroom load: N concurrent headless-Chromium sessions draw, move the noise slider and switch digits.

Reports p50/p95 slider-to-render latency (with a single-session p50 measured in the same run), errors, stuck
sessions, and the server's RSS before and after. Loopback only; every loop is bounded in count and time.
Usage: python bench/load.py [--n 8 20] [--seconds 60] [--via-nginx]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright  # noqa: E402

from harness import browser  # noqa: E402
from harness.nginx import nginx_front  # noqa: E402
from harness.procs import cpu_s, quantile_ms, rss_mb, server_pids  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROW = browser.OUTPUT_IMGS
MAX_ACTIONS = 400  # per session, whatever the duration
STUCK_S = 20.0
SHOTS = os.environ.get("AE_LAB_LOAD_SHOTS")  # a folder: screenshot every stuck page there


# Armed before each action: a MutationObserver notes when the output images change and the frame after that (the
# render), and a keydown listener notes when the key reached the page. The browser measures its own latency, so the
# Python driver's scheduling on a busy machine is not counted; the driver's wall time is reported next to it.
ARM_JS = """([sel, timeoutMs]) => {
  if (!window.__aeKeyHook) {  // one listener per page: when the last key reached it
    window.__aeKeyHook = true;
    document.addEventListener('keydown', e => { window.__aeKeyT = e.timeStamp; }, {capture: true});
  }
  if (window.__aeDisarm) window.__aeDisarm();
  const srcs = () => [...document.querySelectorAll(sel)].map(e => e.getAttribute('src'));
  const before = srcs(), armed = performance.now(), slider = document.querySelector('[data-testid=stSlider] input');
  window.__aeSlider0 = slider && slider.value;
  window.__aeKeyT = null;
  window.__aeWait = new Promise((resolve, reject) => {
    const changed = () => { const now = srcs();
      return now.length > 1 && now.slice(1).some((s, i) => s !== before[i + 1]); };
    const obs = new MutationObserver(() => {
      if (!changed()) return;
      window.__aeDisarm();
      requestAnimationFrame(() => resolve({ms: performance.now() - (window.__aeKeyT ?? armed),
                                           traceback: document.body.textContent.includes('Traceback')}));
    });
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error('Timeout: outputs did not change')); },
                             timeoutMs);
    window.__aeDisarm = () => { obs.disconnect(); clearTimeout(timer); };
    obs.observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  });
  window.__aeWait.catch(() => {});  // a re-armed wait is not an unhandled rejection
}"""


STATE_JS = """(sel) => {
  const s = document.querySelector('[data-testid=stSlider] input');
  const run = document.querySelector('[data-testid=stStatusWidget]');
  return `slider=${window.__aeSlider0}->${s && s.value} focused=${document.activeElement === s} url=${location.search} `
       + `status=${run ? run.textContent.trim() : 'idle'} outputs=${document.querySelectorAll(sel).length}`;
}"""


async def arm(page) -> None:
    await page.evaluate(ARM_JS, [ROW, STUCK_S * 1000])


async def rendered(page) -> dict:
    """{'ms': in-page latency from the key press (or arming) to the frame after the outputs changed, 'traceback'}."""
    return await page.evaluate("() => window.__aeWait")


async def ready(page, timeout: float) -> None:
    await page.wait_for_function(f"() => document.querySelectorAll('{ROW}').length >= 6", timeout=timeout * 1000)


async def idle(page) -> None:
    """Streamlit has finished the run (its status widget is gone)."""
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=STUCK_S * 1000
    )


PAINTED_JS = """cs => cs.some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) return true;
  return false; })"""  # any of the component's canvases (background, drawing, in-progress stroke) has white ink


async def draw_stroke(page, stats: dict) -> None:
    """A 7-like stroke. A stroke made before the canvas component is ready paints nothing; a person sees the empty
    canvas and draws again, and so does this (counted as a redraw)."""
    for _ in range(3):
        box = await page.locator("canvas").last.bounding_box()
        await page.mouse.move(box["x"] + 80, box["y"] + 60)
        await page.mouse.down()
        await page.mouse.move(box["x"] + 200, box["y"] + 70, steps=5)
        await page.mouse.move(box["x"] + 120, box["y"] + 230, steps=5)
        await page.mouse.up()
        for _poll in range(10):
            if await page.locator("canvas").evaluate_all(PAINTED_JS):
                return
            await asyncio.sleep(0.2)
        stats["redraws"] += 1


async def session(ctx, url: str, seconds: float, stats: dict, i: int) -> None:
    page = await ctx.new_page()
    try:
        await page.goto(url, timeout=60_000)
        await ready(page, 90)
    except Exception as e:  # noqa: BLE001 - a session that cannot even load counts as an error
        stats["errors"].append(f"load: {type(e).__name__}")
        return
    deadline = time.monotonic() + seconds
    slider = page.get_by_role("slider", name="Noise factor")
    n, last = 0, "load"
    while time.monotonic() < deadline and n < MAX_ACTIONS:
        n += 1
        action = "digit" if n % 5 == 0 else "draw" if n % 11 == 0 else "slider"
        try:
            if action == "digit":
                await arm(page)
                await page.get_by_role("button", name="Random digit").click()
                r = await rendered(page)
                stats["digit"].append(r["ms"] / 1000)
            elif action == "draw":  # a stroke on the canvas, then back to MNIST digits
                await page.locator(".st-key-pg_source").get_by_text("Draw", exact=True).click()
                await page.locator("canvas").last.wait_for(timeout=STUCK_S * 1000)
                await idle(page)
                await arm(page)  # the row is empty until something is drawn
                await draw_stroke(page, stats)
                r = await rendered(page)
                stats["draw"].append(r["ms"] / 1000)
                await arm(page)  # back to MNIST digits: wait for their outputs, not the drawing's old ones
                await page.locator(".st-key-pg_source").get_by_text("MNIST digit", exact=True).click()
                await rendered(page)
            else:  # move the slider one step with the keyboard
                await slider.focus()
                await arm(page)
                t0 = time.perf_counter()
                await page.keyboard.press("ArrowRight" if n % 2 else "ArrowLeft")
                r = await rendered(page)
                stats["driver"].append(time.perf_counter() - t0)
                stats["latency"].append(r["ms"] / 1000)
            if r["traceback"]:
                stats["errors"].append(f"session {i} {action}: traceback on page")
            last = action
        except Exception as e:  # noqa: BLE001
            msg = str(e).splitlines()[0][:120]
            kind = "stuck" if "Timeout" in type(e).__name__ or "Timeout" in msg else "errors"
            with contextlib.suppress(Exception):  # what the page showed, to tell a lost input from a slow server
                msg += " | " + await page.evaluate(STATE_JS, ROW)
                if SHOTS:
                    await page.screenshot(path=f"{SHOTS}/stuck-{i}-{n}-{action}.png")
            stats[kind].append(f"session {i} {action} after {last}: {type(e).__name__}: {msg}")
            last = f"failed {action}"
            with contextlib.suppress(Exception):
                await page.reload()
                await ready(page, 60)
    stats["actions"] += n
    await page.close()


async def run_load(url: str, n: int, seconds: float) -> dict:
    stats = {
        "latency": [],
        "driver": [],
        "digit": [],
        "draw": [],
        "redraws": 0,
        "errors": [],
        "stuck": [],
        "actions": 0,
    }
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS)
        ctxs = [await b.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
        await asyncio.gather(*(session(c, url, seconds, stats, i) for i, c in enumerate(ctxs)))
        await b.close()
    return {
        "sessions": n,
        "slider_moves": len(stats["latency"]),
        "actions": stats["actions"],
        "p50_ms": quantile_ms(stats["latency"], 0.5),
        "p95_ms": quantile_ms(stats["latency"], 0.95),
        "driver_p50_ms": quantile_ms(stats["driver"], 0.5),
        "driver_p95_ms": quantile_ms(stats["driver"], 0.95),
        "digit_switch_p50_ms": quantile_ms(stats["digit"], 0.5),
        "digit_switch_p95_ms": quantile_ms(stats["digit"], 0.95),
        "draw_p50_ms": quantile_ms(stats["draw"], 0.5),
        "redraws": stats["redraws"],
        "errors": len(stats["errors"]),
        "stuck": len(stats["stuck"]),
        "error_samples": stats["errors"][:3],
        "stuck_samples": stats["stuck"][:3],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[8, 20])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--via-nginx", action="store_true", help="2 replicas behind deploy/nginx.conf")
    ap.add_argument("--url", help="an ae-lab already running on this machine (loopback only)")
    a = ap.parse_args(argv)
    env = {"AE_LAB_THREADS": "1"}
    with contextlib.ExitStack() as stack:
        if a.url:
            url, ports = a.url.rstrip("/"), [int(a.url.rstrip("/").rsplit(":", 1)[1])]
        elif a.via_nginx:
            urls = [stack.enter_context(browser.streamlit_server(env=env)) for _ in range(2)]
            ports = [int(u.rsplit(":", 1)[1]) for u in urls]
            url = stack.enter_context(nginx_front(ports))
        else:
            url = stack.enter_context(browser.streamlit_server(env=env))
            ports = [int(url.rsplit(":", 1)[1])]
        pids = server_pids(ports)
        single = asyncio.run(run_load(url, 1, min(20, a.seconds)))
        rss0 = rss_mb(pids)
        results = []
        for n in a.n:
            c0, t0 = cpu_s(pids), time.monotonic()
            r = asyncio.run(run_load(url, n, a.seconds))
            # How much of the 2 cores the app itself used; the rest went to the N browsers on the same machine.
            r["server_cpu_share"] = round((cpu_s(pids) - c0) / (time.monotonic() - t0) / (os.cpu_count() or 1), 2)
            r["single_session_p50_ms"] = single["p50_ms"]
            r["rss_before_mb"], r["rss_after_mb"] = round(rss0, 1), round(rss_mb(pids), 1)
            r["rss_growth_mb"] = round(r["rss_after_mb"] - r["rss_before_mb"], 1)
            r["via"] = "nginx, 2 replicas" if a.via_nginx and not a.url else "1 server"
            print(json.dumps(r), flush=True)
            results.append(r)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AE_LAB_THREADS", "1")
    sys.exit(main())
