"""Widgets no other test drives, each moved once and its effect checked: the Train page's device, run picker, overlay
and download; the Scoreboard's baselines, best/worst model and matrix noise; Inside's latent-map noise; Explore's
walk start."""

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from ae_core import store
from tests.conftest import ROOT, needs_mnist

pytestmark = [pytest.mark.slow, needs_mnist]


@pytest.fixture
def small_sweeps(monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def images(at) -> list[str]:
    return [i.url for e in at.get("image") for i in e.proto.imgs]


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def history(at) -> list[dict]:
    tables = [d.value for d in at.dataframe if "run" in d.value.columns]
    return tables[0].to_dict("records") if tables else []


def finished_runs(at, n: int) -> AppTest:
    """n tiny Dense DAE runs of this browser, finished (seeds 0..n-1)."""
    import time

    at.multiselect(key="tr_models").set_value(["dense_dae"]).run()
    for seed in range(n):
        at.number_input[0].set_value(1)  # epochs
        next(x for x in at.number_input if x.label == "Training images").set_value(512)
        next(x for x in at.number_input if x.label == "Seed").set_value(seed)
        at.selectbox(key="tr_device").set_value("cpu")  # in the form: sent with Start training
        next(b for b in at.button if b.label == "Start training").click().run()
        ok(at)
        deadline = time.monotonic() + 120
        while sum(r["state"] == "finished" for r in history(at)) < seed + 1:
            assert time.monotonic() < deadline
            time.sleep(0.5)
            at.run()
    return at


def test_train_page_device_pick_overlay_and_download():
    at = page("train")
    assert at.selectbox(key="tr_device").options[:2] == ["auto", "cpu"]
    at = finished_runs(at, 2)
    from ui import server

    mine = [j for j in server.manager().jobs_for(at.session_state["browser_id"]) if j.key == "dense_dae"]
    assert len(mine) == 2 and all(j.config.device == "cpu" for j in mine)  # the device the page was set to
    assert at.selectbox(key="tr_pick").value in {j.id for j in mine}
    from ui import jobs

    deferred = set()
    for job in mine:  # pick each run: its download is that run's weights, loadable, with its sha256
        at.selectbox(key="tr_pick").set_value(job.id).run()
        ok(at)
        (button,) = at.get("download_button")
        deferred.add(button.proto.deferred_file_id)  # made when clicked, from the picked run
        with zipfile.ZipFile(io.BytesIO(jobs.weights_zip(job))) as z:
            names = z.namelist()
            sidecar = next(n for n in names if n.endswith(".json"))
            tensors = next(n for n in names if n.endswith(".safetensors"))
            _, model = store.from_bytes(z.read(tensors), z.read(sidecar), expect_key="dense_dae")
        assert store.content_sha("dense_dae", model) == job.sha256
    assert len(deferred) == 2  # each pick offers its own file
    # The overlay draws the chosen runs' curves, with their numbers.
    at.multiselect(key="tr_overlay").set_value([j.id for j in mine]).run()
    ok(at)
    curves = [d.value for d in at.dataframe if "epoch" in (d.value.index.name or "")]
    assert curves and list(curves[-1].columns) == [j.label for j in mine]


def test_scoreboard_baselines_best_worst_and_matrix(small_sweeps):
    at = page("scoreboard")
    table = at.dataframe[0].value
    assert "Total variation" not in list(table["denoiser"])
    at.multiselect(key="sb_baselines").set_value(["median", "tv"]).run()
    ok(at)
    rows = list(at.dataframe[0].value["denoiser"])
    assert rows[-1].startswith("Total variation") or "TV" in rows[-1], rows
    before = images(at)
    at.selectbox(key="sb_bw").set_value("conv_dae").run()
    ok(at)
    assert images(at) != before and any("for Conv DAE" in c for e in at.get("image") for c in e.captions)
    matrix = at.dataframe[-1].value
    at.select_slider(key="sb_mf").set_value(0.9).run()
    ok(at)
    assert not at.dataframe[-1].value.equals(matrix)  # every denoiser scores lower at 0.9


def test_inside_latent_map_noise_moves_the_noisy_code():
    at = page("inside")
    facts = [d.value for d in at.dataframe if "distance moved" in d.value.columns][0]
    at.selectbox(key="in_lm_noise").set_value("masking").run()
    ok(at)
    after = [d.value for d in at.dataframe if "distance moved" in d.value.columns][0]
    assert list(after["clean PC 1"]) == list(facts["clean PC 1"])  # the clean digit's codes stay
    assert list(after["noisy PC 1"]) != list(facts["noisy PC 1"])  # the noisy one moves with the noise type


def test_explore_walk_starts_where_asked():
    at = page("explorer")
    at.number_input(key="ex_walk_a").set_value(3).run()
    ok(at)
    strips = [c.value for c in at.caption if "10 steps along a straight line" in c.value]
    assert len(strips) == 3 and all("test #3 → #1" in s for s in strips), strips
