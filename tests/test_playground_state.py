"""ui/playground_state as plain functions: a session's first settings from the URL, its address bar and lesson text,
the buttons, and the row it gets from the server-wide cache (the page around it is driven in test_app_playground)."""

from __future__ import annotations

import numpy as np
import pytest

from ae_core import compare, store
from ae_core.classifier import KEY as CLF
from ae_core.registry import MODELS
from serve import rowworker
from serve.cache import ComputeCache
from ui import playground_state as ps
from ui import server


@pytest.fixture(scope="module")
def digits(sample):
    return sample


def test_a_first_run_takes_the_url(st_fake, digits):
    i = 7
    st_fake.query_params.update(
        {"digit": str(i), "noise": "masking", "factor": "0.32", "seed": "11", "source": "draw", "show": "conv_dae"}
    )
    notices = ps.init(digits)
    ss = st_fake.session_state
    assert notices == []
    assert (ss.pg_source, ss.pg_noise, ss.pg_factor, ss.pg_seed) == ("draw", "masking", 0.3, 11)
    label = int(digits.labels[i])
    assert ss.pg_class == label
    assert server.class_indices(digits)[label][ss.pg_pos] == i
    assert ss.pg_canvas == 0 and ss.pg_models == ["conv_dae"]
    assert "pg_residual" not in ss and "pg_feed_clean" not in ss and "pg_baselines" not in ss  # widget defaults
    assert ss._keep_pg_noise == "masking" and ss._keep_pg_models == ["conv_dae"]  # remembered for other pages
    assert "pg_notices" not in ss


def test_a_first_run_gives_its_notices_once(st_fake, digits):
    st_fake.query_params.update({"factor": "7", "residuals": "on", "feed_clean": "0", "baselines": "median"})
    notices = ps.init(digits)
    assert [str(n) for n in notices] == ["factor=7.0 is out of range; clamped to 1.0."]
    ss = st_fake.session_state
    assert ss.pg_factor == 1.0 and ss.pg_residual is True and ss.pg_feed_clean is False
    assert ss.pg_baselines == ["median"] and isinstance(ss.pg_baselines, list)
    assert ps.init(digits) == []  # a second run: the session's own values, no notices again
    assert ss.pg_factor == 1.0


def test_a_later_run_brings_back_dropped_widget_values(st_fake, digits):
    ps.init(digits)
    ss = st_fake.session_state
    ss.pg_factor = 0.8
    ss._keep_pg_factor = 0.8
    del ss["pg_factor"]  # another page ran: Streamlit dropped the slider's value
    st_fake.query_params["factor"] = "0.1"
    assert ps.init(digits) == []
    assert ss.pg_factor == 0.8


def settings(st, **kw):
    ss = st.session_state
    ss.pg_noise, ss.pg_factor, ss.pg_seed = kw.get("noise", "gaussian"), kw.get("factor", 0.5), kw.get("seed", 3)
    ss.pg_models = kw.get("models", list(MODELS))
    ss.pg_baselines = kw.get("baselines", ["median"])
    return ss


def test_share_url_params(st_fake):
    ss = settings(st_fake, factor=0.25, seed=42)
    assert ps.share_url_params("draw") == {"source": "draw", "noise": "gaussian", "factor": "0.25", "seed": "42"}
    assert ps.share_url_params("mnist") == {"source": "mnist", "noise": "gaussian", "factor": "0.25", "seed": "42"}
    ss.pg_digit = 123
    assert ps.share_url_params("mnist")["digit"] == "123"
    assert "digit" not in ps.share_url_params("upload")
    ss.pg_factor = 1.0
    assert ps.share_url_params("draw")["factor"] == "1"


def test_the_address_bar_adds_the_lesson_and_language(st_fake):
    ss = settings(st_fake)
    assert ps.address_bar("draw") == {"source": "draw", "noise": "gaussian", "factor": "0.5", "seed": "3"}
    ss.lang, ss.lang_chosen = "zh_CN", True
    ss.lesson = {"show": None, "baselines": None, "residuals": None, "feed_clean": None,
                 "sources": ("draw",), "hide": ("seed",)}  # fmt: skip
    bar = ps.address_bar("draw")
    assert bar["lang"] == "zh-CN" and bar["hide"] == "seed" and bar["sources"] == "draw"
    assert bar["show"] == "basic_ae,dense_dae,conv_dae" and bar["baselines"] == "median"


def test_fixed_text(st_fake):
    ss = settings(st_fake, noise="masking", factor=0.35, seed=9, models=["conv_dae"], baselines=[])
    assert ps.fixed_text() == ""  # no lesson
    hide = ("noise_type", "seed", "models", "baselines", "residuals", "feed_clean")
    ss.lesson = {"hide": hide, "sources": ("mnist",)}
    text = ps.fixed_text()
    assert text == (
        "Masking noise at 0.35; noise seed 9; models: Conv DAE; baselines: none; residuals off; noisy input"
    ), text
    ss.pg_residual, ss.pg_feed_clean, ss.pg_models = True, True, []
    ss.lesson = {"hide": ("factor", "residuals", "feed_clean", "models"), "sources": ("mnist",)}
    assert ps.fixed_text() == "Masking noise at 0.35; models: none; residuals on; clean input"
    ss.lesson = {"hide": ("baselines",), "sources": ("mnist",)}
    ss.pg_baselines = ["median", "tv"]
    assert ps.fixed_text().startswith("baselines: Median") and "; " not in ps.fixed_text()


