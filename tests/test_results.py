"""The numbers that travel with the weights: weights/results.safetensors (the Scoreboard's first table) and
weights/code_sizes.safetensors (the Tutorial's hidden-layer sizes) equal a fresh computation, and no other weights,
digits or settings ever read them."""

import shutil

import pytest
import torch

from ae_core import codesize, metrics, results, store
from ae_core import data as mnist
from ae_core.infer import run
from ae_core.registry import MODELS
from tests.conftest import needs_mnist

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def shipped():
    loaded = {k: store.load_model(k) for k in MODELS}
    return {k: m for k, (_, m) in loaded.items()}, {k: s["sha256"] for k, (s, _) in loaded.items()}


@pytest.fixture(scope="module")
def digits():
    return mnist.test_digits()


def test_the_saved_table_equals_a_fresh_computation(shipped, digits, shipped_table):
    models, shas = shipped
    saved = results.lookup(results.load(store.WEIGHTS_DIR, digits), shas, results.digits_sha(digits), results.DEFAULT)
    assert saved is not None, "weights/results.safetensors is missing or not for the shipped weights"
    fresh = shipped_table
    assert list(saved.scores) == list(fresh.scores) == [*MODELS, "noisy_input", "median"]
    assert results.same(saved, fresh)
    for row, s in fresh.summary().items():
        assert saved.summary()[row]["psnr"] == pytest.approx(s["psnr"], abs=1e-4), row
        assert saved.summary()[row]["ssim"] == pytest.approx(s["ssim"], abs=1e-5), row
    assert saved.n == len(digits) == 10_000 and saved.labels.equal(digits.labels)


def test_other_weights_digits_or_settings_never_use_it(shipped, digits):
    _, shas = shipped
    saved = results.load(store.WEIGHTS_DIR, digits)
    data = results.digits_sha(digits)
    assert results.lookup(saved, shas, data, results.DEFAULT) is not None
    other = dict(shas, conv_dae="0" * 64)  # a run or an upload of the Conv DAE
    assert results.lookup(saved, other, data, results.DEFAULT) is None
    assert results.lookup(saved, {k: shas[k] for k in ("basic_ae", "dense_dae")}, data, results.DEFAULT) is None
    backwards = dict(reversed(list(shas.items())))  # the same weights in another row order: another table
    assert results.lookup(saved, backwards, data, results.DEFAULT) is None
    for settings in (
        results.Settings(factor=0.55),
        results.Settings(noise_type="masking"),
        results.Settings(seed=1),
        results.Settings(baselines=()),
        results.Settings(baselines=("median", "tv")),
    ):
        assert results.lookup(saved, shas, data, settings) is None, settings
    assert results.lookup(saved, shas, "f" * 64, results.DEFAULT) is None
    assert results.load(store.WEIGHTS_DIR, mnist.load_sample()) is None  # other digits: never read


