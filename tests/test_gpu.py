"""The CUDA path, run on a machine with an NVIDIA GPU: `pytest -m gpu`. CI has no GPU and deselects the marker.

Full MNIST (MNIST_DIR), two epochs of 10,800 digits: about a second a run on an H200, and enough training that a
net which learnt nothing but the average digit fails the learning check."""

import math
import statistics

import pytest
import torch

from ae_core import data as ae_data
from ae_core import noise
from ae_core.config import TrainConfig
from ae_core.data import load_mnist, to_float
from ae_core.device import configure_cuda
from ae_core.infer import run
from ae_core.metrics import psnr
from ae_core.train import TrainingDiverged, measure_rate, resolved_precision, split, train
from tests.conftest import needs_mnist

pytestmark = [pytest.mark.gpu, needs_mnist]

CFG = TrainConfig(epochs=2, lr=3e-3, batch_size=128, train_size=12_000, val_split=0.1, device="cuda")
# Validation loss after CFG's two epochs, from measurements with a margin: dense_dae 0.201-0.215 and conv_dae
# 0.174-0.197 on the CPU (seeds 0-2); 0.211 and 0.174 on an H200 (docs/gpu/pytest_gpu.txt). The average digit
# scores 0.263, an untrained net 0.69.
LEARNT = {"dense_dae": 0.235, "conv_dae": 0.225}
# Per-epoch train loss of a captured run against an eager one: the same numbers drawn and the same kernels, so only
# float rounding differs (cuDNN may pick another convolution algorithm when capturing).
CAPTURED_REL = 1e-3
KEYS = ["dense_dae", "conv_dae"]
# What "auto" trains in on a GPU from Ampere on, from bench/gpu.py: bf16 pays for the convolutions only.
AUTO = {"basic_ae": "fp32", "dense_dae": "fp32", "conv_dae": "bf16"}


@pytest.fixture(scope="module")
def cuda():
    if not torch.cuda.is_available():
        pytest.fail("pytest -m gpu needs a CUDA GPU")
    configure_cuda()  # as the server and the CLI start
    return torch.device("cuda")


@pytest.fixture(scope="module")
def digits():
    return load_mnist(train=True)


def _average_digit_bce(digits, cfg: TrainConfig) -> float:
    """The validation loss of a constant output: the training digits' average image."""
    tr, va = split(len(digits), cfg)
    mean = to_float(digits.images[tr]).mean(0, keepdim=True).clamp(1e-6, 1 - 1e-6)  # (1, 1, 28, 28)
    clean = to_float(digits.images[va])  # (n_val, 1, 28, 28)
    return float(torch.nn.functional.binary_cross_entropy(mean.expand_as(clean), clean))


def _weights(result) -> list[torch.Tensor]:
    return [p.detach() for p in result.model.parameters()]


@pytest.mark.parametrize("key", KEYS)
def test_training_on_cuda_learns_with_a_captured_step(cuda, digits, key):
    res = train(key, CFG, data=digits)
    assert res.device.startswith("cuda") and res.precision == AUTO[key] and res.cuda_graph
    val = res.history[-1].val_loss
    print(f"{key}: val loss {[round(e.val_loss, 4) for e in res.history]}")
    assert val < LEARNT[key] < _average_digit_bce(digits, CFG) - 0.02, val
    assert next(res.model.parameters()).device.type == "cpu"  # handed back for the app's CPU inference


@pytest.mark.parametrize("key", KEYS)
def test_the_same_seed_twice_gives_the_same_run_and_another_seed_does_not(cuda, digits, key):
    a, b = train(key, CFG, data=digits), train(key, CFG, data=digits)
    c = train(key, CFG.replace(seed=1), data=digits)
    losses = [[e.train_loss for e in r.history] for r in (a, b, c)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)  # the shuffles and noise come from a seeded CUDA generator
    assert all(torch.allclose(p, q, atol=1e-4) for p, q in zip(_weights(a), _weights(b), strict=True))
    assert losses[2] != pytest.approx(losses[0], rel=1e-3)


