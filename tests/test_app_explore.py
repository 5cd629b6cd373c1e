"""AppTests of the latent explorer and of lesson links."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from ae_core.registry import MODELS
from tests.conftest import ROOT
from ui import params

pytestmark = pytest.mark.slow

LESSON = {
    "source": "draw",
    "noise": "salt_pepper",
    "factor": "0.3",
    "show": "basic_ae,conv_dae",
    "baselines": "none",
    "residuals": "1",
    "sources": "draw",
    "hide": "noise_type,factor,seed,models,baselines,residuals,feed_clean,retrain",
}


def explorer() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def row(at) -> str:
    return next((h.proto.body for h in at.get("html") if "ae-ex-row" in h.proto.body), "")


def nearest_captions(at) -> list[str]:
    """The labels of each model's 5 nearest digits, as the row shows them."""
    return re.findall(r"nearest test digits in code space: ([\d, ]+)<", row(at))


def test_the_pc_sliders_redraw_all_three_models(monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")
    at = explorer()
    z1, z2 = at.slider(key="ex_z1"), at.slider(key="ex_z2")
    assert z1.min < -1.5 and z1.max > 1.5 and (z2.min, z2.max) == (z1.min, z1.max)  # the data's range
    reads = re.findall(r'class="ae-ex-reads">reads as (\d) \(\d+%\)<', row(at))
    near = nearest_captions(at)
    assert len(near) == 3 and len(reads) == 3
    assert row(at).count('class="ae-ex-dec"') == 3
    z1.set_value(z1.min).run()
    z2.set_value(z2.max).run()
    assert not at.exception
    assert nearest_captions(at) != near  # a far corner of the plane has other neighbours
    assert len(nearest_captions(at)) == 3


def images(at) -> dict[str, str]:
    """{caption: image url} of the page's captioned images (the url names the PNG's content)."""
    return {c: u for el in at.get("image") for c, u in zip(el.captions, el.value, strict=True) if c}


def test_code_sliders_and_the_walk(monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")
    at = explorer()
    for model in ("basic_ae", "dense_dae", "conv_dae"):
        at.radio(key="ex_unit_model").set_value(model).run()
        units = [s for s in at.slider if s.key and s.key.startswith(f"ex_u_{model}_")]
        own = [s.value for s in units]
        assert len(units) == 8
        if model == "conv_dae":
            assert all(v == 1.0 for v in own)  # a factor on the digit's own channel
        shown = images(at)
        assert shown["with your code changes"] == shown["your digit's reconstruction"]  # nothing changed yet
        units[0].set_value(units[0].max).run()
        assert not at.exception
        shown = images(at)
        assert shown["with your code changes"] != shown["your digit's reconstruction"]
        at.button(key="ex_unit_reset").click().run()
        units = [s for s in at.slider if s.key and s.key.startswith(f"ex_u_{model}_")]
        assert [s.value for s in units] == own  # back to the digit's own code
        assert images(at)["with your code changes"] == images(at)["your digit's reconstruction"]
    strip = [u for c, u in images(at).items() if "step" in c]
    assert not strip  # the animation runs only on a press of Walk
    grids = [u for el in at.get("image") for c, u in zip(el.captions, el.value, strict=True) if not c]
    at.number_input(key="ex_walk_b").set_value(7).run()
    strips = [c.value for c in at.caption if "10 steps along a straight line" in c.value]
    assert len(strips) == 3 and all("test #0 → #7" in s for s in strips)
    assert [u for el in at.get("image") for c, u in zip(el.captions, el.value, strict=True) if not c] != grids
    at.button(key="ex_walk_go").click().run()
    assert not at.exception
    last = sorted(c for c in images(at) if "step" in c)
    assert last == [f"{MODELS[k].name}: step 10/10" for k in ("basic_ae", "conv_dae", "dense_dae")], last


def test_code_spaces_are_cached_once_per_weights_for_every_session(monkeypatch):
    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")
    from ae_core import explore
    from ui import server

    built = []
    real = explore.build
    monkeypatch.setattr(explore, "build", lambda model, *a, **k: built.append(model) or real(model, *a, **k))
    server.results.clear()  # nothing from earlier tests: every space is built here
    explorer()
    assert len(built) == 3  # the first session builds each model's space
    explorer()  # a second session
    assert len(built) == 3  # and the second builds none: it reads the first's
    keys = [k for k in server.results()._values if k[0] == "space"]
    assert len(keys) == 3  # one per model's weights, whoever asked
    assert all(isinstance(k[1][0][1], str) and len(k[1][0][1]) == 64 for k in keys)  # keyed by the sha256


def lesson_app(query=LESSON) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_a_lesson_link_shows_only_the_chosen_controls_and_keeps_hidden_values():
    at = lesson_app()
    assert not at.exception and not at.error
    assert not [r for r in at.radio if r.key == "pg_source"]  # one source: no choice
    assert [s.key for s in at.slider] == ["pg_stroke"]  # no noise factor
    assert not at.multiselect and not at.toggle and not [n for n in at.number_input if n.key == "pg_seed"]
    assert not at.sidebar.subheader  # neither "Show" nor "Retrain"
    assert not [e for e in at.expander if e.label == "Make a lesson link"]
    fixed = [c.value for c in at.caption if c.value.startswith("Set for this lesson")]
    assert fixed == [
        "Set for this lesson: Salt & pepper noise at 0.3; noise seed 0; models: Basic AE, Conv DAE; baselines: none; "
        "residuals on; noisy input."
    ]
    # The lesson stays in the address bar, so a refresh opens it again.
    assert {k: at.query_params[k] for k in LESSON} == LESSON
    # Hidden controls keep their values across pages.
    at.switch_page("views/scoreboard.py").run()
    assert at.query_params["hide"] == LESSON["hide"]  # another page of the lesson keeps it too
    at.switch_page("views/playground.py").run()
    assert [c.value for c in at.caption if c.value.startswith("Set for this lesson")] == fixed


LESSON_REFUSAL = "This is a lesson link: the weights everyone uses cannot be changed from it."


def test_a_lesson_session_cannot_change_what_others_see(weights_copy, monkeypatch):
    """Runs and uploads stay the student's own; Save as default / Restore shipped are refused in a lesson, by the
    server too: the buttons are only disabled in the browser, and a client can send the click anyway."""
    from ae_core import store
    from tests.reliability.test_concurrency import dense_upload

    monkeypatch.setattr(store, "WEIGHTS_DIR", weights_copy)
    (weights_copy / "dense_dae.prev.json").write_bytes((weights_copy / "dense_dae.json").read_bytes())
    files_before = {p.name: p.read_bytes() for p in weights_copy.iterdir()}
    at = lesson_app({"hide": "seed"})  # the Train page is there: only the seed is hidden
    at.switch_page("views/train.py").run()
    _, files = dense_upload(0.2)
    at.file_uploader(key="tr_upload").set_value(files).run()
    at.button(key="tr_activate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    save, restore = at.button(key="tr_save"), at.button(key="tr_restore")
    assert save.disabled and restore.disabled and "lesson link" in save.help
    assert {p.name: p.read_bytes() for p in weights_copy.iterdir()} == files_before


def _guards_in_a_lesson():
    """A lesson session that calls the Train page's actions directly, as a forged click would reach them (Streamlit
    drops a disabled button's click, so the server-side guard is the second line, and it is tested on its own)."""
    import streamlit as st

    from serve.jobs import uploaded_job
    from tests.reliability.test_concurrency import dense_upload
    from ui import jobs, lesson

    lesson.init()
    _, files = dense_upload(0.2)
    job = uploaded_job(files[0][1], files[1][1], "forged.safetensors")
    for ok, msg in (jobs.save_as_default(job), jobs.restore_shipped("dense_dae")):
        (st.success if ok else st.error)(msg)


def test_a_lesson_session_refuses_a_forged_save_or_restore(weights_copy, monkeypatch):
    from ae_core import store

    monkeypatch.setattr(store, "WEIGHTS_DIR", weights_copy)
    (weights_copy / "dense_dae.prev.json").write_bytes((weights_copy / "dense_dae.json").read_bytes())
    files_before = {p.name: p.read_bytes() for p in weights_copy.iterdir()}
    at = AppTest.from_function(_guards_in_a_lesson, default_timeout=120)
    at.query_params["hide"] = "seed"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [LESSON_REFUSAL] * 2 and not at.success
    assert {p.name: p.read_bytes() for p in weights_copy.iterdir()} == files_before
    at = AppTest.from_function(_guards_in_a_lesson, default_timeout=120).run()  # the same outside a lesson: saved
    assert not at.exception and len(at.success) == 2, [e.value for e in at.error]
    assert {p.name: p.read_bytes() for p in weights_copy.iterdir()} != files_before


def test_hiding_retrain_removes_the_train_page():
    at = lesson_app({"hide": "retrain"})
    assert not at.exception
    with pytest.raises(ValueError, match="Known pages") as e:
        at.switch_page("views/train.py")  # not a page of this lesson
    assert "scoreboard.py" in str(e.value) and "train.py'" not in str(e.value).split("Known pages")[1]
    assert lesson_app({"hide": "seed"}).switch_page("views/train.py").run().title[0].value == "Train"


def test_the_lesson_link_panel_builds_the_link_that_opens_the_lesson():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["factor"] = "0.3"
    at.run()
    at.multiselect(key="pg_models").set_value(["basic_ae", "conv_dae"]).run()
    at.multiselect(key="pg_baselines").set_value([]).run()
    at.toggle(key="pg_residual").set_value(True).run()
    # Closed, the panel draws nothing inside: it sits in the row that every slider move reruns.
    assert not [w for w in at.checkbox if w.key.startswith("ll_")] and not at.code
    at.session_state["ll_open"] = True  # what opening it does (the browser test clicks it)
    at.run()
    at.multiselect(key="ll_sources").set_value(["draw"]).run()
    for name in ("noise_type", "factor", "retrain"):
        at.checkbox(key=f"ll_can_{name}").uncheck().run()
    url = [c.value for c in at.code][-1]
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    vals, notices = params.parse(query, 10_000)
    assert not notices
    assert vals["source"] == "draw" and vals["sources"] == ("draw",) and vals["factor"] == 0.3
    assert vals["show"] == ("basic_ae", "conv_dae") and vals["baselines"] == () and vals["residuals"] is True
    assert vals["hide"] == ("noise_type", "factor", "retrain")
    opened = lesson_app(query)
    assert not opened.exception
    assert [s.key for s in opened.slider] == ["pg_stroke"] and [n.key for n in opened.number_input] == ["pg_seed"]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_maps_fit_a_laptops_main_column(n):
    """A concatenated Vega-Lite view cannot take the container's width: at 3 maps of 300 px the third was cut off."""
    from ae_core import explore
    from ae_core.data import load_sample
    from ae_core.registry import build
    from ui import explorer as ex

    sample = load_sample()
    x, labels = sample.batch(slice(0, 50)), sample.labels[:50]
    model = build("dense_dae").eval()
    spaces = {f"m{i}": explore.build(model, x, labels) for i in range(n)}
    spec = ex.maps_spec(spaces, (-3.0, 3.0))
    widths = [p["width"] for p in spec["hconcat"]]
    # ~820 px beside the sidebar at 1280 px, less ~70 px of axis per map: the plots themselves stay within 600.
    assert len(widths) == n and sum(widths) <= 600 and min(widths) >= 180
    assert spec["config"]["legend"]["orient"] == "bottom"  # a legend on the right would take width too


def test_the_sidebar_estimate_never_reads_about_zero_seconds(monkeypatch):
    from ae_core.config import TrainConfig
    from ui import jobs

    monkeypatch.setattr(jobs, "rate", lambda *a: 1.0)
    monkeypatch.setattr(jobs, "scoring_rate", lambda *a: 1.0)
    monkeypatch.setattr(jobs.server, "test_set", lambda: range(10))
    for secs, text in [(0.2, "under a second here"), (3.4, "about 3 s here"), (75, "about 1 min 15 s here")]:
        monkeypatch.setattr(jobs, "estimate_seconds", lambda *a, s=secs: s)
        assert jobs.estimate_text("dense_dae", TrainConfig()) == text
    assert jobs.epochs_text(1) == "1 epoch" and jobs.epochs_text(30) == "30 epochs"
