import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from ae_core import metrics, noise


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "masking"])
def test_ssim_equals_scikit_image_image_by_image(sample, kind):
    clean = sample.batch(slice(0, 200))
    noisy = noise.apply(kind, clean, 0.4, 0)
    torch.testing.assert_close(metrics.ssim(clean, noisy), metrics.ssim_reference(clean, noisy), rtol=0, atol=1e-12)
    assert torch.allclose(metrics.ssim(clean, clean), torch.ones(200, dtype=torch.float64))


def test_psnr_matches_scikit_image_and_is_capped(sample):
    clean = sample.batch(slice(0, 50))
    noisy = noise.apply("gaussian", clean, 0.3, 1)
    ours = metrics.psnr(clean, noisy)
    ref = [peak_signal_noise_ratio(c[0].numpy(), n[0].numpy(), data_range=1) for c, n in zip(clean, noisy, strict=True)]
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5)
    assert metrics.psnr(clean, clean).eq(metrics.PSNR_CAP_DB).all()


def test_bce_with_logits_equals_bce_of_probabilities(sample):
    clean = sample.batch(slice(0, 20))
    logits = torch.randn(20, 1, 28, 28)
    a = metrics.bce(clean, torch.sigmoid(logits), logits)
    b = metrics.bce(clean, torch.sigmoid(logits))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert a.shape == (20,)
