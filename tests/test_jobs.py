import threading
import time

import pytest
import torch

from ae_core.config import TrainConfig
from ae_core.registry import build
from serve.jobs import JobManager, JobRefused, Limits

TINY = TrainConfig(epochs=1, lr=3e-3, batch_size=64, train_size=512, val_split=0.125, device="cpu")
LONG = TINY.replace(epochs=200, train_size=1000)


@pytest.fixture
def manager(sample):
    m = JobManager(max_running=2, max_queued=1, orphan_timeout=30, data=sample)
    yield m
    for j in list(m._jobs.values()):
        j.stop_event.set()


def wait_for(pred, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_job_runs_to_done_with_history_previews_and_metrics(manager):
    job = manager.submit("dense_dae", TINY, owner="alice")
    job = manager.wait(job.id)
    assert job.state == "done" and job.error is None
    assert len(job.history) == 1 and job.history[0].val_loss is not None
    assert job.preview_noisy.shape == (8, 28, 28) and job.preview_out.shape == (8, 28, 28)
    assert set(job.test_metrics) >= {"bce", "mse", "psnr", "ssim"} and job.test_metrics["psnr"] > 5
    assert job.model is not None and job.meta()["epochs_done"] == 1
    meta = job.meta()
    assert meta["recipe"] == "in-app" and meta["label"] == job.label and meta["note"] == job.note
    assert meta["test_metrics"] is job.test_metrics
    assert manager.live_threads() == 0


def test_a_job_without_a_result_has_only_its_own_fields():
    from serve.job import Job

    job = Job(id="j1", key="dense_dae", config=TINY, owner="o", label="#1 Dense DAE", note="on the sample")
    assert job.meta() == {"label": "#1 Dense DAE", "test_metrics": None, "note": "on the sample"}


def test_stop_ends_the_job_and_keeps_last_epoch(manager):
    job = manager.submit("conv_dae", LONG, owner="alice")
    wait_for(lambda: len(job.history) >= 1)
    t0 = time.monotonic()
    manager.stop(job.id, owner="alice")
    job = manager.wait(job.id, timeout=10)
    assert job.state == "stopped" and 1 <= len(job.history) < 200
    assert job.result.epochs_done == len(job.history)
    assert time.monotonic() - t0 < 10  # generous bound; the engine test asserts the batch-level guarantee


def test_other_sessions_cannot_stop_or_see_a_job(manager):
    job = manager.submit("dense_dae", LONG, owner="alice")
    manager.stop(job.id, owner="mallory")
    assert job.state in ("queued", "running")
    assert manager.get(job.id, owner="mallory") is None and manager.jobs_for("mallory") == []
    manager.stop(job.id, owner="alice")
    manager.wait(job.id)


def test_nan_learning_rate_ends_as_failed_with_a_message(manager):
    job = manager.submit("basic_ae", TINY.to_dict() | {"lr": float("nan")}, owner="alice")
    assert job.state == "failed" and "lr must be a number" in job.error


def test_two_jobs_at_once_then_queue_then_refusal(manager):
    a = manager.submit("dense_dae", LONG, owner="a")
    b = manager.submit("basic_ae", LONG, owner="b")
    wait_for(lambda: a.state == b.state == "running")
    c = manager.submit("dense_dae", TINY, owner="c")
    assert c.state == "queued"
    with pytest.raises(JobRefused) as e:
        manager.submit("dense_dae", TINY, owner="d")
    assert str(e.value) == (
        "The server is busy: 2 training jobs are running and 1 are waiting. Try again when one finishes."
    )
    manager.stop(a.id)
    wait_for(lambda: c.state in ("running", "done"))  # the queue moves on when a slot frees
    manager.stop(b.id)
    assert manager.wait(c.id).state == "done"


def test_orphaned_job_stops_after_timeout(sample):
    m = JobManager(orphan_timeout=0.5, data=sample)
    job = m.submit("dense_dae", LONG, owner="gone")
    # no heartbeats from "gone" from now on
    job = m.wait(job.id, timeout=30)
    assert job.state == "stopped" and "went away" in job.note
    assert m.live_threads() == 0


def test_heartbeats_keep_a_job_alive(sample):
    m = JobManager(orphan_timeout=0.5, data=sample)
    job = m.submit("dense_dae", TINY.replace(epochs=3, train_size=1000), owner="here")
    while job.active:
        m.heartbeat("here")
        time.sleep(0.05)
    assert job.state == "done"


def test_training_never_mutates_a_shared_model(manager):
    from ae_core import store

    _, shared = store.load_model("dense_dae")
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    manager.wait(manager.submit("dense_dae", TINY, owner="alice").id)
    for k, v in shared.state_dict().items():
        assert (v == before[k]).all()
    job = manager.jobs_for("alice")[-1]
    trained = job.model.state_dict()
    assert job.model is not shared and any(not torch.equal(trained[k], v) for k, v in before.items())


def uploaded(key="dense_dae", seed=0):
    """A finished job holding weights, as the Train page's upload makes it."""
    from ae_core import store
    from ae_core.train import TrainResult
    from serve.jobs import Job

    model = build(key, seed)
    job = Job("", key, TINY, owner="", label=f"upload seed {seed}", state="done", uploaded=True)
    job.result = TrainResult(key, TINY, model)
    job.sha256 = store.content_sha(key, model)
    return job


def test_uploads_get_server_wide_ids_and_are_added_once_per_browser(sample):
    m = JobManager(data=sample)
    a, added_a = m.add_upload("alice", uploaded(seed=1))
    b, added_b = m.add_upload("bob", uploaded(seed=2))
    assert added_a and added_b and a.id != b.id  # per-session numbering gave both "upload1"
    again, added = m.add_upload("alice", uploaded(seed=1))  # the uploader still holds the file on the next rerun
    assert not added and again is a and len(m.jobs_for("alice")) == 1
    assert m.add_upload("bob", uploaded(seed=1))[1]  # the same file from another browser is that browser's own run


def test_history_limit_is_per_browser_not_per_server(sample):
    """A class of 30: every student's runs stay, however many the others have."""
    m = JobManager(data=sample, keep_finished=3)
    mine = [m.add_upload("me", uploaded(seed=s))[0] for s in range(3)]
    for i in range(30):
        for s in range(2):
            m.add_upload(f"student{i}", uploaded(seed=100 + s))
    assert m.jobs_for("me") == mine
    assert all(len(m.jobs_for(f"student{i}")) == 2 for i in range(30))
    newest = m.add_upload("me", uploaded(seed=9))[0]
    assert m.jobs_for("me") == [*mine[1:], newest]  # my own oldest goes, nobody else's


def test_browsers_that_left_are_forgotten_after_the_ttl(sample):
    m = JobManager(data=sample, owner_ttl=0.2)
    m.add_upload("gone", uploaded())
    m.activate("gone", m.jobs_for("gone")[0].id)
    m.heartbeat("also-gone")
    time.sleep(0.3)
    m.heartbeat("here")
    assert m.jobs_for("gone") == [] and m.active_for("gone") == {}
    assert set(m._seen) == {"here"} and not m._active  # the heartbeat map is pruned too
    assert m.owners() == 1


def test_activation_belongs_to_the_browser(sample):
    m = JobManager(data=sample)
    job, _ = m.add_upload("alice", uploaded())
    m.activate("bob", job.id)  # someone else's run: ignored
    assert m.active_for("bob") == {}
    m.activate("alice", job.id)
    assert m.active_for("alice") == {"dense_dae": job}
    m.deactivate("alice", "dense_dae")
    assert m.active_for("alice") == {}


def test_a_finished_run_is_activated_for_its_browser(manager):
    job = manager.wait(manager.submit("dense_dae", TINY, owner="alice").id)
    assert manager.active_for("alice") == {"dense_dae": job} and manager.active_for("bob") == {}


def test_playground_comparisons_run_one_at_a_time_across_sessions():
    """ui.server.one_at_a_time: concurrent sessions' comparisons never overlap in one process (they would only trade
    the GIL), and each caller gets its own result back."""
    import threading
    import time

    from ui import server

    running, peak, lock = [0], [0], threading.Lock()

    def compute(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)  # releases the GIL, as a torch call does
        with lock:
            running[0] -= 1
        return i * i

    results = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, server.one_at_a_time(lambda: compute(i))))
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1
    assert results == {i: i * i for i in range(8)}


