"""Two users at once: saves that race, sessions that must not see each other, and no leftovers."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

from ae_core import store
from ae_core.config import TrainConfig
from ae_core.jobs import JobManager
from tests.conftest import ROOT
from tests.test_app_playground import image_urls

TINY = TrainConfig(epochs=1, lr=3e-3, batch_size=64, train_size=512, val_split=0.125, device="cpu")


def test_two_sessions_save_as_default_one_wins_cleanly(tmp_path, sample):
    mgr = JobManager(data=sample)
    first = store.save("dense_dae", store.build("dense_dae", 1), {}, tmp_path)
    a = mgr.wait(mgr.submit("dense_dae", TINY, "alice", base_sha=first["sha256"]).id)
    b = mgr.wait(mgr.submit("dense_dae", TINY.replace(seed=5), "bob", base_sha=first["sha256"]).id)
    results = {}

    def save(job, who):
        try:
            results[who] = store.save(job.key, job.model, job.meta(), tmp_path, expect_sha=job.base_sha)["sha256"]
        except store.WeightsError as e:
            results[who] = e

    threads = [threading.Thread(target=save, args=(j, w)) for j, w in ((a, "alice"), (b, "bob"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [w for w, r in results.items() if isinstance(r, str)]
    losers = [r for r in results.values() if isinstance(r, store.WeightsError)]
    assert len(winners) == 1 and len(losers) == 1
    assert "changed by someone else" in str(losers[0]) or "Another save" in str(losers[0])
    sidecar, _ = store.load_model("dense_dae", tmp_path)  # file and sidecar agree
    assert sidecar["sha256"] == results[winners[0]]
    assert store.load("dense_dae.prev", tmp_path)[0]["sha256"] == first["sha256"]


def test_sessions_are_isolated():
    a = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    b = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    a.number_input(key="pg_seed").set_value(1234).run()
    a.selectbox(key="pg_class").set_value(5).run()
    b.run()
    assert b.number_input(key="pg_seed").value == 0 and b.selectbox(key="pg_class").value == 7
    assert "active_runs" not in b.session_state or not b.session_state["active_runs"]


@pytest.mark.slow
def test_closed_session_leaves_no_thread_or_lock(sample, tmp_path):
    mgr = JobManager(orphan_timeout=0.3, data=sample)
    job = mgr.submit("conv_dae", TINY.replace(epochs=100, train_size=1000), owner="closed-tab")
    mgr.wait(job.id, timeout=60)
    assert job.state == "stopped" and mgr.live_threads() == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("ae-lab-")]
    with store.save_lock(tmp_path, timeout=0):  # nobody holds the save lock
        pass


def test_a_save_by_another_replica_is_picked_up_at_the_next_rerun(tmp_path, monkeypatch):
    """Two replicas share one weights folder: when another process saves a new default, this one serves it next."""
    import shutil
    import subprocess
    import sys

    for f in (ROOT / "weights").iterdir():
        if f.suffix in (".json", ".safetensors"):
            shutil.copy(f, tmp_path / f.name)
    monkeypatch.setattr(store, "WEIGHTS_DIR", tmp_path)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    before = image_urls(at)  # clean, noisy, basic, dense, conv, median, nl-means
    other_replica = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from ae_core import store; "
        "store.save('dense_dae', store.build('dense_dae', 7), {}, Path(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", other_replica, str(ROOT), str(tmp_path)], check=True, timeout=120)
    at.run()
    after = image_urls(at)
    assert not at.exception
    assert after[3] != before[3]  # Dense DAE now runs the other replica's weights
    assert after[:3] == before[:3] and after[4:] == before[4:]  # nothing else changed
