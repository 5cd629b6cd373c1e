"""The Tutorial page through app.py, as a learner uses it: every step in both languages, one action per step that
changes its figure, the numbers equal ae_core's own, the step in the URL, lessons, crafted values, the hand-off to
the Playground; and the Scoreboard's first table read from the file saved with the weights."""

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core import codesize, inspect, results, store
from ae_core import data as mnist
from ae_core.registry import MODELS
from tests.conftest import ROOT, needs_mnist
from ui import tutorial as tut

pytestmark = [pytest.mark.slow, needs_mnist]


def page(query: dict | None = None) -> AppTest:
    """The Tutorial page on its own (a learner who opens /tutorial?...): AppTest cannot follow a Chinese session from
    page to page (it formats a radio's English value against the translated options)."""
    at = AppTest.from_file(str(ROOT / "views" / "tutorial.py"), default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    ok(at)
    return at


def tutorial(query: dict | None = None) -> AppTest:
    """A learner who opens the app with `query` in the address and goes to the Tutorial (which reads the step from
    the address on its first run, as a browser opening /tutorial?step=... does)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/tutorial.py")
    for k, v in (query or {}).items():  # the Playground wrote its own address
        at.query_params[k] = v
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning, [w.value for w in at.warning]


def images(at: AppTest) -> list[str]:
    """Every figure's URL (the media file's name is its content's hash: another picture, another URL)."""
    urls = [i.url for e in at.get("image") for i in e.proto.imgs]
    assert urls and all(i.alt for e in at.get("image") for i in e.proto.imgs)  # every figure has alt text
    return urls


def texts(at: AppTest) -> str:
    captions = [i.caption for e in at.get("image") for i in e.proto.imgs]
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + captions)


def layers(at: AppTest) -> list[list[str]]:
    """The step's layer table (a Markdown table): [step, operation, output shape, parameters] per row."""
    for m in at.markdown:
        lines = m.value.splitlines()
        if lines and lines[0].startswith("| ") and "output (H×W×C)" in lines[0]:
            return [[c.strip().strip("`") for c in line.strip("|").split("|")] for line in lines[2:]]
    raise AssertionError("no layer table")


def go(at: AppTest, slug: str) -> None:
    at.selectbox(key="tu_pick").set_value(tut.SLUGS.index(slug)).run()
    ok(at)
    assert at.query_params["step"] == slug


def test_next_walks_every_step_in_order_and_the_url_follows():
    at = page()
    titles = []
    for i, slug in enumerate(tut.SLUGS):
        assert at.query_params["step"] == slug and at.session_state["tu_step"] == i
        titles.append(at.header[0].value)
        assert at.button(key="tu_prev").disabled == (i == 0) and at.button(key="tu_next").disabled == (i == 9)
        if i < len(tut.SLUGS) - 1:
            at.button(key="tu_next").click().run()
            ok(at)
    assert titles == [t for _, t in tut.STEPS]
    at.button(key="tu_prev").click().run()
    assert at.query_params["step"] == "results"


def test_every_step_in_chinese():
    """Each step opened from its address in 简体中文 (AppTest cannot rerun a widget with a translated format_func;
    tests/test_browser_tutorial.py clicks through them in a browser)."""
    titles = []
    for slug in tut.SLUGS:
        at = page({"lang": "zh-CN", "step": slug})
        assert at.query_params["step"] == slug and at.query_params["lang"] == "zh-CN"
        titles.append(at.header[0].value)
        assert at.button(key="tu_next").label == "下一步 →"
    assert titles[0] == "数据：一个数字就是 784 个数" and titles[7] == "解码器：先上采样，再卷积"
    assert len(set(titles)) == len(tut.STEPS)


