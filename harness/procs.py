"""Memory and CPU of server processes (psutil: Linux, macOS, Windows), for the benchmarks and tests."""

from __future__ import annotations

import contextlib
import subprocess

import psutil


def quantile_ms(values: list[float], q: float) -> float | None:
    """The q-quantile of durations in seconds, in ms (nearest rank)."""
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1) if v else None


def server_pids(ports: list[int]) -> list[int]:
    """The `streamlit run` processes serving these ports."""
    out = subprocess.run(["pgrep", "-f", "|".join(f"server.port {p}" for p in ports)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def with_row_workers(pids: list[int]) -> list[int]:
    """These servers and their row-worker children (serve/rowworker.py), whose CPU and memory serve the same moves.
    Call it after a first page: a server starts its row worker then."""
    kids = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            kids += [c.pid for c in psutil.Process(pid).children() if "serve.rowworker" in " ".join(c.cmdline())]
    return [*pids, *kids]


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
    return total
