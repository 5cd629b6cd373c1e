"""The test-set evaluation and its CLI (python -m ae_core.evaluate), in-process on the bundled 1,000 digits so each
run takes a second: the README's and the Scoreboard's numbers come from here."""

from __future__ import annotations

import json

import pytest
import torch

from ae_core import evaluate as ev_mod
from ae_core import metrics, noise, store
from ae_core.baselines import apply
from ae_core.data import load_sample, to_float
from ae_core.infer import run
from ae_core.registry import MODELS
from tests.conftest import cli_help


@pytest.fixture(scope="module")
def models():
    return {k: store.load_model(k)[1] for k in MODELS}


@pytest.fixture
def on_sample(monkeypatch):
    """The CLI scores the bundled sample instead of the 10,000 test digits."""
    monkeypatch.setattr(ev_mod, "test_digits", load_sample)
    return load_sample()


def test_the_noisy_test_set_is_one_seeded_draw_over_the_whole_split():
    digits = load_sample()
    clean, noisy = ev_mod.noisy_test_set(digits, "masking", 0.3, 5)
    assert clean.shape == noisy.shape == (1000, 1, 28, 28)
    torch.testing.assert_close(clean, to_float(digits.images))
    torch.testing.assert_close(noisy, noise.apply("masking", clean, 0.3, 5))
    assert not torch.equal(noisy, ev_mod.noisy_test_set(digits, "masking", 0.3, 6)[1])
    assert not torch.equal(noisy, ev_mod.noisy_test_set(digits, "gaussian", 0.3, 5)[1])


def test_every_row_is_scored_per_image_against_the_clean_digits(models):
    digits = load_sample()
    steps = []
    ev = ev_mod.evaluate(
        {"dense_dae": models["dense_dae"]},
        "salt_pepper",
        0.2,
        3,
        digits,
        {"median": lambda x: apply("median", x)},
        on_step=steps.append,
    )
    assert steps == ["dense_dae", "noisy_input", "median"]
    assert (ev.noise_type, ev.factor, ev.seed, ev.n) == ("salt_pepper", 0.2, 3, 1000)
    assert type(ev.factor) is float and type(ev.seed) is int
    assert ev.dataset == digits.source and torch.equal(ev.labels, digits.labels)
    clean, noisy = ev_mod.noisy_test_set(digits, "salt_pepper", 0.2, 3)
    out, logits = run(models["dense_dae"], noisy)
    want = metrics.per_image(clean, out, logits)
    for k in ("bce", "mse", "psnr", "ssim"):
        assert torch.equal(ev.scores["dense_dae"][k], want[k]), k  # BCE from the logits: bit for bit
    torch.testing.assert_close(ev.scores["noisy_input"]["psnr"], metrics.per_image(clean, noisy)["psnr"])
    torch.testing.assert_close(ev.scores["median"]["ssim"], metrics.per_image(clean, apply("median", noisy))["ssim"])
    s = ev.summary()
    assert s["dense_dae"]["psnr"] == pytest.approx(float(want["psnr"].double().mean()))
    assert s["dense_dae"]["psnr"] > s["noisy_input"]["psnr"] + 5  # the model denoises


def test_the_json_groups_models_the_noisy_input_and_baselines_only_when_there_are_some(models):
    digits = load_sample()
    ev = ev_mod.evaluate({"basic_ae": models["basic_ae"]}, "gaussian", 0.5, 0, digits)
    j = ev.to_json()
    assert j["noise"] == {"type": "gaussian", "factor": 0.5, "seed": 0}
    assert j["n"] == 1000 and j["dataset"] == str(digits.source)
    assert list(j["models"]) == ["basic_ae"] and j["models"]["basic_ae"] == ev.summary()["basic_ae"]
    assert j["noisy_input"] == ev.summary()["noisy_input"]
    assert "baselines" not in j
    ev = ev_mod.evaluate({}, "gaussian", 0.5, 0, digits, {"median": lambda x: apply("median", x)})
    j = ev.to_json()
    assert j["models"] == {} and list(j["baselines"]) == ["median"]
    assert j["baselines"]["median"] == ev.summary()["median"]


def test_the_table_has_one_aligned_row_per_model():
    text = ev_mod.format_table(
        {
            "conv_dae": {"bce": 0.07123, "mse": 0.00456, "psnr": 23.456, "ssim": 0.8766},
            "noisy_input": {"bce": 1.5, "mse": 0.25, "psnr": 6.0, "ssim": 0.1},
        }
    )
    assert text.split("\n") == [
        "                    BCE      MSE  PSNR dB    SSIM",
        "conv_dae         0.0712   0.0046    23.46   0.877",
        "noisy_input      1.5000   0.2500     6.00   0.100",
    ]


