"""Issue 27's rules for a public class server, through the app's own pages (AppTest): a class code in front of costly
work, a run-time cap that a small batch size cannot slip past, and fragment reruns that count as a browser's activity."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.reliability.test_concurrency import dense_upload

CODE = "maths-room-12-wednesday"


def train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def start_training(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label == "Start training").click().run()


@pytest.fixture
def coded(monkeypatch):
    monkeypatch.setenv("AE_LAB_CLASS_CODE", CODE)
    monkeypatch.delenv("AE_LAB_CLASS_CODE_FILE", raising=False)
    from ui import server

    return server.manager()


def test_without_the_class_code_no_costly_work_starts_and_with_it_training_does(coded):
    manager = coded
    at = train_page()
    bid = at.session_state["browser_id"]
    at.multiselect(key="tr_models").set_value(["dense_dae"]).run()
    at = start_training(at)
    assert not at.exception
    assert any("class's code" in e.value for e in at.error), [e.value for e in at.error]
    assert not manager.jobs_for(bid)  # nothing queued
    _, files = dense_upload(0.31)
    at.file_uploader(key="tr_upload").set_value(files).run()
    assert any("class's code" in i.value for i in at.info) and not manager.jobs_for(bid)  # no upload held either
    at.text_input(key="class_typed").input("not-the-code")
    at = next(b for b in at.button if b.label == "Enter").click().run()
    assert any("not the class code" in e.value for e in at.error) and "class_ok" not in at.session_state
    at.text_input(key="class_typed").input(CODE)
    at = next(b for b in at.button if b.label == "Enter").click().run()
    assert at.session_state["class_ok"] is True and not [t for t in at.text_input if t.key == "class_typed"]
    at = start_training(at)
    runs = manager.jobs_for(bid)
    try:
        # With the code, the upload still in the uploader is taken too, and the run starts.
        assert sorted(j.id.startswith("upload") for j in runs) == [False, True] and not at.error
        assert all(j.key == "dense_dae" for j in runs)
    finally:
        for j in runs:
            manager.stop(j.id, bid)


def test_without_the_class_code_a_new_scoreboard_computation_is_a_message_not_a_wait(coded):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/scoreboard.py").run()
    at.select_slider(key="sb_factor").set_value(0.35).run()  # a setting nobody has asked for in this process
    assert not at.exception
    assert any("class's code" in i.value for i in at.info)
    from ui import server

    assert not any(k for k in server.results()._values if "0.35" in repr(k))


def test_a_students_run_is_capped_by_its_time_not_only_its_images(monkeypatch):
    """50 epochs x 9,000 images fit the 2,000,000-image cap at any batch size; at batch 16 the Conv DAE would train
    about 8x longer than at 128 on this machine: 6x its Tutorial recipe's time, past the 2x cap. The Tutorial recipe
    itself always fits, whatever this machine's speed."""
    from ui import jobs, server

    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    manager = server.manager()
    cfg = {**jobs.preset_config("conv_dae", "quick").to_dict(), "epochs": 50, "batch_size": 16}
    seconds = jobs.run_seconds("conv_dae", cfg)
    tutorial = jobs.run_seconds("conv_dae", jobs.preset_config("conv_dae", "tutorial"))
    assert 5 * tutorial < seconds < 7 * tutorial  # 8 x 450,000 images (+ validation) against 600,000, same rate
    assert jobs.run_seconds("conv_dae", {**cfg, "batch_size": 128}) == pytest.approx(seconds / 8)
    assert manager.limits.max_run_vs_tutorial == 2.0
    at = train_page()
    at.multiselect(key="tr_models").set_value(["conv_dae"]).run()
    at.number_input[0].set_value(50)
    at.number_input[2].set_value(10_000)
    at.select_slider[0].set_value(16)
    at = start_training(at)
    assert any("would train for about" in e.value for e in at.error), [e.value for e in at.error]
    assert not manager.jobs_for(at.session_state["browser_id"])
    at.select_slider[0].set_value(128)  # the same images at the tutorial's batch size: 0.75x its recipe, taken
    at = start_training(at)
    runs = manager.jobs_for(at.session_state["browser_id"])
    try:
        assert len(runs) == 1 and not at.error, [e.value for e in at.error]
    finally:
        for j in runs:
            manager.stop(j.id)


def test_a_fragment_rerun_counts_as_the_browser_being_here(monkeypatch):
    """A student who only moves sliders reruns fragments, never the page: each one tells the job manager."""
    import streamlit as st

    from ui import server, session

    seen = []
    monkeypatch.setattr(st, "fragment", lambda fn, run_every=None: fn)
    monkeypatch.setattr(session, "browser_id", lambda: "student-1")
    monkeypatch.setattr(server, "manager", lambda: type("M", (), {"heartbeat": lambda self, o: seen.append(o)})())
    moved = session.fragment(lambda x: x * 2)
    assert moved(21) == 42 and seen == ["student-1"]


@pytest.mark.parametrize(
    ("claims", "teacher"), [({}, False), ({"email_verified": False}, False), ({"email_verified": True}, True)]
)
def test_an_oidc_login_counts_only_with_a_verified_email(monkeypatch, claims, teacher):
    """A provider that sends no email_verified claim proves nothing about the address: not a teacher."""
    import streamlit as st

    from ui import classroom

    monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", "teacher@school.example")
    monkeypatch.setattr(st, "user", {"is_logged_in": True, "email": "Teacher@School.example", **claims})
    assert (classroom._logged_in_email() == "teacher@school.example") is teacher


def test_the_shipped_server_command_writes_the_ready_file_with_the_warm_up_off(tmp_path):
    """`python -m ui.serve`, the container's and Kubernetes' command, with AE_LAB_WARMUP=0 and AE_LAB_READY_FILE set
    (a pod whose probe waits for the file would otherwise never become ready)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from harness.browser import free_port

    ready, port = tmp_path / "ready", free_port()
    env = {**os.environ, "AE_LAB_WARMUP": "0", "AE_LAB_READY_FILE": str(ready), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "ui.serve", f"--server.port={port}", "--server.address=127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        assert ready.read_text() == "skipped\n"
    finally:
        proc.terminate()
        proc.wait(20)
