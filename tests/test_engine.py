"""The training engine's speed-related contracts: precision "auto", the device-resident data path and its host syncs,
NaN detection within a sync window, the classifier on the same engine. (The sidebar estimate against a
real job is a timing: bench/estimate.py.)"""

import math

import pytest
import torch

from ae_core import engine, precision
from ae_core import train as train_mod
from ae_core.classifier import accuracy, train_classifier
from ae_core.config import TrainConfig
from ae_core.data import to_float
from ae_core.registry import MODELS
from ae_core.train import TrainingDiverged, run_meta, train

SMALL = TrainConfig(epochs=1, lr=3e-3, batch_size=64, train_size=1000, val_split=0.2, seed=0, device="cpu")
CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ({"avx512_bf16": True, "amx_bf16": False}, "bf16"),
        ({"avx512_bf16": False, "amx_bf16": True}, "bf16"),
        ({"avx512_bf16": False, "amx_bf16": False, "avx512_f": True}, "fp32"),  # AVX512 without BF16 would emulate
        ({}, "fp32"),  # e.g. an ARM CPU
    ],
)
def test_auto_picks_bf16_only_on_cpus_that_run_it_natively(monkeypatch, caps, expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: caps)
    assert precision.resolve("auto", CPU) == expected
    assert precision.resolve("fp32", CPU) == "fp32" and precision.resolve("bf16", CPU) == "bf16"  # asked is kept


@pytest.mark.parametrize(("cc", "expected"), [((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_on_cuda_needs_compute_capability_8(monkeypatch, cc, expected):
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: asked.append(device) or cc)
    assert precision.resolve("auto", torch.device("cuda", 1)) == expected
    assert asked == [torch.device("cuda", 1)]  # the training device's own capability, not the current device's
    # Where bf16 gains nothing on CUDA (a dense model, or an eager step), auto is fp32; an asked bf16 is kept.
    assert precision.resolve("auto", torch.device("cuda", 1), cuda_gain=False) == "fp32"
    assert precision.resolve("bf16", torch.device("cuda", 1), cuda_gain=False) == "bf16"


@pytest.mark.parametrize(("newer", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_mps_needs_macos_14(monkeypatch, newer, expected):
    asked = []
    monkeypatch.setattr(torch.backends.mps, "is_macos_or_newer", lambda *v: asked.append(v) or newer, raising=False)
    assert precision.resolve("auto", torch.device("mps")) == expected
    assert asked == [(14, 0)]


def test_auto_is_the_default_everywhere():
    assert TrainConfig().precision == "auto"
    assert all(s.recipe.precision == "auto" and s.improved.precision == "auto" for s in MODELS.values())


def test_bf16_and_fp32_reach_comparable_validation_loss(sample):
    """bf16 asked for explicitly, so the comparison is bf16 against fp32 on every CPU (autocast emulates bf16 where
    the hardware lacks it; "auto" would pick fp32 there and compare fp32 with itself)."""
    cfg = SMALL.replace(epochs=2, train_size=2000)
    bf16 = train("conv_dae", cfg.replace(precision="bf16"), data=sample)
    fp32 = train("conv_dae", cfg.replace(precision="fp32"), data=sample)
    assert bf16.precision == "bf16" and fp32.precision == "fp32"
    b, f = bf16.history[-1].val_loss, fp32.history[-1].val_loss
    assert b != f  # bf16 really ran: the same seed in fp32 would give the same loss
    assert abs(b - f) / f < 0.03, (b, f)  # both well below an untrained net's ~0.69


def test_the_sidecar_records_the_precision_that_ran(sample):
    res = train("dense_dae", SMALL, data=sample)
    meta = run_meta(res)
    assert meta["precision"] == res.precision == precision.resolve("auto", CPU)
    assert meta["config"]["precision"] == res.precision  # the resolved config, not "auto"


class _SyncCounter:
    """Counts host reads of a tensor's value (float(), .item()) during training."""

    def __init__(self, monkeypatch):
        self.n = 0
        real_item = torch.Tensor.item

        def item(t):
            self.n += 1
            return real_item(t)

        monkeypatch.setattr(torch.Tensor, "item", item)
        monkeypatch.setattr(torch.Tensor, "__float__", lambda t: float(item(t)))


def test_the_loss_is_read_once_per_window_not_per_batch(sample, monkeypatch):
    counter = _SyncCounter(monkeypatch)
    events = []
    res = train("dense_dae", SMALL.replace(val_split=0.0), data=sample, on_progress=events.append, progress_every=5)
    batches = math.ceil(1000 / 64)  # 16
    assert counter.n == math.ceil(batches / 5)  # batches 5, 10, 15 and the last: 4 reads for 16 steps
    assert [e.batch for e in events] == [5, 10, 15, 16]
    assert res.history[0].train_loss == pytest.approx(events[-1].loss)


def test_a_nan_is_caught_within_its_window_and_names_the_learning_rate(sample, poison_loss):
    calls = poison_loss(7)
    with pytest.raises(TrainingDiverged, match=r"nan at epoch 1, batches 5-8\. The learning rate \(0.003\)"):
        train("basic_ae", SMALL.replace(val_split=0.0), data=sample, progress_every=4)
    assert calls["n"] == 8  # stopped at the end of the window holding the NaN, not at the end of the epoch


def test_training_data_and_noise_stay_on_the_training_device(sample, monkeypatch):
    seen = []
    real = train_mod._denoising_batches

    def spy(images, cfg, gen, fmt):
        seen.append((images.dtype, images.device.type, gen.device.type))
        return real(images, cfg, gen, fmt)

    monkeypatch.setattr(train_mod, "_denoising_batches", spy)
    train("dense_dae", SMALL, data=sample)
    assert seen == [(torch.uint8, "cpu", "cpu")]  # uint8 on the device; the generator lives there too


def test_the_classifier_trains_through_the_same_engine(sample, monkeypatch):
    runs = []
    real_fit = engine.fit
    monkeypatch.setattr(engine, "fit", lambda loop, *a, **k: runs.append(loop) or real_fit(loop, *a, **k))
    model = train_classifier(sample, epochs=6, seed=0, device="cpu")
    assert len(runs) == 1 and runs[0].loss is torch.nn.functional.cross_entropy
    # Six epochs on the 1,000-digit sample: it reads most of them (shuffled labels would give ~10%).
    assert accuracy(model, to_float(sample.images[:500]), sample.labels[:500]) > 0.85


def test_auto_is_fp32_where_the_hardware_cannot_be_asked(monkeypatch):
    """An older torch without the macOS check or the CPU capability report, and a device type ae-lab does not know:
    no claim of native bf16, so fp32."""
    monkeypatch.delattr(torch.backends.mps, "is_macos_or_newer", raising=False)
    assert precision.resolve("auto", torch.device("mps")) == "fp32"

    def no_report():
        raise AttributeError("get_capabilities")

    monkeypatch.setattr(torch.cpu, "get_capabilities", no_report)
    assert precision.resolve("auto", CPU) == "fp32"
    assert precision.resolve("auto", torch.device("meta")) == "fp32"
