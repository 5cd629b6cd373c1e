"""The digit classifier (ae_core.classifier) and the classical baselines (ae_core.baselines), by value: the
Playground's "reads as" and the Scoreboard's filter rows come from here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core import baselines, classifier, engine, store
from ae_core.data import Digits, load_sample, to_float


@pytest.fixture(scope="module")
def tiny():
    s = load_sample()
    return Digits(s.images[::4], s.labels[::4], "every 4th sample digit", full=False)  # 250, all classes


def test_predict_gives_each_images_most_likely_digit_and_its_probability():
    _, clf = store.load(classifier.KEY)
    x = to_float(load_sample().images[:20])
    labels, conf = classifier.predict(clf, x)
    with torch.inference_mode():
        probs = torch.softmax(clf(x), 1)
    assert torch.equal(labels, probs.argmax(1))
    torch.testing.assert_close(conf, probs.max(1).values)
    assert labels.dtype == torch.long and labels.shape == conf.shape == (20,)
    empty = classifier.predict(clf, x[:0])
    assert empty[0].dtype == torch.long and empty[0].shape == empty[1].shape == (0,)
    assert classifier.accuracy(clf, x, load_sample().labels[:20]) == float(
        (labels == load_sample().labels[:20]).float().mean()
    )


def test_training_uses_the_documented_recipe_and_the_seed(tiny, monkeypatch):
    loops = []
    real_fit = engine.fit
    monkeypatch.setattr(engine, "fit", lambda loop, *a, **k: loops.append(loop) or real_fit(loop, *a, **k))
    a = classifier.train_classifier(tiny, epochs=2, lr=1e-3, seed=3, device="cpu", prec="fp32")
    loop = loops[0]
    assert (loop.batch_size, loop.epochs, loop.n, loop.lr) == (128, 2, 250, 1e-3)
    assert loop.precision == "fp32" and loop.device == torch.device("cpu")
    assert isinstance(loop.sched, torch.optim.lr_scheduler.OneCycleLR) and loop.sched.total_steps == 2 * 2
    assert isinstance(loop.opt, torch.optim.Adam) and loop.opt.defaults["lr"] == 1e-3
    assert not a.training and next(a.parameters()).device.type == "cpu"
    b = classifier.train_classifier(tiny, epochs=2, lr=1e-3, seed=3, device="cpu", prec="fp32")
    c = classifier.train_classifier(tiny, epochs=2, lr=1e-3, seed=4, device="cpu", prec="fp32")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)  # the same seed: the same weights
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_each_batch_is_shifted_by_at_most_2_px_with_its_labels(tiny, monkeypatch):
    batches = []
    real_fit = engine.fit

    def spy(loop, *a, **k):
        g = torch.Generator().manual_seed(0)
        idx = torch.randperm(250, generator=g)[:128]
        for _ in range(6):
            x, y = loop.batch(idx)
            batches.append((x, y, idx))
        return real_fit(loop, *a, **k)

    monkeypatch.setattr(engine, "fit", spy)
    classifier.train_classifier(tiny, epochs=1, seed=0, device="cpu", prec="fp32")
    shifts = set()
    for x, y, idx in batches:
        assert x.shape == (128, 1, 28, 28) and x.dtype == torch.float32 and torch.equal(y, tiny.labels[idx])
        base = to_float(tiny.images[idx])
        found = [
            (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(x, torch.roll(base, (dy, dx), (2, 3)))
        ]
        assert found, "each batch is the digits rolled by one shift of -2..2 px"
        shifts.add(found[0])
    assert len(shifts) > 1  # drawn per batch from the seeded generator


def test_the_cli_trains_scores_on_the_test_set_and_saves_with_its_recipe(tiny, monkeypatch, tmp_path, capsys):
    import ae_core.device

    monkeypatch.setattr(classifier, "load_mnist", lambda train: tiny)
    monkeypatch.setattr(ae_core.device, "configure_threads", lambda: 1)  # a CLI's start-up: not in a test process
    monkeypatch.setattr(ae_core.device, "configure_cuda", lambda: None)
    rc = classifier.main(["--epochs", "1", "--out", str(tmp_path), "--device", "cpu", "--precision", "fp32"])
    meta, model = store.load(classifier.KEY, tmp_path)
    acc = classifier.accuracy(model, to_float(tiny.images), tiny.labels)
    assert rc == (0 if acc >= 0.99 else 1) == 1  # one epoch on 250 digits is not a classifier
    assert capsys.readouterr().out == f"test accuracy {acc:.4f}\n"
    assert meta["recipe"] == "Adam one-cycle 2e-3, 1 epochs, batch 128, ±2 px shifts, fp32"
    assert meta["dataset"] == "every 4th sample digit" and meta["test_accuracy"] == acc
    assert isinstance(meta["seconds"], float) and meta["seconds"] >= 0


def test_the_cli_refuses_a_device_that_is_not_there(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as e:
        classifier.main(["--device", "cuda"])
    assert e.value.code == 2
    assert "device 'cuda' was requested but no CUDA GPU is available" in capsys.readouterr().err


@pytest.mark.parametrize("key", list(baselines.BASELINES))
def test_each_baseline_is_its_scikit_image_filter_with_the_tuned_settings(key):
    from scipy import ndimage
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    g = np.random.default_rng(0)
    imgs = np.clip(to_float(load_sample().images[:3]).numpy()[:, 0] + g.normal(0, 0.3, (3, 28, 28)), 0, 1)
    want = {
        "median": lambda im: ndimage.median_filter(im, size=3, mode="reflect"),
        "nl_means": lambda im: denoise_nl_means(im, h=0.2, patch_size=5, patch_distance=6, fast_mode=True),
        "tv": lambda im: denoise_tv_chambolle(im, weight=0.2),
    }[key]
    out = baselines.apply(key, torch.from_numpy(imgs).float().reshape(3, 1, 28, 28))
    assert out.shape == (3, 1, 28, 28) and out.dtype == torch.float32
    expected = np.clip(np.stack([want(im) for im in imgs.astype(np.float32).astype(np.float64)]), 0, 1)
    np.testing.assert_allclose(out[:, 0].numpy(), expected, atol=1e-6)
