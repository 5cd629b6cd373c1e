import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def small_sweeps(monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")


def test_scoreboard_page_and_noise_change(small_sweeps):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/scoreboard.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Scoreboard"
    # The sweep size set here is the one used, even when ui.server was imported earlier in the run.
    assert any(c.value.startswith("On 200 digits of the MNIST test set") for c in at.caption), [
        c.value for c in at.caption
    ]
    table = at.dataframe[0].value
    assert list(table["denoiser"]) == ["Basic AE", "Dense DAE", "Conv DAE", "Noisy input", "Median 3×3"]
    assert (
        table.set_index("denoiser")["PSNR (dB)"]["Conv DAE"] > table.set_index("denoiser")["PSNR (dB)"]["Noisy input"]
    )
    heads = [s.value for s in at.subheader]
    for h in (
        "Robustness: quality as the noise grows",
        "Does denoising restore recognisability?",
        "Per-class PSNR",
        "Best and worst 8 digits",
        "Train/test noise matrix",
    ):
        assert h in heads
    at.selectbox(key="sb_noise").set_value("salt_pepper").run()
    assert not at.exception
    assert "Test set at Salt & pepper 0.5" in [s.value for s in at.subheader]
    assert not at.dataframe[0].value.equals(table)


def test_inside_page_shows_every_section():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/inside.py").run()
    assert not at.exception, [e.value for e in at.exception]
    heads = [s.value for s in at.subheader]
    for h in (
        "Architecture",
        "Basic AE codes",
        "Learned filters",
        "Conv DAE feature maps for your digit",
        "Latent map",
        "Interpolation",
        "Stress tests",
    ):
        assert h in heads
    conv_arch = at.dataframe[2].value
    assert list(conv_arch["output (H×W×C)"])[0] == "28×28×1" and "4×4×32" in list(conv_arch["output (H×W×C)"])
    assert conv_arch["parameters"].sum() == 121_281
    at.radio(key="in_shape").set_value("letter A").run()
    assert not at.exception
