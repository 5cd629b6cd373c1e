import json

import numpy as np
import torch

from ae_core import compare, metrics, noise, store
from ae_core.classifier import KEY as CLF
from ae_core.registry import MODELS


def test_every_model_gets_the_identical_noisy_tensor(sample):
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return torch.zeros_like(x)

    clean = sample.images[0].float().numpy() / 255
    compare.compare(clean, "gaussian", 0.5, 3, {"basic_ae": Spy(), "dense_dae": Spy(), "conv_dae": Spy()})
    assert len(seen) == 3 and all(torch.equal(s, seen[0]) for s in seen)
    expected = compare.noisy_digit(clean, "gaussian", 0.5, 3)
    np.testing.assert_array_equal(seen[0][0, 0].numpy(), expected)


def test_scores_best_and_json(sample):
    models = {k: store.load_model(k)[1] for k in MODELS}
    _, clf = store.load(CLF, expect_key=CLF)
    clean = sample.images[5].float().numpy() / 255
    cmp = compare.compare(clean, "gaussian", 0.5, 0, models, ["median", "nl_means"], classifier=clf)
    assert [p.key for p in cmp.panels] == ["clean", "input", *MODELS, "median", "nl_means"]
    outs = [p for p in cmp.panels if p.kind != "input"]
    assert cmp.best("psnr") == max(outs, key=lambda p: p.psnr).key
    p = cmp.panels[3]
    ref = torch.from_numpy(clean).reshape(1, 1, 28, 28)
    assert p.psnr == float(metrics.psnr(ref, torch.from_numpy(p.image).reshape(1, 1, 28, 28))[0])
    np.testing.assert_allclose(p.residual, cmp.model_input - p.image)
    data = json.loads(json.dumps(cmp.to_json()))
    assert data["settings"] == {"noise_type": "gaussian", "factor": 0.5, "seed": 0, "feed_clean": False}
    assert set(data["scores"]) == {"input", *MODELS, "median", "nl_means"}
    assert data["scores"]["conv_dae"]["reads_as"] == int(sample.labels[5])
    assert data["best"]["psnr"] == cmp.best("psnr")


def test_feed_clean_reconstructs(sample):
    models = {k: store.load_model(k)[1] for k in MODELS}
    clean = sample.images[1].float().numpy() / 255
    cmp = compare.compare(clean, "gaussian", 0.9, 0, models, feed_clean=True)
    assert cmp.panels[1].name == "Clean input" and cmp.panels[1].psnr == metrics.PSNR_CAP_DB
    assert cmp.panels[2].psnr > 18  # Basic AE reconstructs clean digits well


def test_row_scores_are_per_image_scores_bit_for_bit(sample):
    """The row filters the clean digit's SSIM statistics once and skips BCE and MSE: PSNR and SSIM must still be
    exactly metrics.per_image's, for inputs from a blank image to saturated noise."""
    for i, (kind, factor) in enumerate([("gaussian", 0.0), ("gaussian", 0.5), ("salt_pepper", 0.9), ("masking", 1.0)]):
        ref = sample.images[i].float().reshape(1, 1, 28, 28) / 255  # (1, 1, 28, 28)
        stack = torch.cat([noise.apply(kind, ref, factor, s) for s in range(6)] + [torch.zeros_like(ref), ref])
        want = metrics.per_image(ref.expand_as(stack), stack)
        got = compare.scores_against(ref, stack)
        assert set(got) == {"psnr", "ssim"}
        assert torch.equal(got["psnr"], want["psnr"]) and torch.equal(got["ssim"], want["ssim"])
