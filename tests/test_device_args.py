"""The device arguments that a CPU-only run cannot see by their results: every tensor here is on the CPU, so dropping
a device= or a .to(device) changes nothing in the numbers. Spies on the torch calls, and the meta device (a second
device every machine has), make them visible: noise is drawn where the run's generator lives and then moved to the
digits' device, and autocast always names bfloat16 (without a dtype it means float16 on CUDA)."""

import pytest
import torch

from ae_core import noise, precision


@pytest.fixture
def draws(monkeypatch):
    """Every torch.randn / torch.rand call's device= argument, recorded (the real call still runs)."""
    seen = []
    for name in ("randn", "rand"):
        real = getattr(torch, name)

        def spy(*a, _real=real, **k):
            seen.append(k.get("device", "missing"))
            return _real(*a, **k)

        monkeypatch.setattr(torch, name, spy)
    return seen


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "masking"])
def test_noise_is_drawn_on_the_generators_device(kind, draws):
    g = torch.Generator(device="cpu").manual_seed(0)
    noise.apply(kind, torch.full((2, 1, 28, 28), 0.5), 0.5, g)
    assert draws == [g.device], draws  # explicitly: on a GPU run, a CUDA generator draws on the GPU


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "masking"])
def test_noise_lands_on_the_digits_device(kind):
    """The digits on another device (meta: shapes only): the noisy result is there too, not on the generator's."""
    x = torch.empty(2, 1, 28, 28, device="meta")
    out = noise.apply(kind, x, 0.5, torch.Generator().manual_seed(0))
    assert out.device == x.device and out.shape == x.shape and out.dtype == x.dtype


@pytest.mark.parametrize(("device", "prec"), [("cpu", "bf16"), ("cpu", "fp32"), ("cuda", "bf16"), ("cuda", "fp32")])
def test_autocast_names_bfloat16_and_its_cache_rule(device, prec, monkeypatch):
    seen = {}

    def spy(device_type, *a, **k):
        seen.update(k, device_type=device_type, args=a)
        return "context"

    monkeypatch.setattr(torch, "autocast", spy)
    assert precision.autocast(torch.device(device), prec) == "context"
    assert seen == {
        "device_type": device,
        "args": (),
        "dtype": torch.bfloat16,  # not the default: that is float16 on CUDA
        "enabled": prec == "bf16",
        "cache_enabled": device != "cuda",  # a captured CUDA graph must not keep casts made outside it
    }
