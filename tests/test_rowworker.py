"""The row worker (serve/rowworker.py): playground comparisons in a child process, bit for bit the server's."""

import threading
import time

import numpy as np
import pytest
import torch

from ae_core import classifier, compare, store
from ae_core.registry import MODELS, build
from serve import rowworker

SHAS = {k: store.read_sidecar(k)["sha256"] for k in [*MODELS, classifier.KEY]}


@pytest.fixture(scope="module")
def worker():
    w = rowworker.RowWorker()
    deadline = time.monotonic() + 120
    while not w.ready():  # the child imports torch first
        assert time.monotonic() < deadline, "the row worker never said it was ready"
        time.sleep(0.05)
    yield w
    w.close()


def req(clean, noise="gaussian", factor=0.5, seed=0, baselines=("median", "nl_means"), feed_clean=False, shas=SHAS):
    models = [(k, shas[k]) for k in MODELS]
    return rowworker.request(
        clean, noise, factor, seed, models, baselines, feed_clean, shas[classifier.KEY], store.WEIGHTS_DIR
    )


def same(a: compare.Comparison, b: compare.Comparison) -> bool:
    fields = ("key", "name", "kind", "psnr", "ssim", "label", "confidence")
    return (
        a.settings == b.settings
        and np.array_equal(a.clean, b.clean)
        and np.array_equal(a.model_input, b.model_input)
        and len(a.panels) == len(b.panels)
        and all(
            all(getattr(p, f) == getattr(q, f) for f in fields)
            and np.array_equal(p.image, q.image)
            and (p.residual is None) == (q.residual is None)
            and (p.residual is None or np.array_equal(p.residual, q.residual))
            for p, q in zip(a.panels, b.panels, strict=True)
        )
    )


def test_the_child_computes_what_the_server_would_bit_for_bit(worker, sample):
    """Every panel's image, residual, scores and reading equal an in-process compare() with the same saved weights,
    for every noise type, factors from 0 to 1, the clean input and other baselines."""
    models = {k: store.load_model(k)[1] for k in MODELS}
    _, clf = store.load(classifier.KEY, expect_key=classifier.KEY)
    threads = torch.get_num_threads()  # the child runs with this process's count, as it does beside the server
    cases = [
        ("gaussian", 0.0, 0, ("median", "nl_means"), False),
        ("gaussian", 0.5, 7, ("median", "nl_means"), False),
        ("salt_pepper", 0.35, 3, ("tv",), False),
        ("masking", 1.0, 11, (), False),
        ("gaussian", 0.5, 0, ("median",), True),
    ]
    for i, (noise, factor, seed, base, feed_clean) in enumerate(cases):
        clean = sample.images[i * 7].float().numpy() / 255  # (28, 28)
        got = worker.run(req(clean, noise, factor, seed, base, feed_clean))
        want = compare.compare(clean, noise, factor, seed, models, list(base), feed_clean, classifier=clf)
        assert same(got, want), (noise, factor, seed, base, feed_clean)
    assert torch.get_num_threads() == threads


def test_weights_that_are_not_the_saved_file_are_refused_and_the_child_goes_on(worker, sample):
    clean = sample.images[0].float().numpy() / 255
    with pytest.raises(rowworker.Unavailable, match="not the ones asked for"):
        worker.run(req(clean, shas=SHAS | {"conv_dae": "0" * 64}))  # a browser's own run, say
    started = worker.started
    assert worker.run(req(clean)).panels[0].key == "clean"
    assert worker.started == started  # the same child answered


def test_a_dead_child_is_replaced(worker, sample):
    clean = sample.images[1].float().numpy() / 255
    first = worker.run(req(clean))
    worker._child.kill()
    worker._child.wait()
    started = worker.started
    deadline = time.monotonic() + 120
    while True:  # Unavailable until the new child has loaded; meanwhile the server computes in-process
        try:
            again = worker.run(req(clean))
            break
        except rowworker.Unavailable:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert worker.started == started + 1
    assert same(first, again)