@pytest.mark.parametrize("prec", ["fp32", "bf16"])
@pytest.mark.parametrize("key", KEYS)
def test_a_captured_step_gives_an_eager_steps_losses(cuda, digits, key, prec):
    g = train(key, CFG.replace(precision=prec), data=digits)
    e = train(key, CFG.replace(precision=prec), data=digits, cuda_graphs=False)
    assert g.cuda_graph and not e.cuda_graph and g.precision == e.precision == prec
    assert [s.train_loss for s in g.history] == pytest.approx([s.train_loss for s in e.history], rel=CAPTURED_REL)
    assert [s.val_loss for s in g.history] == pytest.approx([s.val_loss for s in e.history], rel=CAPTURED_REL)


def test_a_cuda_trained_model_denoises_on_the_cpu(cuda, digits):
    res = train("conv_dae", CFG.replace(epochs=3, train_size=60_000), data=digits)
    clean = to_float(ae_data.test_digits().images[:500])  # (500, 1, 28, 28)
    noisy = noise.apply("gaussian", clean, 0.5, 0)
    out, _ = run(res.model, noisy)  # on the CPU
    assert out.device.type == "cpu"
    gain = float(psnr(clean, out).mean() - psnr(clean, noisy).mean())
    print(f"conv_dae trained on CUDA: +{gain:.2f} dB over the noisy input")
    assert gain > 7.0  # the shipped Conv DAE gains about 10 dB at factor 0.5; the noisy input is ~9 dB


def test_progress_stop_and_epoch_callbacks_work_with_a_captured_step(cuda, digits):
    seen, epochs = [], []

    class StopAfter:
        def is_set(self) -> bool:
            return len(seen) >= 6  # the first report of epoch 2

    res = train(
        "dense_dae",
        CFG.replace(epochs=3),
        data=digits,
        on_progress=seen.append,
        on_epoch=lambda st, _m: epochs.append(st.epoch),
        stop=StopAfter(),
        progress_every=20,
    )
    assert res.cuda_graph and res.stopped and epochs == [1] and res.epochs_done == 1
    assert [p.batch for p in seen] == [20, 40, 60, 80, 85, 20]  # 85 batches an epoch, read every 20 and at its end
    assert all(math.isfinite(p.loss) and p.images_per_s > 0 for p in seen)


def test_a_nan_in_the_weights_is_caught_through_the_graph(cuda, digits, monkeypatch):
    """The graph reads the parameters in place: a NaN written between replays must reach the loss and be caught
    within its sync window, as in an eager run."""
    import ae_core.train as train_mod

    built, seen = [], []
    real_build = train_mod.build
    monkeypatch.setattr(train_mod, "build", lambda key, seed=0: built.append(real_build(key, seed)) or built[-1])

    def poison(p):
        seen.append(p.batch)
        if p.batch == 20:
            with torch.no_grad():
                next(built[0].parameters()).fill_(float("nan"))

    with pytest.raises(TrainingDiverged, match=r"nan at epoch 1, batches 21-30"):
        train("dense_dae", CFG, data=digits, on_progress=poison, progress_every=10)
    assert seen == [10, 20]


def test_auto_is_not_slower_than_fp32(cuda):
    """The default precision against fp32 on this GPU, median of three timings of 1,000 captured steps each (a few
    per cent of timing noise allowed: for the dense models auto is fp32 itself)."""
    for key in ("basic_ae", "dense_dae", "conv_dae"):
        assert resolved_precision(key, CFG, cuda) == AUTO[key]
        rates = {
            p: statistics.median(measure_rate(key, CFG.replace(precision=p), batches=1000) for _ in range(3))
            for p in ("auto", "fp32")
        }
        print(f"{key}: " + ", ".join(f"{p} {r:,.0f} img/s" for p, r in rates.items()))
        assert rates["auto"] >= 0.95 * rates["fp32"], rates
