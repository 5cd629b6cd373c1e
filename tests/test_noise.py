import pytest
import torch

from ae_core import noise
from ae_core.config import NOISE_TYPES


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_same_seed_same_noise_and_range(sample, kind):
    x = sample.batch(slice(0, 64))
    a, b = noise.apply(kind, x, 0.5, 7), noise.apply(kind, x, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, noise.apply(kind, x, 0.5, 8))
    assert a.min() >= 0 and a.max() <= 1
    assert a.shape == x.shape


def test_noise_does_not_touch_global_rng(sample):
    state = torch.random.get_rng_state()
    for kind in NOISE_TYPES:
        noise.apply(kind, sample.batch(slice(0, 8)), 0.3, 1)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_gaussian_is_the_tutorials_formula():
    x = torch.full((1, 1, 28, 28), 0.5)
    g = torch.Generator().manual_seed(3)
    expected = (x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    torch.testing.assert_close(noise.gaussian(x, 0.5, g), expected)


def test_salt_pepper_and_masking_fractions():
    x = torch.full((200, 1, 28, 28), 0.5)
    sp = noise.salt_pepper(x, 0.3, 0)
    changed = sp != 0.5
    assert abs(changed.float().mean().item() - 0.3) < 0.01
    assert set(sp[changed].unique().tolist()) == {0.0, 1.0}
    m = noise.masking(x, 0.25, 0)
    assert abs((m == 0).float().mean().item() - 0.25) < 0.01
    assert set(m.unique().tolist()) == {0.0, 0.5}


def test_factor_zero_is_identity_and_unknown_kind_is_refused(sample):
    x = sample.batch(slice(0, 4))
    assert torch.equal(noise.apply("gaussian", x, 0.0, 0), x)
    with pytest.raises(ValueError, match="unknown noise type"):
        noise.apply("speckle", x, 0.5, 0)
