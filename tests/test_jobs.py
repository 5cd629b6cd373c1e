import time

import pytest

from ae_core.config import TrainConfig
from ae_core.jobs import JobManager, JobRefused
from ae_core.registry import build

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
    assert manager.live_threads() == 0


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
    with pytest.raises(JobRefused, match="busy"):
        manager.submit("dense_dae", TINY, owner="d")
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
    assert build("dense_dae") is not shared
