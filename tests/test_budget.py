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


# --- to the value: each rule's exact edge -----------------------------------------------------------------------------


def test_the_cgroup_limit_reads_v2_then_v1_and_no_limit(tmp_path):
    assert bd.cgroup_limit_bytes(tmp_path) is None  # neither file
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("123456\n")
    assert bd.cgroup_limit_bytes(tmp_path) == 123456  # v2's file missing: v1's is read
    (tmp_path / "memory.max").write_text("max\n")
    assert bd.cgroup_limit_bytes(tmp_path) == 123456  # v2 says no limit: v1's is still read
    (tmp_path / "memory.max").write_text("4096\n")
    assert bd.cgroup_limit_bytes(tmp_path) == 4096
    for huge in (str(1 << 60), str(9223372036854771712)):  # v1's "no limit"
        (tmp_path / "memory.max").unlink()
        (tmp_path / "memory" / "memory.limit_in_bytes").write_text(huge)
        assert bd.cgroup_limit_bytes(tmp_path) is None
        (tmp_path / "memory.max").write_text("x")
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str((1 << 60) - 1))
    assert bd.cgroup_limit_bytes(tmp_path) == (1 << 60) - 1


def test_the_ceiling_falls_back_to_the_machines_memory(monkeypatch):
    import psutil

    monkeypatch.delenv("AE_LAB_MEMORY_MB", raising=False)
    monkeypatch.setattr(bd, "cgroup_limit_bytes", lambda: None)
    assert bd.ceiling_bytes() == psutil.virtual_memory().total
    monkeypatch.setattr(bd, "cgroup_limit_bytes", lambda: 3 << 30)
    assert bd.ceiling_bytes() == 3 << 30
    monkeypatch.setenv("AE_LAB_MEMORY_MB", " 1.5 ")
    assert bd.ceiling_bytes() == int(1.5 * 2**20)
    monkeypatch.setenv("AE_LAB_MEMORY_MB", "  ")
    assert bd.ceiling_bytes() == 3 << 30  # blank: not set
    assert Budget(used=lambda: 0).ceiling == 3 << 30
    assert Budget(ceiling=1000, used=lambda: 0).ceiling == 1000


def test_tree_rss_counts_this_process_and_every_descendant():
    import subprocess
    import sys

    import psutil

    me = psutil.Process()
    base = bd.tree_rss_bytes()
    assert base >= me.memory_info().rss > 0
    # a child that starts a grandchild: both are counted
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while len(psutil.Process(child.pid).children()) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        kids = [psutil.Process(child.pid), *psutil.Process(child.pid).children()]
        assert bd.tree_rss_bytes() >= me.memory_info().rss + sum(k.memory_info().rss for k in kids) * 0.9
        assert bd.tree_rss_bytes(child.pid) >= sum(k.memory_info().rss for k in kids) * 0.9
    finally:
        for k in psutil.Process(child.pid).children():
            k.kill()
        child.kill()
        child.wait()
    assert bd.tree_rss_bytes(2**22 + 12345) == 0  # no such process
    lone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)  # settled: a sleeping process's resident size stays put
        assert bd.tree_rss_bytes(lone.pid) == psutil.Process(lone.pid).memory_info().rss  # exactly its own
    finally:
        lone.kill()
        lone.wait()


def test_memory_is_read_at_most_every_sample_time_and_after_a_reclaim():
    t, reads = [100.0], []
    b = Budget(ceiling=1000, used=lambda: reads.append(t[0]) or 10, clock=lambda: t[0])
    assert b.in_use() == 10 and reads == [100.0]  # the first check reads at once
    t[0] += bd.SAMPLE_S - 0.01
    b.in_use()
    assert reads == [100.0]
    t[0] = 100.0 + bd.SAMPLE_S  # exactly the sample time later: read again
    b.in_use()
    assert reads == [100.0, 100.0 + bd.SAMPLE_S]
    b.reclaimer(lambda: True)
    with pytest.raises(Busy), b.admit(10_000):
        pass
    assert b.in_use() == 10 and len(reads) == 3  # the reclaim asked for a fresh reading at the next check


def test_reservations_add_up_and_are_given_back():
    b = Budget(ceiling=1000, used=lambda: 0, clock=lambda: 0.0)  # limit 800
    with b.admit(300), b.admit(300):
        assert b.in_use() == 600
        with pytest.raises(Busy), b.admit(201):
            pass
        with b.admit(200):
            assert b.in_use() == 800
    assert b.in_use() == 0 and b.refused == 1


def test_refusals_are_counted_one_each_with_a_reason():
    b = Budget(ceiling=1000, used=lambda: 0, heavy_at_once=1, heavy_wait_s=0.0)
    with b.admit(1, heavy=True):
        for n in (1, 2):
            with pytest.raises(Busy) as e, b.admit(1, heavy=True):
                pass
            assert b.refused == n and e.value.why == "no turn for a heavy computation"
            assert str(e.value) == str(bd.BUSY)
    with pytest.raises(Busy) as e, b.admit(2**30):
        pass
    assert b.refused == 3 and e.value.why == "1024 MB more would pass 0 MB"
