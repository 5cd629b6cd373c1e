"""Start the real app with `streamlit run` and drive it in Debian's headless Chromium (shared by tests and bench)."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(str):
    """The base URL of a running server (a str), with the path of its log."""

    log: Path


ERROR_BOX = "[data-testid=stException]"


def server_errors(url: Served, since: int = 0) -> str:
    """The server log's text after byte `since`, if it holds an uncaught exception (the page shows none: the config
    sets showErrorDetails = "none"); else ""."""
    text = url.log.read_bytes()[since:].decode(errors="replace")
    return text if "Traceback" in text or "Uncaught app exception" in text else ""


def assert_clean(page, url: Served, since: int = 0) -> None:
    """No error box on the page, and no exception in the server log since byte `since`."""
    assert page.locator(ERROR_BOX).count() == 0, "an error box is on the page"
    errors = server_errors(url, since)
    assert not errors, errors[-3000:]


@contextlib.contextmanager
def streamlit_server(
    script: str | Path = ROOT / "app.py",
    env: dict | None = None,
    timeout: float = 90,
    log_path: Path | None = None,
    serve: bool = False,
    args: list[str] | None = None,
    port: int | None = None,
):
    """Run `streamlit run script` on a free loopback port; yields the base URL (a Served, with .log). The server's
    output goes to log_path (default: a file in TMPDIR named after the port), unbuffered, so a check reads it all.
    serve=True runs the container's command instead, `python -m ui.serve` (app.py, loaded before it answers). `args`:
    more command-line options (`--secrets.files ...`); `port`: a port chosen beforehand (free_port())."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        *(["ui.serve"] if serve else ["streamlit", "run", str(script)]),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *(args or []),
    ]
    log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"ae-lab-streamlit-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = Served(f"http://127.0.0.1:{port}")
    url.log = Path(log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# The app root's script state changes the moment a run starts or ends; the status widget only shows after a run has
# lasted 500 ms, so on its own it reads "idle" early in every run (a cold, slow first run made that a flaky test).
_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def wait_idle(page, timeout: float = 60) -> None:
    """Wait until Streamlit has finished running the script (and any fragment)."""
    page.wait_for_function(_IDLE, timeout=timeout * 1000)


_QUIET = """([quiet, cap]) => new Promise(resolve => {
  const start = performance.now();
  let last = start;
  const seen = new MutationObserver(() => { last = performance.now(); });
  seen.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  const tick = () => {
    const now = performance.now();
    const images = [...document.images].every(i => i.complete);
    if ((now - last >= quiet && images) || now - start >= cap) { seen.disconnect(); resolve(now - start < cap); }
    else setTimeout(tick, 25);
  };
  setTimeout(tick, quiet);
})"""


def settled(page, timeout: float = 240, quiet_ms: int = 250, cap_ms: int = 4000) -> bool:
    """Wait until Streamlit is idle and then the page's DOM has not changed for quiet_ms with every image loaded: the
    last delta is laid out (axe measures colours and sizes). A page that keeps redrawing (a live training chart) is
    given cap_ms. Returns False when it was cut at the cap. Replaces fixed sleeps: a quiet page costs quiet_ms."""
    for _ in range(5):  # a rerun that started in the quiet time (a queued key press): wait for it too
        wait_idle(page, timeout)
        quiet = bool(page.evaluate(_QUIET, [quiet_ms, cap_ms]))
        if page.evaluate(_IDLE):
            return quiet
    return False


def page_lang(page, want: str, timeout: float = 60) -> str:
    """The page's <html lang> once it is `want`, or what it still is after timeout seconds. The language script sets
    it when its element mounts; that is outside the body, so settled() does not wait for it."""
    until(lambda: page.evaluate("document.documentElement.lang") == want, timeout)
    return page.evaluate("document.documentElement.lang")


def until(check, timeout: float = 60, every: float = 0.25):
    """Call check() until it returns something true, for at most timeout seconds; returns its last value (false when
    it never held: the caller's assert then fails with what it saw). For a page's answer that a loaded machine
    delays: a rerun may begin after settled() has already seen the page quiet."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


_CHANGED = """([before, n, sel]) => {
  const imgs = [...document.querySelectorAll(sel)].slice(-n);
  return imgs.length === n && imgs.every((e, i) => e.getAttribute('src') !== before[i] && e.complete && e.naturalWidth > 0);
}"""


def latency_ratio(ours: tuple[str, list[float]], reference: tuple[str, list[float]]) -> dict:
    """The benches' summary of two named lists of seconds: each median and p90 in ms, and the ratio of the medians."""
    (a, xs), (b, ys) = ours, reference

    def p90(v: list[float]) -> float:
        return round(sorted(v)[int(0.9 * len(v))] * 1000, 1)

    return {
        f"{a}_median_ms": round(statistics.median(xs) * 1000, 1),
        f"{b}_median_ms": round(statistics.median(ys) * 1000, 1),
        "ratio": round(statistics.median(xs) / statistics.median(ys), 2),
        f"{a}_p90_ms": p90(xs),
        f"{b}_p90_ms": p90(ys),
    }


def slider_latency(
    page, slider: str, sel: str, n_outputs: int, n: int, pause: float = 0.3, sweep: bool = False
) -> list[float]:
    """Seconds from each arrow-key press on the slider named `slider` until the last n_outputs images under `sel`
    have all changed and loaded, with `pause` seconds between presses (a person pauses between moves).

    Default: n timed presses after 3 that warm caches, alternating right and left (two values, so a server cache
    answers all but the first). sweep=True: n presses to the right with none untimed, each to a value the slider
    has not had yet (start it at its minimum: nothing is cached for a new value)."""
    handle = page.get_by_role("slider", name=slider)
    times = []
    for i in range(n if sweep else n + 3):
        before = page.eval_on_selector_all(sel, "els => els.map(e => e.getAttribute('src'))")[-n_outputs:]
        handle.focus()
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight" if sweep or i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(_CHANGED, arg=[before, n_outputs, sel], timeout=30_000, polling="raf")
        if sweep or i >= 3:
            times.append(time.perf_counter() - t0)
        wait_idle(page)
        time.sleep(pause)
    return times


def output_srcs(page) -> list[str]:
    """The src of every image in the playground's output row, in order (clean, noisy, models, baselines)."""
    return page.eval_on_selector_all(OUTPUT_IMGS, "els => els.map(e => e.getAttribute('src'))")


OUTPUT_IMGS = ".ae-panel > img"


@contextlib.contextmanager
def app_page(url: str, height: int = 1200):
    """Chromium on the app's start page; yields the page and fails if any JavaScript error happened."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1500, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)
        yield page
        assert not errors, errors
        b.close()