def test_other_than_always_moves_and_covers_the_range(monkeypatch):
    for current in (0, 3, 9):
        seen = {ps.other_than(current, 10) for _ in range(400)}
        assert seen == set(range(10)) - {current}
    assert ps.other_than(0, 1) == 0 and ps.other_than(5, 0) == 0  # nothing else to pick
    assert {ps.other_than(0, 2) for _ in range(20)} == {1} and {ps.other_than(1, 2) for _ in range(20)} == {0}
    picks = iter([0, 1, 2])
    monkeypatch.setattr(ps.secrets, "randbelow", lambda n: next(picks))
    assert [ps.other_than(1, 3) for _ in range(3)] == [0, 2, 3]


def test_the_buttons(st_fake, digits):
    ps.init(digits)
    ss = st_fake.session_state
    seeds = set()
    for _ in range(50):
        before = ss.pg_seed
        ps.new_noise()
        assert ss.pg_seed != before and 0 <= ss.pg_seed < 100_000
        seeds.add(ss.pg_seed)
    assert len(seeds) > 40
    asked = []
    real = ps.other_than
    ps.other_than = lambda current, n: asked.append(n) or real(current, n)
    try:
        ps.new_noise()
    finally:
        ps.other_than = real
    assert asked == [100_000]
    n = len(server.class_indices(digits)[ss.pg_class])
    for _ in range(30):
        before = ss.pg_pos
        ps.random_digit()
        assert ss.pg_pos != before and 0 <= ss.pg_pos < n
    ps.clear_canvas()
    ps.clear_canvas()
    assert ss.pg_canvas == 2


def test_random_digit_picks_within_the_chosen_class(st_fake, digits, monkeypatch):
    ps.init(digits)
    ss = st_fake.session_state
    sizes = [len(c) for c in server.class_indices(server.test_set())]
    asked = []
    monkeypatch.setattr(ps, "other_than", lambda current, n: asked.append((current, n)) or n - 1)
    for c in (int(np.argmin(sizes)), int(np.argmax(sizes))):
        ss.pg_class, ss.pg_pos = c, 4
        ps.random_digit()
        assert asked[-1] == (4, sizes[c]) and ss.pg_pos == sizes[c] - 1
    assert min(sizes) != max(sizes)


def test_latest_is_one_dict_per_session(st_fake):
    first = ps.latest()
    first["cmp"] = 1
    assert ps.latest() is first and ps.latest() == {"cmp": 1}
    assert st_fake.session_state["pg_latest"] is first  # the session's own: a new session starts empty


class Worker:
    """The row worker's interface: records each request; computes it, or refuses like one still starting."""

    def __init__(self, refuse=False):
        self.requests, self.refuse = [], refuse

    def run(self, req):
        self.requests.append(req)
        if self.refuse:
            raise rowworker.Unavailable("starting")
        clean, noise, factor, seed, named, base, feed_clean, _clf, _folder = req
        nets = {k: store.load_model(k)[1] for k, _ in named}
        clf = store.load(CLF, store.WEIGHTS_DIR, expect_key=CLF)[1] if _clf else None
        return REAL(clean, noise, factor, seed, nets, list(base), feed_clean, classifier=clf)


REAL = compare.compare  # the spies below count the server's own calls only


@pytest.fixture
def row(st_fake, digits, monkeypatch):
    """A fresh server-wide row cache and the shipped models with their sha256."""
    cache = ComputeCache(64 * 2**20)
    monkeypatch.setattr(server, "rows", lambda: cache)
    loaded = {k: store.load_model(k) for k in MODELS}
    models = {k: m for k, (_, m) in loaded.items()}
    shas = {k: side["sha256"] for k, (side, _) in loaded.items()}
    settings(st_fake, noise="gaussian", factor=0.4, seed=5, baselines=["median"])
    clean = digits.images[3].numpy().astype(np.float32) / 255  # (28, 28) in [0, 1], as the page passes it
    return clean, models, shas


def spy_compare(monkeypatch):
    calls = []
    real = compare.compare

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(compare, "compare", spy)
    return calls


