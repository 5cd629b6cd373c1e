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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright  # noqa: E402

from tests import browser  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROW = browser.OUTPUT_IMGS
MAX_ACTIONS = 400  # per session, whatever the duration
STUCK_S = 20.0


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return total / 1024


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def changed(page, before: list[str], timeout: float) -> None:
    await page.wait_for_function(
        "([sel, before]) => { const now = [...document.querySelectorAll(sel)].map(e => e.getAttribute('src'));"
        " return now.length > 1 && now.slice(1).some((s, i) => s !== before[i + 1]); }",
        arg=[ROW, before],
        timeout=timeout * 1000,
        polling="raf",
    )


async def srcs(page) -> list[str]:
    return await page.eval_on_selector_all(ROW, "els => els.map(e => e.getAttribute('src'))")


async def session(ctx, url: str, seconds: float, stats: dict, i: int) -> None:
    page = await ctx.new_page()
    try:
        await page.goto(url, timeout=60_000)
        await page.wait_for_function(f"() => document.querySelectorAll('{ROW}').length >= 6", timeout=90_000)
    except Exception as e:  # noqa: BLE001 - a session that cannot even load counts as an error
        stats["errors"].append(f"load: {type(e).__name__}")
        return
    deadline = time.monotonic() + seconds
    slider = page.get_by_role("slider", name="Noise factor")
    n = 0
    while time.monotonic() < deadline and n < MAX_ACTIONS:
        n += 1
        action = "digit" if n % 5 == 0 else "draw" if n % 11 == 0 else "slider"
        try:
            before = await srcs(page)
            if n % 5 == 0:  # switch digits
                await page.get_by_role("button", name="Random digit").click()
                await changed(page, before, STUCK_S)
            elif n % 11 == 0:  # draw a stroke, then go back to MNIST digits
                await page.get_by_text("Draw", exact=True).click()
                canvas = page.locator("canvas").last
                await canvas.wait_for(timeout=STUCK_S * 1000)
                box = await canvas.bounding_box()
                await page.mouse.move(box["x"] + 80, box["y"] + 60)
                await page.mouse.down()
                await page.mouse.move(box["x"] + 200, box["y"] + 70, steps=5)
                await page.mouse.move(box["x"] + 120, box["y"] + 230, steps=5)
                await page.mouse.up()
                await changed(page, before, STUCK_S)
                await page.get_by_text("MNIST digit", exact=True).click()
                await page.wait_for_function(
                    f"() => document.querySelectorAll('{ROW}').length >= 6", timeout=STUCK_S * 1000
                )
            else:  # move the slider
                await slider.focus()
                t0 = time.perf_counter()
                await page.keyboard.press("ArrowRight" if n % 2 else "ArrowLeft")
                await changed(page, before, STUCK_S)
                stats["latency"].append(time.perf_counter() - t0)
            if "Traceback" in await page.inner_text("body"):
                stats["errors"].append("traceback on page")
        except Exception as e:  # noqa: BLE001
            stats["stuck" if "Timeout" in type(e).__name__ else "errors"].append(
                f"session {i} {action}: {type(e).__name__}"
            )
            with contextlib.suppress(Exception):
                await page.reload()
                await page.wait_for_function(f"() => document.querySelectorAll('{ROW}').length >= 6", timeout=60_000)
    stats["actions"] += n
    await page.close()


async def run_load(url: str, n: int, seconds: float) -> dict:
    stats = {"latency": [], "errors": [], "stuck": [], "actions": 0}
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS)
        ctxs = [await b.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
        await asyncio.gather(*(session(c, url, seconds, stats, i) for i, c in enumerate(ctxs)))
        await b.close()
    lat = sorted(stats["latency"])
    pct = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)) if lat else (lambda q: None)
    return {
        "sessions": n,
        "slider_moves": len(lat),
        "actions": stats["actions"],
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "errors": len(stats["errors"]),
        "stuck": len(stats["stuck"]),
        "error_samples": stats["errors"][:3],
    }


@contextlib.contextmanager
def nginx_front(ports: list[int]):
    """Debian's nginx on a free loopback port, in front of the replicas (deploy/nginx.conf with the ports filled in)."""
    front = browser.free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ae-lab-nginx-"))
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("127.0.0.1:8501", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:8502", f"127.0.0.1:{ports[1]}")
    conf = conf.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{front}").replace("/tmp/ae-lab-nginx", str(tmp))
    (tmp / "nginx.conf").write_text(conf)
    proc = subprocess.Popen(
        [
            shutil.which("nginx") or "/usr/sbin/nginx",
            "-c",
            str(tmp / "nginx.conf"),
            "-p",
            str(tmp),
            "-g",
            "daemon off;",
        ],
        stderr=subprocess.STDOUT,
        stdout=open(tmp / "out.log", "w"),  # noqa: SIM115 - lives as long as nginx
    )
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(tmp / 'out.log').read_text()}")
        yield f"http://127.0.0.1:{front}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[8, 20])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--via-nginx", action="store_true", help="2 replicas behind deploy/nginx.conf")
    a = ap.parse_args()
    env = {"AE_LAB_THREADS": "1"}
    with contextlib.ExitStack() as stack:
        if a.via_nginx:
            urls = [stack.enter_context(browser.streamlit_server(env=env)) for _ in range(2)]
            ports = [int(u.rsplit(":", 1)[1]) for u in urls]
            url = stack.enter_context(nginx_front(ports))
        else:
            url = stack.enter_context(browser.streamlit_server(env=env))
            ports = [int(url.rsplit(":", 1)[1])]
        pids = [
            int(x)
            for x in subprocess.run(
                ["pgrep", "-f", "|".join(f"server.port {p}" for p in ports)], capture_output=True, text=True
            ).stdout.split()
        ]
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
            r["via"] = "nginx, 2 replicas" if a.via_nginx else "1 server"
            print(json.dumps(r), flush=True)
            results.append(r)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AE_LAB_THREADS", "1")
    sys.exit(main())