def test_concurrent_sessions_each_get_their_own_row(worker, sample):
    """Many server threads share one child: each answer is the one for its own request."""
    asks = [(i % 8, seed) for i in range(48) for seed in (i,)]  # (digit, seed): 48 different rows
    clean = [sample.images[i].float().numpy() / 255 for i in range(8)]
    want = {(d, s): worker.run(req(clean[d], seed=s)) for d, s in asks}
    got: dict[tuple[int, int], compare.Comparison] = {}

    def ask(mine: list[tuple[int, int]]) -> None:
        for d, s in mine:
            got[(d, s)] = worker.run(req(clean[d], seed=s))

    threads = [threading.Thread(target=ask, args=(asks[t::8],)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(got) == set(want)
    assert all(same(got[a], want[a]) for a in asks)


def test_the_childs_cpu_is_counted_for_its_server(worker, sample):
    """children_cpu_s: the CPU that this process's row workers used (the warm-up's governor adds it to the server's)."""
    clean = sample.images[2].float().numpy() / 255
    before = rowworker.children_cpu_s()
    for seed in range(60):
        worker.run(req(clean, seed=seed))
    assert rowworker.children_cpu_s() > before + 0.1  # 60 comparisons are several tenths of a second


def test_a_child_that_cannot_load_is_not_restarted_on_every_request(sample):
    """A child that dies before it is ready (a broken install, say) is retried after RETRY_S, not once per slider
    move: the server computes the rows meanwhile."""
    import sys

    w = rowworker.RowWorker(command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    try:
        w._child.wait(30)
        clean = sample.images[0].float().numpy() / 255
        for _ in range(5):
            with pytest.raises(rowworker.Unavailable):
                w.run(req(clean))
        assert w.started == 1
        w._retry_at = 0.0  # RETRY_S later
        with pytest.raises(rowworker.Unavailable):
            w.run(req(clean))
        assert w.started == 2
    finally:
        w.close()


# --- the child's own functions, in this process (its loop is driven through a real child above) ---------------------


def test_the_loader_loads_a_saved_model_once_by_its_sha(monkeypatch):
    loads = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda *a, **k: loads.append(a[0]) or real(*a, **k))
    model = rowworker._loader()
    first = model("conv_dae", SHAS["conv_dae"], str(store.WEIGHTS_DIR))
    assert model("conv_dae", SHAS["conv_dae"], str(store.WEIGHTS_DIR)) is first and loads == ["conv_dae"]
    assert isinstance(first, torch.nn.Module)
    assert model(classifier.KEY, SHAS[classifier.KEY], str(store.WEIGHTS_DIR)) is not first
    assert loads == ["conv_dae", classifier.KEY]


def test_the_loader_refuses_other_weights_before_loading_them(monkeypatch):
    loads = []
    monkeypatch.setattr(store, "load", lambda *a, **k: loads.append(a[0]))
    model = rowworker._loader()
    with pytest.raises(LookupError, match="^dense_dae: the saved weights are not the ones asked for$"):
        model("dense_dae", "0" * 64, str(store.WEIGHTS_DIR))
    assert loads == []  # the sidecar said no: no tensor was read


def test_the_loader_refuses_weights_replaced_between_the_sidecar_and_the_load(monkeypatch):
    real = store.load

    def replaced(*a, **k):
        sidecar, m = real(*a, **k)
        return {**sidecar, "sha256": "f" * 64}, m

    monkeypatch.setattr(store, "load", replaced)
    with pytest.raises(LookupError, match="^basic_ae: the saved weights are not the ones asked for$"):
        rowworker._loader()("basic_ae", SHAS["basic_ae"], str(store.WEIGHTS_DIR))


def test_the_loader_keeps_a_bounded_set(monkeypatch):
    monkeypatch.setattr(rowworker, "MAX_MODELS", 2)
    loads = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda *a, **k: loads.append(a[0]) or real(*a, **k))
    model = rowworker._loader()
    for k in ("basic_ae", "dense_dae", "basic_ae"):
        model(k, SHAS[k], str(store.WEIGHTS_DIR))
    assert loads == ["basic_ae", "dense_dae"]  # two fit
    model("conv_dae", SHAS["conv_dae"], str(store.WEIGHTS_DIR))  # a third: the set starts again
    model("basic_ae", SHAS["basic_ae"], str(store.WEIGHTS_DIR))
    assert loads == ["basic_ae", "dense_dae", "conv_dae", "basic_ae"]
    assert rowworker.MAX_MODELS == 2 and len(MODELS) + 1 <= 16  # the shipped set fits the real bound


@pytest.mark.parametrize("with_clf", [True, False])
def test_compute_is_the_servers_comparison(sample, with_clf):
    clean = sample.images[5].numpy().astype(np.float32) / 255
    shas = SHAS if with_clf else {**SHAS, classifier.KEY: None}
    r = rowworker.request(clean, "masking", 0.3, 4, [("dense_dae", SHAS["dense_dae"])], ["tv"], True,
                          shas[classifier.KEY], store.WEIGHTS_DIR)  # fmt: skip
    got = rowworker.compute(r, rowworker._loader())
    clf = store.load(classifier.KEY, expect_key=classifier.KEY)[1] if with_clf else None
    want = compare.compare(clean, "masking", 0.3, 4, {"dense_dae": store.load_model("dense_dae")[1]}, ["tv"], True,
                           classifier=clf)  # fmt: skip
    assert same(got, want)
    assert all((p.label is None) is (not with_clf) for p in got.panels if p.kind == "model")


def test_a_request_is_plain_values():
    r = rowworker.request(np.ones((784,), np.float64), "gaussian", "0.5", "3", [("a", 1)], ["m"], 1, None, "w")
    assert r[0].shape == (28, 28) and r[0].dtype == np.float32
    assert r[1:] == ("gaussian", 0.5, 3, (("a", "1"),), ("m",), True, None, "w")
    assert rowworker.request(np.ones((28, 28)), "g", 0, 0, [], [], False, 7, "w")[7] == "7"


def test_the_loader_reads_the_folder_it_is_given(weights_copy):
    other = build("dense_dae", 7)
    side = store.save("dense_dae", other, {}, weights_copy)
    sha = store.read_sidecar("dense_dae", weights_copy)["sha256"]
    assert sha != SHAS["dense_dae"] and side is not None
    got = rowworker._loader()("dense_dae", sha, str(weights_copy))
    assert all(torch.equal(a, b) for a, b in zip(got.state_dict().values(), other.state_dict().values(), strict=True))


def test_children_cpu_is_the_sum_of_the_live_childrens(worker):
    import psutil

    worker.run(req(np.zeros((28, 28), np.float32)))  # something done; the child now waits on its pipe, idle
    time.sleep(0.2)
    want = sum(
        (lambda t: t.user + t.system)(psutil.Process(w._child.pid).cpu_times())
        for w in list(rowworker._workers)
        if w._child is not None
    )
    assert want > 0.1 and rowworker.children_cpu_s() == pytest.approx(want, abs=0.02)


# --- the handle, with a stand-in child (milliseconds to start; each test its own, so each change is seen) -----------
FAKE = r"""
import os, pickle, sys, time
t = time.process_time()
while time.process_time() - t < float(sys.argv[2]):  # CPU to count
    pass
time.sleep(float(sys.argv[1]))  # loading
out = sys.stdout.buffer
out.write(b"R")
out.flush()
while True:
    try:
        req = pickle.load(sys.stdin.buffer)
    except EOFError:
        break
    if req == "die":
        sys.exit(0)
    if req == "hang":
        time.sleep(60)
    answer = {"cwd": os.getcwd(), "threads": os.environ.get("AE_LAB_THREADS"), "req": req}
    pickle.dump(("ok", answer), out)
    out.flush()
"""


def fake(loading_s: float = 0.0, cpu_s: float = 0.0) -> rowworker.RowWorker:
    import sys

    return rowworker.RowWorker(command=[sys.executable, "-c", FAKE, str(loading_s), str(cpu_s)])


def ready(w: rowworker.RowWorker) -> rowworker.RowWorker:
    deadline = time.monotonic() + 60
    while not w.ready():
        assert time.monotonic() < deadline, "the stand-in child never said it was ready"
        time.sleep(0.01)
    return w


def test_the_child_runs_in_the_project_folder_with_the_servers_torch_threads(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)  # wherever the server was started from
    monkeypatch.setenv("AE_LAB_THREADS", "99")  # the server's own count wins over what its environment says
    w = ready(fake())
    try:
        project = Path(rowworker.__file__).resolve().parent.parent
        assert w.run("hi") == {"cwd": str(project), "threads": str(torch.get_num_threads()), "req": "hi"}
    finally:
        w.close()


def test_a_child_still_loading_is_not_waited_for():
    """The server computes in-process meanwhile: a slider move never waits for the child's imports."""
    w = fake(loading_s=2.0)
    try:
        with pytest.raises(rowworker.Unavailable, match="starting"):
            w.run("first")
        assert ready(w).run("later")["req"] == "later"
    finally:
        w.close()


def test_a_child_that_died_after_loading_is_replaced_at_once():
    w = ready(fake())
    try:
        assert w.run(1)["req"] == 1
        w._child.kill()
        w._child.wait()
        with pytest.raises(rowworker.Unavailable, match="starting"):
            w.run(2)  # a new child started, not yet loaded; no waiting period, as for one that never loaded
        assert w.started == 2 and ready(w).run(3)["req"] == 3
    finally:
        w.close()


def test_children_cpu_adds_every_live_childs():
    import psutil

    a, b = ready(fake(cpu_s=0.3)), ready(fake(cpu_s=0.3))
    try:
        want = sum(
            (lambda t: t.user + t.system)(psutil.Process(w._child.pid).cpu_times())
            for w in list(rowworker._workers)
            if w._child is not None
        )
        assert want > 0.5 and rowworker.children_cpu_s() == pytest.approx(want, abs=0.02)
    finally:
        a.close()
        b.close()


def test_the_loader_refuses_a_file_of_another_model_under_a_models_name(tmp_path):
    side = store.save("dense_dae", build("dense_dae", 1), {}, tmp_path, name="conv_dae")
    with pytest.raises(store.WeightsError, match="These weights are for"):
        rowworker._loader()("conv_dae", side["sha256"], str(tmp_path))


def test_a_child_that_dies_on_a_request_is_reported_and_replaced(caplog):
    w = ready(fake())
    try:
        with caplog.at_level("WARNING", logger="ae_lab.rowworker"), pytest.raises(rowworker.Unavailable) as e:
            w.run("die")
        assert str(e.value) == "EOFError"
        assert caplog.messages == ["row worker failed (EOFError); starting a new one"]
        assert w._child is None  # ended and closed, not left for the next request
        assert ready(w).run("next")["req"] == "next" and w.started == 2
    finally:
        w.close()


def test_a_hung_child_times_out_and_is_replaced(monkeypatch):
    monkeypatch.setattr(rowworker, "TIMEOUT_S", 0.5)
    w = ready(fake())
    try:
        with pytest.raises(rowworker.Unavailable, match="TimeoutError"):
            w.run("hang")
        assert ready(w).run("next")["req"] == "next" and w.started == 2
    finally:
        w.close()


def test_no_new_process_means_the_server_computes_and_says_why(caplog):
    w = ready(fake())
    try:
        w._child.kill()
        w._child.wait()
        w._command = ["/nonexistent/python"]  # the process limit, say: no new child can start
        with caplog.at_level("WARNING", logger="ae_lab.rowworker"), pytest.raises(rowworker.Unavailable) as e:
            w.run("x")
        assert str(e.value) == "FileNotFoundError"
        assert caplog.messages[0].startswith("row worker cannot start (") and "nonexistent" in caplog.messages[0]
    finally:
        w.close()


def test_a_child_that_says_something_else_while_loading_is_not_restarted_at_once():
    import select
    import sys

    w = rowworker.RowWorker(command=[sys.executable, "-c", "import sys, time; sys.stdout.write('X'); "
                                     "sys.stdout.flush(); time.sleep(30)"])  # fmt: skip
    try:
        assert select.select([w._child.stdout], [], [], 30)[0]  # its byte is there, and it is still alive
        for _ in range(3):
            with pytest.raises(rowworker.Unavailable, match="starting"):
                w.run("x")
        assert w.started == 1 and w._child is None  # ended, and no new one before RETRY_S
    finally:
        w.close()