def test_a_row_is_computed_once_for_the_same_content(st_fake, row, monkeypatch):
    clean, models, shas = row
    monkeypatch.setattr(server, "row_worker", lambda: None)
    real = compare.compare
    calls = spy_compare(monkeypatch)
    cmp, html = ps.comparison(clean, models, shas, False, False)
    assert len(calls) == 1
    direct = real(clean, "gaussian", 0.4, 5, models, ["median"], False, classifier=server.digit_classifier()[1])
    assert [p.psnr for p in cmp.panels] == [p.psnr for p in direct.panels] and len(cmp.panels) == 6
    again, html2 = ps.comparison(clean.copy(), models, shas, False, False)
    assert again is cmp and html2 == html and len(calls) == 1  # the copy has the same pixels: no new compute
    _, with_res = ps.comparison(clean, models, shas, False, True)
    assert len(calls) == 1 and with_res != html  # residuals change the HTML only
    st_fake.session_state.pg_factor = 0.45
    ps.comparison(clean, models, shas, False, False)
    assert len(calls) == 2
    fed, fed_html = ps.comparison(clean, models, shas, True, False)
    assert len(calls) == 3  # the clean input is other content
    assert np.array_equal(fed.model_input, clean) and not np.array_equal(cmp.model_input, clean)
    assert fed_html == ps.panels.row_html(fed, False, True) != ps.panels.row_html(fed, False, False)
    assert all(p.label is not None for p in fed.panels if p.kind == "model")  # the classifier read each output
    ps.comparison(clean.astype(np.float64), models, shas, True, False)
    assert len(calls) == 3  # the same pixels in another dtype: the same key
    st_fake.session_state.lang = "zh_CN"
    _, zh = ps.comparison(clean, models, shas, True, False)
    assert len(calls) == 3 and zh != html  # another language: the same comparison, its own HTML


@pytest.mark.parametrize("change", ["seed", "noise", "baselines", "models", "pixels", "sha"])
def test_every_setting_is_part_of_the_key(st_fake, row, monkeypatch, change):
    clean, models, shas = row
    monkeypatch.setattr(server, "row_worker", lambda: None)
    calls = spy_compare(monkeypatch)
    ps.comparison(clean, models, shas, False, False)
    ss = st_fake.session_state
    if change == "seed":
        ss.pg_seed = 6
    elif change == "noise":
        ss.pg_noise = "masking"
    elif change == "baselines":
        ss.pg_baselines = ["tv"]
    elif change == "models":
        ss.pg_models = ["conv_dae"]
    elif change == "pixels":
        clean = clean.copy()
        clean[0, 0] += 0.5
    else:
        shas = dict(shas, conv_dae="0" * 64)
    ps.comparison(clean, models, shas, False, False)
    assert len(calls) == 2


def test_weights_of_unknown_content_are_never_cached(st_fake, row, monkeypatch):
    clean, models, shas = row
    worker = Worker()
    monkeypatch.setattr(server, "row_worker", lambda: worker)
    calls = spy_compare(monkeypatch)
    shas = dict(shas, dense_dae=None)
    ps.comparison(clean, models, shas, False, False)
    ps.comparison(clean, models, shas, False, False)
    assert len(calls) == 2 and worker.requests == []  # computed here, each time, never by the worker
    st_fake.session_state.pg_models = ["basic_ae"]  # the unknown one is not shown: cached again
    ps.comparison(clean, models, shas, False, False)
    ps.comparison(clean, models, shas, False, False)
    assert len(calls) == 2 and len(worker.requests) == 1


def test_saved_weights_go_to_the_row_worker(st_fake, row, monkeypatch):
    clean, models, shas = row
    worker = Worker()
    monkeypatch.setattr(server, "row_worker", lambda: worker)
    st_fake.session_state.pg_models = ["conv_dae", "basic_ae", "nope"]
    cmp, _ = ps.comparison(clean, models, shas, False, False)
    (req,) = worker.requests
    assert req[6] is False
    ps.comparison(clean, models, shas, True, False)
    assert worker.requests[1][6] is True
    want = rowworker.request(
        clean, "gaussian", 0.4, 5, [("conv_dae", shas["conv_dae"]), ("basic_ae", shas["basic_ae"])], ["median"],
        False, server.digit_classifier()[0]["sha256"], store.WEIGHTS_DIR,
    )  # fmt: skip
    assert repr(req) == repr(want)
    assert cmp.panels  # the worker's answer is the row


def test_without_the_classifier_rows_have_no_readings(st_fake, row, monkeypatch):
    clean, models, shas = row
    worker = Worker()
    monkeypatch.setattr(server, "row_worker", lambda: worker)
    monkeypatch.setattr(server, "digit_classifier", lambda: None)
    cmp, _ = ps.comparison(clean, models, shas, False, False)
    assert worker.requests[0][7] is None
    st_fake.session_state.pg_factor = 0.9
    monkeypatch.setattr(server, "row_worker", lambda: None)
    cmp, _ = ps.comparison(clean, models, shas, False, False)
    assert cmp.panels and all(p.label is None for p in cmp.panels)


def test_a_refusing_worker_falls_back_to_the_server(st_fake, row, monkeypatch):
    clean, models, shas = row
    worker = Worker(refuse=True)
    monkeypatch.setattr(server, "row_worker", lambda: worker)
    calls = spy_compare(monkeypatch)
    st_fake.session_state.pg_models = ["dense_dae"]
    cmp, html = ps.comparison(clean, models, shas, False, False)
    assert len(worker.requests) == 1 and len(calls) == 1
    assert [p.key for p in cmp.panels][:1] and "img" in html
