"""A fair share for every browser (serve/quota.py through the job manager): per-browser caps, the run-size cap,
the server-wide bound on held weights, the bound on remembered browsers, and Forget this browser."""

import time

import pytest

from ae_core.config import TrainConfig
from serve.jobs import JobManager, JobRefused, Limits
from serve.quota import QuotaExceeded, held, nbytes, run_images
from tests.test_jobs import uploaded, wait_for

TINY = TrainConfig(epochs=1, lr=3e-3, batch_size=64, train_size=512, val_split=0.125, device="cpu")
LONG = TINY.replace(epochs=200, train_size=1000)


@pytest.fixture
def make(sample):
    made = []

    def build(**kw):
        m = JobManager(data=sample, **kw)
        made.append(m)
        return m

    yield build
    for m in made:
        for j in list(m._jobs.values()):
            j.stop_event.set()
        for t in list(m._threads.values()):
            t.join(30)  # no training thread outlives its test


def test_one_browser_with_ten_runs_never_blocks_another(make):
    m = make(max_running=2, max_queued=4)
    accepted, refused = [], []
    for _ in range(10):
        try:
            accepted.append(m.submit("dense_dae", LONG, owner="greedy"))
        except QuotaExceeded as e:
            refused.append(str(e))
    assert len(accepted) == 3 and len(refused) == 7  # 1 training + 2 waiting
    assert "Stop one" in refused[0] and "1 training, 2 waiting" in refused[0]
    other = m.submit("basic_ae", LONG, owner="student")
    wait_for(lambda: other.state == "running")  # the second server slot goes to the other browser at once
    assert [j.state for j in accepted] == ["running", "queued", "queued"]


def test_a_browser_waiting_in_line_does_not_take_a_second_slot(make):
    m = make(max_running=2, max_queued=4)
    a1 = m.submit("dense_dae", LONG, owner="a")
    a2 = m.submit("dense_dae", LONG, owner="a")
    time.sleep(0.3)
    assert a1.state == "running" and a2.state == "queued"  # a free slot, but a's share is one at a time
    b = m.submit("dense_dae", LONG, owner="b")
    wait_for(lambda: b.state == "running")
    m.stop(a1.id, owner="a")
    wait_for(lambda: a2.state == "running")  # a's next run follows its first


def test_the_run_size_cap_applies_to_students_only(make):
    m = make(limits=Limits(max_run_images=100_000))
    big = TINY.replace(epochs=30, train_size=60_000)
    assert run_images(big) == 1_800_000
    with pytest.raises(QuotaExceeded, match="at most 100,000") as e:
        m.submit("dense_dae", big, owner="student", capped=True)
    assert "ask your teacher" in str(e.value) and isinstance(e.value, JobRefused)
    m.submit("dense_dae", TINY, owner="student", capped=True)  # 512 images fit
    teacher = m.submit("dense_dae", big, owner="teacher", capped=False)
    assert teacher.state in ("queued", "running")
    m.set_limits(Limits(max_run_images=None))  # the teacher lifts the cap
    assert m.submit("basic_ae", big, owner="student2", capped=True).state in ("queued", "running")


def test_held_weights_are_bounded_server_wide_and_the_idlest_go_first(make):
    one = nbytes(uploaded(seed=0))
    m = make(limits=Limits(held_bytes=int(one * 5.5)))
    m.add_upload("idle", uploaded(seed=1))
    m.add_upload("idle", uploaded(seed=2))
    time.sleep(0.01)
    for s in range(3, 7):  # 50 fresh browsers would do the same: every new id is free
        m.heartbeat(f"fresh{s}")
        m.add_upload(f"fresh{s}", uploaded(seed=s))
    assert m.held_bytes() <= one * 5.5
    assert [j.label for j in m.jobs_for("idle")] == ["upload seed 2"]  # the idlest browser's oldest went first
    notes = m.notices("idle")
    assert len(notes) == 1 and "upload seed 1" in notes[0] and "free memory" in notes[0]
    assert m.notices("idle") == []  # each message once
    assert all(len(m.jobs_for(f"fresh{s}")) == 1 for s in range(3, 7))


def test_the_same_weights_uploaded_by_many_browsers_are_held_once(make):
    m = make()
    jobs = [m.add_upload(f"b{i}", uploaded(seed=7))[0] for i in range(20)]
    assert len({id(j.model) for j in jobs}) == 1
    assert held(jobs) == nbytes(jobs[0]) + 19 * (
        nbytes(jobs[0]) - sum(p.numel() * 4 for p in jobs[0].model.parameters())
    )


