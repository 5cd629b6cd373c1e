"""The server settings a classroom deployment relies on."""

import tomllib

from tests.conftest import ROOT


def test_streamlit_config_is_locked_down():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, client = cfg["server"], cfg["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["maxUploadSize"] == 5
    assert server["enableStaticServing"] is False
    assert client["showErrorDetails"] not in ("full", True, "true")
    assert cfg["browser"]["gatherUsageStats"] is False


def test_upload_cap_matches_the_decoder():
    from ae_core.preprocess import MAX_UPLOAD_BYTES

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES


def test_no_per_rerun_work_that_serialises_a_class():
    # Measured with bench/load.py at N=8: a forced full GC after every rerun held the GIL for ~250 ms per slider move,
    # and the source watcher walks every imported module on each rerun. Neither is useful on a serving machine.
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["postScriptGC"] is False
    assert cfg["server"]["fileWatcherType"] == "none"
