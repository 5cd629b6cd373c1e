"""The CUDA path, run on a machine with an NVIDIA GPU: `pytest -m gpu`. CI has no GPU and deselects the marker."""

import pytest
import torch

from ae_core import precision
from ae_core.config import TrainConfig
from ae_core.infer import run
from ae_core.train import train

pytestmark = pytest.mark.gpu

CFG = TrainConfig(epochs=2, lr=3e-3, batch_size=128, train_size=4000, val_split=0.1, device="cuda")


@pytest.fixture(scope="module")
def cuda():
    if not torch.cuda.is_available():
        pytest.fail("pytest -m gpu needs a CUDA GPU")
    return torch.device("cuda")


@pytest.mark.parametrize("key", ["dense_dae", "conv_dae"])
def test_training_on_cuda_learns_and_is_repeatable(cuda, sample, key):
    a = train(key, CFG, data=sample)
    b = train(key, CFG, data=sample)
    assert a.device.startswith("cuda") and a.precision == precision.resolve("auto", cuda)
    assert a.history[-1].val_loss < 0.2  # an untrained net scores ~0.69
    # The same seed on the same device: the same losses (the shuffles and noise come from a CUDA generator).
    assert [e.train_loss for e in a.history] == pytest.approx(
        [e.train_loss for e in b.history], rel=1e-3
    )  # cuDNN may sum in another order
    assert next(a.model.parameters()).device.type == "cpu"  # handed back for the app's CPU inference


def test_a_cuda_trained_model_denoises_on_the_cpu(cuda, sample):
    res = train("conv_dae", CFG.replace(epochs=3), data=sample)
    x = sample.images[:64].float().unsqueeze(1) / 255
    out, _ = run(res.model, x)
    assert out.shape == x.shape and torch.isfinite(out).all()