def test_an_upload_is_done_when_added_and_found_only_by_its_browser(sample):
    m = JobManager(data=sample)
    before = time.time()
    job, _ = m.add_upload("alice", uploaded(seed=3))
    assert job.state == "done" and before <= job.finished <= time.time()
    assert m.get(job.id) is job and m.get(job.id, "alice") is job
    assert m.get(job.id, "bob") is None and m.get("nope") is None and m.get("nope", "alice") is None
    assert m.counts() == {"queued": 0, "running": 0, "done": 1, "stopped": 0, "failed": 0}
    m.deactivate("nobody", "dense_dae")  # never activated anything: nothing to do, no error
    m.activate("alice", job.id)
    m.deactivate("alice", "basic_ae")  # another model: alice's choice stays
    assert m.active_for("alice") == {job.key: job}
    m.deactivate("alice", job.key)
    assert m.active_for("alice") == {}


def test_forget_stops_and_drops_everything_of_one_browser_only(sample):
    m = JobManager(max_running=1, max_queued=2, data=sample)
    running = m.submit("dense_dae", LONG, owner="lab-pc")
    queued = m.submit("basic_ae", TINY, owner="lab-pc")
    other = m.add_upload("bob", uploaded(seed=4))[0]
    m.activate("bob", other.id)
    mine = m.add_upload("lab-pc", uploaded(seed=5))[0]
    m.activate("lab-pc", mine.id)
    wait_for(lambda: running.state == "running")
    assert queued.state == "queued"
    assert m.forget("lab-pc") == 3
    assert queued.state == "stopped" and running.stop_event.is_set()
    assert [m.get(j.id) for j in (running, queued, mine)] == [None, None, None]
    assert m.jobs_for("lab-pc") == [] and m.active_for("lab-pc") == {}
    assert m.get(other.id) is other and m.active_for("bob") == {other.key: other}  # bob keeps his
    assert m.forget("lab-pc") == 0
    wait_for(lambda: m.live_threads() == 0)


