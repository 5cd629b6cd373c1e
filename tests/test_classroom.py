"""ui/classroom's rules as plain functions: who is the teacher, what the server's credentials are, who may change the
shared weights and spend the server's time (the panels themselves are driven in tests/test_security.py)."""

from __future__ import annotations

import logging

import pytest

from serve.throttle import KeyThrottle, Policy, ServerRate
from ui import classroom

KEY = "Correct-Horse-Battery-Staple-9d2f"  # strong enough for key_problem
ENV = (
    "AE_LAB_CLASSROOM",
    "AE_LAB_TEACHER_KEY",
    "AE_LAB_TEACHER_KEY_FILE",
    "AE_LAB_TEACHER_EMAILS",
    "AE_LAB_CLASS_CODE",
    "AE_LAB_CLASS_CODE_FILE",
)


@pytest.fixture
def room(st_fake, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(classroom, "_logged", set())
    monkeypatch.setattr(classroom, "_problems", {})
    # A throttle with no waiting: these tests check who is let in, not the delays (tests/test_throttle.py does).
    fast = KeyThrottle(Policy(), sleep=lambda s: None, server=ServerRate(sleep=lambda s: None))
    monkeypatch.setattr(classroom, "throttle", lambda: fast)
    return st_fake


def login(st, email, verified=True):
    st.user = {"is_logged_in": True, "email": email, "email_verified": verified}


@pytest.mark.parametrize(("raw", "on"), [("1", True), (" TRUE ", True), ("yes", True), ("On", True), ("0", False),
                                         ("", False), ("2", False), ("enabled", False)])  # fmt: skip
def test_enabled(room, monkeypatch, raw, on):
    monkeypatch.setenv("AE_LAB_CLASSROOM", raw)
    assert classroom.enabled() is on


def test_off_by_default(room):
    assert not classroom.enabled() and classroom.may_change_defaults() and not classroom.run_size_capped()


def test_the_key_comes_from_a_file_before_the_variable(room, monkeypatch, tmp_path):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", "  from-the-variable-0123456789xyz  ")
    assert classroom._raw_key() == "from-the-variable-0123456789xyz"
    f = tmp_path / "key"
    f.write_text(f"  {KEY}\n", encoding="utf-8")
    monkeypatch.setenv("AE_LAB_TEACHER_KEY_FILE", f" {f} ")
    assert classroom._raw_key() == KEY and classroom._key() == KEY


def test_an_unreadable_key_file_means_no_key_and_one_log_line(room, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)  # the file wins, even when it cannot be read
    monkeypatch.setenv("AE_LAB_TEACHER_KEY_FILE", str(tmp_path / "missing"))
    with caplog.at_level(logging.INFO, logger="ae_lab.classroom"):
        assert classroom._key() == "" and classroom._key() == ""
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "AE_LAB_TEACHER_KEY_FILE could not be read (FileNotFoundError).")
    ]
    bad = tmp_path / "latin1"
    bad.write_bytes(b"\xff\xfe\xfa")
    monkeypatch.setenv("AE_LAB_TEACHER_KEY_FILE", str(bad))
    assert classroom._key() == ""


def test_a_weak_key_is_refused_and_logged_once(room, monkeypatch, caplog):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", "password12345678")
    with caplog.at_level(logging.INFO, logger="ae_lab.classroom"):
        assert classroom._key() == "" and classroom._key() == ""
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Teacher key refused: it is guessable")
    assert "secrets.token_urlsafe(24)" in record.getMessage() and "password" not in record.getMessage()


def test_a_key_is_judged_once(room, monkeypatch):
    calls = []
    monkeypatch.setattr(classroom, "key_problem", lambda k: calls.append(k) or None)
    assert classroom._problem("a" * 20) is None and classroom._problem("a" * 20) is None
    assert classroom._problem("b" * 20) is None
    assert calls == ["a" * 20, "b" * 20]


def test_teacher_emails(room, monkeypatch):
    assert classroom.teacher_emails() == frozenset()
    assert not classroom.oidc_configured()
    monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", " Ann@School.org ,bob, ,c@d.e")
    assert classroom.teacher_emails() == frozenset({"ann@school.org", "c@d.e"})


def test_oidc_needs_teachers_and_an_auth_section(room, monkeypatch):
    room.secrets = {"auth": {}}
    assert not classroom.oidc_configured()  # no teachers listed
    monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", "t@school.org")
    assert classroom.oidc_configured()
    room.secrets = {"other": 1}
    assert not classroom.oidc_configured()

    class NoSecrets:
        def __contains__(self, key):
            raise FileNotFoundError("no secrets.toml")

    room.secrets = NoSecrets()
    assert not classroom.oidc_configured()


@pytest.mark.parametrize(
    ("user", "email"),
    [
        ({"is_logged_in": True, "email": " T@School.org ", "email_verified": True}, "t@school.org"),
        ({"is_logged_in": True, "email": "t@school.org", "email_verified": False}, None),
        ({"is_logged_in": True, "email": "t@school.org", "email_verified": "true"}, None),
        ({"is_logged_in": True, "email": "t@school.org"}, None),
        ({"is_logged_in": False, "email": "t@school.org", "email_verified": True}, None),
        ({"is_logged_in": True, "email": ["t@school.org"], "email_verified": True}, None),
        ({}, None),
    ],
)
def test_logged_in_email(room, user, email):
    room.user = user
    assert classroom._logged_in_email() == email


def test_no_user_object_means_nobody_is_logged_in(room):
    del room.user
    assert classroom._logged_in_email() is None


