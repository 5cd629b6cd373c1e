"""The sidebar's run estimate: this machine's speeds are measured once per process, in the background, never on a
page's run; until then the estimate says so."""

from __future__ import annotations

import threading
import time

from ui import jobs


def test_a_speed_is_measured_once_in_the_background_and_then_kept():
    speeds = jobs.Speeds()
    calls, gate = [], threading.Event()

    def measure(*args):
        calls.append(args)
        gate.wait(10)
        return 123.0

    args = ("train", "dense_dae", 128, "cpu", "fp32")
    assert [speeds.get(args, measure) for _ in range(20)] == [
        None
    ] * 20  # nobody waits: a blocking get would return 123
    gate.set()
    deadline = time.monotonic() + 10
    while speeds.get(args, measure) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert speeds.get(args, measure) == 123.0 and calls == [args]  # one measurement for all twenty callers


def test_a_failed_measurement_is_tried_again_by_the_next_caller():
    speeds, calls = jobs.Speeds(), []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return 7.0

    args = ("score", "conv_dae")
    assert speeds.get(args, flaky) is None
    deadline = time.monotonic() + 10
    while speeds.get(args, flaky) != 7.0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert speeds.get(args, flaky) == 7.0 and len(calls) == 2


def test_the_estimate_says_it_is_measuring_until_the_speed_is_in(monkeypatch):
    monkeypatch.setattr(jobs, "SPEEDS", jobs.Speeds())
    monkeypatch.setattr(jobs, "measure_rate", lambda *a: 1000.0)
    monkeypatch.setattr(jobs, "measure_scoring_rate", lambda *a: 5000.0)
    cfg = jobs.preset_config("basic_ae", "quick")
    assert jobs.estimate_text("basic_ae", cfg) == "measuring this machine's speed…"
    jobs.measure_speeds("basic_ae", cfg)
    assert jobs.speed_known("basic_ae", cfg)
    assert jobs.estimate_text("basic_ae", cfg).endswith(" here")