def test_submit_labels_checks_and_passes_on_what_it_was_given(sample, monkeypatch):
    from serve import quota

    m = JobManager(max_running=1, max_queued=3, data=sample, limits=Limits(max_run_images=1))
    seen = []
    real = quota.admit
    monkeypatch.setattr(quota, "admit", lambda *a: seen.append(a[4:]) or real(*a))
    first = m.submit("dense_dae", LONG, owner="a", base_sha="ab" * 32, seconds=(1.0, 2.0))
    assert str(first.label) == f"#{first.id.removeprefix('job')} Dense DAE" and first.base_sha == "ab" * 32
    assert first.label.values["model"] == "Dense DAE"  # the model's name is a message too: it is translated
    assert seen == [(False, (1.0, 2.0))]  # not capped unless asked: the image cap is for students
    named = m.submit("basic_ae", TINY, owner="b", label="mine")
    assert named.label == "mine" and named.base_sha is None
    with pytest.raises(JobRefused):
        m.submit("basic_ae", TINY, owner="c", capped=True)  # a student over the 1-image cap
    with pytest.raises(ValueError, match="^unknown model 'vae'$"):
        m.submit("vae", TINY, owner="a")
    bad = m.submit("conv_dae", {"epochs": "many"}, owner="d")
    assert bad.state == "failed" and str(bad.error).startswith("Invalid settings: ")
    m.stop(first.id)
    m.stop(named.id)
    wait_for(lambda: m.live_threads() == 0)


