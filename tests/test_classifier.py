"""The digit classifier (ae_core.classifier) and the classical baselines (ae_core.baselines), by value: the
Playground's "reads as" and the Scoreboard's filter rows come from here."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ae_core import baselines, classifier, engine, store
from ae_core.data import Digits, load_sample, to_float
from tests.conftest import cli_help


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
    loops, asked = [], []
    real_fit, real_resolve = engine.fit, classifier.precision.resolve
    monkeypatch.setattr(engine, "fit", lambda loop, *a, **k: loops.append(loop) or real_fit(loop, *a, **k))
    monkeypatch.setattr(classifier.precision, "resolve", lambda *a, **k: asked.append((a, k)) or real_resolve(*a, **k))
    few = Digits(tiny.images[:129], tiny.labels[:129], "129 digits", full=False)  # two batches of 128, the second of 1
    a = classifier.train_classifier(few, epochs=2, lr=5e-3, seed=3, device="cpu", prec="fp32")
    loop = loops[0]
    assert (loop.batch_size, loop.epochs, loop.n, loop.lr) == (128, 2, 129, 5e-3)
    assert loop.precision == "fp32" and loop.device == torch.device("cpu")
    assert asked == [(("fp32", torch.device("cpu")), {"cuda_gain": False})]  # one-cycle: no captured CUDA step
    assert isinstance(loop.sched, torch.optim.lr_scheduler.OneCycleLR) and loop.sched.total_steps == 2 * 2
    assert isinstance(loop.opt, torch.optim.Adam) and loop.opt.defaults["lr"] == 5e-3
    assert loop.loss is torch.nn.functional.cross_entropy
    assert not a.training and next(a.parameters()).device.type == "cpu"
    b = classifier.train_classifier(few, epochs=2, lr=5e-3, seed=3, device="cpu", prec="fp32")
    c = classifier.train_classifier(few, epochs=2, lr=5e-3, seed=4, device="cpu", prec="fp32")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)  # the same seed: the same weights
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_the_defaults_are_4_epochs_at_2e_3_from_seed_0_on_the_best_device(tiny, monkeypatch):
    loops = []
    real_fit = engine.fit
    monkeypatch.setattr(engine, "fit", lambda loop, *a, **k: loops.append(loop) or real_fit(loop, *a, **k))
    few = Digits(tiny.images[:64], tiny.labels[:64], "64 digits", full=False)
    default = classifier.train_classifier(few)
    explicit = classifier.train_classifier(few, epochs=4, lr=2e-3, seed=0, device="auto", prec="auto")
    assert (loops[0].epochs, loops[0].lr) == (4, 2e-3)
    assert loops[0].precision == loops[1].precision
    for pa, pb in zip(default.parameters(), explicit.parameters(), strict=True):
        assert torch.equal(pa, pb)


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


@pytest.fixture
def cli(tiny, monkeypatch):
    """The CLI on 250 training digits and 100 other test digits, with the clock at 100.0 s then 103.46 s."""
    import ae_core.device

    s = load_sample()
    test = Digits(s.images[1::10], s.labels[1::10], "100 test digits", full=False)
    monkeypatch.setattr(classifier, "load_mnist", lambda train: tiny if train is True else test)
    monkeypatch.setattr(ae_core.device, "configure_threads", lambda: 1)  # a CLI's start-up: not in a test process
    monkeypatch.setattr(ae_core.device, "configure_cuda", lambda: None)
    ticks = iter([100.0, 103.46])
    monkeypatch.setattr(classifier, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))  # this module's clock
    return test


def test_the_cli_trains_scores_on_the_test_set_and_saves_with_its_recipe(tiny, cli, tmp_path, capsys):
    rc = classifier.main(["--epochs", "1", "--out", str(tmp_path), "--device", "cpu", "--precision", "fp32"])
    meta, model = store.load(classifier.KEY, tmp_path)
    acc = classifier.accuracy(model, to_float(cli.images), cli.labels)  # the test digits, not the training ones
    assert acc != classifier.accuracy(model, to_float(tiny.images), tiny.labels)
    assert rc == (0 if acc >= 0.99 else 1) == 1  # one epoch on 250 digits is not a classifier
    assert capsys.readouterr().out == f"test accuracy {acc:.4f}\n"
    assert meta["recipe"] == "Adam one-cycle 2e-3, 1 epochs, batch 128, ±2 px shifts, fp32"
    assert meta["dataset"] == "every 4th sample digit" and meta["test_accuracy"] == acc
    assert meta["seconds"] == 3.5  # 3.46 s, to a tenth


def test_the_cli_defaults_are_4_epochs_the_best_device_and_precision(cli, tmp_path, monkeypatch):
    from ae_core import precision

    calls, asked = [], []
    real, real_resolve = classifier.train_classifier, classifier.precision.resolve
    monkeypatch.setattr(classifier, "train_classifier", lambda *a, **k: calls.append((a[1:], k)) or real(*a, **k))
    monkeypatch.setattr(classifier.precision, "resolve", lambda *a, **k: asked.append(k) or real_resolve(*a, **k))
    classifier.main(["--out", str(tmp_path)])
    assert calls == [((4,), {"device": "auto", "prec": "auto"})]
    assert asked == [{"cuda_gain": False}] * 2  # the CLI's and the run's: one-cycle never captures a CUDA step
    meta, _ = store.load(classifier.KEY, tmp_path)
    resolved = precision.resolve("auto", torch.device("cpu"), cuda_gain=False)
    assert meta["recipe"] == f"Adam one-cycle 2e-3, 4 epochs, batch 128, ±2 px shifts, {resolved}"


@pytest.mark.parametrize(("acc", "rc"), [(0.99, 0), (0.995, 0), (0.9899, 1)])
def test_the_cli_fails_below_99_percent(cli, tmp_path, monkeypatch, acc, rc):
    monkeypatch.setattr(classifier, "accuracy", lambda *a: acc)
    assert classifier.main(["--epochs", "1", "--out", str(tmp_path), "--precision", "bf16", "--device", "cpu"]) == rc


def test_the_cli_says_what_it_is_and_offers_each_device_and_precision(capsys):
    out = cli_help(classifier.main, capsys)
    assert out.startswith("usage: python -m ae_core.classifier ")
    assert "A LeNet-sized digit classifier, trained on clean MNIST" in out
    assert "{auto,cpu,cuda,mps}" in out and "{auto,fp32,bf16}" in out
    for bad in (["--device", "tpu"], ["--precision", "fp16"]):
        with pytest.raises(SystemExit):
            classifier.main(bad)
        assert "invalid choice" in capsys.readouterr().err


def test_the_cli_refuses_a_device_that_is_not_there(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as e:
        classifier.main(["--device", "cuda"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m ae_core.classifier ")
    assert "device 'cuda' was requested but no CUDA GPU is available" in err
    if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        with pytest.raises(SystemExit):
            classifier.main(["--device", "mps"])
        assert "device 'mps' was requested but Apple MPS is not available" in capsys.readouterr().err


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
