"""The load benchmarks work against the real app: run as scripts, as a user would, every action is measured."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def bench(script: str, *args: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.mark.browser
def test_browser_load_bench_slides_switches_and_draws(app_url):
    (r,) = bench("load.py", "--n", "1", "--seconds", "12", "--url", app_url)
    assert r["errors"] == 0 and r["stuck"] == 0, r
    assert r["actions"] >= 11 and r["slider_moves"] >= 5  # the 11th action is the first drawing
    for key in ("p50_ms", "p95_ms", "driver_p50_ms", "digit_switch_p50_ms", "draw_p50_ms"):
        assert r[key] is not None and r[key] > 0, (key, r)


def test_quantiles_are_nearest_rank_over_the_sorted_samples():
    """The benches' one summary function, on samples whose quantiles are known (unsorted, in seconds)."""
    from harness.procs import quantile_ms

    samples = [i / 1000 for i in range(100, 0, -1)]  # 100 ms down to 1 ms
    assert [quantile_ms(samples, q) for q in (0.0, 0.5, 0.95, 0.99, 1.0)] == [1.0, 51.0, 96.0, 100.0, 100.0]
    assert quantile_ms([0.25], 0.99) == 250.0 and quantile_ms([], 0.5) is None


def test_capacity_bench_measures_every_action_of_protocol_sessions(app_url, tmp_path):
    args = ["--sessions", "2", "--seconds", "8", "--arrival", "1", "--url", app_url]
    (r,) = bench("capacity.py", *args, "--json", str(tmp_path / "c.jsonl"), "--plot", str(tmp_path / "c.png"))
    assert r["sessions"] == 2 and r["errors"] == 0, r
    assert r["actions"] >= 2 * 3  # about one action per session every 2 s for 8 s
    assert r["p50_ms"] > 0 and r["load_p95_ms"] > 0
    assert sum(v for k, v in r.items() if k.endswith("_n")) == r["actions"]  # every action is counted under its kind
    assert r["rss_end_mb"] > 100 and 0 < r["server_cpu_share"] <= 1
    assert json.loads((tmp_path / "c.jsonl").read_text()) == r
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