def test_stop_only_by_its_browser_and_a_queued_one_at_once(sample):
    m = JobManager(max_running=1, max_queued=2, data=sample)
    running = m.submit("dense_dae", LONG, owner="a")
    queued = m.submit("basic_ae", LONG, owner="b")
    wait_for(lambda: running.state == "running")
    m.stop(running.id, owner="b")  # not b's
    m.stop(queued.id, owner="a")  # not a's
    m.stop("job-unknown")
    assert running.state == "running" and not running.stop_event.is_set() and queued.state == "queued"
    m.stop(queued.id, owner="b")
    assert queued.state == "stopped" and queued.stop_event.is_set()  # a queued run ends at once
    assert m.wait(running.id, timeout=0.3).state == "running"  # wait gives up at its timeout
    m.stop(running.id)  # no owner: the server itself
    assert m.wait(running.id).state == "stopped"


class FakeClock:
    """serve.jobs' `time` with a clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    time = staticmethod(time.time)


def test_wait_polls_a_waiting_run_every_20_ms_for_60_s_by_default(sample, monkeypatch):
    """A run that never starts (no server slot): wait() gives up after its default 60 s, checking every 20 ms."""
    m = JobManager(max_running=0, max_queued=4, data=sample)
    job = m.submit("dense_dae", TINY, owner="a")
    clock = FakeClock()
    monkeypatch.setattr("serve.jobs.time", clock)
    assert m.wait(job.id) is job and job.state == "queued"
    assert set(clock.sleeps) == {0.02} and 1060.0 <= clock.now < 1060.0 + 0.02 + 1e-9


def test_wait_joins_a_running_runs_thread_for_what_is_left_of_the_timeout(manager, monkeypatch):
    job = manager.submit("dense_dae", TINY.replace(epochs=50), owner="a")
    wait_for(lambda: job.state == "running")
    joined = []

    class Thread:
        def join(self, timeout):
            joined.append(timeout)

    monkeypatch.setitem(manager._threads, job.id, Thread())
    monkeypatch.setattr("serve.jobs.time", FakeClock())
    manager.wait(job.id, timeout=0.5)
    assert joined == [0.5]  # not started late: the whole timeout is left for the thread


def test_wait_follows_a_queued_run_until_it_has_run(sample):
    m = JobManager(max_running=1, max_queued=4, data=sample)
    first = m.submit("dense_dae", TINY.replace(epochs=200), owner="a")
    second = m.submit("basic_ae", TINY, owner="b")
    assert second.state == "queued"
    threading.Timer(0.3, lambda: m.stop(first.id)).start()
    assert m.wait(second.id, 60).state == "done"  # waited in the queue, then for its thread


def test_forget_leaves_nothing_of_the_browser_behind(sample):
    m = JobManager(data=sample)
    job, _ = m.add_upload("lab-pc", uploaded())
    m.activate("lab-pc", job.id)
    m.heartbeat("other")
    assert m.owners() == 2 and m.active_for("lab-pc")
    m._notices["lab-pc"] = ["x"]
    assert m.forget("lab-pc") == 1
    assert m.owners() == 1 and m.active_for("lab-pc") == {} and m.notices("lab-pc") == []


def test_the_managers_defaults():
    m = JobManager()
    assert (m.max_running, m.max_queued, m.orphan_timeout, m.keep_finished) == (2, 4, 60.0, 20)


def finishing_as(monkeypatch, state, error=None, with_model=False, seen=None):
    """serve.runner.run_job replaced: the run ends at once in `state` (and records the data it was given)."""
    from ae_core.train import TrainResult

    def run_job(job, data, orphaned):
        if seen is not None:
            seen.append(data)
        if with_model:
            job.result = TrainResult(job.key, job.config, build(job.key, 0))
        if isinstance(state, Exception):
            raise state
        return state, error

    monkeypatch.setattr("serve.runner.run_job", run_job)


def test_the_run_gets_the_managers_training_data(sample, monkeypatch):
    seen = []
    finishing_as(monkeypatch, "done", seen=seen)
    m = JobManager(data=sample)
    m.wait(m.submit("dense_dae", TINY, owner="a").id)
    assert seen == [sample]


def test_an_unexpected_error_fails_the_run_with_its_type_and_text(sample, monkeypatch):
    finishing_as(monkeypatch, RuntimeError("boom"))
    m = JobManager(data=sample)
    job = m.wait(m.submit("dense_dae", TINY, owner="a").id)
    assert job.state == "failed" and str(job.error) == "Training failed unexpectedly: RuntimeError: boom"
    assert m.active_for("a") == {}


@pytest.mark.parametrize(
    ("state", "with_model", "active"),
    [("done", True, True), ("stopped", True, True), ("failed", True, False), ("failed", False, False)],
)
def test_a_run_with_weights_is_used_at_once_when_done_or_stopped_never_when_failed(
    sample, monkeypatch, state, with_model, active
):
    finishing_as(monkeypatch, state, "why" if state == "failed" else None, with_model)
    m = JobManager(data=sample)
    job = m.wait(m.submit("dense_dae", TINY, owner="a").id)
    assert job.state == state and job.error == ("why" if state == "failed" else None)
    assert m.active_for("a") == ({"dense_dae": job} if active else {})


def test_the_runs_error_is_kept(sample, monkeypatch):
    finishing_as(monkeypatch, "stopped", "Stopped: its browser session went away.")
    m = JobManager(data=sample)
    assert m.wait(m.submit("dense_dae", TINY, owner="a").id).error == "Stopped: its browser session went away."


def held_runs(monkeypatch) -> threading.Event:
    """serve.runner.run_job replaced: every run trains until the returned event is set, then ends as done."""
    gate = threading.Event()

    def run_job(job, data, orphaned):
        gate.wait(10)
        return "done", None

    monkeypatch.setattr("serve.runner.run_job", run_job)
    return gate


def test_training_threads_are_named_for_their_run_and_never_hold_the_server_open(sample, monkeypatch):
    gate = held_runs(monkeypatch)
    m = JobManager(data=sample)
    job = m.submit("dense_dae", TINY, owner="a")
    try:
        t = next(t for t in threading.enumerate() if t.name == f"ae-lab-{job.id}")
        assert t.daemon
    finally:
        gate.set()
        m.wait(job.id)


def test_a_run_whose_browser_went_away_is_dropped_from_the_queue_and_the_next_one_starts(sample, monkeypatch):
    gate = held_runs(monkeypatch)
    m = JobManager(max_running=1, max_queued=4, orphan_timeout=30, data=sample)
    first = m.submit("dense_dae", TINY, owner="a")
    gone = m.submit("dense_dae", TINY, owner="b")
    here = m.submit("basic_ae", TINY, owner="c")
    clock = FakeClock()
    clock.now = time.monotonic() + 31  # b and c last seen 31 s ago; c comes back now
    monkeypatch.setattr("serve.jobs.time", clock)
    monkeypatch.setattr("serve.history.time", clock)
    m.heartbeat("c")
    assert gone.state == here.state == "queued"
    gate.set()  # the first run ends: the queue is looked at again, with one slot free
    m.wait(first.id)
    wait_for(lambda: here.state != "queued", timeout=10)  # c's run, behind b's dropped one, takes the slot
    assert here.state in ("running", "done")
    assert gone.state == "stopped" and str(gone.error) == "Stopped: the browser session that queued it went away."


def test_ids_count_from_one_and_the_owner_ttl_is_six_hours():
    m = JobManager(max_running=0)
    assert m.submit("dense_dae", TINY, owner="a").id == "job1" and m.add_upload("a", uploaded())[0].id == "upload2"
    assert m.owner_ttl == 6 * 3600.0


def test_a_browsers_eviction_notices_are_bounded_to_twenty():
    m = JobManager(limits=Limits(held_bytes=1))  # every finished run but the newest is evicted
    for seed in range(25):
        m.add_upload("a", uploaded(seed=seed))
    notes = m.notices("a")
    assert len(notes) == 20 and all("to free memory for the class" in str(n) for n in notes)
    assert m.notices("a") == []  # each given once
