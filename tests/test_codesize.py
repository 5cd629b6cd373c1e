"""The hidden-layer sizes of the Tutorial's fifth step (ae_core.codesize): the file round-trips, anything else is not
read, scores are evaluate's, and the CLI trains, writes and checks."""

from __future__ import annotations

import json
import shutil

import pytest
import safetensors.torch
import torch

from ae_core import codesize, store
from ae_core.config import TrainConfig
from ae_core.data import Digits, load_sample
from ae_core.evaluate import evaluate
from ae_core.registry import build
from tests.conftest import cli_help, needs_mnist

SHIPPED = store.WEIGHTS_DIR / codesize.FILENAME


def fake_sizes(seed: int = 0) -> codesize.CodeSizes:
    models = {h: build("basic_ae", seed + h, hidden=h).eval() for h in codesize.SIZES}
    scores = {h: {"bce": 0.1 + h, "mse": 0.01 * h, "psnr": 10.0 + h, "ssim": h / 200} for h in codesize.SIZES}
    losses = {h: [0.3, 0.2 - h / 1000] for h in codesize.SIZES}
    return codesize.CodeSizes(models, scores, losses, {"epochs": 2, "lr": 0.003})


def header(blob: bytes) -> dict:
    return json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])


def test_a_saved_set_of_sizes_loads_back_as_it_was(tmp_path):
    found = fake_sizes()
    blob = codesize.to_bytes(found)
    meta = header(blob)["__metadata__"]
    assert json.loads(meta["sizes"]) == list(codesize.SIZES)
    assert json.loads(meta["recipe"]) == {"epochs": 2, "lr": 0.003}
    assert set(header(blob)) - {"__metadata__"} == {
        f"h{h}.{k}"
        for h in codesize.SIZES
        for k in ("encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias")
    }
    (tmp_path / codesize.FILENAME).write_bytes(blob)
    back = codesize.load(tmp_path)
    assert back.scores == found.scores and back.losses == found.losses and back.recipe == found.recipe
    assert list(back.models) == list(codesize.SIZES)
    for h, m in back.models.items():
        assert not m.training and m.encoder.out_features == h
        for a, b in zip(m.state_dict().values(), found.models[h].state_dict().values(), strict=True):
            assert torch.equal(a, b)


def write(tmp_path, tensors: dict, meta: dict) -> None:
    (tmp_path / codesize.FILENAME).write_bytes(
        safetensors.torch.save(tensors, metadata={k: json.dumps(v) for k, v in meta.items()})
    )


def parts():
    blob = codesize.to_bytes(fake_sizes())
    meta = {k: json.loads(v) for k, v in header(blob)["__metadata__"].items()}
    return safetensors.torch.load(blob), meta


@pytest.mark.parametrize(
    "damage",
    [
        lambda t, m: m.update(recipe=["epochs", 2]),  # not an object
        lambda t, m: m.pop("scores"),
        lambda t, m: m.pop("losses"),
        lambda t, m: m["scores"].pop("16"),  # a size without scores
        lambda t, m: m["losses"].pop("128"),
        lambda t, m: m["scores"]["8"].pop("ssim"),
        lambda t, m: m["scores"]["8"].update(psnr="high"),
        lambda t, m: m["losses"].update({"4": [0.1, "x"]}),
        lambda t, m: m["losses"].update({"4": 0.1}),
        lambda t, m: t.pop("h32.decoder.bias"),  # a size missing a tensor
        lambda t, m: t.update({"h2.encoder.weight": t["h2.encoder.weight"].double()}),
        lambda t, m: t.update({"h2.encoder.weight": t["h2.encoder.weight"][:1]}),
        lambda t, m: t.update({"h64.decoder.weight": torch.full_like(t["h64.decoder.weight"], float("nan"))}),
        lambda t, m: t.update({"h128.encoder.bias": torch.full_like(t["h128.encoder.bias"], float("inf"))}),
    ],
)
def test_a_file_that_is_not_exactly_those_networks_is_not_read(tmp_path, damage):
    tensors, meta = parts()
    write(tmp_path, tensors, meta)
    assert codesize.load(tmp_path) is not None  # the undamaged file is read
    damage(tensors, meta)
    write(tmp_path, tensors, meta)
    assert codesize.load(tmp_path) is None


def test_a_file_larger_than_the_limit_or_a_folder_is_not_read(tmp_path, monkeypatch):
    (tmp_path / codesize.FILENAME).write_bytes(codesize.to_bytes(fake_sizes()))
    size = (tmp_path / codesize.FILENAME).stat().st_size
    monkeypatch.setattr(codesize, "MAX_BYTES", size)
    assert codesize.load(tmp_path) is not None  # at the limit
    monkeypatch.setattr(codesize, "MAX_BYTES", size - 1)
    assert codesize.load(tmp_path) is None
    assert codesize.load(tmp_path / "nowhere") is None
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / codesize.FILENAME).mkdir()
    assert codesize.load(tmp_path / "d") is None


def test_the_scores_are_evaluates_on_clean_digits():
    digits = load_sample()
    models = {h: m for h, m in fake_sizes().models.items() if h in (2, 64)}
    got = codesize.score(models, digits)
    want = evaluate({"2": models[2], "64": models[64]}, "gaussian", 0.0, 0, digits).summary()
    assert got == {2: want["2"], 64: want["64"]}
    assert set(got[2]) == {"bce", "mse", "psnr", "ssim"}


