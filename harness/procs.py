"""Memory and CPU of server processes, read from /proc (Linux), for the benchmarks."""

from __future__ import annotations

import contextlib
import os
import subprocess


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
    out = subprocess.run(["pgrep", "-f", "serve.rowworker"], capture_output=True, text=True)
    kids = []
    for pid in (int(x) for x in out.stdout.split()):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) in pids:  # its parent is one of these servers
                kids.append(pid)
    return [*pids, *kids]


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
