"""The row worker's rare paths, each run for real: a child that hangs, weights replaced while the child loads them,
and the playground's own computation while the worker is starting or refuses (serve/rowworker.py, ui/playground_state)."""

import shutil
import sys
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core import classifier, store
from ae_core.registry import MODELS
from serve import rowworker
from tests.conftest import ROOT

SHAS = {k: store.read_sidecar(k)["sha256"] for k in [*MODELS, classifier.KEY]}
HANGS = "import sys, time; sys.stdout.buffer.write(b'R'); sys.stdout.flush(); sys.stdin.buffer.read(1); time.sleep(600)"


def req(clean):
    models = [(k, SHAS[k]) for k in MODELS]
    return rowworker.request(clean, "gaussian", 0.5, 0, models, (), False, None, store.WEIGHTS_DIR)


def test_a_child_that_hangs_is_killed_after_the_timeout_and_replaced(monkeypatch, sample):
    monkeypatch.setattr(rowworker, "TIMEOUT_S", 0.5)
    w = rowworker.RowWorker(command=[sys.executable, "-c", HANGS])
    try:
        deadline = time.monotonic() + 30
        while not w.ready():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        first = w._child
        clean = sample.images[0].float().numpy() / 255
        t0 = time.monotonic()
        with pytest.raises(rowworker.Unavailable, match="TimeoutError"):
            w.run(req(clean))
        assert 0.5 <= time.monotonic() - t0 < 10  # it waited the timeout, not forever
        assert first.poll() is not None and w._child is None  # the silent child is gone
        with pytest.raises(rowworker.Unavailable, match="starting"):  # the next request starts another
            w.run(req(clean))
        assert w.started == 2 and w._child is not None and w._child.poll() is None
    finally:
        w.close()


def test_weights_replaced_while_the_child_loads_them_are_refused(tmp_path, monkeypatch):
    """The child reads the sidecar, then loads the tensors: a save in between must not hand it other weights."""
    folder = tmp_path / "weights"
    shutil.copytree(store.WEIGHTS_DIR, folder)
    load = rowworker._loader()
    sha = store.read_sidecar("dense_dae", folder)["sha256"]
    assert load("dense_dae", sha, str(folder)) is not None  # the saved file itself: loaded

    _, other = store.load("dense_dae", folder)
    with torch.no_grad():
        next(other.parameters()).add_(0.01)
    real = store.load

    def save_then_load(name, directory, expect_key=None):  # another save lands between the two reads
        store.save("dense_dae", other, {"name": "dense_dae"}, directory=folder)
        return real(name, directory, expect_key=expect_key)

    load = rowworker._loader()  # a fresh child: nothing loaded yet
    monkeypatch.setattr(store, "load", save_then_load)
    with pytest.raises(LookupError, match="not the ones asked for"):
        load("dense_dae", sha, str(folder))
    monkeypatch.setattr(store, "load", real)
    with pytest.raises(LookupError):  # and the old sha256 stays refused: the file now holds other weights
        load("dense_dae", sha, str(folder))
    new = store.read_sidecar("dense_dae", folder)["sha256"]
    assert new != sha and load("dense_dae", new, str(folder)) is not None


class Refusing:
    """A row worker that is still starting (or refuses the weights): the playground must compute the row itself."""

    def __init__(self, why: str) -> None:
        self.why, self.asked = why, 0

    def run(self, _req):
        self.asked += 1
        raise rowworker.Unavailable(self.why)


@pytest.mark.parametrize("why", ["starting", "LookupError: dense_dae: the saved weights are not the ones asked for"])
def test_the_playground_computes_its_row_while_the_worker_cannot(monkeypatch, why):
    from ui import server

    def row(at) -> str:
        return next(h.proto.body for h in at.get("html") if 'class="ae-row"' in h.proto.body)

    server.rows.clear()
    monkeypatch.setattr(server, "row_worker", lambda: None)  # no worker: the server's own row
    plain = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    plain.query_params["seed"] = "9191"  # a row no other test asked for
    plain.run()
    expected = row(plain)
    server.rows.clear()
    fake = Refusing(why)
    monkeypatch.setattr(server, "row_worker", lambda: fake)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["seed"] = "9191"
    at.run()
    assert not at.exception and fake.asked == 1  # the worker was asked, refused, and the server computed the row
    assert row(at) == expected
    server.rows.clear()