def test_a_damaged_or_foreign_file_is_ignored(tmp_path, digits, shipped):
    src = store.WEIGHTS_DIR / results.FILENAME
    blob = src.read_bytes()
    path = tmp_path / results.FILENAME
    assert results.load(tmp_path, digits) is None  # missing
    for bad in (b"", b"not safetensors", blob[: len(blob) // 2], blob[:8] + b"[" + blob[9:]):
        path.write_bytes(bad)
        assert results.load(tmp_path, digits) is None
    shutil.copy(store.WEIGHTS_DIR / codesize.FILENAME, path)  # another safetensors file
    assert results.load(tmp_path, digits) is None
    ev = results.load(store.WEIGHTS_DIR, digits)[1]
    ident = results.identity(shipped[1], results.digits_sha(digits))
    for row, metric, value in (("conv_dae", "psnr", float("nan")), ("median", "ssim", float("inf"))):
        scores = {r: dict(s) for r, s in ev.scores.items()}
        scores[row][metric] = scores[row][metric].clone()
        scores[row][metric][7] = value
        path.write_bytes(results.to_bytes(type(ev)(**{**vars(ev), "scores": scores}), ident))
        assert results.load(tmp_path, digits) is None, (row, metric)
    scores = {r: dict(s) for r, s in ev.scores.items()}
    scores["dense_dae"]["mse"] = scores["dense_dae"]["mse"][:-1]  # one digit short
    path.write_bytes(results.to_bytes(type(ev)(**{**vars(ev), "scores": scores}), ident))
    assert results.load(tmp_path, digits) is None
    path.write_bytes(results.to_bytes(ev, ident))  # the same table rewritten: read again
    assert results.lookup(results.load(tmp_path, digits), shipped[1], ident["digits"], results.DEFAULT) is not None


def test_the_code_sizes_file_holds_each_size_with_its_true_scores(digits):
    found = codesize.load(store.WEIGHTS_DIR)
    assert found is not None and sorted(found.models) == list(codesize.SIZES)
    clean = digits.batch(slice(None))  # (10000, 1, 28, 28)
    psnrs = []
    for h, m in found.models.items():
        assert m.encoder.out_features == h and m.decoder.in_features == h
        psnr = float(metrics.psnr(clean, run(m, clean)[0]).double().mean())
        assert psnr == pytest.approx(found.scores[h]["psnr"], abs=1e-3), h
        assert len(found.losses[h]) == found.recipe["epochs"] == codesize.RECIPE.epochs
        psnrs.append(psnr)
    assert psnrs == sorted(psnrs), "a larger code must rebuild digits better"
    assert psnrs[0] < 14 < 22 < psnrs[-1]  # 2 units keep little, 128 keep most


def test_a_damaged_code_sizes_file_is_ignored(tmp_path):
    blob = (store.WEIGHTS_DIR / codesize.FILENAME).read_bytes()
    path = tmp_path / codesize.FILENAME
    for bad in (b"", blob[: len(blob) // 3], (store.WEIGHTS_DIR / results.FILENAME).read_bytes()):
        path.write_bytes(bad)
        assert codesize.load(tmp_path) is None
    found = codesize.load(store.WEIGHTS_DIR)
    m = found.models[8]
    m2 = type(m)(hidden=8)
    m2.load_state_dict(m.state_dict())
    with torch.no_grad():
        m2.encoder.weight[0, 0] = float("nan")
    path.write_bytes(codesize.to_bytes(type(found)({**found.models, 8: m2}, found.scores, found.losses, found.recipe)))
    assert codesize.load(tmp_path) is None
    missing = {h: found.models[h] for h in codesize.SIZES if h != 2}
    path.write_bytes(codesize.to_bytes(type(found)(missing, found.scores, found.losses, found.recipe)))
    assert codesize.load(tmp_path) is None


# --- the CLI, in this process: a fresh computation of 10,000 digits is replaced by the saved one (8 s each) ----------


def saved_eval(digits):
    return results.load(store.WEIGHTS_DIR, digits)[1]


def test_the_cli_check_passes_on_the_shipped_file(monkeypatch, capsys, digits):
    monkeypatch.setattr(results, "compute", lambda models, d, *a, **k: saved_eval(d))
    assert results.main(["--check"]) == 0
    out = capsys.readouterr().out.splitlines()
    s = saved_eval(digits).summary()["conv_dae"]
    assert f"conv_dae       PSNR {s['psnr']:6.2f} dB  SSIM {s['ssim']:.3f}" in out
    assert out[-1] == "results.safetensors matches a fresh computation" and len(out) == 6  # 5 rows and the verdict


def test_the_cli_check_fails_when_a_fresh_computation_differs(monkeypatch, capsys, digits):
    def off(models, d, *a, **k):
        ev = saved_eval(d)
        ev.scores["dense_dae"]["psnr"] = ev.scores["dense_dae"]["psnr"] + 0.01
        return ev

    monkeypatch.setattr(results, "compute", off)
    assert results.main(["--check"]) == 1
    assert capsys.readouterr().err == "the saved results differ from a fresh computation\n"


def test_the_cli_check_fails_without_a_saved_file(monkeypatch, capsys, weights_copy):
    (weights_copy / results.FILENAME).unlink()
    monkeypatch.setattr(results, "compute", lambda models, d, *a, **k: saved_eval(d))
    assert results.main(["--check", "--weights", str(weights_copy)]) == 1
    assert capsys.readouterr().err == "the saved results are missing or for other weights\n"
    assert not (weights_copy / results.FILENAME).exists()  # a check writes nothing


def test_the_cli_writes_the_file(monkeypatch, capsys, weights_copy, digits):
    (weights_copy / results.FILENAME).unlink()
    monkeypatch.setattr(results, "compute", lambda models, d, *a, **k: saved_eval(d))
    assert results.main(["--weights", str(weights_copy)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "wrote results.safetensors"
    shas = {k: store.read_sidecar(k, weights_copy)["sha256"] for k in MODELS}
    again = results.lookup(results.load(weights_copy, digits), shas, results.digits_sha(digits), results.DEFAULT)
    assert again is not None and results.same(again, saved_eval(digits), tol=0)


def test_the_cli_needs_the_full_test_set_and_the_weights(monkeypatch, capsys, tmp_path, sample):
    import ae_core.data

    (tmp_path / "empty").mkdir()
    assert results.main(["--weights", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    monkeypatch.setattr(ae_core.data, "test_digits", lambda: sample)
    assert results.main([]) == 2
    assert capsys.readouterr().err == "error: the full MNIST test set is needed (set MNIST_DIR)\n"


def test_same_has_a_tolerance(digits):
    a, b = saved_eval(digits), saved_eval(digits)
    assert results.same(a, b, tol=0)
    b.scores["basic_ae"]["ssim"] = b.scores["basic_ae"]["ssim"] + 5e-5
    assert results.same(a, b) and not results.same(a, b, tol=1e-5)
    b.scores["basic_ae"]["ssim"] = b.scores["basic_ae"]["ssim"] + 1e-3
    assert not results.same(a, b)
