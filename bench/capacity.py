"""How many students one ae-lab server holds: N protocol-level sessions, no browsers.

    python bench/capacity.py --sessions 10 25 50 100 200 --seconds 60 [--url URL] [--replicas 2]
        [--arrival 30] [--json OUT] [--plot OUT.png]
    python bench/capacity.py --cpu [--cpu-sessions 10] [--moves 200] [--rounds 2] [--fresh]

Each session speaks Streamlit's own WebSocket protocol (harness/stclient.py): it opens the playground like a browser,
on a random test digit of its own (set MNIST_DIR for all 10,000), and waits for the run to finish, then acts like a student, about every 2 s with jitter: it moves the noise slider (a
fragment rerun carrying the full widget state, as the browser sends it), now and then switches the digit class (a
full rerun), and now and then presses "Random digit". Latency is from the BackMsg sent to the ForwardMsg that ends
the script run. Sessions arrive spread over --arrival seconds; their first page load is reported on its own.

It starts its own server (or 2 replicas behind deploy/nginx.conf with --replicas 2) unless --url is given, and only
ever targets loopback. One JSON line per N; the plot shows p95 against N.

--cpu measures server CPU per slider move instead, for ae-lab and, in the same run, for the floor: a bare Streamlit
fragment of one slider and one HTML block of five inline 28x28 PNGs (bench/floor_fragment.py), served with the same
settings. Both servers run side by side; rounds alternate between them. Each of --cpu-sessions sessions opens its own
random test digit and moves the slider --moves times to random values, 0.05 apart, as fast as the server answers.
The figure is server CPU seconds (user + system, from /proc) divided by the moves served, with and without the
sessions' first page loads. With --fresh each session instead visits each of the other 20 factors of its digit once:
every move is to a row nobody has asked for, the case of a class spread over its own digits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import browser, stclient  # noqa: E402
from harness.nginx import nginx_front  # noqa: E402
from harness.procs import cpu_s, quantile_ms, rss_mb, server_pids, with_row_workers  # noqa: E402

PERIOD = 2.0  # seconds between one student's actions, on average
JITTER = 0.5  # +- uniform


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: list[float] = []  # every measured action, seconds
        self.ended: list[float] = []  # when each of them ended (time.monotonic)
        self.by_kind: dict[str, list[float]] = {}
        self.loads: list[float] = []  # first page loads
        self.errors: list[str] = []

    def add(self, kind: str, run: stclient.Run) -> None:
        with self.lock:
            if not run.ok:
                self.errors.append(f"{kind}: {run.status} {run.exceptions[:1]}")
                return
            if kind == "load":
                self.loads.append(run.seconds)
            else:
                self.latency.append(run.seconds)
                self.ended.append(time.monotonic())
                self.by_kind.setdefault(kind, []).append(run.seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def n_digits() -> int:
    """How many test digits the server has: the full 10,000 with MNIST_DIR, else the bundled 1,000."""
    return 10_000 if os.environ.get("MNIST_DIR") else 1_000


def student(url: str, tally: Tally, start_at: float, stop_at: float, seed: int) -> None:
    rng = random.Random(seed)
    time.sleep(max(0.0, start_at - time.monotonic()))
    try:
        with stclient.Session(url, timeout=60) as s:
            tally.add("load", s.open(query=f"digit={rng.randrange(n_digits())}"))  # each on a digit of their own
            next_at = time.monotonic() + rng.uniform(0, PERIOD)
            while True:
                time.sleep(max(0.0, next_at - time.monotonic()))
                if time.monotonic() >= stop_at:
                    return
                r = rng.random()
                if r < 0.8:
                    kind, run = "slider", s.set("pg_factor", round(0.05 * rng.randrange(21), 2))
                elif r < 0.92:
                    kind, run = "digit switch", s.set("pg_class", rng.randrange(10))
                else:
                    kind, run = "random digit", s.click("Random digit")
                tally.add(kind, run)
                if not run.ok:
                    s.open()  # what a student does after an error: reload
                next_at += PERIOD + rng.uniform(-JITTER, JITTER)
    except (stclient.ProtocolError, OSError, KeyError) as e:
        tally.error(f"{type(e).__name__}: {e}"[:200])


def run_capacity(url: str, sessions: int, seconds: float, arrival: float, pids: list[int], seed: int = 0) -> dict:
    """N students for `seconds` after the last one arrived; the figures as one dict."""
    tally = Tally()
    t0 = time.monotonic()
    starts = [t0 + arrival * i / max(1, sessions) for i in range(sessions)]
    stop = t0 + arrival + seconds
    rss0, c0 = rss_mb(pids), cpu_s(pids)
    threads = [
        threading.Thread(target=student, args=(url, tally, starts[i], stop, seed * 10_000 + i), daemon=True)
        for i in range(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + arrival + 120)
    wall = time.monotonic() - t0
    lat = tally.latency
    out = {
        "sessions": sessions,
        "seconds": round(wall, 1),
        "actions": len(lat),
        "actions_per_s": round(len(lat) / max(wall - arrival / 2, 1e-9), 1),  # sessions are active half the arrival
        "p50_ms": quantile_ms(lat, 0.5),
        "p95_ms": quantile_ms(lat, 0.95),
        "p99_ms": quantile_ms(lat, 0.99),
        "errors": len(tally.errors),
        "load_p50_ms": quantile_ms(tally.loads, 0.5),
        "load_p95_ms": quantile_ms(tally.loads, 0.95),
        "rss_start_mb": round(rss0, 1),
        "rss_end_mb": round(rss_mb(pids), 1),
        "server_cpu_share": round((cpu_s(pids) - c0) / wall / (os.cpu_count() or 1), 2),
    }
    window = 10.0  # p95 per 10 s of the run: shows whether slow actions cluster (arrivals, warm-up) or spread out
    out["p95_ms_per_10s"] = [
        quantile_ms(
            [v for v, e in zip(lat, tally.ended, strict=True) if t0 + i * window <= e < t0 + (i + 1) * window], 0.95
        )
        for i in range(int(wall // window) + 1)
    ]
    for kind, values in sorted(tally.by_kind.items()):
        out[f"{kind.replace(' ', '_')}_p95_ms"] = quantile_ms(values, 0.95)
        out[f"{kind.replace(' ', '_')}_n"] = len(values)
    if tally.errors:
        out["first_errors"] = tally.errors[:3]
    return out


def _cpu_round(url: str, pids: list[int], sessions: int, moves: int, seed: int, fresh: bool = False) -> dict:
    """One round of --cpu on one server: CPU for the first loads, then for the moves. fresh: each session moves once
    to each of the 20 other factors of its digit, so every move asks for a row nobody has asked for."""
    rng = random.Random(seed)
    clients = [stclient.Session(url, timeout=60) for _ in range(sessions)]
    c0 = cpu_s(pids)
    for s in clients:
        run = s.open(query=f"digit={rng.randrange(n_digits())}")  # every student on a digit of their own
        if not run.ok:
            raise stclient.ProtocolError(f"first load failed: {run.status} {run.exceptions[:1]}")
    c1 = cpu_s(pids)
    lat: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()

    def mover(s: stclient.Session, seed: int) -> None:
        r = random.Random(seed)
        if fresh:
            steps = [i for i in range(21) if i != 10]  # the page opened at 0.5
            r.shuffle(steps)
        else:
            steps = [r.randrange(21) for _ in range(moves)]
        for step in steps:
            run = s.set("pg_factor", round(0.05 * step, 2))
            with lock:
                (lat if run.ok else failed).append(run.seconds if run.ok else run.status)

    threads = [threading.Thread(target=mover, args=(s, seed * 1000 + i)) for i, s in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c2 = cpu_s(pids)
    for s in clients:
        s.close()
    return {
        "load_cpu_s": c1 - c0,
        "move_cpu_s": c2 - c1,
        "moves": len(lat),
        "loads": sessions,
        "lat": lat,
        "failed": failed,
    }


def settle(pids: list[int], timeout: float = 90.0) -> None:
    """Wait until the servers are idle (the first visit starts background work, such as the speed measurement)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c0 = cpu_s(pids)
        time.sleep(1.0)
        if cpu_s(pids) - c0 < 0.02:
            return