def test_every_size_trains_with_the_same_recipe_and_reports_its_losses():
    tiny = load_sample()
    tiny = Digits(tiny.images[:256], tiny.labels[:256], "tiny", full=False)
    recipe = TrainConfig(epochs=2, lr=3e-3, noise_factor=0.0, val_split=0.0, precision="fp32", batch_size=128)
    lines = []
    out = codesize.train_all(tiny, recipe, sizes=(2, 8), log=lines.append)
    assert list(out) == [2, 8]
    for h, (m, losses) in out.items():
        assert m.encoder.out_features == h and len(losses) == 2
        assert all(round(v, 6) == v for v in losses) and losses[1] < losses[0]
    assert lines == [f"hidden   2: loss {out[2][1][-1]:.4f}", f"hidden   8: loss {out[8][1][-1]:.4f}"]
    again = codesize.train_all(tiny, recipe, sizes=(2,))
    assert again[2][1] == out[2][1]  # the same seed: the same run
    from ae_core.train import train

    direct = train("basic_ae", recipe, data=tiny, variant={"hidden": 8})
    assert out[8][1] == [round(s.train_loss, 6) for s in direct.history]  # on the digits it was given


@pytest.fixture
def sample_as_test_set(monkeypatch):
    """The CLI's test set is the bundled 1,000 digits, marked full: each scoring of the seven sizes takes a fraction of
    a second instead of seconds (tests/test_results.py checks the shipped file against the 10,000)."""
    import ae_core.data

    s = load_sample()
    digits = Digits(s.images, s.labels, "the sample, standing in for the test set", full=True)
    monkeypatch.setattr(ae_core.data, "test_digits", lambda: digits)
    return digits


def test_the_check_matches_true_scores_and_catches_a_changed_one(tmp_path, capsys, sample_as_test_set):
    shipped = codesize.load(store.WEIGHTS_DIR)
    true = codesize.CodeSizes(shipped.models, codesize.score(shipped.models, sample_as_test_set), shipped.losses, {})
    (tmp_path / codesize.FILENAME).write_bytes(codesize.to_bytes(true))
    assert codesize.main(["--check", "--weights", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "matches a fresh scoring"
    true.scores[16]["psnr"] += 0.01
    (tmp_path / codesize.FILENAME).write_bytes(codesize.to_bytes(true))
    assert codesize.main(["--check", "--weights", str(tmp_path)]) == 1
    assert capsys.readouterr().out.strip() == "sizes [16] differ from a fresh scoring"
    assert codesize.main(["--check", "--weights", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().err.strip() == f"{codesize.FILENAME} is missing or damaged"
    assert codesize.main(["--check"]) == 1  # the shipped file's scores are the 10,000 digits', not these


def test_the_cli_needs_the_full_test_set(monkeypatch, tmp_path, capsys):
    import ae_core.data

    monkeypatch.setattr(ae_core.data, "test_digits", load_sample)
    assert codesize.main(["--weights", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: the full MNIST test set is needed (set MNIST_DIR)\n"
    assert list(tmp_path.iterdir()) == []


@needs_mnist
def test_the_cli_trains_every_size_scores_it_and_writes_the_file(monkeypatch, tmp_path, capsys, sample_as_test_set):
    real = codesize.train_all
    tiny = load_sample()

    def quick(data, log=None):  # the CLI's own path, on 1,000 digits for one epoch
        assert data.full and len(data) == 60000
        return real(tiny, TrainConfig(epochs=1, lr=3e-3, noise_factor=0.0, val_split=0.0, precision="fp32"), log=log)

    monkeypatch.setattr(codesize, "train_all", quick)
    shutil.copytree(store.WEIGHTS_DIR, tmp_path / "w")
    (tmp_path / "w" / codesize.FILENAME).unlink()
    assert codesize.main(["--weights", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out.split("\n")
    assert out[0].startswith("hidden   2: loss ") and out[6].startswith("hidden 128: loss ")  # training, as it goes
    found = codesize.load(tmp_path / "w")
    assert found is not None and found.recipe == json.loads(json.dumps(vars(codesize.RECIPE)))
    assert out[-2] == f"wrote {codesize.FILENAME}"
    for h in codesize.SIZES:
        assert f"hidden {h:>3}: PSNR {found.scores[h]['psnr']:.2f} dB, SSIM {found.scores[h]['ssim']:.3f}" in out
        assert len(found.losses[h]) == 1
    assert codesize.main(["--check", "--weights", str(tmp_path / "w")]) == 0  # the scores written are true ones


def test_the_cli_says_what_it_does(capsys):
    out = cli_help(codesize.main, capsys)
    assert out.startswith("usage: python -m ae_core.codesize [-h] [--weights WEIGHTS] [--check]")
    first = "The article's invitation to try other hidden-layer sizes: python -m ae_core.codesize [--weights DIR] [--check]."
    assert out.count(first) == 1
    assert "Basic AEs (784-h-784)" not in out  # the docstring's first paragraph only
    assert "weights folder (default: weights/)" in out
    assert "re-score the saved sizes and compare; write nothing" in out