def test_remembered_browsers_are_bounded(make):
    m = make(limits=Limits(max_owners=5))
    busy = m.submit("dense_dae", LONG, owner="busy")
    for i in range(20):
        m.heartbeat(f"visitor{i}")
        m.add_upload(f"visitor{i}", uploaded(seed=i))
    assert busy.active and "busy" in m._seen  # a browser with a run training is never forgotten
    assert m.owners() == 5  # the limit, the busy browser among them: the 4 most recent visitors besides it
    assert [v for v in (f"visitor{i}" for i in range(20)) if m.jobs_for(v)] == [f"visitor{i}" for i in (16, 17, 18, 19)]


def test_forget_this_browser_drops_its_runs_and_stops_its_training(make):
    m = make()
    done, _ = m.add_upload("shared-pc", uploaded(seed=3))
    m.activate("shared-pc", done.id)
    running = m.submit("dense_dae", LONG, owner="shared-pc")
    other, _ = m.add_upload("someone", uploaded(seed=4))
    assert m.forget("shared-pc") == 2
    assert m.jobs_for("shared-pc") == [] and m.active_for("shared-pc") == {}
    assert running.stop_event.is_set()
    assert m.jobs_for("someone") == [other]
    m.submit("dense_dae", TINY, owner="shared-pc")  # the same id may start afresh


# --- the quota functions on their own, with jobs reduced to what they read ----------------------------------------
def job(owner="a", state="done", model=None, previews=(None, None), finished=0.0):
    from types import SimpleNamespace

    import numpy as np

    noisy, out = (None if n is None else np.zeros(n, np.uint8) for n in previews)
    return SimpleNamespace(
        owner=owner,
        state=state,
        model=model,
        preview_noisy=noisy,
        preview_out=out,
        finished=finished,
        active=state in ("running", "queued"),
    )


def linear(n_out: int):
    import torch

    return torch.nn.Linear(10, n_out, bias=False)  # 10 * n_out float32 weights: 40 * n_out bytes


def test_admit_counts_only_running_and_waiting_runs_and_says_so():
    from serve.quota import admit

    limits = Limits(running_per_owner=1, queued_per_owner=2)
    finished = [job(state="done") for _ in range(5)] + [job(state="stopped"), job(owner="b", state="running")]
    admit([*finished, job(state="queued")], "a", TINY, limits, capped=False)  # finished runs do not count
    full = [*finished, job(state="running"), job(state="queued"), job(state="queued")]
    with pytest.raises(QuotaExceeded) as e:
        admit(full, "a", TINY, limits, capped=False)
    assert str(e.value) == (
        "You already have 1 run(s) training and 2 waiting, the most one browser may have (1 training, 2 waiting) so "
        "that everyone gets a turn. Stop one, or start this when one has finished."
    )


def test_the_run_size_cap_is_inclusive_and_its_message_says_how_to_fit():
    from serve.quota import admit

    limits = Limits(max_run_images=10 * 512)
    admit([], "a", TINY.replace(epochs=10), limits, capped=True)  # exactly at the cap: allowed
    admit([], "a", TINY.replace(epochs=11), limits, capped=False)  # the teacher: no cap
    with pytest.raises(QuotaExceeded) as e:
        admit([], "a", TINY.replace(epochs=11), limits, capped=True)
    assert str(e.value) == (
        "This run is 11 epochs x 512 images = 5,632 images; in this class a student's run may have at most 5,120. "
        "Use fewer epochs or images (the Tutorial recipe and Quick presets fit), or ask your teacher to lift the cap."
    )


def test_bytes_are_weights_plus_previews_and_shared_weights_count_once():
    shared = linear(5)  # 200 bytes
    a = job(model=shared, previews=(784, 784))
    b = job(owner="b", model=shared, previews=(784, None))
    c = job(owner="c", model=linear(1), previews=(None, None))  # 40 bytes
    d = job(owner="d")  # nothing held
    assert [nbytes(j) for j in (a, b, c, d)] == [200 + 1568, 200 + 784, 40, 0]
    assert held([a, b, c, d]) == 200 + 1568 + 784 + 40