def test_the_teacher_by_key_or_by_listed_email(room, monkeypatch):
    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    assert not classroom.is_teacher() and classroom.run_size_capped() and not classroom.may_change_defaults()
    room.session_state.teacher = True
    assert classroom.is_teacher() and not classroom.run_size_capped() and classroom.may_change_defaults()
    room.session_state.teacher = False
    monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", "t@school.org")
    login(room, "T@school.org")
    assert not classroom.is_teacher()  # listed, but no login is configured
    room.secrets = {"auth": {}}
    assert classroom.is_teacher() and classroom.may_change_defaults()
    login(room, "student@school.org")
    assert not classroom.is_teacher()
    login(room, "t@school.org", verified=False)
    assert not classroom.is_teacher()


def test_a_lesson_never_changes_the_defaults(room, monkeypatch):
    room.session_state.lesson = {"hide": ("seed",)}
    assert not classroom.may_change_defaults()  # classroom mode off, still not from a lesson
    room.session_state.teacher = True
    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    assert not classroom.may_change_defaults()
    assert classroom.why_not() == "This is a lesson link: the weights everyone uses cannot be changed from it."


def test_why_not(room, monkeypatch):
    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    assert classroom.why_not().startswith("Classroom mode: the defaults are read-only in the app")
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)
    assert classroom.why_not().startswith("Classroom mode: only the teacher can change")
    monkeypatch.delenv("AE_LAB_TEACHER_KEY")
    monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", "t@school.org")
    room.secrets = {"auth": {}}
    assert classroom.why_not().startswith("Classroom mode: only the teacher can change")


def test_startup_check_logs_a_read_only_classroom_once(room, monkeypatch, caplog):
    with caplog.at_level(logging.INFO, logger="ae_lab.classroom"):
        classroom.startup_check()  # classroom mode off: nothing to say
        assert caplog.records == []
        monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
        classroom.startup_check()
        classroom.startup_check()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "Classroom mode is on without a usable teacher credential: the shared weights are read-only in the app.",
        )
    ]


@pytest.mark.parametrize("credential", ["key", "oidc", "weak key"])
def test_startup_check_is_quiet_with_a_credential(room, monkeypatch, caplog, credential):
    monkeypatch.setenv("AE_LAB_CLASSROOM", "1")
    if credential == "key":
        monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)
    elif credential == "oidc":
        monkeypatch.setenv("AE_LAB_TEACHER_EMAILS", "t@school.org")
        room.secrets = {"auth": {}}
    else:
        monkeypatch.setenv("AE_LAB_TEACHER_KEY", "short")
    with caplog.at_level(logging.INFO, logger="ae_lab.classroom"):
        classroom.startup_check()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == (["Teacher key refused: it has 5 characters, fewer than the 16 required. Classroom mode stays "
                         "read-only. Make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'"]
                        if credential == "weak key" else [])  # fmt: skip


def test_unlock(room, monkeypatch, caplog):
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", KEY)
    with caplog.at_level(logging.INFO, logger="ae_lab.classroom"):
        assert not classroom.unlock(KEY + "x", "browser-1")
        assert not classroom.unlock("", "browser-1")
        assert classroom.unlock(KEY + "x" * 2000, "browser-2") is False  # its own count, not browser-1's
        assert classroom.unlock(KEY, "browser-1")
    tag = __import__("hashlib").sha256(b"browser-1").hexdigest()[:8]
    assert [r.getMessage() for r in caplog.records] == [
        f"Teacher key: wrong attempt 1 from browser {tag}.",
        f"Teacher key: wrong attempt 2 from browser {tag}.",
        "Teacher key: wrong attempt 1 from browser " + __import__("hashlib").sha256(b"browser-2").hexdigest()[:8] + ".",
    ]
    assert all(KEY not in r.getMessage() and "browser-1" not in r.getMessage() for r in caplog.records)


def test_no_key_unlocks_nothing(room):
    assert not classroom.unlock("", "b") and not classroom.unlock("anything", "b")


def test_only_the_first_1024_bytes_are_compared(room, monkeypatch):
    long_key = (KEY * 40)[:1024]  # a huge paste is cut to 1024 bytes before the comparison
    monkeypatch.setenv("AE_LAB_TEACHER_KEY", long_key)
    assert classroom.unlock(long_key + "any tail", "b")
    assert not classroom.unlock(long_key[:1023], "b")


def test_class_code(room, monkeypatch, tmp_path):
    assert classroom.class_code() == "" and classroom.may_spend()
    monkeypatch.setenv("AE_LAB_CLASS_CODE", " owl-7 ")
    assert classroom.class_code() == "owl-7" and not classroom.may_spend()
    room.session_state.class_ok = True
    assert classroom.may_spend()
    room.session_state.class_ok = False
    room.session_state.teacher = True
    assert classroom.may_spend()


def test_an_unreadable_class_code_file_closes_costly_work(room, monkeypatch, tmp_path):
    monkeypatch.setenv("AE_LAB_CLASS_CODE_FILE", str(tmp_path / "missing"))
    one, two = classroom.class_code(), classroom.class_code()
    assert len(one) >= 40 and one != two  # nobody knows it, not even a second read
    assert not classroom.may_spend()


def test_the_throttles_are_one_per_process():
    assert classroom.throttle() is classroom.throttle()
    assert classroom.code_throttle() is classroom.code_throttle()
    assert classroom.code_throttle() is not classroom.throttle()