@pytest.mark.parametrize(
    ("raw", "slug", "notice"),
    [("noise", "noise", False), ("6", "noise", False), ("NOISE ", "noise", False), ("10", "next", False)]
    + [
        ("0", "data", True),
        ("11", "data", True),
        ("banana<b>", "data", True),
        ("-3", "data", True),
        ("", "data", True),
    ],
)
def test_the_url_names_the_step_and_a_bad_one_starts_at_the_first_with_a_notice(raw, slug, notice):
    at = tutorial({"step": raw})
    assert at.query_params["step"] == slug
    toasts = [t.value for t in at.toast]
    assert bool(toasts) == notice, toasts
    if notice:
        assert "Unknown tutorial step" in toasts[0]


def test_data_step_shows_the_digits_784_numbers():
    at = tutorial({"step": "data"})
    digits = mnist.test_digits()
    for i in (0, 4321, 9999):
        before = images(at)
        at.number_input(key="tu_digit").set_value(i).run()
        ok(at)
        table = at.dataframe[0].value
        x = digits.images[i].float() / 255
        assert table.shape == (28, 28)
        assert torch.allclose(torch.tensor(table.to_numpy(), dtype=torch.float32), x.round(decimals=2), atol=1e-6)
        assert f"{int((x > 0).sum())} of its 784 numbers are above 0" in texts(at)
        assert f"Test digit #{i}: a {int(digits.labels[i])}" in texts(at)
        if i:
            assert images(at) != before


def test_network_step_shapes_and_code_are_the_live_models():
    at = tutorial({"step": "network"})
    _, m = store.load_model("basic_ae")
    table = layers(at)
    arch = inspect.architecture(m)
    assert [r[2] for r in table] == [r.shape_text for r in arch] == ["28×28×1", "784", "64", "64", "784", "28×28×1"]
    assert [r[0] for r in table] == [r.name for r in arch]
    assert sum(int(r[3].replace(",", "")) for r in table) == 101_200 == sum(p.numel() for p in m.parameters())
    assert "class BasicAE(nn.Module)" in at.code[0].value and "def encode" in at.code[0].value
    before = images(at)
    at.radio(key="tu_layer").set_value("decoder").run()
    ok(at)
    assert images(at) != before


def test_training_step_reads_the_shipped_history():
    at = tutorial({"step": "training"})
    losses = store.read_sidecar("basic_ae")["history"]["train_loss"]
    assert f"the mean training loss was **{losses[-1]:.4f}**" in texts(at)
    at.slider(key="tu_epoch").set_value(3).run()
    ok(at)
    assert f"After epoch 3, the mean training loss was **{losses[2]:.4f}**" in texts(at)
    assert f"{losses[2] / losses[0]:.0%} of the first epoch's" in texts(at)


def test_codes_and_hidden_size_steps_follow_their_controls():
    at = tutorial({"step": "codes"})
    first = images(at)
    at.number_input(key="tu_start").set_value(100).run()
    ok(at)
    assert images(at) != first and "Test digits #100-#107" in texts(at)
    go(at, "hidden")
    assert "Test digits #100-#107" in texts(at)  # the eight digits of the step before
    seen, scores = set(), []
    saved = codesize.load(store.WEIGHTS_DIR).scores
    for h in (2, 16, 128):
        at.select_slider(key="tu_size").set_value(h).run()
        ok(at)
        seen.add(tuple(images(at)))
        s = saved[h]  # the very numbers of the saved sizes
        assert f"With {h} units" in texts(at) and f"PSNR **{s['psnr']:.2f} dB**, SSIM **{s['ssim']:.3f}**" in texts(at)
        scores.append(s["psnr"])
    assert len(seen) == 3 and scores == sorted(scores)


