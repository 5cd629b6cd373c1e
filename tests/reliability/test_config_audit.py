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