def cpu_per_move(sessions: int = 10, moves: int = 200, rounds: int = 2, fresh: bool = False) -> dict:
    """Server CPU per slider move: ae-lab against the bare fragment, rounds alternating, in one run."""
    root = Path(__file__).resolve().parent.parent
    env = {"AE_LAB_THREADS": "1", "AE_LAB_WARMUP": "0"}
    totals = {"app": [], "floor": []}
    with (
        browser.streamlit_server(root / "app.py", env=env) as app,
        browser.streamlit_server(root / "bench" / "floor_fragment.py", env=env) as floor,
    ):
        urls = {"app": app, "floor": floor}
        pids = {k: server_pids([int(u.rsplit(":", 1)[1])]) for k, u in urls.items()}
        for k, u in urls.items():  # imports and model loading happen before the clock starts
            with stclient.Session(u) as warm:
                warm.open()
            pids[k] = with_row_workers(pids[k])  # a row's CPU in the child counts too
            settle(pids[k])
        for r in range(rounds):
            for k in ("floor", "app") if r % 2 == 0 else ("app", "floor"):
                totals[k].append(_cpu_round(urls[k], pids[k], sessions, moves, seed=r, fresh=fresh))
    out: dict = {"sessions": sessions, "moves_per_session": 20 if fresh else moves, "rounds": rounds, "fresh": fresh}
    for k, rs in totals.items():
        n, loads = sum(x["moves"] for x in rs), sum(x["loads"] for x in rs)
        move_cpu, load_cpu = sum(x["move_cpu_s"] for x in rs), sum(x["load_cpu_s"] for x in rs)
        out[k] = {
            "moves": n,
            "cpu_ms_per_move": round(1000 * move_cpu / max(n, 1), 2),
            "cpu_ms_per_move_with_loads": round(1000 * (move_cpu + load_cpu) / max(n, 1), 2),
            "cpu_ms_per_first_load": round(1000 * load_cpu / max(loads, 1), 1),
            "p50_ms": quantile_ms([v for x in rs for v in x["lat"]], 0.5),
            "failed": sum(len(x["failed"]) for x in rs),
        }
    for what in ("cpu_ms_per_move", "cpu_ms_per_move_with_loads"):
        out[f"ratio_{what.removeprefix('cpu_ms_')}"] = round(out["app"][what] / out["floor"][what], 2)
    out["target_ratio"] = 1.3
    return out


