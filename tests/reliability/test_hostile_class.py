"""A hostile class against a real server in classroom mode (issue 27's soak, short form; bench/hostile_class.py runs
the five-minute one): attackers with a fresh browser id for every request, honest students, trainers and a teacher at
the same time, at the protocol level."""

from __future__ import annotations

import pytest

from tests.conftest import needs_mnist

pytestmark = [pytest.mark.slow, pytest.mark.serial, needs_mnist]  # its p95 is the honest students' own


ATTACKS = ("canvas bomb", "4096-pixel upload", "weights upload", "new Scoreboard setting", "key guess", "new seed")
TRAINERS = 2


def enough(t) -> bool:
    """Every count the test checks is met, with both trainers' runs done under the attack: the soak can stop."""
    return (
        all(t.actions.get(kind, 0) >= 5 for kind in ATTACKS)
        and len(t.moves) > 200
        and t.teacher_s is not None
        and len(t.runs) == TRAINERS
        and all(v != "started" for v in t.runs.values())
    )


def test_a_hostile_class_cannot_take_down_or_stall_the_honest_one(tmp_path):
    from harness.hostile import soak

    out = soak(60, 10, TRAINERS, 4, ceiling_mb=4096, log=tmp_path / "server.log", enough=enough)
    print(out)
    assert out["server_alive"] and out["server_log_tracebacks"] == 0
    assert out["max_rss_mb"] < out["ceiling_mb"]  # the server and its children, sampled every 0.5 s
    assert out["error_boxes"] == 0 and not out["failures"]  # every refusal was a message
    acts = out["attacker_actions"]
    for kind in ATTACKS:
        assert acts.get(kind, 0) >= 5, acts  # each attack really ran, many times
    assert out["runs"] == {"trainer 0": "finished", "trainer 1": "finished"}  # none refused, evicted or stalled
    assert out["teacher_unlock_s"] is not None and out["teacher_unlock_s"] < 5
    assert out["key_found"] is False
    assert out["slider_moves"] > 200 and out["slider_p95_ms"] < 1000
