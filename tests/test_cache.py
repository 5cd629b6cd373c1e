"""The server-wide result cache: one computation per key, no waiting across keys, a memory cap."""

import threading
import time

import numpy as np
import pytest
import torch

from serve.cache import ComputeCache, nbytes


def test_different_keys_compute_at_the_same_time():
    """Each waits for the other to start: one lock for every key would deadlock here (and time out)."""
    cache = ComputeCache(10**9)
    started = {k: threading.Event() for k in "ab"}
    results = {}

    def compute(me, other):
        started[me].set()
        assert started[other].wait(10), f"{other} never started while {me} was computing"
        return me

    threads = [
        threading.Thread(target=lambda k=k, o=o: results.update({k: cache.get(k, lambda: compute(k, o))}))
        for k, o in (("a", "b"), ("b", "a"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"a": "a", "b": "b"}


def test_one_key_is_computed_once_for_many_callers():
    cache, calls = ComputeCache(10**9), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return torch.ones(3)

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get(("table", "sha"), slow))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 6 and all(o is out[0] for o in out)


def test_memory_cap_evicts_least_recently_used():
    mb = torch.zeros(256 * 1024)  # 1 MiB of float32
    cache = ComputeCache(3 * 1024 * 1024 + 1000)
    for k in "abc":
        cache.get(k, lambda: mb.clone())
    cache.get("a", lambda: None)  # a is used again: b is now the oldest
    cache.get("d", lambda: mb.clone())
    assert "b" not in cache and all(k in cache for k in "acd")
    assert cache.total_bytes <= cache.max_bytes
    cache.get("huge", lambda: torch.zeros(2 * 1024 * 1024))  # larger than the cap: kept alone, the newest
    assert "huge" in cache and "a" not in cache


def test_a_failed_computation_is_not_cached():
    cache = ComputeCache(10**9)
    with pytest.raises(ZeroDivisionError):
        cache.get("k", lambda: 1 / 0)
    assert "k" not in cache and cache.get("k", lambda: 5) == 5


def test_nbytes_counts_tensors_through_containers():
    from ae_core.inspect import PCA

    p = PCA(torch.zeros(10, dtype=torch.float64), torch.zeros(10, 2, dtype=torch.float64), torch.zeros(5, 2))
    assert nbytes(p) == 80 + 160 + 40
    # Each dict entry adds 64 bytes of overhead, each list or tuple slot 8, anything else counts as 64.
    assert nbytes({"x": [torch.zeros(4), np.zeros(3, np.uint8)], "y": (torch.zeros(2, dtype=torch.int64),)}) == (
        (16 + 3 + 2 * 8) + (16 + 8) + 2 * 64
    )
    assert nbytes([1, "a"]) == 2 * 64 + 2 * 8 and nbytes({}) == 0 and nbytes(()) == 0


def test_the_cap_is_inclusive_and_a_lone_entry_stays():
    mb = torch.zeros(256 * 1024)  # exactly 1 MiB
    cache = ComputeCache(2 * 1024 * 1024)
    cache.get("a", lambda: mb.clone())
    cache.get("b", lambda: mb.clone())
    assert "a" in cache and "b" in cache and cache.total_bytes == cache.max_bytes  # exactly at the cap: both kept
    cache.get("c", lambda: torch.zeros(512 * 1024))  # 2 MiB: both older entries go, the new one stays
    assert "a" not in cache and "b" not in cache and "c" in cache


def waiting_on_the_key_lock(thread: threading.Thread) -> bool:
    """The thread is blocked at ComputeCache.get's `with lock:` (its innermost Python frame is on that line; read by
    its text, so a renamed copy of the function, as mutmut makes, is recognised too)."""
    import linecache
    import sys

    frame = sys._current_frames().get(thread.ident)
    return frame is not None and linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip() == "with lock:"


def test_a_waiter_computes_after_a_failed_computation_and_no_lock_is_left_behind():
    cache = ComputeCache(10**9)
    started, release = threading.Event(), threading.Event()
    results = {}

    def failing():
        started.set()
        release.wait(10)
        raise ValueError("first caller fails")

    def first():
        try:
            cache.get("k", failing)
        except ValueError as e:
            results["first"] = str(e)

    def second():
        results["second"] = cache.get("k", lambda: 5)

    a = threading.Thread(target=first)
    a.start()
    started.wait(10)
    b = threading.Thread(target=second)
    b.start()
    while not waiting_on_the_key_lock(b):  # b must wait on the lock that a holds, not find the key free later
        assert b.is_alive()
        time.sleep(0.01)
    release.set()
    a.join(10)
    b.join(10)
    assert results == {"first": "first caller fails", "second": 5}
    assert cache.get("k", lambda: 6) == 5 and cache._locks == {}  # cached once; the per-key locks are gone
