"""Whatever is typed into the URL: clamped or ignored with a notice, never a crash."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import params

pytestmark = pytest.mark.slow

NASTY = [
    {"factor": "nan"},
    {"factor": "NaN"},
    {"factor": "inf"},
    {"factor": "-1"},
    {"factor": "1e308"},
    {"factor": "0x10"},
    {"seed": "-5"},
    {"seed": "99999999999999999999"},
    {"seed": "1.5"},
    {"seed": "nan"},
    {"digit": "-1"},
    {"digit": "10000000"},
    {"digit": "abc"},
    {"noise": "<script>alert(1)</script>"},
    {"source": "../../etc/passwd"},
    {"evil": "1", "factor": "0.3"},
]


@pytest.mark.parametrize("query", NASTY, ids=[str(q) for q in NASTY])
def test_nasty_query_values(query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert 0.0 <= at.slider(key="pg_factor").value <= 1.0
    assert 0 <= at.number_input(key="pg_seed").value <= params.MAX_SEED
    assert at.selectbox(key="pg_noise").value in ("gaussian", "salt_pepper", "masking")
    assert len(at.toast) >= 1  # the user is told what was changed
    assert any('class="ae-row"' in h.proto.body for h in at.get("html"))


def test_parse_clamps_and_snaps():
    vals, notes = params.parse({"factor": "0.33", "digit": "12", "seed": "7"}, 100)
    today = {k: vals[k] for k in params.DEFAULTS}
    assert today == {"source": "mnist", "digit": 12, "noise": "gaussian", "factor": 0.35, "seed": 7} and notes == []
    assert vals["hide"] == () and vals["sources"] == params.SOURCES and vals["show"] is None  # no lesson
    vals, notes = params.parse({"digit": "500"}, 100)
    assert vals["digit"] == 99 and "clamped" in notes[0]