def plot(results: list[dict], path: Path, title: str) -> None:
    """p95 (and p50) against N as a small PNG, with the 1 s goal marked."""
    from PIL import Image, ImageDraw

    w, h, m = 640, 400, 60
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    ns = [r["sessions"] for r in results]
    top = max([r["p95_ms"] or 0 for r in results] + [1200]) * 1.1
    xmax = max(ns) * 1.05

    def xy(n: float, ms: float) -> tuple[float, float]:
        return m + (w - 2 * m) * n / xmax, h - m - (h - 2 * m) * ms / top

    d.rectangle([m, m, w - m, h - m], outline=(0, 0, 0))
    d.line([xy(0, 1000), xy(xmax, 1000)], fill=(200, 60, 60))
    d.text((w - m - 60, xy(0, 1000)[1] - 12), "1 s goal", fill=(200, 60, 60))
    for key, colour in (("p95_ms", (30, 90, 200)), ("p50_ms", (120, 170, 230))):
        pts = [xy(r["sessions"], r[key] or 0) for r in results]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=3)
        for x, y in pts:
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        d.text((m + 8, m + (8 if key == "p95_ms" else 22)), key.replace("_ms", ""), fill=colour)
    for n in ns:
        d.text((xy(n, 0)[0] - 8, h - m + 6), str(n), fill=(0, 0, 0))
    for ms in range(0, int(top), max(250, int(top / 6) // 250 * 250)):
        d.text((8, xy(0, ms)[1] - 6), f"{ms / 1000:g} s", fill=(0, 0, 0))
    d.text((m, 20), title, fill=(0, 0, 0))
    d.text((w // 2 - 40, h - 22), "sessions (N)", fill=(0, 0, 0))
    im.save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/capacity.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--seconds", type=float, default=60, help="measured time after the last session arrived")
    ap.add_argument("--arrival", type=float, default=None, help="seconds over which sessions arrive (default 30)")
    ap.add_argument("--url", help="an ae-lab already running on this machine (loopback only)")
    ap.add_argument("--replicas", type=int, choices=[1, 2], default=1, help="2: two servers behind nginx")
    ap.add_argument("--json", type=Path, help="also append the JSON lines here")
    ap.add_argument("--plot", type=Path, help="write a PNG of p95 against N here")
    ap.add_argument("--cpu", action="store_true", help="server CPU per slider move, ae-lab against the floor")
    ap.add_argument("--cpu-sessions", type=int, default=10, help="--cpu: sessions per round")
    ap.add_argument("--moves", type=int, default=200, help="--cpu: slider moves per session and round")
    ap.add_argument("--rounds", type=int, default=2, help="--cpu: rounds per server, alternating")
    ap.add_argument("--fresh", action="store_true", help="--cpu: every move to a (digit, factor) nobody asked for")
    a = ap.parse_args(argv)
    if a.cpu:
        r = cpu_per_move(a.cpu_sessions, a.moves, a.rounds, a.fresh)
        print(json.dumps(r), flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(r) + "\n")
        return 0
    if any(n < 1 for n in a.sessions) or a.seconds <= 0:
        ap.error("--sessions and --seconds must be positive")
    arrival = 30.0 if a.arrival is None else a.arrival
    env = {"AE_LAB_THREADS": "1"}
    with contextlib.ExitStack() as stack:
        if a.url:
            url, pids = a.url, server_pids([int(a.url.rsplit(":", 1)[1].strip("/"))])
        elif a.replicas == 2:
            urls = [stack.enter_context(browser.streamlit_server(env=env)) for _ in range(2)]
            ports = [int(u.rsplit(":", 1)[1]) for u in urls]
            url, pids = stack.enter_context(nginx_front(ports)), server_pids(ports)
            for u in urls:  # both replicas load torch and the models before the clock starts
                with stclient.Session(u) as warm:
                    warm.open()
        else:
            url = stack.enter_context(browser.streamlit_server(env=env))
            pids = server_pids([int(url.rsplit(":", 1)[1])])
        if not a.url or a.replicas == 1:
            with stclient.Session(url) as warm:
                warm.open()
        pids = with_row_workers(pids)  # started by the first page; their CPU and memory serve the same moves
        results = []
        for n in a.sessions:
            r = run_capacity(url, n, a.seconds, min(arrival, a.seconds), pids) | {"replicas": a.replicas}
            results.append(r)
            line = json.dumps(r)
            print(line, flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(line + "\n")
    if a.plot:
        plot(results, a.plot, f"ae-lab capacity, {a.replicas} process(es), {os.cpu_count()} cores: latency per action")
    return 0


if __name__ == "__main__":
    sys.exit(main())