def test_eviction_drops_the_idlest_browsers_oldest_runs_until_under_the_bound():
    from serve.quota import to_evict

    shared = linear(10)  # 400 bytes, held by two browsers
    jobs = [
        job(owner="idle", model=linear(10), finished=2.0),  # 400
        job(owner="idle", model=shared, finished=1.0),  # 400, shared with "busy"
        job(owner="busy", model=shared, finished=0.2),  # older than idle's, but its browser was here recently
        job(owner="busy", state="running", model=linear(10)),  # never dropped
        job(owner="new", model=linear(10), previews=(100, None), finished=0.5),  # never seen: idlest of all
        job(owner="new", previews=(None, None), finished=None),  # no finish time: the oldest of its browser
    ]
    seen = {"idle": 0.5, "busy": 20.0}
    assert held(jobs) == 1700
    assert to_evict(jobs, seen, limit=1700) == []  # at the bound: nothing goes
    # Over by 1: the unseen browser goes first, its run without a finish time before its other one (500 bytes).
    assert to_evict(jobs, seen, limit=1699) == [jobs[5], jobs[4]]
    assert to_evict(jobs, seen, limit=1200) == [jobs[5], jobs[4]]  # exactly at the bound after them: stop
    # Then the idle browser's oldest run, whose weights "busy" still holds (frees nothing), then its next one.
    assert to_evict(jobs, seen, limit=1199) == [jobs[5], jobs[4], jobs[1], jobs[0]]
    # Down to the running job: every finished run goes, the shared weights with the last of their users.
    assert to_evict(jobs, seen, limit=400) == [jobs[5], jobs[4], jobs[1], jobs[0], jobs[2]]


def test_the_idlest_browsers_past_the_bound_are_forgotten_never_a_busy_one():
    from serve.quota import owners_to_forget

    seen = {"a": 5.0, "b": 1.0, "c": 3.0, "d": 2.0}
    assert owners_to_forget(seen, set(), limit=4) == []  # at the bound
    assert owners_to_forget(seen, set(), limit=2) == ["b", "d"]  # the two idlest, idlest first
    assert owners_to_forget(seen, {"b"}, limit=2) == ["d", "c"]  # b is training: the next idlest instead
    assert owners_to_forget(seen, {"a", "b", "c", "d"}, limit=0) == []


def test_the_eviction_notice_names_the_run_and_the_servers_share():
    from serve.quota import eviction_notice

    job = uploaded(seed=1)
    text = eviction_notice(job, Limits(held_bytes=96 * 2**20 + 2**19))
    assert text == (
        "upload seed 1 was removed from your run history to free memory for the class (the server keeps 96 MB of "
        "runs for all browsers; the idlest go first). Download runs you want to keep."
    )
    assert text.values == {"run": "upload seed 1", "mb": 96.5}  # the template keeps its values for translation


def test_a_students_run_may_take_at_most_twice_the_tutorial_recipes_time():
    from serve.quota import admit

    cfg = TrainConfig(epochs=1, train_size=1000, device="cpu")
    lim = Limits(max_run_vs_tutorial=2.0)
    for ok in ((200.0, 100.0), (10.0, 100.0)):  # exactly twice, and shorter
        admit([], "s", cfg, lim, capped=True, seconds=ok)
    admit([], "t", cfg, lim, capped=False, seconds=(9e9, 1.0))  # the teacher: no cap
    admit([], "s", cfg, Limits(max_run_vs_tutorial=None), capped=True, seconds=(9e9, 1.0))  # the cap lifted
    admit([], "s", cfg, lim, capped=True, seconds=None)  # no estimate yet
    with pytest.raises(QuotaExceeded) as e:
        admit([], "s", cfg, lim, capped=True, seconds=(250.0, 100.0))
    assert str(e.value) == (
        "This run would train for about 4 minutes on this server; in this class a student's run may take at most 3 "
        "(2 times the Tutorial recipe here). A larger batch size, precision auto, fewer epochs or fewer images make it "
        "shorter."
    )
    with pytest.raises(QuotaExceeded) as e:
        admit([], "s", cfg, Limits(max_run_vs_tutorial=1.5), capped=True, seconds=(31.0, 20.0))
    assert "about 1 minutes" in str(e.value) and "at most 1 (1.5 times" in str(e.value)  # never "0 minutes"
    with pytest.raises(QuotaExceeded) as e:
        admit([], "s", cfg, lim, capped=True, seconds=(3000.0, 1200.1))
    assert "about 50 minutes" in str(e.value) and "at most 40 (2 times" in str(e.value)


def test_prune_keeps_each_browsers_latest_finished_runs_by_finish_time_not_by_order():
    from serve.quota import prune

    late, early = job(owner="a", finished=9.0), job(owner="a", finished=1.0)  # listed in start order
    drop, gone, evicted = prune([late, early], {"a": 0.0}, now=1.0, keep_finished=1, owner_ttl=60, limits=Limits())
    assert drop == [early] and gone == set() and evicted == []


def test_prune_never_evicts_a_run_it_already_drops():
    from serve.quota import prune

    old = [job(owner="a", model=linear(10), finished=float(i)) for i in range(3)]  # 400 bytes each
    drop, _, evicted = prune(old, {"a": 0.0}, now=1.0, keep_finished=1, owner_ttl=60, limits=Limits(held_bytes=399))
    assert drop == old[:2] and evicted == [old[2]]  # the kept one, over the bound on its own