def test_noise_encoder_and_decoder_steps():
    at = tutorial({"step": "noise"})
    before = images(at)
    at.select_slider(key="tu_factor").set_value(0.9).run()
    ok(at)
    assert images(at) != before
    assert "def gaussian" in at.code[0].value
    go(at, "encoder")
    _, conv = store.load_model("conv_dae")
    enc = [r.shape_text for r in inspect.architecture(conv)][:10]
    assert [r[2] for r in layers(at)] == enc and enc[-1] == "4×4×32"
    assert "Gaussian noise at 0.9" in texts(at)  # the noise step's factor
    first = images(at)
    at.select_slider(key="tu_enc").set_value("max_pool2d_2").run()
    ok(at)
    assert images(at) != first and "max-pool 2×2, 4×4×32" in texts(at)
    go(at, "decoder")
    dec = [r.shape_text for r in inspect.architecture(conv)][10:]
    assert (
        [r[2] for r in layers(at)]
        == dec
        == [
            "7×7×32",
            "7×7×32",
            "7×7×32",
            "14×14×32",
            "14×14×64",
            "14×14×64",
            "28×28×64",
            "28×28×64",
            "28×28×64",
            "28×28×1",
        ]
    )
    first = images(at)
    at.select_slider(key="tu_dec").set_value("out").run()
    ok(at)
    assert images(at) != first


def test_results_step_numbers_equal_evaluate():
    at = tutorial({"step": "results"})
    digits = mnist.test_digits()
    ev = results.load(store.WEIGHTS_DIR, digits)[1]
    s = ev.summary()
    table = at.table[0].value
    for row, name in (("noisy_input", "Noisy input"), ("dense_dae", "Dense DAE"), ("conv_dae", "Conv DAE")):
        assert table.loc[name, "PSNR (dB)"] == f"{s[row]['psnr']:.2f}"
        assert table.loc[name, "SSIM"] == f"{s[row]['ssim']:.3f}"
    before = images(at)
    at.number_input(key="tu_test").set_value(1234).run()
    ok(at)
    assert images(at) != before
    p, q = float(ev.scores["conv_dae"]["psnr"][1234]), float(ev.scores["conv_dae"]["ssim"][1234])
    assert f"Conv DAE: {p:.2f} dB, SSIM {q:.3f}" in texts(at)


def test_crafted_values_are_bounded():
    at = tutorial({"step": "data"})
    for v in (-5, 10**12):
        at.session_state["tu_digit"] = v
        at.run()
        ok(at)
    at.session_state["tu_factor"] = 7.5
    at.session_state["tu_size"] = 3
    at.session_state["tu_start"] = "x"
    go(at, "hidden")
    assert "With 64 units" in texts(at)
    go(at, "noise")
    assert at.select_slider(key="tu_factor").value == 0.5


def test_a_lesson_keeps_its_hidden_controls_and_its_step():
    at = tutorial({"step": "noise", "hide": "factor,retrain", "sources": "mnist"})
    assert not [s for s in at.select_slider if s.key == "tu_factor"]
    assert "Noise factor: 0.5 (set by the lesson)." in texts(at)
    assert at.query_params["hide"] == "factor,retrain" and at.query_params["step"] == "noise"
    go(at, "hidden")
    assert "Train page" not in texts(at)
    go(at, "next")
    assert "Train:" not in " ".join(texts(at))
    assert at.query_params["hide"] == "factor,retrain"


def test_a_lesson_link_can_start_at_a_step():
    from ui import lesson

    at = AppTest.from_function(lambda: None)  # session state for lesson.link's reads
    at.run()
    url = lesson.link({"source": "mnist", "digit": "3"}, ["mnist"], ["factor"], start="encoder")
    assert url.startswith("tutorial?") and "step=encoder" in url and "hide=factor" in url and "lang=en" in url
    assert "digit=" not in url
    assert "step=" not in lesson.link({"source": "mnist", "digit": "3"}, ["mnist"], ["factor"])


def test_the_last_step_opens_the_playground_with_the_steps_digit_and_noise():
    at = tutorial({"step": "results"})
    at.number_input(key="tu_test").set_value(4321).run()
    go(at, "noise")
    at.select_slider(key="tu_factor").set_value(0.3).run()
    go(at, "next")
    assert "test digit #4321 with Gaussian noise at 0.3" in texts(at)
    at.button(key="tu_to_playground").click().run()
    ok(at)
    assert at.title[0].value == "Playground"
    assert at.session_state["pg_digit"] == 4321 and at.session_state["pg_factor"] == 0.3