def test_the_cli_prints_the_table_and_writes_the_same_json(models, on_sample, tmp_path, capsys):
    out = tmp_path / "eval.json"
    rc = ev_mod.main(
        [
            "--noise-type",
            "masking",
            "--noise-factor",
            "0.3",
            "--seed",
            "7",
            "--models",
            "conv_dae",
            "dense_dae",
            "--baselines",
            "median",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    want = ev_mod.evaluate(
        {"conv_dae": models["conv_dae"], "dense_dae": models["dense_dae"]},
        "masking",
        0.3,
        7,
        on_sample,
        {"median": lambda x: apply("median", x)},
    )
    assert out.read_text() == json.dumps(json.loads(json.dumps(want.to_json())), indent=2)  # indented for people
    printed = capsys.readouterr().out.split("\n")
    assert printed[0] == f"{on_sample.source}, n=1000, noise masking 0.3 (seed 7)"
    assert printed[1:6] == ev_mod.format_table(want.summary()).split("\n")
    assert [line.split()[0] for line in printed[2:6]] == ["conv_dae", "dense_dae", "noisy_input", "median"]
    assert list(json.loads(out.read_text())["baselines"]) == ["median"]  # with fewer than all three models too


def test_the_cli_scores_every_model_at_the_tutorials_noise_by_default(models, on_sample, capsys):
    assert ev_mod.main([]) == 0
    printed = capsys.readouterr().out.split("\n")
    assert printed[0].endswith("noise gaussian 0.5 (seed 0)")
    assert [line.split()[0] for line in printed[2:6]] == [*MODELS, "noisy_input"]
    want = ev_mod.evaluate(models, "gaussian", 0.5, 0, on_sample).summary()
    assert printed[2:6] == ev_mod.format_table(want).split("\n")[1:]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--noise-factor", "1.5"], "--noise-factor must be between 0 and 1"),
        (["--noise-factor", "-0.1"], "--noise-factor must be between 0 and 1"),
        (["--seed", "-1"], "--seed must be between 0 and 9223372036854775807"),
        (["--seed", str(2**63)], "--seed must be between 0 and 9223372036854775807"),
        (
            ["--baselines", "median", "gauss", "blur"],
            "unknown baselines: blur, gauss; choose from median, nl_means, tv",
        ),
        (["--noise-type", "speckle"], "argument --noise-type: invalid choice: 'speckle'"),
        (["--models", "conv_dae", "unet"], "argument --models: invalid choice: 'unet'"),
    ],
)
def test_the_cli_refuses_bad_arguments_by_name(on_sample, capsys, args, says):
    with pytest.raises(SystemExit) as e:
        ev_mod.main(args)
    assert e.value.code == 2
    # argparse's last line is the message (its list of choices is quoted differently across Python versions)
    assert capsys.readouterr().err.split("\n")[-2].startswith(f"python -m ae_core.evaluate: error: {says}")


def test_the_edges_of_the_ranges_are_accepted(on_sample, capsys):
    assert ev_mod.main(["--models", "dense_dae", "--noise-factor", "0", "--seed", str(2**63 - 1)]) == 0
    assert ev_mod.main(["--models", "dense_dae", "--noise-factor", "1", "--seed", "0"]) == 0


def test_the_cli_says_why_weights_cannot_be_loaded(on_sample, tmp_path, capsys):
    assert ev_mod.main(["--weights", str(tmp_path), "--models", "conv_dae"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No weights named 'conv_dae'")


def test_the_defaults_are_the_tutorials_gaussian_noise_at_half_seed_0(models):
    ev = ev_mod.evaluate({"dense_dae": models["dense_dae"]}, digits=load_sample())
    assert (ev.noise_type, ev.factor, ev.seed) == ("gaussian", 0.5, 0)


def test_the_cli_says_what_it_does(capsys):
    out = cli_help(ev_mod.main, capsys)
    assert out.startswith("usage: python -m ae_core.evaluate [-h] [--weights WEIGHTS]")
    assert "Test-set evaluation: python -m ae_core.evaluate [--weights DIR]" in out
    assert "--weights WEIGHTS weights folder" in out
    assert "classical baselines to score too (median, nl_means, tv)" in out
    assert "also write the results as JSON here" in out
