"""The shipped weights load, are what their sidecars say, and beat the tutorial's own recipe on the real test set."""

import pytest

from ae_core import store
from ae_core.data import load_mnist
from ae_core.evaluate import evaluate
from ae_core.registry import MODELS
from harness.bars import BARS
from tests.conftest import needs_mnist


@pytest.mark.parametrize("key", list(MODELS))
def test_shipped_weights_load_with_full_sidecar(key):
    sidecar, model = store.load_model(key)
    assert sidecar["model_key"] == key and sidecar["arch"] == store.arch_fingerprint(key)
    assert sidecar["recipe"] == "ae-lab" and sidecar["epochs_done"] == sidecar["config"]["epochs"]
    assert sidecar["dataset"].startswith("MNIST train")
    assert {"torch_version", "created", "history", "test_metrics"} <= set(sidecar)
    shipped, _ = store.load(f"{key}.shipped")  # the copy "Restore shipped weights" brings back
    assert shipped["sha256"] == sidecar["sha256"]


@needs_mnist
@pytest.mark.parametrize("key", list(MODELS))
def test_shipped_weights_meet_the_tutorial_bar(key, shipped_table):
    factor, max_bce, min_psnr, min_ssim = BARS[key]
    sidecar, model = store.load_model(key)
    if factor == 0.5:  # the tutorial's noise: the session's table of the shipped weights has it (seed 0, as evaluate)
        s = shipped_table.summary()[key]
    else:
        s = evaluate({key: model}, "gaussian", factor, 0, digits=load_mnist(train=False)).summary()[key]
    assert s["bce"] <= max_bce and s["psnr"] >= min_psnr and s["ssim"] >= min_ssim, s
    assert s["psnr"] == pytest.approx(sidecar["test_metrics"]["psnr"], abs=1e-4)  # the sidecar tells the truth
