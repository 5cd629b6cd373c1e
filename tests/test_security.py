"""Safe to put on the internet (issue 18): each finding, through the app's own pages (AppTest) and files."""

from __future__ import annotations

import logging
import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.reliability.test_concurrency import dense_upload

KEY = "correct-horse-battery-staple-42"


@pytest.fixture
def classroom(monkeypatch):
    """Classroom mode with a fresh log-once table (start-up problems are logged once per process)."""
    from ui import classroom

    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    monkeypatch.delenv("AE_LAB_TEACHER_KEY_FILE", raising=False)
    monkeypatch.setattr(classroom, "_logged", set())
    return classroom


def train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unlock(at: AppTest, typed: str) -> AppTest:
    at.text_input(key="teacher_typed").input(typed)
    return next(b for b in at.button if b.label == "Unlock").click().run()


def test_a_short_teacher_key_is_refused_with_one_log_line(classroom, monkeypatch, caplog):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", "fifteen-chars!!")  # 15 characters
    with caplog.at_level(logging.WARNING, logger="ae_lab.classroom"):
        at = train_page()
        at.run()
    lines = [r.getMessage() for r in caplog.records if r.name == "ae_lab.classroom"]
    assert len(lines) == 1 and "15 characters" in lines[0] and "read-only" in lines[0]
    assert not [t for t in at.text_input if t.key == "teacher_typed"]  # nothing to guess


def test_a_key_from_a_secret_file_unlocks(classroom, monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text(KEY + "\n")
    monkeypatch.delenv("AE_LAB_TEACHER_KEY", raising=False)
    monkeypatch.setenv("AE_LAB_TEACHER_KEY_FILE", str(secret))
    at = unlock(train_page(), KEY)
    assert at.session_state["teacher"] is True


def test_wrong_attempts_are_slowed_and_logged_without_the_typed_text(classroom, monkeypatch, caplog):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)
    at = train_page()
    with caplog.at_level(logging.WARNING, logger="ae_lab.classroom"):
        unlock(at, "my-secret-guess-1")
        unlock(at, "my-secret-guess-2")
    bid = at.session_state["browser_id"]
    logged = [r.getMessage() for r in caplog.records if r.name == "ae_lab.classroom"]
    assert [re.sub(r"browser \w+", "browser X", m) for m in logged] == [
        "Teacher key: wrong attempt 1 from browser X.",
        "Teacher key: wrong attempt 2 from browser X.",
    ]
    assert not any("my-secret-guess" in m or bid in m for m in logged)
    assert classroom.throttle().failures(bid) == 2
    assert "teacher" not in at.session_state or not at.session_state["teacher"]
    assert any("not the teacher key" in e.value for e in at.error)


def test_students_runs_are_capped_in_classroom_mode_and_the_teacher_lifts_the_cap(classroom, monkeypatch):
    from ui import server

    monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)
    manager = server.manager()
    try:
        at = train_page()
        at.multiselect(key="tr_models").set_value(["dense_dae"]).run()
        at.number_input[0].set_value(200)  # epochs x 10,000 images = 2,000,000... plus one epoch more:
        at.number_input[0].set_value(201)
        next(b for b in at.button if b.label == "Start training").click().run()
        assert any("at most 2,000,000" in e.value and "ask your teacher" in e.value for e in at.error)
        assert not [j for j in manager.jobs_for(at.session_state["browser_id"]) if j.active]
        at = unlock(at, KEY)
        at.button(key="teacher_lift_cap").click().run()
        assert manager.limits.max_run_images is None
        assert any("lifted" in c.value for c in at.caption)
    finally:
        manager.set_limits(server.limits_from_env())


def test_forget_this_browser_drops_its_runs_and_starts_afresh():
    _, files = dense_upload(0.2)
    at = train_page()
    at.file_uploader(key="tr_upload").set_value(files).run()
    old = at.session_state["browser_id"]
    from ui import server

    assert server.manager().jobs_for(old)
    at.button(key="forget_browser").click().run()
    assert not at.exception
    assert server.manager().jobs_for(old) == []
    assert at.session_state["browser_id"] != old
    assert any("Forgotten" in s.value for s in at.sidebar.success)
    assert not at.dataframe  # no run history


def test_an_upload_is_decoded_once_per_file_not_on_every_rerun(monkeypatch):
    from ae_core import preprocess
    from tests.images import png, seven

    calls = []
    real = preprocess.from_upload
    monkeypatch.setattr(preprocess, "from_upload", lambda data: calls.append(len(data)) or real(data))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.radio(key="pg_source").set_value("upload").run()
    at.file_uploader(key="pg_upload").set_value([("seven.png", png(seven()), "image/png")]).run()
    at.slider(key="pg_factor").set_value(0.3).run()
    at.toggle(key="pg_residual").set_value(True).run()
    assert not at.exception and len(calls) == 1


@pytest.mark.parametrize("setup", ["Dockerfile", "deploy/compose.yaml", "deploy/k8s/deployment.yaml"])
def test_every_shipped_setup_starts_with_read_only_shared_weights(setup, monkeypatch):
    """The app, run with exactly the environment a shipped set-up gives it and no teacher credential, lets no
    visitor press Save as default or Restore shipped."""
    from tests.reliability.test_deploy_files import shipped_env

    # (the suite's own switches stay: no download, and no start-up warm-up in the test process)
    for name in [n for n in os.environ if n.startswith("AE_LAB_") and n not in ("AE_LAB_OFFLINE", "AE_LAB_WARMUP")]:
        monkeypatch.delenv(name, raising=False)
    for name, value in shipped_env(setup).items():
        if name.startswith("AE_LAB_") and name not in ("AE_LAB_WEIGHTS", "AE_LAB_OFFLINE", "AE_LAB_TEACHER_KEY"):
            monkeypatch.setenv(name, value)
    _, files = dense_upload(0.1)
    at = train_page()
    at.file_uploader(key="tr_upload").set_value(files).run()
    assert at.button(key="tr_save").disabled and at.button(key="tr_restore").disabled
