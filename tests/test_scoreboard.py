import json
import subprocess
import sys

import pytest
import torch

from ae_core import data, scoreboard, store
from ae_core.classifier import KEY as CLF
from ae_core.data import Digits
from ae_core.registry import MODELS
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def models():
    return {k: store.load_model(k)[1] for k in MODELS}


def test_sweep_is_monotone_for_the_noisy_input(models, sample):
    _, clf = store.load(CLF, expect_key=CLF)
    few = Digits(sample.images[::4], sample.labels[::4], "every 4th sample digit", False)  # 250, all classes
    recs = scoreboard.sweep(models, ["median"], "gaussian", few, classifier=clf)
    noisy = [r for r in recs if r["row"] == "noisy_input"]
    assert [r["factor"] for r in noisy] == list(scoreboard.FACTORS)
    psnr, ssim, acc = [r["psnr"] for r in noisy], [r["ssim"] for r in noisy], [r["accuracy"] for r in noisy]
    assert all(a > b for a, b in zip(psnr[1:], psnr[2:], strict=False))  # strictly worse as noise grows
    assert all(a >= b for a, b in zip(ssim[1:], ssim[2:], strict=False))
    assert psnr[0] == 100.0 and acc[0] > 0.98 and acc[-1] < acc[0]
    clean = [r for r in recs if r["row"] == "clean"]
    assert len(clean) == len(scoreboard.FACTORS) and len({r["accuracy"] for r in clean}) == 1
    conv_05 = next(r for r in recs if r["row"] == "conv_dae" and r["factor"] == 0.5)
    noisy_05 = next(r for r in noisy if r["factor"] == 0.5)
    assert conv_05["accuracy"] > noisy_05["accuracy"]  # denoising restores recognisability


def test_per_class_best_worst_and_matrix(models, sample):
    ev = scoreboard.table(models, ["median"], "gaussian", 0.5, 0, sample)
    pc = scoreboard.per_class(ev)
    assert set(pc) == {*MODELS, "noisy_input", "median"} and all(len(v) == 10 for v in pc.values())
    best, worst = scoreboard.best_worst(ev, "conv_dae")
    p = ev.scores["conv_dae"]["psnr"]
    assert len(best) == len(worst) == 8 and p[best].min() >= p[worst].max()
    assert p[best[0]] == p.max() and p[worst[0]] == p.min()
    m = scoreboard.noise_matrix({"conv": models["conv_dae"], "dense": models["dense_dae"]}, 0.5, sample)
    assert set(m) == {"conv", "dense"} and set(m["conv"]) == {"gaussian", "salt_pepper", "masking"}


def same_rows(cli: dict, page: dict) -> None:
    assert cli["n"] == page["n"] and cli["noise"] == page["noise"]
    for group in ("models", "noisy_input", "baselines"):
        assert json.dumps(cli.get(group), sort_keys=True) == json.dumps(
            json.loads(json.dumps(page.get(group))), sort_keys=True
        )


def test_scoreboard_table_equals_the_evaluate_cli(models, tmp_path, monkeypatch):
    """`python -m ae_core.evaluate` as a user runs it, on the 10,000 test digits (the Dense DAE: a second), then every
    model and a baseline through the same main() in-process on the bundled 1,000 (the median over 10,000 digits alone
    took most of this test's 17 s under the suite's load)."""
    out = tmp_path / "eval.json"
    args = ["--noise-type", "masking", "--noise-factor", "0.3"]
    subprocess.run(
        [sys.executable, "-m", "ae_core.evaluate", *args, "--models", "dense_dae", "--json", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    page = scoreboard.table({"dense_dae": models["dense_dae"]}, [], "masking", 0.3, 0, data.test_digits()).to_json()
    cli = json.loads(out.read_text())
    assert cli["n"] == len(data.test_digits()) == 10_000
    assert cli["noise"] == {"type": "masking", "factor": 0.3, "seed": 0}
    same_rows(cli, page)
    import ae_core.evaluate

    monkeypatch.setattr(ae_core.evaluate, "test_digits", data.load_sample)
    assert ae_core.evaluate.main([*args, "--baselines", "median", "--json", str(out)]) == 0
    page = scoreboard.table(models, ["median"], "masking", 0.3, 0, data.load_sample()).to_json()
    assert set(page["baselines"]) == {"median"} and set(page["models"]) == set(MODELS)
    same_rows(json.loads(out.read_text()), page)


def test_classifier_meets_99_percent(sample):
    sidecar, clf = store.load(CLF, expect_key=CLF)
    assert sidecar["test_accuracy"] >= 0.99
    from ae_core.classifier import accuracy

    assert accuracy(clf, sample.batch(slice(None)), sample.labels) >= 0.98
    # A constant guess scores 10%: shuffled labels must fall far below, or the accuracy above says nothing.
    shuffled = sample.labels[torch.randperm(len(sample.labels), generator=torch.Generator().manual_seed(0))]
    assert accuracy(clf, sample.batch(slice(None)), shuffled) < 0.3


def test_the_table_reports_each_row_as_it_is_scored_and_per_class_means_are_by_label(models, sample):
    steps = []
    ev = scoreboard.table(
        {"dense_dae": models["dense_dae"]}, ["median"], "masking", 0.4, 2, sample, on_step=steps.append
    )
    assert steps == ["dense_dae", "noisy_input", "median"]
    assert (ev.noise_type, ev.factor, ev.seed) == ("masking", 0.4, 2)
    pc = scoreboard.per_class(ev, "ssim")
    for row in ("dense_dae", "noisy_input", "median"):
        s = ev.scores[row]["ssim"]
        for c in (0, 4, 9):
            assert pc[row][c] == pytest.approx(float(s[sample.labels == c].double().mean()), abs=1e-12)
    assert pc["dense_dae"] != scoreboard.per_class(ev, "psnr")["dense_dae"]


def test_the_noise_matrix_is_each_models_mean_psnr_on_each_noise_type(models, sample):
    from ae_core import metrics
    from ae_core.evaluate import noisy_test_set
    from ae_core.infer import run

    few = Digits(sample.images[:200], sample.labels[:200], "200 sample digits", False)
    m = scoreboard.noise_matrix({"conv": models["conv_dae"]}, 0.3, few)
    for t in ("gaussian", "salt_pepper", "masking"):
        clean, noisy = noisy_test_set(few, t, 0.3, 0)  # seed 0 by default
        assert m["conv"][t] == float(metrics.psnr(clean, run(models["conv_dae"], noisy, prec="fp32")[0]).mean())
    assert len(set(m["conv"].values())) == 3
    other = scoreboard.noise_matrix({"conv": models["conv_dae"]}, 0.3, few, seed=1)
    assert other["conv"] != m["conv"]
