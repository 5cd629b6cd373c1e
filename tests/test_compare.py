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


def test_every_panel_holds_its_own_image_scores_and_reading(sample):
    from ae_core import baselines
    from ae_core.classifier import predict

    models = {k: store.load_model(k)[1] for k in ("dense_dae", "conv_dae")}
    _, clf = store.load(CLF, expect_key=CLF)
    clean = sample.images[7].float().numpy() / 255
    cmp = compare.compare(clean, "salt_pepper", 0.3, 11, models, ["median"], classifier=clf)
    noisy = compare.noisy_digit(clean, "salt_pepper", 0.3, 11)
    assert not np.array_equal(noisy, compare.noisy_digit(clean, "salt_pepper", 0.3, 12))  # the seed is used
    assert not np.array_equal(noisy, compare.noisy_digit(clean, "gaussian", 0.3, 11))  # and the noise type
    assert not np.array_equal(noisy, compare.noisy_digit(clean, "salt_pepper", 0.6, 11))  # and the factor
    np.testing.assert_array_equal(cmp.model_input, noisy)
    np.testing.assert_array_equal(cmp.clean, clean)
    x = torch.from_numpy(noisy).reshape(1, 1, 28, 28)
    ref = torch.from_numpy(clean).reshape(1, 1, 28, 28)
    outs = [
        compare.run_model(models["dense_dae"], x),
        compare.run_model(models["conv_dae"], x),
        baselines.apply("median", x),
    ]
    stack = torch.cat([x, *outs])
    want = metrics.per_image(ref.expand_as(stack), stack)
    labels, confs = predict(clf, torch.cat([ref, stack]))
    clean_p, input_p, *rest = cmp.panels
    assert (clean_p.key, clean_p.name, clean_p.kind) == ("clean", "Clean", "input")
    assert clean_p.psnr is None and clean_p.ssim is None and clean_p.residual is None
    assert (clean_p.label, clean_p.confidence) == (int(labels[0]), float(confs[0]))
    np.testing.assert_array_equal(clean_p.image, clean)
    assert (input_p.key, input_p.name, input_p.kind) == ("input", "Noisy", "input")
    assert (input_p.psnr, input_p.ssim) == (float(want["psnr"][0]), float(want["ssim"][0]))
    assert (input_p.label, input_p.confidence) == (int(labels[1]), float(confs[1]))
    assert input_p.residual is None
    names = {"dense_dae": "Dense DAE", "conv_dae": "Conv DAE", "median": baselines.BASELINES["median"].name}
    for i, (p, out) in enumerate(zip(rest, outs, strict=True), start=1):
        assert p.name == names[p.key]
        assert p.kind == ("baseline" if p.key == "median" else "model")
        np.testing.assert_array_equal(p.image, out[0, 0].numpy())
        assert (p.psnr, p.ssim) == (float(want["psnr"][i]), float(want["ssim"][i]))
        assert type(p.psnr) is float and type(p.ssim) is float
        np.testing.assert_array_equal(p.residual, noisy - out[0, 0].numpy())
        assert (p.label, p.confidence) == (int(labels[i + 1]), float(confs[i + 1]))
    assert [p.key for p in rest] == ["dense_dae", "conv_dae", "median"]
    assert cmp.settings == {"noise_type": "salt_pepper", "factor": 0.3, "seed": 11, "feed_clean": False}
    assert cmp.best("ssim") == max(rest, key=lambda p: p.ssim).key
    data = cmp.to_json()
    assert data["scores"]["median"] == {
        "name": rest[2].name,
        "psnr": rest[2].psnr,
        "ssim": rest[2].ssim,
        "reads_as": rest[2].label,
        "confidence": rest[2].confidence,
    }
    assert data["best"] == {"psnr": cmp.best("psnr"), "ssim": cmp.best("ssim")}


def test_without_a_classifier_no_panel_has_a_reading_and_with_no_outputs_nothing_is_best(sample):
    clean = sample.images[2].float().numpy() / 255
    cmp = compare.compare(clean, "gaussian", 0.5, 0, {})
    assert [p.key for p in cmp.panels] == ["clean", "input"]
    assert all(p.label is None and p.confidence is None for p in cmp.panels)
    assert cmp.best("psnr") is None and cmp.best("ssim") is None
    assert cmp.to_json()["best"] == {"psnr": None, "ssim": None}
    assert list(cmp.to_json()["scores"]) == ["input"]
    cmp = compare.compare(clean, "gaussian", 0.5, 0, {}, feed_clean=True)
    np.testing.assert_array_equal(cmp.model_input, clean)
    assert cmp.settings["feed_clean"] is True


def test_best_picks_the_highest_output_never_an_input():
    img = np.zeros((28, 28), np.float32)
    panels = [
        compare.Panel("clean", "Clean", "input", img),
        compare.Panel("input", "Noisy", "input", img, psnr=99.0, ssim=0.99),
        compare.Panel("a", "A", "model", img, psnr=20.0, ssim=0.7),
        compare.Panel("b", "B", "model", img, psnr=25.0, ssim=0.6),
        compare.Panel("c", "C", "baseline", img, psnr=None, ssim=0.8),
    ]
    cmp = compare.Comparison(img, img, panels)
    assert cmp.best("psnr") == "b" and cmp.best("ssim") == "c"
    assert set(cmp.to_json()["scores"]) == {"input", "a", "b"}  # only panels with a PSNR are scored