def test_the_playground_offers_the_tutorial_until_it_is_opened():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    ok(at)
    offer = [e for e in at.get("page_link") if "Tutorial walks" in e.proto.label]
    assert offer and offer[0].proto.page.endswith("tutorial")
    at.switch_page("views/tutorial.py").run()
    at.switch_page("views/playground.py").run()
    assert not [e for e in at.get("page_link") if "Tutorial walks" in e.proto.label]


def test_the_scoreboard_shows_the_shipped_table_without_computing_it(monkeypatch):
    from ae_core import scoreboard
    from ui import server

    monkeypatch.setenv("AE_LAB_SWEEP_DIGITS", "200")
    server.results.clear()

    def never(*a, **k):
        raise AssertionError("the shipped table was computed again")

    monkeypatch.setattr(scoreboard, "table", never)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("views/scoreboard.py").run()
    ok(at)
    ev = results.load(store.WEIGHTS_DIR, mnist.test_digits())[1]
    table = at.dataframe[0].value.set_index("denoiser")
    for row, name in (("basic_ae", "Basic AE"), ("conv_dae", "Conv DAE"), ("median", "Median 3×3")):
        assert table.loc[name, "PSNR (dB)"] == pytest.approx(ev.summary()[row]["psnr"])
    # Other settings are computed, as before (and here refused by the stand-in).
    at.select_slider(key="sb_factor").set_value(0.55).run()
    assert at.exception
    server.results.clear()
    assert set(MODELS) <= set(ev.scores)


@pytest.mark.parametrize(
    ("sidecar", "shown"),
    [
        ({"history": [0.3, 0.2], "config": "fast"}, None),  # no per-epoch record: the step says so
        ({"history": {"train_loss": "0.3"}}, None),
        ({"history": {"train_loss": [0.4, "x", float("nan"), 0.2]}, "config": {"lr": "fast", "batch_size": True}}, 2),
    ],
)
def test_the_training_step_reads_a_strange_sidecar_without_an_error(monkeypatch, sidecar, shown):
    """The default weights' sidecar is a file (a teacher's Save as default writes a new one): whatever it holds, the
    step shows the loss it can read or says that there is none."""
    from ui import server

    monkeypatch.setattr(server, "sidecar_of", lambda key: sidecar)
    at = page({"step": "training"})
    if shown is None:
        assert any("not available" in i.value for i in at.info)
    else:
        assert at.slider(key="tu_epoch").max == shown and "learning rate ?" in texts(at) and "batch ?" in texts(at)


@pytest.mark.parametrize(("step", "key"), [("data", "tu_digit"), ("results", "tu_test")])
def test_a_typed_digit_is_not_sent_back_on_every_run(step, key):
    """The digit pickers and the step list hold their values between runs without the page writing them again: a
    written value is sent back and overwrites the browser's widget, so arrow presses made while a run was on were
    lost (a keyboard walk on a loaded machine reached digit 6 for 2 + 5)."""
    at = page({"step": step})
    at.number_input(key=key).set_value(4).run()
    at.number_input(key=key).set_value(5).run()
    picker, steps = at.number_input(key=key), at.selectbox(key="tu_pick")
    assert picker.value == 5 and not picker.proto.set_value
    assert steps.value == tut.SLUGS.index(step) and not steps.proto.set_value
    ok(at)


@pytest.mark.parametrize("value", ["2 of 10: Part one: 784-64-784", "3", None, 2.0, True, [1], {"x": 1}])
def test_the_step_callback_keeps_the_step_for_anything_but_a_whole_number(monkeypatch, value):
    """The step list's callback gets what the browser sent: after a language switch on a loaded server, Streamlit's
    frontend sent the list's old-language text as its value, and go() failed comparing it with 0 (TypeError, the
    run ended in an error). A crafted message can send anything."""
    from tests.uistate import fake_st

    fake = fake_st()
    monkeypatch.setattr(tut, "st", fake)
    fake.session_state.tu_step = 4
    tut.go(value)
    assert fake.session_state.tu_step == 4
    for step, want in ((7, 7), (-3, 0), (99, len(tut.SLUGS) - 1)):
        tut.go(step)
        assert fake.session_state.tu_step == want
