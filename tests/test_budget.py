"""The memory ceiling and the admission of costly work (serve/budget.py), with real threads and a fake memory reading."""

import threading
import time

import pytest

from serve import budget as bd
from serve.budget import Budget, Busy
from serve.quota import JobRefused

MB = 2**20


def test_the_ceiling_comes_from_the_setting_then_the_cgroup(tmp_path, monkeypatch):
    (tmp_path / "memory.max").write_text("3221225472\n")  # a 3 GiB pod (cgroup v2)
    assert bd.cgroup_limit_bytes(tmp_path) == 3 * 2**30
    (tmp_path / "memory.max").write_text("max\n")  # no limit: v2 says "max"
    assert bd.cgroup_limit_bytes(tmp_path) is None
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("2147483648\n")  # cgroup v1
    assert bd.cgroup_limit_bytes(tmp_path) == 2 * 2**30
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert bd.cgroup_limit_bytes(tmp_path) is None
    monkeypatch.setenv("AE_LAB_MEMORY_MB", "1536")
    assert bd.ceiling_bytes() == 1536 * MB


def test_a_step_that_would_pass_the_safe_part_is_refused_and_holds_nothing():
    b = Budget(ceiling=1000 * MB, used=lambda: 700 * MB)  # admits while the total stays under 800 MB
    with b.admit(90 * MB):
        assert b.in_use() == 790 * MB  # reserved while the step runs
        with pytest.raises(Busy) as refused, b.admit(20 * MB):
            pytest.fail("ran past the budget")
    assert isinstance(refused.value, JobRefused) and refused.value.args[0] is bd.BUSY  # a message, never a traceback
    assert b.in_use() == 700 * MB and b.refused == 1  # released on the way out, refusals counted
    with b.admit(100 * MB):  # exactly at the safe part: admitted
        pass


def test_memory_in_use_counts_the_server_and_its_children():
    import subprocess
    import sys

    before = bd.tree_rss_bytes()
    child = subprocess.Popen([sys.executable, "-c", "x = bytearray(200 * 2**20); import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while bd.tree_rss_bytes() - before < 150 * MB:  # the child's 200 MB shows up in the server's count
            assert time.monotonic() < deadline, (before, bd.tree_rss_bytes())
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()


def test_no_more_than_two_heavy_computations_run_at_once_and_a_third_is_refused_after_its_wait():
    b = Budget(ceiling=10_000 * MB, used=lambda: 0, heavy_at_once=2, heavy_wait_s=0.3)
    inside, peak, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def heavy():
        with b.admit(MB, heavy=True):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=heavy) for _ in range(2)]
    for t in threads:
        t.start()
    while inside[0] < 2:
        time.sleep(0.01)
    with pytest.raises(Busy), b.admit(MB, heavy=True):  # both turns are taken for longer than the wait
        pytest.fail("a third heavy computation ran")
    release.set()
    for t in threads:
        t.join()
    assert peak[0] == 2
    with b.admit(MB, heavy=True):  # turns are given back
        pass


def test_caches_are_shares_of_the_ceiling_not_on_top_of_it():
    ceiling = 3 * 2**30
    assert bd.share_mb("results", ceiling) == pytest.approx(0.15 * 3072)
    assert bd.share_mb("results", ceiling, asked_mb=100) == 100  # the operator may ask for less
    assert bd.share_mb("results", ceiling, asked_mb=10_000) == pytest.approx(0.15 * 3072)  # never more
    assert sum(bd.SHARES.values()) + (1 - bd.SAFE_FRACTION) < 0.5  # half the pod stays for the server itself


def test_a_visitors_step_that_does_not_fit_first_asks_the_reclaimers_to_give_memory_back():
    """The warm-up's child registers as a reclaimer: a student's run is admitted after it ends, not refused."""
    use = {"now": 780 * MB}

    def end_warm_up() -> bool:
        use["now"] -= 500 * MB  # the child's memory, given back
        return True

    ticks = iter(range(10**6))
    b = Budget(ceiling=1000 * MB, used=lambda: use["now"], clock=lambda: float(next(ticks)))  # every read is fresh
    unregister = b.reclaimer(end_warm_up)
    with b.admit(300 * MB):  # 780 + 300 > 800: the reclaimer is asked, then 280 + 300 fits
        assert use["now"] == 280 * MB
    unregister()
    use["now"] = 780 * MB
    with pytest.raises(Busy), b.admit(300 * MB):  # nothing left to reclaim: refused
        pytest.fail("admitted past the budget")
