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
    for kind in NOISE_TYPES:
        g = torch.Generator().manual_seed(5)
        state = g.get_state()
        out = noise.apply(kind, x, 0.0, g)
        assert torch.equal(out, x) and out is not x
        assert torch.equal(g.get_state(), state)  # no draw: the rest of a run's random stream is unchanged
    with pytest.raises(ValueError, match="unknown noise type 'speckle'; choose one of gaussian, salt_pepper, masking"):
        noise.apply("speckle", x, 0.5, 0)


def test_each_kind_draws_a_fixed_amount_from_the_generator():
    """One generator serves a whole training run, batch after batch: each call draws exactly the uniform or normal
    numbers its formula needs (salt & pepper two per pixel, masking one), so the noise of batch k depends only on the
    seed and k. Checked by drawing the same numbers by hand for two calls in a row."""
    x = torch.full((3, 1, 4, 4), 0.5)
    n = x.numel()
    for kind, draws in (("salt_pepper", lambda g: torch.rand((2, n), generator=g)), ("masking", None)):
        g, ref = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
        for _ in range(2):
            out = noise.apply(kind, x, 0.4, g)
            if kind == "salt_pepper":
                u = draws(ref)
                expected = torch.where(u[0] < 0.4, (u[1] < 0.5).float(), x.flatten())
            else:
                expected = x.flatten() * (torch.rand(n, generator=ref) >= 0.4)
            assert torch.equal(out.flatten(), expected)
            assert out.dtype == x.dtype
